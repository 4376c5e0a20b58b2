/* The crypt source: a file Xen Orchestra encrypted (IV | ciphertext | tag,
 * see xvafs/crypt.h) read as its plaintext, over a raw source (a local
 * file, an object over HTTP or in S3), and under the gzip and zstd
 * decoders like any raw source.
 *
 * Any range is decrypted at once: both ciphers are counter mode, so the
 * keystream at a byte is the cipher of a counter computed from its
 * offset (xva_crypt_chacha_iv, xva_crypt_gcm_iv). A read takes a keyed
 * cipher context from a small pool, sets its counter, skips to the byte
 * within the block and decrypts in place: no copy beyond the raw read.
 *
 * The tag covers the whole file and is checked in one full pass. Until
 * it is, the bytes are not authenticated; the source serves none of them
 * to anyone but its pass unless its opener said so
 * (crypt_unauthenticated):
 *  - a record in the cache folder that this file (its identity: raw
 *    identity, IV, tag, key fingerprint) was authenticated with this key
 *    (an HMAC under the key, so only the key's holder can write one):
 *    random access from the start;
 *  - else, by default, the source starts in a pass (source.h): reads go
 *    forward, each byte is decrypted through the AEAD cipher (which MACs
 *    it), finish_pass reads the rest and checks the tag, and only then
 *    is it out of its pass. The tar walk, the one reader of a pass, sees
 *    unauthenticated bytes, and the export is served only after
 *    finish_pass succeeded; a tag that does not match fails finish_pass
 *    and every read after it;
 *  - with crypt_unauthenticated: random access from the start, a warning
 *    saying the data is not authenticated, and xva_crypt_authenticate()
 *    to check it later (--verify).
 *
 * Locks: pass_lock (the pass, the state, the authentication) is taken
 * before pool_lock; pool_lock is a leaf held only to push or pop a
 * context. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "xvafs/atomicfile.h"
#include "xvafs/cachefile.h"
#include "xvafs/crypt.h"
#include "source/source.h"

#define POOL_MAX 16
/* The pass reads and MACs this much at a time. */
#define PASS_STEP (1u << 20)
/* How often the pass reports progress. */
#define PROGRESS_STEP (64u << 20)
/* EVP takes int lengths. */
#define EVP_STEP (1u << 30)

struct crypt_pass {
	EVP_CIPHER_CTX *aead;  /* the AEAD cipher, fed every byte in order */
	uint64_t pos;          /* ciphertext bytes fed so far */
	uint64_t reported;     /* pos at the last progress report */
	unsigned char *scratch; /* PASS_STEP bytes for skipped ranges */
	/* Read-ahead of the raw source for the pass's reads (its lock a
	 * leaf, dropped before the raw source is hinted). */
	struct xva_stream raw_stream;
};

struct crypt_source {
	struct xva_source base;
	struct xva_source *raw;
	enum xva_crypt_alg alg;
	unsigned char key[XVA_CRYPT_KEY_LEN];
	unsigned char nonce[XVA_CRYPT_IV_LEN];
	unsigned char tag[XVA_CRYPT_TAG_LEN];
	unsigned block_len;        /* 64 (ChaCha20) or 16 (AES) */
	EVP_CIPHER *ctr;           /* ChaCha20 / AES-256-CTR, for ranges */
	EVP_CIPHER *aead;          /* ChaCha20-Poly1305 / AES-256-GCM */
	pthread_mutex_t pool_lock; /* leaf: guards pool and pool_n */
	EVP_CIPHER_CTX *pool[POOL_MAX];
	unsigned pool_n;
	pthread_mutex_t pass_lock; /* before pool_lock: the rest below */
	enum xva_crypt_auth auth;
	struct crypt_pass *pass;   /* while auth is PENDING */
	struct xva_err failed;     /* why every read fails (FAILED) */
	char *auth_path;           /* the record in the cache folder, or NULL */
	char *cache_dir;           /* where auth_path is, or NULL */
	char note[XVA_ERR_MAX];    /* a record that could not be written */
	xva_progress_fn progress;
	void *progress_ctx;
	const volatile sig_atomic_t *stop;
};

