/* The VM record's firmware state, read into the VM description: the UEFI
 * variables (NVRAM EFI-variables) as an OVMF variable store, a vTPM's
 * permanent state, the SMBIOS strings (bios_strings). See firmware.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/firmware.h"

size_t xva_vm_files(const struct xva_vm *vm,
		    struct xva_vm_file files[XVA_VM_MAX_FILES])
{
	size_t n = 0;

	if (vm->ovmf_vars)
		files[n++] = (struct xva_vm_file){ XVA_VM_OVMF_VARS_SUFFIX,
			vm->ovmf_vars, vm->ovmf_vars_len };
	if (vm->tpm_state)
		files[n++] = (struct xva_vm_file){ XVA_VM_TPM_STATE_SUFFIX,
			vm->tpm_state, vm->tpm_state_len };
	return n;
}

/* "N variables: A, B, C, ... and M more", for the configurations'
 * comments. */
static char *summary(const struct efivars *vars)
{
	char *text = NULL;
	size_t len = 0, shown = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	fprintf(f, "%zu variable%s", vars->n, vars->n == 1 ? "" : "s");
	for (size_t i = 0; i < vars->n && shown < 8; i++, shown++)
		fprintf(f, "%s%s", i ? ", " : ": ", vars->vars[i].label);
	if (vars->n > shown)
		fprintf(f, " and %zu more", vars->n - shown);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static enum xva_status read_efi_variables(struct xva_vm *vm,
					  const struct xva_ova_vm *v,
					  struct xva_err *err)
{
	const char *text = xva_ovaxml_map_get(&v->nvram, "EFI-variables");
	struct efivars vars;
	struct xva_err why;

	if (!text || !text[0])
		return XVA_OK;
	if (vm->firmware != XVA_VM_UEFI)
		return xva_vm_add_note(vm, err, "UEFI variables (NVRAM "
				       "EFI-variables) of a VM with BIOS firmware: "
				       "left out");
	xva_err_clear(&why);
	if (xva_efivars_decode(text, &vars, &why) != XVA_OK)
		return why.status == XVA_ENOMEM ? xva_nomem(err)
		       : xva_vm_add_note(vm, err, "UEFI variables (NVRAM "
				"EFI-variables, %zu bytes of base64) not carried "
				"over: %s; the firmware starts with empty "
				"variables and boots only the disk's fallback "
				"loader \\EFI\\BOOT\\BOOTX64.EFI", strlen(text),
				why.msg);
	if (xva_ovmf_vars(&vars, vm->secure_boot, &vm->ovmf_vars, &why) != XVA_OK) {
		xva_efivars_free(&vars);
		return why.status == XVA_ENOMEM ? xva_nomem(err)
		       : xva_vm_add_note(vm, err, "UEFI variables not carried "
				"over: %s", why.msg);
	}
	vm->ovmf_vars_len = OVMF_VARS_SIZE;
	vm->efi_secure_boot_keys = xva_efivars_find(&vars, "PK") != NULL;
	vm->efi_vars_summary = summary(&vars);
	xva_efivars_free(&vars);
	if (!vm->efi_vars_summary)
		return xva_nomem(err);
	if (vm->secure_boot && !vm->efi_secure_boot_keys)
		return xva_vm_add_note(vm, err, "Secure Boot is on, but the UEFI "
				       "variables hold no platform key (PK): the "
				       "firmware starts in setup mode and boots "
				       "unsigned loaders until keys are enrolled");
	return XVA_OK;
}

static enum xva_status read_vtpm(struct xva_vm *vm, const struct xva_ovaxml *ova,
				 const struct xva_ova_vm *v, struct xva_err *err)
{
	const struct xva_ova_vtpm *t;
	struct xva_err why;

	if (v->vtpms.n == 0)
		return XVA_OK;
	if (v->vtpms.n > 1)
		return xva_vm_add_note(vm, err, "%zu virtual TPMs: none carried "
				       "over (a VM has one)", v->vtpms.n);
	t = xva_ovaxml_find_vtpm(ova, v->vtpms.ids[0]);
	if (!t || !t->content || !t->content[0])
		return xva_vm_add_note(vm, err, "virtual TPM %s not carried over: "
				       "the export holds no state for it (XAPI "
				       "exports before 2023 left it out): its "
				       "sealed secrets (BitLocker keys, ...) stay "
				       "behind", v->vtpms.ids[0]);
	xva_err_clear(&why);
	if (xva_vtpm_permall(t->content, &vm->tpm_state, &vm->tpm_state_len,
			     &why) != XVA_OK)
		return why.status == XVA_ENOMEM ? xva_nomem(err)
		       : xva_vm_add_note(vm, err, "virtual TPM %s not carried "
				"over: %s", v->vtpms.ids[0], why.msg);
	return XVA_OK;
}

/* XAPI's bios_strings keys, by SMBIOS structure and field. */
static const struct {
	const char *key;
	unsigned type;
	const char *field;
} smbios_keys[] = {
	{ "bios-vendor", 0, "vendor" },
	{ "bios-version", 0, "version" },
	{ "system-manufacturer", 1, "manufacturer" },
	{ "system-product-name", 1, "product" },
	{ "system-version", 1, "version" },
	{ "system-serial-number", 1, "serial" },
	{ "baseboard-manufacturer", 2, "manufacturer" },
	{ "baseboard-product-name", 2, "product" },
	{ "baseboard-version", 2, "version" },
	{ "baseboard-serial-number", 2, "serial" },
	{ "baseboard-asset-tag", 2, "asset" },
	{ "baseboard-location-in-chassis", 2, "location" },
	{ "enclosure-asset-tag", 3, "asset" },
};

static enum xva_status add_smbios(struct xva_vm *vm, unsigned type,
				  const char *field, const char *value,
				  struct xva_err *err)
{
	struct xva_vm_smbios *bigger = realloc(vm->smbios,
		(vm->n_smbios + 1) * sizeof(*bigger));

	if (!bigger)
		return xva_nomem(err);
	vm->smbios = bigger;
	bigger[vm->n_smbios] = (struct xva_vm_smbios){ type, field, strdup(value) };
	if (!bigger[vm->n_smbios].value)
		return xva_nomem(err);
	vm->n_smbios++;
	return XVA_OK;
}

/* The SMBIOS strings guests read (Windows activation, licensed software):
 * the non-empty ones, OEM strings oem-1, oem-2, ... in record order. */
static enum xva_status read_smbios(struct xva_vm *vm, const struct xva_ova_vm *v,
				   struct xva_err *err)
{
	enum xva_status status = XVA_OK;

	if (vm->kind != XVA_VM_HVM)
		return XVA_OK; /* a PV guest has no firmware tables */
	for (size_t i = 0; i < v->bios_strings.n && !status; i++) {
		const struct xva_ova_pair *pair = &v->bios_strings.pairs[i];
		size_t k;

		if (!pair->value || !pair->value[0] ||
		    xva_ovaxml_map_get(&v->bios_strings, pair->key) != pair->value)
			continue; /* empty, or overridden by a later one */
		for (k = 0; k < sizeof(smbios_keys) / sizeof(smbios_keys[0]); k++)
			if (strcmp(smbios_keys[k].key, pair->key) == 0)
				break;
		if (k < sizeof(smbios_keys) / sizeof(smbios_keys[0]))
			status = add_smbios(vm, smbios_keys[k].type,
					    smbios_keys[k].field, pair->value, err);
		else if (strncmp(pair->key, "oem-", 4) == 0)
			status = add_smbios(vm, 11, "value", pair->value, err);
		else
			status = xva_vm_add_note(vm, err, "bios_strings %.40s="
						 "\"%.80s\": no SMBIOS field for it",
						 pair->key, pair->value);
	}
	return status;
}

enum xva_status xva_vm_read_firmware(struct xva_vm *vm,
				     const struct xva_ovaxml *ova,
				     const struct xva_ova_vm *v,
				     struct xva_err *err)
{
	enum xva_status status;

	if ((status = read_efi_variables(vm, v, err)) != XVA_OK ||
	    (status = read_vtpm(vm, ova, v, err)) != XVA_OK)
		return status;
	return read_smbios(vm, v, err);
}
