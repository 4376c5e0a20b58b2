/* rwcheck: writes to a served disk and checks what reads back.
 *
 *   rwcheck model FILE MODEL SEED WRITES
 *       WRITES random writes (1 byte to 300 KB, anywhere, across blocks and
 *       chunks) to FILE and to MODEL (a plain copy of the disk), an fsync
 *       now and then, then every byte of FILE compared with MODEL.
 *   rwcheck crash FILE LOG SEED SLOT
 *       Writes slot after slot (SLOT bytes each, in a shuffled order,
 *       data derived from SEED and the slot), each followed by fdatasync,
 *       and only then appends the slot's number to LOG (fsync'ed). Runs
 *       until killed or the disk is done.
 *   rwcheck crash-verify FILE ORIG LOG SEED SLOT
 *       After a crash: every logged slot holds its data; every other slot
 *       but the one that was in flight holds ORIG's bytes. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fill(unsigned char *buf, size_t len, uint64_t seed)
{
	uint64_t s = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++)
		buf[i] = (unsigned char)(rng(&s) >> 24);
}

static int die(const char *what, const char *file)
{
	fprintf(stderr, "rwcheck: %s: %s: %s\n", file, what, strerror(errno));
	return 1;
}

static int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	for (size_t done = 0; done < len; ) {
		ssize_t n = pwrite(fd, (const char *)buf + done, len - done,
				   off + (off_t)done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static int pread_all(int fd, void *buf, size_t len, off_t off)
{
	for (size_t done = 0; done < len; ) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  off + (off_t)done);
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

static int compare(int a, int b, off_t size, const char *name)
{
	static unsigned char x[1 << 20], y[1 << 20];

	for (off_t off = 0; off < size; ) {
		size_t n = size - off < (off_t)sizeof(x) ? (size_t)(size - off) : sizeof(x);

		if (pread_all(a, x, n, off) < 0 || pread_all(b, y, n, off) < 0)
			return die("read failed", name);
		if (memcmp(x, y, n) != 0) {
			size_t i = 0;

			while (x[i] == y[i])
				i++;
			fprintf(stderr, "rwcheck: %s: byte %lld differs\n", name,
				(long long)(off + (off_t)i));
			return 1;
		}
		off += (off_t)n;
	}
	return 0;
}

static int model(const char *file, const char *model_path, uint64_t seed,
		 long writes)
{
	int fd = open(file, O_RDWR), md = open(model_path, O_RDWR);
	static unsigned char buf[300000];
	struct stat st;
	uint64_t s = seed | 1;

	if (fd < 0 || md < 0 || fstat(md, &st) < 0)
		return die("cannot open", fd < 0 ? file : model_path);
	for (long k = 0; k < writes; k++) {
		size_t len = 1 + rng(&s) % (k % 3 ? 9000 : sizeof(buf));
		off_t off = (off_t)(rng(&s) % (uint64_t)st.st_size);

		if (off + (off_t)len > st.st_size)
			len = (size_t)(st.st_size - off);
		fill(buf, len, seed + (uint64_t)k);
		if (pwrite_all(fd, buf, len, off) < 0)
			return die("write failed", file);
		if (pwrite_all(md, buf, len, off) < 0)
			return die("write failed", model_path);
		if (k % 97 == 0 && fdatasync(fd) < 0)
			return die("fdatasync failed", file);
	}
	if (fsync(fd) < 0)
		return die("fsync failed", file);
	return compare(fd, md, st.st_size, file);
}

static uint64_t slot_count(int fd, size_t slot)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? (uint64_t)st.st_size / slot : 0;
}

/* The order slots are written in: a shuffle that both modes compute. */
static uint64_t *order(uint64_t n, uint64_t seed)
{
	uint64_t *o = malloc((n ? n : 1) * sizeof(*o)), s = seed | 1;

	for (uint64_t i = 0; i < n; i++)
		o[i] = i;
	for (uint64_t i = n; i > 1; i--) {
		uint64_t j = rng(&s) % i, t = o[i - 1];

		o[i - 1] = o[j];
		o[j] = t;
	}
	return o;
}

