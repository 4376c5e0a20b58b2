/* Listing the objects under an S3 prefix (ListObjectsV2, page by page),
 * signed as the S3 source signs its reads: what a repository's catalogue
 * needs to find the backups in a bucket. */
#ifndef XVAFS_S3LIST_H
#define XVAFS_S3LIST_H

#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"
#include "xvafs/source.h"

struct xva_object {
	char *name;     /* the key less the prefix listed */
	uint64_t size;
};

struct xva_object_list {
	struct xva_object *items;
	size_t n, cap;
};

/* Most keys listed under one prefix: past this a listing is refused
 * rather than eating the memory (a repository of a million backups). */
#define XVA_S3_LIST_MAX 2000000u

/* Every object whose key starts with PREFIX, LOCATION being
 * s3://BUCKET/PREFIX (PREFIX ends with '/' for a folder), into OUT (which
 * the caller frees with xva_object_list_free, also on failure). Errors:
 * as the S3 source's (XVA_EACCESS for refused credentials, XVA_EOPEN for
 * no such bucket, XVA_ENET, XVA_EINVAL for a wrong region), XVA_EFORMAT
 * for a reply that is not a listing. */
enum xva_status xva_s3_list(const char *location,
			    const struct xva_source_options *o,
			    struct xva_object_list *out, struct xva_err *err);
void xva_object_list_free(struct xva_object_list *list);

#endif
