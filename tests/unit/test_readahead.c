/* A local export's read-ahead, end to end through the real file source and
 * its prefetcher thread, counted (no timing): a stream of reads that miss
 * the page cache gets the chunks ahead of it asked for, never the bytes
 * past a run of holes and never a page the page cache already holds; a
 * second reader of the same chunks causes no request at all; a lone
 * cached page splits no request but its own; a probe reads nothing.
 *
 * Needs a file system whose page cache can be dropped for one file
 * (POSIX_FADV_DONTNEED; not tmpfs) and cachestat(2) (Linux 6.5): SKIP
 * otherwise. The export is written to $TMPDIR, else /var/tmp. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "source/source.h"
#include "check.h"
#include "tartools.h"
#include "xvafs/read.h"
#include "xvafs/xva.h"

#define CHUNK (64u << 10)
#define CHUNKS 64
#define PAGE 4096u
#define MAX_SEEN 4096

/* Chunks [0, 16) and [48, 64) are present; [16, 48) are holes. */
static bool present(unsigned c)
{
	return c < 16 || c >= 48;
}

struct seen {
	uint64_t off[MAX_SEEN], len[MAX_SEEN];
	size_t n;
};

/* Called from the prefetcher thread; read after xva_source_file_drain. */
static void observe(void *ctx, uint64_t off, uint64_t len)
{
	struct seen *s = ctx;

	if (s->n < MAX_SEEN) {
		s->off[s->n] = off;
		s->len[s->n++] = len;
	}
}

static uint64_t page_down(uint64_t v)
{
	return v & ~(uint64_t)(PAGE - 1);
}

static uint64_t page_up(uint64_t v)
{
	return page_down(v + PAGE - 1);
}

static void drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

static bool cachestat_exists(int fd)
{
	uint64_t range[2] = { 0, PAGE }, counts[5];

	return syscall(451, fd, range, counts, 0) == 0;
}

static const struct xva_extent *chunk(const struct xva_disk *d, unsigned c)
{
	return &d->extents[xva_disk_extent_at(d, (uint64_t)c * CHUNK)];
}

/* Tells a stream of MAX bytes of reads of chunks [FROM, TO), one chunk a
 * read, without reading them (so nothing but the prefetcher fills the
 * page cache), then waits for the prefetcher to be done. */
static void stream_over(struct xva *xva, const struct xva_disk *d,
			unsigned from, unsigned to, uint64_t max)
{
	struct xva_stream st;

	xva_stream_init(&st, max);
	for (unsigned c = from; c < to; c++)
		xva_stream_note_read(&st, xva, d, (uint64_t)c * CHUNK, CHUNK);
	xva_stream_destroy(&st);
	xva_source_file_drain(xva->src);
}

/* Whether [OFF, OFF + LEN) and the whole pages inside chunk C meet. */
static bool touches_inside(const struct xva_disk *d, unsigned c, uint64_t off,
			   uint64_t len)
{
	const struct xva_extent *e = chunk(d, c);
	uint64_t a = page_up(e->file_off), b = page_down(e->file_off + e->len);

	return a < b && off < b && off + len > a;
}

static void holes_never_fetched(struct xva *xva, const struct xva_disk *d,
				struct seen *seen)
{
	uint64_t lo = page_down(chunk(d, 0)->file_off);
	uint64_t hi = page_up(chunk(d, 15)->file_off + CHUNK);

	seen->n = 0;
	/* Four chunks ahead at most: from chunk 12 on, what lies ahead is
	 * holes, and the chunks after them are not the stream's business. */
	stream_over(xva, d, 0, 16, 4 * CHUNK);
	CHECK_MSG(seen->n > 0, "a stream that missed got no read-ahead");
	for (size_t i = 0; i < seen->n; i++) {
		CHECK_MSG(seen->off[i] >= lo && seen->off[i] + seen->len[i] <= hi,
			  "asked for bytes %llu+%llu, outside chunks 0-15 "
			  "(%llu-%llu)", (unsigned long long)seen->off[i],
			  (unsigned long long)seen->len[i],
			  (unsigned long long)lo, (unsigned long long)hi);
		for (unsigned c = 48; c < CHUNKS; c++)
			CHECK_MSG(!touches_inside(d, c, seen->off[i], seen->len[i]),
				  "chunk %u, past the holes, was asked for", c);
	}
}

static void cached_never_advised(struct xva *xva, const struct xva_disk *d,
				 const char *path, struct seen *seen)
{
	static const unsigned cached[] = { 50, 51, 54 };
	char *buf = malloc(CHUNK);
	int fd = open(path, O_RDONLY);

	drop_cache(path);
	for (size_t k = 0; k < sizeof(cached) / sizeof(cached[0]); k++)
		CHECK(pread(fd, buf, CHUNK,
			    (off_t)chunk(d, cached[k])->file_off) == CHUNK);
	close(fd);
	free(buf);
	seen->n = 0;
	stream_over(xva, d, 48, CHUNKS, 4 * CHUNK);
	CHECK_MSG(seen->n > 0, "chunks 52-63 were not asked for");
	for (size_t i = 0; i < seen->n; i++)
		for (size_t k = 0; k < sizeof(cached) / sizeof(cached[0]); k++)
			CHECK_MSG(!touches_inside(d, cached[k], seen->off[i],
						  seen->len[i]),
				  "cached chunk %u was advised (bytes "
				  "%llu+%llu)", cached[k],
				  (unsigned long long)seen->off[i],
				  (unsigned long long)seen->len[i]);
	/* Everything the first reader could want is now in the page cache
	 * (or on its way there): a second one asks for nothing. */
	seen->n = 0;
	stream_over(xva, d, 48, CHUNKS, 4 * CHUNK);
	CHECK_MSG(seen->n == 0, "%zu requests for chunks already asked for",
		  seen->n);
}

