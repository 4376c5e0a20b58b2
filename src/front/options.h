/* The options of every front end, in one table: the mount's -o options
 * (and the command-line flags that are the same option), and the nbdkit
 * plugin's parameters. Both front ends check and parse values, and print
 * their help, from it, so a range or a default is written once. FUSE-free:
 * the plugin links it too. */
#ifndef XVAFS_OPTIONS_H
#define XVAFS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xvafs/error.h"

/* One per row of xvafs_options[], in its order. */
enum xvafs_option_id {
	XVAFS_OPT_FILE,
	XVAFS_OPT_DISK,
	XVAFS_OPT_VERIFY,
	XVAFS_OPT_PREFETCH,
	XVAFS_OPT_READAHEAD_KB,
	XVAFS_OPT_NOSPLICE,
	XVAFS_OPT_NOINDEXCACHE,
	XVAFS_OPT_CACHE_DIR,
	XVAFS_OPT_CACHE_MAX,
	XVAFS_OPT_MEMORY,
	XVAFS_OPT_LOG,
	XVAFS_OPT_CA_FILE,
	XVAFS_OPT_S3_ENDPOINT,
	XVAFS_OPT_S3_REGION,
	XVAFS_OPT_S3_PATH_STYLE,
	XVAFS_OPT_AWS_PROFILE,
	XVAFS_OPT_TIMEOUT,
	XVAFS_OPT_RETRIES,
	XVAFS_OPT_KEY_FILE,
	XVAFS_OPT_UNAUTHENTICATED,
	XVAFS_OPT_VM,
	XVAFS_OPT_ALLOW_OTHER,
	XVAFS_OPT_ALLOW_ROOT,
	XVAFS_OPT_AUTO_UNMOUNT,
	XVAFS_OPT_DEFAULT_PERMISSIONS,
	XVAFS_OPT_UID,
	XVAFS_OPT_GID,
	XVAFS_OPT_UMASK,
	XVAFS_OPT_FSNAME,
	XVAFS_OPT_SUBTYPE,
	XVAFS_OPT_MAX_READ,
	XVAFS_OPT_CLONE_FD,
	XVAFS_OPT_MAX_IDLE_THREADS,
	XVAFS_OPT_MAX_THREADS,
	XVAFS_OPT_DEBUG,
	XVAFS_OPT_RO,
	XVAFS_OPT_RW,
	XVAFS_OPT_OVERLAY,
	XVAFS_OPT_OVERLAY_BLOCK,
	XVAFS_OPT_BRIDGE,
	XVAFS_N_OPTIONS
};

enum xvafs_option_type {
	XVAFS_TYPE_BOOL,   /* the mount: -o NAME; the plugin: NAME=true|false */
	XVAFS_TYPE_UINT,   /* a whole decimal number */
	XVAFS_TYPE_SIZE,   /* a number with an optional K, M, G or T */
	XVAFS_TYPE_OCTAL,  /* a mode */
	XVAFS_TYPE_STRING,
	XVAFS_TYPE_FILE,   /* a file's path */
	XVAFS_TYPE_DIR,    /* a folder's path */
	XVAFS_TYPE_FUSE,   /* libfuse's: the mount passes it on unchecked */
};

/* The environment variable that may hold an encrypted repository's key
 * (never on the command line, where ps shows it). */
#define XVAFS_KEY_ENV "XVAFS_KEY"
/* How a user gives that key, for messages. */
#define XVAFS_KEY_HOW "-o key_file=FILE or the XVAFS_KEY environment variable"

struct xva_crypt_key;
/* The repository key from KEY_FILE (key_file=, may be NULL), else from
 * $XVAFS_KEY, into *KEY; *GIVEN is false when neither holds one, and
 * *FROM_ENV says it came from the environment. A failure's message
 * names the variable when the key came from there. */
enum xva_status xvafs_key_load(const char *key_file, struct xva_crypt_key *key,
			       bool *given, bool *from_env,
			       struct xva_err *err);

/* The front ends that take an option. */
enum {
	XVAFS_IN_MOUNT = 1 << 0,  /* xvafs -o NAME[=VALUE] */
	XVAFS_IN_PLUGIN = 1 << 1, /* nbdkit xva NAME=VALUE */
};

struct xvafs_option {
	const char *name;
	const char *flag;        /* the same option as a command-line flag
				    ("--no-index-cache"), or NULL */
	enum xvafs_option_type type;
	unsigned in;             /* XVAFS_IN_* */
	const char *metavar;     /* what the value is, for help ("SIZE");
				    NULL: the option takes none (BOOL, and
				    FUSE flags) */
	/* Numbers (UINT, SIZE, OCTAL): the range, a further check, the
	 * value when not given. */
	uint64_t min, max;
	bool (*valid)(uint64_t value);
	uint64_t default_value;
	const char *noun;        /* UINT, OCTAL: "seconds", as in "seconds
				    from 1 to 3600"; SIZE: an example value */
	/* The help line, wrapped when printed: "{min}", "{max}" and
	 * "{default}" stand for the numbers above. NULL: not in the help. */
	const char *help;
	const char *plugin_help; /* the plugin's, when it differs; NULL: help */
};

extern const struct xvafs_option xvafs_options[XVAFS_N_OPTIONS];

/* The option NAME (up to NAME_LEN bytes of it) that front end IN
 * takes, or NULL. */
const struct xvafs_option *xvafs_option_find(const char *name,
					     size_t name_len, unsigned in);

/* A whole decimal number: digits only, at most UINT64_MAX. The one parser
 * of the numbers users type, for both front ends. */
bool xvafs_parse_uint(const char *text, uint64_t *value);
/* A size: a decimal number, optionally followed by K, M, G or T (powers
 * of 1024, any case) and then "B" or "iB". */
bool xvafs_parse_size(const char *text, uint64_t *value);

/* BYTES in binary units ("1.4 GiB"), or exactly with EXACT: sizes as
 * every front end says them. */
void xvafs_human(uint64_t bytes, bool exact, char *buf, size_t len);

/* TEXT as option O's value, checked against its range: *VALUE is the
 * number (UINT, SIZE, OCTAL). False when it does not fit. */
bool xvafs_option_parse(const struct xvafs_option *o, const char *text,
			uint64_t *value);
/* What option O expects, for the message that refuses a value: "a size
 * up to 1G, such as 64M, or 0". */
void xvafs_option_expected(const struct xvafs_option *o, char *buf,
			   size_t len);

/* The help of the options front end IN takes, one per line: the option
 * as that front end spells it (NAME, NAME=METAVAR, NAME=true) at INDENT,
 * its help from column COLUMN, wrapped before column WIDTH. */
void xvafs_options_help(FILE *out, unsigned in, int indent, int column,
			int width);

#endif
