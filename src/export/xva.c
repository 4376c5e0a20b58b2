/* xva_open(): the source, the index (from the cache or one walk), ova.xml,
 * the disks' sizes and names, in that order. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "source/source.h"
#include "export/indexcache.h"
#include "export/members.h"
#include "export/notexport.h"
#include "export/tarindex.h"
#include "xvafs/verify.h"
#include "xvafs/xva.h"

struct walk_ctx {
	struct xva *xva;
};

static enum xva_status on_member(void *vctx, const struct xva_tar_member *m,
				 struct xva_err *err)
{
	struct walk_ctx *ctx = vctx;
	struct xva_diskmap *map = &ctx->xva->map;
	struct xva_index_facts *idx = &ctx->xva->idx;
	struct xva_member_name mn;
	enum xva_status st;

	idx->members++;
	if (ctx->xva->stop && *ctx->xva->stop)
		return xva_fail(err, XVA_EINTR, "interrupted while indexing, at "
				"member %llu", (unsigned long long)idx->members);
	st = xva_member_classify(m->name, m->is_dir, m->header_off, &mn, err);
	if (st != XVA_OK)
		return st;
	switch (mn.kind) {
	case XVA_MEMBER_IGNORED:
		return XVA_OK;
	case XVA_MEMBER_OVA_XML:
		if (idx->has_ova)
			return xva_fail_why(err, XVA_EFORMAT, XVA_R_MEMBER_NAME,
					    "second ova.xml member at byte %llu",
					    (unsigned long long)m->header_off);
		idx->has_ova = true;
		idx->ova_cut = m->available < m->size;
		idx->ova_off = m->data_off;
		idx->ova_len = m->size;
		return XVA_OK;
	case XVA_MEMBER_CHECKSUM:
	case XVA_MEMBER_STRAY:
		/* A checksum cut short is no checksum at all. */
		if (m->available < m->size)
			return XVA_OK;
		return xva_map_add_checksum(map, mn.prefix, mn.number,
					    mn.kind == XVA_MEMBER_CHECKSUM
						    ? mn.checksum
						    : XVA_CHECKSUM_NONE,
					    m->data_off, m->size, err);
	case XVA_MEMBER_CHUNK:
		break;
	}
	st = xva_map_add_chunk(map, mn.prefix, mn.number, mn.width, m->data_off,
			       m->size, err);
	if (st == XVA_OK && m->available < m->size) {
		const struct xva_disk *disk = map->current;

		idx->cut_disk_pos = disk->n_extents
			? disk->extents[disk->n_extents - 1].disk_off + m->available
			: disk->data_end;
	}
	return st;
}

static enum xva_status load_ova(struct xva *xva, struct xva_err *err)
{
	enum xva_status st;
	char *buf;

	if (xva->idx.ova_cut)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_CUT,
				    "the export is cut short inside ova.xml: %s",
				    xva->idx.truncation);
	if (xva->idx.ova_len > XVA_OVA_XML_MAX)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVA_VALUE,
				    "ova.xml is %llu bytes; an export's metadata "
				    "is never above %u MiB",
				    (unsigned long long)xva->idx.ova_len,
				    XVA_OVA_XML_MAX >> 20);
	buf = malloc(xva->idx.ova_len + 1);
	if (!buf)
		return xva_nomem(err);
	st = xva_source_read_full(xva->src, buf, xva->idx.ova_len,
				  xva->idx.ova_off, "ova.xml", err);
	if (st == XVA_OK)
		st = xva_ovaxml_parse(buf, xva->idx.ova_len, &xva->ova, err);
	free(buf);
	return st;
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
		enum xva_status st;

		st = xva_disk_set_size(disk, vdi && vdi->has_virtual_size,
				       vdi ? vdi->virtual_size : 0, cut,
				       cut ? xva->idx.cut_disk_pos : UINT64_MAX,
				       err);
		if (st != XVA_OK)
			return st;
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
	enum xva_status st = XVA_OK;

	if (!xva->ova)
		return XVA_OK;
	if (xva->map.current) {
		last = strdup(xva->map.current->prefix);
		if (!last)
			return xva_nomem(err);
	}
	for (size_t i = 0; i < xva->ova->n_vdis && st == XVA_OK; i++) {
		const struct xva_ova_vdi *vdi = &xva->ova->vdis[i];

		if ((last && strcmp(vdi->id, last) <= 0) ||
		    xva_map_find(&xva->map, vdi->id) ||
		    xva_name_is_reserved(vdi->id) || strchr(vdi->id, '/') ||
		    !vdi_has_data(xva->ova, vdi))
			continue;
		st = xva_map_add_unreached(&xva->map, vdi->id,
					   vdi->virtual_size, err);
	}
	free(last);
	return st;
}

