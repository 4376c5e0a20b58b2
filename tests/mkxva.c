/* mkxva: turns raw disk images into .xva exports, in every variant the
 * format notes describe, for xvafs's tests and demo.
 *
 *   mkxva [options] OUT.xva IMAGE[=PREFIX[=LABEL]]...
 *   mkxva --spec SPEC [--format F] OUT.xva
 *
 * Image mode writes ova.xml, then per disk (in string order of the prefix,
 * as XAPI does) numbered chunk members, each followed by its checksum
 * member, leaving out all-zero chunks but the first and the last.
 *
 * Spec mode writes exactly the members listed, one per line, for inputs no
 * real writer produces: "NAME SIZE [BYTE]" (SIZE bytes of BYTE, default a
 * pattern) or "NAME @FILE" (a file's contents). Lines starting with # are
 * comments.
 *
 * With --vm PROFILE, ova.xml holds a full, realistic VM record instead
 * (vmrecords.h): VIFs on networks with bridges, a CD drive at userdevice
 * 3, disks at the userdevices --userdevices lists (in command-line
 * order), a snapshot with --with-snapshot. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <getopt.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xxhash.h>

#include "vmrecords.h"

enum checksum { SUM_XXHASH, SUM_SHA1, SUM_NONE };

struct options {
	const char *format;  /* v7 (XAPI), ustar, gnu, pax */
	enum checksum checksum;
	unsigned mode;
	long long mtime;
	uint64_t chunk;
	int width;
	unsigned keepalive;  /* a keep-alive after every N left-out chunks */
	bool xo;             /* Xen Orchestra: ustar, padded last chunk, ... */
	bool no_ova;         /* single-VDI export: prefix "vdi", no ova.xml */
	bool metadata_only;
	bool all_chunks;     /* write all-zero chunks too */
	bool omit_last;      /* leave out the last chunk (malformed) */
	bool with_cd;        /* a CD drive with an ISO VDI that has no data */
	long long vsize;     /* override the first disk's virtual_size */
	const char *suspend; /* this prefix is a suspend image, no VBD */
	bool empty_drive;    /* add an empty CD drive (no VDI) */
	long long drop_checksum; /* leave out this member number's checksum */
	const char *spec;
	const struct vmrec_profile *vm; /* a realistic VM record */
	const char *vm_name;
	const char *userdevices;  /* "0,1,4": the disks' slots, in order */
	bool with_snapshot;
	unsigned vifs;
	char *nvram;              /* --nvram FILE's text: EFI-variables */
	char *vtpm;               /* --vtpm FILE's text: a VTPM's content */
	const char *platform_add; /* "k=v;k=v" after the profile's */
};

struct disk {
	char *arg;            /* IMAGE[=PREFIX[=LABEL]], split in place */
	char *own_prefix;     /* the default prefix, when none was given */
	const char *image, *prefix, *label;
	uint64_t size, virtual_size;
	unsigned userdevice;  /* --vm: from --userdevices or the position */
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("mkxva: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory");
	return p;
}

/* A growing string for ova.xml. */
struct buf {
	char *s;
	size_t len, cap;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL,
			      b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("formatting failed");
		if (b->s && b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			die("out of memory");
	}
	b->len += (size_t)n;
}

static void put_escaped(struct buf *b, const char *text)
{
	for (; *text; text++) {
		switch (*text) {
		case '&': put(b, "&amp;"); break;
		case '<': put(b, "&lt;"); break;
		case '>': put(b, "&gt;"); break;
		default: put(b, "%c", *text);
		}
	}
}

/* One struct member with a scalar value: untyped the XAPI way, <string>
 * the Xen Orchestra way. */
static void field(struct buf *b, const struct options *o, const char *name,
		  const char *value)
{
	put(b, "<member><name>%s</name><value>%s", name, o->xo ? "<string>" : "");
	put_escaped(b, value);
	put(b, "%s</value></member>", o->xo ? "</string>" : "");
}

static void object(struct buf *b, const struct options *o, const char *cls,
		   const char *id, const char *snapshot)
{
	/* Xen Orchestra writes class after snapshot. */
	put(b, "<value><struct>");
	if (!o->xo)
		field(b, o, "class", cls);
	field(b, o, "id", id);
	put(b, "<member><name>snapshot</name><value><struct>%s</struct></value>"
	       "</member>", snapshot);
	if (o->xo)
		field(b, o, "class", cls);
	put(b, "</struct></value>");
}

