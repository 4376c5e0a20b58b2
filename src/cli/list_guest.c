/* --list: partitions, volume groups and logical volumes (list_guest.h).
 * Names come from the guest view (front/guestview.h), as the mount
 * serves them; the notes are the warnings' (front/warnings.h). */
#include <string.h>

#include "cli/list_guest.h"
#include "cli/tools.h"
#include "front/warnings.h"

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

/* The guest disk K of GV's scan as the export numbers it. */
static size_t export_disk(const struct xvafs_guest *gv, size_t k)
{
	return gv->disk_index[k];
}

/* The scan's index of export disk I, or (size_t)-1 when it was not read. */
static size_t scanned(const struct xvafs_guest *gv, size_t i)
{
	for (size_t k = 0; gv && gv->g && k < gv->g->n_disks; k++)
		if (gv->disk_index[k] == i)
			return k;
	return (size_t)-1;
}

/* "83" (MBR) or the type GUID (GPT). */
static void part_type(const struct xva_partition *p, char *buf, size_t len)
{
	if (p->type_guid[0])
		snprintf(buf, len, "%s", p->type_guid);
	else
		snprintf(buf, len, "%x", (unsigned)p->mbr_type);
}

/* The guest device that is partition P of disk K, or NULL. */
static const struct xva_guest_dev *dev_of(const struct xvafs_guest *gv,
					  size_t k,
					  const struct xva_partition *p,
					  size_t *index)
{
	for (size_t i = 0; i < gv->g->n_devs; i++)
		if (gv->g->devs[i].disk == k && gv->g->devs[i].part == p) {
			*index = i;
			return &gv->g->devs[i];
		}
	return NULL;
}

/* The file and by-device/ name device DEV is served under. */
static void dev_names(const struct xva *xva, const struct xvafs_guest *gv,
		      size_t dev, const char **file, const char **device)
{
	const struct xva_guest_dev *d = &gv->g->devs[dev];
	const struct xvafs_guest_item *it;

	*file = *device = NULL;
	if (!d->part) {
		*file = xva->map.disks[export_disk(gv, d->disk)].prefix;
		*device = xva->names[export_disk(gv, d->disk)].device;
	} else if ((it = xvafs_guest_item_of(gv, XVAFS_ITEM_PART, dev))) {
		*file = it->file;
		*device = it->device;
	}
}

/* --- text --- */

static void text_partition(FILE *out, const struct xva *xva,
			   const struct xvafs_guest *gv, size_t k,
			   const struct xva_partition *p, bool exact)
{
	char start[32], len[32], type[40], fs[400] = "", flags[64] = "";
	const char *file = NULL, *device = NULL;
	size_t dev;

	if (dev_of(gv, k, p, &dev)) {
		dev_names(xva, gv, dev, &file, &device);
		xvafs_fs_describe(&gv->g->devs[dev].fs, fs, sizeof(fs));
	}
	xvafs_human(p->start, exact, start, sizeof(start));
	xvafs_human(p->length, exact, len, sizeof(len));
	part_type(p, type, sizeof(type));
	snprintf(flags, sizeof(flags), "%s%s%s%s",
		 p->flags & XVA_PART_BOOTABLE ? "bootable " : "",
		 p->flags & XVA_PART_EXTENDED ? "extended " : "",
		 p->flags & XVA_PART_LOGICAL ? "logical " : "",
		 p->flags & XVA_PART_CLAMPED ? "clamped " : "");
	if (flags[0])
		flags[strlen(flags) - 1] = '\0';
	fprintf(out, "  %3u  %-12s  %-8s  %12s  %12s  %-8s  %-17s  %s%s%s%s\n",
		p->number, or_dash(file), or_dash(device), start, len,
		strlen(type) > 8 ? "gpt" : type, or_dash(flags), or_dash(fs),
		p->name[0] ? "  name \"" : "", p->name, p->name[0] ? "\"" : "");
	if (strlen(type) > 8)
		fprintf(out, "       type %s%s%s\n", type,
			p->uuid[0] ? ", partuuid " : "", p->uuid);
}