/* A probe asks the page cache and reads nothing: a read with RWF_NOWAIT
 * alone starts reading a missing page, one lone page in the middle of
 * what the prefetcher asks for next. */
static void probes_read_nothing(struct xva *xva, const struct xva_disk *d,
				const char *path)
{
	const struct xva_extent *e = chunk(d, 3);
	uint64_t last = page_down(e->file_off + e->len - 1);
	uint64_t range[2] = { last, PAGE }, counts[5] = { 0 };
	int fd = open(path, O_RDONLY);

	drop_cache(path);
	CHECK(xva_source_would_wait(xva->src, e->file_off, e->len));
	CHECK(syscall(451, fd, range, counts, 0) == 0);
	CHECK_MSG(counts[0] == 0, "the probe read the page at byte %llu",
		  (unsigned long long)last);
	close(fd);
}

/* The tar walk leaves one cached page between every two chunks (the
 * page of the header it read). Such a page is skipped, but the pages
 * around it are asked for together: two requests that meet, and that
 * one request could have held, were once a dozen small ones around each
 * header page (4 KiB to 512 KiB), which kept a throttled device
 * under-used. */
static void lone_pages_split_nothing(struct xva *xva, const struct xva_disk *d,
				     const char *path, struct seen *seen)
{
	uint64_t piece = xva_source_file_piece(xva->src);
	char byte;
	int fd = open(path, O_RDONLY);

	drop_cache(path);
	posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM); /* only that page */
	for (unsigned c = 1; c < 16; c++)
		CHECK(pread(fd, &byte, 1, (off_t)chunk(d, c)->file_off - 1) == 1);
	close(fd);
	seen->n = 0;
	stream_over(xva, d, 0, 16, 4 * CHUNK);
	CHECK_MSG(seen->n > 0, "a stream that missed got no read-ahead");
	for (size_t i = 0; i + 1 < seen->n; i++)
		CHECK_MSG(seen->off[i] + seen->len[i] != seen->off[i + 1] ||
			  seen->len[i] + seen->len[i + 1] > piece,
			  "bytes %llu+%llu and %llu+%llu asked for apart "
			  "(one request holds %llu)",
			  (unsigned long long)seen->off[i],
			  (unsigned long long)seen->len[i],
			  (unsigned long long)seen->off[i + 1],
			  (unsigned long long)seen->len[i + 1],
			  (unsigned long long)piece);
}

int main(void)
{
	struct test_member m[CHUNKS];
	char names[CHUNKS][32], path[512];
	const char *tmp = getenv("TMPDIR");
	static struct seen seen;
	struct xva *xva = NULL;
	struct xva_err err;
	const struct xva_disk *d;
	size_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/xvafs-readahead-XXXXXX",
		 tmp && *tmp ? tmp : "/var/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		printf("SKIP: cannot make a file in %s\n", path);
		return 77;
	}
	if (!cachestat_exists(fd)) {
		close(fd);
		unlink(path);
		printf("SKIP: no cachestat(2) (Linux 6.5)\n");
		return 77;
	}
	close(fd);
	for (unsigned c = 0; c < CHUNKS; c++) {
		if (!present(c))
			continue;
		snprintf(names[n], sizeof(names[n]), "Ref:1/%08u", c);
		m[n] = (struct test_member){ names[n], CHUNK, NULL, c };
		n++;
	}
	CHECK(test_write_tar(path, "v7", m, n) == 0);
	fd = open(path, O_RDONLY);
	fsync(fd); /* clean pages can be dropped */
	close(fd);
	CHECK(xva_open(path, NULL, &xva, &err) == XVA_OK);
	if (!xva) {
		unlink(path);
		return CHECK_DONE();
	}
	d = &xva->map.disks[0];
	/* The walk's own hints first, then a page cache without the file. */
	xva_source_file_drain(xva->src);
	drop_cache(path);
	if (!xva_source_would_wait(xva->src, chunk(d, 1)->file_off, CHUNK)) {
		printf("SKIP: %s stays in the page cache after "
		       "POSIX_FADV_DONTNEED (tmpfs?)\n", path);
		xva_close(xva);
		unlink(path);
		return 77;
	}
	xva_source_file_observe(xva->src, observe, &seen);

	holes_never_fetched(xva, d, &seen);
	cached_never_advised(xva, d, path, &seen);
	lone_pages_split_nothing(xva, d, path, &seen);
	probes_read_nothing(xva, d, path);

	xva_source_file_observe(xva->src, NULL, NULL);
	xva_close(xva);
	unlink(path);
	return CHECK_DONE();
}
