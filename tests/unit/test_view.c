/* Disk views: the plain disk, the disk through an overlay, and slices of
 * them (partitions): reads clipped at the slice's end, seek data/hole
 * and extents moved by its offset, writes landing at the right bytes of
 * the parent and never outside the slice, a slice of a slice; a raw
 * image file as a view, read-only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tartools.h"
#include "xvafs/view.h"

/* The disk: data [0, 8192), a hole [8192, 24576), data [24576, 32768). */
#define DISK 32768u
#define HOLE_AT 8192u
#define DATA2_AT 24576u

static unsigned char model[DISK];

static void fill_model(void)
{
	memset(model, 0, sizeof(model));
	for (size_t i = 0; i < 8192; i++) {
		model[i] = test_pattern(1, i);
		model[DATA2_AT + i] = test_pattern(2, i);
	}
}

/* Every byte of V against MODEL from BASE, in odd-sized reads. */
static bool reads_as(struct xva_view *v, const unsigned char *m, uint64_t size)
{
	unsigned char buf[1000];
	struct xva_err err;
	size_t done;

	for (uint64_t off = 0; off < size; off += sizeof(buf) - 7) {
		size_t want = size - off < sizeof(buf) ? (size_t)(size - off)
						       : sizeof(buf);

		if (xva_view_read(v, buf, sizeof(buf), off, 0, &done, &err) !=
			    XVA_OK || done != want || memcmp(buf, m + off, want))
			return false;
	}
	return true;
}

/* Whether the file at PATH still holds SIZE bytes M. */
static bool reads_as_file(const char *path, const unsigned char *m,
			  uint64_t size)
{
	static unsigned char got[DISK + 1];
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(got, 1, sizeof(got), f) : 0;

	if (f)
		fclose(f);
	return n == size && !memcmp(got, m, size);
}

struct runs {
	uint64_t off[8], len[8];
	bool zero[8];
	int n;
};

static enum xva_status add_run(void *ctx, uint64_t off, uint64_t len,
			       bool zero, struct xva_err *err)
{
	struct runs *r = ctx;

	(void)err;
	if (r->n < 8) {
		r->off[r->n] = off;
		r->len[r->n] = len;
		r->zero[r->n] = zero;
	}
	r->n++;
	return XVA_OK;
}

/* Segments read back through their descriptors (splice's view). */
struct collect {
	unsigned char *out;
	bool bad_fd;
};

static enum xva_status take(void *ctx, const struct xva_segment *seg,
			    struct xva_err *err)
{
	struct collect *c = ctx;

	(void)err;
	if (seg->zero)
		memset(c->out, 0, seg->len);
	else if (seg->fd < 0 ||
		 pread(seg->fd, c->out, seg->len, (off_t)seg->file_off) !=
			 (ssize_t)seg->len)
		c->bad_fd = true;
	c->out += seg->len;
	return XVA_OK;
}

static void test_plain(struct xva *xva)
{
	struct xva_view *v = NULL;
	struct xva_err err;
	uint64_t to;

	CHECK(xva_view_disk(xva, &xva->map.disks[0], &v, &err) == XVA_OK);
	CHECK(xva_view_size(v) == DISK);
	CHECK(reads_as(v, model, DISK));
	CHECK(!v->writable && v->can_splice);
	CHECK(xva_view_write(v, "x", 1, 0, &err) == XVA_EROFS);
	CHECK(xva_view_zero(v, 1, 0, &err) == XVA_EROFS);
	CHECK(xva_view_sync(v, &err) == XVA_OK);
	CHECK(xva_view_allocated(v) == 16384);
	CHECK(xva_view_seek(v, 100, false, &to) == 0 && to == HOLE_AT);
	CHECK(xva_view_seek(v, HOLE_AT, true, &to) == 0 && to == DATA2_AT);
	CHECK(xva_view_seek(v, DISK, true, &to) == -1);
	CHECK(xva_view_choose(v, false, true) == XVA_VIEW_SPLICE);
	CHECK(xva_view_choose(v, false, false) == XVA_VIEW_COPY);
	CHECK(xva_view_choose(v, true, true) ==
	      (v->can_direct ? XVA_VIEW_READ_DIRECT : XVA_VIEW_SPLICE));
	xva_view_close(v);
}

