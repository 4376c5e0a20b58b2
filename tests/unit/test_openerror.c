/* The message of a failed open as the front ends say it: a raw disk image
 * given instead of an export has its partitions listed (number, byte
 * offset, size, type; extended partitions left out; 16 at most, the rest
 * counted), read from the file without changing it; anything else, or a
 * URL, keeps the core's message. The image goes through xva_open, so the
 * core's reason is the one the front ends get. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "front/openerror.h"
#include "guestbuild.h"
#include "xvafs/xva.h"

#define DISK (8u << 20) /* 16384 sectors */

static unsigned char disk[DISK], back[DISK];
static char path[] = "/tmp/xvafs-openerror-XXXXXX";

static void write_disk(void)
{
	FILE *f = fopen(path, "wb");

	CHECK(f && fwrite(disk, 1, DISK, f) == DISK);
	if (f)
		fclose(f);
}

static bool disk_unchanged(void)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(back, 1, DISK, f) : 0;

	if (f)
		fclose(f);
	return n == DISK && memcmp(back, disk, DISK) == 0;
}

/* The message for PATH opened as an export, into MSG; ERR the core's. */
static void open_message(struct xva_err *err, char *msg, size_t size)
{
	struct xva *xva = NULL;

	CHECK(xva_open(path, NULL, &xva, err) == XVA_EFORMAT && !xva);
	xvafs_open_error(path, err, msg, size);
}

static void test_mbr(void)
{
	char msg[XVAFS_OPEN_ERROR_MAX];
	struct xva_err err;
	unsigned char *ebr;

	memset(disk, 0, DISK);
	gb_le32(disk + 440, 0x1234abcd);
	gb_mbr_entry(disk, 0, 0x80, 0x83, 2048, 2048);
	gb_mbr_entry(disk, 1, 0, 0x3c, 4096, 2048);
	gb_mbr_entry(disk, 2, 0, 0x05, 8192, 8192);
	gb_mbr_entry(disk, 3, 0, 0x07, 16000, 1000); /* past the end */
	ebr = disk + 8192 * 512;
	gb_mbr_entry(ebr, 0, 0, 0x83, 63, 1000);
	gb_mbr_entry(ebr, 1, 0, 0x05, 2048, 2048);
	ebr = disk + 10240 * 512;
	gb_mbr_entry(ebr, 0, 0, 0x8e, 2048, 1024);
	write_disk();
	open_message(&err, msg, sizeof(msg));
	CHECK_MSG(err.reason == XVA_R_RAW_DISK, "%s", err.msg);
	CHECK_MSG(strncmp(msg, err.msg, strlen(err.msg)) == 0 &&
		  strstr(msg, "an MBR partition table") &&
		  strstr(msg, "; its partitions: 1: offset 1048576, 1.0 MiB, "
			 "Linux; 2: offset 2097152, 1.0 MiB, type 3c; "
			 "4: offset 8192000, 192.0 KiB, HPFS/NTFS/exFAT (cut "
			 "at the image's end); 5: offset 4226560, 500.0 KiB, "
			 "Linux; 6: offset 6291456, 512.0 KiB, Linux LVM") &&
		  !strstr(msg, "3: offset") && !strchr(msg, '\n'), "%s", msg);
	CHECK(disk_unchanged());

	/* Cut to the buffer, still a string. */
	xvafs_open_error(path, &err, msg, 100);
	CHECK(strlen(msg) == 99 && strncmp(msg, err.msg, 99) == 0);
	/* A URL, or another failure: the core's message alone. */
	xvafs_open_error("http://example.invalid/disk.img", &err, msg,
			 sizeof(msg));
	CHECK(strcmp(msg, err.msg) == 0);
	err.reason = XVA_R_NOT_TAR;
	xvafs_open_error(path, &err, msg, sizeof(msg));
	CHECK(strcmp(msg, err.msg) == 0);
}

/* 20 partitions: 16 listed, 4 counted. */
static void test_gpt(void)
{
	static const unsigned char linux_fs[16] = {
		0xAF, 0x3D, 0xC6, 0x0F, 0x83, 0x84, 0x72, 0x47,
		0x8E, 0x79, 0x3D, 0x69, 0xD8, 0x47, 0x7D, 0xE4 };
	struct gb_gpt_part parts[20];
	char msg[XVAFS_OPEN_ERROR_MAX], want[120];
	struct xva_err err;

	memset(disk, 0, DISK);
	memset(parts, 0, sizeof(parts));
	for (unsigned i = 0; i < 20; i++) {
		parts[i].index = i;
		parts[i].first = 2048 + 512 * i;
		parts[i].last = parts[i].first + 511;
		memcpy(parts[i].type, linux_fs, 16);
		parts[i].uuid[0] = (unsigned char)(i + 1);
	}
	parts[1].type[0] = 0x01; /* a type without a name */
	gb_gpt(disk, DISK, 512, parts, 20);
	write_disk();
	open_message(&err, msg, sizeof(msg));
	CHECK_MSG(err.reason == XVA_R_RAW_DISK && strstr(msg, "a GPT"), "%s",
		  msg);
	CHECK_MSG(strstr(msg, "; its partitions: 1: offset 1048576, 256.0 KiB, "
			 "Linux filesystem; 2: offset 1310720, 256.0 KiB, type "
			 "0fc63d01-8483-4772-8e79-3d69d8477de4; 3: "), "%s", msg);
	for (unsigned n = 1; n <= 20; n++) {
		snprintf(want, sizeof(want), " %u: offset %u, ", n,
			 (2048 + 512 * (n - 1)) * 512);
		CHECK_MSG(!strstr(msg, want) == (n > 16), "%u: %s", n, msg);
	}
	CHECK_MSG(strlen(msg) > 10 &&
		  strcmp(msg + strlen(msg) - 12, "; and 4 more") == 0, "%s",
		  msg);
	CHECK(disk_unchanged());
}

#define CHECK_STR(got, want)                                                \
	do {                                                                \
		const char *got_ = (got);                                   \
		CHECK_MSG(strcmp(got_, (want)) == 0, "got \"%s\"", got_);   \
	} while (0)

/* What xvafs_say_about writes for LOCATION and MSG, into BUF. */
static const char *said(const char *location, const char *msg, char *buf,
			size_t size)
{
	FILE *f = fmemopen(buf, size, "w");

	CHECK(f != NULL);
	if (!f)
		return "";
	xvafs_say_about(f, location, msg);
	fclose(f);
	return buf;
}

/* A path is said once at the front: not put before a message that
 * starts with it, and put there before any other (scripts look for
 * "xvafs: FILE:"). */
static void test_say_about(void)
{
	char buf[256];

	CHECK_STR(said("/r", "/r: wrong key: no", buf, sizeof(buf)),
		  "xvafs: /r: wrong key: no\n");
	CHECK_STR(said("/r", "/r is not encrypted", buf, sizeof(buf)),
		  "xvafs: /r is not encrypted\n");
	CHECK_STR(said("/r", "not a tar; /r is random", buf, sizeof(buf)),
		  "xvafs: /r: not a tar; /r is random\n");
	CHECK_STR(said("/r", "/r/x cannot be opened", buf, sizeof(buf)),
		  "xvafs: /r: /r/x cannot be opened\n");
	CHECK_STR(said("a", "an XVA is a tar", buf, sizeof(buf)),
		  "xvafs: a: an XVA is a tar\n");
	CHECK_STR(said("", "msg", buf, sizeof(buf)), "xvafs: : msg\n");
}

int main(void)
{
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	test_mbr();
	test_gpt();
	test_say_about();
	unlink(path);
	return CHECK_DONE();
}
