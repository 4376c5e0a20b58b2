/* Filesystem and volume signatures (fsprobe.h). Offsets and field
 * layouts are the on-disk formats' (ext4's superblock, XFS's, btrfs's,
 * NTFS's boot sector and $Volume record, the FAT BPB, the swap header,
 * LUKS headers, ISO 9660's primary volume descriptor); the ways of
 * telling ext2, ext3 and ext4 apart and of printing each UUID are
 * libblkid's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xvafs/fsprobe.h"
#include "xvafs/lvm.h"

#define HEAD 8192u

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void uuid_text(char *out, const unsigned char *u)
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4],
		 u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
		 u[14], u[15]);
}

/* N bytes of text at P up to a NUL, trailing spaces cut. */
static void text_field(char *out, size_t size, const unsigned char *p,
		       size_t n)
{
	size_t len = 0;

	while (len < n && len + 1 < size && p[len])
		len++;
	memcpy(out, p, len);
	while (len > 0 && out[len - 1] == ' ')
		len--;
	out[len] = '\0';
}

static void set(struct xva_fsinfo *fs, const char *type, const char *version)
{
	snprintf(fs->type, sizeof(fs->type), "%s", type);
	snprintf(fs->version, sizeof(fs->version), "%s", version);
}

/* --- ext --- */

#define EXT_COMPAT_JOURNAL 0x4u
#define EXT_INCOMPAT_JOURNAL_DEV 0x8u
#define EXT3_RO_SUPP 0x7u       /* sparse_super, large_file, btree_dir */
#define EXT3_INCOMPAT_SUPP 0x16u /* filetype, recover, meta_bg */

static bool probe_ext(const unsigned char *h, struct xva_fsinfo *fs)
{
	const unsigned char *sb = h + 1024;
	uint32_t compat = le32(sb + 92), incompat = le32(sb + 96);
	uint32_t ro = le32(sb + 100);

	if (le16(sb + 56) != 0xEF53)
		return false;
	if (incompat & EXT_INCOMPAT_JOURNAL_DEV)
		set(fs, "jbd", "");
	else if ((ro & ~EXT3_RO_SUPP) || (incompat & ~EXT3_INCOMPAT_SUPP))
		set(fs, "ext4", "1.0");
	else if (compat & EXT_COMPAT_JOURNAL)
		set(fs, "ext3", "1.0");
	else
		set(fs, "ext2", "1.0");
	uuid_text(fs->uuid, sb + 104);
	text_field(fs->label, sizeof(fs->label), sb + 120, 16);
	return true;
}

/* --- xfs --- */

static bool probe_xfs(const unsigned char *h, struct xva_fsinfo *fs)
{
	uint32_t bs = be32(h + 4);

	if (memcmp(h, "XFSB", 4) != 0 || bs < 512 || bs > 65536 ||
	    (bs & (bs - 1)))
		return false;
	set(fs, "xfs", "");
	uuid_text(fs->uuid, h + 32);
	text_field(fs->label, sizeof(fs->label), h + 108, 12);
	return true;
}

/* --- FAT, NTFS, exFAT boot sectors --- */

static bool pow2(unsigned x)
{
	return x && !(x & (x - 1));
}

/* The BPB of a FAT boot sector: sane sizes and a FAT type string. */
static bool fat_bpb(const unsigned char *s)
{
	unsigned ssz = le16(s + 11), spc = s[13], media = s[21];

	if (memcmp(s + 82, "FAT32   ", 8) != 0 && memcmp(s + 82, "MSWIN", 5) &&
	    memcmp(s + 54, "FAT12   ", 8) && memcmp(s + 54, "FAT16   ", 8) &&
	    memcmp(s + 54, "FAT     ", 8) && memcmp(s + 54, "MSDOS", 5))
		return false;
	return ssz >= 512 && ssz <= 4096 && pow2(ssz) && pow2(spc) &&
	       le16(s + 14) != 0 && s[16] != 0 && (media >= 0xF8 ||
						   media == 0xF0);
}

bool xva_fs_boot_sector(const unsigned char *sector)
{
	return memcmp(sector + 3, "NTFS    ", 8) == 0 ||
	       memcmp(sector + 3, "EXFAT   ", 8) == 0 || fat_bpb(sector);
}

