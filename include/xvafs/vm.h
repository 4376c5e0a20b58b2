/* The exported VM as a description, and its configuration for Xen's xl,
 * libvirt (KVM) and a qemu command line, with the disks pointing into an
 * xvafs mount.
 *
 * FUSE-free and JSON-free. Everything in ova.xml is untrusted: the
 * description keeps its strings as they were (names may hold quotes,
 * newlines, "$(...)"); each writer quotes them for its own format. What a
 * format cannot carry is written as a comment, never dropped: the
 * description's notes hold what no format carries, the writers add what
 * theirs does not.
 *
 * Which VM: the first VM object that is neither a snapshot nor the control
 * domain, preferring real VMs to templates (an export of a template holds
 * only that). Its snapshots and any other VM are left out, with a note. */
#ifndef XVAFS_VM_H
#define XVAFS_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"
#include "xvafs/ovaxml.h"

/* A disk the mount serves: the VDI's id in ova.xml and the mount's
 * by-device name for it (xvda, ...). The caller names the disks; this
 * module never computes a path into the mount by itself. */
struct xva_vm_disk_ref {
	const char *vdi_id;
	const char *device;
};

enum xva_vm_kind { XVA_VM_HVM, XVA_VM_PV, XVA_VM_PVH };
enum xva_vm_firmware { XVA_VM_BIOS, XVA_VM_UEFI };

/* A platform flag: left to the target's default, or set. */
enum xva_vm_switch { XVA_VM_UNSET = 0, XVA_VM_OFF, XVA_VM_ON };

/* Viridian (Hyper-V) enlightenment groups beyond the defaults, from the
 * platform keys viridian_<group>. */
enum {
	XVA_VM_VIRIDIAN_TIME_REF_COUNT = 1 << 0,
	XVA_VM_VIRIDIAN_REFERENCE_TSC = 1 << 1,
	XVA_VM_VIRIDIAN_APIC_ASSIST = 1 << 2,
	XVA_VM_VIRIDIAN_CRASH_CTL = 1 << 3,
	XVA_VM_VIRIDIAN_STIMER = 1 << 4,
};

struct xva_vm_disk {
	char *device;      /* the mount's by-device name (and Xen's vdev) */
	char *vdi_id, *vdi_uuid, *label;
	unsigned userdevice;
	bool read_only;    /* VBD mode RO */
	bool bootable;
	uint64_t size;     /* the VDI's virtual_size, 0 if ova.xml has none */
};

struct xva_vm_cdrom {
	unsigned userdevice;
	char *guest_device; /* Xen's name for the drive: userdevice 3 is xvdd */
	char *iso;          /* the inserted ISO's VDI name, NULL when empty */
	bool bootable;
};

struct xva_vm_vif {
	unsigned device;
	char *mac;          /* aa:bb:cc:dd:ee:ff (lower case), NULL if none */
	char *network;      /* the network's name_label, NULL if unknown */
	char *bridge;       /* a bridge name safe in every format, or NULL */
	unsigned mtu;       /* 0 when ova.xml does not say */
};

struct xva_vm_platform {
	enum xva_vm_switch acpi, apic, pae, nx, hpet, viridian, usb, usb_tablet;
	unsigned viridian_extra;  /* XVA_VM_VIRIDIAN_* */
	bool has_timeoffset;
	long timeoffset;          /* seconds the guest's RTC is ahead of UTC */
	char *device_id;          /* "0002": Windows Update's PV drivers */
	char *vga;                /* "std" or "cirrus", NULL if unset */
	unsigned videoram;        /* MiB, 0 if unset */
	unsigned cores_per_socket; /* 0 if unset */
};

/* One SMBIOS string from the VM record's bios_strings, by the structure
 * (0 BIOS, 1 system, 2 baseboard, 3 chassis, 11 OEM strings) and field
 * qemu's -smbios and libvirt's <sysinfo> both name it by. */
struct xva_vm_smbios {
	unsigned type;
	const char *field;   /* "vendor", "product", ...; "value" for OEM */
	char *value;         /* as it was: the writers quote it */
};

/* A file the configurations name beside themselves, in the mount's vm/
 * folder as vm/STEM SUFFIX. */
struct xva_vm_file {
	const char *suffix;
	const unsigned char *data;
	size_t len;
};
#define XVA_VM_MAX_FILES 2
#define XVA_VM_OVMF_VARS_SUFFIX ".OVMF_VARS.fd"
#define XVA_VM_TPM_STATE_SUFFIX ".tpm2-00.permall"

