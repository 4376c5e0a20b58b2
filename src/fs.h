/* The FUSE front end: low-level operations over an opened .xva. Core status
 * codes become errno values here and nowhere else. */
#ifndef XVAFS_FS_H
#define XVAFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

#include "xvafs/archive.h"
#include "xvafs/overlay.h"

enum xvafs_node_kind { NODE_DIR, NODE_DISK, NODE_OVA_XML, NODE_LINK };

/* One file or folder of the mount; its inode number is its index + 1. */
struct xvafs_node {
	fuse_ino_t parent;
	enum xvafs_node_kind kind;
	const char *name;   /* borrowed from the core, or a literal */
	size_t disk;        /* NODE_DISK: index in the disk map */
	char *target;       /* NODE_LINK: "../PREFIX" */
};

/* Replies to reads are spliced from the .xva when they fit the per-thread
 * pipe, which unprivileged processes cannot grow past 1 MiB
 * (/proc/sys/fs/pipe-max-size); larger replies would make libfuse fall
 * back to allocating and copying. Capping max_write caps read requests
 * too, since libfuse derives the kernel's max_pages from it. */
#define XVAFS_SPLICE_MAX_READ (512u << 10)

/* The mount's whole state; the daemon has no other. */
struct xvafs_fs {
	struct xva *xva;
	uid_t uid;             /* owner of every file (-o uid=, else ours) */
	gid_t gid;
	mode_t umask;          /* -o umask=, else 0022 */
	struct xvafs_node *nodes;
	size_t n_nodes;
	bool splice;           /* reply with the .xva's pages (not -o nosplice) */
	unsigned readahead_kb; /* -o readahead_kb=N, 0: the kernel's default */
	const char *zeros;     /* XVAFS_SPLICE_MAX_READ bytes of zeros, for gaps */
	struct xva_overlay *overlay; /* writable disks; NULL: read-only */
};

/* Lays out the mount: the disks and ova.xml at the root, and the links in
 * by-device/ and by-label/. */
int xvafs_fs_init(struct xvafs_fs *fs, struct xva *xva);
void xvafs_fs_destroy(struct xvafs_fs *fs);

extern const struct fuse_lowlevel_ops xvafs_ops;

#endif
