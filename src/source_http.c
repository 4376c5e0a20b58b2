/* An object on a web server or in S3, read with ranged GETs.
 *
 * One I/O thread owns a libcurl multi handle and so every connection;
 * reader threads never call curl. They look the bytes up in an in-memory
 * cache of extents, queue a request for what is missing and sleep until
 * the I/O thread has it. The cache holds two kinds of extent:
 *   blocks  1 MiB-aligned pieces, for reads and read-ahead;
 *   small   exact ranges of at most SMALL_MAX bytes, for prefetch hints of
 *           header-sized ranges: the tar walk predicts where thousands of
 *           headers sit, and fetching a whole block for each would fetch
 *           the whole object.
 *
 * Every response is checked before its bytes are used: 206, a
 * Content-Range that is exactly the range asked for and of the size the
 * object had at open, and a body of exactly that length. Range GETs carry
 * If-Match with the ETag seen at open, so a replaced object answers 412
 * and no read ever mixes bytes of two versions.
 *
 * Transient failures (5xx, 429, dropped connections, stalls) are retried
 * with exponential backoff; what still fails is an error for the reads
 * waiting on it and nothing else: failed extents leave the cache, so the
 * next read asks again.
 *
 * HTTP/2 only where TLS negotiates it (ALPN): curl 7.88 breaks h2c on
 * reused connections. A certificate that does not verify is XVA_ENET (the
 * server cannot be reached safely), with curl's reason and the CA option;
 * verification cannot be turned off. S3 requests are signed by curl
 * (CURLOPT_AWS_SIGV4); 7.88 does not add x-amz-content-sha256 itself but
 * signs it, and every other header set here (If-Match, the session
 * token), when given. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "thread.h"
#include "xvafs/aws.h"
#include "xvafs/http_response.h"
#include "xvafs/source.h"

#ifndef XVAFS_VERSION
#define XVAFS_VERSION "dev"
#endif

#define BLOCK_SHIFT 20
#define BLOCK_SIZE (1u << BLOCK_SHIFT)
/* A prefetch hint up to this long is fetched as asked, not as blocks. */
#define SMALL_MAX (64u << 10)
/* Small extents are fetched this much longer than asked, rounded up to
 * 4 KiB: the header of the next member when it sits just behind (an XVA
 * checksum member is 1 KiB long) then comes with the same request. */
#define SMALL_SLACK 4096u
/* Sequential readers: after SEQ_TRIGGER bytes read in order, keep
 * READAHEAD bytes requested ahead, in requests of RA_REQUEST bytes (AWS
 * advises 8-16 MB ranges; several smaller ones in parallel also fill a
 * fast link better than one). A reader that still waits for read-ahead a
 * whole window after it started has a link whose bandwidth-delay product
 * is larger (16 MiB in flight cap 20 ms of round trip at ~500 MB/s): its
 * window doubles, up to READAHEAD_MAX and a quarter of the cache. */
#define SEQ_TRIGGER (2ull << 20)
#define READAHEAD (16ull << 20)
#define READAHEAD_MAX (64ull << 20)
#define RA_REQUEST (4ull << 20)
#define STREAMS 8
#define SPARE_BLOCKS 16
/* A read that starts this many of its own lengths past where a stream's
 * reads end still follows it: a FUSE mount's reader arrives as requests
 * that several threads serve out of order, and a stream that lost them
 * stopped reading ahead (a mount read at 0.4-0.6 of curl). */
#define STREAM_SLACK_READS 8
#define STREAM_SLACK_MIN (64u << 10)
#define DEFAULT_MEMORY (128ull << 20)
#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_TRIES 5
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
/* Requests in flight: HTTP/2 multiplexes them on one connection; over
 * HTTP/1.1 each needs its own connection. */
#define H2_IN_FLIGHT 256
#define H1_CONNECTIONS 32
#define ERROR_BODY_MAX 8192
#define HASH_BUCKETS 4096

enum ext_state { EXT_FETCHING, EXT_READY, EXT_FAILED };

struct extent {
	uint64_t off;
	size_t len;
	bool small;
	bool in_cache;          /* in the hash and the LRU list */
	bool used;              /* read at least once */
	enum ext_state state;
	unsigned refs;          /* readers and the request filling it */
	/* Bytes from the start that have arrived: a reader whose bytes are
	 * among them need not wait for the rest, and a retry asks for the
	 * rest only, so they are never written twice. */
	size_t filled;
	char *data;
	enum xva_status fail_status;
	char *fail_msg;
	struct extent *hnext;
	struct extent *older, *newer;
};

struct http_source;

struct request {
	struct http_source *hs;
	struct request *next;          /* in a queue */
	struct request *aprev, *anext; /* in flight */
	CURL *easy;
	bool probe;             /* the request at open */
	bool demand;            /* a reader waits for it (not speculative) */
	uint64_t off, len;      /* the range asked in this try */
	uint64_t got;
	struct extent **ext;    /* what it fills, by offset */
	size_t n_ext, first;    /* ext[first] is the first not yet ready */
	unsigned tries;
	uint64_t due_ns;
	/* The response. */
	long code;
	bool checked;
	struct xva_http_response resp;
	char *data;             /* the probe's bytes */
	char *body;             /* an error's body */
	size_t body_len;
	bool failed;            /* a callback found the response wrong */
	struct xva_err fail;
	char errbuf[CURL_ERROR_SIZE];
	/* The outcome, for the probe. */
	bool done;
	struct xva_err result;
};

struct stream {
	uint64_t next;          /* where the next in-order read starts */
	uint64_t run;           /* bytes read in order so far */
	uint64_t ra_end;        /* read-ahead requested up to here */
	uint64_t window;        /* bytes kept requested ahead */
	uint64_t grown_at;      /* RUN when WINDOW last changed */
	uint64_t stamp;
};

struct http_source {
	struct xva_source base;
	bool s3;
	char *url;              /* what is requested (may hold secrets) */
	char *shown;            /* for messages */
	struct xva_s3_target s3t;
	char *ca_file;
	long timeout_s;
	unsigned tries;
	uint64_t memory_max;
	char *etag;
	char *last_modified;
	struct curl_slist *probe_headers;
	struct curl_slist *read_headers;

