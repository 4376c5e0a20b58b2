/* The mount's inodes are a fixed table built before mounting (see
 * xvafs_fs_init); the disks never change size while mounted, so
 * attributes and entries are cached long. Every operation sends exactly
 * one reply. How a file is read is decided once, when it is opened, and
 * kept in its handle. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <sys/statvfs.h>

#include "front/warnings.h"
#include "fuse/fs.h"
#include "xvafs/read.h"
#include "xvafs/source.h"
#include "xvafs/repository.h"
#include "xvafs/verify.h"

#define CACHE_SECONDS 86400.0
/* Requests the kernel may have in the background (readahead among
 * them); the congestion threshold is three quarters of it. */
#define MAX_BACKGROUND 64
#define BLOCK 4096

/* --- open files --- */

enum read_strategy {
	READ_TEXT,   /* ova.xml or a generated file */
	READ_SPLICE, /* the reply points at the export's (or the overlay's)
			pages and the zero buffer: a plain local export */
	READ_LEND,   /* the reply points at the source's cache blocks, held
			until it is written: a remote export */
	READ_COPY,   /* read into a buffer: compressed exports,
			-o nosplice */
	READ_DIRECT, /* an O_DIRECT opener: through the export's O_DIRECT
			descriptor, no read-ahead */
};

/* An open file. */
struct xvafs_handle {
	enum read_strategy strategy;
	const struct xvafs_node *node;
	struct xva_stream stream; /* read-ahead for sequential readers */
	struct xvafs_handle *prev, *next; /* in fs->handles */
};

static void handle_link(struct xvafs_fs *fs, struct xvafs_handle *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	h->prev = NULL;
	h->next = fs->handles;
	if (fs->handles)
		fs->handles->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->handles_lock);
}

static void handle_free(struct xvafs_fs *fs, struct xvafs_handle *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->handles_lock);
	xva_stream_destroy(&h->stream);
	free(h);
}

/* --- the inode table --- */

static size_t node_count(const struct xvafs_fs *fs)
{
	return atomic_load_explicit(&fs->n_nodes, memory_order_acquire);
}

static struct xvafs_node *node_at(const struct xvafs_fs *fs, size_t i)
{
	return &fs->chunks[i / XVAFS_NODE_CHUNK][i % XVAFS_NODE_CHUNK];
}

/* Publishes a copy of NODE; *INO (may be NULL) its inode number. On
 * failure nothing NODE owns is taken. */
static int add_node(struct xvafs_fs *fs, const struct xvafs_node *node,
		    fuse_ino_t *ino)
{
	struct xvafs_node timed = *node;
	size_t n;
	int ret = -1;

	/* A node of no export and no time of its own (a repository's
	 * backup's vm/ files, its error.txt) is dated as its folder is. */
	if (!timed.xva && !timed.mtime.tv_sec && !timed.mtime.tv_nsec &&
	    timed.parent) {
		const struct xvafs_node *up = node_at(fs, timed.parent - 1);

		timed.mtime = up->xva ? xva_mtime(up->xva) : up->mtime;
	}
	node = &timed;
	pthread_mutex_lock(&fs->grow_lock);
	n = atomic_load_explicit(&fs->n_nodes, memory_order_relaxed);
	if (n / XVAFS_NODE_CHUNK < XVAFS_NODE_CHUNKS &&
	    (fs->chunks[n / XVAFS_NODE_CHUNK] ||
	     (fs->chunks[n / XVAFS_NODE_CHUNK] =
		      calloc(XVAFS_NODE_CHUNK, sizeof(struct xvafs_node))))) {
		*node_at(fs, n) = *node;
		atomic_store_explicit(&fs->n_nodes, n + 1, memory_order_release);
		if (ino)
			*ino = n + 1;
		ret = 0;
	}
	pthread_mutex_unlock(&fs->grow_lock);
	return ret;
}

static int add_simple(struct xvafs_fs *fs, fuse_ino_t parent,
		      enum xvafs_node_kind kind, const char *name,
		      struct xva *xva, fuse_ino_t *ino)
{
	struct xvafs_node n = { .parent = parent, .kind = kind, .name = name,
				.xva = xva };

	return add_node(fs, &n, ino);
}

/* A link NAME in PARENT to TARGET (taken over). */
static int add_link(struct xvafs_fs *fs, fuse_ino_t parent, const char *name,
		    struct xva *xva, char *target)
{
	struct xvafs_node n = { .parent = parent, .kind = NODE_LINK,
				.name = name, .xva = xva, .target = target };

	if (!target || add_node(fs, &n, NULL) != 0) {
		free(target);
		return -1;
	}
	return 0;
}

static fuse_ino_t find_child(const struct xvafs_fs *fs, fuse_ino_t parent,
			     const char *name)
{
	size_t n = node_count(fs);

	for (size_t i = 0; i < n; i++)
		if (node_at(fs, i)->parent == parent &&
		    strcmp(node_at(fs, i)->name, name) == 0)
			return i + 1;
	return 0;
}

/* A folder of links in PARENT, one per disk of XVA that has a name at
 * OFFSET in its struct xva_disk_names; none when no disk has one. */
static int add_view(struct xvafs_fs *fs, fuse_ino_t parent, struct xva *xva,
		    const char *folder, size_t offset)
{
	fuse_ino_t dir = 0;

	for (size_t i = 0; i < xva->map.n_disks; i++) {
		const char *name = *(char *const *)((const char *)&xva->names[i] +
						    offset);
		char *target;

		if (!name)
			continue;
		if (!dir && add_simple(fs, parent, NODE_DIR, folder, xva,
				       &dir) != 0)
			return -1;
		if (asprintf(&target, "../%s", xva->map.disks[i].prefix) < 0)
			target = NULL;
		if (add_link(fs, dir, name, xva, target) != 0)
			return -1;
	}
	return 0;
}

