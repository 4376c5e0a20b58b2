#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "xvafs/archive.h"
#include "io.h"

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
	case XVA_ECUT: return "past the intact part of a truncated export";
	case XVA_ECORRUPT: return "chunk failed its checksum";
	case XVA_ENOMEM: return "out of memory";
	}
	return "unknown status";
}

struct walk_ctx {
	struct xva *xva;
	enum xva_status status;  /* why the callback stopped the walk */
};

static bool is_reserved(const char *prefix)
{
	return strcmp(prefix, XVA_NAME_OVA_XML) == 0 ||
	       strcmp(prefix, XVA_NAME_BY_DEVICE) == 0 ||
	       strcmp(prefix, XVA_NAME_BY_LABEL) == 0;
}

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

	ctx->xva->idx.members++;
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
		if (ctx->xva->idx.has_ova) {
			xva_err_set(err, "second ova.xml member at byte %llu",
				    (unsigned long long)m->header_off);
			return member_error(ctx, XVA_EMEMBER);
		}
		ctx->xva->idx.has_ova = true;
		ctx->xva->idx.ova_cut = m->available < m->size;
		ctx->xva->idx.ova_off = m->data_off;
		ctx->xva->idx.ova_len = m->size;
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
	if (strcmp(prefix, ".") == 0 || is_reserved(prefix)) {
		xva_err_set(err, "member %s at byte %llu has %s", name,
			    (unsigned long long)m->header_off,
			    is_reserved(prefix) ? "a disk prefix the mount "
						  "reserves for itself"
						: "no disk prefix");
		return member_error(ctx, XVA_EMEMBER);
	}
	if (*rest != '\0') {
		/* A checksum cut short is no checksum at all. */
		if (m->available < m->size)
			return 0;
		st = xva_map_add_checksum(map, prefix, number, width,
					  strcmp(rest, ".xxhash") == 0
						  ? XVA_CHECKSUM_XXHASH
						  : XVA_CHECKSUM_SHA1,
					  m->data_off, m->size, err);
		return st == XVA_MAP_OK ? 0 : map_error(ctx, st);
	}
	st = xva_map_add_chunk(map, prefix, number, width, m->data_off,
			       m->size, err);
	if (st != XVA_MAP_OK)
		return map_error(ctx, st);
	if (m->available < m->size) {
		const struct xva_disk *disk = map->current;

		ctx->xva->idx.cut_disk_pos =
			disk->extents[disk->n_extents - 1].disk_off + m->available;
	}
	return 0;
}

static enum xva_status load_ova(struct xva *xva, struct xva_err *err)
{
	enum xva_ova_status st;
	char *buf;

	if (xva->idx.ova_cut) {
		xva_err_set(err, "the export is cut short inside ova.xml: %s",
			    xva->idx.truncation);
		return XVA_ETAR;
	}
	if (xva->idx.ova_len > XVA_OVA_XML_MAX) {
		xva_err_set(err, "ova.xml is %llu bytes; an export's metadata is "
			    "never above %u MiB", (unsigned long long)xva->idx.ova_len,
			    XVA_OVA_XML_MAX >> 20);
		return XVA_EOVA;
	}
	buf = malloc(xva->idx.ova_len + 1);
	if (!buf) {
		xva_err_set(err, "out of memory");
		return XVA_ENOMEM;
	}
	if (xva_pread_full(xva->fd, buf, xva->idx.ova_len, xva->idx.ova_off) < 0) {
		xva_err_set(err, "cannot read ova.xml at byte %llu: %s",
			    (unsigned long long)xva->idx.ova_off,
			    errno ? strerror(errno) : "the file ends early");
		free(buf);
		return XVA_EIO;
	}
	st = xva_ovaxml_parse(buf, xva->idx.ova_len, &xva->ova, err);
	free(buf);
	if (st == XVA_OVA_ENOMEM)
		return XVA_ENOMEM;
	return st == XVA_OVA_OK ? XVA_OK : XVA_EOVA;
}

/* A disk's size is its VDI's virtual_size; an export without ova.xml, or a
 * prefix without a VDI record, is sized by its data. In an export cut
 * short, the last disk in the stream may end early. */
static enum xva_status size_disks(struct xva *xva, struct xva_err *err)
{
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		struct xva_disk *disk = &xva->map.disks[i];
		const struct xva_ova_vdi *vdi =
			xva_ovaxml_find_vdi(xva->ova, disk->prefix);
		bool cut = xva->idx.truncated && disk == xva->map.current;

