#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "xvafs/number.h"
#include "xvafs/ovaxml.h"

enum field_kind {
	FIELD_TEXT,
	FIELD_BOOL,
	FIELD_SIZE, /* a byte count, checked here: disks are sized by it */
	FIELD_MAP,  /* a struct of strings, into a struct xva_ova_map */
	FIELD_REFS, /* an array of references, into a struct xva_ova_refs */
};

/* One snapshot field xvafs keeps: where it goes in the object's struct. */
struct field {
	const char *name;
	enum field_kind kind;
	size_t off;
	size_t has_off; /* FIELD_SIZE: the bool that says it was present */
};

#define TEXT(type, member, xmlname) \
	{ xmlname, FIELD_TEXT, offsetof(type, member), 0 }
#define BOOL(type, member, xmlname) \
	{ xmlname, FIELD_BOOL, offsetof(type, member), 0 }
#define MAP(type, member, xmlname) \
	{ xmlname, FIELD_MAP, offsetof(type, member), 0 }
#define REFS(type, member, xmlname) \
	{ xmlname, FIELD_REFS, offsetof(type, member), 0 }

#define VM_TEXT(member, xmlname) TEXT(struct xva_ova_vm, member, xmlname)
static const struct field vm_fields[] = {
	VM_TEXT(name_label, "name_label"),
	BOOL(struct xva_ova_vm, is_a_snapshot, "is_a_snapshot"),
	VM_TEXT(uuid, "uuid"),
	VM_TEXT(name_description, "name_description"),
	VM_TEXT(domain_type, "domain_type"),
	VM_TEXT(hvm_boot_policy, "HVM_boot_policy"),
	VM_TEXT(pv_bootloader, "PV_bootloader"),
	VM_TEXT(pv_bootloader_args, "PV_bootloader_args"),
	VM_TEXT(pv_kernel, "PV_kernel"),
	VM_TEXT(pv_ramdisk, "PV_ramdisk"),
	VM_TEXT(pv_args, "PV_args"),
	VM_TEXT(pv_legacy_args, "PV_legacy_args"),
	VM_TEXT(snapshot_of, "snapshot_of"),
	VM_TEXT(memory_static_max, "memory_static_max"),
	VM_TEXT(memory_dynamic_max, "memory_dynamic_max"),
	VM_TEXT(memory_dynamic_min, "memory_dynamic_min"),
	VM_TEXT(memory_static_min, "memory_static_min"),
	VM_TEXT(vcpus_max, "VCPUs_max"),
	VM_TEXT(vcpus_at_startup, "VCPUs_at_startup"),
	BOOL(struct xva_ova_vm, is_a_template, "is_a_template"),
	BOOL(struct xva_ova_vm, is_control_domain, "is_control_domain"),
	MAP(struct xva_ova_vm, hvm_boot_params, "HVM_boot_params"),
	MAP(struct xva_ova_vm, platform, "platform"),
	MAP(struct xva_ova_vm, nvram, "NVRAM"),
	MAP(struct xva_ova_vm, other_config, "other_config"),
	MAP(struct xva_ova_vm, bios_strings, "bios_strings"),
	REFS(struct xva_ova_vm, vbds, "VBDs"),
	REFS(struct xva_ova_vm, vifs, "VIFs"),
	REFS(struct xva_ova_vm, vgpus, "VGPUs"),
	REFS(struct xva_ova_vm, attached_pcis, "attached_PCIs"),
	REFS(struct xva_ova_vm, vtpms, "VTPMs"),
	REFS(struct xva_ova_vm, vusbs, "VUSBs"),
	{ NULL, 0, 0, 0 },
};
#undef VM_TEXT
static const struct field vif_fields[] = {
	TEXT(struct xva_ova_vif, vm, "VM"),
	TEXT(struct xva_ova_vif, device, "device"),
	TEXT(struct xva_ova_vif, mac, "MAC"),
	TEXT(struct xva_ova_vif, network, "network"),
	TEXT(struct xva_ova_vif, mtu, "MTU"),
	{ NULL, 0, 0, 0 },
};
static const struct field vtpm_fields[] = {
	TEXT(struct xva_ova_vtpm, vm, "VM"),
	TEXT(struct xva_ova_vtpm, uuid, "uuid"),
	TEXT(struct xva_ova_vtpm, content, "content"),
	{ NULL, 0, 0, 0 },
};
static const struct field network_fields[] = {
	TEXT(struct xva_ova_network, name_label, "name_label"),
	TEXT(struct xva_ova_network, name_description, "name_description"),
	TEXT(struct xva_ova_network, bridge, "bridge"),
	TEXT(struct xva_ova_network, mtu, "MTU"),
	{ NULL, 0, 0, 0 },
};
static const struct field vbd_fields[] = {
	TEXT(struct xva_ova_vbd, vm, "VM"),
	TEXT(struct xva_ova_vbd, vdi, "VDI"),
	TEXT(struct xva_ova_vbd, userdevice, "userdevice"),
	TEXT(struct xva_ova_vbd, device, "device"),
	TEXT(struct xva_ova_vbd, type, "type"),
	TEXT(struct xva_ova_vbd, mode, "mode"),
	BOOL(struct xva_ova_vbd, bootable, "bootable"),
	BOOL(struct xva_ova_vbd, empty, "empty"),
	{ NULL, 0, 0, 0 },
};
static const struct field vdi_fields[] = {
	TEXT(struct xva_ova_vdi, uuid, "uuid"),
	TEXT(struct xva_ova_vdi, name_label, "name_label"),
	TEXT(struct xva_ova_vdi, name_description, "name_description"),
	TEXT(struct xva_ova_vdi, type, "type"),
	TEXT(struct xva_ova_vdi, sr, "SR"),
	BOOL(struct xva_ova_vdi, read_only, "read_only"),
	{ "virtual_size", FIELD_SIZE, offsetof(struct xva_ova_vdi, virtual_size),
	  offsetof(struct xva_ova_vdi, has_virtual_size) },
	{ NULL, 0, 0, 0 },
};
static const struct field sr_fields[] = {
	TEXT(struct xva_ova_sr, name_label, "name_label"),
	TEXT(struct xva_ova_sr, content_type, "content_type"),
	{ NULL, 0, 0, 0 },
};
static const struct field version_fields[] = {
	TEXT(struct xva_ova_version, hostname, "hostname"),
	TEXT(struct xva_ova_version, date, "date"),
	TEXT(struct xva_ova_version, product_brand, "product_brand"),
	TEXT(struct xva_ova_version, product_version, "product_version"),
	TEXT(struct xva_ova_version, export_vsn, "export_vsn"),
	{ NULL, 0, 0, 0 },
};

