/* The source layer's common calls, and the choice of kind by location and
 * magic bytes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xvafs/source.h"

bool xva_location_is_url(const char *location)
{
	return strncasecmp(location, "http://", 7) == 0 ||
	       strncasecmp(location, "https://", 8) == 0 ||
	       strncasecmp(location, "s3://", 5) == 0;
}

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

void xva_source_prefetch(struct xva_source *src, uint64_t off, uint64_t len)
{
	if (src->ops->prefetch && len)
		src->ops->prefetch(src, off, len);
}

enum xva_status xva_source_finish_pass(struct xva_source *src,
				       struct xva_err *err)
{
	if (!src->in_pass || !src->ops->finish_pass)
		return XVA_OK;
	return src->ops->finish_pass(src, err);
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

/* Whole-stream compression is told by its first bytes. */
static enum xva_status open_decoder(struct xva_source *raw,
				    const struct xva_source_options *o,
				    struct xva_source **out,
				    struct xva_err *err)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *name;
	} refused[] = {
		{ "\xfd" "7zXZ", 6, "xz" },
		{ "BZh", 3, "bzip2" },
	};
	unsigned char head[8] = { 0 };
	enum xva_status st;
	size_t got;

	st = xva_source_read(raw, head, sizeof(head), 0, &got, err);
	if (st != XVA_OK) {
		xva_source_close(raw);
		return st;
	}
	if (got >= 2 && head[0] == 0x1f && head[1] == 0x8b)
		return xva_source_gzip_open(raw, o, out, err);
	if (got >= 4 && memcmp(head, "\x28\xb5\x2f\xfd", 4) == 0)
		return xva_source_zstd_open(raw, o, out, err);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		if (got >= refused[i].len &&
		    memcmp(head, refused[i].magic, refused[i].len) == 0) {
			xva_source_close(raw);
			return xva_fail(err, XVA_EUNSUPPORTED, "the export is "
					"%s-compressed; xvafs reads plain, gzip and "
					"zstd exports: recompress it, e.g. %s -dc < "
					"IN | zstd > OUT.xva", refused[i].name,
					refused[i].name);
		}
	}
	*out = raw;
	return XVA_OK;
}

enum xva_status xva_source_open(const char *location,
				const struct xva_source_options *o,
				struct xva_source **out, struct xva_err *err)
{
	static const struct xva_source_options defaults = { .s3_path_style = -1 };
	struct xva_source *raw = NULL;
	enum xva_status st;

	*out = NULL;
	if (!o)
		o = &defaults;
	if (xva_location_is_url(location))
		st = xva_source_http_open(location, o, &raw, err);
	else
		st = xva_source_file_open(location, o, &raw, err);
	if (st != XVA_OK)
		return st;
	return open_decoder(raw, o, out, err);
}