		if (xva_disk_set_size(disk, vdi && vdi->has_virtual_size,
				      vdi ? vdi->virtual_size : 0, cut,
				      cut ? xva->idx.cut_disk_pos : UINT64_MAX,
				      err) != XVA_MAP_OK)
			return XVA_EMAP;
	}
	return XVA_OK;
}

/* Whether ova.xml says VDI's data is in the export: not an ISO, not only
 * a CD drive's, not empty. */
static bool vdi_has_data(const struct xva_ovaxml *ova,
			 const struct xva_ova_vdi *vdi)
{
	bool cd = false, disk = false;

	if (!vdi->has_virtual_size || vdi->virtual_size == 0)
		return false;
	for (size_t i = 0; vdi->sr && i < ova->n_srs; i++)
		if (strcmp(ova->srs[i].id, vdi->sr) == 0 &&
		    ova->srs[i].content_type &&
		    strcmp(ova->srs[i].content_type, "iso") == 0)
			return false;
	for (size_t i = 0; i < ova->n_vbds; i++) {
		const struct xva_ova_vbd *vbd = &ova->vbds[i];

		if (!vbd->vdi || strcmp(vbd->vdi, vdi->id) != 0)
			continue;
		if (vbd->type && strcmp(vbd->type, "CD") == 0)
			cd = true;
		else
			disk = true;
	}
	return disk || !cd;
}

/* Disks are written in string order of their prefix, so the VDIs that
 * sort after the disk the export was cut in never got their data: they
 * are served with nothing intact rather than left out. */
static enum xva_status add_unreached(struct xva *xva, struct xva_err *err)
{
	char *last = NULL;
	enum xva_status status = XVA_OK;

	if (!xva->ova)
		return XVA_OK;
	if (xva->map.current) {
		last = strdup(xva->map.current->prefix);
		if (!last)
			goto nomem;
	}
	for (size_t i = 0; i < xva->ova->n_vdis; i++) {
		const struct xva_ova_vdi *vdi = &xva->ova->vdis[i];

		if ((last && strcmp(vdi->id, last) <= 0) ||
		    xva_map_find(&xva->map, vdi->id) || is_reserved(vdi->id) ||
		    strchr(vdi->id, '/') || !vdi_has_data(xva->ova, vdi))
			continue;
		if (xva_map_add_unreached(&xva->map, vdi->id,
					  vdi->virtual_size, err) != XVA_MAP_OK) {
			status = XVA_ENOMEM;
			break;
		}
	}
	free(last);
	return status;
nomem:
	xva_err_set(err, "out of memory");
	return XVA_ENOMEM;
}

/* The index pass proper: walk the tar, build the map. */
static enum xva_status walk(struct xva *xva, struct xva_err *err)
{
	struct walk_ctx ctx = { xva, XVA_OK };

	xva->idx.cut_disk_pos = UINT64_MAX;
	xva->tar_status = xva_tar_walk(xva->fd, (uint64_t)xva->st.st_size,
				       on_member, &ctx, err);
	if (xva->tar_status == XVA_TAR_ECALLBACK)
		return ctx.status;
	if (xva->tar_status == XVA_TAR_ETRUNCATED) {
		/* Cut short: serve what is there; reads past it fail. */
		xva->idx.truncated = true;
		snprintf(xva->idx.truncation, sizeof(xva->idx.truncation), "%s",
			 err->msg);
		return XVA_OK;
	}
	if (xva->tar_status != XVA_TAR_OK)
		return xva->tar_status == XVA_TAR_ENOMEM ? XVA_ENOMEM
		       : xva->tar_status == XVA_TAR_EIO  ? XVA_EIO
							 : XVA_ETAR;
	return XVA_OK;
}

/* The index from the cache when it is valid, else from a walk (then
 * cached for next time). Cache trouble never fails the open: it is noted
 * in cache_note and the walk is done. */
static enum xva_status index_export(struct xva *xva, const char *cache_dir,
				    struct xva_err *err)
{
	enum xva_cache_status cs;
	enum xva_status st;
	struct xva_err note;

