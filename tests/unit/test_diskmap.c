/* XAPI's sequential rule, and every way a member sequence can be wrong. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "xvafs/diskmap.h"

#define B 4096u /* block size used throughout */

static struct xva_diskmap map;
static struct xva_err err;
/* File offsets do not affect placement; members just follow each other. */
static uint64_t file_off = 512;

/* What the map said: XVA_R_NONE when it took the member, else the rule
 * it found broken (every refusal is XVA_EFORMAT). */
static enum xva_reason verdict(enum xva_status st)
{
	if (st == XVA_OK)
		return XVA_R_NONE;
	CHECK(st == XVA_EFORMAT && err.status == XVA_EFORMAT);
	return err.reason;
}

static enum xva_reason add(const char *prefix, uint64_t number, uint64_t len)
{
	file_off += 512 + len;
	return verdict(xva_map_add_chunk(&map, prefix, number, 8, file_off,
					 len, &err));
}

static enum xva_reason sum_kind(const char *prefix, uint64_t number,
				enum xva_checksum_kind kind)
{
	file_off += 1024;
	return verdict(xva_map_add_checksum(&map, prefix, number, kind,
					    file_off, 16, &err));
}

static enum xva_reason sum(const char *prefix, uint64_t number)
{
	return sum_kind(prefix, number, XVA_CHECKSUM_XXHASH);
}

static void reset(void)
{
	xva_map_free(&map);
	xva_map_init(&map);
	memset(&err, 0, sizeof(err));
}

static void test_placement(void)
{
	struct xva_disk *d;

	reset();
	/* 0: data; 1-2 left out; 3: keep-alive; 4: data (disk block 3, since
	 * the keep-alive took a number); 5: short last chunk. */
	CHECK(add("Ref:7", 0, B) == XVA_R_NONE);
	CHECK(add("Ref:7", 3, 0) == XVA_R_NONE);
	CHECK(add("Ref:7", 4, B) == XVA_R_NONE);
	CHECK(add("Ref:7", 5, 100) == XVA_R_NONE);
	d = xva_map_find(&map, "Ref:7");
	CHECK(d && d->n_extents == 3);
	if (!d || d->n_extents != 3)
		return;
	CHECK(d->extents[0].disk_off == 0);
	CHECK(d->extents[1].disk_off == 3 * B);
	CHECK(d->extents[2].disk_off == 4 * B);
	CHECK(d->extents[2].len == 100);
	CHECK(d->data_end == 4 * B + 100);
	CHECK(d->keepalives == 1 && d->members == 4);
	CHECK(d->bytes_present == 2 * B + 100);
	CHECK(verdict(xva_disk_set_size(d, false, 0, false, 0, &err)) == XVA_R_NONE);
	CHECK(d->size == 4 * B + 100);
	/* The naive n * block placement would have put member 4 here. */
	CHECK(d->extents[1].disk_off != 4 * B);
}

static void test_numbers_need_not_start_at_zero(void)
{
	struct xva_disk *d;

	reset();
	CHECK(add("vdi", 2, B) == XVA_R_GAP);
	reset();
	CHECK(add("vdi", 0, B) == XVA_R_NONE);
	CHECK(add("vdi", UINT64_MAX / 2, B) == XVA_R_OVERFLOW);
	reset();
	/* A first keep-alive before any data: no block size yet, no gap. */
	CHECK(add("vdi", 0, 0) == XVA_R_NONE);
	CHECK(add("vdi", 1, B) == XVA_R_NONE);
	d = xva_map_find(&map, "vdi");
	CHECK(d && d->extents[0].disk_off == 0 && d->block == B);
	CHECK(add("vdi", 7, 0) == XVA_R_NONE);
	CHECK(d->data_end == 6 * B);
}

static void test_order(void)
{
	reset();
	CHECK(add("Ref:1", 0, B) == XVA_R_NONE);
	CHECK(add("Ref:1", 5, B) == XVA_R_NONE);
	CHECK(add("Ref:1", 5, B) == XVA_R_ORDER);
	CHECK(strstr(err.msg, "Ref:1/00000005") != NULL);
	CHECK(add("Ref:1", 3, B) == XVA_R_ORDER);
}

static void test_chunk_lengths(void)
{
	reset();
	CHECK(add("Ref:1", 0, B) == XVA_R_NONE);
	CHECK(add("Ref:1", 1, B + 1) == XVA_R_CHUNK_LEN);
	reset();
	CHECK(add("Ref:1", 0, B) == XVA_R_NONE);
	CHECK(add("Ref:1", 1, 100) == XVA_R_NONE);
	CHECK(add("Ref:1", 2, 0) == XVA_R_NONE); /* keep-alive: fine */
	CHECK(add("Ref:1", 3, B) == XVA_R_CHUNK_LEN);
	CHECK_MSG(strstr(err.msg, "Ref:1/00000001 is 100 bytes") != NULL, "%s",
		  err.msg);
	reset();
	CHECK(add("Ref:1", 0, (uint64_t)UINT32_MAX + 1) == XVA_R_CHUNK_LEN);
}

static void test_disks(void)
{
	reset();
	CHECK(add("Ref:10", 0, B) == XVA_R_NONE);
	CHECK(add("Ref:2", 0, 512) == XVA_R_NONE);
	CHECK(map.n_disks == 2);
	CHECK(xva_map_find(&map, "Ref:2")->block == 512);
	CHECK(add("Ref:10", 1, B) == XVA_R_INTERLEAVED);
	CHECK(strstr(err.msg, "Ref:10") && strstr(err.msg, "Ref:2"));
}