/* Why a file is not a tar: another kind of image, or, given without a
 * key, a backup Xen Orchestra encrypted (said with what to give). An
 * encrypted file that does not decrypt into a tar is damaged, or another
 * repository's (its tag will say which). */
static void explain_not_tar(struct xva *xva, struct xva_err *err)
{
	unsigned char head[1024];
	struct xva_crypt_guess guess;
	struct xva_err ignored;
	char msg[XVA_ERR_MAX];
	enum xva_reason tar_reason = err->reason;
	size_t got = 0;

	if (xva->crypt_alg != XVA_CRYPT_NONE) {
		struct xva_err tar = *err;

		xva_fail_why(err, err->status, err->reason, "%.300s (the file "
			     "was decrypted with the key given: it is damaged)",
			     tar.msg);
		return;
	}
	xva_explain_not_export(xva->src, err);
	if (xva_source_read(xva->src, head, sizeof(head), 0, &got,
			    &ignored) != XVA_OK)
		return;
	xva_crypt_guess(xva->src->location, head, got, NULL, &guess);
	if (guess.kind == XVA_CRYPT_GUESS_NO)
		return;
	xva_crypt_guess_message(&guess, xva->src->location, xva->key_how ?
				xva->key_how : "the repository's encryption key",
				msg, sizeof(msg));
	/* In its repository it is known for what it is; bytes that only
	 * look random may be anything, so what the tar reader said stays. */
	if (guess.kind == XVA_CRYPT_GUESS_REPO) {
		xva_fail_why(err, err->status, tar_reason, "%s", msg);
	} else {
		struct xva_err tar = *err;

		xva_fail_why(err, err->status, err->reason, "%.300s; %s",
			     tar.msg, msg);
	}
}

/* The index pass proper: walk the tar, build the map; for a compressed
 * source it is also the pass that makes its own index. */
static enum xva_status walk(struct xva *xva, struct xva_err *err)
{
	struct walk_ctx ctx = { xva };
	enum xva_status st;

	xva->idx.cut_disk_pos = UINT64_MAX;
	st = xva_tar_walk(xva->src, on_member, &ctx, err);
	if (st == XVA_EFORMAT && err->reason == XVA_R_NOT_TAR)
		explain_not_tar(xva, err);
	if (st == XVA_ETRUNCATED) {
		/* Cut short: serve what is there; reads past it fail. */
		xva->idx.truncated = true;
		snprintf(xva->idx.truncation, sizeof(xva->idx.truncation), "%s",
			 err->msg);
		st = XVA_OK;
	}
	if (st == XVA_OK)
		st = xva_source_finish_pass(xva->src, err);
	return st;
}

/* The index from the cache when it is valid, else from a walk (then
 * cached for next time). Cache trouble never fails the open: it is noted
 * in cache_note and the walk is done. */