	if (cache_dir) {
		cs = xva_index_cache_load(cache_dir, xva->fd, &xva->st, &xva->map,
					  &xva->idx, &note);
		if (cs == XVA_CACHE_HIT) {
			xva->index_from_cache = true;
			return XVA_OK;
		}
		if (cs != XVA_CACHE_MISS)
			snprintf(xva->cache_note, sizeof(xva->cache_note), "%s",
				 note.msg);
		memset(&xva->idx, 0, sizeof(xva->idx));
	}
	st = walk(xva, err);
	if (st != XVA_OK || !cache_dir || xva->idx.members < XVA_CACHE_MIN_MEMBERS)
		return st;
	if (xva_index_cache_save(cache_dir, &xva->st, &xva->map, &xva->idx,
				 &note) != XVA_CACHE_HIT)
		snprintf(xva->cache_note, sizeof(xva->cache_note),
			 "cannot write the index cache: %.450s", note.msg);
	return XVA_OK;
}

/* Gives back what the extent arrays' doubling left unused. */
static void shrink(struct xva_diskmap *map)
{
	for (size_t i = 0; i < map->n_disks; i++) {
		struct xva_disk *d = &map->disks[i];
		struct xva_extent *e;

		if (d->n_extents == 0 || d->n_extents == d->cap_extents)
			continue;
		e = realloc(d->extents, d->n_extents * sizeof(*e));
		if (e) {
			d->extents = e;
			d->cap_extents = d->n_extents;
		}
	}
}

enum xva_status xva_open(const char *path,
			 const struct xva_open_options *options,
			 struct xva **out, struct xva_err *err)
{
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
	status = index_export(xva, options ? options->cache_dir : NULL, err);
	if (status != XVA_OK)
		goto fail;
	shrink(&xva->map);
	if (xva->idx.has_ova) {
		status = load_ova(xva, err);
		if (status != XVA_OK)
			goto fail;
	}
	status = size_disks(xva, err);
	if (status == XVA_OK && xva->idx.truncated)
		status = add_unreached(xva, err);
	if (status != XVA_OK)
		goto fail;
	if (xva_names_build(xva->ova, &xva->map, &xva->names, err) !=
	    XVA_NAMES_OK) {
		status = XVA_ENOMEM;
		goto fail;
	}
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
	if (xva->direct_fd >= 0)
		close(xva->direct_fd);
	for (size_t i = 0; xva->chunk_state && i < xva->map.n_disks; i++)
		free(xva->chunk_state[i]);
	free(xva->chunk_state);
	xva_names_free(xva->names, xva->map.n_disks);
	xva_map_free(&xva->map);
	xva_ovaxml_free(xva->ova);
	free(xva);
}

enum chunk_state { CHUNK_UNKNOWN = 0, CHUNK_GOOD, CHUNK_BAD };

static void member_range(const struct xva_disk *disk,
			 const struct xva_extent *e, char *buf, size_t len)
{
	char name[300];

	xva_disk_member_name(disk, e->number, name, sizeof(name));
	snprintf(buf, len, "disk %s, member %s (disk bytes %llu-%llu)",
		 disk->prefix, name, (unsigned long long)e->disk_off,
		 (unsigned long long)(e->disk_off + e->len - 1));
}

/* Checksum text from the file, made printable for messages. */
static void printable(const char *text, size_t len, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; i < len && i + 1 < outlen; i++)
		out[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
	out[i] = '\0';
}

/* Compares the text at CSUM_OFF (LEN bytes) with the one computed. */
static enum xva_verdict compare_text(const struct xva *xva,
				     enum xva_checksum_kind kind,
				     uint64_t csum_off, const char *computed,
				     const char *what, struct xva_err *err)
{
	size_t len = xva_checksum_text_len(kind);
	char stored[XVA_CHECKSUM_TEXT_MAX], shown[XVA_CHECKSUM_TEXT_MAX];

	if (xva_pread_full(xva->fd, stored, len, csum_off) < 0) {
		xva_err_set(err, "%s: cannot read its checksum at byte %llu: %s",
			    what, (unsigned long long)csum_off,
			    errno ? strerror(errno) : "the file ends early");
		return XVA_VERDICT_UNREADABLE;
	}
	/* XAPI compares the texts as exact strings; so does xvafs. */
	if (memcmp(stored, computed, len) != 0) {
		printable(stored, len, shown, sizeof(shown));
		xva_err_set(err, "%s: checksum mismatch: the data hashes to %s, "
			    "its .%s member says %s", what, computed,
			    xva_checksum_name(kind), shown);
		return XVA_VERDICT_MISMATCH;
	}
	return XVA_VERDICT_GOOD;
}

static enum xva_verdict no_checksum(const struct xva_disk *disk,
				    uint64_t number, const char *what,
				    struct xva_err *err)
{
	const struct xva_bad_checksum *bad = xva_disk_bad_checksum(disk, number);

