/* The map view against a brute-force model: random segments (zero,
 * linear, striped over 2 or 3 parents with odd skips and chunk sizes)
 * over parents with holes. The model deals the pattern's chunks out to
 * the stripes one by one, as dm-stripe's description reads, and records
 * where every byte of the view lands; reads, segments, seek data/hole,
 * extents, writes and zeroes are then checked byte for byte against it,
 * and the parents outside the mapped bytes are checked untouched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "memview.h"
#include "xvafs/view.h"

#define N_PARENTS 3
#define PARENT_SIZE (256u * 1024u)
#define MAX_SEGS 6

static struct xva_view *parents[N_PARENTS];
static unsigned char shadow[N_PARENTS][PARENT_SIZE];
/* Where each view byte lands: parent (-1: zeros) and parent byte. */
static signed char where_p[2 * 1024 * 1024];
static uint32_t where_off[2 * 1024 * 1024];

static uint64_t rnd(uint64_t n)
{
	return n ? (uint64_t)random() % n : 0;
}

static void make_parents(bool writable)
{
	static const char *names[N_PARENTS] = { "pa", "pb", "pc" };

	for (int p = 0; p < N_PARENTS; p++) {
		if (parents[p])
			xva_view_close(parents[p]);
		parents[p] = memview_new(names[p], PARENT_SIZE, writable);
		memset(shadow[p], 0, PARENT_SIZE);
		/* Data in runs of 1 to 8 blocks, holes between. */
		for (uint64_t at = 0; at < PARENT_SIZE;) {
			uint64_t n = (1 + rnd(8)) * MEMVIEW_BLOCK;

			if (at + n > PARENT_SIZE)
				n = PARENT_SIZE - at;
			if (rnd(3)) {
				for (uint64_t i = 0; i < n; i++)
					shadow[p][at + i] = (unsigned char)random();
				memview_put(parents[p], at, shadow[p] + at, n);
			}
			at += n;
		}
	}
}

static int parent_index(const struct xva_view *v)
{
	for (int p = 0; p < N_PARENTS; p++)
		if (parents[p] == v)
			return p;
	abort();
}

/* The model of segment S: its pattern dealt out chunk by chunk. */
static void model_seg(const struct xva_map_seg *s)
{
	uint64_t used[4] = { 0 }, end = s->skip + s->len;
	uint64_t c = s->n_stripes > 1 ? s->chunk : end;

	if (s->n_stripes == 0) {
		for (uint64_t i = 0; i < s->len; i++)
			where_p[s->start + i] = -1;
		return;
	}
	for (uint64_t k = 0; k * c < end; k++) {
		unsigned st = (unsigned)(k % s->n_stripes);

		for (uint64_t b = 0; b < c; b++) {
			uint64_t pos = k * c + b;

			if (pos >= s->skip && pos < end) {
				where_p[s->start + pos - s->skip] = (signed char)
					parent_index(s->stripes[st].view);
				where_off[s->start + pos - s->skip] =
					(uint32_t)(s->stripes[st].offset +
						   used[st] + b);
			}
		}
		used[st] += c;
	}
}

/* Bytes stripe ST of S needs: the model's own count. */
static uint64_t needs(uint64_t skip, uint64_t len, unsigned n, uint64_t chunk,
		      unsigned st)
{
	uint64_t end = skip + len, have = 0;

	if (n == 1)
		return end;
	for (uint64_t k = 0; k * chunk < end; k++)
		if (k % n == st)
			have += k * chunk + chunk <= end ? chunk : end - k * chunk;
	return have;
}

static uint64_t max_need(uint64_t skip, uint64_t len, unsigned n,
			 uint64_t chunk)
{
	uint64_t most = 0;

	for (unsigned st = 0; st < n; st++) {
		uint64_t need = needs(skip, len, n, chunk, st);

		most = need > most ? need : most;
	}
	return most;
}

struct layout {
	struct xva_map_seg segs[MAX_SEGS];
	struct xva_map_stripe stripes[MAX_SEGS][3];
	size_t n;
	uint64_t size;
};

