/* What a front end says when an export does not open: the core's
 * message, and for a raw disk image given instead of an export
 * (XVA_R_RAW_DISK) the partitions in it, as the guest view's own parser
 * reads them, with the byte offsets mount -o loop,ro,offset= takes; for
 * a file that is neither a tar nor a known disk image, what it holds when
 * the filesystem probe knows it (a partition or LV saved alone). The
 * export layer that recognises the image cannot read partition tables
 * (the guest layer sits above it), so the list is made here, once, for
 * the command line and the nbdkit plugin. FUSE-free. */
#ifndef XVAFS_OPENERROR_H
#define XVAFS_OPENERROR_H

#include <stddef.h>
#include <stdio.h>

#include "xvafs/error.h"

/* Room for the core's message and the longest list. */
#define XVAFS_OPEN_ERROR_MAX (XVA_ERR_MAX + 2560)
/* The partitions listed; the rest are counted. */
#define XVAFS_RAW_PARTS_LISTED 16

/* The message for ERR, the failure to open LOCATION as an export, into
 * BUF (one line, without LOCATION in front). A raw disk image that is a
 * local file is opened read-only and only its partition tables are read
 * (a few KiB); when that fails, or LOCATION is a URL, the message is the
 * core's. */
void xvafs_open_error(const char *location, const struct xva_err *err,
		      char *buf, size_t size);

/* Writes "xvafs: LOCATION: MSG" to OUT, or "xvafs: MSG" when MSG starts
 * with LOCATION already (the core names the file its message is about),
 * so that no path is said twice at the front. */
void xvafs_say_about(FILE *out, const char *location, const char *msg);

#endif
