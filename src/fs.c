/* The mount's inodes are a fixed table built before mounting (see
 * xvafs_fs_init); the disks never change while mounted, so attributes and
 * entries are cached long. Every operation sends exactly one reply. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <sys/statvfs.h>

#include "fs.h"

#define CACHE_SECONDS 86400.0
#define BLOCK 4096

static int add_node(struct xvafs_fs *fs, fuse_ino_t parent,
		    enum xvafs_node_kind kind, const char *name, size_t disk,
		    const char *link_to, fuse_ino_t *ino)
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
	n->disk = disk;
	if (link_to && asprintf(&n->target, "../%s", link_to) < 0)
		return -1;
	fs->n_nodes++;
	if (ino)
		*ino = fs->n_nodes;
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
		if (!dir && add_node(fs, FUSE_ROOT_ID, NODE_DIR, folder, 0, NULL,
				     &dir) != 0)
			return -1;
		if (add_node(fs, dir, NODE_LINK, name, i,
			     xva->map.disks[i].prefix, NULL) != 0)
			return -1;
	}
	return 0;
}

int xvafs_fs_init(struct xvafs_fs *fs, struct xva *xva)
{
	fs->xva = xva;
	fs->nodes = NULL;
	fs->n_nodes = 0;
	/* Never written, so its pages stay the kernel's shared zero page. */
	fs->zeros = calloc(1, XVAFS_SPLICE_MAX_READ);
	if (!fs->zeros)
		goto fail;
	if (add_node(fs, 0, NODE_DIR, "", 0, NULL, NULL) != 0)
		goto fail;
	for (size_t i = 0; i < xva->map.n_disks; i++)
		if (add_node(fs, FUSE_ROOT_ID, NODE_DISK, xva->map.disks[i].prefix,
			     i, NULL, NULL) != 0)
			goto fail;
	if (xva->ova && add_node(fs, FUSE_ROOT_ID, NODE_OVA_XML,
				 XVA_NAME_OVA_XML, 0, NULL, NULL) != 0)
		goto fail;
	if (add_view(fs, XVA_NAME_BY_DEVICE,
		     offsetof(struct xva_disk_names, device)) != 0 ||
	    add_view(fs, XVA_NAME_BY_LABEL,
		     offsetof(struct xva_disk_names, label)) != 0)
		goto fail;
	return 0;
fail:
	xvafs_fs_destroy(fs);
	return -1;
}

