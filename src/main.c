/* xvafs: mount a XenServer / XCP-ng VM export (.xva) and serve each of its
 * disks as a raw file, read in place; or list, verify or export one.
 *
 * Everything that can fail (the command line and every option's value,
 * the mount point, opening, indexing and checking the export, the
 * overlay) is done before mounting and daemonizing, so errors reach the
 * terminal and the exit status. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <archive.h>

#include "cmd_vmconfig.h"
#include "fs.h"
#include "tools.h"
#include "xvafs/cachefile.h"
#include "xvafs/verify.h"

static const char usage_text[] =
"usage: xvafs [options] EXPORT MOUNTPOINT\n"
"       xvafs --list [--json] [--bytes] [-o OPT] EXPORT\n"
"       xvafs --verify [-o OPT] EXPORT\n"
"       xvafs --export-disk [--overlay DIR] [--force] [-o OPT] EXPORT DISK OUT\n"
"       xvafs --vm-config xl|libvirt|qemu [-o OPT] EXPORT MOUNTPOINT\n"
"\n"
"Mounts a XenServer / XCP-ng VM export read-only. Each disk appears as a\n"
"raw file named by its member prefix (e.g. Ref:12), read in place, with\n"
"links to it in by-device/ (xvda, ...) and by-label/ (the VDI's name);\n"
"the export's ova.xml is there too. EXPORT is a path, an http:// or\n"
"https:// URL, or s3://BUCKET/KEY; it may be gzip- or zstd-compressed\n"
"(as xe vm-export compress=... and Xen Orchestra write them).\n"
"\n"
"commands:\n"
"    --list                 show the VM and its disks, without mounting\n"
"    --json                 with --list: the same as JSON\n"
"    --bytes                with --list: sizes in bytes\n"
"    --verify               check every chunk against its checksum\n"
"    --export-disk          write DISK (its prefix, guest device or label)\n"
"                           as a sparse raw file OUT, onto a block device\n"
"                           (with --force), or to standard output (-)\n"
"    --overlay DIR          with --export-disk: with that overlay's changes\n"
"    --force                with --export-disk: replace an existing OUT\n"
"    --vm-config FORMAT     print the export's VM as an xl config, libvirt\n"
"                           domain XML or qemu command line, its disks in\n"
"                           the mount at MOUNTPOINT (mounted also as\n"
"                           MOUNTPOINT/vm/NAME.cfg, .xml and .qemu.sh)\n"
"    --no-index-cache       neither use nor write the index cache\n"
"\n"
"options:\n"
"    -h, --help             print this help and exit\n"
"    -V, --version          print the version and exit\n"
"    -f                     stay in the foreground\n"
"    -d, -o debug           print FUSE requests (implies -f)\n"
"    -s                     serve requests on a single thread\n"
"    -o OPT[,OPT...]        options:\n"
"         verify                check each chunk against its checksum the\n"
"                               first time it is read; a chunk that fails\n"
"                               (or has none) reads as an I/O error\n"
"         prefetch=SIZE         read this far ahead of sequential readers\n"
"                               (default 32M, at most 1G; 0 turns it off)\n"
"         readahead_kb=N        kernel readahead for the disks, in KiB\n"
"                               (default: the kernel's, 128; needs root)\n"
"         nosplice              copy read replies instead of splicing\n"
"                               them from the export\n"
"         noindexcache          neither use nor write the index cache\n"
"         cache_dir=DIR         the index cache, and the indexes and chunk\n"
"                               caches of compressed exports (default\n"
"                               $XDG_CACHE_HOME/xvafs or ~/.cache/xvafs)\n"
"         cache_max=SIZE        most space a zstd chunk cache may take\n"
"         memory=SIZE           memory for decompressed or fetched data\n"
"                               (at least 4M, 8M for remote exports;\n"
"                               default 64M, 128M for remote exports)\n"
"         log=FILE              append serving errors to FILE (default:\n"
"                               stderr in the foreground, else syslog)\n"
"         ca_file=FILE          also trust the CA certificates in FILE\n"
"         s3_endpoint=URL       an S3-compatible store instead of AWS\n"
"         s3_region=REGION      the bucket's region\n"
"         s3_path_style         address buckets as ENDPOINT/BUCKET/KEY\n"
"         aws_profile=NAME      credentials profile (default: $AWS_PROFILE)\n"
"         timeout=SECONDS       how long an HTTP connection attempt, or a\n"
"                               transfer that has stalled, may take\n"
"                               (default 30)\n"
"         retries=N             tries per HTTP request (default 5)\n"
"         allow_other           let other users read the disks\n"
"                               (needs user_allow_other in /etc/fuse.conf\n"
"                               when not run as root)\n"
"         allow_root            let root read the disks\n"
"         auto_unmount          unmount when the daemon ends, even killed\n"
"         default_permissions   accepted; always on (see umask)\n"
"         uid=N, gid=N          owner of the files (default: who mounts)\n"
"         umask=M               modes: 0444 for disks (0666 when writable),\n"
"                               0555 for folders, less M (default 0022);\n"
"                               the kernel checks them (default_permissions)\n"
"         fsname=NAME           source shown by mount/df (default: EXPORT)\n"
"         subtype=NAME          type shown as fuse.NAME (default: xvafs)\n"
"         max_read=N            largest read request, in bytes\n"
"         clone_fd              one /dev/fuse descriptor per thread\n"
"         max_idle_threads=N    idle threads kept by the thread pool\n"
"         max_threads=N         most threads serving requests\n"
"         ro                    read-only (the default)\n"
"         rw                    writable disks: writes go to an overlay in\n"
"                               EXPORT.overlay/ beside the export (which\n"
"                               must exist), never to the export\n"
"         overlay=DIR           writable, with the overlay in DIR\n"
"         overlay_block=N       block size of a new overlay: a power of two\n"
"                               from 4096 to 65536\n"
"         mount(8)'s generic options (nodev, nosuid, noexec, noatime,\n"
"         context=, ...) are passed on to the kernel\n"
"\n"
"exit status: 0 success; 1 usage error (also a wrong S3 region, -o rw\n"
"without EXPORT.overlay/, a log=, overlay= or --overlay that cannot be\n"
"opened or made); 2 the\n"
"export cannot be read or is malformed (or its overlay is in use or\n"
"another export's); 3 mounting failed; 4 --verify found damaged chunks or\n"
"--export-disk could not read the disk; 5 --verify found nothing damaged\n"
"but chunks without checksums; 6 the output (--export-disk's OUT, or\n"
"standard output) could not be written; 128+N stopped by signal N before\n"
"finishing.\n"
"\n"
"Unmount with: fusermount3 -u MOUNTPOINT (or umount MOUNTPOINT)\n";

struct cli {
	const char *image;
	const char *mountpoint; /* or --export-disk's DISK */
	const char *out;        /* --export-disk's OUT */
	int help, version;
	int list, json, bytes, verify, export_disk, force;
	char *vm_config;        /* --vm-config FORMAT */
	int verify_reads;       /* -o verify */
	int nosplice, noindexcache, rw, ro, s3_path_style;
	char *overlay, *overlay_block, *readahead_kb, *prefetch;
	char *uid, *gid, *umask;
	char *cache_dir, *cache_max, *memory, *log;
	char *ca_file, *s3_endpoint, *s3_region, *aws_profile;
	char *timeout, *retries;
	char *unknown;          /* the first option nobody knows */
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

