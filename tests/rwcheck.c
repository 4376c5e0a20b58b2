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
 *       but the one that was in flight holds ORIG's bytes.
 *   rwcheck parallel FILE MODEL SEED WRITERS WRITES
 *       WRITERS processes, each with its own descriptor, write at once
 *       (WRITES each, fdatasync every 64) to FILE and MODEL: pieces of
 *       4 KiB slots, writer W taking the slots S with S % WRITERS == W, so
 *       that neighbouring blocks are written by different writers but no
 *       byte by two. Then every byte of FILE is compared with MODEL.
 *   rwcheck coherent FILE
 *       What one descriptor writes, another (opened read-only, its pages
 *       cached) reads at once; the same for a shared writable mmap. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

enum { SLOT = 4096 };

static int parallel_writer(const char *file, const char *model_path,
			   uint64_t seed, unsigned writer, unsigned writers,
			   long writes)
{
	int fd = open(file, O_RDWR), md = open(model_path, O_RDWR);
	unsigned char buf[SLOT];
	uint64_t s = (seed + writer) | 1, slots;
	struct stat st;

	if (fd < 0 || md < 0 || fstat(md, &st) < 0)
		return die("cannot open", fd < 0 ? file : model_path);
	slots = (uint64_t)st.st_size / SLOT / writers;
	for (long k = 0; k < writes; k++) {
		uint64_t slot = (rng(&s) % slots) * writers + writer;
		size_t start = k % 4 ? rng(&s) % SLOT : 0;
		size_t len = k % 4 ? 1 + rng(&s) % (SLOT - start) : SLOT;
		off_t off = (off_t)(slot * SLOT + start);

		fill(buf, len, seed ^ ((uint64_t)k << 8) ^ writer);
		if (pwrite_all(fd, buf, len, off) < 0)
			return die("write failed", file);
		if (pwrite_all(md, buf, len, off) < 0)
			return die("write failed", model_path);
		if (k % 64 == 63 && fdatasync(fd) < 0)
			return die("fdatasync failed", file);
	}
	return 0;
}

static int parallel(const char *file, const char *model_path, uint64_t seed,
		    unsigned writers, long writes)
{
	int fd, md, failed = 0, status;
	struct stat st;

	for (unsigned w = 0; w < writers; w++) {
		pid_t pid = fork();

		if (pid < 0)
			return die("cannot fork", file);
		if (pid == 0)
			_exit(parallel_writer(file, model_path, seed, w, writers,
					      writes));
	}
	while (wait(&status) > 0)
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	if (failed)
		return 1;
	fd = open(file, O_RDONLY);
	md = open(model_path, O_RDONLY);
	if (fd < 0 || md < 0 || fstat(md, &st) < 0)
		return die("cannot open", fd < 0 ? file : model_path);
	return compare(fd, md, st.st_size, file);
}

static int expect_same(int fd, const void *want, size_t len, off_t off,
		       const char *file, const char *what)
{
	unsigned char got[SLOT];

	if (pread_all(fd, got, len, off) < 0)
		return die("read failed", file);
	if (memcmp(got, want, len) != 0) {
		fprintf(stderr, "rwcheck: %s: %s\n", file, what);
		return 1;
	}
	return 0;
}

static int coherent(const char *file)
{
	int reader = open(file, O_RDONLY), writer = open(file, O_RDWR);
	unsigned char cached[SLOT], data[SLOT];
	unsigned char *map;

	if (reader < 0 || writer < 0)
		return die("cannot open", file);
	if (pread_all(reader, cached, SLOT, 3 * SLOT) < 0)
		return die("read failed", file);
	for (size_t i = 0; i < SLOT; i++)
		data[i] = (unsigned char)~cached[i];
	if (pwrite_all(writer, data, SLOT, 3 * SLOT) < 0)
		return die("write failed", file);
	if (expect_same(reader, data, SLOT, 3 * SLOT, file,
			"a reader's cached pages hide another descriptor's write"))
		return 1;
	map = mmap(NULL, 2 * SLOT, PROT_READ | PROT_WRITE, MAP_SHARED, writer,
		   4 * SLOT);
	if (map == MAP_FAILED)
		return die("a shared writable mmap failed", file);
	memcpy(map, "written through mmap", 20);
	if (msync(map, 2 * SLOT, MS_SYNC) < 0)
		return die("msync failed", file);
	if (expect_same(reader, "written through mmap", 20, 4 * SLOT, file,
			"a reader does not see what mmap wrote"))
		return 1;
	if (pwrite_all(writer, "written by pwrite", 17, 5 * SLOT) < 0)
		return die("write failed", file);
	if (memcmp(map + SLOT, "written by pwrite", 17) != 0) {
		fprintf(stderr, "rwcheck: %s: a mapping does not see a write\n", file);
		return 1;
	}
	munmap(map, 2 * SLOT);
	if (fsync(writer) < 0)
		return die("fsync failed", file);
	close(reader);
	close(writer);
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
	if (argc == 7 && strcmp(argv[1], "parallel") == 0)
		return parallel(argv[2], argv[3], strtoull(argv[4], NULL, 0),
				(unsigned)atoi(argv[5]), atol(argv[6]));
	if (argc == 3 && strcmp(argv[1], "coherent") == 0)
		return coherent(argv[2]);
	fputs("usage: rwcheck model FILE MODEL SEED WRITES\n"
	      "       rwcheck crash FILE LOG SEED SLOT\n"
	      "       rwcheck crash-verify FILE ORIG LOG SEED SLOT\n"
	      "       rwcheck parallel FILE MODEL SEED WRITERS WRITES\n"
	      "       rwcheck coherent FILE\n", stderr);
	return 2;
}