/* The folder NAME in PARENT, made when it is not there yet. */
static int folder(struct xvafs_fs *fs, fuse_ino_t parent, const char *name,
		  struct xva *xva, fuse_ino_t *ino)
{
	*ino = find_child(fs, parent, name);
	if (*ino)
		return 0;
	return add_simple(fs, parent, NODE_DIR, name, xva, ino);
}

/* A link NAME in PARENT to "../TARGET". */
static int add_up_link(struct xvafs_fs *fs, fuse_ino_t parent,
		       const char *name, struct xva *xva, const char *target)
{
	char *to;

	if (asprintf(&to, "../%s", target) < 0)
		to = NULL;
	return add_link(fs, parent, name, xva, to);
}

/* Scans XVA's disks (VIEWS, the disks' nodes' views) once, and serves
 * each partition beside its disk in PARENT. Eager, when the export's
 * files are laid out, not on the first lookup: what is odd inside a disk
 * (a bad table, a clash of names) is said when the export is opened (on
 * the terminal, for a mount's export, before the daemon leaves it). It
 * reads a few KiB a disk. The scan is kept in fs->scans, with the first
 * node that serves a view over it. */
static int add_partitions(struct xvafs_fs *fs, fuse_ino_t parent,
			  struct xva *xva, struct xva_view *const *views,
			  struct xvafs_guest **out)
{
	struct xvafs_scan *scan = calloc(1, sizeof(*scan));
	struct xva_err err;

	if (!scan || xvafs_guest_scan(xva, views, &scan->guest, &err) != XVA_OK) {
		free(scan);
		return -1;
	}
	/* What the scan found damaged is said now; the reads that meet it
	 * while serving say it again, in the log. */
	xva_verify_rearm(xva);
	pthread_mutex_lock(&fs->grow_lock);
	scan->from = node_count(fs);
	scan->next = fs->scans;
	fs->scans = scan;
	pthread_mutex_unlock(&fs->grow_lock);
	*out = scan->guest;
	for (size_t i = 0; i < scan->guest->n_items; i++) {
		const struct xvafs_guest_item *it = &scan->guest->items[i];
		struct xva_view *view;

		if (it->kind != XVAFS_ITEM_PART)
			continue;
		/* Writable through the overlay, as its disk. */
		if (xvafs_guest_item_view(scan->guest, it, NULL, true, &view,
					  &err) != XVA_OK ||
		    xvafs_fs_add_disk(fs, parent, xva, view) != 0)
			return -1;
	}
	return 0;
}

/* by-device/ names of partitions, lvm/VG/LV, by-uuid/ and the labels of
 * filesystems in by-label/ (after the disks' own labels), in PARENT. */
static int add_guest_names(struct xvafs_fs *fs, fuse_ino_t parent,
			   struct xva *xva, const struct xvafs_guest *gv)
{
	fuse_ino_t dir, lvm = 0, vg;
	struct xva_err err;

	for (size_t i = 0; i < gv->n_items; i++) {
		const struct xvafs_guest_item *it = &gv->items[i];
		struct xvafs_node n = { .kind = NODE_DISK, .name = it->base,
					.xva = xva };

		if (it->kind == XVAFS_ITEM_PART) {
			if (it->device &&
			    (folder(fs, parent, XVA_NAME_BY_DEVICE, xva, &dir) != 0 ||
			     add_up_link(fs, dir, it->device, xva, it->file) != 0))
				return -1;
			continue;
		}
		if ((!lvm && folder(fs, parent, XVAFS_NAME_LVM, xva, &lvm) != 0) ||
		    folder(fs, lvm, it->folder, xva, &vg) != 0 ||
		    xvafs_guest_item_view(gv, it, NULL, true, &n.view, &err) != XVA_OK)
			return -1;
		/* Named by the LV in its VG's folder, not by the view's path. */
		n.parent = vg;
		if (add_node(fs, &n, NULL) != 0) {
			xva_view_close(n.view);
			return -1;
		}
	}
	for (size_t i = 0; i < gv->n_links; i++) {
		const struct xvafs_guest_link *l = &gv->links[i];

		if (folder(fs, parent, l->folder, xva, &dir) != 0 ||
		    add_up_link(fs, dir, l->name, xva, l->target) != 0)
			return -1;
	}
	return 0;
}

/* What a mount of XVA shows, in the folder PARENT: its disks and their
 * partitions, ova.xml, by-device/, by-label/, by-uuid/ and lvm/. The
 * guest view's notes are in *GUEST for the caller to say. */
static int add_export(struct xvafs_fs *fs, fuse_ino_t parent, struct xva *xva,
		      struct xvafs_guest **guest)
{
	struct xva_view **views;
	int ret = -1;

	views = calloc(xva->map.n_disks ? xva->map.n_disks : 1, sizeof(*views));
	if (!views)
		return -1;
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		struct xva_err err;

		/* Writable through the overlay when there is one. */
		if (xva_view_open(xva, fs->overlay, i, true, &views[i], &err) != XVA_OK ||
		    xvafs_fs_add_disk(fs, parent, xva, views[i]) != 0)
			goto out;
	}
	if (add_partitions(fs, parent, xva, views, guest) != 0)
		goto out;
	if (xva->ova && add_simple(fs, parent, NODE_OVA_XML, XVA_NAME_OVA_XML,
				   xva, NULL) != 0)
		goto out;
	if (add_view(fs, parent, xva, XVA_NAME_BY_DEVICE,
		     offsetof(struct xva_disk_names, device)) != 0 ||
	    add_view(fs, parent, xva, XVA_NAME_BY_LABEL,
		     offsetof(struct xva_disk_names, label)) != 0 ||
	    add_guest_names(fs, parent, xva, *guest) != 0)
		goto out;
	ret = 0;
out:
	free(views);
	return ret;
}