static void text_disk(FILE *out, const struct xva *xva,
		      const struct xvafs_guest *gv, size_t k, bool exact)
{
	const struct xva_ptable *t = gv->g->tables[k];
	size_t i = export_disk(gv, k);
	char fs[400];

	fs[0] = '\0';
	if (t->kind == XVA_PT_NONE)
		for (size_t dev = 0; dev < gv->g->n_devs; dev++)
			if (gv->g->devs[dev].disk == k && !gv->g->devs[dev].part)
				xvafs_fs_describe(&gv->g->devs[dev].fs, fs,
						  sizeof(fs));
	/* A disk with neither a table nor a known filesystem: nothing to
	 * say. */
	if (t->kind == XVA_PT_NONE && !fs[0])
		return;
	fprintf(out, "disk %s%s%s%s: ", xva->map.disks[i].prefix,
		xva->names[i].device ? " (" : "",
		xva->names[i].device ? xva->names[i].device : "",
		xva->names[i].device ? ")" : "");
	if (t->kind == XVA_PT_NONE) {
		fprintf(out, "no partition table; %s\n", fs);
		return;
	}
	fprintf(out, "%s partition table %s%s%s\n",
		xva_ptable_kind_name(t->kind), t->id,
		t->flags & XVA_PT_BACKUP_USED ? ", read from the backup GPT" : "",
		t->flags & XVA_PT_HYBRID ? ", hybrid MBR" : "");
	fprintf(out, "  %3s  %-12s  %-8s  %12s  %12s  %-8s  %-17s  %s\n", "N",
		"FILE", "DEVICE", "START", "LENGTH", "TYPE", "FLAGS",
		"FILESYSTEM");
	for (size_t p = 0; p < t->n; p++)
		text_partition(out, xva, gv, k, &t->parts[p], exact);
}

static void text_lv(FILE *out, const struct xvafs_guest *gv, size_t v,
		    size_t l, bool exact)
{
	const struct xva_lvm_lv *lv = &gv->g->lvm->vgs[v].lvs[l];
	const struct xvafs_guest_item *it = NULL;
	char size[32], fs[400] = "";

	for (size_t i = 0; i < gv->g->n_lvs; i++)
		if (gv->g->lvs[i].vg == v && gv->g->lvs[i].lv == l) {
			it = xvafs_guest_item_of(gv, XVAFS_ITEM_LV, i);
			xvafs_fs_describe(&gv->g->lvs[i].fs, fs, sizeof(fs));
		}
	xvafs_human(lv->size, exact, size, sizeof(size));
	if (it)
		fprintf(out, "  %-24s  %12s  %-10s  %s\n", it->file, size,
			lv->types, or_dash(fs));
	else
		fprintf(out, "  %-24s  %12s  %-10s  not served: %s\n", lv->name,
			size, lv->types,
			lv->why ? lv->why : "its name cannot be served (see the "
					    "warnings)");
}

static void text_vg(FILE *out, const struct xva *xva,
		    const struct xvafs_guest *gv, size_t v, bool exact)
{
	const struct xva_lvm_vg *vg = &gv->g->lvm->vgs[v];
	char extent[32];

	xvafs_human(vg->extent_size, exact, extent, sizeof(extent));
	fprintf(out, "VG %s: uuid %s, seqno %llu, extents of %s%s%s\n",
		vg->name, vg->uuid, (unsigned long long)vg->seqno, extent,
		vg->partial ? ", partial (a PV is missing)" : "",
		vg->name_shared ? ", its name shared with another VG" : "");
	for (size_t p = 0; p < vg->n_pvs; p++) {
		const struct xva_lvm_pv *pv = &vg->pvs[p];
		const char *file = NULL, *device = NULL;

		if (pv->dev >= 0)
			dev_names(xva, gv, (size_t)pv->dev, &file, &device);
		fprintf(out, "  PV %s %s: %s%s%s%s\n", pv->name, pv->uuid,
			pv->dev < 0 ? "missing" : or_dash(file),
			device ? " (" : "", device ? device : "",
			device ? ")" : "");
	}
	for (size_t l = 0; l < vg->n_lvs; l++)
		text_lv(out, gv, v, l, exact);
}

