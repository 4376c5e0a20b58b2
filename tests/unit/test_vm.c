/* The exported VM: realistic records (XAPI and Xen Orchestra style) read
 * back field by field against the ova.xml they came from, records that
 * cannot be right, and untrusted text in all three formats. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "check.h"
#include "../vmrecords.h"
#include "xvafs/vm.h"

static struct xva_err err;

static const struct vmrec_disk rec_disks[] = {
	{ "Ref:10", "root", 10ULL << 30, 0 },
	{ "Ref:11", "data", 200ULL << 30, 1 },
	{ "Ref:9", "logs", 5ULL << 30, 4 },
};
static const struct xva_vm_disk_ref served[] = {
	{ "Ref:10", "xvda" }, { "Ref:11", "xvdb" }, { "Ref:9", "xvde" },
};

static struct xva_ovaxml *parse(const char *xml)
{
	struct xva_ovaxml *ova = NULL;

	if (xva_ovaxml_parse(xml, strlen(xml), &ova, &err) != XVA_OK) {
		fprintf(stderr, "ova.xml refused: %s\n", err.msg);
		return NULL;
	}
	return ova;
}

static const struct xva_ova_vm *find_vm(const struct xva_ovaxml *ova,
					const char *id)
{
	for (size_t i = 0; i < ova->n_vms; i++)
		if (strcmp(ova->vms[i].id, id) == 0)
			return &ova->vms[i];
	return NULL;
}

static bool has_note(const struct xva_vm *vm, const char *part)
{
	for (size_t i = 0; i < vm->n_notes; i++)
		if (strstr(vm->notes[i], part))
			return true;
	return false;
}

static char *write_format(const struct xva_vm *vm, enum xva_vm_format f,
			  const char *mnt)
{
	char *text = NULL;
	size_t len = 0;

	if (xva_vm_write(vm, f, mnt, "backup.xva", &text, &len, &err) != XVA_OK) {
		fprintf(stderr, "write %s: %s\n", xva_vm_format_name(f), err.msg);
		return NULL;
	}
	if (strlen(text) != len)
		CHECK_MSG(0, "length %zu for %zu bytes of text", len, strlen(text));
	return text;
}

static unsigned long long num(const char *text)
{
	return text ? strtoull(text, NULL, 10) : 0;
}

static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* One realistic record: every field of the description against the
 * parsed ova.xml. */