struct xva_vm {
	char *name;          /* name_label, as it is */
	char *uuid;          /* checked to be a UUID, NULL if not */
	char *description;   /* name_description, NULL if empty */
	char *file_stem;     /* NAME made safe as a file name (vm/NAME.cfg) */
	uint64_t memory_max;    /* bytes: memory_static_max */
	uint64_t memory_target; /* bytes: memory_dynamic_max (the boot target;
				   static_max when ova.xml has none) */
	unsigned vcpus_max, vcpus_at_startup;
	enum xva_vm_kind kind;
	bool pv_in_pvh;      /* a PV guest XAPI ran in a PVH shim */
	enum xva_vm_firmware firmware;
	bool secure_boot;    /* platform secureboot=true */
	char *boot_order;    /* HVM boot order, letters from c d n; NULL if
				unset */
	bool windows;        /* platform device_id or viridian: a Windows
				guest (needs an emulated disk bus on KVM) */
	char *pv_bootloader, *pv_kernel, *pv_ramdisk, *pv_args;
	struct xva_vm_platform platform;
	struct xva_vm_disk *disks;    /* userdevice order */
	struct xva_vm_cdrom *cdroms;  /* userdevice order */
	struct xva_vm_vif *vifs;      /* device order */
	size_t n_disks, n_cdroms, n_vifs;
	/* Firmware state carried over; NULL when the VM has none (or it
	 * could not be read: a note says why). */
	unsigned char *ovmf_vars;  /* its UEFI variables as an OVMF store */
	size_t ovmf_vars_len;
	char *efi_vars_summary;    /* "12 variables: Boot0001, BootOrder, ..." */
	bool efi_secure_boot_keys; /* the variables hold a platform key */
	unsigned char *tpm_state;  /* its vTPM's permanent state (swtpm) */
	size_t tpm_state_len;
	struct xva_vm_smbios *smbios;
	size_t n_smbios;
	char **notes;        /* what no format carries over, one line each */
	size_t n_notes;
};

/* The VM of OVA, with the served DISKS (N_DISKS of them). No VM record:
 * XVA_EFORMAT, "the export holds no VM record". A VM record whose values
 * cannot be right (no memory size, 0 vCPUs, an unknown domain type or
 * firmware, a userdevice that is not a number): XVA_EFORMAT naming the
 * field. A disk name that is not a plain device name: XVA_EINVAL. */
enum xva_status xva_vm_build(const struct xva_ovaxml *ova,
			     const struct xva_vm_disk_ref *disks, size_t n_disks,
			     struct xva_vm **out, struct xva_err *err);
void xva_vm_free(struct xva_vm *vm);

/* Puts every network card of VM on BRIDGE, this host's bridge, instead
 * of the XenServer host's (-o bridge=NAME). A name no interface can have
 * (longer than 15 bytes, or with characters other than letters, digits,
 * '_', '.' and '-'): XVA_EINVAL. */
enum xva_status xva_vm_set_bridge(struct xva_vm *vm, const char *bridge,
				  struct xva_err *err);
/* Whether xva_vm_set_bridge() takes NAME. */
bool xva_vm_bridge_valid(const char *name);

/* The files VM's configurations name beside them (FILES has room for
 * XVA_VM_MAX_FILES): its OVMF variable store, its vTPM state. Returns how
 * many; the data stays the VM's. */
size_t xva_vm_files(const struct xva_vm *vm,
		    struct xva_vm_file files[XVA_VM_MAX_FILES]);

enum xva_vm_format {
	XVA_VM_XL,
	XVA_VM_LIBVIRT,
	XVA_VM_QEMU,
	XVA_VM_N_FORMATS /* how many: every format is below it */
};

/* "xl", "libvirt", "qemu" and back; -1 for an unknown name. */
int xva_vm_format_from_name(const char *name);
const char *xva_vm_format_name(enum xva_vm_format format);
/* The generated file's suffix: ".cfg", ".xml", ".qemu.sh". */
const char *xva_vm_format_suffix(enum xva_vm_format format);
/* Whether the generated file is a script to run (the qemu one). */
bool xva_vm_format_executable(enum xva_vm_format format);
/* "xl, libvirt, qemu", for a usage message. */
const char *xva_vm_format_names(void);

/* The configuration in FORMAT as malloc'ed text (*LEN bytes, and a NUL),
 * its disks under MOUNTPOINT/by-device/. MOUNTPOINT must be an absolute
 * path of valid UTF-8 with no control characters (XVA_EINVAL otherwise).
 * EXPORT_NAME, if not NULL, names the export in the header comment. */
enum xva_status xva_vm_write(const struct xva_vm *vm,
			     enum xva_vm_format format, const char *mountpoint,
			     const char *export_name, char **text, size_t *len,
			     struct xva_err *err);
/* The same for disks under MOUNTPOINT that are read-only (a backup
 * repository's mount): the header says to mount READ_ONLY_FROM, the
 * backup's .xva, writable through an overlay to run the VM. */
enum xva_status xva_vm_write_read_only(const struct xva_vm *vm,
				       enum xva_vm_format format,
				       const char *mountpoint,
				       const char *export_name,
				       const char *read_only_from, char **text,
				       size_t *len, struct xva_err *err);

#endif
