/* The names of an export's members: what each tar member is, from its
 * name alone (format notes section 1 and 2).
 *
 * Names come from an untrusted file and become file names in the mount,
 * so anything that could mean another place is refused here. */
#ifndef XVAFS_MEMBERS_H
#define XVAFS_MEMBERS_H

#include <stdbool.h>
#include <stdint.h>

#include "xvafs/checksum.h"
#include "xvafs/error.h"
#include "xvafs/names.h"

enum xva_member_kind {
	XVA_MEMBER_OVA_XML,  /* the metadata */
	XVA_MEMBER_CHUNK,    /* PREFIX/NUMBER: disk data */
	XVA_MEMBER_CHECKSUM, /* PREFIX/NUMBER.xxhash or .checksum */
	XVA_MEMBER_STRAY,    /* PREFIX/NUMBER.OTHER: verifies nothing */
	XVA_MEMBER_IGNORED,  /* a folder: holds nothing */
};

struct xva_member_name {
	enum xva_member_kind kind;
	char prefix[256];    /* the disk's, for chunks and checksums */
	uint64_t number;
	int width;           /* digits in the number as written */
	enum xva_checksum_kind checksum; /* for XVA_MEMBER_CHECKSUM */
};

/* Classifies member NAME (header at HEADER_OFF, for messages); IS_DIR for
 * folder members. Refuses unsafe names (XVA_EFORMAT, XVA_R_MEMBER_NAME),
 * names no export has, and the members of an OVF package
 * (XVA_EUNSUPPORTED), which people mistake for an export. */
enum xva_status xva_member_classify(const char *name, bool is_dir,
				    uint64_t header_off,
				    struct xva_member_name *out,
				    struct xva_err *err);

/* Whether a disk prefix would clash with a name the mount uses itself. */
bool xva_name_is_reserved(const char *prefix);

#endif