static void check_record(const char *profile, bool xo)
{
	const struct vmrec_profile *p = vmrec_find(profile);
	struct vmrec_opts o = {
		.profile = p, .xo = xo, .with_snapshot = true, .cd_iso = xo,
		.cd_userdevice = 3, .n_vifs = 3, .disks = rec_disks,
		.n_disks = 3,
	};
	char *xml = vmrec_ova_xml(&o);
	struct xva_ovaxml *ova = parse(xml);
	const struct xva_ova_vm *v;
	const char *order, *firmware, *secureboot;
	struct xva_vm *vm = NULL;
	enum xva_vm_kind kind;

	free(xml);
	CHECK_MSG(ova != NULL, "%s", profile);
	if (!ova)
		return;
	CHECK_MSG(xva_vm_build(ova, served, 3, &vm, &err) == XVA_OK, "%s: %s",
		  profile, err.msg);
	if (!vm)
		goto out;
	v = find_vm(ova, "Ref:1000");
	CHECK(v && !v->is_a_snapshot && ova->n_vms == 2);
	if (!v)
		goto out;
	order = xva_ovaxml_map_get(&v->hvm_boot_params, "order");
	firmware = xva_ovaxml_map_get(&v->hvm_boot_params, "firmware");
	secureboot = xva_ovaxml_map_get(&v->platform, "secureboot");
	kind = strcmp(v->domain_type, "pv") == 0 ? XVA_VM_PV : XVA_VM_HVM;

	CHECK_MSG(strcmp(vm->name, v->name_label) == 0, "%s", vm->name);
	CHECK(strcmp(vm->name, p->name) == 0);
	CHECK(vm->uuid && strcmp(vm->uuid, v->uuid) == 0);
	CHECK(vm->description && strcmp(vm->description, v->name_description) == 0);
	CHECK(strcmp(vm->file_stem, p->name) == 0);
	CHECK(vm->memory_max == num(v->memory_static_max));
	CHECK(vm->memory_target == num(v->memory_dynamic_max));
	CHECK(vm->memory_max == p->memory_static_max &&
	      vm->memory_target == p->memory_dynamic_max);
	CHECK(vm->vcpus_max == num(v->vcpus_max) &&
	      vm->vcpus_at_startup == num(v->vcpus_at_startup));
	CHECK(vm->kind == kind && !vm->pv_in_pvh);
	CHECK(vm->firmware == (firmware && strcmp(firmware, "uefi") == 0
			       ? XVA_VM_UEFI : XVA_VM_BIOS));
	CHECK(vm->secure_boot == (vm->firmware == XVA_VM_UEFI && secureboot &&
				  strcmp(secureboot, "true") == 0));
	if (kind == XVA_VM_HVM)
		CHECK(vm->boot_order && order && strcmp(vm->boot_order, order) == 0);
	else
		CHECK(!vm->boot_order && vm->pv_bootloader &&
		      strcmp(vm->pv_bootloader, v->pv_bootloader) == 0 &&
		      vm->pv_args && strcmp(vm->pv_args, v->pv_args) == 0);
	CHECK(vm->windows == (strcmp(profile, "windows") == 0));
	if (vm->windows) {
		CHECK(vm->platform.viridian == XVA_VM_ON);
		CHECK(vm->platform.viridian_extra ==
		      (XVA_VM_VIRIDIAN_TIME_REF_COUNT | XVA_VM_VIRIDIAN_REFERENCE_TSC |
		       XVA_VM_VIRIDIAN_APIC_ASSIST | XVA_VM_VIRIDIAN_CRASH_CTL |
		       XVA_VM_VIRIDIAN_STIMER));
		CHECK(vm->platform.device_id &&
		      strcmp(vm->platform.device_id, "0002") == 0);
		CHECK(vm->platform.has_timeoffset && vm->platform.timeoffset == 3600);
		CHECK(vm->platform.usb_tablet == XVA_VM_ON);
	}
	if (strcmp(profile, "hvm-bios") == 0) {
		CHECK(vm->platform.cores_per_socket == 2);
		CHECK(vm->platform.vga && strcmp(vm->platform.vga, "std") == 0 &&
		      vm->platform.videoram == 8);
		CHECK(vm->platform.acpi == XVA_VM_ON &&
		      vm->platform.viridian == XVA_VM_OFF);
	}

	/* Disks in userdevice order with the caller's names; the CD. */
	CHECK_MSG(vm->n_disks == 3, "%zu disks", vm->n_disks);
	for (size_t i = 0; i < vm->n_disks && i < 3; i++) {
		const struct xva_vm_disk *d = &vm->disks[i];
		const struct xva_ova_vdi *vdi = xva_ovaxml_find_vdi(ova, d->vdi_id);
		const struct xva_ova_vbd *vbd = NULL;

		for (size_t k = 0; k < ova->n_vbds; k++)
			if (ova->vbds[k].vdi && strcmp(ova->vbds[k].vdi, d->vdi_id) == 0)
				vbd = &ova->vbds[k];
		CHECK(vdi && vbd);
		if (!vdi || !vbd)
			continue;
		CHECK(strcmp(d->device, served[i].device) == 0 &&
		      strcmp(d->vdi_id, served[i].vdi_id) == 0);
		CHECK(d->userdevice == num(vbd->userdevice));
		CHECK(d->userdevice == rec_disks[i].userdevice);
		CHECK(d->bootable == vbd->bootable && d->bootable == (i == 0));
		CHECK(d->read_only == (strcmp(vbd->mode, "RO") == 0));
		CHECK(d->size == vdi->virtual_size);
		CHECK(strcmp(d->label, vdi->name_label) == 0);
		CHECK(d->vdi_uuid && strcmp(d->vdi_uuid, vdi->uuid) == 0);
	}
	CHECK(vm->n_cdroms == 1);
	if (vm->n_cdroms == 1) {
		CHECK(vm->cdroms[0].userdevice == 3 &&
		      strcmp(vm->cdroms[0].guest_device, "xvdd") == 0);
		if (xo)
			CHECK(vm->cdroms[0].iso && strcmp(vm->cdroms[0].iso,
			      "debian-12.8.0-amd64-netinst.iso") == 0);
		else
			CHECK(!vm->cdroms[0].iso);
	}

	/* VIFs in device order, MACs in lower case, networks and bridges. */
	CHECK(vm->n_vifs == 3);
	for (size_t i = 0; i < vm->n_vifs; i++) {
		const struct xva_vm_vif *f = &vm->vifs[i];
		const struct xva_ova_vif *ov = NULL;
		const struct xva_ova_network *net;
		char mac[32];

		for (size_t k = 0; k < ova->n_vifs; k++)
			if (num(ova->vifs[k].device) == f->device)
				ov = &ova->vifs[k];
		CHECK(ov != NULL);
		if (!ov)
			continue;
		CHECK(f->device == i + (xo ? 1 : 0));
		snprintf(mac, sizeof(mac), "%s", ov->mac);
		lower(mac);
		CHECK_MSG(f->mac && strcmp(f->mac, mac) == 0, "%s", ov->mac);
		net = xva_ovaxml_find_network(ova, ov->network);
		CHECK(net && f->network && strcmp(f->network, net->name_label) == 0);
		CHECK(net && f->bridge && strcmp(f->bridge, net->bridge) == 0);
		CHECK(f->mtu == num(ov->mtu));
	}
	CHECK(has_note(vm, "1 snapshot"));
	CHECK(!has_note(vm, "VMs"));
	CHECK(has_note(vm, "device-model") == (kind == XVA_VM_HVM));
	if (strcmp(profile, "hvm-uefi") == 0)
		CHECK(has_note(vm, "UEFI variables"));

	/* Every format writes it. */
	for (int f = 0; f < XVA_VM_N_FORMATS; f++) {
		char *text = write_format(vm, f, "/mnt/xva/");

		CHECK(text != NULL);
		if (!text)
			continue;
		CHECK_MSG(strstr(text, "/mnt/xva/by-device/xvde") != NULL, "%s",
			  xva_vm_format_name(f));
		CHECK(strstr(text, "/mnt/xva//") == NULL);
		CHECK(strstr(text, "backup.xva") != NULL);
		if (f == XVA_VM_XL) {
			char line[128];

			snprintf(line, sizeof(line), "\nname = \"%s\"\n", p->name);
			CHECK(strstr(text, line) != NULL);
			snprintf(line, sizeof(line), "\nmemory = %llu\nmaxmem = %llu\n",
				 p->memory_dynamic_max >> 20,
				 p->memory_static_max >> 20);
			CHECK(strstr(text, line) != NULL);
			CHECK(strstr(text, kind == XVA_VM_PV ? "\ntype = \"pv\"\n"
							     : "\ntype = \"hvm\"\n"));
			CHECK(strstr(text, "tap:aio:PATH") != NULL);
		} else if (f == XVA_VM_LIBVIRT) {
			CHECK(strstr(text, "<domain type='kvm'>") != NULL);
			CHECK(strstr(text, vm->windows ? "bus='sata'"
						       : "bus='virtio'") != NULL);
			CHECK(strstr(text, "<mac address='b6:4e:9c:21:7d:02'/>"));
		} else {
			CHECK(strncmp(text, "#!/bin/sh\n", 10) == 0);
			CHECK(strstr(text, "exec qemu-system-x86_64 \\\n") != NULL);
			CHECK(strstr(text, "mac=b6:4e:9c:21:7d:03") != NULL);
		}
		free(text);
	}
out:
	xva_vm_free(vm);
	xva_ovaxml_free(ova);
}