static const char auth_magic[] = "xvafs crypt authenticated 1\n";

void xva_crypt_chacha_iv(const unsigned char nonce[XVA_CRYPT_IV_LEN],
			 uint64_t block, unsigned char iv16[16])
{
	/* The 64-bit count of blocks from the first keystream block (the
	 * Poly1305 key's): its low word is ChaCha's counter, its high word
	 * what OpenSSL carried into the nonce's first word. */
	uint64_t counter = block + 1;
	uint32_t low = (uint32_t)counter, carry = (uint32_t)(counter >> 32);
	uint32_t word1 = (uint32_t)nonce[0] | (uint32_t)nonce[1] << 8 |
			 (uint32_t)nonce[2] << 16 | (uint32_t)nonce[3] << 24;

	word1 += carry; /* wraps as OpenSSL's counter[1]++ does */
	for (int i = 0; i < 4; i++) {
		iv16[i] = (unsigned char)(low >> (8 * i));
		iv16[4 + i] = (unsigned char)(word1 >> (8 * i));
	}
	memcpy(iv16 + 8, nonce + 4, 8);
}

void xva_crypt_gcm_iv(const unsigned char nonce[XVA_CRYPT_IV_LEN],
		      uint64_t block, unsigned char iv16[16])
{
	uint32_t counter = (uint32_t)(block + 2);

	memcpy(iv16, nonce, XVA_CRYPT_IV_LEN);
	for (int i = 0; i < 4; i++)
		iv16[12 + i] = (unsigned char)(counter >> (24 - 8 * i));
}

/* A keyed context for ranges, from the pool or new. */
static EVP_CIPHER_CTX *ctx_get(struct crypt_source *cs, struct xva_err *err)
{
	static const unsigned char zero_iv[16];
	EVP_CIPHER_CTX *ctx = NULL;

	pthread_mutex_lock(&cs->pool_lock);
	if (cs->pool_n)
		ctx = cs->pool[--cs->pool_n];
	pthread_mutex_unlock(&cs->pool_lock);
	if (ctx)
		return ctx;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx || !EVP_CipherInit_ex2(ctx, cs->ctr, cs->key, zero_iv, 1,
					NULL)) {
		EVP_CIPHER_CTX_free(ctx);
		xva_fail(err, XVA_ENOMEM, "cannot set up the %s cipher",
			 xva_crypt_alg_name(cs->alg));
		return NULL;
	}
	return ctx;
}

static void ctx_put(struct crypt_source *cs, EVP_CIPHER_CTX *ctx)
{
	pthread_mutex_lock(&cs->pool_lock);
	if (cs->pool_n < POOL_MAX) {
		cs->pool[cs->pool_n++] = ctx;
		ctx = NULL;
	}
	pthread_mutex_unlock(&cs->pool_lock);
	EVP_CIPHER_CTX_free(ctx);
}

/* EVP_CipherUpdate over LEN bytes, in steps EVP's int can count. */
static bool cipher_update(EVP_CIPHER_CTX *ctx, unsigned char *out,
			  const unsigned char *in, size_t len)
{
	while (len) {
		int step = (int)(len < EVP_STEP ? len : EVP_STEP), n = 0;

		if (!EVP_CipherUpdate(ctx, out, &n, in, step) || n != step)
			return false;
		out += step;
		in += step;
		len -= (size_t)step;
	}
	return true;
}

/* Decrypts in place BUF, the LEN ciphertext bytes at plaintext offset
 * OFF, by counter arithmetic. */
