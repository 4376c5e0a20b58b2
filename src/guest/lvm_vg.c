/* Volume groups from the metadata copies found, and each LV's map onto
 * the devices (lvm.h says what is served and what is refused). Every
 * number from the text is range-checked and every product of extents
 * checked for overflow before it becomes a byte offset. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/lvm_internal.h"

#define MAX_NESTING 8   /* LV -> mirror or raid1 leg -> ... */
#define MAX_EXTENTS (UINT64_C(1) << 32) /* lvm2 counts extents in 32 bits */

struct vgctx {
	struct scan *s;
	struct xva_lvm_vg *vg;
	const struct lvm_node *lvs;   /* the logical_volumes section */
	uint64_t eb;                  /* bytes of an extent */
	const char **cow, **cow_origin; /* snapshots' COW stores */
	size_t n_cow;
};

/* A map being built, or why it cannot be. */
struct res {
	struct xva_lvm_run *runs;
	size_t n, cap;
	char why[320];
	bool nomem;
};

struct seg {
	const struct lvm_node *n;
	uint64_t start, count;
	char type[32]; /* without +FLAGS */
};

/* An integer item KEY of SEC in [0, LIMIT), or false. */
static bool get_uint(const struct lvm_node *sec, const char *key,
		     uint64_t limit, uint64_t *out)
{
	const struct lvm_node *n = lvm_find_type(sec, key, LVM_INT);

	if (!n || n->i < 0 || (uint64_t)n->i >= limit)
		return false;
	*out = (uint64_t)n->i;
	return true;
}

static bool extent_bytes(uint64_t extents, uint64_t eb, uint64_t *out)
{
	return !__builtin_mul_overflow(extents, eb, out);
}

__attribute__((format(printf, 2, 3)))
static bool fail(struct res *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return false;
}

static int by_start(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static bool is_segment_key(const char *k)
{
	if (strncmp(k, "segment", 7) != 0 || !k[7])
		return false;
	for (k += 7; *k; k++)
		if (*k < '0' || *k > '9')
			return false;
	return true;
}

/* LV's segments sorted by start, checked to follow each other from 0;
 * *EXTENTS their total. */
static bool lv_segments(const struct lvm_node *lv, struct res *r,
			struct seg **out, size_t *n_out, uint64_t *extents)
{
	struct seg *segs;
	size_t n = 0, cap = 0;

	*out = NULL;
	*n_out = 0;
	for (const struct lvm_node *c = lv->child; c; c = c->next)
		cap += c->type == LVM_SECTION && is_segment_key(c->key);
	if (cap == 0 || cap > XVA_LVM_MAX_SEGMENTS)
		return fail(r, "%zu segments", cap),
		       false;
	if (!(segs = calloc(cap, sizeof(*segs))))
		return r->nomem = true, false;
	for (const struct lvm_node *c = lv->child; c; c = c->next) {
		const struct lvm_node *type;
		struct seg *sg = &segs[n];

		if (c->type != LVM_SECTION || !is_segment_key(c->key))
			continue;
		type = lvm_find_type(c, "type", LVM_STRING);
		if (!type || !get_uint(c, "start_extent", MAX_EXTENTS,
				       &sg->start) ||
		    !get_uint(c, "extent_count", MAX_EXTENTS, &sg->count) ||
		    sg->count == 0) {
			free(segs);
			return fail(r, "%s has no "
					"good start_extent, extent_count or "
					"type", c->key);
		}
		sg->n = c;
		snprintf(sg->type, sizeof(sg->type), "%.*s",
			 (int)strcspn(type->s, "+"), type->s);
		n++;
	}
	qsort(segs, n, sizeof(*segs), by_start);
	*extents = 0;
	for (size_t i = 0; i < n; i++) {
		if (segs[i].start != *extents) {
			free(segs);
			return fail(r, "its segments "
					"leave a gap or overlap at extent "
					"%llu", (unsigned long long)*extents),
			       false;
		}
		*extents += segs[i].count;
	}
	*out = segs;
	*n_out = n;
	return true;
}

static struct xva_lvm_run *new_run(struct res *r, unsigned n_stripes)
{
	struct xva_lvm_run *run;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 4;
		struct xva_lvm_run *grown = realloc(r->runs, cap * sizeof(*grown));

		if (!grown)
			return r->nomem = true, NULL;
		r->runs = grown;
		r->cap = cap;
	}
	run = &r->runs[r->n];
	memset(run, 0, sizeof(*run));
	if (n_stripes && !(run->stripes = calloc(n_stripes,
						 sizeof(*run->stripes))))
		return r->nomem = true, NULL;
	run->n_stripes = n_stripes;
	r->n++;
	return run;
}