#define M(name, value) "<member><name>" name "</name><value>" value "</value></member>"
#define OBJ(cls, id, fields) \
	"<value><struct>" M("class", cls) M("id", id) \
	"<member><name>snapshot</name><value><struct>" fields \
	"</struct></value></member></struct></value>"
#define EXPORT(objects) \
	"<value><struct>" M("version", "<struct>" M("hostname", "h") "</struct>") \
	"<member><name>objects</name><value><array><data>" objects \
	"</data></array></value></member></struct></value>"
#define VM_BASICS M("memory_static_max", "1073741824") M("VCPUs_max", "2") \
	M("VCPUs_at_startup", "1")
#define DISK_VBD(id, userdevice) OBJ("VBD", id, M("VM", "Ref:1") \
	M("VDI", "Ref:10") M("userdevice", userdevice) M("type", "Disk") \
	M("mode", "RW"))

/* Builds XML's VM; the status, with *VM set on success. */
static enum xva_status build(const char *xml, struct xva_vm **vm)
{
	struct xva_ovaxml *ova = parse(xml);
	static const struct xva_vm_disk_ref disk = { "Ref:10", "xvda" };
	enum xva_status status;

	*vm = NULL;
	if (!ova)
		return XVA_EINVAL;
	xva_err_clear(&err);
	status = xva_vm_build(ova, &disk, 1, vm, &err);
	xva_ovaxml_free(ova);
	return status;
}