static void random_layout(struct layout *l)
{
	static const uint64_t chunks[] = { 512, 1024, 4096, 8192, 65536 };

	l->n = 1 + rnd(MAX_SEGS);
	l->size = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct xva_map_seg *s = &l->segs[i];
		unsigned n = (unsigned)rnd(4);

		s->start = l->size;
		s->n_stripes = n;
		s->chunk = chunks[rnd(5)];
		s->skip = rnd(2) ? 0 : rnd(4 * s->chunk * (n ? n : 1));
		s->len = 1 + rnd(96 * 1024);
		if (rnd(4) == 0)
			s->len = (1 + rnd(16)) * s->chunk;
		s->stripes = l->stripes[i];
		while (s->len > 256 * 1024 ||
		       (n && max_need(s->skip, s->len, n, s->chunk) >
				     PARENT_SIZE)) {
			s->len /= 2;
			s->skip /= 2;
		}
		if (s->len == 0)
			s->len = 1;
		for (unsigned st = 0; st < n; st++) {
			uint64_t need = needs(s->skip, s->len, n, s->chunk, st);

			l->stripes[i][st].view = parents[rnd(N_PARENTS)];
			l->stripes[i][st].offset = rnd(PARENT_SIZE - need + 1);
		}
		l->size += s->len;
		model_seg(s);
	}
}

static bool model_data(uint64_t x)
{
	if (where_p[x] < 0)
		return false;
	return memview_of(parents[where_p[x]])->data[where_off[x] /
						     MEMVIEW_BLOCK] != 0;
}

static unsigned char model_byte(uint64_t x)
{
	return where_p[x] < 0 ? 0 : shadow[where_p[x]][where_off[x]];
}

struct collect {
	unsigned char *out;
	bool bad;
};

static enum xva_status take(void *ctx, const struct xva_segment *seg,
			    struct xva_err *err)
{
	struct collect *c = ctx;

	(void)err;
	if (seg->zero)
		memset(c->out, 0, seg->len);
	else if (seg->fd < 0 || pread(seg->fd, c->out, seg->len,
				      (off_t)seg->file_off) != (ssize_t)seg->len)
		c->bad = true;
	c->out += seg->len;
	return XVA_OK;
}

static void check_reads(struct xva_view *v, const struct layout *l)
{
	static unsigned char buf[65536];
	struct xva_err err;
	size_t done;

	for (int t = 0; t < 30; t++) {
		uint64_t off = rnd(l->size + 10), len = 1 + rnd(sizeof(buf) - 1);
		uint64_t want = off >= l->size ? 0
			: (len < l->size - off ? len : l->size - off);
		bool same = true;
		struct collect c = { buf, false };

		CHECK(xva_view_read(v, buf, len, off, 0, &done, &err) == XVA_OK);
		CHECK(done == want);
		for (uint64_t i = 0; i < want && same; i++)
			same = buf[i] == model_byte(off + i);
		CHECK_MSG(same, "read %llu+%llu", (unsigned long long)off,
			  (unsigned long long)len);
		memset(buf, 0xaa, want);
		CHECK(xva_view_segments(v, len, off, true, take, &c, &done,
					&err) == XVA_OK && done == want);
		CHECK(!c.bad);
		for (uint64_t i = 0; i < want && same; i++)
			same = buf[i] == model_byte(off + i);
		CHECK_MSG(same, "segments %llu+%llu", (unsigned long long)off,
			  (unsigned long long)len);
	}
}

static uint32_t next_data[2 * 1024 * 1024], next_hole[2 * 1024 * 1024];

static void check_seek(struct xva_view *v, const struct layout *l)
{
	uint64_t data_bytes = 0;
	uint32_t nd = (uint32_t)l->size, nh = (uint32_t)l->size;

	for (uint64_t x = l->size; x-- > 0;) {
		if (model_data(x)) {
			nd = (uint32_t)x;
			data_bytes++;
		} else {
			nh = (uint32_t)x;
		}
		next_data[x] = nd;
		next_hole[x] = nh;
	}
	for (int t = 0; t < 60; t++) {
		uint64_t off = rnd(l->size), got;
		int r = xva_view_seek(v, off, true, &got);

		if (next_data[off] == l->size)
			CHECK_MSG(r == -1, "seek data %llu: got %llu",
				  (unsigned long long)off,
				  (unsigned long long)got);
		else
			CHECK_MSG(r == 0 && got == next_data[off], "seek data "
				  "%llu: %llu, model %u", (unsigned long long)off,
				  (unsigned long long)got, next_data[off]);
		r = xva_view_seek(v, off, false, &got);
		CHECK_MSG(r == 0 && got == next_hole[off], "seek hole %llu: "
			  "%llu, model %u", (unsigned long long)off,
			  (unsigned long long)got, next_hole[off]);
	}
	CHECK_MSG(xva_view_allocated(v) == data_bytes, "allocated %llu, model "
		  "%llu", (unsigned long long)xva_view_allocated(v),
		  (unsigned long long)data_bytes);
}

static void check_parents(void)
{
	static unsigned char buf[PARENT_SIZE];
	struct xva_err err;
	size_t done;

	for (int p = 0; p < N_PARENTS; p++) {
		CHECK(xva_view_read(parents[p], buf, PARENT_SIZE, 0, 0, &done,
				    &err) == XVA_OK);
		CHECK_MSG(memcmp(buf, shadow[p], PARENT_SIZE) == 0,
			  "parent %d differs from the model", p);
	}
}

