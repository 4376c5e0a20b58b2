/* Whole-buffer positioned I/O for the core (internal). */
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

#endif