static enum xva_status decrypt_at(struct crypt_source *cs, unsigned char *buf,
				  size_t len, uint64_t off, struct xva_err *err)
{
	static const unsigned char zeros[64];
	unsigned char iv[16], junk[64];
	unsigned skip = (unsigned)(off % cs->block_len);
	EVP_CIPHER_CTX *ctx = ctx_get(cs, err);
	bool ok;

	if (!ctx)
		return err ? err->status : XVA_ENOMEM;
	if (cs->alg == XVA_CRYPT_CHACHA20_POLY1305)
		xva_crypt_chacha_iv(cs->nonce, off / cs->block_len, iv);
	else
		xva_crypt_gcm_iv(cs->nonce, off / cs->block_len, iv);
	/* A new counter on a keyed context: the key schedule stays. */
	ok = EVP_CipherInit_ex2(ctx, NULL, NULL, iv, 1, NULL) &&
	     (!skip || cipher_update(ctx, junk, zeros, skip)) &&
	     cipher_update(ctx, buf, buf, len);
	if (!ok) {
		EVP_CIPHER_CTX_free(ctx);
		return xva_fail(err, XVA_EIO, "%s: cannot decrypt %zu bytes at "
				"byte %llu", xva_crypt_alg_name(cs->alg), len,
				(unsigned long long)off);
	}
	ctx_put(cs, ctx);
	return XVA_OK;
}

/* The LEN ciphertext bytes of plaintext offset OFF, from the raw source:
 * all of them, the caller having bounded LEN by the size. */
static enum xva_status raw_read(struct crypt_source *cs, unsigned char *buf,
				size_t len, uint64_t off, struct xva_err *err)
{
	enum xva_status st;
	size_t got = 0;

	st = xva_source_read(cs->raw, buf, len, off + XVA_CRYPT_IV_LEN, &got,
			     err);
	if (st == XVA_OK && got < len)
		st = xva_fail(err, XVA_ECHANGED, "the encrypted file ends at "
			      "byte %llu, before its tag: it changed since it "
			      "was opened", (unsigned long long)
			      (off + XVA_CRYPT_IV_LEN + got));
	return st;
}

static enum xva_status range_read(struct crypt_source *cs, unsigned char *buf,
				  size_t len, uint64_t off, struct xva_err *err)
{
	enum xva_status st = raw_read(cs, buf, len, off, err);

	return st == XVA_OK ? decrypt_at(cs, buf, len, off, err) : st;
}

static void report(struct crypt_source *cs, struct crypt_pass *p, bool force)
{
	if (!cs->progress ||
	    (!force && p->pos - p->reported < PROGRESS_STEP))
		return;
	p->reported = p->pos;
	cs->progress(cs->progress_ctx, p->pos, cs->base.size);
}

/* Feeds the AEAD cipher the ciphertext up to plaintext offset UPTO. The
 * plaintext lands in DEST (which holds plaintext offsets DEST_OFF on) for
 * the part from DEST_OFF on, in the scratch buffer before it. */
static enum xva_status pass_feed(struct crypt_source *cs, struct crypt_pass *p,
				 uint64_t upto, unsigned char *dest,
				 uint64_t dest_off, struct xva_err *err)
{
	while (p->pos < upto) {
		bool to_dest = dest && p->pos >= dest_off;
		uint64_t room = upto - p->pos;
		size_t n;
		unsigned char *out;
		enum xva_status st;

		if (!to_dest && dest && dest_off - p->pos < room)
			room = dest_off - p->pos; /* up to where DEST starts */
		n = (size_t)(room < PASS_STEP ? room : PASS_STEP);
		out = to_dest ? dest + (p->pos - dest_off) : p->scratch;
		if (cs->stop && *cs->stop)
			return xva_fail(err, XVA_EINTR, "authentication pass "
					"interrupted at byte %llu",
					(unsigned long long)p->pos);
		xva_source_note_read(cs->raw, &p->raw_stream,
				     p->pos + XVA_CRYPT_IV_LEN, n);
		st = raw_read(cs, out, n, p->pos, err);
		if (st != XVA_OK)
			return st;
		if (!cipher_update(p->aead, out, out, n))
			return xva_fail(err, XVA_EIO, "%s: cannot decrypt at "
					"byte %llu", xva_crypt_alg_name(cs->alg),
					(unsigned long long)p->pos);
		p->pos += n;
		report(cs, p, false);
	}
	return XVA_OK;
}

