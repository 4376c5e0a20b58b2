/* vmconfig: the --vm-config front end on an ova.xml file, for the VM
 * config checks while the command line is being rebuilt:
 *
 *   vmconfig FORMAT OVA.XML MOUNTPOINT [VDI_ID=DEVICE]...
 *   vmconfig --json OVA.XML [VDI_ID=DEVICE]...
 *
 * VMCONFIG_EXPORT, if set, is the export's path for the header (else
 * OVA.XML's). Exit statuses are xvafs_vm_config's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_vmconfig.h"

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (*len + 65536 > cap) {
			char *bigger = realloc(buf, cap = (*len + 65536) * 2);

			if (!bigger)
				break;
			buf = bigger;
		}
		got = fread(buf + *len, 1, cap - *len, f);
		*len += got;
		if (got == 0) {
			fclose(f);
			return buf;
		}
	}
	fclose(f);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
	int first_disk = json ? 3 : 4;
	struct xva_vm_disk_ref *disks;
	struct xva_ovaxml *ova = NULL;
	struct xva_err err;
	size_t len, n = 0;
	char *xml;
	int rc;

	if (argc < first_disk) {
		fputs("usage: vmconfig FORMAT OVA.XML MOUNTPOINT [VDI=DEVICE]...\n"
		      "       vmconfig --json OVA.XML [VDI=DEVICE]...\n", stderr);
		return 1;
	}
	xml = read_all(argv[2], &len);
	if (!xml) {
		fprintf(stderr, "vmconfig: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (xva_ovaxml_parse(xml, len, &ova, &err) != XVA_OK) {
		fprintf(stderr, "vmconfig: %s: %s\n", argv[2], err.msg);
		free(xml);
		return 2;
	}
	free(xml);
	disks = calloc((size_t)argc, sizeof(*disks));
	for (int i = first_disk; disks && i < argc; i++) {
		char *eq = strrchr(argv[i], '=');

		if (!eq)
			continue;
		*eq = '\0';
		disks[n].vdi_id = argv[i];
		disks[n++].device = eq + 1;
	}
	if (json) {
		struct xva_vm *vm = NULL;
		json_object *o;

		rc = 2;
		if (xva_vm_build(ova, disks, n, &vm, &err) != XVA_OK) {
			fprintf(stderr, "vmconfig: %s: %s\n", argv[2], err.msg);
		} else if ((o = xvafs_vm_json(vm))) {
			puts(json_object_to_json_string_ext(o,
				JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
			rc = 0;
		}
		xva_vm_free(vm);
	} else {
		const char *export_path = getenv("VMCONFIG_EXPORT");

		rc = xvafs_vm_config(stdout, argv[1], ova, disks, n, argv[3],
				     export_path ? export_path : argv[2], NULL);
	}
	free(disks);
	xva_ovaxml_free(ova);
	return rc;
}
