/* A Xen Orchestra repository's encryption as a whole: the algorithm
 * encryption.json names, the key users give and its check against
 * metadata.json, whole small files decrypted with their tag checked, and
 * the guess that an export which is neither tar, gzip nor zstd is an
 * encrypted backup (so that it is reported as one, not as "not a tar").
 * The per-range decryption of a big file is the crypt source's
 * (source/crypt.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "xvafs/crypt.h"
#include "source/source.h"

/* encryption.json and metadata.json are a few dozen bytes. */
#define REPO_FILE_MAX 65536
/* Folders above an export searched for its repository's encryption.json:
 * REPO/xo-vm-backups/VM/BACKUP.xva is 3 up; one more for a copy kept one
 * folder deeper. */
#define GUESS_LEVELS 4

const char *xva_crypt_alg_name(enum xva_crypt_alg alg)
{
	switch (alg) {
	case XVA_CRYPT_NONE: return "none";
	case XVA_CRYPT_CHACHA20_POLY1305: return "chacha20-poly1305";
	case XVA_CRYPT_AES_256_GCM: return "aes-256-gcm";
	}
	return NULL;
}

enum xva_status xva_crypt_alg_parse(const char *name, enum xva_crypt_alg *alg,
				    struct xva_err *err)
{
	static const enum xva_crypt_alg all[] = {
		XVA_CRYPT_NONE, XVA_CRYPT_CHACHA20_POLY1305,
		XVA_CRYPT_AES_256_GCM,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(name, xva_crypt_alg_name(all[i])) == 0) {
			*alg = all[i];
			return XVA_OK;
		}
	return xva_fail(err, XVA_EUNSUPPORTED, "encryption algorithm \"%.100s\" "
			"is not one Xen Orchestra writes (chacha20-poly1305, "
			"aes-256-gcm, none)", name);
}

enum xva_status xva_crypt_key_from_text(const char *text, size_t len,
					struct xva_crypt_key *key,
					struct xva_err *err)
{
	if (len && text[len - 1] == '\n')
		len--;
	if (len && text[len - 1] == '\r')
		len--;
	if (len != XVA_CRYPT_KEY_LEN)
		return xva_fail(err, XVA_EINVAL, "the key has %zu bytes: Xen "
				"Orchestra's encryption keys are %d characters "
				"(%d bytes)", len, XVA_CRYPT_KEY_LEN,
				XVA_CRYPT_KEY_LEN);
	memcpy(key->bytes, text, XVA_CRYPT_KEY_LEN);
	return XVA_OK;
}

enum xva_status xva_crypt_key_from_file(const char *path,
					struct xva_crypt_key *key,
					struct xva_err *err)
{
	char buf[4097];
	size_t len = 0;
	enum xva_status st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return xva_fail(err, errno == EACCES ? XVA_EACCESS : XVA_EOPEN,
				"key file %s: %s", path, strerror(errno));
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			st = xva_fail(err, XVA_EIO, "key file %s: %s", path,
				      strerror(errno));
			close(fd);
			OPENSSL_cleanse(buf, sizeof(buf));
			return st;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	st = xva_crypt_key_from_text(buf, len, key, err);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (st != XVA_OK)
		return xva_fail(err, st, "key file %s: %s%s", path,
				len == sizeof(buf) ? "over 4 KiB; " : "",
				err ? err->msg : "");
	return XVA_OK;
}

void xva_crypt_key_wipe(struct xva_crypt_key *key)
{
	OPENSSL_cleanse(key->bytes, sizeof(key->bytes));
}

enum xva_status xva_crypt_decrypt_buffer(const struct xva_crypt_key *key,
					 enum xva_crypt_alg alg, const void *in,
					 size_t len, const char *what,
					 unsigned char **out, size_t *out_len,
					 struct xva_err *err)
{
	const unsigned char *bytes = in;
	unsigned char tag[XVA_CRYPT_TAG_LEN], *plain;
	size_t body;
	EVP_CIPHER_CTX *ctx;
	int n = 0, last = 0;
	bool ok;

