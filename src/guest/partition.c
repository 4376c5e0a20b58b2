/* MBR and GPT partition tables read through a disk view, with libblkid's
 * and the kernel's rules (partition.h says which). Every number read
 * from the disk is bounded before it sizes a read or an allocation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "guest/notes.h"
#include "xvafs/fsprobe.h"
#include "xvafs/lvm.h"
#include "xvafs/partition.h"

#define SECTOR 512u
#define MBR_GPT 0xEE
#define MBR_MAX_NODATA 100 /* libblkid: links without data before giving up */
#define GPT_ENTRY 128u

struct ctx {
	struct xva_view *disk;
	struct xva_ptable *t;
	struct xva_err *err;
	uint64_t size;
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

__attribute__((format(printf, 2, 3)))
static enum xva_status note(struct ctx *c, const char *fmt, ...)
{
	enum xva_status st;
	va_list ap;

	va_start(ap, fmt);
	st = guest_vnote(&c->t->notes, &c->t->n_notes, fmt, ap);
	va_end(ap);
	return st == XVA_OK ? XVA_OK : xva_nomem(c->err);
}

/* LEN bytes at OFF into BUF; *WHOLE false when the disk ends first (not
 * an error: a table pointing past the disk is a bad table). */
static enum xva_status read_at(struct ctx *c, void *buf, size_t len,
			       uint64_t off, bool *whole)
{
	return xva_view_read_whole(c->disk, buf, len, off, whole, c->err);
}

/* Adds P, cut at the disk's end; one that starts past it is left out. */
static enum xva_status add_part(struct ctx *c, struct xva_partition *p)
{
	struct xva_partition *grown;

	p->table_length = p->length;
	if (p->start >= c->size)
		return note(c, "partition %u starts at byte %llu, at or past "
			    "the disk's end (%llu bytes): left out", p->number,
			    (unsigned long long)p->start,
			    (unsigned long long)c->size);
	if (p->length > c->size - p->start) {
		p->length = c->size - p->start;
		p->flags |= XVA_PART_CLAMPED;
		if (note(c, "partition %u runs past the disk's end: %llu of "
			 "its %llu bytes are served", p->number,
			 (unsigned long long)p->length,
			 (unsigned long long)p->table_length) != XVA_OK)
			return XVA_ENOMEM;
	}
	grown = realloc(c->t->parts, (c->t->n + 1) * sizeof(*grown));
	if (!grown)
		return xva_nomem(c->err);
	grown[c->t->n++] = *p;
	c->t->parts = grown;
	return XVA_OK;
}

/* --- MBR --- */

struct mbr_entry {
	uint8_t boot, type;
	uint32_t start, sectors;
};

static struct mbr_entry mbr_entry(const unsigned char *sector, int i)
{
	const unsigned char *e = sector + 446 + 16 * i;
	struct mbr_entry m = { e[0], e[4], le32(e + 8), le32(e + 12) };

	return m;
}

static bool mbr_magic(const unsigned char *sector)
{
	return sector[510] == 0x55 && sector[511] == 0xAA;
}

static bool is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0F || type == 0x85;
}

static bool start_listed(const struct xva_ptable *t, uint64_t start)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->parts[i].start == start)
			return true;
	return false;
}

/* The data entries of one EBR at sector CUR (of CUR_SIZE sectors), in an
 * extended partition at EX_START (EX_SIZE sectors). *ADDED: some were. */
