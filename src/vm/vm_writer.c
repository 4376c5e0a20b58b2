/* The VM writers' table, the text toolkit they share, and the entry
 * point that checks the mount point and runs one writer (see
 * vm_writer.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm_writer.h"

/* The writers, in enum xva_vm_format's order. */
const struct xva_vm_writer xva_vm_writers[] = {
	[XVA_VM_XL] = { "xl", ".cfg", VMW_HASH, false, xva_vm_write_xl },
	[XVA_VM_LIBVIRT] = { "libvirt", ".xml", VMW_XML, false,
			     xva_vm_write_libvirt },
	[XVA_VM_QEMU] = { "qemu", ".qemu.sh", VMW_HASH, true, xva_vm_write_qemu },
};
_Static_assert(sizeof(xva_vm_writers) / sizeof(xva_vm_writers[0]) ==
	       XVA_VM_N_FORMATS, "one writer for each enum xva_vm_format");
const size_t xva_vm_n_writers = sizeof(xva_vm_writers) / sizeof(xva_vm_writers[0]);

int xva_vm_format_from_name(const char *name)
{
	for (size_t i = 0; name && i < xva_vm_n_writers; i++)
		if (strcmp(name, xva_vm_writers[i].name) == 0)
			return (int)i;
	return -1;
}

const char *xva_vm_format_name(enum xva_vm_format format)
{
	return (unsigned)format < xva_vm_n_writers
	       ? xva_vm_writers[format].name : "?";
}

const char *xva_vm_format_suffix(enum xva_vm_format format)
{
	return (unsigned)format < xva_vm_n_writers
	       ? xva_vm_writers[format].suffix : "";
}

bool xva_vm_format_executable(enum xva_vm_format format)
{
	return (unsigned)format < xva_vm_n_writers &&
	       xva_vm_writers[format].executable;
}

/* "xl, libvirt, qemu": the table's names, listed once. */
static char format_names[128];

static void list_format_names(void)
{
	size_t n = 0;

	for (size_t i = 0; i < xva_vm_n_writers; i++) {
		int k = snprintf(format_names + n, sizeof(format_names) - n,
				 "%s%s", i ? ", " : "", xva_vm_writers[i].name);

		if (k < 0 || (size_t)k >= sizeof(format_names) - n)
			break; /* not with names as short as a format's */
		n += (size_t)k;
	}
}

const char *xva_vm_format_names(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, list_format_names);
	return format_names;
}

/* ---- The toolkit ---- */

void vmw_note(struct writer *w, const char *fmt, ...)
{
	char **bigger;
	va_list ap;
	char *note;

	va_start(ap, fmt);
	if (vasprintf(&note, fmt, ap) < 0)
		note = NULL;
	va_end(ap);
	bigger = note ? realloc(w->notes, (w->n_notes + 1) * sizeof(*bigger))
		      : NULL;
	if (!bigger) {
		free(note);
		w->nomem = true;
		return;
	}
	w->notes = bigger;
	w->notes[w->n_notes++] = note;
}

/* What Xen has and KVM does not, for a KVM target (libvirt, qemu). */
void vmw_kvm_notes(struct writer *w)
{
	const struct xva_vm *vm = w->vm;

	if (vm->platform.device_id)
		vmw_note(w, "platform device_id=%s: the Xen platform "
			 "device and XenServer's Windows PV drivers mean "
			 "nothing on KVM; install the virtio-win drivers",
			 vm->platform.device_id);
	if (vm->platform.videoram)
		vmw_note(w, "videoram=%u MiB: left to %s's default",
			 vm->platform.videoram, w->format->name);
	if (vm->platform.apic == XVA_VM_OFF)
		vmw_note(w, "apic=false: KVM guests always have an APIC");
	if (vm->platform.viridian_extra & XVA_VM_VIRIDIAN_APIC_ASSIST)
		vmw_note(w, "viridian_apic_assist: no %s equivalent",
			 w->format->name);
	if (vm->pv_args)
		vmw_note(w, "PV kernel arguments \"%s\": add them to the "
			 "guest's own boot loader configuration",
			 vm->pv_args);
}