	CURLM *multi;
	pthread_t io;
	bool io_started;
	/* The one lock here, last in the order: readers come in holding
	 * whatever the layers above hold (a decoder's pass_lock or cursor,
	 * the overlay's stripes), and no other lock is taken under it. It
	 * is never held across the network: the I/O thread drops it around
	 * curl_multi_perform (whose body callback takes it in progress())
	 * and curl_multi_poll, and keeps it only for curl calls that do no
	 * network I/O (adding a request, reading a finished one's result).
	 * Readers wait on COND. */
	pthread_mutex_t lock;
	pthread_cond_t cond;    /* an extent filled further, or the probe
				   finished */
	/* Readers waiting for bytes: the I/O thread reports progress inside
	 * an extent only when there are. */
	atomic_uint waiting;
	bool stopping;
	/* Everything below is under LOCK. */
	struct request *demand_head, *demand_tail;
	struct request *spec_head, *spec_tail;
	struct request *active;
	unsigned in_flight, max_in_flight;
	CURL **easy_pool;
	size_t easy_free;
	struct extent *buckets[HASH_BUCKETS];
	struct extent *newest, *oldest;
	char *spare[SPARE_BLOCKS]; /* buffers of freed blocks, for reuse */
	size_t n_spare;
	uint64_t cached_bytes;
	struct stream streams[STREAMS];
	uint64_t clock;
	unsigned rand_state;
	bool h2;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t bucket_of(uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 52) % HASH_BUCKETS;
}

/* ---- the extent cache (all under hs->lock) ---- */

static void lru_unlink(struct http_source *hs, struct extent *x)
{
	if (x->older)
		x->older->newer = x->newer;
	else
		hs->oldest = x->newer;
	if (x->newer)
		x->newer->older = x->older;
	else
		hs->newest = x->older;
	x->older = x->newer = NULL;
}

static void lru_push(struct http_source *hs, struct extent *x)
{
	x->older = hs->newest;
	x->newer = NULL;
	if (hs->newest)
		hs->newest->newer = x;
	else
		hs->oldest = x;
	hs->newest = x;
}

static void lru_touch(struct http_source *hs, struct extent *x)
{
	if (x->in_cache && hs->newest != x) {
		lru_unlink(hs, x);
		lru_push(hs, x);
	}
}

/* A block's buffer is kept for the next block while the budget allows:
 * fresh memory costs a page fault per 4 KiB as the body is written in,
 * about a tenth of a mount's sequential reading time. */
static void extent_free(struct http_source *hs, struct extent *x)
{
	if (!x->small && x->len == BLOCK_SIZE && hs->n_spare < SPARE_BLOCKS &&
	    hs->cached_bytes + (hs->n_spare + 1) * (uint64_t)BLOCK_SIZE <=
		    hs->memory_max)
		hs->spare[hs->n_spare++] = x->data;
	else
		free(x->data);
	free(x->fail_msg);
	free(x);
}

static void extent_unref(struct http_source *hs, struct extent *x)
{
	if (--x->refs == 0 && !x->in_cache)
		extent_free(hs, x);
}

static void cache_remove(struct http_source *hs, struct extent *x)
{
	struct extent **p = &hs->buckets[bucket_of(x->off >> BLOCK_SHIFT)];

	if (!x->in_cache)
		return;
	while (*p != x)
		p = &(*p)->hnext;
	*p = x->hnext;
	x->hnext = NULL;
	lru_unlink(hs, x);
	x->in_cache = false;
	hs->cached_bytes -= x->len;
	if (x->refs == 0)
		extent_free(hs, x);
}

/* Drops least recently used extents nobody holds until NEED more bytes
 * fit in the budget; false when they cannot be made to fit. */
static bool cache_make_room(struct http_source *hs, uint64_t need)
{
	struct extent *x = hs->oldest;

	while (hs->cached_bytes + need > hs->memory_max && x) {
		struct extent *next = x->newer;

		if (x->refs == 0 && x->state != EXT_FETCHING)
			cache_remove(hs, x);
		x = next;
	}
	return hs->cached_bytes + need <= hs->memory_max;
}

static struct extent *find_block(struct http_source *hs, uint64_t index)
{
	uint64_t off = index << BLOCK_SHIFT;

	for (struct extent *x = hs->buckets[bucket_of(index)]; x; x = x->hnext)
		if (!x->small && x->off == off)
			return x;
	return NULL;
}

/* A small extent holding all of [OFF, OFF+LEN): small extents are shorter
 * than a block, so one that does starts in OFF's block or the one before. */
static struct extent *find_small(struct http_source *hs, uint64_t off,
				 uint64_t len)
{
	uint64_t index = off >> BLOCK_SHIFT;

	for (int back = 0; back < 2 && (uint64_t)back <= index; back++) {
		struct extent *x = hs->buckets[bucket_of(index - (uint64_t)back)];

		for (; x; x = x->hnext)
			if (x->small && x->state != EXT_FAILED && x->off <= off &&
			    off + len <= x->off + x->len)
				return x;
	}
	return NULL;
}

static struct extent *extent_new(struct http_source *hs, uint64_t off,
				 size_t len, bool small)
{
	struct extent *x = calloc(1, sizeof(*x));
	size_t b;

	if (!x)
		return NULL;
	if (!small && len == BLOCK_SIZE && hs->n_spare)
		x->data = hs->spare[--hs->n_spare];
	else
		x->data = malloc(len ? len : 1);
	if (!x->data) {
		free(x);
		return NULL;
	}
	x->off = off;
	x->len = len;
	x->small = small;
	x->state = EXT_FETCHING;
	x->in_cache = true;
	b = bucket_of(off >> BLOCK_SHIFT);
	x->hnext = hs->buckets[b];
	hs->buckets[b] = x;
	lru_push(hs, x);
	hs->cached_bytes += len;
	return x;
}

/* ---- requests ---- */

static void request_free(struct request *r)
{
	free(r->ext);
	free(r->data);
	free(r->body);
	free(r);
}