enum { KEY_HELP, KEY_VERSION };

#define FLAG(text, field) { text, offsetof(struct cli, field), 1 }
#define VALUE(text, field) { text "=%s", offsetof(struct cli, field), 0 }

static const struct fuse_opt cli_spec[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FLAG("--list", list),
	FLAG("--json", json),
	FLAG("--bytes", bytes),
	FLAG("--verify", verify),
	FLAG("--export-disk", export_disk),
	FLAG("--force", force),
	{ "--vm-config=%s", offsetof(struct cli, vm_config), 0 },
	{ "--vm-config %s", offsetof(struct cli, vm_config), 0 },
	FLAG("verify", verify_reads),
	FLAG("nosplice", nosplice),
	FLAG("noindexcache", noindexcache),
	FLAG("--no-index-cache", noindexcache),
	FLAG("rw", rw),
	FLAG("ro", ro),
	FLAG("s3_path_style", s3_path_style),
	VALUE("overlay", overlay),
	{ "--overlay=%s", offsetof(struct cli, overlay), 0 },
	{ "--overlay %s", offsetof(struct cli, overlay), 0 },
	VALUE("overlay_block", overlay_block),
	VALUE("readahead_kb", readahead_kb),
	VALUE("prefetch", prefetch),
	VALUE("uid", uid),
	VALUE("gid", gid),
	VALUE("umask", umask),
	VALUE("cache_dir", cache_dir),
	VALUE("cache_max", cache_max),
	VALUE("memory", memory),
	VALUE("log", log),
	VALUE("ca_file", ca_file),
	VALUE("s3_endpoint", s3_endpoint),
	VALUE("s3_region", s3_region),
	VALUE("aws_profile", aws_profile),
	VALUE("timeout", timeout),
	VALUE("retries", retries),
	FUSE_OPT_END
};

/* What libfuse and mount(8) take, passed on to them. */
static const char *const fuse_options[] = {
	"allow_other", "allow_root", "auto_unmount", "default_permissions",
	"fsname=", "subtype=", "max_read=", "clone_fd", "max_idle_threads=",
	"max_threads=", "debug", "-d", "-f", "-s", "dev", "nodev", "suid",
	"nosuid", "exec", "noexec", "atime", "noatime", "diratime",
	"nodiratime", "relatime", "norelatime", "strictatime",
	"nostrictatime", "lazytime", "nolazytime", "sync", "async", "dirsync",
	"context=", "fscontext=", "defcontext=", "rootcontext=", NULL,
};

/* Our own, for suggestions. */
static const char *const own_options[] = {
	"verify", "prefetch=", "readahead_kb=", "nosplice", "noindexcache",
	"cache_dir=", "cache_max=", "memory=", "log=", "ca_file=",
	"s3_endpoint=", "s3_region=", "s3_path_style", "aws_profile=",
	"timeout=", "retries=", "uid=", "gid=", "umask=", "ro", "rw",
	"overlay=", "overlay_block=", "--list", "--json", "--bytes",
	"--verify", "--export-disk", "--overlay", "--force", "--vm-config",
	"--no-index-cache", "--help", "--version", NULL,
};

