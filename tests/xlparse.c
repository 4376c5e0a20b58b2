/* xlparse: reads an xl domain configuration with Xen's own parser
 * (libxlutil, as xl create does) and prints what it holds, one
 * "key=value" per line, with C escapes for anything unprintable:
 *
 *   name=web01
 *   memory=2048
 *   disk0.vdev=xvda
 *   disk0.target=/mnt/xva/by-device/xvda
 *   vif0=mac=..., bridge=xenbr0
 *
 * so a test compares fields instead of text. Disk specs go through
 * xlu_disk_parse, the parser xl uses; vif specs are split at commas as
 * xl does. Exit 1 when the file does not parse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h>
#include <libxlutil.h>

static void put_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20 || c == 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static void string_key(XLU_Config *cfg, const char *key)
{
	const char *value;

	if (xlu_cfg_get_string(cfg, key, &value, 0) == 0) {
		printf("%s=", key);
		put_escaped(value);
		putchar('\n');
	}
}

static void long_key(XLU_Config *cfg, const char *key)
{
	long value;

	if (xlu_cfg_get_long(cfg, key, &value, 0) == 0)
		printf("%s=%ld\n", key, value);
}

static void list_key(XLU_Config *cfg, const char *key)
{
	XLU_ConfigList *list;
	int n;

	if (xlu_cfg_get_list(cfg, key, &list, &n, 0) != 0)
		return;
	for (int i = 0; i < n; i++) {
		printf("%s%d=", key, i);
		put_escaped(xlu_cfg_get_listitem(list, i));
		putchar('\n');
	}
}

static int disks(XLU_Config *cfg)
{
	XLU_ConfigList *list;
	int n;

	if (xlu_cfg_get_list(cfg, "disk", &list, &n, 0) != 0)
		return 0;
	for (int i = 0; i < n; i++) {
		const char *spec = xlu_cfg_get_listitem(list, i);
		libxl_device_disk disk;

		libxl_device_disk_init(&disk);
		if (!spec || xlu_disk_parse(cfg, 1, &spec, &disk) != 0) {
			fprintf(stderr, "xlparse: disk %d does not parse: %s\n",
				i, spec ? spec : "(not a string)");
			libxl_device_disk_dispose(&disk);
			return 1;
		}
		printf("disk%d.vdev=%s\ndisk%d.target=", i,
		       disk.vdev ? disk.vdev : "", i);
		put_escaped(disk.pdev_path ? disk.pdev_path : "");
		printf("\ndisk%d.format=%s\ndisk%d.access=%s\ndisk%d.cdrom=%d\n",
		       i, libxl_disk_format_to_string(disk.format), i,
		       disk.readwrite ? "rw" : "ro", i, disk.is_cdrom);
		libxl_device_disk_dispose(&disk);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const strings[] = {
		"name", "uuid", "type", "bios", "boot", "vga", "bootloader",
		"kernel", "ramdisk", "extra", NULL,
	};
	static const char *const longs[] = {
		"memory", "maxmem", "vcpus", "maxvcpus", "acpi", "apic", "pae",
		"nx", "hpet", "rtc_timeoffset", "videoram", "usb", "pvshim",
		NULL,
	};
	static const char *const lists[] = {
		"vif", "bootloader_args", "usbdevice", NULL,
	};
	XLU_Config *cfg;
	const char *viridian;
	int rc;

	if (argc != 2) {
		fputs("usage: xlparse FILE\n", stderr);
		return 2;
	}
	cfg = xlu_cfg_init(stderr, argv[1]);
	if (!cfg || xlu_cfg_readfile(cfg, argv[1]) != 0) {
		fprintf(stderr, "xlparse: %s does not parse\n", argv[1]);
		if (cfg)
			xlu_cfg_destroy(cfg);
		return 1;
	}
	for (size_t i = 0; strings[i]; i++)
		string_key(cfg, strings[i]);
	for (size_t i = 0; longs[i]; i++)
		long_key(cfg, longs[i]);
	for (size_t i = 0; lists[i]; i++)
		list_key(cfg, lists[i]);
	/* viridian is a boolean or a list of groups. */
	if (xlu_cfg_get_string(cfg, "viridian", &viridian, 1) == 0)
		printf("viridian=%s\n", viridian);
	else
		list_key(cfg, "viridian");
	rc = disks(cfg);
	xlu_cfg_destroy(cfg);
	return rc;
}
