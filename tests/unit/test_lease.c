/* Reads lent in place (struct xva_lease): what a lease holds and gives
 * back, a disk view's lent reads against its copied ones (holes, chunks,
 * slices), and the remote source's cache never evicting, freeing or
 * reusing an extent a lease pins, however pressed it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/http.h"
#include "source/source.h"
#include "check.h"
#include "tartools.h"
#include "xvafs/read.h"
#include "xvafs/view.h"
#include "xvafs/xva.h"

#define BLK 4096u

/* A source that lends copies of the export's bytes: each lend reads into
 * fresh buffers of at most BLK bytes, each its own pin, and counts the
 * pins alive. */
struct lender {
	struct xva_source base;
	struct xva_source *real;
	long live_pins;
	long unpin_calls;
	int lends_left;      /* >= 0: lends that succeed before one fails */
};

static enum xva_status lender_read(struct xva_source *src, void *buf,
				   size_t len, uint64_t off, size_t *got,
				   struct xva_err *err)
{
	return xva_source_read(((struct lender *)src)->real, buf, len, off, got,
			       err);
}

static enum xva_status lender_lend(struct xva_source *src, size_t len,
				   uint64_t off, struct xva_lease *lease,
				   size_t *got, struct xva_err *err)
{
	struct lender *l = (struct lender *)src;
	size_t done = 0;

	if (l->lends_left == 0)
		return xva_fail(err, XVA_EIO, "the lender gives up");
	if (l->lends_left > 0)
		l->lends_left--;
	while (done < len) {
		size_t n = len - done < BLK ? len - done : BLK, in;
		char *pin;
		enum xva_status st;

		st = xva_source_read(l->real, (pin = malloc(n)), n, off + done,
				     &in, err);
		if (st != XVA_OK || in == 0) {
			free(pin);
			break;
		}
		l->live_pins++;
		st = xva_lease_hold(lease, src, pin, err);
		if (st == XVA_OK)
			st = xva_lease_add(lease, pin, in, err);
		if (st != XVA_OK)
			return st;
		done += in;
		if (in < n)
			break;
	}
	*got = done;
	return XVA_OK;
}

static void lender_unpin(struct xva_source *src, void *const *pins, size_t n)
{
	struct lender *l = (struct lender *)src;

	l->unpin_calls++;
	for (size_t i = 0; i < n; i++) {
		free(pins[i]);
		l->live_pins--;
	}
}

static void lender_info(const struct xva_source *src, struct xva_source_info *i)
{
	(void)src;
	i->kind = "lender";
}

static void lender_close(struct xva_source *src)
{
	(void)src;
}

static const struct xva_source_ops lender_ops = {
	.read = lender_read, .lend = lender_lend, .unpin = lender_unpin,
	.info = lender_info, .close = lender_close,
};

/* The lease's pieces laid end to end into OUT; their total length. */
static size_t gather(const struct xva_lease *l, char *out)
{
	size_t at = 0;

	for (size_t i = 0; i < l->n_iov; i++) {
		memcpy(out + at, l->iov[i].iov_base, l->iov[i].iov_len);
		at += l->iov[i].iov_len;
	}
	return at;
}

static void lease_basics(struct lender *src)
{
	static char buf[64];
	struct lender other;
	struct xva_lease l;
	struct xva_err err;
	char scratch[100];

	/* Pieces that follow each other in memory are one. */
	xva_lease_init(&l, scratch, sizeof(scratch));
	CHECK(xva_lease_add(&l, buf, 10, &err) == XVA_OK);
	CHECK(xva_lease_add(&l, buf + 10, 20, &err) == XVA_OK);
	CHECK(xva_lease_add(&l, buf + 40, 5, &err) == XVA_OK);
	CHECK(xva_lease_add(&l, buf, 0, &err) == XVA_OK);
	CHECK(l.n_iov == 2 && l.iov[0].iov_len == 30 && l.iov[1].iov_len == 5);
	/* The scratch buffer is handed out once. */
	CHECK(xva_lease_scratch(&l, 60) == scratch);
	CHECK(xva_lease_scratch(&l, 41) == NULL);
	CHECK(xva_lease_scratch(&l, 40) == scratch + 60);
	xva_lease_release(&l);
	CHECK(l.n_iov == 0 && l.n_pins == 0);
	CHECK(xva_lease_scratch(&l, 100) == scratch);
	xva_lease_release(&l);

	/* More pieces and pins than fit inline; all given back at once. */
	xva_lease_init(&l, NULL, 0);
	CHECK(xva_lease_scratch(&l, 1) == NULL);
	for (int i = 0; i < 3 * XVA_LEASE_INLINE; i++) {
		size_t got;

		CHECK(xva_source_lend(&src->base, 100, (uint64_t)i * 1000, &l,
				      &got, &err) == XVA_OK && got == 100);
	}
	CHECK(src->live_pins == 3 * XVA_LEASE_INLINE);
	CHECK(l.n_pins == 3 * XVA_LEASE_INLINE);
	for (size_t i = 0, at = 0; i < l.n_iov; i++) {
		char want[BLK];
		size_t got;

		CHECK(xva_source_read(src->real, want, l.iov[i].iov_len,
				      (at / 100) * 1000 + at % 100, &got,
				      &err) == XVA_OK);
		CHECK(memcmp(want, l.iov[i].iov_base, l.iov[i].iov_len) == 0);
		at += l.iov[i].iov_len;
	}
	src->unpin_calls = 0;
	xva_lease_release(&l);
	CHECK(src->live_pins == 0 && src->unpin_calls == 1);

	/* A pin of a second source is refused, and given back. */
	memset(&other, 0, sizeof(other));
	CHECK(xva_source_init(&other.base, &lender_ops, "other", "other",
			      &err) == XVA_OK);
	other.lends_left = -1;
	other.real = src->real;
	xva_lease_init(&l, NULL, 0);
	{
		size_t got;

		CHECK(xva_source_lend(&src->base, 10, 0, &l, &got, &err) ==
		      XVA_OK);
		CHECK(xva_source_lend(&other.base, 10, 0, &l, &got, &err) ==
		      XVA_EINVAL);
	}
	CHECK(other.live_pins == 0 && src->live_pins == 1);
	xva_lease_release(&l);
	CHECK(src->live_pins == 0);
	xva_source_fini(&other.base);
}

