/* Partition tables built byte by byte: MBR primaries with an empty slot,
 * an extended chain (numbering, relative starts, a loop), a partition
 * past the end, libblkid's refusals (boot flag, FAT boot sector), GPT
 * with both CRCs, its backup when the primary is bad, none when both
 * are, hybrid MBRs, 4096-byte sectors, the Linux names, and the types'
 * names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "guestbuild.h"
#include "memview.h"
#include "xvafs/partition.h"

#define DISK (8u << 20) /* 16384 sectors */

static unsigned char disk[DISK];

static struct xva_ptable *table_of(size_t size)
{
	struct xva_view *v = memview_new("xvda", size, false);
	struct xva_ptable *t = NULL;
	struct xva_err err;

	memview_put(v, 0, disk, size);
	CHECK(xva_partitions_read(v, &t, &err) == XVA_OK);
	xva_view_close(v);
	return t;
}

static const struct xva_partition *part(const struct xva_ptable *t,
					unsigned number)
{
	for (size_t i = 0; t && i < t->n; i++)
		if (t->parts[i].number == number)
			return &t->parts[i];
	return NULL;
}

static bool noted(const struct xva_ptable *t, const char *word)
{
	for (size_t i = 0; i < t->n_notes; i++)
		if (strstr(t->notes[i], word))
			return true;
	return false;
}

static void test_mbr(void)
{
	struct xva_ptable *t;
	const struct xva_partition *p;
	unsigned char *ebr;

	memset(disk, 0, DISK);
	gb_le32(disk + 440, 0x1234abcd);
	gb_mbr_entry(disk, 0, 0x80, 0x83, 2048, 2048);
	/* slot 2 empty: its number is not reused */
	gb_mbr_entry(disk, 2, 0, 0x05, 8192, 8192);
	/* EBR chain: 8192 -> 10240 -> 12288 (links relative to 8192) */
	ebr = disk + 8192 * 512;
	gb_mbr_entry(ebr, 0, 0, 0x83, 63, 1000);
	gb_mbr_entry(ebr, 1, 0, 0x05, 2048, 2048);
	ebr = disk + 10240 * 512;
	gb_mbr_entry(ebr, 0, 0, 0x8e, 2048, 1024); /* relative to 10240 */
	gb_mbr_entry(ebr, 1, 0, 0x05, 4096, 4096);
	ebr = disk + 12288 * 512;
	gb_mbr_entry(ebr, 0, 0, 0x82, 100, 50);
	gb_mbr_entry(ebr, 1, 0, 0x05, 0, 4096);  /* a link to the start: ends */
	t = table_of(DISK);
	CHECK(t->kind == XVA_PT_MBR && strcmp(t->id, "1234abcd") == 0);
	CHECK(t->n == 5);
	CHECK((p = part(t, 1)) && p->start == 2048 * 512 &&
	      p->length == 2048 * 512 && p->mbr_type == 0x83 &&
	      (p->flags & XVA_PART_BOOTABLE));
	CHECK(!part(t, 2));
	CHECK((p = part(t, 3)) && (p->flags & XVA_PART_EXTENDED) &&
	      p->length == 8192 * 512);
	CHECK((p = part(t, 5)) && p->start == (8192 + 63) * 512ull &&
	      p->length == 1000 * 512 && (p->flags & XVA_PART_LOGICAL));
	CHECK((p = part(t, 6)) && p->start == (10240 + 2048) * 512ull &&
	      p->mbr_type == 0x8e);
	CHECK((p = part(t, 7)) && p->start == (12288 + 100) * 512ull);
	xva_ptable_free(t);

	/* A loop: the second EBR links to itself. */
	gb_mbr_entry(disk + 10240 * 512, 1, 0, 0x0f, 2048, 2048); /* itself */
	t = table_of(DISK);
	CHECK(t->n == 4 && part(t, 6) && !part(t, 7));
	CHECK(noted(t, "comes back"));
	xva_ptable_free(t);

	/* Past the end: clamped; starting past it: left out. */
	memset(disk, 0, 512);
	gb_mbr_entry(disk, 0, 0, 0x83, 2048, 20000);
	gb_mbr_entry(disk, 1, 0, 0x83, 20000, 10);
	t = table_of(DISK);
	CHECK(t->n == 1 && (p = part(t, 1)) && (p->flags & XVA_PART_CLAMPED) &&
	      p->length == DISK - 2048 * 512 && p->table_length == 20000 * 512);
	CHECK(noted(t, "past"));
	xva_ptable_free(t);

	/* A bad boot flag, then a FAT boot sector: no table. */
	gb_mbr_entry(disk, 1, 0x12, 0x83, 4096, 10);
	t = table_of(DISK);
	CHECK(t->kind == XVA_PT_NONE && t->n == 0 && noted(t, "boot flag"));
	xva_ptable_free(t);
	memset(disk, 0, 512);
	disk[0] = 0xEB;
	disk[2] = 0x90;
	gb_le16(disk + 11, 512);
	disk[13] = 4;
	gb_le16(disk + 14, 1);
	disk[16] = 2;
	disk[21] = 0xF8;
	memcpy(disk + 54, "FAT16   ", 8);
	gb_mbr_entry(disk, 0, 0, 0x83, 2048, 20);
	t = table_of(DISK);
	CHECK(t->kind == XVA_PT_NONE);
	xva_ptable_free(t);
	/* No 55 AA: nothing, and no note needed. */
	memset(disk, 0, 512);
	t = table_of(DISK);
	CHECK(t->kind == XVA_PT_NONE && t->n == 0);
	xva_ptable_free(t);
	t = table_of(100); /* shorter than a sector */
	CHECK(t->kind == XVA_PT_NONE);
	xva_ptable_free(t);
}