/* The state every mount starts from: the table with its root. */
static int fs_start(struct xvafs_fs *fs)
{
	memset(fs->chunks, 0, sizeof(fs->chunks));
	atomic_init(&fs->n_nodes, 0);
	fs->handles = NULL;
	fs->lazies = NULL;
	fs->scans = NULL;
	fs->guest = NULL;
	pthread_mutex_init(&fs->handles_lock, NULL);
	pthread_mutex_init(&fs->grow_lock, NULL);
	fs->inited = true;
	/* Never written, so its pages stay the kernel's shared zero page. */
	fs->zeros = calloc(1, XVAFS_SPLICE_MAX_READ);
	if (!fs->zeros)
		return -1;
	return add_simple(fs, 0, NODE_DIR, "", fs->xva, NULL);
}

int xvafs_fs_init(struct xvafs_fs *fs, struct xva *xva)
{
	fs->xva = xva;
	if (fs_start(fs) != 0 ||
	    add_export(fs, FUSE_ROOT_ID, xva, &fs->guest) != 0) {
		xvafs_fs_destroy(fs);
		return -1;
	}
	return 0;
}

int xvafs_fs_add_disk(struct xvafs_fs *fs, fuse_ino_t parent,
		      struct xva *xva, struct xva_view *view)
{
	struct xvafs_node n = { .parent = parent, .kind = NODE_DISK,
				.name = view->name, .xva = xva, .view = view };

	if (add_node(fs, &n, NULL) != 0) {
		xva_view_close(view);
		return -1;
	}
	return 0;
}

int xvafs_fs_add_text(struct xvafs_fs *fs, fuse_ino_t parent,
		      const char *folder, const char *name, char *text,
		      size_t len, bool executable)
{
	fuse_ino_t dir = folder ? find_child(fs, parent, folder) : parent;
	struct xva *xva = node_at(fs, parent - 1)->xva;
	struct xvafs_node n = { .kind = NODE_TEXT, .xva = xva, .text = text,
				.text_len = len, .executable = executable };

	n.own_name = strdup(name);
	n.name = n.own_name;
	if (!n.own_name || (!dir && add_simple(fs, parent, NODE_DIR, folder,
					       xva, &dir) != 0)) {
		free(n.own_name);
		free(text);
		return -1;
	}
	n.parent = dir;
	if (add_node(fs, &n, NULL) != 0) {
		free(n.own_name);
		free(text);
		return -1;
	}
	return 0;
}

/* --- a repository's folders --- */

/* A backup's folder, filled when first looked into. */
struct xvafs_lazy {
	/* Held while the backup is opened (which may take a whole pass over
	 * an encrypted or compressed one) and its nodes are added, so that
	 * concurrent lookups of the folder wait for it and it is filled
	 * once. Lock order: this, then fs->grow_lock. */
	pthread_mutex_t lock;
	atomic_bool ready;        /* filled (or its error.txt is there) */
	const struct xva_repo_backup *backup;
	char *path;               /* VMFOLDER/TIMESTAMP in the mount */
	struct xva *xva;          /* once opened */
	struct xvafs_lazy *next;  /* in fs->lazies */
};

static struct timespec at(time_t t)
{
	return (struct timespec){ .tv_sec = t };
}

/* Backup B's folder in the VM folder PARENT. */
static int add_backup_dir(struct xvafs_fs *fs, fuse_ino_t parent,
			  const char *vm_folder, const struct xva_repo_backup *b)
{
	struct xvafs_lazy *lazy = calloc(1, sizeof(*lazy));
	struct xvafs_node n = { .parent = parent, .kind = NODE_DIR,
				.name = b->iso, .mtime = at(b->time) };

	if (!lazy)
		return -1;
	pthread_mutex_init(&lazy->lock, NULL);
	atomic_init(&lazy->ready, false);
	lazy->backup = b;
	if (asprintf(&lazy->path, "%s/%s", vm_folder, b->iso) < 0) {
		pthread_mutex_destroy(&lazy->lock);
		free(lazy);
		return -1;
	}
	lazy->next = fs->lazies;
	fs->lazies = lazy;
	n.lazy = lazy;
	fs->repo_bytes += b->stored_size;
	return add_node(fs, &n, NULL);
}

/* VM's folder, its selected backups' and "latest"; none when SELECT
 * takes none of them. */
static int add_vm_dir(struct xvafs_fs *fs, const struct xva_repo_vm *vm,
		      const char *select)
{
	const struct xva_repo_backup *newest = NULL;
	struct xvafs_node n = { .parent = FUSE_ROOT_ID, .kind = NODE_DIR,
				.name = vm->folder };
	fuse_ino_t dir;

	for (size_t k = vm->n_backups; k-- > 0 && !newest; )
		if (xva_repo_selected(vm, &vm->backups[k], select))
			newest = &vm->backups[k];
	if (!newest)
		return 0;
	n.mtime = at(newest->time);
	if (add_node(fs, &n, &dir) != 0)
		return -1;
	for (size_t k = 0; k < vm->n_backups; k++)
		if (xva_repo_selected(vm, &vm->backups[k], select) &&
		    add_backup_dir(fs, dir, vm->folder, &vm->backups[k]) != 0)
			return -1;
	n = (struct xvafs_node){ .parent = dir, .kind = NODE_LINK,
				 .name = XVAFS_NAME_LATEST,
				 .mtime = at(newest->time),
				 .target = strdup(newest->iso) };
	if (!n.target || add_node(fs, &n, NULL) != 0) {
		free(n.target);
		return -1;
	}
	return 0;
}

