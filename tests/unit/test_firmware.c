/* A VM's firmware state: varstored blobs of both versions (made here,
 * field by field as varstored's serialiser lays them out) decoded; the
 * OVMF variable store against the ovmf package's empty template, byte for
 * byte; every cut and corruption of a blob refused with a reason; the
 * vTPM's state fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vm/firmware.h"

static struct xva_err err;

struct blob {
	unsigned char *p;
	size_t len, cap;
};

static void add(struct blob *b, const void *data, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void add_u32(struct blob *b, uint32_t v)
{
	unsigned char le[4] = { (unsigned char)v, (unsigned char)(v >> 8),
				(unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	add(b, le, 4);
}

static void add_u64(struct blob *b, uint64_t v)
{
	add_u32(b, (uint32_t)v);
	add_u32(b, (uint32_t)(v >> 32));
}

static const unsigned char global[16] = {
	0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
	0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c };

struct var {
	const char *name;
	const unsigned char *data;
	size_t len;
	uint32_t attributes;
};

/* One variable as varstored serialises it. */
static void add_var(struct blob *b, const struct var *v)
{
	unsigned char time[16] = { 0xe9, 0x07, 3, 10, 2, 0x35, 0x27 };
	unsigned char cert[32] = { 0 };
	size_t n = strlen(v->name);

	add_u64(b, 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned char c[2] = { (unsigned char)v->name[i], 0 };

		add(b, c, 2);
	}
	add_u64(b, v->len);
	add(b, v->data, v->len);
	add(b, global, 16);
	add_u32(b, v->attributes);
	add(b, time, 16);
	add(b, cert, 32);
}

static const unsigned char boot0001[] = "\x01\0\0\0\x04\0d\0e\0b\0\0\0\x7f\xff\x04\0";
static const unsigned char order[] = { 1, 0 };
static const unsigned char pk[] = "a stand-in EFI_SIGNATURE_LIST";
static const struct var vars[] = {
	{ "Boot0001", boot0001, sizeof(boot0001) - 1, 7 },
	{ "BootOrder", order, 2, 7 },
	{ "PK", pk, sizeof(pk), 0x27 },
};
#define N_VARS (sizeof(vars) / sizeof(vars[0]))

static struct blob make_blob(unsigned version, size_t n_vars)
{
	struct blob body = { 0 }, b = { 0 };
	unsigned char ancillary[268];

	for (size_t i = 0; i < n_vars; i++)
		add_var(&body, &vars[i]);
	add(&b, "VARS", 4);
	add_u32(&b, version);
	add_u64(&b, n_vars);
	add_u64(&b, body.len);
	if (version == 2) {
		memset(ancillary, 0x5a, sizeof(ancillary)); /* MOR key, PPI */
		add(&b, ancillary, sizeof(ancillary));
	}
	add(&b, body.p, body.len);
	free(body.p);
	return b;
}

static char *base64(const unsigned char *p, size_t n)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc(n / 3 * 4 + 5), *q = out;

	if (!out)
		abort();
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

static enum xva_status decode(const struct blob *b, struct efivars *out)
{
	char *text = base64(b->p, b->len);
	enum xva_status st = xva_efivars_decode(text, out, &err);

	free(text);
	return st;
}

static void test_versions(void)
{
	unsigned char *store[2] = { NULL, NULL };

	for (unsigned version = 1; version <= 2; version++) {
		struct blob b = make_blob(version, N_VARS);
		struct efivars ev;

		CHECK_MSG(decode(&b, &ev) == XVA_OK, "v%u: %s", version, err.msg);
		CHECK(ev.version == version && ev.n == N_VARS);
		for (size_t i = 0; i < ev.n && i < N_VARS; i++) {
			CHECK(strcmp(ev.vars[i].label, vars[i].name) == 0);
			CHECK(ev.vars[i].data_len == vars[i].len &&
			      memcmp(ev.vars[i].data, vars[i].data, vars[i].len) == 0);
			CHECK(ev.vars[i].attributes == vars[i].attributes);
			CHECK(memcmp(ev.vars[i].guid, global, 16) == 0);
		}
		CHECK(xva_efivars_find(&ev, "PK") == &ev.vars[2]);
		CHECK(xva_efivars_find(&ev, "dbx") == NULL);
		CHECK(xva_ovmf_vars(&ev, false, &store[version - 1], &err) == XVA_OK);
		xva_efivars_free(&ev);
		free(b.p);
	}
	/* The version changes the blob, not what it holds. */
	CHECK(store[0] && store[1] && memcmp(store[0], store[1], OVMF_VARS_SIZE) == 0);
	free(store[0]);
	free(store[1]);
}

