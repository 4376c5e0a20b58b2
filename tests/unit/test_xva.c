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
#include "xvafs/read.h"
#include "xvafs/xva.h"

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
			   enum xva_reason reason, const char *says)
{
	const struct test_member m[] = {
		{ "Ref:1/00000000", 512, NULL, 1 },
		{ name, 512, NULL, 2 },
	};
	struct xva *xva = NULL;
	struct xva_err err;
	enum xva_status st = open_members(m, 2, &xva, &err);

	CHECK_MSG(st == want && (st == XVA_OK || err.reason == reason),
		  "%s: status %d, reason %d", name, st, err.reason);
	CHECK_MSG(st == XVA_OK || strstr(err.msg, says), "%s: %s", name, err.msg);
	xva_close(xva);
}

/* A checksum member named or placed so that it verifies nothing is no
 * reason to refuse the export: its chunk is unverifiable, and counted. */
static void test_stray_checksums(void)
{
	const struct test_member m[] = {
		{ "Ref:1/00000000", 512, NULL, 1 },
		{ "Ref:1/00000000.md5", 32, NULL, 2 },
		{ "Ref:1/00000001", 512, NULL, 3 },
		{ "Ref:1/00000001.xxhash", 16, NULL, 4 },
		{ "Ref:1/00000002", 512, NULL, 5 },
		{ "Ref:1/00000002.checksum", 40, NULL, 6 },
		{ "Ref:1/00000003", 512, NULL, 7 },
		{ "Ref:1/00000002.xxhash", 16, NULL, 8 },
	};
	struct xva *xva = NULL;
	struct xva_err err;

	CHECK_MSG(open_members(m, 8, &xva, &err) == XVA_OK, "%s", err.msg);
	if (!xva)
		return;
	CHECK(xva->map.disks[0].stray_checksums == 3);
	CHECK(xva->map.disks[0].n_checksums == 1);
	xva_close(xva);
}

/* What is not an export is refused, and named. */
static void test_not_exports(void)
{
	const struct test_member ovf[] = {
		{ "web01.ovf", 512, NULL, 1 },
		{ "web01-disk1.vmdk", 4096, NULL, 2 },
	};
	struct xva *xva = NULL;
	struct xva_err err;
	char zeros[10240] = { 0 };
	FILE *f;

	CHECK(open_members(ovf, 2, &xva, &err) == XVA_EUNSUPPORTED &&
	      strstr(err.msg, "OVF"));
	CHECK(open_members(ovf, 0, &xva, &err) == XVA_EFORMAT &&
	      err.reason == XVA_R_NO_EXPORT);
	f = fopen(path, "wb");
	CHECK(f && fwrite(zeros, 1, sizeof(zeros), f) == sizeof(zeros));
	if (f)
		fclose(f);
	CHECK(xva_open(path, NULL, &xva, &err) == XVA_EFORMAT &&
	      err.reason == XVA_R_NO_EXPORT && strstr(err.msg, "all zeros"));
	CHECK(!xva);
}

int main(void)
{
	int fd = mkstemp(path);

	close(fd);
	test_reads();
	expect_refused("Ref:1/../00000001", XVA_EFORMAT, XVA_R_MEMBER_NAME, "'..'");
	expect_refused("../Ref:1/00000001", XVA_EFORMAT, XVA_R_MEMBER_NAME, "'..'");
	expect_refused("Ref:1/00000001\n", XVA_EFORMAT, XVA_R_MEMBER_NAME,
		       "control character");
	expect_refused("a/b/00000001", XVA_EFORMAT, XVA_R_MEMBER_NAME,
		       "not part of an export");
	expect_refused("README", XVA_EFORMAT, XVA_R_MEMBER_NAME,
		       "not part of an export");
	expect_refused("Ref:1/0000000x", XVA_EFORMAT, XVA_R_MEMBER_NAME,
		       "not part of an export");
	expect_refused("Ref:1/100000000000000000000", XVA_EFORMAT,
		       XVA_R_MEMBER_NAME, "not part of an export");
	expect_refused("vm/00000001", XVA_EFORMAT, XVA_R_MEMBER_NAME,
		       "reserves");
	expect_refused("./Ref:1/00000001", XVA_OK, XVA_R_NONE, "");
	expect_refused("Ref:1/00000000", XVA_EFORMAT, XVA_R_ORDER,
		       "must increase");
	test_stray_checksums();
	test_not_exports();
	unlink(path);
	return CHECK_DONE();
}
