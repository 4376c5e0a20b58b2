/* The tar index pass: one walk over the headers of an uncompressed tar, in
 * stream order, reporting where each member's data lies in the file.
 *
 * Accepts V7 (what XAPI writes), ustar, GNU and pax headers; header
 * checksums are verified by libarchive. Member data is skipped with lseek, so
 * the walk costs one small read per pair of headers, never the data. */
#ifndef XVAFS_TARINDEX_H
#define XVAFS_TARINDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "xvafs/error.h"

enum xva_tar_status {
	XVA_TAR_OK = 0,
	XVA_TAR_EIO,         /* reading the file failed */
	XVA_TAR_EEMPTY,      /* the file is empty */
	XVA_TAR_ECOMPRESSED, /* the whole stream is compressed */
	XVA_TAR_ENOTTAR,     /* the first header is not a tar header */
	XVA_TAR_EHEADER,     /* a later header is damaged (checksum, fields) */
	XVA_TAR_ETRUNCATED,  /* the file ends before the archive does */
	XVA_TAR_EMEMBER,     /* a member kind that cannot hold disk data */
	XVA_TAR_ENOMEM,
	XVA_TAR_ECALLBACK,   /* the member callback refused a member */
};

struct xva_tar_member {
	const char *name;    /* as stored (long names already joined) */
	uint64_t header_off; /* first header block of the member */
	uint64_t data_off;   /* first data byte, right after the headers */
	uint64_t size;       /* data bytes, contiguous from data_off */
	uint64_t available;  /* of those, the bytes the file holds: less than
				size only for the last member of a file cut
				short, reported before XVA_TAR_ETRUNCATED */
	bool is_dir;
};

/* Called once per member in stream order. Return 0 to go on; non-zero stops
 * the walk with XVA_TAR_ECALLBACK (the callback fills err). */
typedef int (*xva_tar_member_fn)(void *ctx, const struct xva_tar_member *m,
				 struct xva_err *err);

/* Walks the tar on fd (opened O_RDONLY; its file offset is used and left
 * undefined). file_size is the file's size as fstat saw it. On a file cut
 * short, every member before the cut has been reported when
 * XVA_TAR_ETRUNCATED is returned, the cut one too (with its available
 * bytes) when the cut is in its data. */
enum xva_tar_status xva_tar_walk(int fd, uint64_t file_size,
				 xva_tar_member_fn fn, void *ctx,
				 struct xva_err *err);

const char *xva_tar_strerror(enum xva_tar_status status);

#endif
