/* The command-line tools that use the core without FUSE. */
#ifndef XVAFS_TOOLS_H
#define XVAFS_TOOLS_H

#include <stdbool.h>
#include <stdio.h>

#include "xvafs/archive.h"
#include "xvafs/overlay.h"

/* Exit statuses of every xvafs command. */
enum xvafs_exit {
	XVAFS_EXIT_OK = 0,
	XVAFS_EXIT_USAGE = 1,     /* bad command line or mount options */
	XVAFS_EXIT_BAD_INPUT = 2, /* the .xva cannot be read or is malformed */
	XVAFS_EXIT_MOUNT = 3,     /* FUSE could not mount or serve */
	XVAFS_EXIT_DAMAGED = 4,   /* --verify: damaged or unverifiable chunks */
};

/* --list: the VM(s), then one line per disk (or JSON). */
int xvafs_list(FILE *out, const char *path, const struct xva *xva, bool json);

/* --verify: every chunk against its checksum, reading the .xva once in
 * order; progress on stderr when it is a terminal. */
int xvafs_verify(FILE *out, const char *path, const struct xva *xva);

/* --export-disk: disk PREFIX, with the overlay in OVERLAY_DIR (or none),
 * as a sparse raw file OUT. */
int xvafs_export_disk(const char *path, struct xva *xva, const char *prefix,
		      const char *out, const char *overlay_dir);

/* Warnings printed before mounting and by --list: a truncated export and
 * how much of each disk is intact, chunks without checksums. */
void xvafs_warn(FILE *out, const char *path, const struct xva *xva);

#endif
