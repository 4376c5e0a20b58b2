/* Shared by the tests of the compressed sources (test_source_gzip.c,
 * test_source_zstd.c): a pseudo-export payload, the real gzip and zstd
 * command-line tools to compress it the way XAPI does, and checks that
 * compare every byte a source serves with the payload. */
#ifndef XVAFS_TEST_COMPRESSED_H
#define XVAFS_TEST_COMPRESSED_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "source/source.h"

#define MIB ((size_t)1 << 20)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static inline uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

static inline uint64_t rng_below(uint64_t n)
{
	return n ? rng() % n : 0;
}

/* Exits 77 (SKIP) unless CI asked that everything run. */
static inline void skip(const char *why)
{
	const char *req = getenv("XVAFS_REQUIRE_MOUNT");

	if (req && strcmp(req, "1") == 0) {
		fprintf(stderr, "FAIL: cannot run (XVAFS_REQUIRE_MOUNT=1): %s\n",
			why);
		exit(1);
	}
	printf("SKIP: %s\n", why);
	exit(77);
}

static inline void need_tool(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	if (system(cmd) != 0) {
		char why[128];

		snprintf(why, sizeof(why), "%s is not installed", name);
		skip(why);
	}
}

static inline int run(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline int run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
	return rc;
}

/* Something like an export: 512-byte "headers" of text, then member data
 * of random bytes, zero runs and text, in 512-byte multiples mostly. */
static inline unsigned char *make_payload(size_t size)
{
	static const char words[] = "xvafs export ova.xml Ref:12/00000042 "
				    "virtual_size name_label <value>1</value> ";
	unsigned char *p = malloc(size ? size : 1);
	size_t at = 0;

	while (at < size) {
		size_t hdr = size - at < 512 ? size - at : 512, len, kind;

		for (size_t i = 0; i < hdr; i++)
			p[at + i] = (unsigned char)words[(at + i) %
							 (sizeof(words) - 1)];
		at += hdr;
		len = 512 * (1 + rng_below(2048));
		if (rng_below(8) == 0)
			len += rng_below(512);
		if (len > size - at)
			len = size - at;
		kind = rng_below(3);
		for (size_t i = 0; i < len;) {
			size_t run_len = 4096 + rng_below(65536);

			if (run_len > len - i)
				run_len = len - i;
			if (kind == 0) {
				for (size_t k = 0; k < run_len; k += 8) {
					uint64_t r = rng();

					memcpy(p + at + i + k, &r,
					       run_len - k < 8 ? run_len - k : 8);
				}
			} else if (kind == 1) {
				memset(p + at + i, 0, run_len);
			} else {
				for (size_t k = 0; k < run_len; k++)
					p[at + i + k] = (unsigned char)
						words[(k * 7 + i) %
						      (sizeof(words) - 1)];
			}
			i += run_len;
			kind = rng_below(3);
		}
		at += len;
	}
	return p;
}

static inline int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -1;
	if (len && fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static inline unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
			free(data);
			data = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return data;
}

/* Files in DIR whose names start with PREFIX ("" for all). */
static inline int count_files(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || strncmp(e->d_name, ".tmp", 4) == 0)
			n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	closedir(d);
	return n;
}

static inline void empty_dir(const char *dir)
{
	run("rm -rf '%s'/* '%s'/.tmp-* 2>/dev/null; true", dir, dir);
}

struct expect {
	const unsigned char *data;
	size_t len;
};

/* One read at OFF of LEN bytes, checked byte for byte: short only where
 * the expected data ends. */
static inline bool check_read(struct xva_source *src, const struct expect *x,
			      uint64_t off, size_t len, unsigned char *buf)
{
	struct xva_err err = { 0 };
	size_t got = 0, want;
	enum xva_status st;

	st = xva_source_read(src, buf, len, off, &got, &err);
	if (st != XVA_OK) {
		fprintf(stderr, "read %zu at %llu: %s\n", len,
			(unsigned long long)off, err.msg);
		return false;
	}
	want = off >= x->len ? 0 : (x->len - off < len ? x->len - off : len);
	if (got != want) {
		fprintf(stderr, "read %zu at %llu: got %zu, want %zu\n", len,
			(unsigned long long)off, got, want);
		return false;
	}
	if (got && memcmp(buf, x->data + off, got) != 0) {
		for (size_t i = 0; i < got; i++)
			if (buf[i] != x->data[off + i]) {
				fprintf(stderr, "read %zu at %llu: byte %llu "
					"differs\n", len, (unsigned long long)off,
					(unsigned long long)(off + i));
				break;
			}
		return false;
	}
	return true;
}

/* The pass as a tar walk does it, with reads of varied sizes and small
 * steps back inside the backlog; returns the bytes it got in order. */
