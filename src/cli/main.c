/* xvafs: mount a XenServer / XCP-ng VM export (.xva) and serve each of its
 * disks as a raw file, read in place; or list, verify or export one.
 *
 * Everything that can fail (the command line and every option's value,
 * the mount point, opening, indexing and checking the export, the
 * overlay) is done before mounting and daemonizing, so errors reach the
 * terminal and the exit status. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>

#include "cli/cli.h"
#include "cli/cmd_vmconfig.h"
#include "fuse/fs.h"
#include "front/openerror.h"
#include "front/options.h"
#include "fuse/serve.h"
#include "cli/tools.h"
#include "xvafs/cachefile.h"
#include "xvafs/repository.h"
#include "xvafs/verify.h"

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

/* Whether the command line asks for a mount rather than a command. */
static bool mounting(const struct cli *cli)
{
	return !cli->list && !cli->verify && !cli->export_disk &&
	       !cli->vm_config;
}

/* What is checked and opened before the export: the mount point and
 * libfuse's options when mounting, and the log. */
static int before_opening(struct fuse_args *args, const struct cli *cli,
			  struct fuse_cmdline_opts *opts)
{
	int status;

	if (mounting(cli)) {
		status = check_mountpoint(cli->mountpoint);
		if (status != XVAFS_EXIT_OK)
			return status;
		if (fuse_parse_cmdline(args, opts) != 0)
			return XVAFS_EXIT_USAGE;
	}
	/* A cache folder asked for by name is made now, so that one that
	 * cannot be is an error, not a mount that quietly keeps no cache. */
	if (cli->value[XVAFS_OPT_CACHE_DIR] && !cli->flag[XVAFS_OPT_NOINDEXCACHE]) {
		const char *dir = cli->value[XVAFS_OPT_CACHE_DIR];
		struct xva_err err;

		if (!dir[0])
			return usage_error("-o cache_dir= needs a folder");
		if (xva_cache_mkdir(dir, &err) != XVA_OK) {
			fprintf(stderr, "xvafs: -o cache_dir: %s\n", err.msg);
			return XVAFS_EXIT_USAGE;
		}
		/* A shared cache made by another user is still read from. */
		if (access(dir, W_OK | X_OK) < 0)
			fprintf(stderr, "xvafs: -o cache_dir=%s: %s: "
				"caches found there are used, none is written\n",
				dir, strerror(errno));
	}
	if (cli->value[XVAFS_OPT_LOG])
		return open_log(cli->value[XVAFS_OPT_LOG]);
	return XVAFS_EXIT_OK;
}

/* The repository key, as the option table says it is given. */
static int load_key(const struct cli *cli, struct xva_crypt_key *key,
		    bool *given, bool *from_env)
{
	struct xva_err err;

	if (xvafs_key_load(cli->value[XVAFS_OPT_KEY_FILE], key, given, from_env,
			   &err) == XVA_OK)
		return XVAFS_EXIT_OK;
	fprintf(stderr, "xvafs: %s\n", err.msg);
	return XVAFS_EXIT_USAGE;
}

/* The source options every export (or every backup of a repository) is
 * opened with. */
void xvafs_source_options(const struct cli *cli, const struct settings *s,
			  struct xvafs_progress *progress,
			  struct xva_source_options *so)
{
	*so = (struct xva_source_options){
		/* --verify checks a compressed stream's own checksum now. */
		.fresh_pass = cli->verify != 0,
		.cache_max = s->cache_max,
		.memory_max = s->memory,
		.progress = progress ? xvafs_progress_fn : NULL,
		.progress_ctx = progress,
		.stop = &xvafs_interrupted,
		.ca_file = cli->value[XVAFS_OPT_CA_FILE],
		.s3_endpoint = cli->value[XVAFS_OPT_S3_ENDPOINT],
		.s3_region = cli->value[XVAFS_OPT_S3_REGION],
		.aws_profile = cli->value[XVAFS_OPT_AWS_PROFILE],
		.s3_path_style = cli->flag[XVAFS_OPT_S3_PATH_STYLE] ? 1 : -1,
		.timeout_s = s->timeout_s,
		.retries = s->retries,
		.crypt_unauthenticated = cli->flag[XVAFS_OPT_UNAUTHENTICATED],
	};
}

/* Whether the export named is a backup repository's root. */
static bool is_repository(const struct cli *cli, const struct settings *s)
{
	struct xva_source_options so;

	xvafs_source_options(cli, s, NULL, &so);
	so.progress = NULL;
	return xva_repo_detect(cli->image, &so);
}

