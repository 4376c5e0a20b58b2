/* xvafs --export-disk: one disk, with an overlay's changes, as a sparse raw
 * file, so a migration can leave xvafs behind. Reads the holes map first
 * and writes only the data; the holes stay holes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "tools.h"

#define COPY_SIZE (1u << 20)

static int copy_range(const struct xva *xva, struct xva_overlay *ovl,
		      size_t disk, int out, uint64_t from, uint64_t to,
		      char *buf, struct xva_err *err)
{
	for (uint64_t pos = from; pos < to; ) {
		size_t n = to - pos < COPY_SIZE ? (size_t)(to - pos) : COPY_SIZE;
		size_t done = 0;
		bool ok = ovl ? xva_overlay_read(ovl, disk, buf, n, pos, &done,
						 err) == XVA_OVL_OK
			      : xva_read(xva, &xva->map.disks[disk], buf, n, pos,
					 &done, err) == XVA_OK;

		if (!ok || done != n)
			return -1;
		if (xva_pwrite_full(out, buf, n, pos) < 0) {
			xva_err_set(err, "cannot write: %s", strerror(errno));
			return -1;
		}
		pos += n;
	}
	return 0;
}

int xvafs_export_disk(const char *path, struct xva *xva, const char *prefix,
		      const char *out_path, const char *overlay_dir)
{
	struct xva_overlay *ovl = NULL;
	const struct xva_disk *d = xva_map_find(&xva->map, prefix);
	int status = XVAFS_EXIT_BAD_INPUT, out = -1;
	uint64_t pos = 0, data, hole, written = 0;
	struct xva_err err;
	struct stat st;
	char *buf = NULL;
	size_t idx;

	if (!d) {
		fprintf(stderr, "xvafs: %s: no disk %s in the export (see "
			"xvafs --list)\n", path, prefix);
		return XVAFS_EXIT_USAGE;
	}
	idx = (size_t)(d - xva->map.disks);
	if (overlay_dir) {
		if (stat(overlay_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
			fprintf(stderr, "xvafs: %s: no overlay folder there\n",
				overlay_dir);
			return XVAFS_EXIT_USAGE;
		}
		if (xva_overlay_open(xva, overlay_dir, 0, &ovl, &err) != XVA_OVL_OK) {
			fprintf(stderr, "xvafs: %s: %s\n", overlay_dir, err.msg);
			return XVAFS_EXIT_BAD_INPUT;
		}
	}
	buf = malloc(COPY_SIZE);
	out = open(out_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (!buf || out < 0 || fstat(out, &st) < 0) {
		fprintf(stderr, "xvafs: %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	/* Never write over the export being read. */
	if (st.st_dev == xva->st.st_dev && st.st_ino == xva->st.st_ino) {
		fprintf(stderr, "xvafs: %s: that is the export itself\n", out_path);
		goto out;
	}
	if (ftruncate(out, 0) < 0 || ftruncate(out, (off_t)d->size) < 0) {
		fprintf(stderr, "xvafs: %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	while (pos < d->size) {
		int r = ovl ? xva_overlay_seek(ovl, idx, pos, true, &data)
			    : xva_disk_seek(d, pos, true, &data);

		if (r != 0)
			break; /* only holes left */
		if (ovl ? xva_overlay_seek(ovl, idx, data, false, &hole)
			: xva_disk_seek(d, data, false, &hole)) {
			hole = d->size;
		}
		if (copy_range(xva, ovl, idx, out, data, hole, buf, &err) < 0) {
			fprintf(stderr, "xvafs: %s: %s\n", path, err.msg);
			status = XVAFS_EXIT_DAMAGED;
			goto out;
		}
		written += hole - data;
		pos = hole;
	}
	if (fsync(out) < 0) {
		fprintf(stderr, "xvafs: %s: %s\n", out_path, strerror(errno));
		goto out;
	}
	printf("xvafs: wrote disk %s (%llu bytes, %llu of them data) to %s\n",
	       prefix, (unsigned long long)d->size,
	       (unsigned long long)written, out_path);
	status = XVAFS_EXIT_OK;
out:
	if (out >= 0)
		close(out);
	free(buf);
	if (ovl && xva_overlay_close(ovl, &err) != XVA_OVL_OK)
		fprintf(stderr, "xvafs: %s: %s\n", overlay_dir, err.msg);
	return status;
}
