/* Disk views: a disk of the export, and a disk through the overlay (see
 * view.h); the calls front ends make; extents and read-ahead over any
 * view. The only code that knows the source's descriptors. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "source/source.h"
#include "xvafs/view.h"

/* A disk of XVA, through OVL (disk INDEX) when there is one. */
struct disk_view {
	struct xva_view v;
	const struct xva *xva;
	const struct xva_disk *disk;
	struct xva_overlay *ovl;
	size_t index;
};

static struct disk_view *dv_of(struct xva_view *v)
{
	return (struct disk_view *)v;
}

/* The disk's segments as the core gives them: fd -1 is the export. */
static enum xva_status raw_segments(const struct disk_view *d, size_t len,
				    uint64_t off, xva_segment_fn fn, void *ctx,
				    size_t *done, struct xva_err *err)
{
	if (d->ovl)
		return xva_overlay_read_segments(d->ovl, d->index, len, off, fn,
						 ctx, done, err);
	return xva_read_segments(d->xva, d->disk, len, off, fn, ctx, done,
				 err);
}

static enum xva_status disk_read(struct xva_view *v, void *buf, size_t len,
				 uint64_t off, unsigned flags, size_t *done,
				 struct xva_err *err)
{
	struct disk_view *d = dv_of(v);
	struct xva_copy c = { d->xva, d->disk, buf,
			      (flags & XVA_VIEW_DIRECT) && v->can_direct };

	xva_err_clear(err);
	return raw_segments(d, len, off, xva_copy_segment, &c, done, err);
}

static enum xva_status disk_lend(struct xva_view *v, size_t len, uint64_t off,
				 struct xva_lease *lease, size_t *done,
				 struct xva_err *err)
{
	struct disk_view *d = dv_of(v);
	struct xva_lend c = { d->xva, d->disk, lease };

	xva_err_clear(err);
	return raw_segments(d, len, off, xva_lend_segment, &c, done, err);
}

/* Segments handed on with the export's descriptor filled in. */
struct splice_ctx {
	xva_segment_fn fn;
	void *ctx;
	int export_fd;
	uint64_t file_end; /* the furthest export byte named */
};

static enum xva_status name_fd(void *vctx, const struct xva_segment *seg,
			       struct xva_err *err)
{
	struct splice_ctx *c = vctx;
	struct xva_segment s = *seg;

	if (!s.zero && s.fd < 0) {
		s.fd = c->export_fd;
		if (s.file_off + s.len > c->file_end)
			c->file_end = s.file_off + s.len;
	}
	return c->fn(c->ctx, &s, err);
}

static enum xva_status disk_segments(struct xva_view *v, size_t len,
				     uint64_t off, bool splice,
				     xva_segment_fn fn, void *ctx, size_t *done,
				     struct xva_err *err)
{
	struct disk_view *d = dv_of(v);
	struct splice_ctx c = { fn, ctx, d->xva->src->fd, 0 };
	enum xva_status st;
	struct stat now;

	if (!splice || !v->can_splice)
		return raw_segments(d, len, off, fn, ctx, done, err);
	st = raw_segments(d, len, off, name_fd, &c, done, err);
	/* A splice past the end of an export that shrank since it was
	 * opened would send a short reply, which the kernel pads with
	 * zeros. */
	if (st == XVA_OK && c.file_end &&
	    (fstat(c.export_fd, &now) < 0 || (uint64_t)now.st_size < c.file_end))
		st = xva_fail(err, XVA_EIO, "disk %s: the export is now shorter "
			      "than byte %llu, which a read at disk byte %llu "
			      "needs", d->disk->prefix,
			      (unsigned long long)c.file_end,
			      (unsigned long long)off);
	return st;
}

static enum xva_status disk_write(struct xva_view *v, const void *buf,
				  size_t len, uint64_t off, struct xva_err *err)
{
	struct disk_view *d = dv_of(v);
	enum xva_status st = xva_view_check_change(v, len, off, err);

	if (st != XVA_OK || len == 0)
		return st;
	return xva_overlay_write(d->ovl, d->index, buf, len, off, err);
}

static enum xva_status disk_zero(struct xva_view *v, uint64_t len,
				 uint64_t off, struct xva_err *err)
{
	struct disk_view *d = dv_of(v);
	enum xva_status st = xva_view_check_change(v, len, off, err);

	if (st != XVA_OK || len == 0)
		return st;
	return xva_overlay_zero(d->ovl, d->index, len, off, err);
}

static enum xva_status disk_sync(struct xva_view *v, struct xva_err *err)
{
	struct disk_view *d = dv_of(v);

	if (!v->writable)
		return XVA_OK;
	return xva_overlay_sync(d->ovl, d->index, err);
}

