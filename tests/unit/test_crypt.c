/* The crypt source and Xen Orchestra's repository encryption, against
 * OpenSSL's own one-shot AEAD encryption:
 *  - the counter arithmetic against EVP_chacha20 streaming across the
 *    32-bit block counter's overflow (where OpenSSL carries into the
 *    nonce's first word, and that word's own wrap), and GCM's J0 + 1;
 *  - random ranges, odd and across cipher blocks, from several threads,
 *    against the plaintext, for both ciphers;
 *  - the pass that authenticates, its record in the cache, a tampered
 *    byte and a wrong key failing the tag, files too short;
 *  - keys, whole small files, a repository's key check, the guess that
 *    an export is an encrypted backup.
 *
 *   test_crypt            the above (seconds)
 *   test_crypt --overflow ChaCha20-Poly1305 (the AEAD, as Node uses it)
 *                         over 256 GiB + 1 MiB of zeros, streamed: its
 *                         last MiB against the crypt source's counter
 *                         arithmetic past the overflow (minutes) */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "check.h"
#include "xvafs/crypt.h"
#include "source/source.h"

#define MIB (1024u * 1024u)
#define PAYLOAD_SIZE (5 * MIB + 333)

static char dir[] = "/tmp/xvafs-crypt-XXXXXX";
static unsigned char *payload;
static struct xva_crypt_key key = { "0123456789abcdef0123456789ABCDEF" };
static struct xva_crypt_key other_key = { "0123456789abcdef0123456789ABCDEx" };

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1Dull;
}

static const EVP_CIPHER *aead_of(enum xva_crypt_alg alg)
{
	return alg == XVA_CRYPT_CHACHA20_POLY1305 ? EVP_chacha20_poly1305()
						  : EVP_aes_256_gcm();
}

/* IV | ciphertext | tag of DATA, as Xen Orchestra's encryptData makes it. */
static unsigned char *encrypt_all(enum xva_crypt_alg alg,
				  const struct xva_crypt_key *k,
				  const unsigned char *data, size_t len,
				  size_t *out_len)
{
	unsigned char *out = malloc(len + XVA_CRYPT_OVERHEAD);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, last = 0;

	RAND_bytes(out, XVA_CRYPT_IV_LEN);
	EVP_EncryptInit_ex2(ctx, aead_of(alg), k->bytes, out, NULL);
	EVP_EncryptUpdate(ctx, out + XVA_CRYPT_IV_LEN, &n, data, (int)len);
	EVP_EncryptFinal_ex(ctx, out + XVA_CRYPT_IV_LEN + n, &last);
	EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, XVA_CRYPT_TAG_LEN,
			    out + XVA_CRYPT_IV_LEN + len);
	EVP_CIPHER_CTX_free(ctx);
	*out_len = len + XVA_CRYPT_OVERHEAD;
	return out;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static char *path_in(const char *name)
{
	static char paths[16][512];
	static unsigned next;
	char *p = paths[next++ % 16];

	snprintf(p, 512, "%s/%s", dir, name);
	return p;
}

/* The counter functions against OpenSSL's ChaCha20 run across the block
 * counter's overflow from nonce word 0 = W0. */
