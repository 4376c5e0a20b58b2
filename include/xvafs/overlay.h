/* The copy-on-write overlay: writable disks over a read-only export.
 *
 * Per disk, DIR holds PREFIX.data, a sparse file the size of the disk with
 * the blocks written, and PREFIX.map, a header that binds it to the export
 * (its size, ova.xml's hash, the disk's prefix and size, the block size;
 * little-endian, versioned: src/access/overlay.c describes it)
 * followed by a bitmap of the blocks the overlay holds. Reads take held
 * blocks from the overlay and the rest from the export; a write to a block
 * not held yet first copies the block up from the export.
 *
 * One writer at a time: DIR/lock is locked (an open-file-description lock,
 * which the kernel drops when the holder dies, so a crash never leaves it
 * held) exclusively by a writer and shared by readers; a second user is
 * refused with XVA_EBUSY and a message naming the holder. Every server of
 * the core (the mount, --export-disk, the nbdkit plugin) goes through it.
 *
 * Durability: xva_overlay_sync() takes the bits set so far, makes the
 * data durable (fdatasync), then writes those bits, then makes them
 * durable. Bits only ever go from 0 to 1 and a bit reaches the disk only
 * after its block's data did, so after a crash (of the daemon or of the
 * machine) at any point the map never claims a block whose data is not
 * there; writes not synced may be lost, and an overwrite in progress may
 * be torn at sector granularity, as on a disk. A sync that finds no
 * change since the last one returns at once, and syncs that wait for one
 * in progress return when it covered their changes, so concurrent syncs
 * share one flush. The export is never opened for writing.
 *
 * Writes to different blocks of a disk proceed in parallel (the blocks'
 * locks are striped); reads take no lock. */
#ifndef XVAFS_OVERLAY_H
#define XVAFS_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"
#include "xvafs/read.h"
#include "xvafs/xva.h"

/* Block sizes the map supports; new overlays use the default, chosen by
 * measurement (bench/README.md). */
#define XVA_OVL_BLOCK_MIN 4096u
#define XVA_OVL_BLOCK_MAX 65536u
#define XVA_OVL_BLOCK_DEFAULT 4096u

struct xva_overlay;

enum xva_overlay_mode {
	XVA_OVL_READ,  /* read what the overlay holds; create nothing */
	XVA_OVL_WRITE, /* writable disks; creates what is missing */
};

/* Whether BLOCK is a block size the map supports: a power of two from
 * XVA_OVL_BLOCK_MIN to XVA_OVL_BLOCK_MAX (0: the default). */
bool xva_overlay_block_valid(uint32_t block);

/* Opens the overlay in DIR for every disk of XVA, locked for MODE.
 * Writing creates DIR (0700) and the disks' files (0600) as needed; BLOCK
 * is the block size for new map files (0: the default; anything
 * xva_overlay_block_valid() refuses is XVA_EINVAL, before anything is
 * created); existing ones keep theirs. HOLDER (say, "mounted at /mnt")
 * is what a refused second user is told, with this process's pid.
 * Failures: XVA_EBUSY (held), XVA_EMISMATCH (made for another export or
 * disk), XVA_EFORMAT with XVA_R_OVERLAY (a map that is not one),
 * XVA_EOPEN, XVA_EIO, XVA_ENOSPC, XVA_EINVAL, XVA_ENOMEM. */
enum xva_status xva_overlay_open(const struct xva *xva, const char *dir,
				 enum xva_overlay_mode mode, uint32_t block,
				 const char *holder, struct xva_overlay **out,
				 struct xva_err *err);
/* Records this process as the holder again, after a fork (daemonizing). */
void xva_overlay_set_holder(struct xva_overlay *ovl, const char *holder);
/* Syncs (see above) and frees. */
enum xva_status xva_overlay_close(struct xva_overlay *ovl,
				  struct xva_err *err);

/* Reads of disk DISK (its index in the map), clipped to the disk's size,
 * as xva_read_segments: segments of held blocks name the overlay's data
 * file in their fd. */
enum xva_status xva_overlay_read_segments(struct xva_overlay *ovl,
					  size_t disk, size_t len,
					  uint64_t off, xva_segment_fn fn,
					  void *ctx, size_t *done,
					  struct xva_err *err);
enum xva_status xva_overlay_read(struct xva_overlay *ovl, size_t disk,
				 void *buf, size_t len, uint64_t off,
				 size_t *done, struct xva_err *err);
/* Writes of LEN bytes at OFF, which must lie inside the disk. */
enum xva_status xva_overlay_write(struct xva_overlay *ovl, size_t disk,
				  const void *buf, size_t len, uint64_t off,
				  struct xva_err *err);
/* Makes LEN bytes at OFF read as zeros (discard, punch-hole). */
enum xva_status xva_overlay_zero(struct xva_overlay *ovl, size_t disk,
				 uint64_t len, uint64_t off,
				 struct xva_err *err);
/* Makes every write to DISK so far durable. */
enum xva_status xva_overlay_sync(struct xva_overlay *ovl, size_t disk,
				 struct xva_err *err);

/* SEEK_DATA / SEEK_HOLE over the merged disk; as xva_disk_seek. */
int xva_overlay_seek(struct xva_overlay *ovl, size_t disk, uint64_t off,
		     bool want_data, uint64_t *out);
/* Bytes the overlay holds for DISK (for st_blocks). */
uint64_t xva_overlay_bytes(const struct xva_overlay *ovl, size_t disk);

#endif