/* A disk view over SRC lends what it reads: the same bytes, holes
 * included; a failed lend leaves nothing pinned once released. */
static void view_lends(struct xva *xva, struct lender *src)
{
	static char got[40 * BLK], want[40 * BLK];
	static const uint64_t offs[] = { 0, 1, BLK - 7, BLK, 3 * BLK + 100,
					 10 * BLK - 1, 62 * BLK, 64 * BLK - 5,
					 64 * BLK, 70 * BLK };
	static const size_t lens[] = { 1, 100, BLK, 2 * BLK + 3, 9 * BLK,
				       40 * BLK };
	struct xva_view *v, *slice;
	struct xva_lease l;
	struct xva_err err;
	size_t done, copied;

	CHECK(xva_view_disk(xva, &xva->map.disks[0], &v, &err) == XVA_OK);
	CHECK(v->can_lend && !v->can_splice);
	CHECK(xva_view_choose(v, false, true) == XVA_VIEW_LEND);
	CHECK(xva_view_choose(v, false, false) == XVA_VIEW_COPY);
	for (size_t o = 0; o < sizeof(offs) / sizeof(offs[0]); o++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			xva_lease_init(&l, NULL, 0);
			CHECK(xva_view_read(v, want, lens[k], offs[o], 0, &copied,
					    &err) == XVA_OK);
			CHECK_MSG(xva_view_lend(v, lens[k], offs[o], &l, &done,
						&err) == XVA_OK,
				  "%s", err.msg);
			CHECK_MSG(done == copied && gather(&l, got) == done &&
				  memcmp(got, want, done) == 0,
				  "lent %zu at %llu: %zu bytes, copied %zu",
				  lens[k], (unsigned long long)offs[o], done,
				  copied);
			xva_lease_release(&l);
			CHECK(src->live_pins == 0);
		}

	/* A slice lends its parent's bytes, moved by its offset. */
	CHECK(xva_view_slice(v, 5 * BLK + 3, 20 * BLK, "part", &slice, &err) ==
	      XVA_OK);
	CHECK(slice->can_lend);
	xva_lease_init(&l, NULL, 0);
	CHECK(xva_view_read(slice, want, 30 * BLK, BLK, 0, &copied, &err) ==
	      XVA_OK);
	CHECK(xva_view_lend(slice, 30 * BLK, BLK, &l, &done, &err) == XVA_OK);
	CHECK(done == 19 * BLK && copied == done && gather(&l, got) == done &&
	      memcmp(got, want, done) == 0);
	xva_lease_release(&l);
	xva_view_close(slice);

	/* A failure halfway names the member; the release gives back the
	 * pins taken before it. */
	src->lends_left = 1;
	xva_lease_init(&l, NULL, 0);
	CHECK(xva_view_lend(v, 3 * BLK, 0, &l, &done, &err) == XVA_EIO);
	CHECK_MSG(strstr(err.msg, "member Ref:1/00000002") &&
		  strstr(err.msg, "the lender gives up"), "%s", err.msg);
	CHECK(src->live_pins == 1);
	xva_lease_release(&l);
	CHECK(src->live_pins == 0);
	src->lends_left = -1;
	xva_view_close(v);
}

/* Segments of an overlay's data file are read into the lease's scratch
 * buffer, as long as it lasts. */
