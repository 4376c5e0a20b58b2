/* The exported VM: ova.xml's VM, VBD, VIF and network records checked and
 * turned into plain values, with notes of what no format carries over
 * (see vm.h). The writers are vm_writer.c and vm_xl.c, vm_libvirt.c,
 * vm_qemu.c. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/firmware.h"
#include "vm/vm_writer.h"
#include "xvafs/number.h"
#include "xvafs/vm.h"

/* Past these a VM record is not one a hypervisor could have run. */
#define VM_MEMORY_MAX (UINT64_C(1) << 50)   /* 1 PiB */
#define VM_MEMORY_MIN (UINT64_C(1) << 20)   /* 1 MiB */
#define VM_VCPUS_MAX 4096
#define VM_USERDEVICE_MAX 65535
#define VM_DEVICES_MAX 1024       /* VBDs, VIFs: XAPI allows far fewer */
#define VM_STEM_MAX 200

static bool is_empty(const char *s)
{
	return !s || !s[0];
}

/* Declared in firmware.h: vm_firmware.c adds notes too. */
enum xva_status xva_vm_add_note(struct xva_vm *vm, struct xva_err *err,
				const char *fmt, ...)
{
	char **bigger;
	va_list ap;
	char *note;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&note, fmt, ap);
	va_end(ap);
	if (n < 0)
		return xva_nomem(err);
	bigger = realloc(vm->notes, (vm->n_notes + 1) * sizeof(*bigger));
	if (!bigger) {
		free(note);
		return xva_nomem(err);
	}
	vm->notes = bigger;
	vm->notes[vm->n_notes++] = note;
	return XVA_OK;
}

/* strdup of S, NULL staying NULL; false when out of memory. */
static bool dup_opt(char **dst, const char *s)
{
	*dst = s ? strdup(s) : NULL;
	return !s || *dst;
}

/* A decimal number with nothing around it but blanks. */
static bool parse_u64(const char *text, uint64_t *out)
{
	const char *p = text;
	uint64_t v = 0;

	if (!p)
		return false;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (!xva_parse_digits(p, 10, &v, &p))
		return false;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p)
		return false;
	*out = v;
	return true;
}

static bool parse_long(const char *text, long *out)
{
	bool negative = false;
	uint64_t v;

	while (text && (*text == ' ' || *text == '\t'))
		text++;
	if (text && (*text == '-' || *text == '+'))
		negative = *text++ == '-';
	if (!parse_u64(text, &v) || v > (uint64_t)LONG_MAX)
		return false;
	*out = negative ? -(long)v : (long)v;
	return true;
}

/* Every writer can put these as they are: no quoting anywhere. */
static bool is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (!s || strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* aa:bb:cc:dd:ee:ff, or with dashes; *OUT gets it in lower case with
 * colons. */
static bool normal_mac(const char *s, char out[18])
{
	if (!s || strlen(s) != 17)
		return false;
	for (size_t i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':' && s[i] != '-')
				return false;
			out[i] = ':';
		} else {
			if (!isxdigit((unsigned char)s[i]))
				return false;
			out[i] = (char)tolower((unsigned char)s[i]);
		}
	}
	out[17] = '\0';
	return true;
}

/* A Linux interface name (at most 15 bytes, no '/', blanks or ':'),
 * restricted further to what needs no quoting in an xl vif spec (no ','
 * or '=') nor in a shell word. */
static bool is_bridge_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 15)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return s[0] != '-';
}

static bool is_device_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 32 || !islower((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* Declared in vm_writer.h: the writers name their targets so too. */
char *xva_vm_device_name(const char *prefix, unsigned index)
{
	char letters[8], *name;
	size_t n = 0, plen = strlen(prefix);
	unsigned v = index + 1;

	while (v > 0 && n < sizeof(letters)) {
		letters[n++] = (char)('a' + (v - 1) % 26);
		v = (v - 1) / 26;
	}
	name = malloc(plen + n + 1);
	if (!name)
		return NULL;
	memcpy(name, prefix, plen);
	for (size_t i = 0; i < n; i++)
		name[plen + i] = letters[n - 1 - i];
	name[plen + n] = '\0';
	return name;
}

static bool is_true(const char *s)
{
	return s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0);
}

static bool is_false(const char *s)
{
	return s && (strcmp(s, "false") == 0 || strcmp(s, "0") == 0);
}

/* The VM an export is about (see vm.h). */
static const struct xva_ova_vm *pick_vm(const struct xva_ovaxml *ova,
					size_t *n_candidates)
{
	const struct xva_ova_vm *first_vm = NULL, *first_template = NULL;
	size_t vms = 0, templates = 0;

	for (size_t i = 0; i < ova->n_vms; i++) {
		const struct xva_ova_vm *v = &ova->vms[i];

		if (v->is_a_snapshot || v->is_control_domain)
			continue;
		if (v->is_a_template) {
			templates++;
			if (!first_template)
				first_template = v;
		} else {
			vms++;
			if (!first_vm)
				first_vm = v;
		}
	}
	*n_candidates = first_vm ? vms : templates;
	return first_vm ? first_vm : first_template;
}

static enum xva_status bad_field(struct xva_err *err, const struct xva_ova_vm *v,
				 const char *field, const char *value,
				 const char *why)
{
	return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
			    "ova.xml: VM %s field %s \"%.40s\" %s", v->id, field,
			    value ? value : "", why);
}