static void test_which_vm(void)
{
	struct xva_vm *vm;
	struct xva_ovaxml *ova;

	/* No VM at all: a disk-only export's metadata. */
	ova = parse(EXPORT(OBJ("VDI", "Ref:10", M("virtual_size", "1048576"))));
	CHECK(ova && xva_vm_build(ova, NULL, 0, &vm, &err) == XVA_EFORMAT && !vm);
	CHECK(strstr(err.msg, "the export holds no VM record") != NULL);
	xva_ovaxml_free(ova);
	CHECK(xva_vm_build(NULL, NULL, 0, &vm, &err) == XVA_EFORMAT);

	/* Only snapshots: still no VM to configure. */
	CHECK(build(EXPORT(OBJ("VM", "Ref:1", VM_BASICS
		    M("is_a_snapshot", "<boolean>1</boolean>"))), &vm) ==
	      XVA_EFORMAT);
	CHECK(strstr(err.msg, "only snapshots") != NULL);

	/* A template is taken when it is all there is; the control domain
	 * never. */
	CHECK(build(EXPORT(OBJ("VM", "Ref:0", VM_BASICS M("name_label", "dom0")
		    M("is_control_domain", "true"))
		    OBJ("VM", "Ref:1", VM_BASICS M("name_label", "tmpl")
		    M("is_a_template", "true"))), &vm) == XVA_OK);
	CHECK(vm && strcmp(vm->name, "tmpl") == 0);
	xva_vm_free(vm);

	/* Two VMs: the first, said in a note; a template behind a VM. */
	CHECK(build(EXPORT(OBJ("VM", "Ref:5", VM_BASICS M("name_label", "t")
		    M("is_a_template", "true"))
		    OBJ("VM", "Ref:1", VM_BASICS M("name_label", "a"))
		    OBJ("VM", "Ref:2", VM_BASICS M("name_label", "b"))), &vm) ==
	      XVA_OK);
	CHECK(vm && strcmp(vm->name, "a") == 0 && has_note(vm, "2 VMs"));
	xva_vm_free(vm);
}

static void test_kinds(void)
{
	struct xva_vm *vm;

	/* Older exports: no domain_type, or "unspecified". */
	CHECK(build(EXPORT(OBJ("VM", "Ref:1", VM_BASICS
		    M("HVM_boot_policy", "BIOS order"))), &vm) == XVA_OK);
	CHECK(vm && vm->kind == XVA_VM_HVM && vm->firmware == XVA_VM_BIOS &&
	      !vm->boot_order);
	xva_vm_free(vm);
	CHECK(build(EXPORT(OBJ("VM", "Ref:1", VM_BASICS
		    M("domain_type", "unspecified") M("HVM_boot_policy", "")
		    M("PV_bootloader", "pygrub"))), &vm) == XVA_OK);
	CHECK(vm && vm->kind == XVA_VM_PV && vm->pv_bootloader);
	xva_vm_free(vm);
	CHECK(build(EXPORT(OBJ("VM", "Ref:1", VM_BASICS
		    M("domain_type", "pv_in_pvh"))), &vm) == XVA_OK);
	if (vm) {
		char *xl = write_format(vm, XVA_VM_XL, "/m");

		CHECK(vm->kind == XVA_VM_PV && vm->pv_in_pvh);
		CHECK(xl && strstr(xl, "\npvshim = 1\n") != NULL);
		CHECK(xl && strstr(xl, "Neither PV_bootloader nor PV_kernel") != NULL);
		free(xl);
	}
	xva_vm_free(vm);
	CHECK(build(EXPORT(OBJ("VM", "Ref:1", VM_BASICS M("domain_type", "pvh")
		    M("PV_kernel", "/boot/guest/vmlinuz")
		    M("PV_ramdisk", "/boot/guest/initrd")
		    M("PV_args", "root=/dev/xvda1 ro"))), &vm) == XVA_OK);
	if (vm) {
		char *xl = write_format(vm, XVA_VM_XL, "/m");

		CHECK(vm->kind == XVA_VM_PVH);
		CHECK(xl && strstr(xl, "\nkernel = \"/boot/guest/vmlinuz\"\n"
				   "ramdisk = \"/boot/guest/initrd\"\n"
				   "extra = \"root=/dev/xvda1 ro\"\n") != NULL);
		free(xl);
	}
	xva_vm_free(vm);
	/* Boot order letters xl, libvirt and qemu do not share. */
	CHECK(build(EXPORT(OBJ("VM", "Ref:1", VM_BASICS M("domain_type", "hvm")
		    M("HVM_boot_params", "<struct>" M("order", "DxCcn")
		    "</struct>"))), &vm) == XVA_OK);
	CHECK(vm && vm->boot_order && strcmp(vm->boot_order, "dcn") == 0 &&
	      has_note(vm, "boot order"));
	xva_vm_free(vm);
	/* secureboot=auto is written as off, and said. */
	CHECK(build(EXPORT(OBJ("VM", "Ref:1", VM_BASICS M("domain_type", "hvm")
		    M("HVM_boot_params", "<struct>" M("firmware", "uefi") "</struct>")
		    M("platform", "<struct>" M("secureboot", "auto") "</struct>"))),
		    &vm) == XVA_OK);
	CHECK(vm && vm->firmware == XVA_VM_UEFI && !vm->secure_boot &&
	      has_note(vm, "secureboot=auto"));
	xva_vm_free(vm);
}