static bool known_fuse_option(const char *arg)
{
	size_t name_len = strcspn(arg, "=");

	for (size_t i = 0; fuse_options[i]; i++) {
		const char *o = fuse_options[i];
		size_t n = strcspn(o, "=");

		if (n == name_len && strncmp(o, arg, n) == 0 &&
		    (o[n] == '=') == (arg[name_len] == '='))
			return true;
	}
	return false;
}

static int cli_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct cli *cli = data;

	(void)outargs;
	/* "-" is an operand (standard output for --export-disk). */
	if (key == FUSE_OPT_KEY_OPT && strcmp(arg, "-") == 0)
		key = FUSE_OPT_KEY_NONOPT;
	switch (key) {
	case KEY_HELP:
		cli->help = 1;
		return 0;
	case KEY_VERSION:
		cli->version = 1;
		return 0;
	case FUSE_OPT_KEY_NONOPT:
		if (!cli->image) {
			cli->image = arg;
			return 0;
		}
		if (!cli->mountpoint) {
			cli->mountpoint = arg;
			return 1; /* the mount point, for fuse_parse_cmdline */
		}
		if (cli->export_disk && !cli->out) {
			cli->out = arg;
			return 0;
		}
		cli->extra_operands++;
		return 1;
	case FUSE_OPT_KEY_OPT:
		if (known_fuse_option(arg))
			return 1;
		if (!cli->unknown)
			cli->unknown = strdup(arg);
		return 0;
	default:
		return 1;
	}
}

/* Edit distance, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			best = up + 1 < best ? up + 1 : best;
			best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static const char *closest_option(const char *arg)
{
	char name[64];
	const char *best = NULL;
	size_t best_d = 3; /* further than two edits is no suggestion */

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	for (int list = 0; list < 2; list++) {
		const char *const *opts = list ? fuse_options : own_options;

		for (size_t i = 0; opts[i]; i++) {
			char cand[64];
			size_t d;

			snprintf(cand, sizeof(cand), "%.*s",
				 (int)strcspn(opts[i], "="), opts[i]);
			d = distance(name, cand);
			if (d < best_d) {
				best_d = d;
				best = opts[i];
			}
		}
	}
	return best;
}

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("xvafs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nsee xvafs --help\n", stderr);
	return XVAFS_EXIT_USAGE;
}

/* --- option values --- */

/* A whole decimal number from 0 to MAX. */
static bool parse_uint(const char *text, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!text || !isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

/* A size: a number with an optional K, M, G or T (powers of 1024). */
static bool parse_size(const char *text, uint64_t *out)
{
	static const char units[] = "KMGT";
	char *end;
	unsigned long long v;
	const char *u;

	if (!text || !isdigit((unsigned char)text[0]))
		return false;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return false;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u || (end[1] && strcasecmp(end + 1, "iB") != 0 &&
			   strcasecmp(end + 1, "B") != 0))
			return false;
		for (const char *p = units; p <= u; p++) {
			if (v > UINT64_MAX / 1024)
				return false;
			v *= 1024;
		}
	}
	*out = v;
	return true;
}

static int bad_value(const char *option, const char *value, const char *want)
{
	return usage_error("-o %s=%s: %s", option, value ? value : "", want);
}

/* Every value is checked before anything is created anywhere. */
static int check_values(const struct cli *cli, struct settings *s)
{
	uint64_t v;

	memset(s, 0, sizeof(*s));
	s->umask = 0022;
	s->prefetch = XVA_READAHEAD_DEFAULT;
	if (cli->overlay_block) {
		if (!parse_uint(cli->overlay_block, UINT32_MAX, &v) || v == 0 ||
		    !xva_overlay_block_valid((uint32_t)v))
			return bad_value("overlay_block", cli->overlay_block,
					 "a power of two from 4096 to 65536");
		s->overlay_block = (uint32_t)v;
	}
	if (cli->readahead_kb) {
		if (!parse_uint(cli->readahead_kb, 1u << 20, &v))
			return bad_value("readahead_kb", cli->readahead_kb,
					 "a number of KiB from 0 to 1048576");
		s->readahead_kb = (unsigned)v;
	}
	if (cli->prefetch) {
		if (!parse_size(cli->prefetch, &s->prefetch) ||
		    s->prefetch > (1ull << 30))
			return bad_value("prefetch", cli->prefetch,
					 "a size up to 1G, such as 64M, or 0");
	}
	if (cli->uid) {
		if (!parse_uint(cli->uid, UINT32_MAX - 1, &v))
			return bad_value("uid", cli->uid,
					 "a user id from 0 to 4294967294");
		s->uid_set = true;
		s->uid = (uid_t)v;
	}
	if (cli->gid) {
		if (!parse_uint(cli->gid, UINT32_MAX - 1, &v))
			return bad_value("gid", cli->gid,
					 "a group id from 0 to 4294967294");
		s->gid_set = true;
		s->gid = (gid_t)v;
	}
	if (cli->umask) {
		char *end;

		errno = 0;
		v = strtoul(cli->umask, &end, 8);
		if (!isdigit((unsigned char)cli->umask[0]) || *end || errno ||
		    v > 0777)
			return bad_value("umask", cli->umask,
					 "an octal mode from 000 to 777");
		s->umask = (mode_t)v;
	}
	if (cli->cache_max && !parse_size(cli->cache_max, &s->cache_max))
		return bad_value("cache_max", cli->cache_max,
				 "a size such as 20G");
	if (cli->memory && (!parse_size(cli->memory, &s->memory) ||
			    s->memory < (4u << 20)))
		return bad_value("memory", cli->memory,
				 "a size of at least 4M, such as 256M");
	if (cli->timeout) {
		if (!parse_uint(cli->timeout, 3600, &v) || v == 0)
			return bad_value("timeout", cli->timeout,
					 "seconds from 1 to 3600");
		s->timeout_s = (unsigned)v;
	}
	if (cli->retries) {
		if (!parse_uint(cli->retries, 100, &v) || v == 0)
			return bad_value("retries", cli->retries,
					 "a number of tries from 1 to 100");
		s->retries = (unsigned)v;
	}
	if (cli->ro && (cli->rw || cli->overlay))
		return usage_error("-o ro and -o %s ask for opposite things",
				   cli->overlay ? "overlay=" : "rw");
	return XVAFS_EXIT_OK;
}

