/* xvafs: mount a XenServer / XCP-ng VM export (.xva) and serve each of its
 * disks as a raw file, read in place; or list or verify an export.
 *
 * Everything that can fail about the .xva (open, index, check) happens
 * before mounting and daemonizing, so errors reach the terminal and the exit
 * status. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <archive.h>

#include "fs.h"
#include "tools.h"

static const char usage_text[] =
"usage: xvafs [options] FILE.xva MOUNTPOINT\n"
"       xvafs --list [--json] FILE.xva\n"
"       xvafs --verify FILE.xva\n"
"       xvafs --export-disk FILE.xva PREFIX OUT.raw [--overlay DIR]\n"
"\n"
"Mounts a XenServer / XCP-ng VM export read-only. Each disk appears as a\n"
"raw file named by its member prefix (e.g. Ref:12), read in place, with\n"
"links to it in by-device/ (xvda, ...) and by-label/ (the VDI's name);\n"
"the export's ova.xml is there too.\n"
"\n"
"commands:\n"
"    --list                 show the VM and its disks, without mounting\n"
"    --json                 with --list: the same as JSON\n"
"    --verify               check every chunk against its checksum\n"
"    --export-disk          write disk PREFIX as a sparse raw file OUT.raw\n"
"    --overlay DIR          with --export-disk: with that overlay's changes\n"
"    --no-index-cache       neither use nor write the index cache\n"
"\n"
"options:\n"
"    -h, --help             print this help and exit\n"
"    -V, --version          print the version and exit\n"
"    -f                     stay in the foreground\n"
"    -d, -o debug           print FUSE requests (implies -f)\n"
"    -s                     serve requests on a single thread\n"
"    -o OPT[,OPT...]        mount options:\n"
"         verify                check each chunk against its checksum the\n"
"                               first time it is read; a chunk that fails\n"
"                               (or has none) reads as an I/O error\n"
"         readahead_kb=N        kernel readahead for the disks, in KiB\n"
"                               (default: the kernel's, 128; needs root)\n"
"         nosplice              copy read replies instead of splicing\n"
"                               them from the export\n"
"         noindexcache          neither use nor write the index cache\n"
"                               ($XDG_CACHE_HOME/xvafs or ~/.cache/xvafs)\n"
"         allow_other           let other users read the disks\n"
"                               (needs user_allow_other in /etc/fuse.conf\n"
"                               when not run as root)\n"
"         allow_root            let root read the disks\n"
"         uid=N, gid=N          owner of the files (default: who mounts)\n"
"         umask=M               modes: 0444 for disks (0666 when writable),\n"
"                               0555 for folders, less M (default 0022);\n"
"                               the kernel checks them (default_permissions)\n"
"         fsname=NAME           source shown by mount/df (default: FILE.xva)\n"
"         subtype=NAME          type shown as fuse.NAME (default: xvafs)\n"
"         max_read=N            largest read request, in bytes\n"
"         clone_fd              one /dev/fuse descriptor per thread\n"
"         max_idle_threads=N    idle threads kept by the thread pool\n"
"         max_threads=N         most threads serving requests\n"
"         ro                    read-only (the default)\n"
"         rw                    writable disks: writes go to an overlay in\n"
"                               FILE.xva.overlay/ beside the export (which\n"
"                               must exist), never to the export\n"
"         overlay=DIR           writable, with the overlay in DIR\n"
"         overlay_block=N       block size of a new overlay, 4096 to 65536\n"
"\n"
"exit status: 0 success, 1 usage error, 2 the export cannot be read or is\n"
"malformed, 3 mounting failed, 4 --verify found damaged or unverifiable\n"
"chunks.\n"
"\n"
"Unmount with: fusermount3 -u MOUNTPOINT\n";

struct cli {
	const char *image;
	const char *mountpoint;
	int help;
	int version;
	int list;
	int json;
	int verify;  /* --verify: the command */
	int verify_reads; /* -o verify: the mount option */
	int nosplice;
	int noindexcache;
	unsigned readahead_kb;
	int rw;
	char *overlay;
	unsigned overlay_block;
	int export_disk;
	const char *out; /* --export-disk's third operand */
	int uid_set, gid_set, umask_set;
	unsigned uid, gid, umask;
};

enum { KEY_HELP, KEY_VERSION };

#define CLI_FLAG(text, field) { text, offsetof(struct cli, field), 1 }

