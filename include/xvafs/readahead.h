/* The read-ahead policy: the one place that decides, for every reader of
 * every source, what to fetch ahead of it.
 *
 * A reader (an open file of the mount, an NBD connection, --export-disk,
 * --verify, a decoder reading its compressed bytes) keeps one struct
 * xva_stream and tells it of each read before serving it. Reads that
 * follow each other (allowing for the kernel sending them out of order
 * from several threads) and add up to XVA_READAHEAD_TRIGGER bytes make a
 * stream. Read-ahead starts only when a read
 * of a stream would wait (a miss: the caller's probe says so), so a
 * device or a cache that keeps up by itself costs nothing; it starts at
 * XVA_READAHEAD_START bytes ahead and doubles, at most once per distance
 * read, while reads still wait, up to the stream's MAX. A random reader
 * gets nothing. What to fetch is told to the caller as a range, in steps
 * of a quarter of the distance; the caller turns it into hints for the
 * source (only the chunks present: holes are never fetched), and the
 * source fetches them in its own way (a thread of its own for a local
 * file, its I/O thread for a remote one), never in the reader's thread. */
#ifndef XVAFS_READAHEAD_H
#define XVAFS_READAHEAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most bytes kept ahead by default (-o prefetch=). */
#define XVA_READAHEAD_DEFAULT (32u << 20)
/* Bytes read in sequence that make a stream (or the stream's MAX, when
 * less). */
#define XVA_READAHEAD_TRIGGER (2u << 20)
/* The distance read-ahead starts at on a stream's first miss. */
#define XVA_READAHEAD_START (16u << 20)

struct xva_stream {
	/* Guards the fields below. A leaf: dropped before the probe and
	 * before the caller hints anything to a source. */
	pthread_mutex_t lock;
	uint64_t max;         /* most bytes kept ahead; 0: off */
	uint64_t end;         /* the furthest byte read so far */
	uint64_t run;         /* bytes read in sequence up to END */
	uint64_t distance;    /* bytes kept ahead now; 0 until a miss */
	uint64_t grown_at;    /* RUN when DISTANCE last changed */
	uint64_t probed_at;   /* RUN at the last probe */
	uint64_t announced;   /* told to the caller up to here */
};

void xva_stream_init(struct xva_stream *s, uint64_t max);
void xva_stream_destroy(struct xva_stream *s);

/* Whether a read of LEN bytes at OFF (in the stream's own offsets) would
 * wait for its bytes. Called without the stream's lock. */
typedef bool (*xva_stream_probe_fn)(void *ctx, uint64_t off, size_t len);

/* Called before a read of LEN bytes at OFF of something SIZE bytes long
 * (UINT64_MAX: unknown) is served. PROBE is called (with CTX) only for a
 * read that continues a stream whose read-ahead may start or grow, and
 * for a stream that never missed once per MiB of it. True when [*FROM,
 * *TO) should now be fetched ahead. */
bool xva_stream_next(struct xva_stream *s, uint64_t size, uint64_t off,
		     size_t len, xva_stream_probe_fn probe, void *ctx,
		     uint64_t *from, uint64_t *to);

#endif