static void queue_request(struct http_source *hs, struct request *r)
{
	struct request **head = r->demand ? &hs->demand_head : &hs->spec_head;
	struct request **tail = r->demand ? &hs->demand_tail : &hs->spec_tail;

	r->next = NULL;
	if (*tail)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

/* A request for the extents X[0..N), which are contiguous or one. */
static struct request *request_new(struct http_source *hs,
				   struct extent **x, size_t n, bool demand)
{
	struct request *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->ext = malloc(n * sizeof(*r->ext));
	if (!r->ext) {
		free(r);
		return NULL;
	}
	memcpy(r->ext, x, n * sizeof(*x));
	r->n_ext = n;
	r->hs = hs;
	r->demand = demand;
	r->off = x[0]->off;
	r->len = x[n - 1]->off + x[n - 1]->len - r->off;
	for (size_t i = 0; i < n; i++)
		x[i]->refs++;
	return r;
}

static enum xva_status request_run(struct http_source *hs,
				   struct extent **run, size_t n, bool demand)
{
	struct request *r = request_new(hs, run, n, demand);

	if (!r) {
		for (size_t i = 0; i < n; i++)
			cache_remove(hs, run[i]);
		return XVA_ENOMEM;
	}
	queue_request(hs, r);
	return XVA_OK;
}

/* Requests blocks FIRST..LAST (those not cached or on their way), in runs
 * of at most MAX_RUN blocks. SPECULATIVE requests stop where the budget is
 * full; a reader's are made whatever the budget. */
static enum xva_status request_blocks(struct http_source *hs, uint64_t first,
				      uint64_t last, uint64_t max_run,
				      bool speculative)
{
	uint64_t last_block;
	struct extent *run[64];
	enum xva_status st = XVA_OK;
	size_t n = 0;

	if (hs->base.size == 0)
		return XVA_OK;
	last_block = (hs->base.size - 1) >> BLOCK_SHIFT;
	if (last > last_block)
		last = last_block;
	if (max_run > 64)
		max_run = 64;
	for (uint64_t b = first; b <= last && st == XVA_OK; b++) {
		uint64_t off = b << BLOCK_SHIFT;
		size_t len = hs->base.size - off < BLOCK_SIZE ?
			     (size_t)(hs->base.size - off) : BLOCK_SIZE;
		struct extent *x;

		if (find_block(hs, b)) {
			if (n)
				st = request_run(hs, run, n, !speculative);
			n = 0;
			continue;
		}
		if (!cache_make_room(hs, len) && speculative)
			break;
		x = extent_new(hs, off, len, false);
		if (!x) {
			st = XVA_ENOMEM;
			break;
		}
		run[n++] = x;
		if (n == max_run) {
			st = request_run(hs, run, n, !speculative);
			n = 0;
		}
	}
	if (n && st == XVA_OK)
		return request_run(hs, run, n, !speculative);
	for (size_t i = 0; i < n; i++)
		cache_remove(hs, run[i]);
	return st;
}

/* ---- the I/O thread's side ---- */

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
	struct request *r = ud;
	size_t n = size * nmemb;

	xva_http_response_header(&r->resp, line, n);
	return n;
}

static void range_text(const struct request *r, char *buf, size_t size)
{
	snprintf(buf, size, "bytes %llu-%llu", (unsigned long long)r->off,
		 (unsigned long long)(r->off + r->len - 1));
}

/* Whether the response may be used, decided at its first body bytes. */
static bool check_response(struct request *r)
{
	struct http_source *hs = r->hs;
	char asked[64];

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->code);
	range_text(r, asked, sizeof(asked));
	if (r->code == 200) {
		r->failed = true;
		xva_fail(&r->fail, XVA_EIO, "the server does not serve byte "
			 "ranges (it answered a range request with the whole "
			 "object); nginx, Apache and S3 do, python3 -m "
			 "http.server does not");
		return false;
	}
	if (r->code != 206)
		return true; /* an error body: kept for its message */
	if (!r->resp.have_range || r->resp.cr_unsatisfied) {
		r->failed = true;
		xva_fail(&r->fail, XVA_EIO, "%s: the server's partial answer "
			 "has no valid Content-Range", asked);
		return false;
	}
	if (r->probe) {
		if (r->resp.cr_start != 0 || r->resp.cr_end >= r->len) {
			r->failed = true;
			xva_fail(&r->fail, XVA_EIO, "%s: the server answered "
				 "with bytes %llu-%llu", asked,
				 (unsigned long long)r->resp.cr_start,
				 (unsigned long long)r->resp.cr_end);
			return false;
		}
		r->len = r->resp.cr_end + 1;
		return true;
	}
	if (r->resp.cr_total != hs->base.size) {
		r->failed = true;
		xva_fail(&r->fail, XVA_ECHANGED, "the object changed since it "
			 "was opened (%llu bytes then, %llu now); remount",
			 (unsigned long long)hs->base.size,
			 (unsigned long long)r->resp.cr_total);
		return false;
	}
	/* Servers that ignore If-Match (s3rver, some caches) still label
	 * what they send. */
	if ((hs->etag && r->resp.etag[0] &&
	     strcmp(r->resp.etag, hs->etag) != 0) ||
	    (!hs->etag && hs->last_modified && r->resp.last_modified[0] &&
	     strcmp(r->resp.last_modified, hs->last_modified) != 0)) {
		r->failed = true;
		xva_fail(&r->fail, XVA_ECHANGED, "%s: the object changed since "
			 "it was opened (%s %s then, %s now); remount", asked,
			 hs->etag ? "ETag" : "Last-Modified",
			 hs->etag ? hs->etag : hs->last_modified,
			 hs->etag ? r->resp.etag : r->resp.last_modified);
		return false;
	}
	if (r->resp.cr_start != r->off || r->resp.cr_end != r->off + r->len - 1) {
		r->failed = true;
		xva_fail(&r->fail, XVA_EIO, "%s: the server answered with "
			 "bytes %llu-%llu", asked,
			 (unsigned long long)r->resp.cr_start,
			 (unsigned long long)r->resp.cr_end);
		return false;
	}
	return true;
}

/* Under the lock: R's bytes have arrived up to POS (an object offset). */
static bool fill_upto(struct request *r, uint64_t pos)
{
	bool any = false;

	while (r->first < r->n_ext) {
		struct extent *x = r->ext[r->first];

		if (pos <= x->off)
			break;
		if (x->off + x->len > pos) {
			if (pos - x->off > x->filled) {
				x->filled = (size_t)(pos - x->off);
				any = true;
			}
			break;
		}
		x->filled = x->len;
		x->state = EXT_READY;
		r->first++;
		any = true;
	}
	return any;
}

static void progress(struct http_source *hs, struct request *r, uint64_t pos)
{
	pthread_mutex_lock(&hs->lock);
	if (fill_upto(r, pos))
		pthread_cond_broadcast(&hs->cond);
	pthread_mutex_unlock(&hs->lock);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct request *r = ud;
	size_t n = size * nmemb;
	uint64_t start, end;

	if (!r->checked) {
		r->checked = true;
		if (!check_response(r))
			return 0;
	}
	if (r->code != 206) {
		size_t keep = ERROR_BODY_MAX - r->body_len;
		char *grown;

		if (keep > n)
			keep = n;
		grown = realloc(r->body, r->body_len + keep + 1);
		if (!grown)
			return 0;
		r->body = grown;
		memcpy(r->body + r->body_len, data, keep);
		r->body_len += keep;
		r->body[r->body_len] = '\0';
		return r->body_len < ERROR_BODY_MAX ? n : 0;
	}
	if (r->got + n > r->len) {
		r->failed = true;
		xva_fail(&r->fail, XVA_EIO, "bytes %llu-%llu: the server sent "
			 "more bytes than asked",
			 (unsigned long long)r->off,
			 (unsigned long long)(r->off + r->len - 1));
		return 0;
	}
	if (r->probe) {
		memcpy(r->data + r->got, data, n);
		r->got += n;
		return n;
	}
	start = r->off + r->got;
	end = start + n;
	for (size_t i = r->first; i < r->n_ext; i++) {
		struct extent *x = r->ext[i];
		uint64_t from = x->off > start ? x->off : start;
		uint64_t to = x->off + x->len < end ? x->off + x->len : end;

		if (x->off >= end)
			break;
		if (from < to)
			memcpy(x->data + (from - x->off), data + (from - start),
			       (size_t)(to - from));
	}
	r->got += n;
	if (r->first < r->n_ext &&
	    (r->ext[r->first]->off + r->ext[r->first]->len <= end ||
	     atomic_load_explicit(&r->hs->waiting, memory_order_relaxed)))
		progress(r->hs, r, end);
	return n;
}

