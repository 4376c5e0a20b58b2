#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "xvafs/atomicfile.h"
#include "xvafs/cachefile.h"
#include "export/indexcache.h"

#define MAGIC "XVAFSIX2"
#define FORMAT_VERSION 2u
#define ENDIAN_MARK 0x01020304u
#define SAMPLE_HEADERS 16
#define CACHE_FILE_MAX (1ull << 32)
#define IDENTITY_MAX 4096u
#define TAR_BLOCK 512u

_Static_assert(sizeof(struct xva_extent) == 32, "extents are stored raw");
_Static_assert(sizeof(struct xva_keepalive) == 32, "keep-alives are stored raw");
_Static_assert(sizeof(struct xva_bad_checksum) == 16, "stored raw");

/* --- writing --- */

/* A stream to the cache file that hashes what it writes. */
struct out {
	FILE *f;
	XXH64_state_t *hash;
	bool failed;
};

static void put(struct out *o, const void *data, size_t len)
{
	if (o->failed || len == 0)
		return;
	if (fwrite(data, 1, len, o->f) != len) {
		o->failed = true;
		return;
	}
	XXH64_update(o->hash, data, len);
}

static void put_u64(struct out *o, uint64_t v) { put(o, &v, sizeof(v)); }
static void put_u32(struct out *o, uint32_t v) { put(o, &v, sizeof(v)); }

static void put_string(struct out *o, const char *s)
{
	put_u32(o, (uint32_t)strlen(s));
	put(o, s, strlen(s));
}

static void serialize(struct out *o, const char *identity,
		      const struct xva_diskmap *map,
		      const struct xva_index_facts *f)
{
	put(o, MAGIC, 8);
	put_u32(o, FORMAT_VERSION);
	put_u32(o, ENDIAN_MARK);
	put_string(o, identity);
	put_u64(o, f->members);
	put_u32(o, (uint32_t)f->has_ova | (uint32_t)f->ova_cut << 1 |
		   (uint32_t)f->truncated << 2);
	put_u64(o, f->ova_off);
	put_u64(o, f->ova_len);
	put_u64(o, f->cut_disk_pos);
	put_string(o, f->truncation);
	put_u64(o, map->n_disks);
	for (size_t i = 0; i < map->n_disks; i++) {
		const struct xva_disk *d = &map->disks[i];

		put_string(o, d->prefix);
		put_u64(o, d->data_end);
		put_u64(o, d->block);
		put_u64(o, d->bytes_present);
		put_u64(o, d->members);
		put_u64(o, d->keepalives);
		put_u64(o, d->last_number);
		put_u64(o, d->n_checksums);
		put_u64(o, d->stray_checksums);
		put_u64(o, d->first_stray_off);
		put_u32(o, (uint32_t)d->number_width);
		put_u32(o, (uint32_t)d->checksum_kind);
		put_u32(o, d->last_has_checksum);
		put_u64(o, d->n_extents);
		put(o, d->extents, d->n_extents * sizeof(*d->extents));
		put(o, d->keepalive_list, d->keepalives * sizeof(*d->keepalive_list));
		put_u64(o, d->n_bad_checksums);
		put(o, d->bad_checksums,
		    d->n_bad_checksums * sizeof(*d->bad_checksums));
	}
	if (!o->failed) {
		/* The trailer: the hash of everything before it. */
		uint64_t sum = XXH64_digest(o->hash);

		if (fwrite(&sum, 1, sizeof(sum), o->f) != sizeof(sum))
			o->failed = true;
	}
}

enum xva_status xva_index_cache_save(const char *dir,
				     const struct xva_source *src,
				     const struct xva_diskmap *map,
				     const struct xva_index_facts *facts,
				     struct xva_err *err)
{
	struct out o = { NULL, NULL, false };
	char *path = NULL, *tmp = NULL;
	enum xva_status status;
	int fd = -1;