/* --- the mount point --- */

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Whether PATH (resolved) is a mount point; its type and source if so.
 * DEV gets the mount's "major:minor". */
static bool mounted_at(const char *path, char *what, size_t len, char *dev,
		       size_t dev_len)
{
	char line[8192];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return false;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - TYPE SOURCE ...":
	 * the last match is the one on top. */
	while (fgets(line, sizeof(line), f)) {
		char majmin[64], mnt[4096], type[256] = "?", source[4096] = "?";
		const char *dash = strstr(line, " - ");

		if (sscanf(line, "%*u %*u %63s %*s %4095s", majmin, mnt) != 2)
			continue;
		unescape(mnt);
		if (strcmp(mnt, path) != 0)
			continue;
		if (dash)
			sscanf(dash + 3, "%255s %4095s", type, source);
		unescape(source);
		snprintf(what, len, "%s from %s", type, source);
		snprintf(dev, dev_len, "%s", majmin);
		found = true;
	}
	fclose(f);
	return found;
}

static int check_mountpoint(const char *mnt)
{
	char resolved[PATH_MAX], what[512], dev[64];
	struct stat st;
	struct dirent *e;
	bool empty = true;
	DIR *dir;

	if (stat(mnt, &st) < 0) {
		if (errno == ENOTCONN)
			fprintf(stderr, "xvafs: %s: %s: an xvafs (or another FUSE "
				"daemon) that served it has died; run "
				"fusermount3 -u %s first\n", mnt, strerror(errno),
				mnt);
		else
			fprintf(stderr, "xvafs: %s: cannot mount there: %s\n", mnt,
				strerror(errno));
		return XVAFS_EXIT_MOUNT;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "xvafs: %s: not a folder; mount on a folder "
			"(mkdir it first)\n", mnt);
		return XVAFS_EXIT_MOUNT;
	}
	if (realpath(mnt, resolved) &&
	    mounted_at(resolved, what, sizeof(what), dev, sizeof(dev))) {
		struct statfs sf;

		/* A dead daemon's mount answers from the kernel's caches, but
		 * statfs always asks the daemon. */
		if (statfs(mnt, &sf) < 0 && errno == ENOTCONN) {
			fprintf(stderr, "xvafs: %s: %s: an xvafs (or another FUSE "
				"daemon) that served it has died; run "
				"fusermount3 -u %s first\n", mnt, strerror(errno),
				mnt);
			return XVAFS_EXIT_MOUNT;
		}
		fprintf(stderr, "xvafs: %s is already a mount point (%s); "
			"unmount it first (fusermount3 -u %s or umount %s), or "
			"mount somewhere else\n", mnt, what, mnt, mnt);
		return XVAFS_EXIT_MOUNT;
	}
	dir = opendir(mnt);
	while (dir && (e = readdir(dir)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = false;
			break;
		}
	if (dir)
		closedir(dir);
	if (!empty)
		fprintf(stderr, "xvafs: %s is not empty: what it holds is hidden "
			"while the export is mounted there\n", mnt);
	return XVAFS_EXIT_OK;
}

/* --- logging --- */

static FILE *log_file;

static void log_to_syslog(enum fuse_log_level level, const char *fmt,
			  va_list ap)
{
	vsyslog((int)level, fmt, ap);
}

static void log_to_file(enum fuse_log_level level, const char *fmt,
			va_list ap)
{
	char stamp[64];
	time_t t = time(NULL);
	struct tm tm;

	(void)level;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(log_file, "%s [%ld] ", stamp, (long)getpid());
	vfprintf(log_file, fmt, ap);
	fflush(log_file);
}

/* --- serving --- */

/* The kernel's readahead for a FUSE mount can only be raised through its
 * backing device's sysfs entry. */
