/* The overlay's core: writes read back merged with the export, survive a
 * reopen, and errors are called what they are. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tartools.h"
#include "xvafs/overlay.h"

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
	CHECK(xva_overlay_open(xva, dir, 0, &ovl, &err) == XVA_OVL_OK);
	/* Across a block boundary, into a gap and a present chunk. */
	memset(buf, 0x5A, sizeof(buf));
	CHECK(xva_overlay_write(ovl, 0, buf, 6000, 8192 * 3 - 3000, &err) ==
	      XVA_OVL_OK);
	CHECK(xva_overlay_write(ovl, 0, buf, 1, 8192 * 4, &err) == XVA_OVL_ENOSPC);
	CHECK(xva_overlay_close(ovl, &err) == XVA_OVL_OK);
	CHECK(xva_overlay_open(xva, dir, 0, &ovl, &err) == XVA_OVL_OK);
	CHECK(xva_overlay_read(ovl, 0, data, sizeof(data), 8192 * 3 - 3300, &done,
			       &err) == XVA_OVL_OK && done == sizeof(data));
	CHECK(data[0] == 0 && data[299] == 0 && data[300] == 0x5A &&
	      data[599] == 0x5A);
	CHECK(xva_overlay_read(ovl, 0, data, 100, 8192 * 3 + 3000, &done, &err) ==
	      XVA_OVL_OK && (unsigned char)data[0] == test_pattern(2, 3000));
	/* A data file cut short under the overlay: an I/O error, not ENOSPC
	 * and not zeros. */
	snprintf(cmd, sizeof(cmd), "%s/Ref:1.data", dir);
	CHECK(truncate(cmd, 100) == 0);
	CHECK(xva_overlay_read(ovl, 0, data, 100, 8192 * 3, &done, &err) ==
	      XVA_OVL_EIO);
	xva_overlay_close(ovl, &err);
	xva_close(xva);
	unlink(path);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return CHECK_DONE();
}
