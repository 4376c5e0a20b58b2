/* Xen Orchestra's encryption of backup repositories, as xvafs reads it.
 *
 * On an encrypted repository every file is IV (12 bytes) | ciphertext |
 * tag (16 bytes), with no associated data: ChaCha20-Poly1305 (RFC 8439,
 * Xen Orchestra's default since February 2025) or AES-256-GCM (before).
 * The repository's root holds encryption.json, {"algorithm": NAME} in
 * clear, and metadata.json, a small encrypted JSON object that tells
 * whether a key is the repository's. The key is the 32-character string
 * users set on the remote; its 32 UTF-8 bytes are the cipher key.
 *
 * Both ciphers are counter-mode streams, so the crypt source
 * (xva_source_crypt_open, declared in xvafs/source.h) decrypts any range
 * at once. The tag covers the whole file and is checked in one full pass;
 * see source.h for when bytes may be served before that. */
#ifndef XVAFS_CRYPT_H
#define XVAFS_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"

struct xva_source_options; /* xvafs/source.h */

#define XVA_CRYPT_KEY_LEN 32
#define XVA_CRYPT_IV_LEN 12
#define XVA_CRYPT_TAG_LEN 16
#define XVA_CRYPT_OVERHEAD (XVA_CRYPT_IV_LEN + XVA_CRYPT_TAG_LEN)

enum xva_crypt_alg {
	XVA_CRYPT_NONE = 0,          /* "none": an unencrypted repository */
	XVA_CRYPT_CHACHA20_POLY1305, /* "chacha20-poly1305" */
	XVA_CRYPT_AES_256_GCM,       /* "aes-256-gcm" (legacy) */
};

/* A repository's key. Callers wipe it (xva_crypt_key_wipe) when done. */
struct xva_crypt_key {
	unsigned char bytes[XVA_CRYPT_KEY_LEN];
};

/* Where an encrypted file's authentication (its tag, over the whole
 * file) stands. */
enum xva_crypt_auth {
	XVA_CRYPT_AUTH_NOT_ENCRYPTED = 0, /* not a crypt source */
	XVA_CRYPT_AUTH_PENDING,  /* in its pass: the tag is checked at its end */
	XVA_CRYPT_AUTH_SKIPPED,  /* not checked: crypt_unauthenticated */
	XVA_CRYPT_AUTH_CACHED,   /* checked before, with this key */
	XVA_CRYPT_AUTH_CHECKED,  /* checked by this process */
	XVA_CRYPT_AUTH_FAILED,   /* the tag does not match: no reads */
};
/* "pending", "skipped", "cached", "checked", "failed" ("" for
 * NOT_ENCRYPTED). */
const char *xva_crypt_auth_name(enum xva_crypt_auth auth);

/* The name encryption.json uses, or NULL for a value out of range. */
const char *xva_crypt_alg_name(enum xva_crypt_alg alg);
/* NAME as encryption.json has it; anything else is XVA_EUNSUPPORTED. */
enum xva_status xva_crypt_alg_parse(const char *name, enum xva_crypt_alg *alg,
				    struct xva_err *err);

/* The key from TEXT (LEN bytes, e.g. an environment variable's value):
 * one trailing newline ("\n" or "\r\n") is dropped, then it must be 32
 * bytes, as Xen Orchestra's cipher needs. */
enum xva_status xva_crypt_key_from_text(const char *text, size_t len,
					struct xva_crypt_key *key,
					struct xva_err *err);
/* The same from the file PATH (read whole, at most 4 KiB). */
enum xva_status xva_crypt_key_from_file(const char *path,
					struct xva_crypt_key *key,
					struct xva_err *err);
void xva_crypt_key_wipe(struct xva_crypt_key *key);

/* Decrypts a whole small file (a backup's .json, metadata.json,
 * cache.json.gz) held in IN, checking its tag: *OUT (malloc'ed, with a
 * '\0' after its *OUT_LEN bytes) is the plaintext. WHAT names the file in
 * messages. A tag that does not match (a damaged file, or another key) is
 * XVA_ECORRUPT. */
enum xva_status xva_crypt_decrypt_buffer(const struct xva_crypt_key *key,
					 enum xva_crypt_alg alg, const void *in,
					 size_t len, const char *what,
					 unsigned char **out, size_t *out_len,
					 struct xva_err *err);
/* Reads the small file LOCATION (a path or a URL) whole, at most MAX
 * bytes (more is XVA_EFORMAT): *OUT is malloc'ed, '\0'-terminated. A
 * missing file is XVA_EOPEN. */