static void pass_free(struct crypt_pass *p)
{
	if (!p)
		return;
	EVP_CIPHER_CTX_free(p->aead);
	xva_stream_destroy(&p->raw_stream);
	free(p->scratch);
	free(p);
}

static enum xva_status pass_new(struct crypt_source *cs,
				struct crypt_pass **out, struct xva_err *err)
{
	struct crypt_pass *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return xva_nomem(err);
	xva_stream_init(&p->raw_stream, XVA_READAHEAD_DEFAULT);
	p->scratch = malloc(PASS_STEP);
	p->aead = EVP_CIPHER_CTX_new();
	if (!p->scratch || !p->aead ||
	    !EVP_DecryptInit_ex2(p->aead, cs->aead, cs->key, cs->nonce, NULL)) {
		pass_free(p);
		return xva_fail(err, XVA_ENOMEM, "cannot set up the %s cipher",
				xva_crypt_alg_name(cs->alg));
	}
	*out = p;
	return XVA_OK;
}

/* The tag, once P has been fed every byte. */
static enum xva_status pass_check_tag(struct crypt_source *cs,
				      struct crypt_pass *p, struct xva_err *err)
{
	unsigned char tag[XVA_CRYPT_TAG_LEN], last[64];
	int n = 0;

	memcpy(tag, cs->tag, sizeof(tag));
	if (!EVP_CIPHER_CTX_ctrl(p->aead, EVP_CTRL_AEAD_SET_TAG, sizeof(tag),
				 tag))
		return xva_fail(err, XVA_EIO, "%s: cannot set the tag",
				xva_crypt_alg_name(cs->alg));
	if (EVP_DecryptFinal_ex(p->aead, last, &n) != 1)
		return xva_fail_why(err, XVA_ECORRUPT, XVA_R_STREAM_CHECKSUM,
				    "authentication failed: the %s tag at byte "
				    "%llu does not match the data: the file was "
				    "changed or damaged after it was encrypted, "
				    "or the key is not its repository's",
				    xva_crypt_alg_name(cs->alg),
				    (unsigned long long)(cs->raw->size -
							 XVA_CRYPT_TAG_LEN));
	return XVA_OK;
}

/* HMAC-SHA256 under the key of LABEL and TEXT. */
static void key_mac(const struct crypt_source *cs, const char *label,
		    const char *text, unsigned char mac[32])
{
	unsigned char msg[8192];
	size_t a = strlen(label), b = strlen(text);
	unsigned len = 0;

	if (a + b > sizeof(msg))
		b = sizeof(msg) - a;
	memcpy(msg, label, a);
	memcpy(msg + a, text, b);
	HMAC(EVP_sha256(), cs->key, sizeof(cs->key), msg, a + b, mac, &len);
}

static void to_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

/* What the record in the cache folder holds for this file and key. */
static void auth_record(const struct crypt_source *cs, char *buf, size_t len)
{
	unsigned char mac[32];
	char hex[65];

	key_mac(cs, "xvafs authenticated\n", cs->base.identity, mac);
	to_hex(mac, sizeof(mac), hex);
	snprintf(buf, len, "%s%s\n", auth_magic, hex);
}

static bool auth_load(struct crypt_source *cs)
{
	char want[128], have[128];
	size_t n;
	FILE *f;

	if (!cs->auth_path)
		return false;
	f = fopen(cs->auth_path, "re");
	if (!f)
		return false;
	n = fread(have, 1, sizeof(have) - 1, f);
	fclose(f);
	have[n] = '\0';
	auth_record(cs, want, sizeof(want));
	return n == strlen(want) && CRYPTO_memcmp(have, want, n) == 0;
}

/* Records that the tag was checked; trouble is a note, never a failure. */
static void auth_save(struct crypt_source *cs)
{
	struct xva_err err;
	char record[128];

	if (!cs->auth_path)
		return;
	auth_record(cs, record, sizeof(record));
	if (xva_cache_mkdir(cs->cache_dir, &err) != XVA_OK ||
	    xva_atomic_file_write(cs->auth_path, record, strlen(record),
				  &err) != XVA_OK)
		snprintf(cs->note, sizeof(cs->note), "cannot record the "
			 "authentication: %.400s", err.msg);
}