static enum xva_status ebr_data(struct ctx *c, const unsigned char *ebr,
				uint64_t cur, uint64_t cur_size,
				uint64_t ex_start, uint64_t ex_size,
				unsigned *next_no, bool *added)
{
	enum xva_status st;

	for (int i = 0; i < 4; i++) {
		struct mbr_entry e = mbr_entry(ebr, i);
		uint64_t abs = cur + e.start;
		struct xva_partition p = { 0 };

		if (!e.sectors || is_extended(e.type))
			continue;
		/* Slots 3 and 4 hold junk more often than data: only data
		 * inside this link and the extended partition counts. */
		if (i >= 2 && ((uint64_t)e.start + e.sectors > cur_size ||
			       abs < ex_start ||
			       abs + e.sectors > ex_start + ex_size))
			continue;
		if (start_listed(c->t, abs * SECTOR)) {
			st = note(c, "EBR at sector %llu: entry %d repeats the "
				  "start of a listed partition (sector %llu): "
				  "skipped", (unsigned long long)cur, i + 1,
				  (unsigned long long)abs);
			if (st != XVA_OK)
				return st;
			continue;
		}
		if (*next_no >= 5 + XVA_PT_MAX_LOGICAL)
			return note(c, "more than %u logical partitions: the "
				    "rest are left out", XVA_PT_MAX_LOGICAL);
		p.number = (*next_no)++;
		p.flags = XVA_PART_LOGICAL |
			  (e.boot == 0x80 ? XVA_PART_BOOTABLE : 0);
		p.start = abs * SECTOR;
		p.length = (uint64_t)e.sectors * SECTOR;
		p.mbr_type = e.type;
		st = add_part(c, &p);
		if (st != XVA_OK)
			return st;
		*added = true;
	}
	return XVA_OK;
}

/* The chain of EBRs of the extended partition at EX_START. */
static enum xva_status walk_extended(struct ctx *c, uint64_t ex_start,
				     uint64_t ex_size, unsigned *next_no)
{
	uint64_t cur = ex_start, cur_size = ex_size;
	uint64_t seen[MBR_MAX_NODATA + XVA_PT_MAX_LOGICAL + 1];
	size_t n_seen = 0;
	int nodata = 0;
	unsigned char ebr[SECTOR];
	enum xva_status st;
	bool whole, added;

	if (ex_start == 0)
		return note(c, "an extended partition starts at sector 0: "
			    "not walked");
	for (;;) {
		int link = -1;

		for (size_t i = 0; i < n_seen; i++)
			if (seen[i] == cur)
				return note(c, "the EBR chain comes back to "
					    "sector %llu: stopped",
					    (unsigned long long)cur);
		if (++nodata > MBR_MAX_NODATA || n_seen == sizeof(seen) /
							     sizeof(seen[0]))
			return note(c, "the EBR chain has %d links without "
				    "data: stopped", MBR_MAX_NODATA);
		seen[n_seen++] = cur;
		st = read_at(c, ebr, SECTOR, cur * SECTOR, &whole);
		if (st != XVA_OK)
			return st;
		if (!whole)
			return note(c, "the EBR at sector %llu lies past the "
				    "disk's end: the chain stops there",
				    (unsigned long long)cur);
		if (!mbr_magic(ebr))
			return note(c, "the EBR at sector %llu has no 55 AA "
				    "signature: the chain stops there",
				    (unsigned long long)cur);
		added = false;
		st = ebr_data(c, ebr, cur, cur_size, ex_start, ex_size, next_no,
			      &added);
		if (st != XVA_OK)
			return st;
		if (added)
			nodata = 0;
		/* Only the first link counts; the others are junk. */
		for (int i = 0; i < 4 && link < 0; i++) {
			struct mbr_entry e = mbr_entry(ebr, i);

			if (e.sectors && is_extended(e.type))
				link = i;
		}
		if (link < 0 || mbr_entry(ebr, link).start == 0)
			return XVA_OK;
		cur = ex_start + mbr_entry(ebr, link).start;
		cur_size = mbr_entry(ebr, link).sectors;
	}
}

static enum xva_status parse_mbr(struct ctx *c, const unsigned char *mbr)
{
	unsigned next_no = 5;
	enum xva_status st;