static const struct fuse_opt cli_spec[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	CLI_FLAG("--list", list),
	CLI_FLAG("--json", json),
	CLI_FLAG("--verify", verify),
	CLI_FLAG("verify", verify_reads),
	CLI_FLAG("nosplice", nosplice),
	CLI_FLAG("noindexcache", noindexcache),
	CLI_FLAG("--no-index-cache", noindexcache),
	CLI_FLAG("rw", rw),
	CLI_FLAG("--export-disk", export_disk),
	{ "overlay=%s", offsetof(struct cli, overlay), 0 },
	{ "--overlay=%s", offsetof(struct cli, overlay), 0 },
	{ "--overlay %s", offsetof(struct cli, overlay), 0 },
	{ "overlay_block=%u", offsetof(struct cli, overlay_block), 0 },
	{ "uid=%u", offsetof(struct cli, uid), 0 },
	{ "uid=", offsetof(struct cli, uid_set), 1 },
	{ "gid=%u", offsetof(struct cli, gid), 0 },
	{ "gid=", offsetof(struct cli, gid_set), 1 },
	{ "umask=%o", offsetof(struct cli, umask), 0 },
	{ "umask=", offsetof(struct cli, umask_set), 1 },
	{ "readahead_kb=%u", offsetof(struct cli, readahead_kb), 0 },
	FUSE_OPT_END
};

static int cli_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct cli *cli = data;

	(void)outargs;
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
		return 1;
	default:
		return 1;
	}
}

/* Once daemonized stderr is gone: serving errors go to syslog. */
static void log_to_syslog(enum fuse_log_level level, const char *fmt,
			  va_list ap)
{
	vsyslog((int)level, fmt, ap);
}

/* The kernel's readahead for a FUSE mount can only be raised through its
 * backing device's sysfs entry, found from /proc/self/mountinfo without a
 * request to the (not yet serving) file system. */
static int set_readahead(const char *mountpoint, unsigned kb)
{
	char resolved[PATH_MAX], line[8192], path[128];
	unsigned major = 0, minor = 0;
	bool found = false;
	FILE *f;

	if (!realpath(mountpoint, resolved))
		return -1;
	f = fopen("/proc/self/mountinfo", "r");
	if (!f)
		return -1;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT ...": the last match wins. */
	while (fgets(line, sizeof(line), f)) {
		unsigned ma, mi;
		char mnt[4096];

		if (sscanf(line, "%*u %*u %u:%u %*s %4095s", &ma, &mi, mnt) == 3 &&
		    strcmp(mnt, resolved) == 0) {
			major = ma;
			minor = mi;
			found = true;
		}
	}
	fclose(f);
	if (!found) {
		errno = ENOENT;
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/class/bdi/%u:%u/read_ahead_kb",
		 major, minor);
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

	if (!realpath(image, resolved))
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

/* Mounts XVA at the mount point and serves it until unmounted. */
static int mount_and_serve(struct fuse_args *args, const struct cli *cli,
			   const struct fuse_cmdline_opts *opts, struct xva *xva)
{
	struct xvafs_fs fs = { 0 };
	struct fuse_session *se;
	struct xva_err err;
	int status = XVAFS_EXIT_MOUNT;

	/* Without it, O_DIRECT readers are served through the page cache. */
	if (xva_open_direct(xva, &err) != XVA_OK)
		fprintf(stderr, "xvafs: %s: %s; O_DIRECT readers will be served "
			"through the page cache\n", cli->image, err.msg);
	fs.splice = !cli->nosplice;
	fs.readahead_kb = cli->readahead_kb;
	if (cli->rw || cli->overlay) {
		char *dir = cli->overlay;
		enum xva_ovl_status st;

		if (!dir && asprintf(&dir, "%s.overlay", cli->image) < 0) {
			fprintf(stderr, "xvafs: out of memory\n");
			return XVAFS_EXIT_MOUNT;
		}
		/* mount(8) passes "rw" for fstab's "defaults": writes next to an
		 * export are only ever made where someone made room for them. */
		if (!cli->overlay && access(dir, F_OK) != 0) {
			fprintf(stderr, "xvafs: %s: -o rw keeps the disks' writes in "
				"this folder, which does not exist: create it to "
				"allow writes, give -o overlay=DIR, or mount with "
				"-o ro (fstab's \"defaults\" means rw)\n", dir);
			free(dir);
			return XVAFS_EXIT_USAGE;
		}
		st = xva_overlay_open(xva, dir, cli->overlay_block, &fs.overlay,
				      &err);
		if (st != XVA_OVL_OK)
			fprintf(stderr, "xvafs: %s: %s\n", dir, err.msg);
		if (dir != cli->overlay)
			free(dir);
		if (st != XVA_OVL_OK)
			return st == XVA_OVL_EMISMATCH || st == XVA_OVL_EDAMAGED
				       ? XVAFS_EXIT_BAD_INPUT : XVAFS_EXIT_MOUNT;
	}
	if (xvafs_fs_init(&fs, xva) != 0 ||
	    add_default_options(args, cli->image, fs.overlay != NULL) != 0) {
		fprintf(stderr, "xvafs: out of memory\n");
		xvafs_fs_destroy(&fs);
		xva_overlay_close(fs.overlay, &err);
		return XVAFS_EXIT_MOUNT;
	}
	fs.uid = cli->uid_set ? (uid_t)cli->uid : getuid();
	fs.gid = cli->gid_set ? (gid_t)cli->gid : getgid();
	fs.umask = cli->umask_set ? (mode_t)(cli->umask & 0777) : 0022;
	se = fuse_session_new(args, &xvafs_ops, sizeof(xvafs_ops), &fs);
	if (!se) {
		/* libfuse has said which option it did not take. */
		xvafs_fs_destroy(&fs);
		xva_overlay_close(fs.overlay, &err);
		return XVAFS_EXIT_USAGE;
	}
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts->mountpoint) != 0)
		goto out_handlers;
	if (cli->readahead_kb &&
	    set_readahead(opts->mountpoint, cli->readahead_kb) != 0)
		fprintf(stderr, "xvafs: %s: cannot set readahead_kb=%u: %s "
			"(serving with the kernel's default)\n", opts->mountpoint,
			cli->readahead_kb, strerror(errno));
	if (fuse_daemonize(opts->foreground) != 0)
		goto out_unmount;
	if (!opts->foreground) {
		openlog("xvafs", LOG_PID, LOG_DAEMON);
		fuse_set_log_func(log_to_syslog);
	}
	if (serve(se, opts) == 0)
		status = XVAFS_EXIT_OK;
