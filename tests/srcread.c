/* srcread: opens a location with xva_source_open() and checks what it
 * reads against a local copy of the (uncompressed) tar, byte for byte.
 *
 *   srcread [options] LOCATION LOCAL [MODE...]
 *
 * Modes run in order (default: seq random):
 *   seq           every byte, in order, CHUNK bytes a read (prints MB/s)
 *   random        --reads random reads of odd offsets and lengths that
 *                 cross block boundaries, from --threads threads at once
 *   lend          the random reads lent in place (xva_source_lend), from
 *                 --threads threads, each keeping its last leases while
 *                 it reads on and checking their bytes again before it
 *                 releases them (the cache must not evict what is lent)
 *   latency       --reads single 4 KiB reads at random 4 KiB-aligned
 *                 offsets, one at a time: prints median and p99 in ms
 *   walk          the tar walk's access pattern: reads 10240 bytes at each
 *                 header position of LOCAL, prefetching the position
 *                 --ahead headers further on (0: none), prints seconds
 *   commands      reads lines "read OFF LEN" / "prefetch OFF LEN" / "info"
 *                 from stdin and answers each with one line: "ok", or
 *                 "error NAME: message" (for tests that change the server
 *                 between reads)
 * A failure to open prints "open: error NAME: message" and exits 3; a
 * mismatch or failed read exits 1. For a source that starts in a pass
 * (compressed), seq runs first and ends the pass.
 *
 *   auth          checks an encrypted file's tag now (xva_crypt_authenticate):
 *                 "auth: ok", or exits 1
 * Options: --ca FILE --endpoint URL --region R --profile P --path-style N
 * --timeout S --retries N --memory BYTES --chunk BYTES --reads N
 * --threads N --ahead N --seed N --info, and --noverify for benchmarks
 * (read, compare nothing).
 *
 * A file Xen Orchestra encrypted: --key-file FILE, with --repo REPO (the
 * key is checked against it and the cipher taken from its
 * encryption.json) or --alg NAME; --unauthenticated serves it before its
 * tag is checked, --cache DIR keeps the record that it was. The crypt
 * source goes over the raw kind and a gzip or zstd decoder over it (as
 * the factory will); the seq mode's pass ends the crypt source's too.
 * --guess prints what xva_crypt_guess makes of LOCATION and exits 0 when
 * it looks encrypted, 1 when not. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "source/source.h"

struct ctx {
	struct xva_source *src;
	struct xva_source *crypt;  /* the crypt layer, or NULL */
	const char *local;
	int fd;
	uint64_t size;
	size_t chunk;
	unsigned reads, threads, ahead, seed;
	bool noverify;          /* benchmarks: read only, compare nothing */
	int failures;
	pthread_mutex_t lock;
	/* Every read goes through the read-ahead policy, as the core's
	 * readers do (random ones get nothing from it). */
	struct xva_stream stream;
};

static const char *status_name(enum xva_status st)
{
	static const char *const names[] = {
		[XVA_OK] = "OK", [XVA_ENOMEM] = "ENOMEM", [XVA_EIO] = "EIO",
		[XVA_EOPEN] = "EOPEN", [XVA_EFORMAT] = "EFORMAT",
		[XVA_EUNSUPPORTED] = "EUNSUPPORTED",
		[XVA_ETRUNCATED] = "ETRUNCATED", [XVA_ECUT] = "ECUT",
		[XVA_ECORRUPT] = "ECORRUPT",
		[XVA_EUNVERIFIABLE] = "EUNVERIFIABLE", [XVA_ENOSPC] = "ENOSPC",
		[XVA_EBUSY] = "EBUSY", [XVA_EMISMATCH] = "EMISMATCH",
		[XVA_ECHANGED] = "ECHANGED", [XVA_EACCESS] = "EACCESS",
		[XVA_ENET] = "ENET", [XVA_EINTR] = "EINTR",
		[XVA_EINVAL] = "EINVAL",
	};

	if ((size_t)st < sizeof(names) / sizeof(names[0]) && names[st])
		return names[st];
	return "UNKNOWN";
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rnd(uint64_t *state)
{
	/* xorshift64*: reproducible from --seed, one state per thread. */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545F4914F6CDD1Dull;
}

static void fail(struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->lock);
	va_start(ap, fmt);
	fputs("srcread: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	c->failures++;
	pthread_mutex_unlock(&c->lock);
}

static bool pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		done += (size_t)n;
	}
	return true;
}