void xvafs_fs_destroy(struct xvafs_fs *fs)
{
	for (size_t i = 0; i < fs->n_nodes; i++)
		free(fs->nodes[i].target);
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

static void fill_attr(const struct xvafs_fs *fs, fuse_ino_t ino,
		      const struct xvafs_node *n, struct stat *st)
{
	const struct xva *xva = fs->xva;

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_atim = xva->st.st_mtim;
	st->st_mtim = xva->st.st_mtim;
	st->st_ctim = xva->st.st_mtim;
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
		const struct xva_disk *disk = &xva->map.disks[n->disk];
		uint64_t used = disk->bytes_present;

		if (fs->overlay) {
			used += xva_overlay_bytes(fs->overlay, n->disk);
			used = used < disk->size ? used : disk->size;
		}
		st->st_mode = S_IFREG | ((fs->overlay ? 0666 : 0444) & ~fs->umask);
		st->st_size = (off_t)disk->size;
		/* Only present chunks occupy space: cp and du see holes. */
		st->st_blocks = (blkcnt_t)((used + 511) / 512);
		break;
	}
	case NODE_OVA_XML:
		st->st_mode = S_IFREG | (0444 & ~fs->umask);
		st->st_size = (off_t)xva->idx.ova_len;
		st->st_blocks = (blkcnt_t)((xva->idx.ova_len + 511) / 512);
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
	for (size_t i = 0; i < fs->n_nodes; i++) {
		if (fs->nodes[i].parent == parent &&
		    strcmp(fs->nodes[i].name, name) == 0) {
			e.ino = i + 1;
			fill_attr(fs, e.ino, &fs->nodes[i], &e.attr);
			break;
		}
	}
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

static void xvafs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct xvafs_node *n = node_of(fs_of(req), ino);

	if (!n || n->kind == NODE_DIR || n->kind == NODE_LINK) {
		fuse_reply_err(req, n ? EISDIR : ENOENT);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY &&
	    (n->kind != NODE_DISK || !fs_of(req)->overlay)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->keep_cache = 1; /* the .xva never changes under the mount */
	/* Readers that bypass the page cache (qemu cache=none, Xen tap:aio)
	 * are served the same way, not through the export's cache. */
	fi->fh = (fi->flags & O_DIRECT) && fs_of(req)->xva->direct_fd >= 0;
	fuse_reply_open(req, fi);
}

/* Reads past a truncated export's intact part were announced at mount; an
 * empty message is a bad chunk reported before. */
static void reply_read_error(fuse_req_t req, enum xva_status st,
			     const struct xva_err *err)
{
	if (st != XVA_ECUT && err->msg[0])
		fuse_log(FUSE_LOG_ERR, "xvafs: %s\n", err->msg);
	fuse_reply_err(req, st == XVA_ENOMEM ? ENOMEM : EIO);
}

/* The copy path: pread into a buffer, reply from it. DIRECT reads go
 * through the export's O_DIRECT descriptor. */
static void read_copy(fuse_req_t req, const struct xvafs_fs *fs,
		      const struct xvafs_node *n, size_t size, off_t off,
		      bool direct)
{
	enum xva_status st;
	struct xva_err err;
	size_t done;
	void *buf = NULL;

	if (posix_memalign(&buf, 4096, size ? size : 1) != 0) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	err.msg[0] = '\0';
	if (n->kind == NODE_OVA_XML)
		st = xva_read_ova(fs->xva, buf, size, (uint64_t)off, &done, &err);
	else if (fs->overlay)
		st = xva_overlay_read(fs->overlay, n->disk, buf, size,
				      (uint64_t)off, &done, &err) == XVA_OVL_OK
			     ? XVA_OK : XVA_EIO;
	else if (direct)
		st = xva_read_direct(fs->xva, &fs->xva->map.disks[n->disk], buf,
				     size, (uint64_t)off, &done, &err);
	else
		st = xva_read(fs->xva, &fs->xva->map.disks[n->disk], buf, size,
			      (uint64_t)off, &done, &err);
	if (st == XVA_OK)
		fuse_reply_buf(req, buf, done);
	else
		reply_read_error(req, st, &err);
	free(buf);
}

#define INLINE_SEGMENTS 16

struct bufvec_ctx {
	struct fuse_bufvec *bv;
	size_t cap;
	const struct xvafs_fs *fs;
	uint64_t file_end; /* the furthest .xva byte the reply reads */
};

static int add_buf(struct bufvec_ctx *c, const struct fuse_buf *buf)
{
	if (c->bv->count == c->cap)
		return -1; /* sized for the worst case; cannot happen */
	c->bv->buf[c->bv->count++] = *buf;
	return 0;
}

static int add_segment(void *vctx, const struct xva_segment *seg)
{
	struct bufvec_ctx *c = vctx;
	struct fuse_buf buf = { 0 };

	if (!seg->zero) {
		buf.size = (size_t)seg->len;
		buf.flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
		buf.fd = c->fs->xva->fd;
		buf.pos = (off_t)seg->file_off;
		if (seg->file_off + seg->len > c->file_end)
			c->file_end = seg->file_off + seg->len;
		return add_buf(c, &buf);
	}
	/* A read is never longer than the zero buffer. */
	buf.size = (size_t)seg->len;
	buf.mem = (void *)c->fs->zeros;
	return add_buf(c, &buf);
}

/* The splice path: the reply points at the .xva's own pages and the zero
 * buffer, and libfuse splices them to the kernel without a copy. */
static void read_splice(fuse_req_t req, const struct xvafs_fs *fs,
			const struct xva_disk *disk, size_t size, off_t off)
{
	/* A read touches at most size / block + 2 chunks, one file segment
	 * each, with a gap before, between or after them. */
	size_t cap = 2 * (size / (disk->block ? disk->block : 1) + 2) + 1;
	union {
		struct fuse_bufvec bv;
		char room[sizeof(struct fuse_bufvec) +
			  INLINE_SEGMENTS * sizeof(struct fuse_buf)];
	} inline_bv;
	struct bufvec_ctx c = { &inline_bv.bv, INLINE_SEGMENTS, fs, 0 };
	enum xva_status st;
	struct xva_err err;
	struct stat now;
	size_t done;

	if (cap > INLINE_SEGMENTS) {
		c.bv = malloc(sizeof(struct fuse_bufvec) +
			      cap * sizeof(struct fuse_buf));
		if (!c.bv) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		c.cap = cap;
	}
	memset(c.bv, 0, sizeof(*c.bv));
	err.msg[0] = '\0';
	st = xva_read_segments(fs->xva, disk, size, (uint64_t)off, add_segment,
			       &c, &done, &err);
	/* A splice past the end of a file that shrank under the mount would
	 * send a short reply, which the kernel pads with zeros. */
	if (st == XVA_OK && c.file_end &&
	    (fstat(fs->xva->fd, &now) < 0 || (uint64_t)now.st_size < c.file_end)) {
		xva_err_set(&err, "disk %s: the export is now shorter than byte "
			    "%llu, which a read at disk byte %lld needs",
			    disk->prefix, (unsigned long long)c.file_end,
			    (long long)off);
		st = XVA_EIO;
	}
	/* All gap: one write of the zero buffer beats copying it into the
	 * splice pipe and out again. */
	if (st == XVA_OK && c.bv->count == 1 &&
	    !(c.bv->buf[0].flags & FUSE_BUF_IS_FD))
		fuse_reply_buf(req, fs->zeros, c.bv->buf[0].size);
	else if (st == XVA_OK)
		fuse_reply_data(req, c.bv, 0);
	else
		reply_read_error(req, st, &err);
	if (c.bv != &inline_bv.bv)
		free(c.bv);
}

static void xvafs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	const struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = node_of(fs, ino);

	if (!n || n->kind == NODE_DIR || n->kind == NODE_LINK) {
		fuse_reply_err(req, n ? EISDIR : EBADF);
		return;
	}
	if (n->kind == NODE_DISK && (fi->fh || fs->overlay))
		read_copy(req, fs, n, size, off, fi->fh);
	else if (fs->splice && n->kind == NODE_DISK &&
		 size <= XVAFS_SPLICE_MAX_READ)
		read_splice(req, fs, &fs->xva->map.disks[n->disk], size, off);
	else
		read_copy(req, fs, n, size, off, false);
}

