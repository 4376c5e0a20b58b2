/* The FUSE front end: low-level operations over an opened export. Core
 * statuses become errno values through xva_status_errno(), here and in no
 * other front end's code. */
#ifndef XVAFS_FS_H
#define XVAFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>

#include "front/guestview.h"
#include "xvafs/overlay.h"
#include "xvafs/view.h"
#include "xvafs/xva.h"

enum xvafs_node_kind { NODE_DIR, NODE_DISK, NODE_OVA_XML, NODE_LINK, NODE_TEXT };

struct xvafs_handle; /* an open file (fs.c) */

/* One file or folder of the mount; its inode number is its index + 1. */
struct xvafs_node {
	fuse_ino_t parent;
	enum xvafs_node_kind kind;
	const char *name;   /* borrowed from the core, or a literal */
	/* NODE_DISK: what it serves, read and written through (a disk, a
	 * disk through the overlay, a slice of one); owned by the mount,
	 * closed in the reverse order of the nodes, so a view goes after
	 * the views over it. Its name is the node's. */
	struct xva_view *view;
	char *target;       /* NODE_LINK: "../PREFIX" */
	char *text;         /* NODE_TEXT: its whole contents (generated) */
	size_t text_len;
	bool executable;    /* NODE_TEXT: a script */
};

/* Replies to reads are spliced from the export when they fit the
 * per-thread pipe, which unprivileged processes cannot grow past 1 MiB
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
	bool splice;           /* reply with the export's pages (not -o nosplice) */
	unsigned readahead_kb; /* -o readahead_kb=N, 0: the kernel's default */
	uint64_t prefetch;     /* bytes read ahead of sequential readers */
	const char *zeros;     /* XVAFS_SPLICE_MAX_READ bytes of zeros, for gaps */
	struct xva_overlay *overlay; /* writable disks; NULL: read-only */
	/* Partitions, LVs and filesystems inside the disks, scanned once at
	 * mount over the disks' views; the nodes from GUEST_FROM on serve
	 * views made over its devices, so it is freed after them. */
	struct xvafs_guest *guest;
	size_t guest_from;
	/* Open files' handles, so that those still open when the daemon is
	 * made to stop (a second signal) are freed too. HANDLES_LOCK guards
	 * the list's links; a leaf, taken with no other lock held. */
	pthread_mutex_t handles_lock;
	struct xvafs_handle *handles;
	/* The session, for notifications (set by xvafs_fs_attach_session). */
	struct fuse_session *se;
	/* Writable opens of a disk are direct I/O, written in parallel
	 * (replies.c): true once the kernel has accepted the INIT reply that
	 * asks for shared mmap of such files. */
	bool parallel_writes;
	bool inited; /* by xvafs_fs_init, until xvafs_fs_destroy */
};

/* What to add to the next reply the calling thread writes (replies.c). */
enum xvafs_reply_patch {
	REPLY_AS_IS,
	REPLY_INIT,                 /* shared mmap of direct-I/O files */
	REPLY_OPEN_PARALLEL_WRITES, /* this direct-I/O file's writes */
};
void xvafs_reply_mark(enum xvafs_reply_patch patch);
/* Makes libfuse write the session's replies through replies.c, and keeps
 * SE for notifications; after fuse_session_mount, before the loop. -1
 * with errno on failure. */
int xvafs_fs_attach_session(struct xvafs_fs *fs, struct fuse_session *se);

/* Lays out the mount: the disks, their partitions and ova.xml at the
 * root, the links in by-device/, by-label/ and by-uuid/, and the LVs in
 * lvm/. The guest view's notes are in fs->guest for the caller to say. */
int xvafs_fs_init(struct xvafs_fs *fs, struct xva *xva);
/* Adds a generated, read-only file NAME (its contents TEXT, taken over)
 * in the folder FOLDER at the root, made when first needed. */
int xvafs_fs_add_text(struct xvafs_fs *fs, const char *folder,
		      const char *name, char *text, size_t len,
		      bool executable);
/* Adds a file serving VIEW (taken over, closed with the mount) in the
 * folder PARENT, named by the view: a disk, or a slice of one (a
 * partition). */
int xvafs_fs_add_disk(struct xvafs_fs *fs, fuse_ino_t parent,
		      struct xva_view *view);
void xvafs_fs_destroy(struct xvafs_fs *fs);

extern const struct fuse_lowlevel_ops xvafs_ops;

#endif