static void drop_runs(struct res *r, size_t keep)
{
	while (r->n > keep)
		free(r->runs[--r->n].stripes);
}

static const struct xva_lvm_pv *pv_named(const struct xva_lvm_vg *vg,
					 const char *name)
{
	for (size_t i = 0; i < vg->n_pvs; i++)
		if (strcmp(vg->pvs[i].name, name) == 0)
			return &vg->pvs[i];
	return NULL;
}

/* Stripe I of a striped segment: PER extents of a PV from its PE. */
static bool stripe_place(struct vgctx *c, struct res *r,
			 const struct lvm_node *name, const struct lvm_node *pe,
			 uint64_t per, struct xva_lvm_stripe *out)
{
	const struct xva_lvm_pv *pv;
	uint64_t off, len, end;
	const struct xva_view *dev;

	if (!name || name->type != LVM_STRING || !pe || pe->type != LVM_INT ||
	    pe->i < 0)
		return fail(r, "a stripes list that "
				"is not pairs of PV name and extent");
	if (!(pv = pv_named(c->vg, name->s)))
		return fail(r, "it names PV %s, which "
				"the VG does not list", name->s);
	if (pv->dev < 0)
		return fail(r, "PV %s (%s) is missing: "
				"the VG is partial", pv->name, pv->uuid);
	if ((uint64_t)pe->i > pv->pe_count || per > pv->pe_count -
							  (uint64_t)pe->i)
		return fail(r, "extents %lld+%llu of "
				"PV %s, which has %llu", (long long)pe->i,
				(unsigned long long)per, pv->name,
				(unsigned long long)pv->pe_count);
	dev = c->s->devs[pv->dev];
	if (!extent_bytes((uint64_t)pe->i, c->eb, &off) ||
	    __builtin_add_overflow(off, pv->pe_start, &off) ||
	    !extent_bytes(per, c->eb, &len) ||
	    __builtin_add_overflow(off, len, &end) || end > dev->size)
		return fail(r, "PV %s: its extents "
				"reach past the end of %s (%llu bytes)",
				pv->name, c->s->names[pv->dev],
				(unsigned long long)dev->size);
	out->dev = (size_t)pv->dev;
	out->offset = off;
	return true;
}

/* Extents [FROM, TO) of striped segment SG, at LV byte OUT. */
static bool map_striped(struct vgctx *c, struct res *r, const struct seg *sg,
			uint64_t from, uint64_t to, uint64_t out)
{
	const struct lvm_node *list = lvm_find_type(sg->n, "stripes", LVM_LIST);
	const struct lvm_node *item;
	uint64_t n, size = 0, per, per_bytes;
	struct xva_lvm_run *run;

	if (!get_uint(sg->n, "stripe_count", XVA_LVM_MAX_STRIPES + 1, &n) ||
	    n == 0 || !list || list->n_children != 2 * n)
		return fail(r, "a striped segment "
				"without a good stripe_count and stripes "
				"list");
	per = sg->count / n;
	if (sg->count % n != 0 || !extent_bytes(per, c->eb, &per_bytes))
		return fail(r, "%llu extents over "
				"%llu stripes",
				(unsigned long long)sg->count,
				(unsigned long long)n);
	if (n > 1 && (!get_uint(sg->n, "stripe_size", MAX_EXTENTS, &size) ||
		      size == 0 || per_bytes % (size * 512) != 0))
		return fail(r, "stripe_size %llu "
				"sectors does not divide a stripe of %llu "
				"bytes", (unsigned long long)size,
				(unsigned long long)per_bytes);
	if (!(run = new_run(r, (unsigned)n)))
		return false;
	item = list->child;
	for (uint64_t i = 0; i < n; i++, item = item->next->next)
		if (!stripe_place(c, r, item, item->next, per,
				  &run->stripes[i]))
			return false;
	run->start = out;
	run->len = (to - from) * c->eb;
	run->skip = (from - sg->start) * c->eb;
	run->chunk = n > 1 ? size * 512 : 0;
	return true;
}