/* [4096, 28672) of the read-only disk: data [0, 4096), a hole [4096,
 * 20480), data [20480, 24576). */
static void test_slice(struct xva *xva)
{
	struct xva_view *disk = NULL, *s = NULL, *inner = NULL, *gap = NULL;
	unsigned char buf[2000], got[24576];
	struct collect c = { got, false };
	struct runs r = { 0 };
	struct xva_err err;
	struct xva_stream stream;
	size_t done;
	uint64_t to;

	CHECK(xva_view_disk(xva, &xva->map.disks[0], &disk, &err) == XVA_OK);
	CHECK(xva_view_slice(disk, 4096, 24576, "Ref:1p1", &s, &err) == XVA_OK);
	CHECK(xva_view_size(s) == 24576 && strcmp(s->name, "Ref:1p1") == 0);
	CHECK(reads_as(s, model + 4096, 24576));
	/* Across the end: clipped; at and past it: nothing. */
	CHECK(xva_view_read(s, buf, 1000, 24000, 0, &done, &err) == XVA_OK &&
	      done == 576 && memcmp(buf, model + 28096, 576) == 0);
	CHECK(xva_view_read(s, buf, 10, 24576, 0, &done, &err) == XVA_OK &&
	      done == 0);
	CHECK(xva_view_read(s, buf, 10, UINT64_MAX - 3, 0, &done, &err) ==
	      XVA_OK && done == 0);
	/* Seek data/hole, moved and clipped: the slice's end is a hole. */
	CHECK(xva_view_seek(s, 0, true, &to) == 0 && to == 0);
	CHECK(xva_view_seek(s, 0, false, &to) == 0 && to == 4096);
	CHECK(xva_view_seek(s, 4096, true, &to) == 0 && to == 20480);
	CHECK(xva_view_seek(s, 5000, false, &to) == 0 && to == 5000);
	CHECK(xva_view_seek(s, 20480, false, &to) == 0 && to == 24576);
	CHECK(xva_view_seek(s, 24576, true, &to) == -1);
	CHECK(xva_view_seek(s, 24576, false, &to) == -1);
	/* Extents. */
	CHECK(xva_view_extents(s, 24576, 0, false, add_run, &r, &err) == XVA_OK);
	CHECK(r.n == 3 && r.off[0] == 0 && r.len[0] == 4096 && !r.zero[0] &&
	      r.off[1] == 4096 && r.len[1] == 16384 && r.zero[1] &&
	      r.off[2] == 20480 && r.len[2] == 4096 && !r.zero[2]);
	memset(&r, 0, sizeof(r));
	CHECK(xva_view_extents(s, 100, 5000, true, add_run, &r, &err) == XVA_OK);
	CHECK(r.n == 1 && r.off[0] == 5000 && r.len[0] == 15480 && r.zero[0]);
	CHECK(xva_view_allocated(s) == 8192);
	/* Segments name the export's file at the right offsets. */
	CHECK(xva_view_segments(s, 24576, 0, true, take, &c, &done, &err) ==
	      XVA_OK && done == 24576 && !c.bad_fd &&
	      memcmp(got, model + 4096, 24576) == 0);
	/* Read-only like its parent. */
	CHECK(xva_view_write(s, "x", 1, 0, &err) == XVA_EROFS);
	CHECK(xva_view_zero(s, 1, 0, &err) == XVA_EROFS);
	/* A slice of the slice: disk bytes [5096, 7096). */
	CHECK(xva_view_slice(s, 1000, 2000, "inner", &inner, &err) == XVA_OK);
	CHECK(reads_as(inner, model + 5096, 2000));
	CHECK(xva_view_seek(inner, 0, false, &to) == 0 && to == 2000);
	/* Inside the hole: no data at all. */
	CHECK(xva_view_slice(disk, 10000, 2000, "gap", &gap, &err) == XVA_OK);
	CHECK(xva_view_seek(gap, 0, true, &to) == -1);
	CHECK(xva_view_seek(gap, 0, false, &to) == 0 && to == 0);
	CHECK(xva_view_allocated(gap) == 0);
	/* Read-ahead through the slice (a hint: it must not fail). */
	xva_stream_init(&stream, 8192);
	for (uint64_t off = 0; off < 24576; off += 1024)
		xva_view_note_read(s, &stream, off, 1024);
	xva_stream_destroy(&stream);
	xva_view_close(gap);
	/* Past the parent's end: empty. */
	CHECK(xva_view_slice(disk, DISK + 5, 10, "none", &gap, &err) == XVA_OK &&
	      xva_view_size(gap) == 0);
	xva_view_close(gap);
	xva_view_close(inner);
	xva_view_close(s);
	xva_view_close(disk);
}

