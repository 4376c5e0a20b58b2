/* The VM as a shell script that runs qemu-system-x86_64 with KVM, its
 * disks in the xvafs mount and its firmware state (UEFI variables, vTPM)
 * copied from there on first start. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm_writer.h"

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

#define NEXT " \\\n\t"

/* PATH of a file the mount serves beside the configuration, vm/STEM
 * SUFFIX, as one shell word. */
static void sh_vm_file(struct writer *w, const char *suffix)
{
	char *path;

	if (asprintf(&path, "%s/vm/%s%s", w->mnt, w->vm->file_stem, suffix) < 0) {
		w->nomem = true;
		return;
	}
	sh_word(w->f, path);
	free(path);
}

/* The UEFI variables: a copy made on first start of the VM's own store
 * (vm/STEM.OVMF_VARS.fd) or, without one, of OVMF's empty template. */
static void qemu_uefi_vars(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	if (vm->ovmf_vars)
		vmw_comment(w, "", "The UEFI variables the VM had (%s) are in "
			"OVMF's format in the mount, vm/%s%s; the firmware "
			"writes its variables to a copy of them made on first "
			"start (XVAFS_OVMF_VARS chooses where; a path without "
			"commas).", vm->efi_vars_summary, vm->file_stem,
			XVA_VM_OVMF_VARS_SUFFIX);
	else
		vmw_comment(w, "", "The UEFI variables live in a copy of OVMF's "
			"template, made on first start (XVAFS_OVMF_VARS chooses "
			"where; a path without commas).");
	/* The UUID is checked: a plain word. */
	fprintf(w->f, "vars=${XVAFS_OVMF_VARS:-./%s.OVMF_VARS.fd}\n"
		"[ -e \"$vars\" ] || cp ", vm->uuid ? vm->uuid : "vm");
	if (vm->ovmf_vars)
		sh_vm_file(w, XVA_VM_OVMF_VARS_SUFFIX);
	else
		fputs(vm->secure_boot ? OVMF_VARS_SECURE : OVMF_VARS, w->f);
	fputs(" \"$vars\"\n", w->f);
}

/* The vTPM: swtpm started on a copy of the VM's TPM state, ended by qemu
 * when it disconnects. */
static void qemu_tpm(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	vmw_comment(w, "", "The VM's virtual TPM: swtpm runs on a copy of its "
		"state (vm/%s%s in the mount), made on first start in "
		"XVAFS_TPM_STATE (a folder; default ./UUID.swtpm). The firmware "
		"and the PCRs differ from XenServer's, so secrets sealed to "
		"them (BitLocker) ask for their recovery key.", vm->file_stem,
		XVA_VM_TPM_STATE_SUFFIX);
	/* swtpm --daemon works from /: the folder is made absolute. */
	fprintf(w->f, "tpm=${XVAFS_TPM_STATE:-./%s.swtpm}\n"
		"case $tpm in /*) ;; *) tpm=$PWD/$tpm ;; esac\n"
		"if [ ! -e \"$tpm/tpm2-00.permall\" ]; then\n"
		"\tmkdir -p \"$tpm\"\n\tcp ", vm->uuid ? vm->uuid : "vm");
	sh_vm_file(w, XVA_VM_TPM_STATE_SUFFIX);
	fputs(" \"$tpm/tpm2-00.permall\"\nfi\n"
	      "rm -f \"$tpm/swtpm.sock\"\n"
	      "swtpm socket --tpm2 --tpmstate dir=\"$tpm\" --ctrl "
	      "type=unixio,path=\"$tpm/swtpm.sock\" --terminate --daemon "
	      "--log file=\"$tpm/swtpm.log\"\n"
	      "n=0\nuntil [ -S \"$tpm/swtpm.sock\" ]; do\n"
	      "\tn=$((n + 1))\n"
	      "\t[ $n -lt 100 ] || { echo \"$0: swtpm did not start (see "
	      "$tpm/swtpm.log)\" >&2; exit 1; }\n"
	      "\tsleep 0.1\ndone\n", w->f);
}

/* NIC I's -netdev in $netI: the export's bridge unless XVAFS_BRIDGE_I or
 * XVAFS_BRIDGE names another; qemu's user networking with XVAFS_NET=user
 * or when the export names no usable bridge. A bridge this host does not
 * have stops the script with what to set (XVAFS_NET=bridge skips that
 * check). */
