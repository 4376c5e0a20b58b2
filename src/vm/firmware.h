/* A VM's firmware state as ova.xml carries it, decoded, and written in the
 * form KVM's firmware reads (internal to the vm layer).
 *
 * UEFI variables: XCP-ng and XenServer keep them in the VM record's
 * NVRAM["EFI-variables"], the base64 of the blob their variable daemon
 * (varstored) serialises:
 *
 *   "VARS", u32 version (1 or 2), u64 count, u64 length of the variables
 *   version 2 only: 8 bytes of MOR key, 260 bytes of PPI data
 *   count times: u64 name length, the name (UTF-16LE, no NUL),
 *                u64 data length, the data, 16-byte GUID, u32 attributes,
 *                16-byte EFI_TIME, 32-byte certificate digest
 *
 * (all little-endian; only non-volatile variables are kept). OVMF, the
 * UEFI firmware of qemu and libvirt, reads its variables from a flash
 * image: EDK2's firmware volume with an authenticated variable store, laid
 * out as the ovmf package's OVMF_VARS_4M.fd.
 *
 * vTPM: the VTPM object's content is "PERMALL[ SAVESTATE VOLATILESTATE]",
 * each the base64 of one of swtpm's state files; the permanent state is
 * swtpm's tpm2-00.permall. */
#ifndef XVAFS_VM_FIRMWARE_H
#define XVAFS_VM_FIRMWARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"
#include "xvafs/ovaxml.h"
#include "xvafs/vm.h"

/* The OVMF flash images a variable store is made for (4 MiB builds). */
#define OVMF_VARS_SIZE 0x84000u

/* Bounds no real variable store comes near: varstored's own limits. */
#define EFIVAR_NAME_MAX 4096      /* bytes of UTF-16 */
#define EFIVAR_DATA_MAX 57344     /* bytes */
#define EFIVAR_COUNT_MAX 4096

struct efivar {
	const unsigned char *name; /* UTF-16LE, NAME_LEN bytes, no NUL */
	size_t name_len;
	const unsigned char *data;
	size_t data_len;
	unsigned char guid[16];    /* as stored: EFI_GUID's byte order */
	uint32_t attributes;
	unsigned char timestamp[16];
	char label[64];            /* the name in ASCII, for messages */
};

struct efivars {
	unsigned version;
	struct efivar *vars;
	size_t n;
	unsigned char *raw;        /* the decoded blob, which vars point into */
	size_t raw_len;
};

/* Decodes base64 TEXT (blanks and line breaks allowed) into *OUT (freed
 * with free()), *LEN bytes. XVA_EFORMAT naming the offset of the first
 * character that is not base64. */
enum xva_status xva_base64_decode(const char *text, unsigned char **out,
				  size_t *len, struct xva_err *err);

/* The variables of an EFI-variables blob (base64 TEXT). Anything that is
 * not a version 1 or 2 blob, or runs past its end, or holds a name or
 * value longer than varstored allows, two variables of one name, or bytes
 * after the last variable: XVA_EFORMAT naming the byte offset. */
enum xva_status xva_efivars_decode(const char *text, struct efivars *out,
				   struct xva_err *err);
void xva_efivars_free(struct efivars *vars);

/* The variable NAME (ASCII) of the global or image-security GUID, or
 * NULL. */
const struct efivar *xva_efivars_find(const struct efivars *vars,
				      const char *name);

/* An OVMF variable store (OVMF_VARS_SIZE bytes, malloc'ed) holding VARS,
 * with SecureBootEnable set to SECURE_BOOT when VARS has a platform key.
 * EDK2's own bookkeeping variables in VARS (SecureBootEnable, CustomMode,
 * VendorKeysNv, certdb) are not copied: the firmware makes its own.
 * VARS too big for the store: XVA_EFORMAT. */
enum xva_status xva_ovmf_vars(const struct efivars *vars, bool secure_boot,
			      unsigned char **out, struct xva_err *err);

/* swtpm's tpm2-00.permall from a VTPM's CONTENT (malloc'ed, *LEN bytes).
 * XVA_EFORMAT when CONTENT is not one or three base64 fields, or its
 * permanent state is empty. */
enum xva_status xva_vtpm_permall(const char *content, unsigned char **out,
				 size_t *len, struct xva_err *err);

/* The VM record's firmware state into VM (vm_firmware.c): its UEFI
 * variables as an OVMF store, its vTPM's state, its SMBIOS strings. What
 * cannot be read is a note, never a failure: the disks still boot. */
enum xva_status xva_vm_read_firmware(struct xva_vm *vm,
				     const struct xva_ovaxml *ova,
				     const struct xva_ova_vm *v,
				     struct xva_err *err);

/* A note of what no format carries over (vm.c). */
enum xva_status xva_vm_add_note(struct xva_vm *vm, struct xva_err *err,
				const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
