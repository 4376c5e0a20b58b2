/* The overlay's core: writes read back merged with the export, survive a
 * reopen, and errors are called what they are. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tartools.h"
#include "xvafs/overlay.h"
#include "xvafs/xva.h"

/* Writers run at once (the blocks' locks are striped): each thread writes
 * its own quarter of every block, all of them the blocks in the same
 * order, so two threads' partial writes of one block race to copy it up
 * from the export, and one copy-up must never undo the other's write
 * (without the locks this fails within a few rounds); syncs run among
 * them. Every byte must then be the model's. */
#define WRITERS 4
#define BLOCKS 32
#define ROUNDS 40

struct writer {
	struct xva_overlay *ovl;
	unsigned id;
	unsigned char *model; /* the disk as it must read */
	pthread_barrier_t *start;
	bool failed;
};

static void *write_blocks(void *arg)
{
	struct writer *w = arg;
	unsigned quarter = 4096 / WRITERS;
	unsigned char buf[4096];
	struct xva_err err;

	pthread_barrier_wait(w->start);
	for (unsigned block = 0; block < BLOCKS; block++) {
		unsigned at = w->id * quarter + block % 7, len = quarter - block % 7;

		memset(buf, (int)(w->id * 50 + block + 1), len);
		if (xva_overlay_write(w->ovl, 0, buf, len, block * 4096ull + at,
				      &err) != XVA_OK) {
			w->failed = true;
			break;
		}
		memcpy(w->model + block * 4096ull + at, buf, len);
		if (block % 10 == w->id && xva_overlay_sync(w->ovl, 0, &err) != XVA_OK)
			w->failed = true;
	}
	return NULL;
}

static void test_parallel_writers(struct xva *xva, const char *dir,
				  const unsigned char *original, size_t size)
{
	unsigned char *got = malloc(size), *model = malloc(size);
	pthread_barrier_t start;
	struct xva_err err;
	char cmd[700];
	size_t done;

	for (unsigned round = 0; round < ROUNDS; round++) {
		struct xva_overlay *ovl = NULL;
		struct writer w[WRITERS];
		pthread_t t[WRITERS];
		bool same;

		memcpy(model, original, size);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK(system(cmd) == 0);
		CHECK(xva_overlay_open(xva, dir, XVA_OVL_WRITE, 0, "test", &ovl,
				       &err) == XVA_OK);
		if (!ovl)
			break;
		pthread_barrier_init(&start, NULL, WRITERS);
		for (unsigned i = 0; i < WRITERS; i++) {
			w[i] = (struct writer){ ovl, i, model, &start, false };
			CHECK(pthread_create(&t[i], NULL, write_blocks, &w[i]) == 0);
		}
		for (unsigned i = 0; i < WRITERS; i++) {
			pthread_join(t[i], NULL);
			CHECK(!w[i].failed);
		}
		pthread_barrier_destroy(&start);
		CHECK(xva_overlay_close(ovl, &err) == XVA_OK);
		CHECK(xva_overlay_open(xva, dir, XVA_OVL_READ, 0, NULL, &ovl,
				       &err) == XVA_OK);
		same = ovl && xva_overlay_read(ovl, 0, got, size, 0, &done,
					       &err) == XVA_OK &&
		       done == size && memcmp(got, model, size) == 0;
		CHECK_MSG(same, "round %u: a write was lost", round);
		xva_overlay_close(ovl, &err);
		if (!same)
			break;
	}
	free(got);
	free(model);
}