static int set_readahead(const char *mountpoint, unsigned kb)
{
	char resolved[PATH_MAX], what[512], dev[64], path[128];
	FILE *f;

	if (!realpath(mountpoint, resolved) ||
	    !mounted_at(resolved, what, sizeof(what), dev, sizeof(dev))) {
		errno = ENOENT;
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%u\n", kb);
	return fclose(f) == 0 ? 0 : -1;
}

/* Mount options go first so that the user's own -o can override them. */
static int add_default_options(struct fuse_args *args, const char *image,
			       bool writable)
{
	char resolved[PATH_MAX];
	char *opts = NULL, *fsname = NULL;
	int ret = -1;

	if (xva_location_is_url(image) || !realpath(image, resolved))
		snprintf(resolved, sizeof(resolved), "%s", image);
	if (asprintf(&fsname, "fsname=%s", resolved) < 0)
		return -1;
	/* The kernel enforces the modes, so that allow_other, uid, gid and
	 * umask mean what they say. */
	if (fuse_opt_add_opt(&opts, writable ? "rw" : "ro") == 0 &&
	    fuse_opt_add_opt(&opts, "default_permissions") == 0 &&
	    fuse_opt_add_opt(&opts, "subtype=xvafs") == 0 &&
	    fuse_opt_add_opt_escaped(&opts, fsname) == 0 &&
	    fuse_opt_insert_arg(args, 1, "-o") == 0 &&
	    fuse_opt_insert_arg(args, 2, opts) == 0)
		ret = 0;
	free(opts);
	free(fsname);
	return ret;
}

/* Stopping like umount: a signal unmounts the file system unless it is
 * busy (a loop device or an open file uses it); then it stays mounted
 * and serving, retrying every second, until it is free or a second
 * signal forces the stop. The signals are taken by this thread alone. */
struct stopper {
	struct fuse_session *se;
	const char *mountpoint;
	pthread_t main_thread;
	sigset_t signals; /* SIGINT, SIGTERM, SIGHUP, and SIGUSR2 to quit */
};

static int unmount_unless_busy(const char *mnt)
{
	pid_t pid;
	int status;

	if (geteuid() == 0)
		return umount2(mnt, UMOUNT_NOFOLLOW);
	/* fusermount3 -u refuses a busy mount as umount does. */
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execlp("fusermount3", "fusermount3", "-u", "-q", "--", mnt,
		       (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void wake_main(int sig)
{
	(void)sig;
}

static void *stop_on_signal(void *arg)
{
	struct stopper *s = arg;
	bool asked = false;

	for (;;) {
		struct timespec second = { 1, 0 };
		int sig = asked ? sigtimedwait(&s->signals, NULL, &second)
				: sigwaitinfo(&s->signals, NULL);

		if (sig == SIGUSR2)
			return NULL; /* the file system has stopped */
		if (sig < 0 && errno != EAGAIN)
			continue;
		if (sig > 0 && asked) {
			fuse_log(FUSE_LOG_WARNING, "xvafs: %s: second signal: "
				 "stopping now; what still uses the mount gets "
				 "I/O errors\n", s->mountpoint);
			fuse_session_exit(s->se);
			pthread_kill(s->main_thread, SIGUSR1);
			return NULL;
		}
		if (unmount_unless_busy(s->mountpoint) == 0)
			continue; /* the loop ends; main sends SIGUSR2 */
		if (sig > 0) {
			fuse_log(FUSE_LOG_WARNING, "xvafs: %s is busy (a loop "
				 "device or an open file uses it): staying mounted "
				 "and serving until it is free; signal again to "
				 "stop now\n", s->mountpoint);
			asked = true;
		}
	}
}

static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *o)
{
	struct fuse_loop_config *config;
	int ret;

	if (o->singlethread)
		return fuse_session_loop(se);
	config = fuse_loop_cfg_create();
	if (!config)
		return -1;
	fuse_loop_cfg_set_clone_fd(config, (unsigned)o->clone_fd);
	/* UINT_MAX is fuse_parse_cmdline's "not given": keep libfuse's own
	 * defaults then. */
	if (o->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(config, o->max_idle_threads);
	if (o->max_threads != UINT_MAX)
		fuse_loop_cfg_set_max_threads(config, o->max_threads);
	ret = fuse_session_loop_mt(se, config);
	fuse_loop_cfg_destroy(config);
	return ret;
}

/* Serves until unmounted, with signals taken by a stopper thread. */
static int serve_until_stopped(struct fuse_session *se,
			       const struct fuse_cmdline_opts *o)
{
	struct stopper s = { se, o->mountpoint, pthread_self(), { { 0 } } };
	struct sigaction sa;
	pthread_t thread;
	int ret;

	sigemptyset(&s.signals);
	sigaddset(&s.signals, SIGINT);
	sigaddset(&s.signals, SIGTERM);
	sigaddset(&s.signals, SIGHUP);
	sigaddset(&s.signals, SIGUSR2);
	/* Inherited by every thread libfuse starts. */
	pthread_sigmask(SIG_BLOCK, &s.signals, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_main; /* no SA_RESTART: interrupts the wait */
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&thread, NULL, stop_on_signal, &s) != 0)
		return -1;
	ret = serve(se, o);
	pthread_kill(thread, SIGUSR2);
	pthread_join(thread, NULL);
	/* A signal number from libfuse is a stop asked for, not a failure. */
	return ret < 0 ? ret : 0;
}

static int open_overlay(const struct cli *cli, const struct settings *s,
			struct xvafs_fs *fs, const char *mountpoint)
{
	char *dir = cli->overlay, holder[PATH_MAX + 32];
	struct xva_err err;
	enum xva_status st;

	if (!dir && asprintf(&dir, "%s.overlay", cli->image) < 0) {
		fprintf(stderr, "xvafs: out of memory\n");
		return XVAFS_EXIT_MOUNT;
	}
	/* mount(8) passes "rw" for fstab's "defaults": writes next to an
	 * export are only ever made where someone made room for them. */
	if (!cli->overlay && access(dir, F_OK) != 0) {
		fprintf(stderr, "xvafs: %s: -o rw keeps the disks' writes in this "
			"folder, which does not exist: create it to allow writes, "
			"give -o overlay=DIR, or mount with -o ro (fstab's "
			"\"defaults\" means rw)\n", dir);
		if (dir != cli->overlay)
			free(dir);
		return XVAFS_EXIT_USAGE;
	}
	snprintf(holder, sizeof(holder), "mounted at %s", mountpoint);
	st = xva_overlay_open(fs->xva, dir, XVA_OVL_WRITE, s->overlay_block,
			      holder, &fs->overlay, &err);
	if (st != XVA_OK)
		fprintf(stderr, "xvafs: %s: %s\n", dir, err.msg);
	if (dir != cli->overlay)
		free(dir);
	if (st == XVA_OK)
		return XVAFS_EXIT_OK;
	/* A folder that cannot be made or opened is the option's fault. */
	if (st == XVA_EOPEN || st == XVA_EINVAL)
		return XVAFS_EXIT_USAGE;
	return st == XVA_EIO || st == XVA_ENOSPC || st == XVA_ENOMEM
		? XVAFS_EXIT_MOUNT : XVAFS_EXIT_BAD_INPUT;
}

/* vm/NAME.cfg, .xml and .qemu.sh: the export's VM for xl, libvirt and
 * qemu, its disks in this mount. An export whose VM record is missing or
 * cannot be right mounts without them (the disks are what matter);
 * --vm-config and --list --json say why. */
static int add_vm_files(struct xvafs_fs *fs, const char *image,
			const char *mountpoint)
{
	static const enum xva_vm_format formats[] = {
		XVA_VM_XL, XVA_VM_LIBVIRT, XVA_VM_QEMU,
	};
	const char *base = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
	struct xva_vm *vm;
	struct xva_err err;
	int ret = 0;

	if (!fs->xva->ova || fs->xva->ova->n_vms == 0)
		return 0;
	vm = xvafs_vm_of(fs->xva, &err);
	if (!vm)
		return err.status == XVA_ENOMEM ? -1 : 0;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]) && !ret; i++) {
		char *text = NULL, *name = NULL;
		size_t len;

		if (xva_vm_write(vm, formats[i], mountpoint, base, &text, &len,
				 &err) != XVA_OK) {
			fprintf(stderr, "xvafs: %s: no vm/ files: %s\n", image,
				err.msg);
			break;
		}
		if (asprintf(&name, "%s%s", vm->file_stem,
			     xva_vm_format_suffix(formats[i])) < 0) {
			free(text);
			ret = -1;
			break;
		}
		ret = xvafs_fs_add_text(fs, XVA_NAME_VM, name, text, len,
					formats[i] == XVA_VM_QEMU);
		free(name);
	}
	xva_vm_free(vm);
	return ret;
}

