/* LVM2 inside a VM's disks: physical volumes found by their content,
 * volume groups assembled across every device given, and each logical
 * volume either mapped onto the devices (a map view, view.h) or refused
 * with the reason. Everything is read through views, in userspace.
 *
 * A DEVICE is a view that may be a PV: a whole disk or a partition (a
 * slice). The caller chooses them (lvm2's rule: a disk that has a
 * partition table is not itself a PV; its partitions may be). Per PV:
 *   - the label in sectors 0-3 ("LABELONE", its sector number and CRC),
 *     the PV header (UUID, data and metadata areas, bounded inside the
 *     label's sector);
 *   - the first metadata area: its header (CRC, magic, version, start),
 *     the committed text (raw_locn 0, unless marked ignored), read with
 *     its wrap-around and checked against its CRC; the second area (at
 *     the device's end) only when the first gives no metadata;
 *   - the text is parsed with lvm2's config syntax (sections, strings,
 *     integers, lists, comments), with sizes, nesting and counts
 *     bounded.
 * Volume groups are grouped by VG id (never by name); the copy with the
 * highest seqno wins; PVs are matched by UUID. A PV UUID found on two
 * devices: the first device given wins, and a note says so. A VG some of
 * whose PVs are missing is partial; its LVs on present PVs are served.
 *
 * Served: "striped" (and linear: one stripe) over PVs, LVs of several
 * segments, "zero" segments, "mirror" (pvmove: the original leg) and
 * "raid1" read from one leg, the first whose PVs are all present (the
 * legs' sync state lives in the mirror log or the RAID superblocks,
 * which are not read). Refused with a reason: hidden sub-LVs, the COW
 * store of a snapshot, and the types snapshot, thin, thin-pool, cache,
 * cache-pool, raid0/4/5/6/10, vdo, integrity, writecache, error. */
#ifndef XVAFS_LVM_H
#define XVAFS_LVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"
#include "xvafs/view.h"

#define XVA_LVM_MAX_TEXT (64u << 20)  /* metadata text bytes */
#define XVA_LVM_MAX_DEPTH 32          /* nesting of the text's sections */
#define XVA_LVM_MAX_ITEMS (1u << 20)  /* values in a list */
#define XVA_LVM_MAX_SEGMENTS 65536u   /* segments of one LV */
#define XVA_LVM_MAX_STRIPES 128u      /* lvm2's own limit */

/* The label and PV header in sectors 0-3 of a device. */
struct xva_lvm_label {
	bool found;              /* a good label and PV header */
	unsigned sector;         /* 0-3 */
	char pv_uuid[39];        /* 6-4-4-4-4-4-6 with dashes, as lvm2 and
				    blkid print it */
	uint64_t device_size;    /* bytes, as the PV header says */
	uint64_t data_offset;    /* the first data area (the PEs' area) */
	uint64_t data_size;      /* 0: to the device's end */
	unsigned n_mdas;         /* metadata areas (at most 2 read) */
	uint64_t mda_offset[2], mda_size[2];
	char why[160];           /* !found but a LABELONE was seen: why it
				    was refused */
};

/* The label of DEV. Not finding one is not an error (found false). */
enum xva_status xva_lvm_label_read(struct xva_view *dev,
				   struct xva_lvm_label *out,
				   struct xva_err *err);

/* One stripe of a mapped run: device DEV (an index into the devices
 * given to xva_lvm_scan), from byte OFFSET of it. */
struct xva_lvm_stripe {
	size_t dev;
	uint64_t offset;
};

/* A run of an LV, as a segment of a map view (view.h): [start, start +
 * len) of the LV, SKIP bytes into the pattern of N_STRIPES stripes of
 * CHUNK bytes; no stripes: zeros. */
struct xva_lvm_run {
	uint64_t start, len, skip, chunk;
	unsigned n_stripes;
	struct xva_lvm_stripe *stripes;
};

struct xva_lvm_lv {
	char *name;
	char uuid[39];
	bool visible;            /* status has VISIBLE: else a sub-LV that
				    front ends do not show */
	bool servable;
	char *why;               /* !servable: why, one line */
	char *types;             /* the segment types, ","-separated */
	uint64_t size;           /* bytes (extents x extent size) */
	size_t n_runs;           /* servable: the map */
	struct xva_lvm_run *runs;
};

struct xva_lvm_pv {
	char *name;              /* "pv0" */
	char uuid[39];
	long dev;                /* the device holding it, -1: missing */
	uint64_t pe_start;       /* bytes */
	uint64_t pe_count;
};

struct xva_lvm_vg {
	char *name;
	char uuid[39];           /* the VG id */
	uint64_t seqno;
	uint64_t extent_size;    /* bytes */
	bool partial;            /* a PV of it is missing */
	bool name_shared;        /* another VG found has the same name:
				    front ends tell them apart by uuid */
	long metadata_dev;       /* the device whose copy was used */
	size_t n_pvs;
	struct xva_lvm_pv *pvs;
	size_t n_lvs;
	struct xva_lvm_lv *lvs;
};

struct xva_lvm {
	size_t n_vgs;
	struct xva_lvm_vg *vgs;
	size_t n_labels;          /* one per device given */
	struct xva_lvm_label *labels;
	size_t n_notes;
	char **notes;            /* what was odd, one line each: a bad
				    label or metadata area, older copies
				    ignored, a duplicate PV, a PV of no VG */
};

/* Finds the PVs among DEVS (N of them, NAMES for the notes) and
 * assembles their VGs. Devices that hold no PV, or a damaged one, are
 * not errors (the notes say what was wrong). Fails on XVA_ENOMEM, or
 * when a device cannot be read (its status). */
enum xva_status xva_lvm_scan(struct xva_view *const *devs,
			     const char *const *names, size_t n,
			     struct xva_lvm **out, struct xva_err *err);
void xva_lvm_free(struct xva_lvm *l);

/* The map view of logical volume LV of VG in L (servable), over DEVS (the
 * devices given to xva_lvm_scan, which must outlive the view), named
 * NAME; writable when WRITABLE and every device it uses is. XVA_EINVAL
 * for an LV that is not servable (the message says why). */
enum xva_status xva_lvm_lv_view(const struct xva_lvm *l, size_t vg, size_t lv,
				struct xva_view *const *devs, const char *name,
				bool writable, struct xva_view **out,
				struct xva_err *err);

/* lvm2's checksum (CRC-32, initial value 0xf597a6cf, no final xor);
 * chain calls with the previous value as INITIAL. */
#define XVA_LVM_CRC_INITIAL 0xf597a6cfu
uint32_t xva_lvm_crc(uint32_t initial, const void *buf, size_t len);

#endif