	path = xva_cache_path(dir, src->identity, "idx");
	o.hash = XXH64_createState();
	if (!path || !o.hash || XXH64_reset(o.hash, 0) != XXH_OK) {
		status = xva_nomem(err);
		goto out;
	}
	status = xva_cache_mkdir(dir, err);
	if (status == XVA_OK)
		status = xva_atomic_file_create(path, &tmp, &fd, err);
	if (status != XVA_OK)
		goto out;
	o.f = fdopen(fd, "wb");
	if (!o.f) {
		status = xva_fail(err, XVA_EIO, "cannot write %s: %s", tmp,
				  strerror(errno));
		goto out;
	}
	serialize(&o, src->identity, map, facts);
	if (fflush(o.f) != 0)
		o.failed = true;
	if (o.failed) {
		status = xva_fail(err, errno == ENOSPC ? XVA_ENOSPC : XVA_EIO,
				  "cannot write %s: %s", tmp,
				  errno ? strerror(errno) : "short write");
		goto out;
	}
	/* Written whole, then renamed: readers see the old file or the new. */
	status = xva_atomic_file_commit(fd, tmp, path, err);
	if (status == XVA_OK) {
		free(tmp);
		tmp = NULL;
	}
out:
	if (o.f)
		fclose(o.f);
	else if (fd >= 0)
		close(fd);
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	XXH64_freeState(o.hash);
	return status;
}

/* --- reading --- */

/* A stream from the cache file that hashes what it reads, and never reads
 * past the trailer. */
struct in {
	FILE *f;
	XXH64_state_t *hash;
	uint64_t left; /* bytes before the trailer */
	bool bad;
};

static void get(struct in *in, void *data, size_t len)
{
	if (in->bad || len > in->left || fread(data, 1, len, in->f) != len) {
		in->bad = true;
		memset(data, 0, len);
		return;
	}
	in->left -= len;
	XXH64_update(in->hash, data, len);
}

static uint64_t get_u64(struct in *in) { uint64_t v; get(in, &v, sizeof(v)); return v; }
static uint32_t get_u32(struct in *in) { uint32_t v; get(in, &v, sizeof(v)); return v; }

static char *get_string(struct in *in, size_t max)
{
	uint32_t len = get_u32(in);
	char *s;

	if (in->bad || len > max || len > in->left) {
		in->bad = true;
		return NULL;
	}
	s = malloc((size_t)len + 1);
	if (!s) {
		in->bad = true;
		return NULL;
	}
	get(in, s, len);
	s[len] = '\0';
	return s;
}

/* Allocates and reads COUNT raw records of SIZE bytes. */
static void *get_array(struct in *in, uint64_t count, size_t size)
{
	void *a;

	if (in->bad || count > in->left / size) {
		in->bad = true;
		return NULL;
	}
	a = malloc(count ? (size_t)count * size : 1);
	if (!a) {
		in->bad = true;
		return NULL;
	}
	get(in, a, (size_t)count * size);
	return a;
}

