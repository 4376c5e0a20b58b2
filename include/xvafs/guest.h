/* The guest view of a VM's disks in one call: each disk's partition
 * table, the devices that may hold data (a disk without a partition
 * table, or each partition but extended ones), what each holds, the LVM
 * volume groups across all of them, and what each served LV holds. The
 * front ends (the mount's by-device/ and lvm/ folders, --list, the
 * nbdkit plugin's exports, --export-disk) read this and open views:
 * a device's view is ready; an LV's comes from xva_guest_lv_view.
 *
 * A disk that has a partition table is not itself a device (lvm2's
 * rule), so LVM finds PVs on bare disks and in partitions. */
#ifndef XVAFS_GUEST_H
#define XVAFS_GUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "xvafs/error.h"
#include "xvafs/fsprobe.h"
#include "xvafs/lvm.h"
#include "xvafs/partition.h"
#include "xvafs/view.h"

struct xva_guest_dev {
	char *name;                       /* "xvda" (a bare disk), "xvda1" */
	size_t disk;                      /* which of the disks given */
	const struct xva_partition *part; /* NULL: the whole disk */
	struct xva_view *view;            /* a slice of the disk's view
					     (owned) or the disk's view */
	struct xva_fsinfo fs;
};

struct xva_guest_lv {
	size_t vg, lv;                    /* in lvm->vgs[vg].lvs[lv] */
	char *path;                       /* "VG/LV", or "VG.<8 characters
					     of the VG's uuid>/LV" when two
					     VGs share the name */
	struct xva_fsinfo fs;             /* of its first bytes */
};

struct xva_guest {
	size_t n_disks;
	struct xva_view **disks;          /* as given (not owned) */
	struct xva_ptable **tables;       /* one per disk */
	size_t n_devs;
	struct xva_guest_dev *devs;
	struct xva_lvm *lvm;              /* its devices are DEVS, in order */
	size_t n_lvs;                     /* the served, visible LVs */
	struct xva_guest_lv *lvs;
};

/* Reads the tables of DISKS (N views, named NAMES: "xvda" or "Ref:12"),
 * probes every device and LV. The disks must outlive the result. Fails
 * only when a disk cannot be read (its status) or XVA_ENOMEM; what was
 * odd is in the tables' and lvm's notes. */
enum xva_status xva_guest_scan(struct xva_view *const *disks,
			       const char *const *names, size_t n,
			       struct xva_guest **out, struct xva_err *err);
void xva_guest_free(struct xva_guest *g);

/* The view of served LV number I of G (g->lvs[i]), named by its path;
 * writable when WRITABLE and the disks are. Close it before G. */
enum xva_status xva_guest_lv_view(const struct xva_guest *g, size_t i,
				  bool writable, struct xva_view **out,
				  struct xva_err *err);

#endif