static void test_refused(void)
{
	static const char *const bad[] = {
		/* no memory, memory not a number, too small, target above */
		EXPORT(OBJ("VM", "Ref:1", M("VCPUs_max", "1") M("VCPUs_at_startup", "1"))),
		EXPORT(OBJ("VM", "Ref:1", M("memory_static_max", "lots")
			   M("VCPUs_max", "1") M("VCPUs_at_startup", "1"))),
		EXPORT(OBJ("VM", "Ref:1", M("memory_static_max", "4096")
			   M("VCPUs_max", "1") M("VCPUs_at_startup", "1"))),
		EXPORT(OBJ("VM", "Ref:1", VM_BASICS
			   M("memory_dynamic_max", "2147483648"))),
		/* vCPUs */
		EXPORT(OBJ("VM", "Ref:1", M("memory_static_max", "1073741824")
			   M("VCPUs_max", "0") M("VCPUs_at_startup", "0"))),
		EXPORT(OBJ("VM", "Ref:1", M("memory_static_max", "1073741824")
			   M("VCPUs_max", "2") M("VCPUs_at_startup", "3"))),
		EXPORT(OBJ("VM", "Ref:1", M("memory_static_max", "1073741824")
			   M("VCPUs_max", "99999") M("VCPUs_at_startup", "1"))),
		/* kind and firmware */
		EXPORT(OBJ("VM", "Ref:1", VM_BASICS M("domain_type", "hvm2"))),
		EXPORT(OBJ("VM", "Ref:1", VM_BASICS M("domain_type", "hvm")
			   M("HVM_boot_params", "<struct>" M("firmware", "coreboot")
			   "</struct>"))),
		/* drives */
		EXPORT(OBJ("VM", "Ref:1", VM_BASICS) DISK_VBD("Ref:2", "x1")),
		EXPORT(OBJ("VM", "Ref:1", VM_BASICS) DISK_VBD("Ref:2", "0")
		       OBJ("VBD", "Ref:3", M("VM", "Ref:1") M("userdevice", "0")
			   M("type", "CD") M("empty", "true"))),
		EXPORT(OBJ("VM", "Ref:1", VM_BASICS)
		       OBJ("VIF", "Ref:4", M("VM", "Ref:1") M("device", "0"))
		       OBJ("VIF", "Ref:5", M("VM", "Ref:1") M("device", "0"))),
		EXPORT(OBJ("VM", "Ref:1", VM_BASICS)
		       OBJ("VIF", "Ref:4", M("VM", "Ref:1") M("device", "eth0"))),
		EXPORT(OBJ("VM", "Ref:1", VM_BASICS) DISK_VBD("Ref:2", "0")
		       DISK_VBD("Ref:3", "1")),
	};
	struct xva_vm *vm;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		enum xva_status st = build(bad[i], &vm);

		CHECK_MSG(st == XVA_EFORMAT && !vm && err.msg[0], "record %zu: %d %s",
			  i, (int)st, err.msg);
		xva_vm_free(vm);
	}
}

/* A hostile ova.xml cannot make the description's checks quadratic in
 * its size: a VM has at most 1024 VBDs and VIFs. */
static void test_bounds(void)
{
	static const char head[] = "<value><struct><member><name>objects</name>"
		"<value><array><data>" OBJ("VM", "Ref:1", VM_BASICS);
	static const char vif[] = OBJ("VIF", "Ref:v", M("VM", "Ref:1")
				      M("device", "0"));
	static const char tail[] = "</data></array></value></member></struct>"
				   "</value>";
	size_t n = 1025, len = sizeof(head) + n * (sizeof(vif) - 1) + sizeof(tail);
	char *xml = malloc(len), *p;
	struct xva_vm *vm;

	if (!xml)
		return;
	p = stpcpy(xml, head);
	for (size_t i = 0; i < n; i++)
		p = stpcpy(p, vif);
	strcpy(p, tail);
	CHECK(build(xml, &vm) == XVA_EFORMAT && strstr(err.msg, "1025 VIFs"));
	xva_vm_free(vm);
	free(xml);
}