static bool prefix_ok(const char *p)
{
	if (!p[0] || strcmp(p, ".") == 0 || strcmp(p, "..") == 0)
		return false;
	for (; *p; p++)
		if (*p == '/' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Whether LEN bytes at OFF lie inside SIZE bytes, without wrapping. */
static bool inside(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* The map's invariants, so a damaged or forged cache cannot make reads go
 * anywhere the index pass would not have sent them: every extent's bytes
 * lie in the tar (only the last extent of the last disk may run past its
 * end, in an export cut short, and even it starts inside it). */
static bool disk_ok(const struct xva_disk *d, uint64_t tar_size, bool last)
{
	uint64_t present = 0, end = 0, number = 0;
	size_t text = xva_checksum_text_len(d->checksum_kind);

	if (!prefix_ok(d->prefix) || d->data_end > (uint64_t)INT64_MAX ||
	    d->checksum_kind > XVA_CHECKSUM_SHA1 || d->block > UINT32_MAX ||
	    d->members < d->n_extents + d->keepalives)
		return false;
	for (size_t i = 0; i < d->n_extents; i++) {
		const struct xva_extent *e = &d->extents[i];
		bool may_be_cut = last && i + 1 == d->n_extents;

		if (e->len == 0 || e->len > d->block || e->disk_off < end ||
		    !inside(e->disk_off, e->len, d->data_end) ||
		    (i > 0 && e->number <= number) ||
		    e->file_off % TAR_BLOCK != 0 || e->file_off < TAR_BLOCK ||
		    !inside(e->file_off, may_be_cut ? 0 : e->len, tar_size) ||
		    (e->csum_delta &&
		     !inside(e->file_off, (uint64_t)e->csum_delta + text,
			     tar_size)))
			return false;
		end = e->disk_off + e->len;
		number = e->number;
		present += e->len;
	}
	for (size_t i = 0; i < d->keepalives; i++) {
		const struct xva_keepalive *k = &d->keepalive_list[i];

		if (k->disk_off > d->data_end ||
		    !inside(k->csum_off, k->csum_len, tar_size))
			return false;
	}
	return present == d->bytes_present;
}

static uint64_t octal(const unsigned char *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(p[i] - '0');
	return v;
}

/* Whether the 512 bytes in front of extent E are a tar header with a good
 * checksum that declares E's length. */
static bool header_agrees(struct xva_source *src, const struct xva_extent *e)
{
	unsigned char h[TAR_BLOCK];
	uint64_t sum = 0, size;
	struct xva_err ignored;

	if (xva_source_read_full(src, h, sizeof(h), e->file_off - TAR_BLOCK,
				 "a tar header", &ignored) != XVA_OK)
		return false;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	if (h[124] & 0x80) { /* base-256 size */
		size = 0;
		for (size_t i = 125; i < 136; i++)
			size = size << 8 | h[i];
	} else {
		size = octal(h + 124, 12);
	}
	return sum == octal(h + 148, 8) && size == e->len;
}

static size_t sample_index(const struct xva_disk *d, size_t s)
{
	return d->n_extents == 1 ? 0
	       : s * (d->n_extents - 1) / (SAMPLE_HEADERS - 1);
}

static bool sample_agrees(struct xva_source *src, const struct xva_diskmap *map)
{
	/* Announced first, so a remote source fetches them together. */
	for (size_t i = 0; i < map->n_disks; i++)
		for (size_t s = 0; s < SAMPLE_HEADERS && map->disks[i].n_extents; s++)
			xva_source_prefetch(src, map->disks[i].extents[
				sample_index(&map->disks[i], s)].file_off -
				TAR_BLOCK, TAR_BLOCK);
	for (size_t i = 0; i < map->n_disks; i++) {
		const struct xva_disk *d = &map->disks[i];

		for (size_t s = 0; s < SAMPLE_HEADERS && d->n_extents; s++)
			if (!header_agrees(src, &d->extents[sample_index(d, s)]))
				return false;
	}
	return true;
}

static bool parse(struct in *in, const char *identity,
		  struct xva_diskmap *map, struct xva_index_facts *f,
		  uint64_t tar_size)
{
	char magic[8], *stored, *trunc;
	uint64_t n_disks, flags;
	bool same;

	get(in, magic, 8);
	if (memcmp(magic, MAGIC, 8) != 0 || get_u32(in) != FORMAT_VERSION ||
	    get_u32(in) != ENDIAN_MARK)
		return false;
	stored = get_string(in, IDENTITY_MAX);
	same = stored && strcmp(stored, identity) == 0;
	free(stored);
	if (!same)
		return false;
	f->members = get_u64(in);
	flags = get_u32(in);
	f->has_ova = flags & 1;
	f->ova_cut = flags & 2;
	f->truncated = flags & 4;
	f->ova_off = get_u64(in);
	f->ova_len = get_u64(in);
	f->cut_disk_pos = get_u64(in);
	trunc = get_string(in, sizeof(f->truncation) - 1);
	if (!trunc)
		return false;
	snprintf(f->truncation, sizeof(f->truncation), "%s", trunc);
	free(trunc);
	if (f->has_ova && !f->ova_cut && !inside(f->ova_off, f->ova_len, tar_size))
		return false;
	n_disks = get_u64(in);
	if (in->bad || n_disks > in->left)
		return false;
	map->disks = calloc(n_disks ? (size_t)n_disks : 1, sizeof(*map->disks));
	if (!map->disks)
		return false;
	map->cap_disks = (size_t)n_disks;
	for (uint64_t i = 0; i < n_disks; i++) {
		struct xva_disk *d = &map->disks[i];

		map->n_disks++;
		d->prefix = get_string(in, 4096);
		d->data_end = get_u64(in);
		d->block = get_u64(in);
		d->bytes_present = get_u64(in);
		d->members = get_u64(in);
		d->keepalives = get_u64(in);
		d->last_number = get_u64(in);
		d->n_checksums = get_u64(in);
		d->stray_checksums = get_u64(in);
		d->first_stray_off = get_u64(in);
		d->number_width = (int)(get_u32(in) & 0xff);
		d->checksum_kind = (enum xva_checksum_kind)get_u32(in);
		d->last_has_checksum = get_u32(in) != 0;
		d->n_extents = (size_t)get_u64(in);
		d->cap_extents = d->n_extents;
		d->extents = get_array(in, d->n_extents, sizeof(*d->extents));
		d->keepalive_list = get_array(in, d->keepalives,
					      sizeof(*d->keepalive_list));
		d->n_bad_checksums = (size_t)get_u64(in);
		d->bad_checksums = get_array(in, d->n_bad_checksums,
					     sizeof(*d->bad_checksums));
		if (in->bad || !d->prefix ||
		    !disk_ok(d, tar_size, i + 1 == n_disks))
			return false;
		for (uint64_t j = 0; j < i; j++)
			if (strcmp(map->disks[j].prefix, d->prefix) == 0)
				return false;
	}
	map->current = n_disks ? &map->disks[n_disks - 1] : NULL;
	return !in->bad && in->left == 0;
}

enum xva_status xva_index_cache_load(const char *dir, struct xva_source *src,
				     struct xva_diskmap *map,
				     struct xva_index_facts *facts,
				     struct xva_err *err)
{
	enum xva_status status = XVA_EFORMAT;
	struct in in = { NULL, NULL, 0, false };
	char *path = xva_cache_path(dir, src->identity, "idx");
	uint64_t sum = 0;
	struct stat cs;
	int cfd;

	if (!path)
		return xva_nomem(err);
	cfd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (cfd < 0) {
		free(path);
		return xva_fail(err, XVA_EOPEN, "no index cache");
	}
	if (fstat(cfd, &cs) < 0 || !S_ISREG(cs.st_mode) ||
	    cs.st_size < (off_t)(8 + sizeof(uint64_t)) ||
	    (uint64_t)cs.st_size > CACHE_FILE_MAX) {
		xva_fail(err, XVA_EFORMAT, "ignoring index cache %s: not a "
			 "cache file", path);
		close(cfd);
		goto out;
	}
	in.hash = XXH64_createState();
	in.f = fdopen(cfd, "rb");
	if (!in.f || !in.hash || XXH64_reset(in.hash, 0) != XXH_OK) {
		if (!in.f)
			close(cfd);
		status = xva_fail(err, XVA_EIO, "cannot read index cache %s", path);
		goto out;
	}
	/* First the checksum, over the whole file, so that damage is called
	 * damage; then the contents. */
	in.left = (uint64_t)cs.st_size - sizeof(sum);
	while (in.left > 0 && !in.bad) {
		char block[65536];
		size_t n = in.left < sizeof(block) ? (size_t)in.left : sizeof(block);

		get(&in, block, n);
	}
	if (in.bad || fread(&sum, 1, sizeof(sum), in.f) != sizeof(sum) ||
	    sum != XXH64_digest(in.hash)) {
		xva_fail(err, XVA_EFORMAT, "ignoring index cache %s: its "
			 "checksum is wrong", path);
		goto out;
	}
	rewind(in.f);
	XXH64_reset(in.hash, 0);
	in.left = (uint64_t)cs.st_size - sizeof(sum);
	memset(facts, 0, sizeof(*facts));
	if (!parse(&in, src->identity, map, facts, src->size)) {
		xva_fail(err, XVA_EFORMAT, "ignoring index cache %s: it does not "
			 "describe the export consistently", path);
		goto out;
	}
	if (!sample_agrees(src, map)) {
		xva_fail(err, XVA_EFORMAT, "ignoring index cache %s: the "
			 "export's tar headers disagree with it", path);
		goto out;
	}
	status = XVA_OK;
out:
	if (status != XVA_OK) {
		xva_map_free(map);
		xva_map_init(map);
	}
	if (in.f)
		fclose(in.f);
	XXH64_freeState(in.hash);
	free(path);
	return status;
}