	if (bad)
		xva_err_set(err, "%s: its .%s member holds %llu bytes, not the "
			    "%zu of a checksum text", what,
			    xva_checksum_name(disk->checksum_kind),
			    (unsigned long long)bad->len,
			    xva_checksum_text_len(disk->checksum_kind));
	else
		xva_err_set(err, "%s: no checksum member follows it", what);
	return XVA_VERDICT_NO_CHECKSUM;
}

enum xva_verdict xva_verify_extent(const struct xva *xva,
				   const struct xva_disk *disk, size_t idx,
				   void *buf, size_t buflen, struct xva_err *err)
{
	const struct xva_extent *e = &disk->extents[idx];
	char what[400], computed[XVA_CHECKSUM_TEXT_MAX];
	struct xva_hasher hasher;
	enum xva_verdict verdict = XVA_VERDICT_UNREADABLE;

	member_range(disk, e, what, sizeof(what));
	if (e->disk_off + e->len > disk->intact_end) {
		xva_err_set(err, "%s: the export is cut short inside it", what);
		return XVA_VERDICT_UNREADABLE;
	}
	if (disk->checksum_kind == XVA_CHECKSUM_NONE || e->csum_delta == 0 ||
	    xva_disk_bad_checksum(disk, e->number))
		return no_checksum(disk, e->number, what, err);
	if (xva_hasher_init(&hasher, disk->checksum_kind) != XVA_SUM_OK) {
		xva_err_set(err, "%s: cannot start hashing", what);
		goto out;
	}
	for (uint64_t done = 0; done < e->len; ) {
		size_t n = e->len - done < buflen ? (size_t)(e->len - done) : buflen;

		if (xva_pread_full(xva->fd, buf, n, e->file_off + done) < 0) {
			xva_err_set(err, "%s: cannot read byte %llu: %s", what,
				    (unsigned long long)(e->file_off + done),
				    errno ? strerror(errno) : "the file ends early");
			goto out;
		}
		if (xva_hasher_update(&hasher, buf, n) != XVA_SUM_OK) {
			xva_err_set(err, "%s: hashing failed", what);
			goto out;
		}
		done += n;
	}
	if (xva_hasher_final(&hasher, computed) != XVA_SUM_OK) {
		xva_err_set(err, "%s: hashing failed", what);
		goto out;
	}
	verdict = compare_text(xva, disk->checksum_kind,
			       e->file_off + e->csum_delta, computed, what, err);
out:
	xva_hasher_free(&hasher);
	return verdict;
}

enum xva_verdict xva_verify_keepalive(const struct xva *xva,
				      const struct xva_disk *disk, size_t idx,
				      struct xva_err *err)
{
	const struct xva_keepalive *ka = &disk->keepalive_list[idx];
	char what[400], name[300], computed[XVA_CHECKSUM_TEXT_MAX];
	struct xva_hasher hasher;
	enum xva_sum_status st;

	xva_disk_member_name(disk, ka->number, name, sizeof(name));
	snprintf(what, sizeof(what), "disk %s, keep-alive member %s (at disk "
		 "byte %llu)", disk->prefix, name,
		 (unsigned long long)ka->disk_off);
	if (disk->checksum_kind == XVA_CHECKSUM_NONE || ka->csum_off == 0) {
		xva_err_set(err, "%s: no checksum member follows it", what);
		return XVA_VERDICT_NO_CHECKSUM;
	}
	if (ka->csum_len != xva_checksum_text_len(disk->checksum_kind)) {
		xva_err_set(err, "%s: its .%s member holds %llu bytes, not the "
			    "%zu of a checksum text", what,
			    xva_checksum_name(disk->checksum_kind),
			    (unsigned long long)ka->csum_len,
			    xva_checksum_text_len(disk->checksum_kind));
		return XVA_VERDICT_NO_CHECKSUM;
	}
	st = xva_hasher_init(&hasher, disk->checksum_kind);
	if (st == XVA_SUM_OK)
		st = xva_hasher_final(&hasher, computed);
	xva_hasher_free(&hasher);
	if (st != XVA_SUM_OK) {
		xva_err_set(err, "%s: hashing failed", what);
		return XVA_VERDICT_UNREADABLE;
	}
	return compare_text(xva, disk->checksum_kind, ka->csum_off, computed,
			    what, err);
}

