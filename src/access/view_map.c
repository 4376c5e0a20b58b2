/* The map view: segments laid end to end, each striped over parent views
 * the way Linux dm-stripe lays out an LVM logical volume (see view.h).
 * Every operation is cut into PIECES, runs that lie in one chunk of one
 * stripe (or one linear or zero segment), and each piece goes to its
 * parent, so holes of the parents stay holes and nothing outside the
 * mapped bytes is ever read or written. */
#include <stdlib.h>
#include <string.h>

#include "xvafs/view.h"

struct map_view {
	struct xva_view v;
	char *name;
	size_t n;
	struct xva_map_seg *segs;       /* stripes point into STRIPES */
	struct xva_map_stripe *stripes;
};

static struct map_view *mv_of(struct xva_view *v)
{
	return (struct map_view *)v;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The segment holding view byte OFF (< size). */
static const struct xva_map_seg *seg_at(const struct map_view *m, uint64_t off,
					size_t *index)
{
	size_t lo = 0, hi = m->n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->segs[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	if (index)
		*index = lo;
	return &m->segs[lo];
}

/* A run of the view in one place of one parent (or zeros). */
struct piece {
	struct xva_view *view; /* NULL: zeros */
	uint64_t poff;         /* parent byte */
	uint64_t len;
};

/* The piece at view byte OFF of segment S, at most MAX bytes. */
static void piece_at(const struct xva_map_seg *s, uint64_t off, uint64_t max,
		     struct piece *p)
{
	uint64_t rel = off - s->start, pat = s->skip + rel;

	p->len = min64(s->len - rel, max);
	p->view = NULL;
	p->poff = 0;
	if (s->n_stripes == 0)
		return;
	if (s->n_stripes == 1) {
		p->view = s->stripes[0].view;
		p->poff = s->stripes[0].offset + pat;
		return;
	}
	uint64_t chunk = pat / s->chunk, in = pat % s->chunk;
	const struct xva_map_stripe *st = &s->stripes[chunk % s->n_stripes];

	p->view = st->view;
	p->poff = st->offset + chunk / s->n_stripes * s->chunk + in;
	p->len = min64(p->len, s->chunk - in);
}

/* Byte of stripe ST (stripe-local) where the pattern bytes at or after
 * PAT begin on that stripe: also how many of the pattern bytes before PAT
 * the stripe holds (the end of a range on it). */
static uint64_t stripe_local_from(const struct xva_map_seg *s, unsigned st,
				  uint64_t pat)
{
	uint64_t c, row;
	unsigned cs;

	if (s->n_stripes == 1)
		return pat;
	c = pat / s->chunk;
	row = c / s->n_stripes;
	cs = (unsigned)(c % s->n_stripes);
	if (st == cs)
		return row * s->chunk + pat % s->chunk;
	return (st > cs ? row : row + 1) * s->chunk;
}

/* The pattern byte of stripe-local byte LOCAL of stripe ST. */
static uint64_t pattern_of(const struct xva_map_seg *s, unsigned st,
			   uint64_t local)
{
	if (s->n_stripes == 1)
		return local;
	return (local / s->chunk * s->n_stripes + st) * s->chunk +
	       local % s->chunk;
}

/* Calls EACH for every piece of [OFF, OFF + LEN) (inside the view), in
 * order; stops at a status other than XVA_OK. */
typedef enum xva_status (*piece_fn)(void *ctx, const struct piece *p,
				    struct xva_err *err);

static enum xva_status walk(struct map_view *m, uint64_t len, uint64_t off,
			    piece_fn each, void *ctx, struct xva_err *err)
{
	size_t i;

	if (len == 0)
		return XVA_OK;
	seg_at(m, off, &i);
	while (len > 0 && i < m->n) {
		const struct xva_map_seg *s = &m->segs[i];
		struct piece p;
		enum xva_status st;

		if (off >= s->start + s->len) {
			i++;
			continue;
		}
		piece_at(s, off, len, &p);
		st = each(ctx, &p, err);
		if (st != XVA_OK)
			return st;
		off += p.len;
		len -= p.len;
	}
	return XVA_OK;
}

/* A parent that gave fewer bytes than its piece asked for. */
static enum xva_status short_piece(const struct xva_view *v,
				   const struct piece *p, size_t done,
				   struct xva_err *err)
{
	return xva_fail(err, XVA_EIO, "%s: %s gave %zu of the %llu bytes at "
			"its byte %llu", v->name, p->view->name, done,
			(unsigned long long)p->len,
			(unsigned long long)p->poff);
}

struct read_ctx {
	struct xva_view *v;
	char *out;
	unsigned flags;
};

static enum xva_status read_piece(void *vctx, const struct piece *p,
				  struct xva_err *err)
{
	struct read_ctx *c = vctx;
	enum xva_status st;
	size_t done = 0;

	if (!p->view) {
		memset(c->out, 0, (size_t)p->len);
	} else {
		st = xva_view_read(p->view, c->out, (size_t)p->len, p->poff,
				   c->flags, &done, err);
		if (st != XVA_OK)
			return st;
		if (done != p->len)
			return short_piece(c->v, p, done, err);
	}
	c->out += p->len;
	return XVA_OK;
}

static enum xva_status map_read(struct xva_view *v, void *buf, size_t len,
				uint64_t off, unsigned flags, size_t *done,
				struct xva_err *err)
{
	struct read_ctx c = { v, buf, flags };
	enum xva_status st;

	xva_err_clear(err);
	len = (size_t)xva_view_clip(v, len, off);
	st = walk(mv_of(v), len, off, read_piece, &c, err);
	*done = st == XVA_OK ? len : 0;
	return st;
}

struct seg_ctx {
	struct xva_view *v;
	bool splice;
	xva_segment_fn fn;
	void *ctx;
};

static enum xva_status segments_piece(void *vctx, const struct piece *p,
				      struct xva_err *err)
{
	struct seg_ctx *c = vctx;
	enum xva_status st;
	size_t done = 0;

	if (!p->view) {
		struct xva_segment zero = { 0, p->len, 0, -1, true };

		return c->fn(c->ctx, &zero, err);
	}
	st = xva_view_segments(p->view, (size_t)p->len, p->poff, c->splice,
			       c->fn, c->ctx, &done, err);
	if (st == XVA_OK && done != p->len)
		return short_piece(c->v, p, done, err);
	return st;
}

/* The parents' own segments, piece by piece: with splice, they name the
 * parents' descriptors (can_splice says every parent has them). */
static enum xva_status map_segments(struct xva_view *v, size_t len,
				    uint64_t off, bool splice,
				    xva_segment_fn fn, void *ctx, size_t *done,
				    struct xva_err *err)
{
	struct seg_ctx c = { v, splice && v->can_splice, fn, ctx };
	enum xva_status st;

	len = (size_t)xva_view_clip(v, len, off);
	st = walk(mv_of(v), len, off, segments_piece, &c, err);
	*done = st == XVA_OK ? len : 0;
	return st;
}

struct write_ctx {
	struct xva_view *v;
	const char *in; /* NULL: zero */
};

static enum xva_status change_piece(void *vctx, const struct piece *p,
				    struct xva_err *err)
{
	struct write_ctx *c = vctx;
	enum xva_status st;

	if (!p->view) {
		/* A zero segment has nowhere to keep data: zeroing it is
		 * already done, anything else cannot be. */
		if (c->in)
			return xva_fail(err, XVA_EROFS, "%s: its bytes here "
					"are a zero segment, which holds no "
					"data", c->v->name);
		return XVA_OK;
	}
	if (c->in) {
		st = xva_view_write(p->view, c->in, (size_t)p->len, p->poff,
				    err);
		c->in += p->len;
	} else {
		st = xva_view_zero(p->view, p->len, p->poff, err);
	}
	return st;
}

static enum xva_status map_write(struct xva_view *v, const void *buf,
				 size_t len, uint64_t off, struct xva_err *err)
{
	struct write_ctx c = { v, buf };
	enum xva_status st = xva_view_check_change(v, len, off, err);

	if (st != XVA_OK)
		return st;
	return walk(mv_of(v), len, off, change_piece, &c, err);
}

static enum xva_status map_zero(struct xva_view *v, uint64_t len,
				uint64_t off, struct xva_err *err)
{
	struct write_ctx c = { v, NULL };
	enum xva_status st = xva_view_check_change(v, len, off, err);

	if (st != XVA_OK)
		return st;
	return walk(mv_of(v), len, off, change_piece, &c, err);
}

/* Each parent once. */
static enum xva_status map_sync(struct xva_view *v, struct xva_err *err)
{
	struct map_view *m = mv_of(v);
	size_t total = 0;

	if (!v->writable)
		return XVA_OK;
	for (size_t i = 0; i < m->n; i++)
		total += m->segs[i].n_stripes;
	for (size_t i = 0; i < total; i++) {
		struct xva_view *p = m->stripes[i].view;
		bool seen = false;
		enum xva_status st;

		for (size_t j = 0; j < i && !seen; j++)
			seen = m->stripes[j].view == p;
		if (seen)
			continue;
		st = xva_view_sync(p, err);
		if (st != XVA_OK)
			return st;
	}
	return XVA_OK;
}

/* In segment S, from segment byte REL on: the first data (WANT_DATA) or
 * hole byte, as a segment byte in *FOUND; false when there is none
 * before the segment's end. Each stripe is asked once: on a stripe the
 * pattern runs forward, so the nearest answer over the stripes is the
 * segment's. */
static bool seg_seek(const struct xva_map_seg *s, uint64_t rel, bool want_data,
		     uint64_t *found)
{
	uint64_t pat = s->skip + rel, best = UINT64_MAX;

	if (s->n_stripes == 0) {
		*found = rel;
		return !want_data;
	}
	for (unsigned st = 0; st < s->n_stripes; st++) {
		const struct xva_map_stripe *sp = &s->stripes[st];
		uint64_t local = stripe_local_from(s, st, pat), to, p;

		if (xva_view_seek(sp->view, sp->offset + local, want_data,
				  &to) != 0) {
			if (want_data)
				continue; /* no data left on this stripe */
			to = sp->view->size; /* the parent's end is a hole */
		}
		if (to < sp->offset + local)
			to = sp->offset + local;
		p = pattern_of(s, st, to - sp->offset);
		if (p < best)
			best = p;
	}
	if (best == UINT64_MAX || best - s->skip >= s->len)
		return false;
	*found = best - s->skip;
	return true;
}

static int map_seek(struct xva_view *v, uint64_t off, bool want_data,
		    uint64_t *out)
{
	struct map_view *m = mv_of(v);
	size_t i;

	if (off >= v->size)
		return -1;
	seg_at(m, off, &i);
	for (; i < m->n; i++) {
		const struct xva_map_seg *s = &m->segs[i];
		uint64_t from = off > s->start ? off - s->start : 0, found;

		if (seg_seek(s, from, want_data, &found)) {
			*out = s->start + found;
			return 0;
		}
	}
	if (want_data)
		return -1;
	*out = v->size;
	return 0;
}

/* Each stripe's part of the range is one run of its parent. */
static void map_prefetch(struct xva_view *v, uint64_t off, uint64_t len)
{
	struct map_view *m = mv_of(v);
	uint64_t end;
	size_t i;

	len = xva_view_clip(v, len, off);
	if (len == 0)
		return;
	end = off + len;
	seg_at(m, off, &i);
	for (; i < m->n && m->segs[i].start < end; i++) {
		const struct xva_map_seg *s = &m->segs[i];
		uint64_t from = off > s->start ? off - s->start : 0;
		uint64_t to = min64(end - s->start, s->len);

		for (unsigned st = 0; st < s->n_stripes; st++) {
			uint64_t a = stripe_local_from(s, st, s->skip + from);
			uint64_t b = stripe_local_from(s, st, s->skip + to);

			if (b > a)
				xva_view_prefetch(s->stripes[st].view,
						  s->stripes[st].offset + a,
						  b - a);
		}
	}
}

/* The read's last byte: where a reader that waits at all waits. */
static bool map_would_wait(struct xva_view *v, uint64_t off, uint64_t len)
{
	struct map_view *m = mv_of(v);
	struct piece p;

	len = xva_view_clip(v, len, off);
	if (len == 0)
		return false;
	piece_at(seg_at(m, off + len - 1, NULL), off + len - 1, 1, &p);
	return p.view && xva_view_would_wait(p.view, p.poff, 1);
}

static void map_close(struct xva_view *v)
{
	struct map_view *m = mv_of(v);

	free(m->stripes);
	free(m->segs);
	free(m->name);
	free(m);
}

static const struct xva_view_ops map_ops = {
	.read = map_read,
	.segments = map_segments,
	.write = map_write,
	.zero = map_zero,
	.sync = map_sync,
	.seek = map_seek,
	.prefetch = map_prefetch,
	.would_wait = map_would_wait,
	.allocated = xva_view_data_bytes,
	.close = map_close,
};

/* Whether segment S (number I) is well formed and every stripe's last
 * byte lies inside its parent. */
static enum xva_status check_seg(const char *name, const struct xva_map_seg *s,
				 size_t i, uint64_t at, struct xva_err *err)
{
	uint64_t pat_end;

	if (s->start != at || s->len == 0)
		return xva_fail(err, XVA_EINVAL, "%s: segment %zu starts at "
				"byte %llu (length %llu), not %llu", name, i,
				(unsigned long long)s->start,
				(unsigned long long)s->len,
				(unsigned long long)at);
	if (s->n_stripes > 1 && s->chunk == 0)
		return xva_fail(err, XVA_EINVAL, "%s: segment %zu has %u "
				"stripes but no chunk size", name, i,
				s->n_stripes);
	if (__builtin_add_overflow(s->skip, s->len, &pat_end))
		return xva_fail(err, XVA_EINVAL, "%s: segment %zu overflows",
				name, i);
	for (unsigned st = 0; st < s->n_stripes; st++) {
		const struct xva_map_stripe *sp = &s->stripes[st];
		uint64_t local = stripe_local_from(s, st, pat_end), last;

		if (!sp->view ||
		    __builtin_add_overflow(sp->offset, local, &last) ||
		    last > sp->view->size)
			return xva_fail(err, XVA_EINVAL, "%s: segment %zu, "
					"stripe %u: bytes up to %llu of %s, "
					"which has %llu", name, i, st,
					(unsigned long long)sp->offset +
						local,
					sp->view ? sp->view->name : "(none)",
					sp->view ? (unsigned long long)
							   sp->view->size
						 : 0ULL);
	}
	return XVA_OK;
}

/* The view's flags: what every parent can. */
static void take_flags(struct map_view *m, bool writable, size_t total)
{
	m->v.writable = writable;
	m->v.can_splice = true;
	m->v.can_direct = true;
	for (size_t i = 0; i < total; i++) {
		const struct xva_view *p = m->stripes[i].view;

		m->v.writable = m->v.writable && p->writable;
		m->v.can_splice = m->v.can_splice && p->can_splice;
		m->v.can_direct = m->v.can_direct && p->can_direct;
		if (p->mtime.tv_sec > m->v.mtime.tv_sec ||
		    (p->mtime.tv_sec == m->v.mtime.tv_sec &&
		     p->mtime.tv_nsec > m->v.mtime.tv_nsec))
			m->v.mtime = p->mtime;
	}
}

enum xva_status xva_view_map(const char *name, uint64_t size,
			     const struct xva_map_seg *segs, size_t n_segs,
			     bool writable, struct xva_view **out,
			     struct xva_err *err)
{
	struct map_view *m;
	size_t total = 0, k = 0;
	uint64_t at = 0;
	enum xva_status st;

	*out = NULL;
	for (size_t i = 0; i < n_segs; i++) {
		st = check_seg(name, &segs[i], i, at, err);
		if (st != XVA_OK)
			return st;
		at += segs[i].len;
		total += segs[i].n_stripes;
	}
	if (at != size || n_segs == 0)
		return xva_fail(err, XVA_EINVAL, "%s: its segments cover %llu "
				"bytes, not %llu", name,
				(unsigned long long)at,
				(unsigned long long)size);
	m = calloc(1, sizeof(*m));
	if (!m || !(m->name = strdup(name)) ||
	    !(m->segs = calloc(n_segs, sizeof(*m->segs))) ||
	    !(m->stripes = calloc(total ? total : 1, sizeof(*m->stripes)))) {
		if (m) {
			free(m->segs);
			free(m->name);
		}
		free(m);
		return xva_nomem(err);
	}
	for (size_t i = 0; i < n_segs; i++) {
		m->segs[i] = segs[i];
		m->segs[i].stripes = &m->stripes[k];
		if (segs[i].n_stripes)
			memcpy(&m->stripes[k], segs[i].stripes,
			       segs[i].n_stripes * sizeof(*m->stripes));
		k += segs[i].n_stripes;
	}
	m->n = n_segs;
	m->v.ops = &map_ops;
	m->v.name = m->name;
	m->v.size = size;
	take_flags(m, writable, total);
	*out = &m->v;
	return XVA_OK;
}