	*out = NULL;
	*out_len = 0;
	if (alg != XVA_CRYPT_CHACHA20_POLY1305 && alg != XVA_CRYPT_AES_256_GCM)
		return xva_fail(err, XVA_EINVAL, "%s: not a cipher of Xen "
				"Orchestra's", what);
	if (len < XVA_CRYPT_OVERHEAD || len - XVA_CRYPT_OVERHEAD > INT_MAX)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_SIZE, "%s: %zu bytes "
				    "cannot be an encrypted file", what, len);
	body = len - XVA_CRYPT_OVERHEAD;
	plain = malloc(body + 1);
	ctx = EVP_CIPHER_CTX_new();
	if (!plain || !ctx) {
		free(plain);
		EVP_CIPHER_CTX_free(ctx);
		return xva_nomem(err);
	}
	memcpy(tag, bytes + len - XVA_CRYPT_TAG_LEN, sizeof(tag));
	ok = EVP_DecryptInit_ex2(ctx, alg == XVA_CRYPT_CHACHA20_POLY1305 ?
				 EVP_chacha20_poly1305() : EVP_aes_256_gcm(),
				 key->bytes, bytes, NULL) &&
	     EVP_DecryptUpdate(ctx, plain, &n, bytes + XVA_CRYPT_IV_LEN,
			       (int)body) &&
	     EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, sizeof(tag), tag);
	ok = ok && EVP_DecryptFinal_ex(ctx, plain + n, &last) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		OPENSSL_cleanse(plain, body);
		free(plain);
		return xva_fail_why(err, XVA_ECORRUPT, XVA_R_STREAM_CHECKSUM,
				    "%s: its %s tag does not match: another "
				    "key, or a damaged file", what,
				    xva_crypt_alg_name(alg));
	}
	plain[body] = '\0';
	*out = plain;
	*out_len = body;
	return XVA_OK;
}

/* ST, with ERR's message behind LOCATION. */
static enum xva_status name_it(const char *location, enum xva_status st,
			       struct xva_err *err)
{
	struct xva_err inner;

	if (st == XVA_OK || !err)
		return st;
	inner = *err;
	return xva_fail_why(err, st, inner.reason, "%s: %s", location,
			    inner.msg);
}

enum xva_status xva_read_small_file(const char *location,
				    const struct xva_source_options *o,
				    size_t max, unsigned char **out,
				    size_t *out_len, struct xva_err *err)
{
	struct xva_source *src = NULL;
	unsigned char *buf;
	enum xva_status st;

	*out = NULL;
	*out_len = 0;
	/* A raw kind, never the factory: an encrypted file's random first
	 * bytes may happen to be a gzip magic. */
	if (xva_location_is_url(location))
		st = xva_source_http_open(location, o, &src, err);
	else
		st = xva_source_file_open(location, o, &src, err);
	if (st != XVA_OK)
		return name_it(location, st, err);
	if (src->size > max) {
		st = xva_fail_why(err, XVA_EFORMAT, XVA_R_SIZE, "%llu bytes: "
				  "more than the %zu such a file may have",
				  (unsigned long long)src->size, max);
		xva_source_close(src);
		return st;
	}
	buf = malloc((size_t)src->size + 1);
	if (!buf) {
		xva_source_close(src);
		return xva_nomem(err);
	}
	st = xva_source_read_full(src, buf, (size_t)src->size, 0, "the file",
				  err);
	if (st == XVA_OK) {
		buf[src->size] = '\0';
		*out = buf;
		*out_len = (size_t)src->size;
	} else {
		free(buf);
	}
	xva_source_close(src);
	return name_it(location, st, err);
}

/* PREFIX/NAME; malloc'ed. */
static char *join(const char *prefix, const char *name)
{
	size_t n = strlen(prefix);
	char *path;

	while (n > 1 && prefix[n - 1] == '/')
		n--;
	if (asprintf(&path, "%.*s/%s", (int)n, prefix, name) < 0)
		return NULL;
	return path;
}

/* The algorithm REPO/encryption.json names: XVA_EOPEN when there is none
 * (the caller decides what that means). */
static enum xva_status read_algorithm(const char *repo,
				      const struct xva_source_options *o,
				      enum xva_crypt_alg *alg,
				      struct xva_err *err)
{
	char *path = join(repo, "encryption.json");
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL, *name;
	unsigned char *text = NULL;
	size_t len;
	enum xva_status st;