static enum xva_status read_memory(struct xva_vm *vm, const struct xva_ova_vm *v,
				   struct xva_err *err)
{
	uint64_t target;

	if (is_empty(v->memory_static_max))
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
				    "ova.xml: VM %s has no memory_static_max",
				    v->id);
	if (!parse_u64(v->memory_static_max, &vm->memory_max) ||
	    vm->memory_max < VM_MEMORY_MIN || vm->memory_max > VM_MEMORY_MAX)
		return bad_field(err, v, "memory_static_max",
				 v->memory_static_max,
				 "is not a memory size in bytes (1 MiB to 1 PiB)");
	if (is_empty(v->memory_dynamic_max)) {
		vm->memory_target = vm->memory_max;
		return XVA_OK;
	}
	if (!parse_u64(v->memory_dynamic_max, &target) ||
	    target < VM_MEMORY_MIN)
		return bad_field(err, v, "memory_dynamic_max",
				 v->memory_dynamic_max,
				 "is not a memory size in bytes");
	if (target > vm->memory_max)
		return bad_field(err, v, "memory_dynamic_max",
				 v->memory_dynamic_max,
				 "is above memory_static_max");
	vm->memory_target = target;
	return XVA_OK;
}

static enum xva_status read_vcpus(struct xva_vm *vm, const struct xva_ova_vm *v,
				  struct xva_err *err)
{
	uint64_t max, at_startup;

	if (!parse_u64(v->vcpus_max, &max) || max < 1 || max > VM_VCPUS_MAX)
		return bad_field(err, v, "VCPUs_max", v->vcpus_max,
				 "is not a vCPU count (1 to 4096)");
	if (!parse_u64(v->vcpus_at_startup, &at_startup) || at_startup < 1 ||
	    at_startup > max)
		return bad_field(err, v, "VCPUs_at_startup", v->vcpus_at_startup,
				 "is not a vCPU count from 1 to VCPUs_max");
	vm->vcpus_max = (unsigned)max;
	vm->vcpus_at_startup = (unsigned)at_startup;
	return XVA_OK;
}

static enum xva_status read_kind(struct xva_vm *vm, const struct xva_ova_vm *v,
				 struct xva_err *err)
{
	const char *type = v->domain_type;
	const char *firmware = xva_ovaxml_map_get(&v->hvm_boot_params,
						  "firmware");

	/* Exports older than domain_type (or with "unspecified") say HVM by
	 * a boot policy, as XAPI itself decides. */
	if (is_empty(type) || strcmp(type, "unspecified") == 0)
		vm->kind = is_empty(v->hvm_boot_policy) ? XVA_VM_PV : XVA_VM_HVM;
	else if (strcmp(type, "hvm") == 0)
		vm->kind = XVA_VM_HVM;
	else if (strcmp(type, "pv") == 0)
		vm->kind = XVA_VM_PV;
	else if (strcmp(type, "pvh") == 0)
		vm->kind = XVA_VM_PVH;
	else if (strcmp(type, "pv_in_pvh") == 0) {
		vm->kind = XVA_VM_PV;
		vm->pv_in_pvh = true;
	} else
		return bad_field(err, v, "domain_type", type,
				 "is not hvm, pv, pvh, pv_in_pvh or unspecified");

	if (is_empty(firmware) || strcmp(firmware, "bios") == 0)
		vm->firmware = XVA_VM_BIOS;
	else if (strcmp(firmware, "uefi") == 0)
		vm->firmware = XVA_VM_UEFI;
	else
		return bad_field(err, v, "HVM_boot_params firmware", firmware,
				 "is neither bios nor uefi");
	if (vm->kind != XVA_VM_HVM)
		vm->firmware = XVA_VM_BIOS; /* firmware only means HVM */
	return XVA_OK;
}