int main(void)
{
	const struct test_member m[] = {
		{ "Ref:1/00000000", 8192, NULL, 1 },
		{ "Ref:1/00000003", 8192, NULL, 2 },
	};
	char path[] = "/tmp/xvafs-test-XXXXXX", dir[] = "/tmp/xvafs-ovl-XXXXXX";
	char data[600], buf[8192], cmd[700];
	struct xva_overlay *ovl = NULL;
	struct xva *xva = NULL;
	struct xva_err err;
	size_t done;
	int fd = mkstemp(path);

	close(fd);
	CHECK(mkdtemp(dir) != NULL);
	CHECK(test_write_tar(path, "v7", m, 2) == 0);
	CHECK(xva_open(path, NULL, &xva, &err) == XVA_OK);
	if (!xva)
		return CHECK_DONE();
	CHECK(xva_overlay_open(xva, dir, XVA_OVL_WRITE, 0, "test", &ovl, &err) ==
	      XVA_OK);
	/* Across a block boundary, into a gap and a present chunk. */
	memset(buf, 0x5A, sizeof(buf));
	CHECK(xva_overlay_write(ovl, 0, buf, 6000, 8192 * 3 - 3000, &err) ==
	      XVA_OK);
	CHECK(xva_overlay_write(ovl, 0, buf, 1, 8192 * 4, &err) == XVA_ENOSPC);
	CHECK(xva_overlay_close(ovl, &err) == XVA_OK);
	CHECK(xva_overlay_open(xva, dir, XVA_OVL_WRITE, 0, "test", &ovl, &err) ==
	      XVA_OK);
	CHECK(xva_overlay_read(ovl, 0, data, sizeof(data), 8192 * 3 - 3300, &done,
			       &err) == XVA_OK && done == sizeof(data));
	CHECK(data[0] == 0 && data[299] == 0 && data[300] == 0x5A &&
	      data[599] == 0x5A);
	CHECK(xva_overlay_read(ovl, 0, data, 100, 8192 * 3 + 3000, &done, &err) ==
	      XVA_OK && (unsigned char)data[0] == test_pattern(2, 3000));
	/* A data file cut short under the overlay: an I/O error, not ENOSPC
	 * and not zeros. */
	snprintf(cmd, sizeof(cmd), "%s/Ref:1.data", dir);
	CHECK(truncate(cmd, 100) == 0);
	CHECK(xva_overlay_read(ovl, 0, data, 100, 8192 * 3, &done, &err) ==
	      XVA_EIO);
	xva_overlay_close(ovl, &err);

	/* One writer at a time; readers share; the holder is named. */
	{
		struct xva_overlay *w = NULL, *w2 = NULL, *r = NULL, *r2 = NULL;
		char fresh[600];

		CHECK(xva_overlay_open(xva, dir, XVA_OVL_WRITE, 0, "mounted at /a",
				       &w, &err) == XVA_OK);
		CHECK(xva_overlay_open(xva, dir, XVA_OVL_WRITE, 0, "mounted at /b",
				       &w2, &err) == XVA_EBUSY && !w2);
		CHECK_MSG(strstr(err.msg, "mounted at /a") &&
			  strstr(err.msg, "pid "), "%s", err.msg);
		CHECK(xva_overlay_open(xva, dir, XVA_OVL_READ, 0, NULL, &r, &err) ==
		      XVA_EBUSY && !r);
		CHECK(xva_overlay_close(w, &err) == XVA_OK);
		CHECK(xva_overlay_open(xva, dir, XVA_OVL_READ, 0, NULL, &r, &err) ==
		      XVA_OK);
		CHECK(xva_overlay_open(xva, dir, XVA_OVL_READ, 0, NULL, &r2, &err) ==
		      XVA_OK);
		CHECK(xva_overlay_open(xva, dir, XVA_OVL_WRITE, 0, "x", &w, &err) ==
		      XVA_EBUSY && strstr(err.msg, "being read"));
		CHECK(r && xva_overlay_write(r, 0, buf, 1, 0, &err) != XVA_OK);
		xva_overlay_close(r, &err);
		xva_overlay_close(r2, &err);
		/* A block size the map cannot hold is refused before anything
		 * is made. */
		snprintf(fresh, sizeof(fresh), "%s/new", dir);
		CHECK(xva_overlay_open(xva, fresh, XVA_OVL_WRITE, 3000, "x", &w,
				       &err) == XVA_EINVAL);
		CHECK(xva_overlay_open(xva, fresh, XVA_OVL_WRITE, 131072, "x", &w,
				       &err) == XVA_EINVAL);
		CHECK(access(fresh, F_OK) != 0);
		/* Reading a folder that is missing, not a folder, or holds no
		 * overlay is refused (a mistyped path would give the export
		 * without the user's changes), and creates nothing. */
		CHECK(xva_overlay_open(xva, fresh, XVA_OVL_READ, 0, NULL, &r, &err) ==
		      XVA_EOPEN && !r);
		CHECK(strstr(err.msg, "no overlay folder") != NULL);
		CHECK(access(fresh, F_OK) != 0);
		CHECK(mkdir(fresh, 0700) == 0);
		CHECK(xva_overlay_open(xva, fresh, XVA_OVL_READ, 0, NULL, &r, &err) ==
		      XVA_EOPEN && !r);
		CHECK(strstr(err.msg, "holds no xvafs overlay") != NULL);
		CHECK(rmdir(fresh) == 0);
		CHECK(close(open(fresh, O_CREAT | O_WRONLY, 0600)) == 0);
		CHECK(xva_overlay_open(xva, fresh, XVA_OVL_READ, 0, NULL, &r, &err) ==
		      XVA_EOPEN && !r);
		CHECK(strstr(err.msg, "is not a folder") != NULL);
		CHECK(xva_overlay_open(xva, fresh, XVA_OVL_WRITE, 0, "x", &w, &err) ==
		      XVA_EOPEN && !w);
		CHECK(unlink(fresh) == 0);
	}
	/* A writer cut off by a power cut while opening a new overlay: its
	 * map's reserved space, its data file or its map's header may not
	 * have reached the disk. It held no block: a reader gets the
	 * export's bytes, not a refusal. */
	{
		struct xva_overlay *w = NULL, *r = NULL;
		char cut[600], map[700], dat[700];

		snprintf(cut, sizeof(cut), "%s/cut", dir);
		snprintf(map, sizeof(map), "%s/Ref:1.map", cut);
		snprintf(dat, sizeof(dat), "%s/Ref:1.data", cut);
		CHECK(xva_overlay_open(xva, cut, XVA_OVL_WRITE, 0, "x", &w, &err) ==
		      XVA_OK);
		CHECK(xva_overlay_close(w, &err) == XVA_OK);
		CHECK(truncate(map, 4096) == 0 && unlink(dat) == 0);
		for (int round = 0; round < 2; round++) {
			CHECK_MSG(xva_overlay_open(xva, cut, XVA_OVL_READ, 0, NULL,
						   &r, &err) == XVA_OK, "%s",
				  err.msg);
			CHECK(r && xva_overlay_read(r, 0, data, 100, 8192 * 3 + 3000,
						    &done, &err) == XVA_OK &&
			      done == 100 &&
			      (unsigned char)data[0] == test_pattern(2, 3000));
			xva_overlay_close(r, &err);
			r = NULL;
			CHECK(truncate(map, 0) == 0);
		}
	}
	/* A fresh overlay over a fresh export of 32 blocks, for the writers. */
	xva_close(xva);
	{
		struct test_member big[BLOCKS];
		char names[BLOCKS][32], fresh[600];
		size_t size = BLOCKS * 4096;
		unsigned char *model = malloc(size);
		struct xva *x2 = NULL;

		for (unsigned b = 0; b < BLOCKS; b++) {
			snprintf(names[b], sizeof(names[b]), "Ref:1/%08u", b);
			big[b] = (struct test_member){ names[b], 4096, NULL, b };
			for (unsigned i = 0; i < 4096; i++)
				model[b * 4096 + i] = test_pattern(b, i);
		}
		CHECK(test_write_tar(path, "v7", big, BLOCKS) == 0);
		CHECK(xva_open(path, NULL, &x2, &err) == XVA_OK);
		snprintf(fresh, sizeof(fresh), "%s/parallel", dir);
		if (x2)
			test_parallel_writers(x2, fresh, model, size);
		xva_close(x2);
		free(model);
	}
	unlink(path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return CHECK_DONE();
}