/* Writes and zeroes through a slice of the overlay's view land at the
 * slice's offset in the disk, never outside it. */
static void test_overlay_slice(struct xva *xva, const char *dir)
{
	struct xva_overlay *ovl = NULL;
	struct xva_view *v = NULL, *s = NULL, *ro = NULL;
	unsigned char buf[300], *m = malloc(DISK);
	struct xva_err err;
	uint64_t to;

	memcpy(m, model, DISK);
	CHECK(xva_overlay_open(xva, dir, XVA_OVL_WRITE, 0, "test", &ovl, &err) ==
	      XVA_OK);
	if (!ovl)
		return;
	CHECK(xva_view_open(xva, ovl, 0, true, &v, &err) == XVA_OK);
	CHECK(v->writable);
	CHECK(xva_view_slice(v, 12288, 8192, "p2", &s, &err) == XVA_OK);
	CHECK(s->writable);
	memset(buf, 0xA5, sizeof(buf));
	CHECK(xva_view_write(s, buf, 300, 100, &err) == XVA_OK);
	memset(m + 12388, 0xA5, 300);
	/* Past the slice's end: refused, nothing written. */
	CHECK(xva_view_write(s, buf, 300, 8000, &err) == XVA_ENOSPC);
	CHECK(xva_view_zero(s, 1, 8192, &err) == XVA_ENOSPC);
	CHECK(xva_view_write(s, buf, 192, 8000, &err) == XVA_OK);
	memset(m + 20288, 0xA5, 192);
	CHECK(xva_view_sync(s, &err) == XVA_OK);
	CHECK(reads_as(v, m, DISK));
	CHECK(reads_as(s, m + 12288, 8192));
	/* The written block is data now, in the slice and the disk. */
	/* (the overlay holds whole blocks: from the slice's start) */
	CHECK(xva_view_seek(s, 0, true, &to) == 0 && to == 0);
	CHECK(xva_view_seek(s, 300, false, &to) == 0 && to == 8192);
	CHECK(xva_view_seek(v, HOLE_AT, true, &to) == 0 && to == 12288);
	/* Zeroes of a slice of the data: [1000, 1500) of a slice at 0. */
	xva_view_close(s);
	CHECK(xva_view_slice(v, 0, 4096, "p1", &s, &err) == XVA_OK);
	CHECK(xva_view_zero(s, 500, 1000, &err) == XVA_OK);
	memset(m + 1000, 0, 500);
	CHECK(reads_as(v, m, DISK));
	CHECK(xva_view_allocated(v) >= 16384 && xva_view_allocated(v) <= DISK);
	/* Segments for splice: the overlay's blocks from its data file, the
	 * rest from the export's, each at the right offset. */
	{
		unsigned char *got = malloc(DISK);
		struct collect c = { got, false };
		size_t done;

		CHECK(xva_view_segments(v, DISK, 0, true, take, &c, &done, &err) ==
		      XVA_OK && done == DISK && !c.bad_fd &&
		      memcmp(got, m, DISK) == 0);
		free(got);
	}
	/* O_DIRECT readers get the same bytes (through the page cache where
	 * the device refuses the alignment). */
	{
		void *aligned = NULL;
		size_t done;

		CHECK(posix_memalign(&aligned, 4096, 8192) == 0);
		CHECK(xva_view_read(s, aligned, 8192, 0, XVA_VIEW_DIRECT, &done,
				    &err) == XVA_OK && done == 4096 &&
		      memcmp(aligned, m, 4096) == 0);
		CHECK(xva_view_read(v, aligned, 8192, DATA2_AT, XVA_VIEW_DIRECT,
				    &done, &err) == XVA_OK && done == 8192 &&
		      memcmp(aligned, m + DATA2_AT, 8192) == 0);
		free(aligned);
	}
	/* A read-only view of the same overlay refuses writes. */
	CHECK(xva_view_overlay(xva, ovl, 0, false, &ro, &err) == XVA_OK);
	CHECK(xva_view_write(ro, buf, 1, 0, &err) == XVA_EROFS);
	CHECK(reads_as(ro, m, DISK));
	xva_view_close(ro);
	xva_view_close(s);
	xva_view_close(v);
	CHECK(xva_overlay_close(ovl, &err) == XVA_OK);
	free(m);
}

