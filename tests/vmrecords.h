/* Realistic ova.xml documents with a full VM record, for mkxva --vm and
 * the VM unit test: field names and value formats as XAPI's export writes
 * them (untyped strings and numbers, <boolean>0</boolean>, maps as
 * structs of strings, reference lists as arrays, objects in XAPI's order:
 * VMs, VBDs, VIFs, networks, VDIs, SRs), or Xen Orchestra's (typed
 * <string>s, class after snapshot, userdevice from 1, device xvda...).
 *
 * Header-only so that both programs stay standalone. */
#ifndef XVAFS_TEST_VMRECORDS_H
#define XVAFS_TEST_VMRECORDS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One VM as a XenServer would hold it. */
struct vmrec_profile {
	const char *profile;     /* mkxva --vm NAME */
	const char *name, *description, *uuid;
	const char *domain_type, *hvm_boot_policy, *order, *firmware;
	const char *pv_bootloader, *pv_args;
	unsigned long long memory_static_max, memory_dynamic_max;
	unsigned vcpus_max, vcpus_at_startup;
	const char *platform;    /* "key=value;key=value" */
	const char *other_config;
	bool nvram, has_vendor_device;
};

#define GIB (1024ULL * 1024 * 1024)

static const struct vmrec_profile vmrec_profiles[] = {
	{ "hvm-bios", "web01", "Debian 12 web server",
	  "2f1c8a3e-5b7d-4e21-9c0a-6d3e8f1b2a47", "hvm", "BIOS order", "cdn",
	  "bios", "", "", 4 * GIB, 2 * GIB, 4, 2,
	  "timeoffset=0;device-model=qemu-upstream-compat;secureboot=false;"
	  "viridian=false;nx=true;acpi=1;apic=true;pae=true;hpet=true;"
	  "vga=std;videoram=8;cores-per-socket=2",
	  "base_template_name=Debian Bookworm 12;"
	  "mac_seed=8f3b3c55-2a8f-6b0e-3d7c-0b6c1f4e9a21;"
	  "install-methods=cdrom,nfs,http,ftp;linux_template=true",
	  false, false },
	{ "hvm-uefi", "db01", "PostgreSQL 15, UEFI with Secure Boot",
	  "7a9d0c61-3f42-4b8e-a1d5-2c6e9b0f4d13", "hvm", "BIOS order", "dc",
	  "uefi", "", "", 8 * GIB, 8 * GIB, 4, 4,
	  "timeoffset=0;device-model=qemu-upstream-uefi;secureboot=true;"
	  "viridian=false;nx=true;acpi=1;apic=true;pae=true;hpet=true;"
	  "vga=std;videoram=8",
	  "base_template_name=Rocky Linux 9;"
	  "mac_seed=1d0e6f2a-9b3c-4c7d-8e1f-5a2b3c4d5e6f",
	  true, false },
	{ "pv-pygrub", "legacy01", "CentOS 6 application server (PV)",
	  "c3b5e7f9-1a2b-4c3d-9e4f-5a6b7c8d9e0f", "pv", "", "", "",
	  "pygrub", "console=hvc0 quiet", 1 * GIB, 1 * GIB, 2, 2,
	  "acpi=1;apic=true;nx=true;pae=true;viridian=false",
	  "base_template_name=CentOS 6 (64-bit);"
	  "mac_seed=0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
	  false, false },
	{ "windows", "win2019", "Windows Server 2019 file server",
	  "e8d7c6b5-a4f3-4e2d-b1c0-9f8e7d6c5b4a", "hvm", "BIOS order", "cd",
	  "bios", "", "", 6 * GIB, 6 * GIB, 4, 4,
	  "timeoffset=3600;device-model=qemu-upstream-compat;device_id=0002;"
	  "viridian=true;viridian_reference_tsc=true;"
	  "viridian_time_ref_count=true;viridian_apic_assist=true;"
	  "viridian_crash_ctl=true;viridian_stimer=true;nx=true;acpi=1;"
	  "apic=true;pae=true;hpet=true;vga=std;videoram=8;usb=true;"
	  "usb_tablet=true;secureboot=false",
	  "base_template_name=Windows Server 2019 (64-bit);"
	  "mac_seed=9e8d7c6b-5a4f-3e2d-1c0b-a9f8e7d6c5b4",
	  false, true },
	{ NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0,
	  0, 0, NULL, NULL, false, false },
};

