/* The notes the guest parsers keep: one line each of what was odd in a
 * table or a volume group (a clamped partition, a backup header used, a
 * PV found twice), shown by --list and the mount's warnings. */
#ifndef XVAFS_GUEST_NOTES_H
#define XVAFS_GUEST_NOTES_H

#include <stdarg.h>
#include <stddef.h>

#include "xvafs/error.h"

/* Appends a line (printf-style) to *NOTES (*N of them); XVA_OK, or
 * XVA_ENOMEM with the list as it was. */
enum xva_status guest_vnote(char ***notes, size_t *n, const char *fmt,
			    va_list ap) __attribute__((format(printf, 3, 0)));

#endif
