/* Mounting and serving: the mount point's checks, the log, and the
 * mount served until it is unmounted or stopped by a signal. */
#ifndef XVAFS_SERVE_H
#define XVAFS_SERVE_H

#include "cli/cli.h"

struct fuse_args;
struct fuse_cmdline_opts;
struct xva;

/* Whether MNT can be mounted on: a folder, not a mount already (a dead
 * daemon's is named as such); a warning if it is not empty. */
int check_mountpoint(const char *mnt);
/* -o log=PATH: the messages of the mount go there from daemonizing on.
 * XVAFS_EXIT_USAGE, said on stderr, if it cannot be opened. */
int open_log(const char *path);
void close_log(void);
/* Mounts XVA at the mount point and serves it until unmounted. */
int mount_and_serve(struct fuse_args *args, const struct cli *cli,
		    const struct settings *s,
		    const struct fuse_cmdline_opts *opts, struct xva *xva);

struct xva_repo;
struct xva_open_options;
/* Mounts the backup repository REPO (read-only): a folder per VM, a
 * folder per backup opened with OO when first looked into. */
int mount_repository(struct fuse_args *args, const struct cli *cli,
		     const struct settings *s,
		     const struct fuse_cmdline_opts *opts,
		     struct xva_repo *repo, const struct xva_open_options *oo);

#endif