/* A raw disk image file read as a view: its bytes, never written. */
static void test_file(const char *dir)
{
	char path[600], missing[600];
	struct xva_view *v = NULL;
	unsigned char buf[DISK];
	struct collect c = { buf, false };
	struct xva_err err;
	size_t done;
	uint64_t to;
	FILE *f;

	snprintf(path, sizeof(path), "%s/disk.img", dir);
	snprintf(missing, sizeof(missing), "%s/missing.img", dir);
	f = fopen(path, "wb");
	CHECK(f && fwrite(model, 1, DISK, f) == DISK);
	if (f)
		fclose(f);
	CHECK(xva_view_file(path, "disk.img", &v, &err) == XVA_OK);
	if (!v)
		return;
	CHECK(xva_view_size(v) == DISK && !strcmp(v->name, "disk.img"));
	CHECK(reads_as(v, model, DISK));
	CHECK(!v->writable && v->can_splice);
	CHECK(xva_view_read(v, buf, 100, DISK - 10, 0, &done, &err) ==
		      XVA_OK && done == 10);
	CHECK(xva_view_read(v, buf, 100, DISK + 10, 0, &done, &err) ==
		      XVA_OK && done == 0);
	CHECK(xva_view_segments(v, DISK, 0, true, take, &c, &done, &err) ==
		      XVA_OK && done == DISK && !c.bad_fd &&
	      !memcmp(buf, model, DISK));
	CHECK(xva_view_write(v, "x", 1, 0, &err) == XVA_EROFS);
	CHECK(xva_view_zero(v, 1, 0, &err) == XVA_EROFS);
	CHECK(xva_view_sync(v, &err) == XVA_OK);
	CHECK(xva_view_seek(v, 0, true, &to) == 0 && to == 0);
	CHECK(xva_view_seek(v, DISK, true, &to) == -1);
	CHECK(xva_view_seek(v, DATA2_AT, false, &to) == 0 && to == DISK);
	CHECK(xva_view_allocated(v) <= DISK);
	xva_view_close(v);
	CHECK(reads_as_file(path, model, DISK));
	CHECK(xva_view_file(missing, "m", &v, &err) == XVA_EOPEN && !v &&
	      strstr(err.msg, missing) && strstr(err.msg, "No such file"));
	CHECK(xva_view_file(dir, "d", &v, &err) == XVA_EOPEN && !v &&
	      strstr(err.msg, "not a regular file"));
	unlink(path);
}

int main(void)
{
	const struct test_member mem[] = {
		{ "Ref:1/00000000", 8192, NULL, 1 },
		{ "Ref:1/00000003", 8192, NULL, 2 },
	};
	char path[] = "/tmp/xvafs-test-XXXXXX", dir[] = "/tmp/xvafs-view-XXXXXX";
	char cmd[700];
	struct xva *xva = NULL;
	struct xva_err err;
	int fd = mkstemp(path);

	close(fd);
	fill_model();
	CHECK(mkdtemp(dir) != NULL);
	CHECK(test_write_tar(path, "v7", mem, 2) == 0);
	CHECK(xva_open(path, NULL, &xva, &err) == XVA_OK);
	if (!xva)
		return CHECK_DONE();
	CHECK(xva->map.n_disks == 1 && xva->map.disks[0].size == DISK);
	test_plain(xva);
	test_slice(xva);
	test_overlay_slice(xva, dir);
	test_file(dir);
	xva_close(xva);
	unlink(path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
	return CHECK_DONE();
}