/* Mounts XVA at the mount point and serves it until unmounted. */
static int mount_and_serve(struct fuse_args *args, const struct cli *cli,
			   const struct settings *s,
			   const struct fuse_cmdline_opts *opts, struct xva *xva)
{
	struct xvafs_fs fs = { 0 };
	struct fuse_session *se = NULL;
	char holder[PATH_MAX + 32];
	struct xva_err err;
	bool daemonized;
	int status;

	if (xva_direct_errno(xva))
		fprintf(stderr, "xvafs: %s: cannot open the export with O_DIRECT "
			"(%s); O_DIRECT readers will be served through the page "
			"cache\n", cli->image, strerror(xva_direct_errno(xva)));
	fs.xva = xva;
	fs.splice = !cli->nosplice;
	fs.readahead_kb = s->readahead_kb;
	fs.prefetch = s->prefetch;
	fs.uid = s->uid_set ? s->uid : getuid();
	fs.gid = s->gid_set ? s->gid : getgid();
	fs.umask = s->umask;
	if (cli->rw || cli->overlay) {
		status = open_overlay(cli, s, &fs, opts->mountpoint);
		if (status != XVAFS_EXIT_OK)
			return status;
	}
	status = XVAFS_EXIT_MOUNT;
	if (xvafs_fs_init(&fs, xva) != 0 ||
	    add_vm_files(&fs, cli->image, opts->mountpoint) != 0 ||
	    add_default_options(args, cli->image, fs.overlay != NULL) != 0) {
		fprintf(stderr, "xvafs: out of memory\n");
		goto out;
	}
	se = fuse_session_new(args, &xvafs_ops, sizeof(xvafs_ops), &fs);
	if (!se)
		goto out; /* libfuse has said why */
	if (fuse_session_mount(se, opts->mountpoint) != 0)
		goto out;
	if (s->readahead_kb && set_readahead(opts->mountpoint, s->readahead_kb) != 0)
		fprintf(stderr, "xvafs: %s: cannot set readahead_kb=%u: %s "
			"(serving with the kernel's default)\n", opts->mountpoint,
			s->readahead_kb, strerror(errno));
	/* A remote source's I/O thread would not live on in the daemon. */
	xva_source_before_fork(xva->src);
	daemonized = fuse_daemonize(opts->foreground) == 0;
	xva_source_after_fork(xva->src);
	if (!daemonized)
		goto out_unmount;
	if (log_file) {
		fuse_set_log_func(log_to_file);
	} else if (!opts->foreground) {
		openlog("xvafs", LOG_PID, LOG_DAEMON);
		fuse_set_log_func(log_to_syslog);
	}
	/* The daemon is another process now: the overlay's holder too. */
	snprintf(holder, sizeof(holder), "mounted at %s", opts->mountpoint);
	if (fs.overlay)
		xva_overlay_set_holder(fs.overlay, holder);
	if (serve_until_stopped(se, opts) == 0)
		status = XVAFS_EXIT_OK;
out_unmount:
	fuse_session_unmount(se);
out:
	if (se)
		fuse_session_destroy(se);
	xvafs_fs_destroy(&fs);
	/* Whatever was written and not yet synced is made durable now. */
	if (xva_overlay_close(fs.overlay, &err) != XVA_OK) {
		fuse_log(FUSE_LOG_ERR, "xvafs: %s: %s\n", cli->image, err.msg);
		status = XVAFS_EXIT_MOUNT;
	}
	return status;
}

