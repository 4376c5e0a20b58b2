/* The option table, and the one parser of the values users type. */
#include <ctype.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "front/options.h"
#include "xvafs/crypt.h"
#include "xvafs/number.h"
#include "xvafs/overlay.h"
#include "xvafs/read.h"

static bool overlay_block_valid(uint64_t v)
{
	/* 0 is the core's "the default": not something to ask for. */
	return v != 0 && v <= UINT32_MAX && xva_overlay_block_valid((uint32_t)v);
}

#define MOUNT XVAFS_IN_MOUNT
#define PLUGIN XVAFS_IN_PLUGIN
#define BOTH (XVAFS_IN_MOUNT | XVAFS_IN_PLUGIN)

/* In the order the help lists them. */
const struct xvafs_option xvafs_options[XVAFS_N_OPTIONS] = {
	[XVAFS_OPT_FILE] = {
		.name = "file", .type = XVAFS_TYPE_STRING, .in = PLUGIN,
		.metavar = "EXPORT",
		.help = "the .xva: a path, an http:// or https:// URL, or "
			"s3://BUCKET/KEY (file= may be left out)",
	},
	[XVAFS_OPT_DISK] = {
		.name = "disk", .type = XVAFS_TYPE_STRING, .in = PLUGIN,
		.metavar = "NAME",
		.help = "the default export: a disk's prefix, guest device or "
			"label (default: the bootable disk, else xvda, else the "
			"first)",
	},
	[XVAFS_OPT_VERIFY] = {
		.name = "verify", .type = XVAFS_TYPE_BOOL, .in = BOTH,
		.help = "check each chunk against its checksum the first time "
			"it is read; a chunk that fails (or has none) reads as "
			"an I/O error",
	},
	[XVAFS_OPT_PREFETCH] = {
		.name = "prefetch", .type = XVAFS_TYPE_SIZE, .in = BOTH,
		.metavar = "SIZE", .max = 1u << 30,
		.default_value = XVA_READAHEAD_DEFAULT, .noun = "64M",
		.help = "read this far ahead of sequential readers (default "
			"{default}, at most {max}; 0 turns it off)",
	},
	[XVAFS_OPT_READAHEAD_KB] = {
		.name = "readahead_kb", .type = XVAFS_TYPE_UINT, .in = MOUNT,
		.metavar = "N", .max = 1u << 20, .noun = "a number of KiB",
		.help = "kernel readahead for the disks, in KiB (default: the "
			"kernel's, 128; needs root)",
	},
	[XVAFS_OPT_NOSPLICE] = {
		.name = "nosplice", .type = XVAFS_TYPE_BOOL, .in = MOUNT,
		.help = "copy read replies instead of splicing them from the "
			"export or sending them from a remote export's "
			"cached blocks",
	},
	[XVAFS_OPT_NOINDEXCACHE] = {
		.name = "noindexcache", .flag = "--no-index-cache",
		.type = XVAFS_TYPE_BOOL, .in = BOTH,
		.help = "neither use nor write the index cache",
	},
	[XVAFS_OPT_CACHE_DIR] = {
		.name = "cache_dir", .type = XVAFS_TYPE_DIR, .in = BOTH,
		.metavar = "DIR",
		.help = "the index cache, and the indexes and chunk caches of "
			"compressed exports (default $XDG_CACHE_HOME/xvafs or "
			"~/.cache/xvafs)",
	},
	[XVAFS_OPT_CACHE_MAX] = {
		.name = "cache_max", .type = XVAFS_TYPE_SIZE, .in = BOTH,
		.metavar = "SIZE", .noun = "20G",
		.help = "most space a zstd chunk cache may take",
	},
	[XVAFS_OPT_MEMORY] = {
		.name = "memory", .type = XVAFS_TYPE_SIZE, .in = BOTH,
		.metavar = "SIZE", .min = 4u << 20, .noun = "256M",
		.help = "memory for decompressed or fetched data (at least "
			"{min}, 8M for remote exports; default 64M, 128M for "
			"remote exports)",
	},
	[XVAFS_OPT_LOG] = {
		.name = "log", .type = XVAFS_TYPE_FILE, .in = MOUNT,
		.metavar = "FILE",
		.help = "append serving errors to FILE (default: stderr in the "
			"foreground, else syslog)",
	},
	[XVAFS_OPT_CA_FILE] = {
		.name = "ca_file", .type = XVAFS_TYPE_FILE, .in = BOTH,
		.metavar = "FILE",
		.help = "also trust the CA certificates in FILE",
	},
	[XVAFS_OPT_S3_ENDPOINT] = {
		.name = "s3_endpoint", .type = XVAFS_TYPE_STRING, .in = BOTH,
		.metavar = "URL",
		.help = "an S3-compatible store instead of AWS",
	},
	[XVAFS_OPT_S3_REGION] = {
		.name = "s3_region", .type = XVAFS_TYPE_STRING, .in = BOTH,
		.metavar = "REGION", .help = "the bucket's region",
	},
	[XVAFS_OPT_S3_PATH_STYLE] = {
		.name = "s3_path_style", .type = XVAFS_TYPE_BOOL, .in = BOTH,
		.help = "address buckets as ENDPOINT/BUCKET/KEY",
	},
	[XVAFS_OPT_AWS_PROFILE] = {
		.name = "aws_profile", .type = XVAFS_TYPE_STRING, .in = BOTH,
		.metavar = "NAME",
		.help = "credentials profile (default: $AWS_PROFILE)",
	},
	[XVAFS_OPT_TIMEOUT] = {
		.name = "timeout", .type = XVAFS_TYPE_UINT, .in = BOTH,
		.metavar = "SECONDS", .min = 1, .max = 3600, .noun = "seconds",
		.help = "how long an HTTP connection attempt, or a transfer that "
			"has stalled, may take (default 30)",
	},
	[XVAFS_OPT_RETRIES] = {
		.name = "retries", .type = XVAFS_TYPE_UINT, .in = BOTH,
		.metavar = "N", .min = 1, .max = 100,
		.noun = "a number of tries",
		.help = "tries per HTTP request (default 5)",
	},
	[XVAFS_OPT_KEY_FILE] = {
		.name = "key_file", .type = XVAFS_TYPE_FILE, .in = BOTH,
		.metavar = "FILE",
		.help = "the encryption key of the Xen Orchestra repository "
			"the export is in, or that EXPORT is (the 32 characters "
			"set on the remote; default: $" XVAFS_KEY_ENV "); it is "
			"checked against the repository's metadata.json first",
	},
	[XVAFS_OPT_UNAUTHENTICATED] = {
		.name = "unauthenticated", .type = XVAFS_TYPE_BOOL, .in = BOTH,
		.help = "serve an encrypted backup before its tag is checked "
			"(which takes one pass over the whole file, made at the "
			"first mount and then remembered in the cache), with a "
			"warning; --verify checks it later",
	},
	[XVAFS_OPT_VM] = {
		/* Also --vm NAME, parsed by the command line itself: as a
		 * table flag, libfuse would take --vm-config for it. */
		.name = "vm", .type = XVAFS_TYPE_STRING,
		.in = MOUNT, .metavar = "NAME",
		.help = "a repository: only this VM's backups (its folder's "
			"name in the mount, or its UUID), or only one backup "
			"(NAME/TIMESTAMP)",
	},
	[XVAFS_OPT_ALLOW_OTHER] = {
		.name = "allow_other", .type = XVAFS_TYPE_FUSE, .in = MOUNT,
		.help = "let other users read the disks (needs user_allow_other "
			"in /etc/fuse.conf when not run as root)",
	},
	[XVAFS_OPT_ALLOW_ROOT] = {
		.name = "allow_root", .type = XVAFS_TYPE_FUSE, .in = MOUNT,
		.help = "let root read the disks",
	},
	[XVAFS_OPT_AUTO_UNMOUNT] = {
		.name = "auto_unmount", .type = XVAFS_TYPE_FUSE, .in = MOUNT,
		.help = "unmount when the daemon ends, even killed",
	},
	[XVAFS_OPT_DEFAULT_PERMISSIONS] = {
		.name = "default_permissions", .type = XVAFS_TYPE_FUSE,
		.in = MOUNT, .help = "accepted; always on (see umask)",
	},
	[XVAFS_OPT_UID] = {
		.name = "uid", .type = XVAFS_TYPE_UINT, .in = MOUNT,
		.metavar = "N", .max = UINT32_MAX - 1, .noun = "a user id",
		.help = "owner of the files (default: who mounts)",
	},
	[XVAFS_OPT_GID] = {
		.name = "gid", .type = XVAFS_TYPE_UINT, .in = MOUNT,
		.metavar = "N", .max = UINT32_MAX - 1, .noun = "a group id",
		.help = "group of the files (default: who mounts)",
	},
	[XVAFS_OPT_UMASK] = {
		.name = "umask", .type = XVAFS_TYPE_OCTAL, .in = MOUNT,
		.metavar = "M", .max = 0777, .default_value = 0022,
		.noun = "an octal mode",
		.help = "modes: 0444 for disks (0666 when writable), 0555 for "
			"folders, less M (default {default}); the kernel checks "
			"them (default_permissions)",
	},
	[XVAFS_OPT_FSNAME] = {
		.name = "fsname", .type = XVAFS_TYPE_FUSE, .in = MOUNT,
		.metavar = "NAME",
		.help = "source shown by mount/df (default: EXPORT)",
	},
	[XVAFS_OPT_SUBTYPE] = {
		.name = "subtype", .type = XVAFS_TYPE_FUSE, .in = MOUNT,
		.metavar = "NAME",
		.help = "type shown as fuse.NAME (default: xvafs)",
	},
	[XVAFS_OPT_MAX_READ] = {
		.name = "max_read", .type = XVAFS_TYPE_FUSE, .in = MOUNT,
		.metavar = "N", .help = "largest read request, in bytes",
	},
	[XVAFS_OPT_CLONE_FD] = {
		.name = "clone_fd", .type = XVAFS_TYPE_FUSE, .in = MOUNT,
		.help = "one /dev/fuse descriptor per thread",
	},
	[XVAFS_OPT_MAX_IDLE_THREADS] = {
		.name = "max_idle_threads", .type = XVAFS_TYPE_FUSE,
		.in = MOUNT, .metavar = "N",
		.help = "idle threads kept by the thread pool",
	},
	[XVAFS_OPT_MAX_THREADS] = {
		.name = "max_threads", .type = XVAFS_TYPE_FUSE, .in = MOUNT,
		.metavar = "N", .help = "most threads serving requests",
	},
	/* In the help as "-d, -o debug". */
	[XVAFS_OPT_DEBUG] = {
		.name = "debug", .type = XVAFS_TYPE_FUSE, .in = MOUNT,
	},
	[XVAFS_OPT_RO] = {
		.name = "ro", .type = XVAFS_TYPE_BOOL, .in = MOUNT,
		.help = "read-only (the default)",
	},
	[XVAFS_OPT_RW] = {
		.name = "rw", .type = XVAFS_TYPE_BOOL, .in = MOUNT,
		.help = "writable disks: writes go to an overlay in "
			"EXPORT.overlay/ beside the export (which must exist), "
			"never to the export",
	},
	[XVAFS_OPT_OVERLAY] = {
		.name = "overlay", .flag = "--overlay", .type = XVAFS_TYPE_DIR,
		.in = BOTH, .metavar = "DIR",
		.help = "writable, with the overlay in DIR",
		.plugin_help = "writable exports: writes go to this overlay "
			       "folder",
	},
	[XVAFS_OPT_OVERLAY_BLOCK] = {
		.name = "overlay_block", .type = XVAFS_TYPE_UINT, .in = BOTH,
		.metavar = "N", .min = XVA_OVL_BLOCK_MIN,
		.max = XVA_OVL_BLOCK_MAX, .valid = overlay_block_valid,
		.noun = "a power of two",
		.help = "block size of a new overlay: a power of two from {min} "
			"to {max}",
	},
	[XVAFS_OPT_BRIDGE] = {
		.name = "bridge", .type = XVAFS_TYPE_STRING, .in = MOUNT,
		.metavar = "NAME",
		.help = "the bridge of this host the VM's network cards use in "
			"vm/ and --vm-config (default: the XenServer host's)",
	},
};

