/* Chunk checksums as XAPI writes and compares them (format notes section 3):
 * .xxhash members hold XXH64 (seed 0) as 16 upper-case hex digits, .checksum
 * members SHA-1 as 40 lower-case hex digits; no newline; compared as exact
 * strings. Hashing uses libxxhash and OpenSSL's libcrypto. */
#ifndef XVAFS_CHECKSUM_H
#define XVAFS_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>

#include "xvafs/error.h"

enum xva_checksum_kind {
	XVA_CHECKSUM_NONE = 0,
	XVA_CHECKSUM_XXHASH, /* .xxhash */
	XVA_CHECKSUM_SHA1,   /* .checksum */
};

/* Longest checksum text, plus its terminating NUL. */
#define XVA_CHECKSUM_TEXT_MAX 41

/* Streaming hash of one chunk. */
struct xva_hasher {
	enum xva_checksum_kind kind;
	void *state; /* XXH64_state_t or EVP_MD_CTX */
};

enum xva_status xva_hasher_init(struct xva_hasher *h,
				enum xva_checksum_kind kind);
enum xva_status xva_hasher_update(struct xva_hasher *h, const void *data,
				  size_t len);
/* Writes the checksum text as XAPI would, NUL-terminated. */
enum xva_status xva_hasher_final(struct xva_hasher *h,
				 char text[XVA_CHECKSUM_TEXT_MAX]);
void xva_hasher_free(struct xva_hasher *h);

/* Length of the checksum text of KIND (16 or 40), 0 for none. */
size_t xva_checksum_text_len(enum xva_checksum_kind kind);
/* The member suffix of KIND: "xxhash" or "checksum". */
const char *xva_checksum_name(enum xva_checksum_kind kind);

#endif