static bool resolve(struct vgctx *c, struct res *r, const struct lvm_node *lv,
		    uint64_t le, uint64_t count, uint64_t out, int depth);

/* A mirror or raid1 segment: the range read from one leg, the first
 * that maps (in a pvmove, only the original, leg 0). */
static bool map_legs(struct vgctx *c, struct res *r, const struct lvm_node *lv,
		     const struct seg *sg, uint64_t from, uint64_t to,
		     uint64_t out, int depth)
{
	bool mirror = strcmp(sg->type, "mirror") == 0;
	const struct lvm_node *list = lvm_find_type(sg->n, mirror ? "mirrors"
								  : "raids",
						    LVM_LIST);
	bool pvmove = mirror && lvm_list_has(lv, "status", "PVMOVE");
	const struct lvm_node *it = list ? list->child : NULL;
	char last[320] = "no legs";

	if (!list || list->n_children < 2 || list->n_children % 2)
		return fail(r, "a %s segment without "
				"a list of legs", sg->type);
	for (; it && it->next; it = it->next->next) {
		/* mirror: (LV, extent) pairs; raid1: (rmeta, rimage) */
		const struct lvm_node *name = mirror ? it : it->next;
		const struct lvm_node *sub;
		uint64_t base = 0;
		size_t keep = r->n;

		if (name->type != LVM_STRING ||
		    (mirror && (it->next->type != LVM_INT || it->next->i < 0)))
			break;
		if (mirror)
			base = (uint64_t)it->next->i;
		sub = lvm_find_type(c->lvs, name->s, LVM_SECTION);
		if (sub && resolve(c, r, sub, base + (from - sg->start),
				   to - from, out, depth + 1))
			return true;
		if (r->nomem)
			return false;
		drop_runs(r, keep);
		snprintf(last, sizeof(last), "%.64s: %.200s", name->s,
			 sub ? r->why : "no such LV");
		if (pvmove)
			break;
	}
	/* Precisions that fit r->why whatever the compiler assumes of the
	 * lengths (a segment type is a short word). */
	snprintf(r->why, sizeof(r->why), "no leg of its %.16s segment can be "
		 "read (%.260s)", sg->type, last);
	return false;
}

/* Why a segment type is not served. */
static void refuse(struct res *r, const char *type)
{
	static const struct {
		const char *prefix, *why;
	} reasons[] = {
		{ "snapshot", "a snapshot: its copy-on-write store is not read" },
		{ "thin-pool", "a thin pool: only its thin LVs hold data" },
		{ "thin", "a thin LV: the pool's mapping is not read" },
		{ "cache", "a cached LV: its origin may be stale while the "
			   "cache holds dirty blocks" },
		{ "writecache", "a write-cached LV: its origin may be stale" },
		{ "raid", "this RAID layout (parity or striping over sub-LVs) "
			  "is not read" },
		{ "vdo", "VDO (deduplicated and compressed) is not read" },
		{ "integrity", "dm-integrity is not read" },
		{ "error", "an error segment: reads of it fail" },
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strncmp(type, reasons[i].prefix,
			    strlen(reasons[i].prefix)) == 0) {
			snprintf(r->why, sizeof(r->why), "segment type %s: %s",
				 type, reasons[i].why);
			return;
		}
	snprintf(r->why, sizeof(r->why), "segment type \"%s\" is not known",
		 type);
}

