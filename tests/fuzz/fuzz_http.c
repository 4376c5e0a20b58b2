/* libFuzzer harness: what a web server or S3 sends besides the bytes
 * asked: the header lines of one or more responses (status lines,
 * Content-Range, ETag, Last-Modified, x-amz-bucket-region), handed over
 * one at a time and not NUL-terminated as libcurl does, then after the
 * first empty line an S3 error body. Nothing may crash or read out of
 * bounds, and what is kept must be consistent. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "source/http_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xva_http_response r;
	const char *p = (const char *)data, *end = p + size;
	char code[128], msg[256], region[64], *body;

	memset(&r, 0, sizeof(r));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
		/* Exactly the line: a read past it is caught. */
		char *line = malloc(n ? n : 1);

		if (!line)
			return 0;
		memcpy(line, p, n);
		xva_http_response_header(&r, line, n);
		free(line);
		p += n;
		if ((n == 1 && p[-1] == '\n') ||
		    (n == 2 && p[-2] == '\r' && p[-1] == '\n'))
			break; /* the end of the headers */
	}
	if (r.have_range && !r.cr_unsatisfied &&
	    (r.cr_start > r.cr_end || r.cr_end >= r.cr_total))
		abort();
	if (strlen(r.etag) >= sizeof(r.etag) ||
	    strlen(r.last_modified) >= sizeof(r.last_modified) ||
	    strlen(r.bucket_region) >= sizeof(r.bucket_region))
		abort();
	body = malloc((size_t)(end - p) + 1);
	if (!body)
		return 0;
	memcpy(body, p, (size_t)(end - p));
	body[end - p] = '\0';
	xva_s3_error_field(body, "Code", code, sizeof(code));
	xva_s3_error_field(body, "Message", msg, sizeof(msg));
	xva_s3_error_field(body, "Region", region, sizeof(region));
	xva_s3_auth_problem(code);
	free(body);
	return 0;
}
