/* The slice view: bytes [offset, offset + len) of another view (a
 * partition of a disk). Every operation is clipped to the slice and
 * moved by its offset, so nothing outside it is ever read or written. */
#include <stdlib.h>
#include <string.h>

#include "xvafs/view.h"

struct slice_view {
	struct xva_view v;
	struct xva_view *parent;
	uint64_t offset;
	char *name;
};

static struct slice_view *sv_of(struct xva_view *v)
{
	return (struct slice_view *)v;
}

static enum xva_status slice_read(struct xva_view *v, void *buf, size_t len,
				  uint64_t off, unsigned flags, size_t *done,
				  struct xva_err *err)
{
	struct slice_view *s = sv_of(v);

	len = (size_t)xva_view_clip(v, len, off);
	if (len == 0) {
		*done = 0;
		xva_err_clear(err);
		return XVA_OK;
	}
	return xva_view_read(s->parent, buf, len, s->offset + off, flags, done,
			     err);
}

static enum xva_status slice_segments(struct xva_view *v, size_t len,
				      uint64_t off, bool splice,
				      xva_segment_fn fn, void *ctx,
				      size_t *done, struct xva_err *err)
{
	struct slice_view *s = sv_of(v);

	len = (size_t)xva_view_clip(v, len, off);
	if (len == 0) {
		*done = 0;
		return XVA_OK;
	}
	return xva_view_segments(s->parent, len, s->offset + off, splice, fn,
				 ctx, done, err);
}

static enum xva_status slice_lend(struct xva_view *v, size_t len,
				  uint64_t off, struct xva_lease *lease,
				  size_t *done, struct xva_err *err)
{
	struct slice_view *s = sv_of(v);

	len = (size_t)xva_view_clip(v, len, off);
	if (len == 0) {
		*done = 0;
		xva_err_clear(err);
		return XVA_OK;
	}
	return xva_view_lend(s->parent, len, s->offset + off, lease, done,
			     err);
}

static enum xva_status slice_write(struct xva_view *v, const void *buf,
				   size_t len, uint64_t off,
				   struct xva_err *err)
{
	struct slice_view *s = sv_of(v);
	enum xva_status st = xva_view_check_change(v, len, off, err);

	if (st != XVA_OK || len == 0)
		return st;
	return xva_view_write(s->parent, buf, len, s->offset + off, err);
}

static enum xva_status slice_zero(struct xva_view *v, uint64_t len,
				  uint64_t off, struct xva_err *err)
{
	struct slice_view *s = sv_of(v);
	enum xva_status st = xva_view_check_change(v, len, off, err);

	if (st != XVA_OK || len == 0)
		return st;
	return xva_view_zero(s->parent, len, s->offset + off, err);
}

static enum xva_status slice_sync(struct xva_view *v, struct xva_err *err)
{
	return xva_view_sync(sv_of(v)->parent, err);
}

/* The parent's answer moved into the slice: data beyond the slice is
 * none in it, and the slice's end is a hole (as a file's end is). */
static int slice_seek(struct xva_view *v, uint64_t off, bool want_data,
		      uint64_t *out)
{
	struct slice_view *s = sv_of(v);
	uint64_t to;

	if (off >= v->size)
		return -1;
	if (xva_view_seek(s->parent, s->offset + off, want_data, &to) != 0) {
		if (want_data)
			return -1;
		to = s->offset + v->size;
	}
	if (to < s->offset + off) /* never behind where the search began */
		to = s->offset + off;
	to -= s->offset;
	if (want_data && to >= v->size)
		return -1;
	*out = to < v->size ? to : v->size;
	return 0;
}

static void slice_prefetch(struct xva_view *v, uint64_t off, uint64_t len)
{
	struct slice_view *s = sv_of(v);

	len = xva_view_clip(v, len, off);
	if (len)
		xva_view_prefetch(s->parent, s->offset + off, len);
}

static bool slice_would_wait(struct xva_view *v, uint64_t off, uint64_t len)
{
	struct slice_view *s = sv_of(v);

	len = xva_view_clip(v, len, off);
	return len && xva_view_would_wait(s->parent, s->offset + off, len);
}

static void slice_close(struct xva_view *v)
{
	struct slice_view *s = sv_of(v);

	free(s->name);
	free(s);
}

static const struct xva_view_ops slice_ops = {
	.read = slice_read,
	.segments = slice_segments,
	.lend = slice_lend,
	.write = slice_write,
	.zero = slice_zero,
	.sync = slice_sync,
	.seek = slice_seek,
	.prefetch = slice_prefetch,
	.would_wait = slice_would_wait,
	.allocated = xva_view_data_bytes,
	.close = slice_close,
};

enum xva_status xva_view_slice(struct xva_view *parent, uint64_t offset,
			       uint64_t len, const char *name,
			       struct xva_view **out, struct xva_err *err)
{
	struct slice_view *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s || !(s->name = strdup(name))) {
		free(s);
		return xva_nomem(err);
	}
	if (offset > parent->size)
		offset = parent->size;
	s->parent = parent;
	s->offset = offset;
	s->v.ops = &slice_ops;
	s->v.name = s->name;
	s->v.size = len < parent->size - offset ? len : parent->size - offset;
	s->v.mtime = parent->mtime;
	s->v.writable = parent->writable;
	s->v.can_splice = parent->can_splice;
	s->v.can_direct = parent->can_direct;
	s->v.can_lend = parent->can_lend;
	*out = &s->v;
	return XVA_OK;
}
