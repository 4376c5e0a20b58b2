/* The overlay's syncs flush only what is new: a sync that finds no change
 * since the last one makes no system call, and syncs that run at once
 * share one flush. Counted on the calls themselves: this program defines
 * fdatasync, which the overlay (linked statically) calls instead of the C
 * library's. Before this behaviour every sync called fdatasync on the
 * data file, so the counts below fail without it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "tartools.h"
#include "xvafs/overlay.h"
#include "xvafs/xva.h"

#define SYNCERS 6

static unsigned flushes; /* fdatasync calls (atomic) */

int fdatasync(int fd)
{
	__atomic_add_fetch(&flushes, 1, __ATOMIC_RELAXED);
	return (int)syscall(SYS_fdatasync, fd);
}

static unsigned counted(void)
{
	return __atomic_load_n(&flushes, __ATOMIC_RELAXED);
}

struct syncer {
	struct xva_overlay *ovl;
	pthread_barrier_t *start;
	enum xva_status st;
};

static void *sync_once(void *arg)
{
	struct syncer *s = arg;
	struct xva_err err;

	pthread_barrier_wait(s->start);
	s->st = xva_overlay_sync(s->ovl, 0, &err);
	return NULL;
}

/* SYNCERS threads sync at once after one write: the data and the map are
 * flushed once, whichever thread does it, and every thread returns only
 * once that is done (it succeeded, and the reopened overlay holds it). */
static void test_concurrent(struct xva_overlay *ovl)
{
	struct syncer s[SYNCERS];
	pthread_barrier_t start;
	pthread_t t[SYNCERS];
	char buf[4096];
	struct xva_err err;
	unsigned before;

	memset(buf, 0x33, sizeof(buf));
	CHECK(xva_overlay_write(ovl, 0, buf, sizeof(buf), 4096, &err) == XVA_OK);
	before = counted();
	pthread_barrier_init(&start, NULL, SYNCERS);
	for (int i = 0; i < SYNCERS; i++) {
		s[i] = (struct syncer){ ovl, &start, XVA_EIO };
		CHECK(pthread_create(&t[i], NULL, sync_once, &s[i]) == 0);
	}
	for (int i = 0; i < SYNCERS; i++) {
		pthread_join(t[i], NULL);
		CHECK(s[i].st == XVA_OK);
	}
	pthread_barrier_destroy(&start);
	CHECK_MSG(counted() - before == 2, "%d syncs at once after one write "
		  "made %u fdatasync calls, expected 2 (the data, then the map)",
		  SYNCERS, counted() - before);
}

int main(void)
{
	const struct test_member m[] = {
		{ "Ref:1/00000000", 8192, NULL, 1 },
		{ "Ref:1/00000003", 8192, NULL, 2 },
	};
	char path[] = "/tmp/xvafs-test-XXXXXX", dir[] = "/tmp/xvafs-ovl-XXXXXX";
	char buf[4096], got[4096], cmd[700];
	struct xva_overlay *ovl = NULL;
	struct xva *xva = NULL;
	struct xva_err err;
	unsigned before;
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
	if (!ovl)
		return CHECK_DONE();

	/* A new block: its data, then its bit in the map. */
	memset(buf, 0x5A, sizeof(buf));
	CHECK(xva_overlay_write(ovl, 0, buf, sizeof(buf), 0, &err) == XVA_OK);
	before = counted();
	CHECK(xva_overlay_sync(ovl, 0, &err) == XVA_OK);
	CHECK_MSG(counted() - before == 2, "a sync after a new block made %u "
		  "fdatasync calls, expected 2", counted() - before);
	/* Nothing new: no flush at all. */
	before = counted();
	for (int i = 0; i < 5; i++)
		CHECK(xva_overlay_sync(ovl, 0, &err) == XVA_OK);
	CHECK_MSG(counted() == before, "5 syncs with nothing new made %u "
		  "fdatasync calls, expected none", counted() - before);
	/* An overwrite of a block held already: the data only. */
	memset(buf, 0x6B, 100);
	CHECK(xva_overlay_write(ovl, 0, buf, 100, 10, &err) == XVA_OK);
	before = counted();
	CHECK(xva_overlay_sync(ovl, 0, &err) == XVA_OK);
	CHECK_MSG(counted() - before == 1, "a sync after an overwrite made %u "
		  "fdatasync calls, expected 1", counted() - before);
	/* A discard is a change too. */
	CHECK(xva_overlay_zero(ovl, 0, 512, 1024, &err) == XVA_OK);
	before = counted();
	CHECK(xva_overlay_sync(ovl, 0, &err) == XVA_OK);
	CHECK(counted() - before >= 1);
	test_concurrent(ovl);
	CHECK(xva_overlay_close(ovl, &err) == XVA_OK);

	/* What those syncs covered is there after a reopen. */
	CHECK(xva_overlay_open(xva, dir, XVA_OVL_READ, 0, NULL, &ovl, &err) ==
	      XVA_OK);
	CHECK(ovl && xva_overlay_read(ovl, 0, got, sizeof(got), 4096, &done,
				      &err) == XVA_OK && done == sizeof(got));
	memset(buf, 0x33, sizeof(buf));
	CHECK(memcmp(got, buf, sizeof(got)) == 0);
	CHECK(ovl && xva_overlay_read(ovl, 0, got, 200, 0, &done, &err) ==
	      XVA_OK && got[10] == 0x6B && got[109] == 0x6B && got[110] == 0x5A);
	xva_overlay_close(ovl, &err);
	xva_close(xva);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, path);
	CHECK(system(cmd) == 0);
	return CHECK_DONE();
}
