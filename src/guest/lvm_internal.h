/* What lvm.c (labels, metadata areas) hands lvm_vg.c (VGs and LV maps). */
#ifndef XVAFS_GUEST_LVM_INTERNAL_H
#define XVAFS_GUEST_LVM_INTERNAL_H

#include "guest/lvm_text.h"
#include "xvafs/lvm.h"

/* One metadata copy found: on device DEV, its VG section, id (32
 * characters) and seqno. */
struct copy {
	size_t dev;
	struct lvm_tree *tree;
	const struct lvm_node *vg;
	char id[33];
	uint64_t seqno;
};

struct scan {
	struct xva_lvm *l;
	struct xva_view *const *devs;
	const char *const *names;
	size_t n;
	struct copy *copies;
	size_t n_copies;
	struct xva_err *err;
};

/* Adds a line to L's notes; XVA_ENOMEM (without touching an error) when
 * it cannot. */
enum xva_status lvm_note(struct xva_lvm *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The device of the PV with UUID (dashed), the first given: -1 none. */
long lvm_device_of(const struct xva_lvm *l, const char *uuid);

/* The 32 characters of a UUID written with or without dashes. */
bool lvm_uuid_raw(char raw[33], const char *text);
void lvm_uuid_dashed(char out[39], const char *raw);

/* Builds S->l's VGs from the copies found. */
enum xva_status lvm_assemble(struct scan *s);

#endif