/* Opens and indexes the export into *XVA; *CACHE_DIR (malloc'ed) and
 * PROGRESS must outlive it. */
static int open_export(const struct cli *cli, const struct settings *s,
		       struct xvafs_progress *progress, char **cache_dir,
		       struct xva **xva)
{
	struct xva_open_options open_options = { 0 };
	struct xva_crypt_key key;
	bool key_given, key_from_env;
	struct xva_err err;
	int status;

	if (!cli->flag[XVAFS_OPT_NOINDEXCACHE])
		open_options.cache_dir = *cache_dir =
			cli->value[XVAFS_OPT_CACHE_DIR]
				? absolute_path(cli->value[XVAFS_OPT_CACHE_DIR])
				      : xva_cache_default_dir();
	xvafs_source_options(cli, s, progress, &open_options.source);
	status = load_key(cli, &key, &key_given, &key_from_env);
	if (status != XVAFS_EXIT_OK)
		return status;
	open_options.key = key_given ? &key : NULL;
	open_options.key_if_needed = key_from_env;
	open_options.key_how = XVAFS_KEY_HOW;
	/* Ctrl-C stops a long index pass cleanly. */
	xvafs_catch_interrupts();
	xvafs_progress_start(progress, "indexing", 0);
	status = xva_open(cli->image, &open_options, xva, &err) == XVA_OK
		 ? XVAFS_EXIT_OK : xvafs_exit_for(err.status, XVAFS_AT_EXPORT);
	xvafs_progress_end(progress);
	if (key_given)
		xva_crypt_key_wipe(&key);
	if (status != XVAFS_EXIT_OK) {
		char msg[XVAFS_OPEN_ERROR_MAX];

		xvafs_open_error(cli->image, &err, msg, sizeof(msg));
		if (cli->list && cli->json)
			xvafs_list_json_error(stdout, cli->image, err.status,
					      msg);
		xvafs_say_about(stderr, cli->image, msg);
		return status;
	}
	if ((*xva)->cache_note[0])
		fprintf(stderr, "xvafs: %s: %s\n", cli->image, (*xva)->cache_note);
	return XVAFS_EXIT_OK;
}

/* A repository's catalogue into *REPO (the key from -o key_file= or the
 * environment, checked first). */
static int open_repository(const struct cli *cli, const struct settings *s,
			   struct xvafs_progress *progress,
			   struct xva_repo **repo)
{
	struct xva_source_options so;
	struct xva_crypt_key key;
	bool key_given, key_from_env;
	struct xva_err err;
	int status;

	if (cli->export_disk || cli->vm_config)
		return usage_error("%s is a backup repository: --export-disk and "
				   "--vm-config take one backup's .xva "
				   "(%s/%s/UUID/STAMP.xva)", cli->image,
				   cli->image, XVA_REPO_BACKUPS);
	if (cli->flag[XVAFS_OPT_RW] || cli->value[XVAFS_OPT_OVERLAY])
		return usage_error("%s is a backup repository, mounted read-only: "
				   "-o rw and overlay= go with one backup",
				   cli->image);
	xvafs_source_options(cli, s, progress, &so);
	status = load_key(cli, &key, &key_given, &key_from_env);
	if (status != XVAFS_EXIT_OK)
		return status;
	xvafs_catch_interrupts();
	xvafs_progress_start(progress, "indexing", 0);
	status = xva_repo_open(cli->image, key_given ? &key : NULL,
			       key_from_env, &so, repo, &err) == XVA_OK
		 ? XVAFS_EXIT_OK : xvafs_exit_for(err.status, XVAFS_AT_EXPORT);
	if (key_given)
		xva_crypt_key_wipe(&key);
	if (status != XVAFS_EXIT_OK) {
		if (err.status == XVA_EACCESS && !key_given)
			xva_fail_why(&err, err.status, err.reason, "%s (give it "
				     "with %s)", err.msg, XVAFS_KEY_HOW);
		if (cli->list && cli->json)
			xvafs_list_json_error(stdout, cli->image, err.status,
					      err.msg);
		xvafs_say_about(stderr, cli->image, err.msg);
	}
	return status;
}

/* --list, --verify or the mount of a repository. */
static int run_repository(struct fuse_args *args, const struct cli *cli,
			  const struct settings *s,
			  const struct fuse_cmdline_opts *opts,
			  struct xvafs_progress *progress,
			  struct xva_repo *repo, const char *cache_dir)
{
	struct xva_open_options oo = { .cache_dir = cache_dir,
				       .key_how = XVAFS_KEY_HOW };
	const char *select = cli->value[XVAFS_OPT_VM];