	c->t->kind = XVA_PT_MBR;
	c->t->sector_size = SECTOR;
	snprintf(c->t->id, sizeof(c->t->id), "%08x", le32(mbr + 440));
	for (int i = 0; i < 4; i++) {
		struct mbr_entry e = mbr_entry(mbr, i);
		struct xva_partition p = { 0 };

		if (!e.sectors)
			continue; /* its number is not reused */
		p.number = (unsigned)i + 1;
		p.flags = (is_extended(e.type) ? XVA_PART_EXTENDED : 0) |
			  (e.boot == 0x80 ? XVA_PART_BOOTABLE : 0);
		p.start = (uint64_t)e.start * SECTOR;
		p.length = (uint64_t)e.sectors * SECTOR;
		p.mbr_type = e.type;
		st = add_part(c, &p);
		if (st != XVA_OK)
			return st;
	}
	/* Linux numbers every logical partition after the four slots. */
	for (int i = 0; i < 4; i++) {
		struct mbr_entry e = mbr_entry(mbr, i);

		if (!e.sectors || !is_extended(e.type))
			continue;
		st = walk_extended(c, e.start, e.sectors, &next_no);
		if (st != XVA_OK)
			return st;
	}
	return XVA_OK;
}

/* --- GPT --- */

static void guid_text(char out[37], const unsigned char *g)
{
	snprintf(out, 37, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 le32(g), (unsigned)(g[4] | g[5] << 8),
		 (unsigned)(g[6] | g[7] << 8), g[8], g[9], g[10], g[11], g[12],
		 g[13], g[14], g[15]);
}

/* UTF-16LE (N units, up to a NUL) to UTF-8; '?' for a lone surrogate. */
static void utf16_name(char *out, size_t size, const unsigned char *in,
		       size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t u = (uint32_t)(in[2 * i] | in[2 * i + 1] << 8);

		if (u == 0)
			break;
		if (u >= 0xD800 && u < 0xDC00 && i + 1 < n) {
			uint32_t lo = (uint32_t)(in[2 * i + 2] |
						 in[2 * i + 3] << 8);

			if (lo >= 0xDC00 && lo < 0xE000) {
				u = 0x10000 + ((u - 0xD800) << 10) +
				    (lo - 0xDC00);
				i++;
			} else {
				u = '?';
			}
		} else if (u >= 0xD800 && u < 0xE000) {
			u = '?';
		}
		if (o + 5 > size)
			break;
		if (u < 0x80) {
			out[o++] = (char)u;
		} else if (u < 0x800) {
			out[o++] = (char)(0xC0 | u >> 6);
			out[o++] = (char)(0x80 | (u & 0x3F));
		} else if (u < 0x10000) {
			out[o++] = (char)(0xE0 | u >> 12);
			out[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (u & 0x3F));
		} else {
			out[o++] = (char)(0xF0 | u >> 18);
			out[o++] = (char)(0x80 | ((u >> 12) & 0x3F));
			out[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (u & 0x3F));
		}
	}
	out[o] = '\0';
}

struct gpt {
	unsigned ssz;
	uint64_t first_usable, last_usable, entries_lba;
	uint32_t n_entries;
	unsigned char guid[16];
	unsigned char *entries; /* n_entries * 128 bytes */
};

/* Whether the header at LBA (of sectors SSZ) is good; WHY says what is
 * wrong when not. */
static bool gpt_header(const unsigned char *h, unsigned ssz, uint64_t lba,
		       uint64_t last_lba, struct gpt *g, char *why, size_t n)
{
	unsigned char copy[4096];
	uint32_t hsz = le32(h + 12);

	if (memcmp(h, "EFI PART", 8) != 0)
		return snprintf(why, n, "no \"EFI PART\" signature"), false;
	if (hsz < 92 || hsz > ssz)
		return snprintf(why, n, "header size %u", hsz), false;
	memcpy(copy, h, hsz);
	memset(copy + 16, 0, 4);
	if ((uint32_t)crc32(0, copy, hsz) != le32(h + 16))
		return snprintf(why, n, "header CRC mismatch"), false;
	if (le64(h + 24) != lba)
		return snprintf(why, n, "it says it is at LBA %llu",
				(unsigned long long)le64(h + 24)), false;
	g->first_usable = le64(h + 40);
	g->last_usable = le64(h + 48);
	if (g->last_usable < g->first_usable || g->first_usable > last_lba ||
	    g->last_usable > last_lba)
		return snprintf(why, n, "usable LBAs %llu-%llu do not fit the "
				"disk's %llu",
				(unsigned long long)g->first_usable,
				(unsigned long long)g->last_usable,
				(unsigned long long)last_lba + 1), false;
	if (le32(h + 84) != GPT_ENTRY)
		return snprintf(why, n, "entry size %u, not 128",
				le32(h + 84)), false;
	g->n_entries = le32(h + 80);
	if (g->n_entries == 0 || g->n_entries > XVA_PT_MAX_ENTRIES)
		return snprintf(why, n, "%u entries", g->n_entries), false;
	g->entries_lba = le64(h + 72);
	g->ssz = ssz;
	memcpy(g->guid, h + 56, 16);
	return true;
}

