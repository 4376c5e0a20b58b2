/* libFuzzer harness: the guest view's parsers (partition tables, LVM2
 * labels, metadata areas and text, VG assembly, LV maps, filesystem
 * probes) on hostile input, and reads of every LV they serve.
 *
 * Input: a mode byte, then the payload.
 *   mode bit 0 clear: the payload is the start of a 4 MiB disk (the rest
 *     reads as zeros): tables, EBR chains, GPT entries, boot sectors,
 *     labels are all as the fuzzer wrote them;
 *   mode bit 0 set: the payload is LVM metadata text, put in the metadata
 *     area of a PV whose label, header and CRCs are made right (else the
 *     fuzzer would never get past the CRCs), at the start of the ring or
 *     (bit 1) near its end, so that it wraps; a second PV without
 *     metadata stands beside it. PV UUIDs: "pv0AAA..." and "pv1BBB...". */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guestbuild.h"
#include "memview.h"
#include "xvafs/guest.h"

#define DISK (4u << 20)
#define AREA (1u << 20) /* label and first metadata area */
#define MDA_SIZE (AREA - 4096)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char UUID0[] = "pv0AAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
static const char UUID1[] = "pv1BBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

/* Every LV served: opened, read at both ends, sought. */
static void read_lvs(const struct xva_guest *g)
{
	unsigned char buf[4096];
	struct xva_err err;
	size_t done;
	uint64_t to;

	for (size_t i = 0; i < g->n_lvs; i++) {
		struct xva_view *v = NULL;

		if (xva_guest_lv_view(g, i, false, &v, &err) != XVA_OK)
			continue;
		xva_view_read(v, buf, sizeof(buf), 0, 0, &done, &err);
		if (v->size > sizeof(buf))
			xva_view_read(v, buf, sizeof(buf),
				      v->size - sizeof(buf) + 1, 0, &done, &err);
		xva_view_seek(v, 0, true, &to);
		xva_view_seek(v, 0, false, &to);
		xva_view_prefetch(v, 0, v->size);
		xva_view_close(v);
	}
}

static void scan(struct xva_view **disks, size_t n)
{
	static const char *names[] = { "xvda", "xvdb" };
	struct xva_guest *g = NULL;
	struct xva_err err;

	if (xva_guest_scan(disks, names, n, &g, &err) == XVA_OK)
		read_lvs(g);
	xva_guest_free(g);
}

static void lvm_text(uint8_t mode, const uint8_t *text, size_t len)
{
	unsigned char *area = calloc(1, AREA);
	struct xva_view *disks[2];
	char *t;

	if (!area)
		return;
	if (len > MDA_SIZE - 1024)
		len = MDA_SIZE - 1024;
	t = malloc(len + 1);
	if (!t) {
		free(area);
		return;
	}
	memcpy(t, text, len);
	t[len] = '\0';
	disks[0] = memview_new("xvda", DISK, false);
	disks[1] = memview_new("xvdb", DISK, false);
	if (disks[0] && disks[1]) {
		gb_lvm_pv(area, DISK, UUID0, AREA, MDA_SIZE, t,
			  mode & 2 ? MDA_SIZE - 300 : 512, false);
		memview_put(disks[0], 0, area, AREA);
		memset(area, 0, AREA);
		gb_lvm_pv(area, DISK, UUID1, AREA, MDA_SIZE, NULL, 0, false);
		memview_put(disks[1], 0, area, 1024);
		scan(disks, 2);
	}
	for (int i = 0; i < 2; i++)
		if (disks[i])
			xva_view_close(disks[i]);
	free(t);
	free(area);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xva_view *disk;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		lvm_text(data[0], data + 1, size - 1);
		return 0;
	}
	if (size - 1 > DISK)
		return 0;
	disk = memview_new("xvda", DISK, false);
	if (!disk)
		return 0;
	if (size > 1)
		memview_put(disk, 0, data + 1, size - 1);
	scan(&disk, 1);
	xva_view_close(disk);
	return 0;
}
