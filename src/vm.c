/* The exported VM: ova.xml's VM, VBD, VIF and network records checked and
 * turned into plain values, then written as an xl, libvirt or qemu
 * configuration (see vm.h). */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static enum xva_status add_note(struct xva_vm *vm, struct xva_err *err,
				const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum xva_status add_note(struct xva_vm *vm, struct xva_err *err,
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

/* PREFIX and letters for device INDEX as Xen and Linux name them: 0 is
 * a, 25 z, 26 aa, ... (xvda, vdb, sdaa). */
static char *device_name(const char *prefix, unsigned index)
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
	    add_note(vm, err, "HVM boot order \"%.40s\": only the devices "
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
		return add_note(vm, err, "platform %s=\"%.40s\" is neither "
				"true nor false: left to the default", key, value);
	return XVA_OK;
}

static enum xva_status read_platform(struct xva_vm *vm,
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
	const char *value, *secureboot;
	enum xva_status status;
	char *unknown = NULL;
	size_t unknown_len = 0;
	FILE *list;
	uint64_t n;

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

	value = xva_ovaxml_map_get(&v->platform, "timeoffset");
	if (value) {
		/* A day and more is no RTC offset a guest sets. */
		if (!parse_long(value, &p->timeoffset) ||
		    p->timeoffset > 100000000L || p->timeoffset < -100000000L) {
			status = add_note(vm, err, "platform timeoffset=\"%.40s\""
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
		status = add_note(vm, err, "platform vga=\"%.40s\" is neither std "
				  "nor cirrus: left to the default", value);
		if (status != XVA_OK)
			return status;
	}
	value = xva_ovaxml_map_get(&v->platform, "videoram");
	if (value && parse_u64(value, &n) && n >= 1 && n <= 1024)
		p->videoram = (unsigned)n;
	else if (value && (status = add_note(vm, err, "platform videoram=\"%.40s\""
					     " is not a size in MiB: left out",
					     value)) != XVA_OK)
		return status;
	value = xva_ovaxml_map_get(&v->platform, "cores-per-socket");
	if (value && parse_u64(value, &n) && n >= 1 &&
	    n <= vm->vcpus_max && vm->vcpus_max % n == 0)
		p->cores_per_socket = (unsigned)n;
	else if (value && (status = add_note(vm, err, "platform cores-per-socket="
					     "\"%.40s\" does not divide the %u "
					     "vCPUs: left out", value,
					     vm->vcpus_max)) != XVA_OK)
		return status;

	secureboot = xva_ovaxml_map_get(&v->platform, "secureboot");
	if (is_true(secureboot)) {
		vm->secure_boot = vm->firmware == XVA_VM_UEFI;
	} else if (secureboot && strcmp(secureboot, "auto") == 0 &&
		   vm->firmware == XVA_VM_UEFI) {
		status = add_note(vm, err, "platform secureboot=auto (on where "
				  "the XenServer pool had Secure Boot keys): "
				  "written as off; turn it on if the guest "
				  "was installed with Secure Boot");
		if (status != XVA_OK)
			return status;
	}

	/* The rest, listed in one note. */
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
		status = add_note(vm, err, "platform settings with no "
				  "equivalent here: %s", unknown);
	free(unknown);
	return status;
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
		if (!(c->guest_device = device_name("xvd", c->userdevice)))
			return xva_nomem(err);
		if (!b->empty && !null_vdi &&
		    !(c->iso = strdup(vdi && !is_empty(vdi->name_label)
				      ? vdi->name_label : b->vdi)))
			return xva_nomem(err);
		return XVA_OK;
	}
	if (!b->type || strcmp(b->type, "Disk") != 0)
		return add_note(vm, err, "%s drive at userdevice %u left out "
				"(only disks and CD drives are carried over)",
				b->type ? b->type : "untyped",
				(unsigned)userdevice);
	if (null_vdi)
		return add_note(vm, err, "disk VBD %s at userdevice %u has no "
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
	return add_note(vm, err, "disk at userdevice %u (VDI %s \"%.80s\") has "
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
		    (status = add_note(vm, err, "served disk %s (%s) is not "
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
		} else if ((status = add_note(vm, err, "VIF %u: MAC \"%.40s\" is "
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
		} else if ((status = add_note(vm, err, "VIF %u: network %s has %s "
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
	const char *vars = xva_ovaxml_map_get(&v->nvram, "EFI-variables");
	const char *pci = xva_ovaxml_map_get(&v->other_config, "pci");
	enum xva_status status = XVA_OK;
	size_t snapshots = 0;

	for (size_t i = 0; i < ova->n_vms; i++)
		if (ova->vms[i].is_a_snapshot)
			snapshots++;
	if (candidates > 1)
		status = add_note(vm, err, "the export holds %zu VMs; this is "
				  "the first, %s", candidates, v->id);
	if (!status && snapshots)
		status = add_note(vm, err, "%zu snapshot%s of the VM left out "
				  "(the configuration is for the VM itself)",
				  snapshots, snapshots == 1 ? "" : "s");
	if (!status && !is_empty(vars))
		status = add_note(vm, err, "UEFI variables (NVRAM EFI-variables, "
				  "%zu bytes of base64) not carried over: the "
				  "firmware starts with empty variables and boots "
				  "the disk's default loader (\\EFI\\BOOT\\BOOTX64.EFI)",
				  strlen(vars));
	if (!status && v->vgpus.n)
		status = add_note(vm, err, "%zu virtual GPU%s (VGPUs) not carried "
				  "over", v->vgpus.n, v->vgpus.n == 1 ? "" : "s");
	if (!status && (v->attached_pcis.n || !is_empty(pci)))
		status = add_note(vm, err, "PCI passthrough devices not carried "
				  "over (other_config pci=\"%.80s\", %zu attached)",
				  pci ? pci : "", v->attached_pcis.n);
	if (!status && v->vtpms.n)
		status = add_note(vm, err, "virtual TPM (VTPMs) not carried over: "
				  "its sealed secrets (BitLocker keys, ...) stay "
				  "behind");
	if (!status && v->vusbs.n)
		status = add_note(vm, err, "%zu USB passthrough device%s (VUSBs) "
				  "not carried over", v->vusbs.n,
				  v->vusbs.n == 1 ? "" : "s");
	if (!status && vm->kind != XVA_VM_HVM && !is_empty(v->pv_bootloader_args))
		status = add_note(vm, err, "PV_bootloader_args \"%.200s\" not "
				  "carried over", v->pv_bootloader_args);
	if (!status && vm->kind != XVA_VM_HVM && !is_empty(v->pv_legacy_args))
		status = add_note(vm, err, "PV_legacy_args \"%.200s\" not "
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
	    (status = add_note(vm, err, "uuid \"%.40s\" is not a UUID: left "
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
	    (status = read_left_out(vm, ova, v, candidates, err)) != XVA_OK)
		goto fail;
	*out = vm;
	return XVA_OK;
fail:
	xva_vm_free(vm);
	return status;
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

/* ---- Writers ---------------------------------------------------------- */

#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define OVMF_CODE_SECURE "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
#define OVMF_VARS_SECURE "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
/* SATA ports of one AHCI controller, q35's built-in one included. */
#define AHCI_PORTS 6

static const char *const format_names[] = { "xl", "libvirt", "qemu" };
static const char *const format_suffixes[] = { ".cfg", ".xml", ".qemu.sh" };

int xva_vm_format_from_name(const char *name)
{
	for (size_t i = 0; name && i < 3; i++)
		if (strcmp(name, format_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *xva_vm_format_name(enum xva_vm_format format)
{
	return (unsigned)format < 3 ? format_names[format] : "?";
}

const char *xva_vm_format_suffix(enum xva_vm_format format)
{
	return (unsigned)format < 3 ? format_suffixes[format] : "";
}

const char *xva_vm_format_names(void)
{
	return "xl, libvirt, qemu";
}

struct writer {
	FILE *f;
	const struct xva_vm *vm;
	enum xva_vm_format format;
	const char *mnt;        /* the mount point, no trailing '/' */
	const char *export_name;
	char **notes;           /* the format's own "not carried over" */
	size_t n_notes;
	bool nomem;
};

static void add_format_note(struct writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add_format_note(struct writer *w, const char *fmt, ...)
{
	char **bigger;
	va_list ap;
	char *note;

	va_start(ap, fmt);
	if (vasprintf(&note, fmt, ap) < 0)
		note = NULL;
	va_end(ap);
	bigger = note ? realloc(w->notes, (w->n_notes + 1) * sizeof(*bigger))
		      : NULL;
	if (!bigger) {
		free(note);
		w->nomem = true;
		return;
	}
	w->notes = bigger;
	w->notes[w->n_notes++] = note;
}

/* One comment of TEXT, whatever it holds: control characters become
 * blanks (a newline would end the comment and let the rest run as
 * configuration or shell), and in XML no "--" appears. Long comments are
 * wrapped at blanks onto lines starting with CONT; TAIL ends the last. */
static void put_comment(struct writer *w, const char *lead, const char *cont,
			const char *text, const char *tail)
{
	const bool xml = w->format == XVA_VM_LIBVIRT;
	const size_t width = 78;
	size_t col = strlen(lead), blanks = 0;
	const char *p = text;

	fputs(lead, w->f);
	while (*p) {
		size_t word = strcspn(p, " ");

		if (word == 0) {
			blanks++;
			p++;
			continue;
		}
		if (col + blanks + word > width && col > strlen(cont)) {
			fputc('\n', w->f);
			fputs(cont, w->f);
			col = strlen(cont);
		} else {
			for (; blanks; blanks--, col++)
				fputc(' ', w->f);
		}
		blanks = 0;
		for (size_t i = 0; i < word; i++, p++) {
			unsigned char c = (unsigned char)*p;

			if (c < 0x20 || c == 0x7f)
				c = ' ';
			if (xml && c == '-' && i > 0 && p[-1] == '-') {
				/* XML comments hold no "--": the second
				 * becomes U+2010 HYPHEN. */
				fputs("\xe2\x80\x90", w->f);
				continue;
			}
			fputc(c, w->f);
		}
		col += word;
	}
	fputs(tail, w->f);
	fputc('\n', w->f);
}

/* A comment line in the format's own syntax. */
static void comment(struct writer *w, const char *indent, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void comment(struct writer *w, const char *indent, const char *fmt, ...)
{
	char lead[64], cont[64];
	va_list ap;
	char *text;
	int hang;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0) {
		va_end(ap);
		w->nomem = true;
		return;
	}
	va_end(ap);
	/* A list item's lines continue under its text. */
	hang = strncmp(text, "  - ", 4) == 0 ? 4 : 2;
	if (w->format == XVA_VM_LIBVIRT) {
		snprintf(lead, sizeof(lead), "%s<!-- ", indent);
		snprintf(cont, sizeof(cont), "%s     %*s", indent, hang, "");
		put_comment(w, lead, cont, text, " -->");
	} else {
		snprintf(lead, sizeof(lead), "%s# ", indent);
		snprintf(cont, sizeof(cont), "%s# %*s", indent, hang, "");
		put_comment(w, lead, cont, text, "");
	}
	free(text);
}

static unsigned long long mib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes + (UINT64_C(1) << 20) - 1) >> 20);
}

static unsigned long long kib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes + 1023) >> 10);
}

/* The text of the header, common to all formats. */
static void header(struct writer *w)
{
	static const char *const kinds[] = { "HVM", "PV", "PVH" };
	const struct xva_vm *vm = w->vm;
	const char *boot;

	if (vm->kind != XVA_VM_HVM)
		boot = vm->pv_bootloader ? "booted by its PV boot loader"
		       : vm->pv_kernel ? "booted from a kernel file"
				       : "with no boot loader set";
	else if (vm->firmware == XVA_VM_UEFI)
		boot = vm->secure_boot ? "UEFI firmware with Secure Boot"
				       : "UEFI firmware";
	else
		boot = "BIOS firmware";
	comment(w, "", "VM \"%s\": generated by xvafs --vm-config %s from %s.",
		vm->name, format_names[w->format],
		w->export_name ? w->export_name : "the export's ova.xml");
	comment(w, "", "XenServer/XCP-ng ran it as %s%s, %s, with %u of %u "
		"vCPUs and %llu MiB of memory (static max %llu MiB).",
		kinds[vm->kind], vm->pv_in_pvh ? " (PV in a PVH shim)" : "",
		boot, vm->vcpus_at_startup, vm->vcpus_max,
		mib_up(vm->memory_target), mib_up(vm->memory_max));
	comment(w, "", "Its disks are the files %s/by-device/NAME served by "
		"xvafs: mount the export there first, writable through an "
		"overlay so that the VM can write while the export stays as it "
		"is (xvafs -o overlay=DIR EXPORT %s).", w->mnt, w->mnt);
	if (vm->n_notes + w->n_notes == 0)
		return;
	comment(w, "", "Not carried over:");
	for (size_t i = 0; i < vm->n_notes; i++)
		comment(w, "", "  - %s", vm->notes[i]);
	for (size_t i = 0; i < w->n_notes; i++)
		comment(w, "", "  - %s", w->notes[i]);
}

/* ---- xl (Xen 4.17) ---- */

/* A double-quoted xl string: libxlutil reads \" \\ \n \r \t back. Other
 * control characters cannot come from ova.xml (XML 1.0 has none) nor
 * from the checked mount point. */
static void xl_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		switch (*s) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			fputc((unsigned char)*s < 0x20 ? '?' : *s, f);
		}
	}
	fputc('"', f);
}

static void xl_key_string(struct writer *w, const char *key, const char *value)
{
	fprintf(w->f, "%s = ", key);
	xl_string(w->f, value);
	fputc('\n', w->f);
}

static void xl_switch(struct writer *w, const char *key, enum xva_vm_switch s)
{
	if (s != XVA_VM_UNSET)
		fprintf(w->f, "%s = %d\n", key, s == XVA_VM_ON);
}

/* A disk spec in xl-disk-configuration(5) syntax, an empty CD drive when
 * PATH_DEVICE is NULL; target= comes last as it takes the rest of the
 * spec, commas included. */
static void xl_disk_spec(struct writer *w, const char *vdev, const char *access,
			 const char *path_device)
{
	char *spec;
	int n;

	if (path_device)
		n = asprintf(&spec, "format=raw, vdev=%s, access=%s, "
			     "target=%s/by-device/%s", vdev, access, w->mnt,
			     path_device);
	else
		n = asprintf(&spec, "format=raw, vdev=%s, access=%s, "
			     "devtype=cdrom, target=", vdev, access);
	if (n < 0) {
		w->nomem = true;
		return;
	}
	fputs("\t", w->f);
	xl_string(w->f, spec);
	fputs(",\n", w->f);
	free(spec);
}

static void xl_format_notes(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	if (vm->secure_boot)
		add_format_note(w, "Secure Boot: xl's OVMF keeps no Secure Boot "
				"keys (XenServer has varstored for that); the "
				"guest boots without it");
	if (vm->platform.device_id)
		add_format_note(w, "platform device_id=%s (the Xen platform PCI "
				"device id Windows Update's PV drivers bind to) "
				"has no xl setting; the Windows PV drivers may "
				"need reinstalling", vm->platform.device_id);
	if (vm->platform.cores_per_socket)
		add_format_note(w, "cores-per-socket=%u has no xl setting",
				vm->platform.cores_per_socket);
	if (vm->kind != XVA_VM_HVM && vm->n_cdroms)
		add_format_note(w, "%zu CD drive%s: PV guests have no emulated "
				"CD drive", vm->n_cdroms,
				vm->n_cdroms == 1 ? "" : "s");
	if (vm->kind != XVA_VM_HVM && vm->platform.usb_tablet == XVA_VM_ON)
		add_format_note(w, "USB tablet: PV guests have no emulated USB");
}

static void write_xl(struct writer *w)
{
	static const char *const types[] = { "hvm", "pv", "pvh" };
	static const struct {
		unsigned bit;
		const char *group;
	} groups[] = {
		{ XVA_VM_VIRIDIAN_TIME_REF_COUNT, "time_ref_count" },
		{ XVA_VM_VIRIDIAN_REFERENCE_TSC, "reference_tsc" },
		{ XVA_VM_VIRIDIAN_APIC_ASSIST, "apic_assist" },
		{ XVA_VM_VIRIDIAN_CRASH_CTL, "crash_ctl" },
		{ XVA_VM_VIRIDIAN_STIMER, "stimer" },
	};
	const struct xva_vm *vm = w->vm;
	const struct xva_vm_platform *p = &vm->platform;
	bool hvm = vm->kind == XVA_VM_HVM;
	const struct xva_vm_disk *boot_first = NULL;

	xl_format_notes(w);
	header(w);
	comment(w, "", "Disks in Xen 4.17 xl syntax. xend/xm (Xen 4.1 and "
		"older) need the positional form 'tap:aio:PATH,xvda,w' instead; "
		"later xl strips and ignores a tap:aio: prefix.");
	/* xl takes no domain without a name. */
	xl_key_string(w, "name", vm->name[0] ? vm->name
					     : vm->uuid ? vm->uuid : "vm");
	if (vm->uuid)
		xl_key_string(w, "uuid", vm->uuid);
	xl_key_string(w, "type", types[vm->kind]);
	if (hvm && vm->memory_target < vm->memory_max)
		comment(w, "", "memory below maxmem starts an HVM guest in "
			"populate-on-demand mode, as XenServer's dynamic memory "
			"did: the guest needs its balloon driver, else set "
			"memory = maxmem.");
	fprintf(w->f, "memory = %llu\nmaxmem = %llu\n", mib_up(vm->memory_target),
		mib_up(vm->memory_max));
	fprintf(w->f, "vcpus = %u\nmaxvcpus = %u\n", vm->vcpus_at_startup,
		vm->vcpus_max);
	if (vm->pv_in_pvh)
		fputs("pvshim = 1\n", w->f);
	if (hvm) {
		xl_key_string(w, "bios", vm->firmware == XVA_VM_UEFI ? "ovmf"
								     : "seabios");
		if (vm->boot_order)
			xl_key_string(w, "boot", vm->boot_order);
		xl_switch(w, "acpi", p->acpi);
		xl_switch(w, "apic", p->apic);
		xl_switch(w, "pae", p->pae);
		xl_switch(w, "nx", p->nx);
		xl_switch(w, "hpet", p->hpet);
		if (p->viridian == XVA_VM_ON && p->viridian_extra) {
			fputs("viridian = [ \"defaults\"", w->f);
			for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
				if (p->viridian_extra & groups[i].bit)
					fprintf(w->f, ", \"%s\"", groups[i].group);
			fputs(" ]\n", w->f);
		} else {
			xl_switch(w, "viridian", p->viridian);
		}
		if (p->has_timeoffset)
			fprintf(w->f, "rtc_timeoffset = %ld\n", p->timeoffset);
		if (p->vga)
			xl_key_string(w, "vga", strcmp(p->vga, "std") == 0
						? "stdvga" : "cirrus");
		if (p->videoram)
			fprintf(w->f, "videoram = %u\n", p->videoram);
		xl_switch(w, "usb", p->usb);
		if (p->usb_tablet == XVA_VM_ON)
			fputs("usbdevice = [ \"tablet\" ]\n", w->f);
	} else if (vm->pv_kernel) {
		comment(w, "", "PV_kernel and PV_ramdisk are paths on the "
			"XenServer host: copy them here first.");
		xl_key_string(w, "kernel", vm->pv_kernel);
		if (vm->pv_ramdisk)
			xl_key_string(w, "ramdisk", vm->pv_ramdisk);
		if (vm->pv_args)
			xl_key_string(w, "extra", vm->pv_args);
	} else if (vm->pv_bootloader) {
		if (strcmp(vm->pv_bootloader, "pygrub") != 0)
			comment(w, "", "PV_bootloader was \"%s\"; xl has pygrub.",
				vm->pv_bootloader);
		xl_key_string(w, "bootloader", "pygrub");
		if (vm->pv_args) {
			char *arg;

			/* XAPI hands PV_args to pygrub, which appends
			 * them to the kernel command line it finds. */
			if (asprintf(&arg, "--args=%s", vm->pv_args) < 0) {
				w->nomem = true;
				return;
			}
			fputs("bootloader_args = [ ", w->f);
			xl_string(w->f, arg);
			fputs(" ]\n", w->f);
			free(arg);
		}
	} else {
		comment(w, "", "Neither PV_bootloader nor PV_kernel is set: add "
			"bootloader = \"pygrub\" or a kernel before starting.");
	}

	/* pygrub reads the first disk of the list: the bootable one. */
	if (!hvm)
		for (size_t i = 0; i < vm->n_disks && !boot_first; i++)
			if (vm->disks[i].bootable)
				boot_first = &vm->disks[i];
	fputs("disk = [\n", w->f);
	if (boot_first)
		xl_disk_spec(w, boot_first->device,
			     boot_first->read_only ? "ro" : "rw",
			     boot_first->device);
	for (size_t i = 0; i < vm->n_disks; i++)
		if (&vm->disks[i] != boot_first)
			xl_disk_spec(w, vm->disks[i].device,
				     vm->disks[i].read_only ? "ro" : "rw",
				     vm->disks[i].device);
	for (size_t i = 0; hvm && i < vm->n_cdroms; i++) {
		if (vm->cdroms[i].iso)
			comment(w, "\t", "%s held the ISO \"%s\" (not in the "
				"export): put its path after target= to insert "
				"it.", vm->cdroms[i].guest_device,
				vm->cdroms[i].iso);
		xl_disk_spec(w, vm->cdroms[i].guest_device, "ro", NULL);
	}
	fputs("]\n", w->f);
	fputs("vif = [\n", w->f);
	for (size_t i = 0; i < vm->n_vifs; i++) {
		const struct xva_vm_vif *v = &vm->vifs[i];
		char spec[128];
		int n = 0;

		/* Checked MACs and bridge names need no quoting here. */
		if (v->mac)
			n += snprintf(spec + n, sizeof(spec) - (size_t)n,
				      "mac=%s", v->mac);
		if (v->bridge)
			n += snprintf(spec + n, sizeof(spec) - (size_t)n,
				      "%sbridge=%s", n ? ", " : "", v->bridge);
		if (v->mtu && v->mtu != 1500) /* mtu= is new in xl 4.17 */
			n += snprintf(spec + n, sizeof(spec) - (size_t)n,
				      "%smtu=%u", n ? ", " : "", v->mtu);
		if (v->network)
			comment(w, "\t", "VIF %u on network \"%s\"", v->device,
				v->network);
		fputs("\t", w->f);
		xl_string(w->f, spec);
		fputs(",\n", w->f);
	}
	fputs("]\n", w->f);
}

/* ---- libvirt (KVM) ---- */

/* Text or an attribute value (quoted with '). */
static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* libvirt refuses a domain name with '/' or a line break in it. */
static char *libvirt_name(const char *name)
{
	char *copy = strdup(name[0] ? name : "vm");

	for (char *p = copy; p && *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '_';
	return copy;
}

static void libvirt_format_notes(struct writer *w, const char *name)
{
	const struct xva_vm *vm = w->vm;

	if (strcmp(name, vm->name) != 0)
		add_format_note(w, "the domain name is \"%s\": libvirt takes no "
				"'/' or line break in a name", name);
	if (vm->platform.device_id)
		add_format_note(w, "platform device_id=%s: the Xen platform "
				"device and XenServer's Windows PV drivers mean "
				"nothing on KVM; install the virtio-win drivers",
				vm->platform.device_id);
	if (vm->platform.videoram)
		add_format_note(w, "videoram=%u MiB: left to libvirt's default",
				vm->platform.videoram);
	if (vm->platform.apic == XVA_VM_OFF)
		add_format_note(w, "apic=false: KVM guests always have an APIC");
	if (vm->platform.viridian_extra & XVA_VM_VIRIDIAN_APIC_ASSIST)
		add_format_note(w, "viridian_apic_assist: no libvirt equivalent");
	if (vm->pv_args)
		add_format_note(w, "PV kernel arguments \"%s\": add them to the "
				"guest's own boot loader configuration",
				vm->pv_args);
}

static void libvirt_disk(struct writer *w, const struct xva_vm_disk *d,
			 const char *bus, const char *prefix, unsigned index)
{
	char *target = device_name(prefix, index);

	if (!target) {
		w->nomem = true;
		return;
	}
	fprintf(w->f, "    <disk type='file' device='disk'>\n"
		"      <driver name='qemu' type='raw' cache='none' io='native'/>\n"
		"      <source file='");
	xml_text(w->f, w->mnt);
	fputs("/by-device/", w->f);
	xml_text(w->f, d->device);
	fprintf(w->f, "'/>\n      <target dev='%s' bus='%s'/>\n", target, bus);
	if (d->read_only)
		fputs("      <readonly/>\n", w->f);
	fputs("    </disk>\n", w->f);
	free(target);
}

static void write_libvirt(struct writer *w)
{
	const struct xva_vm *vm = w->vm;
	const struct xva_vm_platform *p = &vm->platform;
	bool pv = vm->kind != XVA_VM_HVM;
	bool sata_disks = vm->windows;
	unsigned sata = 0;
	char *name = libvirt_name(vm->name);

	if (!name) {
		w->nomem = true;
		return;
	}
	libvirt_format_notes(w, name);
	header(w);
	if (pv)
		comment(w, "", "XenServer ran this guest paravirtualised (%s%s); "
			"KVM runs it as HVM from its own disk. It needs a boot "
			"loader on the disk (pygrub read grub.cfg from the file "
			"system: run grub-install from a rescue system if the "
			"disk has none), a kernel with virtio drivers, and "
			"/etc/fstab naming file systems by UUID or LABEL rather "
			"than /dev/xvd*.", vm->kind == XVA_VM_PVH ? "PVH" : "PV",
			vm->pv_bootloader ? ", booted by pygrub" : "");
	fputs("<domain type='kvm'>\n  <name>", w->f);
	xml_text(w->f, name);
	fputs("</name>\n", w->f);
	if (vm->uuid)
		fprintf(w->f, "  <uuid>%s</uuid>\n", vm->uuid);
	if (vm->description) {
		fputs("  <description>", w->f);
		xml_text(w->f, vm->description);
		fputs("</description>\n", w->f);
	}
	fprintf(w->f, "  <memory unit='KiB'>%llu</memory>\n"
		"  <currentMemory unit='KiB'>%llu</currentMemory>\n",
		kib_up(vm->memory_max), kib_up(vm->memory_target));
	if (vm->vcpus_at_startup < vm->vcpus_max)
		fprintf(w->f, "  <vcpu placement='static' current='%u'>%u</vcpu>\n",
			vm->vcpus_at_startup, vm->vcpus_max);
	else
		fprintf(w->f, "  <vcpu placement='static'>%u</vcpu>\n",
			vm->vcpus_max);
	fputs("  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n", w->f);
	if (vm->firmware == XVA_VM_UEFI) {
		fprintf(w->f, "    <loader readonly='yes'%s type='pflash'>%s"
			"</loader>\n    <nvram template='%s'/>\n",
			vm->secure_boot ? " secure='yes'" : "",
			vm->secure_boot ? OVMF_CODE_SECURE : OVMF_CODE,
			vm->secure_boot ? OVMF_VARS_SECURE : OVMF_VARS);
	}
	for (const char *b = vm->boot_order; b && *b; b++)
		fprintf(w->f, "    <boot dev='%s'/>\n", *b == 'c' ? "hd"
			: *b == 'd' ? "cdrom" : "network");
	if (!vm->boot_order)
		fputs("    <boot dev='hd'/>\n", w->f);
	fputs("  </os>\n  <features>\n", w->f);
	if (p->acpi != XVA_VM_OFF)
		fputs("    <acpi/>\n", w->f);
	fputs("    <apic/>\n", w->f);
	if (p->viridian == XVA_VM_ON) {
		fputs("    <hyperv mode='custom'>\n"
		      "      <relaxed state='on'/>\n"
		      "      <vapic state='on'/>\n"
		      "      <spinlocks state='on' retries='8191'/>\n", w->f);
		if (p->viridian_extra & XVA_VM_VIRIDIAN_STIMER)
			fputs("      <vpindex state='on'/>\n"
			      "      <synic state='on'/>\n"
			      "      <stimer state='on'/>\n", w->f);
		fputs("    </hyperv>\n", w->f);
	}
	if (vm->secure_boot)
		fputs("    <smm state='on'/>\n", w->f);
	fputs("  </features>\n", w->f);
	/* Xen hands HVM guests the host's CPU; so does host-passthrough. */
	fputs("  <cpu mode='host-passthrough' check='none'>\n", w->f);
	if (p->cores_per_socket)
		fprintf(w->f, "    <topology sockets='%u' dies='1' cores='%u' "
			"threads='1'/>\n", vm->vcpus_max / p->cores_per_socket,
			p->cores_per_socket);
	if (p->nx == XVA_VM_OFF)
		fputs("    <feature policy='disable' name='nx'/>\n", w->f);
	if (p->pae == XVA_VM_OFF)
		fputs("    <feature policy='disable' name='pae'/>\n", w->f);
	fputs("  </cpu>\n", w->f);
	if (p->has_timeoffset && p->timeoffset)
		fprintf(w->f, "  <clock offset='variable' adjustment='%ld' "
			"basis='utc'>\n", p->timeoffset);
	else
		fputs("  <clock offset='utc'>\n", w->f);
	if (p->hpet != XVA_VM_UNSET)
		fprintf(w->f, "    <timer name='hpet' present='%s'/>\n",
			p->hpet == XVA_VM_ON ? "yes" : "no");
	/* viridian=true is xl's "defaults", time_ref_count among them. */
	if (p->viridian == XVA_VM_ON)
		fputs("    <timer name='hypervclock' present='yes'/>\n", w->f);
	fputs("  </clock>\n  <devices>\n", w->f);
	if (sata_disks)
		comment(w, "    ", "A Windows guest (viridian or a Xen platform "
			"device id): it ran on Xen's emulated IDE and the Xen PV "
			"drivers, and has no virtio driver yet. Its disks are on "
			"SATA (AHCI), which Windows boots from once its storahci "
			"driver starts at boot; if it stops with "
			"INACCESSIBLE_BOOT_DEVICE, use bus='ide' and machine "
			"'pc' (at most 4 IDE drives). Install the virtio-win "
			"drivers, then move the disks to bus='virtio' and the "
			"NICs to model 'virtio'.");
	for (size_t i = 0; i < vm->n_disks; i++) {
		if (sata_disks)
			libvirt_disk(w, &vm->disks[i], "sata", "sd", sata++);
		else
			libvirt_disk(w, &vm->disks[i], "virtio", "vd",
				     (unsigned)i);
	}
	for (size_t i = 0; i < vm->n_cdroms; i++) {
		char *target = device_name("sd", sata++);

		if (!target) {
			w->nomem = true;
			break;
		}
		if (vm->cdroms[i].iso)
			comment(w, "    ", "The drive held the ISO \"%s\" (not in "
				"the export): add <source file='PATH'/> to "
				"insert it.", vm->cdroms[i].iso);
		fprintf(w->f, "    <disk type='file' device='cdrom'>\n"
			"      <driver name='qemu' type='raw'/>\n"
			"      <target dev='%s' bus='sata'/>\n"
			"      <readonly/>\n    </disk>\n", target);
		free(target);
	}
	for (size_t i = 0; i < vm->n_vifs; i++) {
		const struct xva_vm_vif *v = &vm->vifs[i];

		if (v->network)
			comment(w, "    ", "VIF %u on XenServer network \"%s\"%s",
				v->device, v->network, v->bridge
				? ": the bridge name is the XenServer host's, "
				  "change it to this host's" : "");
		if (v->bridge)
			fprintf(w->f, "    <interface type='bridge'>\n"
				"      <source bridge='%s'/>\n", v->bridge);
		else
			fputs("    <interface type='network'>\n"
			      "      <source network='default'/>\n", w->f);
		if (v->mac)
			fprintf(w->f, "      <mac address='%s'/>\n", v->mac);
		fprintf(w->f, "      <model type='%s'/>\n",
			vm->windows ? "e1000e" : "virtio");
		if (v->mtu && v->mtu != 1500)
			fprintf(w->f, "      <mtu size='%u'/>\n", v->mtu);
		fputs("    </interface>\n", w->f);
	}
	if (p->usb_tablet == XVA_VM_ON)
		fputs("    <input type='tablet' bus='usb'/>\n", w->f);
	fputs("    <graphics type='vnc' port='-1' autoport='yes' "
	      "listen='127.0.0.1'/>\n", w->f);
	if (p->vga)
		fprintf(w->f, "    <video>\n      <model type='%s'/>\n"
			"    </video>\n", strcmp(p->vga, "std") == 0 ? "vga"
								: "cirrus");
	fputs("    <serial type='pty'/>\n    <console type='pty'/>\n"
	      "  </devices>\n</domain>\n", w->f);
	free(name);
}

/* ---- qemu command line ---- */

/* One shell word: single quotes, each ' as '\''. */
static void sh_word(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", f);
		else
			fputc(*s, f);
	}
	fputc('\'', f);
}

/* BEFORE, VALUE with its commas doubled (qemu's escape in an option
 * list) and AFTER, as one shell word. */
static void qemu_opt_word(struct writer *w, const char *before,
			  const char *value, const char *after)
{
	size_t n = strlen(value);
	char *buf = malloc(strlen(before) + 2 * n + strlen(after) + 1);
	char *q;

	if (!buf) {
		w->nomem = true;
		return;
	}
	q = stpcpy(buf, before);
	for (size_t i = 0; i < n; i++) {
		*q++ = value[i];
		if (value[i] == ',')
			*q++ = ',';
	}
	strcpy(q, after);
	sh_word(w->f, buf);
	free(buf);
}

static void qemu_format_notes(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	if (vm->platform.device_id)
		add_format_note(w, "platform device_id=%s: the Xen platform "
				"device and XenServer's Windows PV drivers mean "
				"nothing on KVM; install the virtio-win drivers",
				vm->platform.device_id);
	if (vm->platform.videoram)
		add_format_note(w, "videoram=%u MiB: left to qemu's default",
				vm->platform.videoram);
	if (vm->platform.apic == XVA_VM_OFF)
		add_format_note(w, "apic=false: KVM guests always have an APIC");
	if (vm->platform.viridian_extra & XVA_VM_VIRIDIAN_APIC_ASSIST)
		add_format_note(w, "viridian_apic_assist: no qemu equivalent");
	if (vm->pv_args)
		add_format_note(w, "PV kernel arguments \"%s\": add them to the "
				"guest's own boot loader configuration",
				vm->pv_args);
}

#define NEXT " \\\n\t"

static void write_qemu(struct writer *w)
{
	const struct xva_vm *vm = w->vm;
	const struct xva_vm_platform *p = &vm->platform;
	bool pv = vm->kind != XVA_VM_HVM;
	unsigned sata = 0;

	qemu_format_notes(w);
	fputs("#!/bin/sh\n", w->f);
	header(w);
	if (pv)
		comment(w, "", "XenServer ran this guest paravirtualised (%s); "
			"qemu runs it as HVM from its own disk: it needs a boot "
			"loader on the disk (grub-install from a rescue system "
			"if pygrub was all it had), virtio drivers, and "
			"/etc/fstab without /dev/xvd* names.",
			vm->kind == XVA_VM_PVH ? "PVH" : "PV");
	if (vm->windows)
		comment(w, "", "A Windows guest: it has no virtio driver yet, so "
			"its disks are on SATA (AHCI) and its NICs e1000e. If it "
			"stops with INACCESSIBLE_BOOT_DEVICE, use -machine pc and "
			"if=ide. Install the virtio-win drivers, then switch to "
			"if=virtio and virtio-net-pci.");
	if (vm->n_vifs)
		comment(w, "", "-netdev bridge needs qemu-bridge-helper to allow "
			"each bridge (\"allow BRIDGE\" in /etc/qemu/bridge.conf); "
			"the bridge names are the XenServer host's.");
	fputs("set -eu\n", w->f);
	if (vm->firmware == XVA_VM_UEFI) {
		comment(w, "", "The UEFI variables live in a copy of OVMF's "
			"template, made on first start (XVAFS_OVMF_VARS chooses "
			"where; a path without commas).");
		/* The UUID is checked: a plain word. */
		fprintf(w->f, "vars=${XVAFS_OVMF_VARS-}\n[ -n \"$vars\" ] || "
			"vars=./%s.OVMF_VARS.fd\n[ -e \"$vars\" ] || cp %s "
			"\"$vars\"\n", vm->uuid ? vm->uuid : "vm",
			vm->secure_boot ? OVMF_VARS_SECURE : OVMF_VARS);
	}
	fputs("exec qemu-system-x86_64" NEXT, w->f);
	fputs("-name ", w->f);
	qemu_opt_word(w, "guest=", vm->name[0] ? vm->name : "vm", "");
	fputs(NEXT, w->f);
	if (vm->uuid)
		fprintf(w->f, "-uuid %s" NEXT, vm->uuid);
	fprintf(w->f, "-machine q35,accel=kvm%s%s%s" NEXT,
		vm->secure_boot ? ",smm=on" : "",
		p->acpi == XVA_VM_OFF ? ",acpi=off" : "",
		p->hpet == XVA_VM_OFF ? ",hpet=off" : "");
	fprintf(w->f, "-cpu host%s%s", p->nx == XVA_VM_OFF ? ",nx=off" : "",
		p->pae == XVA_VM_OFF ? ",pae=off" : "");
	if (p->viridian == XVA_VM_ON)
		fprintf(w->f, ",hv_relaxed,hv_vapic,hv_spinlocks=0x1fff,hv_time%s",
			p->viridian_extra & XVA_VM_VIRIDIAN_STIMER
			? ",hv_vpindex,hv_synic,hv_stimer" : "");
	fputs(NEXT, w->f);
	/* qemu has no balloon target on its command line: the guest gets
	 * its static maximum, all it could ever see under Xen. */
	fprintf(w->f, "-m %llu" NEXT, mib_up(vm->memory_max));
	fprintf(w->f, "-smp cpus=%u,maxcpus=%u", vm->vcpus_at_startup,
		vm->vcpus_max);
	if (p->cores_per_socket)
		fprintf(w->f, ",sockets=%u,cores=%u,threads=1",
			vm->vcpus_max / p->cores_per_socket, p->cores_per_socket);
	fputs(NEXT, w->f);
	if (vm->firmware == XVA_VM_UEFI) {
		if (vm->secure_boot)
			fputs("-global driver=cfi.pflash01,property=secure,"
			      "value=on" NEXT, w->f);
		fprintf(w->f, "-drive if=pflash,format=raw,unit=0,readonly=on,"
			"file=%s" NEXT "-drive \"if=pflash,format=raw,unit=1,"
			"file=$vars\"" NEXT, vm->secure_boot ? OVMF_CODE_SECURE
							      : OVMF_CODE);
	}
	if (vm->boot_order)
		fprintf(w->f, "-boot order=%s" NEXT, vm->boot_order);
	if (p->has_timeoffset && p->timeoffset)
		fprintf(w->f, "-rtc \"base=$(date -u -d @$(($(date +%%s) + %ld))"
			" +%%Y-%%m-%%dT%%H:%%M:%%S)\"" NEXT, p->timeoffset);
	for (size_t i = 0; i < vm->n_disks; i++) {
		const struct xva_vm_disk *d = &vm->disks[i];
		char *path;

		if (asprintf(&path, "%s/by-device/%s", w->mnt, d->device) < 0) {
			w->nomem = true;
			return;
		}
		fputs("-drive ", w->f);
		if (vm->windows) {
			char tail[128];

			snprintf(tail, sizeof(tail), ",format=raw,if=none,id=disk%zu,"
				 "cache=none,aio=native%s", i,
				 d->read_only ? ",readonly=on" : "");
			qemu_opt_word(w, "file=", path, tail);
			fprintf(w->f, NEXT "-device ide-hd,drive=disk%zu,bus=", i);
			if (sata < AHCI_PORTS)
				fprintf(w->f, "ide.%u", sata);
			else
				fprintf(w->f, "ahci%u.%u", sata / AHCI_PORTS,
					sata % AHCI_PORTS);
			sata++;
		} else {
			qemu_opt_word(w, "file=", path, d->read_only
				      ? ",format=raw,if=virtio,cache=none,"
					"aio=native,readonly=on"
				      : ",format=raw,if=virtio,cache=none,"
					"aio=native");
		}
		fputs(NEXT, w->f);
		free(path);
	}
	for (size_t i = 0; i < vm->n_cdroms; i++) {
		fprintf(w->f, "-drive if=none,id=cd%zu,media=cdrom,readonly=on"
			NEXT "-device ide-cd,drive=cd%zu,bus=", i, i);
		if (sata < AHCI_PORTS)
			fprintf(w->f, "ide.%u", sata);
		else
			fprintf(w->f, "ahci%u.%u", sata / AHCI_PORTS,
				sata % AHCI_PORTS);
		sata++;
		fputs(NEXT, w->f);
	}
	/* More drives than q35's own six SATA ports: more controllers. */
	for (unsigned c = 1; c * AHCI_PORTS < sata; c++)
		fprintf(w->f, "-device ahci,id=ahci%u" NEXT, c);
	for (size_t i = 0; i < vm->n_vifs; i++) {
		const struct xva_vm_vif *v = &vm->vifs[i];

		if (v->bridge)
			fprintf(w->f, "-netdev bridge,id=net%zu,br=%s" NEXT, i,
				v->bridge);
		else
			fprintf(w->f, "-netdev user,id=net%zu" NEXT, i);
		fprintf(w->f, "-device %s,netdev=net%zu",
			vm->windows ? "e1000e" : "virtio-net-pci", i);
		if (v->mac)
			fprintf(w->f, ",mac=%s", v->mac);
		if (v->mtu && v->mtu != 1500 && !vm->windows)
			fprintf(w->f, ",host_mtu=%u", v->mtu);
		fputs(NEXT, w->f);
	}
	if (p->usb_tablet == XVA_VM_ON)
		fputs("-device qemu-xhci,id=xhci -device usb-tablet,bus=xhci.0"
		      NEXT, w->f);
	if (p->vga)
		fprintf(w->f, "-vga %s" NEXT, p->vga);
	fputs("-vnc 127.0.0.1:0,to=99\n", w->f);
}

/* ---- Entry point ---- */

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n;
		unsigned c;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xE0) == 0xC0 && *p >= 0xC2)
			n = 1, c = *p & 0x1F;
		else if ((*p & 0xF0) == 0xE0)
			n = 2, c = *p & 0x0F;
		else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4)
			n = 3, c = *p & 0x07;
		else
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3F);
		}
		if ((n == 2 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
		    (n == 3 && (c < 0x10000 || c > 0x10FFFF)))
			return false;
		p += n + 1;
	}
	return true;
}

enum xva_status xva_vm_write(const struct xva_vm *vm,
			     enum xva_vm_format format, const char *mountpoint,
			     const char *export_name, char **text, size_t *len,
			     struct xva_err *err)
{
	struct writer w = { .vm = vm, .format = format,
			    .export_name = export_name };
	enum xva_status status = XVA_OK;
	char *mnt = NULL;
	size_t n;

	*text = NULL;
	*len = 0;
	if ((unsigned)format > XVA_VM_QEMU)
		return xva_fail(err, XVA_EINVAL, "unknown configuration format "
				"%d", (int)format);
	if (!mountpoint || mountpoint[0] != '/')
		return xva_fail(err, XVA_EINVAL, "the mount point \"%.80s\" is "
				"not an absolute path",
				mountpoint ? mountpoint : "");
	for (const char *p = mountpoint; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return xva_fail(err, XVA_EINVAL, "the mount point holds a "
					"control character");
	if (!valid_utf8(mountpoint) || (export_name && !valid_utf8(export_name)))
		return xva_fail(err, XVA_EINVAL, "the mount point or export name "
				"is not valid UTF-8");
	/* "/mnt/xva/" and "/mnt/xva" are one folder; "/" stays "". */
	n = strlen(mountpoint);
	while (n > 0 && mountpoint[n - 1] == '/')
		n--;
	mnt = strndup(mountpoint, n);
	if (!mnt)
		return xva_nomem(err);
	w.mnt = mnt;
	w.f = open_memstream(text, len);
	if (!w.f) {
		free(mnt);
		return xva_nomem(err);
	}
	switch (format) {
	case XVA_VM_XL: write_xl(&w); break;
	case XVA_VM_LIBVIRT: write_libvirt(&w); break;
	case XVA_VM_QEMU: write_qemu(&w); break;
	}
	if (ferror(w.f))
		w.nomem = true;
	if (fclose(w.f) != 0)
		w.nomem = true;
	if (w.nomem) {
		free(*text);
		*text = NULL;
		*len = 0;
		status = xva_nomem(err);
	}
	for (size_t i = 0; i < w.n_notes; i++)
		free(w.notes[i]);
	free(w.notes);
	free(mnt);
	return status;
}
