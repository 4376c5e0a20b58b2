#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source/source.h"
#include "xvafs/verify.h"

enum chunk_state { CHUNK_UNKNOWN = 0, CHUNK_GOOD, CHUNK_BAD };

/* Per disk, per extent, an enum chunk_state (atomic). */
struct xva_verify_state {
	size_t n_disks;
	unsigned char *chunk[];
};

static void member_range(const struct xva_disk *disk,
			 const struct xva_extent *e, char *buf, size_t len)
{
	char name[300];

	xva_disk_member_name(disk, e->number, name, sizeof(name));
	snprintf(buf, len, "disk %s, member %s (disk bytes %llu-%llu)",
		 disk->prefix, name, (unsigned long long)e->disk_off,
		 (unsigned long long)(e->disk_off + e->len - 1));
}

/* Checksum text from the file, made printable for messages. */
static void printable(const char *text, size_t len, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; i < len && i + 1 < outlen; i++)
		out[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
	out[i] = '\0';
}

/* Compares the text at CSUM_OFF with the one computed. */
static enum xva_status compare_text(const struct xva *xva,
				    enum xva_checksum_kind kind,
				    uint64_t csum_off, const char *computed,
				    const char *what, struct xva_err *err)
{
	size_t len = xva_checksum_text_len(kind);
	char stored[XVA_CHECKSUM_TEXT_MAX], shown[XVA_CHECKSUM_TEXT_MAX];
	struct xva_err why;
	enum xva_status st;

	st = xva_source_read_full(xva->src, stored, len, csum_off,
				  "its checksum", &why);
	if (st != XVA_OK)
		return xva_fail(err, st, "%s: cannot read its checksum at byte "
				"%llu: %.300s", what, (unsigned long long)csum_off,
				why.msg);
	/* XAPI compares the texts as exact strings; so does xvafs. */
	if (memcmp(stored, computed, len) != 0) {
		printable(stored, len, shown, sizeof(shown));
		return xva_fail(err, XVA_ECORRUPT, "%s: checksum mismatch: the "
				"data hashes to %s, its .%s member says %s", what,
				computed, xva_checksum_name(kind), shown);
	}
	return XVA_OK;
}

static enum xva_status no_checksum(const struct xva_disk *disk,
				   uint64_t number, const char *what,
				   struct xva_err *err)
{
	const struct xva_bad_checksum *bad = xva_disk_bad_checksum(disk, number);

	if (bad)
		return xva_fail(err, XVA_EUNVERIFIABLE, "%s: its .%s member "
				"holds %llu bytes, not the %zu of a checksum text",
				what, xva_checksum_name(disk->checksum_kind),
				(unsigned long long)bad->len,
				xva_checksum_text_len(disk->checksum_kind));
	return xva_fail(err, XVA_EUNVERIFIABLE, "%s: no checksum member "
			"follows it", what);
}

enum xva_status xva_verify_extent(const struct xva *xva,
				  const struct xva_disk *disk, size_t idx,
				  void *buf, size_t buflen, struct xva_err *err)
{
	const struct xva_extent *e = &disk->extents[idx];
	char what[400], computed[XVA_CHECKSUM_TEXT_MAX];
	struct xva_hasher hasher = { XVA_CHECKSUM_NONE, NULL };
	enum xva_status st;

	member_range(disk, e, what, sizeof(what));
	if (e->disk_off + e->len > disk->intact_end)
		return xva_fail(err, XVA_ECUT, "%s: the export is cut short "
				"inside it", what);
	if (disk->checksum_kind == XVA_CHECKSUM_NONE || e->csum_delta == 0 ||
	    xva_disk_bad_checksum(disk, e->number))
		return no_checksum(disk, e->number, what, err);
	st = xva_hasher_init(&hasher, disk->checksum_kind);
	for (uint64_t done = 0; st == XVA_OK && done < e->len; ) {
		size_t n = e->len - done < buflen ? (size_t)(e->len - done) : buflen;

		struct xva_err why;

		st = xva_source_read_full(xva->src, buf, n, e->file_off + done,
					  "the chunk", &why);
		if (st != XVA_OK) {
			xva_fail(err, st, "%s: %.300s", what, why.msg);
			goto out;
		}
		st = xva_hasher_update(&hasher, buf, n);
		done += n;
	}
	if (st == XVA_OK)
		st = xva_hasher_final(&hasher, computed);
	if (st != XVA_OK) {
		xva_fail(err, st, "%s: hashing failed", what);
		goto out;
	}
	st = compare_text(xva, disk->checksum_kind,
			  e->file_off + e->csum_delta, computed, what, err);
out:
	xva_hasher_free(&hasher);
	return st;
}