static char *ova_xml(const struct options *o, const struct disk *disks,
		     size_t n)
{
	struct buf b = { 0 }, s = { 0 };
	char id[64], vbd_id[64], value[64];

	put(&b, "<value><struct><member><name>version</name><value><struct>");
	field(&b, o, "hostname", "xvafs-test");
	field(&b, o, "date", "2026-11-25");
	field(&b, o, "product_version", "8.2.1");
	field(&b, o, "product_brand", o->xo ? "XO" : "XCP-ng");
	field(&b, o, "build_number", "release/yangtze/master/58");
	field(&b, o, "xapi_major", "1");
	field(&b, o, "xapi_minor", "20");
	field(&b, o, "export_vsn", "2");
	put(&b, "</struct></value></member>");
	put(&b, "<member><name>objects</name><value><array><data>");

	field(&s, o, "name_label", "xvafs test VM");
	field(&s, o, "is_a_snapshot", "false");
	put(&s, "<member><name>VBDs</name><value><array><data>");
	for (size_t i = 0; i < n + o->with_cd + o->empty_drive; i++)
		put(&s, "<value>Ref:%zu</value>", 2000 + i);
	put(&s, "</data></array></value></member>");
	object(&b, o, "VM", "Ref:1000", s.s);

	for (size_t i = 0; i < n + o->with_cd; i++) {
		bool cd = i == n;
		const char *vdi = cd ? "Ref:2999" : disks[i].prefix;
		bool suspend = !cd && o->suspend && strcmp(vdi, o->suspend) == 0;
		char dev[8];

		s.len = 0;
		s.s[0] = '\0';
		snprintf(vbd_id, sizeof(vbd_id), "Ref:%zu", 2000 + i);
		if (suspend)
			goto vdi; /* a suspend image is not attached */
		field(&s, o, "VM", "Ref:1000");
		field(&s, o, "VDI", vdi);
		snprintf(value, sizeof(value), "%zu",
			 cd ? (size_t)3 : i + (o->xo ? 1 : 0));
		field(&s, o, "userdevice", value);
		snprintf(dev, sizeof(dev), "xvd%c", cd ? 'd' : (char)('a' + i));
		field(&s, o, "device", o->xo ? dev : "");
		field(&s, o, "type", cd ? "CD" : "Disk");
		field(&s, o, "mode", cd ? "RO" : "RW");
		field(&s, o, "bootable", i == 0 ? "true" : "false");
		field(&s, o, "empty", "false");
		object(&b, o, "VBD", vbd_id, s.s);
vdi:
		s.len = 0;
		s.s[0] = '\0';
		snprintf(id, sizeof(id), "%08zx-0000-4000-8000-%012zx", i, i);
		field(&s, o, "uuid", id);
		field(&s, o, "name_label", cd ? "cd.iso"
				: disks[i].label ? disks[i].label : disks[i].prefix);
		field(&s, o, "name_description", "made by mkxva");
		field(&s, o, "SR", cd ? "Ref:3001" : "Ref:3000");
		snprintf(value, sizeof(value), "%llu", cd ? 4194304ULL
			 : (unsigned long long)disks[i].virtual_size);
		field(&s, o, "virtual_size", value);
		field(&s, o, "type", cd ? "user" : suspend ? "suspend" : "system");
		field(&s, o, "read_only", cd ? "true" : "false");
		object(&b, o, "VDI", vdi, s.s);
	}
	if (o->empty_drive) {
		s.len = 0;
		s.s[0] = '\0';
		snprintf(vbd_id, sizeof(vbd_id), "Ref:%zu", 2000 + n + o->with_cd);
		field(&s, o, "VM", "Ref:1000");
		field(&s, o, "VDI", "OpaqueRef:NULL");
		field(&s, o, "userdevice", "3");
		field(&s, o, "device", "");
		field(&s, o, "type", "CD");
		field(&s, o, "mode", "RO");
		field(&s, o, "bootable", "false");
		field(&s, o, "empty", "true");
		object(&b, o, "VBD", vbd_id, s.s);
	}
	s.len = 0;
	s.s[0] = '\0';
	field(&s, o, "name_label", "Local storage");
	field(&s, o, "content_type", "user");
	object(&b, o, "SR", "Ref:3000", s.s);
	if (o->with_cd) {
		s.len = 0;
		s.s[0] = '\0';
		field(&s, o, "name_label", "ISO library");
		field(&s, o, "content_type", "iso");
		object(&b, o, "SR", "Ref:3001", s.s);
	}
	put(&b, "</data></array></value></member></struct></value>");
	free(s.s);
	return b.s;
}

