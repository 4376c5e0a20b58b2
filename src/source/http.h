/* The HTTP(S)/S3 source's internals (not installed), shared by its three
 * files: http_cache.c (the extent cache: hash, LRU list, spare buffers),
 * http_io.c (requests, their queues, the I/O thread, the curl handle pool,
 * response checks and retries) and http.c (the source ops: open,
 * read, prefetch, fork, close). http.c's opening comment tells how
 * they work together. */
#ifndef XVAFS_HTTP_SOURCE_H
#define XVAFS_HTTP_SOURCE_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "source/aws.h"
#include "source/http_response.h"
#include "base/lru.h"
#include "source/source.h"

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
/* Read-ahead is the policy's (xvafs/readahead.h): its hints are fetched
 * in requests of RA_REQUEST bytes (AWS advises 8-16 MB ranges; several
 * smaller ones in parallel also fill a fast link better than one), and
 * one hint takes at most half the cache. */
#define RA_REQUEST (4ull << 20)
#define SPARE_BLOCKS 16
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
	/* The fewest FILLED bytes a waiting reader needs, 0 when none waits:
	 * the I/O thread wakes the readers when FILLED reaches it, not at
	 * every piece of the body (each wake-up of every waiting reader
	 * was a context switch per few KiB of a mount's sequential read). */
	size_t wake_at;
	char *data;
	enum xva_status fail_status;
	char *fail_msg;
	struct extent *hnext;
	struct xva_lru_node lru;
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
	struct xva_lru_list lru;
	char *spare[SPARE_BLOCKS]; /* buffers of freed blocks, for reuse */
	size_t n_spare;
	uint64_t cached_bytes;
	unsigned rand_state;
	bool h2;
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- http_cache.c: the extent cache (all under hs->lock) ---- */

void http_extent_unref(struct http_source *hs, struct extent *x);
void http_cache_remove(struct http_source *hs, struct extent *x);
bool http_cache_make_room(struct http_source *hs, uint64_t need);
struct extent *http_find_block(struct http_source *hs, uint64_t index);
struct extent *http_extent_new(struct http_source *hs, uint64_t off,
			  size_t len, bool small);
void http_lru_touch(struct http_source *hs, struct extent *x);
struct extent *http_find_small(struct http_source *hs, uint64_t off,
			  uint64_t len);

/* ---- http_io.c: requests and the I/O thread ---- */

void http_request_free(struct request *r);
void http_queue_request(struct http_source *hs, struct request *r);
struct request *http_request_new(struct http_source *hs,
			    struct extent **x, size_t n, bool demand);
enum xva_status http_request_blocks(struct http_source *hs, uint64_t first,
			       uint64_t last, uint64_t max_run,
			       bool speculative);
void http_active_remove(struct http_source *hs, struct request *r);
void *http_io_main(void *arg);

#endif