/* Reads [OFF, OFF+LEN) both ways and compares; LEN may run past the end. */
static bool check_range(struct ctx *c, char *got, char *want, uint64_t off,
			size_t len)
{
	struct xva_err err = { 0 };
	size_t expect = off >= c->size ? 0 :
			(c->size - off < len ? (size_t)(c->size - off) : len);
	size_t n = 0;
	enum xva_status st;

	xva_source_note_read(c->src, &c->stream, off, len);
	st = xva_source_read(c->src, got, len, off, &n, &err);
	if (st != XVA_OK) {
		fail(c, "read %zu at %" PRIu64 ": %s: %s", len, off,
		     status_name(st), err.msg);
		return false;
	}
	if (c->noverify)
		return true;
	if (n != expect) {
		fail(c, "read %zu at %" PRIu64 ": got %zu bytes, expected %zu",
		     len, off, n, expect);
		return false;
	}
	if (!pread_all(c->fd, want, expect, off)) {
		fail(c, "%s: cannot read the local copy at %" PRIu64, c->local,
		     off);
		return false;
	}
	if (memcmp(got, want, expect) != 0) {
		size_t i = 0;

		while (got[i] == want[i])
			i++;
		fail(c, "read %zu at %" PRIu64 ": bytes differ from byte %"
		     PRIu64, len, off, off + i);
		return false;
	}
	return true;
}

static int mode_seq(struct ctx *c)
{
	char *got = malloc(c->chunk), *want = malloc(c->chunk);
	double t0 = now_s(), t;
	uint64_t off;

	if (!got || !want) {
		fail(c, "out of memory");
		goto out;
	}
	for (off = 0; off < c->size; off += c->chunk)
		if (!check_range(c, got, want, off, c->chunk))
			goto out;
	/* Past the end: no bytes, no error. */
	check_range(c, got, want, c->size, 16);
	t = now_s() - t0;
	printf("seq: %" PRIu64 " bytes in %.3f s: %.1f MB/s\n", c->size, t,
	       (double)c->size / t / 1e6);
out:
	free(got);
	free(want);
	return c->failures;
}

/* A random read of the random modes: across block boundaries, of
 * several blocks (up to MAX bytes), odd and tiny, at or past the end. */
static void random_range(const struct ctx *c, uint64_t *state, size_t max,
			 uint64_t *off_out, size_t *len_out)
{
	uint64_t r = rnd(state), off;
	size_t len;

	switch (r % 4) {
	case 0: /* across a block boundary */
		off = ((rnd(state) % (c->size / 1048576 + 1)) << 20) -
		      (r >> 8) % 4099;
		len = 1 + (size_t)((r >> 24) % 9000);
		break;
	case 1: /* several blocks */
		off = rnd(state) % (c->size + 1);
		len = 1 + (size_t)((r >> 8) % max);
		break;
	case 2: /* odd and tiny */
		off = (rnd(state) % (c->size + 1)) | 1;
		len = 1 + (size_t)((r >> 8) % 7);
		break;
	default: /* at or past the end */
		off = c->size - (r >> 8) % 3000;
		len = 1 + (size_t)((r >> 24) % 5000);
		break;
	}
	if (off > c->size + 100)
		off = c->size;
	*off_out = off;
	*len_out = len;
}

static uint64_t thread_seed(struct ctx *c, void *local)
{
	uint64_t state;

	pthread_mutex_lock(&c->lock);
	state = ((uint64_t)c->seed << 20) ^ (uint64_t)(uintptr_t)local ^
		0x9E3779B97F4A7C15ull;
	pthread_mutex_unlock(&c->lock);
	return state;
}

