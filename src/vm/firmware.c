/* A VM's firmware state: XCP-ng's UEFI variable blob decoded and written
 * as an OVMF variable store; a vTPM's swtpm state (see firmware.h). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "vm/firmware.h"

/* ---- base64 ---- */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

enum xva_status xva_base64_decode(const char *text, unsigned char **out,
				  size_t *len, struct xva_err *err)
{
	size_t n = strlen(text), got = 0, pad = 0;
	unsigned char *buf = malloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	unsigned bits = 0;

	*out = NULL;
	*len = 0;
	if (!buf)
		return xva_nomem(err);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		v = b64_value(c);
		if (v < 0 || pad) {
			free(buf);
			return xva_fail(err, XVA_EFORMAT, "not base64 at character "
					"%zu", i);
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[got++] = (unsigned char)(acc >> bits);
		}
	}
	if (pad > 2 || bits >= 6) {
		free(buf);
		return xva_fail(err, XVA_EFORMAT, "base64 text of a length no "
				"encoding gives");
	}
	*out = buf;
	*len = got;
	return XVA_OK;
}

/* ---- the varstored blob ---- */

static const unsigned char global_guid[16] = { /* 8be4df61-93ca-11d2-aa0d-00e098032b8c */
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
	0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };
static const unsigned char image_security_guid[16] = { /* d719b2cb-3d3a-4596-a3bc-dad00e67656f */
	0xcb, 0xb2, 0x19, 0xd7, 0x3a, 0x3d, 0x96, 0x45,
	0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f };
/* EDK2's own bookkeeping, which its firmware makes itself. */
static const unsigned char secure_boot_enable_guid[16] = { /* f0a30bc7-af08-4556-99c4-001009c93a44 */
	0xc7, 0x0b, 0xa3, 0xf0, 0x08, 0xaf, 0x56, 0x45,
	0x99, 0xc4, 0x00, 0x10, 0x09, 0xc9, 0x3a, 0x44 };
static const unsigned char custom_mode_guid[16] = { /* c076ec0c-7028-4399-a072-71ee5c448b9f */
	0x0c, 0xec, 0x76, 0xc0, 0x28, 0x70, 0x99, 0x43,
	0xa0, 0x72, 0x71, 0xee, 0x5c, 0x44, 0x8b, 0x9f };
static const unsigned char vendor_keys_guid[16] = { /* 9073e4e0-60ec-4b6e-9903-4c223c260f3c */
	0xe0, 0xe4, 0x73, 0x90, 0xec, 0x60, 0x6e, 0x4b,
	0x99, 0x03, 0x4c, 0x22, 0x3c, 0x26, 0x0f, 0x3c };
static const unsigned char cert_db_guid[16] = { /* d9bee56e-75dc-49d9-b4d7-b534210f637a */
	0x6e, 0xe5, 0xbe, 0xd9, 0xdc, 0x75, 0xd9, 0x49,
	0xb4, 0xd7, 0xb5, 0x34, 0x21, 0x0f, 0x63, 0x7a };

#define BLOB_HEADER 24          /* "VARS", version, count, length */
#define BLOB_ANCILLARY_V2 268   /* MOR key (8), PPI data (4 + 256) */
#define BLOB_VAR_FIXED (16 + 4 + 16 + 32) /* GUID .. certificate digest */

