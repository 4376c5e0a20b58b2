/* xvafs --list: what an export holds, without mounting. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_vmconfig.h"
#include "cli/list_guest.h"
#include "cli/tools.h"
#include "front/warnings.h"
#include "xvafs/verify.h"

struct warning_out {
	FILE *out;
	const char *path;
};

static void print_warning(void *ctx, const char *message)
{
	const struct warning_out *w = ctx;

	fprintf(w->out, "xvafs: %s: %s\n", w->path, message);
}

void xvafs_warn(FILE *out, const char *path, const struct xva *xva)
{
	struct warning_out w = { out, path };

	xvafs_export_warnings(xva, "-o verify", print_warning, &w);
	/* The plugin refuses such an export instead: an error, not this. */
	if (xva->map.n_disks == 0)
		fprintf(out, "xvafs: %s: the export holds no disk data "
			"(metadata only): the mount holds ova.xml alone\n", path);
}

static const char *or_dash(const char *s)
{
	return s && s[0] ? s : "-";
}

static const char *checksum_name(enum xva_checksum_kind kind)
{
	return kind == XVA_CHECKSUM_XXHASH ? "xxhash"
	       : kind == XVA_CHECKSUM_SHA1 ? "sha1" : "none";
}

static void print_source(FILE *out, const struct xva *xva, bool exact)
{
	struct xva_source_info info;
	char stored[32], tar[32], cache[32];

	char crypt[128] = "";

	xva_info(xva, &info);
	xvafs_human(info.stored_size, exact, stored, sizeof(stored));
	xvafs_human(xva_tar_size(xva), exact, tar, sizeof(tar));
	if (info.encryption)
		snprintf(crypt, sizeof(crypt), ", encrypted (%s, %s)",
			 info.encryption, info.authentication);
	if (!info.over) {
		fprintf(out, "%s%s, %llu members)\n", stored, crypt,
			(unsigned long long)xva->idx.members);
	} else {
		fprintf(out, "%s %s-compressed%s%s%s, %s uncompressed, %llu "
			"members)\n", stored, info.kind,
			strcmp(info.over, "file") ? " over " : "",
			strcmp(info.over, "file") ? info.over : "", crypt, tar,
			(unsigned long long)xva->idx.members);
	}
	if (info.cache_path[0]) {
		xvafs_human(info.cache_bytes, exact, cache, sizeof(cache));
		fprintf(out, "cache:  %s (%s%s)\n", info.cache_path, cache,
			info.index_loaded ? "" : ", made now");
	}
}

static void print_text(FILE *out, const char *path, const struct xva *xva,
		       const struct xvafs_guest *gv, bool exact)
{
	const struct xva_ovaxml *ova = xva->ova;
	int w_prefix = 6, w_dev = 6;

	fprintf(out, "export: %s (", path);
	print_source(out, xva, exact);
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
		"PREFIX", w_dev, "DEVICE", "SIZE", "PRESENT", "CHUNKS",
		"CHECKSUM", xva->idx.truncated ? "INTACT_TO       " : "",
		"LABEL");
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		const struct xva_disk *d = &xva->map.disks[i];
		char intact[32] = "", size[32], present[32];

		xvafs_human(d->size, exact, size, sizeof(size));
		xvafs_human(d->bytes_present, exact, present, sizeof(present));
		if (xva->idx.truncated) {
			xvafs_human(d->intact_end, exact, intact, sizeof(intact));
			snprintf(intact + strlen(intact),
				 sizeof(intact) - strlen(intact), "%*s",
				 16 - (int)strlen(intact) > 0
					 ? 16 - (int)strlen(intact) : 1, "");
		}
		fprintf(out, "%-*s  %-*s  %14s  %14s  %8zu  %-8s  %s%s\n",
			w_prefix, d->prefix, w_dev, or_dash(xva->names[i].device),
			size, present, d->n_extents,
			checksum_name(d->checksum_kind), intact,
			or_dash(xva->names[i].label));
	}
	xvafs_list_guest_text(out, xva, gv, exact);
}

/* The version of --list --json's layout (doc/list-json.schema.json, the man
 * page's JSON OUTPUT). Fields are only added; one is removed only after a
 * deprecation noted in NEWS, and then this number goes up. */
