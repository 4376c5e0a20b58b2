/* ova.xml: the export's metadata, one XML-RPC value (format notes section 4).
 *
 * Parsed with libxml2 with no network, no entity substitution, and documents
 * with a DTD refused outright, so no entity can expand. Only the objects
 * xvafs uses are kept: VMs, VBDs, VDIs and SRs. Missing text fields are
 * NULL. Failures are XVA_EFORMAT with an XVA_R_OVA_* reason. */
#ifndef XVAFS_OVAXML_H
#define XVAFS_OVAXML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"

struct xva_ova_version {
	char *hostname, *date, *product_brand, *product_version, *export_vsn;
};

struct xva_ova_vm {
	char *id, *name_label;
	bool is_a_snapshot;
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
};

/* Parses LEN bytes of ova.xml into *OUT (freed with xva_ovaxml_free). */
enum xva_status xva_ovaxml_parse(const char *buf, size_t len,
				     struct xva_ovaxml **out,
				     struct xva_err *err);
void xva_ovaxml_free(struct xva_ovaxml *ova);

const struct xva_ova_vdi *xva_ovaxml_find_vdi(const struct xva_ovaxml *ova,
					      const char *id);

#endif
