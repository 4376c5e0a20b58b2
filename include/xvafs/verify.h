/* Chunk verification: each chunk's bytes against its checksum member, as
 * XAPI compares them (exact text). Used by --verify, which checks every
 * chunk in file order, and by the read path, which checks each chunk the
 * first time it is read when verification is on (-o verify, or forced
 * for a compressed stream that failed its own checksum). */
#ifndef XVAFS_VERIFY_H
#define XVAFS_VERIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "xvafs/xva.h"

/* What checking one chunk or keep-alive found: XVA_OK (it matches),
 * XVA_ECORRUPT (the data does not hash to its checksum),
 * XVA_EUNVERIFIABLE (no usable checksum member), or the read's failure
 * (XVA_EIO, XVA_ECUT, ...: the data or checksum could not be read). ERR
 * names the disk, the member and the disk bytes it covers. */

/* Checks extent IDX of DISK, reading it with BUF (BUFLEN bytes, any
 * size) as scratch. */
enum xva_status xva_verify_extent(const struct xva *xva,
				  const struct xva_disk *disk, size_t idx,
				  void *buf, size_t buflen, struct xva_err *err);
/* The same for keep-alive member IDX (it must carry the hash of ""). */
enum xva_status xva_verify_keepalive(const struct xva *xva,
				     const struct xva_disk *disk, size_t idx,
				     struct xva_err *err);

/* Turns on verification on first read. Fails (XVA_EUNVERIFIABLE) when no
 * disk has checksums to verify against. verify.c owns the state it
 * creates here, and xva_close() frees it through xva_verify_free(). */
enum xva_status xva_enable_verify(struct xva *xva, struct xva_err *err);
/* Whether verification on first read is on. */
bool xva_verify_enabled(const struct xva *xva);
/* Turns it off and frees its state; a no-op when it is off. */
void xva_verify_free(struct xva *xva);

/* With verification on, checks extent IDX of DISK unless that was done:
 * XVA_OK for a good chunk; a bad or unverifiable one fails every time, and
 * ERR's message is empty after the first, so it is reported once. Threads
 * may race to verify the same chunk; the result is the same. */
enum xva_status xva_check_chunk(const struct xva *xva,
				const struct xva_disk *disk, size_t idx,
				struct xva_err *err);
/* Chunks found bad so far are checked, and reported, again when next
 * read: a front end that read before serving (the partitions and volumes
 * inside the disks, said among its start-up warnings) has the chunk said
 * again where serving errors go. No-op when verification is off. */
void xva_verify_rearm(const struct xva *xva);

#endif
