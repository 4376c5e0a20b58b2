/* What a file that is not an export is instead.
 *
 * People hand xvafs the disk images they meet beside exports: Xen
 * Orchestra's delta backups (VHD), other hypervisors' images (VHDX, qcow2,
 * VMDK, VDI), raw disks, ISO images. "not a tar archive" tells them
 * nothing; the image's own magic tells what it is and what reads it.
 *
 * Only the first 64 KiB are read (32 KiB and a sector reach the ISO 9660
 * descriptor), and for a fixed VHD, whose only mark is a footer, the last
 * sector when the source can read its end (not a stream in its first
 * pass). A read that fails leaves the message as it was. */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "export/notexport.h"
#include "source/source.h"

#define PROBE_LEN (64u << 10)
#define SECTOR 512u

static const char vhd_reads[] =
	"qemu-img (format vpc), qemu-nbd and nbdkit read it directly (for "
	"example qemu-img convert -f vpc -O raw IMAGE disk.raw); a Xen "
	"Orchestra delta backup is a chain of them";

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* SIZE in the largest binary unit that divides it evenly enough. */
static void size_text(uint64_t size, char *buf, size_t len)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB",
					     "TiB", "PiB" };
	double v = (double)size;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu bytes", (unsigned long long)size);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* The VHD footer at P (its "conectix" cookie checked): its kind and
 * virtual size. */
static void describe_vhd(const unsigned char *p, char *what, size_t len)
{
	static const char *const kinds[] = { [2] = "fixed", [3] = "dynamic",
					     [4] = "differencing" };
	uint32_t type = be32(p + 60);
	char size[32];

	size_text(be64(p + 48), size, sizeof(size));
	snprintf(what, len, "a %s VHD disk image (virtual size %s)",
		 type < 5 && kinds[type] ? kinds[type] : "VHD", size);
}

/* Whether the 16 bytes at E look like an MBR partition entry: a boot flag
 * of 0 or 0x80, and a type byte with a start sector when used. */
static bool mbr_entry_ok(const unsigned char *e)
{
	uint32_t start = (uint32_t)e[8] | (uint32_t)e[9] << 8 |
			 (uint32_t)e[10] << 16 | (uint32_t)e[11] << 24;

	if (e[0] != 0 && e[0] != 0x80)
		return false;
	return e[4] == 0 || start != 0;
}

/* A raw disk: a GPT header in sector 1, or a boot signature with
 * plausible partition entries and at least one used. */
static const char *raw_disk_table(const unsigned char *p, size_t got)
{
	bool used = false;

	if (got >= 2 * SECTOR && memcmp(p + SECTOR, "EFI PART", 8) == 0)
		return "a GPT";
	if (got < SECTOR || p[510] != 0x55 || p[511] != 0xAA)
		return NULL;
	for (int i = 0; i < 4; i++) {
		const unsigned char *e = p + 446 + 16 * i;

		if (!mbr_entry_ok(e))
			return NULL;
		used |= e[4] != 0;
	}
	return used ? "an MBR" : NULL;
}

/* What the first bytes P (GOT of them) say, into WHAT, and the advice
 * into HOW; false when they say nothing known. *RAW_DISK: a raw disk
 * image with a partition table. */
static bool identify(const unsigned char *p, size_t got, char *what,
		     size_t wlen, const char **how, bool *raw_disk)
{
	static const char *const qemu_reads =
		"qemu-img, qemu-nbd and nbdkit read it directly (for "
		"example qemu-img convert -O raw IMAGE disk.raw, or "
		"qemu-nbd --read-only)";
	const char *table;
	char size[32];

	*how = qemu_reads;
	*raw_disk = false;
	if (got >= 32 && memcmp(p, "QFI\xfb", 4) == 0) {
		size_text(be64(p + 24), size, sizeof(size));
		snprintf(what, wlen, "a qcow2 disk image (version %u, virtual "
			 "size %s)", be32(p + 4), size);
		return true;
	}
	if (got >= 8 && memcmp(p, "vhdxfile", 8) == 0) {
		snprintf(what, wlen, "a VHDX disk image");
		return true;
	}
	if (got >= SECTOR && memcmp(p, "conectix", 8) == 0) {
		describe_vhd(p, what, wlen);
		*how = vhd_reads;
		return true;
	}
	if ((got >= 4 && memcmp(p, "KDMV", 4) == 0) ||
	    (got >= 21 && memcmp(p, "# Disk DescriptorFile", 21) == 0)) {
		snprintf(what, wlen, "a VMDK disk image");
		return true;
	}
	if (got >= 68 && be32(p + 64) == 0x7f10dabe) {
		snprintf(what, wlen, "a VirtualBox VDI disk image");
		return true;
	}
	if (got >= 32769 + 5 && memcmp(p + 32769, "CD001", 5) == 0) {
		snprintf(what, wlen, "an ISO 9660 (CD/DVD) image");
		*how = "mount it with mount -o loop,ro, or read it with "
		       "xorriso or 7z";
		return true;
	}
	table = raw_disk_table(p, got);
	if (table) {
		snprintf(what, wlen, "a raw disk image with %s partition "
			 "table", table);
		*how = "it is already what xvafs serves: losetup -r -P -f "
		       "--show IMAGE, or mount -o loop,ro,offset=... a "
		       "partition (sfdisk -l IMAGE gives the offsets)";
		*raw_disk = true;
		return true;
	}
	return false;
}

void xva_explain_not_export(struct xva_source *src, struct xva_err *err)
{
	static unsigned char probe[PROBE_LEN];
	static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
	char what[160];
	const char *how;
	size_t got = 0;
	bool known, raw_disk;
	struct xva_err ignored;

	/* Called once, at open, on the failure path: a static buffer keeps
	 * 64 KiB off the stack; the lock covers two opens at once (the
	 * nbdkit plugin may open several). */
	pthread_mutex_lock(&probe_lock);
	if (xva_source_read(src, probe, sizeof(probe), 0, &got,
			    &ignored) != XVA_OK)
		got = 0;
	known = identify(probe, got, what, sizeof(what), &how, &raw_disk);
	if (!known && !src->in_pass && src->size != XVA_SIZE_UNKNOWN &&
	    src->size >= SECTOR &&
	    xva_source_read(src, probe, SECTOR, src->size - SECTOR, &got,
			    &ignored) == XVA_OK && got == SECTOR &&
	    memcmp(probe, "conectix", 8) == 0) {
		describe_vhd(probe, what, sizeof(what));
		how = vhd_reads;
		known = true;
	}
	pthread_mutex_unlock(&probe_lock);
	if (known)
		xva_fail_why(err, err->status,
			     raw_disk ? XVA_R_RAW_DISK : XVA_R_DISK_IMAGE,
			     "not an export but %s: %s", what, how);
}
