/* The source layer's base: the calls every kind shares (init, warnings,
 * fini) and the dispatch through each kind's ops. It depends on no kind;
 * picking and stacking kinds is open.c's. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"

enum xva_status xva_source_init(struct xva_source *src,
				const struct xva_source_ops *ops,
				const char *location, const char *identity,
				struct xva_err *err)
{
	memset(src, 0, sizeof(*src));
	src->ops = ops;
	src->fd = -1;
	src->direct_fd = -1;
	src->size = XVA_SIZE_UNKNOWN;
	src->location = strdup(location);
	src->identity = strdup(identity);
	if (!src->location || !src->identity) {
		xva_source_fini(src);
		return xva_nomem(err);
	}
	return XVA_OK;
}

void xva_source_warn(struct xva_source *src, const char *fmt, ...)
{
	size_t used = strlen(src->warning);
	va_list ap;

	if (used && used + 2 < sizeof(src->warning)) {
		memcpy(src->warning + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(src->warning + used, sizeof(src->warning) - used, fmt, ap);
	va_end(ap);
}

void xva_source_fini(struct xva_source *src)
{
	free(src->location);
	free(src->identity);
	src->location = src->identity = NULL;
}

void xva_source_close(struct xva_source *src)
{
	if (src)
		src->ops->close(src);
}

enum xva_status xva_source_read(struct xva_source *src, void *buf,
				size_t len, uint64_t off, size_t *got,
				struct xva_err *err)
{
	*got = 0;
	if (len == 0)
		return XVA_OK;
	return src->ops->read(src, buf, len, off, got, err);
}

enum xva_status xva_source_read_full(struct xva_source *src, void *buf,
				     size_t len, uint64_t off, const char *what,
				     struct xva_err *err)
{
	enum xva_status st;
	size_t got;

	st = xva_source_read(src, buf, len, off, &got, err);
	if (st != XVA_OK)
		return st;
	if (got < len)
		return xva_fail(err, XVA_ETRUNCATED, "%s: cannot read %zu bytes at "
				"byte %llu: the export ends at byte %llu", what,
				len, (unsigned long long)off,
				(unsigned long long)(off + got));
	return XVA_OK;
}

bool xva_source_can_lend(const struct xva_source *src)
{
	return src->ops->lend != NULL;
}

enum xva_status xva_source_lend(struct xva_source *src, size_t len,
				uint64_t off, struct xva_lease *lease,
				size_t *got, struct xva_err *err)
{
	*got = 0;
	if (!src->ops->lend)
		return xva_fail(err, XVA_EINVAL, "%s: this kind of source cannot "
				"lend its bytes", src->location);
	if (len == 0)
		return XVA_OK;
	return src->ops->lend(src, len, off, lease, got, err);
}

/* --- leases --- */

void xva_lease_init(struct xva_lease *l, void *scratch, size_t scratch_len)
{
	memset(l, 0, offsetof(struct xva_lease, iov_inline));
	l->iov = l->iov_inline;
	l->cap_iov = XVA_LEASE_INLINE;
	l->pins = l->pins_inline;
	l->cap_pins = XVA_LEASE_INLINE;
	l->scratch = scratch;
	l->scratch_len = scratch ? scratch_len : 0;
}

void xva_lease_release(struct xva_lease *l)
{
	if (l->n_pins)
		l->src->ops->unpin(l->src, l->pins, l->n_pins);
	if (l->iov != l->iov_inline)
		free(l->iov);
	if (l->pins != l->pins_inline)
		free(l->pins);
	xva_lease_init(l, l->scratch, l->scratch_len);
}

/* Makes room for one more element in *ARRAY (of *CAP, INLINE_ARRAY at
 * first); false when there is no memory. */
static bool grow(void **array, size_t *cap, size_t used, size_t size,
		 void *inline_array)
{
	void *bigger;

	if (used < *cap)
		return true;
	bigger = malloc(2 * *cap * size);
	if (!bigger)
		return false;
	memcpy(bigger, *array, used * size);
	if (*array != inline_array)
		free(*array);
	*array = bigger;
	*cap *= 2;
	return true;
}

