/* libFuzzer harness: arbitrary bytes as ova.xml, then the VM description
 * and all three configurations, with every VDI served under a device
 * name. The writers must take any text ova.xml can hold. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "xvafs/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xva_vm_disk_ref *disks = NULL;
	struct xva_ovaxml *ova = NULL;
	struct xva_vm *vm = NULL;
	struct xva_err err;
	char (*names)[32] = NULL;

	if (xva_ovaxml_parse((const char *)data, size, &ova, &err) != XVA_OK)
		return 0;
	disks = calloc(ova->n_vdis + 1, sizeof(*disks));
	names = calloc(ova->n_vdis + 1, sizeof(*names));
	if (!disks || !names)
		goto out;
	for (size_t i = 0; i < ova->n_vdis; i++) {
		snprintf(names[i], sizeof(names[i]), "xvd%c%zu",
			 (char)('a' + i % 26), i);
		disks[i].vdi_id = ova->vdis[i].id;
		disks[i].device = names[i];
	}
	if (xva_vm_build(ova, disks, ova->n_vdis, &vm, &err) == XVA_OK) {
		for (int f = 0; f < XVA_VM_N_FORMATS; f++) {
			char *text = NULL;
			size_t len;

			if (xva_vm_write(vm, f, "/mnt/xva", "fuzz.xva", &text,
					 &len, &err) == XVA_OK && len == 0)
				abort(); /* a configuration is never empty */
			free(text);
		}
	}
out:
	xva_vm_free(vm);
	free(disks);
	free(names);
	xva_ovaxml_free(ova);
	return 0;
}
