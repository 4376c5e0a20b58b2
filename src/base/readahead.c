/* The read-ahead policy (see xvafs/readahead.h). It knows nothing of
 * sources or disks: the callers probe and hint. */
#include <string.h>

#include "xvafs/readahead.h"

/* Reads that start within this many request lengths of where the
 * stream's reads end count as in sequence: the kernel splits a reader's
 * stream into requests that several threads serve out of order. */
#define STREAM_SLACK_REQUESTS 8
/* Told in steps of a quarter of the distance, so hints stay few and long
 * (a remote source fetches each as requests of several MiB). */
#define ANNOUNCE_STEP_DIVISOR 4
#define PROBE_SPACING (1u << 20)

void xva_stream_init(struct xva_stream *s, uint64_t max)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->max = max;
}

void xva_stream_destroy(struct xva_stream *s)
{
	pthread_mutex_destroy(&s->lock);
}

/* Under the lock: follows the reader; true when the read continues a
 * stream: reads in sequence, two at least, adding up to
 * XVA_READAHEAD_TRIGGER bytes (or MAX, when less). Tiny reads near each
 * other (a header, a retried read) make no stream. */
static bool follow(struct xva_stream *s, uint64_t off, size_t len)
{
	uint64_t end = off + len;
	uint64_t slack = (uint64_t)STREAM_SLACK_REQUESTS * len;

	if (s->end && off + slack >= s->end && off <= s->end + slack) {
		s->run += len;
		if (end > s->end)
			s->end = end;
		return s->run > len &&
		       s->run >= (s->max < XVA_READAHEAD_TRIGGER
				  ? s->max : XVA_READAHEAD_TRIGGER);
	}
	/* A jump: a new stream, or a random reader. Read-ahead starts
	 * again from nothing, on a miss. */
	s->run = len;
	s->end = end;
	s->announced = end;
	s->distance = 0;
	s->grown_at = 0;
	s->probed_at = 0;
	return false;
}

/* Under the lock: whether a miss now would start or grow read-ahead. */
static bool may_change(const struct xva_stream *s)
{
	if (s->distance == 0)
		return true;
	return s->distance < s->max && s->run - s->grown_at >= s->distance;
}

/* Under the lock: whether to probe this read. A stream that never missed
 * is probed once per PROBE_SPACING bytes (or a quarter of MAX, when
 * less), so a reader the page cache keeps up with pays one probe per
 * several requests. */
static uint64_t probe_spacing(const struct xva_stream *s)
{
	return s->max / 4 < PROBE_SPACING ? s->max / 4 : PROBE_SPACING;
}

static bool probe_now(struct xva_stream *s)
{
	if (!may_change(s))
		return false;
	if (s->distance == 0 && s->probed_at &&
	    s->run - s->probed_at < probe_spacing(s))
		return false;
	s->probed_at = s->run;
	return true;
}

/* Under the lock: a read of the stream would wait. */
static void missed(struct xva_stream *s)
{
	uint64_t to;

	if (!may_change(s))
		return; /* another thread's miss changed it meanwhile */
	to = s->distance ? 2 * s->distance : XVA_READAHEAD_START;
	s->distance = to < s->max ? to : s->max;
	s->grown_at = s->run;
}

bool xva_stream_next(struct xva_stream *s, uint64_t size, uint64_t off,
		     size_t len, xva_stream_probe_fn probe, void *ctx,
		     uint64_t *from_out, uint64_t *to_out)
{
	uint64_t from = 0, to = 0;
	bool ask;

	*from_out = *to_out = 0;
	if (!s->max || len == 0)
		return false;
	pthread_mutex_lock(&s->lock);
	ask = follow(s, off, len) && probe_now(s);
	pthread_mutex_unlock(&s->lock);
	/* The probe is a system call or a look into a cache: never under
	 * the lock, and only when its answer can change something. */
	if (ask && !probe(ctx, off, len))
		ask = false;
	pthread_mutex_lock(&s->lock);
	if (ask)
		missed(s);
	if (s->distance) {
		to = s->end + s->distance;
		if (to > size || to < s->end)
			to = size;
		if (s->announced < s->end)
			s->announced = s->end;
		if (to >= s->announced + s->distance / ANNOUNCE_STEP_DIVISOR ||
		    (to == size && to > s->announced)) {
			from = s->announced;
			s->announced = to;
		} else {
			to = 0;
		}
	}
	pthread_mutex_unlock(&s->lock);
	*from_out = from;
	*to_out = to;
	return to > from;
}