/* The header at LBA and its entries, checked; WHY when not good. */
static enum xva_status gpt_try(struct ctx *c, unsigned ssz, uint64_t lba,
			       struct gpt *g, bool *good, char *why, size_t n)
{
	unsigned char h[4096];
	uint64_t last_lba = c->size / ssz - 1, at;
	size_t len;
	enum xva_status st;
	bool whole;

	*good = false;
	st = read_at(c, h, ssz, lba * ssz, &whole);
	if (st != XVA_OK)
		return st;
	if (!whole) {
		snprintf(why, n, "past the disk's end");
		return XVA_OK;
	}
	if (!gpt_header(h, ssz, lba, last_lba, g, why, n))
		return XVA_OK;
	len = (size_t)g->n_entries * GPT_ENTRY;
	if (__builtin_mul_overflow(g->entries_lba, ssz, &at)) {
		snprintf(why, n, "entries at LBA %llu",
			 (unsigned long long)g->entries_lba);
		return XVA_OK;
	}
	if (!(g->entries = malloc(len)))
		return xva_nomem(c->err);
	st = read_at(c, g->entries, len, at, &whole);
	if (st == XVA_OK && !whole)
		snprintf(why, n, "its entries at LBA %llu lie past the disk's "
			 "end", (unsigned long long)g->entries_lba);
	else if (st == XVA_OK && (uint32_t)crc32(0, g->entries, (uInt)len) !=
					 le32(h + 88))
		snprintf(why, n, "entries CRC mismatch");
	else
		*good = st == XVA_OK;
	if (!*good) {
		free(g->entries);
		g->entries = NULL;
	}
	return st;
}

static enum xva_status gpt_entries(struct ctx *c, const struct gpt *g)
{
	static const unsigned char unused[16];
	enum xva_status st;

	for (uint32_t i = 0; i < g->n_entries; i++) {
		const unsigned char *e = g->entries + (size_t)i * GPT_ENTRY;
		uint64_t first = le64(e + 32), last = le64(e + 40);
		struct xva_partition p = { 0 };

		if (memcmp(e, unused, 16) == 0)
			continue;
		if (first > last || first < g->first_usable ||
		    last > g->last_usable) {
			st = note(c, "GPT entry %u (LBA %llu-%llu) lies outside "
				  "the usable LBAs: left out", i + 1,
				  (unsigned long long)first,
				  (unsigned long long)last);
			if (st != XVA_OK)
				return st;
			continue;
		}
		p.number = i + 1;
		p.start = first * g->ssz;
		p.length = (last - first + 1) * g->ssz;
		guid_text(p.type_guid, e);
		guid_text(p.uuid, e + 16);
		p.attributes = le64(e + 48);
		utf16_name(p.name, sizeof(p.name), e + 56, 36);
		st = add_part(c, &p);
		if (st != XVA_OK)
			return st;
	}
	return XVA_OK;
}

/* Sectors of 4096 bytes when LBA 1 of 512 has no header but that of
 * 4096 has one. */
static enum xva_status gpt_sector_size(struct ctx *c, unsigned *ssz)
{
	unsigned char sig[8];
	bool whole;
	enum xva_status st = read_at(c, sig, 8, 512, &whole);

	*ssz = 512;
	if (st != XVA_OK || (whole && memcmp(sig, "EFI PART", 8) == 0))
		return st;
	st = read_at(c, sig, 8, 4096, &whole);
	if (st == XVA_OK && whole && memcmp(sig, "EFI PART", 8) == 0)
		*ssz = 4096;
	return st;
}

