/* The export and folders the overlay map harness and its seed maker share:
 * a v7 tar with one disk, Ref:1, of 16384 bytes (chunks 0 and 3 of 4096
 * bytes present, 1 and 2 gaps), so maps of every block size fit it. */
#ifndef XVAFS_FUZZ_OVERLAYMAP_H
#define XVAFS_FUZZ_OVERLAYMAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tartools.h"

#define OVLFUZZ_DISK 16384u

static inline int ovlfuzz_write_export(const char *path)
{
	const struct test_member m[] = {
		{ "Ref:1/00000000", 4096, NULL, 1 },
		{ "Ref:1/00000003", 4096, NULL, 2 },
	};

	return test_write_tar(path, "v7", m, 2);
}

/* A fresh folder for scratch files: in /dev/shm when there is one (the
 * overlay syncs), else $TMPDIR or /tmp. NULL on failure. */
static inline char *ovlfuzz_tempdir(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
			   : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *dir = NULL;

	if (asprintf(&dir, "%s/xvafs-ovlmap-XXXXXX", base) < 0)
		return NULL;
	if (!mkdtemp(dir)) {
		free(dir);
		return NULL;
	}
	return dir;
}

#endif
