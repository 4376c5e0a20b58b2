/* ova.xml as XAPI and Xen Orchestra write it, and what must be refused. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "xvafs/ovaxml.h"

static struct xva_err err;

static enum xva_status parse(const char *xml, struct xva_ovaxml **ova)
{
	return xva_ovaxml_parse(xml, strlen(xml), ova, &err);
}

/* The reason a malformed ova.xml is refused, XVA_R_NONE if it is not. */
static enum xva_reason refused(const char *xml, struct xva_ovaxml **ova)
{
	xva_err_clear(&err);
	if (parse(xml, ova) != XVA_EFORMAT)
		return XVA_R_NONE;
	return err.reason;
}

#define M(name, value) "<member><name>" name "</name><value>" value "</value></member>"
#define OBJ(cls, id, fields) \
	"<value><struct>" M("class", cls) M("id", id) \
	"<member><name>snapshot</name><value><struct>" fields \
	"</struct></value></member></struct></value>"
#define EXPORT(objects) \
	"<value><struct>" M("version", "<struct>" M("hostname", "h") \
	M("export_vsn", "2") "</struct>") \
	"<member><name>objects</name><value><array><data>" objects \
	"</data></array></value></member></struct></value>"

static void test_xapi(void)
{
	static const char xml[] = EXPORT(
		OBJ("VM", "Ref:0", M("name_label", "web &amp; db")
			M("VBDs", "<array><data><value>Ref:3</value></data></array>"))
		OBJ("VBD", "Ref:3", M("VM", "Ref:0") M("VDI", "Ref:12")
			M("userdevice", "0") M("device", "") M("type", "Disk")
			M("mode", "RW") M("bootable", "true") M("empty", "false"))
		OBJ("VDI", "Ref:12", M("virtual_size", "10737418240")
			M("name_label", "root") M("read_only", "false")
			M("SR", "Ref:20"))
		OBJ("SR", "Ref:20", M("content_type", "user"))
		OBJ("VIF", "Ref:30", M("device", "0")));
	struct xva_ovaxml *ova = NULL;
	const struct xva_ova_vdi *vdi;

	CHECK_MSG(parse(xml, &ova) == XVA_OK, "%s", err.msg);
	if (!ova)
		return;
	CHECK(ova->n_vms == 1 && ova->n_vbds == 1 && ova->n_vdis == 1 &&
	      ova->n_srs == 1);
	CHECK(strcmp(ova->vms[0].name_label, "web & db") == 0);
	CHECK(strcmp(ova->version.hostname, "h") == 0);
	CHECK(ova->vbds[0].bootable && !ova->vbds[0].empty);
	CHECK(strcmp(ova->vbds[0].device, "") == 0);
	vdi = xva_ovaxml_find_vdi(ova, "Ref:12");
	CHECK(vdi && vdi->has_virtual_size &&
	      vdi->virtual_size == 10737418240ULL);
	CHECK(vdi && strcmp(vdi->sr, "Ref:20") == 0);
	CHECK(xva_ovaxml_find_vdi(ova, "Ref:1") == NULL);
	xva_ovaxml_free(ova);
}

static void test_xo_typed_and_reordered(void)
{
	static const char xml[] =
		"<?xml version=\"1.0\"?>\n<value>\n <struct>\n"
		"  <member><name>objects</name><value><array><data>\n"
		"   <value><struct>\n"
		"    <member><name>snapshot</name><value><struct>\n"
		"     <member><name>virtual_size</name><value><i8> 2097152 </i8></value></member>\n"
		"     <member><name>name_label</name><value><string>data disk</string></value></member>\n"
		"    </struct></value></member>\n"
		"    <member><name>id</name><value><string>Ref:000</string></value></member>\n"
		"    <member><name>class</name><value><string>VDI</string></value></member>\n"
		"   </struct></value>\n"
		"  </data></array></value></member>\n"
		" </struct>\n</value>\n";
	struct xva_ovaxml *ova = NULL;
	const struct xva_ova_vdi *vdi;

	CHECK_MSG(parse(xml, &ova) == XVA_OK, "%s", err.msg);
	vdi = xva_ovaxml_find_vdi(ova, "Ref:000");
	CHECK(vdi && vdi->virtual_size == 2097152 &&
	      strcmp(vdi->name_label, "data disk") == 0);
	xva_ovaxml_free(ova);
}