static bool is_elem(const xmlNode *n, const char *name)
{
	return n && n->type == XML_ELEMENT_NODE &&
	       strcmp((const char *)n->name, name) == 0;
}

static xmlNode *first_elem(xmlNode *parent)
{
	for (xmlNode *n = parent ? parent->children : NULL; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

static xmlNode *next_elem(xmlNode *node)
{
	for (xmlNode *n = node->next; n; n = n->next)
		if (n->type == XML_ELEMENT_NODE)
			return n;
	return NULL;
}

static xmlNode *child_elem(xmlNode *parent, const char *name)
{
	for (xmlNode *n = first_elem(parent); n; n = next_elem(n))
		if (is_elem(n, name))
			return n;
	return NULL;
}

/* The node holding a <value>'s scalar text: the value itself when untyped,
 * else its typed child. NULL when the value is a struct or an array. */
static xmlNode *scalar_node(xmlNode *value)
{
	static const char *const scalar_types[] = {
		"string", "int", "i4", "i8", "boolean", "double",
		"dateTime.iso8601", NULL,
	};
	xmlNode *typed = first_elem(value);

	if (!typed)
		return value;
	for (size_t i = 0; scalar_types[i]; i++)
		if (is_elem(typed, scalar_types[i]))
			return typed;
	return NULL;
}

/* Calls FN for each <member> of the <struct> inside VALUE. */
typedef enum xva_status (*member_fn)(void *ctx, const char *name,
					 xmlNode *value, struct xva_err *err);

static enum xva_status each_member(xmlNode *value, const char *what,
				   member_fn fn, void *ctx,
				   struct xva_err *err)
{
	xmlNode *st = child_elem(value, "struct");

	if (!st)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_STRUCTURE,
				    "ova.xml line %ld: %s is not a struct",
				    value ? (long)xmlGetLineNo(value) : 0L, what);
	for (xmlNode *m = first_elem(st); m; m = next_elem(m)) {
		xmlNode *name = child_elem(m, "name");
		xmlNode *val = child_elem(m, "value");
		enum xva_status status;
		xmlChar *text;

		if (!is_elem(m, "member") || !name || !val)
			return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_STRUCTURE,
					    "ova.xml line %ld: a member of %s lacks "
					    "<name> or <value>", (long)xmlGetLineNo(m),
					    what);
		text = xmlNodeGetContent(name);
		if (!text)
			return xva_nomem(err);
		status = fn(ctx, (const char *)text, val, err);
		xmlFree(text);
		if (status != XVA_OK)
			return status;
	}
	return XVA_OK;
}

