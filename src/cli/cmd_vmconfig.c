/* xvafs --vm-config FORMAT, and the VM in --list --json. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_vmconfig.h"
#include "cli/tools.h"

/* The export's file name, for the header comment: the configuration names
 * where it came from, not the folder it was in when generated. */
static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash && slash[1] ? slash + 1 : path;
}

int xvafs_vm_config(FILE *out, const char *format_name,
		    const struct xva_ovaxml *ova,
		    const struct xva_vm_disk_ref *disks, size_t n,
		    const char *mountpoint, const char *export_path,
		    const char *bridge)
{
	int format = xva_vm_format_from_name(format_name);
	const char *path = export_path ? export_path : "-";
	struct xva_vm *vm = NULL;
	struct xva_err err;
	char *text = NULL;
	size_t len = 0;
	int rc = XVAFS_EXIT_OK;

	xva_err_clear(&err);
	if (format < 0) {
		fprintf(stderr, "xvafs: unknown --vm-config format \"%s\"; "
			"valid formats: %s\n", format_name ? format_name : "",
			xva_vm_format_names());
		return XVAFS_EXIT_USAGE;
	}
	if (!ova) {
		fprintf(stderr, "xvafs: %s: the export holds no VM record (no "
			"ova.xml: a single-disk export)\n", path);
		return XVAFS_EXIT_BAD_INPUT;
	}
	if (xva_vm_build(ova, disks, n, &vm, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s: %s\n", path, err.msg);
		return xvafs_exit_for(err.status, XVAFS_AT_VM);
	}
	if (bridge && xva_vm_set_bridge(vm, bridge, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s\n", err.msg);
		xva_vm_free(vm);
		return err.status == XVA_ENOMEM ? XVAFS_EXIT_BAD_INPUT
						: XVAFS_EXIT_USAGE;
	}
	if (xva_vm_write(vm, (enum xva_vm_format)format, mountpoint,
			 base_name(export_path), &text, &len, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s: %s\n", path, err.msg);
		rc = xvafs_exit_for(err.status, XVAFS_AT_VM);
		goto out;
	}
	if (fwrite(text, 1, len, out) != len || fflush(out) != 0) {
		fprintf(stderr, "xvafs: %s: cannot write the configuration: "
			"%s\n", path, strerror(errno));
		rc = XVAFS_EXIT_OUTPUT;
	}
	for (size_t i = 0; rc == XVAFS_EXIT_OK && i < vm->n_notes; i++)
		fprintf(stderr, "xvafs: %s: not carried over: %s\n", path,
			vm->notes[i]);
out:
	free(text);
	xva_vm_free(vm);
	return rc;
}

/* Adds KEY: VALUE (a string, or null) to OBJ; false when out of memory. */
static bool add_string(json_object *obj, const char *key, const char *value)
{
	json_object *v = NULL;

	if (value && !(v = json_object_new_string(value)))
		return false;
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static bool add(json_object *obj, const char *key, json_object *v)
{
	if (!v || json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static bool append(json_object *array, json_object *v)
{
	if (!v || json_object_array_add(array, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static json_object *disk_json(const struct xva_vm_disk *d)
{
	json_object *o = json_object_new_object();

	if (o && add_string(o, "device", d->device) &&
	    add_string(o, "vdi", d->vdi_id) &&
	    add_string(o, "vdi_uuid", d->vdi_uuid) &&
	    add_string(o, "label", d->label) &&
	    add(o, "userdevice", json_object_new_int64(d->userdevice)) &&
	    add_string(o, "mode", d->read_only ? "ro" : "rw") &&
	    add(o, "bootable", json_object_new_boolean(d->bootable)) &&
	    add(o, "virtual_size", json_object_new_int64((int64_t)d->size)))
		return o;
	json_object_put(o);
	return NULL;
}

static json_object *cdrom_json(const struct xva_vm_cdrom *c)
{
	json_object *o = json_object_new_object();

	if (o && add(o, "userdevice", json_object_new_int64(c->userdevice)) &&
	    add_string(o, "guest_device", c->guest_device) &&
	    add(o, "empty", json_object_new_boolean(!c->iso)) &&
	    add_string(o, "iso", c->iso) &&
	    add(o, "bootable", json_object_new_boolean(c->bootable)))
		return o;
	json_object_put(o);
	return NULL;
}

static json_object *vif_json(const struct xva_vm_vif *v)
{
	json_object *o = json_object_new_object();

	if (o && add(o, "device", json_object_new_int64(v->device)) &&
	    add_string(o, "mac", v->mac) &&
	    add_string(o, "network", v->network) &&
	    add_string(o, "bridge", v->bridge) &&
	    (v->mtu ? add(o, "mtu", json_object_new_int64(v->mtu))
		    : json_object_object_add(o, "mtu", NULL) == 0))
		return o;
	json_object_put(o);
	return NULL;
}

/* A new array under KEY in OBJ (which owns it), or NULL. */
static json_object *add_array(json_object *obj, const char *key)
{
	json_object *array = json_object_new_array();

	return add(obj, key, array) ? array : NULL;
}

json_object *xvafs_vm_json(const struct xva_vm *vm)
{
	static const char *const kinds[] = { "hvm", "pv", "pvh" };
	json_object *o = json_object_new_object();
	json_object *disks, *cdroms, *vifs, *notes;

	if (!o)
		return NULL;
	if (!add_string(o, "name", vm->name) ||
	    !add_string(o, "uuid", vm->uuid) ||
	    !add_string(o, "description", vm->description) ||
	    !add(o, "memory", json_object_new_int64((int64_t)vm->memory_max)) ||
	    !add(o, "memory_target",
		 json_object_new_int64((int64_t)vm->memory_target)) ||
	    !add(o, "vcpus_max", json_object_new_int64(vm->vcpus_max)) ||
	    !add(o, "vcpus_at_startup",
		 json_object_new_int64(vm->vcpus_at_startup)) ||
	    !add_string(o, "kind", kinds[vm->kind]) ||
	    !add_string(o, "firmware",
			vm->firmware == XVA_VM_UEFI ? "uefi" : "bios") ||
	    !add(o, "secure_boot", json_object_new_boolean(vm->secure_boot)) ||
	    !add_string(o, "boot_order", vm->boot_order) ||
	    !add_string(o, "pv_bootloader", vm->pv_bootloader) ||
	    !add(o, "windows", json_object_new_boolean(vm->windows)) ||
	    !(disks = add_array(o, "disks")) ||
	    !(cdroms = add_array(o, "cdroms")) ||
	    !(vifs = add_array(o, "vifs")) ||
	    !(notes = add_array(o, "not_carried_over")))
		goto fail;
	for (size_t i = 0; i < vm->n_disks; i++)
		if (!append(disks, disk_json(&vm->disks[i])))
			goto fail;
	for (size_t i = 0; i < vm->n_cdroms; i++)
		if (!append(cdroms, cdrom_json(&vm->cdroms[i])))
			goto fail;
	for (size_t i = 0; i < vm->n_vifs; i++)
		if (!append(vifs, vif_json(&vm->vifs[i])))
			goto fail;
	for (size_t i = 0; i < vm->n_notes; i++)
		if (!append(notes, json_object_new_string(vm->notes[i])))
			goto fail;
	return o;
fail:
	json_object_put(o);
	return NULL;
}

/* --- on an opened export --- */

struct xva_vm_disk_ref *xvafs_vm_disk_refs(const struct xva *xva, size_t *n)
{
	struct xva_vm_disk_ref *refs = calloc(xva->map.n_disks + 1,
					      sizeof(*refs));

	*n = 0;
	for (size_t i = 0; refs && i < xva->map.n_disks; i++) {
		if (!xva->names[i].device)
			continue;
		refs[*n].vdi_id = xva->map.disks[i].prefix;
		refs[*n].device = xva->names[i].device;
		(*n)++;
	}
	return refs;
}

int xvafs_vm_config_of(FILE *out, const char *format_name,
		       const struct xva *xva, const char *mountpoint,
		       const char *export_path, const char *bridge)
{
	struct xva_vm_disk_ref *refs;
	size_t n;
	int rc;

	refs = xvafs_vm_disk_refs(xva, &n);
	if (!refs) {
		fprintf(stderr, "xvafs: out of memory\n");
		return XVAFS_EXIT_BAD_INPUT;
	}
	rc = xvafs_vm_config(out, format_name, xva->ova, refs, n, mountpoint,
			     export_path, bridge);
	free(refs);
	return rc;
}

struct xva_vm *xvafs_vm_of(const struct xva *xva, const char *bridge,
			   struct xva_err *err)
{
	struct xva_vm_disk_ref *refs;
	struct xva_vm *vm = NULL;
	size_t n;

	if (!xva->ova) {
		xva_fail(err, XVA_EFORMAT, "the export holds no VM record (no "
			 "ova.xml: a single-disk export)");
		return NULL;
	}
	refs = xvafs_vm_disk_refs(xva, &n);
	if (!refs) {
		xva_nomem(err);
		return NULL;
	}
	xva_vm_build(xva->ova, refs, n, &vm, err);
	free(refs);
	if (vm && bridge && xva_vm_set_bridge(vm, bridge, err) != XVA_OK) {
		xva_vm_free(vm);
		vm = NULL;
	}
	return vm;
}