static enum xva_status read_boot_order(struct xva_vm *vm,
				       const struct xva_ova_vm *v,
				       struct xva_err *err)
{
	const char *order = xva_ovaxml_map_get(&v->hvm_boot_params, "order");
	char kept[4] = "";
	size_t n = 0;
	bool dropped = false;

	if (vm->kind != XVA_VM_HVM || !order)
		return XVA_OK;
	for (const char *p = order; *p; p++) {
		char c = (char)tolower((unsigned char)*p);

		if (strchr("cdn", c) && !strchr(kept, c) && n < 3) {
			kept[n++] = c;
			kept[n] = '\0';
		} else {
			dropped = true;
		}
	}
	if (dropped &&
	    xva_vm_add_note(vm, err, "HVM boot order \"%.40s\": only the devices "
		     "c (disk), d (CD) and n (network) are kept, once each",
		     order) != XVA_OK)
		return err->status;
	if (n && !(vm->boot_order = strdup(kept)))
		return xva_nomem(err);
	return XVA_OK;
}

/* Platform keys a writer carries over; any other is listed in a note. */
static const char *const known_platform_keys[] = {
	"acpi", "apic", "pae", "nx", "hpet", "viridian",
	"viridian_time_ref_count", "viridian_reference_tsc",
	"viridian_apic_assist", "viridian_crash_ctl", "viridian_stimer",
	"timeoffset", "device_id", "vga", "videoram", "cores-per-socket",
	"usb", "usb_tablet", "secureboot",
	NULL,
};

static enum xva_status read_switch(struct xva_vm *vm, const struct xva_ova_vm *v,
				   const char *key, enum xva_vm_switch *out,
				   struct xva_err *err)
{
	const char *value = xva_ovaxml_map_get(&v->platform, key);

	*out = XVA_VM_UNSET;
	if (!value)
		return XVA_OK;
	if (is_true(value))
		*out = XVA_VM_ON;
	else if (is_false(value))
		*out = XVA_VM_OFF;
	else
		return xva_vm_add_note(vm, err, "platform %s=\"%.40s\" is neither "
				"true nor false: left to the default", key, value);
	return XVA_OK;
}

/* The platform's switches, and the Viridian groups beyond the defaults. */
static enum xva_status read_switches(struct xva_vm *vm,
				     const struct xva_ova_vm *v,
				     struct xva_err *err)
{
	static const struct {
		const char *key;
		unsigned bit;
	} groups[] = {
		{ "viridian_time_ref_count", XVA_VM_VIRIDIAN_TIME_REF_COUNT },
		{ "viridian_reference_tsc", XVA_VM_VIRIDIAN_REFERENCE_TSC },
		{ "viridian_apic_assist", XVA_VM_VIRIDIAN_APIC_ASSIST },
		{ "viridian_crash_ctl", XVA_VM_VIRIDIAN_CRASH_CTL },
		{ "viridian_stimer", XVA_VM_VIRIDIAN_STIMER },
	};
	struct xva_vm_platform *p = &vm->platform;
	enum xva_status status;

	if ((status = read_switch(vm, v, "acpi", &p->acpi, err)) ||
	    (status = read_switch(vm, v, "apic", &p->apic, err)) ||
	    (status = read_switch(vm, v, "pae", &p->pae, err)) ||
	    (status = read_switch(vm, v, "nx", &p->nx, err)) ||
	    (status = read_switch(vm, v, "hpet", &p->hpet, err)) ||
	    (status = read_switch(vm, v, "viridian", &p->viridian, err)) ||
	    (status = read_switch(vm, v, "usb", &p->usb, err)) ||
	    (status = read_switch(vm, v, "usb_tablet", &p->usb_tablet, err)))
		return status;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (is_true(xva_ovaxml_map_get(&v->platform, groups[i].key)))
			p->viridian_extra |= groups[i].bit;
	return XVA_OK;
}

/* The platform's values: RTC offset, device id, video, topology. */
static enum xva_status read_platform_values(struct xva_vm *vm,
					    const struct xva_ova_vm *v,
					    struct xva_err *err)
{
	struct xva_vm_platform *p = &vm->platform;
	enum xva_status status;
	const char *value;
	uint64_t n;

