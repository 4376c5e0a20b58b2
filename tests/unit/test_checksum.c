/* Checksum texts exactly as XAPI writes them. */
#include <string.h>

#include "check.h"
#include "xvafs/checksum.h"

static void text_of(enum xva_checksum_kind kind, const char *data,
		    size_t split, char out[XVA_CHECKSUM_TEXT_MAX])
{
	struct xva_hasher h;
	size_t len = strlen(data);

	CHECK(xva_hasher_init(&h, kind) == XVA_OK);
	/* Two updates must hash like one. */
	CHECK(xva_hasher_update(&h, data, split) == XVA_OK);
	CHECK(xva_hasher_update(&h, data + split, len - split) == XVA_OK);
	CHECK(xva_hasher_final(&h, out) == XVA_OK);
	xva_hasher_free(&h);
}

int main(void)
{
	char t[XVA_CHECKSUM_TEXT_MAX];

	/* Keep-alive members carry the hash of "". */
	text_of(XVA_CHECKSUM_XXHASH, "", 0, t);
	CHECK(strcmp(t, "EF46DB3751D8E999") == 0);
	text_of(XVA_CHECKSUM_SHA1, "", 0, t);
	CHECK(strcmp(t, "da39a3ee5e6b4b0d3255bfef95601890afd80709") == 0);
	text_of(XVA_CHECKSUM_SHA1, "abc", 1, t);
	CHECK(strcmp(t, "a9993e364706816aba3e25717850c26c9cd0d89d") == 0);
	text_of(XVA_CHECKSUM_XXHASH, "abc", 2, t);
	CHECK(strcmp(t, "44BC2CF5AD770999") == 0);
	CHECK(xva_checksum_text_len(XVA_CHECKSUM_XXHASH) == 16);
	CHECK(xva_checksum_text_len(XVA_CHECKSUM_SHA1) == 40);
	CHECK(strcmp(xva_checksum_name(XVA_CHECKSUM_SHA1), "checksum") == 0);
	return CHECK_DONE();
}
