/* Writers of on-disk structures for the guest tests and the fuzzer: MBR
 * entries, a GPT (both copies), an LVM2 PV (label, PV header, metadata
 * area with its text at a chosen place of the ring, so that it can wrap),
 * each with right checksums unless told otherwise. The layouts are the
 * formats' (see src/guest/partition.c and lvm.c); the CRCs come from
 * zlib and xva_lvm_crc. Everything is static inline. */
#ifndef XVAFS_TEST_GUESTBUILD_H
#define XVAFS_TEST_GUESTBUILD_H

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "xvafs/lvm.h"

static inline void gb_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void gb_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void gb_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* MBR entry SLOT (0-3) of SECTOR, and the 55 AA signature. */
static inline void gb_mbr_entry(unsigned char *sector, int slot, uint8_t boot,
				uint8_t type, uint32_t start, uint32_t sectors)
{
	unsigned char *e = sector + 446 + 16 * slot;

	e[0] = boot;
	e[4] = type;
	gb_le32(e + 8, start);
	gb_le32(e + 12, sectors);
	sector[510] = 0x55;
	sector[511] = 0xAA;
}

/* A GPT partition for gb_gpt: type and unique GUIDs as 16 raw bytes. */
struct gb_gpt_part {
	unsigned index; /* 0-based entry */
	uint64_t first, last;
	unsigned char type[16], uuid[16];
	const char *name; /* ASCII */
};

/* Header at LBA (entries at ENTRIES_LBA) of a disk of LAST + 1 sectors
 * of SSZ bytes, into H; the entries' CRC given. */
static inline void gb_gpt_header(unsigned char *h, unsigned ssz, uint64_t lba,
				 uint64_t alt, uint64_t entries_lba,
				 uint64_t first_usable, uint64_t last_usable,
				 uint32_t n_entries, uint32_t entries_crc)
{
	memset(h, 0, ssz);
	memcpy(h, "EFI PART", 8);
	gb_le32(h + 8, 0x00010000);
	gb_le32(h + 12, 92);
	gb_le64(h + 24, lba);
	gb_le64(h + 32, alt);
	gb_le64(h + 40, first_usable);
	gb_le64(h + 48, last_usable);
	for (int i = 0; i < 16; i++)
		h[56 + i] = (unsigned char)(0xA0 + i);
	gb_le64(h + 72, entries_lba);
	gb_le32(h + 80, n_entries);
	gb_le32(h + 84, 128);
	gb_le32(h + 88, entries_crc);
	gb_le32(h + 16, (uint32_t)crc32(0, h, 92));
}

/* A whole GPT of 128 entries, both copies, with a protective MBR, into
 * DISK (SIZE bytes, SSZ-byte sectors). */
static inline void gb_gpt(unsigned char *disk, uint64_t size, unsigned ssz,
			  const struct gb_gpt_part *parts, size_t n)
{
	uint64_t last = size / ssz - 1, esec = 128 * 128 / ssz;
	unsigned char ent[128 * 128];
	uint32_t crc;

	memset(ent, 0, sizeof(ent));
	for (size_t i = 0; i < n; i++) {
		unsigned char *e = ent + 128 * parts[i].index;

		memcpy(e, parts[i].type, 16);
		memcpy(e + 16, parts[i].uuid, 16);
		gb_le64(e + 32, parts[i].first);
		gb_le64(e + 40, parts[i].last);
		for (size_t k = 0; parts[i].name && parts[i].name[k]; k++)
			e[56 + 2 * k] = (unsigned char)parts[i].name[k];
	}
	crc = (uint32_t)crc32(0, ent, sizeof(ent));
	memset(disk, 0, 512);
	gb_mbr_entry(disk, 0, 0, 0xEE, 1,
		     last > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)last);
	memcpy(disk + 2 * ssz, ent, sizeof(ent));
	memcpy(disk + (last - esec) * ssz, ent, sizeof(ent));
	gb_gpt_header(disk + ssz, ssz, 1, last, 2, 2 + esec, last - esec - 1,
		      128, crc);
	gb_gpt_header(disk + last * ssz, ssz, last, 1, last - esec, 2 + esec,
		      last - esec - 1, 128, crc);
}

/* An LVM2 PV in BUF (a device of SIZE bytes): the label in sector 1, a
 * data area from PE_START, one metadata area at 4096 of MDA_SIZE bytes
 * (a second one of the same size at the device's end when MDA2), TEXT
 * (with its NUL) at TEXT_AT of the ring (from 512; wraps when it runs
 * past the area's end). UUID: 32 characters. */
static inline void gb_lvm_mda(unsigned char *area, uint64_t at,
			      uint64_t mda_size, const char *text,
			      uint64_t text_at)
{
	size_t len = strlen(text) + 1;
	uint32_t crc = xva_lvm_crc(XVA_LVM_CRC_INITIAL, text, len);

	memset(area, 0, 512);
	memcpy(area + 4, " LVM2 x[5A%r0N*>", 16);
	gb_le32(area + 20, 1);
	gb_le64(area + 24, at);
	gb_le64(area + 32, mda_size);
	gb_le64(area + 40, text_at);
	gb_le64(area + 48, len);
	gb_le32(area + 56, crc);
	for (size_t i = 0; i < len; i++) {
		uint64_t o = text_at + i;

		if (o >= mda_size)
			o = o - mda_size + 512;
		area[o] = (unsigned char)text[i];
	}
	gb_le32(area, xva_lvm_crc(XVA_LVM_CRC_INITIAL, area + 4, 508));
}

static inline void gb_lvm_pv(unsigned char *buf, uint64_t size,
			     const char *uuid, uint64_t pe_start,
			     uint64_t mda_size, const char *text,
			     uint64_t text_at, bool mda2)
{
	unsigned char *s = buf + 512, *h;

	memset(s, 0, 512);
	memcpy(s, "LABELONE", 8);
	gb_le64(s + 8, 1);
	gb_le32(s + 20, 32);
	memcpy(s + 24, "LVM2 001", 8);
	h = s + 32;
	memcpy(h, uuid, 32);
	gb_le64(h + 32, size);
	gb_le64(h + 40, pe_start);  /* data area: to the end */
	gb_le64(h + 72, 4096);      /* mda 1 */
	gb_le64(h + 80, mda_size);
	if (mda2) {
		gb_le64(h + 88, size - mda_size);
		gb_le64(h + 96, mda_size);
	}
	gb_le32(s + 16, xva_lvm_crc(XVA_LVM_CRC_INITIAL, s + 20, 492));
	if (text)
		gb_lvm_mda(buf + 4096, 4096, mda_size, text, text_at);
	if (text && mda2)
		gb_lvm_mda(buf + size - mda_size, size - mda_size, mda_size,
			   text, 512);
}

#endif