static enum xva_status parse_size(const char *text, const char *field,
				  long line, uint64_t *out,
				  struct xva_err *err)
{
	uint64_t v = 0;
	const char *p = text;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (!xva_parse_digits(p, 10, &v, &p))
		goto bad;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p != '\0' || v > (uint64_t)INT64_MAX)
		goto bad;
	*out = v;
	return XVA_OK;
bad:
	return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
			    "ova.xml line %ld: %s \"%.40s\" is not a byte count",
			    line, field, text);
}

/* Appends a zeroed element to an array and returns it. The capacity is
 * the next power of two, so it is implicit in *N and a document with many
 * objects costs no quadratic copying. */
static void *grow(void **array, size_t *n, size_t elem_size)
{
	char *slot;

	if ((*n & (*n - 1)) == 0) { /* 0, 1, 2, 4, ...: full */
		size_t cap = *n ? *n * 2 : 1;
		void *bigger;

		if (cap > SIZE_MAX / elem_size)
			return NULL;
		bigger = realloc(*array, cap * elem_size);
		if (!bigger)
			return NULL;
		*array = bigger;
	}
	slot = (char *)*array + *n * elem_size;
	memset(slot, 0, elem_size);
	(*n)++;
	return slot;
}

static void free_map(struct xva_ova_map *map)
{
	for (size_t i = 0; i < map->n; i++) {
		free(map->pairs[i].key);
		free(map->pairs[i].value);
	}
	free(map->pairs);
	map->pairs = NULL;
	map->n = 0;
}

static void free_refs(struct xva_ova_refs *refs)
{
	for (size_t i = 0; i < refs->n; i++)
		free(refs->ids[i]);
	free(refs->ids);
	refs->ids = NULL;
	refs->n = 0;
}

/* The scalar text of VALUE into *OUT, malloc'ed. WHAT and NAME say whose
 * it is in the message. */
static enum xva_status scalar_text(xmlNode *value, const char *what,
				   const char *name, char **out,
				   struct xva_err *err)
{
	xmlNode *scalar = scalar_node(value);
	xmlChar *text;

	*out = NULL;
	if (!scalar)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
				    "ova.xml line %ld: %s %s is not a scalar",
				    (long)xmlGetLineNo(value), what, name);
	text = xmlNodeGetContent(scalar);
	*out = text ? strdup((const char *)text) : NULL;
	xmlFree(text);
	return *out ? XVA_OK : xva_nomem(err);
}

struct map_ctx {
	struct xva_ova_map *map;
	const char *what;
};

