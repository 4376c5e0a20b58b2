/* Partition tables inside a disk: MBR (primaries, and the logical
 * partitions of the extended chain) and GPT, read through a disk view
 * the way Linux and libblkid read them, so that the partitions listed
 * and numbered are the ones a guest sees as xvda1, xvda5, ...
 *
 * Rules (libblkid's, util-linux 2.38, and the kernel's):
 *  - sector 0 must end in 55 AA; a table whose boot flags are not 0 or
 *    0x80, a FAT or NTFS boot sector, or an empty MBR on an LVM physical
 *    volume is no partition table;
 *  - an MBR entry of type 0xEE (protective or hybrid MBR) means GPT: the
 *    MBR's other entries are then ignored, and if no GPT header is good
 *    there are no partitions;
 *  - GPT: the header at LBA 1 with its header CRC, my_lba, usable range
 *    and entries CRC checked; the backup header at the disk's last LBA is
 *    read only when the primary fails (XVA_PT_BACKUP_USED); entries of
 *    128 bytes; unused entries and entries outside the usable range keep
 *    their numbers but are not listed; 512-byte sectors, and 4096-byte
 *    ones when LBA 1 has no header and byte 4096 has one;
 *  - MBR: primaries keep their slot numbers 1-4 (an empty slot, size 0,
 *    is skipped but not renumbered); each extended partition (0x05, 0x0F,
 *    0x85) is listed (XVA_PART_EXTENDED) and its chain walked: logicals
 *    are numbered from 5 in chain order, data entries are relative to
 *    their EBR, links to the extended partition's start, only the first
 *    link is followed, a data partition whose start is already listed is
 *    skipped, and the walk stops at an EBR already visited or after 100
 *    links without data; MBR sizes are in 512-byte sectors;
 *  - a partition running past the disk's end is cut at the end and
 *    flagged XVA_PART_CLAMPED; one starting at or past the end is left
 *    out, with a note.
 *
 * Hostile input is bounded: at most XVA_PT_MAX_ENTRIES GPT entries and
 * XVA_PT_MAX_LOGICAL logical partitions are read. */
#ifndef XVAFS_PARTITION_H
#define XVAFS_PARTITION_H

#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"
#include "xvafs/view.h"

#define XVA_PT_MAX_ENTRIES 16384u
#define XVA_PT_MAX_LOGICAL 256u

enum xva_ptable_kind {
	XVA_PT_NONE = 0, /* no partition table (a bare filesystem or PV) */
	XVA_PT_MBR,      /* "dos" */
	XVA_PT_GPT,      /* "gpt" */
};

/* Flags of a table. */
#define XVA_PT_BACKUP_USED 1u /* the primary GPT header or entries were bad */
#define XVA_PT_HYBRID 2u      /* the MBR holds entries besides the 0xEE one */

/* Flags of a partition. */
#define XVA_PART_CLAMPED 1u  /* ran past the disk's end: LENGTH is cut */
#define XVA_PART_EXTENDED 2u /* an MBR extended partition (a container,
				not data: front ends do not serve it) */
#define XVA_PART_LOGICAL 4u  /* a logical partition (number 5 and up) */
#define XVA_PART_BOOTABLE 8u /* the MBR's active flag (0x80) */

struct xva_partition {
	unsigned number;         /* as Linux numbers it */
	unsigned flags;          /* XVA_PART_* */
	uint64_t start;          /* bytes from the disk's start */
	uint64_t length;         /* bytes (after clamping) */
	uint64_t table_length;   /* bytes the table says */
	uint8_t mbr_type;        /* MBR: the type byte; GPT: 0 */
	char type_guid[37];      /* GPT: the type GUID, lower case, as
				    blkid's PART_ENTRY_TYPE; MBR: "" */
	char uuid[37];           /* GPT: the partition's unique GUID; MBR:
				    "" */
	char name[109];          /* GPT: the name, UTF-8; MBR: "" */
	uint64_t attributes;     /* GPT attribute bits */
};

struct xva_ptable {
	enum xva_ptable_kind kind;
	unsigned flags;          /* XVA_PT_* */
	unsigned sector_size;    /* bytes of an LBA: 512, or 4096 for a GPT
				    written with 4096-byte sectors */
	char id[37];             /* as blkid's PTUUID: MBR: the disk
				    signature, 8 hex digits; GPT: the disk
				    GUID; lower case */
	size_t n;
	struct xva_partition *parts; /* in table order: primaries by slot,
					logicals after, or GPT by entry */
	size_t n_notes;
	char **notes;            /* what was odd and how it was read, one
				    line each (a CRC that failed, a
				    partition clamped or left out) */
};

/* The partition table of DISK. No table is not an error: *OUT then has
 * kind XVA_PT_NONE and no partitions (the notes may say why a table
 * was refused). Fails only when DISK cannot be read (its status) or on
 * XVA_ENOMEM. */
enum xva_status xva_partitions_read(struct xva_view *disk,
				    struct xva_ptable **out,
				    struct xva_err *err);
void xva_ptable_free(struct xva_ptable *t);

/* "dos", "gpt" or "" (blkid's PTTYPE). */
const char *xva_ptable_kind_name(enum xva_ptable_kind kind);

/* The name fdisk and sfdisk give P's type ("Linux", "Linux filesystem",
 * "EFI System"), for the common types; NULL for others (then its type
 * byte or GUID is all there is to say). */
const char *xva_partition_type_name(const struct xva_partition *p);

/* The Linux name of partition NUMBER of the disk called DISK: "xvda" +
 * 1 gives "xvda1", and a name ending in a digit takes a "p" ("Ref:12" +
 * 1 gives "Ref:12p1", "nvme0n1" + 2 "nvme0n1p2"). The length it needs;
 * the name is cut to SIZE - 1 bytes as snprintf does. */
int xva_partition_name(char *buf, size_t size, const char *disk,
		       unsigned number);

#endif