/* One comment of TEXT, whatever it holds: control characters become
 * blanks (a newline would end the comment and let the rest run as
 * configuration or shell), and in XML no "--" appears. Long comments are
 * wrapped at blanks onto lines starting with CONT; TAIL ends the last. */
static void put_comment(struct writer *w, const char *lead, const char *cont,
			const char *text, const char *tail)
{
	const bool xml = w->format->comments == VMW_XML;
	const size_t width = 78;
	size_t col = strlen(lead), blanks = 0;
	const char *p = text;

	fputs(lead, w->f);
	while (*p) {
		size_t word = strcspn(p, " ");

		if (word == 0) {
			blanks++;
			p++;
			continue;
		}
		if (col + blanks + word > width && col > strlen(cont)) {
			fputc('\n', w->f);
			fputs(cont, w->f);
			col = strlen(cont);
		} else {
			for (; blanks; blanks--, col++)
				fputc(' ', w->f);
		}
		blanks = 0;
		for (size_t i = 0; i < word; i++, p++) {
			unsigned char c = (unsigned char)*p;

			if (c < 0x20 || c == 0x7f)
				c = ' ';
			if (xml && c == '-' && i > 0 && p[-1] == '-') {
				/* XML comments hold no "--": the second
				 * becomes U+2010 HYPHEN. */
				fputs("\xe2\x80\x90", w->f);
				continue;
			}
			fputc(c, w->f);
		}
		col += word;
	}
	fputs(tail, w->f);
	fputc('\n', w->f);
}

void vmw_comment(struct writer *w, const char *indent, const char *fmt, ...)
{
	char lead[64], cont[64];
	va_list ap;
	char *text;
	int hang;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0) {
		va_end(ap);
		w->nomem = true;
		return;
	}
	va_end(ap);
	/* A list item's lines continue under its text. */
	hang = strncmp(text, "  - ", 4) == 0 ? 4 : 2;
	if (w->format->comments == VMW_XML) {
		snprintf(lead, sizeof(lead), "%s<!-- ", indent);
		snprintf(cont, sizeof(cont), "%s     %*s", indent, hang, "");
		put_comment(w, lead, cont, text, " -->");
	} else {
		snprintf(lead, sizeof(lead), "%s# ", indent);
		snprintf(cont, sizeof(cont), "%s# %*s", indent, hang, "");
		put_comment(w, lead, cont, text, "");
	}
	free(text);
}

void vmw_header(struct writer *w)
{
	static const char *const kinds[] = { "HVM", "PV", "PVH" };
	const struct xva_vm *vm = w->vm;
	const char *boot;

	if (vm->kind != XVA_VM_HVM)
		boot = vm->pv_bootloader ? "booted by its PV boot loader"
		       : vm->pv_kernel ? "booted from a kernel file"
				       : "with no boot loader set";
	else if (vm->firmware == XVA_VM_UEFI)
		boot = vm->secure_boot ? "UEFI firmware with Secure Boot"
				       : "UEFI firmware";
	else
		boot = "BIOS firmware";
	vmw_comment(w, "", "VM \"%s\": generated by xvafs --vm-config %s from %s.",
		vm->name, w->format->name,
		w->export_name ? w->export_name : "the export's ova.xml");
	vmw_comment(w, "", "XenServer/XCP-ng ran it as %s%s, %s, with %u of %u "
		"vCPUs and %llu MiB of memory (static max %llu MiB).",
		kinds[vm->kind], vm->pv_in_pvh ? " (PV in a PVH shim)" : "",
		boot, vm->vcpus_at_startup, vm->vcpus_max,
		vmw_mib_up(vm->memory_target), vmw_mib_up(vm->memory_max));
	if (w->read_only_from)
		vmw_comment(w, "", "Its disks are the files %s/by-device/NAME, "
			"read-only in this mount of a backup repository: to run "
			"the VM, mount the backup itself writable through an "
			"overlay (xvafs -o overlay=DIR %s MOUNTPOINT) and use the "
			"vm/ files of that mount.", w->mnt, w->read_only_from);
	else
		vmw_comment(w, "", "Its disks are the files %s/by-device/NAME "
			"served by xvafs: mount the export there first, writable "
			"through an overlay so that the VM can write while the "
			"export stays as it is (xvafs -o overlay=DIR EXPORT %s).",
			w->mnt, w->mnt);
	if (vm->n_notes + w->n_notes == 0)
		return;
	vmw_comment(w, "", "Not carried over:");
	for (size_t i = 0; i < vm->n_notes; i++)
		vmw_comment(w, "", "  - %s", vm->notes[i]);
	for (size_t i = 0; i < w->n_notes; i++)
		vmw_comment(w, "", "  - %s", w->notes[i]);
}