static void *random_thread(void *arg)
{
	struct ctx *c = arg;
	size_t max = 3u << 20;
	char *got = malloc(max), *want = malloc(max);
	uint64_t state = thread_seed(c, &state);

	if (!got || !want) {
		fail(c, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < c->reads; i++) {
		uint64_t off;
		size_t len;

		random_range(c, &state, max, &off, &len);
		if (!check_range(c, got, want, off, len))
			break;
	}
out:
	free(got);
	free(want);
	return NULL;
}

/* Leases a lend thread keeps at once: with 8 threads and reads of up to
 * 3 MiB, more than an 8 MiB cache (--memory) holds. */
#define LEASES_HELD 4

struct held_read {
	struct xva_lease lease;
	uint64_t off;
	size_t n;
	bool live;
};

/* Whether H's lent bytes are the local copy's (WANT a buffer of at least
 * H->n bytes); WHEN says which check for the message. */
static bool lent_matches(struct ctx *c, const struct held_read *h, char *want,
			 const char *when)
{
	size_t at = 0;

	if (!pread_all(c->fd, want, h->n, h->off)) {
		fail(c, "%s: cannot read the local copy at %" PRIu64, c->local,
		     h->off);
		return false;
	}
	for (size_t i = 0; i < h->lease.n_iov; i++) {
		const struct iovec *v = &h->lease.iov[i];

		if (at + v->iov_len > h->n ||
		    memcmp(v->iov_base, want + at, v->iov_len) != 0) {
			fail(c, "lent %zu at %" PRIu64 " (%s): piece %zu differs "
			     "from byte %" PRIu64, h->n, h->off, when, i,
			     h->off + at);
			return false;
		}
		at += v->iov_len;
	}
	if (at != h->n) {
		fail(c, "lent %zu at %" PRIu64 " (%s): %zu bytes in the pieces",
		     h->n, h->off, when, at);
		return false;
	}
	return true;
}

/* The random reads lent (xva_source_lend), each lease kept over the next
 * LEASES_HELD - 1 reads and checked again before it is released: pinned
 * blocks must not be evicted or reused while the cache is pressed. */
static void *lend_thread(void *arg)
{
	struct ctx *c = arg;
	size_t max = 3u << 20;
	char *want = malloc(max);
	struct held_read held[LEASES_HELD] = { 0 };
	uint64_t state = thread_seed(c, &state);
	unsigned i;

	if (!want) {
		fail(c, "out of memory");
		return NULL;
	}
	for (i = 0; i < c->reads && !c->failures; i++) {
		struct held_read *h = &held[i % LEASES_HELD];
		struct xva_err err = { 0 };
		enum xva_status st;
		size_t len;

		if (h->live) {
			lent_matches(c, h, want, "before its release");
			xva_lease_release(&h->lease);
			h->live = false;
		}
		random_range(c, &state, max, &h->off, &len);
		xva_lease_init(&h->lease, NULL, 0);
		h->live = true;
		st = xva_source_lend(c->src, len, h->off, &h->lease, &h->n, &err);
		if (st != XVA_OK) {
			fail(c, "lend %zu at %" PRIu64 ": %s: %s", len, h->off,
			     status_name(st), err.msg);
			break;
		}
		if (h->n != (h->off >= c->size ? 0 :
			     c->size - h->off < len ? c->size - h->off : len)) {
			fail(c, "lend %zu at %" PRIu64 ": got %zu bytes", len,
			     h->off, h->n);
			break;
		}
		lent_matches(c, h, want, "as lent");
	}
	for (i = 0; i < LEASES_HELD; i++)
		if (held[i].live)
			xva_lease_release(&held[i].lease);
	free(want);
	return NULL;
}

static int mode_lend(struct ctx *c)
{
	pthread_t t[64];
	unsigned n = c->threads > 64 ? 64 : c->threads;
	double t0 = now_s();

	if (!xva_source_can_lend(c->src)) {
		fail(c, "%s: the source cannot lend", c->src->location);
		return c->failures;
	}
	for (unsigned i = 0; i < n; i++)
		pthread_create(&t[i], NULL, lend_thread, c);
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("lend: %u threads x %u reads, %u leases held each, in %.3f s\n",
	       n, c->reads, LEASES_HELD, now_s() - t0);
	return c->failures;
}

static int mode_random(struct ctx *c)
{
	pthread_t t[64];
	unsigned n = c->threads > 64 ? 64 : c->threads;
	double t0 = now_s();

	for (unsigned i = 0; i < n; i++)
		pthread_create(&t[i], NULL, random_thread, c);
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("random: %u threads x %u reads in %.3f s\n", n, c->reads,
	       now_s() - t0);
	return c->failures;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int mode_latency(struct ctx *c)
{
	double *ms = calloc(c->reads ? c->reads : 1, sizeof(*ms));
	char got[4096], want[4096];
	uint64_t state = c->seed * 7919u + 1;
	uint64_t slots = c->size / 4096;
	double start = now_s(), total;

	if (!ms || !slots) {
		fail(c, "out of memory or an object under 4 KiB");
		free(ms);
		return c->failures;
	}
	for (unsigned i = 0; i < c->reads; i++) {
		uint64_t off = (rnd(&state) % slots) * 4096;
		double t0 = now_s();

		if (!check_range(c, got, want, off, 4096))
			break;
		ms[i] = (now_s() - t0) * 1000;
	}
	total = now_s() - start;
	qsort(ms, c->reads, sizeof(*ms), cmp_double);
	/* Microseconds and reads a second too: a read from the page cache
	 * takes less than the milliseconds' last digit. */
	printf("latency: %u reads of 4 KiB: median %.2f ms, p99 %.2f ms "
	       "(median %.2f us, %.0f reads/s)\n", c->reads, ms[c->reads / 2],
	       ms[(c->reads * 99) / 100], ms[c->reads / 2] * 1000,
	       c->reads / total);
	free(ms);
	return c->failures;
}

/* Header positions of the local tar (ustar, GNU or V7; long-name and pax
 * members are headers too). */
static uint64_t *tar_headers(struct ctx *c, size_t *count)
{
	uint64_t *pos = NULL, off = 0;
	size_t n = 0, cap = 0;
	unsigned char h[512];

	while (off + 512 <= c->size && pread_all(c->fd, h, 512, off)) {
		uint64_t size = 0;
		bool zero = true;

		for (int i = 0; i < 512 && zero; i++)
			zero = h[i] == 0;
		if (zero)
			break;
		for (int i = 124; i < 136 && h[i]; i++)
			if (h[i] >= '0' && h[i] <= '7')
				size = size * 8 + (uint64_t)(h[i] - '0');
		if (n == cap) {
			uint64_t *p;

			cap = cap ? cap * 2 : 1024;
			p = realloc(pos, cap * sizeof(*pos));
			if (!p) {
				free(pos);
				return NULL;
			}
			pos = p;
		}
		pos[n++] = off;
		off += 512 + ((size + 511) & ~511ull);
	}
	*count = n;
	return pos;
}

static int mode_walk(struct ctx *c)
{
	size_t n = 0, i;
	uint64_t *pos = tar_headers(c, &n);
	char got[10240], want[10240];
	double t0;

	if (!pos) {
		fail(c, "%s: no tar headers", c->local);
		return c->failures;
	}
	t0 = now_s();
	for (i = 0; i < n && i < c->ahead; i++)
		xva_source_prefetch(c->src, pos[i], sizeof(got));
	for (i = 0; i < n; i++) {
		if (c->ahead && i + c->ahead < n)
			xva_source_prefetch(c->src, pos[i + c->ahead],
					    sizeof(got));
		if (!check_range(c, got, want, pos[i], sizeof(got)))
			break;
	}
	printf("walk: %zu headers, %u ahead: %.3f s\n", n, c->ahead,
	       now_s() - t0);
	free(pos);
	return c->failures;
}

static int mode_commands(struct ctx *c)
{
	char line[256], *got = NULL, *want = NULL;
	unsigned long long off, len;
	int bad = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "read %llu %llu", &off, &len) == 2) {
			struct xva_err err = { 0 };
			enum xva_status st;
			size_t n = 0;
			char *g = realloc(got, len ? len : 1);
			char *w = realloc(want, len ? len : 1);

			if (!g || !w) {
				free(g ? g : got);
				free(w ? w : want);
				return 1;
			}
			got = g;
			want = w;
			xva_source_note_read(c->src, &c->stream, off, len);
			st = xva_source_read(c->src, got, len, off, &n, &err);
			if (st != XVA_OK) {
				printf("error %s: %s\n", status_name(st), err.msg);
				continue;
			}
			if (!pread_all(c->fd, want, n, off) ||
			    memcmp(got, want, n) != 0) {
				printf("mismatch\n");
				bad++;
				continue;
			}
			printf("ok %zu\n", n);
		} else if (sscanf(line, "prefetch %llu %llu", &off, &len) == 2) {
			xva_source_prefetch(c->src, off, len);
			printf("ok\n");
		} else if (strncmp(line, "info", 4) == 0) {
			printf("ok size %" PRIu64 " identity %s\n",
			       c->src->size, c->src->identity);
		} else {
			printf("bad command\n");
		}
	}
	free(got);
	free(want);
	return bad;
}

