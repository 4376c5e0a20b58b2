/* The FUSE front end: low-level operations over an opened export. Core
 * statuses become errno values through xva_status_errno(), here and in no
 * other front end's code. */
#ifndef XVAFS_FS_H
#define XVAFS_FS_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>

#include "front/guestview.h"
#include "xvafs/overlay.h"
#include "xvafs/view.h"
#include "xvafs/xva.h"

enum xvafs_node_kind { NODE_DIR, NODE_DISK, NODE_OVA_XML, NODE_LINK, NODE_TEXT };

struct xvafs_handle; /* an open file (fs.c) */
struct xvafs_lazy;   /* a backup's folder, filled on first use (fs.c) */
struct xva_repo;
struct xva_open_options;

/* One file or folder of the mount; its inode number is its index + 1.
 * Once in the table a node never changes nor moves (see xvafs_fs). */
struct xvafs_node {
	fuse_ino_t parent;
	enum xvafs_node_kind kind;
	const char *name;   /* borrowed from the core, or a literal, or
			       own_name */
	/* The export the node is of (ova.xml's bytes, the times); NULL for
	 * a repository's own folders and links, whose time is MTIME. */
	struct xva *xva;
	struct timespec mtime;
	/* NODE_DISK: what it serves, read and written through (a disk, a
	 * disk through the overlay, a slice of one); owned by the mount,
	 * closed in the reverse order of the nodes, so a view goes after
	 * the views over it. Its name is the node's. */
	struct xva_view *view;
	char *target;       /* NODE_LINK: "../PREFIX" */
	char *text;         /* NODE_TEXT: its whole contents (generated) */
	size_t text_len;
	bool executable;    /* NODE_TEXT: a script */
	char *own_name;     /* a name made here, freed with the node */
	/* NODE_DIR of a repository's backup: its contents are added when it
	 * is first looked into. */
	struct xvafs_lazy *lazy;
};

/* A guest scan of one export's disks. The nodes from FROM on may serve
 * views over its devices, so it is freed after them, and before the
 * disks' views (below FROM) it reads. */
struct xvafs_scan {
	struct xvafs_guest *guest;
	size_t from;
	struct xvafs_scan *next;
};

/* The node table: chunks that never move once allocated, so that a node
 * found by one thread stays valid while another adds nodes (a backup's
 * folder filled on first use). */
#define XVAFS_NODE_CHUNK 1024u
#define XVAFS_NODE_CHUNKS 4096u

/* A repository's mount: each VM folder's link to its newest backup, and
 * the files a backup's folder may hold besides what it serves. */
#define XVAFS_NAME_LATEST "latest"
#define XVAFS_NAME_NOTE "note.txt"    /* what is wrong with its .json */
#define XVAFS_NAME_ERROR "error.txt"  /* why it could not be opened */

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
	/* Nodes are written in full, then published by N_NODES (a release
	 * store; readers load it with acquire and take no lock). Adding is
	 * under GROW_LOCK, taken after a lazy folder's own lock (lock order:
	 * xvafs_lazy.lock, then grow_lock) and with nothing under it. */
	struct xvafs_node *chunks[XVAFS_NODE_CHUNKS];
	_Atomic size_t n_nodes;
	pthread_mutex_t grow_lock;
	/* A repository mount: the catalogue, how its backups are opened, and
	 * what else a backup's folder gets (the vm/ files); fs->xva is NULL
	 * then. */
	struct xva_repo *repo;
	const struct xva_open_options *open_options;
	bool verify_backups;   /* -o verify on each backup opened */
	uint64_t repo_bytes;   /* the selected backups' stored bytes */
	int (*fill_backup)(struct xvafs_fs *fs, struct xva *xva,
			   fuse_ino_t dir, const char *path,
			   const char *location);
	struct xvafs_lazy *lazies; /* every lazy folder, freed at the end */
	bool splice;           /* reply with the export's pages (not -o nosplice) */
	unsigned readahead_kb; /* -o readahead_kb=N, 0: the kernel's default */
	uint64_t prefetch;     /* bytes read ahead of sequential readers */
	const char *zeros;     /* XVAFS_SPLICE_MAX_READ bytes of zeros, for gaps */
	struct xva_overlay *overlay; /* writable disks; NULL: read-only */
	/* Partitions, LVs and filesystems inside each export's disks,
	 * scanned once when its files are laid out (a repository's backup:
	 * when its folder is first looked into); pushed under GROW_LOCK.
	 * GUEST is the mount's export's (NULL for a repository), for the
	 * caller to say its notes. */
	struct xvafs_scan *scans;
	struct xvafs_guest *guest;
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
/* Lays out a repository's mount: a folder per VM (REPO's folder name),
 * in it a folder per backup SELECT takes (its ISO 8601 time, UTC) and a
 * link "latest" to the newest. A backup's folder gets what
 * xvafs_fs_init lays out at a root, and fs->fill_backup's files, when it
 * is first looked into; one that cannot be opened holds error.txt, why.
 * fs->open_options and fs->fill_backup are set before. */
int xvafs_fs_init_repo(struct xvafs_fs *fs, struct xva_repo *repo,
		       const char *select);
/* Adds a generated, read-only file NAME (its contents TEXT, taken over)
 * in the folder FOLDER (NULL: PARENT itself) of PARENT, made when first
 * needed. */
int xvafs_fs_add_text(struct xvafs_fs *fs, fuse_ino_t parent,
		      const char *folder, const char *name, char *text,
		      size_t len, bool executable);
/* Adds a file serving VIEW (taken over, closed with the mount) of XVA's
 * in the folder PARENT, named by the view: a disk, or a slice of one (a
 * partition). */
int xvafs_fs_add_disk(struct xvafs_fs *fs, fuse_ino_t parent,
		      struct xva *xva, struct xva_view *view);
void xvafs_fs_destroy(struct xvafs_fs *fs);

extern const struct fuse_lowlevel_ops xvafs_ops;

#endif
