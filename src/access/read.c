#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "source/source.h"
#include "xvafs/read.h"
#include "xvafs/verify.h"
#include "base/io.h"

/* Clips a read to the disk and checks it lies in the intact part. */
static enum xva_status clip_read(const struct xva_disk *disk, size_t *len,
				 uint64_t off, struct xva_err *err)
{
	uint64_t end;

	if (off >= disk->size) {
		*len = 0;
		return XVA_OK;
	}
	if (*len > disk->size - off)
		*len = (size_t)(disk->size - off);
	end = off + *len;
	if (end > disk->intact_end)
		return xva_fail(err, XVA_ECUT, "disk %s: bytes %llu-%llu lie past "
				"byte %llu, where the truncated export's data for "
				"it ends", disk->prefix, (unsigned long long)off,
				(unsigned long long)(end - 1),
				(unsigned long long)disk->intact_end);
	return XVA_OK;
}

enum xva_status xva_read_segments(const struct xva *xva,
				  const struct xva_disk *disk, size_t len,
				  uint64_t off, xva_segment_fn fn, void *ctx,
				  size_t *done, struct xva_err *err)
{
	struct xva_segment seg = { 0, 0, 0, -1, true };
	enum xva_status st;
	uint64_t pos, end;
	size_t first, i;

	*done = 0;
	st = clip_read(disk, &len, off, err);
	if (st != XVA_OK || len == 0)
		return st;
	end = off + len;
	first = xva_disk_extent_at(disk, off);
	/* Every chunk the read touches is checked before any byte goes out. */
	for (i = first; xva_verify_enabled(xva) && i < disk->n_extents &&
			disk->extents[i].disk_off < end; i++) {
		st = xva_check_chunk(xva, disk, i, err);
		if (st != XVA_OK)
			return st;
	}
	for (pos = off, i = first; pos < end; ) {
		const struct xva_extent *e = i < disk->n_extents
						     ? &disk->extents[i] : NULL;
		struct xva_segment next;

		if (e && e->disk_off <= pos) {
			uint64_t skip = pos - e->disk_off;

			next.zero = false;
			next.fd = -1;
			next.number = e->number;
			next.file_off = e->file_off + skip;
			next.len = e->len - skip;
			i++;
		} else {
			next.zero = true;
			next.fd = -1;
			next.number = 0;
			next.file_off = 0;
			next.len = (e && e->disk_off < end ? e->disk_off : end) - pos;
		}
		if (next.len > end - pos)
			next.len = end - pos;
		pos += next.len;
		if (seg.len && seg.zero && next.zero) {
			seg.len += next.len;
			continue;
		}
		if (seg.len && (st = fn(ctx, &seg, err)) != XVA_OK)
			return st;
		seg = next;
	}
	if (seg.len && (st = fn(ctx, &seg, err)) != XVA_OK)
		return st;
	*done = len;
	return XVA_OK;
}

/* O_DIRECT needs offsets, lengths and memory aligned to the device's
 * logical block; EINVAL means this segment is not, and the page cache
 * serves it. Returns the bytes read, or -1 with errno. */
static ssize_t pread_direct(const struct xva_source *src, void *buf,
			    size_t len, uint64_t off)
{
	ssize_t n;

	do
		n = pread(src->direct_fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EINVAL)
		return 0;
	return n;
}

/* A read of SEG's bytes of the export failed with ST, WHY: the error
 * names the member and the bytes. */
static enum xva_status export_failed(const struct xva_disk *disk,
				     const struct xva_segment *seg,
				     enum xva_status st, const struct xva_err *why,
				     struct xva_err *err)
{
	char name[300];

	xva_disk_member_name(disk, seg->number, name, sizeof(name));
	return xva_fail(err, st, "member %s: cannot read %llu bytes at byte "
			"%llu of the export: %.300s", name,
			(unsigned long long)seg->len,
			(unsigned long long)seg->file_off, why->msg);
}

enum xva_status xva_copy_segment(void *ctx, const struct xva_segment *seg,
				 struct xva_err *err)
{
	struct xva_copy *c = ctx;
	size_t len = (size_t)seg->len, got = 0;
	struct xva_err why;
	enum xva_status st;

	if (seg->zero) {
		memset(c->out, 0, len);
		c->out += len;
		return XVA_OK;
	}
	if (seg->fd >= 0) {
		if (xva_pread_full(seg->fd, c->out, len, seg->file_off) < 0)
			return xva_fail(err, XVA_EIO, "disk %s: cannot read %zu "
					"bytes at byte %llu of its overlay: %s",
					c->disk->prefix, len,
					(unsigned long long)seg->file_off,
					errno ? strerror(errno)
					      : "its data file is shorter than "
						"the disk");
		c->out += len;
		return XVA_OK;
	}
	if (c->direct) {
		ssize_t n = pread_direct(c->xva->src, c->out, len, seg->file_off);

		if (n < 0) {
			st = xva_fail(&why, XVA_EIO, "%s", strerror(errno));
			goto failed;
		}
		got = (size_t)n;
	}
	/* The rest (all of it without O_DIRECT) through the source. */
	if (got < len) {
		size_t more;

		st = xva_source_read(c->xva->src, c->out + got, len - got,
				     seg->file_off + got, &more, &why);
		if (st != XVA_OK)
			goto failed;
		if (more < len - got) {
			st = xva_fail(&why, XVA_EIO, "the export now ends at "
				      "byte %llu", (unsigned long long)
				      (seg->file_off + got + more));
			goto failed;
		}
	}
	c->out += len;
	return XVA_OK;
failed:
	return export_failed(c->disk, seg, st, &why, err);
}

