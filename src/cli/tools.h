/* The command line's parts: the tools that use the core without FUSE,
 * and what they share (exit statuses, units, progress lines). */
#ifndef XVAFS_TOOLS_H
#define XVAFS_TOOLS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "front/options.h"
#include "xvafs/overlay.h"
#include "xvafs/xva.h"

/* Exit statuses of every xvafs command (the man page's EXIT STATUS). */
enum xvafs_exit {
	XVAFS_EXIT_OK = 0,
	XVAFS_EXIT_USAGE = 1,        /* bad command line or option value */
	XVAFS_EXIT_BAD_INPUT = 2,    /* the export cannot be read, is
					malformed, or its overlay is busy or
					another export's */
	XVAFS_EXIT_MOUNT = 3,        /* FUSE could not mount or serve */
	XVAFS_EXIT_DAMAGED = 4,      /* --verify: damaged chunks or a cut
					export; --export-disk: the disk could
					not all be read */
	XVAFS_EXIT_UNVERIFIABLE = 5, /* --verify: nothing damaged, but some
					chunks have no checksum */
	XVAFS_EXIT_OUTPUT = 6,       /* --export-disk: the output could not
					be written */
	/* Interrupted by signal N: 128 + N, as shells report it. */
};

/* What a core call that failed was doing: the same core status is the
 * user's fault in one place (an overlay folder an option names that
 * cannot be opened) and the export's in another. */
enum xvafs_failed_at {
	XVAFS_AT_EXPORT,        /* opening or reading the export */
	XVAFS_AT_OVERLAY,       /* --overlay DIR, opened to read */
	XVAFS_AT_MOUNT_OVERLAY, /* -o rw or overlay=DIR, opened to write while
				   mounting */
	XVAFS_AT_VM,            /* building or writing the VM's config */
};
/* The exit status for core status ST (not XVA_OK) met AT; XVA_EINTR is
 * 128 + the signal that interrupted. Every command maps core statuses
 * through this one table. */
int xvafs_exit_for(enum xva_status st, enum xvafs_failed_at at);

/* Set by SIGINT, SIGTERM or SIGHUP while a command or an index pass
 * runs (the signal's number). */
extern volatile sig_atomic_t xvafs_interrupted;
/* Catches those signals into xvafs_interrupted, for good: a mount
 * blocks them before mounting, and its stopper thread takes them. */
void xvafs_catch_interrupts(void);

/* A progress line on stderr when it is a terminal: WHAT, bytes done of
 * total, %, rate, ETA; redrawn at most four times a second. */
struct xvafs_progress {
	bool shown;
	const char *what;
	uint64_t total, done;
	double start, last;
};
void xvafs_progress_start(struct xvafs_progress *p, const char *what,
			  uint64_t total);
void xvafs_progress_update(struct xvafs_progress *p, uint64_t done);
void xvafs_progress_end(struct xvafs_progress *p);
/* An xva_progress_fn for index passes (CTX: a struct xvafs_progress). */
void xvafs_progress_fn(void *ctx, uint64_t done, uint64_t total);

/* --list: the VM(s), then one line per disk (or JSON); EXACT prints
 * sizes in bytes. */
int xvafs_list(FILE *out, const char *path, const struct xva *xva, bool json,
	       bool exact);
/* --list --json for an export that could not be opened: an error object
 * on OUT, so scripts always get JSON: the core's STATUS and MESSAGE (as
 * said on stderr). */
void xvafs_list_json_error(FILE *out, const char *path,
			   enum xva_status status, const char *message);

/* --verify: every chunk against its checksum, reading the export once in
 * order; progress on stderr when it is a terminal. */
int xvafs_verify(FILE *out, const char *path, struct xva *xva);

struct xva_repo;
/* --list on a repository: its VMs and their backups, newest first (or
 * JSON); SELECT (NULL: all) as xva_repo_selected; SO for the peek at
 * each backup's compression. */
int xvafs_repo_list(FILE *out, const struct xva_repo *repo,
		    const struct xva_source_options *so, bool json, bool exact,
		    const char *select);
/* --verify on a repository: each selected backup opened with OO and
 * verified, reported one by one, then a summary line. */
int xvafs_repo_verify(FILE *out, const struct xva_repo *repo,
		      const struct xva_open_options *oo, const char *select);

struct xvafs_export_options {
	const char *disk;        /* prefix, guest device or label */
	const char *out;         /* a path, a block device, or "-" */
	const char *overlay_dir; /* with that overlay's changes, or NULL */
	bool force;              /* replace an existing output */
};
/* --export-disk: one disk as a sparse raw file (or to a block device or
 * standard output). */
int xvafs_export_disk(const char *path, struct xva *xva,
		      const struct xvafs_export_options *o);

/* Warnings printed before mounting and by --list: a truncated export and
 * how much of each disk is intact, chunks without checksums, checksums
 * that verify nothing, a damaged compressed stream. */
void xvafs_warn(FILE *out, const char *path, const struct xva *xva);

#endif
