/* --vm-config and the VM facts of --list --json: front-end glue over the
 * core's vm module. */
#ifndef XVAFS_CMD_VMCONFIG_H
#define XVAFS_CMD_VMCONFIG_H

#include <json-c/json.h>
#include <stdio.h>

#include "xvafs/ovaxml.h"
#include "xvafs/vm.h"
#include "xvafs/xva.h"

/* Prints to OUT the configuration of OVA's VM in FORMAT_NAME (xl, libvirt,
 * qemu), its disks (DISKS, N of them, as the mount names them) under
 * MOUNTPOINT/by-device/. OVA NULL (an export without ova.xml) has no VM.
 * On failure prints one line to stderr naming EXPORT_PATH and what is
 * wrong, and returns an exit status of tools.h: XVAFS_EXIT_USAGE for an
 * unknown format, a mount point that is not absolute or disk names that
 * are not device names; XVAFS_EXIT_BAD_INPUT for no VM record, one that
 * cannot be right, or out of memory; XVAFS_EXIT_OUTPUT when OUT cannot be
 * written. BRIDGE, if not NULL, is the bridge every network card uses
 * (-o bridge=NAME; a name no interface can have is a usage error). What
 * the configuration cannot carry over is also said on stderr, one line
 * each. */
int xvafs_vm_config(FILE *out, const char *format_name,
		    const struct xva_ovaxml *ova,
		    const struct xva_vm_disk_ref *disks, size_t n,
		    const char *mountpoint, const char *export_path,
		    const char *bridge);

/* The served disks that have a guest device, as the VM module takes
 * them (*N of them; malloc'ed, NULL when out of memory). */
struct xva_vm_disk_ref *xvafs_vm_disk_refs(const struct xva *xva, size_t *n);

/* xvafs_vm_config() on an opened export. */
int xvafs_vm_config_of(FILE *out, const char *format_name,
		       const struct xva *xva, const char *mountpoint,
		       const char *export_path, const char *bridge);

/* The export's VM with its served disks, its network cards on BRIDGE if
 * not NULL, or NULL with ERR saying why. */
struct xva_vm *xvafs_vm_of(const struct xva *xva, const char *bridge,
			   struct xva_err *err);

/* The VM as a JSON object for --list --json (a new reference), NULL when
 * out of memory. */
json_object *xvafs_vm_json(const struct xva_vm *vm);

#endif