int xvafs_fs_init_repo(struct xvafs_fs *fs, struct xva_repo *repo,
		       const char *select)
{
	fs->xva = NULL;
	fs->repo = repo;
	fs->repo_bytes = 0;
	if (fs_start(fs) != 0)
		goto fail;
	/* Before serving: the root's time is the mount's. */
	node_at(fs, 0)->mtime = at(time(NULL));
	for (size_t i = 0; i < repo->n_vms; i++)
		if (add_vm_dir(fs, &repo->vms[i], select) != 0)
			goto fail;
	return 0;
fail:
	xvafs_fs_destroy(fs);
	return -1;
}

static void log_warning(void *ctx, const char *message)
{
	fuse_log(FUSE_LOG_WARNING, "xvafs: %s: %s\n", (const char *)ctx,
		 message);
}

/* Opens LAZY's backup and adds what its folder DIR holds; a backup that
 * cannot be opened gets error.txt instead, and the rest of the mount
 * goes on. Under lazy->lock. */
static void fill_lazy(struct xvafs_fs *fs, fuse_ino_t dir,
		      struct xvafs_lazy *lazy)
{
	const struct xva_repo_backup *b = lazy->backup;
	struct xva_err err;
	bool nomem = false;
	char *text;

	if (b->note) {
		if (asprintf(&text, "%s\n", b->note) < 0)
			nomem = true;
		else
			nomem = xvafs_fs_add_text(fs, dir, NULL, XVAFS_NAME_NOTE,
						  text, strlen(text), false) != 0;
	}
	if (xva_repo_open_backup(fs->repo, b, fs->open_options, &lazy->xva,
				 &err) == XVA_OK &&
	    (!fs->verify_backups || xva_verify_enabled(lazy->xva) ||
	     xva_enable_verify(lazy->xva, &err) == XVA_OK)) {
		struct xvafs_guest *guest = NULL;

		nomem = nomem || add_export(fs, dir, lazy->xva, &guest) != 0 ||
			(fs->fill_backup &&
			 fs->fill_backup(fs, lazy->xva, dir, lazy->path,
					 b->xva) != 0);
		/* What the mount of this one export would say at start (not
		 * authenticated, a cut, chunks without checksums) and what is
		 * odd inside its disks, in the daemon's log. */
		xvafs_export_warnings(lazy->xva, "-o verify", log_warning,
				      lazy->path);
		if (guest)
			xvafs_guest_warnings(lazy->xva, guest, log_warning,
					     lazy->path);
	} else {
		fuse_log(FUSE_LOG_ERR, "xvafs: %s: %s\n", lazy->path, err.msg);
		if (asprintf(&text, "%s: %s\n", b->xva, err.msg) < 0)
			nomem = true;
		else
			nomem = xvafs_fs_add_text(fs, dir, NULL,
						  XVAFS_NAME_ERROR, text,
						  strlen(text), false) != 0 ||
				nomem;
	}
	if (nomem)
		fuse_log(FUSE_LOG_ERR, "xvafs: %s: out of memory: the folder "
			 "is not all there\n", lazy->path);
}

/* A backup's folder is filled before anything in it is looked up or
 * listed. */
static void ensure_filled(struct xvafs_fs *fs, fuse_ino_t ino)
{
	struct xvafs_lazy *lazy;

	if (ino < 1 || ino > node_count(fs))
		return;
	lazy = node_at(fs, ino - 1)->lazy;
	if (!lazy || atomic_load_explicit(&lazy->ready, memory_order_acquire))
		return;
	pthread_mutex_lock(&lazy->lock);
	if (!atomic_load_explicit(&lazy->ready, memory_order_relaxed)) {
		fill_lazy(fs, ino, lazy);
		atomic_store_explicit(&lazy->ready, true, memory_order_release);
	}
	pthread_mutex_unlock(&lazy->lock);
}

/* Frees the guest scans whose views start at node FROM or later. */
static void free_scans_from(struct xvafs_fs *fs, size_t from)
{
	for (struct xvafs_scan **p = &fs->scans; *p; ) {
		struct xvafs_scan *scan = *p;

		if (scan->from >= from) {
			*p = scan->next;
			xvafs_guest_free(scan->guest);
			free(scan);
		} else {
			p = &scan->next;
		}
	}
}

void xvafs_fs_destroy(struct xvafs_fs *fs)
{
	size_t n;

	if (!fs->inited)
		return;
	fs->inited = false;
	while (fs->handles)
		handle_free(fs, fs->handles);
	pthread_mutex_destroy(&fs->handles_lock);
	n = node_count(fs);
	/* Views go before the exports they read (a lazy folder's), and a
	 * guest scan goes after the views over its devices, before the
	 * disks' views it reads. */
	for (size_t i = n; i-- > 0; ) {
		struct xvafs_node *node = node_at(fs, i);

		free_scans_from(fs, i + 1);
		xva_view_close(node->view);
		free(node->target);
		free(node->text);
		free(node->own_name);
	}
	free_scans_from(fs, 0);
	fs->guest = NULL;
	while (fs->lazies) {
		struct xvafs_lazy *lazy = fs->lazies;

		fs->lazies = lazy->next;
		xva_close(lazy->xva);
		pthread_mutex_destroy(&lazy->lock);
		free(lazy->path);
		free(lazy);
	}
	for (size_t c = 0; c < XVAFS_NODE_CHUNKS && fs->chunks[c]; c++) {
		free(fs->chunks[c]);
		fs->chunks[c] = NULL;
	}
	pthread_mutex_destroy(&fs->grow_lock);
	free((void *)fs->zeros);
	fs->zeros = NULL;
	atomic_store(&fs->n_nodes, 0);
}

static struct xvafs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static const struct xvafs_node *node_of(const struct xvafs_fs *fs,
					fuse_ino_t ino)
{
	return ino >= 1 && ino <= node_count(fs) ? node_at(fs, ino - 1) : NULL;
}

static void reply_status(fuse_req_t req, enum xva_status st)
{
	fuse_reply_err(req, xva_status_errno(st));
}