/* Where holes are lent from: never written, so its pages are the
 * kernel's one zero page. */
static char lend_zeros[128 << 10];

enum xva_status xva_lend_segment(void *ctx, const struct xva_segment *seg,
				 struct xva_err *err)
{
	struct xva_lend *c = ctx;
	size_t len = (size_t)seg->len, got;
	struct xva_err why;
	enum xva_status st;

	if (seg->zero) {
		for (size_t n; len; len -= n) {
			n = len < sizeof(lend_zeros) ? len : sizeof(lend_zeros);
			st = xva_lease_add(c->lease, lend_zeros, n, err);
			if (st != XVA_OK)
				return st;
		}
		return XVA_OK;
	}
	if (seg->fd >= 0) {
		/* An overlay's data: read into the reader's scratch. */
		struct xva_copy copy = { c->xva, c->disk,
					 xva_lease_scratch(c->lease, len), false };

		if (!copy.out)
			return xva_fail(err, XVA_ENOMEM, "disk %s: %zu bytes of "
					"its overlay do not fit the reader's "
					"buffer", c->disk->prefix, len);
		st = xva_copy_segment(&copy, seg, err);
		if (st == XVA_OK)
			st = xva_lease_add(c->lease, copy.out - len, len, err);
		return st;
	}
	st = xva_source_lend(c->xva->src, len, seg->file_off, c->lease, &got,
			     &why);
	if (st == XVA_OK && got < len)
		st = xva_fail(&why, XVA_EIO, "the export now ends at byte %llu",
			      (unsigned long long)(seg->file_off + got));
	if (st != XVA_OK)
		return export_failed(c->disk, seg, st, &why, err);
	return XVA_OK;
}

enum xva_status xva_read(const struct xva *xva, const struct xva_disk *disk,
			 void *buf, size_t len, uint64_t off, size_t *done,
			 struct xva_err *err)
{
	struct xva_copy c = { xva, disk, buf, false };

	xva_err_clear(err);
	return xva_read_segments(xva, disk, len, off, xva_copy_segment, &c,
				 done, err);
}

enum xva_status xva_read_ova(const struct xva *xva, void *buf, size_t len,
			     uint64_t off, size_t *done, struct xva_err *err)
{
	enum xva_status st;

	*done = 0;
	if (off >= xva->idx.ova_len)
		return XVA_OK;
	if (len > xva->idx.ova_len - off)
		len = (size_t)(xva->idx.ova_len - off);
	st = xva_source_read_full(xva->src, buf, len, xva->idx.ova_off + off,
				  "ova.xml", err);
	if (st == XVA_OK)
		*done = len;
	return st;
}

/* --- read-ahead (the policy is xvafs/readahead.h's) --- */

void xva_disk_prefetch(const struct xva *xva, const struct xva_disk *disk,
		       uint64_t from, uint64_t to)
{
	uint64_t run_off = 0, run_end = 0;

	for (size_t i = xva_disk_extent_at(disk, from);
	     i < disk->n_extents && disk->extents[i].disk_off < to; i++) {
		const struct xva_extent *e = &disk->extents[i];
		uint64_t skip = from > e->disk_off ? from - e->disk_off : 0;
		uint64_t stop = e->disk_off + e->len < to ? e->len
							  : to - e->disk_off;
		uint64_t f_off = e->file_off + skip, f_end = e->file_off + stop;

		if (e->disk_off + e->len > disk->intact_end)
			break;
		/* Chunks a checksum member apart are one run. */
		if (run_end && f_off >= run_end && f_off - run_end <= 4096) {
			run_end = f_end;
			continue;
		}
		if (run_end)
			xva_source_prefetch(xva->src, run_off, run_end - run_off);
		run_off = f_off;
		run_end = f_end;
	}
	if (run_end)
		xva_source_prefetch(xva->src, run_off, run_end - run_off);
}

bool xva_disk_would_wait(const struct xva *xva, const struct xva_disk *disk,
			 uint64_t off, uint64_t len)
{
	uint64_t end = off + len < disk->size ? off + len : disk->size;
	const struct xva_extent *e;
	uint64_t first, last;
	size_t i;

	if (off >= end)
		return false;
	/* The last chunk the read touches: a reader that waits at all waits
	 * for the end of what it asked. Gaps never wait. */
	i = xva_disk_extent_at(disk, end - 1);
	if (i < disk->n_extents && disk->extents[i].disk_off < end)
		e = &disk->extents[i];
	else if (i > 0 && disk->extents[i - 1].disk_off +
			  disk->extents[i - 1].len > off)
		e = &disk->extents[i - 1];
	else
		return false;
	if (e->disk_off + e->len > disk->intact_end)
		return false; /* an error, not a wait */
	first = e->disk_off > off ? e->disk_off : off;
	last = (e->disk_off + e->len < end ? e->disk_off + e->len : end) - 1;
	return xva_source_would_wait(xva->src, e->file_off + (first - e->disk_off),
				     last - first + 1);
}

struct disk_probe {
	const struct xva *xva;
	const struct xva_disk *disk;
};

static bool probe_disk(void *ctx, uint64_t off, size_t len)
{
	const struct disk_probe *p = ctx;

	return xva_disk_would_wait(p->xva, p->disk, off, len);
}

void xva_stream_note_read(struct xva_stream *s, const struct xva *xva,
			  const struct xva_disk *disk, uint64_t off,
			  size_t len)
{
	struct disk_probe p = { xva, disk };
	uint64_t from, to;

	if (xva_stream_next(s, disk->size, off, len, probe_disk, &p, &from,
			    &to))
		xva_disk_prefetch(xva, disk, from, to);
}