static void xvafs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
			struct fuse_file_info *fi)
{
	const struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = node_of(fs, ino);
	uint64_t to;

	(void)fi;
	if (!n || n->kind == NODE_DIR || n->kind == NODE_LINK || off < 0 ||
	    (whence != SEEK_DATA && whence != SEEK_HOLE)) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (n->kind == NODE_DISK) {
		int r = fs->overlay
			? xva_overlay_seek(fs->overlay, n->disk, (uint64_t)off,
					   whence == SEEK_DATA, &to)
			: xva_disk_seek(&fs->xva->map.disks[n->disk],
					(uint64_t)off, whence == SEEK_DATA, &to);

		if (r != 0) {
			fuse_reply_err(req, ENXIO);
			return;
		}
	} else if ((uint64_t)off < fs->xva->idx.ova_len) {
		to = whence == SEEK_DATA ? (uint64_t)off : fs->xva->idx.ova_len;
	} else {
		fuse_reply_err(req, ENXIO);
		return;
	}
	fuse_reply_lseek(req, (off_t)to);
}

static int ovl_errno(enum xva_ovl_status st)
{
	switch (st) {
	case XVA_OVL_OK: return 0;
	case XVA_OVL_ENOSPC: return ENOSPC;
	case XVA_OVL_ENOMEM: return ENOMEM;
	default: return EIO;
	}
}

/* A disk of the overlay, or NULL (and the error sent) when INO is none. */
static const struct xvafs_node *writable(fuse_req_t req, fuse_ino_t ino)
{
	const struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = node_of(fs, ino);

	if (!n || n->kind != NODE_DISK || !fs->overlay) {
		fuse_reply_err(req, n ? EROFS : ENOENT);
		return NULL;
	}
	return n;
}

static void xvafs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	const struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = writable(req, ino);
	enum xva_ovl_status st;
	struct xva_err err;
	uint64_t disk_size;

	(void)fi;
	if (!n)
		return;
	/* A disk has a fixed size: writes stop at its end, like a device's. */
	disk_size = fs->xva->map.disks[n->disk].size;
	if ((uint64_t)off >= disk_size) {
		fuse_reply_err(req, size ? ENOSPC : 0);
		return;
	}
	if (size > disk_size - (uint64_t)off)
		size = (size_t)(disk_size - (uint64_t)off);
	err.msg[0] = '\0';
	st = xva_overlay_write(fs->overlay, n->disk, buf, size, (uint64_t)off,
			       &err);
	if (st == XVA_OVL_OK) {
		fuse_reply_write(req, size);
		return;
	}
	/* A full overlay is the writer's business, not the log's. */
	if (st != XVA_OVL_ENOSPC)
		fuse_log(FUSE_LOG_ERR, "xvafs: %s\n", err.msg);
	fuse_reply_err(req, ovl_errno(st));
}

static void xvafs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	const struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = node_of(fs, ino);
	enum xva_ovl_status st = XVA_OVL_OK;
	struct xva_err err;

	(void)datasync;
	(void)fi;
	if (n && n->kind == NODE_DISK && fs->overlay)
		st = xva_overlay_sync(fs->overlay, n->disk, &err);
	if (st != XVA_OVL_OK)
		fuse_log(FUSE_LOG_ERR, "xvafs: %s\n", err.msg);
	fuse_reply_err(req, ovl_errno(st));
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
	const struct xvafs_fs *fs = fs_of(req);
	const struct xvafs_node *n = writable(req, ino);
	uint64_t size, off = (uint64_t)offset, len = (uint64_t)length;
	enum xva_ovl_status st;
	struct xva_err err;

	(void)fi;
	if (!n)
		return;
	size = fs->xva->map.disks[n->disk].size;
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
	err.msg[0] = '\0';
	st = xva_overlay_zero(fs->overlay, n->disk, len, off, &err);
	if (st != XVA_OVL_OK && st != XVA_OVL_ENOSPC)
		fuse_log(FUSE_LOG_ERR, "xvafs: %s\n", err.msg);
	fuse_reply_err(req, ovl_errno(st));
}

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
	.read = xvafs_read,
	.write = xvafs_write,
	.fsync = xvafs_fsync,
	.setattr = xvafs_setattr,
	.fallocate = xvafs_fallocate,
	.lseek = xvafs_lseek,
	.statfs = xvafs_statfs,
};