enum xva_status xva_lease_add(struct xva_lease *l, const void *data,
			      size_t len, struct xva_err *err)
{
	struct iovec *last = l->n_iov ? &l->iov[l->n_iov - 1] : NULL;

	if (len == 0)
		return XVA_OK;
	if (last && (const char *)last->iov_base + last->iov_len ==
		    (const char *)data) {
		last->iov_len += len;
		return XVA_OK;
	}
	if (!grow((void **)&l->iov, &l->cap_iov, l->n_iov, sizeof(*l->iov),
		  l->iov_inline))
		return xva_nomem(err);
	l->iov[l->n_iov].iov_base = (void *)data;
	l->iov[l->n_iov].iov_len = len;
	l->n_iov++;
	return XVA_OK;
}

enum xva_status xva_lease_hold(struct xva_lease *l, struct xva_source *src,
			       void *pin, struct xva_err *err)
{
	if (l->n_pins && l->src != src) {
		src->ops->unpin(src, &pin, 1);
		return xva_fail(err, XVA_EINVAL, "%s: a lease holds pins of %s "
				"already", src->location, l->src->location);
	}
	if (!grow((void **)&l->pins, &l->cap_pins, l->n_pins, sizeof(*l->pins),
		  l->pins_inline)) {
		src->ops->unpin(src, &pin, 1);
		return xva_nomem(err);
	}
	l->src = src;
	l->pins[l->n_pins++] = pin;
	return XVA_OK;
}

void *xva_lease_scratch(struct xva_lease *l, size_t len)
{
	void *p;

	if (len > l->scratch_len - l->scratch_used)
		return NULL;
	p = l->scratch + l->scratch_used;
	l->scratch_used += len;
	return p;
}

void xva_source_prefetch(struct xva_source *src, uint64_t off, uint64_t len)
{
	if (src->ops->prefetch && len)
		src->ops->prefetch(src, off, len);
}

bool xva_source_would_wait(struct xva_source *src, uint64_t off,
			   uint64_t len)
{
	if (!src->ops->would_wait)
		return true;
	return src->ops->would_wait(src, off, len);
}

static bool probe_source(void *ctx, uint64_t off, size_t len)
{
	return xva_source_would_wait(ctx, off, len);
}

void xva_source_note_read(struct xva_source *src, struct xva_stream *s,
			  uint64_t off, size_t len)
{
	uint64_t from, to;

	if (xva_stream_next(s, src->size, off, len, probe_source, src, &from,
			    &to))
		xva_source_prefetch(src, from, to - from);
}

enum xva_status xva_source_finish_pass(struct xva_source *src,
				       struct xva_err *err)
{
	enum xva_status st = XVA_OK;

	if (src->in_pass && src->ops->finish_pass)
		st = src->ops->finish_pass(src, err);
	/* The decoder has read its stream to the end; what is below ends
	 * its own pass (reads the rest, checks its tag). */
	if (st == XVA_OK && src->below)
		st = xva_source_finish_pass(src->below, err);
	return st;
}

struct xva_source *xva_source_crypt_of(struct xva_source *src)
{
	for (; src; src = src->below)
		if (xva_crypt_auth_state(src, NULL, 0) !=
		    XVA_CRYPT_AUTH_NOT_ENCRYPTED)
			return src;
	return NULL;
}

void xva_source_info(const struct xva_source *src,
		     struct xva_source_info *info)
{
	memset(info, 0, sizeof(*info));
	src->ops->info(src, info);
}

void xva_source_before_fork(struct xva_source *src)
{
	if (src->ops->before_fork)
		src->ops->before_fork(src);
}

void xva_source_after_fork(struct xva_source *src)
{
	if (src->ops->after_fork)
		src->ops->after_fork(src);
}
