/* The FUSE front end: low-level operations over an opened .xva. Core status
 * codes become errno values here and nowhere else. */
#ifndef XVAFS_FS_H
#define XVAFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "xvafs/archive.h"

/* The mount's whole state; the daemon has no other. */
struct xvafs_fs {
	struct xva *xva;
	uid_t uid;
	gid_t gid;
};

extern const struct fuse_lowlevel_ops xvafs_ops;

#endif
