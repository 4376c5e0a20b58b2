/* guestscan: what finding the partitions, LVM volumes and filesystems
 * inside an export's disks adds to a mount (bench/guest.sh).
 *
 *   guestscan [-n RUNS] EXPORT
 *
 * Each run opens the export as the mount does (the index cache in
 * $XDG_CACHE_HOME), opens every disk's view and scans them with the
 * front ends' call (xvafs_guest_scan), timing the open and the scan
 * apart; prints one line per run: "open SECONDS scan SECONDS" and what
 * was found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "front/guestview.h"
#include "xvafs/cachefile.h"
#include "xvafs/view.h"
#include "xvafs/xva.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run(const char *location, const char *cache_dir)
{
	struct xva_open_options o = { .cache_dir = cache_dir };
	struct xvafs_guest *gv = NULL;
	struct xva_view **views;
	struct xva *xva;
	struct xva_err err;
	double t0, t1, t2;
	int rc = 0;

	t0 = now();
	if (xva_open(location, &o, &xva, &err) != XVA_OK) {
		fprintf(stderr, "guestscan: %s: %s\n", location, err.msg);
		return 1;
	}
	views = calloc(xva->map.n_disks ? xva->map.n_disks : 1, sizeof(*views));
	for (size_t i = 0; views && i < xva->map.n_disks; i++)
		if (xva_view_open(xva, NULL, i, false, &views[i], &err) != XVA_OK)
			rc = 1;
	t1 = now();
	if (!views || rc || xvafs_guest_scan(xva, views, &gv, &err) != XVA_OK) {
		fprintf(stderr, "guestscan: %s: cannot scan\n", location);
		rc = 1;
	}
	t2 = now();
	if (!rc)
		printf("open %.6f scan %.6f disks %zu partitions+LVs %zu links "
		       "%zu notes %zu\n", t1 - t0, t2 - t1, xva->map.n_disks,
		       gv->n_items, gv->n_links, gv->n_notes);
	xvafs_guest_free(gv);
	for (size_t i = 0; views && i < xva->map.n_disks; i++)
		xva_view_close(views[i]);
	free(views);
	xva_close(xva);
	return rc;
}

int main(int argc, char **argv)
{
	int runs = 5, c;
	char *cache_dir;

	while ((c = getopt(argc, argv, "n:")) != -1) {
		if (c != 'n') {
			fprintf(stderr, "usage: guestscan [-n RUNS] EXPORT\n");
			return 2;
		}
		runs = atoi(optarg);
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: guestscan [-n RUNS] EXPORT\n");
		return 2;
	}
	cache_dir = xva_cache_default_dir();
	for (int i = 0; i < runs; i++)
		if (run(argv[optind], cache_dir) != 0)
			return 1;
	free(cache_dir);
	return 0;
}