static uint64_t le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* NAME as ASCII for messages: other characters become '?'. */
static void ascii_label(struct efivar *v)
{
	size_t n = v->name_len / 2, k = 0;

	for (size_t i = 0; i < n && k + 1 < sizeof(v->label); i++) {
		unsigned c = v->name[2 * i] | (unsigned)v->name[2 * i + 1] << 8;

		v->label[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	v->label[k] = '\0';
}

/* A u64 length at *POS, at most MAX and within the blob; *POS moves past
 * it. */
static enum xva_status take_length(const struct efivars *vars, size_t *pos,
				   size_t max, const char *what, size_t index,
				   size_t *out, struct xva_err *err)
{
	uint64_t n;

	if (vars->raw_len - *pos < 8)
		return xva_fail(err, XVA_EFORMAT, "variable %zu: the blob ends "
				"at byte %zu, inside its %s length", index, *pos,
				what);
	n = le64(vars->raw + *pos);
	*pos += 8;
	if (n > max || n > vars->raw_len - *pos)
		return xva_fail(err, XVA_EFORMAT, "variable %zu: %s length %llu "
				"at byte %zu is %s", index, what,
				(unsigned long long)n, *pos - 8, n > max
				? "more than varstored allows" : "past the blob's end");
	*out = (size_t)n;
	return XVA_OK;
}

static enum xva_status take_variable(struct efivars *vars, size_t *pos,
				     size_t index, struct xva_err *err)
{
	struct efivar *v = &vars->vars[index];
	const unsigned char *p;
	enum xva_status status;

	if ((status = take_length(vars, pos, EFIVAR_NAME_MAX, "name", index,
				  &v->name_len, err)) != XVA_OK)
		return status;
	if (v->name_len == 0 || v->name_len % 2)
		return xva_fail(err, XVA_EFORMAT, "variable %zu: a name of %zu "
				"bytes at byte %zu is no UTF-16 name", index,
				v->name_len, *pos - 8);
	v->name = vars->raw + *pos;
	*pos += v->name_len;
	ascii_label(v);
	if ((status = take_length(vars, pos, EFIVAR_DATA_MAX, "data", index,
				  &v->data_len, err)) != XVA_OK)
		return status;
	v->data = vars->raw + *pos;
	*pos += v->data_len;
	if (vars->raw_len - *pos < BLOB_VAR_FIXED)
		return xva_fail(err, XVA_EFORMAT, "variable %zu (%s): the blob "
				"ends at byte %zu, inside its GUID, attributes "
				"and time", index, v->label, vars->raw_len);
	p = vars->raw + *pos;
	memcpy(v->guid, p, 16);
	v->attributes = le32(p + 16);
	memcpy(v->timestamp, p + 20, 16);
	*pos += BLOB_VAR_FIXED;
	for (size_t k = 0; k < index; k++)
		if (vars->vars[k].name_len == v->name_len &&
		    memcmp(vars->vars[k].name, v->name, v->name_len) == 0 &&
		    memcmp(vars->vars[k].guid, v->guid, 16) == 0)
			return xva_fail(err, XVA_EFORMAT, "variables %zu and %zu "
					"are both %s", k, index, v->label);
	return XVA_OK;
}

enum xva_status xva_efivars_decode(const char *text, struct efivars *out,
				   struct xva_err *err)
{
	enum xva_status status;
	uint64_t count;
	size_t pos;

	memset(out, 0, sizeof(*out));
	status = xva_base64_decode(text, &out->raw, &out->raw_len, err);
	if (status != XVA_OK)
		return status;
	if (out->raw_len < BLOB_HEADER || memcmp(out->raw, "VARS", 4) != 0) {
		status = xva_fail(err, XVA_EFORMAT, "not a varstored blob (no "
				  "\"VARS\" header)");
		goto fail;
	}
	out->version = le32(out->raw + 4);
	count = le64(out->raw + 8);
	if (out->version != 1 && out->version != 2) {
		status = xva_fail(err, XVA_EFORMAT, "varstored blob version %u "
				  "(this reads 1 and 2)", out->version);
		goto fail;
	}
	if (count > EFIVAR_COUNT_MAX) {
		status = xva_fail(err, XVA_EFORMAT, "%llu variables, more than "
				  "any store holds", (unsigned long long)count);
		goto fail;
	}
	pos = BLOB_HEADER;
	if (out->version == 2) {
		if (out->raw_len - pos < BLOB_ANCILLARY_V2) {
			status = xva_fail(err, XVA_EFORMAT, "a version 2 blob of "
					  "%zu bytes ends inside its MOR and PPI "
					  "data", out->raw_len);
			goto fail;
		}
		pos += BLOB_ANCILLARY_V2;
	}
	out->vars = calloc(count ? (size_t)count : 1, sizeof(*out->vars));
	if (!out->vars) {
		status = xva_nomem(err);
		goto fail;
	}
	for (size_t i = 0; i < count; i++) {
		if ((status = take_variable(out, &pos, i, err)) != XVA_OK)
			goto fail;
		out->n++;
	}
	if (pos != out->raw_len) {
		status = xva_fail(err, XVA_EFORMAT, "%zu bytes after the last of "
				  "%zu variables (byte %zu)", out->raw_len - pos,
				  out->n, pos);
		goto fail;
	}
	return XVA_OK;
fail:
	xva_efivars_free(out);
	return status;
}

void xva_efivars_free(struct efivars *vars)
{
	free(vars->vars);
	free(vars->raw);
	memset(vars, 0, sizeof(*vars));
}

const struct efivar *xva_efivars_find(const struct efivars *vars,
				      const char *name)
{
	for (size_t i = 0; i < vars->n; i++) {
		const struct efivar *v = &vars->vars[i];

		if (strcmp(v->label, name) == 0 &&
		    (memcmp(v->guid, global_guid, 16) == 0 ||
		     memcmp(v->guid, image_security_guid, 16) == 0))
			return v;
	}
	return NULL;
}

/* ---- the OVMF variable store ---- */

/* The layout of OVMF_VARS_4M.fd: a firmware volume of 0x84 blocks of
 * 4 KiB; the variable store from the end of the volume header up to
 * 0x40000; a 4 KiB gap; the fault-tolerant write working block at 0x41000,
 * whose write queue fills the rest of its block; the spare area after it.
 * Erased flash reads 0xFF. */
#define FV_HEADER_LEN 0x48
#define FV_BLOCK 0x1000u
#define STORE_END 0x40000u
#define STORE_HEADER_LEN 0x1c
#define FTW_WORKING 0x41000u
#define FTW_HEADER_LEN 0x20
#define VAR_HEADER_LEN 60 /* EDK2's AUTHENTICATED_VARIABLE_HEADER */

static const unsigned char nv_data_fv_guid[16] = { /* fff12b8d-7696-4c8b-a985-2747075b4f50 */
	0x8d, 0x2b, 0xf1, 0xff, 0x96, 0x76, 0x8b, 0x4c,
	0xa9, 0x85, 0x27, 0x47, 0x07, 0x5b, 0x4f, 0x50 };
static const unsigned char auth_store_guid[16] = { /* aaf32c78-947b-439a-a180-2e144ec37792 */
	0x78, 0x2c, 0xf3, 0xaa, 0x7b, 0x94, 0x9a, 0x43,
	0xa1, 0x80, 0x2e, 0x14, 0x4e, 0xc3, 0x77, 0x92 };
static const unsigned char ftw_working_guid[16] = { /* 9e58292b-7c68-497d-a0ce-6500fd9f1b95 */
	0x2b, 0x29, 0x58, 0x9e, 0x68, 0x7c, 0x7d, 0x49,
	0xa0, 0xce, 0x65, 0x00, 0xfd, 0x9f, 0x1b, 0x95 };

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void fv_header(unsigned char *fv)
{
	uint16_t sum = 0;

	memset(fv, 0, FV_HEADER_LEN);
	memcpy(fv + 0x10, nv_data_fv_guid, 16);
	put64(fv + 0x20, OVMF_VARS_SIZE);
	memcpy(fv + 0x28, "_FVH", 4);
	put32(fv + 0x2c, 0x0004feff);   /* EFI_FVB2 read/write/lock caps */
	put16(fv + 0x30, FV_HEADER_LEN);
	fv[0x37] = 2;                   /* revision */
	put32(fv + 0x38, OVMF_VARS_SIZE / FV_BLOCK);
	put32(fv + 0x3c, FV_BLOCK);     /* then the terminating {0, 0} */
	/* The header's 16-bit words sum to zero. */
	for (size_t i = 0; i < FV_HEADER_LEN; i += 2)
		sum = (uint16_t)(sum + (fv[i] | fv[i + 1] << 8));
	put16(fv + 0x32, (uint16_t)(0x10000 - sum));
}

static void store_header(unsigned char *p)
{
	memcpy(p, auth_store_guid, 16);
	put32(p + 16, STORE_END - FV_HEADER_LEN);
	p[20] = 0x5a;   /* formatted */
	p[21] = 0xfe;   /* healthy */
	memset(p + 22, 0, 6);
}

/* EDK2's working block header: its CRC-32 is taken with the CRC field
 * and the state bits erased (all ones). */
static void ftw_header(unsigned char *p)
{
	uint32_t crc;

	memset(p, 0xff, FTW_HEADER_LEN);
	memcpy(p, ftw_working_guid, 16);
	put64(p + 24, FV_BLOCK - FTW_HEADER_LEN); /* the write queue */
	crc = (uint32_t)crc32(0L, p, FTW_HEADER_LEN);
	put32(p + 16, crc);
	p[20] = 0xfe;   /* WorkingBlockValid set, Invalid clear */
}

/* Appends one variable at *POS; false when it does not fit. */
static bool put_variable(unsigned char *fv, size_t *pos, const unsigned char *name,
			 size_t name_len, const unsigned char guid[16],
			 uint32_t attributes, const unsigned char timestamp[16],
			 const unsigned char *data, size_t data_len)
{
	size_t need = VAR_HEADER_LEN + name_len + 2 + data_len;
	unsigned char *p = fv + *pos;

	if (need > STORE_END - *pos)
		return false;
	memset(p, 0, VAR_HEADER_LEN);
	put16(p, 0x55aa);               /* StartId */
	p[2] = 0x3f;                    /* VAR_ADDED */
	put32(p + 4, attributes);
	if (timestamp)
		memcpy(p + 16, timestamp, 16);
	put32(p + 36, (uint32_t)(name_len + 2));
	put32(p + 40, (uint32_t)data_len);
	memcpy(p + 44, guid, 16);
	memcpy(p + VAR_HEADER_LEN, name, name_len);
	p[VAR_HEADER_LEN + name_len] = 0;
	p[VAR_HEADER_LEN + name_len + 1] = 0;
	memcpy(p + VAR_HEADER_LEN + name_len + 2, data, data_len);
	*pos += (need + 3) & ~(size_t)3; /* headers start 4-aligned */
	return true;
}

static bool is_bookkeeping(const struct efivar *v)
{
	return memcmp(v->guid, secure_boot_enable_guid, 16) == 0 ||
	       memcmp(v->guid, custom_mode_guid, 16) == 0 ||
	       memcmp(v->guid, vendor_keys_guid, 16) == 0 ||
	       memcmp(v->guid, cert_db_guid, 16) == 0;
}

enum xva_status xva_ovmf_vars(const struct efivars *vars, bool secure_boot,
			      unsigned char **out, struct xva_err *err)
{
	/* "SecureBootEnable" in UTF-16LE. */
	static const unsigned char sbe_name[] = {
		'S', 0, 'e', 0, 'c', 0, 'u', 0, 'r', 0, 'e', 0, 'B', 0, 'o', 0,
		'o', 0, 't', 0, 'E', 0, 'n', 0, 'a', 0, 'b', 0, 'l', 0, 'e', 0 };
	unsigned char *fv = malloc(OVMF_VARS_SIZE);
	size_t pos = FV_HEADER_LEN + STORE_HEADER_LEN;

	*out = NULL;
	if (!fv)
		return xva_nomem(err);
	memset(fv, 0xff, OVMF_VARS_SIZE);
	fv_header(fv);
	store_header(fv + FV_HEADER_LEN);
	ftw_header(fv + FTW_WORKING);
	for (size_t i = 0; i < vars->n; i++) {
		const struct efivar *v = &vars->vars[i];

		if (is_bookkeeping(v))
			continue;
		if (!put_variable(fv, &pos, v->name, v->name_len, v->guid,
				  v->attributes, v->timestamp, v->data,
				  v->data_len))
			goto full;
	}
	/* With a platform key, the firmware enforces Secure Boot when this
	 * says so; XenServer's platform flag is what decided it there. */
	if (xva_efivars_find(vars, "PK")) {
		unsigned char on = secure_boot ? 1 : 0;

		if (!put_variable(fv, &pos, sbe_name, sizeof(sbe_name),
				  secure_boot_enable_guid, 0x3 /* NV, BS */,
				  NULL, &on, 1))
			goto full;
	}
	*out = fv;
	return XVA_OK;
full:
	free(fv);
	return xva_fail(err, XVA_EFORMAT, "the %zu UEFI variables do not fit "
			"in OVMF's variable store of %u bytes", vars->n,
			STORE_END - FV_HEADER_LEN - STORE_HEADER_LEN);
}

/* ---- vTPM ---- */

enum xva_status xva_vtpm_permall(const char *content, unsigned char **out,
				 size_t *len, struct xva_err *err)
{
	size_t fields = 1, first = strcspn(content, " ");
	enum xva_status status;
	char *permall;

	for (const char *p = content; *p; p++)
		fields += *p == ' ';
	*out = NULL;
	*len = 0;
	if (fields != 1 && fields != 3)
		return xva_fail(err, XVA_EFORMAT, "a vTPM state of %zu fields "
				"(swtpm's is 1 or 3)", fields);
	if (first == 0)
		return xva_fail(err, XVA_EFORMAT, "a vTPM state with no "
				"permanent state");
	permall = strndup(content, first);
	if (!permall)
		return xva_nomem(err);
	status = xva_base64_decode(permall, out, len, err);
	free(permall);
	if (status == XVA_OK && *len == 0) {
		free(*out);
		*out = NULL;
		status = xva_fail(err, XVA_EFORMAT, "a vTPM state with no "
				  "permanent state");
	}
	return status;
}