static void overlay_segments(struct xva *xva)
{
	char path[] = "/tmp/xvafs-test-XXXXXX", data[3 * BLK], scratch[4 * BLK];
	struct xva_lease l;
	struct xva_lend c = { xva, &xva->map.disks[0], &l };
	struct xva_segment seg = { BLK, 2 * BLK, 0, -1, false };
	struct xva_err err;
	int fd = mkstemp(path);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + 3);
	CHECK(fd >= 0 && write(fd, data, sizeof(data)) == (ssize_t)sizeof(data));
	seg.fd = fd;
	xva_lease_init(&l, scratch, sizeof(scratch));
	CHECK(xva_lend_segment(&c, &seg, &err) == XVA_OK);
	CHECK(l.n_iov == 1 && l.iov[0].iov_base == scratch &&
	      l.iov[0].iov_len == 2 * BLK && l.n_pins == 0);
	CHECK(memcmp(scratch, data + BLK, 2 * BLK) == 0);
	/* Half the scratch is left: a second segment of 2 blocks fits, a
	 * third does not. */
	CHECK(xva_lend_segment(&c, &seg, &err) == XVA_OK);
	CHECK(l.n_iov == 1 && l.iov[0].iov_len == 4 * BLK);
	CHECK(xva_lend_segment(&c, &seg, &err) == XVA_ENOMEM);
	CHECK_MSG(strstr(err.msg, "do not fit the reader's buffer"), "%s",
		  err.msg);
	xva_lease_release(&l);
	close(fd);
	unlink(path);
}

static void fill(struct extent *x, unsigned char seed)
{
	memset(x->data, seed, x->len);
	x->filled = x->len;
	x->state = EXT_READY;
}

static bool holds(const struct extent *x, unsigned char seed)
{
	for (size_t i = 0; i < x->len; i++)
		if ((unsigned char)x->data[i] != seed)
			return false;
	return true;
}

/* The remote source's extent cache under pressure: what a lease pins is
 * what its lend op took a reference on (refs), and the cache evicts,
 * frees and recycles only extents nobody references. */
static void http_cache_pins(void)
{
	struct http_source *hs = calloc(1, sizeof(*hs));
	struct extent *x[4], *fresh[4];

	hs->memory_max = 4ull * BLOCK_SIZE;
	hs->base.size = 64ull * BLOCK_SIZE;
	for (int i = 0; i < 4; i++) {
		x[i] = http_extent_new(hs, (uint64_t)i << BLOCK_SHIFT,
				       BLOCK_SIZE, false);
		fill(x[i], (unsigned char)(0x10 + i));
	}
	/* Leases pin the two oldest. */
	x[0]->refs++;
	x[1]->refs++;
	CHECK(hs->cached_bytes == 4ull * BLOCK_SIZE);
	/* Room for two more: the unpinned go, the pinned stay. */
	CHECK(http_cache_make_room(hs, 2ull * BLOCK_SIZE));
	CHECK(http_find_block(hs, 0) == x[0] && http_find_block(hs, 1) == x[1]);
	CHECK(!http_find_block(hs, 2) && !http_find_block(hs, 3));
	/* Room for three cannot be made: nothing pinned is dropped. */
	CHECK(!http_cache_make_room(hs, 3ull * BLOCK_SIZE));
	CHECK(http_find_block(hs, 0) == x[0] && http_find_block(hs, 1) == x[1]);
	/* New blocks take the freed buffers, never a pinned one, and
	 * writing them leaves the pinned bytes as they were. */
	for (int i = 0; i < 4; i++) {
		fresh[i] = http_extent_new(hs, (uint64_t)(8 + i) << BLOCK_SHIFT,
					   BLOCK_SIZE, false);
		CHECK(fresh[i]->data != x[0]->data &&
		      fresh[i]->data != x[1]->data);
		fill(fresh[i], 0xee);
	}
	CHECK(holds(x[0], 0x10) && holds(x[1], 0x11));
	/* A pinned extent that leaves the cache (a failed fetch does) stays
	 * until its last pin goes. */
	http_cache_remove(hs, x[1]);
	CHECK(!http_find_block(hs, 1) && holds(x[1], 0x11));
	http_extent_unref(hs, x[1]);
	/* Unpinned, the first goes at the next eviction. */
	http_extent_unref(hs, x[0]);
	CHECK(http_cache_make_room(hs, 0));
	CHECK(http_cache_make_room(hs, 4ull * BLOCK_SIZE));
	CHECK(!http_find_block(hs, 0) && hs->cached_bytes == 0);
	while (hs->n_spare)
		free(hs->spare[--hs->n_spare]);
	free(hs);
}

int main(void)
{
	char path[] = "/tmp/xvafs-test-XXXXXX";
	struct xva *xva = NULL;
	struct lender src;
	struct xva_source *real;
	struct xva_err err;
	int fd = mkstemp(path);

	close(fd);
	/* 64 blocks: every third left out. */
	CHECK(test_write_thirds_tar(path, 64, BLK) == 0);
	CHECK(xva_open(path, NULL, &xva, &err) == XVA_OK);
	if (!xva)
		return CHECK_DONE();
	memset(&src, 0, sizeof(src));
	CHECK(xva_source_init(&src.base, &lender_ops, "lender", "lender",
			      &err) == XVA_OK);
	src.lends_left = -1;
	real = xva->src;
	src.base.size = real->size;
	src.real = real;
	xva->src = &src.base;

	lease_basics(&src);
	view_lends(xva, &src);
	overlay_segments(xva);
	http_cache_pins();

	xva->src = real;
	xva_source_fini(&src.base);
	xva_close(xva);
	unlink(path);
	return CHECK_DONE();
}