/* PATH as an absolute path, resolved when it exists (malloc'ed). */
static char *absolute_path(const char *path)
{
	char resolved[PATH_MAX], cwd[PATH_MAX], *out = NULL;

	if (realpath(path, resolved))
		return strdup(resolved);
	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) && asprintf(&out, "%s/%s", cwd, path) >= 0)
		return out;
	return NULL;
}

/* --- main --- */

/* A program started with standard input, output or error closed would
 * otherwise open the export on one of them, and daemonizing would put
 * /dev/null over it. */
static void keep_std_fds_open(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", O_RDWR) < 0)
			_exit(XVAFS_EXIT_MOUNT);
}

static int check_command_line(const struct cli *cli)
{
	struct stat a, b;

	if (cli->unknown) {
		const char *near = closest_option(cli->unknown);

		if (near)
			return usage_error("unknown option '%s' (did you mean "
					   "'%.*s'?)", cli->unknown,
					   (int)strcspn(near, "="), near);
		return usage_error("unknown option '%s'", cli->unknown);
	}
	if (cli->list + cli->verify + cli->export_disk + !!cli->vm_config > 1)
		return usage_error("--list, --verify, --export-disk and --vm-config "
				   "do not go together");
	if ((cli->json || cli->bytes) && !cli->list)
		return usage_error("--json and --bytes go with --list");
	if (cli->force && !cli->export_disk)
		return usage_error("--force goes with --export-disk");
	if (!cli->image)
		return usage_error("no export given");
	if (cli->export_disk) {
		if (!cli->mountpoint || !cli->out || cli->extra_operands)
			return usage_error("--export-disk takes EXPORT DISK OUT");
		return XVAFS_EXIT_OK;
	}
	if (cli->list || cli->verify) {
		if (cli->mountpoint)
			return usage_error("--list and --verify take only EXPORT");
		return XVAFS_EXIT_OK;
	}
	if (cli->vm_config) {
		if (!cli->mountpoint || cli->extra_operands)
			return usage_error("--vm-config takes FORMAT EXPORT "
					   "MOUNTPOINT (where the export is, or "
					   "will be, mounted)");
		return XVAFS_EXIT_OK;
	}
	if (!cli->mountpoint)
		return usage_error("no mount point given");
	if (cli->extra_operands)
		return usage_error("too many operands: one EXPORT and one "
				   "MOUNTPOINT");
	if (stat(cli->image, &a) == 0 && S_ISDIR(a.st_mode) &&
	    stat(cli->mountpoint, &b) == 0 && !S_ISDIR(b.st_mode))
		return usage_error("%s is a folder and %s is not: the export comes "
				   "first, then the mount point (xvafs %s %s)",
				   cli->image, cli->mountpoint, cli->mountpoint,
				   cli->image);
	return XVAFS_EXIT_OK;
}

static void free_cli(struct cli *cli)
{
	char **strings[] = {
		&cli->overlay, &cli->overlay_block, &cli->readahead_kb,
		&cli->prefetch, &cli->uid, &cli->gid, &cli->umask,
		&cli->cache_dir, &cli->cache_max, &cli->memory, &cli->log,
		&cli->ca_file, &cli->s3_endpoint, &cli->s3_region,
		&cli->aws_profile, &cli->timeout, &cli->retries, &cli->unknown,
		&cli->vm_config,
	};

	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(*strings[i]);
}

/* What went to standard output (--list, --help, a listing for a script)
 * must have reached it: a full disk or a closed pipe is exit status 6,
 * not a success. */
