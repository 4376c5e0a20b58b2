/* An opened .xva: the tar index pass, the disk map, ova.xml and the disks'
 * names together, and the read and verify paths every front end shares
 * (the FUSE mount, --list, --verify, tests).
 *
 * Everything that can be wrong with the file is found by xva_open(), before
 * anything is mounted. An export cut short is not refused: the intact part
 * is served and reads past it fail. The file is opened O_RDONLY and never
 * written. */
#ifndef XVAFS_ARCHIVE_H
#define XVAFS_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "xvafs/checksum.h"
#include "xvafs/diskmap.h"
#include "xvafs/error.h"
#include "xvafs/indexcache.h"
#include "xvafs/names.h"
#include "xvafs/ovaxml.h"
#include "xvafs/tarindex.h"

enum xva_status {
	XVA_OK = 0,
	XVA_EOPEN,    /* the file cannot be opened or is not a regular file */
	XVA_ETAR,     /* the tar structure is bad (see tar_status) */
	XVA_EMEMBER,  /* a member's name is unsafe or not an export's */
	XVA_EMAP,     /* the chunks do not make a consistent disk */
	XVA_EOVA,     /* ova.xml is bad */
	XVA_EIO,      /* reading failed */
	XVA_ECUT,     /* past the intact part of an export cut short */
	XVA_ECORRUPT, /* a chunk failed (or lacks) its checksum (verify) */
	XVA_ENOMEM,
};

/* ova.xml is small (kilobytes); anything past this is not an export's. */
#define XVA_OVA_XML_MAX (64u << 20)

/* Names the mount's root uses besides the disks; no disk may take them. */
#define XVA_NAME_OVA_XML "ova.xml"
#define XVA_NAME_BY_DEVICE "by-device"
#define XVA_NAME_BY_LABEL "by-label"

struct xva_open_options {
	const char *cache_dir; /* the index cache's folder; NULL: no cache */
};

struct xva {
	int fd;
	int direct_fd;              /* the same file, O_DIRECT; -1 until opened */
	struct stat st;             /* of the .xva when it was opened */
	struct xva_diskmap map;     /* one disk per member prefix */
	struct xva_index_facts idx; /* the rest of what the index pass found */
	struct xva_disk_names *names; /* parallel to map.disks */
	struct xva_ovaxml *ova;     /* NULL without ova.xml (single-VDI export) */
	enum xva_tar_status tar_status; /* when xva_open failed with XVA_ETAR */
	bool index_from_cache;      /* the index came from the cache */
	char cache_note[XVA_ERR_MAX]; /* why the cache was ignored or not
					 written; empty when all went well */
	/* -o verify: per disk, per extent, an enum chunk_state (atomic). */
	unsigned char **chunk_state;
};

/* Opens and indexes the export at PATH (OPTIONS may be NULL). */
enum xva_status xva_open(const char *path,
			 const struct xva_open_options *options,
			 struct xva **out, struct xva_err *err);
void xva_close(struct xva *xva);

/* Reads LEN bytes of DISK at OFF into BUF, clipped to the disk's size;
 * *DONE is the byte count. Present chunks come from the .xva, gaps are
 * zeros. Bytes the file no longer holds are XVA_EIO, bytes past the intact
 * part of a truncated export XVA_ECUT; never zeros. With verification on, a
 * chunk is checked the first time it is read, and a chunk that failed is
 * XVA_ECORRUPT; ERR is then empty when that chunk was reported before. */
enum xva_status xva_read(const struct xva *xva, const struct xva_disk *disk,
			 void *buf, size_t len, uint64_t off, size_t *done,
			 struct xva_err *err);

/* Opens a second, O_DIRECT descriptor on the export, so that readers that
 * bypass the page cache (O_DIRECT) are served without filling it either. */
enum xva_status xva_open_direct(struct xva *xva, struct xva_err *err);

/* xva_read through the O_DIRECT descriptor (BUF aligned to 4096); a
 * segment the device's alignment rules refuse is read through the page
 * cache instead, with the same bytes. */
enum xva_status xva_read_direct(const struct xva *xva,
				const struct xva_disk *disk, void *buf,
				size_t len, uint64_t off, size_t *done,
				struct xva_err *err);

/* Where the bytes of a read come from: LEN bytes at FILE_OFF in the .xva,
 * or LEN zeros when ZERO. */
struct xva_segment {
	uint64_t file_off;
	uint64_t len;
	uint64_t number; /* the chunk member's, for messages */
	bool zero;
};

typedef int (*xva_segment_fn)(void *ctx, const struct xva_segment *seg);

/* Splits a read of LEN bytes of DISK at OFF (clipped to the disk's size,
 * the clipped length in *DONE) into segments, in order, with the same
 * checks as xva_read (intact part, verification) made before the first
 * segment is passed on. Consecutive zero segments are merged. FN returning
 * non-zero stops with XVA_EIO. */
enum xva_status xva_read_segments(const struct xva *xva,
				  const struct xva_disk *disk, size_t len,
				  uint64_t off, xva_segment_fn fn, void *ctx,
				  size_t *done, struct xva_err *err);

/* Reads ova.xml's text like a file. */
enum xva_status xva_read_ova(const struct xva *xva, void *buf, size_t len,
			     uint64_t off, size_t *done, struct xva_err *err);

/* Turns on verification on first read (-o verify). Fails when no disk has
 * checksums to verify against. */
enum xva_status xva_enable_verify(struct xva *xva, struct xva_err *err);

enum xva_verdict {
	XVA_VERDICT_GOOD = 0,
	XVA_VERDICT_MISMATCH,   /* the data does not hash to its checksum */
	XVA_VERDICT_NO_CHECKSUM, /* no usable checksum member */
	XVA_VERDICT_UNREADABLE, /* the data or checksum could not be read */
};

/* Checks extent IDX of DISK against its checksum member, reading it with
 * BUF (BUFLEN bytes, any size) as scratch. ERR names the disk, the member
 * and the disk bytes it covers when the verdict is not GOOD. */
enum xva_verdict xva_verify_extent(const struct xva *xva,
				   const struct xva_disk *disk, size_t idx,
				   void *buf, size_t buflen, struct xva_err *err);
/* The same for keep-alive member IDX (it must carry the hash of ""). */
enum xva_verdict xva_verify_keepalive(const struct xva *xva,
				      const struct xva_disk *disk, size_t idx,
				      struct xva_err *err);

const char *xva_strerror(enum xva_status status);

#endif