static CURL *easy_get(struct http_source *hs)
{
	CURL *e;

	if (hs->easy_free)
		return hs->easy_pool[--hs->easy_free];
	e = curl_easy_init();
	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, hs->url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* h2 only where TLS negotiates it: h2c on reused connections is
	 * broken in curl 7.88 (curl issue 10634). */
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
			 (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "xvafs/" XVAFS_VERSION);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, hs->timeout_s);
	/* A stall, not a slow but moving transfer, ends a request. */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, hs->timeout_s);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L << 10);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	if (hs->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, hs->ca_file);
	if (hs->s3) {
		/* Signed requests never follow a redirect: it would take the
		 * signature (and region) somewhere it was not made for. */
		if (hs->s3t.access_key) {
			curl_easy_setopt(e, CURLOPT_AWS_SIGV4, hs->s3t.sigv4);
			curl_easy_setopt(e, CURLOPT_USERNAME, hs->s3t.access_key);
			curl_easy_setopt(e, CURLOPT_PASSWORD, hs->s3t.secret_key);
		}
	} else {
		curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
		curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	}
	return e;
}

static void easy_put(struct http_source *hs, CURL *e)
{
	if (hs->easy_free < H2_IN_FLIGHT) {
		hs->easy_pool[hs->easy_free++] = e;
		return;
	}
	curl_easy_cleanup(e);
}

static void active_add(struct http_source *hs, struct request *r)
{
	r->aprev = NULL;
	r->anext = hs->active;
	if (hs->active)
		hs->active->aprev = r;
	hs->active = r;
	hs->in_flight++;
}

static void active_remove(struct http_source *hs, struct request *r)
{
	if (r->aprev)
		r->aprev->anext = r->anext;
	else
		hs->active = r->anext;
	if (r->anext)
		r->anext->aprev = r->aprev;
	r->aprev = r->anext = NULL;
	hs->in_flight--;
}

/* Hands R to curl; false when curl cannot take it now. */
static bool start_request(struct http_source *hs, struct request *r)
{
	char range[48];

	r->easy = easy_get(hs);
	if (!r->easy)
		return false;
	snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)r->off,
		 (unsigned long long)(r->off + r->len - 1));
	curl_easy_setopt(r->easy, CURLOPT_RANGE, range);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER,
			 r->probe ? hs->probe_headers : hs->read_headers);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	r->errbuf[0] = '\0';
	if (curl_multi_add_handle(hs->multi, r->easy) != CURLM_OK) {
		easy_put(hs, r->easy);
		r->easy = NULL;
		return false;
	}
	active_add(hs, r);
	return true;
}

/* Hands due requests to curl, readers' first; called by the I/O thread
 * under the lock. Returns the nanoseconds until the next delayed one is
 * due, or 0. */
static uint64_t start_due(struct http_source *hs, uint64_t now)
{
	struct request **heads[2] = { &hs->demand_head, &hs->spec_head };
	struct request **tails[2] = { &hs->demand_tail, &hs->spec_tail };
	uint64_t wait = 0;

	for (int q = 0; q < 2; q++) {
		struct request *prev = NULL, *r = *heads[q];

		while (r && hs->in_flight < hs->max_in_flight) {
			struct request *next = r->next;

			if (r->due_ns > now) {
				if (!wait || r->due_ns - now < wait)
					wait = r->due_ns - now;
				prev = r;
				r = next;
				continue;
			}
			if (!start_request(hs, r)) {
				/* No memory for a handle: the next turn. */
				if (!wait || wait > 10000000u)
					wait = 10000000u;
				break;
			}
			if (prev)
				prev->next = next;
			else
				*heads[q] = next;
			if (*tails[q] == r)
				*tails[q] = prev;
			r->next = NULL;
			r = next;
		}
	}
	return wait;
}

enum verdict { DONE_OK, DONE_RETRY, DONE_FAIL };

static bool retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static bool tls_failure(CURLcode rc)
{
	return rc == CURLE_PEER_FAILED_VERIFICATION ||
	       rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_SSL_CONNECT_ERROR ||
	       rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR;
}

/* What a finished try means: fills R->result unless it succeeded. */
static enum verdict judge(struct request *r, CURLcode rc)
{
	struct http_source *hs = r->hs;
	struct xva_err *e = &r->result;
	char asked[64], code[128], msg[256], region[64];
	const char *why;

