/* The guest view in one call (guest.h): tables, devices, LVM, probes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xvafs/guest.h"

/* Adds a device for DISK (partition P, or the whole disk). */
static enum xva_status add_dev(struct xva_guest *g, size_t disk,
			       const char *disk_name,
			       const struct xva_partition *p,
			       struct xva_err *err)
{
	struct xva_guest_dev *d = &g->devs[g->n_devs];
	char name[256];
	enum xva_status st;

	memset(d, 0, sizeof(*d));
	d->disk = disk;
	d->part = p;
	if (p) {
		xva_partition_name(name, sizeof(name), disk_name, p->number);
		st = xva_view_slice(g->disks[disk], p->start, p->length, name,
				    &d->view, err);
		if (st != XVA_OK)
			return st;
	} else {
		snprintf(name, sizeof(name), "%s", disk_name);
		d->view = g->disks[disk];
	}
	g->n_devs++;
	if (!(d->name = strdup(name)))
		return xva_nomem(err);
	return xva_fs_probe(d->view, &d->fs, err);
}

static enum xva_status find_devs(struct xva_guest *g,
				 const char *const *names,
				 struct xva_err *err)
{
	size_t cap = 0;
	enum xva_status st;

	for (size_t i = 0; i < g->n_disks; i++) {
		st = xva_partitions_read(g->disks[i], &g->tables[i], err);
		if (st != XVA_OK)
			return st;
		cap += g->tables[i]->n ? g->tables[i]->n : 1;
	}
	if (!(g->devs = calloc(cap ? cap : 1, sizeof(*g->devs))))
		return xva_nomem(err);
	for (size_t i = 0; i < g->n_disks; i++) {
		const struct xva_ptable *t = g->tables[i];

		if (t->kind == XVA_PT_NONE) {
			st = add_dev(g, i, names[i], NULL, err);
			if (st != XVA_OK)
				return st;
		}
		for (size_t k = 0; k < t->n; k++) {
			if ((t->parts[k].flags & XVA_PART_EXTENDED) ||
			    t->parts[k].length == 0)
				continue;
			st = add_dev(g, i, names[i], &t->parts[k], err);
			if (st != XVA_OK)
				return st;
		}
	}
	return XVA_OK;
}

static struct xva_view **dev_views(const struct xva_guest *g)
{
	struct xva_view **v = calloc(g->n_devs ? g->n_devs : 1, sizeof(*v));

	for (size_t i = 0; v && i < g->n_devs; i++)
		v[i] = g->devs[i].view;
	return v;
}

/* "VG/LV", the VG told apart by its uuid when its name is shared. */
static char *lv_path(const struct xva_lvm_vg *vg, const struct xva_lvm_lv *lv)
{
	char id[9] = "", *path;
	size_t n = 0;

	for (const char *p = vg->uuid; *p && n < 8; p++)
		if (*p != '-')
			id[n++] = *p;
	id[n] = '\0';
	if (asprintf(&path, "%s%s%s/%s", vg->name, vg->name_shared ? "." : "",
		     vg->name_shared ? id : "", lv->name) < 0)
		return NULL;
	return path;
}

static enum xva_status find_lvs(struct xva_guest *g, struct xva_err *err)
{
	size_t cap = 0;

	for (size_t v = 0; v < g->lvm->n_vgs; v++)
		cap += g->lvm->vgs[v].n_lvs;
	if (!(g->lvs = calloc(cap ? cap : 1, sizeof(*g->lvs))))
		return xva_nomem(err);
	for (size_t v = 0; v < g->lvm->n_vgs; v++) {
		const struct xva_lvm_vg *vg = &g->lvm->vgs[v];

		for (size_t i = 0; i < vg->n_lvs; i++) {
			struct xva_guest_lv *lv = &g->lvs[g->n_lvs];
			struct xva_view *view;
			enum xva_status st;

			if (!vg->lvs[i].visible || !vg->lvs[i].servable)
				continue;
			lv->vg = v;
			lv->lv = i;
			if (!(lv->path = lv_path(vg, &vg->lvs[i])))
				return xva_nomem(err);
			g->n_lvs++;
			st = xva_guest_lv_view(g, g->n_lvs - 1, false, &view,
					       err);
			if (st == XVA_OK)
				st = xva_fs_probe(view, &lv->fs, err);
			xva_view_close(view);
			if (st != XVA_OK)
				return st;
		}
	}
	return XVA_OK;
}

enum xva_status xva_guest_scan(struct xva_view *const *disks,
			       const char *const *names, size_t n,
			       struct xva_guest **out, struct xva_err *err)
{
	struct xva_guest *g = calloc(1, sizeof(*g));
	struct xva_view **views = NULL;
	const char **dnames = NULL;
	enum xva_status st;

	*out = NULL;
	if (!g || !(g->disks = calloc(n ? n : 1, sizeof(*g->disks))) ||
	    !(g->tables = calloc(n ? n : 1, sizeof(*g->tables)))) {
		xva_guest_free(g);
		return xva_nomem(err);
	}
	g->n_disks = n;
	memcpy(g->disks, disks, n * sizeof(*disks));
	st = find_devs(g, names, err);
	if (st == XVA_OK) {
		views = dev_views(g);
		dnames = calloc(g->n_devs ? g->n_devs : 1, sizeof(*dnames));
		for (size_t i = 0; dnames && i < g->n_devs; i++)
			dnames[i] = g->devs[i].name;
		st = views && dnames ? xva_lvm_scan(views, dnames, g->n_devs,
						    &g->lvm, err)
				     : xva_nomem(err);
	}
	if (st == XVA_OK)
		st = find_lvs(g, err);
	free(views);
	free(dnames);
	if (st != XVA_OK) {
		xva_guest_free(g);
		return st;
	}
	*out = g;
	return XVA_OK;
}

enum xva_status xva_guest_lv_view(const struct xva_guest *g, size_t i,
				  bool writable, struct xva_view **out,
				  struct xva_err *err)
{
	struct xva_view **views;
	enum xva_status st;

	*out = NULL;
	if (i >= g->n_lvs)
		return xva_fail(err, XVA_EINVAL, "no LV number %zu", i);
	if (!(views = dev_views(g)))
		return xva_nomem(err);
	st = xva_lvm_lv_view(g->lvm, g->lvs[i].vg, g->lvs[i].lv, views,
			     g->lvs[i].path, writable, out, err);
	free(views);
	return st;
}

void xva_guest_free(struct xva_guest *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n_lvs; i++)
		free(g->lvs[i].path);
	free(g->lvs);
	xva_lvm_free(g->lvm);
	for (size_t i = 0; i < g->n_devs; i++) {
		if (g->devs[i].part)
			xva_view_close(g->devs[i].view);
		free(g->devs[i].name);
	}
	free(g->devs);
	for (size_t i = 0; g->tables && i < g->n_disks; i++)
		xva_ptable_free(g->tables[i]);
	free(g->tables);
	free(g->disks);
	free(g);
}
