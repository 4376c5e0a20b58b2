/* Offsets past 2^32: a gzip stream of 4.6 GiB whose compressed bytes also
 * pass 4 GiB, and a zstd stream (zstd -3 from a pipe, as XAPI writes it)
 * of 4.6 GiB. Every byte of the pass and of random reads around 4 GiB
 * (uncompressed and compressed), before and after the index is reloaded,
 * is checked against the generator. Minutes of work: labelled slow.
 *
 * The gzip member is made here with zlib rather than by gzip -1 (33 MB/s
 * on incompressible data: over two minutes): random runs are stored
 * blocks, other runs deflated at level 6, switched with deflateParams, so
 * the stream has both byte-aligned and mid-byte block boundaries. */
#include <sys/statvfs.h>
#include <zlib.h>

#include "compressed.h"

#define BIG_SIZE ((uint64_t)4 * 1024 * MIB + 600 * MIB + 12345)
#define SUB ((uint64_t)64 << 10)
#define FOUR_G ((uint64_t)1 << 32)

enum profile { INCOMPRESSIBLE, MIXED };

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* What a 64 KiB sub-block holds: 0 random, 1 zeros, 2 text. */
static int kind_of(uint64_t sub, enum profile p)
{
	unsigned r = (unsigned)(mix(sub ^ 0x5555) % 100);

	if (p == INCOMPRESSIBLE)
		return r < 94 ? 0 : r < 97 ? 1 : 2;
	return r < 5 ? 0 : r < 50 ? 1 : 2;
}

/* The payload's bytes [OFF, OFF + LEN), from a formula. */
static void generate(unsigned char *buf, uint64_t off, size_t len,
		     enum profile p)
{
	static const char words[] = "Ref:7/00004096 xvafs big test payload ";

	for (size_t i = 0; i < len;) {
		uint64_t at = off + i, sub = at / SUB;
		size_t n = (size_t)((sub + 1) * SUB - at);
		int kind = kind_of(sub, p);

		if (n > len - i)
			n = len - i;
		if (kind == 1) {
			memset(buf + i, 0, n);
		} else if (kind == 2) {
			for (size_t k = 0; k < n; k++)
				buf[i + k] = (unsigned char)
					words[(at + k) % (sizeof(words) - 1)];
		} else {
			for (size_t k = 0; k < n;) {
				uint64_t word = (at + k) / 8, r = mix(word);
				size_t in = (size_t)((at + k) % 8);
				size_t m = 8 - in < n - k ? 8 - in : n - k;

				memcpy(buf + i + k, (unsigned char *)&r + in, m);
				k += m;
			}
		}
		i += n;
	}
}

static bool make_gzip(const char *path)
{
	FILE *f = fopen(path, "wb");
	unsigned char *in = malloc(SUB), *out = malloc(4 * MIB);
	int level = -1;
	bool ok = f && in && out;
	z_stream s;

	memset(&s, 0, sizeof(s));
	ok = ok && deflateInit2(&s, 6, Z_DEFLATED, 15 + 16, 8,
				Z_DEFAULT_STRATEGY) == Z_OK;
	for (uint64_t at = 0; ok && at < BIG_SIZE; at += SUB) {
		size_t n = BIG_SIZE - at < SUB ? (size_t)(BIG_SIZE - at) : SUB;
		int want = kind_of(at / SUB, INCOMPRESSIBLE) == 0 ? 0 : 6;
		bool last = at + n == BIG_SIZE;

		generate(in, at, n, INCOMPRESSIBLE);
		if (want != level) {
			int ret;

			do {
				s.next_out = out;
				s.avail_out = 4 * MIB;
				ret = deflateParams(&s, want, Z_DEFAULT_STRATEGY);
				fwrite(out, 1, 4 * MIB - s.avail_out, f);
			} while (ret == Z_BUF_ERROR);
			ok = ret == Z_OK;
			level = want;
		}
		s.next_in = in;
		s.avail_in = (uInt)n;
		do {
			s.next_out = out;
			s.avail_out = 4 * MIB;
			deflate(&s, last ? Z_FINISH : Z_NO_FLUSH);
			if (fwrite(out, 1, 4 * MIB - s.avail_out, f) !=
			    4 * MIB - s.avail_out)
				ok = false;
		} while (ok && (s.avail_in || s.avail_out == 0));
	}
	deflateEnd(&s);
	if (f && fclose(f) != 0)
		ok = false;
	free(in);
	free(out);
	return ok;
}

static bool make_zstd(const char *path)
{
	char cmd[512];
	unsigned char *buf = malloc(4 * MIB);
	FILE *p;
	bool ok = buf != NULL;

	snprintf(cmd, sizeof(cmd), "zstd -q -3 -c > %s", path);
	p = popen(cmd, "w");
	if (!p) {
		free(buf);
		return false;
	}
	for (uint64_t at = 0; ok && at < BIG_SIZE; at += 4 * MIB) {
		size_t n = BIG_SIZE - at < 4 * MIB ? (size_t)(BIG_SIZE - at)
						   : 4 * MIB;

		generate(buf, at, n, MIXED);
		ok = fwrite(buf, 1, n, p) == n;
	}
	ok = pclose(p) == 0 && ok;
	free(buf);
	return ok;
}