static void test_caller_errors(void)
{
	static const char xml[] = EXPORT(OBJ("VM", "Ref:1", VM_BASICS));
	static const struct xva_vm_disk_ref bad_names[][1] = {
		{ { "Ref:10", "../etc" } }, { { "Ref:10", "" } },
		{ { "Ref:10", "xvd a" } }, { { "Ref:10", NULL } },
	};
	static const struct xva_vm_disk_ref twice[] = {
		{ "Ref:10", "xvda" }, { "Ref:11", "xvda" },
	};
	static const char two_disks[] = EXPORT(OBJ("VM", "Ref:1", VM_BASICS)
		DISK_VBD("Ref:2", "0") OBJ("VBD", "Ref:3", M("VM", "Ref:1")
		M("VDI", "Ref:11") M("userdevice", "1") M("type", "Disk")));
	struct xva_ovaxml *ova = parse(xml), *ova2 = parse(two_disks);
	struct xva_vm *vm = NULL;
	char *text;
	size_t len;

	for (size_t i = 0; ova && i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		CHECK(xva_vm_build(ova, bad_names[i], 1, &vm, &err) == XVA_EINVAL);
		CHECK(!vm);
	}
	CHECK(ova2 && xva_vm_build(ova2, twice, 2, &vm, &err) == XVA_EINVAL);
	CHECK(ova && xva_vm_build(ova, NULL, 0, &vm, &err) == XVA_OK);
	if (vm) {
		static const char *const bad_mnt[] = {
			"mnt/xva", "", "/mnt/x\ny", "/mnt/\xff\xfe",
		};

		for (size_t i = 0; i < sizeof(bad_mnt) / sizeof(bad_mnt[0]); i++)
			CHECK(xva_vm_write(vm, XVA_VM_XL, bad_mnt[i], NULL, &text,
					   &len, &err) == XVA_EINVAL && !text);
		CHECK(xva_vm_write(vm, (enum xva_vm_format)7, "/m", NULL, &text,
				   &len, &err) == XVA_EINVAL);
		/* "/" alone is a mount point too. */
		CHECK(xva_vm_write(vm, XVA_VM_QEMU, "/", NULL, &text, &len,
				   &err) == XVA_OK);
		free(text);
	}
	CHECK(xva_vm_format_from_name("libvirt") == XVA_VM_LIBVIRT);
	CHECK(xva_vm_format_from_name("xm") == -1);
	CHECK(strcmp(xva_vm_format_suffix(XVA_VM_QEMU), ".qemu.sh") == 0);
	xva_vm_free(vm);
	xva_ovaxml_free(ova);
	xva_ovaxml_free(ova2);
}

/* What a VM has that no format carries is said, not dropped. */
static void test_notes(void)
{
	static const char xml[] = EXPORT(OBJ("VM", "Ref:1", VM_BASICS
		M("domain_type", "hvm")
		M("NVRAM", "<struct>" M("EFI-variables", "QUJD") "</struct>")
		M("VGPUs", "<array><data><value>Ref:7</value></data></array>")
		M("attached_PCIs", "<array><data><value>OpaqueRef:ab</value>"
		  "</data></array>")
		M("VTPMs", "<array><data><value>Ref:8</value></data></array>")
		M("platform", "<struct>" M("nested-virt", "true")
		  M("timeoffset", "soon") "</struct>")
		M("other_config", "<struct>" M("pci", "0/0000:04:00.0") "</struct>"))
		OBJ("VBD", "Ref:2", M("VM", "Ref:1") M("VDI", "Ref:12")
		    M("userdevice", "1") M("type", "Disk"))
		OBJ("VBD", "Ref:3", M("VM", "Ref:1") M("VDI", "OpaqueRef:NULL")
		    M("userdevice", "2") M("type", "Floppy"))
		OBJ("VDI", "Ref:12", M("name_label", "scratch"))
		OBJ("VIF", "Ref:4", M("VM", "Ref:1") M("device", "0")
		    M("MAC", "not-a-mac") M("network", "Ref:6"))
		OBJ("VIF", "Ref:5", M("VM", "Ref:1") M("device", "1")
		    M("MAC", "AA-BB-CC-DD-EE-FF") M("network", "Ref:9"))
		OBJ("network", "Ref:6", M("bridge", "br0,script=/evil")));
	struct xva_vm *vm;

	CHECK(build(xml, &vm) == XVA_OK);
	if (!vm)
		return;
	CHECK(has_note(vm, "UEFI variables"));
	CHECK(has_note(vm, "1 virtual GPU"));
	CHECK(has_note(vm, "PCI passthrough") && has_note(vm, "0000:04:00.0"));
	CHECK(has_note(vm, "virtual TPM"));
	CHECK(has_note(vm, "nested-virt=true"));
	CHECK(has_note(vm, "timeoffset"));
	CHECK(has_note(vm, "Floppy drive"));
	CHECK(has_note(vm, "\"scratch\") has no data"));
	CHECK(has_note(vm, "served disk xvda"));
	CHECK(has_note(vm, "not-a-mac"));
	CHECK(has_note(vm, "unusable"));
	CHECK(vm->n_vifs == 2 && !vm->vifs[0].mac && !vm->vifs[0].bridge);
	CHECK(vm->n_vifs == 2 && vm->vifs[1].mac &&
	      strcmp(vm->vifs[1].mac, "aa:bb:cc:dd:ee:ff") == 0);
	CHECK(!vm->platform.has_timeoffset);
	for (int f = XVA_VM_XL; f <= XVA_VM_QEMU; f++) {
		char *text = write_format(vm, f, "/m");

		CHECK(text && strstr(text, "Not carried over") &&
		      strstr(text, "virtual TPM") && !strstr(text, "/evil"));
		/* A VIF with nothing to set is an empty spec, not whatever
		 * the stack held. */
		if (f == XVA_VM_XL)
			CHECK(text && strstr(text, "vif = [\n\t\"\",\n"
					     "\t\"mac=aa:bb:cc:dd:ee:ff\",\n]\n"));
		free(text);
	}
	xva_vm_free(vm);
}