enum xva_status xva_verify_keepalive(const struct xva *xva,
				     const struct xva_disk *disk, size_t idx,
				     struct xva_err *err)
{
	const struct xva_keepalive *ka = &disk->keepalive_list[idx];
	char what[400], name[300], computed[XVA_CHECKSUM_TEXT_MAX];
	struct xva_hasher hasher = { XVA_CHECKSUM_NONE, NULL };
	enum xva_status st;

	xva_disk_member_name(disk, ka->number, name, sizeof(name));
	snprintf(what, sizeof(what), "disk %s, keep-alive member %s (at disk "
		 "byte %llu)", disk->prefix, name,
		 (unsigned long long)ka->disk_off);
	if (disk->checksum_kind == XVA_CHECKSUM_NONE || ka->csum_off == 0)
		return xva_fail(err, XVA_EUNVERIFIABLE, "%s: no checksum member "
				"follows it", what);
	if (ka->csum_len != xva_checksum_text_len(disk->checksum_kind))
		return xva_fail(err, XVA_EUNVERIFIABLE, "%s: its .%s member "
				"holds %llu bytes, not the %zu of a checksum text",
				what, xva_checksum_name(disk->checksum_kind),
				(unsigned long long)ka->csum_len,
				xva_checksum_text_len(disk->checksum_kind));
	st = xva_hasher_init(&hasher, disk->checksum_kind);
	if (st == XVA_OK)
		st = xva_hasher_final(&hasher, computed);
	xva_hasher_free(&hasher);
	if (st != XVA_OK)
		return xva_fail(err, st, "%s: hashing failed", what);
	return compare_text(xva, disk->checksum_kind, ka->csum_off, computed,
			    what, err);
}

enum xva_status xva_enable_verify(struct xva *xva, struct xva_err *err)
{
	struct xva_verify_state *vs;
	bool any = false;

	for (size_t i = 0; i < xva->map.n_disks; i++)
		any = any || xva->map.disks[i].checksum_kind != XVA_CHECKSUM_NONE;
	if (!any)
		return xva_fail(err, XVA_EUNVERIFIABLE, "the export has no "
				"checksum members to verify chunks against");
	xva_verify_free(xva);
	vs = calloc(1, sizeof(*vs) + xva->map.n_disks * sizeof(vs->chunk[0]));
	if (!vs)
		return xva_nomem(err);
	vs->n_disks = xva->map.n_disks;
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		vs->chunk[i] = calloc(xva->map.disks[i].n_extents + 1, 1);
		if (!vs->chunk[i]) {
			xva->verify_state = vs;
			xva_verify_free(xva);
			return xva_nomem(err);
		}
	}
	xva->verify_state = vs;
	return XVA_OK;
}

bool xva_verify_enabled(const struct xva *xva)
{
	return xva->verify_state != NULL;
}

void xva_verify_free(struct xva *xva)
{
	struct xva_verify_state *vs = xva->verify_state;

	if (!vs)
		return;
	for (size_t i = 0; i < vs->n_disks; i++)
		free(vs->chunk[i]);
	free(vs);
	xva->verify_state = NULL;
}

enum xva_status xva_check_chunk(const struct xva *xva,
				const struct xva_disk *disk, size_t idx,
				struct xva_err *err)
{
	unsigned char *state =
		&xva->verify_state->chunk[xva_disk_index(xva, disk)][idx];
	unsigned char expected = CHUNK_UNKNOWN;
	size_t buflen = disk->extents[idx].len < (1u << 20)
				? disk->extents[idx].len : (1u << 20);
	enum xva_status st;
	void *buf;

	switch (__atomic_load_n(state, __ATOMIC_ACQUIRE)) {
	case CHUNK_GOOD:
		return XVA_OK;
	case CHUNK_BAD:
		/* Reported when it was found. */
		err->msg[0] = '\0';
		return XVA_ECORRUPT;
	}
	buf = malloc(buflen);
	if (!buf)
		return xva_nomem(err);
	st = xva_verify_extent(xva, disk, idx, buf, buflen, err);
	free(buf);
	if (st == XVA_OK) {
		__atomic_store_n(state, CHUNK_GOOD, __ATOMIC_RELEASE);
		return XVA_OK;
	}
	if (st != XVA_ECORRUPT && st != XVA_EUNVERIFIABLE)
		return st; /* unreadable now: maybe not next time */
	if (!__atomic_compare_exchange_n(state, &expected, CHUNK_BAD, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		err->msg[0] = '\0';
	return st;
}

void xva_verify_rearm(const struct xva *xva)
{
	struct xva_verify_state *vs = xva->verify_state;

	for (size_t i = 0; vs && i < vs->n_disks; i++)
		for (size_t k = 0; k <= xva->map.disks[i].n_extents; k++) {
			unsigned char bad = CHUNK_BAD;

			__atomic_compare_exchange_n(&vs->chunk[i][k], &bad,
						    CHUNK_UNKNOWN, false,
						    __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
		}
}
