/* The VM as an xl configuration (Xen 4.17's xl.cfg(5)), its disks in
 * the xvafs mount. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm_writer.h"

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

/* Whether the VM's SMBIOS strings are more than the ones Xen's hvmloader
 * writes anyway (vendor and manufacturer Xen, product HVM domU). */
static bool xl_own_smbios(const struct xva_vm *vm)
{
	for (size_t i = 0; i < vm->n_smbios; i++) {
		const struct xva_vm_smbios *e = &vm->smbios[i];
		bool xen = strcmp(e->value, "Xen") == 0 &&
			   (strcmp(e->field, "vendor") == 0 ||
			    strcmp(e->field, "manufacturer") == 0);
		bool domu = e->type == 1 && strcmp(e->field, "product") == 0 &&
			    strcmp(e->value, "HVM domU") == 0;

		if (!xen && !domu)
			return true;
	}
	return false;
}

static void xl_format_notes(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	if (vm->secure_boot)
		vmw_note(w, "Secure Boot: xl's OVMF keeps no Secure Boot "
			 "keys (XenServer has varstored for that); the "
			 "guest boots without it");
	if (vm->platform.device_id)
		vmw_note(w, "platform device_id=%s (the Xen platform PCI "
			 "device id Windows Update's PV drivers bind to) "
			 "has no xl setting; the Windows PV drivers may "
			 "need reinstalling", vm->platform.device_id);
	if (vm->platform.cores_per_socket)
		vmw_note(w, "cores-per-socket=%u has no xl setting",
			 vm->platform.cores_per_socket);
	if (vm->kind != XVA_VM_HVM && vm->n_cdroms)
		vmw_note(w, "%zu CD drive%s: PV guests have no emulated "
			 "CD drive", vm->n_cdroms,
			 vm->n_cdroms == 1 ? "" : "s");
	if (vm->kind != XVA_VM_HVM && vm->platform.usb_tablet == XVA_VM_ON)
		vmw_note(w, "USB tablet: PV guests have no emulated USB");
	/* The firmware state the KVM configurations carry (vm/). */
	if (vm->ovmf_vars)
		vmw_note(w, "UEFI variables (%s): xl's OVMF keeps none between "
			 "boots, so the guest boots only the fallback loader "
			 "\\EFI\\BOOT\\BOOTX64.EFI; the libvirt and qemu "
			 "configurations carry them", vm->efi_vars_summary);
	if (vm->tpm_state)
		vmw_note(w, "virtual TPM: xl 4.17 has no vTPM for HVM guests; "
			 "its state is in vm/%s%s for the libvirt and qemu "
			 "configurations", vm->file_stem, XVA_VM_TPM_STATE_SUFFIX);
	if (xl_own_smbios(vm))
		vmw_note(w, "SMBIOS strings (bios_strings) other than Xen's "
			 "own: xl has no setting for them");
}

/* The settings of an HVM guest: firmware, boot order, platform flags,
 * clock, video, USB. */
static void xl_hvm(struct writer *w)
{
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
}

/* How a PV or PVH guest boots: a kernel file, pygrub, or a comment
 * saying neither is set. */
static void xl_pv_boot(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	if (vm->pv_kernel) {
		vmw_comment(w, "", "PV_kernel and PV_ramdisk are paths on the "
			"XenServer host: copy them here first.");
		xl_key_string(w, "kernel", vm->pv_kernel);
		if (vm->pv_ramdisk)
			xl_key_string(w, "ramdisk", vm->pv_ramdisk);
		if (vm->pv_args)
			xl_key_string(w, "extra", vm->pv_args);
	} else if (vm->pv_bootloader) {
		if (strcmp(vm->pv_bootloader, "pygrub") != 0)
			vmw_comment(w, "", "PV_bootloader was \"%s\"; xl has pygrub.",
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
		vmw_comment(w, "", "Neither PV_bootloader nor PV_kernel is set: add "
			"bootloader = \"pygrub\" or a kernel before starting.");
	}
}

/* The disk list: the disks, then (HVM) the CD drives. */
static void xl_disks(struct writer *w)
{
	const struct xva_vm *vm = w->vm;
	bool hvm = vm->kind == XVA_VM_HVM;
	const struct xva_vm_disk *boot_first = NULL;

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
			vmw_comment(w, "\t", "%s held the ISO \"%s\" (not in the "
				"export): put its path after target= to insert "
				"it.", vm->cdroms[i].guest_device,
				vm->cdroms[i].iso);
		xl_disk_spec(w, vm->cdroms[i].guest_device, "ro", NULL);
	}
	fputs("]\n", w->f);
}

static void xl_vifs(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	fputs("vif = [\n", w->f);
	for (size_t i = 0; i < vm->n_vifs; i++) {
		const struct xva_vm_vif *v = &vm->vifs[i];
		char spec[128] = ""; /* "": no MAC, bridge or MTU to set */
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
			vmw_comment(w, "\t", "VIF %u on network \"%s\"", v->device,
				v->network);
		fputs("\t", w->f);
		xl_string(w->f, spec);
		fputs(",\n", w->f);
	}
	fputs("]\n", w->f);
}

void xva_vm_write_xl(struct writer *w)
{
	static const char *const types[] = { "hvm", "pv", "pvh" };
	const struct xva_vm *vm = w->vm;
	bool hvm = vm->kind == XVA_VM_HVM;

	xl_format_notes(w);
	vmw_header(w);
	vmw_comment(w, "", "Disks in Xen 4.17 xl syntax. xend/xm (Xen 4.1 and "
		"older) need the positional form 'tap:aio:PATH,xvda,w' instead; "
		"later xl strips and ignores a tap:aio: prefix.");
	/* xl takes no domain without a name. */
	xl_key_string(w, "name", vm->name[0] ? vm->name
					     : vm->uuid ? vm->uuid : "vm");
	if (vm->uuid)
		xl_key_string(w, "uuid", vm->uuid);
	xl_key_string(w, "type", types[vm->kind]);
	if (hvm && vm->memory_target < vm->memory_max)
		vmw_comment(w, "", "memory below maxmem starts an HVM guest in "
			"populate-on-demand mode, as XenServer's dynamic memory "
			"did: the guest needs its balloon driver, else set "
			"memory = maxmem.");
	fprintf(w->f, "memory = %llu\nmaxmem = %llu\n",
		vmw_mib_up(vm->memory_target), vmw_mib_up(vm->memory_max));
	fprintf(w->f, "vcpus = %u\nmaxvcpus = %u\n", vm->vcpus_at_startup,
		vm->vcpus_max);
	if (vm->pv_in_pvh)
		fputs("pvshim = 1\n", w->f);
	if (hvm)
		xl_hvm(w);
	else
		xl_pv_boot(w);
	xl_disks(w);
	xl_vifs(w);
}
