/* LVM2 read in userspace (lvm.h): labels, metadata areas, the VGs they
 * describe across devices, and each LV's map onto the devices.
 *
 * On-disk layout (lvm2's lib/label/label.h, lib/format_text/layout.h;
 * all little-endian): the label (32 bytes) in one of sectors 0-3, then
 * the PV header at its offset_xl: the UUID (32 characters), the device
 * size, a zero-terminated list of data areas and one of metadata areas
 * (offset, size). A metadata area starts with a 512-byte header (CRC,
 * magic, version, its own start, its size, raw locations), then a ring
 * of text copies. Extents and pe_start in the text count 512-byte
 * sectors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "guest/lvm_internal.h"
#include "guest/notes.h"
#include "guest/lvm_text.h"
#include "xvafs/lvm.h"

#define SECTOR 512u
#define LABEL_SECTORS 4u
#define MDA_HEADER 512u
#define MDA_MAGIC " LVM2 x[5A%r0N*>"
#define RAW_LOCN_IGNORED 1u
#define MAX_NESTING 8 /* LV -> mirror/raid leg -> ... */

uint32_t xva_lvm_crc(uint32_t initial, const void *buf, size_t len)
{
	/* zlib's CRC-32 pre- and post-inverts; lvm2's does neither. */
	uint32_t crc = initial ^ 0xffffffffu;

	while (len > 0) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

		crc = (uint32_t)crc32(crc, buf, n);
		buf = (const char *)buf + n;
		len -= n;
	}
	return crc ^ 0xffffffffu;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* 32 UUID characters as lvm2 prints them: 6-4-4-4-4-4-6. */
void lvm_uuid_dashed(char out[39], const char *raw)
{
	static const int groups[] = { 6, 4, 4, 4, 4, 4, 6 };
	size_t o = 0, r = 0;

	for (int g = 0; g < 7; g++) {
		if (g)
			out[o++] = '-';
		for (int k = 0; k < groups[g]; k++)
			out[o++] = raw[r++];
	}
	out[o] = '\0';
}

/* TEXT without dashes into RAW (32 characters); false when it is not a
 * UUID's length or has characters lvm2 never writes. */
bool lvm_uuid_raw(char raw[33], const char *text)
{
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		if (*p == '-')
			continue;
		if (n == 32 || *p <= ' ' || *p > '~')
			return false;
		raw[n++] = *p;
	}
	raw[n] = '\0';
	return n == 32;
}

/* --- the label --- */

/* The data and metadata area lists of the PV header at H (AVAIL bytes
 * left in the sector). */
static bool pv_areas(const unsigned char *h, size_t avail,
		     struct xva_lvm_label *out)
{
	size_t at = 40; /* uuid, device size */
	int list = 0;
	unsigned n_data = 0;

	while (list < 2) {
		uint64_t off, size;

		if (at + 16 > avail)
			return false; /* a list not ended inside the sector */
		off = le64(h + at);
		size = le64(h + at + 8);
		at += 16;
		if (off == 0 && size == 0) {
			list++;
			continue;
		}
		if (list == 0) {
			if (n_data++ == 0) {
				out->data_offset = off;
				out->data_size = size;
			}
		} else if (out->n_mdas < 2) {
			out->mda_offset[out->n_mdas] = off;
			out->mda_size[out->n_mdas++] = size;
		}
	}
	return n_data > 0;
}

/* Whether sector I (at S) holds a good label and PV header. */
static bool label_at(const unsigned char *s, unsigned i,
		     struct xva_lvm_label *out)
{
	uint32_t at = le32(s + 20);
	char raw[33];

	if (le64(s + 8) != i)
		return snprintf(out->why, sizeof(out->why), "the label in "
				"sector %u says it is in sector %llu", i,
				(unsigned long long)le64(s + 8)), false;
	if (xva_lvm_crc(XVA_LVM_CRC_INITIAL, s + 20, SECTOR - 20) !=
	    le32(s + 16))
		return snprintf(out->why, sizeof(out->why), "the label in "
				"sector %u fails its CRC", i), false;
	if (memcmp(s + 24, "LVM2 001", 8) != 0)
		return snprintf(out->why, sizeof(out->why), "the label in "
				"sector %u is of type \"%.8s\", not LVM2 001",
				i, (const char *)s + 24), false;
	if (at < 32 || at > SECTOR - 40)
		return snprintf(out->why, sizeof(out->why), "the label in "
				"sector %u puts its PV header at %u", i, at),
		       false;
	memcpy(raw, s + at, 32);
	raw[32] = '\0';
	for (int k = 0; k < 32; k++)
		if (raw[k] <= ' ' || raw[k] > '~')
			return snprintf(out->why, sizeof(out->why), "the PV "
					"UUID in sector %u is not text", i),
			       false;
	out->n_mdas = 0;
	if (!pv_areas(s + at, SECTOR - at, out))
		return snprintf(out->why, sizeof(out->why), "the PV header in "
				"sector %u has no data area, or lists that do "
				"not end inside the sector", i), false;
	lvm_uuid_dashed(out->pv_uuid, raw);
	out->device_size = le64(s + at + 32);
	out->sector = i;
	out->found = true;
	out->why[0] = '\0';
	return true;
}

