/* Guest device names and safe, unique labels. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "xvafs/names.h"

static void test_safe_name(void)
{
	char long_label[400];
	char *n;

	CHECK(xva_safe_name("") == NULL);
	n = xva_safe_name("a/b\nc");
	CHECK(n && strcmp(n, "a_b_c") == 0);
	free(n);
	n = xva_safe_name("..");
	CHECK(n && strcmp(n, "__") == 0);
	free(n);
	n = xva_safe_name("données système");
	CHECK(n && strcmp(n, "données système") == 0);
	free(n);
	/* 199 ASCII bytes then a two-byte character: cut before it. */
	memset(long_label, 'x', 199);
	strcpy(long_label + 199, "é and more");
	n = xva_safe_name(long_label);
	CHECK(n && strlen(n) == 199);
	free(n);
}

static struct xva_disk disk(const char *prefix)
{
	struct xva_disk d;

	memset(&d, 0, sizeof(d));
	d.prefix = (char *)prefix;
	return d;
}

static void test_devices_and_labels(void)
{
	struct xva_ova_vm vms[] = {
		{ .id = (char *)"Ref:vm", .name_label = (char *)"web" },
		{ .id = (char *)"Ref:snap", .name_label = (char *)"web snapshot",
		  .is_a_snapshot = true },
	};
	/* userdevice 4 and 0, no device field: Xen names them by number,
	 * xvda for 0 and xvde for 4 (the CD at 3 takes no name). */
	struct xva_ova_vbd vbds[] = {
		{ (char *)"Ref:b1", (char *)"Ref:vm", (char *)"Ref:20", (char *)"4",
		  (char *)"", (char *)"Disk", (char *)"RW", false, false },
		{ (char *)"Ref:b2", (char *)"Ref:vm", (char *)"Ref:10", (char *)"0",
		  (char *)"", (char *)"Disk", (char *)"RW", true, false },
		{ (char *)"Ref:b3", (char *)"Ref:vm", (char *)"OpaqueRef:NULL",
		  (char *)"3", (char *)"", (char *)"CD", (char *)"RO", false, true },
		{ (char *)"Ref:b4", (char *)"Ref:snap", (char *)"Ref:30", (char *)"0",
		  (char *)"", (char *)"Disk", (char *)"RW", false, false },
	};
	struct xva_ova_vdi vdis[] = {
		{ (char *)"Ref:10", NULL, (char *)"disk", NULL, NULL, NULL, 1, true, false },
		{ (char *)"Ref:20", NULL, (char *)"disk", NULL, NULL, NULL, 1, true, false },
		{ (char *)"Ref:30", NULL, (char *)"a/b", NULL, NULL, NULL, 1, true, false },
	};
	struct xva_ovaxml ova = { .vms = vms, .vbds = vbds, .vdis = vdis,
				  .n_vms = 2, .n_vbds = 4, .n_vdis = 3 };
	struct xva_disk disks[] = { disk("Ref:10"), disk("Ref:20"), disk("Ref:30") };
	struct xva_diskmap map = { disks, 3, 3, NULL };
	struct xva_disk_names *names = NULL;
	struct xva_err err;

	CHECK(xva_names_build(&ova, &map, &names, &err) == XVA_OK);
	if (!names)
		return;
	CHECK(names[0].device && strcmp(names[0].device, "xvda") == 0);
	CHECK(names[1].device && strcmp(names[1].device, "xvde") == 0);
	CHECK(names[2].device == NULL); /* a snapshot's disk */
	CHECK(names[0].label && strcmp(names[0].label, "disk") == 0);
	CHECK(names[1].label && strcmp(names[1].label, "disk~2") == 0);
	CHECK(names[2].label && strcmp(names[2].label, "a_b") == 0);
	CHECK(names[0].vbd == &vbds[1] && names[0].vm == &vms[0]);
	xva_names_free(names, 3);

	/* A device field, where set, is what the guest saw: it is used. */
	vbds[0].device = (char *)"xvdq";
	CHECK(xva_names_build(&ova, &map, &names, &err) == XVA_OK);
	CHECK(names && strcmp(names[0].device, "xvda") == 0 &&
	      strcmp(names[1].device, "xvdq") == 0);
	xva_names_free(names, 3);
	vbds[1].device = (char *)"xvdp";
	CHECK(xva_names_build(&ova, &map, &names, &err) == XVA_OK);
	CHECK(names && strcmp(names[0].device, "xvdp") == 0 &&
	      strcmp(names[1].device, "xvdq") == 0);
	xva_names_free(names, 3);

	/* Without ova.xml, nothing has a name. */
	CHECK(xva_names_build(NULL, &map, &names, &err) == XVA_OK);
	CHECK(names && !names[0].device && !names[0].label);
	xva_names_free(names, 3);
}

