/* The guest view of an opened export (xvafs/guest.h) as every front end
 * names it: the mount's files and links, --list, the nbdkit plugin's
 * export names and --export-disk all take their names from here, so a
 * partition or LV has one name everywhere.
 *
 *   Ref:12p1          a partition, beside its disk at the mount's root
 *                     (the disk's prefix and the partition's number, as
 *                     Linux names partitions of a disk whose name ends in
 *                     a digit); extended partitions are not served
 *   by-device/xvda1   the same partition by the guest's name for it, when
 *                     the disk has a guest device
 *   lvm/VG/LV         a logical volume (VG.<8 characters of its uuid>
 *                     when two VGs share the name)
 *   by-uuid/UUID      a filesystem (or swap, or LUKS) in a partition, an
 *                     LV or a disk without a partition table, as udev
 *                     links them
 *   by-label/LABEL    the same by its label; by-label/ holds the disks'
 *                     VDI labels first, and a filesystem label only takes
 *                     a name that is still free
 *
 * A name already taken (by a disk, a reserved name, an earlier link) is
 * not served, and a note says so: every note is said as a warning (the
 * mount, --list, the plugin), never dropped. FUSE-free. */
#ifndef XVAFS_GUESTVIEW_H
#define XVAFS_GUESTVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "xvafs/guest.h"
#include "xvafs/xva.h"

#define XVAFS_NAME_LVM "lvm"
#define XVAFS_NAME_BY_UUID "by-uuid"

enum xvafs_item_kind { XVAFS_ITEM_PART, XVAFS_ITEM_LV };

/* A partition or logical volume served as a file. */
struct xvafs_guest_item {
	enum xvafs_item_kind kind;
	size_t index;       /* in g->devs (a partition) or g->lvs (an LV) */
	size_t disk;        /* a partition's disk, as an index of the
			       export's disks */
	char *file;         /* its path from the mount's root: "Ref:12p1",
			       "lvm/VG/LV" */
	char *folder;       /* an LV's folder under lvm/ ("VG"); else NULL */
	const char *base;   /* the last part of FILE */
	char *device;       /* a partition's by-device/ name ("xvda1"), or
			       NULL */
	const struct xva_fsinfo *fs;
};

/* A link of by-uuid/ or by-label/ to what holds a filesystem. */
struct xvafs_guest_link {
	const char *folder; /* XVAFS_NAME_BY_UUID or XVA_NAME_BY_LABEL */
	char *name;
	const char *target; /* its path from the mount's root: an item's
			       file or a disk's prefix */
};

struct xvafs_guest {
	struct xva_guest *g;  /* NULL when no disk could be read */
	size_t *disk_index;   /* g's disk K is the export's disk
				 disk_index[K] (a disk that could not be
				 read is left out of the scan) */
	size_t n_items;
	struct xvafs_guest_item *items;
	size_t n_links;
	struct xvafs_guest_link *links;
	size_t n_notes;
	char **notes;         /* names not served, disks not read */
};

/* Scans DISKS (one view per disk of XVA, in the export's order; they
 * must outlive the result) and names what is served. A disk that cannot
 * be read is left out with a note. Fails only on XVA_ENOMEM. */
enum xva_status xvafs_guest_scan(const struct xva *xva,
				 struct xva_view *const *disks,
				 struct xvafs_guest **out, struct xva_err *err);
void xvafs_guest_free(struct xvafs_guest *gv);

/* The item named NAME: its file ("Ref:12p1", "lvm/VG/LV") or its
 * by-device/ name ("xvda1"); NULL when none. */
const struct xvafs_guest_item *xvafs_guest_find(const struct xvafs_guest *gv,
						const char *name);
/* The item serving device DEV (g->devs) or LV LV (g->lvs); NULL. */
const struct xvafs_guest_item *xvafs_guest_item_of(const struct xvafs_guest *gv,
						   enum xvafs_item_kind kind,
						   size_t index);

/* A new view of IT, named NAME (NULL: its file); writable when WRITABLE
 * and the disks are. Close it before GV. */
enum xva_status xvafs_guest_item_view(const struct xvafs_guest *gv,
				      const struct xvafs_guest_item *it,
				      const char *name, bool writable,
				      struct xva_view **out,
				      struct xva_err *err);

/* "ext4 \"rootfs\" 0c3f..." (what a file system probe found) into BUF;
 * "" when nothing is known. */
void xvafs_fs_describe(const struct xva_fsinfo *fs, char *buf, size_t len);

#endif