enum xva_status xva_lvm_label_read(struct xva_view *dev,
				   struct xva_lvm_label *out,
				   struct xva_err *err)
{
	unsigned char buf[LABEL_SECTORS * SECTOR];
	uint64_t have = dev->size < sizeof(buf) ? dev->size : sizeof(buf);
	enum xva_status st;
	bool whole;

	memset(out, 0, sizeof(*out));
	have -= have % SECTOR;
	if (have == 0)
		return XVA_OK;
	st = xva_view_read_whole(dev, buf, (size_t)have, 0, &whole, err);
	if (st != XVA_OK || !whole)
		return st;
	/* The first good label wins, as lvm2 ignores any further one. */
	for (unsigned i = 0; i < have / SECTOR; i++)
		if (memcmp(buf + i * SECTOR, "LABELONE", 8) == 0 &&
		    label_at(buf + i * SECTOR, i, out))
			break;
	return XVA_OK;
}

/* --- notes --- */

enum xva_status lvm_note(struct xva_lvm *l, const char *fmt, ...)
{
	enum xva_status st;
	va_list ap;

	va_start(ap, fmt);
	st = guest_vnote(&l->notes, &l->n_notes, fmt, ap);
	va_end(ap);
	return st;
}

/* --- metadata areas --- */

/* The committed text of the metadata area at OFF of DEV, in *TEXT (*LEN
 * bytes, NUL-terminated, malloc'd), or NULL with WHY. */
static enum xva_status mda_text(struct xva_view *dev, uint64_t off,
				char **text, size_t *len, char *why, size_t n,
				struct xva_err *err)
{
	unsigned char h[MDA_HEADER];
	uint64_t size, loff, lsize, wrap = 0;
	enum xva_status st;
	bool whole, whole2 = true;
	char *buf;

	*text = NULL;
	st = xva_view_read_whole(dev, h, sizeof(h), off, &whole, err);
	if (st != XVA_OK || !whole)
		return snprintf(why, n, "its header lies past the end"), st;
	if (xva_lvm_crc(XVA_LVM_CRC_INITIAL, h + 4, MDA_HEADER - 4) != le32(h))
		return snprintf(why, n, "its header fails its CRC"), XVA_OK;
	if (memcmp(h + 4, MDA_MAGIC, 16) != 0 || le32(h + 20) != 1)
		return snprintf(why, n, "no metadata area header magic or "
				"version 1"), XVA_OK;
	size = le64(h + 32);
	if (le64(h + 24) != off || size < MDA_HEADER)
		return snprintf(why, n, "its header says start %llu, size "
				"%llu", (unsigned long long)le64(h + 24),
				(unsigned long long)size), XVA_OK;
	loff = le64(h + 40);
	lsize = le64(h + 48);
	if (le32(h + 60) & RAW_LOCN_IGNORED)
		return snprintf(why, n, "it is marked ignored"), XVA_OK;
	if (loff == 0 && lsize == 0)
		return snprintf(why, n, "it holds no metadata"), XVA_OK;
	if (loff < MDA_HEADER || loff >= size || lsize == 0 ||
	    lsize > size - MDA_HEADER || lsize > XVA_LVM_MAX_TEXT)
		return snprintf(why, n, "its text at %llu, %llu bytes, does "
				"not fit its %llu bytes",
				(unsigned long long)loff,
				(unsigned long long)lsize,
				(unsigned long long)size), XVA_OK;
	if (loff + lsize > size)
		wrap = loff + lsize - size; /* the ring goes on after the header */
	if (!(buf = malloc((size_t)lsize + 1)))
		return xva_nomem(err);
	st = xva_view_read_whole(dev, buf, (size_t)(lsize - wrap), off + loff,
				 &whole, err);
	if (st == XVA_OK && wrap)
		st = xva_view_read_whole(dev, buf + lsize - wrap, (size_t)wrap,
					 off + MDA_HEADER, &whole2, err);
	if (st != XVA_OK || !whole || !whole2) {
		free(buf);
		return snprintf(why, n, "its text lies past the end"), st;
	}
	if (xva_lvm_crc(XVA_LVM_CRC_INITIAL, buf, (size_t)lsize) !=
	    le32(h + 56)) {
		free(buf);
		return snprintf(why, n, "its text fails its CRC"), XVA_OK;
	}
	buf[lsize] = '\0';
	*text = buf;
	*len = (size_t)lsize;
	return XVA_OK;
}