static void test_chacha_counter(uint32_t w0)
{
	unsigned char nonce[12], iv[16], stream[64 * 32], one[64];
	static const unsigned char zeros[64 * 32];
	uint32_t c0 = 0xFFFFFFF0u;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n;

	RAND_bytes(nonce, sizeof(nonce));
	for (int i = 0; i < 4; i++)
		nonce[i] = (unsigned char)(w0 >> (8 * i));
	/* OpenSSL's own run: counter C0, then on past 2^32. */
	for (int i = 0; i < 4; i++)
		iv[i] = (unsigned char)(c0 >> (8 * i));
	memcpy(iv + 4, nonce, 12);
	EVP_EncryptInit_ex2(ctx, EVP_chacha20(), key.bytes, iv, NULL);
	EVP_EncryptUpdate(ctx, stream, &n, zeros, sizeof(zeros));
	for (unsigned j = 0; j < 32; j++) {
		/* Counter C0 + J is ciphertext block C0 + J - 1. */
		xva_crypt_chacha_iv(nonce, (uint64_t)c0 + j - 1, iv);
		EVP_EncryptInit_ex2(ctx, EVP_chacha20(), key.bytes, iv, NULL);
		EVP_EncryptUpdate(ctx, one, &n, zeros, 64);
		CHECK_MSG(memcmp(one, stream + 64 * j, 64) == 0,
			  "nonce word %08x, block counter %08x + %u", w0, c0, j);
	}
	/* Block 0 of the ciphertext is counter 1 with the nonce as is. */
	xva_crypt_chacha_iv(nonce, 0, iv);
	CHECK(iv[0] == 1 && iv[1] == 0 && iv[2] == 0 && iv[3] == 0);
	CHECK(memcmp(iv + 4, nonce, 12) == 0);
	EVP_CIPHER_CTX_free(ctx);
}

static void test_gcm_counter(void)
{
	unsigned char nonce[12], iv[16];

	RAND_bytes(nonce, sizeof(nonce));
	xva_crypt_gcm_iv(nonce, 0, iv);
	CHECK(memcmp(iv, nonce, 12) == 0);
	CHECK(iv[12] == 0 && iv[13] == 0 && iv[14] == 0 && iv[15] == 2);
	xva_crypt_gcm_iv(nonce, 0xFFFFFFFDull, iv);
	CHECK(iv[12] == 0xFF && iv[13] == 0xFF && iv[14] == 0xFF &&
	      iv[15] == 0xFF);
}

static struct xva_source *open_crypt(const char *path, enum xva_crypt_alg alg,
				     const struct xva_crypt_key *k,
				     const struct xva_source_options *o,
				     enum xva_status *status)
{
	struct xva_source *raw = NULL, *src = NULL;
	struct xva_err err = { 0 };
	enum xva_status st;

	st = xva_source_file_open(path, o, &raw, &err);
	if (st == XVA_OK)
		st = xva_source_crypt_open(raw, k, alg, o, &src, &err);
	if (status)
		*status = st;
	else
		CHECK_MSG(st == XVA_OK, "%s: %s", path, err.msg);
	return src;
}

static bool check_range(struct xva_source *src, const unsigned char *want,
			uint64_t size, uint64_t off, size_t len,
			unsigned char *buf)
{
	struct xva_err err = { 0 };
	size_t got = 0, expect = off >= size ? 0 :
			 (size - off < len ? (size_t)(size - off) : len);
	enum xva_status st = xva_source_read(src, buf, len, off, &got, &err);

	CHECK_MSG(st == XVA_OK, "read %zu at %llu: %s", len,
		  (unsigned long long)off, err.msg);
	CHECK_MSG(got == expect, "read %zu at %llu: got %zu", len,
		  (unsigned long long)off, got);
	if (st != XVA_OK || got != expect)
		return false;
	CHECK_MSG(memcmp(buf, want + off, got) == 0, "read %zu at %llu: bytes "
		  "differ", len, (unsigned long long)off);
	return memcmp(buf, want + off, got) == 0;
}

struct reader {
	struct xva_source *src;
	unsigned seed;
	bool ok;
};

/* Random ranges: odd offsets, tiny and large, across cipher blocks and
 * MiBs, at and past the end. */
static void *random_reads(void *arg)
{
	struct reader *r = arg;
	uint64_t s = 0x9E3779B97F4A7C15ull ^ r->seed, size = r->src->size;
	unsigned char *buf = malloc(2 * MIB);

	r->ok = true;
	for (int i = 0; i < 500 && r->ok; i++) {
		uint64_t x = rnd(&s), off = rnd(&s) % (size + 100);
		size_t len;

		switch (x % 4) {
		case 0: len = 1 + (size_t)((x >> 8) % 130); break;
		case 1: len = 1 + (size_t)((x >> 8) % (2 * MIB)); break;
		case 2: off = (off & ~(uint64_t)63) - (x >> 8) % 3;
			len = 1 + (size_t)((x >> 16) % 200); break;
		default: off = size - (x >> 8) % 100;
			len = 1 + (size_t)((x >> 16) % 300); break;
		}
		if (off > size + 100)
			off = 0;
		r->ok = check_range(r->src, payload, size, off, len, buf);
	}
	free(buf);
	return NULL;
}