/* The store's variables, walked as EDK2 does. */
static size_t store_names(const unsigned char *fv, char names[][32], size_t max,
			  unsigned char *secure_boot_enable)
{
	size_t pos = 0x64, n = 0;

	while (pos + 60 <= 0x40000 && fv[pos] == 0xaa && fv[pos + 1] == 0x55) {
		uint32_t name_size = fv[pos + 36] | (uint32_t)fv[pos + 37] << 8;
		uint32_t data_size = fv[pos + 40] | (uint32_t)fv[pos + 41] << 8;
		size_t k = 0;

		CHECK(fv[pos + 2] == 0x3f);
		for (size_t i = 0; i + 2 < name_size && k < 31; i += 2)
			names[n][k++] = (char)fv[pos + 60 + i];
		names[n][k] = '\0';
		if (strcmp(names[n], "SecureBootEnable") == 0)
			*secure_boot_enable = fv[pos + 60 + name_size];
		if (++n == max)
			break;
		pos = (pos + 60 + name_size + data_size + 3) & ~(size_t)3;
	}
	return n;
}

static void test_store(void)
{
	struct efivars none = { 0 }, ev;
	struct blob b = make_blob(2, N_VARS);
	unsigned char *fv = NULL, sbe = 0xff;
	char names[8][32];
	FILE *f;

	/* No variables: OVMF's own empty template, byte for byte. */
	CHECK(xva_ovmf_vars(&none, false, &fv, &err) == XVA_OK);
	f = fopen("/usr/share/OVMF/OVMF_VARS_4M.fd", "rb");
	if (f) {
		unsigned char *tpl = malloc(OVMF_VARS_SIZE + 1);

		CHECK(tpl && fread(tpl, 1, OVMF_VARS_SIZE + 1, f) == OVMF_VARS_SIZE);
		CHECK(tpl && fv && memcmp(tpl, fv, OVMF_VARS_SIZE) == 0);
		free(tpl);
		fclose(f);
	} else {
		fprintf(stderr, "note: no /usr/share/OVMF/OVMF_VARS_4M.fd (ovmf): "
			"the empty store is not compared with it\n");
	}
	free(fv);

	/* With a platform key, SecureBootEnable says what the VM had. */
	CHECK(decode(&b, &ev) == XVA_OK);
	for (int on = 0; on <= 1; on++) {
		CHECK(xva_ovmf_vars(&ev, on, &fv, &err) == XVA_OK);
		CHECK(store_names(fv, names, 8, &sbe) == N_VARS + 1);
		CHECK(strcmp(names[0], "Boot0001") == 0 &&
		      strcmp(names[2], "PK") == 0 &&
		      strcmp(names[3], "SecureBootEnable") == 0);
		CHECK(sbe == on);
		free(fv);
	}
	xva_efivars_free(&ev);
	free(b.p);

	/* Without one, no SecureBootEnable: OVMF makes its own. */
	b = make_blob(2, 2);
	CHECK(decode(&b, &ev) == XVA_OK);
	CHECK(xva_ovmf_vars(&ev, true, &fv, &err) == XVA_OK);
	CHECK(store_names(fv, names, 8, &sbe) == 2);
	free(fv);
	xva_efivars_free(&ev);
	free(b.p);
}

