/* compressed_driver: times the compressed sources through the source API,
 * for bench/compressed.sh.
 *
 *   compressed_driver pass FILE [CACHE_DIR]
 *       open, read everything in order in 1 MiB reads, finish the pass
 *   compressed_driver random FILE CACHE_DIR N [LEN [THREADS]]
 *       N reads of LEN (4096) bytes at uniformly random offsets, timed one
 *       by one (the index must be in CACHE_DIR already)
 *   compressed_driver seq FILE CACHE_DIR
 *       read everything in order after the pass, in 1 MiB reads
 *   compressed_driver verify FILE CACHE_DIR PLAIN
 *       compare every byte of a pass and of 2000 random reads with PLAIN
 *
 * Prints one line of key=value pairs. Environment: MEMORY_MAX (bytes). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "source/source.h"
#include "xvafs/source.h"

#define MIB ((size_t)1 << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void die(const char *what, const struct xva_err *err)
{
	fprintf(stderr, "compressed_driver: %s: %s\n", what, err->msg);
	exit(1);
}

static struct xva_source *open_it(const char *path, const char *cache_dir)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.s3_path_style = -1 };
	const char *mem = getenv("MEMORY_MAX");
	struct xva_source *src;
	struct xva_err err;

	if (mem)
		o.memory_max = strtoull(mem, NULL, 10);
	if (xva_source_open(path, &o, &src, &err) != XVA_OK)
		die(path, &err);
	return src;
}

static void print_info(struct xva_source *src)
{
	struct xva_source_info info;

	xva_source_info(src, &info);
	printf(" kind=%s points=%llu index_bytes=%llu index_memory=%llu "
	       "index_loaded=%d", info.kind,
	       (unsigned long long)info.access_points,
	       (unsigned long long)info.cache_bytes,
	       (unsigned long long)info.index_memory, info.index_loaded);
}

/* Reads everything in order; returns the bytes read. */
static uint64_t read_all(struct xva_source *src, const unsigned char *plain)
{
	unsigned char *buf = malloc(MIB);
	struct xva_err err;
	uint64_t pos = 0;

	for (;;) {
		size_t got;

		if (xva_source_read(src, buf, MIB, pos, &got, &err) != XVA_OK)
			die("read", &err);
		if (plain && memcmp(buf, plain + pos, got) != 0) {
			fprintf(stderr, "compressed_driver: bytes differ at %llu\n",
				(unsigned long long)pos);
			exit(1);
		}
		pos += got;
		if (got < MIB)
			break;
	}
	free(buf);
	return pos;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct job {
	struct xva_source *src;
	size_t n, len;
	unsigned seed;
	double *ms;
};

static void *random_job(void *arg)
{
	struct job *j = arg;
	unsigned char *buf = malloc(j->len);
	uint64_t s = j->seed * 0x9e3779b97f4a7c15ull + 1;
	struct xva_err err;

	for (size_t i = 0; i < j->n; i++) {
		uint64_t off;
		size_t got;
		double t;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		off = s % (j->src->size - j->len);
		t = now();
		if (xva_source_read(j->src, buf, j->len, off, &got, &err) !=
		    XVA_OK)
			die("read", &err);
		j->ms[i] = (now() - t) * 1000;
	}
	free(buf);
	return NULL;
}

static int cmd_random(const char *path, const char *cache_dir, size_t n,
		      size_t len, int threads)
{
	struct xva_source *src = open_it(path, cache_dir);
	double *ms = calloc(n * threads, sizeof(double)), t, sum = 0;
	struct job jobs[64];
	pthread_t tid[64];

	if (src->in_pass) {
		fprintf(stderr, "compressed_driver: no index in %s yet\n",
			cache_dir);
		return 1;
	}
	t = now();
	for (int i = 0; i < threads; i++) {
		jobs[i] = (struct job){ src, n, len, 1234u + (unsigned)i,
					ms + i * n };
		pthread_create(&tid[i], NULL, random_job, &jobs[i]);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(tid[i], NULL);
	t = now() - t;
	n *= threads;
	for (size_t i = 0; i < n; i++)
		sum += ms[i];
	qsort(ms, n, sizeof(*ms), cmp_double);
	printf("reads=%zu len=%zu threads=%d median_ms=%.3f p90_ms=%.3f "
	       "p99_ms=%.3f max_ms=%.3f mean_ms=%.3f reads_per_s=%.0f "
	       "maxrss_kb=%ld", n, len, threads, ms[n / 2], ms[n * 9 / 10],
	       ms[n * 99 / 100], ms[n - 1], sum / n, n / t, max_rss_kb());
	print_info(src);
	printf("\n");
	xva_source_close(src);
	free(ms);
	return 0;
}

static unsigned char *map_plain(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data;
	long n;

	if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0)
		return NULL;
	rewind(f);
	data = malloc((size_t)n + 1);
	if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return data;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	struct xva_source *src;
	struct xva_err err;
	uint64_t bytes;
	double t;

	if (strcmp(cmd, "pass") == 0 && argc >= 3) {
		t = now();
		src = open_it(argv[2], argc > 3 ? argv[3] : NULL);
		bytes = read_all(src, NULL);
		if (xva_source_finish_pass(src, &err) != XVA_OK)
			die("finish", &err);
		t = now() - t;
		printf("pass_s=%.3f bytes=%llu mbps=%.0f maxrss_kb=%ld", t,
		       (unsigned long long)bytes, bytes / t / 1e6, max_rss_kb());
		print_info(src);
		printf(" warning=\"%s\"\n", src->warning);
		xva_source_close(src);
		return 0;
	}
	if (strcmp(cmd, "random") == 0 && argc >= 5)
		return cmd_random(argv[2], argv[3], strtoul(argv[4], NULL, 10),
				  argc > 5 ? strtoul(argv[5], NULL, 10) : 4096,
				  argc > 6 ? atoi(argv[6]) : 1);
	if (strcmp(cmd, "seq") == 0 && argc >= 4) {
		src = open_it(argv[2], argv[3]);
		if (src->in_pass) {
			fprintf(stderr, "compressed_driver: no index yet\n");
			return 1;
		}
		t = now();
		bytes = read_all(src, NULL);
		t = now() - t;
		printf("seq_s=%.3f bytes=%llu mbps=%.0f maxrss_kb=%ld", t,
		       (unsigned long long)bytes, bytes / t / 1e6, max_rss_kb());
		print_info(src);
		printf("\n");
		xva_source_close(src);
		return 0;
	}
	if (strcmp(cmd, "verify") == 0 && argc >= 5) {
		size_t len;
		unsigned char *plain = map_plain(argv[4], &len);
		unsigned char *buf = malloc(MIB);
		uint64_t s = 99;

		if (!plain)
			return 1;
		src = open_it(argv[2], argv[3]);
		if (src->in_pass) {
			if (read_all(src, plain) != len)
				return 1;
			if (xva_source_finish_pass(src, &err) != XVA_OK)
				die("finish", &err);
		}
		for (int i = 0; i < 2000; i++) {
			size_t got, n;
			uint64_t off;

			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			off = s % len;
			n = 1 + (s >> 45) % MIB;
			if (xva_source_read(src, buf, n, off, &got, &err) !=
			    XVA_OK)
				die("read", &err);
			if (got != (len - off < n ? len - off : n) ||
			    memcmp(buf, plain + off, got) != 0) {
				fprintf(stderr, "compressed_driver: wrong at "
					"%llu\n", (unsigned long long)off);
				return 1;
			}
		}
		printf("verify=ok bytes=%zu\n", len);
		xva_source_close(src);
		free(plain);
		free(buf);
		return 0;
	}
	fprintf(stderr, "usage: compressed_driver pass FILE [CACHE_DIR] | "
		"random FILE CACHE_DIR N [LEN [THREADS]] | seq FILE CACHE_DIR | "
		"verify FILE CACHE_DIR PLAIN\n");
	return 2;
}
