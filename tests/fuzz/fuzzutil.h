/* Shared by the harnesses of the cache loaders: the export or stream in a
 * memfd (opened through /proc/self/fd as a path, as the product opens a
 * file), a private cache folder, and the little-endian fields of xvafs's
 * own files. Everything is static inline: each harness is one file. */
#ifndef XVAFS_FUZZUTIL_H
#define XVAFS_FUZZUTIL_H

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memfd holding LEN bytes at DATA, and its path; -1 on failure. */
static inline int fuzz_memfd(const void *data, size_t len, char *path,
			     size_t size)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	snprintf(path, size, "/proc/self/fd/%d", fd);
	return fd;
}

/* The harness's cache folder, made once (in memory when /dev/shm is
 * there) and removed at exit. */
static char fuzz_dir[64];

static inline void fuzz_dir_remove(void)
{
	rmdir(fuzz_dir);
}

static inline const char *fuzz_cache_dir(void)
{
	if (!fuzz_dir[0]) {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/xvafs-fuzz-XXXXXX",
			 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(fuzz_dir))
			abort();
		atexit(fuzz_dir_remove);
	}
	return fuzz_dir;
}

static inline void fuzz_write_file(const char *path, const void *data,
				   size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		abort();
	if (len && write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static inline uint32_t fuzz_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t fuzz_le64(const uint8_t *p)
{
	return (uint64_t)fuzz_le32(p) | (uint64_t)fuzz_le32(p + 4) << 32;
}

static inline void fuzz_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void fuzz_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The input of the loader harnesses: a mode byte, a little-endian u32
 * length, that many bytes of the export or stream, then the cache file.
 * Mode bit 0: the harness puts the identity of the memfd it opens in the
 * cache file and seals it with a right checksum, as xvafs would have
 * written it for that stream (else the fuzzer never gets past the
 * checksum); clear: the file is taken as it is. */
struct fuzz_input {
	unsigned mode;
	const uint8_t *stream;
	size_t stream_len;
	const uint8_t *cache;
	size_t cache_len;
};

static inline int fuzz_split(const uint8_t *data, size_t size,
			     struct fuzz_input *in)
{
	uint32_t n;

	if (size < 5)
		return -1;
	n = fuzz_le32(data + 1);
	if (n > size - 5)
		return -1;
	in->mode = data[0];
	in->stream = data + 5;
	in->stream_len = n;
	in->cache = data + 5 + n;
	in->cache_len = size - 5 - n;
	return 0;
}

/* A copy of the LEN bytes at FILE with the SKIP bytes at AT replaced by
 * the NEW_LEN bytes at NEW; *OUT_LEN its length. */
static inline uint8_t *fuzz_splice(const uint8_t *file, size_t len,
				   size_t at, size_t skip, const void *new,
				   size_t new_len, size_t *out_len)
{
	uint8_t *out = malloc(len - skip + new_len + 1);

	if (!out)
		abort();
	memcpy(out, file, at);
	memcpy(out + at, new, new_len);
	memcpy(out + at + new_len, file + at + skip, len - at - skip);
	*out_len = len - skip + new_len;
	return out;
}

#endif
