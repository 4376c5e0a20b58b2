/* The HTTP source's requests and its I/O thread: queues, the curl handle
 * pool, scheduling, response checks and retries (see http.c). */

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source/aws.h"
#include "source/http_response.h"
#include "source/source.h"
#include "source/http.h"

/* ---- requests ---- */

void http_request_free(struct request *r)
{
	free(r->ext);
	free(r->data);
	free(r->body);
	free(r);
}

void http_queue_request(struct http_source *hs, struct request *r)
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
struct request *http_request_new(struct http_source *hs,
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
	struct request *r = http_request_new(hs, run, n, demand);

	if (!r) {
		for (size_t i = 0; i < n; i++)
			http_cache_remove(hs, run[i]);
		return XVA_ENOMEM;
	}
	http_queue_request(hs, r);
	return XVA_OK;
}

/* Requests blocks FIRST..LAST (those not cached or on their way), in runs
 * of at most MAX_RUN blocks. SPECULATIVE requests stop where the budget is
 * full; a reader's are made whatever the budget. */
enum xva_status http_request_blocks(struct http_source *hs, uint64_t first,
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

		if (http_find_block(hs, b)) {
			if (n)
				st = request_run(hs, run, n, !speculative);
			n = 0;
			continue;
		}
		if (!http_cache_make_room(hs, len) && speculative)
			break;
		x = http_extent_new(hs, off, len, false);
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
		http_cache_remove(hs, run[i]);
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

/* Under the lock: R's bytes have arrived up to POS (an object offset).
 * Whether a waiting reader has its bytes now (see wake_at). */
static bool fill_upto(struct request *r, uint64_t pos)
{
	bool wake = false;

	while (r->first < r->n_ext) {
		struct extent *x = r->ext[r->first];

		if (pos <= x->off)
			break;
		if (x->off + x->len > pos) {
			if (pos - x->off > x->filled)
				x->filled = (size_t)(pos - x->off);
		} else {
			x->filled = x->len;
			x->state = EXT_READY;
			r->first++;
		}
		if (x->wake_at && x->filled >= x->wake_at) {
			x->wake_at = 0;
			wake = true;
		}
		if (x->state != EXT_READY)
			break;
	}
	return wake;
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

void http_active_remove(struct http_source *hs, struct request *r)
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

/* What a finished try means: fills R->result unless it succeeded.
 * About 100 lines on purpose: one case per kind of answer, in the order
 * they must be told apart (curl's failure, 206, 416, 412/404, the S3
 * region, 401/403, 429/5xx); split up, that order would not read. */
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

	http_active_remove(hs, r);
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
		if (fill_upto(r, r->off + r->got))
			pthread_cond_broadcast(&hs->cond);
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
		http_queue_request(hs, r);
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
			http_cache_remove(hs, x);
		} else {
			x->filled = x->len;
			x->state = EXT_READY;
		}
		http_extent_unref(hs, x);
	}
	pthread_cond_broadcast(&hs->cond);
	http_request_free(r);
}

void *http_io_main(void *arg)
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