#define LIST_JSON_SCHEMA_VERSION 1

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
	add_u64(o, "chunks", d->n_extents);
	/* chunks_present and members as the first --list --json had them
	 * (chunks_present: what "chunks" now also says). */
	add_u64(o, "chunks_present", d->n_extents);
	add_u64(o, "members", d->members);
	add_u64(o, "keepalives", d->keepalives);
	add_u64(o, "block_size", d->block);
	add_string(o, "checksum", checksum_name(d->checksum_kind));
	add_u64(o, "stray_checksums", d->stray_checksums);
	add_u64(o, "intact_end", d->intact_end);
	return o;
}

static int print_json(FILE *out, const char *path, const struct xva *xva,
		      const struct xvafs_guest *gv)
{
	const struct xva_ovaxml *ova = xva->ova;
	json_object *root = json_object_new_object();
	json_object *vms = json_object_new_array();
	json_object *disks = json_object_new_array();
	struct xva_source_info info;

	xva_info(xva, &info);
	json_object_object_add(root, "schema_version",
			       json_object_new_int(LIST_JSON_SCHEMA_VERSION));
	add_string(root, "file", path);
	add_u64(root, "file_size", info.stored_size);
	add_string(root, "compression", info.over ? info.kind : NULL);
	add_string(root, "transport", info.over ? info.over : info.kind);
	add_string(root, "encryption", info.encryption);
	add_string(root, "authentication", info.authentication);
	add_u64(root, "tar_size", xva_tar_size(xva));
	add_string(root, "cache_file", info.cache_path[0] ? info.cache_path
							  : NULL);
	add_u64(root, "cache_bytes", info.cache_bytes);
	add_string(root, "stream_warning", xva_stream_warning(xva)[0]
						   ? xva_stream_warning(xva) : NULL);
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
	{
		struct xva_err err;
		struct xva_vm *vm = xvafs_vm_of(xva, NULL, &err);

		json_object_object_add(root, "vm", vm ? xvafs_vm_json(vm) : NULL);
		add_string(root, "vm_error", vm ? NULL : err.msg);
		xva_vm_free(vm);
	}
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		json_object *d = disk_json(xva, i);

		xvafs_list_guest_disk_json(d, xva, gv, i);
		json_object_array_add(disks, d);
	}
	json_object_object_add(root, "disks", disks);
	xvafs_list_guest_json(root, xva, gv);
	fprintf(out, "%s\n", json_object_to_json_string_ext(
				     root, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return XVAFS_EXIT_OK;
}

/* The guest view of XVA's disks as they are in the export (no overlay)
 * over VIEWS (opened here, one per disk); its notes said as warnings on
 * stderr. */
static enum xva_status scan_guest(const char *path, const struct xva *xva,
				  struct xva_view **views,
				  struct xvafs_guest **gv, struct xva_err *err)
{
	struct warning_out w = { stderr, path };
	enum xva_status st = XVA_OK;

	for (size_t i = 0; i < xva->map.n_disks && st == XVA_OK; i++)
		st = xva_view_open(xva, NULL, i, false, &views[i], err);
	if (st == XVA_OK)
		st = xvafs_guest_scan(xva, views, gv, err);
	if (st == XVA_OK)
		xvafs_guest_warnings(xva, *gv, print_warning, &w);
	return st;
}

int xvafs_list(FILE *out, const char *path, const struct xva *xva, bool json,
	       bool exact)
{
	size_t n = xva->map.n_disks;
	struct xva_view **views = calloc(n ? n : 1, sizeof(*views));
	struct xvafs_guest *gv = NULL;
	enum xva_status st = views ? XVA_OK : XVA_ENOMEM;
	struct xva_err err;
	int status = XVAFS_EXIT_OK;

	if (st == XVA_OK)
		st = scan_guest(path, xva, views, &gv, &err);
	if (st != XVA_OK) {
		fprintf(stderr, "xvafs: %s: out of memory\n", path);
		status = xvafs_exit_for(st, XVAFS_AT_EXPORT);
	} else if (json) {
		status = print_json(out, path, xva, gv);
	} else {
		print_text(out, path, xva, gv, exact);
	}
	/* The guest's devices are slices of the disks' views: it goes
	 * first. */
	xvafs_guest_free(gv);
	for (size_t i = 0; views && i < n; i++)
		xva_view_close(views[i]);
	free(views);
	return status;
}

void xvafs_list_json_error(FILE *out, const char *path,
			   enum xva_status status, const char *message)
{
	json_object *root = json_object_new_object();

	json_object_object_add(root, "schema_version",
			       json_object_new_int(LIST_JSON_SCHEMA_VERSION));
	add_string(root, "file", path);
	add_string(root, "error", message);
	add_string(root, "status", xva_strerror(status));
	fprintf(out, "%s\n", json_object_to_json_string_ext(
				     root, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}