	range_text(r, asked, sizeof(asked));
	if (r->failed) {
		*e = r->fail;
		return DONE_FAIL;
	}
	if (!r->checked)
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->code);
	if (r->code == 0 || (r->code == 206 && rc != CURLE_OK)) {
		const char *reason = r->errbuf[0] ? r->errbuf :
				     curl_easy_strerror(rc);

		if (rc == CURLE_COULDNT_RESOLVE_HOST ||
		    rc == CURLE_COULDNT_RESOLVE_PROXY) {
			xva_fail(e, XVA_ENET, "cannot resolve the server's "
				 "name: %s", reason);
			return DONE_FAIL;
		}
		if (tls_failure(rc)) {
			xva_fail(e, XVA_ENET, "TLS: %s (a server whose "
				 "certificate comes from a private CA needs "
				 "that CA's bundle: the ca_file option)",
				 reason);
			return DONE_FAIL;
		}
		xva_fail(e, XVA_ENET, "%s: %s", asked, reason);
		return retryable_curl(rc) ? DONE_RETRY : DONE_FAIL;
	}
	if (r->code == 206) {
		if (r->got == r->len)
			return DONE_OK;
		xva_fail(e, XVA_EIO, "%s: the server sent %llu of the %llu "
			 "bytes asked", asked, (unsigned long long)r->got,
			 (unsigned long long)r->len);
		return DONE_RETRY;
	}
	xva_s3_error_field(r->body, "Code", code, sizeof(code));
	xva_s3_error_field(r->body, "Message", msg, sizeof(msg));
	xva_s3_error_field(r->body, "Region", region, sizeof(region));
	if (r->probe && r->code == 416 && r->resp.cr_unsatisfied &&
	    r->resp.cr_total == 0) {
		r->len = 0;
		return DONE_OK;
	}
	if (r->code == 412 || (!r->probe && (r->code == 404 || r->code == 416))) {
		xva_fail(e, XVA_ECHANGED, "%s: the object changed since it was "
			 "opened (HTTP %ld%s%s); remount", asked, r->code,
			 code[0] ? " " : "", code);
		return DONE_FAIL;
	}
	if (r->code == 404) {
		if (!strcmp(code, "NoSuchBucket"))
			xva_fail(e, XVA_EOPEN, "no such bucket (HTTP 404 "
				 "NoSuchBucket)");
		else
			xva_fail(e, XVA_EOPEN, "no such object (HTTP 404%s%s)",
				 code[0] ? " " : "", code);
		return DONE_FAIL;
	}
	/* A request signed for the wrong region: S3 names the right one in
	 * a header (301, 400) or in the error body. */
	if (hs->s3 && !region[0])
		snprintf(region, sizeof(region), "%s", r->resp.bucket_region);
	if (hs->s3 && region[0] && strcmp(region, hs->s3t.region) != 0) {
		xva_fail(e, XVA_EINVAL, "the bucket is in region %s, not %s "
			 "(HTTP %ld%s%s): set the region (AWS_REGION=%s)",
			 region, hs->s3t.region, r->code, code[0] ? " " : "",
			 code, region);
		return DONE_FAIL;
	}
	why = xva_s3_auth_problem(code);
	if (r->code == 401 || r->code == 403 || why) {
		if (hs->s3 && !hs->s3t.access_key) {
			xva_fail(e, XVA_EACCESS, "refused (HTTP %ld%s%s) and no "
				 "AWS credentials were found (looked in %s)%s%s",
				 r->code, code[0] ? " " : "", code,
				 hs->s3t.cred_looked,
				 hs->s3t.cred_unsupported[0] ? "; " : "",
				 hs->s3t.cred_unsupported);
		} else if (hs->s3) {
			xva_fail(e, XVA_EACCESS, "refused (HTTP %ld%s%s): %s; "
				 "check the credentials (from %s)", r->code,
				 code[0] ? " " : "", code,
				 why ? why : "the credentials are not allowed "
				 "to read it", hs->s3t.cred_source);
		} else {
			xva_fail(e, XVA_EACCESS, "refused (HTTP %ld%s%s)",
				 r->code, code[0] ? " " : "", code);
		}
		return DONE_FAIL;
	}
	if (r->code == 429 || r->code >= 500) {
		xva_fail(e, XVA_EIO, "%s: the server answered HTTP %ld%s%s",
			 asked, r->code, code[0] ? " " : "", code);
		return DONE_RETRY;
	}
	xva_fail(e, XVA_EIO, "%s: unexpected answer HTTP %ld%s%s%s%s", asked,
		 r->code, code[0] ? " " : "", code, msg[0] ? ": " : "", msg);
	return DONE_FAIL;
}

/* Under the lock: the try is over; retry what is missing later, or fail
 * the extents not filled. */
static void finish(struct http_source *hs, struct request *r, CURLcode rc,
		   uint64_t now)
{
	enum verdict v = judge(r, rc);

	active_remove(hs, r);
	if (r->probe && v == DONE_OK) {
		long version = 0;

		curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &version);
		hs->h2 = version == CURL_HTTP_VERSION_2_0;
	}
	easy_put(hs, r->easy);
	r->easy = NULL;
	/* What did arrive (Content-Range checked) is kept, and a retry asks
	 * for the rest. */
	if (!r->probe && r->code == 206 && r->got && !r->failed) {
		fill_upto(r, r->off + r->got);
		if (r->first == r->n_ext)
			v = DONE_OK; /* all there; the failure came after */
	}
	if (v == DONE_RETRY && r->tries + 1 < hs->tries) {
		uint64_t ms = (uint64_t)BACKOFF_FIRST_MS << r->tries;

		if (ms > BACKOFF_MAX_MS)
			ms = BACKOFF_MAX_MS;
		/* Jitter, so that many readers do not return in step. */
		ms = ms / 2 + (uint64_t)rand_r(&hs->rand_state) % (ms / 2 + 1);
		r->tries++;
		r->due_ns = now + ms * 1000000u;
		r->got = 0;
		r->code = 0;
		r->checked = r->failed = false;
		free(r->body);
		r->body = NULL;
		r->body_len = 0;
		if (!r->probe) {
			r->off = r->ext[r->first]->off +
				 r->ext[r->first]->filled;
			r->len = r->ext[r->n_ext - 1]->off +
				 r->ext[r->n_ext - 1]->len - r->off;
		}
		queue_request(hs, r);
		return;
	}
	if (v == DONE_RETRY) {
		size_t n = strlen(r->result.msg);

		snprintf(r->result.msg + n, sizeof(r->result.msg) - n,
			 " (%u tries)", r->tries + 1);
		v = DONE_FAIL;
	}
	if (r->probe) {
		if (v == DONE_OK)
			xva_err_clear(&r->result);
		r->done = true;
		pthread_cond_broadcast(&hs->cond);
		return;
	}
	for (size_t i = 0; i < r->n_ext; i++) {
		struct extent *x = r->ext[i];

		if (i >= r->first && v != DONE_OK) {
			x->state = EXT_FAILED;
			x->fail_status = r->result.status;
			x->fail_msg = strdup(r->result.msg);
			cache_remove(hs, x);
		} else {
			x->filled = x->len;
			x->state = EXT_READY;
		}
		extent_unref(hs, x);
	}
	pthread_cond_broadcast(&hs->cond);
	request_free(r);
}

static void *io_main(void *arg)
{
	struct http_source *hs = arg;

	pthread_mutex_lock(&hs->lock);
	while (!hs->stopping) {
		uint64_t now = now_ns(), wait_ns;
		int running, left, timeout_ms;
		struct CURLMsg *m;
		bool finished;

		wait_ns = start_due(hs, now);
		pthread_mutex_unlock(&hs->lock);
		curl_multi_perform(hs->multi, &running);
		finished = false;
		while ((m = curl_multi_info_read(hs->multi, &left))) {
			struct request *r;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
					  (char **)&r);
			curl_multi_remove_handle(hs->multi, m->easy_handle);
			pthread_mutex_lock(&hs->lock);
			finish(hs, r, m->data.result, now_ns());
			pthread_mutex_unlock(&hs->lock);
			finished = true;
		}
		/* A finished request frees a place for a queued one: start it
		 * now, not when some socket next stirs. */
		if (finished) {
			pthread_mutex_lock(&hs->lock);
			continue;
		}
		timeout_ms = 1000;
		if (wait_ns && wait_ns / 1000000u + 1 < (uint64_t)timeout_ms)
			timeout_ms = (int)(wait_ns / 1000000u) + 1;
		curl_multi_poll(hs->multi, NULL, 0, timeout_ms, NULL);
		pthread_mutex_lock(&hs->lock);
	}
	pthread_mutex_unlock(&hs->lock);
	return NULL;
}

