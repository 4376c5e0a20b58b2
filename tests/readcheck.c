/* readcheck: compares FILE with REF by many reads at odd offsets and
 * lengths (across chunk boundaries, gaps and the tail), and by one
 * sequential pass in an odd step size. With --direct, FILE is opened
 * O_DIRECT and reads are aligned, as Xen's tap:aio and qemu cache=none do.
 *
 *   readcheck [--direct] [--reads N] [--chunk BYTES] [--seed N] FILE REF */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ALIGN 4096

static int fail(const char *what, const char *file)
{
	fprintf(stderr, "readcheck: %s: %s: %s\n", file, what, strerror(errno));
	return 1;
}

static int compare(int fd, int ref, char *a, char *b, size_t len,
		   uint64_t off, const char *file)
{
	ssize_t na = pread(fd, a, len, (off_t)off);
	ssize_t nb = pread(ref, b, len, (off_t)off);

	if (na < 0)
		return fail("read failed", file);
	if (nb < 0)
		return fail("reference read failed", file);
	if (na != nb) {
		fprintf(stderr, "readcheck: %s: read of %zu at %llu returned %zd, "
			"reference %zd\n", file, len, (unsigned long long)off,
			na, nb);
		return 1;
	}
	if (memcmp(a, b, (size_t)na) != 0) {
		size_t i = 0;

		while (a[i] == b[i])
			i++;
		fprintf(stderr, "readcheck: %s: byte %llu differs (read of %zu "
			"at %llu)\n", file, (unsigned long long)(off + i), len,
			(unsigned long long)off);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t chunk = 1 << 20, size, state = 88172645463325252ULL;
	long reads = 2000;
	int direct = 0, fd, ref, i;
	struct stat sa, sb;
	char *a, *b;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--direct") == 0)
			direct = 1;
		else if (strcmp(argv[i], "--reads") == 0 && i + 1 < argc)
			reads = atol(argv[++i]);
		else if (strcmp(argv[i], "--chunk") == 0 && i + 1 < argc)
			chunk = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			state ^= strtoull(argv[++i], NULL, 0) * 0x9E3779B97F4A7C15ull;
		else
			break;
	}
	if (argc - i != 2) {
		fputs("usage: readcheck [--direct] [--reads N] [--chunk BYTES] "
		      "FILE REF\n", stderr);
		return 2;
	}
	fd = open(argv[i], O_RDONLY | (direct ? O_DIRECT : 0));
	if (fd < 0)
		return fail("cannot open", argv[i]);
	ref = open(argv[i + 1], O_RDONLY);
	if (ref < 0)
		return fail("cannot open", argv[i + 1]);
	if (fstat(fd, &sa) < 0 || fstat(ref, &sb) < 0)
		return fail("cannot stat", argv[i]);
	if (sa.st_size != sb.st_size) {
		fprintf(stderr, "readcheck: %s: size %lld, reference %lld\n",
			argv[i], (long long)sa.st_size, (long long)sb.st_size);
		return 1;
	}
	size = (uint64_t)sa.st_size;
	if (posix_memalign((void **)&a, ALIGN, 4 * chunk + ALIGN) ||
	    posix_memalign((void **)&b, ALIGN, 4 * chunk + ALIGN))
		return fail("out of memory", argv[i]);

	for (long k = 0; k < reads; k++) {
		uint64_t off, len;

		state ^= state << 13; state ^= state >> 7; state ^= state << 17;
		off = state % (size + 1);
		switch (k % 4) {
		case 0: /* just before, at or after a chunk boundary */
			off = off / chunk * chunk + (state >> 40) % 9 - 4;
			break;
		case 1: /* the very end */
			off = size > 5000 ? size - (state >> 40) % 5000 : 0;
			break;
		}
		if (off > size)
			off = size;
		state ^= state << 13; state ^= state >> 7; state ^= state << 17;
		len = 1 + state % (3 * chunk);
		if (direct) {
			off = off / ALIGN * ALIGN;
			len = (len + ALIGN - 1) / ALIGN * ALIGN;
		}
		if (compare(fd, ref, a, b, (size_t)len, off, argv[i]))
			return 1;
	}
	/* Every byte, in steps that never line up with chunks. */
	for (uint64_t off = 0; off < size; ) {
		uint64_t step = direct ? chunk + ALIGN : chunk + 4097;

		if (compare(fd, ref, a, b, (size_t)step, off, argv[i]))
			return 1;
		off += step;
	}
	free(a);
	free(b);
	return 0;
}