	value = xva_ovaxml_map_get(&v->platform, "timeoffset");
	if (value) {
		/* A day and more is no RTC offset a guest sets. */
		if (!parse_long(value, &p->timeoffset) ||
		    p->timeoffset > 100000000L || p->timeoffset < -100000000L) {
			status = xva_vm_add_note(vm, err, "platform timeoffset=\"%.40s\""
					  " is not a number of seconds: left out",
					  value);
			if (status != XVA_OK)
				return status;
		} else {
			p->has_timeoffset = true;
		}
	}
	value = xva_ovaxml_map_get(&v->platform, "device_id");
	if (!is_empty(value) && !(p->device_id = strdup(value)))
		return xva_nomem(err);
	value = xva_ovaxml_map_get(&v->platform, "vga");
	if (value && (strcmp(value, "std") == 0 || strcmp(value, "cirrus") == 0)) {
		if (!(p->vga = strdup(value)))
			return xva_nomem(err);
	} else if (value) {
		status = xva_vm_add_note(vm, err, "platform vga=\"%.40s\" is neither std "
				  "nor cirrus: left to the default", value);
		if (status != XVA_OK)
			return status;
	}
	value = xva_ovaxml_map_get(&v->platform, "videoram");
	if (value && parse_u64(value, &n) && n >= 1 && n <= 1024)
		p->videoram = (unsigned)n;
	else if (value && (status = xva_vm_add_note(vm, err, "platform videoram=\"%.40s\""
					     " is not a size in MiB: left out",
					     value)) != XVA_OK)
		return status;
	value = xva_ovaxml_map_get(&v->platform, "cores-per-socket");
	if (value && parse_u64(value, &n) && n >= 1 &&
	    n <= vm->vcpus_max && vm->vcpus_max % n == 0)
		p->cores_per_socket = (unsigned)n;
	else if (value && (status = xva_vm_add_note(vm, err, "platform cores-per-socket="
					     "\"%.40s\" does not divide the %u "
					     "vCPUs: left out", value,
					     vm->vcpus_max)) != XVA_OK)
		return status;
	return XVA_OK;
}

/* secureboot=true holds for UEFI only; "auto" is written as off. */
static enum xva_status read_secureboot(struct xva_vm *vm,
				       const struct xva_ova_vm *v,
				       struct xva_err *err)
{
	const char *secureboot = xva_ovaxml_map_get(&v->platform, "secureboot");

	if (is_true(secureboot))
		vm->secure_boot = vm->firmware == XVA_VM_UEFI;
	else if (secureboot && strcmp(secureboot, "auto") == 0 &&
		 vm->firmware == XVA_VM_UEFI)
		return xva_vm_add_note(vm, err, "platform secureboot=auto (on where "
				"the XenServer pool had Secure Boot keys): "
				"written as off; turn it on if the guest "
				"was installed with Secure Boot");
	return XVA_OK;
}

/* The platform keys no writer carries over, listed in one note. */
static enum xva_status note_other_platform_keys(struct xva_vm *vm,
						const struct xva_ova_vm *v,
						struct xva_err *err)
{
	enum xva_status status = XVA_OK;
	char *unknown = NULL;
	size_t unknown_len = 0;
	FILE *list;

	list = open_memstream(&unknown, &unknown_len);
	if (!list)
		return xva_nomem(err);
	for (size_t i = 0; i < v->platform.n; i++) {
		const struct xva_ova_pair *pair = &v->platform.pairs[i];
		size_t k;

		for (k = 0; known_platform_keys[k]; k++)
			if (strcmp(known_platform_keys[k], pair->key) == 0)
				break;
		if (!known_platform_keys[k])
			fprintf(list, "%s%.40s=%.80s", ftell(list) ? ", " : "",
				pair->key, pair->value);
	}
	if (fclose(list) != 0) {
		free(unknown);
		return xva_nomem(err);
	}
	if (unknown_len)
		status = xva_vm_add_note(vm, err, "platform settings with no "
				  "equivalent here: %s", unknown);
	free(unknown);
	return status;
}

static enum xva_status read_platform(struct xva_vm *vm,
				     const struct xva_ova_vm *v,
				     struct xva_err *err)
{
	enum xva_status status;

	if ((status = read_switches(vm, v, err)) != XVA_OK ||
	    (status = read_platform_values(vm, v, err)) != XVA_OK ||
	    (status = read_secureboot(vm, v, err)) != XVA_OK)
		return status;
	return note_other_platform_keys(vm, v, err);
}