/* Found by fuzzing: a Disk VBD without a VM field and without a device
 * was taken to be "named" and its NULL device dereferenced. */
static void test_vbd_without_vm(void)
{
	struct xva_ova_vbd vbd = { (char *)"Ref:b", NULL, (char *)"Ref:10", NULL,
				   NULL, (char *)"Disk", NULL, false, false };
	struct xva_ovaxml ova = { .vbds = &vbd, .n_vbds = 1 };
	struct xva_disk disks[] = { disk("Ref:10") };
	struct xva_diskmap map = { disks, 1, 1, NULL };
	struct xva_disk_names *names = NULL;
	struct xva_err err;

	/* Neither a device nor a userdevice: no guest name to give. */
	CHECK(xva_names_build(&ova, &map, &names, &err) == XVA_OK);
	CHECK(names && names[0].device == NULL);
	xva_names_free(names, 1);
	CHECK(xva_safe_name(NULL) == NULL);
}

/* Xen's names for userdevice numbers past z count on in letters, as
 * Linux's blkfront and XAPI's device-number rules do; what is not a
 * number gives no name. */
static void test_userdevice_numbers(void)
{
	static const struct { const char *userdevice, *device; } cases[] = {
		{ "0", "xvda" }, { "1", "xvdb" }, { "3", "xvdd" },
		{ "25", "xvdz" }, { "26", "xvdaa" }, { "27", "xvdab" },
		{ "51", "xvdaz" }, { "52", "xvdba" }, { "701", "xvdzz" },
		{ "702", "xvdaaa" }, { "autodetect", NULL }, { "-1", NULL },
		{ "4x", NULL }, { "99999999999999999999", NULL },
	};
	struct xva_disk disks[] = { disk("Ref:10") };
	struct xva_diskmap map = { disks, 1, 1, NULL };
	struct xva_ova_vm vm = { .id = (char *)"Ref:vm", .name_label = (char *)"web" };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xva_ova_vbd vbd = { (char *)"Ref:b", (char *)"Ref:vm",
					   (char *)"Ref:10",
					   (char *)cases[i].userdevice, NULL,
					   (char *)"Disk", NULL, false, false };
		struct xva_ovaxml ova = { .vms = &vm, .vbds = &vbd, .n_vms = 1,
					  .n_vbds = 1 };
		struct xva_disk_names *names = NULL;
		struct xva_err err;

		CHECK(xva_names_build(&ova, &map, &names, &err) == XVA_OK);
		CHECK_MSG(names && (cases[i].device
				    ? names[0].device &&
				      strcmp(names[0].device, cases[i].device) == 0
				    : names[0].device == NULL),
			  "userdevice %s: %s", cases[i].userdevice,
			  names && names[0].device ? names[0].device : "none");
		xva_names_free(names, 1);
	}
}

int main(void)
{
	test_vbd_without_vm();
	test_safe_name();
	test_devices_and_labels();
	test_userdevice_numbers();
	return CHECK_DONE();
}
