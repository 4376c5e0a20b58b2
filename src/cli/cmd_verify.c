/* xvafs --verify: every chunk of every disk against its checksum member,
 * reading the export once, in file order. */
#include <stdlib.h>
#include <string.h>

#include "cli/tools.h"
#include "xvafs/read.h"
#include "xvafs/verify.h"

#define READ_SIZE (1u << 20)

struct tally {
	uint64_t good, mismatch, no_checksum, unreadable, bytes;
	uint64_t keepalives_good, keepalives_bad;
};

static void count(struct tally *t, enum xva_status st, bool keepalive,
		  FILE *out, const char *path, const struct xva_err *err)
{
	if (st == XVA_OK) {
		if (keepalive)
			t->keepalives_good++;
		else
			t->good++;
		return;
	}
	if (keepalive)
		t->keepalives_bad++;
	else if (st == XVA_ECORRUPT)
		t->mismatch++;
	else if (st == XVA_EUNVERIFIABLE)
		t->no_checksum++;
	else
		t->unreadable++;
	fprintf(out, "xvafs: %s: %s\n", path, err->msg);
}

/* The disk's chunks and keep-alives, merged in number order, which is the
 * order they lie in the export. */
static void verify_disk(FILE *out, const char *path, const struct xva *xva,
			const struct xva_disk *d, void *buf, struct tally *t,
			struct xvafs_progress *p)
{
	size_t e = 0, k = 0;
	enum xva_status st;
	struct xva_err err;
	struct xva_stream stream;

	if (d->checksum_kind == XVA_CHECKSUM_NONE) {
		if (d->n_extents > 0) {
			fprintf(out, "xvafs: %s: disk %s has no checksum members; "
				"its %zu chunks cannot be verified\n", path,
				d->prefix, d->n_extents);
			t->no_checksum += d->n_extents;
		}
		xvafs_progress_update(p, p->done + d->bytes_present);
		return;
	}
	/* Read-ahead for a slow or remote export (a local file's own is the
	 * kernel's, see xva_advise_sequential, unless it falls behind). */
	xva_stream_init(&stream, XVA_READAHEAD_DEFAULT);
	while ((e < d->n_extents || k < d->keepalives) && !xvafs_interrupted) {
		if (k < d->keepalives &&
		    (e == d->n_extents ||
		     d->keepalive_list[k].number < d->extents[e].number)) {
			st = xva_verify_keepalive(xva, d, k, &err);
			count(t, st, true, out, path, &err);
			k++;
			continue;
		}
		xva_stream_note_read(&stream, xva, d, d->extents[e].disk_off,
				     (size_t)d->extents[e].len);
		st = xva_verify_extent(xva, d, e, buf, READ_SIZE, &err);
		count(t, st, false, out, path, &err);
		if (st == XVA_OK)
			t->bytes += d->extents[e].len;
		xvafs_progress_update(p, p->done + d->extents[e].len);
		e++;
	}
	xva_stream_destroy(&stream);
}

/* An encrypted export's tag, over the whole file: checked by the pass
 * the open made (--verify makes one), else now. False when it does not
 * match (every read fails then). */
static bool verify_tag(FILE *out, const char *path, struct xva *xva)
{
	char note[XVA_ERR_MAX];
	enum xva_crypt_auth auth = xva_crypt_state(xva, note, sizeof(note));
	const char *alg = xva_crypt_alg_name(xva->crypt_alg);
	struct xva_err err;

	if (auth == XVA_CRYPT_AUTH_NOT_ENCRYPTED)
		return true;
	if (auth != XVA_CRYPT_AUTH_CHECKED &&
	    xva_authenticate(xva, &err) != XVA_OK) {
		if (err.status == XVA_EINTR)
			return true; /* said by the caller */
		fprintf(out, "xvafs: %s: encryption: %s: the file is not what "
			"Xen Orchestra wrote\n", path, err.msg);
		return false;
	}
	fprintf(out, "xvafs: %s: encryption: the %s tag matches: the file is "
		"as Xen Orchestra wrote it\n", path, alg);
	return true;
}

int xvafs_verify(FILE *out, const char *path, struct xva *xva)
{
	struct xvafs_progress p;
	struct tally t = { 0 };
	uint64_t total = 0, damaged;
	char bytes[32];
	bool tag_ok;
	void *buf;

	buf = malloc(READ_SIZE);
	if (!buf) {
		fprintf(stderr, "xvafs: out of memory\n");
		return XVAFS_EXIT_DAMAGED;
	}
	tag_ok = verify_tag(out, path, xva);
	for (size_t i = 0; i < xva->map.n_disks; i++)
		total += xva->map.disks[i].bytes_present;
	/* One pass in file order: tell the kernel to read ahead hard. */
	xva_advise_sequential(xva);
	xvafs_progress_start(&p, "verifying", total);
	/* A file that fails its tag fails every read: nothing to add. */
	for (size_t i = 0; i < xva->map.n_disks && !xvafs_interrupted && tag_ok;
	     i++)
		verify_disk(out, path, xva, &xva->map.disks[i], buf, &t, &p);
	xvafs_progress_end(&p);
	free(buf);
	if (xvafs_interrupted) {
		fprintf(stderr, "xvafs: %s: --verify interrupted\n", path);
		return xvafs_exit_for(XVA_EINTR, XVAFS_AT_EXPORT);
	}

	xvafs_warn(out, path, xva);
	damaged = t.mismatch + t.unreadable + t.keepalives_bad;
	xvafs_human(t.bytes, false, bytes, sizeof(bytes));
	fprintf(out, "xvafs: %s: %llu chunk%s verified good (%s of data) in "
		"%zu disk%s", path, (unsigned long long)t.good,
		t.good == 1 ? "" : "s", bytes, xva->map.n_disks,
		xva->map.n_disks == 1 ? "" : "s");
	if (t.keepalives_good + t.keepalives_bad)
		fprintf(out, ", and %llu keep-alive member%s",
			(unsigned long long)(t.keepalives_good + t.keepalives_bad),
			t.keepalives_good + t.keepalives_bad == 1 ? "" : "s");
	if (damaged || xva->idx.truncated || xva_stream_damaged(xva) ||
	    !tag_ok) {
		fprintf(out, "; %llu bad, %llu unreadable, %llu without a usable "
			"checksum%s%s%s: the export is damaged\n",
			(unsigned long long)(t.mismatch + t.keepalives_bad),
			(unsigned long long)t.unreadable,
			(unsigned long long)t.no_checksum,
			xva->idx.truncated ? ", and it is cut short" : "",
			xva_stream_damaged(xva)
				? ", and its compressed stream fails its own "
				  "checksum" : "",
			tag_ok ? "" : ", and it fails its encryption tag");
		return XVAFS_EXIT_DAMAGED;
	}
	if (t.no_checksum) {
		fprintf(out, "; %llu chunk%s without a usable checksum: nothing "
			"found damaged, but the export cannot be fully "
			"verified\n", (unsigned long long)t.no_checksum,
			t.no_checksum == 1 ? "" : "s");
		return XVAFS_EXIT_UNVERIFIABLE;
	}
	fprintf(out, ": the export is intact\n");
	return XVAFS_EXIT_OK;
}
