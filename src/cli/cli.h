/* The command line: its operands, commands and options as given
 * (struct cli), the option values checked (struct settings), and the
 * usage text. */
#ifndef XVAFS_CLI_H
#define XVAFS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "front/options.h"

struct fuse_args;

struct cli {
	const char *image;
	const char *mountpoint; /* or --export-disk's DISK */
	const char *out;        /* --export-disk's OUT */
	int help, version;
	int list, json, bytes, verify, export_disk, force;
	char *vm_config;        /* --vm-config FORMAT */
	/* The option table's: a value as given, or a flag's 1. */
	char *value[XVAFS_N_OPTIONS];
	int flag[XVAFS_N_OPTIONS];
	char *unknown;          /* the first option nobody knows */
	int vm_pending;         /* --vm given, its NAME not yet */
	int extra_operands;
};

/* The option values, checked. */
struct settings {
	uint32_t overlay_block;
	unsigned readahead_kb;
	uint64_t prefetch;
	bool uid_set, gid_set;
	uid_t uid;
	gid_t gid;
	mode_t umask;
	uint64_t cache_max, memory;
	unsigned timeout_s, retries;
};

/* Parses ARGS into CLI with the option table; what libfuse and mount(8)
 * take is left in ARGS for them. Nonzero if it cannot be parsed. */
int cli_parse(struct fuse_args *args, struct cli *cli);
/* Checks the operands and which commands go together (not the values). */
int check_command_line(const struct cli *cli);
/* Every value is checked before anything is created anywhere. */
int check_values(const struct cli *cli, struct settings *s);
void free_cli(struct cli *cli);

struct xvafs_progress;
struct xva_source_options;
/* The source options every export (or every backup of a repository) is
 * opened with, from the command line. */
void xvafs_source_options(const struct cli *cli, const struct settings *s,
			  struct xvafs_progress *progress,
			  struct xva_source_options *so);

/* --help. */
void print_usage(FILE *out);
/* "xvafs: " and the message on stderr, then where to look; returns
 * XVAFS_EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
