/* The source factory: picks the raw kind (file or HTTP/S3) from the
 * location, puts the crypt source over it for a file of an encrypted
 * repository, and stacks a gzip or zstd decoder on that by the first
 * bytes. It depends on every kind; no kind depends on it. */
#include <string.h>
#include <strings.h>

#include "source/source.h"

bool xva_location_is_url(const char *location)
{
	return strncasecmp(location, "http://", 7) == 0 ||
	       strncasecmp(location, "https://", 8) == 0 ||
	       strncasecmp(location, "s3://", 5) == 0;
}

typedef enum xva_status (*decoder_open_fn)(struct xva_source *raw,
					   const struct xva_source_options *o,
					   struct xva_source **out,
					   struct xva_err *err);

/* A decoder over RAW. Over an encrypted file still in its authenticating
 * pass, the decoder makes its pass too (a saved index would be loaded by
 * reading the file's end first, which that pass cannot do), and it
 * remembers RAW so that ending its pass ends RAW's (the tag is checked).
 * RAW's warning (not authenticated) is told by xva_crypt_state(). */
static enum xva_status stack(struct xva_source *raw, decoder_open_fn open_fn,
			     const struct xva_source_options *o,
			     struct xva_source **out, struct xva_err *err)
{
	struct xva_source_options own = *o;
	bool crypt = xva_source_crypt_of(raw) != NULL;
	enum xva_status st;

	if (crypt && raw->in_pass)
		own.fresh_pass = true;
	st = open_fn(raw, &own, out, err);
	if (st != XVA_OK || !crypt)
		return st;
	(*out)->below = raw;
	return XVA_OK;
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
		return stack(raw, xva_source_gzip_open, o, out, err);
	if (got >= 4 && memcmp(head, "\x28\xb5\x2f\xfd", 4) == 0)
		return stack(raw, xva_source_zstd_open, o, out, err);
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
	if (o->crypt_key && o->crypt_alg != XVA_CRYPT_NONE) {
		struct xva_source *plain;

		st = xva_source_crypt_open(raw, o->crypt_key, o->crypt_alg, o,
					   &plain, err);
		if (st != XVA_OK)
			return st;
		raw = plain;
	}
	return open_decoder(raw, o, out, err);
}
