/* What a disk, partition or logical volume holds, told by its magic
 * numbers, with its label and UUID written as blkid writes them (TYPE,
 * LABEL, UUID, VERSION of `blkid -p -o export`). Known: ext2, ext3, ext4
 * (and jbd), xfs, btrfs, ntfs, vfat (FAT12/16/32), swap, LVM2_member,
 * crypto_LUKS (1 and 2), iso9660. Reads 8 KiB at the start, and when
 * nothing matched there 2 KiB at 32 KiB and 4 KiB at 64 KiB (NTFS: also
 * its $Volume record, for the label).
 *
 * Not done: swap with pages over 8 KiB, the FAT label in the root
 * directory (the boot sector's is used; mkfs.vfat writes both), Joliet
 * labels, btrfs's other superblock copies, the signature checks blkid
 * makes for every other type. */
#ifndef XVAFS_FSPROBE_H
#define XVAFS_FSPROBE_H

#include <stdbool.h>

#include "xvafs/error.h"
#include "xvafs/view.h"

struct xva_fsinfo {
	char type[16];     /* "" when nothing is known */
	char version[16];  /* "FAT32", "1" (LUKS), "1.0" ... or "" */
	char label[256];   /* UTF-8 */
	char uuid[64];
};

/* What V holds. Nothing known is not an error (type ""). Fails only when
 * V cannot be read. */
enum xva_status xva_fs_probe(struct xva_view *v, struct xva_fsinfo *out,
			     struct xva_err *err);

/* Whether the 512 bytes at SECTOR are a FAT, exFAT or NTFS boot sector
 * (which also ends in 55 AA, but is no partition table). */
bool xva_fs_boot_sector(const unsigned char *sector);

#endif
