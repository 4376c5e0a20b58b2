/* libFuzzer harness: arbitrary bytes as an overlay's map file (DIR/Ref:1.map
 * beside a data file the disk's size) over a small export. Opens the
 * overlay for reading and reads, seeks and sizes it; then for writing,
 * writes, zeroes and syncs a little, and reads that back after reopening.
 * Nothing may crash, leak or read out of bounds, and what was written must
 * read back. Seeds: overlaymap_seeds (maps the code makes). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlaymap.h"
#include "xvafs/overlay.h"
#include "xvafs/xva.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct xva *xva;
static char *dir, *xva_path, *map_path, *data_path, *lock_path;

static void cleanup(void)
{
	xva_close(xva);
	if (xva_path)
		unlink(xva_path);
	if (map_path)
		unlink(map_path);
	if (data_path)
		unlink(data_path);
	if (lock_path)
		unlink(lock_path);
	if (dir)
		rmdir(dir);
	free(xva_path);
	free(map_path);
	free(data_path);
	free(lock_path);
	free(dir);
}

static int setup(void)
{
	struct xva_err err;

	if (xva)
		return 0;
	dir = ovlfuzz_tempdir();
	if (!dir || asprintf(&xva_path, "%s/export.xva", dir) < 0 ||
	    asprintf(&map_path, "%s/Ref:1.map", dir) < 0 ||
	    asprintf(&data_path, "%s/Ref:1.data", dir) < 0 ||
	    asprintf(&lock_path, "%s/lock", dir) < 0 ||
	    ovlfuzz_write_export(xva_path) != 0 ||
	    xva_open(xva_path, NULL, &xva, &err) != XVA_OK) {
		fprintf(stderr, "fuzz_overlaymap: cannot set up in %s\n",
			dir ? dir : "a temporary folder");
		abort();
	}
	atexit(cleanup);
	return 0;
}

static void spill(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || (len && write(fd, buf, len) != (ssize_t)len))
		abort();
	close(fd);
}

static void read_around(struct xva_overlay *ovl)
{
	static const uint64_t offs[] = { 0, 4095, 4096, 9000, OVLFUZZ_DISK - 1,
					 OVLFUZZ_DISK };
	unsigned char buf[OVLFUZZ_DISK];
	struct xva_err err;
	uint64_t to;
	size_t done;

	xva_overlay_read(ovl, 0, buf, sizeof(buf), 0, &done, &err);
	for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
		xva_overlay_read(ovl, 0, buf, 5000, offs[k], &done, &err);
		xva_overlay_seek(ovl, 0, offs[k], true, &to);
		xva_overlay_seek(ovl, 0, offs[k], false, &to);
	}
	(void)xva_overlay_bytes(ovl, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char disk[OVLFUZZ_DISK];
	unsigned char got[300], mark[300];
	struct xva_overlay *ovl = NULL;
	struct xva_err err;
	size_t done;

	setup();
	for (size_t i = 0; i < sizeof(disk); i++)
		disk[i] = (unsigned char)(i * 29 + 3);
	spill(map_path, data, size);
	spill(data_path, disk, sizeof(disk));
	if (xva_overlay_open(xva, dir, XVA_OVL_READ, 0, NULL, &ovl, &err) ==
	    XVA_OK) {
		read_around(ovl);
		xva_overlay_close(ovl, &err);
	}
	ovl = NULL;
	if (xva_overlay_open(xva, dir, XVA_OVL_WRITE, 0, "fuzz", &ovl, &err) !=
	    XVA_OK)
		return 0;
	memset(mark, 0xC3, sizeof(mark));
	if (xva_overlay_write(ovl, 0, mark, sizeof(mark), 4000, &err) != XVA_OK ||
	    xva_overlay_zero(ovl, 0, 100, 12000, &err) != XVA_OK) {
		xva_overlay_close(ovl, &err);
		return 0; /* a data file that cannot take it: an error is fine */
	}
	read_around(ovl);
	if (xva_overlay_close(ovl, &err) != XVA_OK)
		return 0;
	ovl = NULL;
	/* What was written reads back, through the map as written. */
	if (xva_overlay_open(xva, dir, XVA_OVL_READ, 0, NULL, &ovl, &err) !=
	    XVA_OK)
		abort();
	if (xva_overlay_read(ovl, 0, got, sizeof(got), 4000, &done, &err) !=
		    XVA_OK || done != sizeof(got) || memcmp(got, mark, sizeof(got)))
		abort();
	memset(mark, 0, 100);
	if (xva_overlay_read(ovl, 0, got, 100, 12000, &done, &err) != XVA_OK ||
	    done != 100 || memcmp(got, mark, 100))
		abort();
	read_around(ovl);
	xva_overlay_close(ovl, &err);
	return 0;
}