/* ---- the readers' side ---- */

static void wake_io(struct http_source *hs)
{
	curl_multi_wakeup(hs->multi);
}

/* Under the lock: follows in-order readers and keeps read-ahead going
 * for them. Returns the reader's stream. */
static struct stream *follow_streams(struct http_source *hs, uint64_t off,
				     size_t len)
{
	struct stream *s = NULL, *oldest = &hs->streams[0];
	uint64_t end = off + len, target;
	uint64_t slack = (uint64_t)STREAM_SLACK_READS * len;

	if (slack < STREAM_SLACK_MIN)
		slack = STREAM_SLACK_MIN;
	for (int i = 0; i < STREAMS; i++) {
		struct stream *c = &hs->streams[i];

		if (c->stamp && off + BLOCK_SIZE >= c->next &&
		    off <= c->next + slack) {
			s = c;
			break;
		}
		if (c->stamp < oldest->stamp)
			oldest = c;
	}
	if (!s) {
		s = oldest;
		memset(s, 0, sizeof(*s));
		s->window = READAHEAD;
	}
	s->stamp = ++hs->clock;
	s->run += len;
	if (end > s->next)
		s->next = end;
	if (s->run < SEQ_TRIGGER || end >= hs->base.size)
		return s;
	if (!s->grown_at)
		s->grown_at = s->run;
	if (s->ra_end < end)
		s->ra_end = end & ~(uint64_t)(BLOCK_SIZE - 1);
	target = end + s->window;
	if (target > hs->base.size)
		target = hs->base.size;
	/* Topped up a request at a time, so requests stay RA_REQUEST long. */
	if (target < s->ra_end + RA_REQUEST && target < hs->base.size)
		return s;
	if (target <= s->ra_end)
		return s;
	if (request_blocks(hs, s->ra_end >> BLOCK_SHIFT,
			   (target - 1) >> BLOCK_SHIFT,
			   RA_REQUEST >> BLOCK_SHIFT, true) == XVA_OK)
		s->ra_end = ((target - 1) | (BLOCK_SIZE - 1)) + 1;
	return s;
}

/* Under the lock: the reader of S waited for bytes. */
static void stream_waited(struct http_source *hs, struct stream *s,
			  uint64_t end)
{
	uint64_t max = hs->memory_max / 4;

	if (max > READAHEAD_MAX)
		max = READAHEAD_MAX;
	/* Not at the start of a run: read-ahead has had a window's time. */
	if (s->next != end || !s->grown_at ||
	    s->run - s->grown_at < s->window || s->window * 2 > max)
		return;
	s->window *= 2;
	s->grown_at = s->run;
}

/* Waits until X (held) has its part of [OFF, OFF+LEN) and copies it to
 * BUF; *WAITED is set when it had to wait. */
static enum xva_status take(struct http_source *hs, struct extent *x,
			    char *buf, uint64_t off, size_t len,
			    bool *waited, struct xva_err *err)
{
	uint64_t from = x->off > off ? x->off : off;
	uint64_t to = x->off + x->len < off + len ? x->off + x->len : off + len;
	size_t need = (size_t)(to - x->off), filled;
	enum ext_state state;

	pthread_mutex_lock(&hs->lock);
	if (x->state == EXT_FETCHING && x->filled < need) {
		*waited = true;
		atomic_fetch_add(&hs->waiting, 1);
		while (x->state == EXT_FETCHING && x->filled < need)
			pthread_cond_wait(&hs->cond, &hs->lock);
		atomic_fetch_sub(&hs->waiting, 1);
	}
	state = x->state;
	filled = x->filled;
	pthread_mutex_unlock(&hs->lock);
	if (state == EXT_FAILED && filled < need)
		return xva_fail(err, x->fail_status, "%s",
				x->fail_msg ? x->fail_msg : "out of memory");
	/* Bytes below FILLED are never written again, and X is held. */
	memcpy(buf + (from - off), x->data + (from - x->off),
	       (size_t)(to - from));
	return XVA_OK;
}

static enum xva_status http_read(struct xva_source *src, void *buf,
				 size_t len, uint64_t off, size_t *got,
				 struct xva_err *err)
{
	struct http_source *hs = (struct http_source *)src;
	struct extent *small, *held_stack[8], **held = held_stack;
	struct stream *stream;
	bool waited = false;
	uint64_t first, last, n;
	enum xva_status st = XVA_OK;
	size_t i;

	if (!hs->io_started)
		return xva_fail(err, XVA_EIO, "%s: the I/O thread could not be "
				"started again after the process forked",
				src->location);
	if (off >= src->size)
		return XVA_OK;
	if (len > src->size - off)
		len = (size_t)(src->size - off);
	first = off >> BLOCK_SHIFT;
	last = (off + len - 1) >> BLOCK_SHIFT;
	n = last - first + 1;
	if (n > sizeof(held_stack) / sizeof(held_stack[0])) {
		held = malloc(n * sizeof(*held));
		if (!held)
			return xva_nomem(err);
	}

	pthread_mutex_lock(&hs->lock);
	small = find_small(hs, off, len);
	if (small && (small->state == EXT_READY || !find_block(hs, first))) {
		small->refs++;
		small->used = true;
		lru_touch(hs, small);
		pthread_mutex_unlock(&hs->lock);
		st = take(hs, small, buf, off, len, &waited, err);
		pthread_mutex_lock(&hs->lock);
		extent_unref(hs, small);
		pthread_mutex_unlock(&hs->lock);
		goto out;
	}
	if (request_blocks(hs, first, last, 16, false) != XVA_OK) {
		pthread_mutex_unlock(&hs->lock);
		st = xva_nomem(err);
		goto out;
	}
	for (i = 0; i < n; i++) {
		/* Making room for a later block of a long read can drop an
		 * earlier one that was already there: ask again. */
		held[i] = find_block(hs, first + i);
		if (!held[i] && (request_blocks(hs, first + i, first + i, 1,
						false) != XVA_OK ||
				 !(held[i] = find_block(hs, first + i)))) {
			while (i--)
				extent_unref(hs, held[i]);
			pthread_mutex_unlock(&hs->lock);
			st = xva_nomem(err);
			goto out;
		}
		held[i]->refs++;
		held[i]->used = true;
		lru_touch(hs, held[i]);
	}
	stream = follow_streams(hs, off, len);
	pthread_mutex_unlock(&hs->lock);
	wake_io(hs);
	for (i = 0; i < n && st == XVA_OK; i++)
		st = take(hs, held[i], buf, off, len, &waited, err);
	pthread_mutex_lock(&hs->lock);
	if (waited)
		stream_waited(hs, stream, off + len);
	for (i = 0; i < n; i++)
		extent_unref(hs, held[i]);
	pthread_mutex_unlock(&hs->lock);
out:
	if (held != held_stack)
		free(held);
	if (st == XVA_OK)
		*got = len;
	return st;
}