/* --- scanning --- */

/* The VG section of a parsed copy: the first section at the top. */
static const struct lvm_node *vg_section(const struct lvm_tree *t)
{
	for (const struct lvm_node *n = lvm_tree_root(t)->child; n; n = n->next)
		if (n->type == LVM_SECTION)
			return n;
	return NULL;
}

/* Parses TEXT from device DEV and keeps it as a copy (or notes why not). */
static enum xva_status add_copy(struct scan *s, size_t dev, const char *text,
				size_t len)
{
	struct copy c = { dev, NULL, NULL, "", 0 };
	const struct lvm_node *id, *seq;
	struct xva_err perr;
	struct copy *grown;
	enum xva_status st;

	st = lvm_text_parse(text, len, &c.tree, &perr);
	if (st == XVA_ENOMEM)
		return xva_nomem(s->err);
	if (st != XVA_OK)
		return lvm_note(s->l, "%s: LVM metadata: %s", s->names[dev],
			    perr.msg);
	c.vg = vg_section(c.tree);
	id = lvm_find_type(c.vg, "id", LVM_STRING);
	seq = lvm_find_type(c.vg, "seqno", LVM_INT);
	if (!c.vg || !id || !seq || seq->i < 0 || !lvm_uuid_raw(c.id, id->s)) {
		lvm_tree_free(c.tree);
		return lvm_note(s->l, "%s: LVM metadata without a VG section with "
			    "an id and a seqno: ignored", s->names[dev]);
	}
	c.seqno = (uint64_t)seq->i;
	grown = realloc(s->copies, (s->n_copies + 1) * sizeof(*grown));
	if (!grown) {
		lvm_tree_free(c.tree);
		return xva_nomem(s->err);
	}
	s->copies = grown;
	s->copies[s->n_copies++] = c;
	return XVA_OK;
}

/* The metadata of the PV on device I: the first area, the second only
 * when the first gives none (it lies at the device's end, which a
 * compressed source reaches only by reading everything). */
static enum xva_status read_metadata(struct scan *s, size_t i)
{
	const struct xva_lvm_label *lb = &s->l->labels[i];
	enum xva_status st;

	for (unsigned m = 0; m < lb->n_mdas; m++) {
		char why[200] = "", *text;
		size_t len;

		st = mda_text(s->devs[i], lb->mda_offset[m], &text, &len, why,
			      sizeof(why), s->err);
		if (st != XVA_OK)
			return st;
		if (text) {
			st = add_copy(s, i, text, len);
			free(text);
			return st;
		}
		st = lvm_note(s->l, "%s: LVM metadata area %u at byte %llu: %s",
			  s->names[i], m + 1,
			  (unsigned long long)lb->mda_offset[m], why);
		if (st != XVA_OK)
			return xva_nomem(s->err);
	}
	return XVA_OK;
}

/* The device of the PV with UUID (dashed), the first given: -1 none. */
long lvm_device_of(const struct xva_lvm *l, const char *uuid)
{
	for (size_t i = 0; i < l->n_labels; i++)
		if (l->labels[i].found &&
		    strcmp(l->labels[i].pv_uuid, uuid) == 0)
			return (long)i;
	return -1;
}

static enum xva_status read_labels(struct scan *s)
{
	enum xva_status st;