/* The VM record's maps and reference lists, VIFs and networks. */
static void test_vm_record(void)
{
	static const char xml[] = EXPORT(
		OBJ("VM", "Ref:0", M("name_label", "web01")
			M("uuid", "2f1c8a3e-5b7d-4e21-9c0a-6d3e8f1b2a47")
			M("memory_static_max", "4294967296")
			M("VCPUs_max", "4") M("VCPUs_at_startup", "2")
			M("domain_type", "hvm") M("HVM_boot_policy", "BIOS order")
			M("is_a_template", "<boolean>0</boolean>")
			M("HVM_boot_params", "<struct>" M("order", "cdn")
			  M("firmware", "uefi") "</struct>")
			M("platform", "<struct>" M("viridian", "true")
			  M("acpi", "<string>1</string>") M("empty", "")
			  M("viridian", "false") "</struct>")
			M("NVRAM", "<struct/>")
			M("VIFs", "<array><data><value>Ref:30</value>"
			  "<value><string>Ref:31</string></value></data></array>")
			M("VGPUs", "<array><data/></array>")
			M("PV_args", ""))
		OBJ("VIF", "Ref:30", M("VM", "Ref:0") M("device", "0")
			M("MAC", "b6:4e:9c:21:7d:01") M("network", "Ref:40")
			M("MTU", "1500"))
		OBJ("network", "Ref:40", M("name_label", "Pool-wide network")
			M("bridge", "xenbr0") M("MTU", "9000")));
	struct xva_ovaxml *ova = NULL;
	const struct xva_ova_vm *vm;
	const struct xva_ova_network *net;

	CHECK_MSG(parse(xml, &ova) == XVA_OK, "%s", err.msg);
	if (!ova)
		return;
	vm = &ova->vms[0];
	CHECK(strcmp(vm->uuid, "2f1c8a3e-5b7d-4e21-9c0a-6d3e8f1b2a47") == 0);
	CHECK(strcmp(vm->memory_static_max, "4294967296") == 0 &&
	      strcmp(vm->vcpus_max, "4") == 0 &&
	      strcmp(vm->vcpus_at_startup, "2") == 0);
	CHECK(strcmp(vm->domain_type, "hvm") == 0 && !vm->is_a_template);
	CHECK(strcmp(vm->pv_args, "") == 0 && vm->pv_kernel == NULL);
	CHECK(vm->hvm_boot_params.n == 2);
	CHECK(strcmp(xva_ovaxml_map_get(&vm->hvm_boot_params, "firmware"),
		     "uefi") == 0);
	/* Typed and empty values; a repeated key: the last one. */
	CHECK(vm->platform.n == 4);
	CHECK(strcmp(xva_ovaxml_map_get(&vm->platform, "acpi"), "1") == 0);
	CHECK(strcmp(xva_ovaxml_map_get(&vm->platform, "empty"), "") == 0);
	CHECK(strcmp(xva_ovaxml_map_get(&vm->platform, "viridian"), "false") == 0);
	CHECK(xva_ovaxml_map_get(&vm->platform, "nx") == NULL);
	CHECK(vm->nvram.n == 0 && vm->other_config.n == 0);
	CHECK(vm->vifs.n == 2 && strcmp(vm->vifs.ids[1], "Ref:31") == 0);
	CHECK(vm->vgpus.n == 0 && vm->vbds.n == 0);
	CHECK(ova->n_vifs == 1 && strcmp(ova->vifs[0].mac, "b6:4e:9c:21:7d:01") == 0);
	CHECK(strcmp(ova->vifs[0].device, "0") == 0 &&
	      strcmp(ova->vifs[0].mtu, "1500") == 0);
	net = xva_ovaxml_find_network(ova, ova->vifs[0].network);
	CHECK(net && strcmp(net->bridge, "xenbr0") == 0 &&
	      strcmp(net->name_label, "Pool-wide network") == 0 &&
	      strcmp(net->mtu, "9000") == 0);
	CHECK(xva_ovaxml_find_network(ova, "Ref:41") == NULL);
	CHECK(xva_ovaxml_find_sr(ova, "Ref:1") == NULL);
	xva_ovaxml_free(ova);
}