static int disk_seek(struct xva_view *v, uint64_t off, bool want_data,
		     uint64_t *out)
{
	struct disk_view *d = dv_of(v);

	if (d->ovl)
		return xva_overlay_seek(d->ovl, d->index, off, want_data, out);
	return xva_disk_seek(d->disk, off, want_data, out);
}

static void disk_prefetch(struct xva_view *v, uint64_t off, uint64_t len)
{
	struct disk_view *d = dv_of(v);

	if (off >= v->size)
		return;
	if (len > v->size - off)
		len = v->size - off;
	xva_disk_prefetch(d->xva, d->disk, off, off + len);
}

static bool disk_would_wait(struct xva_view *v, uint64_t off, uint64_t len)
{
	struct disk_view *d = dv_of(v);

	/* Blocks the overlay holds are ignored: a reader of a disk that was
	 * rewritten in place misses at the export and gets read-ahead it
	 * does not need, which costs only device time. */
	return xva_disk_would_wait(d->xva, d->disk, off, len);
}

static uint64_t disk_allocated(struct xva_view *v)
{
	struct disk_view *d = dv_of(v);
	uint64_t used = d->disk->bytes_present;

	if (d->ovl)
		used += xva_overlay_bytes(d->ovl, d->index);
	return used < v->size ? used : v->size;
}

static void disk_close(struct xva_view *v)
{
	free(v);
}

static const struct xva_view_ops disk_ops = {
	.read = disk_read,
	.segments = disk_segments,
	.lend = disk_lend,
	.write = disk_write,
	.zero = disk_zero,
	.sync = disk_sync,
	.seek = disk_seek,
	.prefetch = disk_prefetch,
	.would_wait = disk_would_wait,
	.allocated = disk_allocated,
	.close = disk_close,
};

static enum xva_status new_disk_view(const struct xva *xva,
				     const struct xva_disk *disk,
				     struct xva_overlay *ovl, size_t index,
				     bool writable, struct xva_view **out,
				     struct xva_err *err)
{
	struct disk_view *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (!d)
		return xva_nomem(err);
	d->xva = xva;
	d->disk = disk;
	d->ovl = ovl;
	d->index = index;
	d->v.ops = &disk_ops;
	d->v.name = disk->prefix;
	d->v.size = disk->size;
	d->v.mtime = xva->src->mtime;
	d->v.writable = ovl && writable;
	d->v.can_splice = xva->src->fd >= 0;
	d->v.can_direct = xva->src->direct_fd >= 0;
	d->v.can_lend = xva_source_can_lend(xva->src);
	*out = &d->v;
	return XVA_OK;
}

enum xva_status xva_view_disk(const struct xva *xva,
			      const struct xva_disk *disk,
			      struct xva_view **out, struct xva_err *err)
{
	return new_disk_view(xva, disk, NULL, xva_disk_index(xva, disk), false,
			     out, err);
}

enum xva_status xva_view_overlay(const struct xva *xva,
				 struct xva_overlay *ovl, size_t index,
				 bool writable, struct xva_view **out,
				 struct xva_err *err)
{
	return new_disk_view(xva, &xva->map.disks[index], ovl, index, writable,
			     out, err);
}

enum xva_status xva_view_open(const struct xva *xva, struct xva_overlay *ovl,
			      size_t index, bool writable,
			      struct xva_view **out, struct xva_err *err)
{
	if (ovl)
		return xva_view_overlay(xva, ovl, index, writable, out, err);
	return xva_view_disk(xva, &xva->map.disks[index], out, err);
}

void xva_view_close(struct xva_view *v)
{
	if (v)
		v->ops->close(v);
}

enum xva_view_mode xva_view_choose(const struct xva_view *v, bool want_direct,
				   bool want_in_place)
{
	/* qemu cache=none, Xen tap:aio: served the same way, not through
	 * the export's page cache. */
	if (want_direct && v->can_direct)
		return XVA_VIEW_READ_DIRECT;
	if (want_in_place && v->can_splice)
		return XVA_VIEW_SPLICE;
	if (want_in_place && v->can_lend)
		return XVA_VIEW_LEND;
	return XVA_VIEW_COPY;
}

/* --- the calls --- */

enum xva_status xva_view_read(struct xva_view *v, void *buf, size_t len,
			      uint64_t off, unsigned flags, size_t *done,
			      struct xva_err *err)
{
	return v->ops->read(v, buf, len, off, flags, done, err);
}

enum xva_status xva_view_read_whole(struct xva_view *v, void *buf, size_t len,
				    uint64_t off, bool *whole,
				    struct xva_err *err)
{
	size_t done = 0;
	enum xva_status st;

	*whole = false;
	if (off > v->size || len > v->size - off)
		return XVA_OK;
	st = xva_view_read(v, buf, len, off, 0, &done, err);
	*whole = st == XVA_OK && done == len;
	return st;
}