static void check_writes(struct xva_view *v, const struct layout *l)
{
	static unsigned char buf[100000];
	struct xva_err err;

	for (int t = 0; t < 10; t++) {
		uint64_t off = rnd(l->size), len = 1 + rnd(sizeof(buf) - 1);
		bool hits_zero = false;
		enum xva_status st;

		if (len > l->size - off)
			len = l->size - off;
		for (uint64_t i = 0; i < len; i++) {
			buf[i] = (unsigned char)random();
			hits_zero = hits_zero || where_p[off + i] < 0;
		}
		st = xva_view_write(v, buf, len, off, &err);
		if (hits_zero) {
			CHECK(st == XVA_EROFS);
			return; /* the parents now hold part of it */
		}
		CHECK(st == XVA_OK);
		for (uint64_t i = 0; i < len; i++)
			shadow[where_p[off + i]][where_off[off + i]] = buf[i];
		check_parents();
		off = rnd(l->size);
		len = 1 + rnd(l->size - off);
		CHECK(xva_view_zero(v, len, off, &err) == XVA_OK);
		for (uint64_t i = 0; i < len; i++)
			if (where_p[off + i] >= 0)
				shadow[where_p[off + i]][where_off[off + i]] = 0;
		check_parents();
	}
	CHECK(xva_view_write(v, "x", 1, l->size, &err) == XVA_ENOSPC);
	CHECK(xva_view_sync(v, &err) == XVA_OK);
}

static void test_random(unsigned seed)
{
	struct layout l;
	struct xva_view *v = NULL;
	struct xva_err err;
	unsigned pre = 0, stripes = 0;

	srandom(seed);
	make_parents(seed % 2 == 0);
	random_layout(&l);
	CHECK_MSG(xva_view_map("lv", l.size, l.segs, l.n, true, &v, &err) ==
			  XVA_OK, "seed %u: %s", seed, err.msg);
	if (!v)
		return;
	for (size_t i = 0; i < l.n; i++)
		stripes += l.segs[i].n_stripes;
	/* Zero segments alone need no parent to be writable. */
	CHECK(v->writable == (seed % 2 == 0 || stripes == 0));
	CHECK(v->can_splice);
	check_reads(v, &l);
	check_seek(v, &l);
	for (int p = 0; p < N_PARENTS; p++)
		pre += memview_of(parents[p])->prefetches;
	xva_view_prefetch(v, 0, l.size);
	for (int p = 0; p < N_PARENTS; p++)
		pre -= memview_of(parents[p])->prefetches;
	CHECK(pre != 0 || stripes == 0);
	if (v->writable)
		check_writes(v, &l);
	else
		CHECK(xva_view_write(v, "x", 1, 0, &err) == XVA_EROFS);
	xva_view_close(v);
}

/* Segments that do not tile, or reach past a parent, are refused. */
static void test_refused(void)
{
	struct xva_map_stripe st[2] = { { NULL, 0 }, { NULL, 0 } };
	struct xva_map_seg seg = { 0, 4096, 0, 1024, 2, st };
	struct xva_view *v = NULL;
	struct xva_err err;

	make_parents(false);
	st[0].view = parents[0];
	st[1].view = parents[1];
	CHECK(xva_view_map("ok", 4096, &seg, 1, false, &v, &err) == XVA_OK);
	xva_view_close(v);
	CHECK(xva_view_map("short", 8192, &seg, 1, false, &v, &err) ==
	      XVA_EINVAL && !v);
	seg.start = 512;
	CHECK(xva_view_map("gap", 4608, &seg, 1, false, &v, &err) ==
	      XVA_EINVAL);
	seg.start = 0;
	st[1].offset = PARENT_SIZE - 1024; /* 2048 bytes needed there */
	CHECK(xva_view_map("past", 4096, &seg, 1, false, &v, &err) ==
	      XVA_EINVAL);
	st[1].offset = PARENT_SIZE - 2048;
	CHECK(xva_view_map("fits", 4096, &seg, 1, false, &v, &err) == XVA_OK);
	xva_view_close(v);
	seg.chunk = 0;
	CHECK(xva_view_map("nochunk", 4096, &seg, 1, false, &v, &err) ==
	      XVA_EINVAL);
}

int main(void)
{
	for (unsigned seed = 1; seed <= 300; seed++)
		test_random(seed);
	test_refused();
	for (int p = 0; p < N_PARENTS; p++)
		xva_view_close(parents[p]);
	return CHECK_DONE();
}
