/* The VM configuration writers (internal): their table, the state a
 * writer works on, and the text toolkit they share (comments in the
 * format's syntax, the header, notes of what the format cannot carry).
 *
 * A writer is one file, vm_NAME.c, with one function that prints the
 * whole configuration to w->f, and one row in xva_vm_writers[]
 * (vm_writer.c). A writer never fails by itself: out of memory it sets
 * w->nomem and returns, and xva_vm_write() throws the text away. */
#ifndef XVAFS_VM_WRITER_H
#define XVAFS_VM_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "xvafs/vm.h"

#define OVMF_CODE "/usr/share/OVMF/OVMF_CODE_4M.fd"
#define OVMF_VARS "/usr/share/OVMF/OVMF_VARS_4M.fd"
#define OVMF_CODE_SECURE "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd"
#define OVMF_VARS_SECURE "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
/* SATA ports of one AHCI controller, q35's built-in one included. */
#define AHCI_PORTS 6

struct writer;

/* How a format writes a comment: "# TEXT" (xl, shell) or "<!-- TEXT -->"
 * (XML, with no "--" inside). */
enum vmw_comments { VMW_HASH, VMW_XML };

struct xva_vm_writer {
	const char *name;       /* --vm-config NAME */
	const char *suffix;     /* vm/STEM.SUFFIX */
	enum vmw_comments comments;
	bool executable;        /* a script to run, not a file to read */
	void (*write)(struct writer *w);
};

/* Indexed by enum xva_vm_format; xva_vm_n_writers rows. */
extern const struct xva_vm_writer xva_vm_writers[];
extern const size_t xva_vm_n_writers;

/* The writers, one a file. */
void xva_vm_write_xl(struct writer *w);
void xva_vm_write_libvirt(struct writer *w);
void xva_vm_write_qemu(struct writer *w);

struct writer {
	FILE *f;
	const struct xva_vm *vm;
	const struct xva_vm_writer *format;
	const char *mnt;        /* the mount point, no trailing '/' */
	const char *export_name;
	/* The export to mount writable instead, when the disks under MNT
	 * are read-only (a backup repository's mount); else NULL. */
	const char *read_only_from;
	char **notes;           /* the format's own "not carried over" */
	size_t n_notes;
	bool nomem;
};

/* A note of what this format does not carry over, for the header; the
 * writer adds its notes before it writes the header. */
void vmw_note(struct writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The notes of a KVM target (libvirt, qemu) for what Xen has and KVM
 * does not: the Xen platform device, videoram, apic=false, ... */
void vmw_kvm_notes(struct writer *w);

/* A comment in the format's own syntax, every line starting with INDENT;
 * long text is wrapped at blanks, control characters become blanks. */
void vmw_comment(struct writer *w, const char *indent, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));

/* The header comment, common to all formats: what the VM was, where its
 * disks are, and the notes of what is not carried over. */
void vmw_header(struct writer *w);

/* PREFIX and letters for device INDEX as Xen and Linux name them (vm.c):
 * 0 is a, 25 z, 26 aa, ... (xvda, vdb, sdaa). Malloc'ed, NULL when out
 * of memory. */
char *xva_vm_device_name(const char *prefix, unsigned index);

static inline unsigned long long vmw_mib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes + (UINT64_C(1) << 20) - 1) >> 20);
}

#endif