const struct xvafs_option *xvafs_option_find(const char *name,
					     size_t name_len, unsigned in)
{
	for (size_t i = 0; i < XVAFS_N_OPTIONS; i++) {
		const struct xvafs_option *o = &xvafs_options[i];

		if ((o->in & in) && strlen(o->name) == name_len &&
		    strncmp(o->name, name, name_len) == 0)
			return o;
	}
	return NULL;
}

/* --- values --- */

bool xvafs_parse_uint(const char *text, uint64_t *value)
{
	const char *end;

	return xva_parse_digits(text, 10, value, &end) && *end == '\0';
}

bool xvafs_parse_size(const char *text, uint64_t *value)
{
	static const char units[] = "KMGT";
	const char *end, *unit;
	uint64_t v;

	if (!xva_parse_digits(text, 10, &v, &end))
		return false;
	if (*end) {
		unit = strchr(units, toupper((unsigned char)*end));
		if (!unit || (end[1] && strcasecmp(end + 1, "iB") != 0 &&
			      strcasecmp(end + 1, "B") != 0))
			return false;
		for (const char *u = units; u <= unit; u++) {
			if (v > UINT64_MAX / 1024)
				return false;
			v *= 1024;
		}
	}
	*value = v;
	return true;
}

void xvafs_human(uint64_t bytes, bool exact, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (exact) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

bool xvafs_option_parse(const struct xvafs_option *o, const char *text,
			uint64_t *value)
{
	const char *end;
	bool ok;

	switch (o->type) {
	case XVAFS_TYPE_UINT:
		ok = xvafs_parse_uint(text, value);
		break;
	case XVAFS_TYPE_SIZE:
		ok = xvafs_parse_size(text, value);
		break;
	case XVAFS_TYPE_OCTAL:
		ok = xva_parse_digits(text, 8, value, &end) && *end == '\0';
		break;
	default:
		return text != NULL;
	}
	return ok && *value >= o->min && (!o->max || *value <= o->max) &&
	       (!o->valid || o->valid(*value));
}

/* A number as the option's help and messages write it: 1G, 0022. */
static void format_number(const struct xvafs_option *o, uint64_t v,
			  char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int unit = -1;

	if (o->type == XVAFS_TYPE_OCTAL) {
		snprintf(buf, len, "%04llo", (unsigned long long)v);
		return;
	}
	while (o->type == XVAFS_TYPE_SIZE && v && v % 1024 == 0 && unit < 3) {
		v /= 1024;
		unit++;
	}
	if (unit >= 0)
		snprintf(buf, len, "%llu%c", (unsigned long long)v, units[unit]);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

void xvafs_option_expected(const struct xvafs_option *o, char *buf,
			   size_t len)
{
	char min[32], max[32];

	format_number(o, o->min, min, sizeof(min));
	format_number(o, o->max, max, sizeof(max));
	switch (o->type) {
	case XVAFS_TYPE_UINT:
		snprintf(buf, len, "%s from %s to %s", o->noun, min, max);
		break;
	case XVAFS_TYPE_OCTAL:
		/* Modes are written with three digits. */
		snprintf(buf, len, "%s from %03llo to %03llo", o->noun,
			 (unsigned long long)o->min, (unsigned long long)o->max);
		break;
	case XVAFS_TYPE_SIZE:
		/* "a size up to 1G, such as 64M, or 0": 0 is in the range
		 * only when it turns something off. */
		snprintf(buf, len, "a size%s%s%s%s%s such as %s%s",
			 o->min ? " of at least " : "", o->min ? min : "",
			 o->max ? " up to " : "", o->max ? max : "",
			 o->min || o->max ? "," : "", o->noun,
			 o->max && !o->min ? ", or 0" : "");
		break;
	case XVAFS_TYPE_BOOL:
		snprintf(buf, len, "true or false");
		break;
	default:
		snprintf(buf, len, "a value");
		break;
	}
}

/* --- help --- */

/* O's help with its numbers in place of {min}, {max} and {default}. */
static void expand_help(const struct xvafs_option *o, const char *help,
			char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (const char *p = help; *p && n + 1 < len; ) {
		const char *field[] = { "{min}", "{max}", "{default}" };
		const uint64_t value[] = { o->min, o->max, o->default_value };
		bool expanded = false;

		for (size_t f = 0; f < 3 && !expanded; f++) {
			if (strncmp(p, field[f], strlen(field[f])) == 0) {
				format_number(o, value[f], buf + n, len - n);
				n += strlen(buf + n);
				p += strlen(field[f]);
				expanded = true;
			}
		}
		if (!expanded) {
			buf[n++] = *p++;
			buf[n] = '\0';
		}
	}
}

void xvafs_options_help(FILE *out, unsigned in, int indent, int column,
			int width)
{
	for (size_t i = 0; i < XVAFS_N_OPTIONS; i++) {
		const struct xvafs_option *o = &xvafs_options[i];
		const char *help = in == XVAFS_IN_PLUGIN && o->plugin_help
				   ? o->plugin_help : o->help;
		char spelled[64], text[512];
		int at;

		if (!(o->in & in) || !help)
			continue;
		if (in == XVAFS_IN_PLUGIN && o->type == XVAFS_TYPE_BOOL)
			snprintf(spelled, sizeof(spelled), "%s=true", o->name);
		else if (i == XVAFS_OPT_FILE && in == XVAFS_IN_PLUGIN)
			snprintf(spelled, sizeof(spelled), "[%s=]%s", o->name,
				 o->metavar);
		else
			snprintf(spelled, sizeof(spelled), "%s%s%s", o->name,
				 o->metavar ? "=" : "", o->metavar ? o->metavar : "");
		expand_help(o, help, text, sizeof(text));
		at = fprintf(out, "%*s%s", indent, "", spelled);
		/* Two blanks at least between the option and its help. */
		if (at + 2 > column) {
			fputc('\n', out);
			at = 0;
		}
		/* Word by word, each line up to WIDTH. */
		for (const char *w = text; *w; ) {
			int wlen = (int)strcspn(w, " ");

			if (at > column && at + 1 + wlen > width) {
				fputc('\n', out);
				at = 0;
			}
			if (at < column)
				at += fprintf(out, "%*s", column - at, "");
			else
				at += fprintf(out, " ");
			at += fprintf(out, "%.*s", wlen, w);
			w += wlen;
			w += strspn(w, " ");
		}
		fputc('\n', out);
	}
}

enum xva_status xvafs_key_load(const char *key_file, struct xva_crypt_key *key,
			       bool *given, bool *from_env,
			       struct xva_err *err)
{
	const char *env = getenv(XVAFS_KEY_ENV);
	enum xva_status st;

	*given = *from_env = false;
	if (key_file) {
		st = xva_crypt_key_from_file(key_file, key, err);
		*given = st == XVA_OK;
		return st;
	}
	if (!env || !*env)
		return XVA_OK;
	st = xva_crypt_key_from_text(env, strlen(env), key, err);
	if (st != XVA_OK)
		return xva_fail_why(err, st, err->reason, "$%s: %s",
				    XVAFS_KEY_ENV, err->msg);
	*given = *from_env = true;
	return XVA_OK;
}
