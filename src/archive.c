#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xvafs/archive.h"

const char *xva_strerror(enum xva_status status)
{
	switch (status) {
	case XVA_OK: return "success";
	case XVA_EOPEN: return "cannot open";
	case XVA_ETAR: return "bad tar structure";
	case XVA_EMEMBER: return "bad member name";
	case XVA_EMAP: return "inconsistent disk data";
	case XVA_EOVA: return "bad ova.xml";
	case XVA_EIO: return "read error";
	case XVA_ENOMEM: return "out of memory";
	}
	return "unknown status";
}

struct walk_ctx {
	struct xva *xva;
	enum xva_status status;  /* why the callback stopped the walk */
	uint64_t ova_off, ova_len;
	bool has_ova;
};

/* Names come from an untrusted file and become file names in the mount:
 * refuse anything that could mean another place. */
static bool name_is_safe(const char *name, const char **why)
{
	const char *p;

	if (name[0] == '/') {
		*why = "an absolute path";
		return false;
	}
	for (p = name; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "a control character";
			return false;
		}
	}
	for (p = name; *p; ) {
		size_t n = strcspn(p, "/");

		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*why = "a '..' component";
			return false;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}

/* Parses the decimal counter at the start of LEAF (any width, up to
 * 2^64-1); *REST is what follows it. */
static bool parse_number(const char *leaf, uint64_t *number, int *width,
			 const char **rest)
{
	uint64_t v = 0;
	const char *p = leaf;

	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - digit) / 10)
			return false;
		v = v * 10 + digit;
	}
	if (p == leaf)
		return false;
	*number = v;
	*width = (int)(p - leaf);
	*rest = p;
	return true;
}

static int member_error(struct walk_ctx *ctx, enum xva_status status)
{
	ctx->status = status;
	return -1;
}

static int map_error(struct walk_ctx *ctx, enum xva_map_status st)
{
	return member_error(ctx, st == XVA_MAP_ENOMEM ? XVA_ENOMEM : XVA_EMAP);
}

static int on_member(void *vctx, const struct xva_tar_member *m,
		     struct xva_err *err)
{
	struct walk_ctx *ctx = vctx;
	struct xva_diskmap *map = &ctx->xva->map;
	enum xva_map_status st;
	const char *name = m->name, *why, *slash, *rest;
	char prefix[256];
	uint64_t number;
	int width;

	ctx->xva->members++;
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	if (!name_is_safe(name, &why)) {
		xva_err_set(err, "member name at byte %llu has %s; refusing it",
			    (unsigned long long)m->header_off, why);
		return member_error(ctx, XVA_EMEMBER);
	}
	if (m->is_dir)
		return 0; /* some tar writers add folders; they hold nothing */
	if (strcmp(name, "ova.xml") == 0) {
		if (ctx->has_ova) {
			xva_err_set(err, "second ova.xml member at byte %llu",
				    (unsigned long long)m->header_off);
			return member_error(ctx, XVA_EMEMBER);
		}
		ctx->has_ova = true;
		ctx->ova_off = m->data_off;
		ctx->ova_len = m->size;
		return 0;
	}
	slash = strchr(name, '/');
	if (!slash || slash == name || strchr(slash + 1, '/') ||
	    (size_t)(slash - name) >= sizeof(prefix) ||
	    !parse_number(slash + 1, &number, &width, &rest) ||
	    (*rest && strcmp(rest, ".xxhash") != 0 &&
	     strcmp(rest, ".checksum") != 0)) {
		xva_err_set(err, "member %.200s at byte %llu is not part of an "
			    "export (expected ova.xml, PREFIX/NUMBER or "
			    "PREFIX/NUMBER.xxhash|.checksum)", name,
			    (unsigned long long)m->header_off);
		return member_error(ctx, XVA_EMEMBER);
	}
	memcpy(prefix, name, (size_t)(slash - name));
	prefix[slash - name] = '\0';
	if (strcmp(prefix, ".") == 0) {
		xva_err_set(err, "member %s at byte %llu has no disk prefix",
			    name, (unsigned long long)m->header_off);
		return member_error(ctx, XVA_EMEMBER);
	}
	if (*rest == '\0')
		st = xva_map_add_chunk(map, prefix, number, width, m->data_off,
				       m->size, err);
	else
		st = xva_map_add_checksum(map, prefix, number, width,
					  strcmp(rest, ".xxhash") == 0
						  ? XVA_CHECKSUM_XXHASH
						  : XVA_CHECKSUM_SHA1,
					  m->data_off, err);
	return st == XVA_MAP_OK ? 0 : map_error(ctx, st);
}