/* --- attributes and names --- */

static void fill_attr(const struct xvafs_fs *fs, fuse_ino_t ino,
		      const struct xvafs_node *n, struct stat *st)
{
	const struct xva *xva = n->xva;
	struct timespec mtime = xva ? xva_mtime(xva) : n->mtime;
	size_t count = node_count(fs);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_atim = mtime;
	st->st_mtim = mtime;
	st->st_ctim = mtime;
	st->st_blksize = BLOCK;
	st->st_nlink = 1;
	switch (n->kind) {
	case NODE_DIR:
		st->st_mode = S_IFDIR | (0555 & ~fs->umask);
		st->st_nlink = 2;
		for (size_t i = 0; i < count; i++)
			if (node_at(fs, i)->parent == ino &&
			    node_at(fs, i)->kind == NODE_DIR)
				st->st_nlink++;
		break;
	case NODE_DISK: {
		uint64_t used = xva_view_allocated(n->view);

		st->st_mode = S_IFREG |
			      ((n->view->writable ? 0666 : 0444) & ~fs->umask);
		st->st_size = (off_t)xva_view_size(n->view);
		/* Only present chunks occupy space: cp and du see holes. */
		st->st_blocks = (blkcnt_t)((used + 511) / 512);
		break;
	}
	case NODE_OVA_XML:
		st->st_mode = S_IFREG | (0444 & ~fs->umask);
		st->st_size = (off_t)xva->idx.ova_len;
		st->st_blocks = (blkcnt_t)((xva->idx.ova_len + 511) / 512);
		break;
	case NODE_TEXT:
		st->st_mode = S_IFREG |
			      ((n->executable ? 0555 : 0444) & ~fs->umask);
		st->st_size = (off_t)n->text_len;
		st->st_blocks = (blkcnt_t)((n->text_len + 511) / 512);
		break;
	case NODE_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_size = (off_t)strlen(n->target);
		break;
	}
}

static void xvafs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct xvafs_fs *fs = fs_of(req);
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	e.attr_timeout = CACHE_SECONDS;
	e.entry_timeout = CACHE_SECONDS;
	ensure_filled(fs, parent);
	e.ino = find_child(fs, parent, name);
	if (e.ino)
		fill_attr(fs, e.ino, node_at(fs, e.ino - 1), &e.attr);
	/* Not found: ino 0 caches the negative answer for entry_timeout. */
	fuse_reply_entry(req, &e);
}

static void xvafs_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	const struct xvafs_node *n = node_of(fs_of(req), ino);
	struct stat st;

	(void)fi;
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(fs_of(req), ino, n, &st);
	fuse_reply_attr(req, &st, CACHE_SECONDS);
}

static void xvafs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	const struct xvafs_node *n = node_of(fs_of(req), ino);

	if (!n || n->kind != NODE_LINK)
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, n->target);
}

