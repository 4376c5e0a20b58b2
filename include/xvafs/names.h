/* Names a person recognises for each disk, from ova.xml: the guest device
 * it is attached as (xvda, ...) and its VDI's label made safe as a file
 * name. Disks the export holds but no VBD attaches (a suspend image, say)
 * have a label but no device. */
#ifndef XVAFS_NAMES_H
#define XVAFS_NAMES_H

#include <stddef.h>

#include "xvafs/diskmap.h"
#include "xvafs/error.h"
#include "xvafs/ovaxml.h"

/* Names the mount's root uses besides the disks; no disk may take them. */
#define XVA_NAME_OVA_XML "ova.xml"
#define XVA_NAME_BY_DEVICE "by-device"
#define XVA_NAME_BY_LABEL "by-label"
#define XVA_NAME_VM "vm"

struct xva_disk_names {
	const struct xva_ova_vdi *vdi; /* NULL when ova.xml has no record */
	const struct xva_ova_vbd *vbd; /* the Disk VBD attaching it, or NULL */
	const struct xva_ova_vm *vm;   /* the VM of that VBD, or NULL */
	char *device; /* unique guest device name, or NULL */
	char *label;  /* unique file name from name_label, or NULL */
};

/* One entry per disk of MAP, in the same order. A device name comes from
 * the VBD's device field when set, else from its userdevice number as Xen
 * names it (0 xvda, 1 xvdb, 3 xvdd, 4 xvde, 26 xvdaa). Only disks of VMs
 * that are not snapshots get devices. Duplicates get a suffix "~2", "~3",
 * ... */
enum xva_status xva_names_build(const struct xva_ovaxml *ova,
				const struct xva_diskmap *map,
				struct xva_disk_names **out,
				struct xva_err *err);
void xva_names_free(struct xva_disk_names *names, size_t n);

/* TEXT made safe as one file name: no '/', no control characters, not "."
 * or "..", at most 200 bytes (cut on a UTF-8 boundary). NULL when TEXT is
 * empty or out of memory. */
char *xva_safe_name(const char *text);

#endif
