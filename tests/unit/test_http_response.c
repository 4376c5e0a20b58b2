/* HTTP response headers and S3 error bodies, parsed without a socket. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "source/http_response.h"

static void header(struct xva_http_response *r, const char *line)
{
	/* As libcurl hands it over: not NUL-terminated. */
	char buf[1024];
	size_t n = strlen(line);

	memcpy(buf, line, n);
	memset(buf + n, 'X', sizeof(buf) - n);
	xva_http_response_header(r, buf, n);
}

int main(void)
{
	struct xva_http_response r;
	char out[16], big[700];

	memset(&r, 0, sizeof(r));
	header(&r, "HTTP/1.1 206 Partial Content\r\n");
	header(&r, "Content-Range: bytes 0-511/1048576\r\n");
	header(&r, "ETag: \"abc\"\r\n");
	header(&r, "last-modified:Mon, 07 Dec 2026 13:00:00 GMT\r\n");
	header(&r, "X-Amz-Bucket-Region: eu-west-1\r\n");
	header(&r, "Content-Length: 512\r\n");
	CHECK(r.have_range && !r.cr_unsatisfied && r.cr_start == 0 &&
	      r.cr_end == 511 && r.cr_total == 1048576);
	CHECK(strcmp(r.etag, "\"abc\"") == 0);
	CHECK(strcmp(r.last_modified, "Mon, 07 Dec 2026 13:00:00 GMT") == 0);
	CHECK(strcmp(r.bucket_region, "eu-west-1") == 0);

	/* A new response forgets the last. */
	header(&r, "HTTP/2 416\r\n");
	CHECK(!r.have_range && !r.etag[0] && !r.last_modified[0] &&
	      !r.bucket_region[0]);
	header(&r, "content-range: bytes */0\r\n");
	CHECK(r.have_range && r.cr_unsatisfied && r.cr_total == 0);

	/* Content-Range that is not a satisfiable range of a known size. */
	CHECK(!xva_http_parse_content_range("bytes 5-4/10", &r));
	CHECK(!xva_http_parse_content_range("bytes 0-10/10", &r));
	CHECK(!xva_http_parse_content_range("bytes 0-1/*", &r));
	CHECK(!xva_http_parse_content_range("items 0-1/10", &r));
	CHECK(!xva_http_parse_content_range("", &r));
	CHECK(xva_http_parse_content_range("  BYTES  7-9/10", &r) &&
	      r.cr_start == 7 && r.cr_end == 9 && r.cr_total == 10);

	/* A validator too long to keep whole is not kept. */
	memset(&r, 0, sizeof(r));
	memset(big, 'e', sizeof(big));
	memcpy(big, "ETag: ", 6);
	big[sizeof(big) - 1] = '\0';
	header(&r, big);
	CHECK(r.etag[0] == '\0');
	/* Names match whole, not by prefix. */
	header(&r, "ETagX: 1\r\n");
	header(&r, "Content-Rang: bytes 0-1/2\r\n");
	CHECK(r.etag[0] == '\0' && !r.have_range);
	header(&r, "no colon at all\r\n");
	header(&r, ":\r\n");

	/* Values trimmed and cut to fit. */
	xva_http_copy_value(out, sizeof(out), " \t v \r\n", 7);
	CHECK(strcmp(out, "v") == 0);
	xva_http_copy_value(out, sizeof(out), "0123456789abcdefghij", 20);
	CHECK(strcmp(out, "0123456789abcde") == 0);

	/* S3 error bodies. */
	xva_s3_error_field("<?xml version=\"1.0\"?><Error><Code>AccessDenied"
			   "</Code><Message>Access Denied</Message></Error>",
			   "Code", out, sizeof(out));
	CHECK(strcmp(out, "AccessDenied") == 0);
	CHECK(strcmp(xva_s3_auth_problem(out),
		     "the credentials are not allowed to read it") == 0);
	xva_s3_error_field("<Error><Region>us-west-2</Region>", "Code", out,
			   sizeof(out));
	CHECK(out[0] == '\0');
	xva_s3_error_field("<Code>unclosed", "Code", out, sizeof(out));
	CHECK(out[0] == '\0');
	xva_s3_error_field("</Code><Code>", "Code", out, sizeof(out));
	CHECK(out[0] == '\0');
	xva_s3_error_field(NULL, "Code", out, sizeof(out));
	CHECK(out[0] == '\0');
	CHECK(xva_s3_auth_problem("NoSuchKey") == NULL);
	return CHECK_DONE();
}
