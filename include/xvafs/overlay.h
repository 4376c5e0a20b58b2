/* The copy-on-write overlay: writable disks over a read-only export.
 *
 * Per disk, DIR holds PREFIX.data, a sparse file the size of the disk with
 * the blocks written, and PREFIX.map, a header that binds it to the export
 * (its size, ova.xml's hash, the disk's prefix and size, the block size)
 * followed by a bitmap of the blocks the overlay holds. Reads take held
 * blocks from the overlay and the rest from the export; a write to a block
 * not held yet first copies the block up from the export.
 *
 * Durability: xva_overlay_sync() makes the data durable (fdatasync), then
 * writes the bitmap, then makes it durable. Bits only ever go from 0 to 1
 * and a bit reaches the disk only after its block's data did, so after a
 * crash (of the daemon or of the machine) at any point the map never
 * claims a block whose data is not there; writes not synced may be lost,
 * and an overwrite in progress may be torn at sector granularity, as on a
 * disk. The export is never opened for writing. */
#ifndef XVAFS_OVERLAY_H
#define XVAFS_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/archive.h"
#include "xvafs/error.h"

enum xva_ovl_status {
	XVA_OVL_OK = 0,
	XVA_OVL_EOPEN,     /* the folder or a file cannot be made or opened */
	XVA_OVL_EMISMATCH, /* the overlay belongs to another export or disk */
	XVA_OVL_EDAMAGED,  /* a map file that is not one */
	XVA_OVL_EIO,
	XVA_OVL_ENOSPC,    /* the overlay's file system is full */
	XVA_OVL_ENOMEM,
	XVA_OVL_ELOWER,    /* reading the export failed (see the message) */
};

/* Block sizes the map supports; new overlays use the default, chosen by
 * measurement (bench/README.md). */
#define XVA_OVL_BLOCK_MIN 4096u
#define XVA_OVL_BLOCK_MAX 65536u
#define XVA_OVL_BLOCK_DEFAULT 4096u

struct xva_overlay;

/* Opens (creating as needed, 0700/0600) the overlay in DIR for every disk
 * of XVA. BLOCK is the block size for new map files (0: the default);
 * existing ones keep theirs. */
enum xva_ovl_status xva_overlay_open(const struct xva *xva, const char *dir,
				     uint32_t block, struct xva_overlay **out,
				     struct xva_err *err);
/* Syncs (see above) and frees. */
enum xva_ovl_status xva_overlay_close(struct xva_overlay *ovl,
				      struct xva_err *err);

/* Reads and writes of disk DISK (its index in the map), clipped to the
 * disk's size. */
enum xva_ovl_status xva_overlay_read(struct xva_overlay *ovl, size_t disk,
				     void *buf, size_t len, uint64_t off,
				     size_t *done, struct xva_err *err);
enum xva_ovl_status xva_overlay_write(struct xva_overlay *ovl, size_t disk,
				      const void *buf, size_t len,
				      uint64_t off, struct xva_err *err);
/* Makes LEN bytes at OFF read as zeros (discard, punch-hole). */
enum xva_ovl_status xva_overlay_zero(struct xva_overlay *ovl, size_t disk,
				     uint64_t len, uint64_t off,
				     struct xva_err *err);
/* Makes every write to DISK so far durable. */
enum xva_ovl_status xva_overlay_sync(struct xva_overlay *ovl, size_t disk,
				     struct xva_err *err);

/* SEEK_DATA / SEEK_HOLE over the merged disk; as xva_disk_seek. */
int xva_overlay_seek(struct xva_overlay *ovl, size_t disk, uint64_t off,
		     bool want_data, uint64_t *out);
/* Bytes the overlay holds for DISK (for st_blocks). */
uint64_t xva_overlay_bytes(const struct xva_overlay *ovl, size_t disk);

#endif
