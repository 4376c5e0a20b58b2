/* Seed maps for fuzz_overlaymap, made by the overlay code over the
 * harness's export: every block size, with nothing, some and every block
 * held, and the same maps in version 1, as the development snapshots wrote
 * them (native byte order: on a little-endian machine version 2's bytes
 * with version 1; and as a big-endian machine wrote them).
 *   overlaymap_seeds OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "overlaymap.h"
#include "xvafs/overlay.h"
#include "xvafs/xva.h"

static int copy_map(const char *dir, const char *out, const char *name,
		    int version)
{
	char *from = NULL, *to = NULL;
	unsigned char buf[8192];
	size_t n;
	FILE *f;

	if (asprintf(&from, "%s/Ref:1.map", dir) < 0 ||
	    asprintf(&to, "%s/%s", out, name) < 0)
		return -1;
	f = fopen(from, "rb");
	free(from);
	if (!f) {
		free(to);
		return -1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n < 296) {
		free(to);
		return -1;
	}
	if (version == 1) {
		buf[8] = 1;
	} else if (version == -1) { /* version 1, big-endian */
		unsigned char le[32];

		memcpy(le, buf + 8, 32);
		for (int i = 0; i < 4; i++) {
			buf[8 + i] = i == 3;
			buf[12 + i] = le[4 + 3 - i];
		}
		for (int fld = 0; fld < 3; fld++)
			for (int i = 0; i < 8; i++)
				buf[16 + fld * 8 + i] = le[8 + fld * 8 + 7 - i];
	}
	f = fopen(to, "wb");
	free(to);
	if (!f || fwrite(buf, 1, n, f) != n) {
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

int main(int argc, char **argv)
{
	static const uint32_t blocks[] = { 4096, 8192, 16384, 65536 };
	char *tmp = ovlfuzz_tempdir(), xva_path[600], dir[600], name[64];
	char cmd[700];
	unsigned char buf[OVLFUZZ_DISK];
	struct xva *xva = NULL;
	struct xva_err err;
	int bad = 0;

	if (argc != 2 || !tmp)
		return 2;
	mkdir(argv[1], 0755);
	snprintf(xva_path, sizeof(xva_path), "%s/export.xva", tmp);
	if (ovlfuzz_write_export(xva_path) != 0 ||
	    xva_open(xva_path, NULL, &xva, &err) != XVA_OK)
		return 1;
	memset(buf, 0x5E, sizeof(buf));
	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
		/* Held: none, one partial write, every byte. */
		for (int held = 0; held < 3; held++) {
			struct xva_overlay *ovl = NULL;

			snprintf(dir, sizeof(dir), "%s/ovl", tmp);
			if (xva_overlay_open(xva, dir, XVA_OVL_WRITE, blocks[b],
					     "seeds", &ovl, &err) != XVA_OK) {
				bad = 1;
				break;
			}
			if (held == 1)
				xva_overlay_write(ovl, 0, buf, 100, 5000, &err);
			else if (held == 2)
				xva_overlay_write(ovl, 0, buf, OVLFUZZ_DISK, 0, &err);
			if (xva_overlay_close(ovl, &err) != XVA_OK)
				bad = 1;
			for (int v = 2; v >= -1; v--) {
				if (v == 0)
					continue;
				snprintf(name, sizeof(name), "b%u-held%d-v%s.map",
					 blocks[b], held, v == -1 ? "1be" : v == 1 ? "1" : "2");
				bad |= copy_map(dir, argv[1], name, v) != 0;
			}
			snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
			bad |= system(cmd) != 0;
		}
	}
	xva_close(xva);
	unlink(xva_path);
	rmdir(tmp);
	free(tmp);
	return bad;
}
