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

#include "fuse/fs.h"
#include "xvafs/read.h"
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
	READ_COPY,   /* read into a buffer: compressed or remote exports,
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

static int add_node(struct xvafs_fs *fs, fuse_ino_t parent,
		    enum xvafs_node_kind kind, const char *name,
		    struct xva_view *view, const char *link_to, fuse_ino_t *ino)
{
	struct xvafs_node *nodes, *n;

	nodes = realloc(fs->nodes, (fs->n_nodes + 1) * sizeof(*nodes));
	if (!nodes)
		return -1;
	fs->nodes = nodes;
	n = &nodes[fs->n_nodes];
	memset(n, 0, sizeof(*n));
	n->parent = parent;
	n->kind = kind;
	n->name = name;
	n->view = view;
	if (link_to && asprintf(&n->target, "../%s", link_to) < 0)
		return -1;
	fs->n_nodes++;
	if (ino)
		*ino = fs->n_nodes;
	return 0;
}

static fuse_ino_t find_child(const struct xvafs_fs *fs, fuse_ino_t parent,
			     const char *name)
{
	for (size_t i = 0; i < fs->n_nodes; i++)
		if (fs->nodes[i].parent == parent &&
		    strcmp(fs->nodes[i].name, name) == 0)
			return i + 1;
	return 0;
}

/* A folder of links, one per disk that has a name at OFFSET in its
 * struct xva_disk_names; none when no disk has one. */
static int add_view(struct xvafs_fs *fs, const char *folder, size_t offset)
{
	const struct xva *xva = fs->xva;
	fuse_ino_t dir = 0;

	for (size_t i = 0; i < xva->map.n_disks; i++) {
		const char *name = *(char *const *)((const char *)&xva->names[i] +
						    offset);

		if (!name)
			continue;
		if (!dir && add_node(fs, FUSE_ROOT_ID, NODE_DIR, folder, NULL,
				     NULL, &dir) != 0)
			return -1;
		if (add_node(fs, dir, NODE_LINK, name, NULL,
			     xva->map.disks[i].prefix, NULL) != 0)
			return -1;
	}
	return 0;
}

/* The folder NAME in PARENT, made when it is not there yet. */
static int folder(struct xvafs_fs *fs, fuse_ino_t parent, const char *name,
		  fuse_ino_t *ino)
{
	*ino = find_child(fs, parent, name);
	if (*ino)
		return 0;
	return add_node(fs, parent, NODE_DIR, name, NULL, NULL, ino);
}

/* A file serving VIEW (taken over) named NAME in PARENT. */
static int add_view_node(struct xvafs_fs *fs, fuse_ino_t parent,
			 const char *name, struct xva_view *view)
{
	if (add_node(fs, parent, NODE_DISK, name, view, NULL, NULL) != 0) {
		xva_view_close(view);
		return -1;
	}
	return 0;
}

/* Scans the disks (VIEWS, the disks' nodes' views) once, and serves
 * each partition beside its disk at the root. Eager, at mount, not on
 * the first lookup: the inode table is fixed before mounting, and what
 * is odd inside a disk (a bad table, a clash of names) is said on the
 * terminal before the daemon leaves it. It reads a few KiB a disk. */
static int add_partitions(struct xvafs_fs *fs, struct xva_view *const *views)
{
	struct xva_err err;

	if (xvafs_guest_scan(fs->xva, views, &fs->guest, &err) != XVA_OK)
		return -1;
	/* What the scan found damaged is said at mount; the reads that meet
	 * it while serving say it again, in the log. */
	xva_verify_rearm(fs->xva);
	fs->guest_from = fs->n_nodes;
	for (size_t i = 0; i < fs->guest->n_items; i++) {
		const struct xvafs_guest_item *it = &fs->guest->items[i];
		struct xva_view *view;

		if (it->kind != XVAFS_ITEM_PART)
			continue;
		/* Writable through the overlay, as its disk. */
		if (xvafs_guest_item_view(fs->guest, it, NULL, true, &view,
					  &err) != XVA_OK ||
		    add_view_node(fs, FUSE_ROOT_ID, it->file, view) != 0)
			return -1;
	}
	return 0;
}

/* by-device/ names of partitions, lvm/VG/LV, by-uuid/ and the labels of
 * filesystems in by-label/ (after the disks' own labels). */