/* One VBD of the VM: a served disk, a CD drive, or a note. */
static enum xva_status read_vbd(struct xva_vm *vm, const struct xva_ovaxml *ova,
				const struct xva_ova_vbd *b,
				const struct xva_vm_disk_ref *refs,
				size_t n_refs, struct xva_err *err)
{
	const struct xva_ova_vdi *vdi;
	uint64_t userdevice;
	bool cd = b->type && strcmp(b->type, "CD") == 0;
	bool null_vdi = is_empty(b->vdi) || strcmp(b->vdi, "OpaqueRef:NULL") == 0;

	if (!parse_u64(b->userdevice, &userdevice) ||
	    userdevice > VM_USERDEVICE_MAX)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
				    "ova.xml: VBD %s userdevice \"%.40s\" is not "
				    "a device number", b->id,
				    b->userdevice ? b->userdevice : "");
	vdi = null_vdi ? NULL : xva_ovaxml_find_vdi(ova, b->vdi);
	if (cd) {
		struct xva_vm_cdrom *c;
		struct xva_vm_cdrom *bigger = realloc(vm->cdroms,
			(vm->n_cdroms + 1) * sizeof(*bigger));

		if (!bigger)
			return xva_nomem(err);
		vm->cdroms = bigger;
		c = memset(&vm->cdroms[vm->n_cdroms++], 0, sizeof(*c));
		c->userdevice = (unsigned)userdevice;
		c->bootable = b->bootable;
		if (!(c->guest_device = xva_vm_device_name("xvd", c->userdevice)))
			return xva_nomem(err);
		if (!b->empty && !null_vdi &&
		    !(c->iso = strdup(vdi && !is_empty(vdi->name_label)
				      ? vdi->name_label : b->vdi)))
			return xva_nomem(err);
		return XVA_OK;
	}
	if (!b->type || strcmp(b->type, "Disk") != 0)
		return xva_vm_add_note(vm, err, "%s drive at userdevice %u left out "
				"(only disks and CD drives are carried over)",
				b->type ? b->type : "untyped",
				(unsigned)userdevice);
	if (null_vdi)
		return xva_vm_add_note(vm, err, "disk VBD %s at userdevice %u has no "
				"VDI: left out", b->id, (unsigned)userdevice);
	for (size_t i = 0; i < vm->n_disks; i++)
		if (strcmp(vm->disks[i].vdi_id, b->vdi) == 0)
			return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
					    "ova.xml: VDI %s is attached to the VM "
					    "twice (VBD %s)", b->vdi, b->id);
	for (size_t i = 0; i < n_refs; i++) {
		struct xva_vm_disk *d, *bigger;

		if (strcmp(refs[i].vdi_id, b->vdi) != 0)
			continue;
		bigger = realloc(vm->disks, (vm->n_disks + 1) * sizeof(*bigger));
		if (!bigger)
			return xva_nomem(err);
		vm->disks = bigger;
		d = memset(&vm->disks[vm->n_disks++], 0, sizeof(*d));
		d->userdevice = (unsigned)userdevice;
		d->read_only = b->mode && strcmp(b->mode, "RO") == 0;
		d->bootable = b->bootable;
		d->size = vdi && vdi->has_virtual_size ? vdi->virtual_size : 0;
		if (!dup_opt(&d->device, refs[i].device) ||
		    !dup_opt(&d->vdi_id, b->vdi) ||
		    !dup_opt(&d->vdi_uuid, vdi ? vdi->uuid : NULL) ||
		    !dup_opt(&d->label, vdi ? vdi->name_label : NULL))
			return xva_nomem(err);
		return XVA_OK;
	}
	return xva_vm_add_note(vm, err, "disk at userdevice %u (VDI %s \"%.80s\") has "
			"no data in the export: left out", (unsigned)userdevice,
			b->vdi, vdi && vdi->name_label ? vdi->name_label : "");
}

static int by_disk_userdevice(const void *x, const void *y)
{
	const struct xva_vm_disk *a = x, *b = y;

	return (a->userdevice > b->userdevice) - (a->userdevice < b->userdevice);
}

static int by_cdrom_userdevice(const void *x, const void *y)
{
	const struct xva_vm_cdrom *a = x, *b = y;

	return (a->userdevice > b->userdevice) - (a->userdevice < b->userdevice);
}

static int by_vif_device(const void *x, const void *y)
{
	const struct xva_vm_vif *a = x, *b = y;

	return (a->device > b->device) - (a->device < b->device);
}