/* After a tag that did not match: no byte is served any more. */
static enum xva_status auth_failed(struct crypt_source *cs,
				   const struct xva_err *why)
{
	cs->failed = *why;
	cs->auth = XVA_CRYPT_AUTH_FAILED;
	return why->status;
}

/* The pass of a PENDING source: its reads. Under pass_lock. */
static enum xva_status pass_read(struct crypt_source *cs, unsigned char *buf,
				 size_t len, uint64_t off, struct xva_err *err)
{
	struct crypt_pass *p = cs->pass;
	uint64_t end = off + len;
	enum xva_status st;

	if (p->pos > XVA_PASS_BACKLOG && off < p->pos - XVA_PASS_BACKLOG)
		return xva_fail(err, XVA_EINVAL, "an encrypted file is read in "
				"one pass until its tag is checked: byte %llu "
				"is more than %u bytes behind byte %llu, already "
				"read", (unsigned long long)off,
				XVA_PASS_BACKLOG, (unsigned long long)p->pos);
	if (off < p->pos) {
		size_t back = (size_t)((end < p->pos ? end : p->pos) - off);

		st = range_read(cs, buf, back, off, err);
		if (st != XVA_OK)
			return st;
	}
	return pass_feed(cs, p, end, buf, off, err);
}

static enum xva_status crypt_read(struct xva_source *src, void *buf,
				  size_t len, uint64_t off, size_t *got,
				  struct xva_err *err)
{
	struct crypt_source *cs = (struct crypt_source *)src;
	enum xva_status st;

	*got = 0;
	if (off >= src->size)
		return XVA_OK;
	if (len > src->size - off)
		len = (size_t)(src->size - off);
	if (!src->in_pass) {
		st = range_read(cs, buf, len, off, err);
	} else {
		pthread_mutex_lock(&cs->pass_lock);
		if (cs->auth == XVA_CRYPT_AUTH_FAILED) {
			if (err)
				*err = cs->failed;
			st = cs->failed.status;
		} else {
			st = pass_read(cs, buf, len, off, err);
		}
		pthread_mutex_unlock(&cs->pass_lock);
	}
	if (st == XVA_OK)
		*got = len;
	return st;
}

static void crypt_prefetch(struct xva_source *src, uint64_t off, uint64_t len)
{
	struct crypt_source *cs = (struct crypt_source *)src;

	xva_source_prefetch(cs->raw, off + XVA_CRYPT_IV_LEN, len);
}

static bool crypt_would_wait(struct xva_source *src, uint64_t off,
			     uint64_t len)
{
	struct crypt_source *cs = (struct crypt_source *)src;

	return xva_source_would_wait(cs->raw, off + XVA_CRYPT_IV_LEN, len);
}

/* Ends the pass: the rest of the file through the MAC, then the tag.
 * Under pass_lock. */
static enum xva_status finish_locked(struct crypt_source *cs,
				     struct xva_err *err)
{
	struct crypt_pass *p = cs->pass;
	struct xva_err why;
	enum xva_status st;

	if (cs->auth == XVA_CRYPT_AUTH_FAILED) {
		if (err)
			*err = cs->failed;
		return cs->failed.status;
	}
	if (!p)
		return XVA_OK;
	st = pass_feed(cs, p, cs->base.size, NULL, 0, err);
	if (st != XVA_OK)
		return st; /* a read failed or a stop: it may be tried again */
	report(cs, p, true);
	st = pass_check_tag(cs, p, &why);
	if (st != XVA_OK) {
		if (err)
			*err = why;
		return auth_failed(cs, &why);
	}
	pass_free(p);
	cs->pass = NULL;
	cs->auth = XVA_CRYPT_AUTH_CHECKED;
	auth_save(cs);
	cs->base.skip_is_free = cs->raw->skip_is_free;
	cs->base.in_pass = false;
	return XVA_OK;
}