static void test_refused(void)
{
	static const char *const bad_size[] = { "abc", "-5", "",
		"99999999999999999999", "12 34", "0x10" };
	struct xva_ovaxml *ova = NULL;
	enum xva_reason st;
	char xml[2048];
	char *deep;

	CHECK(refused("<value><struct>", &ova) == XVA_R_OVA_SYNTAX && !ova);
	CHECK(refused("not xml at all", &ova) == XVA_R_OVA_SYNTAX);
	CHECK(refused("<value>&undefined;</value>", &ova) == XVA_R_OVA_SYNTAX);
	/* Refused either by libxml2's own loop check or by the DTD rule;
	 * never expanded. */
	st = refused("<!DOCTYPE v [<!ENTITY a \"aaaaaaaaaa\">"
		   "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
		   "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
		   "<value>&c;</value>", &ova);
	CHECK((st == XVA_R_OVA_DTD || st == XVA_R_OVA_SYNTAX) && !ova);
	CHECK(refused("<!DOCTYPE v [<!ENTITY a \"aaaa\">]><value>&a;</value>",
		      &ova) == XVA_R_OVA_DTD);
	CHECK(refused("<!DOCTYPE v [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		      "<value>&x;</value>", &ova) == XVA_R_OVA_DTD);
	CHECK(refused("<struct/>", &ova) == XVA_R_OVA_STRUCTURE);
	CHECK(refused("<appliance version=\"0.1\"/>", &ova) == XVA_R_OVA_STRUCTURE);
	CHECK(strstr(err.msg, "legacy") != NULL);
	CHECK(refused("<value><struct></struct></value>", &ova) ==
	      XVA_R_OVA_STRUCTURE);
	CHECK(refused(EXPORT("<value><struct>" M("class", "VDI") "</struct></value>"),
		    &ova) == XVA_R_OVA_STRUCTURE);
	for (size_t i = 0; i < sizeof(bad_size) / sizeof(bad_size[0]); i++) {
		snprintf(xml, sizeof(xml), EXPORT(OBJ("VDI", "Ref:1",
			 M("virtual_size", "%s"))), bad_size[i]);
		CHECK_MSG(refused(xml, &ova) == XVA_R_OVA_VALUE, "%s", bad_size[i]);
	}
	CHECK(refused(EXPORT(OBJ("VDI", "Ref:1", M("virtual_size",
		    "<struct></struct>"))), &ova) == XVA_R_OVA_VALUE);
	/* Maps of strings, lists of references: nothing else. */
	CHECK(refused(EXPORT(OBJ("VM", "Ref:1", M("platform", "acpi"))), &ova) ==
	      XVA_R_OVA_STRUCTURE && !ova);
	CHECK(refused(EXPORT(OBJ("VM", "Ref:1", M("platform", "<struct>"
		      M("acpi", "<struct/>") "</struct>"))), &ova) ==
	      XVA_R_OVA_VALUE && !ova);
	CHECK(refused(EXPORT(OBJ("VM", "Ref:1", M("VBDs", "Ref:2"))), &ova) ==
	      XVA_R_OVA_VALUE && !ova);
	CHECK(refused(EXPORT(OBJ("VM", "Ref:1", M("VBDs", "<array><data>"
		      "<string>Ref:2</string></data></array>"))), &ova) ==
	      XVA_R_OVA_VALUE && !ova);
	CHECK(refused(EXPORT(OBJ("VM", "Ref:1", M("VIFs", "<array><data><value>"
		      "<array><data/></array></value></data></array>"))), &ova) ==
	      XVA_R_OVA_VALUE && !ova);

	/* Nesting far past libxml2's limit is refused, not recursed into. */
	deep = malloc(200000 * 7 + 1);
	deep[0] = '\0';
	for (int i = 0; i < 100000; i++)
		strcat(deep + i * 7, "<value>");
	CHECK(refused(deep, &ova) == XVA_R_OVA_SYNTAX);
	free(deep);
}

int main(void)
{
	test_xapi();
	test_xo_typed_and_reordered();
	test_vm_record();
	test_refused();
	return CHECK_DONE();
}