static void http_prefetch(struct xva_source *src, uint64_t off, uint64_t len)
{
	struct http_source *hs = (struct http_source *)src;
	bool queued = false;

	if (off >= src->size || !hs->io_started)
		return;
	if (len > src->size - off)
		len = src->size - off;
	pthread_mutex_lock(&hs->lock);
	if (len <= SMALL_MAX) {
		uint64_t first = off >> BLOCK_SHIFT;
		uint64_t last = (off + len - 1) >> BLOCK_SHIFT;
		size_t want = (size_t)((len + SMALL_SLACK + 4095) & ~4095ull);
		struct extent *x;
		struct request *r;

		if (want > src->size - off)
			want = (size_t)(src->size - off);
		if (find_small(hs, off, len) ||
		    (find_block(hs, first) && find_block(hs, last)))
			goto out;
		if (!cache_make_room(hs, want))
			goto out;
		x = extent_new(hs, off, want, true);
		if (!x)
			goto out;
		r = request_new(hs, &x, 1, false);
		if (!r) {
			cache_remove(hs, x);
			goto out;
		}
		queue_request(hs, r);
		queued = true;
	} else {
		uint64_t budget = hs->memory_max / 2;

		if (len > budget)
			len = budget;
		queued = request_blocks(hs, off >> BLOCK_SHIFT,
					(off + len - 1) >> BLOCK_SHIFT,
					RA_REQUEST >> BLOCK_SHIFT, true) == XVA_OK;
	}
out:
	pthread_mutex_unlock(&hs->lock);
	if (queued)
		wake_io(hs);
}

static void http_info(const struct xva_source *src,
		      struct xva_source_info *info)
{
	const struct http_source *hs = (const struct http_source *)src;

	info->kind = hs->s3 ? "s3" : "http";
	info->stored_size = src->size;
}

/* Only the forking thread lives on in a child: the I/O thread is stopped
 * (between two of its loops, holding nothing) before the fork and started
 * again after it. Transfers still in flight stay with the multi handle,
 * whose sockets the child inherits, and go on in the new thread. */
static void stop_io(struct http_source *hs)
{
	if (!hs->io_started)
		return;
	pthread_mutex_lock(&hs->lock);
	hs->stopping = true;
	pthread_mutex_unlock(&hs->lock);
	curl_multi_wakeup(hs->multi);
	pthread_join(hs->io, NULL);
	hs->io_started = false;
}

static void http_close(struct xva_source *src)
{
	struct http_source *hs = (struct http_source *)src;

	stop_io(hs);
	/* Requests still in flight: read-ahead nobody waited for. */
	while (hs->active) {
		struct request *r = hs->active;

		active_remove(hs, r);
		curl_multi_remove_handle(hs->multi, r->easy);
		curl_easy_cleanup(r->easy);
		for (size_t k = 0; k < r->n_ext; k++)
			r->ext[k]->refs--;
		request_free(r);
	}
	for (int q = 0; q < 2; q++) {
		struct request *r = q ? hs->spec_head : hs->demand_head;

		while (r) {
			struct request *next = r->next;

			for (size_t k = 0; k < r->n_ext; k++)
				r->ext[k]->refs--;
			request_free(r);
			r = next;
		}
	}
	for (size_t b = 0; b < HASH_BUCKETS; b++) {
		while (hs->buckets[b]) {
			struct extent *x = hs->buckets[b];

			x->refs = 0;
			cache_remove(hs, x);
		}
	}
	while (hs->n_spare)
		free(hs->spare[--hs->n_spare]);
	while (hs->easy_free)
		curl_easy_cleanup(hs->easy_pool[--hs->easy_free]);
	free(hs->easy_pool);
	if (hs->multi)
		curl_multi_cleanup(hs->multi);
	curl_slist_free_all(hs->probe_headers);
	curl_slist_free_all(hs->read_headers);
	pthread_mutex_destroy(&hs->lock);
	pthread_cond_destroy(&hs->cond);
	free(hs->url);
	free(hs->shown);
	free(hs->ca_file);
	free(hs->etag);
	free(hs->last_modified);
	xva_s3_target_free(&hs->s3t);
	xva_source_fini(&hs->base);
	curl_global_cleanup();
	free(hs);
}

static void http_before_fork(struct xva_source *src)
{
	stop_io((struct http_source *)src);
}

static void http_after_fork(struct xva_source *src)
{
	struct http_source *hs = (struct http_source *)src;

	if (hs->io_started)
		return;
	hs->stopping = false;
	/* Without its thread nothing could be read: a failure here is one
	 * the next read reports (it finds no I/O thread and says so). */
	hs->io_started = xva_thread_start(&hs->io, io_main, hs) == 0;
}

static const struct xva_source_ops http_ops = {
	.read = http_read,
	.prefetch = http_prefetch,
	.info = http_info,
	.before_fork = http_before_fork,
	.after_fork = http_after_fork,
	.close = http_close,
};

static enum xva_status add_header(struct curl_slist **list, const char *h,
				  struct xva_err *err)
{
	struct curl_slist *l = curl_slist_append(*list, h);

	if (!l)
		return xva_nomem(err);
	*list = l;
	return XVA_OK;
}

/* Headers every request carries: S3 needs the payload hash header on
 * every SigV4 request and curl 7.88 does not add it (it signs it when it
 * is there), and temporary credentials need their token. */
static enum xva_status common_headers(struct http_source *hs,
				      struct curl_slist **list,
				      struct xva_err *err)
{
	enum xva_status st = XVA_OK;
	char *h;

	if (hs->s3 && hs->s3t.access_key)
		st = add_header(list, "x-amz-content-sha256: UNSIGNED-PAYLOAD",
				err);
	if (st == XVA_OK && hs->s3 && hs->s3t.session_token) {
		if (asprintf(&h, "x-amz-security-token: %s",
			     hs->s3t.session_token) < 0)
			return xva_nomem(err);
		st = add_header(list, h, err);
		explicit_bzero(h, strlen(h));
		free(h);
	}
	/* No "Expect: 100-continue" and no transfer encodings: the bytes
	 * counted are the object's. */
	if (st == XVA_OK)
		st = add_header(list, "Accept-Encoding: identity", err);
	return st;
}