static enum xva_status index_export(struct xva *xva, const char *cache_dir,
				    bool load_cache, struct xva_err *err)
{
	struct xva_err note;
	enum xva_status st;

	if (cache_dir && load_cache && !xva->src->in_pass) {
		st = xva_index_cache_load(cache_dir, xva->src, &xva->map,
					  &xva->idx, &note);
		if (st == XVA_OK) {
			xva->index_from_cache = true;
			return XVA_OK;
		}
		if (st != XVA_EOPEN)
			snprintf(xva->cache_note, sizeof(xva->cache_note), "%s",
				 note.msg);
		memset(&xva->idx, 0, sizeof(xva->idx));
	}
	st = walk(xva, err);
	/* A small local export indexes faster than its cache is checked;
	 * anything else (compressed: a whole pass; remote: round trips) is
	 * always worth caching. */
	if (st != XVA_OK || !cache_dir ||
	    (xva->idx.members < XVA_CACHE_MIN_MEMBERS && xva->src->fd >= 0))
		return st;
	if (xva_index_cache_save(cache_dir, xva->src, &xva->map, &xva->idx,
				 &note) != XVA_OK)
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

/* A stream that failed its own checksum may hold wrong bytes anywhere:
 * each chunk is then checked against its own checksum before it is
 * served, as with -o verify. */
static enum xva_status guard_damaged_stream(struct xva *xva,
					    struct xva_err *err)
{
	if (!xva->src->stream_damaged || xva_verify_enabled(xva))
		return XVA_OK;
	for (size_t i = 0; i < xva->map.n_disks; i++)
		if (xva->map.disks[i].checksum_kind != XVA_CHECKSUM_NONE)
			return xva_enable_verify(xva, err);
	return XVA_OK;
}

/* Whether the first MiB of SRC (all of it when smaller) is zeros: what
 * an empty tar reads as. A filesystem image also starts with zeros (ext4's
 * first KiB), and is not said to be "all zeros". */
static bool starts_with_zeros_only(struct xva_source *src)
{
	static unsigned char buf[1 << 20];
	static pthread_mutex_t buf_lock = PTHREAD_MUTEX_INITIALIZER;
	struct xva_err ignored;
	size_t got = 0;
	bool zeros = true;

	/* On the failure path only: a static buffer keeps 1 MiB off the
	 * stack; the lock covers two opens at once (the nbdkit plugin). */
	pthread_mutex_lock(&buf_lock);
	if (xva_source_read(src, buf, sizeof(buf), 0, &got, &ignored) == XVA_OK)
		for (size_t i = 0; i < got && zeros; i++)
			zeros = buf[i] == 0;
	pthread_mutex_unlock(&buf_lock);
	return zeros;
}

/* The source, the index, ova.xml and the disks' sizes: everything that
 * reads the export, or depends on what its index says, before it is
 * served. INDEX_CACHE: the index may come from the index cache. */
static enum xva_status read_structure(struct xva *xva, const char *location,
				      const struct xva_source_options *so,
				      bool index_cache, struct xva_err *err)
{
	enum xva_status st;

	st = xva_source_open(location, so, &xva->src, err);
	if (st != XVA_OK)
		return st;
	st = index_export(xva, so->cache_dir, index_cache, err);
	if (st != XVA_OK)
		return st;
	shrink(&xva->map);
	if (!xva->idx.has_ova && xva->map.n_disks == 0) {
		xva_fail_why(err, XVA_EFORMAT, XVA_R_NO_EXPORT, "not an "
			     "export: the tar holds neither ova.xml nor any "
			     "disk data%s", xva->idx.members ? ""
			     : starts_with_zeros_only(xva->src)
				     ? " (it is empty or all zeros)"
				     : " (it starts with zeros, which end a "
				       "tar, and holds data after them)");
		/* Images that start with zeros (ISO 9660, a fixed VHD)
		 * read as an empty tar. */
		if (xva->idx.members == 0)
			xva_explain_not_export(xva->src, err);
		return XVA_EFORMAT;
	}
	if (xva->idx.has_ova)
		st = load_ova(xva, err);
	if (st == XVA_OK)
		st = size_disks(xva, err);
	if (st == XVA_OK && xva->idx.truncated)
		st = add_unreached(xva, err);
	return st;
}

/* Undoes read_structure for another try. */
static void forget_structure(struct xva *xva)
{
	xva_ovaxml_free(xva->ova);
	xva->ova = NULL;
	xva_map_free(&xva->map);
	xva_map_init(&xva->map);
	memset(&xva->idx, 0, sizeof(xva->idx));
	xva->index_from_cache = false;
	xva_source_close(xva->src);
	xva->src = NULL;
}

/* Whether the source served from an index or chunk cache it saved before
 * (a compressed stream's): a failure reading through it may be that
 * file's damage, which a fresh pass over the export itself does not have. */
static bool used_saved_index(const struct xva *xva)
{
	struct xva_source_info info;

	if (!xva->src)
		return false;
	xva_source_info(xva->src, &info);
	return info.index_loaded;
}

/* The export's repository key: found above LOCATION and checked there,
 * or given with its cipher by the caller. SO gets them. */
static enum xva_status set_key(struct xva *xva, const char *location,
			       const struct xva_open_options *options,
			       struct xva_source_options *so,
			       struct xva_err *err)
{
	char repo[4096];
	enum xva_crypt_alg alg;
	enum xva_status st;

	if (so->crypt_key && so->crypt_alg != XVA_CRYPT_NONE) {
		xva->crypt_alg = so->crypt_alg;
		return XVA_OK;
	}
	so->crypt_key = NULL;
	so->crypt_alg = XVA_CRYPT_NONE;
	if (!options || !options->key)
		return XVA_OK;
	st = xva_xo_find_repo(location, so, repo, sizeof(repo), &alg, err);
	if (st == XVA_EOPEN && options->key_if_needed)
		return XVA_OK;
	if (st == XVA_EOPEN) {
		struct xva_err why = *err;

		return xva_fail(err, XVA_EINVAL, "a key was given, but %.300s",
				why.msg);
	}
	if (st == XVA_OK)
		st = xva_xo_repo_check_key(repo, options->key, so, &alg, err);
	if (st != XVA_OK)
		return st;
	xva->crypt_repo = strdup(repo);
	if (!xva->crypt_repo)
		return xva_nomem(err);
	xva->crypt_alg = alg;
	so->crypt_key = options->key;
	so->crypt_alg = alg;
	return XVA_OK;
}

enum xva_status xva_open(const char *location,
			 const struct xva_open_options *options,
			 struct xva **out, struct xva_err *err)
{
	struct xva_source_options so = { .s3_path_style = -1 };
	const char *cache_dir = options ? options->cache_dir : NULL;
	enum xva_status st;
	struct xva *xva;

	*out = NULL;
	if (options)
		so = options->source;
	so.cache_dir = cache_dir;
	xva = calloc(1, sizeof(*xva));
	if (!xva)
		return xva_nomem(err);
	xva_map_init(&xva->map);
	xva->stop = so.stop;
	xva->key_how = options ? options->key_how : NULL;
	st = set_key(xva, location, options, &so, err);
	if (st != XVA_OK)
		goto fail;
	st = read_structure(xva, location, &so, true, err);
	if (st != XVA_OK && st != XVA_EINTR &&
	    (used_saved_index(xva) || xva->index_from_cache)) {
		/* Never trusted: rebuilt from the export, once (without the
		 * source's saved index too when it was used). */
		snprintf(xva->cache_note, sizeof(xva->cache_note),
			 "the saved index was unusable and has been rebuilt: "
			 "%.400s", err->msg);
		if (used_saved_index(xva))
			so.fresh_pass = true;
		forget_structure(xva);
		st = read_structure(xva, location, &so, false, err);
	}
	if (st == XVA_OK)
		st = xva_names_build(xva->ova, &xva->map, &xva->names, err);
	if (st == XVA_OK)
		st = guard_damaged_stream(xva, err);
	if (st != XVA_OK)
		goto fail;
	*out = xva;
	return XVA_OK;
fail:
	xva_close(xva);
	return st;
}

void xva_close(struct xva *xva)
{
	if (!xva)
		return;
	xva_verify_free(xva);
	xva_names_free(xva->names, xva->map.n_disks);
	xva_map_free(&xva->map);
	xva_ovaxml_free(xva->ova);
	xva_source_close(xva->src);
	free(xva->crypt_repo);
	free(xva);
}

const struct xva_disk *xva_find_disk(const struct xva *xva, const char *name)
{
	const struct xva_disk *d = xva_map_find(&xva->map, name);

	for (size_t i = 0; !d && i < xva->map.n_disks; i++)
		if (xva->names[i].device &&
		    strcmp(xva->names[i].device, name) == 0)
			d = &xva->map.disks[i];
	for (size_t i = 0; !d && i < xva->map.n_disks; i++)
		if (xva->names[i].label && strcmp(xva->names[i].label, name) == 0)
			d = &xva->map.disks[i];
	return d;
}

size_t xva_disk_index(const struct xva *xva, const struct xva_disk *disk)
{
	return (size_t)(disk - xva->map.disks);
}

const char *xva_stream_warning(const struct xva *xva)
{
	/* The crypt source's only warning is that it is not authenticated,
	 * which xva_crypt_state() tells (and --verify may change). */
	if (xva_source_crypt_of(xva->src) == xva->src)
		return "";
	return xva->src->warning;
}

bool xva_stream_damaged(const struct xva *xva)
{
	return xva->src->stream_damaged;
}

uint64_t xva_tar_size(const struct xva *xva)
{
	return xva->src->size;
}

void xva_info(const struct xva *xva, struct xva_source_info *info)
{
	struct xva_source *crypt = xva_source_crypt_of(xva->src);
	struct xva_source_info below;

	xva_source_info(xva->src, info);
	if (!crypt)
		return;
	/* The crypt source names itself by its cipher, over its raw kind:
	 * told apart here from the compression and the transport. */
	xva_source_info(crypt, &below);
	info->encryption = below.kind;
	info->authentication = xva_crypt_auth_name(
		xva_crypt_auth_state(crypt, NULL, 0));
	if (crypt == xva->src) {
		info->kind = below.over;
		info->over = NULL;
	} else {
		info->over = below.over;
	}
}

struct timespec xva_mtime(const struct xva *xva)
{
	return xva->src->mtime;
}

int xva_direct_errno(const struct xva *xva)
{
	return xva->src->fd >= 0 && xva->src->direct_fd < 0
		       ? xva->src->direct_errno : 0;
}

bool xva_is_export_file(const struct xva *xva, dev_t dev, ino_t ino)
{
	struct stat own;

	return xva->src->fd >= 0 && fstat(xva->src->fd, &own) == 0 &&
	       own.st_dev == dev && own.st_ino == ino;
}

void xva_advise_sequential(const struct xva *xva)
{
	if (xva->src->fd >= 0)
		posix_fadvise(xva->src->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
}

enum xva_crypt_auth xva_crypt_state(const struct xva *xva, char *note,
				    size_t note_len)
{
	if (note && note_len)
		note[0] = '\0';
	return xva_crypt_auth_state(xva_source_crypt_of(xva->src), note,
				    note_len);
}

enum xva_status xva_authenticate(struct xva *xva, struct xva_err *err)
{
	struct xva_source *crypt = xva_source_crypt_of(xva->src);

	if (!crypt)
		return xva_fail(err, XVA_EINVAL, "the export is not encrypted");
	return xva_crypt_authenticate(crypt, err);
}

void xva_open_before_fork(struct xva *xva)
{
	xva_source_before_fork(xva->src);
}

void xva_open_after_fork(struct xva *xva)
{
	xva_source_after_fork(xva->src);
}
