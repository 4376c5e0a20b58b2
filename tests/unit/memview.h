/* A view for tests: bytes in a memfd, with a data map in 512-byte blocks
 * so that holes, seek and extents can be checked (a hole reads as zeros;
 * writes make data, zeroes of whole blocks make holes). Its segments name
 * the memfd, so a test reads them back with pread as a splice would.
 * Everything is static inline: each test is one file. */
#ifndef XVAFS_TEST_MEMVIEW_H
#define XVAFS_TEST_MEMVIEW_H

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xvafs/view.h"

#define MEMVIEW_BLOCK 512u

struct memview {
	struct xva_view v;
	int fd;
	unsigned char *data;   /* per block: 1 holds data */
	uint64_t blocks;
	unsigned syncs, prefetches;
};

static inline struct memview *memview_of(struct xva_view *v)
{
	return (struct memview *)v;
}

static inline enum xva_status memview_read(struct xva_view *v, void *buf,
					   size_t len, uint64_t off,
					   unsigned flags, size_t *done,
					   struct xva_err *err)
{
	(void)flags;
	*done = 0;
	if (off >= v->size)
		return XVA_OK;
	if (len > v->size - off)
		len = (size_t)(v->size - off);
	if (pread(memview_of(v)->fd, buf, len, (off_t)off) != (ssize_t)len)
		return xva_fail(err, XVA_EIO, "%s: pread failed", v->name);
	*done = len;
	return XVA_OK;
}

static inline int memview_seek(struct xva_view *v, uint64_t off,
			       bool want_data, uint64_t *out)
{
	struct memview *m = memview_of(v);

	if (off >= v->size)
		return -1;
	for (uint64_t b = off / MEMVIEW_BLOCK; b < m->blocks; b++) {
		if ((m->data[b] != 0) == want_data) {
			uint64_t at = b * MEMVIEW_BLOCK;

			*out = at > off ? at : off;
			return 0;
		}
	}
	if (want_data)
		return -1;
	*out = v->size;
	return 0;
}

/* Runs of data name the memfd; holes are zero segments. */
static inline enum xva_status memview_segments(struct xva_view *v, size_t len,
					       uint64_t off, bool splice,
					       xva_segment_fn fn, void *ctx,
					       size_t *done,
					       struct xva_err *err)
{
	struct memview *m = memview_of(v);
	uint64_t end;

	(void)splice;
	*done = 0;
	if (off >= v->size)
		return XVA_OK;
	if (len > v->size - off)
		len = (size_t)(v->size - off);
	end = off + len;
	for (uint64_t at = off; at < end;) {
		bool data = m->data[at / MEMVIEW_BLOCK] != 0;
		uint64_t next = (at / MEMVIEW_BLOCK + 1) * MEMVIEW_BLOCK;
		struct xva_segment seg;
		enum xva_status st;

		while (next < end && (m->data[next / MEMVIEW_BLOCK] != 0) == data)
			next += MEMVIEW_BLOCK;
		if (next > end)
			next = end;
		seg.file_off = at;
		seg.len = next - at;
		seg.number = 0;
		seg.fd = data ? m->fd : -1;
		seg.zero = !data;
		st = fn(ctx, &seg, err);
		if (st != XVA_OK)
			return st;
		at = next;
	}
	*done = len;
	return XVA_OK;
}

static inline void memview_mark(struct memview *m, uint64_t off, uint64_t len,
				bool data)
{
	uint64_t b = off / MEMVIEW_BLOCK, e = (off + len + MEMVIEW_BLOCK - 1) /
					       MEMVIEW_BLOCK;

	if (!data) { /* only whole blocks become holes */
		b = (off + MEMVIEW_BLOCK - 1) / MEMVIEW_BLOCK;
		e = (off + len) / MEMVIEW_BLOCK;
		if (off + len == m->v.size)
			e = m->blocks;
	}
	for (; b < e && b < m->blocks; b++)
		m->data[b] = data;
}