static enum xva_status map_member(void *vctx, const char *name,
				  xmlNode *value, struct xva_err *err)
{
	struct map_ctx *ctx = vctx;
	struct xva_ova_pair *pair;
	enum xva_status status;
	char *key = NULL, *text = NULL;

	status = scalar_text(value, ctx->what, name, &text, err);
	if (status != XVA_OK)
		goto fail;
	key = strdup(name);
	pair = key ? grow((void **)&ctx->map->pairs, &ctx->map->n,
			  sizeof(*pair)) : NULL;
	if (!pair) {
		status = xva_nomem(err);
		goto fail;
	}
	pair->key = key;
	pair->value = text;
	return XVA_OK;
fail:
	free(key);
	free(text);
	return status;
}

static enum xva_status parse_refs(xmlNode *value, const char *what,
				  const char *name, struct xva_ova_refs *refs,
				  struct xva_err *err)
{
	xmlNode *data = child_elem(child_elem(value, "array"), "data");

	if (!data)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
				    "ova.xml line %ld: %s field %s is not an array",
				    (long)xmlGetLineNo(value), what, name);
	for (xmlNode *v = first_elem(data); v; v = next_elem(v)) {
		enum xva_status status;
		char **slot;
		char *id;

		if (!is_elem(v, "value"))
			return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
					    "ova.xml line %ld: <%s> in %s field %s",
					    (long)xmlGetLineNo(v),
					    (const char *)v->name, what, name);
		status = scalar_text(v, what, name, &id, err);
		if (status != XVA_OK)
			return status;
		slot = grow((void **)&refs->ids, &refs->n, sizeof(*slot));
		if (!slot) {
			free(id);
			return xva_nomem(err);
		}
		*slot = id;
	}
	return XVA_OK;
}

struct fill_ctx {
	const struct field *fields;
	void *obj;
	const char *what;
};

static enum xva_status fill_field(void *vctx, const char *name,
				  xmlNode *value, struct xva_err *err)
{
	struct fill_ctx *ctx = vctx;
	const struct field *f;
	enum xva_status status = XVA_OK;
	xmlNode *scalar;
	xmlChar *text;
	char *dst;

	for (f = ctx->fields; f->name; f++)
		if (strcmp(f->name, name) == 0)
			break;
	if (!f->name)
		return XVA_OK; /* a field xvafs does not use */
	dst = (char *)ctx->obj + f->off;
	if (f->kind == FIELD_MAP) {
		struct map_ctx mctx = { (struct xva_ova_map *)dst, name };

		/* A repeated member replaces the first, as for scalars. */
		free_map(mctx.map);
		return each_member(value, name, map_member, &mctx, err);
	}
	if (f->kind == FIELD_REFS) {
		free_refs((struct xva_ova_refs *)dst);
		return parse_refs(value, ctx->what, name,
				  (struct xva_ova_refs *)dst, err);
	}
	scalar = scalar_node(value);
	if (!scalar)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
				    "ova.xml line %ld: %s field %s is not a scalar",
				    (long)xmlGetLineNo(value), ctx->what, name);
	text = xmlNodeGetContent(scalar);
	if (!text)
		return xva_nomem(err);
	switch (f->kind) {
	case FIELD_TEXT: {
		char **slot = (char **)dst;

		free(*slot);
		*slot = strdup((const char *)text);
		if (!*slot)
			status = xva_nomem(err);
		break;
	}
	case FIELD_BOOL:
		*(bool *)dst = strcmp((const char *)text, "true") == 0 ||
			       strcmp((const char *)text, "1") == 0;
		break;
	case FIELD_SIZE:
		status = parse_size((const char *)text, name,
				    (long)xmlGetLineNo(value), (uint64_t *)dst,
				    err);
		if (status == XVA_OK)
			*(bool *)((char *)ctx->obj + f->has_off) = true;
		break;
	case FIELD_MAP:
	case FIELD_REFS:
		break; /* handled above */
	}
	xmlFree(text);
	return status;
}