enum xva_status xva_enable_verify(struct xva *xva, struct xva_err *err)
{
	bool any = false;

	for (size_t i = 0; i < xva->map.n_disks; i++)
		any = any || xva->map.disks[i].checksum_kind != XVA_CHECKSUM_NONE;
	if (!any) {
		xva_err_set(err, "the export has no checksum members to verify "
			    "chunks against");
		return XVA_ECORRUPT;
	}
	xva->chunk_state = calloc(xva->map.n_disks, sizeof(*xva->chunk_state));
	if (!xva->chunk_state)
		goto nomem;
	for (size_t i = 0; i < xva->map.n_disks; i++) {
		xva->chunk_state[i] = calloc(xva->map.disks[i].n_extents + 1, 1);
		if (!xva->chunk_state[i])
			goto nomem;
	}
	return XVA_OK;
nomem:
	xva_err_set(err, "out of memory");
	return XVA_ENOMEM;
}

/* Verifies extent IDX of DISK the first time it is read. Threads may race
 * to verify the same chunk; the result is the same, and only the thread
 * that marks it bad reports it. */
static enum xva_status check_chunk(const struct xva *xva,
				   const struct xva_disk *disk, size_t idx,
				   struct xva_err *err)
{
	unsigned char *state = &xva->chunk_state[disk - xva->map.disks][idx];
	unsigned char expected = CHUNK_UNKNOWN;
	enum xva_verdict verdict;
	size_t buflen = disk->extents[idx].len < (1u << 20)
				? disk->extents[idx].len : (1u << 20);
	void *buf;