static const struct gb_gpt_part gparts[] = {
	{ 0, 2048, 4095, { 0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47,
			   0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4 },
	  { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }, "root" },
	{ 2, 4096, 8191, { 0x79, 0xD3, 0xD6, 0xE6, 0x07, 0xF5, 0xC2, 0x44,
			   0xA2, 0x3C, 0x23, 0x8F, 0x2A, 0x3D, 0xF9, 0x28 },
	  { 0x11 }, "lvm" },
	{ 3, 8192, 99999, { 1 }, { 2 }, "too far" },
};

static void test_gpt(void)
{
	struct xva_ptable *t;
	const struct xva_partition *p;

	memset(disk, 0, DISK);
	gb_gpt(disk, DISK, 512, gparts, 3);
	t = table_of(DISK);
	CHECK(t->kind == XVA_PT_GPT && t->sector_size == 512 && t->flags == 0);
	CHECK(strcmp(t->id, "a3a2a1a0-a5a4-a7a6-a8a9-aaabacadaeaf") == 0);
	CHECK(t->n == 2 && noted(t, "entry 4"));
	CHECK((p = part(t, 1)) && p->start == 2048 * 512 &&
	      p->length == 2048 * 512 && strcmp(p->name, "root") == 0 &&
	      strcmp(p->type_guid,
		     "0fc63daf-8483-4772-8e79-3d69d8477de4") == 0 &&
	      strcmp(p->uuid, "04030201-0605-0807-090a-0b0c0d0e0f10") == 0);
	CHECK((p = part(t, 3)) && strcmp(p->type_guid,
		"e6d6d379-f507-44c2-a23c-238f2a3df928") == 0);
	xva_ptable_free(t);

	/* Primary header CRC broken: the backup. */
	disk[512 + 40] ^= 1;
	t = table_of(DISK);
	CHECK(t->kind == XVA_PT_GPT && (t->flags & XVA_PT_BACKUP_USED) &&
	      t->n == 2 && noted(t, "header CRC"));
	xva_ptable_free(t);
	/* Primary entries broken: the backup. */
	gb_gpt(disk, DISK, 512, gparts, 3);
	disk[2 * 512 + 200] ^= 1;
	t = table_of(DISK);
	CHECK((t->flags & XVA_PT_BACKUP_USED) && noted(t, "entries CRC"));
	xva_ptable_free(t);
	/* Both broken: nothing, said why. */
	disk[DISK - 512 + 40] ^= 1;
	t = table_of(DISK);
	CHECK(t->kind == XVA_PT_NONE && t->n == 0 && noted(t, "no good GPT"));
	xva_ptable_free(t);
	/* Hybrid: the MBR's other entry ignored. */
	gb_gpt(disk, DISK, 512, gparts, 2);
	gb_mbr_entry(disk, 1, 0x80, 0x83, 2048, 2048);
	t = table_of(DISK);
	CHECK(t->kind == XVA_PT_GPT && (t->flags & XVA_PT_HYBRID) && t->n == 2);
	xva_ptable_free(t);
	/* No protective MBR: no GPT (as the kernel and blkid). */
	memset(disk, 0, 512);
	t = table_of(DISK);
	CHECK(t->kind == XVA_PT_NONE);
	xva_ptable_free(t);
	/* 4096-byte sectors. */
	memset(disk, 0, DISK);
	{
		struct gb_gpt_part p4 = gparts[0];

		p4.first = 256;
		p4.last = 511;
		gb_gpt(disk, DISK, 4096, &p4, 1);
	}
	t = table_of(DISK);
	CHECK(t->kind == XVA_PT_GPT && t->sector_size == 4096 && t->n == 1 &&
	      t->parts[0].start == 256 * 4096 &&
	      t->parts[0].length == 256 * 4096);
	xva_ptable_free(t);
}

static void test_names(void)
{
	char b[32];

	xva_partition_name(b, sizeof(b), "xvda", 1);
	CHECK(strcmp(b, "xvda1") == 0);
	xva_partition_name(b, sizeof(b), "Ref:12", 1);
	CHECK(strcmp(b, "Ref:12p1") == 0);
	xva_partition_name(b, sizeof(b), "nvme0n1", 12);
	CHECK(strcmp(b, "nvme0n1p12") == 0);
	CHECK(xva_partition_name(b, 4, "xvdb", 5) == 5 && strcmp(b, "xvd") == 0);
	CHECK(strcmp(xva_ptable_kind_name(XVA_PT_GPT), "gpt") == 0);
}

/* Types by util-linux's names; unknown ones have none. */
static void test_type_names(void)
{
	struct xva_partition p = { .mbr_type = 0x83 };
	const char *n;

	CHECK((n = xva_partition_type_name(&p)) && strcmp(n, "Linux") == 0);
	p.mbr_type = 0x05;
	CHECK((n = xva_partition_type_name(&p)) && strcmp(n, "Extended") == 0);
	p.mbr_type = 0x3c;
	CHECK(xva_partition_type_name(&p) == NULL);
	strcpy(p.type_guid, "0fc63daf-8483-4772-8e79-3d69d8477de4");
	CHECK((n = xva_partition_type_name(&p)) &&
	      strcmp(n, "Linux filesystem") == 0);
	strcpy(p.type_guid, "c12a7328-f81f-11d2-ba4b-00a0c93ec93b");
	CHECK((n = xva_partition_type_name(&p)) && strcmp(n, "EFI System") == 0);
	strcpy(p.type_guid, "01234567-89ab-cdef-0123-456789abcdef");
	CHECK(xva_partition_type_name(&p) == NULL);
}

int main(void)
{
	test_mbr();
	test_gpt();
	test_names();
	test_type_names();
	return CHECK_DONE();
}
