/* The FUSE front end: low-level operations over an opened .xva. Core status
 * codes become errno values here and nowhere else. */
#ifndef XVAFS_FS_H
#define XVAFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "xvafs/archive.h"

enum xvafs_node_kind { NODE_DIR, NODE_DISK, NODE_OVA_XML, NODE_LINK };

/* One file or folder of the mount; its inode number is its index + 1. */
struct xvafs_node {
	fuse_ino_t parent;
	enum xvafs_node_kind kind;
	const char *name;   /* borrowed from the core, or a literal */
	size_t disk;        /* NODE_DISK: index in the disk map */
	char *target;       /* NODE_LINK: "../PREFIX" */
};

/* The mount's whole state; the daemon has no other. */
struct xvafs_fs {
	struct xva *xva;
	uid_t uid;
	gid_t gid;
	struct xvafs_node *nodes;
	size_t n_nodes;
};

/* Lays out the mount: the disks and ova.xml at the root, and the links in
 * by-device/ and by-label/. */
int xvafs_fs_init(struct xvafs_fs *fs, struct xva *xva);
void xvafs_fs_destroy(struct xvafs_fs *fs);

extern const struct fuse_lowlevel_ops xvafs_ops;

#endif
