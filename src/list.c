/* xvafs --list: what an export holds, without mounting. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "tools.h"

void xvafs_warn(FILE *out, const char *path, const struct xva *xva)
{
	if (xva->idx.truncated) {
		fprintf(out, "xvafs: %s: %s\n", path, xva->idx.truncation);
		for (size_t i = 0; i < xva->map.n_disks; i++) {
			const struct xva_disk *d = &xva->map.disks[i];

			if (d->intact_end < d->size)
				fprintf(out, "xvafs: %s: disk %s is intact up to "
					"byte %llu of %llu; reads past it fail\n",
					path, d->prefix,
					(unsigned long long)d->intact_end,
					(unsigned long long)d->size);
		}
	}
	if (xva->map.n_disks == 0)
		fprintf(out, "xvafs: %s: the export holds no disk data "
			"(metadata only); the mount will be empty\n", path);
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		const struct xva_disk *d = &xva->map.disks[i];
		uint64_t missing = d->members - d->n_checksums;

		/* The chunk a cut falls in lost its checksum to the cut. */
		if (d->intact_end < d->size && !d->last_has_checksum && missing)
			missing--;
		if (d->n_checksums > 0 && missing > 0)
			fprintf(out, "xvafs: %s: disk %s: %llu of %llu chunks "
				"have no checksum member\n", path, d->prefix,
				(unsigned long long)missing,
				(unsigned long long)d->members);
	}
}

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

static void print_text(FILE *out, const char *path, const struct xva *xva)
{
	const struct xva_ovaxml *ova = xva->ova;
	int w_prefix = 6, w_dev = 6;

	fprintf(out, "export: %s (%llu bytes, %llu members)\n", path,
		(unsigned long long)xva->st.st_size,
		(unsigned long long)xva->idx.members);
	if (ova) {
		fprintf(out, "from:   %s, %s %s, %s\n",
			or_dash(ova->version.hostname),
			or_dash(ova->version.product_brand),
			or_dash(ova->version.product_version),
			or_dash(ova->version.date));
		for (size_t i = 0; i < ova->n_vms; i++)
			fprintf(out, "vm:     %s%s\n", or_dash(ova->vms[i].name_label),
				ova->vms[i].is_a_snapshot ? " (snapshot)" : "");
	} else {
		fprintf(out, "from:   - (no ova.xml: a single-disk export)\n");
	}
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		int n = (int)strlen(xva->map.disks[i].prefix);

		w_prefix = n > w_prefix ? n : w_prefix;
		n = xva->names[i].device ? (int)strlen(xva->names[i].device) : 1;
		w_dev = n > w_dev ? n : w_dev;
	}
	fprintf(out, "%-*s  %-*s  %14s  %14s  %8s  %-8s  %s%s\n", w_prefix,
		"PREFIX", w_dev, "DEVICE", "VIRTUAL_SIZE", "PRESENT", "CHUNKS",
		"CHECKSUM", xva->idx.truncated ? "INTACT_TO  " : "", "LABEL");
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		const struct xva_disk *d = &xva->map.disks[i];
		char intact[32] = "";

		if (xva->idx.truncated)
			snprintf(intact, sizeof(intact), "%-11llu  ",
				 (unsigned long long)d->intact_end);
		fprintf(out, "%-*s  %-*s  %14llu  %14llu  %8zu  %-8s  %s%s\n",
			w_prefix, d->prefix, w_dev, or_dash(xva->names[i].device),
			(unsigned long long)d->size,
			(unsigned long long)d->bytes_present, d->n_extents,
			d->checksum_kind == XVA_CHECKSUM_XXHASH ? "xxhash"
			: d->checksum_kind == XVA_CHECKSUM_SHA1 ? "sha1" : "none",
			intact, or_dash(xva->names[i].label));
	}
}

/* json-c takes ownership of what is added; NULL strings become null. */
static void add_string(json_object *obj, const char *key, const char *value)
{
	json_object_object_add(obj, key, value ? json_object_new_string(value)
					       : NULL);
}