enum xva_status xva_view_segments(struct xva_view *v, size_t len, uint64_t off,
				  bool splice, xva_segment_fn fn, void *ctx,
				  size_t *done, struct xva_err *err)
{
	return v->ops->segments(v, len, off, splice, fn, ctx, done, err);
}

enum xva_status xva_view_lend(struct xva_view *v, size_t len, uint64_t off,
			      struct xva_lease *lease, size_t *done,
			      struct xva_err *err)
{
	*done = 0;
	if (!v->can_lend)
		return xva_fail(err, XVA_EINVAL, "%s cannot lend its bytes",
				v->name);
	return v->ops->lend(v, len, off, lease, done, err);
}

enum xva_status xva_view_write(struct xva_view *v, const void *buf, size_t len,
			       uint64_t off, struct xva_err *err)
{
	return v->ops->write(v, buf, len, off, err);
}

enum xva_status xva_view_zero(struct xva_view *v, uint64_t len, uint64_t off,
			      struct xva_err *err)
{
	return v->ops->zero(v, len, off, err);
}

enum xva_status xva_view_sync(struct xva_view *v, struct xva_err *err)
{
	return v->ops->sync(v, err);
}

int xva_view_seek(struct xva_view *v, uint64_t off, bool want_data,
		  uint64_t *out)
{
	if (off >= v->size)
		return -1;
	return v->ops->seek(v, off, want_data, out);
}

void xva_view_prefetch(struct xva_view *v, uint64_t off, uint64_t len)
{
	v->ops->prefetch(v, off, len);
}

uint64_t xva_view_allocated(struct xva_view *v)
{
	return v->ops->allocated(v);
}

enum xva_status xva_view_extents(struct xva_view *v, uint64_t len,
				 uint64_t off, bool one, xva_extent_fn fn,
				 void *ctx, struct xva_err *err)
{
	uint64_t size = v->size, pos = off;
	uint64_t end = len > size - (off < size ? off : size) ? size : off + len;
	enum xva_status st;

	while (pos < end) {
		uint64_t data, hole;

		if (xva_view_seek(v, pos, true, &data) != 0 || data > size)
			data = size;
		if (data > pos) {
			st = fn(ctx, pos, data - pos, true, err);
			pos = data;
		} else {
			if (xva_view_seek(v, pos, false, &hole) != 0 || hole > size)
				hole = size;
			if (hole <= pos)
				return xva_fail(err, XVA_EIO, "disk %s: no extent "
						"found at byte %llu", v->name,
						(unsigned long long)pos);
			st = fn(ctx, pos, hole - pos, false, err);
			pos = hole;
		}
		if (st != XVA_OK)
			return st;
		if (one)
			break;
	}
	return XVA_OK;
}

bool xva_view_would_wait(struct xva_view *v, uint64_t off, uint64_t len)
{
	if (!v->ops->would_wait)
		return true; /* cannot tell: a miss, as for a source */
	return v->ops->would_wait(v, off, len);
}

static bool probe_view(void *ctx, uint64_t off, size_t len)
{
	return xva_view_would_wait(ctx, off, len);
}

void xva_view_note_read(struct xva_view *v, struct xva_stream *s,
			uint64_t off, size_t len)
{
	uint64_t from, to;

	if (xva_stream_next(s, v->size, off, len, probe_view, v, &from, &to))
		xva_view_prefetch(v, from, to - from);
}

static enum xva_status add_data(void *ctx, uint64_t off, uint64_t len,
				bool zero, struct xva_err *err)
{
	(void)off;
	(void)err;
	if (!zero)
		*(uint64_t *)ctx += len;
	return XVA_OK;
}

uint64_t xva_view_data_bytes(struct xva_view *v)
{
	struct xva_err err;
	uint64_t bytes = 0;

	if (xva_view_extents(v, v->size, 0, false, add_data, &bytes, &err) !=
	    XVA_OK)
		return v->size;
	return bytes;
}

uint64_t xva_view_clip(const struct xva_view *v, uint64_t len, uint64_t off)
{
	if (off >= v->size)
		return 0;
	return len < v->size - off ? len : v->size - off;
}

enum xva_status xva_view_check_change(const struct xva_view *v, uint64_t len,
				      uint64_t off, struct xva_err *err)
{
	if (!v->writable)
		return xva_fail(err, XVA_EROFS, "%s is read-only", v->name);
	if (off > v->size || len > v->size - off)
		return xva_fail(err, XVA_ENOSPC, "%s: bytes %llu+%llu lie past "
				"its end (%llu bytes)", v->name,
				(unsigned long long)off, (unsigned long long)len,
				(unsigned long long)v->size);
	return XVA_OK;
}