	if (!path)
		return xva_nomem(err);
	st = xva_read_small_file(path, o, REPO_FILE_MAX, &text, &len, err);
	if (st == XVA_OK) {
		tok = json_tokener_new();
		if (!tok)
			st = xva_nomem(err);
	}
	if (st == XVA_OK) {
		root = json_tokener_parse_ex(tok, (const char *)text, (int)len);
		if (!root || json_tokener_get_error(tok) != json_tokener_success ||
		    !json_object_is_type(root, json_type_object) ||
		    !json_object_object_get_ex(root, "algorithm", &name) ||
		    !json_object_is_type(name, json_type_string))
			st = xva_fail(err, XVA_EFORMAT, "%s: not {\"algorithm\": "
				      "NAME} as Xen Orchestra writes it", path);
		else
			st = name_it(path, xva_crypt_alg_parse(
					json_object_get_string(name), alg, err),
				     err);
	}
	json_object_put(root);
	if (tok)
		json_tokener_free(tok);
	free(text);
	free(path);
	return st;
}

/* metadata.json decrypts with KEY into a JSON value, as Xen Orchestra
 * checks a key. */
static enum xva_status check_metadata(const char *repo,
				      const struct xva_crypt_key *key,
				      enum xva_crypt_alg alg,
				      const struct xva_source_options *o,
				      struct xva_err *err)
{
	char *path = join(repo, "metadata.json");
	unsigned char *enc = NULL, *plain = NULL;
	struct json_object *json = NULL;
	size_t len, plain_len = 0;
	enum xva_status st;

	if (!path)
		return xva_nomem(err);
	st = xva_read_small_file(path, o, REPO_FILE_MAX, &enc, &len, err);
	if (st == XVA_EOPEN) {
		st = xva_fail(err, XVA_EFORMAT, "%s: %s names %s but has no "
			      "metadata.json to check a key against", repo,
			      "encryption.json", xva_crypt_alg_name(alg));
	} else if (st == XVA_OK) {
		st = xva_crypt_decrypt_buffer(key, alg, enc, len, path, &plain,
					      &plain_len, err);
		if (st == XVA_ECORRUPT)
			st = xva_fail(err, XVA_EACCESS, "%s: wrong key: it "
				      "does not decrypt its metadata.json (%s)",
				      repo, xva_crypt_alg_name(alg));
	}
	if (st == XVA_OK) {
		json = json_tokener_parse((const char *)plain);
		if (!json)
			st = xva_fail(err, XVA_EFORMAT, "%s decrypts, but not "
				      "into JSON", path);
	}
	json_object_put(json);
	if (plain)
		OPENSSL_cleanse(plain, plain_len);
	free(plain);
	free(enc);
	free(path);
	return st;
}

enum xva_status xva_xo_repo_check_key(const char *repo,
				      const struct xva_crypt_key *key,
				      const struct xva_source_options *o,
				      enum xva_crypt_alg *alg,
				      struct xva_err *err)
{
	enum xva_status st = read_algorithm(repo, o, alg, err);

	if (st == XVA_EOPEN) {
		/* Xen Orchestra reads a repository without encryption.json
		 * as unencrypted. */
		*alg = XVA_CRYPT_NONE;
		st = XVA_OK;
	}
	if (st != XVA_OK)
		return st;
	if (*alg == XVA_CRYPT_NONE)
		return key ? xva_fail(err, XVA_EINVAL, "%s is not encrypted: "
				      "it needs no key", repo)
			   : XVA_OK;
	/* Only a repository opened without a key comes here: its caller
	 * names REPO and says how a key is given. */
	if (!key)
		return xva_fail(err, XVA_EACCESS, "the repository is encrypted "
				"(%s): it needs its encryption key",
				xva_crypt_alg_name(*alg));
	return check_metadata(repo, key, *alg, o, err);
}

/* Whether HEAD starts a stream xvafs knows: tar (a header whose checksum
 * adds up), gzip, zstd, or the xz and bzip2 it refuses by name. */
static bool known_stream(const unsigned char *head, size_t len)
{
	static const struct { const char *magic; size_t len; } magics[] = {
		{ "\x1f\x8b", 2 }, { "\x28\xb5\x2f\xfd", 4 },
		{ "\xfd" "7zXZ", 5 }, { "BZh", 3 },
	};
	unsigned long sum = 0, stored = 0;

	for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
		if (len >= magics[i].len &&
		    memcmp(head, magics[i].magic, magics[i].len) == 0)
			return true;
	if (len < 512)
		return false;
	if (memcmp(head + 257, "ustar", 5) == 0)
		return true;
	for (size_t i = 0; i < 512; i++)
		sum += (i >= 148 && i < 156) ? ' ' : head[i];
	for (size_t i = 148; i < 156 && head[i] >= '0' && head[i] <= '7'; i++)
		stored = stored * 8 + (unsigned long)(head[i] - '0');
	return stored == sum;
}