/* ---- Entry point ---- */

static bool valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n;
		unsigned c;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xE0) == 0xC0 && *p >= 0xC2)
			n = 1, c = *p & 0x1F;
		else if ((*p & 0xF0) == 0xE0)
			n = 2, c = *p & 0x0F;
		else if ((*p & 0xF8) == 0xF0 && *p <= 0xF4)
			n = 3, c = *p & 0x07;
		else
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3F);
		}
		if ((n == 2 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
		    (n == 3 && (c < 0x10000 || c > 0x10FFFF)))
			return false;
		p += n + 1;
	}
	return true;
}

enum xva_status xva_vm_write(const struct xva_vm *vm,
			     enum xva_vm_format format, const char *mountpoint,
			     const char *export_name, char **text, size_t *len,
			     struct xva_err *err)
{
	return xva_vm_write_read_only(vm, format, mountpoint, export_name, NULL,
				      text, len, err);
}

enum xva_status xva_vm_write_read_only(const struct xva_vm *vm,
				       enum xva_vm_format format,
				       const char *mountpoint,
				       const char *export_name,
				       const char *read_only_from, char **text,
				       size_t *len, struct xva_err *err)
{
	struct writer w = { .vm = vm, .export_name = export_name,
			    .read_only_from = read_only_from };
	enum xva_status status = XVA_OK;
	char *mnt = NULL;
	size_t n;

	*text = NULL;
	*len = 0;
	if ((unsigned)format >= xva_vm_n_writers)
		return xva_fail(err, XVA_EINVAL, "unknown configuration format "
				"%d", (int)format);
	if (!mountpoint || mountpoint[0] != '/')
		return xva_fail(err, XVA_EINVAL, "the mount point \"%.80s\" is "
				"not an absolute path",
				mountpoint ? mountpoint : "");
	for (const char *p = mountpoint; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return xva_fail(err, XVA_EINVAL, "the mount point holds a "
					"control character");
	if (!valid_utf8(mountpoint) || (export_name && !valid_utf8(export_name)) ||
	    (read_only_from && !valid_utf8(read_only_from)))
		return xva_fail(err, XVA_EINVAL, "the mount point or export name "
				"is not valid UTF-8");
	/* "/mnt/xva/" and "/mnt/xva" are one folder; "/" stays "". */
	n = strlen(mountpoint);
	while (n > 0 && mountpoint[n - 1] == '/')
		n--;
	mnt = strndup(mountpoint, n);
	if (!mnt)
		return xva_nomem(err);
	w.mnt = mnt;
	w.f = open_memstream(text, len);
	if (!w.f) {
		free(mnt);
		return xva_nomem(err);
	}
	w.format = &xva_vm_writers[format];
	w.format->write(&w);
	if (ferror(w.f))
		w.nomem = true;
	if (fclose(w.f) != 0)
		w.nomem = true;
	if (w.nomem) {
		free(*text);
		*text = NULL;
		*len = 0;
		status = xva_nomem(err);
	}
	for (size_t i = 0; i < w.n_notes; i++)
		free(w.notes[i]);
	free(w.notes);
	free(mnt);
	return status;
}
