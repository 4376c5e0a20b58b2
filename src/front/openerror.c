/* The message of a failed open (openerror.h): a raw disk image's
 * partitions appended to what the core said. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "front/openerror.h"
#include "front/options.h"
#include "front/guestview.h"
#include "xvafs/fsprobe.h"
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

/* A filesystem image given instead of an export (no partition table: a
 * partition or an LV saved alone), named by the probe --list uses, with
 * what mounts it, in place of the tar reader's words. */
static void name_filesystem(const char *location, char *buf, size_t size)
{
	struct xva_view *image = NULL;
	struct xva_fsinfo fs;
	struct xva_err ignored;
	char what[400];

	if (xva_view_file(location, location, &image, &ignored) == XVA_OK &&
	    xva_fs_probe(image, &fs, &ignored) == XVA_OK && fs.type[0]) {
		xvafs_fs_describe(&fs, what, sizeof(what));
		if (!strcmp(fs.type, "swap"))
			snprintf(buf, size, "not an export but a swap area (%s)",
				 what);
		else if (!strcmp(fs.type, "crypto_LUKS"))
			snprintf(buf, size, "not an export but a LUKS volume "
				 "(%s): open it with cryptsetup open --readonly",
				 what);
		else if (!strcmp(fs.type, "LVM2_member"))
			snprintf(buf, size, "not an export but an LVM physical "
				 "volume (%s): read it with the lvm tools", what);
		else
			snprintf(buf, size, "not an export but a filesystem "
				 "image (%s): mount it with mount -o loop,ro, or "
				 "as a user with fuse2fs -o ro, grub-mount or "
				 "ntfs-3g -o ro", what);
	}
	xva_view_close(image);
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
	if (xva_location_is_url(location))
		return;
	if (err->reason == XVA_R_NO_EXPORT || err->reason == XVA_R_NOT_TAR) {
		name_filesystem(location, buf, size);
		return;
	}
	if (err->reason != XVA_R_RAW_DISK)
		return;
	if (xva_view_file(location, location, &disk, &ignored) == XVA_OK &&
	    xva_partitions_read(disk, &t, &ignored) == XVA_OK &&
	    t->kind != XVA_PT_NONE)
		append_table(buf, size, &at, t);
	xva_ptable_free(t);
	xva_view_close(disk);
}

/* Whether MSG starts with LOCATION as a word of its own (followed by
 * its end, a colon or a space). Only the start counts: "xvafs: FILE:" is
 * the form scripts and people look for, so a message that names its file
 * later keeps it in front too. */
static bool names(const char *msg, const char *location)
{
	size_t len = strlen(location);
	char after;

	if (!len || strncmp(msg, location, len) != 0)
		return false;
	after = msg[len];
	return after == '\0' || after == ':' || after == ' ';
}

void xvafs_say_about(FILE *out, const char *location, const char *msg)
{
	if (names(msg, location))
		fprintf(out, "xvafs: %s\n", msg);
	else
		fprintf(out, "xvafs: %s: %s\n", location, msg);
}