static void qemu_nic_setting(struct writer *w, size_t i)
{
	const struct xva_vm_vif *v = &w->vm->vifs[i];

	if (v->bridge)
		fprintf(w->f, "br%zu=${XVAFS_BRIDGE_%zu:-${XVAFS_BRIDGE:-%s}}\n",
			i, i, v->bridge);
	else
		fprintf(w->f, "br%zu=${XVAFS_BRIDGE_%zu:-${XVAFS_BRIDGE-}}\n", i, i);
	fprintf(w->f, "net%zu=user,id=net%zu\n"
		"if [ \"$net\" != user ] && [ -n \"$br%zu\" ]; then\n"
		"\tif [ -z \"$net\" ] && [ ! -d \"/sys/class/net/$br%zu/bridge\" ]; then\n"
		"\t\techo \"$0: NIC %zu (MAC %s) wants the bridge $br%zu, which "
		"this host does not have: set XVAFS_BRIDGE_%zu=BRIDGE (or "
		"XVAFS_BRIDGE for every NIC), or XVAFS_NET=user for qemu's user "
		"networking\" >&2\n\t\texit 1\n\tfi\n"
		"\tnet%zu=bridge,id=net%zu,br=$br%zu\nfi\n", i, i, i, i, i,
		v->mac ? v->mac : "made up by qemu", i, i, i, i, i);
}

/* The shell script's start: the header, what the script needs, the
 * firmware state's copies and the settings. */
static void qemu_preamble(struct writer *w)
{
	const struct xva_vm *vm = w->vm;
	bool pv = vm->kind != XVA_VM_HVM;

	fputs("#!/bin/sh\n", w->f);
	vmw_header(w);
	if (pv)
		vmw_comment(w, "", "XenServer ran this guest paravirtualised (%s); "
			"qemu runs it as HVM from its own disk: it needs a boot "
			"loader on the disk (grub-install from a rescue system "
			"if pygrub was all it had), virtio drivers, and "
			"/etc/fstab without /dev/xvd* names.",
			vm->kind == XVA_VM_PVH ? "PVH" : "PV");
	if (vm->windows)
		vmw_comment(w, "", "A Windows guest: it has no virtio driver yet, so "
			"its disks are on SATA (AHCI) and its NICs e1000e. If it "
			"stops with INACCESSIBLE_BOOT_DEVICE, use -machine pc and "
			"if=ide. Install the virtio-win drivers, then switch to "
			"if=virtio and virtio-net-pci.");
	vmw_comment(w, "", "Settings, from the environment: XVAFS_ACCEL (qemu's "
		"accelerator, default kvm:tcg), XVAFS_CPU (default host with "
		"KVM, max without)%s. Arguments to this script are added to "
		"qemu's. The guest's serial console is this terminal (Ctrl-A X "
		"ends qemu), its screen on VNC.", vm->n_vifs
		? ", XVAFS_BRIDGE or XVAFS_BRIDGE_N (the bridge of every NIC or "
		  "of NIC N, default the XenServer host's; a bridge needs "
		  "\"allow BRIDGE\" in /etc/qemu/bridge.conf), XVAFS_NET=user "
		  "(qemu's user networking instead of bridges) or =bridge (the "
		  "bridges, without checking that this host has them)" : "");
	fputs("set -eu\n"
	      "accel=${XVAFS_ACCEL:-kvm:tcg}\n"
	      "cpu=${XVAFS_CPU:-}\n"
	      "if [ -z \"$cpu\" ]; then\n"
	      "\tcase $accel in\n"
	      "\tkvm*) if [ -w /dev/kvm ]; then cpu=host; else cpu=max; fi ;;\n"
	      "\t*) cpu=max ;;\n\tesac\nfi\n", w->f);
	if (vm->firmware == XVA_VM_UEFI)
		qemu_uefi_vars(w);
	if (vm->tpm_state)
		qemu_tpm(w);
	if (vm->n_vifs)
		fputs("net=${XVAFS_NET:-}\n"
		      "case $net in\n\t''|user|bridge) ;;\n"
		      "\t*) echo \"$0: XVAFS_NET=$net: neither user nor bridge\" >&2; "
		      "exit 1 ;;\nesac\n", w->f);
	for (size_t i = 0; i < vm->n_vifs; i++)
		qemu_nic_setting(w, i);
}

/* The machine: name, type, CPU, memory, vCPUs, firmware, boot, clock. */
static void qemu_machine(struct writer *w)
{
	const struct xva_vm *vm = w->vm;
	const struct xva_vm_platform *p = &vm->platform;

	fputs("exec qemu-system-x86_64" NEXT, w->f);
	fputs("-name ", w->f);
	qemu_opt_word(w, "guest=", vm->name[0] ? vm->name : "vm", "");
	fputs(NEXT, w->f);
	if (vm->uuid)
		fprintf(w->f, "-uuid %s" NEXT, vm->uuid);
	fprintf(w->f, "-machine \"q35,accel=$accel%s%s%s\"" NEXT,
		vm->secure_boot ? ",smm=on" : "",
		p->acpi == XVA_VM_OFF ? ",acpi=off" : "",
		p->hpet == XVA_VM_OFF ? ",hpet=off" : "");
	fprintf(w->f, "-cpu \"$cpu\"%s%s", p->nx == XVA_VM_OFF ? ",nx=off" : "",
		p->pae == XVA_VM_OFF ? ",pae=off" : "");
	if (p->viridian == XVA_VM_ON)
		fprintf(w->f, ",hv_relaxed,hv_vapic,hv_spinlocks=0x1fff,hv_time%s",
			p->viridian_extra & XVA_VM_VIRIDIAN_STIMER
			? ",hv_vpindex,hv_synic,hv_stimer" : "");
	fputs(NEXT, w->f);
	/* qemu has no balloon target on its command line: the guest gets
	 * its static maximum, all it could ever see under Xen. */
	fprintf(w->f, "-m %llu" NEXT, vmw_mib_up(vm->memory_max));
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
}