static enum xva_status read_vbds(struct xva_vm *vm, const struct xva_ovaxml *ova,
				 const struct xva_ova_vm *v,
				 const struct xva_vm_disk_ref *refs,
				 size_t n_refs, struct xva_err *err)
{
	enum xva_status status;
	size_t n_vbds = 0;

	for (size_t i = 0; i < n_refs; i++) {
		if (!refs[i].vdi_id || !is_device_name(refs[i].device))
			return xva_fail(err, XVA_EINVAL, "served disk %s has the "
					"device name \"%.40s\", not one like xvda",
					refs[i].vdi_id ? refs[i].vdi_id : "(none)",
					refs[i].device ? refs[i].device : "");
		for (size_t k = 0; k < i; k++)
			if (strcmp(refs[k].device, refs[i].device) == 0)
				return xva_fail(err, XVA_EINVAL, "two served "
						"disks have the device name %s",
						refs[i].device);
	}
	for (size_t i = 0; i < ova->n_vbds; i++)
		if (ova->vbds[i].vm && strcmp(ova->vbds[i].vm, v->id) == 0)
			n_vbds++;
	if (n_vbds > VM_DEVICES_MAX)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
				    "ova.xml: VM %s has %zu VBDs, more than any "
				    "VM can have", v->id, n_vbds);
	for (size_t i = 0; i < ova->n_vbds; i++) {
		const struct xva_ova_vbd *b = &ova->vbds[i];

		if (!b->vm || strcmp(b->vm, v->id) != 0)
			continue;
		status = read_vbd(vm, ova, b, refs, n_refs, err);
		if (status != XVA_OK)
			return status;
	}
	if (vm->n_disks)
		qsort(vm->disks, vm->n_disks, sizeof(*vm->disks),
		      by_disk_userdevice);
	if (vm->n_cdroms)
		qsort(vm->cdroms, vm->n_cdroms, sizeof(*vm->cdroms),
		      by_cdrom_userdevice);
	/* Two drives in one slot: no hypervisor takes that, and which of the
	 * two the VM had cannot be told. */
	for (size_t i = 0; i < vm->n_disks + vm->n_cdroms; i++) {
		unsigned a = i < vm->n_disks ? vm->disks[i].userdevice
			     : vm->cdroms[i - vm->n_disks].userdevice;

		for (size_t k = i + 1; k < vm->n_disks + vm->n_cdroms; k++) {
			unsigned b = k < vm->n_disks ? vm->disks[k].userdevice
				     : vm->cdroms[k - vm->n_disks].userdevice;

			if (a == b)
				return xva_fail_why(err, XVA_EFORMAT,
						    XVA_R_OVA_VALUE, "ova.xml: VM "
						    "%s has two drives at "
						    "userdevice %u", v->id, a);
		}
	}
	for (size_t i = 0; i < n_refs; i++) {
		size_t k;

		for (k = 0; k < vm->n_disks; k++)
			if (strcmp(vm->disks[k].vdi_id, refs[i].vdi_id) == 0)
				break;
		if (k == vm->n_disks &&
		    (status = xva_vm_add_note(vm, err, "served disk %s (%s) is not "
				       "attached to this VM (a suspend image or "
				       "another VM's): left out", refs[i].device,
				       refs[i].vdi_id)) != XVA_OK)
			return status;
	}
	return XVA_OK;
}

static enum xva_status read_vifs(struct xva_vm *vm, const struct xva_ovaxml *ova,
				 const struct xva_ova_vm *v,
				 struct xva_err *err)
{
	enum xva_status status;
	size_t n_vifs = 0;

	for (size_t i = 0; i < ova->n_vifs; i++)
		if (ova->vifs[i].vm && strcmp(ova->vifs[i].vm, v->id) == 0)
			n_vifs++;
	if (n_vifs > VM_DEVICES_MAX)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
				    "ova.xml: VM %s has %zu VIFs, more than any "
				    "VM can have", v->id, n_vifs);
	for (size_t i = 0; i < ova->n_vifs; i++) {
		const struct xva_ova_vif *f = &ova->vifs[i];
		const struct xva_ova_network *net;
		struct xva_vm_vif *vif, *bigger;
		uint64_t device, mtu;
		char mac[18];

		if (!f->vm || strcmp(f->vm, v->id) != 0)
			continue;
		if (!parse_u64(f->device, &device) || device > VM_USERDEVICE_MAX)
			return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
					    "ova.xml: VIF %s device \"%.40s\" is "
					    "not a device number", f->id,
					    f->device ? f->device : "");
		bigger = realloc(vm->vifs, (vm->n_vifs + 1) * sizeof(*bigger));
		if (!bigger)
			return xva_nomem(err);
		vm->vifs = bigger;
		vif = memset(&vm->vifs[vm->n_vifs++], 0, sizeof(*vif));
		vif->device = (unsigned)device;
		net = xva_ovaxml_find_network(ova, f->network);
		if (normal_mac(f->mac, mac)) {
			if (!(vif->mac = strdup(mac)))
				return xva_nomem(err);
		} else if ((status = xva_vm_add_note(vm, err, "VIF %u: MAC \"%.40s\" is "
					      "not a MAC address: the target "
					      "makes up one", vif->device,
					      f->mac ? f->mac : "")) != XVA_OK) {
			return status;
		}
		if (parse_u64(f->mtu, &mtu) && mtu >= 68 && mtu <= 65535)
			vif->mtu = (unsigned)mtu;
		if (net && !dup_opt(&vif->network, net->name_label))
			return xva_nomem(err);
		if (net && is_bridge_name(net->bridge)) {
			if (!(vif->bridge = strdup(net->bridge)))
				return xva_nomem(err);
		} else if ((status = xva_vm_add_note(vm, err, "VIF %u: network %s has %s "
					      "bridge name: the target's default "
					      "network is used", vif->device,
					      f->network ? f->network : "(none)",
					      net && !is_empty(net->bridge)
					      ? "an unusable" : "no")) != XVA_OK) {
			return status;
		}
	}
	if (vm->n_vifs)
		qsort(vm->vifs, vm->n_vifs, sizeof(*vm->vifs), by_vif_device);
	for (size_t i = 1; i < vm->n_vifs; i++)
		if (vm->vifs[i - 1].device == vm->vifs[i].device)
			return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
					    "ova.xml: VM %s has two VIFs with "
					    "device %u", v->id, vm->vifs[i].device);
	return XVA_OK;
}