void xvafs_list_guest_text(FILE *out, const struct xva *xva,
			   const struct xvafs_guest *gv, bool exact)
{
	if (!gv || !gv->g) {
		if (xva->map.n_disks)
			fprintf(out, "\ninside the disks: nothing could be read "
				"(see the warnings)\n");
		return;
	}
	/* A blank line before the tree, when there is one: a table, a
	 * filesystem or a VG. */
	for (size_t i = 0; i < gv->g->n_devs + gv->g->n_disks; i++)
		if (i < gv->g->n_devs ? gv->g->devs[i].fs.type[0] != '\0'
		    : gv->g->tables[i - gv->g->n_devs]->kind != XVA_PT_NONE) {
			fprintf(out, "\n");
			break;
		}
	for (size_t k = 0; k < gv->g->n_disks; k++)
		text_disk(out, xva, gv, k, exact);
	for (size_t v = 0; v < gv->g->lvm->n_vgs; v++)
		text_vg(out, xva, gv, v, exact);
}

/* --- JSON --- */

/* json-c takes ownership of what is added; NULL or "" strings are null. */
static void add_text(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, value && value[0]
					       ? json_object_new_string(value)
					       : NULL);
}

static void add_u64(json_object *o, const char *key, uint64_t value)
{
	json_object_object_add(o, key, json_object_new_uint64(value));
}

static void add_bool(json_object *o, const char *key, bool value)
{
	json_object_object_add(o, key, json_object_new_boolean(value));
}

/* What FS holds, with the links to FILE; null when nothing is known. */
static json_object *fs_json(const struct xvafs_guest *gv,
			    const struct xva_fsinfo *fs, const char *file)
{
	json_object *o, *links;

	if (!fs->type[0])
		return NULL;
	o = json_object_new_object();
	links = json_object_new_array();
	add_text(o, "type", fs->type);
	add_text(o, "version", fs->version);
	add_text(o, "label", fs->label);
	add_text(o, "uuid", fs->uuid);
	for (size_t i = 0; file && i < gv->n_links; i++)
		if (!strcmp(gv->links[i].target, file)) {
			char path[600];

			snprintf(path, sizeof(path), "%s/%s", gv->links[i].folder,
				 gv->links[i].name);
			json_object_array_add(links, json_object_new_string(path));
		}
	json_object_object_add(o, "links", links);
	return o;
}

static json_object *partition_json(const struct xva *xva,
				   const struct xvafs_guest *gv, size_t k,
				   const struct xva_partition *p)
{
	json_object *o = json_object_new_object();
	const char *file = NULL, *device = NULL;
	char type[40];
	size_t dev;
	const struct xva_guest_dev *d = dev_of(gv, k, p, &dev);

	if (d)
		dev_names(xva, gv, dev, &file, &device);
	part_type(p, type, sizeof(type));
	add_u64(o, "number", p->number);
	add_text(o, "file", file);
	add_text(o, "device", device);
	add_u64(o, "start", p->start);
	add_u64(o, "length", p->length);
	add_u64(o, "table_length", p->table_length);
	add_text(o, "type", type);
	add_text(o, "uuid", p->uuid);
	add_text(o, "entry_name", p->name);
	add_bool(o, "bootable", p->flags & XVA_PART_BOOTABLE);
	add_bool(o, "extended", p->flags & XVA_PART_EXTENDED);
	add_bool(o, "logical", p->flags & XVA_PART_LOGICAL);
	add_bool(o, "clamped", p->flags & XVA_PART_CLAMPED);
	json_object_object_add(o, "filesystem",
			       d ? fs_json(gv, &d->fs, file) : NULL);
	return o;
}

void xvafs_list_guest_disk_json(json_object *disk, const struct xva *xva,
				const struct xvafs_guest *gv, size_t i)
{
	size_t k = scanned(gv, i);
	json_object *parts = json_object_new_array(), *table, *fs = NULL;
	const struct xva_ptable *t;

	if (k == (size_t)-1) {
		json_object_object_add(disk, "partition_table", NULL);
		json_object_object_add(disk, "partitions", parts);
		json_object_object_add(disk, "filesystem", NULL);
		return;
	}
	t = gv->g->tables[k];
	table = json_object_new_object();
	add_text(table, "kind", t->kind == XVA_PT_NONE
					? "none" : xva_ptable_kind_name(t->kind));
	add_text(table, "id", t->id);
	add_u64(table, "sector_size", t->sector_size);
	add_bool(table, "backup_used", t->flags & XVA_PT_BACKUP_USED);
	add_bool(table, "hybrid", t->flags & XVA_PT_HYBRID);
	json_object_object_add(disk, "partition_table", table);
	for (size_t p = 0; p < t->n; p++)
		json_object_array_add(parts, partition_json(xva, gv, k,
							    &t->parts[p]));
	json_object_object_add(disk, "partitions", parts);
	for (size_t dev = 0; dev < gv->g->n_devs; dev++)
		if (gv->g->devs[dev].disk == k && !gv->g->devs[dev].part)
			fs = fs_json(gv, &gv->g->devs[dev].fs,
				     xva->map.disks[i].prefix);
	json_object_object_add(disk, "filesystem", fs);
}