	xvafs_source_options(cli, s, progress, &oo.source);
	if (cli->list)
		return xvafs_repo_list(stdout, repo, &oo.source, cli->json,
				       cli->bytes, select);
	if (cli->verify)
		return xvafs_repo_verify(stdout, repo, &oo, select);
	/* Backups open in the daemon, when first looked into: no progress
	 * lines from there. */
	oo.source.progress = NULL;
	oo.source.progress_ctx = NULL;
	return mount_repository(args, cli, s, opts, repo, &oo);
}

/* --list, --verify, --export-disk or --vm-config on the opened export. */
static int run_command(const struct cli *cli, struct xva *xva)
{
	char *mnt;
	int status;

	if (cli->list) {
		xvafs_warn(stderr, cli->image, xva);
		return xvafs_list(stdout, cli->image, xva, cli->json, cli->bytes);
	}
	if (cli->verify)
		return xvafs_verify(stdout, cli->image, xva);
	if (cli->export_disk) {
		struct xvafs_export_options eo = { cli->mountpoint, cli->out,
						   cli->value[XVAFS_OPT_OVERLAY],
						   cli->force != 0 };

		return xvafs_export_disk(cli->image, xva, &eo);
	}
	mnt = absolute_path(cli->mountpoint);
	status = mnt ? xvafs_vm_config_of(stdout, cli->vm_config, xva, mnt,
					  cli->image, cli->value[XVAFS_OPT_BRIDGE])
		     : XVAFS_EXIT_USAGE;
	free(mnt);
	return status;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = { 0 };
	struct xvafs_progress progress;
	struct xva *xva = NULL;
	struct xva_repo *repo = NULL;
	struct settings s;
	struct cli cli = { 0 };
	struct xva_err err;
	char *cache_dir = NULL;
	int status;

	keep_std_fds_open();
	/* A closed connection or pipe (libcurl's sockets, a reader of
	 * standard output) is an error to report, never a reason to die:
	 * ignored in every thread from the start. */
	signal(SIGPIPE, SIG_IGN);
	if (cli_parse(&args, &cli) != 0) {
		status = usage_error("cannot parse the command line");
		goto out;
	}
	if (cli.help) {
		print_usage(stdout);
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
	if (status == XVAFS_EXIT_OK)
		status = before_opening(&args, &cli, &opts);
	if (status == XVAFS_EXIT_OK && is_repository(&cli, &s)) {
		if (!cli.flag[XVAFS_OPT_NOINDEXCACHE])
			cache_dir = cli.value[XVAFS_OPT_CACHE_DIR]
				    ? absolute_path(cli.value[XVAFS_OPT_CACHE_DIR])
				    : xva_cache_default_dir();
		status = open_repository(&cli, &s, &progress, &repo);
		if (status == XVAFS_EXIT_OK)
			status = run_repository(&args, &cli, &s, &opts, &progress,
						repo, cache_dir);
		goto out;
	}
	if (status == XVAFS_EXIT_OK && cli.value[XVAFS_OPT_VM]) {
		status = usage_error("--vm goes with a backup repository, and %s "
				     "is none (no %s/ in it)", cli.image,
				     XVA_REPO_BACKUPS);
		goto out;
	}
	if (status == XVAFS_EXIT_OK)
		status = open_export(&cli, &s, &progress, &cache_dir, &xva);
	if (status != XVAFS_EXIT_OK)
		goto out;
	if (!mounting(&cli)) {
		status = run_command(&cli, xva);
		goto out;
	}
	/* The handler stays until mount_and_serve blocks the stop signals:
	 * one that comes now is kept in xvafs_interrupted, and the stopper
	 * acts on it once the file system is mounted. */
	if (cli.flag[XVAFS_OPT_VERIFY] && !xva_verify_enabled(xva) &&
	    xva_enable_verify(xva, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s: -o verify: %s\n", cli.image, err.msg);
		status = XVAFS_EXIT_BAD_INPUT;
		goto out;
	}
	xvafs_warn(stderr, cli.image, xva);
	status = mount_and_serve(&args, &cli, &s, &opts, xva);
out:
	xva_close(xva);
	xva_repo_close(repo);
	free(cache_dir);
	free_cli(&cli);
	free(opts.mountpoint);
	fuse_opt_free_args(&args);
	close_log();
	return stdout_written(status);
}