/* One entry of "objects": {class, id, snapshot} in any order. */
struct object_ctx {
	struct xva_ovaxml *ova;
	xmlChar *cls, *id;
	xmlNode *snapshot;
};

static enum xva_status object_member(void *vctx, const char *name,
				     xmlNode *value, struct xva_err *err)
{
	struct object_ctx *ctx = vctx;
	xmlChar **slot = NULL;
	xmlNode *scalar;

	if (strcmp(name, "snapshot") == 0) {
		ctx->snapshot = value;
		return XVA_OK;
	}
	if (strcmp(name, "class") == 0)
		slot = &ctx->cls;
	else if (strcmp(name, "id") == 0)
		slot = &ctx->id;
	else
		return XVA_OK;
	scalar = scalar_node(value);
	if (!scalar)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_STRUCTURE,
				    "ova.xml line %ld: object %s is not a scalar",
				    (long)xmlGetLineNo(value), name);
	xmlFree(*slot);
	*slot = xmlNodeGetContent(scalar);
	if (!*slot)
		return xva_nomem(err);
	return XVA_OK;
}


static enum xva_status parse_object(struct xva_ovaxml *ova, xmlNode *value,
				    struct xva_err *err)
{
	struct object_ctx octx = { ova, NULL, NULL, NULL };
	struct fill_ctx fctx = { NULL, NULL, NULL };
	enum xva_status status;
	char **id_slot = NULL;

	status = each_member(value, "an object", object_member, &octx, err);
	if (status != XVA_OK)
		goto out;
	if (!octx.cls || !octx.id || !octx.snapshot) {
		status = xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_STRUCTURE,
				      "ova.xml line %ld: an object lacks its class, "
				      "id or snapshot", (long)xmlGetLineNo(value));
		goto out;
	}
	fctx.what = (const char *)octx.cls;
#define ADD(array, count, fieldtab)                                           \
	do {                                                                  \
		fctx.obj = grow((void **)&ova->array, &ova->count,            \
				sizeof(*ova->array));                         \
		fctx.fields = fieldtab;                                       \
		if (fctx.obj)                                                 \
			id_slot = &ova->array[ova->count - 1].id;             \
	} while (0)
	if (strcmp((const char *)octx.cls, "VM") == 0)
		ADD(vms, n_vms, vm_fields);
	else if (strcmp((const char *)octx.cls, "VBD") == 0)
		ADD(vbds, n_vbds, vbd_fields);
	else if (strcmp((const char *)octx.cls, "VDI") == 0)
		ADD(vdis, n_vdis, vdi_fields);
	else if (strcmp((const char *)octx.cls, "SR") == 0)
		ADD(srs, n_srs, sr_fields);
	else if (strcmp((const char *)octx.cls, "VIF") == 0)
		ADD(vifs, n_vifs, vif_fields);
	else if (strcmp((const char *)octx.cls, "network") == 0)
		ADD(networks, n_networks, network_fields);
	else if (strcmp((const char *)octx.cls, "VTPM") == 0)
		ADD(vtpms, n_vtpms, vtpm_fields);
	else
		goto out; /* hosts, guest metrics, VGPUs, ...: not needed */
#undef ADD
	if (!fctx.obj || !(*id_slot = strdup((const char *)octx.id))) {
		status = xva_nomem(err);
		goto out;
	}
	status = each_member(octx.snapshot, "a snapshot", fill_field, &fctx, err);
out:
	xmlFree(octx.cls);
	xmlFree(octx.id);
	return status;
}

struct top_ctx {
	struct xva_ovaxml *ova;
	xmlNode *objects;
};

static enum xva_status top_member(void *vctx, const char *name,
				  xmlNode *value, struct xva_err *err)
{
	struct top_ctx *ctx = vctx;

	if (strcmp(name, "objects") == 0) {
		ctx->objects = value;
		return XVA_OK;
	}
	if (strcmp(name, "version") == 0) {
		struct fill_ctx fctx = { version_fields, &ctx->ova->version,
					 "version" };

		return each_member(value, "version", fill_field, &fctx, err);
	}
	return XVA_OK;
}

