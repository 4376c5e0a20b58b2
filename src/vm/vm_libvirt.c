/* The VM as a libvirt domain for KVM (q35), its disks in the xvafs
 * mount. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm_writer.h"

static unsigned long long kib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes + 1023) >> 10);
}

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
		vmw_note(w, "the domain name is \"%s\": libvirt takes no "
			 "'/' or line break in a name", name);
	vmw_kvm_notes(w);
}

static void libvirt_disk(struct writer *w, const struct xva_vm_disk *d,
			 const char *bus, const char *prefix, unsigned index)
{
	char *target = xva_vm_device_name(prefix, index);

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

/* <os>: the machine, the firmware (with the VM's own UEFI variables as
 * the template libvirt copies on first start) and the boot order. */
static void libvirt_os(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	fputs("  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n", w->f);
	if (vm->firmware == XVA_VM_UEFI) {
		fprintf(w->f, "    <loader readonly='yes'%s type='pflash'>%s"
			"</loader>\n", vm->secure_boot ? " secure='yes'" : "",
			vm->secure_boot ? OVMF_CODE_SECURE : OVMF_CODE);
		if (vm->ovmf_vars) {
			vmw_comment(w, "    ", "The UEFI variables the VM had (%s), "
				"in OVMF's format: libvirt copies them on first "
				"start.", vm->efi_vars_summary);
			fputs("    <nvram template='", w->f);
			xml_text(w->f, w->mnt);
			fputs("/vm/", w->f);
			xml_text(w->f, vm->file_stem);
			fputs(XVA_VM_OVMF_VARS_SUFFIX "'/>\n", w->f);
		} else {
			fprintf(w->f, "    <nvram template='%s'/>\n",
				vm->secure_boot ? OVMF_VARS_SECURE : OVMF_VARS);
		}
	}
	for (const char *b = vm->boot_order; b && *b; b++)
		fprintf(w->f, "    <boot dev='%s'/>\n", *b == 'c' ? "hd"
			: *b == 'd' ? "cdrom" : "network");
	if (!vm->boot_order)
		fputs("    <boot dev='hd'/>\n", w->f);
	if (vm->n_smbios)
		fputs("    <smbios mode='sysinfo'/>\n", w->f);
	fputs("  </os>\n", w->f);
}

/* <sysinfo>: the SMBIOS strings the guest saw under Xen. */
static void libvirt_sysinfo(struct writer *w)
{
	static const struct {
		unsigned type;
		const char *element;
	} blocks[] = {
		{ 0, "bios" }, { 1, "system" }, { 2, "baseBoard" },
		{ 3, "chassis" }, { 11, "oemStrings" },
	};
	const struct xva_vm *vm = w->vm;

	if (!vm->n_smbios)
		return;
	fputs("  <sysinfo type='smbios'>\n", w->f);
	for (size_t b = 0; b < sizeof(blocks) / sizeof(blocks[0]); b++) {
		bool open = false;

		for (size_t i = 0; i < vm->n_smbios; i++) {
			const struct xva_vm_smbios *e = &vm->smbios[i];

			if (e->type != blocks[b].type)
				continue;
			if (!open)
				fprintf(w->f, "    <%s>\n", blocks[b].element);
			open = true;
			if (e->type == 11)
				fputs("      <entry>", w->f);
			else
				fprintf(w->f, "      <entry name='%s'>", e->field);
			xml_text(w->f, e->value);
			fputs("</entry>\n", w->f);
		}
		if (open)
			fprintf(w->f, "    </%s>\n", blocks[b].element);
	}
	fputs("  </sysinfo>\n", w->f);
}

/* The vTPM: libvirt's swtpm starts from the VM's state once it is where
 * libvirt keeps it. */
static void libvirt_tpm(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	if (!vm->tpm_state)
		return;
	vmw_comment(w, "    ", "The VM's virtual TPM. Before the first start, put "
		"its state where libvirt keeps it: mkdir -p "
		"/var/lib/libvirt/swtpm/%s/tpm2 && cp %s/vm/%s%s "
		"/var/lib/libvirt/swtpm/%s/tpm2/tpm2-00.permall (else libvirt "
		"makes a new, empty TPM). The firmware and the PCRs differ from "
		"XenServer's, so secrets sealed to them (BitLocker) ask for "
		"their recovery key.", vm->uuid ? vm->uuid : "UUID", w->mnt,
		vm->file_stem, XVA_VM_TPM_STATE_SUFFIX,
		vm->uuid ? vm->uuid : "UUID");
	fputs("    <tpm model='tpm-crb'>\n"
	      "      <backend type='emulator' version='2.0'/>\n"
	      "    </tpm>\n", w->f);
}

static void libvirt_features(struct writer *w)
{
	const struct xva_vm_platform *p = &w->vm->platform;

	fputs("  <features>\n", w->f);
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
	if (w->vm->secure_boot)
		fputs("    <smm state='on'/>\n", w->f);
	fputs("  </features>\n", w->f);
}

/* <cpu> and <clock>. */
static void libvirt_cpu_clock(struct writer *w)
{
	const struct xva_vm *vm = w->vm;
	const struct xva_vm_platform *p = &vm->platform;

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
	fputs("  </clock>\n", w->f);
}

/* The disks, on virtio (SATA for Windows), then the CD drives on SATA. */
static void libvirt_drives(struct writer *w)
{
	const struct xva_vm *vm = w->vm;
	bool sata_disks = vm->windows;
	unsigned sata = 0;

	if (sata_disks)
		vmw_comment(w, "    ", "A Windows guest (viridian or a Xen platform "
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
		char *target = xva_vm_device_name("sd", sata++);

		if (!target) {
			w->nomem = true;
			break;
		}
		if (vm->cdroms[i].iso)
			vmw_comment(w, "    ", "The drive held the ISO \"%s\" (not in "
				"the export): add <source file='PATH'/> to "
				"insert it.", vm->cdroms[i].iso);
		fprintf(w->f, "    <disk type='file' device='cdrom'>\n"
			"      <driver name='qemu' type='raw'/>\n"
			"      <target dev='%s' bus='sata'/>\n"
			"      <readonly/>\n    </disk>\n", target);
		free(target);
	}
}

static void libvirt_vifs(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	for (size_t i = 0; i < vm->n_vifs; i++) {
		const struct xva_vm_vif *v = &vm->vifs[i];

		if (v->network)
			vmw_comment(w, "    ", "VIF %u on XenServer network \"%s\"%s",
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
}

void xva_vm_write_libvirt(struct writer *w)
{
	const struct xva_vm *vm = w->vm;
	const struct xva_vm_platform *p = &vm->platform;
	bool pv = vm->kind != XVA_VM_HVM;
	char *name = libvirt_name(vm->name);

	if (!name) {
		w->nomem = true;
		return;
	}
	libvirt_format_notes(w, name);
	vmw_header(w);
	if (pv)
		vmw_comment(w, "", "XenServer ran this guest paravirtualised (%s%s); "
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
	libvirt_sysinfo(w);
	libvirt_os(w);
	libvirt_features(w);
	libvirt_cpu_clock(w);
	fputs("  <devices>\n", w->f);
	libvirt_drives(w);
	libvirt_vifs(w);
	libvirt_tpm(w);
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