static enum xva_status parse_gpt(struct ctx *c)
{
	struct gpt g = { 0 };
	char why1[160] = "", why2[160] = "";
	unsigned ssz;
	bool good;
	enum xva_status st = gpt_sector_size(c, &ssz);

	if (st != XVA_OK)
		return st;
	if (c->size / ssz < 3)
		return note(c, "a protective MBR on a disk too small for GPT");
	st = gpt_try(c, ssz, 1, &g, &good, why1, sizeof(why1));
	if (st == XVA_OK && !good) {
		st = gpt_try(c, ssz, c->size / ssz - 1, &g, &good, why2,
			     sizeof(why2));
		if (st == XVA_OK && good) {
			c->t->flags |= XVA_PT_BACKUP_USED;
			st = note(c, "the primary GPT is bad (%s): the backup "
				  "at the last LBA is used", why1);
		}
	}
	if (st == XVA_OK && !good)
		st = note(c, "a protective MBR, but no good GPT: primary: %s; "
			  "backup: %s", why1, why2);
	if (st == XVA_OK && good) {
		c->t->kind = XVA_PT_GPT;
		c->t->sector_size = ssz;
		guid_text(c->t->id, g.guid);
		st = gpt_entries(c, &g);
	}
	free(g.entries);
	return st;
}

/* --- which table --- */

/* Whether the MBR has an 0xEE entry (GPT), and others besides (hybrid). */
static bool has_pmbr(const unsigned char *mbr, bool *hybrid)
{
	bool gpt = false;

	*hybrid = false;
	for (int i = 0; i < 4; i++) {
		struct mbr_entry e = mbr_entry(mbr, i);

		if (e.type == MBR_GPT)
			gpt = true;
		else if (e.sectors)
			*hybrid = true;
	}
	return gpt;
}

/* libblkid's reasons to take a 55 AA sector for no table at all. */
static enum xva_status mbr_refused(struct ctx *c, const unsigned char *mbr,
				   bool *refused)
{
	struct xva_lvm_label label;
	bool empty = true;
	enum xva_status st;

	*refused = true;
	if (memcmp(mbr, "\xC9\xC2\xD4\xC1", 4) == 0)
		return XVA_OK; /* AIX */
	for (int i = 0; i < 4; i++) {
		struct mbr_entry e = mbr_entry(mbr, i);

		if (e.boot != 0 && e.boot != 0x80)
			return note(c, "sector 0 ends in 55 AA, but entry %d's "
				    "boot flag is 0x%02x: no partition table",
				    i + 1, e.boot);
		if (e.sectors)
			empty = false;
	}
	if (xva_fs_boot_sector(mbr))
		return XVA_OK; /* a FAT or NTFS boot sector */
	if (empty) {
		st = xva_lvm_label_read(c->disk, &label, c->err);
		if (st != XVA_OK)
			return st;
		if (label.found)
			return XVA_OK; /* an LVM PV booted from */
	}
	*refused = false;
	return XVA_OK;
}

static enum xva_status read_table(struct ctx *c)
{
	unsigned char mbr[SECTOR];
	enum xva_status st;
	bool whole, hybrid, refused;

	st = read_at(c, mbr, SECTOR, 0, &whole);
	if (st != XVA_OK || !whole || !mbr_magic(mbr))
		return st;
	if (has_pmbr(mbr, &hybrid)) {
		st = parse_gpt(c);
		if (st == XVA_OK && hybrid && c->t->kind == XVA_PT_GPT) {
			c->t->flags |= XVA_PT_HYBRID;
			st = note(c, "a hybrid MBR: its entries besides the "
				  "0xEE one are ignored, the GPT is read");
		}
		return st;
	}
	st = mbr_refused(c, mbr, &refused);
	if (st != XVA_OK || refused)
		return st;
	return parse_mbr(c, mbr);
}

enum xva_status xva_partitions_read(struct xva_view *disk,
				    struct xva_ptable **out,
				    struct xva_err *err)
{
	struct xva_ptable *t = calloc(1, sizeof(*t));
	struct ctx c = { disk, t, err, xva_view_size(disk) };
	enum xva_status st;