static void add_u64(json_object *obj, const char *key, uint64_t value)
{
	json_object_object_add(obj, key, json_object_new_uint64(value));
}

static json_object *disk_json(const struct xva *xva, size_t i)
{
	const struct xva_disk *d = &xva->map.disks[i];
	const struct xva_disk_names *nm = &xva->names[i];
	json_object *o = json_object_new_object();

	add_string(o, "prefix", d->prefix);
	add_string(o, "device", nm->device);
	add_string(o, "label", nm->label);
	add_string(o, "name_label", nm->vdi ? nm->vdi->name_label : NULL);
	add_string(o, "name_description",
		   nm->vdi ? nm->vdi->name_description : NULL);
	add_string(o, "uuid", nm->vdi ? nm->vdi->uuid : NULL);
	add_string(o, "type", nm->vdi ? nm->vdi->type : NULL);
	add_string(o, "vm", nm->vm ? nm->vm->name_label : NULL);
	add_string(o, "userdevice", nm->vbd ? nm->vbd->userdevice : NULL);
	add_string(o, "mode", nm->vbd ? nm->vbd->mode : NULL);
	json_object_object_add(o, "bootable", json_object_new_boolean(
				       nm->vbd && nm->vbd->bootable));
	json_object_object_add(o, "read_only", json_object_new_boolean(
				       nm->vdi && nm->vdi->read_only));
	add_u64(o, "virtual_size", d->size);
	add_u64(o, "bytes_present", d->bytes_present);
	add_u64(o, "chunks_present", d->n_extents);
	add_u64(o, "members", d->members);
	add_u64(o, "keepalives", d->keepalives);
	add_u64(o, "block_size", d->block);
	add_string(o, "checksum",
		   d->checksum_kind == XVA_CHECKSUM_XXHASH ? "xxhash"
		   : d->checksum_kind == XVA_CHECKSUM_SHA1 ? "sha1" : "none");
	add_u64(o, "intact_end", d->intact_end);
	return o;
}

static int print_json(FILE *out, const char *path, const struct xva *xva)
{
	const struct xva_ovaxml *ova = xva->ova;
	json_object *root = json_object_new_object();
	json_object *vms = json_object_new_array();
	json_object *disks = json_object_new_array();

	add_string(root, "file", path);
	add_u64(root, "file_size", (uint64_t)xva->st.st_size);
	add_u64(root, "members", xva->idx.members);
	json_object_object_add(root, "truncated",
			       json_object_new_boolean(xva->idx.truncated));
	json_object_object_add(root, "index_from_cache",
			       json_object_new_boolean(xva->index_from_cache));
	add_string(root, "truncation", xva->idx.truncated ? xva->idx.truncation : NULL);
	if (ova) {
		json_object *v = json_object_new_object();

		add_string(v, "hostname", ova->version.hostname);
		add_string(v, "date", ova->version.date);
		add_string(v, "product_brand", ova->version.product_brand);
		add_string(v, "product_version", ova->version.product_version);
		add_string(v, "export_vsn", ova->version.export_vsn);
		json_object_object_add(root, "version", v);
		for (size_t i = 0; i < ova->n_vms; i++) {
			json_object *vm = json_object_new_object();

			add_string(vm, "id", ova->vms[i].id);
			add_string(vm, "name_label", ova->vms[i].name_label);
			json_object_object_add(vm, "is_a_snapshot",
				json_object_new_boolean(ova->vms[i].is_a_snapshot));
			json_object_array_add(vms, vm);
		}
	} else {
		json_object_object_add(root, "version", NULL);
	}
	json_object_object_add(root, "vms", vms);
	for (size_t i = 0; i < xva->map.n_disks; i++)
		json_object_array_add(disks, disk_json(xva, i));
	json_object_object_add(root, "disks", disks);
	fprintf(out, "%s\n", json_object_to_json_string_ext(
				     root, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return XVAFS_EXIT_OK;
}

int xvafs_list(FILE *out, const char *path, const struct xva *xva, bool json)
{
	if (json)
		return print_json(out, path, xva);
	print_text(out, path, xva);
	return XVAFS_EXIT_OK;
}
