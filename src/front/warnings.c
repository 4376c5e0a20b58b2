/* Start-up warnings about an export, for every front end. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "front/warnings.h"
#include "xvafs/verify.h"

static void say(xvafs_warning_sink *sink, void *ctx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(xvafs_warning_sink *sink, void *ctx, const char *fmt, ...)
{
	char message[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	sink(ctx, message);
}

void xvafs_export_warnings(const struct xva *xva, const char *verify_option,
			   xvafs_warning_sink *sink, void *ctx)
{
	if (xva_stream_warning(xva)[0])
		say(sink, ctx, "%s", xva_stream_warning(xva));
	if (xva_crypt_state(xva, NULL, 0) == XVA_CRYPT_AUTH_SKIPPED)
		say(sink, ctx, "not authenticated: the %s tag of this "
		    "encrypted backup has not been checked, so its data may "
		    "have been altered (asked for with unauthenticated; "
		    "xvafs --verify checks it)",
		    xva_crypt_alg_name(xva->crypt_alg));
	if (xva_stream_damaged(xva)) {
		if (xva_verify_enabled(xva))
			say(sink, ctx, "every chunk is checked against its own "
			    "checksum before it is served, as with %s",
			    verify_option);
		else
			say(sink, ctx, "no chunk has a checksum to check it "
			    "against: some bytes served may be wrong");
	}
	if (xva->idx.truncated) {
		say(sink, ctx, "%s", xva->idx.truncation);
		for (size_t i = 0; i < xva->map.n_disks; i++) {
			const struct xva_disk *d = &xva->map.disks[i];

			if (d->intact_end < d->size)
				say(sink, ctx, "disk %s is intact up to byte %llu "
				    "of %llu; reads past it fail", d->prefix,
				    (unsigned long long)d->intact_end,
				    (unsigned long long)d->size);
		}
	}
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		const struct xva_disk *d = &xva->map.disks[i];
		uint64_t missing = d->members - d->n_checksums;

		/* The chunk a cut falls in lost its checksum to the cut. */
		if (d->intact_end < d->size && !d->last_has_checksum && missing)
			missing--;
		if (d->n_checksums > 0 && missing > 0)
			say(sink, ctx, "disk %s: %llu of %llu chunks have no "
			    "checksum member", d->prefix,
			    (unsigned long long)missing,
			    (unsigned long long)d->members);
		if (d->stray_checksums)
			say(sink, ctx, "disk %s: %llu checksum member%s out of "
			    "place, misnamed or of the other kind (the first at "
			    "byte %llu); the chunks they were meant for cannot "
			    "be verified", d->prefix,
			    (unsigned long long)d->stray_checksums,
			    d->stray_checksums == 1 ? " is" : "s are",
			    (unsigned long long)d->first_stray_off);
	}
}

void xvafs_guest_warnings(const struct xva *xva, const struct xvafs_guest *gv,
			  xvafs_warning_sink *sink, void *ctx)
{
	if (!gv)
		return;
	for (size_t k = 0; gv->g && k < gv->g->n_disks; k++) {
		const struct xva_ptable *t = gv->g->tables[k];

		for (size_t i = 0; i < t->n_notes; i++)
			say(sink, ctx, "disk %s: %s",
			    xva->map.disks[gv->disk_index[k]].prefix,
			    t->notes[i]);
	}
	for (size_t i = 0; gv->g && i < gv->g->lvm->n_notes; i++)
		say(sink, ctx, "LVM: %s", gv->g->lvm->notes[i]);
	for (size_t i = 0; i < gv->n_notes; i++)
		say(sink, ctx, "%s", gv->notes[i]);
}