static enum xva_status crypt_finish_pass(struct xva_source *src,
					 struct xva_err *err)
{
	struct crypt_source *cs = (struct crypt_source *)src;
	enum xva_status st;

	pthread_mutex_lock(&cs->pass_lock);
	st = finish_locked(cs, err);
	pthread_mutex_unlock(&cs->pass_lock);
	return st;
}

static void crypt_info(const struct xva_source *src,
		       struct xva_source_info *info)
{
	const struct crypt_source *cs = (const struct crypt_source *)src;
	struct xva_source_info raw = { 0 };

	xva_source_info(cs->raw, &raw);
	info->kind = xva_crypt_alg_name(cs->alg);
	info->over = raw.kind;
	info->stored_size = cs->raw->size;
	info->index_loaded = cs->auth == XVA_CRYPT_AUTH_CACHED;
	if (cs->auth_path && (cs->auth == XVA_CRYPT_AUTH_CACHED ||
			      (cs->auth == XVA_CRYPT_AUTH_CHECKED &&
			       !cs->note[0]))) {
		snprintf(info->cache_path, sizeof(info->cache_path), "%s",
			 cs->auth_path);
		info->cache_bytes = sizeof(auth_magic) - 1 + 65;
	}
}

static void crypt_before_fork(struct xva_source *src)
{
	xva_source_before_fork(((struct crypt_source *)src)->raw);
}

static void crypt_after_fork(struct xva_source *src)
{
	xva_source_after_fork(((struct crypt_source *)src)->raw);
}

static void crypt_close(struct xva_source *src)
{
	struct crypt_source *cs = (struct crypt_source *)src;

	for (unsigned i = 0; i < cs->pool_n; i++)
		EVP_CIPHER_CTX_free(cs->pool[i]);
	pass_free(cs->pass);
	EVP_CIPHER_free(cs->ctr);
	EVP_CIPHER_free(cs->aead);
	xva_source_close(cs->raw);
	pthread_mutex_destroy(&cs->pool_lock);
	pthread_mutex_destroy(&cs->pass_lock);
	free(cs->auth_path);
	free(cs->cache_dir);
	xva_source_fini(src);
	OPENSSL_cleanse(cs->key, sizeof(cs->key));
	free(cs);
}

static const struct xva_source_ops crypt_ops = {
	.read = crypt_read,
	.prefetch = crypt_prefetch,
	.would_wait = crypt_would_wait,
	.finish_pass = crypt_finish_pass,
	.info = crypt_info,
	.before_fork = crypt_before_fork,
	.after_fork = crypt_after_fork,
	.close = crypt_close,
};

static struct crypt_source *as_crypt(const struct xva_source *src)
{
	return src && src->ops == &crypt_ops ? (struct crypt_source *)src
					     : NULL;
}

enum xva_crypt_auth xva_crypt_auth_state(const struct xva_source *src,
					 char *note, size_t note_len)
{
	struct crypt_source *cs = as_crypt(src);
	enum xva_crypt_auth auth;

	if (!cs)
		return XVA_CRYPT_AUTH_NOT_ENCRYPTED;
	pthread_mutex_lock(&cs->pass_lock);
	auth = cs->auth;
	if (note && note_len)
		snprintf(note, note_len, "%s", auth == XVA_CRYPT_AUTH_FAILED ?
			 cs->failed.msg : cs->note);
	pthread_mutex_unlock(&cs->pass_lock);
	return auth;
}

/* A whole pass of its own over a source out of its pass. Under
 * pass_lock. */
static enum xva_status authenticate_locked(struct crypt_source *cs,
					   struct xva_err *err)
{
	struct crypt_pass *p;
	struct xva_err why;
	enum xva_status st;

