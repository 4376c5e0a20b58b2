/* Read-ahead for sequential readers: a stream of reads (even served out
 * of order, as the kernel's requests are) announces the chunks ahead of
 * it to the source, only those present and never past the intact part;
 * random reads announce nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "source/source.h"
#include "check.h"
#include "tartools.h"
#include "xvafs/read.h"
#include "xvafs/xva.h"

#define BLK 4096u
#define MAX_HINTS 1024

/* A source that passes reads to the export's own and records hints. */
struct spy {
	struct xva_source base;
	struct xva_source *real;
	uint64_t off[MAX_HINTS], len[MAX_HINTS];
	size_t n;
};

static enum xva_status spy_read(struct xva_source *src, void *buf, size_t len,
				uint64_t off, size_t *got, struct xva_err *err)
{
	return xva_source_read(((struct spy *)src)->real, buf, len, off, got, err);
}

static void spy_prefetch(struct xva_source *src, uint64_t off, uint64_t len)
{
	struct spy *s = (struct spy *)src;

	if (s->n < MAX_HINTS) {
		s->off[s->n] = off;
		s->len[s->n++] = len;
	}
}

static void spy_info(const struct xva_source *src, struct xva_source_info *i)
{
	(void)src;
	i->kind = "spy";
}

static void spy_close(struct xva_source *src)
{
	(void)src;
}

/* Whether every announcement starts and ends in a present chunk's data
 * (a run of chunks that follow each other in the export is one). */
static bool hints_in_chunks(const struct spy *s, const struct xva_disk *d)
{
	for (size_t h = 0; h < s->n; h++) {
		bool starts = false, ends = false;

		for (size_t e = 0; e < d->n_extents; e++) {
			const struct xva_extent *x = &d->extents[e];

			starts |= s->off[h] >= x->file_off &&
				  s->off[h] < x->file_off + x->len;
			ends |= s->off[h] + s->len[h] > x->file_off &&
				s->off[h] + s->len[h] <= x->file_off + x->len;
		}
		if (!starts || !ends)
			return false;
	}
	return true;
}

int main(void)
{
	static const struct xva_source_ops ops = {
		.read = spy_read, .prefetch = spy_prefetch, .info = spy_info,
		.close = spy_close,
	};
	char path[] = "/tmp/xvafs-test-XXXXXX";
	struct xva *xva = NULL;
	struct spy spy;
	struct xva_err err;
	struct xva_stream st;
	const struct xva_disk *d;
	int fd = mkstemp(path);

	close(fd);
	/* 64 blocks: every third left out. */
	CHECK(test_write_thirds_tar(path, 64, BLK) == 0);
	CHECK(xva_open(path, NULL, &xva, &err) == XVA_OK);
	if (!xva)
		return CHECK_DONE();
	d = &xva->map.disks[0];
	memset(&spy, 0, sizeof(spy));
	CHECK(xva_source_init(&spy.base, &ops, "spy", "spy", &err) == XVA_OK);
	spy.base.size = xva->src->size;
	spy.real = xva->src;
	xva->src = &spy.base;

	/* Random reads (each far from where the last one ended): nothing
	 * announced. */
	xva_stream_init(&st, 16 * BLK);
	for (unsigned k = 0; k < 20; k++)
		xva_stream_note_read(&st, xva, d,
				     (uint64_t)((k * 20 + k / 3) % 60) * BLK, BLK);
	CHECK_MSG(spy.n == 0, "%zu announcements for random reads", spy.n);
	xva_stream_destroy(&st);

	/* A sequential reader whose requests arrive in pairs out of order. */
	xva_stream_init(&st, 16 * BLK);
	for (unsigned b = 0; b + 1 < 48; b += 2) {
		xva_stream_note_read(&st, xva, d, (uint64_t)(b + 1) * BLK, BLK);
		xva_stream_note_read(&st, xva, d, (uint64_t)b * BLK, BLK);
	}
	CHECK_MSG(spy.n > 0, "a sequential reader got no read-ahead");
	CHECK(hints_in_chunks(&spy, d));
	/* Nothing past 48 blocks + the depth is announced. */
	for (size_t h = 0; h < spy.n; h++)
		CHECK(spy.off[h] <= d->extents[xva_disk_extent_at(d, 64 * BLK - 1)]
				       .file_off);
	xva_stream_destroy(&st);

	/* Turned off: nothing. */
	spy.n = 0;
	xva_stream_init(&st, 0);
	for (unsigned b = 0; b < 48; b++)
		xva_stream_note_read(&st, xva, d, (uint64_t)b * BLK, BLK);
	CHECK(spy.n == 0);
	xva_stream_destroy(&st);

	xva->src = spy.real;
	xva_source_fini(&spy.base);
	xva_close(xva);
	unlink(path);
	return CHECK_DONE();
}