static void test_checksums(void)
{
	struct xva_disk *d;

	reset();
	CHECK(sum("Ref:1", 0) == XVA_R_CHECKSUM_PLACE); /* before any data */
	CHECK(add("Ref:1", 0, B) == XVA_R_NONE);
	CHECK(sum("Ref:1", 0) == XVA_R_NONE);
	/* Checksums that verify nothing are strays, counted, not refused:
	 * the chunk they were meant for stays unverifiable. */
	CHECK(sum("Ref:1", 0) == XVA_R_NONE); /* twice */
	CHECK(add("Ref:1", 1, B) == XVA_R_NONE);
	CHECK(add("Ref:1", 2, B) == XVA_R_NONE);
	CHECK(sum("Ref:1", 1) == XVA_R_NONE); /* not right after */
	CHECK(sum("Ref:2", 2) == XVA_R_NONE); /* another disk's */
	CHECK(sum_kind("Ref:1", 2, XVA_CHECKSUM_SHA1) == XVA_R_NONE); /* mixed */
	CHECK(sum_kind("Ref:1", 2, XVA_CHECKSUM_NONE) == XVA_R_NONE); /* misnamed */
	CHECK(sum("Ref:1", 2) == XVA_R_NONE);
	d = xva_map_find(&map, "Ref:1");
	CHECK(d->n_checksums == 2 && d->checksum_kind == XVA_CHECKSUM_XXHASH);
	CHECK(d->stray_checksums == 5 && d->first_stray_off != 0);
	CHECK(d->extents[0].csum_delta != 0 && d->extents[1].csum_delta == 0 &&
	      d->extents[2].csum_delta != 0);
	CHECK(!xva_map_find(&map, "Ref:2")); /* a stray makes no disk */
}

static void test_sizes(void)
{
	struct xva_disk *d;

	reset();
	CHECK(add("Ref:1", 0, B) == XVA_R_NONE);
	CHECK(add("Ref:1", 3, B) == XVA_R_NONE);
	d = xva_map_find(&map, "Ref:1");
	CHECK(verdict(xva_disk_set_size(d, true, 4 * B, false, 0, &err)) == XVA_R_NONE);
	CHECK(d->size == 4 * B);
	CHECK(verdict(xva_disk_set_size(d, true, 4 * B - 1, false, 0, &err)) == XVA_R_SIZE);
	CHECK(strstr(err.msg, "past") != NULL);
	CHECK(verdict(xva_disk_set_size(d, true, 5 * B, false, 0, &err)) == XVA_R_SIZE);
	CHECK(strstr(err.msg, "last chunk") != NULL);
}

static void test_lookup(void)
{
	struct xva_disk *d;
	uint64_t n = 0;

	reset();
	/* Chunks at irregular numbers, then every offset's extent is
	 * checked against a linear scan. */
	for (uint64_t i = 0; i < 300; i++) {
		if (i > 0)
			n += 1 + (i * 7919) % 5;
		CHECK(add("Ref:1", n, 512) == XVA_R_NONE);
	}
	d = xva_map_find(&map, "Ref:1");
	for (uint64_t off = 0; off < d->data_end + 1024; off += 97) {
		size_t want = 0;

		while (want < d->n_extents &&
		       d->extents[want].disk_off + d->extents[want].len <= off)
			want++;
		CHECK(xva_disk_extent_at(d, off) == want);
	}
	CHECK(sizeof(struct xva_extent) <= 32);
}

static void test_seek(void)
{
	struct xva_disk *d;
	uint64_t to;

	reset();
	/* Blocks 0-1 present, 2-4 a gap, 5 present, 6-7 a gap. */
	CHECK(add("Ref:1", 0, B) == XVA_R_NONE);
	CHECK(add("Ref:1", 1, B) == XVA_R_NONE);
	CHECK(add("Ref:1", 5, B) == XVA_R_NONE);
	d = xva_map_find(&map, "Ref:1");
	CHECK(verdict(xva_disk_set_size(d, true, 8 * B, true, UINT64_MAX, &err)) == XVA_R_NONE);
	d->intact_end = d->size; /* complete: only the map decides */
	CHECK(xva_disk_seek(d, 0, true, &to) == 0 && to == 0);
	CHECK(xva_disk_seek(d, 100, false, &to) == 0 && to == 2 * B);
	CHECK(xva_disk_seek(d, 2 * B, true, &to) == 0 && to == 5 * B);
	CHECK(xva_disk_seek(d, 3 * B, false, &to) == 0 && to == 3 * B);
	CHECK(xva_disk_seek(d, 5 * B + 1, false, &to) == 0 && to == 6 * B);
	CHECK(xva_disk_seek(d, 6 * B, true, &to) == -1); /* no data after */
	CHECK(xva_disk_seek(d, 8 * B, false, &to) == -1); /* at the end */
	/* Past the intact part of a cut export nothing is known to be zero:
	 * it is data, never a hole. */
	d->intact_end = 6 * B + 10;
	CHECK(xva_disk_seek(d, 6 * B, true, &to) == 0 && to == 6 * B + 10);
	CHECK(xva_disk_seek(d, 5 * B, false, &to) == 0 && to == 6 * B);
	CHECK(xva_disk_seek(d, 6 * B + 10, false, &to) == 0 && to == 8 * B);
	CHECK(xva_disk_seek(d, 7 * B, true, &to) == 0 && to == 7 * B);
}

int main(void)
{
	xva_map_init(&map);
	test_seek();
	test_placement();
	test_numbers_need_not_start_at_zero();
	test_order();
	test_chunk_lengths();
	test_disks();
	test_checksums();
	test_sizes();
	test_lookup();
	xva_map_free(&map);
	return CHECK_DONE();
}
