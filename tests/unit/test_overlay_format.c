/* The overlay map's format: a map written before version 2 (native header,
 * tests/fixtures/overlay-v1) opens and reads the right bytes, and keeps its
 * header when written to; a new map is little-endian version 2 and
 * round-trips; a version 1 map from a big-endian machine opens; other
 * versions are refused.
 *   test_overlay_format FIXTURE_DIR */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/source.h"
#include "check.h"
#include "tartools.h"
#include "xvafs/overlay.h"
#include "xvafs/xva.h"

#define DISK 12288u

static size_t slurp(const char *path, unsigned char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, cap, f) : 0;

	if (f)
		fclose(f);
	return n;
}

static int spill(const char *path, const unsigned char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(buf, 1, len, f) == len;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

/* The disk as the fixture's overlay makes it read. */
static void fixture_model(unsigned char *m)
{
	for (unsigned i = 0; i < 4096; i++)
		m[i] = test_pattern(1, i);
	memset(m + 1000, 0xA5, 100);
	memset(m + 4096, 0x3C, 4096);
	for (unsigned i = 0; i < 4096; i++)
		m[8192 + i] = test_pattern(2, i);
}

/* Reads the whole disk through the overlay in DIR and compares. */
static int reads_as(struct xva *xva, const char *dir, const unsigned char *m,
		    uint64_t held_bytes)
{
	struct xva_overlay *ovl = NULL;
	unsigned char got[DISK];
	struct xva_err err;
	size_t done = 0;
	int ok;

	if (xva_overlay_open(xva, dir, XVA_OVL_READ, 0, NULL, &ovl, &err) !=
	    XVA_OK) {
		fprintf(stderr, "open %s: %s\n", dir, err.msg);
		return 0;
	}
	ok = xva_overlay_read(ovl, 0, got, DISK, 0, &done, &err) == XVA_OK &&
	     done == DISK && memcmp(got, m, DISK) == 0 &&
	     xva_overlay_bytes(ovl, 0) == held_bytes;
	/* And unaligned, across the written run's edges. */
	ok = ok && xva_overlay_read(ovl, 0, got, 200, 950, &done, &err) ==
			   XVA_OK && done == 200 && memcmp(got, m + 950, 200) == 0;
	xva_overlay_close(ovl, &err);
	return ok;
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

int main(int argc, char **argv)
{
	const struct test_member m[] = {
		{ "Ref:1/00000000", 4096, NULL, 1 },
		{ "Ref:1/00000002", 4096, NULL, 2 },
	};
	char xvapath[] = "/tmp/xvafs-test-XXXXXX", dir[] = "/tmp/xvafs-ovl-XXXXXX";
	char path[700], map[700], data[700], cmd[800];
	static unsigned char fixmap[8192], fixdata[DISK], buf[8192];
	unsigned char model[DISK];
	struct xva_overlay *ovl = NULL;
	struct xva *xva = NULL;
	struct xva_err err;
	size_t maplen, datalen;
	int fd = mkstemp(xvapath);

	if (argc != 2) {
		fprintf(stderr, "usage: test_overlay_format FIXTURE_DIR\n");
		return 2;
	}
	close(fd);
	CHECK(mkdtemp(dir) != NULL);
	CHECK(test_write_tar(xvapath, "v7", m, 2) == 0);
	CHECK(xva_open(xvapath, NULL, &xva, &err) == XVA_OK);
	if (!xva)
		return CHECK_DONE();
	CHECK(xva->map.n_disks == 1 && xva->map.disks[0].size == DISK &&
	      xva->src->size == 10240);
	snprintf(path, sizeof(path), "%s/Ref:1.map", argv[1]);
	maplen = slurp(path, fixmap, sizeof(fixmap));
	snprintf(path, sizeof(path), "%s/Ref:1.data", argv[1]);
	datalen = slurp(path, fixdata, sizeof(fixdata));
	CHECK(maplen == 4097 && datalen == DISK);
	CHECK(memcmp(fixmap, "XVAFSOV1\1\0\0\0", 12) == 0);
	fixture_model(model);

	/* The version 1 map reads the right bytes. */
	snprintf(map, sizeof(map), "%s/old/Ref:1.map", dir);
	snprintf(data, sizeof(data), "%s/old/Ref:1.data", dir);
	snprintf(path, sizeof(path), "%s/old", dir);
	CHECK(mkdir(path, 0700) == 0);
	CHECK(spill(map, fixmap, maplen) == 0 && spill(data, fixdata, datalen) == 0);
	CHECK_MSG(reads_as(xva, path, model, 8192), "the version 1 map");

	/* Written to, it keeps its header; the new block is held. */
	CHECK(xva_overlay_open(xva, path, XVA_OVL_WRITE, 0, "test", &ovl, &err) ==
	      XVA_OK);
	memset(buf, 0x77, 10);
	CHECK(ovl && xva_overlay_write(ovl, 0, buf, 10, 8192 + 5, &err) == XVA_OK);
	CHECK(ovl && xva_overlay_close(ovl, &err) == XVA_OK);
	memset(model + 8192 + 5, 0x77, 10);
	CHECK_MSG(reads_as(xva, path, model, DISK), "the version 1 map, written");
	CHECK(slurp(map, buf, sizeof(buf)) == 4097 &&
	      memcmp(buf, fixmap, 4096) == 0 && buf[4096] == 0x07);

	/* A new map: version 2, little-endian, and it round-trips. */
	snprintf(path, sizeof(path), "%s/new", dir);
	snprintf(map, sizeof(map), "%s/new/Ref:1.map", dir);
	CHECK(xva_overlay_open(xva, path, XVA_OVL_WRITE, 8192, "test", &ovl,
			       &err) == XVA_OK);
	memset(buf, 0x11, 3);
	CHECK(ovl && xva_overlay_write(ovl, 0, buf, 3, 12000, &err) == XVA_OK);
	CHECK(ovl && xva_overlay_close(ovl, &err) == XVA_OK);
	CHECK(slurp(map, buf, sizeof(buf)) == 4097);
	{
		static const unsigned char want[40] = {
			'X', 'V', 'A', 'F', 'S', 'O', 'V', '1',
			2, 0, 0, 0,               /* version */
			0x00, 0x20, 0, 0,         /* block 8192 */
			0x00, 0x30, 0, 0, 0, 0, 0, 0, /* disk 12288 */
			0x00, 0x28, 0, 0, 0, 0, 0, 0, /* export 10240 */
			0, 0, 0, 0, 0, 0, 0, 0,   /* no ova.xml */
		};
		unsigned char zeros[4096 - 46] = { 0 };

		CHECK(memcmp(buf, want, sizeof(want)) == 0);
		CHECK(memcmp(buf + 40, "Ref:1", 6) == 0);
		CHECK(memcmp(buf + 46, zeros, sizeof(zeros)) == 0);
		CHECK(buf[4096] == 0x02); /* block 1 of 2 */
	}
	{
		unsigned char m2[DISK];

		for (unsigned i = 0; i < 4096; i++) {
			m2[i] = test_pattern(1, i);
			m2[4096 + i] = 0;
			m2[8192 + i] = test_pattern(2, i);
		}
		memset(m2 + 12000, 0x11, 3);
		/* One 8192-byte block held (counted whole, as st_blocks is). */
		CHECK_MSG(reads_as(xva, path, m2, 8192), "a new map");
	}

	/* Version 1 from a big-endian machine: its numbers in that order. */
	snprintf(path, sizeof(path), "%s/big", dir);
	snprintf(map, sizeof(map), "%s/big/Ref:1.map", dir);
	snprintf(data, sizeof(data), "%s/big/Ref:1.data", dir);
	CHECK(mkdir(path, 0700) == 0);
	memcpy(buf, fixmap, maplen);
	put_be(buf + 8, 1, 4);
	put_be(buf + 12, 4096, 4);
	put_be(buf + 16, DISK, 8);
	put_be(buf + 24, 10240, 8);
	put_be(buf + 32, 0, 8);
	CHECK(spill(map, buf, maplen) == 0 && spill(data, fixdata, datalen) == 0);
	fixture_model(model);
	CHECK_MSG(reads_as(xva, path, model, 8192), "a big-endian version 1 map");

	/* A version this code does not know is not taken for a map. */
	buf[8] = 3;
	buf[9] = buf[10] = buf[11] = 0;
	CHECK(spill(map, buf, maplen) == 0);
	CHECK(xva_overlay_open(xva, path, XVA_OVL_READ, 0, NULL, &ovl, &err) ==
	      XVA_EFORMAT && !ovl);
	CHECK_MSG(strstr(err.msg, "not an xvafs overlay map"), "%s", err.msg);

	xva_close(xva);
	unlink(xvapath);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return CHECK_DONE();
}
