/* HTTP response headers and S3 error bodies (see xvafs/http_response.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "source/http_response.h"

bool xva_http_parse_content_range(const char *v, struct xva_http_response *r)
{
	unsigned long long a, b, t;

	while (*v == ' ')
		v++;
	if (strncasecmp(v, "bytes", 5) != 0)
		return false;
	v += 5;
	while (*v == ' ')
		v++;
	if (sscanf(v, "*/%llu", &t) == 1) {
		r->cr_unsatisfied = true;
		r->cr_total = t;
		return true;
	}
	if (sscanf(v, "%llu-%llu/%llu", &a, &b, &t) != 3 || a > b || b >= t)
		return false;
	r->cr_start = a;
	r->cr_end = b;
	r->cr_total = t;
	return true;
}

void xva_http_copy_value(char *dst, size_t size, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	if (n >= size)
		n = size - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

void xva_http_response_header(struct xva_http_response *r, const char *line,
			      size_t n)
{
	const char *colon = memchr(line, ':', n);
	char value[512];

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a redirect or a 100): forget the last. */
		r->have_range = r->cr_unsatisfied = false;
		r->etag[0] = r->last_modified[0] = r->bucket_region[0] = '\0';
		return;
	}
	if (!colon)
		return;
	xva_http_copy_value(value, sizeof(value), colon + 1,
			    n - (size_t)(colon + 1 - line));
#define IS(name) ((size_t)(colon - line) == strlen(name) && \
		  strncasecmp(line, name, strlen(name)) == 0)
	/* A validator too long to keep whole is not kept at all: a cut one
	 * would never match. */
	if (IS("content-range"))
		r->have_range = xva_http_parse_content_range(value, r);
	else if (IS("etag") && strlen(value) < sizeof(r->etag))
		memcpy(r->etag, value, strlen(value) + 1);
	else if (IS("last-modified") && strlen(value) < sizeof(r->last_modified))
		memcpy(r->last_modified, value, strlen(value) + 1);
	else if (IS("x-amz-bucket-region") &&
		 strlen(value) < sizeof(r->bucket_region))
		memcpy(r->bucket_region, value, strlen(value) + 1);
#undef IS
}

void xva_s3_error_field(const char *body, const char *tag, char *out,
			size_t size)
{
	char open[32], close[32];
	const char *a, *b;

	out[0] = '\0';
	if (!body)
		return;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if ((a = strstr(body, open)) && (b = strstr(a, close)))
		xva_http_copy_value(out, size, a + strlen(open),
				    (size_t)(b - a - (ptrdiff_t)strlen(open)));
}

const char *xva_s3_auth_problem(const char *code)
{
	static const struct {
		const char *code, *why;
	} known[] = {
		{ "SignatureDoesNotMatch", "the secret key is wrong" },
		{ "InvalidAccessKeyId", "the access key id is unknown" },
		{ "ExpiredToken", "the session token has expired" },
		{ "TokenRefreshRequired", "the session token has expired" },
		{ "InvalidToken", "the session token is not valid" },
		{ "RequestTimeTooSkewed", "this machine's clock is off" },
		{ "AccessDenied", "the credentials are not allowed to read it" },
		{ "AllAccessDisabled", "all access to the object is disabled" },
	};

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(code, known[i].code))
			return known[i].why;
	return NULL;
}