static void xvafs_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	const struct xvafs_node *n = node_of(fs_of(req), ino);

	if (!n || n->kind != NODE_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	ensure_filled(fs_of(req), ino);
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void xvafs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *dir = node_of(fs, ino);
	size_t used = 0, index = 0, count;
	char *buf;

	(void)fi;
	ensure_filled(fs, ino);
	count = node_count(fs);
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Entry K (".", "..", then the children in table order) has offset
	 * K + 1, the offset of the entry after it. */
	for (size_t i = 0; i < count + 2; i++) {
		struct stat st = { 0 };
		const char *name;
		size_t need;

		if (i == 0 || i == 1) {
			name = i == 0 ? "." : "..";
			st.st_ino = i == 0 ? ino : (dir->parent ? dir->parent : ino);
			st.st_mode = S_IFDIR;
		} else if (node_at(fs, i - 2)->parent == ino) {
			name = node_at(fs, i - 2)->name;
			fill_attr(fs, i - 1, node_at(fs, i - 2), &st);
		} else {
			continue;
		}
		if (index++ < (size_t)off)
			continue;
		need = fuse_add_direntry(req, buf + used, size - used, name, &st,
					 (off_t)index);
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

/* --- reading --- */

static void xvafs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = node_of(fs, ino);
	bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
	struct xvafs_handle *h;

	if (!n || n->kind == NODE_DIR || n->kind == NODE_LINK) {
		fuse_reply_err(req, n ? EISDIR : ENOENT);
		return;
	}
	if (writing && (n->kind != NODE_DISK || !n->view->writable)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->node = n;
	if (n->kind != NODE_DISK)
		h->strategy = READ_TEXT;
	else
		switch (xva_view_choose(n->view, fi->flags & O_DIRECT,
					fs->splice)) {
		case XVA_VIEW_READ_DIRECT:
			h->strategy = READ_DIRECT;
			break;
		case XVA_VIEW_SPLICE:
			h->strategy = READ_SPLICE;
			break;
		case XVA_VIEW_LEND:
			h->strategy = READ_LEND;
			break;
		case XVA_VIEW_COPY:
			h->strategy = READ_COPY;
			break;
		}
	xva_stream_init(&h->stream, h->strategy == READ_SPLICE ||
				    h->strategy == READ_LEND ||
				    h->strategy == READ_COPY ? fs->prefetch : 0);
	handle_link(fs, h);
	fi->fh = (uint64_t)(uintptr_t)h;
	/* The export never changes under the mount; a writable disk changes
	 * only through this mount, which the kernel's cache follows (direct
	 * writes drop the cached pages of their range, and xvafs_write drops
	 * them again once the write is applied). */
	fi->keep_cache = 1;
	/* Writers bypass the page cache, so that the kernel sends the writes
	 * of several writers of one disk at once (replies.c). It does only
	 * while no opener of the disk uses the page cache, so O_DIRECT
	 * readers (qemu cache=none) bypass it too. */
	if (writing && fs->parallel_writes) {
		fi->direct_io = 1;
		xvafs_reply_mark(REPLY_OPEN_PARALLEL_WRITES);
	} else if ((fi->flags & O_DIRECT) && n->kind == NODE_DISK &&
		   n->view->writable && fs->parallel_writes) {
		fi->direct_io = 1;
	}
	fuse_reply_open(req, fi);
}

static void xvafs_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct xvafs_handle *h = (struct xvafs_handle *)(uintptr_t)fi->fh;

	(void)ino;
	if (h)
		handle_free(fs_of(req), h);
	fuse_reply_err(req, 0);
}

/* Errors past a cut export's intact part were announced at mount; an
 * empty message is a bad chunk reported before. */
static void reply_read_error(fuse_req_t req, enum xva_status st,
			     const struct xva_err *err)
{
	if (st != XVA_ECUT && err->msg[0])
		fuse_log(FUSE_LOG_ERR, "xvafs: %s\n", err->msg);
	reply_status(req, st);
}

static void read_text(fuse_req_t req, const struct xvafs_node *n,
		      size_t size, off_t off)
{
	enum xva_status st;
	struct xva_err err;
	size_t done;
	char *buf;

	if (n->kind == NODE_TEXT) {
		size_t start = (uint64_t)off < n->text_len ? (size_t)off
							  : n->text_len;
		size_t len = n->text_len - start < size ? n->text_len - start
							: size;

		fuse_reply_buf(req, n->text + start, len);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	st = xva_read_ova(n->xva, buf, size, (uint64_t)off, &done, &err);
	if (st == XVA_OK)
		fuse_reply_buf(req, buf, done);
	else
		reply_read_error(req, st, &err);
	free(buf);
}

/* The buffer a serving thread copies replies through, kept for the
 * thread's life. Allocated per read, a reply of 128 KiB or more is a
 * fresh mmap (glibc's threshold) whose pages fault in on the first copy
 * and whose munmap flushes every CPU's TLB: on the 2-core machine that
 * cost a sequential read of an encrypted backup 90% of its speed, more
 * than decrypting it (bench/crypt_mounted.sh). */
struct copy_buffer {
	void *p;
	size_t cap;
};

static pthread_key_t copy_buffer_key;
static pthread_once_t copy_buffer_once = PTHREAD_ONCE_INIT;
static bool copy_buffer_ok;

static void copy_buffer_free(void *v)
{
	struct copy_buffer *b = v;

	free(b->p);
	free(b);
}

static void copy_buffer_init(void)
{
	copy_buffer_ok = pthread_key_create(&copy_buffer_key,
					    copy_buffer_free) == 0;
}

/* This thread's buffer of at least SIZE bytes, aligned for O_DIRECT; NULL
 * when there is no memory. */
static void *copy_buffer(size_t size)
{
	struct copy_buffer *b;

	pthread_once(&copy_buffer_once, copy_buffer_init);
	if (!copy_buffer_ok)
		return NULL;
	b = pthread_getspecific(copy_buffer_key);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b || pthread_setspecific(copy_buffer_key, b) != 0) {
			free(b);
			return NULL;
		}
	}
	if (b->cap < size) {
		void *p = NULL;
		size_t cap = size < XVAFS_SPLICE_MAX_READ ? XVAFS_SPLICE_MAX_READ
							   : size;

		if (posix_memalign(&p, 4096, cap) != 0)
			return NULL;
		free(b->p);
		b->p = p;
		b->cap = cap;
	}
	return b->p;
}

static void read_copy(fuse_req_t req, const struct xvafs_node *n,
		      size_t size, off_t off, bool direct)
{
	enum xva_status st;
	struct xva_err err;
	size_t done;
	void *buf = copy_buffer(size ? size : 1);

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	st = xva_view_read(n->view, buf, size, (uint64_t)off,
			   direct ? XVA_VIEW_DIRECT : 0, &done, &err);
	if (st == XVA_OK)
		fuse_reply_buf(req, buf, done);
	else
		reply_read_error(req, st, &err);
}

/* The reply points at the source's cache blocks (and a zero buffer),
 * which the lease keeps until libfuse has written it: writev copies each
 * byte once, into the kernel, where a reply through the copy buffer
 * copied it twice. The copy buffer is the lease's scratch, for bytes of
 * the overlay. */
static void read_lend(fuse_req_t req, const struct xvafs_node *n,
		      size_t size, off_t off)
{
	struct xva_lease lease;
	enum xva_status st;
	struct xva_err err;
	size_t done;
	void *scratch = copy_buffer(size ? size : 1);

	if (!scratch) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	xva_lease_init(&lease, scratch, size);
	st = xva_view_lend(n->view, size, (uint64_t)off, &lease, &done, &err);
	if (st == XVA_OK && lease.n_iov)
		fuse_reply_iov(req, lease.iov, (int)lease.n_iov);
	else if (st == XVA_OK)
		fuse_reply_buf(req, NULL, 0);
	else
		reply_read_error(req, st, &err);
	xva_lease_release(&lease);
}

#define INLINE_SEGMENTS 16

struct bufvec_ctx {
	struct fuse_bufvec *bv; /* the inline one, or allocated */
	size_t cap;
	bool allocated;
	const struct xvafs_fs *fs;
};

static enum xva_status add_segment(void *vctx, const struct xva_segment *seg,
				   struct xva_err *err)
{
	struct bufvec_ctx *c = vctx;
	struct fuse_buf *buf;

