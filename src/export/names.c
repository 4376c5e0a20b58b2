#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xvafs/names.h"
#include "xvafs/number.h"

#define NAME_MAX_BYTES 200

char *xva_safe_name(const char *text)
{
	size_t len = text ? strlen(text) : 0;
	char *name;

	if (len == 0)
		return NULL;
	if (len > NAME_MAX_BYTES) {
		len = NAME_MAX_BYTES;
		/* Back up over UTF-8 continuation bytes. */
		while (len > 0 && ((unsigned char)text[len] & 0xC0) == 0x80)
			len--;
	}
	name = malloc(len + 2);
	if (!name)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		name[i] = (c == '/' || c < 0x20 || c == 0x7f) ? '_' : (char)c;
	}
	name[len] = '\0';
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		memset(name, '_', len);
	return name;
}

static bool is_disk_vbd(const struct xva_ova_vbd *vbd)
{
	return vbd->type && strcasecmp(vbd->type, "Disk") == 0 && !vbd->empty;
}

static const struct xva_ova_vm *find_vm(const struct xva_ovaxml *ova,
					const char *id)
{
	for (size_t i = 0; id && i < ova->n_vms; i++)
		if (strcmp(ova->vms[i].id, id) == 0)
			return &ova->vms[i];
	return NULL;
}

/* The Linux name Xen gives disk number N: xvda .. xvdz, then xvdaa ..
 * xvdzz, xvdaaa .. (the letters count in bijective base 26), as XAPI's
 * device-number rules and the guest's blkfront driver do. */
static void xen_device_name(unsigned long n, char *buf, size_t len)
{
	char letters[16];
	size_t i = sizeof(letters);

	letters[--i] = '\0';
	for (unsigned long v = n + 1; v > 0 && i > 0; v = (v - 1) / 26)
		letters[--i] = (char)('a' + (v - 1) % 26);
	snprintf(buf, len, "xvd%s", &letters[i]);
}

/* The guest device of VBD: its own device field when set (what the guest
 * saw when it last ran), else the name Xen gives its userdevice number,
 * whatever other slots are free or taken (a CD drive at 3 does not move
 * the disk at 4 to xvdd). NULL when neither says anything. */
static char *device_for(const struct xva_ova_vbd *vbd)
{
	uint64_t number;
	const char *end;
	char buf[32];

	if (vbd->device && vbd->device[0])
		return xva_safe_name(vbd->device);
	/* Xen's extended disk numbers stop below 2^20. */
	if (!xva_parse_digits(vbd->userdevice, 10, &number, &end) || *end ||
	    number >= (1u << 20))
		return NULL;
	xen_device_name((unsigned long)number, buf, sizeof(buf));
	return strdup(buf);
}

/* Whether one of the first N entries has NAME in its field at OFFSET. */
static bool taken(const char *name, const struct xva_disk_names *names,
		  size_t n, size_t offset)
{
	for (size_t i = 0; i < n; i++) {
		const char *other = *(char *const *)((const char *)&names[i] + offset);

		if (other && strcmp(other, name) == 0)
			return true;
	}
	return false;
}

/* BASE, or BASE~2, BASE~3, ... whichever the first N entries do not have
 * yet. Takes BASE over; NULL when out of memory. */
static char *unique(char *base, const struct xva_disk_names *names, size_t n,
		    size_t offset)
{
	if (!base || !taken(base, names, n, offset))
		return base;
	for (unsigned suffix = 2;; suffix++) {
		char *candidate;

		if (asprintf(&candidate, "%s~%u", base, suffix) < 0) {
			free(base);
			return NULL;
		}
		if (!taken(candidate, names, n, offset)) {
			free(base);
			return candidate;
		}
		free(candidate);
	}
}

enum xva_status xva_names_build(const struct xva_ovaxml *ova,
				const struct xva_diskmap *map,
				struct xva_disk_names **out,
				struct xva_err *err)
{
	struct xva_disk_names *names = calloc(map->n_disks ? map->n_disks : 1,
					      sizeof(*names));

	*out = NULL;
	if (!names)
		goto nomem;
	for (size_t d = 0; ova && d < map->n_disks; d++) {
		struct xva_disk_names *nm = &names[d];

		nm->vdi = xva_ovaxml_find_vdi(ova, map->disks[d].prefix);
		for (size_t i = 0; i < ova->n_vbds; i++) {
			const struct xva_ova_vbd *vbd = &ova->vbds[i];
			const struct xva_ova_vm *vm;

			if (!is_disk_vbd(vbd) || !vbd->vdi ||
			    strcmp(vbd->vdi, map->disks[d].prefix) != 0)
				continue;
			vm = find_vm(ova, vbd->vm);
			/* The exported VM's own disk wins over a snapshot's. */
			if (!nm->vbd || (nm->vm && nm->vm->is_a_snapshot &&
					 vm && !vm->is_a_snapshot)) {
				nm->vbd = vbd;
				nm->vm = vm;
			}
		}
		if (nm->vbd && !(nm->vm && nm->vm->is_a_snapshot)) {
			char *device = device_for(nm->vbd);

			if (device) {
				nm->device = unique(device, names, d,
						    offsetof(struct xva_disk_names,
							     device));
				if (!nm->device)
					goto nomem;
			}
		}
		if (nm->vdi && nm->vdi->name_label && nm->vdi->name_label[0]) {
			nm->label = unique(xva_safe_name(nm->vdi->name_label),
					   names, d,
					   offsetof(struct xva_disk_names, label));
			if (!nm->label)
				goto nomem;
		}
	}
	*out = names;
	return XVA_OK;
nomem:
	xva_names_free(names, map->n_disks);
	return xva_nomem(err);
}

void xva_names_free(struct xva_disk_names *names, size_t n)
{
	for (size_t i = 0; names && i < n; i++) {
		free(names[i].device);
		free(names[i].label);
	}
	free(names);
}