	st = pass_new(cs, &p, err);
	if (st != XVA_OK)
		return st;
	st = pass_feed(cs, p, cs->base.size, NULL, 0, err);
	if (st == XVA_OK) {
		report(cs, p, true);
		st = pass_check_tag(cs, p, &why);
		if (st != XVA_OK) {
			if (err)
				*err = why;
			auth_failed(cs, &why);
			/* From now on every read goes through the failed
			 * state. */
			cs->base.in_pass = true;
		}
	}
	pass_free(p);
	if (st == XVA_OK) {
		cs->auth = XVA_CRYPT_AUTH_CHECKED;
		cs->base.warning[0] = '\0'; /* only ours: "not authenticated" */
		auth_save(cs);
	}
	return st;
}

enum xva_status xva_crypt_authenticate(struct xva_source *src,
				       struct xva_err *err)
{
	struct crypt_source *cs = as_crypt(src);
	enum xva_status st;

	if (!cs)
		return xva_fail(err, XVA_EINVAL, "not an encrypted source");
	pthread_mutex_lock(&cs->pass_lock);
	if (cs->auth == XVA_CRYPT_AUTH_FAILED) {
		if (err)
			*err = cs->failed;
		st = cs->failed.status;
	} else if (cs->pass) {
		st = finish_locked(cs, err);
	} else {
		st = authenticate_locked(cs, err);
	}
	pthread_mutex_unlock(&cs->pass_lock);
	return st;
}

/* The IV and the tag, and the checks on the raw size. */
static enum xva_status read_frame(struct crypt_source *cs, struct xva_err *err)
{
	struct xva_source *raw = cs->raw;
	enum xva_status st;

	if (raw->in_pass || raw->size == XVA_SIZE_UNKNOWN)
		return xva_fail(err, XVA_EINVAL, "an encrypted file is read "
				"over a raw source of known size");
	if (raw->size < XVA_CRYPT_OVERHEAD)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_EMPTY, "%llu bytes: "
				    "too short for an encrypted file (a %d-byte "
				    "IV and a %d-byte tag)",
				    (unsigned long long)raw->size,
				    XVA_CRYPT_IV_LEN, XVA_CRYPT_TAG_LEN);
	if (cs->alg == XVA_CRYPT_AES_256_GCM &&
	    raw->size - XVA_CRYPT_OVERHEAD > XVA_CRYPT_GCM_MAX)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_SIZE, "%llu bytes: "
				    "longer than AES-256-GCM can encrypt "
				    "(2^36 - 32 bytes and its IV and tag)",
				    (unsigned long long)raw->size);
	st = xva_source_read_full(raw, cs->nonce, sizeof(cs->nonce), 0,
				  "the IV", err);
	if (st == XVA_OK)
		st = xva_source_read_full(raw, cs->tag, sizeof(cs->tag),
					  raw->size - XVA_CRYPT_TAG_LEN,
					  "the tag", err);
	return st;
}

static enum xva_status fetch_ciphers(struct crypt_source *cs,
				     struct xva_err *err)
{
	bool chacha = cs->alg == XVA_CRYPT_CHACHA20_POLY1305;

	/* Fetched once: an implicit fetch on every read would look the
	 * provider up under OpenSSL's locks. */
	cs->ctr = EVP_CIPHER_fetch(NULL, chacha ? "ChaCha20" : "AES-256-CTR",
				   NULL);
	cs->aead = EVP_CIPHER_fetch(NULL, chacha ? "ChaCha20-Poly1305"
					       : "AES-256-GCM", NULL);
	if (!cs->ctr || !cs->aead)
		return xva_fail(err, XVA_EUNSUPPORTED, "this OpenSSL has no %s",
				xva_crypt_alg_name(cs->alg));
	cs->block_len = chacha ? 64 : 16;
	return XVA_OK;
}

/* "crypt:ALG:key=FINGERPRINT:iv=HEX:tag=HEX:" and the raw identity: the
 * plaintext's bytes differ whenever any part does (another key gives
 * other bytes, a rewritten file another IV). */
static enum xva_status make_identity(struct crypt_source *cs, char **out,
				     struct xva_err *err)
{
	unsigned char fp[32];
	char fp_hex[17], iv_hex[2 * XVA_CRYPT_IV_LEN + 1];
	char tag_hex[2 * XVA_CRYPT_TAG_LEN + 1];