static int pread_fully(int fd, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done,
				  (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = 0; /* the file ends early */
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static enum xva_status load_ova(struct xva *xva, const struct walk_ctx *ctx,
				struct xva_err *err)
{
	enum xva_ova_status st;
	char *buf;

	if (ctx->ova_len > XVA_OVA_XML_MAX) {
		xva_err_set(err, "ova.xml is %llu bytes; an export's metadata is "
			    "never above %u MiB", (unsigned long long)ctx->ova_len,
			    XVA_OVA_XML_MAX >> 20);
		return XVA_EOVA;
	}
	buf = malloc(ctx->ova_len + 1);
	if (!buf) {
		xva_err_set(err, "out of memory");
		return XVA_ENOMEM;
	}
	if (pread_fully(xva->fd, buf, ctx->ova_len, ctx->ova_off) < 0) {
		xva_err_set(err, "cannot read ova.xml at byte %llu: %s",
			    (unsigned long long)ctx->ova_off,
			    errno ? strerror(errno) : "the file ends early");
		free(buf);
		return XVA_EIO;
	}
	st = xva_ovaxml_parse(buf, ctx->ova_len, &xva->ova, err);
	free(buf);
	if (st == XVA_OVA_ENOMEM)
		return XVA_ENOMEM;
	return st == XVA_OVA_OK ? XVA_OK : XVA_EOVA;
}

/* A disk's size is its VDI's virtual_size; an export without ova.xml, or a
 * prefix without a VDI record, is sized by its data. */
static enum xva_status size_disks(struct xva *xva, struct xva_err *err)
{
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		struct xva_disk *disk = &xva->map.disks[i];
		const struct xva_ova_vdi *vdi =
			xva_ovaxml_find_vdi(xva->ova, disk->prefix);
		enum xva_map_status st;

		st = xva_disk_set_size(disk, vdi && vdi->has_virtual_size,
				       vdi ? vdi->virtual_size : 0, err);
		if (st != XVA_MAP_OK)
			return XVA_EMAP;
	}
	return XVA_OK;
}

enum xva_status xva_open(const char *path, struct xva **out,
			 struct xva_err *err)
{
	struct walk_ctx ctx;
	enum xva_status status;
	struct xva *xva;

	*out = NULL;
	xva = calloc(1, sizeof(*xva));
	if (!xva) {
		xva_err_set(err, "out of memory");
		return XVA_ENOMEM;
	}
	xva_map_init(&xva->map);
	xva->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (xva->fd < 0) {
		xva_err_set(err, "cannot open: %s", strerror(errno));
		status = XVA_EOPEN;
		goto fail;
	}
	if (fstat(xva->fd, &xva->st) < 0) {
		xva_err_set(err, "cannot stat: %s", strerror(errno));
		status = XVA_EOPEN;
		goto fail;
	}
	if (!S_ISREG(xva->st.st_mode)) {
		xva_err_set(err, "not a regular file");
		status = XVA_EOPEN;
		goto fail;
	}

	memset(&ctx, 0, sizeof(ctx));
	ctx.xva = xva;
	xva->tar_status = xva_tar_walk(xva->fd, (uint64_t)xva->st.st_size,
				       on_member, &ctx, err);
	if (xva->tar_status == XVA_TAR_ECALLBACK) {
		status = ctx.status;
		goto fail;
	}
	if (xva->tar_status != XVA_TAR_OK) {
		status = xva->tar_status == XVA_TAR_ENOMEM ? XVA_ENOMEM
			 : xva->tar_status == XVA_TAR_EIO  ? XVA_EIO
							   : XVA_ETAR;
		goto fail;
	}
	if (ctx.has_ova) {
		status = load_ova(xva, &ctx, err);
		if (status != XVA_OK)
			goto fail;
	}
	status = size_disks(xva, err);
	if (status != XVA_OK)
		goto fail;
	*out = xva;
	return XVA_OK;
fail:
	xva_close(xva);
	return status;
}

void xva_close(struct xva *xva)
{
	if (!xva)
		return;
	if (xva->fd >= 0)
		close(xva->fd);
	xva_map_free(&xva->map);
	xva_ovaxml_free(xva->ova);
	free(xva);
}

enum xva_status xva_read(const struct xva *xva, const struct xva_disk *disk,
			 void *buf, size_t len, uint64_t off, size_t *done,
			 struct xva_err *err)
{
	size_t i;
	uint64_t pos, end;
	char *out = buf;

	*done = 0;
	if (off >= disk->size)
		return XVA_OK;
	if (len > disk->size - off)
		len = (size_t)(disk->size - off);
	end = off + len;
	i = xva_disk_extent_at(disk, off);
	for (pos = off; pos < end; ) {
		const struct xva_extent *e = i < disk->n_extents
						     ? &disk->extents[i] : NULL;

		if (e && e->disk_off <= pos) {
			uint64_t skip = pos - e->disk_off;
			uint64_t n = e->len - skip;

			if (n > end - pos)
				n = end - pos;
			if (pread_fully(xva->fd, out, (size_t)n,
					e->file_off + skip) < 0) {
				char name[64];

				xva_disk_member_name(disk, e->number, name,
						     sizeof(name));
				xva_err_set(err, "member %s: cannot read %llu "
					    "bytes at byte %llu: %s", name,
					    (unsigned long long)n,
					    (unsigned long long)(e->file_off + skip),
					    errno ? strerror(errno)
						  : "the file is now shorter");
				return XVA_EIO;
			}
			i++;
			out += n;
			pos += n;
		} else {
			uint64_t stop = e && e->disk_off < end ? e->disk_off : end;

			memset(out, 0, (size_t)(stop - pos));
			out += stop - pos;
			pos = stop;
		}
	}
	*done = len;
	return XVA_OK;
}
