/* --list's part about what is inside the disks: partition tables,
 * partitions, LVM volume groups and logical volumes, and what each
 * holds, as text and as --list --json fields. */
#ifndef XVAFS_LIST_GUEST_H
#define XVAFS_LIST_GUEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "front/guestview.h"

/* The text tree after the disks' table. */
void xvafs_list_guest_text(FILE *out, const struct xva *xva,
			   const struct xvafs_guest *gv, bool exact);
/* Adds partition_table, partitions and filesystem to disk I's object. */
void xvafs_list_guest_disk_json(json_object *disk, const struct xva *xva,
				const struct xvafs_guest *gv, size_t i);
/* Adds volume_groups and guest_notes to the listing. */
void xvafs_list_guest_json(json_object *root, const struct xva *xva,
			   const struct xvafs_guest *gv);

#endif