static enum xva_status parse_root(struct xva_ovaxml *ova, xmlNode *root,
				  struct xva_err *err)
{
	struct top_ctx tctx = { ova, NULL };
	enum xva_status status;
	xmlNode *data;

	if (is_elem(root, "appliance"))
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_STRUCTURE,
				    "ova.xml is a legacy XenSource 3.x appliance "
				    "description, not an XVA export");
	if (!is_elem(root, "value"))
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_STRUCTURE,
				    "ova.xml line %ld: the root element is <%s>, "
				    "expected an XML-RPC <value>",
				    (long)xmlGetLineNo(root), (const char *)root->name);
	status = each_member(root, "the export", top_member, &tctx, err);
	if (status != XVA_OK)
		return status;
	data = child_elem(child_elem(tctx.objects, "array"), "data");
	if (!data)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_STRUCTURE,
				    "ova.xml has no objects array");
	for (xmlNode *v = first_elem(data); v; v = next_elem(v)) {
		if (!is_elem(v, "value"))
			return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_STRUCTURE,
					    "ova.xml line %ld: <%s> in the objects "
					    "array", (long)xmlGetLineNo(v),
					    (const char *)v->name);
		status = parse_object(ova, v, err);
		if (status != XVA_OK)
			return status;
	}
	return XVA_OK;
}

enum xva_status xva_ovaxml_parse(const char *buf, size_t len,
				 struct xva_ovaxml **out,
				 struct xva_err *err)
{
	enum xva_status status;
	struct xva_ovaxml *ova = NULL;
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc = NULL;

	*out = NULL;
	if (len > INT32_MAX)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
				    "ova.xml is too large (%zu bytes)", len);
	ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return xva_nomem(err);
	/* No XML_PARSE_NOENT, DTDLOAD or HUGE: entities are never substituted,
	 * nothing is fetched, and libxml2's depth limits stay on. */
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, "ova.xml", NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR |
				XML_PARSE_NOWARNING | XML_PARSE_NOBLANKS);
	if (!doc || !ctxt->wellFormed) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char why[200];

		snprintf(why, sizeof(why), "%s", e && e->message ? e->message
							 : "unreadable");
		why[strcspn(why, "\n")] = '\0';
		status = xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_SYNTAX,
				      "ova.xml line %d: not well-formed XML: %s",
				      e ? e->line : 0, why);
		goto out;
	}
	/* An export never has one; refusing any DTD rules out entity
	 * expansion attacks whatever the parser's settings. */
	if (doc->intSubset || doc->extSubset) {
		status = xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_DTD,
				      "ova.xml declares a DTD, which no export "
				      "writer produces; refusing it (entities)");
		goto out;
	}
	ova = calloc(1, sizeof(*ova));
	if (!ova) {
		status = xva_nomem(err);
		goto out;
	}
	status = parse_root(ova, xmlDocGetRootElement(doc), err);
	if (status == XVA_OK) {
		*out = ova;
		ova = NULL;
	}
out:
	xva_ovaxml_free(ova);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return status;
}

const struct xva_ova_vdi *xva_ovaxml_find_vdi(const struct xva_ovaxml *ova,
					      const char *id)
{
	for (size_t i = 0; ova && i < ova->n_vdis; i++)
		if (strcmp(ova->vdis[i].id, id) == 0)
			return &ova->vdis[i];
	return NULL;
}

const struct xva_ova_sr *xva_ovaxml_find_sr(const struct xva_ovaxml *ova,
					    const char *id)
{
	for (size_t i = 0; ova && id && i < ova->n_srs; i++)
		if (strcmp(ova->srs[i].id, id) == 0)
			return &ova->srs[i];
	return NULL;
}

const struct xva_ova_network *
xva_ovaxml_find_network(const struct xva_ovaxml *ova, const char *id)
{
	for (size_t i = 0; ova && id && i < ova->n_networks; i++)
		if (strcmp(ova->networks[i].id, id) == 0)
			return &ova->networks[i];
	return NULL;
}