/* The request at open: learns the size, the validators and that ranges
 * work, and keeps the first block it brings. */
static enum xva_status probe(struct http_source *hs, struct xva_err *err)
{
	struct request *r = calloc(1, sizeof(*r));
	enum xva_status st;
	char *id = NULL, *h = NULL;
	const char *validator;
	struct extent *x;

	if (!r)
		return xva_nomem(err);
	r->hs = hs;
	r->probe = true;
	r->demand = true;
	r->len = BLOCK_SIZE;
	r->data = malloc(BLOCK_SIZE);
	if (!r->data) {
		free(r);
		return xva_nomem(err);
	}
	pthread_mutex_lock(&hs->lock);
	queue_request(hs, r);
	pthread_mutex_unlock(&hs->lock);
	wake_io(hs);
	pthread_mutex_lock(&hs->lock);
	while (!r->done)
		pthread_cond_wait(&hs->cond, &hs->lock);
	pthread_mutex_unlock(&hs->lock);
	if (r->result.status != XVA_OK) {
		st = xva_fail(err, r->result.status, "%s", r->result.msg);
		goto out;
	}
	hs->base.size = r->len == 0 ? 0 : r->resp.cr_total;
	pthread_mutex_lock(&hs->lock);
	hs->max_in_flight = hs->h2 ? H2_IN_FLIGHT : H1_CONNECTIONS;
	pthread_mutex_unlock(&hs->lock);
	if (r->resp.etag[0] && !(hs->etag = strdup(r->resp.etag)))
		goto nomem;
	if (r->resp.last_modified[0] &&
	    !(hs->last_modified = strdup(r->resp.last_modified)))
		goto nomem;
	if (hs->last_modified) {
		time_t t = curl_getdate(hs->last_modified, NULL);

		if (t != -1)
			hs->base.mtime.tv_sec = t;
	}
	/* A weak ETag never matches If-Match: the date stands in for it. */
	if (hs->etag && strncmp(hs->etag, "W/", 2) != 0) {
		if (asprintf(&h, "If-Match: %s", hs->etag) < 0)
			goto nomem_h;
	} else if (hs->last_modified) {
		if (asprintf(&h, "If-Unmodified-Since: %s",
			     hs->last_modified) < 0)
			goto nomem_h;
	}
	st = common_headers(hs, &hs->read_headers, err);
	if (st == XVA_OK && h)
		st = add_header(&hs->read_headers, h, err);
	if (st != XVA_OK)
		goto out;
	validator = hs->etag ? hs->etag : hs->last_modified ?
		    hs->last_modified : "";
	if (asprintf(&id, "%s:%s:%llu:%s", hs->s3 ? "s3" : "http", hs->shown,
		     (unsigned long long)hs->base.size, validator) < 0)
		goto nomem_h;
	free(hs->base.identity);
	hs->base.identity = id;
	if (hs->base.size) {
		pthread_mutex_lock(&hs->lock);
		x = extent_new(hs, 0, (size_t)r->len, false);
		if (x) {
			memcpy(x->data, r->data, (size_t)r->len);
			x->filled = x->len;
			x->state = EXT_READY;
		}
		pthread_mutex_unlock(&hs->lock);
		if (!x)
			goto nomem;
	}
	st = XVA_OK;
	goto out;
nomem_h:
	h = NULL;
nomem:
	st = xva_nomem(err);
out:
	free(h);
	request_free(r);
	return st;
}

enum xva_status xva_source_http_open(const char *url,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err)
{
	struct http_source *hs;
	enum xva_status st;
	int rc;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return xva_fail(err, XVA_ENOMEM, "cannot initialise libcurl");
	hs = calloc(1, sizeof(*hs));
	if (!hs) {
		curl_global_cleanup();
		return xva_nomem(err);
	}
	pthread_mutex_init(&hs->lock, NULL);
	pthread_cond_init(&hs->cond, NULL);
	hs->timeout_s = o->timeout_s ? (long)o->timeout_s : DEFAULT_TIMEOUT_S;
	hs->tries = o->retries ? o->retries : DEFAULT_TRIES;
	hs->memory_max = o->memory_max ? o->memory_max : DEFAULT_MEMORY;
	/* Below a few blocks the cache could not hold one read-ahead. */
	if (hs->memory_max < 8ull * BLOCK_SIZE)
		hs->memory_max = 8ull * BLOCK_SIZE;
	hs->max_in_flight = 1;
	hs->rand_state = (unsigned)now_ns();
	if (strncasecmp(url, "s3://", 5) == 0) {
		hs->s3 = true;
		st = xva_s3_resolve(url, o, &hs->s3t, err);
		if (st != XVA_OK)
			goto fail;
		hs->url = strdup(hs->s3t.url);
		hs->shown = strdup(hs->s3t.url);
	} else {
		hs->url = strdup(url);
		hs->shown = xva_url_redact(url);
	}
	if (!hs->url || !hs->shown)
		goto nomem;
	if (o->ca_file && !(hs->ca_file = strdup(o->ca_file)))
		goto nomem;
	st = xva_source_init(&hs->base, &http_ops,
			     hs->s3 ? hs->s3t.shown : hs->shown, hs->shown,
			     err);
	if (st != XVA_OK)
		goto fail;
	hs->easy_pool = calloc(H2_IN_FLIGHT, sizeof(*hs->easy_pool));
	hs->multi = curl_multi_init();
	if (!hs->easy_pool || !hs->multi)
		goto nomem;
	curl_multi_setopt(hs->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)H1_CONNECTIONS);
	curl_multi_setopt(hs->multi, CURLMOPT_MAXCONNECTS, (long)H1_CONNECTIONS);
	curl_multi_setopt(hs->multi, CURLMOPT_MAX_CONCURRENT_STREAMS,
			  (long)H2_IN_FLIGHT);
	st = common_headers(hs, &hs->probe_headers, err);
	if (st != XVA_OK)
		goto fail;
	rc = xva_thread_start(&hs->io, io_main, hs);
	if (rc != 0) {
		st = xva_fail(err, XVA_ENOMEM, "cannot start the I/O thread: %s",
			      strerror(rc));
		goto fail;
	}
	hs->io_started = true;
	st = probe(hs, err);
	if (st != XVA_OK)
		goto fail;
	hs->base.skip_is_free = true;
	hs->base.in_pass = false;
	*out = &hs->base;
	return XVA_OK;
nomem:
	st = xva_nomem(err);
fail:
	http_close(&hs->base);
	return st;
}
