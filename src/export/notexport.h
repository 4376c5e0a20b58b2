/* What a file that is not an export is instead (notexport.c). */
#ifndef XVAFS_EXPORT_NOTEXPORT_H
#define XVAFS_EXPORT_NOTEXPORT_H

#include "xvafs/error.h"

struct xva_source;

/* After the tar walk found no tar header at byte 0 of SRC, or no member
 * at all (ERR holds that failure, which keeps its status and reason):
 * when the file is a disk image of a known kind (qcow2, VHD, VHDX, VMDK,
 * VDI, ISO 9660, a raw disk with an MBR or GPT), ERR's message is
 * replaced by what it is and what reads it instead. A raw disk's reason
 * becomes XVA_R_RAW_DISK, for the front ends to list its partitions. */
void xva_explain_not_export(struct xva_source *src, struct xva_err *err);

#endif