/* Random-looking: no more zero bytes, and no more repeats of the byte
 * before, than chance gives (2 each in 512, on average); a tar header,
 * ova.xml or an HTML error page has far more. */
static bool looks_random(const unsigned char *head, size_t len)
{
	unsigned zeros = 0, repeats = 0;

	if (len < 512)
		return false;
	for (size_t i = 0; i < 512; i++) {
		zeros += head[i] == 0;
		repeats += i && head[i] == head[i - 1];
	}
	return zeros <= 12 && repeats <= 12;
}

enum xva_status xva_xo_find_repo(const char *location,
				 const struct xva_source_options *o,
				 char *repo, size_t len,
				 enum xva_crypt_alg *alg, struct xva_err *err)
{
	char dir[4096];

	/* A local path is made absolute, so that a bare file name has
	 * folders above it too. */
	if (xva_location_is_url(location) || !realpath(location, dir))
		snprintf(dir, sizeof(dir), "%s", location);
	for (int level = 0; level < GUESS_LEVELS; level++) {
		char *slash = strrchr(dir, '/');
		enum xva_status st;

		/* Up one folder; never past a URL's host. */
		if (!slash || slash == dir || (slash > dir && slash[-1] == '/'))
			break;
		*slash = '\0';
		st = read_algorithm(dir, o, alg, err);
		if (st == XVA_EOPEN || (st == XVA_OK && *alg == XVA_CRYPT_NONE))
			continue;
		if (st == XVA_OK)
			snprintf(repo, len, "%s", dir);
		return st;
	}
	return xva_fail(err, XVA_EOPEN, "%s is in no encrypted Xen Orchestra "
			"repository: none of the %d folders above it has an "
			"encryption.json that names a cipher", location,
			GUESS_LEVELS);
}

void xva_crypt_guess(const char *location, const unsigned char *head,
		     size_t head_len, const struct xva_source_options *o,
		     struct xva_crypt_guess *guess)
{
	struct xva_err err;

	memset(guess, 0, sizeof(*guess));
	if (head_len < XVA_CRYPT_OVERHEAD || known_stream(head, head_len))
		return;
	if (xva_xo_find_repo(location, o, guess->repo, sizeof(guess->repo),
			     &guess->alg, &err) == XVA_OK) {
		guess->kind = XVA_CRYPT_GUESS_REPO;
		return;
	}
	guess->alg = XVA_CRYPT_NONE;
	if (looks_random(head, head_len))
		guess->kind = XVA_CRYPT_GUESS_RANDOM;
}

const char *xva_crypt_auth_name(enum xva_crypt_auth auth)
{
	switch (auth) {
	case XVA_CRYPT_AUTH_NOT_ENCRYPTED: return "";
	case XVA_CRYPT_AUTH_PENDING: return "pending";
	case XVA_CRYPT_AUTH_SKIPPED: return "skipped";
	case XVA_CRYPT_AUTH_CACHED: return "cached";
	case XVA_CRYPT_AUTH_CHECKED: return "checked";
	case XVA_CRYPT_AUTH_FAILED: return "failed";
	}
	return "";
}

void xva_crypt_guess_message(const struct xva_crypt_guess *guess,
			     const char *location, const char *how, char *buf,
			     size_t len)
{
	switch (guess->kind) {
	case XVA_CRYPT_GUESS_REPO:
		snprintf(buf, len, "%s is a backup Xen Orchestra encrypted "
			 "(%s, repository %s): give the repository's "
			 "encryption key with %s", location,
			 xva_crypt_alg_name(guess->alg), guess->repo, how);
		break;
	case XVA_CRYPT_GUESS_RANDOM:
		snprintf(buf, len, "%s is neither tar, gzip nor zstd and its "
			 "bytes look random: if it is a backup from an "
			 "encrypted Xen Orchestra repository, open it in its "
			 "repository (beside encryption.json) with the "
			 "repository's encryption key, given with %s", location,
			 how);
		break;
	default:
		snprintf(buf, len, "%s does not look encrypted", location);
		break;
	}
}