/* Extents [LE, LE + COUNT) of LV, mapped at LV byte OUT of the result. */
static bool resolve(struct vgctx *c, struct res *r, const struct lvm_node *lv,
		    uint64_t le, uint64_t count, uint64_t out, int depth)
{
	struct seg *segs;
	size_t n;
	uint64_t total;
	bool ok = true;

	if (depth > MAX_NESTING)
		return fail(r, "sub-LVs nested more "
				"than %d deep", MAX_NESTING);
	if (!lv_segments(lv, r, &segs, &n, &total))
		return false;
	if (!extent_bytes(total, c->eb, &(uint64_t){ 0 })) {
		free(segs);
		return fail(r, "%s is too large",
				lv->key);
	}
	if (le > total || count > total - le) {
		free(segs);
		return fail(r, "extents %llu+%llu of "
				"%s, which has %llu", (unsigned long long)le,
				(unsigned long long)count, lv->key,
				(unsigned long long)total);
	}
	for (size_t i = 0; i < n && ok; i++) {
		const struct seg *sg = &segs[i];
		uint64_t from = sg->start > le ? sg->start : le;
		uint64_t to = sg->start + sg->count < le + count
				      ? sg->start + sg->count : le + count;
		uint64_t at = out + (from - le) * c->eb;
		struct xva_lvm_run *run;

		if (from >= to)
			continue;
		if (!strcmp(sg->type, "striped") || !strcmp(sg->type, "linear")) {
			ok = map_striped(c, r, sg, from, to, at);
		} else if (!strcmp(sg->type, "zero")) {
			ok = (run = new_run(r, 0)) != NULL;
			if (ok) {
				run->start = at;
				run->len = (to - from) * c->eb;
			}
		} else if (!strcmp(sg->type, "mirror") ||
			   !strcmp(sg->type, "raid1")) {
			ok = map_legs(c, r, lv, sg, from, to, at, depth);
		} else {
			refuse(r, sg->type);
			ok = false;
		}
	}
	free(segs);
	return ok;
}

/* The segment types of LV, distinct, in order, ","-separated. */
static char *lv_types(const struct lvm_node *lv)
{
	char buf[256] = "";
	size_t o = 0;

	for (const struct lvm_node *c = lv->child; c; c = c->next) {
		const struct lvm_node *t;
		char one[40];

		if (c->type != LVM_SECTION || !is_segment_key(c->key) ||
		    !(t = lvm_find_type(c, "type", LVM_STRING)))
			continue;
		snprintf(one, sizeof(one), "%.*s", (int)strcspn(t->s, "+"), t->s);
		if (strstr(buf, one) && o)
			continue; /* roughly distinct: good enough for a list */
		if (o + strlen(one) + 2 >= sizeof(buf))
			break;
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s",
				      o ? "," : "", one);
	}
	return strdup(buf);
}

static const char *cow_origin(const struct vgctx *c, const char *name)
{
	for (size_t i = 0; i < c->n_cow; i++)
		if (strcmp(c->cow[i], name) == 0)
			return c->cow_origin[i];
	return NULL;
}

/* Fills OUT for the LV section LV. */
static enum xva_status build_lv(struct vgctx *c, const struct lvm_node *lv,
				struct xva_lvm_lv *out)
{
	const struct lvm_node *id = lvm_find_type(lv, "id", LVM_STRING);
	struct res r = { 0 };
	const char *origin = cow_origin(c, lv->key);
	struct seg *segs;
	size_t n;
	uint64_t extents;
	char raw[33];
	bool ok;

	out->name = strdup(lv->key);
	out->types = lv_types(lv);
	if (!out->name || !out->types)
		return XVA_ENOMEM;
	if (id && lvm_uuid_raw(raw, id->s))
		lvm_uuid_dashed(out->uuid, raw);
	out->visible = lvm_list_has(lv, "status", "VISIBLE");
	ok = lv_segments(lv, &r, &segs, &n, &extents);
	free(segs);
	if (ok && !extent_bytes(extents, c->eb, &out->size))
		ok = fail(&r, "its size overflows");
	/* Before the visibility: lvm2 writes a snapshot's COW store without
	 * VISIBLE (lvs shows it by its snapshot), and the user knows it by
	 * that name. */
	if (ok && origin)
		ok = fail(&r, "the copy-on-write store "
			      "of a snapshot of %s: not read (the origin is "
			      "served)", origin);
	if (ok && !out->visible)
		ok = fail(&r, "a hidden sub-LV (a part "
			      "of another LV)");
	if (ok)
		ok = resolve(c, &r, lv, 0, extents, 0, 0);
	if (r.nomem) {
		drop_runs(&r, 0);
		free(r.runs);
		return XVA_ENOMEM;
	}
	if (!ok) {
		drop_runs(&r, 0);
		free(r.runs);
		out->why = strdup(r.why);
		return out->why ? XVA_OK : XVA_ENOMEM;
	}
	out->servable = true;
	out->runs = r.runs;
	out->n_runs = r.n;
	return XVA_OK;
}