struct crypt_args {
	const char *key_file, *repo, *alg;
	bool guess;
};

/* Raw kind, crypt source, and a decoder when the plaintext is gzip or
 * zstd. A decoder over a crypt source in its pass makes its own pass
 * along (fresh_pass): loading its index would read the file's end first. */
static enum xva_status open_encrypted(const char *location,
				      const struct crypt_args *a,
				      struct xva_source_options *o,
				      struct ctx *c, struct xva_err *err)
{
	struct xva_crypt_key key;
	enum xva_crypt_alg alg = XVA_CRYPT_NONE;
	struct xva_source *raw = NULL;
	unsigned char head[4] = { 0 };
	enum xva_status st;
	size_t got = 0;

	st = xva_crypt_key_from_file(a->key_file, &key, err);
	if (st == XVA_OK)
		st = a->repo ? xva_xo_repo_check_key(a->repo, &key, o, &alg, err)
			     : xva_crypt_alg_parse(a->alg ? a->alg : "",
						   &alg, err);
	if (st == XVA_OK)
		st = xva_location_is_url(location) ?
		     xva_source_http_open(location, o, &raw, err) :
		     xva_source_file_open(location, o, &raw, err);
	if (st == XVA_OK)
		st = xva_source_crypt_open(raw, &key, alg, o, &c->crypt, err);
	xva_crypt_key_wipe(&key);
	if (st != XVA_OK)
		return st;
	c->src = c->crypt;
	st = xva_source_read(c->crypt, head, sizeof(head), 0, &got, err);
	if (st == XVA_OK && got == 4) {
		bool gz = head[0] == 0x1f && head[1] == 0x8b;
		bool zs = memcmp(head, "\x28\xb5\x2f\xfd", 4) == 0;

		o->fresh_pass = c->crypt->in_pass;
		if (gz)
			st = xva_source_gzip_open(c->crypt, o, &c->src, err);
		else if (zs)
			st = xva_source_zstd_open(c->crypt, o, &c->src, err);
		if (st != XVA_OK)
			c->src = c->crypt = NULL; /* closed by the decoder */
	}
	return st;
}

