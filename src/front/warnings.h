/* The warnings said about an opened export before it is served (a cut,
 * chunks without checksums, checksums that verify nothing, a damaged
 * compressed stream): produced once here, said by each front end in its
 * own way. FUSE-free: the plugin links it too. */
#ifndef XVAFS_WARNINGS_H
#define XVAFS_WARNINGS_H

#include "front/guestview.h"
#include "xvafs/xva.h"

/* Receives one warning, without the export's name or a newline. */
typedef void xvafs_warning_sink(void *ctx, const char *message);

/* Each warning about XVA, in order, to SINK. VERIFY_OPTION is how the
 * front end spells the option that checks every chunk ("-o verify"). */
void xvafs_export_warnings(const struct xva *xva, const char *verify_option,
			   xvafs_warning_sink *sink, void *ctx);

/* Each note of the guest view GV of XVA (NULL: none), in order, to SINK:
 * what was odd in a partition table or in LVM metadata, a disk whose
 * contents could not be read, a name that is not served because it is
 * taken. */
void xvafs_guest_warnings(const struct xva *xva, const struct xvafs_guest *gv,
			  xvafs_warning_sink *sink, void *ctx);

#endif