static int crash(const char *file, const char *log, uint64_t seed, size_t slot)
{
	int fd = open(file, O_RDWR), lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	unsigned char *buf = malloc(slot);
	uint64_t n, *o;

	if (fd < 0 || lf < 0 || !buf)
		return die("cannot open", fd < 0 ? file : log);
	n = slot_count(fd, slot);
	o = order(n, seed);
	for (uint64_t i = 0; i < n; i++) {
		char line[32];
		int len;

		fill(buf, slot, seed ^ (o[i] * 0x9E3779B97F4A7C15ull));
		if (pwrite_all(fd, buf, slot, (off_t)(o[i] * slot)) < 0 ||
		    fdatasync(fd) < 0)
			break; /* the daemon was killed: expected */
		len = snprintf(line, sizeof(line), "%llu\n", (unsigned long long)o[i]);
		if (write(lf, line, (size_t)len) != len || fsync(lf) < 0)
			return die("cannot log", log);
	}
	free(buf);
	free(o);
	close(fd);
	close(lf);
	return 0;
}

static int crash_verify(const char *file, const char *orig, const char *log,
			uint64_t seed, size_t slot)
{
	int fd = open(file, O_RDONLY), od = open(orig, O_RDONLY);
	unsigned char *got = malloc(slot), *want = malloc(slot);
	FILE *lf = fopen(log, "r");
	uint64_t n, *o, logged = 0, i;
	unsigned char *is_logged;
	unsigned long long v;

	if (fd < 0 || od < 0 || !lf || !got || !want)
		return die("cannot open", fd < 0 ? file : od < 0 ? orig : log);
	n = slot_count(fd, slot);
	o = order(n, seed);
	is_logged = calloc(n + 1, 1);
	while (fscanf(lf, "%llu", &v) == 1) {
		if (v >= n || o[logged] != v) {
			fprintf(stderr, "rwcheck: %s: entry %llu is not slot %llu\n",
				log, (unsigned long long)logged,
				(unsigned long long)(logged < n ? o[logged] : 0));
			return 1;
		}
		is_logged[v] = 1;
		logged++;
	}
	for (i = 0; i < n; i++) {
		bool in_flight = logged < n && i == o[logged];

		if (in_flight)
			continue; /* it may hold old bytes, new, or a mix */
		if (pread_all(fd, got, slot, (off_t)(i * slot)) < 0)
			return die("read failed", file);
		if (is_logged[i])
			fill(want, slot, seed ^ (i * 0x9E3779B97F4A7C15ull));
		else if (pread_all(od, want, slot, (off_t)(i * slot)) < 0)
			return die("read failed", orig);
		if (memcmp(got, want, slot) != 0) {
			fprintf(stderr, "rwcheck: %s: slot %llu (%s) is wrong after "
				"the crash\n", file, (unsigned long long)i,
				is_logged[i] ? "synced" : "never written");
			return 1;
		}
	}
	printf("%llu synced slots intact, %llu untouched slots original\n",
	       (unsigned long long)logged,
	       (unsigned long long)(n - logged - (logged < n)));
	free(got);
	free(want);
	free(o);
	free(is_logged);
	fclose(lf);
	close(fd);
	close(od);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 6 && strcmp(argv[1], "model") == 0)
		return model(argv[2], argv[3], strtoull(argv[4], NULL, 0),
			     atol(argv[5]));
	if (argc == 6 && strcmp(argv[1], "crash") == 0)
		return crash(argv[2], argv[3], strtoull(argv[4], NULL, 0),
			     (size_t)atol(argv[5]));
	if (argc == 7 && strcmp(argv[1], "crash-verify") == 0)
		return crash_verify(argv[2], argv[3], argv[4],
				    strtoull(argv[5], NULL, 0), (size_t)atol(argv[6]));
	fputs("usage: rwcheck model FILE MODEL SEED WRITES\n"
	      "       rwcheck crash FILE LOG SEED SLOT\n"
	      "       rwcheck crash-verify FILE ORIG LOG SEED SLOT\n", stderr);
	return 2;
}
