#include <openssl/evp.h>
#include <stdio.h>
#include <xxhash.h>

#include "xvafs/checksum.h"

size_t xva_checksum_text_len(enum xva_checksum_kind kind)
{
	return kind == XVA_CHECKSUM_XXHASH ? 16 : kind == XVA_CHECKSUM_SHA1 ? 40 : 0;
}

const char *xva_checksum_name(enum xva_checksum_kind kind)
{
	return kind == XVA_CHECKSUM_XXHASH ? "xxhash"
	       : kind == XVA_CHECKSUM_SHA1 ? "checksum" : "none";
}

enum xva_status xva_hasher_init(struct xva_hasher *h,
				enum xva_checksum_kind kind)
{
	h->kind = kind;
	h->state = NULL;
	if (kind == XVA_CHECKSUM_XXHASH) {
		h->state = XXH64_createState();
		if (!h->state)
			return XVA_ENOMEM;
		if (XXH64_reset(h->state, 0) != XXH_OK)
			return XVA_EIO;
	} else if (kind == XVA_CHECKSUM_SHA1) {
		h->state = EVP_MD_CTX_new();
		if (!h->state)
			return XVA_ENOMEM;
		if (EVP_DigestInit_ex(h->state, EVP_sha1(), NULL) != 1)
			return XVA_EIO;
	}
	return XVA_OK;
}

enum xva_status xva_hasher_update(struct xva_hasher *h, const void *data,
				  size_t len)
{
	if (h->kind == XVA_CHECKSUM_XXHASH)
		return XXH64_update(h->state, data, len) == XXH_OK
			       ? XVA_OK : XVA_EIO;
	if (h->kind == XVA_CHECKSUM_SHA1)
		return EVP_DigestUpdate(h->state, data, len) == 1
			       ? XVA_OK : XVA_EIO;
	return XVA_OK;
}

enum xva_status xva_hasher_final(struct xva_hasher *h,
				 char text[XVA_CHECKSUM_TEXT_MAX])
{
	text[0] = '\0';
	if (h->kind == XVA_CHECKSUM_XXHASH) {
		snprintf(text, XVA_CHECKSUM_TEXT_MAX, "%016llX",
			 (unsigned long long)XXH64_digest(h->state));
	} else if (h->kind == XVA_CHECKSUM_SHA1) {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned len = 0;

		if (EVP_DigestFinal_ex(h->state, md, &len) != 1 || len != 20)
			return XVA_EIO;
		for (unsigned i = 0; i < len; i++)
			snprintf(text + 2 * i, 3, "%02x", md[i]);
	}
	return XVA_OK;
}

void xva_hasher_free(struct xva_hasher *h)
{
	if (h->kind == XVA_CHECKSUM_XXHASH)
		XXH64_freeState(h->state);
	else if (h->kind == XVA_CHECKSUM_SHA1)
		EVP_MD_CTX_free(h->state);
	h->state = NULL;
}
