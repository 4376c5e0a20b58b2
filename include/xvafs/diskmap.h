/* The disk map: where each byte of each exported disk lies in the .xva.
 *
 * Members are added in stream order and placed by XAPI's sequential rule
 * (a member's number is a counter, not an offset): per disk, the block size
 * is the first data member's length, a gap in numbers is that many all-zero
 * blocks, and a zero-length keep-alive member takes a number but no bytes.
 * Only present chunks are stored, as a sorted extent array (32 bytes each);
 * everything between extents reads as zeros. */
#ifndef XVAFS_DISKMAP_H
#define XVAFS_DISKMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/checksum.h"
#include "xvafs/error.h"

/* Failures are XVA_EFORMAT with the rule broken as the reason (see
 * error.h), or XVA_ENOMEM. */

struct xva_extent {
	uint64_t disk_off;   /* first disk byte the chunk holds */
	uint64_t file_off;   /* where that byte is in the .xva */
	uint64_t number;     /* the member's number, for messages */
	uint32_t len;        /* bytes; never 0 (keep-alives hold none) */
	uint32_t csum_delta; /* checksum text at file_off + csum_delta; 0: none */
};

/* A zero-length keep-alive member: it holds no bytes but has a number and,
 * like every member, a checksum (of ""). Rare, so kept in a list. */
struct xva_keepalive {
	uint64_t number;
	uint64_t disk_off;  /* the disk position when it was written */
	uint64_t csum_off;  /* its checksum text in the .xva; 0: none */
	uint64_t csum_len;  /* that member's length */
};

/* A checksum member whose length is not that of its kind's text. */
struct xva_bad_checksum {
	uint64_t number;
	uint64_t len;
};

struct xva_disk {
	char *prefix;           /* member folder, e.g. "Ref:12"; the VDI id */
	uint64_t size;          /* bytes served (virtual_size, or data_end) */
	uint64_t data_end;      /* final sequential position */
	/* Reads at or past this offset fail: the export was cut short before
	 * the disk's data was complete. Equals size when complete. */
	uint64_t intact_end;
	uint64_t block;         /* block size; 0 until a member has data */
	uint64_t bytes_present; /* sum of extent lengths */
	struct xva_extent *extents;
	size_t n_extents, cap_extents;
	uint64_t members;       /* data members, keep-alives included */
	uint64_t keepalives;    /* zero-length data members */
	uint64_t last_number;   /* of the previous data member */
	int number_width;       /* digits in member names; 0 if they vary */
	enum xva_checksum_kind checksum_kind; /* of its checksum members */
	uint64_t n_checksums;   /* checksum members, keep-alives' included */
	struct xva_keepalive *keepalive_list;
	struct xva_bad_checksum *bad_checksums;
	size_t n_bad_checksums;
	uint64_t stray_checksums; /* checksum members that verify nothing */
	uint64_t first_stray_off; /* the first one's data in the .xva */
	bool last_has_checksum; /* the previous data member got its checksum */
};

struct xva_diskmap {
	struct xva_disk *disks; /* in stream order */
	size_t n_disks, cap_disks;
	struct xva_disk *current; /* the disk receiving members */
};

void xva_map_init(struct xva_diskmap *map);
void xva_map_free(struct xva_diskmap *map);

/* Adds data member PREFIX/NUMBER (printed with WIDTH digits) whose LEN bytes
 * start at FILE_OFF in the .xva. */
enum xva_status xva_map_add_chunk(struct xva_diskmap *map,
				  const char *prefix, uint64_t number,
				  int width, uint64_t file_off,
				  uint64_t len, struct xva_err *err);

/* Adds checksum member PREFIX/NUMBER.KIND whose LEN bytes of text start
 * at FILE_OFF. It belongs to the data member right before it, when that
 * has NUMBER and the disk's other checksums are of the same KIND; any
 * other checksum member (KIND XVA_CHECKSUM_NONE for a misnamed one) is a
 * stray: counted in the disk's stray_checksums, and its chunk stays
 * without a checksum. */
enum xva_status xva_map_add_checksum(struct xva_diskmap *map,
				     const char *prefix, uint64_t number,
				     enum xva_checksum_kind kind,
				     uint64_t file_off, uint64_t len,
				     struct xva_err *err);

/* Adds a disk that has no members, sized SIZE, none of it intact: a disk
 * the export was cut short before. */
enum xva_status xva_map_add_unreached(struct xva_diskmap *map,
				      const char *prefix, uint64_t size,
				      struct xva_err *err);

/* Fixes the disk's size: the VDI's virtual_size when known (the data must
 * end exactly there), else the final sequential position. A disk the
 * export was cut short in (TRUNCATED) may end short of its virtual_size;
 * it is intact up to its data's end, or less when CUT_AT (a position on
 * the disk) is lower. */
enum xva_status xva_disk_set_size(struct xva_disk *disk,
				  bool have_virtual_size,
				  uint64_t virtual_size, bool truncated,
				  uint64_t cut_at, struct xva_err *err);

/* The wrong-length checksum record of NUMBER, or NULL. */
const struct xva_bad_checksum *xva_disk_bad_checksum(const struct xva_disk *disk,
						     uint64_t number);

struct xva_disk *xva_map_find(const struct xva_diskmap *map,
			      const char *prefix);

/* Index of the first extent that ends after disk offset OFF (n_extents when
 * none does). */
size_t xva_disk_extent_at(const struct xva_disk *disk, uint64_t off);

/* SEEK_DATA (WANT_DATA) or SEEK_HOLE from OFF into *OUT. Gaps between
 * chunks are holes; bytes past the intact part of a cut export count as
 * data (they are not known to be zeros). Returns -1 (ENXIO) when OFF is at
 * or past the end, or no data follows it. */
int xva_disk_seek(const struct xva_disk *disk, uint64_t off, bool want_data,
		  uint64_t *out);

/* "PREFIX/NUMBER" as the member was named, for messages. */
void xva_disk_member_name(const struct xva_disk *disk, uint64_t number,
			  char *buf, size_t len);

#endif
