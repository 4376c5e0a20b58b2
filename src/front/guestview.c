/* The guest view's names (guestview.h): one scan, then every partition,
 * LV and filesystem link named once, in a fixed order (disks in the
 * export's order, partitions in table order, LVs in metadata order), so
 * that the first of two claimants to a name always wins and every front
 * end agrees on which. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/guestview.h"
#include "xvafs/verify.h"

/* --- notes --- */

static enum xva_status add_note(struct xvafs_guest *gv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static enum xva_status add_note(struct xvafs_guest *gv, const char *fmt, ...)
{
	char **notes = realloc(gv->notes, (gv->n_notes + 1) * sizeof(*notes));
	va_list ap;
	int n;

	if (!notes)
		return XVA_ENOMEM;
	gv->notes = notes;
	va_start(ap, fmt);
	n = vasprintf(&notes[gv->n_notes], fmt, ap);
	va_end(ap);
	if (n < 0)
		return XVA_ENOMEM;
	gv->n_notes++;
	return XVA_OK;
}

/* --- the scan --- */

/* xva_guest_scan of the export's disks WHICH[0..N). */
static enum xva_status scan_some(const struct xva *xva,
				 struct xva_view *const *disks,
				 const size_t *which, size_t n,
				 struct xva_guest **out, struct xva_err *err)
{
	struct xva_view **views = calloc(n ? n : 1, sizeof(*views));
	const char **names = calloc(n ? n : 1, sizeof(*names));
	enum xva_status st;

	if (!views || !names) {
		free(views);
		free(names);
		return xva_nomem(err);
	}
	/* Named by prefix: the names of the files they get. */
	for (size_t k = 0; k < n; k++) {
		views[k] = disks[which[k]];
		names[k] = xva->map.disks[which[k]].prefix;
	}
	st = xva_guest_scan(views, names, n, out, err);
	free(views);
	free(names);
	return st;
}

/* Why disk I is left out of the scan: it failed with ERR on its own. */
static enum xva_status note_unread(struct xvafs_guest *gv,
				   const struct xva *xva, size_t i,
				   const struct xva_err *err)
{
	const struct xva_disk *d = &xva->map.disks[i];

	/* The cut was announced with this wording; the same words say why
	 * this disk's contents are missing. */
	if (err->status == XVA_ECUT)
		return add_note(gv, "disk %s is intact up to byte %llu of %llu: "
				"its partitions and LVM volumes are not read",
				d->prefix, (unsigned long long)d->intact_end,
				(unsigned long long)d->size);
	return add_note(gv, "disk %s: its partitions and LVM volumes are not "
			"read: %s", d->prefix, err->msg);
}

/* Scans every disk; when that fails, each alone, to leave out those that
 * cannot be read, then the rest together. */
static enum xva_status scan(const struct xva *xva,
			    struct xva_view *const *disks,
			    struct xvafs_guest *gv, struct xva_err *err)
{
	size_t n = xva->map.n_disks, kept = 0;
	enum xva_status st;

	gv->disk_index = calloc(n ? n : 1, sizeof(*gv->disk_index));
	if (!gv->disk_index)
		return xva_nomem(err);
	for (size_t i = 0; i < n; i++)
		gv->disk_index[i] = i;
	st = scan_some(xva, disks, gv->disk_index, n, &gv->g, err);
	if (st == XVA_OK || st == XVA_ENOMEM)
		return st;
	for (size_t i = 0; i < n; i++) {
		struct xva_guest *one;
		struct xva_err why;

		/* A chunk that failed its checksum above is reported again,
		 * with its message, for the disk it is on. */
		xva_verify_rearm(xva);
		st = scan_some(xva, disks, &i, 1, &one, &why);
		xva_guest_free(one);
		if (st == XVA_ENOMEM)
			return xva_nomem(err);
		if (st == XVA_OK)
			gv->disk_index[kept++] = i;
		else if (note_unread(gv, xva, i, &why) != XVA_OK)
			return xva_nomem(err);
	}
	st = scan_some(xva, disks, gv->disk_index, kept, &gv->g, err);
	if (st == XVA_ENOMEM)
		return st;
	if (st != XVA_OK && add_note(gv, "partitions and LVM volumes are not "
				     "read: %s", err->msg) != XVA_OK)
		return xva_nomem(err);
	return XVA_OK;
}

/* --- names --- */

/* Whether S can be one file name as it is. */
static bool safe_component(const char *s)
{
	if (!s[0] || strlen(s) > 255 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool is_reserved(const char *name)
{
	static const char *const reserved[] = {
		XVA_NAME_OVA_XML, XVA_NAME_BY_DEVICE, XVA_NAME_BY_LABEL,
		XVA_NAME_VM, XVAFS_NAME_LVM, XVAFS_NAME_BY_UUID,
	};

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (!strcmp(name, reserved[i]))
			return true;
	return false;
}

/* What already has NAME at the mount's root, or NULL. */
static const char *root_owner(const struct xva *xva,
			      const struct xvafs_guest *gv, const char *name)
{
	if (is_reserved(name))
		return "a name the mount keeps for itself";
	for (size_t i = 0; i < xva->map.n_disks; i++)
		if (!strcmp(xva->map.disks[i].prefix, name))
			return "a disk's prefix";
	for (size_t i = 0; i < gv->n_items; i++)
		if (!strcmp(gv->items[i].file, name))
			return "another partition";
	return NULL;
}

/* Whether a disk's prefix is NAME: the folder NAME cannot be made then
 * (lvm/ and by-uuid/ are not names an export reserves). */
static bool is_prefix(const struct xva *xva, const char *name)
{
	for (size_t i = 0; i < xva->map.n_disks; i++)
		if (!strcmp(xva->map.disks[i].prefix, name))
			return true;
	return false;
}

/* Whether by-device/NAME is taken. */
static bool device_taken(const struct xva *xva, const struct xvafs_guest *gv,
			 const char *name)
{
	for (size_t i = 0; i < xva->map.n_disks; i++)
		if (xva->names[i].device && !strcmp(xva->names[i].device, name))
			return true;
	for (size_t i = 0; i < gv->n_items; i++)
		if (gv->items[i].device && !strcmp(gv->items[i].device, name))
			return true;
	return false;
}

static struct xvafs_guest_item *new_item(struct xvafs_guest *gv)
{
	struct xvafs_guest_item *items = realloc(gv->items, (gv->n_items + 1) *
						 sizeof(*items));

	if (!items)
		return NULL;
	gv->items = items;
	memset(&items[gv->n_items], 0, sizeof(*items));
	return &items[gv->n_items];
}

/* The file of partition device DEV, and its by-device/ name. */
static enum xva_status name_partition(const struct xva *xva,
				      struct xvafs_guest *gv, size_t dev)
{
	const struct xva_guest_dev *d = &gv->g->devs[dev];
	size_t disk = gv->disk_index[d->disk];
	const char *device = xva->names[disk].device, *owner;
	struct xvafs_guest_item *it;
	char name[300];

	if ((owner = root_owner(xva, gv, d->name)))
		return add_note(gv, "partition %u of disk %s is not served: its "
				"name %s is %s", d->part->number,
				xva->map.disks[disk].prefix, d->name, owner);
	if (!(it = new_item(gv)) || !(it->file = strdup(d->name)))
		return XVA_ENOMEM;
	gv->n_items++;
	it->kind = XVAFS_ITEM_PART;
	it->index = dev;
	it->disk = disk;
	it->base = it->file;
	it->fs = &d->fs;
	if (!device)
		return XVA_OK;
	xva_partition_name(name, sizeof(name), device, d->part->number);
	if (device_taken(xva, gv, name))
		return add_note(gv, "%s/%s is taken: partition %s is served as "
				"%s only", XVA_NAME_BY_DEVICE, name, d->name,
				d->name);
	it->device = strdup(name);
	return it->device ? XVA_OK : XVA_ENOMEM;
}

/* The file lvm/PATH of served LV I. */
static enum xva_status name_lv(const struct xva *xva, struct xvafs_guest *gv,
			       size_t i)
{
	const struct xva_guest_lv *glv = &gv->g->lvs[i];
	const struct xva_lvm_vg *vg = &gv->g->lvm->vgs[glv->vg];
	const struct xva_lvm_lv *lv = &vg->lvs[glv->lv];
	size_t folder_len = strlen(glv->path) - strlen(lv->name) - 1;
	struct xvafs_guest_item *it;
	char *file;

	if (!safe_component(vg->name) || !safe_component(lv->name))
		return add_note(gv, "LV %s of VG %s is not served: its name "
				"cannot be a file's", lv->name, vg->name);
	if (is_prefix(xva, XVAFS_NAME_LVM))
		return add_note(gv, "LV %s of VG %s is not served: a disk's "
				"prefix is %s", lv->name, vg->name,
				XVAFS_NAME_LVM);
	if (asprintf(&file, "%s/%s", XVAFS_NAME_LVM, glv->path) < 0)
		return XVA_ENOMEM;
	for (size_t k = 0; k < gv->n_items; k++)
		if (!strcmp(gv->items[k].file, file)) {
			free(file);
			return add_note(gv, "LV %s of VG %s (%s) is not served: "
					"%s/%s names another LV", lv->name,
					vg->name, vg->uuid, XVAFS_NAME_LVM,
					glv->path);
		}
	if (!(it = new_item(gv)) ||
	    !(it->folder = strndup(glv->path, folder_len))) {
		free(file);
		return XVA_ENOMEM;
	}
	gv->n_items++;
	it->kind = XVAFS_ITEM_LV;
	it->index = i;
	it->file = file;
	it->base = file + strlen(file) - strlen(lv->name);
	it->fs = &glv->fs;
	return XVA_OK;
}

static enum xva_status name_items(const struct xva *xva,
				  struct xvafs_guest *gv)
{
	enum xva_status st = XVA_OK;

	for (size_t i = 0; i < gv->g->n_devs && st == XVA_OK; i++)
		if (gv->g->devs[i].part)
			st = name_partition(xva, gv, i);
	for (size_t i = 0; i < gv->g->n_lvs && st == XVA_OK; i++)
		st = name_lv(xva, gv, i);
	return st;
}

/* --- links --- */

/* udev links by uuid what holds a filesystem, swap or an encrypted
 * volume, and by label the first two: never a PV (LVM2_member). */
static bool links_uuid(const struct xva_fsinfo *fs)
{
	return fs->type[0] && fs->uuid[0] && strcmp(fs->type, "LVM2_member");
}

static bool links_label(const struct xva_fsinfo *fs)
{
	return fs->type[0] && fs->label[0] && strcmp(fs->type, "LVM2_member") &&
	       strcmp(fs->type, "crypto_LUKS");
}

static const struct xvafs_guest_link *find_link(const struct xvafs_guest *gv,
						const char *folder,
						const char *name)
{
	for (size_t i = 0; i < gv->n_links; i++)
		if (gv->links[i].folder == folder && !strcmp(gv->links[i].name,
							      name))
			return &gv->links[i];
	return NULL;
}

/* Links FOLDER/NAME (NAME taken over) to TARGET. */
static enum xva_status add_link(struct xvafs_guest *gv, const char *folder,
				char *name, const char *target)
{
	struct xvafs_guest_link *links = realloc(gv->links, (gv->n_links + 1) *
						 sizeof(*links));

	if (!links) {
		free(name);
		return XVA_ENOMEM;
	}
	gv->links = links;
	links[gv->n_links++] = (struct xvafs_guest_link){ folder, name, target };
	return XVA_OK;
}

static enum xva_status link_uuid(const struct xva *xva,
				 struct xvafs_guest *gv,
				 const struct xva_fsinfo *fs,
				 const char *target)
{
	char *name;
	const struct xvafs_guest_link *had;

	if (is_prefix(xva, XVAFS_NAME_BY_UUID))
		return add_note(gv, "%s is not linked by uuid: a disk's prefix "
				"is %s", target, XVAFS_NAME_BY_UUID);
	if (!(name = xva_safe_name(fs->uuid)))
		return XVA_ENOMEM;
	if ((had = find_link(gv, XVAFS_NAME_BY_UUID, name))) {
		enum xva_status st = add_note(gv, "%s/%s: %s and %s hold "
					      "filesystems with this UUID (one "
					      "a copy of the other?): it links "
					      "to %s only", XVAFS_NAME_BY_UUID,
					      name, had->target, target,
					      had->target);
		free(name);
		return st;
	}
	return add_link(gv, XVAFS_NAME_BY_UUID, name, target);
}

static enum xva_status link_label(const struct xva *xva,
				  struct xvafs_guest *gv,
				  const struct xva_fsinfo *fs,
				  const char *target)
{
	char *name = xva_safe_name(fs->label);
	const struct xvafs_guest_link *had;
	enum xva_status st = XVA_OK;

	if (!name)
		return XVA_ENOMEM;
	for (size_t i = 0; i < xva->map.n_disks; i++)
		if (xva->names[i].label && !strcmp(xva->names[i].label, name)) {
			st = add_note(gv, "%s/%s is disk %s (its VDI's label): "
				      "the filesystem label of %s is not "
				      "linked there%s%s%s", XVA_NAME_BY_LABEL,
				      name, xva->map.disks[i].prefix, target,
				      links_uuid(fs) ? " (it is at by-uuid/" : "",
				      links_uuid(fs) ? fs->uuid : "",
				      links_uuid(fs) ? ")" : "");
			free(name);
			return st;
		}
	if ((had = find_link(gv, XVA_NAME_BY_LABEL, name))) {
		st = add_note(gv, "%s/%s: %s and %s hold filesystems with this "
			      "label: it links to %s only", XVA_NAME_BY_LABEL,
			      name, had->target, target, had->target);
		free(name);
		return st;
	}
	return add_link(gv, XVA_NAME_BY_LABEL, name, target);
}

static enum xva_status link_fs(const struct xva *xva, struct xvafs_guest *gv,
			       const struct xva_fsinfo *fs, const char *target)
{
	enum xva_status st = XVA_OK;

	if (links_uuid(fs))
		st = link_uuid(xva, gv, fs, target);
	if (st == XVA_OK && links_label(fs))
		st = link_label(xva, gv, fs, target);
	return st;
}

/* Disks without a partition table (their filesystem is the disk file),
 * then partitions, then LVs. */
static enum xva_status name_links(const struct xva *xva,
				  struct xvafs_guest *gv)
{
	enum xva_status st = XVA_OK;

	for (size_t i = 0; i < gv->g->n_devs && st == XVA_OK; i++) {
		const struct xva_guest_dev *d = &gv->g->devs[i];
		const struct xvafs_guest_item *it;

		if (!d->part)
			st = link_fs(xva, gv, &d->fs, xva->map.disks[
					     gv->disk_index[d->disk]].prefix);
		else if ((it = xvafs_guest_item_of(gv, XVAFS_ITEM_PART, i)))
			st = link_fs(xva, gv, it->fs, it->file);
	}
	for (size_t i = 0; i < gv->n_items && st == XVA_OK; i++)
		if (gv->items[i].kind == XVAFS_ITEM_LV)
			st = link_fs(xva, gv, gv->items[i].fs, gv->items[i].file);
	return st;
}

/* --- the interface --- */

enum xva_status xvafs_guest_scan(const struct xva *xva,
				 struct xva_view *const *disks,
				 struct xvafs_guest **out, struct xva_err *err)
{
	struct xvafs_guest *gv = calloc(1, sizeof(*gv));
	enum xva_status st;

	*out = NULL;
	if (!gv)
		return xva_nomem(err);
	st = scan(xva, disks, gv, err);
	if (st == XVA_OK && gv->g) {
		st = name_items(xva, gv);
		if (st == XVA_OK)
			st = name_links(xva, gv);
		if (st != XVA_OK)
			st = xva_nomem(err);
	}
	if (st != XVA_OK) {
		xvafs_guest_free(gv);
		return st;
	}
	*out = gv;
	return XVA_OK;
}

void xvafs_guest_free(struct xvafs_guest *gv)
{
	if (!gv)
		return;
	for (size_t i = 0; i < gv->n_items; i++) {
		free(gv->items[i].file);
		free(gv->items[i].folder);
		free(gv->items[i].device);
	}
	free(gv->items);
	for (size_t i = 0; i < gv->n_links; i++)
		free(gv->links[i].name);
	free(gv->links);
	for (size_t i = 0; i < gv->n_notes; i++)
		free(gv->notes[i]);
	free(gv->notes);
	xva_guest_free(gv->g);
	free(gv->disk_index);
	free(gv);
}

const struct xvafs_guest_item *xvafs_guest_find(const struct xvafs_guest *gv,
						const char *name)
{
	for (size_t i = 0; gv && i < gv->n_items; i++)
		if (!strcmp(gv->items[i].file, name) ||
		    (gv->items[i].device && !strcmp(gv->items[i].device, name)))
			return &gv->items[i];
	return NULL;
}

const struct xvafs_guest_item *xvafs_guest_item_of(const struct xvafs_guest *gv,
						   enum xvafs_item_kind kind,
						   size_t index)
{
	for (size_t i = 0; gv && i < gv->n_items; i++)
		if (gv->items[i].kind == kind && gv->items[i].index == index)
			return &gv->items[i];
	return NULL;
}

enum xva_status xvafs_guest_item_view(const struct xvafs_guest *gv,
				      const struct xvafs_guest_item *it,
				      const char *name, bool writable,
				      struct xva_view **out,
				      struct xva_err *err)
{
	const struct xva_guest *g = gv->g;
	struct xva_view **devs;
	enum xva_status st;

	if (!name)
		name = it->file;
	if (it->kind == XVAFS_ITEM_PART) {
		const struct xva_guest_dev *d = &g->devs[it->index];

		st = xva_view_slice(g->disks[d->disk], d->part->start,
				    d->part->length, name, out, err);
		/* A slice is as writable as its disk. */
		if (st == XVA_OK && !writable)
			(*out)->writable = false;
		return st;
	}
	if (!(devs = calloc(g->n_devs ? g->n_devs : 1, sizeof(*devs))))
		return xva_nomem(err);
	for (size_t i = 0; i < g->n_devs; i++)
		devs[i] = g->devs[i].view;
	st = xva_lvm_lv_view(g->lvm, g->lvs[it->index].vg, g->lvs[it->index].lv,
			     devs, name, writable, out, err);
	free(devs);
	return st;
}

void xvafs_fs_describe(const struct xva_fsinfo *fs, char *buf, size_t len)
{
	int n;

	buf[0] = '\0';
	if (!fs->type[0])
		return;
	n = snprintf(buf, len, "%s", fs->type);
	if (fs->version[0] && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " %s", fs->version);
	if (fs->label[0] && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " \"%s\"", fs->label);
	if (fs->uuid[0] && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " %s", fs->uuid);
}
