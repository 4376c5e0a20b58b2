/* ova.xml: the export's metadata, one XML-RPC value (format notes section 4).
 *
 * Parsed with libxml2 with no network, no entity substitution, and documents
 * with a DTD refused outright, so no entity can expand. Only the objects
 * xvafs uses are kept: VMs, VBDs, VDIs, SRs, VIFs, networks and VTPMs. Missing
 * text fields are NULL, missing maps and reference lists are empty.
 * Numbers of the VM record (memory, vCPUs, MTU) are kept as text: a VM
 * field a reader cannot make sense of must not stop the disks from being
 * served, so their users (vm.c) check them. Failures are XVA_EFORMAT with
 * an XVA_R_OVA_* reason. */
#ifndef XVAFS_OVAXML_H
#define XVAFS_OVAXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"

struct xva_ova_version {
	char *hostname, *date, *product_brand, *product_version, *export_vsn;
};

/* An XML-RPC struct of strings (platform, HVM_boot_params, ...), in
 * document order. */
struct xva_ova_pair {
	char *key, *value;
};

struct xva_ova_map {
	struct xva_ova_pair *pairs;
	size_t n;
};

/* An XML-RPC array of object references ("Ref:12", "OpaqueRef:...). */
struct xva_ova_refs {
	char **ids;
	size_t n;
};

struct xva_ova_vm {
	char *id, *name_label;
	bool is_a_snapshot;
	/* The VM record as XAPI's datamodel names it. */
	char *uuid, *name_description, *domain_type, *hvm_boot_policy;
	char *pv_bootloader, *pv_bootloader_args, *pv_kernel, *pv_ramdisk;
	char *pv_args, *pv_legacy_args, *snapshot_of;
	char *memory_static_max, *memory_dynamic_max, *memory_dynamic_min;
	char *memory_static_min, *vcpus_max, *vcpus_at_startup;
	bool is_a_template, is_control_domain;
	struct xva_ova_map hvm_boot_params, platform, nvram, other_config;
	struct xva_ova_map bios_strings;
	struct xva_ova_refs vbds, vifs, vgpus, attached_pcis, vtpms, vusbs;
};

/* A virtual TPM: its state is the secret CONTENT (swtpm's state files,
 * base64). */
struct xva_ova_vtpm {
	char *id, *vm, *uuid, *content;
};

struct xva_ova_vif {
	char *id, *vm, *device, *mac, *network, *mtu;
};

struct xva_ova_network {
	char *id, *name_label, *name_description, *bridge, *mtu;
};

struct xva_ova_vbd {
	char *id, *vm, *vdi, *userdevice, *device, *type, *mode;
	bool bootable, empty;
};

struct xva_ova_vdi {
	char *id, *uuid, *name_label, *name_description, *type, *sr;
	uint64_t virtual_size;
	bool has_virtual_size;
	bool read_only;
};

struct xva_ova_sr {
	char *id, *name_label, *content_type;
};

struct xva_ovaxml {
	struct xva_ova_version version;
	struct xva_ova_vm *vms;
	struct xva_ova_vbd *vbds;
	struct xva_ova_vdi *vdis;
	struct xva_ova_sr *srs;
	size_t n_vms, n_vbds, n_vdis, n_srs;
	struct xva_ova_vif *vifs;
	struct xva_ova_network *networks;
	size_t n_vifs, n_networks;
	struct xva_ova_vtpm *vtpms;
	size_t n_vtpms;
};

/* Parses LEN bytes of ova.xml into *OUT (freed with xva_ovaxml_free). */
enum xva_status xva_ovaxml_parse(const char *buf, size_t len,
				 struct xva_ovaxml **out,
				 struct xva_err *err);
void xva_ovaxml_free(struct xva_ovaxml *ova);

const struct xva_ova_vdi *xva_ovaxml_find_vdi(const struct xva_ovaxml *ova,
					      const char *id);
const struct xva_ova_sr *xva_ovaxml_find_sr(const struct xva_ovaxml *ova,
					    const char *id);
const struct xva_ova_vtpm *xva_ovaxml_find_vtpm(const struct xva_ovaxml *ova,
					       const char *id);
const struct xva_ova_network *
xva_ovaxml_find_network(const struct xva_ovaxml *ova, const char *id);
/* KEY's value in MAP, or NULL. */
const char *xva_ovaxml_map_get(const struct xva_ova_map *map, const char *key);

#endif