/* The next SATA port (*SATA): q35's own controller first, then the
 * extra ones qemu_drives() adds. */
static void sata_bus(struct writer *w, unsigned *sata)
{
	if (*sata < AHCI_PORTS)
		fprintf(w->f, "ide.%u", *sata);
	else
		fprintf(w->f, "ahci%u.%u", *sata / AHCI_PORTS,
			*sata % AHCI_PORTS);
	(*sata)++;
}

/* The disks, on virtio (SATA for Windows), then the CD drives on SATA. */
static void qemu_drives(struct writer *w)
{
	const struct xva_vm *vm = w->vm;
	unsigned sata = 0;

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
			sata_bus(w, &sata);
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
		sata_bus(w, &sata);
		fputs(NEXT, w->f);
	}
	/* More drives than q35's own six SATA ports: more controllers. */
	for (unsigned c = 1; c * AHCI_PORTS < sata; c++)
		fprintf(w->f, "-device ahci,id=ahci%u" NEXT, c);
}

static void qemu_vifs(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	if (!vm->n_vifs)
		fputs("-nic none" NEXT, w->f); /* not qemu's default NIC */
	for (size_t i = 0; i < vm->n_vifs; i++) {
		const struct xva_vm_vif *v = &vm->vifs[i];

		fprintf(w->f, "-netdev \"$net%zu\"" NEXT, i);
		fprintf(w->f, "-device %s,netdev=net%zu",
			vm->windows ? "e1000e" : "virtio-net-pci", i);
		if (v->mac)
			fprintf(w->f, ",mac=%s", v->mac);
		if (v->mtu && v->mtu != 1500 && !vm->windows)
			fprintf(w->f, ",host_mtu=%u", v->mtu);
		fputs(NEXT, w->f);
	}
}

/* The SMBIOS strings the guest saw under Xen, structure by structure. */
static void qemu_smbios(struct writer *w)
{
	static const unsigned types[] = { 0, 1, 2, 3, 11 };
	const struct xva_vm *vm = w->vm;

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		char *word = NULL;
		size_t len = 0;
		FILE *f;
		bool any = false;

		f = open_memstream(&word, &len);
		if (!f) {
			w->nomem = true;
			return;
		}
		fprintf(f, "type=%u", types[t]);
		for (size_t i = 0; i < vm->n_smbios; i++) {
			if (vm->smbios[i].type != types[t])
				continue;
			fprintf(f, ",%s=", vm->smbios[i].field);
			for (const char *c = vm->smbios[i].value; *c; c++) {
				fputc(*c, f);
				if (*c == ',')
					fputc(',', f); /* qemu's escape */
			}
			any = true;
		}
		if (fclose(f) != 0) {
			w->nomem = true;
			return;
		}
		if (any) {
			fputs("-smbios ", w->f);
			sh_word(w->f, word);
			fputs(NEXT, w->f);
		}
		free(word);
	}
}

void xva_vm_write_qemu(struct writer *w)
{
	const struct xva_vm_platform *p = &w->vm->platform;

	vmw_kvm_notes(w);
	qemu_preamble(w);
	qemu_machine(w);
	qemu_smbios(w);
	if (w->vm->tpm_state)
		fputs("-chardev \"socket,id=chrtpm,path=$tpm/swtpm.sock\"" NEXT
		      "-tpmdev emulator,id=tpm0,chardev=chrtpm" NEXT
		      "-device tpm-crb,tpmdev=tpm0" NEXT, w->f);
	qemu_drives(w);
	qemu_vifs(w);
	if (p->usb_tablet == XVA_VM_ON)
		fputs("-device qemu-xhci,id=xhci -device usb-tablet,bus=xhci.0"
		      NEXT, w->f);
	if (p->vga)
		fprintf(w->f, "-vga %s" NEXT, p->vga);
	fputs("-serial mon:stdio" NEXT "-vnc 127.0.0.1:0,to=99" NEXT "\"$@\"\n",
	      w->f);
}