static char *vm_ova_xml(const struct options *o, const struct disk *disks,
			size_t n)
{
	struct vmrec_disk *recs = xmalloc(n * sizeof(*recs));
	struct vmrec_opts vo = {
		.profile = o->vm, .name = o->vm_name, .xo = o->xo,
		.with_snapshot = o->with_snapshot, .cd_iso = o->with_cd,
		.cd_userdevice = 3, .n_vifs = o->vifs, .disks = recs,
		.n_disks = n, .nvram = o->nvram, .vtpm = o->vtpm,
		.platform_add = o->platform_add,
	};
	char *xml;

	for (size_t i = 0; i < n; i++) {
		recs[i].vdi_id = disks[i].prefix;
		recs[i].label = disks[i].label ? disks[i].label : disks[i].prefix;
		recs[i].virtual_size = (unsigned long long)disks[i].virtual_size;
		recs[i].userdevice = disks[i].userdevice;
	}
	xml = vmrec_ova_xml(&vo);
	free(recs);
	return xml;
}

/* "0,1,4" into the disks' userdevices, in command-line order; the
 * default is the position (from 1 for XO), skipping the CD's 3. */
static void set_userdevices(const struct options *o, struct disk *disks,
			    size_t n)
{
	const char *p = o->userdevices;
	unsigned next = o->xo ? 1 : 0;

	for (size_t i = 0; i < n; i++) {
		if (p && *p) {
			char *end;
			unsigned long v = strtoul(p, &end, 10);

			if (end == p || v == 3 || v > 65535)
				die("--userdevices: \"%s\" is not a list of "
				    "slot numbers other than 3 (the CD's)",
				    o->userdevices);
			disks[i].userdevice = (unsigned)v;
			p = *end == ',' ? end + 1 : end;
		} else {
			if (next == 3)
				next++;
			disks[i].userdevice = next++;
		}
	}
}

static struct archive *open_writer(const struct options *o, const char *out)
{
	struct archive *a = archive_write_new();
	int r;

	if (strcmp(o->format, "v7") == 0)
		r = archive_write_set_format_v7tar(a);
	else if (strcmp(o->format, "ustar") == 0)
		r = archive_write_set_format_ustar(a);
	else if (strcmp(o->format, "gnu") == 0)
		r = archive_write_set_format_gnutar(a);
	else if (strcmp(o->format, "pax") == 0)
		r = archive_write_set_format_pax(a);
	else
		die("unknown format %s (v7, ustar, gnu, pax)", o->format);
	if (r != ARCHIVE_OK)
		die("%s", archive_error_string(a));
	/* Exports end with two zero blocks and no padding to a record. */
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_filename(a, out) != ARCHIVE_OK)
		die("%s: %s", out, archive_error_string(a));
	return a;
}

static void member(struct archive *a, const struct options *o,
		   const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, o->mode);
	archive_entry_set_mtime(e, (time_t)o->mtime, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		die("%s: %s", name, archive_error_string(a));
	if (len && archive_write_data(a, data, len) != (la_ssize_t)len)
		die("%s: %s", name, archive_error_string(a));
	archive_entry_free(e);
}

static void checksum_member(struct archive *a, const struct options *o,
			    const char *data_name, const void *data, size_t len)
{
	char name[600], text[64];

	if (o->checksum == SUM_NONE)
		return;
	if (o->checksum == SUM_XXHASH) {
		snprintf(text, sizeof(text), "%016llX",
			 (unsigned long long)XXH64(data, len, 0));
		snprintf(name, sizeof(name), "%s.xxhash", data_name);
	} else {
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned md_len = 0;

		if (!EVP_Digest(data, len, md, &md_len, EVP_sha1(), NULL))
			die("SHA-1 failed");
		for (unsigned i = 0; i < md_len; i++)
			snprintf(text + 2 * i, 3, "%02x", md[i]);
		snprintf(name, sizeof(name), "%s.checksum", data_name);
	}
	member(a, o, name, text, strlen(text));
}