/* The COW stores of the VG's snapshot segments (origin beside each). */
static enum xva_status find_cows(struct vgctx *c)
{
	for (const struct lvm_node *lv = c->lvs->child; lv; lv = lv->next) {
		for (const struct lvm_node *sg = lv->type == LVM_SECTION
							 ? lv->child : NULL;
		     sg; sg = sg->next) {
			const struct lvm_node *t, *cow, *org;
			const char **a, **b;

			if (sg->type != LVM_SECTION ||
			    !(t = lvm_find_type(sg, "type", LVM_STRING)) ||
			    strncmp(t->s, "snapshot", 8) != 0 ||
			    !(cow = lvm_find_type(sg, "cow_store", LVM_STRING)))
				continue;
			org = lvm_find_type(sg, "origin", LVM_STRING);
			a = realloc(c->cow, (c->n_cow + 1) * sizeof(*a));
			if (a)
				c->cow = a;
			b = realloc(c->cow_origin, (c->n_cow + 1) * sizeof(*b));
			if (b)
				c->cow_origin = b;
			if (!a || !b)
				return XVA_ENOMEM;
			c->cow[c->n_cow] = cow->s;
			c->cow_origin[c->n_cow++] = org ? org->s : "?";
		}
	}
	return XVA_OK;
}

/* The PV sections of the VG; a PV with no device makes it partial. */
static enum xva_status build_pvs(struct vgctx *c, const struct lvm_node *pvs)
{
	struct xva_lvm_vg *vg = c->vg;

	vg->pvs = calloc(pvs && pvs->n_children ? pvs->n_children : 1,
			 sizeof(*vg->pvs));
	if (!vg->pvs)
		return XVA_ENOMEM;
	for (const struct lvm_node *p = pvs ? pvs->child : NULL; p; p = p->next) {
		struct xva_lvm_pv *pv = &vg->pvs[vg->n_pvs];
		const struct lvm_node *id = lvm_find_type(p, "id", LVM_STRING);
		uint64_t start = 0;
		char raw[33];

		if (p->type != LVM_SECTION)
			continue;
		if (!(pv->name = strdup(p->key)))
			return XVA_ENOMEM;
		vg->n_pvs++;
		pv->dev = -1;
		if (!id || !lvm_uuid_raw(raw, id->s) ||
		    !get_uint(p, "pe_start", UINT64_C(1) << 54, &start) ||
		    !get_uint(p, "pe_count", MAX_EXTENTS, &pv->pe_count)) {
			vg->partial = true;
			if (lvm_note(c->s->l, "VG %s: PV %s has no good id, "
				     "pe_start or pe_count: taken as missing",
				     vg->name, pv->name))
				return XVA_ENOMEM;
			continue;
		}
		lvm_uuid_dashed(pv->uuid, raw);
		pv->pe_start = start * 512;
		pv->dev = lvm_device_of(c->s->l, pv->uuid);
		if (pv->dev < 0) {
			vg->partial = true;
			if (lvm_note(c->s->l, "VG %s: PV %s (%s) is missing",
				     vg->name, pv->name, pv->uuid))
				return XVA_ENOMEM;
		}
	}
	return XVA_OK;
}

static enum xva_status build_lvs(struct vgctx *c)
{
	struct xva_lvm_vg *vg = c->vg;
	enum xva_status st;

	if (!c->lvs)
		return XVA_OK;
	vg->lvs = calloc(c->lvs->n_children ? c->lvs->n_children : 1,
			 sizeof(*vg->lvs));
	if (!vg->lvs)
		return XVA_ENOMEM;
	st = find_cows(c);
	for (const struct lvm_node *lv = c->lvs->child; lv && st == XVA_OK;
	     lv = lv->next) {
		if (lv->type != LVM_SECTION)
			continue;
		st = build_lv(c, lv, &vg->lvs[vg->n_lvs++]);
	}
	return st;
}

