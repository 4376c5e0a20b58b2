/* Whole-buffer positioned I/O and byte order for the core (internal). */
#ifndef XVAFS_IO_H
#define XVAFS_IO_H

#include <stddef.h>
#include <stdint.h>

/* Reads exactly LEN bytes at OFF, retrying after EINTR and short reads.
 * Returns 0, or -1 with errno set (0 when the file ends first). */
int xva_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* Writes exactly LEN bytes at OFF. Returns 0, or -1 with errno set
 * (ENOSPC when the file system accepts no more). */
int xva_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);

/* Little-endian fields of xvafs's own cache files. */
static inline void xva_put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void xva_put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t xva_get_le32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t xva_get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#endif
