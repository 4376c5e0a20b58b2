/* libFuzzer harness: arbitrary bytes as ova.xml. */
#include <stdint.h>
#include <stdlib.h>

#include "xvafs/ovaxml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xva_ovaxml *ova = NULL;
	struct xva_err err;

	if (xva_ovaxml_parse((const char *)data, size, &ova, &err) == XVA_OK) {
		for (size_t i = 0; i < ova->n_vdis; i++)
			(void)xva_ovaxml_find_vdi(ova, ova->vdis[i].id);
		xva_ovaxml_free(ova);
	}
	return 0;
}