static bool check_at(struct xva_source *src, uint64_t off, size_t len,
		     enum profile p, unsigned char *buf, unsigned char *want)
{
	struct xva_err err = { 0 };
	size_t got = 0, expect;

	if (xva_source_read(src, buf, len, off, &got, &err) != XVA_OK) {
		fprintf(stderr, "read %zu at %llu: %s\n", len,
			(unsigned long long)off, err.msg);
		return false;
	}
	expect = off >= BIG_SIZE ? 0 : BIG_SIZE - off < len
		 ? (size_t)(BIG_SIZE - off) : len;
	generate(want, off, expect, p);
	if (got != expect || memcmp(buf, want, got) != 0) {
		fprintf(stderr, "read %zu at %llu: wrong (got %zu of %zu)\n",
			len, (unsigned long long)off, got, expect);
		return false;
	}
	return true;
}

/* Reads around 4 GiB, near the end (compressed offsets past 4 GiB for
 * gzip), and anywhere. */
static bool random_big(struct xva_source *src, enum profile p, int n)
{
	unsigned char *buf = malloc(2 * MIB), *want = malloc(2 * MIB);
	bool ok = true;

	for (int i = 0; i < n && ok; i++) {
		uint64_t r = mix((uint64_t)i * 7919 + p), off;
		size_t len = 1 + (size_t)(r >> 40) % (2 * MIB - 1);

		switch (i % 3) {
		case 0:
			off = FOUR_G - 3 * MIB + (r % (6 * MIB));
			break;
		case 1:
			off = BIG_SIZE - 300 * MIB + r % (301 * MIB);
			break;
		default:
			off = r % BIG_SIZE;
			break;
		}
		ok = check_at(src, off, len, p, buf, want);
	}
	free(buf);
	free(want);
	return ok;
}

static bool pass_big(struct xva_source *src, enum profile p)
{
	unsigned char *buf = malloc(4 * MIB), *want = malloc(4 * MIB);
	struct xva_err err;
	uint64_t pos = 0;
	bool ok = true;

	while (ok) {
		size_t got = 0, len = 4 * MIB - (size_t)(pos % 4093);

		if (xva_source_read(src, buf, len, pos, &got, &err) != XVA_OK) {
			fprintf(stderr, "pass at %llu: %s\n",
				(unsigned long long)pos, err.msg);
			ok = false;
			break;
		}
		generate(want, pos, got, p);
		if (memcmp(buf, want, got) != 0) {
			fprintf(stderr, "pass at %llu: wrong\n",
				(unsigned long long)pos);
			ok = false;
		}
		pos += got;
		if (got < len)
			break;
	}
	if (ok && pos != BIG_SIZE) {
		fprintf(stderr, "the pass ended at %llu\n",
			(unsigned long long)pos);
		ok = false;
	}
	if (ok && xva_source_finish_pass(src, &err) != XVA_OK) {
		fprintf(stderr, "finish: %s\n", err.msg);
		ok = false;
	}
	free(buf);
	free(want);
	return ok && src->size == BIG_SIZE && !src->warning[0];
}

static void run_one(const char *path, const char *cache, enum profile p)
{
	struct xva_source_options o = { .cache_dir = cache,
					.s3_path_style = -1 };
	struct xva_source *src;

	for (int round = 0; round < 2; round++) {
		src = open_source(path, &o);
		CHECK(src && src->in_pass == (round == 0));
		if (!src)
			return;
		if (round == 0)
			CHECK_MSG(pass_big(src, p), "%s: the pass", path);
		CHECK_MSG(random_big(src, p, 600), "%s: random reads", path);
		xva_source_close(src);
	}
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	char dir[256], gz[300], zst[300], cache[300];
	struct statvfs vfs;
	struct stat st;

	need_tool("zstd");
	if (statvfs(base, &vfs) != 0 ||
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < 8ull * 1024 * MIB)
		skip("needs 8 GiB free in $TMPDIR or /var/tmp");
	snprintf(dir, sizeof(dir), "%s/xvafs-big-XXXXXX", base);
	if (!mkdtemp(dir))
		skip("cannot create a temporary folder");
	snprintf(gz, sizeof(gz), "%s/big.gz", dir);
	snprintf(zst, sizeof(zst), "%s/big.zst", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);

	CHECK(make_gzip(gz));
	CHECK(stat(gz, &st) == 0 && (uint64_t)st.st_size > FOUR_G + 100 * MIB);
	run_one(gz, cache, INCOMPRESSIBLE);
	unlink(gz);

	CHECK(make_zstd(zst));
	run_one(zst, cache, MIXED);

	run("rm -rf %s", dir);
	return CHECK_DONE();
}