/* What no format carries over, said once in the description. */
static enum xva_status read_left_out(struct xva_vm *vm,
				     const struct xva_ovaxml *ova,
				     const struct xva_ova_vm *v,
				     size_t candidates, struct xva_err *err)
{
	const char *pci = xva_ovaxml_map_get(&v->other_config, "pci");
	enum xva_status status = XVA_OK;
	size_t snapshots = 0;

	for (size_t i = 0; i < ova->n_vms; i++)
		if (ova->vms[i].is_a_snapshot)
			snapshots++;
	if (candidates > 1)
		status = xva_vm_add_note(vm, err, "the export holds %zu VMs; this is "
				  "the first, %s", candidates, v->id);
	if (!status && snapshots)
		status = xva_vm_add_note(vm, err, "%zu snapshot%s of the VM left out "
				  "(the configuration is for the VM itself)",
				  snapshots, snapshots == 1 ? "" : "s");
	if (!status && v->vgpus.n)
		status = xva_vm_add_note(vm, err, "%zu virtual GPU%s (VGPUs) not carried "
				  "over", v->vgpus.n, v->vgpus.n == 1 ? "" : "s");
	if (!status && (v->attached_pcis.n || !is_empty(pci)))
		status = xva_vm_add_note(vm, err, "PCI passthrough devices not carried "
				  "over (other_config pci=\"%.80s\", %zu attached)",
				  pci ? pci : "", v->attached_pcis.n);
	if (!status && v->vusbs.n)
		status = xva_vm_add_note(vm, err, "%zu USB passthrough device%s (VUSBs) "
				  "not carried over", v->vusbs.n,
				  v->vusbs.n == 1 ? "" : "s");
	if (!status && vm->kind != XVA_VM_HVM && !is_empty(v->pv_bootloader_args))
		status = xva_vm_add_note(vm, err, "PV_bootloader_args \"%.200s\" not "
				  "carried over", v->pv_bootloader_args);
	if (!status && vm->kind != XVA_VM_HVM && !is_empty(v->pv_legacy_args))
		status = xva_vm_add_note(vm, err, "PV_legacy_args \"%.200s\" not "
				  "carried over", v->pv_legacy_args);
	return status;
}

/* NAME as a file name: no '/', no control character, not hidden, not
 * too long; the UUID or "vm" when nothing is left. */
static char *file_stem(const char *name, const char *uuid)
{
	size_t n = name ? strlen(name) : 0;
	char *stem;

	if (n > VM_STEM_MAX) {
		n = VM_STEM_MAX;
		while (n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80)
			n--; /* not inside a UTF-8 sequence */
	}
	if (n == 0)
		return strdup(uuid ? uuid : "vm");
	stem = strndup(name, n);
	if (!stem)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (stem[i] == '/' || (unsigned char)stem[i] < 0x20 ||
		    stem[i] == 0x7f)
			stem[i] = '_';
	if (stem[0] == '.')
		stem[0] = '_';
	return stem;
}

enum xva_status xva_vm_build(const struct xva_ovaxml *ova,
			     const struct xva_vm_disk_ref *disks, size_t n_disks,
			     struct xva_vm **out, struct xva_err *err)
{
	const struct xva_ova_vm *v;
	enum xva_status status;
	struct xva_vm *vm;
	size_t candidates;
	const char *base_template;

