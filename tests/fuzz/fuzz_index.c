/* libFuzzer harness: arbitrary bytes as a .xva. Opens it (the tar walk,
 * the disk map, ova.xml, names), then reads, seeks and verifies a little
 * of every disk, as a mount and --verify would. Nothing may crash, hang,
 * leak or read out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xvafs/read.h"
#include "xvafs/verify.h"
#include "xvafs/xva.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64], buf[8192];
	struct xva *xva = NULL;
	struct xva_err err;
	int fd = memfd_create("fuzz.xva", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (xva_open(path, NULL, &xva, &err) == XVA_OK) {
		for (size_t i = 0; i < xva->map.n_disks; i++) {
			const struct xva_disk *d = &xva->map.disks[i];
			uint64_t to, offs[] = { 0, d->size / 2, d->size ? d->size - 1 : 0 };
			size_t done;

			for (size_t k = 0; k < 3; k++) {
				xva_read(xva, d, buf, sizeof(buf), offs[k], &done, &err);
				xva_disk_seek(d, offs[k], true, &to);
				xva_disk_seek(d, offs[k], false, &to);
			}
			for (size_t e = 0; e < d->n_extents && e < 4; e++)
				xva_verify_extent(xva, d, e, buf, sizeof(buf), &err);
			for (size_t k = 0; k < d->keepalives && k < 4; k++)
				xva_verify_keepalive(xva, d, k, &err);
		}
		xva_close(xva);
	}
	close(fd);
	return 0;
}