	if (c->bv->count == c->cap) {
		size_t cap = 2 * c->cap;
		struct fuse_bufvec *bigger = malloc(sizeof(*bigger) +
						    cap * sizeof(struct fuse_buf));

		if (!bigger)
			return xva_nomem(err);
		memcpy(bigger, c->bv, sizeof(*bigger) +
		       c->cap * sizeof(struct fuse_buf));
		if (c->allocated)
			free(c->bv);
		c->bv = bigger;
		c->cap = cap;
		c->allocated = true;
	}
	buf = &c->bv->buf[c->bv->count++];
	memset(buf, 0, sizeof(*buf));
	buf->size = (size_t)seg->len;
	if (seg->zero) {
		/* A read is never longer than the zero buffer. */
		buf->mem = (void *)c->fs->zeros;
		return XVA_OK;
	}
	buf->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
	buf->pos = (off_t)seg->file_off;
	buf->fd = seg->fd; /* the export's or the overlay's file */
	return XVA_OK;
}

/* The reply points at the export's own pages (and the overlay's, and the
 * zero buffer), and libfuse splices them to the kernel without a copy. */
static void read_splice(fuse_req_t req, const struct xvafs_fs *fs,
			const struct xvafs_node *n, size_t size, off_t off)
{
	union {
		struct fuse_bufvec bv;
		char room[sizeof(struct fuse_bufvec) +
			  INLINE_SEGMENTS * sizeof(struct fuse_buf)];
	} inline_bv;
	struct bufvec_ctx c = { &inline_bv.bv, INLINE_SEGMENTS, false, fs };
	enum xva_status st;
	struct xva_err err;
	size_t done;

	memset(c.bv, 0, sizeof(*c.bv));
	xva_err_clear(&err);
	/* Every piece names a descriptor to splice from, and the view has
	 * checked the export still holds the bytes named (a splice past the
	 * end of an export that shrank would send a short reply, which the
	 * kernel pads with zeros). */
	st = xva_view_segments(n->view, size, (uint64_t)off, true, add_segment,
			       &c, &done, &err);
	/* All gap: one write of the zero buffer beats copying it into the
	 * splice pipe and out again. */
	if (st == XVA_OK && c.bv->count == 1 &&
	    !(c.bv->buf[0].flags & FUSE_BUF_IS_FD))
		fuse_reply_buf(req, fs->zeros, c.bv->buf[0].size);
	else if (st == XVA_OK && c.bv->count == 0)
		fuse_reply_buf(req, NULL, 0);
	else if (st == XVA_OK)
		fuse_reply_data(req, c.bv, 0);
	else
		reply_read_error(req, st, &err);
	if (c.allocated)
		free(c.bv);
}

static void xvafs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	const struct xvafs_fs *fs = fs_of(req);
	struct xvafs_handle *h = (struct xvafs_handle *)(uintptr_t)fi->fh;

	(void)ino;
	if (h->strategy != READ_TEXT)
		xva_view_note_read(h->node->view, &h->stream, (uint64_t)off,
				   size);
	switch (h->strategy) {
	case READ_TEXT:
		read_text(req, h->node, size, off);
		break;
	case READ_LEND:
		read_lend(req, h->node, size, off);
		break;
	case READ_SPLICE:
		if (size <= XVAFS_SPLICE_MAX_READ) {
			read_splice(req, fs, h->node, size, off);
			break;
		}
		/* Larger than the zero buffer: copied. */
		__attribute__((fallthrough));
	case READ_COPY:
	case READ_DIRECT:
		read_copy(req, h->node, size, off, h->strategy == READ_DIRECT);
		break;
	}
}

static void xvafs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
			struct fuse_file_info *fi)
{
	const struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = node_of(fs, ino);
	uint64_t to, size;

	(void)fi;
	if (!n || n->kind == NODE_DIR || n->kind == NODE_LINK || off < 0 ||
	    (whence != SEEK_DATA && whence != SEEK_HOLE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (n->kind == NODE_DISK) {
		if (xva_view_seek(n->view, (uint64_t)off, whence == SEEK_DATA,
				  &to) != 0) {
			fuse_reply_err(req, ENXIO);
			return;
		}
		fuse_reply_lseek(req, (off_t)to);
		return;
	}
	size = n->kind == NODE_TEXT ? n->text_len : n->xva->idx.ova_len;
	if ((uint64_t)off >= size) {
		fuse_reply_err(req, ENXIO);
		return;
	}
	fuse_reply_lseek(req, whence == SEEK_DATA ? off : (off_t)size);
}

/* --- writing (through the overlay) --- */

/* A disk of the overlay, or NULL (and the error sent) when INO is none. */
static const struct xvafs_node *writable(fuse_req_t req, fuse_ino_t ino)
{
	const struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = node_of(fs, ino);

	if (!n || n->kind != NODE_DISK || !n->view->writable) {
		fuse_reply_err(req, n ? EROFS : ENOENT);
		return NULL;
	}
	return n;
}

/* A full overlay is the writer's business, not the log's. */
static void reply_write_error(fuse_req_t req, enum xva_status st,
			      const struct xva_err *err)
{
	if (st != XVA_ENOSPC)
		fuse_log(FUSE_LOG_ERR, "xvafs: %s\n", err->msg);
	reply_status(req, st);
}

/* After a direct write is applied and before it is answered: drops the
 * pages of [OFF, OFF + SIZE) that other openers cached. Kernels without
 * upstream commit b359af8275a9 ("fuse: Invalidate the page cache after
 * FOPEN_DIRECT_IO write", 2025; in 6.18 and stable backports) drop them
 * before they send a direct write, not after, so a cached read racing the
 * write could fill them with the old bytes and keep them once the write
 * returned. The kernel waits for reads in flight on those pages, which
 * other threads serve. Not for the kernel's own writeback of mapped pages
 * (FI->writepage): those pages are the write's source, under writeback
 * until it is answered, and waiting for them would never end. */
static void drop_cached(fuse_req_t req, fuse_ino_t ino,
			const struct fuse_file_info *fi, off_t off, size_t size)
{
	const struct xvafs_fs *fs = fs_of(req);
	int e;

	if (!fs->se || fi->writepage || size == 0)
		return;
	e = fuse_lowlevel_notify_inval_inode(fs->se, ino, off, (off_t)size);
	/* ENOENT: the kernel holds no inode for it, so no pages either. */
	if (e != 0 && e != -ENOENT)
		fuse_log(FUSE_LOG_ERR, "xvafs: cannot drop the cached pages of "
			 "a disk after a write at byte %lld: %s\n",
			 (long long)off, strerror(-e));
}

static void xvafs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	const struct xvafs_node *n = writable(req, ino);
	enum xva_status st;
	struct xva_err err;
	uint64_t disk_size;

	if (!n)
		return;
	/* A disk has a fixed size: writes stop at its end, like a device's. */
	disk_size = xva_view_size(n->view);
	if ((uint64_t)off >= disk_size) {
		fuse_reply_err(req, size ? ENOSPC : 0);
		return;
	}
	if (size > disk_size - (uint64_t)off)
		size = (size_t)(disk_size - (uint64_t)off);
	st = xva_view_write(n->view, buf, size, (uint64_t)off, &err);
	if (st != XVA_OK) {
		reply_write_error(req, st, &err);
		return;
	}
	drop_cached(req, ino, fi, off, size);
	fuse_reply_write(req, size);
}

static void xvafs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	const struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = node_of(fs, ino);
	enum xva_status st = XVA_OK;
	struct xva_err err;

