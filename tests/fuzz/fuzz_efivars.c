/* libFuzzer harness: arbitrary bytes as the decoded NVRAM EFI-variables
 * blob (base64 encoded here, as ova.xml holds it) and as a vTPM's state
 * text; a blob that decodes is written as an OVMF variable store. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vm/firmware.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *base64(const uint8_t *p, size_t n)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(n / 3 * 4 + 5), *q = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 |
			     (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);

		*q++ = digits[v >> 18];
		*q++ = digits[(v >> 12) & 63];
		*q++ = i + 1 < n ? digits[(v >> 6) & 63] : '=';
		*q++ = i + 2 < n ? digits[v & 63] : '=';
	}
	*q = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = base64(data, size), *raw;
	struct efivars vars;
	struct xva_err err;
	unsigned char *out;
	size_t len;

	if (text && xva_efivars_decode(text, &vars, &err) == XVA_OK) {
		if (xva_ovmf_vars(&vars, size & 1, &out, &err) == XVA_OK)
			free(out);
		xva_efivars_free(&vars);
	}
	free(text);
	raw = malloc(size + 1);
	if (raw) {
		memcpy(raw, data, size);
		raw[size] = '\0';
		if (xva_vtpm_permall(raw, &out, &len, &err) == XVA_OK)
			free(out);
		free(raw);
	}
	return 0;
}