static int stdout_written(int status)
{
	bool failed = fflush(stdout) != 0;
	int errnum = errno;

	if (!failed && !ferror(stdout))
		return status;
	if (status == XVAFS_EXIT_OUTPUT)
		return status; /* already said */
	fprintf(stderr, "xvafs: cannot write to standard output: %s\n",
		failed ? strerror(errnum) : "write error");
	return status == XVAFS_EXIT_OK ? XVAFS_EXIT_OUTPUT : status;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = { 0 };
	struct xva_open_options open_options = { 0 };
	struct xvafs_progress progress;
	struct xva *xva = NULL;
	struct settings s;
	struct cli cli = { 0 };
	struct xva_err err;
	char *cache_dir = NULL;
	bool mounting;
	int status;

	keep_std_fds_open();
	if (fuse_opt_parse(&args, &cli, cli_spec, cli_proc) != 0) {
		status = usage_error("cannot parse the command line");
		goto out;
	}
	if (cli.help) {
		fputs(usage_text, stdout);
		status = XVAFS_EXIT_OK;
		goto out;
	}
	if (cli.version) {
		printf("xvafs %s (libfuse %s, %s)\n", XVAFS_VERSION,
		       fuse_pkgversion(), archive_version_string());
		status = XVAFS_EXIT_OK;
		goto out;
	}
	status = check_command_line(&cli);
	if (status == XVAFS_EXIT_OK)
		status = check_values(&cli, &s);
	if (status != XVAFS_EXIT_OK)
		goto out;
	mounting = !cli.list && !cli.verify && !cli.export_disk &&
		   !cli.vm_config;
	if (mounting) {
		status = check_mountpoint(cli.mountpoint);
		if (status != XVAFS_EXIT_OK)
			goto out;
		if (fuse_parse_cmdline(&args, &opts) != 0) {
			status = XVAFS_EXIT_USAGE;
			goto out;
		}
	}
	if (cli.log) {
		log_file = fopen(cli.log, "ae");
		if (!log_file) {
			fprintf(stderr, "xvafs: -o log=%s: %s\n", cli.log,
				strerror(errno));
			status = XVAFS_EXIT_USAGE;
			goto out;
		}
	}

	if (!cli.noindexcache)
		open_options.cache_dir = cache_dir =
			cli.cache_dir ? strdup(cli.cache_dir)
				      : xva_cache_default_dir();
	open_options.source = (struct xva_source_options){
		/* --verify checks a compressed stream's own checksum now. */
		.fresh_pass = cli.verify != 0,
		.cache_max = s.cache_max,
		.memory_max = s.memory,
		.progress = xvafs_progress_fn,
		.progress_ctx = &progress,
		.stop = &xvafs_interrupted,
		.ca_file = cli.ca_file,
		.s3_endpoint = cli.s3_endpoint,
		.s3_region = cli.s3_region,
		.aws_profile = cli.aws_profile,
		.s3_path_style = cli.s3_path_style ? 1 : -1,
		.timeout_s = s.timeout_s,
		.retries = s.retries,
	};
	/* Ctrl-C stops a long index pass cleanly. */
	xvafs_catch_interrupts(true);
	xvafs_progress_start(&progress, "indexing", 0);
	status = xva_open(cli.image, &open_options, &xva, &err) == XVA_OK
		 ? XVAFS_EXIT_OK : xvafs_exit_for_open(err.status);
	xvafs_progress_end(&progress);
	if (status != XVAFS_EXIT_OK) {
		if (cli.list && cli.json)
			xvafs_list_json_error(stdout, cli.image, &err);
		fprintf(stderr, "xvafs: %s: %s\n", cli.image, err.msg);
		goto out;
	}
	if (xva->cache_note[0])
		fprintf(stderr, "xvafs: %s: %s\n", cli.image, xva->cache_note);
	if (cli.list) {
		xvafs_warn(stderr, cli.image, xva);
		status = xvafs_list(stdout, cli.image, xva, cli.json, cli.bytes);
		goto out;
	}
	if (cli.verify) {
		status = xvafs_verify(stdout, cli.image, xva);
		goto out;
	}
	if (cli.export_disk) {
		struct xvafs_export_options eo = { cli.mountpoint, cli.out,
						   cli.overlay, cli.force != 0 };

		status = xvafs_export_disk(cli.image, xva, &eo);
		goto out;
	}
	if (cli.vm_config) {
		char *mnt = absolute_path(cli.mountpoint);

		status = mnt ? xvafs_vm_config_of(stdout, cli.vm_config, xva, mnt,
						  cli.image)
			     : XVAFS_EXIT_USAGE;
		free(mnt);
		goto out;
	}
	xvafs_catch_interrupts(false);
	if (cli.verify_reads && !xva->chunk_state &&
	    xva_enable_verify(xva, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s: -o verify: %s\n", cli.image, err.msg);
		status = XVAFS_EXIT_BAD_INPUT;
		goto out;
	}
	xvafs_warn(stderr, cli.image, xva);
	status = mount_and_serve(&args, &cli, &s, &opts, xva);
out:
	xva_close(xva);
	free(cache_dir);
	free_cli(&cli);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	if (log_file)
		fclose(log_file);
	return stdout_written(status);
}