static void chunk_member(struct archive *a, const struct options *o,
			 const char *prefix, uint64_t number, const void *data,
			 size_t len)
{
	char name[512];

	snprintf(name, sizeof(name), "%s/%0*llu", prefix, o->width,
		 (unsigned long long)number);
	member(a, o, name, data, len);
	if (o->drop_checksum != (long long)number)
		checksum_member(a, o, name, data, len);
}

static bool all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static void write_disk(struct archive *a, const struct options *o,
		       const struct disk *d)
{
	uint64_t chunks = (d->size + o->chunk - 1) / o->chunk, number = 0;
	unsigned char *data = xmalloc(o->chunk);
	unsigned left_out_run = 0;
	FILE *f = fopen(d->image, "rb");

	if (!f)
		die("%s: %s", d->image, strerror(errno));
	for (uint64_t c = 0; c < chunks; c++) {
		bool first = c == 0, last = c == chunks - 1;
		size_t len = (size_t)(last ? d->size - c * o->chunk : o->chunk);

		if (fread(data, 1, len, f) != len)
			die("%s: short read", d->image);
		if (last && o->xo && len < o->chunk) {
			memset(data + len, 0, o->chunk - len);
			len = o->chunk;
		}
		if (!first && !last && !o->all_chunks && all_zero(data, len)) {
			number++;
			/* XAPI's keep-alive: an empty member that takes the
			 * next number without moving the disk position. */
			if (o->keepalive && ++left_out_run % o->keepalive == 0)
				chunk_member(a, o, d->prefix, number++, "", 0);
			continue;
		}
		left_out_run = 0;
		if (!(last && o->omit_last))
			chunk_member(a, o, d->prefix, number, data, len);
		number++;
	}
	fclose(f);
	free(data);
}

static int by_prefix(const void *x, const void *y)
{
	return strcmp(((const struct disk *)x)->prefix,
		      ((const struct disk *)y)->prefix);
}

static void write_spec(struct archive *a, const struct options *o)
{
	FILE *f = fopen(o->spec, "r");
	char line[4096];

	if (!f)
		die("%s: %s", o->spec, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char name[2048], what[2048];
		int byte = -1;
		int fields;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		fields = sscanf(line, "%2047s %2047s %i", name, what, &byte);
		if (fields < 2)
			die("%s: bad line: %s", o->spec, line);
		if (what[0] == '@') {
			FILE *in = fopen(what + 1, "rb");
			char *data;
			long len;

			if (!in || fseek(in, 0, SEEK_END) != 0 ||
			    (len = ftell(in)) < 0 || fseek(in, 0, SEEK_SET) != 0)
				die("%s: cannot read", what + 1);
			data = xmalloc((size_t)len);
			if (fread(data, 1, (size_t)len, in) != (size_t)len)
				die("%s: short read", what + 1);
			fclose(in);
			member(a, o, name, data, (size_t)len);
			free(data);
		} else {
			size_t len = (size_t)strtoull(what, NULL, 0);
			unsigned char *data = xmalloc(len);

			for (size_t i = 0; i < len; i++)
				data[i] = byte >= 0 ? (unsigned char)byte
						    : (unsigned char)(i * 7 + 1);
			member(a, o, name, data, len);
			free(data);
		}
	}
	fclose(f);
}