static int add_guest_names(struct xvafs_fs *fs)
{
	const struct xvafs_guest *gv = fs->guest;
	fuse_ino_t dir, lvm = 0, vg;
	struct xva_err err;

	for (size_t i = 0; i < gv->n_items; i++) {
		const struct xvafs_guest_item *it = &gv->items[i];
		struct xva_view *view;

		if (it->kind == XVAFS_ITEM_PART) {
			if (it->device &&
			    (folder(fs, FUSE_ROOT_ID, XVA_NAME_BY_DEVICE, &dir) != 0 ||
			     add_node(fs, dir, NODE_LINK, it->device, NULL,
				      it->file, NULL) != 0))
				return -1;
			continue;
		}
		if ((!lvm && folder(fs, FUSE_ROOT_ID, XVAFS_NAME_LVM, &lvm) != 0) ||
		    folder(fs, lvm, it->folder, &vg) != 0 ||
		    xvafs_guest_item_view(gv, it, NULL, true, &view, &err) != XVA_OK ||
		    add_view_node(fs, vg, it->base, view) != 0)
			return -1;
	}
	for (size_t i = 0; i < gv->n_links; i++) {
		const struct xvafs_guest_link *l = &gv->links[i];

		if (folder(fs, FUSE_ROOT_ID, l->folder, &dir) != 0 ||
		    add_node(fs, dir, NODE_LINK, l->name, NULL, l->target,
			     NULL) != 0)
			return -1;
	}
	return 0;
}

int xvafs_fs_init(struct xvafs_fs *fs, struct xva *xva)
{
	struct xva_view **views;

	fs->xva = xva;
	fs->nodes = NULL;
	fs->n_nodes = 0;
	fs->handles = NULL;
	fs->guest = NULL;
	fs->guest_from = 0;
	pthread_mutex_init(&fs->handles_lock, NULL);
	fs->inited = true;
	views = calloc(xva->map.n_disks ? xva->map.n_disks : 1, sizeof(*views));
	/* Never written, so its pages stay the kernel's shared zero page. */
	fs->zeros = calloc(1, XVAFS_SPLICE_MAX_READ);
	if (!fs->zeros || !views)
		goto fail;
	if (add_node(fs, 0, NODE_DIR, "", NULL, NULL, NULL) != 0)
		goto fail;
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		struct xva_err err;

		/* Writable through the overlay when there is one. */
		if (xva_view_open(xva, fs->overlay, i, true, &views[i], &err) != XVA_OK ||
		    xvafs_fs_add_disk(fs, FUSE_ROOT_ID, views[i]) != 0)
			goto fail;
	}
	if (add_partitions(fs, views) != 0)
		goto fail;
	if (xva->ova && add_node(fs, FUSE_ROOT_ID, NODE_OVA_XML,
				 XVA_NAME_OVA_XML, NULL, NULL, NULL) != 0)
		goto fail;
	if (add_view(fs, XVA_NAME_BY_DEVICE,
		     offsetof(struct xva_disk_names, device)) != 0 ||
	    add_view(fs, XVA_NAME_BY_LABEL,
		     offsetof(struct xva_disk_names, label)) != 0 ||
	    add_guest_names(fs) != 0)
		goto fail;
	free(views);
	return 0;
fail:
	free(views);
	xvafs_fs_destroy(fs);
	return -1;
}

int xvafs_fs_add_disk(struct xvafs_fs *fs, fuse_ino_t parent,
		      struct xva_view *view)
{
	if (add_node(fs, parent, NODE_DISK, view->name, view, NULL, NULL) != 0) {
		xva_view_close(view);
		return -1;
	}
	return 0;
}

int xvafs_fs_add_text(struct xvafs_fs *fs, const char *folder,
		      const char *name, char *text, size_t len,
		      bool executable)
{
	fuse_ino_t dir = find_child(fs, FUSE_ROOT_ID, folder), ino;
	struct xvafs_node *n;
	char *own_name = strdup(name);

	if (!own_name || (!dir && add_node(fs, FUSE_ROOT_ID, NODE_DIR, folder,
					   NULL, NULL, &dir) != 0) ||
	    add_node(fs, dir, NODE_TEXT, own_name, NULL, NULL, &ino) != 0) {
		free(own_name);
		free(text);
		return -1;
	}
	n = &fs->nodes[ino - 1];
	n->target = own_name; /* owned here, freed with the node */
	n->text = text;
	n->text_len = len;
	n->executable = executable;
	return 0;
}