out_unmount:
	fuse_session_unmount(se);
out_handlers:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
	xvafs_fs_destroy(&fs);
	/* Whatever was written and not yet synced is made durable now. */
	if (xva_overlay_close(fs.overlay, &err) != XVA_OVL_OK) {
		fuse_log(FUSE_LOG_ERR, "xvafs: %s: %s\n", cli->image, err.msg);
		status = XVAFS_EXIT_MOUNT;
	}
	return status;
}

static int usage_error(const char *what)
{
	fprintf(stderr, "xvafs: %s\nusage: xvafs [options] FILE.xva MOUNTPOINT "
		"(see xvafs --help)\n", what);
	return XVAFS_EXIT_USAGE;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = { 0 };
	struct xva_open_options open_options = { NULL };
	struct xva *xva = NULL;
	struct cli cli = { 0 };
	struct xva_err err;
	char *cache_dir = NULL;
	int status = XVAFS_EXIT_USAGE;

	if (fuse_opt_parse(&args, &cli, cli_spec, cli_proc) != 0)
		goto out;
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
	if (cli.list + cli.verify + cli.export_disk > 1 ||
	    (cli.json && !cli.list)) {
		status = usage_error("--list, --verify and --export-disk do not go "
				     "together, and --json goes with --list");
		goto out;
	}
	if (cli.export_disk && (!cli.image || !cli.mountpoint || !cli.out)) {
		status = usage_error("--export-disk takes FILE.xva PREFIX OUT.raw");
		goto out;
	}
	if (!cli.image) {
		status = usage_error("no export given");
		goto out;
	}
	if ((cli.list || cli.verify) && (cli.mountpoint || args.argc > 1)) {
		status = usage_error("--list and --verify take only FILE.xva");
		goto out;
	}
	if (!cli.list && !cli.verify && !cli.export_disk) {
		if (!cli.mountpoint) {
			status = usage_error("no mount point given");
			goto out;
		}
		/* A missing mount point is a mount failure, found before
		 * indexing. */
		if (access(cli.mountpoint, F_OK) != 0) {
			fprintf(stderr, "xvafs: %s: cannot mount there: %s\n",
				cli.mountpoint, strerror(errno));
			status = XVAFS_EXIT_MOUNT;
			goto out;
		}
		if (fuse_parse_cmdline(&args, &opts) != 0)
			goto out;
	}

	if (!cli.noindexcache)
		open_options.cache_dir = cache_dir = xva_index_cache_dir();
	if (xva_open(cli.image, &open_options, &xva, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s: %s\n", cli.image, err.msg);
		status = XVAFS_EXIT_BAD_INPUT;
		goto out;
	}
	if (xva->cache_note[0])
		fprintf(stderr, "xvafs: %s: %s\n", cli.image, xva->cache_note);
	if (cli.list) {
		xvafs_warn(stderr, cli.image, xva);
		status = xvafs_list(stdout, cli.image, xva, cli.json);
		goto out;
	}
	if (cli.verify) {
		status = xvafs_verify(stdout, cli.image, xva);
		goto out;
	}
	if (cli.export_disk) {
		status = xvafs_export_disk(cli.image, xva, cli.mountpoint, cli.out,
					   cli.overlay);
		goto out;
	}
	if (cli.verify_reads && xva_enable_verify(xva, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s: -o verify: %s\n", cli.image, err.msg);
		status = XVAFS_EXIT_BAD_INPUT;
		goto out;
	}
	xvafs_warn(stderr, cli.image, xva);
	status = mount_and_serve(&args, &cli, &opts, xva);
out:
	xva_close(xva);
	free(cache_dir);
	free(cli.overlay);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return status;
}