const struct xva_ova_vtpm *xva_ovaxml_find_vtpm(const struct xva_ovaxml *ova,
					       const char *id)
{
	for (size_t i = 0; ova && id && i < ova->n_vtpms; i++)
		if (strcmp(ova->vtpms[i].id, id) == 0)
			return &ova->vtpms[i];
	return NULL;
}

const char *xva_ovaxml_map_get(const struct xva_ova_map *map, const char *key)
{
	/* The last one wins, as when XAPI reads a struct into a map. */
	for (size_t i = map->n; i-- > 0;)
		if (strcmp(map->pairs[i].key, key) == 0)
			return map->pairs[i].value;
	return NULL;
}

static void free_vm(struct xva_ova_vm *vm)
{
	char **texts[] = {
		&vm->id, &vm->name_label, &vm->uuid, &vm->name_description,
		&vm->domain_type, &vm->hvm_boot_policy, &vm->pv_bootloader,
		&vm->pv_bootloader_args, &vm->pv_kernel, &vm->pv_ramdisk,
		&vm->pv_args, &vm->pv_legacy_args, &vm->snapshot_of,
		&vm->memory_static_max, &vm->memory_dynamic_max,
		&vm->memory_dynamic_min, &vm->memory_static_min,
		&vm->vcpus_max, &vm->vcpus_at_startup,
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		free(*texts[i]);
	free_map(&vm->hvm_boot_params);
	free_map(&vm->platform);
	free_map(&vm->nvram);
	free_map(&vm->other_config);
	free_map(&vm->bios_strings);
	free_refs(&vm->vbds);
	free_refs(&vm->vifs);
	free_refs(&vm->vgpus);
	free_refs(&vm->attached_pcis);
	free_refs(&vm->vtpms);
	free_refs(&vm->vusbs);
}

void xva_ovaxml_free(struct xva_ovaxml *ova)
{
	if (!ova)
		return;
	free(ova->version.hostname);
	free(ova->version.date);
	free(ova->version.product_brand);
	free(ova->version.product_version);
	free(ova->version.export_vsn);
	for (size_t i = 0; i < ova->n_vms; i++)
		free_vm(&ova->vms[i]);
	for (size_t i = 0; i < ova->n_vbds; i++) {
		struct xva_ova_vbd *b = &ova->vbds[i];

		free(b->id); free(b->vm); free(b->vdi); free(b->userdevice);
		free(b->device); free(b->type); free(b->mode);
	}
	for (size_t i = 0; i < ova->n_vdis; i++) {
		struct xva_ova_vdi *d = &ova->vdis[i];

		free(d->id); free(d->uuid); free(d->name_label);
		free(d->name_description); free(d->type); free(d->sr);
	}
	for (size_t i = 0; i < ova->n_srs; i++) {
		free(ova->srs[i].id);
		free(ova->srs[i].name_label);
		free(ova->srs[i].content_type);
	}
	for (size_t i = 0; i < ova->n_vifs; i++) {
		struct xva_ova_vif *v = &ova->vifs[i];

		free(v->id); free(v->vm); free(v->device); free(v->mac);
		free(v->network); free(v->mtu);
	}
	for (size_t i = 0; i < ova->n_networks; i++) {
		struct xva_ova_network *n = &ova->networks[i];

		free(n->id); free(n->name_label); free(n->name_description);
		free(n->bridge); free(n->mtu);
	}
	for (size_t i = 0; i < ova->n_vtpms; i++) {
		struct xva_ova_vtpm *t = &ova->vtpms[i];

		free(t->id); free(t->vm); free(t->uuid); free(t->content);
	}
	free(ova->vifs);
	free(ova->networks);
	free(ova->vtpms);
	free(ova->vms);
	free(ova->vbds);
	free(ova->vdis);
	free(ova->srs);
	free(ova);
}