	key_mac(cs, "xvafs key fingerprint", "", fp);
	to_hex(fp, 8, fp_hex);
	to_hex(cs->nonce, sizeof(cs->nonce), iv_hex);
	to_hex(cs->tag, sizeof(cs->tag), tag_hex);
	if (asprintf(out, "crypt:%s:key=%s:iv=%s:tag=%s:%s",
		     xva_crypt_alg_name(cs->alg), fp_hex, iv_hex, tag_hex,
		     cs->raw->identity) < 0) {
		*out = NULL;
		return xva_nomem(err);
	}
	return XVA_OK;
}

/* Where the source starts: authenticated by a record, unauthenticated
 * because the opener said so, or in its pass. */
static enum xva_status start_state(struct crypt_source *cs,
				   const struct xva_source_options *o,
				   struct xva_err *err)
{
	struct xva_source *src = &cs->base;

	if (o && o->cache_dir) {
		cs->cache_dir = strdup(o->cache_dir);
		cs->auth_path = xva_cache_path(o->cache_dir, src->identity,
					       "auth");
		if (!cs->cache_dir || !cs->auth_path)
			return xva_nomem(err);
	}
	if (!(o && o->fresh_pass) && auth_load(cs)) {
		cs->auth = XVA_CRYPT_AUTH_CACHED;
	} else if (o && o->crypt_unauthenticated) {
		cs->auth = XVA_CRYPT_AUTH_SKIPPED;
		xva_source_warn(src, "not authenticated: the %s tag of this "
				"encrypted file has not been checked, its data "
				"may have been altered", xva_crypt_alg_name(cs->alg));
	} else {
		cs->auth = XVA_CRYPT_AUTH_PENDING;
		src->in_pass = true;
		return pass_new(cs, &cs->pass, err);
	}
	src->skip_is_free = cs->raw->skip_is_free;
	return XVA_OK;
}

enum xva_status xva_source_crypt_open(struct xva_source *raw,
				      const struct xva_crypt_key *key,
				      enum xva_crypt_alg alg,
				      const struct xva_source_options *o,
				      struct xva_source **out,
				      struct xva_err *err)
{
	struct crypt_source *cs;
	enum xva_status st;
	char *identity = NULL;

	*out = NULL;
	if (alg != XVA_CRYPT_CHACHA20_POLY1305 && alg != XVA_CRYPT_AES_256_GCM) {
		xva_source_close(raw);
		return xva_fail(err, XVA_EINVAL, "not a cipher of Xen "
				"Orchestra's: %d", (int)alg);
	}
	cs = calloc(1, sizeof(*cs));
	if (!cs) {
		xva_source_close(raw);
		return xva_nomem(err);
	}
	cs->raw = raw;
	cs->alg = alg;
	memcpy(cs->key, key->bytes, sizeof(cs->key));
	pthread_mutex_init(&cs->pool_lock, NULL);
	pthread_mutex_init(&cs->pass_lock, NULL);
	st = xva_source_init(&cs->base, &crypt_ops, raw->location, "", err);
	if (st != XVA_OK) {
		cs->base.ops = &crypt_ops;
		crypt_close(&cs->base);
		return st;
	}
	st = read_frame(cs, err);
	if (st == XVA_OK)
		st = fetch_ciphers(cs, err);
	if (st == XVA_OK)
		st = make_identity(cs, &identity, err);
	if (st == XVA_OK) {
		free(cs->base.identity);
		cs->base.identity = identity;
		cs->base.size = raw->size - XVA_CRYPT_OVERHEAD;
		cs->base.mtime = raw->mtime;
		if (o) {
			cs->progress = o->progress;
			cs->progress_ctx = o->progress_ctx;
			cs->stop = o->stop;
		}
		st = start_state(cs, o, err);
	}
	if (st != XVA_OK) {
		crypt_close(&cs->base);
		return st;
	}
	*out = &cs->base;
	return XVA_OK;
}