static int guess(const char *location, const struct xva_source_options *o)
{
	unsigned char head[1024];
	struct xva_crypt_guess g;
	char msg[8192];
	ssize_t n = 0;
	int fd = open(location, O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		n = read(fd, head, sizeof(head));
	if (fd >= 0)
		close(fd);
	xva_crypt_guess(location, head, n > 0 ? (size_t)n : 0, o, &g);
	xva_crypt_guess_message(&g, location, "--key-file FILE", msg,
				sizeof(msg));
	printf("guess: %s\n", msg);
	return g.kind == XVA_CRYPT_GUESS_NO;
}

static int mode_auth(struct ctx *c)
{
	struct xva_err err = { 0 };

	if (!c->crypt) {
		fprintf(stderr, "srcread: auth: not an encrypted file\n");
		return 1;
	}
	if (xva_crypt_authenticate(c->crypt, &err) != XVA_OK) {
		printf("auth: error %s\n", err.msg);
		return 1;
	}
	printf("auth: ok\n");
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: srcread [options] LOCATION LOCAL "
		"[seq|random|lend|latency|walk|commands|auth]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct xva_source_options o = { .s3_path_style = -1 };
	struct ctx c = { .chunk = 1u << 20, .reads = 200, .threads = 4,
			 .seed = 1 };
	struct xva_err err = { 0 };
	struct xva_source_info info;
	struct crypt_args ca = { 0 };
	bool show_info = false;
	enum xva_status st;
	struct stat sb;
	int i, rc = 0;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *opt = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--info")) {
			show_info = true;
			continue;
		}
		if (!strcmp(opt, "--noverify")) {
			c.noverify = true;
			continue;
		}
		if (!strcmp(opt, "--unauthenticated")) {
			o.crypt_unauthenticated = true;
			continue;
		}
		if (!strcmp(opt, "--guess")) {
			ca.guess = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(opt, "--ca"))
			o.ca_file = v;
		else if (!strcmp(opt, "--endpoint"))
			o.s3_endpoint = v;
		else if (!strcmp(opt, "--region"))
			o.s3_region = v;
		else if (!strcmp(opt, "--profile"))
			o.aws_profile = v;
		else if (!strcmp(opt, "--path-style"))
			o.s3_path_style = atoi(v);
		else if (!strcmp(opt, "--timeout"))
			o.timeout_s = (unsigned)atoi(v);
		else if (!strcmp(opt, "--retries"))
			o.retries = (unsigned)atoi(v);
		else if (!strcmp(opt, "--memory"))
			o.memory_max = strtoull(v, NULL, 0);
		else if (!strcmp(opt, "--chunk"))
			c.chunk = (size_t)strtoull(v, NULL, 0);
		else if (!strcmp(opt, "--reads"))
			c.reads = (unsigned)atoi(v);
		else if (!strcmp(opt, "--threads"))
			c.threads = (unsigned)atoi(v);
		else if (!strcmp(opt, "--ahead"))
			c.ahead = (unsigned)atoi(v);
		else if (!strcmp(opt, "--seed"))
			c.seed = (unsigned)atoi(v);
		else if (!strcmp(opt, "--key-file"))
			ca.key_file = v;
		else if (!strcmp(opt, "--repo"))
			ca.repo = v;
		else if (!strcmp(opt, "--alg"))
			ca.alg = v;
		else if (!strcmp(opt, "--cache"))
			o.cache_dir = v;
		else
			usage();
	}
	if (ca.guess && argc - i >= 1)
		return guess(argv[i], &o);
	if (argc - i < 2 || !c.chunk)
		usage();
	c.local = argv[i + 1];
	c.fd = open(c.local, O_RDONLY | O_CLOEXEC);
	if (c.fd < 0 || fstat(c.fd, &sb) < 0) {
		fprintf(stderr, "srcread: %s: %s\n", c.local, strerror(errno));
		return 2;
	}
	c.size = (uint64_t)sb.st_size;
	pthread_mutex_init(&c.lock, NULL);
	xva_stream_init(&c.stream, XVA_READAHEAD_DEFAULT);

	st = ca.key_file ? open_encrypted(argv[i], &ca, &o, &c, &err)
			 : xva_source_open(argv[i], &o, &c.src, &err);
	if (st != XVA_OK) {
		printf("open: error %s: %s\n", status_name(st), err.msg);
		close(c.fd);
		return 3;
	}
	if (show_info) {
		xva_source_info(c.src, &info);
		printf("info: kind %s size %" PRIu64 " stored %" PRIu64
		       " location %s identity %s\n", info.kind, c.src->size,
		       info.stored_size, c.src->location, c.src->identity);
	}
	if (!c.src->in_pass && c.src->size != c.size) {
		fprintf(stderr, "srcread: the source has %" PRIu64 " bytes, "
			"%s has %" PRIu64 "\n", c.src->size, c.local, c.size);
		rc = 1;
		goto out;
	}
	i += 2;
	if (i == argc) {
		rc = mode_seq(&c) || mode_random(&c);
		goto out;
	}
	for (; i < argc && !rc; i++) {
		if (c.src->in_pass && strcmp(argv[i], "seq") != 0) {
			fprintf(stderr, "srcread: the source is in its pass: "
				"run seq first\n");
			rc = 2;
			break;
		}
		if (!strcmp(argv[i], "seq")) {
			rc = mode_seq(&c);
			if (!rc && c.src->in_pass) {
				st = xva_source_finish_pass(c.src, &err);
				/* A decoder's pass ends the crypt source's
				 * too (its tag). */
				if (st == XVA_OK && c.crypt && c.crypt != c.src)
					st = xva_crypt_authenticate(c.crypt,
								    &err);
				if (st != XVA_OK) {
					fprintf(stderr, "srcread: finishing the "
						"pass: %s: %s\n",
						status_name(st), err.msg);
					rc = 1;
				}
			}
		} else if (!strcmp(argv[i], "random")) {
			rc = mode_random(&c);
		} else if (!strcmp(argv[i], "lend")) {
			rc = mode_lend(&c);
		} else if (!strcmp(argv[i], "latency")) {
			rc = mode_latency(&c);
		} else if (!strcmp(argv[i], "walk")) {
			rc = mode_walk(&c);
		} else if (!strcmp(argv[i], "auth")) {
			rc = mode_auth(&c);
		} else if (!strcmp(argv[i], "commands")) {
			rc = mode_commands(&c);
		} else {
			usage();
		}
	}
out:
	xva_source_close(c.src);
	close(c.fd);
	pthread_mutex_destroy(&c.lock);
	return rc ? 1 : 0;
}
