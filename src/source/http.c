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

#include "base/thread.h"
#include "source/aws.h"
#include "source/http_response.h"
#include "source/source.h"
#include "source/http.h"

/* ---- the readers' side ---- */

static void wake_io(struct http_source *hs)
{
	curl_multi_wakeup(hs->multi);
}

/* Waits until X (held) has its part of [OFF, OFF+LEN): *PART points at
 * it, *AT bytes into the read, *N bytes long. Bytes below X->filled are
 * never written again, so they stay as they are while X is held. */
static enum xva_status wait_part(struct http_source *hs, struct extent *x,
				 uint64_t off, size_t len, const char **part,
				 size_t *at, size_t *n, struct xva_err *err)
{
	uint64_t from = x->off > off ? x->off : off;
	uint64_t to = x->off + x->len < off + len ? x->off + x->len : off + len;
	size_t need = (size_t)(to - x->off), filled;
	enum ext_state state;

	pthread_mutex_lock(&hs->lock);
	if (x->state == EXT_FETCHING && x->filled < need) {
		atomic_fetch_add(&hs->waiting, 1);
		while (x->state == EXT_FETCHING && x->filled < need) {
			if (!x->wake_at || need < x->wake_at)
				x->wake_at = need;
			pthread_cond_wait(&hs->cond, &hs->lock);
		}
		atomic_fetch_sub(&hs->waiting, 1);
	}
	state = x->state;
	filled = x->filled;
	pthread_mutex_unlock(&hs->lock);
	if (state == EXT_FAILED && filled < need)
		return xva_fail(err, x->fail_status, "%s",
				x->fail_msg ? x->fail_msg : "out of memory");
	*part = x->data + (from - x->off);
	*at = (size_t)(from - off);
	*n = (size_t)(to - from);
	return XVA_OK;
}

static void unhold(struct http_source *hs, struct extent *const *held,
		   size_t n)
{
	pthread_mutex_lock(&hs->lock);
	for (size_t i = 0; i < n; i++)
		http_extent_unref(hs, held[i]);
	pthread_mutex_unlock(&hs->lock);
}

/* The extents that hold [OFF, OFF+LEN) (inside the object), in order,
 * each held (a reference, so that no eviction frees it) and asked for
 * when missing: a small extent holding all of it, or its blocks. *HELD is
 * STACK (of N_STACK) when they fit, else allocated. */
static enum xva_status hold_range(struct http_source *hs, size_t len,
				  uint64_t off, struct extent **stack,
				  size_t n_stack, struct extent ***held,
				  size_t *n_held, struct xva_err *err)
{
	uint64_t first = off >> BLOCK_SHIFT, last = (off + len - 1) >> BLOCK_SHIFT;
	size_t n = (size_t)(last - first + 1), i;
	struct extent *small, **h = stack;

	*held = stack;
	*n_held = 0;
	if (n > n_stack && !(h = malloc(n * sizeof(*h))))
		return xva_nomem(err);
	pthread_mutex_lock(&hs->lock);
	small = http_find_small(hs, off, len);
	if (small && (small->state == EXT_READY || !http_find_block(hs, first))) {
		small->refs++;
		small->used = true;
		http_lru_touch(hs, small);
		pthread_mutex_unlock(&hs->lock);
		h[0] = small;
		n = 1;
		goto out;
	}
	if (http_request_blocks(hs, first, last, 16, false) != XVA_OK)
		goto nomem;
	for (i = 0; i < n; i++) {
		/* Making room for a later block of a long read can drop an
		 * earlier one that was already there: ask again. */
		h[i] = http_find_block(hs, first + i);
		if (!h[i] && (http_request_blocks(hs, first + i, first + i, 1,
						  false) != XVA_OK ||
			      !(h[i] = http_find_block(hs, first + i)))) {
			while (i--)
				http_extent_unref(hs, h[i]);
			goto nomem;
		}
		h[i]->refs++;
		h[i]->used = true;
		http_lru_touch(hs, h[i]);
	}
	pthread_mutex_unlock(&hs->lock);
	wake_io(hs);
out:
	*held = h;
	*n_held = n;
	return XVA_OK;
nomem:
	pthread_mutex_unlock(&hs->lock);
	if (h != stack)
		free(h);
	return xva_nomem(err);
}

/* A read of LEN bytes at OFF, clipped to the object (*LEN); false when
 * nothing is left to read. */
static bool clip(const struct http_source *hs, size_t *len, uint64_t off)
{
	if (off >= hs->base.size)
		return false;
	if (*len > hs->base.size - off)
		*len = (size_t)(hs->base.size - off);
	return true;
}

static enum xva_status check_io(const struct http_source *hs,
				struct xva_err *err)
{
	if (hs->io_started)
		return XVA_OK;
	return xva_fail(err, XVA_EIO, "%s: the I/O thread could not be started "
			"again after the process forked", hs->base.location);
}

/* LEN bytes at OFF: copied into BUF, or with LEASE lent (the extents
 * held by LEASE until it is released: the cache never frees an extent
 * that is held). */