static bool threaded_reads(struct xva_source *src, unsigned n)
{
	pthread_t t[8];
	struct reader r[8];
	bool ok = true;

	for (unsigned i = 0; i < n; i++) {
		r[i] = (struct reader){ src, i + 1, false };
		pthread_create(&t[i], NULL, random_reads, &r[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		ok = ok && r[i].ok;
	}
	return ok;
}

/* Unauthenticated on request: random access at once, a warning, and a
 * later authentication that clears it. */
static void test_unauthenticated(const char *path, enum xva_crypt_alg alg)
{
	struct xva_source_options o = { .crypt_unauthenticated = true };
	struct xva_source *src = open_crypt(path, alg, &key, &o, NULL);
	struct xva_source_info info;
	struct xva_err err = { 0 };

	if (!src)
		return;
	CHECK(!src->in_pass && src->size == PAYLOAD_SIZE && src->fd < 0);
	CHECK(xva_crypt_auth_state(src, NULL, 0) == XVA_CRYPT_AUTH_SKIPPED);
	CHECK(strstr(src->warning, "not authenticated") != NULL);
	CHECK(strncmp(src->identity, "crypt:", 6) == 0);
	xva_source_info(src, &info);
	CHECK(strcmp(info.kind, xva_crypt_alg_name(alg)) == 0);
	CHECK(strcmp(info.over, "file") == 0);
	CHECK(info.stored_size == PAYLOAD_SIZE + XVA_CRYPT_OVERHEAD);
	CHECK(threaded_reads(src, 4));
	CHECK_MSG(xva_crypt_authenticate(src, &err) == XVA_OK, "%s", err.msg);
	CHECK(xva_crypt_auth_state(src, NULL, 0) == XVA_CRYPT_AUTH_CHECKED);
	CHECK(src->warning[0] == '\0');
	xva_source_close(src);
}

/* The default: a pass that reads forward (a little back, a skip ahead),
 * the tag at its end, a record in the cache, random access after. */
static void test_pass(const char *path, enum xva_crypt_alg alg)
{
	struct xva_source_options o = { .cache_dir = path_in("cache") };
	struct xva_source *src = open_crypt(path, alg, &key, &o, NULL);
	unsigned char *buf = malloc(MIB);
	struct xva_source_info info;
	struct xva_err err = { 0 };
	size_t got;

	if (!src)
		return;
	CHECK(src->in_pass && !src->skip_is_free);
	CHECK(xva_crypt_auth_state(src, NULL, 0) == XVA_CRYPT_AUTH_PENDING);
	CHECK(check_range(src, payload, src->size, 0, 1000, buf));
	CHECK(check_range(src, payload, src->size, 17, 5000, buf));
	CHECK(check_range(src, payload, src->size, 2 * MIB + 5, 100, buf));
	CHECK(check_range(src, payload, src->size, 2 * MIB - 3, 9000, buf));
	/* More than the backlog behind: refused. */
	CHECK(xva_source_read(src, buf, 10, 0, &got, &err) == XVA_EINVAL);
	CHECK_MSG(xva_source_finish_pass(src, &err) == XVA_OK, "%s", err.msg);
	CHECK(!src->in_pass);
	CHECK(xva_crypt_auth_state(src, NULL, 0) == XVA_CRYPT_AUTH_CHECKED);
	CHECK(threaded_reads(src, 3));
	xva_source_info(src, &info);
	CHECK(info.cache_path[0] && access(info.cache_path, R_OK) == 0);
	xva_source_close(src);

	/* Again: the record, random access at once. */
	src = open_crypt(path, alg, &key, &o, NULL);
	if (src) {
		CHECK(!src->in_pass && !src->warning[0]);
		CHECK(xva_crypt_auth_state(src, NULL, 0) ==
		      XVA_CRYPT_AUTH_CACHED);
		CHECK(check_range(src, payload, src->size, 12345, 777, buf));
		xva_source_close(src);
	}
	/* Another key finds no record (and gets other bytes). */
	o.crypt_unauthenticated = true;
	src = open_crypt(path, alg, &other_key, &o, NULL);
	if (src) {
		CHECK(xva_crypt_auth_state(src, NULL, 0) ==
		      XVA_CRYPT_AUTH_SKIPPED);
		CHECK(xva_crypt_authenticate(src, &err) == XVA_ECORRUPT);
		xva_source_close(src);
	}
	/* fresh_pass: the record is not used. */
	o.crypt_unauthenticated = false;
	o.fresh_pass = true;
	src = open_crypt(path, alg, &key, &o, NULL);
	if (src) {
		CHECK(src->in_pass);
		CHECK(xva_source_finish_pass(src, &err) == XVA_OK);
		xva_source_close(src);
	}
	free(buf);
}

/* One flipped byte: the pass serves it (unauthenticated, to the pass's
 * reader only), the tag fails, and nothing is served after. */
static void test_tampered(const unsigned char *enc, size_t enc_len,
			  enum xva_crypt_alg alg)
{
	unsigned char *bad = malloc(enc_len), buf[64];
	struct xva_source_options o = { 0 };
	struct xva_source *src;
	struct xva_err err = { 0 };
	char note[XVA_ERR_MAX];
	const char *path = path_in("tampered");
	size_t got;

	memcpy(bad, enc, enc_len);
	bad[enc_len / 2] ^= 0x40;
	write_file(path, bad, enc_len);
	src = open_crypt(path, alg, &key, &o, NULL);
	if (src) {
		CHECK(xva_source_finish_pass(src, &err) == XVA_ECORRUPT);
		CHECK(err.reason == XVA_R_STREAM_CHECKSUM);
		CHECK_MSG(strstr(err.msg, "authentication failed") != NULL,
			  "%s", err.msg);
		CHECK(xva_crypt_auth_state(src, note, sizeof(note)) ==
		      XVA_CRYPT_AUTH_FAILED && strstr(note, "tag"));
		CHECK(xva_source_read(src, buf, 10, 0, &got, &err) ==
		      XVA_ECORRUPT);
		CHECK(xva_source_finish_pass(src, &err) == XVA_ECORRUPT);
		xva_source_close(src);
	}
	o.crypt_unauthenticated = true;
	src = open_crypt(path, alg, &key, &o, NULL);
	if (src) {
		CHECK(xva_source_read(src, buf, 10, 0, &got, &err) == XVA_OK);
		CHECK(xva_crypt_authenticate(src, &err) == XVA_ECORRUPT);
		CHECK(xva_source_read(src, buf, 10, 0, &got, &err) ==
		      XVA_ECORRUPT);
		xva_source_close(src);
	}
	/* The tag itself changed. */
	memcpy(bad, enc, enc_len);
	bad[enc_len - 1] ^= 1;
	write_file(path, bad, enc_len);
	o.crypt_unauthenticated = false;
	src = open_crypt(path, alg, &key, &o, NULL);
	if (src) {
		CHECK(xva_source_finish_pass(src, &err) == XVA_ECORRUPT);
		xva_source_close(src);
	}
	free(bad);
}

static void test_short_files(enum xva_crypt_alg alg)
{
	unsigned char *enc;
	size_t enc_len;
	struct xva_source *src;
	struct xva_err err = { 0 };
	enum xva_status st;
	const char *path = path_in("short");

	write_file(path, "0123456789abcdef0123456789", 27);
	src = open_crypt(path, alg, &key, NULL, &st);
	CHECK(st == XVA_EFORMAT && !src);
	/* An empty plaintext: 28 bytes, and its tag is still checked. */
	enc = encrypt_all(alg, &key, (const unsigned char *)"", 0, &enc_len);
	write_file(path, enc, enc_len);
	src = open_crypt(path, alg, &key, NULL, NULL);
	if (src) {
		CHECK(src->size == 0 && src->in_pass);
		CHECK(xva_source_finish_pass(src, &err) == XVA_OK);
		xva_source_close(src);
	}
	free(enc);
}

static void test_source(enum xva_crypt_alg alg)
{
	size_t enc_len;
	unsigned char *enc = encrypt_all(alg, &key, payload, PAYLOAD_SIZE,
					 &enc_len);
	const char *path = path_in(xva_crypt_alg_name(alg));

	write_file(path, enc, enc_len);
	test_unauthenticated(path, alg);
	test_pass(path, alg);
	test_tampered(enc, enc_len, alg);
	test_short_files(alg);
	free(enc);
}

static void test_keys(void)
{
	struct xva_crypt_key k;
	struct xva_err err = { 0 };
	const char *path = path_in("key");

	CHECK(xva_crypt_key_from_text((const char *)key.bytes, 32, &k, &err) ==
	      XVA_OK && memcmp(k.bytes, key.bytes, 32) == 0);
	CHECK(xva_crypt_key_from_text("0123456789abcdef0123456789ABCDEF\r\n",
				      34, &k, &err) == XVA_OK);
	CHECK(xva_crypt_key_from_text("short\n", 6, &k, &err) == XVA_EINVAL);
	CHECK(strstr(err.msg, "5 bytes") != NULL);
	write_file(path, "0123456789abcdef0123456789ABCDEF\n", 33);
	CHECK(xva_crypt_key_from_file(path, &k, &err) == XVA_OK &&
	      memcmp(k.bytes, key.bytes, 32) == 0);
	write_file(path, "0123456789abcdef0123456789ABCDEF0\n", 34);
	CHECK(xva_crypt_key_from_file(path, &k, &err) == XVA_EINVAL);
	CHECK(strstr(err.msg, path) != NULL);
	/* The file named once, before the key's own message (the wrapper
	 * formats over the message it wraps). */
	{
		char want[600];

		snprintf(want, sizeof(want), "key file %s: the key has 33 bytes",
			 path);
		CHECK(strncmp(err.msg, want, strlen(want)) == 0);
	}
	CHECK(xva_crypt_key_from_file(path_in("nokey"), &k, &err) ==
	      XVA_EOPEN);
	xva_crypt_key_wipe(&k);
}

static void test_buffer(enum xva_crypt_alg alg)
{
	static const char json[] = "{\"random\":\"x\"}";
	size_t enc_len, len;
	unsigned char *enc = encrypt_all(alg, &key, (const unsigned char *)json,
					 strlen(json), &enc_len), *out;
	struct xva_err err = { 0 };

	CHECK(xva_crypt_decrypt_buffer(&key, alg, enc, enc_len, "m", &out, &len,
				       &err) == XVA_OK);
	CHECK(len == strlen(json) && strcmp((char *)out, json) == 0);
	free(out);
	CHECK(xva_crypt_decrypt_buffer(&other_key, alg, enc, enc_len, "m", &out,
				       &len, &err) == XVA_ECORRUPT && !out);
	CHECK(xva_crypt_decrypt_buffer(&key, alg, enc, 20, "m", &out, &len,
				       &err) == XVA_EFORMAT);
	free(enc);
}

/* A repository as Xen Orchestra's handler lays it out (the e2e test uses
 * the handler itself). */
static void make_repo(const char *repo, const char *algorithm,
		      enum xva_crypt_alg alg)
{
	static const char meta[] = "{\"random\":\"5c3c9a52-2a1d-4f6e-9d7b-1\"}";
	char path[600];
	size_t len;
	unsigned char *enc;

	mkdir(repo, 0700);
	snprintf(path, sizeof(path), "%s/encryption.json", repo);
	if (algorithm)
		write_file(path, algorithm, strlen(algorithm));
	if (alg == XVA_CRYPT_NONE)
		return;
	enc = encrypt_all(alg, &key, (const unsigned char *)meta, strlen(meta),
			  &len);
	snprintf(path, sizeof(path), "%s/metadata.json", repo);
	write_file(path, enc, len);
	free(enc);
}

static void test_repo(void)
{
	struct xva_err err = { 0 };
	enum xva_crypt_alg alg;
	char *repo = path_in("repo"), *plain = path_in("plain");
	char *odd = path_in("odd"), *bad = path_in("bad");

	make_repo(repo, "{\"algorithm\":\"chacha20-poly1305\"}",
		  XVA_CRYPT_CHACHA20_POLY1305);
	CHECK_MSG(xva_xo_repo_check_key(repo, &key, NULL, &alg, &err) == XVA_OK,
		  "%s", err.msg);
	CHECK(alg == XVA_CRYPT_CHACHA20_POLY1305);
	CHECK(xva_xo_repo_check_key(repo, &other_key, NULL, &alg, &err) ==
	      XVA_EACCESS);
	CHECK_MSG(strncmp(err.msg, repo, strlen(repo)) == 0 &&
		  strncmp(err.msg + strlen(repo), ": wrong key: ", 13) == 0,
		  "%s", err.msg);
	CHECK(strchr(err.msg, '\n') == NULL);
	CHECK(xva_xo_repo_check_key(repo, NULL, NULL, &alg, &err) ==
	      XVA_EACCESS);
	CHECK_MSG(strcmp(err.msg, "the repository is encrypted "
			 "(chacha20-poly1305): it needs its encryption key") == 0 ||
		  strcmp(err.msg, "the repository is encrypted (aes-256-gcm): it "
			 "needs its encryption key") == 0, "%s", err.msg);

	make_repo(plain, NULL, XVA_CRYPT_NONE);
	CHECK(xva_xo_repo_check_key(plain, NULL, NULL, &alg, &err) == XVA_OK &&
	      alg == XVA_CRYPT_NONE);
	CHECK(xva_xo_repo_check_key(plain, &key, NULL, &alg, &err) ==
	      XVA_EINVAL);
	make_repo(odd, "{\"algorithm\":\"rot13\"}", XVA_CRYPT_NONE);
	CHECK(xva_xo_repo_check_key(odd, &key, NULL, &alg, &err) ==
	      XVA_EUNSUPPORTED);
	make_repo(bad, "[\"algorithm\"", XVA_CRYPT_NONE);
	CHECK(xva_xo_repo_check_key(bad, &key, NULL, &alg, &err) ==
	      XVA_EFORMAT);
	CHECK_MSG(strstr(err.msg, "encryption.json") != NULL, "%s", err.msg);
	/* encryption.json naming a cipher, no metadata.json. */
	make_repo(bad, "{\"algorithm\":\"aes-256-gcm\"}", XVA_CRYPT_NONE);
	CHECK(xva_xo_repo_check_key(bad, &key, NULL, &alg, &err) ==
	      XVA_EFORMAT);
}

static void test_guess(void)
{
	unsigned char head[1024], tar[1024] = { 0 };
	struct xva_crypt_guess g;
	char path[600], msg[1024];
	const char *repo = path_in("repo");
	unsigned long sum = 0;

	RAND_bytes(head, sizeof(head));
	snprintf(path, sizeof(path), "%s/xo-vm-backups", repo);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/xo-vm-backups/u", repo);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/xo-vm-backups/u/20260131T020000Z.xva",
		 repo);
	write_file(path, head, sizeof(head));
	xva_crypt_guess(path, head, sizeof(head), NULL, &g);
	CHECK(g.kind == XVA_CRYPT_GUESS_REPO &&
	      g.alg == XVA_CRYPT_CHACHA20_POLY1305);
	CHECK(strcmp(g.repo, repo) == 0);
	xva_crypt_guess_message(&g, path, "--key-file", msg, sizeof(msg));
	CHECK_MSG(strstr(msg, "encrypted") && strstr(msg, "--key-file"), "%s",
		  msg);
	/* Outside any repository: random bytes. */
	xva_crypt_guess("/nonexistent/x.xva", head, sizeof(head), NULL, &g);
	CHECK(g.kind == XVA_CRYPT_GUESS_RANDOM);
	/* A tar header, gzip, zstd: not encrypted, wherever they are. */
	memcpy(tar, "ova.xml", 7);
	memcpy(tar + 124, "00000001000", 11);
	memset(tar + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += tar[i];
	snprintf((char *)tar + 148, 8, "%06lo", sum);
	xva_crypt_guess(path, tar, sizeof(tar), NULL, &g);
	CHECK(g.kind == XVA_CRYPT_GUESS_NO);
	head[0] = 0x1f;
	head[1] = 0x8b;
	xva_crypt_guess(path, head, sizeof(head), NULL, &g);
	CHECK(g.kind == XVA_CRYPT_GUESS_NO);
	memcpy(head, "\x28\xb5\x2f\xfd", 4);
	xva_crypt_guess(path, head, sizeof(head), NULL, &g);
	CHECK(g.kind == XVA_CRYPT_GUESS_NO);
}

/* The AEAD itself (EVP_chacha20_poly1305, what Node's createCipheriv
 * runs) over 2^32 - 1 keystream blocks and then 1 MiB more: its last MiB,
 * past the block counter's overflow, against a range the crypt source's
 * arithmetic decrypts. */
static int test_overflow(void)
{
	size_t step = 64 * MIB, tail = MIB;
	/* Ciphertext bytes before the tail: blocks 0 .. 2^32 - 2, counters
	 * 1 .. 2^32 - 1. */
	uint64_t head = (((uint64_t)1 << 32) - 1) * 64, done = 0;
	unsigned char *zeros = calloc(1, step), *out = malloc(step);
	unsigned char nonce[12], iv[16], ks[64];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n;

	RAND_bytes(nonce, sizeof(nonce));
	EVP_EncryptInit_ex2(ctx, EVP_chacha20_poly1305(), key.bytes, nonce,
			    NULL);
	while (done < head) {
		size_t len = head - done < step ? (size_t)(head - done) : step;

		EVP_EncryptUpdate(ctx, out, &n, zeros, (int)len);
		done += len;
	}
	/* The tail, zeros in: the keystream from counter 2^32 on, the
	 * first blocks past the overflow. */
	EVP_EncryptUpdate(ctx, out, &n, zeros, (int)tail);
	for (uint64_t b = 0; b < tail / 64; b += 1 + b / 2) {
		xva_crypt_chacha_iv(nonce, head / 64 + b, iv);
		EVP_EncryptInit_ex2(ctx, EVP_chacha20(), key.bytes, iv, NULL);
		EVP_EncryptUpdate(ctx, ks, &n, zeros, 64);
		CHECK_MSG(memcmp(ks, out + 64 * b, 64) == 0,
			  "block %llu past the overflow",
			  (unsigned long long)b);
	}
	EVP_CIPHER_CTX_free(ctx);
	free(zeros);
	free(out);
	if (!check_failures)
		printf("ChaCha20-Poly1305 past 256 GiB: OpenSSL's carry into "
		       "the nonce matched\n");
	return CHECK_DONE();
}

int main(int argc, char **argv)
{
	int fd;

	if (argc > 1 && strcmp(argv[1], "--overflow") == 0)
		return test_overflow();
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	payload = malloc(PAYLOAD_SIZE);
	fd = open("/dev/urandom", O_RDONLY);
	CHECK(fd >= 0 && read(fd, payload, PAYLOAD_SIZE) == PAYLOAD_SIZE);
	close(fd);
	test_chacha_counter(0x01020304u);
	test_chacha_counter(0xFFFFFFFFu);
	test_gcm_counter();
	test_source(XVA_CRYPT_CHACHA20_POLY1305);
	test_source(XVA_CRYPT_AES_256_GCM);
	test_keys();
	test_buffer(XVA_CRYPT_CHACHA20_POLY1305);
	test_buffer(XVA_CRYPT_AES_256_GCM);
	test_repo();
	test_guess();
	free(payload);
	if (fork() == 0) {
		execlp("rm", "rm", "-rf", dir, (char *)NULL);
		_exit(127);
	}
	wait(NULL);
	return CHECK_DONE();
}
