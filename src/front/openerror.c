/* The message of a failed open (openerror.h): a raw disk image's
 * partitions appended to what the core said. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "front/openerror.h"
#include "front/options.h"
#include "xvafs/partition.h"
#include "xvafs/source.h"
#include "xvafs/view.h"

/* Appends to BUF (SIZE bytes, *AT used) as snprintf would, cutting at the
 * end. */
__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t size, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*at + 1 >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *at, size - *at, fmt, ap);
	va_end(ap);
	if (n > 0)
		*at += (size_t)n < size - *at ? (size_t)n : size - *at - 1;
}

/* "1: offset 1048576, 8.0 MiB, Linux": what mount -o offset= needs. */
static void append_part(char *buf, size_t size, size_t *at,
			const struct xva_partition *p)
{
	const char *name = xva_partition_type_name(p);
	char len[32];

	xvafs_human(p->length, false, len, sizeof(len));
	append(buf, size, at, "%u: offset %llu, %s, ", p->number,
	       (unsigned long long)p->start, len);
	if (name)
		append(buf, size, at, "%s", name);
	else if (p->type_guid[0])
		append(buf, size, at, "type %s", p->type_guid);
	else
		append(buf, size, at, "type %02x", (unsigned)p->mbr_type);
	if (p->flags & XVA_PART_CLAMPED)
		append(buf, size, at, " (cut at the image's end)");
}

/* The partitions of T that hold data (an extended partition is only
 * their container), the first XVAFS_RAW_PARTS_LISTED of them listed. */
static void append_table(char *buf, size_t size, size_t *at,
			 const struct xva_ptable *t)
{
	size_t listed = 0, more = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (t->parts[i].flags & XVA_PART_EXTENDED)
			continue;
		if (listed == XVAFS_RAW_PARTS_LISTED) {
			more++;
			continue;
		}
		append(buf, size, at, listed ? "; " : "; its partitions: ");
		append_part(buf, size, at, &t->parts[i]);
		listed++;
	}
	if (more)
		append(buf, size, at, "; and %zu more", more);
	if (!listed)
		append(buf, size, at, "; read as Linux reads it, it has no "
		       "partitions%s%s", t->n_notes ? ": " : "",
		       t->n_notes ? t->notes[0] : "");
}

void xvafs_open_error(const char *location, const struct xva_err *err,
		      char *buf, size_t size)
{
	struct xva_view *disk = NULL;
	struct xva_ptable *t = NULL;
	struct xva_err ignored;
	size_t at = 0;

	if (!size)
		return;
	buf[0] = '\0';
	append(buf, size, &at, "%s", err->msg);
	/* The advice (losetup, mount) is for a local file; a compressed
	 * one holds no table as stored, and keeps the core's message. */
	if (err->reason != XVA_R_RAW_DISK || xva_location_is_url(location))
		return;
	if (xva_view_file(location, location, &disk, &ignored) == XVA_OK &&
	    xva_partitions_read(disk, &t, &ignored) == XVA_OK &&
	    t->kind != XVA_PT_NONE)
		append_table(buf, size, &at, t);
	xva_ptable_free(t);
	xva_view_close(disk);
}