	switch (__atomic_load_n(state, __ATOMIC_ACQUIRE)) {
	case CHUNK_GOOD:
		return XVA_OK;
	case CHUNK_BAD:
		err->msg[0] = '\0'; /* reported when it was found */
		return XVA_ECORRUPT;
	}
	buf = malloc(buflen);
	if (!buf) {
		xva_err_set(err, "out of memory");
		return XVA_ENOMEM;
	}
	verdict = xva_verify_extent(xva, disk, idx, buf, buflen, err);
	free(buf);
	if (verdict == XVA_VERDICT_GOOD) {
		__atomic_store_n(state, CHUNK_GOOD, __ATOMIC_RELEASE);
		return XVA_OK;
	}
	if (verdict == XVA_VERDICT_UNREADABLE)
		return XVA_EIO;
	if (!__atomic_compare_exchange_n(state, &expected, CHUNK_BAD, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		err->msg[0] = '\0';
	return XVA_ECORRUPT;
}

/* Clips a read to the disk and checks it lies in the intact part. */
static enum xva_status clip_read(const struct xva_disk *disk, size_t *len,
				 uint64_t off, struct xva_err *err)
{
	uint64_t end;

	if (off >= disk->size) {
		*len = 0;
		return XVA_OK;
	}
	if (*len > disk->size - off)
		*len = (size_t)(disk->size - off);
	end = off + *len;
	if (end > disk->intact_end) {
		xva_err_set(err, "disk %s: bytes %llu-%llu lie past byte %llu, "
			    "where the truncated export's data for it ends",
			    disk->prefix, (unsigned long long)off,
			    (unsigned long long)(end - 1),
			    (unsigned long long)disk->intact_end);
		return XVA_ECUT;
	}
	return XVA_OK;
}

enum xva_status xva_read_segments(const struct xva *xva,
				  const struct xva_disk *disk, size_t len,
				  uint64_t off, xva_segment_fn fn, void *ctx,
				  size_t *done, struct xva_err *err)
{
	struct xva_segment seg = { 0, 0, 0, true };
	enum xva_status st;
	uint64_t pos, end;
	size_t first, i;

	*done = 0;
	st = clip_read(disk, &len, off, err);
	if (st != XVA_OK || len == 0)
		return st;
	end = off + len;
	first = xva_disk_extent_at(disk, off);
	/* Every chunk the read touches is checked before any byte goes out. */
	for (i = first; xva->chunk_state && i < disk->n_extents &&
			disk->extents[i].disk_off < end; i++) {
		st = check_chunk(xva, disk, i, err);
		if (st != XVA_OK)
			return st;
	}
	for (pos = off, i = first; pos < end; ) {
		const struct xva_extent *e = i < disk->n_extents
						     ? &disk->extents[i] : NULL;
		struct xva_segment next;

		if (e && e->disk_off <= pos) {
			uint64_t skip = pos - e->disk_off;

			next.zero = false;
			next.number = e->number;
			next.file_off = e->file_off + skip;
			next.len = e->len - skip;
			i++;
		} else {
			next.zero = true;
			next.number = 0;
			next.file_off = 0;
			next.len = (e && e->disk_off < end ? e->disk_off : end) - pos;
		}
		if (next.len > end - pos)
			next.len = end - pos;
		pos += next.len;
		if (seg.len && seg.zero && next.zero) {
			seg.len += next.len;
			continue;
		}
		if (seg.len && fn(ctx, &seg) != 0)
			goto failed;
		seg = next;
	}
	if (seg.len && fn(ctx, &seg) != 0)
		goto failed;
	*done = len;
	return XVA_OK;
failed:
	if (!err->msg[0])
		xva_err_set(err, "disk %s: read of %zu bytes at byte %llu failed",
			    disk->prefix, len, (unsigned long long)off);
	return XVA_EIO;
}

struct copy_ctx {
	const struct xva *xva;
	const struct xva_disk *disk;
	char *out;
	struct xva_err *err;
	bool direct;
};

/* O_DIRECT needs offsets, lengths and memory aligned to the device's
 * logical block; EINVAL means this segment is not, and the page cache
 * serves it. */
static int pread_direct(const struct xva *xva, void *buf, size_t len,
			uint64_t off)
{
	ssize_t n;

	do
		n = pread(xva->direct_fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		return xva_pread_full(xva->fd, (char *)buf + n, len - (size_t)n,
				   off + (uint64_t)n);
	if (errno == EINVAL)
		return xva_pread_full(xva->fd, buf, len, off);
	return -1;
}

static int copy_segment(void *vctx, const struct xva_segment *seg)
{
	struct copy_ctx *c = vctx;

	if (seg->zero) {
		memset(c->out, 0, (size_t)seg->len);
	} else if ((c->direct ? pread_direct(c->xva, c->out, (size_t)seg->len,
					     seg->file_off)
			      : xva_pread_full(c->xva->fd, c->out, (size_t)seg->len,
					    seg->file_off)) < 0) {
		char name[300];

		xva_disk_member_name(c->disk, seg->number, name, sizeof(name));
		xva_err_set(c->err, "member %s: cannot read %llu bytes at byte "
			    "%llu of the export: %s", name,
			    (unsigned long long)seg->len,
			    (unsigned long long)seg->file_off,
			    errno ? strerror(errno) : "the file is now shorter");
		return -1;
	}
	c->out += seg->len;
	return 0;
}

enum xva_status xva_read(const struct xva *xva, const struct xva_disk *disk,
			 void *buf, size_t len, uint64_t off, size_t *done,
			 struct xva_err *err)
{
	struct copy_ctx c = { xva, disk, buf, err, false };

	err->msg[0] = '\0';
	return xva_read_segments(xva, disk, len, off, copy_segment, &c, done,
				 err);
}

enum xva_status xva_read_direct(const struct xva *xva,
				const struct xva_disk *disk, void *buf,
				size_t len, uint64_t off, size_t *done,
				struct xva_err *err)
{
	struct copy_ctx c = { xva, disk, buf, err, xva->direct_fd >= 0 };

	err->msg[0] = '\0';
	return xva_read_segments(xva, disk, len, off, copy_segment, &c, done,
				 err);
}

enum xva_status xva_open_direct(struct xva *xva, struct xva_err *err)
{
	char path[64];

	/* A new open file description of the very same file, whatever
	 * happened to its name since. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", xva->fd);
	xva->direct_fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (xva->direct_fd < 0) {
		xva_err_set(err, "cannot open the export with O_DIRECT: %s",
			    strerror(errno));
		return XVA_EOPEN;
	}
	return XVA_OK;
}

enum xva_status xva_read_ova(const struct xva *xva, void *buf, size_t len,
			     uint64_t off, size_t *done, struct xva_err *err)
{
	*done = 0;
	if (off >= xva->idx.ova_len)
		return XVA_OK;
	if (len > xva->idx.ova_len - off)
		len = (size_t)(xva->idx.ova_len - off);
	if (xva_pread_full(xva->fd, buf, len, xva->idx.ova_off + off) < 0) {
		xva_err_set(err, "ova.xml: cannot read byte %llu: %s",
			    (unsigned long long)(xva->idx.ova_off + off),
			    errno ? strerror(errno) : "the file is now shorter");
		return XVA_EIO;
	}
	*done = len;
	return XVA_OK;
}