/* libxml2 reads XML back: well-formed, the name and description exact,
 * no "--" inside a comment. */
static void check_libvirt(const char *text, const char *name,
			  const char *description)
{
	xmlDocPtr doc = xmlReadMemory(text, (int)strlen(text), "vm.xml", NULL,
				      XML_PARSE_NONET);
	xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;

	CHECK_MSG(root != NULL, "libvirt XML is not well-formed:\n%s", text);
	for (xmlNode *n = doc ? doc->children : NULL; n; n = n->next)
		if (n->type == XML_COMMENT_NODE)
			CHECK(!strstr((const char *)n->content, "--"));
	for (xmlNode *n = root ? root->children : NULL; n; n = n->next) {
		xmlChar *t;

		if (n->type != XML_ELEMENT_NODE)
			continue;
		t = xmlNodeGetContent(n);
		if (strcmp((const char *)n->name, "name") == 0)
			CHECK_MSG(strcmp((const char *)t, name) == 0, "<name>%s", t);
		if (strcmp((const char *)n->name, "description") == 0)
			CHECK(strcmp((const char *)t, description) == 0);
		xmlFree(t);
	}
	xmlFreeDoc(doc);
}

/* Every line of an xl config is a comment, a key, a list item or a list's
 * end: untrusted text never starts a line of its own. */
static void check_xl_lines(const char *text)
{
	for (const char *line = text; *line;) {
		size_t n = strcspn(line, "\n");
		bool ok = line[0] == '#' || strncmp(line, "\t#", 2) == 0 ||
			  strncmp(line, "\t\"", 2) == 0 || strncmp(line, "]", n) == 0;

		if (!ok) {
			size_t k = strspn(line, "abcdefghijklmnopqrstuvwxyz_");

			ok = k > 0 && strncmp(line + k, " = ", 3) == 0;
		}
		CHECK_MSG(ok, "xl line: %.*s", (int)n, line);
		line += n + (line[n] == '\n');
	}
}

static void test_hostile_names(void)
{
	static const char name[] = "evil\"'$(touch /tmp/x)`id`\n<b>&amp;--; "
				   "rm -rf / \\ a,b -->\tend";
	static const char description[] = "desc ]]> <!-- \"x\" &lt;";
	const struct vmrec_profile *p = vmrec_find("windows");
	struct vmrec_profile hostile = *p;
	struct vmrec_opts o = {
		.profile = &hostile, .name = name, .cd_userdevice = 3,
		.n_vifs = 1, .disks = rec_disks, .n_disks = 1,
	};
	struct xva_ovaxml *ova;
	struct xva_vm *vm = NULL;
	char *xml, *text;

	hostile.description = description;
	xml = vmrec_ova_xml(&o);
	ova = parse(xml);
	free(xml);
	CHECK(ova && xva_vm_build(ova, served, 1, &vm, &err) == XVA_OK);
	if (!vm)
		goto out;
	CHECK(strcmp(vm->name, name) == 0);
	CHECK(strchr(vm->file_stem, '/') == NULL &&
	      strchr(vm->file_stem, '\n') == NULL);

	text = write_format(vm, XVA_VM_XL, "/mnt/it's \"x\"");
	CHECK(text && strstr(text, "\nname = \"evil\\\"'$(touch /tmp/x)`id`\\n"
			     "<b>&amp;--; rm -rf / \\\\ a,b -->\\tend\"\n"));
	CHECK(text && strstr(text, "target=/mnt/it's \\\"x\\\"/by-device/xvda"));
	if (text)
		check_xl_lines(text);
	free(text);

	text = write_format(vm, XVA_VM_LIBVIRT, "/mnt/<x> & 'y'");
	if (text) {
		check_libvirt(text, "evil\"'$(touch _tmp_x)`id`_<b>&amp;--; rm "
			      "-rf _ \\ a,b -->_end", description);
		CHECK(strstr(text, "<source file='/mnt/&lt;x&gt; &amp; &apos;y&apos;"
			     "/by-device/xvda'/>"));
	}
	free(text);

	text = write_format(vm, XVA_VM_QEMU, "/mnt/a,b 'c'");
	CHECK(text && strstr(text, "-name 'guest=evil\"'\\''$(touch /tmp/x)`id`\n"
			     "<b>&amp;--; rm -rf / \\ a,,b -->\tend' \\\n"));
	CHECK(text && strstr(text, "-drive 'file=/mnt/a,,b '\\''c'\\''/by-device/"
			     "xvda,format=raw,"));
	/* In comments the name is on one line. */
	CHECK(text && strstr(text, "# VM \"evil\"'$(touch /tmp/x)`id` <b>&amp;"));
	free(text);
out:
	xva_vm_free(vm);
	xva_ovaxml_free(ova);
}