	for (size_t i = 0; i < s->n; i++) {
		struct xva_lvm_label *lb = &s->l->labels[i];
		long first;

		st = xva_lvm_label_read(s->devs[i], lb, s->err);
		if (st != XVA_OK)
			return st;
		if (!lb->found) {
			if (lb->why[0] && lvm_note(s->l, "%s: %s: not read as an "
					       "LVM PV", s->names[i], lb->why))
				return xva_nomem(s->err);
			continue;
		}
		first = lvm_device_of(s->l, lb->pv_uuid);
		if (first >= 0 && (size_t)first < i) {
			if (lvm_note(s->l, "%s: PV %s is also on %s, which is "
				 "used", s->names[i], lb->pv_uuid,
				 s->names[first]))
				return xva_nomem(s->err);
			continue;
		}
		st = read_metadata(s, i);
		if (st != XVA_OK)
			return st;
	}
	return XVA_OK;
}

static void free_runs(struct xva_lvm_lv *lv)
{
	for (size_t r = 0; r < lv->n_runs; r++)
		free(lv->runs[r].stripes);
	free(lv->runs);
}

void xva_lvm_free(struct xva_lvm *l)
{
	if (!l)
		return;
	for (size_t v = 0; v < l->n_vgs; v++) {
		struct xva_lvm_vg *vg = &l->vgs[v];

		for (size_t i = 0; i < vg->n_lvs; i++) {
			free_runs(&vg->lvs[i]);
			free(vg->lvs[i].name);
			free(vg->lvs[i].why);
			free(vg->lvs[i].types);
		}
		for (size_t i = 0; i < vg->n_pvs; i++)
			free(vg->pvs[i].name);
		free(vg->lvs);
		free(vg->pvs);
		free(vg->name);
	}
	free(l->vgs);
	for (size_t i = 0; i < l->n_notes; i++)
		free(l->notes[i]);
	free(l->notes);
	free(l->labels);
	free(l);
}

enum xva_status xva_lvm_scan(struct xva_view *const *devs,
			     const char *const *names, size_t n,
			     struct xva_lvm **out, struct xva_err *err)
{
	struct xva_lvm *l = calloc(1, sizeof(*l));
	struct scan s = { l, devs, names, n, NULL, 0, err };
	enum xva_status st;

	*out = NULL;
	if (!l || !(l->labels = calloc(n ? n : 1, sizeof(*l->labels)))) {
		free(l);
		return xva_nomem(err);
	}
	l->n_labels = n;
	xva_err_clear(err);
	st = read_labels(&s);
	if (st == XVA_OK)
		st = lvm_assemble(&s);
	for (size_t i = 0; i < s.n_copies; i++)
		lvm_tree_free(s.copies[i].tree);
	free(s.copies);
	if (st != XVA_OK) {
		/* A note that could not be kept fails with no message. */
		if (st == XVA_ENOMEM)
			xva_nomem(err);
		xva_lvm_free(l);
		return st;
	}
	*out = l;
	return XVA_OK;
}

enum xva_status xva_lvm_lv_view(const struct xva_lvm *l, size_t vg, size_t lv,
				struct xva_view *const *devs, const char *name,
				bool writable, struct xva_view **out,
				struct xva_err *err)
{
	const struct xva_lvm_lv *x;
	struct xva_map_seg *segs;
	struct xva_map_stripe *stripes;
	size_t total = 0, k = 0;
	enum xva_status st;

	*out = NULL;
	if (vg >= l->n_vgs || lv >= l->vgs[vg].n_lvs)
		return xva_fail(err, XVA_EINVAL, "%s: no such LV", name);
	x = &l->vgs[vg].lvs[lv];
	if (!x->servable)
		return xva_fail(err, XVA_EINVAL, "%s: not served: %s", name,
				x->why);
	for (size_t r = 0; r < x->n_runs; r++)
		total += x->runs[r].n_stripes;
	segs = calloc(x->n_runs ? x->n_runs : 1, sizeof(*segs));
	stripes = calloc(total ? total : 1, sizeof(*stripes));
	if (!segs || !stripes) {
		free(segs);
		free(stripes);
		return xva_nomem(err);
	}
	for (size_t r = 0; r < x->n_runs; r++) {
		const struct xva_lvm_run *run = &x->runs[r];

		segs[r].start = run->start;
		segs[r].len = run->len;
		segs[r].skip = run->skip;
		segs[r].chunk = run->chunk;
		segs[r].n_stripes = run->n_stripes;
		segs[r].stripes = &stripes[k];
		for (unsigned i = 0; i < run->n_stripes; i++) {
			stripes[k].view = devs[run->stripes[i].dev];
			stripes[k++].offset = run->stripes[i].offset;
		}
	}
	st = xva_view_map(name, x->size, segs, x->n_runs, writable, out, err);
	free(segs);
	free(stripes);
	return st;
}