/* The VG of copy CP, appended to the scan's result. */
static enum xva_status build_vg(struct scan *s, const struct copy *cp)
{
	struct xva_lvm *l = s->l;
	struct xva_lvm_vg *grown, *vg;
	struct vgctx c = { s, NULL, NULL, 0, NULL, NULL, 0 };
	uint64_t es;
	enum xva_status st;

	if (!get_uint(cp->vg, "extent_size", MAX_EXTENTS, &es) || es == 0)
		return lvm_note(l, "%s: VG %s: no good extent_size: ignored",
				s->names[cp->dev], cp->vg->key);
	grown = realloc(l->vgs, (l->n_vgs + 1) * sizeof(*grown));
	if (!grown)
		return XVA_ENOMEM;
	l->vgs = grown;
	vg = &l->vgs[l->n_vgs++];
	memset(vg, 0, sizeof(*vg));
	if (!(vg->name = strdup(cp->vg->key)))
		return XVA_ENOMEM;
	lvm_uuid_dashed(vg->uuid, cp->id);
	vg->seqno = cp->seqno;
	vg->extent_size = es * 512;
	vg->metadata_dev = (long)cp->dev;
	c.vg = vg;
	c.eb = vg->extent_size;
	c.lvs = lvm_find_type(cp->vg, "logical_volumes", LVM_SECTION);
	st = build_pvs(&c, lvm_find_type(cp->vg, "physical_volumes",
					 LVM_SECTION));
	if (st == XVA_OK)
		st = build_lvs(&c);
	free(c.cow);
	free(c.cow_origin);
	return st;
}

/* Notes for PVs no VG claims. */
static enum xva_status note_orphans(struct scan *s)
{
	struct xva_lvm *l = s->l;

	for (size_t i = 0; i < l->n_labels; i++) {
		bool claimed = false;

		if (!l->labels[i].found ||
		    lvm_device_of(l, l->labels[i].pv_uuid) != (long)i)
			continue;
		for (size_t v = 0; v < l->n_vgs && !claimed; v++)
			for (size_t p = 0; p < l->vgs[v].n_pvs && !claimed; p++)
				claimed = l->vgs[v].pvs[p].dev == (long)i;
		if (!claimed && lvm_note(l, "%s: PV %s belongs to no VG whose "
					 "metadata was found", s->names[i],
					 l->labels[i].pv_uuid))
			return XVA_ENOMEM;
	}
	return XVA_OK;
}

enum xva_status lvm_assemble(struct scan *s)
{
	struct xva_lvm *l = s->l;
	bool *used = calloc(s->n_copies ? s->n_copies : 1, sizeof(*used));
	enum xva_status st = XVA_OK;

	if (!used)
		return XVA_ENOMEM;
	/* By VG id: the highest seqno wins, the first device on a tie. */
	for (size_t i = 0; i < s->n_copies && st == XVA_OK; i++) {
		size_t best = i;

		if (used[i])
			continue;
		for (size_t j = i; j < s->n_copies; j++)
			if (strcmp(s->copies[j].id, s->copies[i].id) == 0) {
				used[j] = true;
				if (s->copies[j].seqno > s->copies[best].seqno)
					best = j;
			}
		for (size_t j = i; j < s->n_copies && st == XVA_OK; j++)
			if (strcmp(s->copies[j].id, s->copies[i].id) == 0 &&
			    s->copies[j].seqno != s->copies[best].seqno)
				st = lvm_note(l, "VG %s: metadata seqno %llu on "
					      "%s ignored for seqno %llu on %s",
					      s->copies[best].vg->key,
					      (unsigned long long)
						      s->copies[j].seqno,
					      s->names[s->copies[j].dev],
					      (unsigned long long)
						      s->copies[best].seqno,
					      s->names[s->copies[best].dev]);
		if (st == XVA_OK)
			st = build_vg(s, &s->copies[best]);
	}
	free(used);
	for (size_t a = 0; a < l->n_vgs && st == XVA_OK; a++)
		for (size_t b = a + 1; b < l->n_vgs; b++)
			if (strcmp(l->vgs[a].name, l->vgs[b].name) == 0)
				l->vgs[a].name_shared = l->vgs[b].name_shared =
					true;
	if (st == XVA_OK)
		st = note_orphans(s);
	return st;
}
