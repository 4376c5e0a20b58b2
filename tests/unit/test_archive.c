/* xva_open() and the shared read path: every byte a read returns is
 * compared with a model of the disk, for reads that start, end and span
 * anywhere: inside chunks, across chunk boundaries, gaps and the short
 * tail. Also: names that must be refused. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tartools.h"
#include "xvafs/archive.h"

#define BLK 4096u

static char path[] = "/tmp/xvafs-test-XXXXXX";

static enum xva_status open_members(const struct test_member *m, size_t n,
				    struct xva **xva, struct xva_err *err)
{
	CHECK(test_write_tar(path, "v7", m, n) == 0);
	return xva_open(path, NULL, xva, err);
}

/* Disk "Ref:5": blocks 0, 1 present, 2-3 left out, a keep-alive, block 4
 * present, block 5 the short tail: 5 * BLK + 1000 bytes. */
static void test_reads(void)
{
	static const char ova[] =
		"<value><struct><member><name>objects</name><value><array><data>"
		"<value><struct><member><name>class</name><value>VDI</value></member>"
		"<member><name>id</name><value>Ref:5</value></member>"
		"<member><name>snapshot</name><value><struct><member><name>"
		"virtual_size</name><value>21480</value></member></struct></value>"
		"</member></struct></value></data></array></value></member>"
		"</struct></value>";
	const struct test_member m[] = {
		{ "ova.xml", sizeof(ova) - 1, ova, 0 },
		{ "Ref:5/00000000", BLK, NULL, 10 },
		{ "Ref:5/00000001", BLK, NULL, 11 },
		{ "Ref:5/00000004", 0, NULL, 0 },
		{ "Ref:5/00000005", BLK, NULL, 14 },
		{ "Ref:5/00000006", 1000, NULL, 15 },
	};
	const uint64_t size = 5 * BLK + 1000;
	unsigned char *model = calloc(1, size), *buf = malloc(size + 100);
	struct xva *xva = NULL;
	struct xva_err err;
	const struct xva_disk *d;
	unsigned seed = 1;

	for (uint64_t i = 0; i < BLK; i++) {
		model[i] = test_pattern(10, i);
		model[BLK + i] = test_pattern(11, i);
		model[4 * BLK + i] = test_pattern(14, i);
	}
	for (uint64_t i = 0; i < 1000; i++)
		model[5 * BLK + i] = test_pattern(15, i);

	CHECK_MSG(open_members(m, 6, &xva, &err) == XVA_OK, "%s", err.msg);
	if (!xva)
		goto out;
	CHECK(xva->map.n_disks == 1 && xva->ova != NULL);
	d = &xva->map.disks[0];
	CHECK(d->size == size && d->bytes_present == 3 * BLK + 1000);
	for (int k = 0; k < 3000; k++) {
		uint64_t off;
		size_t len, done = 0;

		/* Some reads hit exact block boundaries, most do not. */
		seed = seed * 1103515245u + 12345u;
		off = (seed >> 4) % (size + 10);
		if (k % 4 == 0)
			off = off / BLK * BLK;
		seed = seed * 1103515245u + 12345u;
		len = (seed >> 4) % (3 * BLK);
		memset(buf, 0xAA, size + 100);
		CHECK(xva_read(xva, d, buf, len, off, &done, &err) == XVA_OK);
		if (off >= size) {
			CHECK(done == 0);
			continue;
		}
		CHECK(done == (len < size - off ? len : size - off));
		CHECK_MSG(memcmp(buf, model + off, done) == 0,
			  "read of %zu at %llu differs", len,
			  (unsigned long long)off);
	}
	/* The whole disk in one read. */
	{
		size_t done = 0;

		CHECK(xva_read(xva, d, buf, size, 0, &done, &err) == XVA_OK);
		CHECK(done == size && memcmp(buf, model, size) == 0);
	}
	/* A file cut short under the mount: EIO, never zeros. */
	CHECK(truncate(path, (off_t)d->extents[2].file_off + 10) == 0);
	{
		size_t done = 0;

		CHECK(xva_read(xva, d, buf, 100, 4 * BLK, &done, &err) == XVA_EIO);
		CHECK(strstr(err.msg, "Ref:5/00000005") != NULL);
		CHECK(xva_read(xva, d, buf, 100, 2 * BLK, &done, &err) == XVA_OK);
	}
out:
	xva_close(xva);
	free(model);
	free(buf);
}

static void expect_refused(const char *name, enum xva_status want,
			   const char *says)
{
	const struct test_member m[] = {
		{ "Ref:1/00000000", 512, NULL, 1 },
		{ name, 512, NULL, 2 },
	};
	struct xva *xva = NULL;
	struct xva_err err;
	enum xva_status st = open_members(m, 2, &xva, &err);

	CHECK_MSG(st == want, "%s: status %d", name, st);
	CHECK_MSG(st == XVA_OK || strstr(err.msg, says), "%s: %s", name, err.msg);
	xva_close(xva);
}

int main(void)
{
	int fd = mkstemp(path);

	close(fd);
	test_reads();
	expect_refused("Ref:1/../00000001", XVA_EMEMBER, "'..'");
	expect_refused("../Ref:1/00000001", XVA_EMEMBER, "'..'");
	expect_refused("Ref:1/00000001\n", XVA_EMEMBER, "control character");
	expect_refused("a/b/00000001", XVA_EMEMBER, "not part of an export");
	expect_refused("README", XVA_EMEMBER, "not part of an export");
	expect_refused("Ref:1/0000000x", XVA_EMEMBER, "not part of an export");
	expect_refused("Ref:1/00000001.md5", XVA_EMEMBER, "not part of an export");
	expect_refused("Ref:1/100000000000000000000", XVA_EMEMBER,
		       "not part of an export");
	expect_refused("./Ref:1/00000001", XVA_OK, "");
	expect_refused("Ref:1/00000000", XVA_EMAP, "must increase");
	unlink(path);
	return CHECK_DONE();
}
