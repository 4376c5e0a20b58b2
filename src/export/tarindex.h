/* The tar index pass: one walk over the headers of the export's tar, in
 * stream order, reporting where each member's data lies in it.
 *
 * The walk reads through a source (source.h), so it never knows whether
 * the tar is a local file, a compressed stream or a remote object. It
 * accepts V7 (what XAPI writes), ustar, GNU and pax headers; libarchive
 * verifies each header's checksum, and every data offset is checked
 * against the offset the walk itself implies. Where the source can skip
 * for free, member data is never read: the walk costs one small read per
 * pair of headers, and it tells the source which reads are coming (the
 * positions of its reads repeat with XAPI's member stride), so a remote
 * source can fetch many headers at once. */
#ifndef XVAFS_TARINDEX_H
#define XVAFS_TARINDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "xvafs/error.h"
#include "source/source.h"

struct xva_tar_member {
	const char *name;    /* as stored (long names already joined) */
	uint64_t header_off; /* first header block of the member */
	uint64_t data_off;   /* first data byte, right after the headers */
	uint64_t size;       /* data bytes, contiguous from data_off */
	uint64_t available;  /* of those, the bytes the export holds: less
				than size only for the last member of an
				export cut short, reported before the walk
				returns XVA_ETRUNCATED */
	bool is_dir;
};

/* Called once per member in stream order; any status but XVA_OK stops the
 * walk, which returns it (the callback fills ERR). */
typedef enum xva_status (*xva_tar_member_fn)(void *ctx,
					     const struct xva_tar_member *m,
					     struct xva_err *err);

/* Walks the tar SRC holds. Returns XVA_OK after the end-of-archive marker,
 * XVA_ETRUNCATED when the export ends first (every member before the cut
 * has been reported, the cut one too, with its available bytes, when the
 * cut is in its data; ERR says where), XVA_EFORMAT with reason
 * XVA_R_EMPTY, XVA_R_NOT_TAR, XVA_R_HEADER or XVA_R_MEMBER_KIND, a read
 * error of the source, or what the callback returned. */
enum xva_status xva_tar_walk(struct xva_source *src, xva_tar_member_fn fn,
			     void *ctx, struct xva_err *err);

#endif