static bool probe_fat(const unsigned char *s, struct xva_fsinfo *fs)
{
	unsigned ssz = le16(s + 11), spc = s[13], fats = s[16];
	uint64_t sectors = le16(s + 19) ? le16(s + 19) : le32(s + 32);
	uint64_t fat_len = le16(s + 22) ? le16(s + 22) : le32(s + 36);
	uint64_t dir, meta, clusters;
	const unsigned char *id, *label;

	if (!fat_bpb(s)) /* before dividing by its sizes */
		return false;
	dir = ((uint64_t)le16(s + 17) * 32 + ssz - 1) / ssz;
	meta = le16(s + 14) + fats * fat_len + dir;
	clusters = sectors > meta ? (sectors - meta) / spc : 0;
	if (le16(s + 22) == 0) {
		set(fs, "vfat", "FAT32");
		id = s + 67;
		label = s + 71;
	} else {
		set(fs, "vfat", clusters < 0xFF4 ? "FAT12" : "FAT16");
		id = s + 39;
		label = s + 43;
	}
	snprintf(fs->uuid, sizeof(fs->uuid), "%02X%02X-%02X%02X", id[3],
		 id[2], id[1], id[0]);
	if (memcmp(label, "NO NAME    ", 11) != 0)
		text_field(fs->label, sizeof(fs->label), label, 11);
	return true;
}

/* UTF-16LE to UTF-8 (BMP; others as '?'). */
static void utf16(char *out, size_t size, const unsigned char *in, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 4 < size; i++) {
		unsigned u = le16(in + 2 * i);

		if (u >= 0xD800 && u < 0xE000)
			u = '?';
		if (u < 0x80) {
			out[o++] = (char)u;
		} else if (u < 0x800) {
			out[o++] = (char)(0xC0 | u >> 6);
			out[o++] = (char)(0x80 | (u & 0x3F));
		} else {
			out[o++] = (char)(0xE0 | u >> 12);
			out[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
			out[o++] = (char)(0x80 | (u & 0x3F));
		}
	}
	out[o] = '\0';
}

/* The label: the VOLUME_NAME attribute (0x60) of MFT record 3. */
static enum xva_status ntfs_label(struct xva_view *v, const unsigned char *s,
				  struct xva_fsinfo *fs, struct xva_err *err)
{
	unsigned ssz = le16(s + 11), spc = s[13];
	int8_t per = (int8_t)s[64];
	uint64_t cluster, rec, at;
	unsigned char r[4096];
	unsigned usa, n_usa, a;
	enum xva_status st;
	bool whole;

	if (spc > 0x80)
		spc = 1u << (256 - spc);
	cluster = (uint64_t)ssz * spc;
	rec = per > 0 ? cluster * (uint64_t)per : UINT64_C(1) << -per;
	if (ssz < 256 || !pow2(ssz) || !pow2(spc) || rec < 512 ||
	    rec > sizeof(r) || __builtin_mul_overflow(le64(s + 48), cluster,
						      &at) ||
	    __builtin_add_overflow(at, 3 * rec, &at))
		return XVA_OK;
	st = xva_view_read_whole(v, r, (size_t)rec, at, &whole, err);
	if (st != XVA_OK || !whole || memcmp(r, "FILE", 4) != 0)
		return st;
	usa = le16(r + 4);
	n_usa = le16(r + 6);
	if (n_usa < 1 || usa + 2u * n_usa > rec || (n_usa - 1) * 512u > rec)
		return XVA_OK;
	for (unsigned i = 1; i < n_usa; i++) { /* the update sequence */
		unsigned char *end = r + i * 512 - 2;

		if (memcmp(end, r + usa, 2) != 0)
			return XVA_OK;
		memcpy(end, r + usa + 2 * i, 2);
	}
	for (a = le16(r + 20); a + 24 <= rec;) {
		uint32_t type = le32(r + a), len = le32(r + a + 4);

		if (type == 0xFFFFFFFFu || len < 24 || len > rec - a)
			break;
		if (type == 0x60 && r[a + 8] == 0) { /* resident */
			uint32_t vlen = le32(r + a + 16);
			unsigned voff = le16(r + a + 20);

			if (voff + vlen <= len)
				utf16(fs->label, sizeof(fs->label),
				      r + a + voff, vlen / 2);
			break;
		}
		a += len;
	}
	return XVA_OK;
}

static enum xva_status probe_ntfs(struct xva_view *v, const unsigned char *s,
				  struct xva_fsinfo *fs, bool *found,
				  struct xva_err *err)
{
	*found = memcmp(s + 3, "NTFS    ", 8) == 0;
	if (!*found)
		return XVA_OK;
	set(fs, "ntfs", "");
	snprintf(fs->uuid, sizeof(fs->uuid), "%016llX",
		 (unsigned long long)le64(s + 72));
	return ntfs_label(v, s, fs, err);
}