static inline enum xva_status memview_write(struct xva_view *v,
					    const void *buf, size_t len,
					    uint64_t off, struct xva_err *err)
{
	if (!v->writable)
		return xva_fail(err, XVA_EROFS, "%s is read-only", v->name);
	if (off > v->size || len > v->size - off)
		return xva_fail(err, XVA_ENOSPC, "%s: past the end", v->name);
	if (pwrite(memview_of(v)->fd, buf, len, (off_t)off) != (ssize_t)len)
		return xva_fail(err, XVA_EIO, "%s: pwrite failed", v->name);
	memview_mark(memview_of(v), off, len, true);
	return XVA_OK;
}

static inline enum xva_status memview_zero(struct xva_view *v, uint64_t len,
					   uint64_t off, struct xva_err *err)
{
	static const char zeros[4096];

	if (!v->writable)
		return xva_fail(err, XVA_EROFS, "%s is read-only", v->name);
	if (off > v->size || len > v->size - off)
		return xva_fail(err, XVA_ENOSPC, "%s: past the end", v->name);
	for (uint64_t at = off; at < off + len;) {
		size_t n = off + len - at < sizeof(zeros) ? (size_t)(off + len - at)
							  : sizeof(zeros);

		if (pwrite(memview_of(v)->fd, zeros, n, (off_t)at) != (ssize_t)n)
			return xva_fail(err, XVA_EIO, "%s: pwrite failed",
					v->name);
		at += n;
	}
	memview_mark(memview_of(v), off, len, false);
	return XVA_OK;
}

static inline enum xva_status memview_sync(struct xva_view *v,
					   struct xva_err *err)
{
	(void)err;
	memview_of(v)->syncs++;
	return XVA_OK;
}

static inline void memview_prefetch(struct xva_view *v, uint64_t off,
				    uint64_t len)
{
	(void)off;
	(void)len;
	memview_of(v)->prefetches++;
}

static inline uint64_t memview_allocated(struct xva_view *v)
{
	struct memview *m = memview_of(v);
	uint64_t n = 0;

	for (uint64_t b = 0; b < m->blocks; b++)
		n += m->data[b] ? MEMVIEW_BLOCK : 0;
	return n < v->size ? n : v->size;
}

static inline void memview_close(struct xva_view *v)
{
	struct memview *m = memview_of(v);

	close(m->fd);
	free(m->data);
	free(m);
}

static const struct xva_view_ops memview_ops = {
	.read = memview_read,
	.segments = memview_segments,
	.write = memview_write,
	.zero = memview_zero,
	.sync = memview_sync,
	.seek = memview_seek,
	.prefetch = memview_prefetch,
	.allocated = memview_allocated,
	.close = memview_close,
};

/* A view of SIZE bytes, all a hole (zeros); NULL on failure. */
static inline struct xva_view *memview_new(const char *name, uint64_t size,
					   bool writable)
{
	struct memview *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->blocks = (size + MEMVIEW_BLOCK - 1) / MEMVIEW_BLOCK;
	m->data = calloc(m->blocks ? m->blocks : 1, 1);
	m->fd = memfd_create("memview", MFD_CLOEXEC);
	if (!m->data || m->fd < 0 || ftruncate(m->fd, (off_t)size) != 0) {
		free(m->data);
		if (m->fd >= 0)
			close(m->fd);
		free(m);
		return NULL;
	}
	m->v.ops = &memview_ops;
	m->v.name = name;
	m->v.size = size;
	m->v.writable = writable;
	m->v.can_splice = true;
	return &m->v;
}

/* Puts LEN bytes of BUF at OFF (data), whatever WRITABLE says. */
static inline void memview_put(struct xva_view *v, uint64_t off,
			       const void *buf, size_t len)
{
	if (pwrite(memview_of(v)->fd, buf, len, (off_t)off) != (ssize_t)len)
		abort();
	memview_mark(memview_of(v), off, len, true);
}

#endif