enum xva_status xva_read_small_file(const char *location,
				    const struct xva_source_options *o,
				    size_t max, unsigned char **out,
				    size_t *out_len, struct xva_err *err);

/* A repository (REPO: a folder path, or an s3:// or http(s):// prefix;
 * o may be NULL): reads REPO/encryption.json and returns its algorithm in
 * *ALG (XVA_CRYPT_NONE when the file is absent, as Xen Orchestra reads
 * it). For an encrypted repository, KEY must be given and must decrypt
 * REPO/metadata.json: before anything is mounted, a wrong key is one line,
 * "wrong key for REPO: ...", XVA_EACCESS. A key for an unencrypted
 * repository, or none for an encrypted one, is an error too (XVA_EINVAL,
 * XVA_EACCESS), never ignored. */
enum xva_status xva_xo_repo_check_key(const char *repo,
				      const struct xva_crypt_key *key,
				      const struct xva_source_options *o,
				      enum xva_crypt_alg *alg,
				      struct xva_err *err);

/* The repository LOCATION (a backup's path or URL) is in: the nearest of
 * the 4 folders above it whose encryption.json names a cipher, in REPO
 * (LEN bytes) with its cipher in *ALG. XVA_EOPEN when there is none; a
 * broken encryption.json is its error. */
enum xva_status xva_xo_find_repo(const char *location,
				 const struct xva_source_options *o,
				 char *repo, size_t len,
				 enum xva_crypt_alg *alg, struct xva_err *err);

/* What an export that is neither tar, gzip nor zstd may be: HEAD (its
 * first HEAD_LEN bytes, 512 or more when the file has them) and its
 * LOCATION are looked at. */
enum xva_crypt_guess_kind {
	XVA_CRYPT_GUESS_NO = 0,  /* tar, gzip, zstd, xz, bzip2, or too short */
	XVA_CRYPT_GUESS_REPO,    /* an encryption.json that names a cipher is
				    in one of the 4 folders above it */
	XVA_CRYPT_GUESS_RANDOM,  /* no repository found, but the first bytes
				    have no structure at all (no tar header,
				    no zero runs): likely an encrypted file
				    copied out of its repository */
};
struct xva_crypt_guess {
	enum xva_crypt_guess_kind kind;
	enum xva_crypt_alg alg;    /* REPO: the repository's cipher */
	char repo[4096];           /* REPO: where encryption.json is */
};
/* Never fails on a missing or unreadable encryption.json (that is a NO or
 * RANDOM guess); o may be NULL. */
void xva_crypt_guess(const char *location, const unsigned char *head,
		     size_t head_len, const struct xva_source_options *o,
		     struct xva_crypt_guess *guess);
/* One line for a user who gave such an export without a key: what it is
 * and what to give; HOW says how a key is given ("--key-file FILE or
 * XVAFS_KEY"), whatever the front end's names are. */
void xva_crypt_guess_message(const struct xva_crypt_guess *guess,
			     const char *location, const char *how, char *buf,
			     size_t len);

/* The counter arithmetic, exposed for the tests.
 *
 * ChaCha20-Poly1305 (RFC 8439): block 0 of the keystream makes the
 * Poly1305 key, ciphertext byte N is keyed by block 1 + N / 64. The block
 * counter is the first 32-bit word of ChaCha's 128-bit counter-and-nonce;
 * OpenSSL (which Node's crypto and thus Xen Orchestra use) carries its
 * overflow into the next word, the nonce's first, so a file past 256 GiB
 * goes on with nonce word 0 + 1. EVP_chacha20's 16-byte IV is that whole
 * state: 32-bit counter (little-endian), then the 12-byte nonce. This
 * fills IV16 for the keystream block that holds ciphertext byte
 * 64 * BLOCK. */
void xva_crypt_chacha_iv(const unsigned char nonce[XVA_CRYPT_IV_LEN],
			 uint64_t block, unsigned char iv16[16]);
/* AES-256-GCM (SP 800-38D, 96-bit IV): J0 = IV | 1 makes the tag, the
 * ciphertext starts at inc32(J0) = IV | 2; 16-byte block BLOCK is keyed
 * by IV | (2 + BLOCK) mod 2^32 (big-endian). GCM refuses more than
 * 2^32 - 2 blocks, so the 32-bit counter never wraps inside a file. */
void xva_crypt_gcm_iv(const unsigned char nonce[XVA_CRYPT_IV_LEN],
		      uint64_t block, unsigned char iv16[16]);
/* GCM's limit on a message: 2^36 - 32 bytes. */
#define XVA_CRYPT_GCM_MAX ((UINT64_C(1) << 36) - 32)

#endif