/* --- swap, LUKS --- */

static bool probe_swap(const unsigned char *h, struct xva_fsinfo *fs)
{
	static const unsigned pages[] = { 4096, 8192 };

	for (size_t i = 0; i < 2; i++) {
		const unsigned char *m = h + pages[i] - 10;

		if (memcmp(m, "SWAP-SPACE", 10) == 0) {
			set(fs, "swap", "0");
			return true;
		}
		if (memcmp(m, "SWAPSPACE2", 10) == 0) {
			set(fs, "swap", "1");
			uuid_text(fs->uuid, h + 1036);
			text_field(fs->label, sizeof(fs->label), h + 1052, 16);
			return true;
		}
	}
	return false;
}

static bool probe_luks(const unsigned char *h, struct xva_fsinfo *fs)
{
	unsigned version = (unsigned)(h[6] << 8 | h[7]);

	if (memcmp(h, "LUKS\xba\xbe", 6) != 0 || (version != 1 && version != 2))
		return false;
	set(fs, "crypto_LUKS", version == 1 ? "1" : "2");
	text_field(fs->uuid, sizeof(fs->uuid), h + 168, 40);
	if (version == 2)
		text_field(fs->label, sizeof(fs->label), h + 24, 48);
	return true;
}

/* --- past the head: ISO 9660 at 32 KiB, btrfs at 64 KiB --- */

static enum xva_status probe_far(struct xva_view *v, struct xva_fsinfo *fs,
				 struct xva_err *err)
{
	unsigned char b[4096];
	enum xva_status st;
	bool whole;

	st = xva_view_read_whole(v, b, 2048, 32768, &whole, err);
	if (st != XVA_OK)
		return st;
	if (whole && b[0] == 1 && memcmp(b + 1, "CD001", 5) == 0) {
		const unsigned char *d = b + 813; /* creation date */

		set(fs, "iso9660", "");
		text_field(fs->label, sizeof(fs->label), b + 40, 32);
		snprintf(fs->uuid, sizeof(fs->uuid),
			 "%.4s-%.2s-%.2s-%.2s-%.2s-%.2s-%.2s", d, d + 4,
			 d + 6, d + 8, d + 10, d + 12, d + 14);
		return XVA_OK;
	}
	st = xva_view_read_whole(v, b, 4096, 65536, &whole, err);
	if (st == XVA_OK && whole && memcmp(b + 64, "_BHRfS_M", 8) == 0) {
		set(fs, "btrfs", "");
		uuid_text(fs->uuid, b + 32);
		text_field(fs->label, sizeof(fs->label), b + 299, 256);
	}
	return st;
}

static enum xva_status probe_lvm(struct xva_view *v, struct xva_fsinfo *fs,
				 bool *found, struct xva_err *err)
{
	struct xva_lvm_label label;
	enum xva_status st = xva_lvm_label_read(v, &label, err);

	*found = st == XVA_OK && label.found;
	if (*found) {
		set(fs, "LVM2_member", "LVM2 001");
		snprintf(fs->uuid, sizeof(fs->uuid), "%s", label.pv_uuid);
	}
	return st;
}

enum xva_status xva_fs_probe(struct xva_view *v, struct xva_fsinfo *out,
			     struct xva_err *err)
{
	unsigned char *h;
	enum xva_status st;
	bool whole, found;

	memset(out, 0, sizeof(*out));
	st = probe_lvm(v, out, &found, err);
	if (st != XVA_OK || found)
		return st;
	if (!(h = calloc(1, HEAD)))
		return xva_nomem(err);
	/* A view shorter than the head is read as far as it goes. */
	st = xva_view_read_whole(v, h, v->size < HEAD ? (size_t)v->size : HEAD,
				 0, &whole, err);
	if (st == XVA_OK && !(probe_luks(h, out) || probe_xfs(h, out) ||
			      probe_ext(h, out))) {
		st = probe_ntfs(v, h, out, &found, err);
		if (st == XVA_OK && !found && !probe_fat(h, out) &&
		    !probe_swap(h, out))
			st = probe_far(v, out, err);
	}
	free(h);
	if (st != XVA_OK)
		memset(out, 0, sizeof(*out));
	return st;
}