static json_object *lv_json(const struct xvafs_guest *gv, size_t v, size_t l)
{
	const struct xva_lvm_lv *lv = &gv->g->lvm->vgs[v].lvs[l];
	json_object *o = json_object_new_object(), *fs = NULL;
	const struct xvafs_guest_item *it = NULL;

	for (size_t i = 0; i < gv->g->n_lvs; i++)
		if (gv->g->lvs[i].vg == v && gv->g->lvs[i].lv == l) {
			it = xvafs_guest_item_of(gv, XVAFS_ITEM_LV, i);
			fs = fs_json(gv, &gv->g->lvs[i].fs, it ? it->file : NULL);
		}
	add_text(o, "name", lv->name);
	add_text(o, "uuid", lv->uuid);
	add_text(o, "file", it ? it->file : NULL);
	add_u64(o, "size", lv->size);
	add_text(o, "segment_types", lv->types);
	add_bool(o, "visible", lv->visible);
	add_bool(o, "servable", lv->servable);
	add_text(o, "why", lv->why);
	json_object_object_add(o, "filesystem", fs);
	return o;
}

static json_object *vg_json(const struct xva *xva,
			    const struct xvafs_guest *gv, size_t v)
{
	const struct xva_lvm_vg *vg = &gv->g->lvm->vgs[v];
	json_object *o = json_object_new_object();
	json_object *pvs = json_object_new_array(), *lvs = json_object_new_array();
	const char *folder = NULL;
	char path[600];

	for (size_t i = 0; i < gv->n_items && !folder; i++)
		if (gv->items[i].kind == XVAFS_ITEM_LV &&
		    gv->g->lvs[gv->items[i].index].vg == v)
			folder = gv->items[i].folder;
	snprintf(path, sizeof(path), "%s/%s", XVAFS_NAME_LVM, folder ? folder : "");
	add_text(o, "name", vg->name);
	add_text(o, "uuid", vg->uuid);
	add_u64(o, "seqno", vg->seqno);
	add_u64(o, "extent_size", vg->extent_size);
	add_bool(o, "partial", vg->partial);
	add_bool(o, "name_shared", vg->name_shared);
	add_text(o, "folder", folder ? path : NULL);
	add_text(o, "metadata_from", vg->metadata_dev >= 0
		 ? gv->g->devs[vg->metadata_dev].name : NULL);
	for (size_t p = 0; p < vg->n_pvs; p++) {
		const struct xva_lvm_pv *pv = &vg->pvs[p];
		json_object *po = json_object_new_object();
		const char *file = NULL, *device = NULL;

		if (pv->dev >= 0)
			dev_names(xva, gv, (size_t)pv->dev, &file, &device);
		add_text(po, "name", pv->name);
		add_text(po, "uuid", pv->uuid);
		add_bool(po, "missing", pv->dev < 0);
		add_text(po, "file", file);
		add_text(po, "device", device);
		add_u64(po, "pe_start", pv->pe_start);
		add_u64(po, "pe_count", pv->pe_count);
		json_object_array_add(pvs, po);
	}
	for (size_t l = 0; l < vg->n_lvs; l++)
		json_object_array_add(lvs, lv_json(gv, v, l));
	json_object_object_add(o, "pvs", pvs);
	json_object_object_add(o, "lvs", lvs);
	return o;
}

static void add_note(void *ctx, const char *message)
{
	json_object_array_add(ctx, json_object_new_string(message));
}

void xvafs_list_guest_json(json_object *root, const struct xva *xva,
			   const struct xvafs_guest *gv)
{
	json_object *vgs = json_object_new_array();
	json_object *notes = json_object_new_array();

	for (size_t v = 0; gv && gv->g && v < gv->g->lvm->n_vgs; v++)
		json_object_array_add(vgs, vg_json(xva, gv, v));
	xvafs_guest_warnings(xva, gv, add_note, notes);
	json_object_object_add(root, "volume_groups", vgs);
	json_object_object_add(root, "guest_notes", notes);
}