/* A UEFI VM with its variables (the v2 fixture's text), a vTPM and
 * bios_strings: what the mount serves beside the configurations, and how
 * the configurations name it; -o bridge. */
static void test_firmware_carried(const char *fixtures)
{
	static const struct vmrec_disk disk = { "Ref:10", "root", 1ULL << 30, 0 };
	static const struct xva_vm_disk_ref ref = { "Ref:10", "xvda" };
	struct vmrec_opts o = { .profile = vmrec_find("hvm-uefi"), .n_vifs = 1,
				.disks = &disk, .n_disks = 1,
				.cd_userdevice = 3, .vtpm = "cGVybWFsbA==  " };
	struct xva_vm_file files[XVA_VM_MAX_FILES];
	struct xva_ovaxml *ova;
	struct xva_vm *vm = NULL;
	char path[4096], nvram[4096] = "", *xml, *text;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/nvram-v2.b64", fixtures);
	f = fopen(path, "r");
	CHECK_MSG(f != NULL, "%s", path);
	if (!f)
		return;
	n = fread(nvram, 1, sizeof(nvram) - 1, f);
	fclose(f);
	nvram[n] = '\0';
	nvram[strcspn(nvram, "\n")] = '\0';
	o.nvram = nvram;
	xml = vmrec_ova_xml(&o);
	ova = parse(xml);
	CHECK_MSG(ova && xva_vm_build(ova, &ref, 1, &vm, &err) == XVA_OK, "%s",
		  err.msg);
	if (!vm)
		goto out;
	/* Secure Boot on, the fixture has no keys: said. */
	CHECK(has_note(vm, "hold no platform key (PK)"));
	for (size_t i = 0; i < vm->n_notes; i++)
		CHECK_MSG(!strstr(vm->notes[i], "not carried") ||
			  (!strstr(vm->notes[i], "UEFI variables") &&
			   !strstr(vm->notes[i], "virtual TPM")), "%s", vm->notes[i]);
	CHECK(xva_vm_files(vm, files) == 2);
	CHECK(strcmp(files[0].suffix, ".OVMF_VARS.fd") == 0 &&
	      files[0].len == 0x84000);
	CHECK(strcmp(files[1].suffix, ".tpm2-00.permall") == 0 &&
	      files[1].len == 7 && memcmp(files[1].data, "permall", 7) == 0);
	CHECK(vm->efi_vars_summary &&
	      strstr(vm->efi_vars_summary, "2 variables: Boot0001, BootOrder"));
	text = write_format(vm, XVA_VM_QEMU, "/mnt/xva");
	CHECK(text && strstr(text, "cp '/mnt/xva/vm/db01.OVMF_VARS.fd' \"$vars\""));
	CHECK(text && strstr(text, "cp '/mnt/xva/vm/db01.tpm2-00.permall'"));
	CHECK(text && strstr(text, "-device tpm-crb,tpmdev=tpm0"));
	CHECK(text && strstr(text, "-smbios 'type=1,manufacturer=Xen,product=HVM domU'"));
	CHECK(text && strstr(text, "XVAFS_BRIDGE:-xenbr0"));
	free(text);
	text = write_format(vm, XVA_VM_LIBVIRT, "/mnt/xva");
	CHECK(text && strstr(text, "<nvram template='/mnt/xva/vm/db01.OVMF_VARS.fd'/>"));
	CHECK(text && strstr(text, "<backend type='emulator' version='2.0'/>"));
	CHECK(text && strstr(text, "<entry name='manufacturer'>Xen</entry>") &&
	      strstr(text, "<smbios mode='sysinfo'/>"));
	free(text);
	CHECK(xva_vm_set_bridge(vm, "br0", &err) == XVA_OK);
	text = write_format(vm, XVA_VM_LIBVIRT, "/mnt/xva");
	CHECK(text && strstr(text, "<source bridge='br0'/>"));
	free(text);
	CHECK(xva_vm_set_bridge(vm, "a bridge", &err) == XVA_EINVAL);
	CHECK(xva_vm_set_bridge(vm, "sixteen-letters!", &err) == XVA_EINVAL);
out:
	xva_vm_free(vm);
	xva_ovaxml_free(ova);
	free(xml);
}

int main(int argc, char **argv)
{
	static const char *const profiles[] = {
		"hvm-bios", "hvm-uefi", "pv-pygrub", "windows",
	};

	for (size_t i = 0; i < 4; i++) {
		check_record(profiles[i], false);
		check_record(profiles[i], true);
	}
	test_which_vm();
	test_kinds();
	test_refused();
	test_bounds();
	test_caller_errors();
	test_notes();
	test_hostile_names();
	if (argc > 1)
		test_firmware_carried(argv[1]);
	return CHECK_DONE();
}