	*out = NULL;
	v = ova ? pick_vm(ova, &candidates) : NULL;
	if (!v)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_STRUCTURE,
				    "the export holds no VM record%s",
				    ova && ova->n_vms ? " (only snapshots)" : "");
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return xva_nomem(err);
	if (!dup_opt(&vm->name, v->name_label ? v->name_label : "") ||
	    !dup_opt(&vm->uuid, is_uuid(v->uuid) ? v->uuid : NULL) ||
	    !dup_opt(&vm->description, is_empty(v->name_description)
		     ? NULL : v->name_description) ||
	    !(vm->file_stem = file_stem(vm->name, vm->uuid))) {
		status = xva_nomem(err);
		goto fail;
	}
	if (!vm->uuid && v->uuid &&
	    (status = xva_vm_add_note(vm, err, "uuid \"%.40s\" is not a UUID: left "
			       "out", v->uuid)) != XVA_OK)
		goto fail;
	if ((status = read_memory(vm, v, err)) != XVA_OK ||
	    (status = read_vcpus(vm, v, err)) != XVA_OK ||
	    (status = read_kind(vm, v, err)) != XVA_OK ||
	    (status = read_boot_order(vm, v, err)) != XVA_OK ||
	    (status = read_platform(vm, v, err)) != XVA_OK)
		goto fail;
	if (vm->kind != XVA_VM_HVM &&
	    (!dup_opt(&vm->pv_bootloader, is_empty(v->pv_bootloader)
		      ? NULL : v->pv_bootloader) ||
	     !dup_opt(&vm->pv_kernel, is_empty(v->pv_kernel)
		      ? NULL : v->pv_kernel) ||
	     !dup_opt(&vm->pv_ramdisk, is_empty(v->pv_ramdisk)
		      ? NULL : v->pv_ramdisk) ||
	     !dup_opt(&vm->pv_args, is_empty(v->pv_args) ? NULL : v->pv_args))) {
		status = xva_nomem(err);
		goto fail;
	}
	base_template = xva_ovaxml_map_get(&v->other_config, "base_template_name");
	vm->windows = vm->kind == XVA_VM_HVM &&
		      (vm->platform.device_id ||
		       vm->platform.viridian == XVA_VM_ON ||
		       (base_template && strncmp(base_template, "Windows", 7) == 0));
	if ((status = read_vbds(vm, ova, v, disks, n_disks, err)) != XVA_OK ||
	    (status = read_vifs(vm, ova, v, err)) != XVA_OK ||
	    (status = read_left_out(vm, ova, v, candidates, err)) != XVA_OK ||
	    (status = xva_vm_read_firmware(vm, ova, v, err)) != XVA_OK)
		goto fail;
	*out = vm;
	return XVA_OK;
fail:
	xva_vm_free(vm);
	return status;
}

bool xva_vm_bridge_valid(const char *name)
{
	return is_bridge_name(name);
}

enum xva_status xva_vm_set_bridge(struct xva_vm *vm, const char *bridge,
				  struct xva_err *err)
{
	if (!is_bridge_name(bridge))
		return xva_fail(err, XVA_EINVAL, "bridge=%.40s: not a bridge name "
				"(at most 15 letters, digits, '_', '.' or '-')",
				bridge ? bridge : "");
	for (size_t i = 0; i < vm->n_vifs; i++) {
		char *copy = strdup(bridge);

		if (!copy)
			return xva_nomem(err);
		free(vm->vifs[i].bridge);
		vm->vifs[i].bridge = copy;
	}
	return XVA_OK;
}

void xva_vm_free(struct xva_vm *vm)
{
	if (!vm)
		return;
	free(vm->name);
	free(vm->uuid);
	free(vm->description);
	free(vm->file_stem);
	free(vm->boot_order);
	free(vm->pv_bootloader);
	free(vm->pv_kernel);
	free(vm->pv_ramdisk);
	free(vm->pv_args);
	free(vm->platform.device_id);
	free(vm->platform.vga);
	free(vm->ovmf_vars);
	free(vm->efi_vars_summary);
	free(vm->tpm_state);
	for (size_t i = 0; i < vm->n_smbios; i++)
		free(vm->smbios[i].value);
	free(vm->smbios);
	for (size_t i = 0; i < vm->n_disks; i++) {
		free(vm->disks[i].device);
		free(vm->disks[i].vdi_id);
		free(vm->disks[i].vdi_uuid);
		free(vm->disks[i].label);
	}
	for (size_t i = 0; i < vm->n_cdroms; i++) {
		free(vm->cdroms[i].guest_device);
		free(vm->cdroms[i].iso);
	}
	for (size_t i = 0; i < vm->n_vifs; i++) {
		free(vm->vifs[i].mac);
		free(vm->vifs[i].network);
		free(vm->vifs[i].bridge);
	}
	for (size_t i = 0; i < vm->n_notes; i++)
		free(vm->notes[i]);
	free(vm->disks);
	free(vm->cdroms);
	free(vm->vifs);
	free(vm->notes);
	free(vm);
}