/* A whole text file, its trailing newlines dropped. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		die("%s: %s", path, strerror(errno));
	do {
		if (len + 4096 + 1 > cap) {
			cap = (len + 4096 + 1) * 2;
			if (!(text = realloc(text, cap)))
				die("out of memory");
		}
		n = fread(text + len, 1, 4096, f);
		len += n;
	} while (n > 0);
	if (ferror(f))
		die("%s: cannot read", path);
	fclose(f);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	text[len] = '\0';
	return text;
}

static void usage(FILE *out, int status)
{
	fputs("usage: mkxva [options] OUT.xva IMAGE[=PREFIX[=LABEL]]...\n"
	      "       mkxva --spec SPEC [--format F] OUT.xva\n"
	      "  --format v7|ustar|gnu|pax  tar headers (v7: as XAPI writes)\n"
	      "  --checksum xxhash|sha1|none\n"
	      "  --mode OCTAL               member mode (XAPI: 0400; old: 0000)\n"
	      "  --chunk BYTES              chunk size (default 1 MiB)\n"
	      "  --width DIGITS             digits in member numbers (default 8)\n"
	      "  --keepalive N              keep-alive after every N left-out chunks\n"
	      "  --xo                       Xen Orchestra style\n"
	      "  --no-ova                   single-VDI export (prefix vdi)\n"
	      "  --metadata-only            ova.xml alone\n"
	      "  --all-chunks               also write all-zero chunks\n"
	      "  --omit-last                leave out the last chunk (malformed)\n"
	      "  --with-cd                  add a CD drive with an ISO VDI\n"
	      "  --virtual-size BYTES       first disk's virtual_size (malformed)\n"
	      "  --suspend PREFIX           that disk is a suspend image, no VBD\n"
	      "  --empty-drive              add an empty CD drive\n"
	      "  --drop-checksum NUMBER     leave out that member's checksum\n"
	      "  --vm PROFILE               a full VM record: hvm-bios, hvm-uefi,\n"
	      "                             pv-pygrub or windows (CD drive at 3)\n"
	      "  --vm-name NAME             the VM's name_label (any text)\n"
	      "  --userdevices LIST         the disks' slots in order, e.g. 0,1,4\n"
	      "  --vifs N                   network interfaces (default 2)\n"
	      "  --with-snapshot            also a snapshot of the VM\n"
	      "  --nvram FILE               NVRAM EFI-variables: FILE's text (base64)\n"
	      "  --vtpm FILE                a VTPM whose content is FILE's text\n"
	      "  --platform-add K=V;K=V     platform keys after the profile's\n"
	      "  --help                     this text\n",
	      out);
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "checksum", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "chunk", required_argument, NULL, 'C' },
		{ "width", required_argument, NULL, 'w' },
		{ "keepalive", required_argument, NULL, 'k' },
		{ "xo", no_argument, NULL, 'x' },
		{ "no-ova", no_argument, NULL, 'n' },
		{ "metadata-only", no_argument, NULL, 'M' },
		{ "all-chunks", no_argument, NULL, 'a' },
		{ "omit-last", no_argument, NULL, 'o' },
		{ "with-cd", no_argument, NULL, 'D' },
		{ "virtual-size", required_argument, NULL, 'v' },
		{ "spec", required_argument, NULL, 's' },
		{ "suspend", required_argument, NULL, 'S' },
		{ "empty-drive", no_argument, NULL, 'E' },
		{ "drop-checksum", required_argument, NULL, 'X' },
		{ "vm", required_argument, NULL, 'V' },
		{ "vm-name", required_argument, NULL, 'N' },
		{ "userdevices", required_argument, NULL, 'U' },
		{ "vifs", required_argument, NULL, 'I' },
		{ "with-snapshot", no_argument, NULL, 'P' },
		{ "nvram", required_argument, NULL, 'R' },
		{ "vtpm", required_argument, NULL, 'T' },
		{ "platform-add", required_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct options o = { .format = "v7", .checksum = SUM_XXHASH,
			     .mode = 0400, .chunk = 1 << 20, .width = 8,
			     .vsize = -1, .drop_checksum = -1, .vifs = 2 };
	bool format_set = false, mode_set = false;
	struct disk *disks;
	struct archive *a;
	size_t n = 0;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': o.format = optarg; format_set = true; break;
		case 'c':
			o.checksum = strcmp(optarg, "xxhash") == 0 ? SUM_XXHASH
				   : strcmp(optarg, "sha1") == 0   ? SUM_SHA1
				   : strcmp(optarg, "none") == 0   ? SUM_NONE
								   : (usage(stderr, 2), SUM_NONE);
			break;
		case 'm': o.mode = (unsigned)strtoul(optarg, NULL, 8); mode_set = true; break;
		case 'C': o.chunk = strtoull(optarg, NULL, 0); break;
		case 'w': o.width = atoi(optarg); break;
		case 'k': o.keepalive = (unsigned)atoi(optarg); break;
		case 'x': o.xo = true; break;
		case 'n': o.no_ova = true; break;
		case 'M': o.metadata_only = true; break;
		case 'a': o.all_chunks = true; break;
		case 'o': o.omit_last = true; break;
		case 'D': o.with_cd = true; break;
		case 'v': o.vsize = atoll(optarg); break;
		case 's': o.spec = optarg; break;
		case 'S': o.suspend = optarg; break;
		case 'E': o.empty_drive = true; break;
		case 'X': o.drop_checksum = atoll(optarg); break;
		case 'V':
			if (!(o.vm = vmrec_find(optarg)))
				die("--vm: unknown profile %s (hvm-bios, hvm-uefi, "
				    "pv-pygrub, windows)", optarg);
			break;
		case 'N': o.vm_name = optarg; break;
		case 'U': o.userdevices = optarg; break;
		case 'I': o.vifs = (unsigned)atoi(optarg); break;
		case 'P': o.with_snapshot = true; break;
		case 'R': o.nvram = read_text(optarg); break;
		case 'T': o.vtpm = read_text(optarg); break;
		case 'A': o.platform_add = optarg; break;
		case 'h': usage(stdout, 0); break;
		default: usage(stderr, 2);
		}
	}
	if (o.chunk == 0 || optind >= argc)
		usage(stderr, 2);
	if (o.xo) {
		if (!format_set)
			o.format = "ustar";
		if (!mode_set)
			o.mode = 0644;
		o.mtime = (long long)time(NULL);
	}
	a = open_writer(&o, argv[optind]);
	if (o.spec) {
		write_spec(a, &o);
		goto done;
	}

	disks = xmalloc((size_t)argc * sizeof(*disks));
	for (int i = optind + 1; i < argc; i++, n++) {
		struct disk *d = &disks[n];
		char *arg = strdup(argv[i]), *eq;
		FILE *f;

		if (!arg)
			die("out of memory");
		d->arg = arg;
		d->own_prefix = NULL;
		d->image = arg;
		d->prefix = NULL;
		d->label = NULL;
		if ((eq = strchr(arg, '='))) {
			*eq = '\0';
			d->prefix = eq + 1;
			if ((eq = strchr(eq + 1, '='))) {
				*eq = '\0';
				d->label = eq + 1;
			}
		}
		if (!d->prefix) {
			char *p = xmalloc(32);

			snprintf(p, 32, o.no_ova ? "vdi" : "Ref:%zu", n + 1);
			d->prefix = d->own_prefix = p;
		}
		f = fopen(d->image, "rb");
		if (!f || fseek(f, 0, SEEK_END) != 0)
			die("%s: %s", d->image, strerror(errno));
		d->size = (uint64_t)ftello(f);
		fclose(f);
		d->virtual_size = o.xo ? (d->size + o.chunk - 1) / o.chunk * o.chunk
				       : d->size;
		if (n == 0 && o.vsize >= 0)
			d->virtual_size = (uint64_t)o.vsize;
	}
	if (o.no_ova && n != 1)
		die("a single-VDI export holds exactly one image");
	if ((o.vm_name || o.userdevices || o.with_snapshot || o.nvram ||
	     o.vtpm || o.platform_add) && !o.vm)
		die("--vm-name, --userdevices, --with-snapshot, --nvram, --vtpm "
		    "and --platform-add need --vm");
	if (o.vm && (o.no_ova || o.suspend || o.empty_drive))
		die("--vm writes its own drives: not with --no-ova, --suspend "
		    "or --empty-drive");
	if (o.vm)
		set_userdevices(&o, disks, n);
	qsort(disks, n, sizeof(*disks), by_prefix);
	if (!o.no_ova) {
		char *xml = o.vm ? vm_ova_xml(&o, disks, n) : ova_xml(&o, disks, n);

		member(a, &o, "ova.xml", xml, strlen(xml));
		free(xml);
	}
	for (size_t i = 0; i < n && !o.metadata_only; i++)
		write_disk(a, &o, &disks[i]);
	for (size_t i = 0; i < n; i++) {
		free(disks[i].arg);
		free(disks[i].own_prefix);
	}
	free(disks);
done:
	if (archive_write_close(a) != ARCHIVE_OK)
		die("%s", archive_error_string(a));
	archive_write_free(a);
	/* LeakSanitizer checks the generator too (the boot test's UEFI
	 * export, in the sanitized build). */
	free(o.nvram);
	free(o.vtpm);
	return 0;
}
