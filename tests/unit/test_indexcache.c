/* The index cache is used when it matches, rebuilt when stale, and never
 * trusted blindly: a cache with a right checksum but wrong offsets (as a
 * bug or a forger would write it) is refused by the header sample. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "export/indexcache.h"
#include "source/source.h"
#include "check.h"
#include "tartools.h"
#include "xvafs/read.h"
#include "xvafs/xva.h"

#define N_CHUNKS 1100

static char tar_path[] = "/tmp/xvafs-test-XXXXXX";
static char cache_dir[] = "/tmp/xvafs-cache-XXXXXX";

static bool same_map(const struct xva_diskmap *a, const struct xva_diskmap *b)
{
	if (a->n_disks != b->n_disks)
		return false;
	for (size_t i = 0; i < a->n_disks; i++) {
		const struct xva_disk *x = &a->disks[i], *y = &b->disks[i];

		if (strcmp(x->prefix, y->prefix) != 0 || x->size != y->size ||
		    x->n_extents != y->n_extents ||
		    memcmp(x->extents, y->extents,
			   x->n_extents * sizeof(*x->extents)) != 0)
			return false;
	}
	return true;
}

int main(void)
{
	struct xva_open_options opts = { .cache_dir = cache_dir };
	struct test_member *m = calloc(N_CHUNKS, sizeof(*m));
	struct xva *fresh = NULL, *cached = NULL, *again = NULL;
	struct xva_err err;
	char (*names)[32] = calloc(N_CHUNKS, 32);
	char buf[600];
	struct stat st;
	size_t done;
	int fd;

	fd = mkstemp(tar_path);
	close(fd);
	CHECK(mkdtemp(cache_dir) != NULL);
	for (size_t i = 0; i < N_CHUNKS; i++) {
		snprintf(names[i], 32, "Ref:3/%08zu", i);
		m[i].name = names[i];
		m[i].size = 512;
		m[i].seed = (unsigned)i;
	}
	CHECK(test_write_tar(tar_path, "v7", m, N_CHUNKS) == 0);

	CHECK(xva_open(tar_path, &opts, &fresh, &err) == XVA_OK);
	CHECK(fresh && !fresh->index_from_cache && !fresh->cache_note[0]);
	CHECK(xva_open(tar_path, &opts, &cached, &err) == XVA_OK);
	CHECK(cached && cached->index_from_cache && !cached->cache_note[0]);
	CHECK(fresh && cached && same_map(&fresh->map, &cached->map));
	CHECK(cached && xva_read(cached, &cached->map.disks[0], buf, 512,
				 700 * 512, &done, &err) == XVA_OK && done == 512 &&
	      (unsigned char)buf[100] == test_pattern(700, 100));

	/* Forge: every offset one block off, saved under the same key with
	 * a valid checksum. */
	if (cached) {
		struct xva_disk *d = &cached->map.disks[0];

		for (size_t i = 0; i < d->n_extents; i++)
			d->extents[i].file_off += 512;
		CHECK(xva_index_cache_save(cache_dir, cached->src, &cached->map,
					   &cached->idx, &err) == XVA_OK);
	}
	CHECK(xva_open(tar_path, &opts, &again, &err) == XVA_OK);
	CHECK(again && !again->index_from_cache &&
	      strstr(again->cache_note, "tar headers disagree"));
	CHECK(again && fresh && same_map(&fresh->map, &again->map));
	xva_close(again);
	again = NULL;

	/* Forge offsets whose checks would wrap around 2^64, and a last
	 * extent past the end of the file: refused as inconsistent before
	 * anything is read there. */
	for (int forgery = 0; cached && forgery < 2; forgery++) {
		struct xva_disk *d = &cached->map.disks[0];
		struct xva_extent *e = &d->extents[forgery ? d->n_extents - 1 : 7];

		e->file_off = forgery ? (uint64_t)cached->src->size + 4096
				      : UINT64_MAX - 511;
		CHECK(xva_index_cache_save(cache_dir, cached->src, &cached->map,
					   &cached->idx, &err) == XVA_OK);
		CHECK(xva_open(tar_path, &opts, &again, &err) == XVA_OK);
		CHECK_MSG(again && !again->index_from_cache &&
			  strstr(again->cache_note, "consistently"), "forgery %d: %s",
			  forgery, again ? again->cache_note : err.msg);
		CHECK(again && fresh && same_map(&fresh->map, &again->map));
		xva_close(again);
		again = NULL;
	}

	/* A stale cache (the export changed) is a plain miss. */
	CHECK(stat(tar_path, &st) == 0);
	{
		struct timespec times[2] = { st.st_atim, st.st_mtim };

		times[1].tv_sec += 10;
		CHECK(utimensat(AT_FDCWD, tar_path, times, 0) == 0);
	}
	CHECK(xva_open(tar_path, &opts, &again, &err) == XVA_OK);
	CHECK(again && !again->index_from_cache && !again->cache_note[0]);
	xva_close(again);

	xva_close(fresh);
	xva_close(cached);
	free(m);
	free(names);
	unlink(tar_path);
	snprintf(buf, sizeof(buf), "rm -rf '%s'", cache_dir);
	if (system(buf) != 0)
		fprintf(stderr, "could not remove %s\n", cache_dir);
	return CHECK_DONE();
}