void xvafs_fs_destroy(struct xvafs_fs *fs)
{
	if (!fs->inited)
		return;
	fs->inited = false;
	while (fs->handles)
		handle_free(fs, fs->handles);
	pthread_mutex_destroy(&fs->handles_lock);
	for (size_t i = fs->n_nodes; i-- > 0; ) {
		/* The views over the guest's devices are closed; the devices
		 * go before the disks they are slices of. */
		if (i < fs->guest_from && fs->guest) {
			xvafs_guest_free(fs->guest);
			fs->guest = NULL;
		}
		xva_view_close(fs->nodes[i].view);
		free(fs->nodes[i].target);
		free(fs->nodes[i].text);
	}
	xvafs_guest_free(fs->guest);
	fs->guest = NULL;
	free(fs->nodes);
	free((void *)fs->zeros);
	fs->nodes = NULL;
	fs->zeros = NULL;
	fs->n_nodes = 0;
}

static struct xvafs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static const struct xvafs_node *node_of(const struct xvafs_fs *fs,
					fuse_ino_t ino)
{
	return ino >= 1 && ino <= fs->n_nodes ? &fs->nodes[ino - 1] : NULL;
}

static void reply_status(fuse_req_t req, enum xva_status st)
{
	fuse_reply_err(req, xva_status_errno(st));
}

/* --- attributes and names --- */

static void fill_attr(const struct xvafs_fs *fs, fuse_ino_t ino,
		      const struct xvafs_node *n, struct stat *st)
{
	const struct xva *xva = fs->xva;
	struct timespec mtime = xva_mtime(xva);

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
		for (size_t i = 0; i < fs->n_nodes; i++)
			if (fs->nodes[i].parent == ino &&
			    fs->nodes[i].kind == NODE_DIR)
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
	e.ino = find_child(fs, parent, name);
	if (e.ino)
		fill_attr(fs, e.ino, &fs->nodes[e.ino - 1], &e.attr);
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
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void xvafs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *dir = node_of(fs, ino);
	size_t used = 0, index = 0;
	char *buf;

	(void)fi;
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Entry K (".", "..", then the children in table order) has offset
	 * K + 1, the offset of the entry after it. */
	for (size_t i = 0; i < fs->n_nodes + 2; i++) {
		struct stat st = { 0 };
		const char *name;
		size_t need;

		if (i == 0 || i == 1) {
			name = i == 0 ? "." : "..";
			st.st_ino = i == 0 ? ino : (dir->parent ? dir->parent : ino);
			st.st_mode = S_IFDIR;
		} else if (fs->nodes[i - 2].parent == ino) {
			name = fs->nodes[i - 2].name;
			fill_attr(fs, i - 1, &fs->nodes[i - 2], &st);
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
		case XVA_VIEW_COPY:
			h->strategy = READ_COPY;
			break;
		}
	xva_stream_init(&h->stream, h->strategy == READ_SPLICE ||
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

static void read_text(fuse_req_t req, const struct xvafs_fs *fs,
		      const struct xvafs_node *n, size_t size, off_t off)
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
	st = xva_read_ova(fs->xva, buf, size, (uint64_t)off, &done, &err);
	if (st == XVA_OK)
		fuse_reply_buf(req, buf, done);
	else
		reply_read_error(req, st, &err);
	free(buf);
}

static void read_copy(fuse_req_t req, const struct xvafs_node *n,
		      size_t size, off_t off, bool direct)
{
	enum xva_status st;
	struct xva_err err;
	size_t done;
	void *buf = NULL;

	/* Aligned for the O_DIRECT descriptor. */
	if (posix_memalign(&buf, 4096, size ? size : 1) != 0) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	st = xva_view_read(n->view, buf, size, (uint64_t)off,
			   direct ? XVA_VIEW_DIRECT : 0, &done, &err);
	if (st == XVA_OK)
		fuse_reply_buf(req, buf, done);
	else
		reply_read_error(req, st, &err);
	free(buf);
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
		read_text(req, fs, h->node, size, off);
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
	size = n->kind == NODE_TEXT ? n->text_len : fs->xva->idx.ova_len;
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
	for (size_t i = 0; i < fs->xva->map.n_disks; i++)
		bytes += fs->xva->map.disks[i].bytes_present;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = BLOCK;
	sv.f_frsize = BLOCK;
	sv.f_blocks = (fsblkcnt_t)((bytes + BLOCK - 1) / BLOCK);
	sv.f_files = (fsfilcnt_t)fs->n_nodes;
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