static inline bool pass_reads(struct xva_source *src, const struct expect *x)
{
	static const size_t sizes[] = { 1, 511, 512, 10240, MIB + 3, 4096,
					 65536, 7 };
	unsigned char *buf = malloc(MIB + 3);
	uint64_t pos = 0;
	bool ok = true;

	for (size_t i = 0; ok; i++) {
		size_t len = sizes[i % (sizeof(sizes) / sizeof(sizes[0]))];
		struct xva_err err = { 0 };
		size_t got = 0;

		if (i % 5 == 4 && pos > 0) {
			uint64_t back = rng_below(pos < XVA_PASS_BACKLOG ? pos
						  : XVA_PASS_BACKLOG);

			ok = check_read(src, x, pos - back,
					back < 4096 ? (size_t)back + 1 : 4096,
					buf);
			if (!ok)
				break;
		}
		if (xva_source_read(src, buf, len, pos, &got, &err) != XVA_OK) {
			fprintf(stderr, "pass read at %llu: %s\n",
				(unsigned long long)pos, err.msg);
			ok = false;
			break;
		}
		if (pos + got > x->len || memcmp(buf, x->data + pos, got) != 0) {
			fprintf(stderr, "pass read at %llu: wrong bytes\n",
				(unsigned long long)pos);
			ok = false;
			break;
		}
		pos += got;
		if (got < len)
			break;
	}
	if (ok && pos != x->len) {
		fprintf(stderr, "the pass ended at %llu, want %zu\n",
			(unsigned long long)pos, x->len);
		ok = false;
	}
	free(buf);
	return ok;
}

/* N random reads: odd offsets and lengths, many across 1 MiB blocks. */
static inline bool random_reads(struct xva_source *src, const struct expect *x,
				int n, uint64_t seed)
{
	unsigned char *buf = malloc(3 * MIB);
	uint64_t s = seed | 1;
	bool ok = true;

	for (int i = 0; i < n && ok; i++) {
		uint64_t off, span = x->len + 4096;
		size_t len;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		switch (s % 4) {
		case 0: /* just across a block boundary */
			off = ((s >> 8) % (span / MIB + 1)) * MIB;
			off = off > 100 ? off - (s >> 40) % 100 : off;
			len = 1 + (s >> 20) % 300;
			break;
		case 1: /* big */
			off = (s >> 8) % span;
			len = 1 + (s >> 30) % (3 * MIB - 1);
			break;
		default:
			off = (s >> 8) % span;
			len = 1 + (s >> 40) % 9000;
			break;
		}
		ok = check_read(src, x, off, len, buf);
	}
	free(buf);
	return ok;
}

struct reader_job {
	struct xva_source *src;
	const struct expect *x;
	uint64_t seed;
	int n;
	bool ok;
};

static inline void *reader_thread(void *arg)
{
	struct reader_job *j = arg;

	j->ok = random_reads(j->src, j->x, j->n, j->seed);
	return NULL;
}

static inline bool concurrent_reads(struct xva_source *src,
				    const struct expect *x, int threads, int n)
{
	pthread_t t[16];
	struct reader_job jobs[16];
	bool ok = true;

	for (int i = 0; i < threads; i++) {
		jobs[i] = (struct reader_job){ src, x, 1000 + (uint64_t)i * 77,
					       n, false };
		pthread_create(&t[i], NULL, reader_thread, &jobs[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		ok = ok && jobs[i].ok;
	}
	return ok;
}

/* Opens PATH as xvafs does: the magic picks the decoder. */
static inline struct xva_source *open_source(const char *path,
					     const struct xva_source_options *o)
{
	struct xva_source *src = NULL;
	struct xva_err err = { 0 };

	if (xva_source_open(path, o, &src, &err) != XVA_OK) {
		fprintf(stderr, "open %s: %s\n", path, err.msg);
		return NULL;
	}
	return src;
}

/* A whole pass then random reads: the common check of a stream that is
 * expected to decode to X, exactly. */
static inline bool full_check(struct xva_source *src, const struct expect *x,
			      int n_random)
{
	struct xva_err err = { 0 };
	bool ok;

	ok = pass_reads(src, x);
	if (xva_source_finish_pass(src, &err) != XVA_OK) {
		fprintf(stderr, "finish: %s\n", err.msg);
		return false;
	}
	if (src->in_pass || src->size != x->len) {
		fprintf(stderr, "after the pass: in_pass %d size %llu, want "
			"%zu\n", src->in_pass, (unsigned long long)src->size,
			x->len);
		return false;
	}
	return ok && random_reads(src, x, n_random, 42 + x->len);
}

#endif