/* Every cut of a blob is refused with a reason; so is a corrupted one. */
static void test_hostile(void)
{
	struct blob b = make_blob(2, N_VARS);
	struct efivars ev;
	unsigned char *fv;

	for (size_t cut = 0; cut < b.len; cut++) {
		struct blob c = { b.p, cut, cut };

		CHECK_MSG(decode(&c, &ev) == XVA_EFORMAT && err.msg[0],
			  "a blob cut at %zu", cut);
	}
	/* One byte more than the variables. */
	add(&b, "x", 1);
	CHECK(decode(&b, &ev) == XVA_EFORMAT && strstr(err.msg, "after the last"));
	b.len--;
	/* An odd name length, a name longer than varstored allows. */
	b.p[24 + 268] = 15;
	CHECK(decode(&b, &ev) == XVA_EFORMAT && strstr(err.msg, "UTF-16"));
	b.p[24 + 268] = 0;
	b.p[24 + 268 + 2] = 1; /* 65536 bytes */
	CHECK(decode(&b, &ev) == XVA_EFORMAT && strstr(err.msg, "varstored allows"));
	b.p[24 + 268 + 2] = 0;
	b.p[24 + 268] = 16;
	CHECK(decode(&b, &ev) == XVA_OK);
	xva_efivars_free(&ev);
	/* Version 3, a count no store holds, not VARS at all. */
	b.p[4] = 3;
	CHECK(decode(&b, &ev) == XVA_EFORMAT && strstr(err.msg, "version 3"));
	b.p[4] = 2;
	b.p[8 + 5] = 1;
	CHECK(decode(&b, &ev) == XVA_EFORMAT);
	b.p[8 + 5] = 0;
	b.p[0] = 'X';
	CHECK(decode(&b, &ev) == XVA_EFORMAT && strstr(err.msg, "VARS"));
	free(b.p);
	/* Two variables of one name. */
	{
		struct blob body = { 0 }, d = { 0 };

		add_var(&body, &vars[1]);
		add_var(&body, &vars[1]);
		add(&d, "VARS", 4);
		add_u32(&d, 1);
		add_u64(&d, 2);
		add_u64(&d, body.len);
		add(&d, body.p, body.len);
		CHECK(decode(&d, &ev) == XVA_EFORMAT && strstr(err.msg, "both BootOrder"));
		free(body.p);
		free(d.p);
	}
	CHECK(xva_efivars_decode("VkFSU*", &ev, &err) == XVA_EFORMAT &&
	      strstr(err.msg, "character 5"));
	/* More than the store holds: refused, not cut. */
	{
		static unsigned char big[50000];
		struct blob body = { 0 }, d = { 0 };
		char name[16];
		size_t n = 8;

		for (size_t i = 0; i < n; i++) {
			struct var v = { name, big, sizeof(big), 7 };

			snprintf(name, sizeof(name), "Big%04zu", i);
			add_var(&body, &v);
		}
		add(&d, "VARS", 4);
		add_u32(&d, 1);
		add_u64(&d, n);
		add_u64(&d, body.len);
		add(&d, body.p, body.len);
		CHECK(decode(&d, &ev) == XVA_OK);
		CHECK(xva_ovmf_vars(&ev, false, &fv, &err) == XVA_EFORMAT &&
		      strstr(err.msg, "do not fit"));
		xva_efivars_free(&ev);
		free(body.p);
		free(d.p);
	}
}

static void test_vtpm(void)
{
	unsigned char *state;
	size_t len;

	CHECK(xva_vtpm_permall("cGVybWFsbA==", &state, &len, &err) == XVA_OK &&
	      len == 7 && memcmp(state, "permall", 7) == 0);
	free(state);
	CHECK(xva_vtpm_permall("cGVybWFsbA== c2F2ZQ== dm9s", &state, &len, &err) == XVA_OK &&
	      len == 7);
	free(state);
	CHECK(xva_vtpm_permall("cGVybWFsbA==  ", &state, &len, &err) == XVA_OK);
	free(state);
	CHECK(xva_vtpm_permall("YQ== Yg==", &state, &len, &err) == XVA_EFORMAT &&
	      strstr(err.msg, "2 fields"));
	CHECK(xva_vtpm_permall(" c2F2ZQ== dm9s", &state, &len, &err) == XVA_EFORMAT);
	CHECK(xva_vtpm_permall("not base64!", &state, &len, &err) == XVA_EFORMAT);
}

/* The fixtures tests/guests/efivars.py made (a Boot0001 entry for a
 * loader at \EFI\debian\grubx64.efi, and BootOrder) in both versions:
 * one store. */
static void test_fixtures(const char *dir)
{
	unsigned char *store[2] = { NULL, NULL };

	for (unsigned v = 1; v <= 2; v++) {
		char path[4096], text[4096];
		struct efivars ev;
		size_t n = 0;
		FILE *f;

		snprintf(path, sizeof(path), "%s/nvram-v%u.b64", dir, v);
		f = fopen(path, "r");
		CHECK_MSG(f != NULL, "%s", path);
		if (!f)
			continue;
		n = fread(text, 1, sizeof(text) - 1, f);
		fclose(f);
		text[n] = '\0';
		CHECK_MSG(xva_efivars_decode(text, &ev, &err) == XVA_OK, "%s: %s",
			  path, err.msg);
		CHECK(ev.version == v && ev.n == 2);
		CHECK(ev.n == 2 && strcmp(ev.vars[0].label, "Boot0001") == 0 &&
		      strcmp(ev.vars[1].label, "BootOrder") == 0);
		CHECK(xva_ovmf_vars(&ev, false, &store[v - 1], &err) == XVA_OK);
		xva_efivars_free(&ev);
	}
	CHECK(store[0] && store[1] && memcmp(store[0], store[1], OVMF_VARS_SIZE) == 0);
	free(store[0]);
	free(store[1]);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		test_fixtures(argv[1]);
	test_versions();
	test_store();
	test_hostile();
	test_vtpm();
	return CHECK_DONE();
}