static enum xva_status read_extents(struct http_source *hs, void *buf,
				    struct xva_lease *lease, size_t len,
				    uint64_t off, size_t *got,
				    struct xva_err *err)
{
	struct extent *stack[8], **held;
	enum xva_status st = check_io(hs, err);
	size_t n, i, at = 0, part_len = 0;
	const char *part = NULL;

	if (st != XVA_OK || !clip(hs, &len, off))
		return st;
	st = hold_range(hs, len, off, stack, 8, &held, &n, err);
	if (st != XVA_OK)
		return st;
	/* A lease takes the holds over: they go back when it is released. */
	for (i = 0; lease && i < n && st == XVA_OK; i++) {
		st = xva_lease_hold(lease, &hs->base, held[i], err);
		if (st != XVA_OK)
			unhold(hs, held + i + 1, n - i - 1);
	}
	for (i = 0; i < n && st == XVA_OK; i++) {
		st = wait_part(hs, held[i], off, len, &part, &at, &part_len,
			       err);
		if (st == XVA_OK && lease)
			st = xva_lease_add(lease, part, part_len, err);
		else if (st == XVA_OK)
			memcpy((char *)buf + at, part, part_len);
	}
	if (!lease)
		unhold(hs, held, n);
	if (held != stack)
		free(held);
	if (st == XVA_OK)
		*got = len;
	return st;
}

static enum xva_status http_read(struct xva_source *src, void *buf,
				 size_t len, uint64_t off, size_t *got,
				 struct xva_err *err)
{
	return read_extents((struct http_source *)src, buf, NULL, len, off, got,
			    err);
}

static enum xva_status http_lend(struct xva_source *src, size_t len,
				 uint64_t off, struct xva_lease *lease,
				 size_t *got, struct xva_err *err)
{
	return read_extents((struct http_source *)src, NULL, lease, len, off,
			    got, err);
}

static void http_unpin(struct xva_source *src, void *const *pins, size_t n)
{
	unhold((struct http_source *)src, (struct extent *const *)pins, n);
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
		if (http_find_small(hs, off, len) ||
		    (http_find_block(hs, first) && http_find_block(hs, last)))
			goto out;
		if (!http_cache_make_room(hs, want))
			goto out;
		x = http_extent_new(hs, off, want, true);
		if (!x)
			goto out;
		r = http_request_new(hs, &x, 1, false);
		if (!r) {
			http_cache_remove(hs, x);
			goto out;
		}
		http_queue_request(hs, r);
		queued = true;
	} else {
		uint64_t budget = hs->memory_max / 2;

		if (len > budget)
			len = budget;
		queued = http_request_blocks(hs, off >> BLOCK_SHIFT,
					(off + len - 1) >> BLOCK_SHIFT,
					RA_REQUEST >> BLOCK_SHIFT, true) == XVA_OK;
	}
out:
	pthread_mutex_unlock(&hs->lock);
	if (queued)
		wake_io(hs);
}

static bool http_would_wait(struct xva_source *src, uint64_t off,
			    uint64_t len)
{
	struct http_source *hs = (struct http_source *)src;
	struct extent *small;
	bool wait = false;
	uint64_t last;

	if (off >= src->size || len == 0)
		return false;
	if (len > src->size - off)
		len = src->size - off;
	/* The read's blocks and the next one: a block not yet asked for is
	 * a wait within the next MiB of the stream, which the policy probes
	 * only now and then. */
	last = (off + len - 1) >> BLOCK_SHIFT;
	if (last + 1 <= (src->size - 1) >> BLOCK_SHIFT)
		last++;
	pthread_mutex_lock(&hs->lock);
	small = http_find_small(hs, off, len);
	if (!small || small->state != EXT_READY)
		for (uint64_t b = off >> BLOCK_SHIFT; b <= last && !wait; b++) {
			struct extent *x = http_find_block(hs, b);

			wait = !x || x->state != EXT_READY;
		}
	pthread_mutex_unlock(&hs->lock);
	return wait;
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

		http_active_remove(hs, r);
		curl_multi_remove_handle(hs->multi, r->easy);
		curl_easy_cleanup(r->easy);
		for (size_t k = 0; k < r->n_ext; k++)
			r->ext[k]->refs--;
		http_request_free(r);
	}
	for (int q = 0; q < 2; q++) {
		struct request *r = q ? hs->spec_head : hs->demand_head;

		while (r) {
			struct request *next = r->next;

			for (size_t k = 0; k < r->n_ext; k++)
				r->ext[k]->refs--;
			http_request_free(r);
			r = next;
		}
	}
	for (size_t b = 0; b < HASH_BUCKETS; b++) {
		while (hs->buckets[b]) {
			struct extent *x = hs->buckets[b];

			x->refs = 0;
			http_cache_remove(hs, x);
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
	hs->io_started = xva_thread_start(&hs->io, http_io_main, hs) == 0;
}

static const struct xva_source_ops http_ops = {
	.read = http_read,
	.lend = http_lend,
	.unpin = http_unpin,
	.prefetch = http_prefetch,
	.would_wait = http_would_wait,
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
	http_queue_request(hs, r);
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
		x = http_extent_new(hs, 0, (size_t)r->len, false);
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
	http_request_free(r);
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
	rc = xva_thread_start(&hs->io, http_io_main, hs);
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