	(void)datasync;
	(void)fi;
	if (n && n->kind == NODE_DISK)
		st = xva_view_sync(n->view, &err);
	if (st != XVA_OK)
		fuse_log(FUSE_LOG_ERR, "xvafs: %s\n", err.msg);
	reply_status(req, st);
}

static void xvafs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int to_set, struct fuse_file_info *fi)
{
	struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = node_of(fs, ino);
	struct stat st;

	(void)fi;
	if (!n) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(fs, ino, n, &st);
	/* A disk has a fixed size; owners and modes are the mount's. Times
	 * are accepted and not kept, so copying tools do not fail. */
	if ((to_set & FUSE_SET_ATTR_SIZE) && attr->st_size != st.st_size) {
		fuse_reply_err(req, fs->overlay ? EPERM : EROFS);
		return;
	}
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fuse_reply_attr(req, &st, CACHE_SECONDS);
}

static void xvafs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			    off_t offset, off_t length, struct fuse_file_info *fi)
{
	const struct xvafs_node *n = writable(req, ino);
	uint64_t size, off = (uint64_t)offset, len = (uint64_t)length;
	enum xva_status st;
	struct xva_err err;

	(void)fi;
	if (!n)
		return;
	size = xva_view_size(n->view);
	if (mode == 0) { /* preallocation: every byte already exists */
		fuse_reply_err(req, off + len <= size ? 0 : ENOSPC);
		return;
	}
	/* Discard and TRIM arrive as punch-hole; the bytes then read as
	 * zeros, from the overlay. */
	if (mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) &&
	    mode != FALLOC_FL_ZERO_RANGE &&
	    mode != (FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE)) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (off >= size) {
		fuse_reply_err(req, 0);
		return;
	}
	if (len > size - off)
		len = size - off;
	st = xva_view_zero(n->view, len, off, &err);
	if (st == XVA_OK)
		fuse_reply_err(req, 0);
	else
		reply_write_error(req, st, &err);
}

/* --- the mount --- */

static void xvafs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct xvafs_fs *fs = userdata;

	if (fs->splice && (conn->capable & FUSE_CAP_SPLICE_WRITE)) {
		conn->want |= FUSE_CAP_SPLICE_WRITE;
		if (conn->max_write > XVAFS_SPLICE_MAX_READ)
			conn->max_write = XVAFS_SPLICE_MAX_READ;
	} else {
		fs->splice = false;
	}
	if (fs->readahead_kb)
		conn->max_readahead = fs->readahead_kb * 1024;
	/* 7.40 (Linux 6.9): parallel direct writes that wait for, and then
	 * yield to, openers that use the page cache, and shared mmap of
	 * direct-I/O files. Writable opens become direct once the kernel has
	 * taken this (replies.c); before, they stay cached, one writer at a
	 * time. */
	if (fs->overlay && fs->se && conn->proto_minor >= 40)
		xvafs_reply_mark(REPLY_INIT);
	/* The kernel drops the asynchronous half of a file's readahead once
	 * this many requests are in the background (default 9 of 12), which
	 * leaves a reader one request deep: the device idles while each
	 * request crosses FUSE. */
	conn->max_background = MAX_BACKGROUND;
	conn->congestion_threshold = MAX_BACKGROUND * 3 / 4;
}

static void xvafs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct xvafs_fs *fs = fs_of(req);
	struct statvfs sv;
	uint64_t bytes = 0;

	(void)ino;
	for (size_t i = 0; fs->xva && i < fs->xva->map.n_disks; i++)
		bytes += fs->xva->map.disks[i].bytes_present;
	if (!fs->xva)
		bytes = fs->repo_bytes;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = BLOCK;
	sv.f_frsize = BLOCK;
	sv.f_blocks = (fsblkcnt_t)((bytes + BLOCK - 1) / BLOCK);
	sv.f_files = (fsfilcnt_t)node_count(fs);
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops xvafs_ops = {
	.init = xvafs_init,
	.lookup = xvafs_lookup,
	.getattr = xvafs_getattr,
	.readlink = xvafs_readlink,
	.opendir = xvafs_opendir,
	.readdir = xvafs_readdir,
	.open = xvafs_open,
	.release = xvafs_release,
	.read = xvafs_read,
	.write = xvafs_write,
	.fsync = xvafs_fsync,
	.setattr = xvafs_setattr,
	.fallocate = xvafs_fallocate,
	.lseek = xvafs_lseek,
	.statfs = xvafs_statfs,
};
