/* xvafs: mount a XenServer / XCP-ng VM export (.xva) and serve each of its
 * disks as a raw file, read in place.
 *
 * Everything that can fail about the .xva (open, index, check) happens
 * before mounting and daemonizing, so errors reach the terminal and the exit
 * status. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <archive.h>

#include "fs.h"

enum exit_status {
	EXIT_OK = 0,
	EXIT_USAGE = 1,     /* bad command line or mount options */
	EXIT_BAD_INPUT = 2, /* the .xva cannot be read or is malformed */
	EXIT_MOUNT = 3,     /* FUSE could not mount or serve */
};

static const char usage_text[] =
"usage: xvafs [options] FILE.xva MOUNTPOINT\n"
"\n"
"Mounts a XenServer / XCP-ng VM export read-only; each disk in it appears\n"
"as a raw file named by its member prefix (e.g. Ref:12), read in place.\n"
"\n"
"options:\n"
"    -h, --help             print this help and exit\n"
"    -V, --version          print the version and exit\n"
"    -f                     stay in the foreground\n"
"    -d, -o debug           print FUSE requests (implies -f)\n"
"    -s                     serve requests on a single thread\n"
"    -o OPT[,OPT...]        mount options:\n"
"         allow_other           let other users read the disks\n"
"                               (needs user_allow_other in /etc/fuse.conf\n"
"                               when not run as root)\n"
"         allow_root            let root read the disks\n"
"         default_permissions   let the kernel check file modes\n"
"         fsname=NAME           source shown by mount/df (default: FILE.xva)\n"
"         subtype=NAME          type shown as fuse.NAME (default: xvafs)\n"
"         max_read=N            largest read request, in bytes\n"
"         clone_fd              one /dev/fuse descriptor per thread\n"
"         max_idle_threads=N    idle threads kept by the thread pool\n"
"         max_threads=N         most threads serving requests\n"
"         ro                    read-only (always on)\n"
"\n"
"exit status: 0 mounted (or help shown), 1 usage error, 2 the export cannot\n"
"be read or is malformed, 3 mounting failed.\n"
"\n"
"Unmount with: fusermount3 -u MOUNTPOINT\n";

struct cli {
	const char *image;
	const char *mountpoint;
	int help;
	int version;
};

enum { KEY_HELP, KEY_VERSION };

static const struct fuse_opt cli_spec[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
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
		if (!cli->mountpoint)
			cli->mountpoint = arg;
		return 1; /* the mount point, for fuse_parse_cmdline */
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

/* Mount options go first so that the user's own -o can override them. */
static int add_default_options(struct fuse_args *args, const char *image)
{
	char resolved[PATH_MAX];
	char *opts = NULL, *fsname = NULL;
	int ret = -1;

	if (!realpath(image, resolved))
		snprintf(resolved, sizeof(resolved), "%s", image);
	if (asprintf(&fsname, "fsname=%s", resolved) < 0)
		return -1;
	if (fuse_opt_add_opt(&opts, "ro") == 0 &&
	    fuse_opt_add_opt(&opts, "subtype=xvafs") == 0 &&
	    fuse_opt_add_opt_escaped(&opts, fsname) == 0 &&
	    fuse_opt_insert_arg(args, 1, "-o") == 0 &&
	    fuse_opt_insert_arg(args, 2, opts) == 0)
		ret = 0;
	free(opts);
	free(fsname);
	return ret;
}

static void warn_about(const char *image, const struct xva *xva)
{
	if (xva->map.n_disks == 0)
		fprintf(stderr, "xvafs: %s: the export holds no disk data "
			"(metadata only); the mount will be empty\n", image);
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		const struct xva_disk *d = &xva->map.disks[i];
		uint64_t sums = d->checksums[XVA_CHECKSUM_XXHASH] +
				d->checksums[XVA_CHECKSUM_SHA1];

		if (sums > 0 && sums < d->members)
			fprintf(stderr, "xvafs: %s: disk %s: %llu of %llu chunks "
				"have no checksum member\n", image, d->prefix,
				(unsigned long long)(d->members - sums),
				(unsigned long long)d->members);
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

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = { 0 };
	struct fuse_session *se = NULL;
	struct xvafs_fs fs = { 0 };
	struct cli cli = { 0 };
	struct xva_err err;
	int status = EXIT_USAGE;
	enum xva_status st;

	if (fuse_opt_parse(&args, &cli, cli_spec, cli_proc) != 0)
		goto out;
	if (cli.help) {
		fputs(usage_text, stdout);
		status = EXIT_OK;
		goto out;
	}
	if (cli.version) {
		printf("xvafs %s (libfuse %s, %s)\n", XVAFS_VERSION,
		       fuse_pkgversion(), archive_version_string());
		status = EXIT_OK;
		goto out;
	}
	/* A missing mount point is a mount failure, found before indexing. */
	if (cli.mountpoint && access(cli.mountpoint, F_OK) != 0) {
		fprintf(stderr, "xvafs: %s: cannot mount there: %s\n",
			cli.mountpoint, strerror(errno));
		status = EXIT_MOUNT;
		goto out;
	}
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out;
	if (!cli.image || !opts.mountpoint) {
		fprintf(stderr, "xvafs: %s\nusage: xvafs [options] FILE.xva "
			"MOUNTPOINT (see xvafs --help)\n",
			cli.image ? "no mount point given" : "no export given");
		goto out;
	}

	st = xva_open(cli.image, &fs.xva, &err);
	if (st != XVA_OK) {
		fprintf(stderr, "xvafs: %s: %s\n", cli.image, err.msg);
		status = EXIT_BAD_INPUT;
		goto out;
	}
	warn_about(cli.image, fs.xva);
	fs.uid = getuid();
	fs.gid = getgid();

	if (add_default_options(&args, cli.image) != 0) {
		fprintf(stderr, "xvafs: out of memory\n");
		status = EXIT_MOUNT;
		goto out;
	}
	se = fuse_session_new(&args, &xvafs_ops, sizeof(xvafs_ops), &fs);
	if (!se) {
		/* libfuse has said which option it did not take. */
		status = EXIT_USAGE;
		goto out;
	}
	status = EXIT_MOUNT;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_handlers;
	if (fuse_daemonize(opts.foreground) != 0)
		goto out_unmount;
	if (!opts.foreground) {
		openlog("xvafs", LOG_PID, LOG_DAEMON);
		fuse_set_log_func(log_to_syslog);
	}
	if (serve(se, &opts) == 0)
		status = EXIT_OK;
out_unmount:
	fuse_session_unmount(se);
out_handlers:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out:
	xva_close(fs.xva);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	return status;
}