	*out = NULL;
	if (!t)
		return xva_nomem(err);
	t->sector_size = SECTOR;
	st = read_table(&c);
	if (st != XVA_OK) {
		xva_ptable_free(t);
		return st;
	}
	*out = t;
	return XVA_OK;
}

void xva_ptable_free(struct xva_ptable *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_notes; i++)
		free(t->notes[i]);
	free(t->notes);
	free(t->parts);
	free(t);
}

const char *xva_ptable_kind_name(enum xva_ptable_kind kind)
{
	switch (kind) {
	case XVA_PT_MBR: return "dos";
	case XVA_PT_GPT: return "gpt";
	default: return "";
	}
}

const char *xva_partition_type_name(const struct xva_partition *p)
{
	/* util-linux's names (sfdisk -T), for the types guests use. */
	static const struct {
		uint8_t type;
		const char *name;
	} mbr[] = {
		{ 0x01, "FAT12" }, { 0x04, "FAT16 <32M" },
		{ 0x05, "Extended" }, { 0x06, "FAT16" },
		{ 0x07, "HPFS/NTFS/exFAT" }, { 0x0b, "W95 FAT32" },
		{ 0x0c, "W95 FAT32 (LBA)" }, { 0x0e, "W95 FAT16 (LBA)" },
		{ 0x0f, "W95 Ext'd (LBA)" }, { 0x27, "Hidden NTFS WinRE" },
		{ 0x82, "Linux swap / Solaris" }, { 0x83, "Linux" },
		{ 0x85, "Linux extended" }, { 0x8e, "Linux LVM" },
		{ 0xa5, "FreeBSD" }, { 0xa6, "OpenBSD" }, { 0xa9, "NetBSD" },
		{ 0xee, "GPT" }, { 0xef, "EFI (FAT-12/16/32)" },
		{ 0xfd, "Linux raid autodetect" },
	};
	static const struct {
		const char *guid;
		const char *name;
	} gpt[] = {
		{ "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", "EFI System" },
		{ "21686148-6449-6e6f-744e-656564454649", "BIOS boot" },
		{ "e3c9e316-0b5c-4db8-817d-f92df00215ae", "Microsoft reserved" },
		{ "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7",
		  "Microsoft basic data" },
		{ "de94bba4-06d1-4d40-a16a-bfd50179d6ac",
		  "Windows recovery environment" },
		{ "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f", "Linux swap" },
		{ "0fc63daf-8483-4772-8e79-3d69d8477de4", "Linux filesystem" },
		{ "44479540-f297-41b2-9af7-d131d5f0458a", "Linux root (x86)" },
		{ "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
		  "Linux root (x86-64)" },
		{ "b921b045-1df0-41c3-af44-4c6f280d3fae",
		  "Linux root (ARM-64)" },
		{ "933ac7e1-2eb4-4f13-b844-0e14e2aef915", "Linux home" },
		{ "bc13c2ff-59e6-4262-a352-b275fd6f7172",
		  "Linux extended boot" },
		{ "a19d880f-05fc-4d3b-a006-743f0f84911e", "Linux RAID" },
		{ "e6d6d379-f507-44c2-a23c-238f2a3df928", "Linux LVM" },
	};

	if (p->type_guid[0]) {
		for (size_t i = 0; i < sizeof(gpt) / sizeof(gpt[0]); i++)
			if (strcmp(p->type_guid, gpt[i].guid) == 0)
				return gpt[i].name;
		return NULL;
	}
	for (size_t i = 0; i < sizeof(mbr) / sizeof(mbr[0]); i++)
		if (p->mbr_type == mbr[i].type)
			return mbr[i].name;
	return NULL;
}

int xva_partition_name(char *buf, size_t size, const char *disk,
		       unsigned number)
{
	size_t n = strlen(disk);
	bool digit = n > 0 && disk[n - 1] >= '0' && disk[n - 1] <= '9';

	return snprintf(buf, size, "%s%s%u", disk, digit ? "p" : "", number);
}