static inline const struct vmrec_profile *vmrec_find(const char *profile)
{
	for (const struct vmrec_profile *p = vmrec_profiles; p->profile; p++)
		if (strcmp(p->profile, profile) == 0)
			return p;
	return NULL;
}

/* The networks VIF i is on, in turn. */
struct vmrec_network {
	const char *name, *bridge;
	unsigned mtu;
};

static const struct vmrec_network vmrec_networks[] = {
	{ "Pool-wide network associated with eth0", "xenbr0", 1500 },
	{ "Storage VLAN 20 (jumbo frames)", "xapi1", 9000 },
	{ "Pool-wide network associated with eth1", "xenbr1", 1500 },
};
#define VMREC_N_NETWORKS 3

struct vmrec_disk {
	const char *vdi_id, *label;
	unsigned long long virtual_size;
	unsigned userdevice;
};

struct vmrec_opts {
	const struct vmrec_profile *profile;
	const char *name;        /* replaces the profile's name if set */
	bool xo;                 /* Xen Orchestra style */
	bool with_snapshot;      /* a snapshot VM object, first in the list */
	bool cd_iso;             /* the CD drive holds an ISO (no data) */
	unsigned cd_userdevice;  /* 3 by convention */
	unsigned n_vifs;
	const struct vmrec_disk *disks;
	size_t n_disks;
	const char *nvram;       /* EFI-variables (base64) instead of the
				    profile's stand-in */
	const char *vtpm;        /* a VTPM object with this content */
	const char *platform_add; /* "k=v;k=v" after the profile's platform */
};

struct vmrec_buf {
	char *s;
	size_t len, cap;
};

