/* What xvafs reads in an HTTP response besides the body, and in an S3
 * error body: pure parsing, without a socket, for http.c, the unit
 * tests and the fuzz harness. The status code itself comes from libcurl
 * (CURLINFO_RESPONSE_CODE); a status line only starts a new response. */
#ifndef XVAFS_HTTP_RESPONSE_H
#define XVAFS_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xva_http_response {
	bool have_range;        /* a valid Content-Range was seen */
	uint64_t cr_start, cr_end, cr_total;
	bool cr_unsatisfied;    /* "bytes * / TOTAL" */
	/* Validators too long to keep whole are not kept at all (""): a
	 * cut one would never match. */
	char etag[256];
	char last_modified[128];
	char bucket_region[64]; /* x-amz-bucket-region */
};

/* One header line of LEN bytes as libcurl hands it over (with its CRLF,
 * not NUL-terminated). A status line ("HTTP/...": a new response after a
 * redirect or a 100) forgets what the last response said. */
void xva_http_response_header(struct xva_http_response *r, const char *line,
			      size_t len);

/* A Content-Range value: "bytes A-B/TOTAL" (A <= B < TOTAL) fills
 * cr_start, cr_end and cr_total; "bytes * / TOTAL" sets cr_unsatisfied and
 * cr_total. False for anything else, leaving R as it was. */
bool xva_http_parse_content_range(const char *value,
				  struct xva_http_response *r);

/* LEN bytes at V without leading blanks and trailing blanks or line
 * ends, cut to fit SIZE (> 0) with its NUL, into DST. */
void xva_http_copy_value(char *dst, size_t size, const char *v, size_t len);

/* The text of <TAG> in the NUL-terminated S3 error BODY (NULL: none) into
 * OUT (SIZE > 0), or "". */
void xva_s3_error_field(const char *body, const char *tag, char *out,
			size_t size);

/* What an S3 error code says about the credentials, or NULL when it is
 * not about them. Some come with 400 (ExpiredToken), not 403. */
const char *xva_s3_auth_problem(const char *code);

#endif