static void vmrec_put(struct vmrec_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vmrec_put(struct vmrec_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL,
			      b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if (b->s && b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
	b->len += (size_t)n;
}

static void vmrec_escaped(struct vmrec_buf *b, const char *text)
{
	for (; *text; text++) {
		switch (*text) {
		case '&': vmrec_put(b, "&amp;"); break;
		case '<': vmrec_put(b, "&lt;"); break;
		case '>': vmrec_put(b, "&gt;"); break;
		case '"': vmrec_put(b, "&quot;"); break;
		default: vmrec_put(b, "%c", *text);
		}
	}
}

/* A string member: untyped (XAPI) or <string> (XO). */
static void vmrec_str(struct vmrec_buf *b, bool xo, const char *name,
		      const char *value)
{
	vmrec_put(b, "<member><name>%s</name><value>%s", name, xo ? "<string>" : "");
	vmrec_escaped(b, value);
	vmrec_put(b, "%s</value></member>", xo ? "</string>" : "");
}

static void vmrec_num(struct vmrec_buf *b, const char *name,
		      unsigned long long value)
{
	vmrec_put(b, "<member><name>%s</name><value>%llu</value></member>",
		  name, value);
}

static void vmrec_bool(struct vmrec_buf *b, const char *name, bool value)
{
	vmrec_put(b, "<member><name>%s</name><value><boolean>%d</boolean>"
		  "</value></member>", name, value);
}

/* A map from "k=v;k=v" (a value may hold ',' but not ';'). */
static void vmrec_map(struct vmrec_buf *b, bool xo, const char *name,
		      const char *pairs)
{
	const char *p = pairs;

	vmrec_put(b, "<member><name>%s</name><value><struct>", name);
	while (p && *p) {
		size_t len = strcspn(p, ";");
		const char *eq = memchr(p, '=', len);
		char key[128], value[512];

		if (eq) {
			snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
			snprintf(value, sizeof(value), "%.*s",
				 (int)(len - (size_t)(eq - p) - 1), eq + 1);
			vmrec_str(b, xo, key, value);
		}
		p += len + (p[len] == ';');
	}
	vmrec_put(b, "</struct></value></member>");
}

static void vmrec_refs(struct vmrec_buf *b, const char *name,
		       const char *prefix, unsigned first, size_t n)
{
	vmrec_put(b, "<member><name>%s</name><value><array><data>", name);
	for (size_t i = 0; i < n; i++)
		vmrec_put(b, "<value>%s%zu</value>", prefix, first + i);
	vmrec_put(b, "</data></array></value></member>");
}

static void vmrec_empty_array(struct vmrec_buf *b, const char *name)
{
	vmrec_put(b, "<member><name>%s</name><value><array><data/></array>"
		  "</value></member>", name);
}

static void vmrec_object(struct vmrec_buf *b, bool xo, const char *cls,
			 const char *id, const struct vmrec_buf *snapshot)
{
	vmrec_put(b, "<value><struct>");
	if (!xo)
		vmrec_str(b, xo, "class", cls);
	vmrec_str(b, xo, "id", id);
	vmrec_put(b, "<member><name>snapshot</name><value><struct>%s</struct>"
		  "</value></member>", snapshot->s ? snapshot->s : "");
	if (xo)
		vmrec_str(b, xo, "class", cls);
	vmrec_put(b, "</struct></value>");
}

/* Object ids: the VM Ref:1000, its snapshot Ref:1001, VBDs Ref:2000+,
 * VIFs Ref:4000+, networks Ref:5000+, the ISO VDI Ref:2999, SRs
 * Ref:3000 (disks) and Ref:3001 (ISOs). */
static void vmrec_vm(struct vmrec_buf *b, const struct vmrec_opts *o,
		     bool snapshot)
{
	const struct vmrec_profile *p = o->profile;
	struct vmrec_buf s = { 0 };
	char name[512];

	snprintf(name, sizeof(name), "%s%s", o->name ? o->name : p->name,
		 snapshot ? " (before upgrade)" : "");
	vmrec_str(&s, o->xo, "uuid", snapshot
		  ? "00000000-1111-4222-8333-444444444444" : p->uuid);
	vmrec_empty_array(&s, "allowed_operations");
	vmrec_put(&s, "<member><name>current_operations</name><value><struct/>"
		  "</value></member>");
	vmrec_str(&s, o->xo, "power_state", "Halted");
	vmrec_str(&s, o->xo, "name_label", name);
	vmrec_str(&s, o->xo, "name_description", p->description);
	vmrec_num(&s, "user_version", 1);
	vmrec_bool(&s, "is_a_template", false);
	vmrec_bool(&s, "is_default_template", false);
	vmrec_str(&s, o->xo, "suspend_VDI", "OpaqueRef:NULL");
	vmrec_str(&s, o->xo, "resident_on", "OpaqueRef:NULL");
	vmrec_str(&s, o->xo, "affinity", "OpaqueRef:NULL");
	vmrec_num(&s, "memory_overhead", 41943040);
	vmrec_num(&s, "memory_target", 0);
	vmrec_num(&s, "memory_static_max", p->memory_static_max);
	vmrec_num(&s, "memory_dynamic_max", p->memory_dynamic_max);
	vmrec_num(&s, "memory_dynamic_min", p->memory_dynamic_max);
	vmrec_num(&s, "memory_static_min", 512ULL << 20);
	vmrec_map(&s, o->xo, "VCPUs_params", "");
	vmrec_num(&s, "VCPUs_max", p->vcpus_max);
	vmrec_num(&s, "VCPUs_at_startup", p->vcpus_at_startup);
	vmrec_str(&s, o->xo, "actions_after_shutdown", "destroy");
	vmrec_str(&s, o->xo, "actions_after_reboot", "restart");
	vmrec_str(&s, o->xo, "actions_after_crash", "restart");
	vmrec_empty_array(&s, "consoles");
	if (snapshot) {
		vmrec_empty_array(&s, "VIFs");
		vmrec_empty_array(&s, "VBDs");
	} else {
		vmrec_refs(&s, "VIFs", "Ref:", 4000, o->n_vifs);
		vmrec_refs(&s, "VBDs", "Ref:", 2000, o->n_disks + 1);
	}
	vmrec_empty_array(&s, "VUSBs");
	vmrec_empty_array(&s, "crash_dumps");
	if (o->vtpm && !snapshot)
		vmrec_refs(&s, "VTPMs", "Ref:", 6000, 1);
	else
		vmrec_empty_array(&s, "VTPMs");
	vmrec_str(&s, o->xo, "PV_bootloader", p->pv_bootloader);
	vmrec_str(&s, o->xo, "PV_kernel", "");
	vmrec_str(&s, o->xo, "PV_ramdisk", "");
	vmrec_str(&s, o->xo, "PV_args", p->pv_args);
	vmrec_str(&s, o->xo, "PV_bootloader_args", "");
	vmrec_str(&s, o->xo, "PV_legacy_args", "");
	vmrec_str(&s, o->xo, "HVM_boot_policy", p->hvm_boot_policy);
	if (p->order[0]) {
		char params[64];

		snprintf(params, sizeof(params), "order=%s;firmware=%s",
			 p->order, p->firmware);
		vmrec_map(&s, o->xo, "HVM_boot_params", params);
	} else {
		vmrec_map(&s, o->xo, "HVM_boot_params", "");
	}
	vmrec_put(&s, "<member><name>HVM_shadow_multiplier</name><value>"
		  "<double>1</double></value></member>");
	if (o->platform_add) {
		size_t n = strlen(p->platform) + strlen(o->platform_add) + 2;
		char *platform = malloc(n);

		if (!platform)
			abort();
		snprintf(platform, n, "%s;%s", p->platform, o->platform_add);
		vmrec_map(&s, o->xo, "platform", platform);
		free(platform);
	} else {
		vmrec_map(&s, o->xo, "platform", p->platform);
	}
	vmrec_str(&s, o->xo, "PCI_bus", "");
	vmrec_map(&s, o->xo, "other_config", p->other_config);
	vmrec_put(&s, "<member><name>domid</name><value>-1</value></member>");
	vmrec_str(&s, o->xo, "domarch", "");
	vmrec_map(&s, o->xo, "last_boot_CPU_flags", "");
	vmrec_bool(&s, "is_control_domain", false);
	vmrec_str(&s, o->xo, "metrics", "OpaqueRef:NULL");
	vmrec_str(&s, o->xo, "guest_metrics", "OpaqueRef:NULL");
	vmrec_str(&s, o->xo, "last_booted_record", "");
	vmrec_str(&s, o->xo, "recommendations",
		  "<restrictions><restriction field=\"memory-static-max\" "
		  "max=\"1649267441664\"/><restriction field=\"vcpus-max\" "
		  "max=\"32\"/></restrictions>");
	vmrec_map(&s, o->xo, "xenstore_data", "");
	vmrec_bool(&s, "ha_always_run", false);
	vmrec_str(&s, o->xo, "ha_restart_priority", "");
	vmrec_bool(&s, "is_a_snapshot", snapshot);
	vmrec_str(&s, o->xo, "snapshot_of", snapshot ? "Ref:1000"
						      : "OpaqueRef:NULL");
	if (snapshot)
		vmrec_empty_array(&s, "snapshots");
	else if (o->with_snapshot)
		vmrec_refs(&s, "snapshots", "Ref:", 1001, 1);
	else
		vmrec_empty_array(&s, "snapshots");
	vmrec_put(&s, "<member><name>snapshot_time</name><value>"
		  "<dateTime.iso8601>%s</dateTime.iso8601></value></member>",
		  snapshot ? "20261120T03:00:00Z" : "19700101T00:00:00Z");
	vmrec_str(&s, o->xo, "transportable_snapshot_id", "");
	vmrec_map(&s, o->xo, "blobs", "");
	vmrec_empty_array(&s, "tags");
	vmrec_map(&s, o->xo, "blocked_operations", "");
	vmrec_map(&s, o->xo, "bios_strings", "bios-vendor=Xen;bios-version=;"
		  "system-manufacturer=Xen;system-product-name=HVM domU");
	vmrec_str(&s, o->xo, "parent", "OpaqueRef:NULL");
	vmrec_empty_array(&s, "children");
	vmrec_empty_array(&s, "VGPUs");
	vmrec_empty_array(&s, "attached_PCIs");
	vmrec_str(&s, o->xo, "suspend_SR", "OpaqueRef:NULL");
	vmrec_num(&s, "version", 0);
	vmrec_str(&s, o->xo, "generation_id", "");
	vmrec_num(&s, "hardware_platform_version", 0);
	vmrec_bool(&s, "has_vendor_device", p->has_vendor_device);
	vmrec_bool(&s, "requires_reboot", false);
	vmrec_str(&s, o->xo, "reference_label", "");
	vmrec_str(&s, o->xo, "domain_type", p->domain_type);
	if (o->nvram && !snapshot) {
		/* Longer than vmrec_map's values. */
		vmrec_put(&s, "<member><name>NVRAM</name><value><struct>");
		vmrec_str(&s, o->xo, "EFI-variables", o->nvram);
		vmrec_put(&s, "</struct></value></member>");
	} else if (p->nvram)
		vmrec_map(&s, o->xo, "NVRAM", "EFI-variables=AAAAAAAAAAAAAAAA"
			  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			  "VUVGSSB2YXJpYWJsZXMgb2YgYSBndWVzdAo=");
	else
		vmrec_map(&s, o->xo, "NVRAM", "");
	vmrec_object(b, o->xo, "VM", snapshot ? "Ref:1001" : "Ref:1000", &s);
	free(s.s);
}

/* The whole ova.xml; malloc'ed. */
static char *vmrec_ova_xml(const struct vmrec_opts *o)
{
	struct vmrec_buf b = { 0 }, s = { 0 };
	char id[32], value[64];

	vmrec_put(&b, "<value><struct><member><name>version</name><value>"
		  "<struct>");
	vmrec_str(&b, o->xo, "hostname", "xcp-host-01");
	vmrec_str(&b, o->xo, "date", "2026-11-25");
	vmrec_str(&b, o->xo, "product_version", "8.2.1");
	vmrec_str(&b, o->xo, "product_brand", o->xo ? "XCP-ng" : "XCP-ng");
	vmrec_str(&b, o->xo, "build_number", "release/yangtze/master/58");
	vmrec_num(&b, "xapi_major", 1);
	vmrec_num(&b, "xapi_minor", 20);
	vmrec_num(&b, "export_vsn", 2);
	vmrec_put(&b, "</struct></value></member><member><name>objects</name>"
		  "<value><array><data>");
	/* The snapshot first: a reader that takes the first VM is wrong. */
	if (o->with_snapshot)
		vmrec_vm(&b, o, true);
	vmrec_vm(&b, o, false);

	for (size_t i = 0; i <= o->n_disks; i++) {
		bool cd = i == o->n_disks;
		unsigned userdevice = cd ? o->cd_userdevice : o->disks[i].userdevice;

		s.len = 0;
		if (s.s)
			s.s[0] = '\0';
		snprintf(value, sizeof(value), "%08zx-aaaa-4bbb-8ccc-%012zx", i, i);
		vmrec_str(&s, o->xo, "uuid", value);
		vmrec_empty_array(&s, "allowed_operations");
		vmrec_map(&s, o->xo, "current_operations", "");
		vmrec_str(&s, o->xo, "VM", "Ref:1000");
		vmrec_str(&s, o->xo, "VDI", cd ? (o->cd_iso ? "Ref:2999"
							    : "OpaqueRef:NULL")
					       : o->disks[i].vdi_id);
		if (o->xo) /* XO: xvda, xvdb, ... in its own order */
			snprintf(value, sizeof(value), "xvd%c",
				 (char)('a' + (i < 25 ? i : 25)));
		vmrec_str(&s, o->xo, "device", o->xo ? value : "");
		snprintf(value, sizeof(value), "%u", userdevice);
		vmrec_str(&s, o->xo, "userdevice", value);
		vmrec_bool(&s, "bootable", !cd && i == 0);
		vmrec_str(&s, o->xo, "mode", cd ? "RO" : "RW");
		vmrec_str(&s, o->xo, "type", cd ? "CD" : "Disk");
		vmrec_bool(&s, "unpluggable", cd);
		vmrec_bool(&s, "storage_lock", false);
		vmrec_bool(&s, "empty", cd && !o->cd_iso);
		vmrec_map(&s, o->xo, "other_config", cd ? "" : "owner=");
		vmrec_bool(&s, "currently_attached", false);
		vmrec_num(&s, "status_code", 0);
		vmrec_str(&s, o->xo, "status_detail", "");
		vmrec_map(&s, o->xo, "runtime_properties", "");
		vmrec_str(&s, o->xo, "qos_algorithm_type", "");
		vmrec_map(&s, o->xo, "qos_algorithm_params", "");
		vmrec_empty_array(&s, "qos_supported_algorithms");
		vmrec_str(&s, o->xo, "metrics", "OpaqueRef:NULL");
		snprintf(id, sizeof(id), "Ref:%zu", 2000 + i);
		vmrec_object(&b, o->xo, "VBD", id, &s);
	}
	for (unsigned i = 0; i < o->n_vifs; i++) {
		const struct vmrec_network *net = &vmrec_networks[i % VMREC_N_NETWORKS];

		s.len = 0;
		if (s.s)
			s.s[0] = '\0';
		snprintf(value, sizeof(value), "%08x-dddd-4eee-8fff-%012x", i, i);
		vmrec_str(&s, o->xo, "uuid", value);
		snprintf(value, sizeof(value), "%u", i + (o->xo ? 1 : 0));
		vmrec_str(&s, o->xo, "device", value);
		snprintf(id, sizeof(id), "Ref:%u", 5000 + i % VMREC_N_NETWORKS);
		vmrec_str(&s, o->xo, "network", id);
		vmrec_str(&s, o->xo, "VM", "Ref:1000");
		/* XAPI writes upper-case hex only when a user typed it so. */
		snprintf(value, sizeof(value), i % 2 ? "B6:4E:9C:21:7D:%02X"
						      : "b6:4e:9c:21:7d:%02x",
			 i + 1);
		vmrec_str(&s, o->xo, "MAC", value);
		vmrec_num(&s, "MTU", net->mtu);
		vmrec_bool(&s, "MAC_autogenerated", true);
		vmrec_map(&s, o->xo, "other_config", "");
		vmrec_bool(&s, "currently_attached", false);
		vmrec_str(&s, o->xo, "locking_mode", "network_default");
		vmrec_empty_array(&s, "ipv4_allowed");
		vmrec_empty_array(&s, "ipv6_allowed");
		vmrec_str(&s, o->xo, "ipv4_configuration_mode", "None");
		vmrec_str(&s, o->xo, "metrics", "OpaqueRef:NULL");
		snprintf(id, sizeof(id), "Ref:%u", 4000 + i);
		vmrec_object(&b, o->xo, "VIF", id, &s);
	}
	for (unsigned i = 0; i < VMREC_N_NETWORKS && i < o->n_vifs; i++) {
		const struct vmrec_network *net = &vmrec_networks[i];

		s.len = 0;
		if (s.s)
			s.s[0] = '\0';
		snprintf(value, sizeof(value), "%08x-1234-4567-89ab-%012x", i, i);
		vmrec_str(&s, o->xo, "uuid", value);
		vmrec_str(&s, o->xo, "name_label", net->name);
		vmrec_str(&s, o->xo, "name_description", "");
		vmrec_empty_array(&s, "allowed_operations");
		vmrec_refs(&s, "VIFs", "Ref:", 4000 + i, 1);
		vmrec_empty_array(&s, "PIFs");
		vmrec_num(&s, "MTU", net->mtu);
		vmrec_map(&s, o->xo, "other_config", "automatic=true");
		vmrec_str(&s, o->xo, "bridge", net->bridge);
		vmrec_bool(&s, "managed", true);
		vmrec_map(&s, o->xo, "blobs", "");
		vmrec_empty_array(&s, "tags");
		vmrec_str(&s, o->xo, "default_locking_mode", "unlocked");
		snprintf(id, sizeof(id), "Ref:%u", 5000 + i);
		vmrec_object(&b, o->xo, "network", id, &s);
	}
	if (o->vtpm) {
		/* As XAPI's export writes a VTPM: a record made by hand, the
		 * TPM's state in content. */
		s.len = 0;
		if (s.s)
			s.s[0] = '\0';
		vmrec_str(&s, o->xo, "VM", "Ref:1000");
		vmrec_str(&s, o->xo, "uuid", "5e1d2c3b-4a59-4687-9a6b-7c8d9e0f1a2b");
		vmrec_bool(&s, "is_unique", false);
		vmrec_bool(&s, "is_protected", false);
		vmrec_str(&s, o->xo, "content", o->vtpm);
		vmrec_object(&b, o->xo, "VTPM", "Ref:6000", &s);
	}
	for (size_t i = 0; i <= o->n_disks; i++) {
		bool cd = i == o->n_disks;

		if (cd && !o->cd_iso)
			break;
		s.len = 0;
		if (s.s)
			s.s[0] = '\0';
		snprintf(value, sizeof(value), "%08zx-0000-4000-8000-%012zx", i, i);
		vmrec_str(&s, o->xo, "uuid", value);
		vmrec_str(&s, o->xo, "name_label", cd ? "debian-12.8.0-amd64-netinst.iso"
						      : o->disks[i].label);
		vmrec_str(&s, o->xo, "name_description", cd ? "" : "made by mkxva");
		vmrec_str(&s, o->xo, "SR", cd ? "Ref:3001" : "Ref:3000");
		snprintf(value, sizeof(value), "%llu", cd ? 658505728ULL
			 : o->disks[i].virtual_size);
		vmrec_str(&s, o->xo, "virtual_size", value);
		vmrec_str(&s, o->xo, "type", "user");
		vmrec_bool(&s, "sharable", false);
		vmrec_bool(&s, "read_only", cd);
		vmrec_bool(&s, "is_a_snapshot", false);
		vmrec_map(&s, o->xo, "sm_config", cd ? "" : "vdi_type=vhd");
		vmrec_object(&b, o->xo, "VDI", cd ? "Ref:2999" : o->disks[i].vdi_id,
			     &s);
	}
	s.len = 0;
	if (s.s)
		s.s[0] = '\0';
	vmrec_str(&s, o->xo, "name_label", "Local storage");
	vmrec_str(&s, o->xo, "content_type", "user");
	vmrec_str(&s, o->xo, "type", "ext");
	vmrec_object(&b, o->xo, "SR", "Ref:3000", &s);
	if (o->cd_iso) {
		s.len = 0;
		s.s[0] = '\0';
		vmrec_str(&s, o->xo, "name_label", "ISO library");
		vmrec_str(&s, o->xo, "content_type", "iso");
		vmrec_str(&s, o->xo, "type", "iso");
		vmrec_object(&b, o->xo, "SR", "Ref:3001", &s);
	}
	vmrec_put(&b, "</data></array></value></member></struct></value>");
	free(s.s);
	return b.s;
}

#endif
