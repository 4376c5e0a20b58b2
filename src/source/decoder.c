/* The decoder base: the skeleton every compressed kind (gzip.c, zstd.c)
 * stands on. See decoder.h for what it owns and what a kind gives it.
 *
 * Lock order: pass_lock is taken after the overlay's stripes, before the
 * kind's pass locks (zstd's queue lock), the read-ahead stream of the
 * raw source (a leaf, dropped before the raw source is hinted) and the
 * raw source's locks, and
 * held across a whole pass step and the kind's finish and info hooks (see
 * decoder.h). decoder_read drops it before a random read, which takes
 * none of this file's locks (the kind's read_block takes reader_lock, a
 * leaf this file only creates and destroys; the block LRU's lock is a
 * leaf too). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/io.h"
#include "source/decoder.h"
#include "xvafs/atomicfile.h"
#include "xvafs/cachefile.h"

#define PASS_INPUT ((size_t)1 << 20)
#define DEFAULT_MEMORY ((uint64_t)64 << 20)
#define PROGRESS_NS 200000000ll

/* ---- the pass ------------------------------------------------------ */

void xva_decoder_progress(struct xva_decoder *d, bool force)
{
	struct timespec now;
	long long ns;

	if (!d->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	ns = (now.tv_sec - d->last_progress.tv_sec) * 1000000000ll +
	     (now.tv_nsec - d->last_progress.tv_nsec);
	if (!force && ns < PROGRESS_NS)
		return;
	d->last_progress = now;
	d->progress(d->progress_ctx, d->in.raw_next,
		    d->raw_size == XVA_SIZE_UNKNOWN ? 0 : d->raw_size);
}

enum xva_status xva_decoder_refill(struct xva_decoder *d, struct xva_err *err)
{
	struct xva_decoder_input *in = &d->in;
	size_t left = in->len - in->pos, got;
	enum xva_status st;

	if (d->stop && *d->stop)
		return xva_fail(err, XVA_EINTR, "interrupted");
	memmove(in->data, in->data + in->pos, left);
	in->off += in->pos;
	in->pos = 0;
	in->len = left;
	xva_source_note_read(d->raw, &in->raw_stream, in->raw_next,
			     PASS_INPUT - left);
	st = xva_source_read(d->raw, in->data + left, PASS_INPUT - left,
			     in->raw_next, &got, err);
	if (st != XVA_OK)
		return st;
	if (got == 0)
		in->raw_eof = true;
	in->raw_next += got;
	in->len += got;
	xva_decoder_progress(d, false);
	return XVA_OK;
}

enum xva_status xva_decoder_pass_broken(struct xva_decoder *d,
					struct xva_err *err)
{
	d->failed = *err;
	if (d->tmp_path) {
		unlink(d->tmp_path);
		free(d->tmp_path);
		d->tmp_path = NULL;
	}
	return err->status;
}

enum xva_status xva_decoder_read_tail(struct xva_decoder *d,
				      unsigned char tail[8],
				      struct xva_err *err)
{
	uint64_t at;

	memset(tail, 0, 8);
	if (d->raw_size == XVA_SIZE_UNKNOWN)
		return XVA_OK;
	at = d->raw_size < 8 ? 0 : d->raw_size - 8;
	return xva_source_read_full(d->raw, tail, (size_t)(d->raw_size - at),
				    at, d->kind->tail_what, err);
}

void xva_decoder_not_ours(struct xva_decoder *d, uint64_t at)
{
	const char *name = d->kind->name;

	if (d->raw_size != XVA_SIZE_UNKNOWN && d->raw_size > at)
		xva_source_warn(&d->base, "the %llu bytes after the end of the "
				"%s stream at compressed byte %llu are not %s "
				"data: ignored",
				(unsigned long long)(d->raw_size - at), name,
				(unsigned long long)at, name);
	else
		xva_source_warn(&d->base, "the bytes after the end of the %s "
				"stream at compressed byte %llu are not %s "
				"data: ignored", name, (unsigned long long)at,
				name);
	d->pb.ended = true;
}

/* A step failed with ERR: sticky if the kind's cache file now misses
 * something. */
static void step_failed(struct xva_decoder *d, struct xva_err *err)
{
	if (d->kind->step_broke && d->kind->step_broke(d))
		xva_decoder_pass_broken(d, err);
}

static enum xva_status start_pass(struct xva_decoder *d, struct xva_err *err)
{
	d->in.data = malloc(PASS_INPUT);
	if (!d->in.data)
		return xva_nomem(err);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &d->last_progress);
	return d->kind->start(d, err);
}

/* Frees what only the pass needs; also on close. */
static void end_pass(struct xva_decoder *d)
{
	d->kind->end_pass(d);
	free(d->in.data);
	d->in.data = NULL;
	xva_pass_buf_free(&d->pb);
	d->passing = false;
	d->base.in_pass = false;
}

/* ---- the cache file ------------------------------------------------ */

void xva_decoder_file_name(const struct xva_decoder *d, char *buf, size_t len)
{
	if (d->persisted)
		snprintf(buf, len, "the %s %s", d->kind->file, d->cache_path);
	else if (d->tmp_path)
		snprintf(buf, len, "the %s %s", d->kind->file, d->tmp_path);
	else
		snprintf(buf, len, "the temporary %s in %s", d->kind->file,
			 d->tmp_dir ? d->tmp_dir : "?");
}

enum xva_status xva_decoder_write_failed(const struct xva_decoder *d,
					 int errnum, struct xva_err *err)
{
	const char *dir = d->tmp_path ? d->cache_dir : d->tmp_dir;
	char name[4200];

	if (errnum == ENOSPC || errnum == EDQUOT)
		return xva_fail(err, XVA_ENOSPC, "no space left in the cache "
				"folder %s for the %s: %s", dir ? dir : "?",
				d->kind->file_of_kind, strerror(errnum));
	xva_decoder_file_name(d, name, sizeof(name));
	return xva_fail(err, XVA_EIO, "cannot write %s: %s", name,
			strerror(errnum));
}

enum xva_status xva_decoder_cap_exceeded(const struct xva_decoder *d,
					 struct xva_err *err)
{
	return xva_fail(err, XVA_ENOSPC, "the %s would exceed the cap of %llu "
			"bytes (-o cache_max)", d->kind->file,
			(unsigned long long)d->cache_max);
}

enum xva_status xva_decoder_pread(const struct xva_decoder *d, void *buf,
				  size_t len, uint64_t off,
				  struct xva_err *err)
{
	char name[4200];
	int errnum;

	if (xva_pread_full(d->fd, buf, len, off) == 0)
		return XVA_OK;
	errnum = errno;
	xva_decoder_file_name(d, name, sizeof(name));
	return xva_fail(err, XVA_EIO, "cannot read %s: %s", name,
			errnum ? strerror(errnum)
			       : "it is shorter than it was");
}

void xva_decoder_create_file(struct xva_decoder *d, const char *not_kept)
{
	struct xva_err why;
	int fd;

	if (xva_cache_mkdir(d->cache_dir, &why) != XVA_OK ||
	    xva_atomic_file_create(d->cache_path, &d->tmp_path, &fd, &why)
	    != XVA_OK) {
		xva_source_warn(&d->base, "%s: %s", not_kept, why.msg);
		return;
	}
	d->fd = fd;
}

enum xva_status xva_decoder_open_unlinked(struct xva_decoder *d,
					  struct xva_err *err)
{
	const char *dir = getenv("TMPDIR");
	char *path = NULL;
	int fd;

	if (!dir || dir[0] != '/')
		dir = "/var/tmp";
	d->tmp_dir = strdup(dir);
	if (!d->tmp_dir)
		return xva_nomem(err);
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
		       errno == EINVAL)) {
		/* A file system without O_TMPFILE: the same, by hand. */
		if (asprintf(&path, "%s/xvafs-%s-XXXXXX", dir,
			     d->kind->name) < 0)
			return xva_nomem(err);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
		free(path);
	}
	if (fd < 0)
		return xva_fail(err, errno == ENOSPC ? XVA_ENOSPC : XVA_EIO,
				"cannot create a temporary %s in %s: %s",
				d->kind->file, dir, strerror(errno));
	d->fd = fd;
	return XVA_OK;
}

enum xva_status xva_decoder_commit(struct xva_decoder *d, struct xva_err *err)
{
	enum xva_status st;

	st = xva_atomic_file_commit(d->fd, d->tmp_path, d->cache_path, err);
	if (st != XVA_OK)
		return st;
	free(d->tmp_path);
	d->tmp_path = NULL;
	d->persisted = true;
	return XVA_OK;
}

/* ---- the end of the cache file ------------------------------------ */

enum xva_status xva_decoder_save(struct xva_decoder *d,
				 const struct xva_decoder_layout *l,
				 uint64_t body_end, uint64_t count,
				 unsigned char footer[XVA_DECODER_FOOTER],
				 XXH64_state_t *h, struct xva_err *err)
{
	size_t idlen = strlen(d->base.identity);
	size_t warnlen = strlen(d->base.warning);
	size_t table_len = (size_t)count * l->entry;
	size_t len = table_len + idlen + warnlen + XVA_DECODER_FOOTER;
	XXH64_state_t *own = NULL;
	unsigned char *buf, *f;
	enum xva_status st;

	if (d->cache_max && body_end + len > d->cache_max)
		return xva_decoder_cap_exceeded(d, err);
	buf = calloc(1, len);
	if (!h)
		h = own = XXH64_createState();
	if (!buf || !h) {
		free(buf);
		XXH64_freeState(own);
		return xva_nomem(err);
	}
	if (own)
		XXH64_reset(own, 0);
	for (uint64_t i = 0; i < count; i++)
		l->encode(d, i, buf + i * l->entry);
	memcpy(buf + table_len, d->base.identity, idlen);
	memcpy(buf + table_len + idlen, d->base.warning, warnlen);
	f = buf + table_len + idlen + warnlen;
	memcpy(f, footer, XVA_DECODER_FOOTER);
	memcpy(f, l->magic, 8);
	xva_put_le32(f + 8, l->version);
	xva_put_le32(f + 12, d->base.stream_damaged ? XVA_DECODER_DAMAGED : 0);
	xva_put_le64(f + 16, d->raw_size);
	xva_put_le64(f + 24, d->base.size);
	xva_put_le64(f + l->count_at, count);
	xva_put_le64(f + l->body_end_at, body_end);
	memcpy(f + l->tail_at, d->tail, 8);
	xva_put_le32(f + l->idlen_at, (uint32_t)idlen);
	xva_put_le32(f + l->warnlen_at, (uint32_t)warnlen);
	XXH64_update(h, buf, len - 8);
	xva_put_le64(buf + len - 8, XXH64_digest(h));
	XXH64_freeState(own);
	if (xva_pwrite_full(d->fd, buf, len, body_end) < 0) {
		st = xva_decoder_write_failed(d, errno, err);
		free(buf);
		return st;
	}
	free(buf);
	d->cache_bytes = body_end + len;
	if (!d->tmp_path)
		return XVA_OK; /* unlinked: nothing to keep */
	return xva_decoder_commit(d, err);
}

/* Whether the footer's head is L's and this stream's. */
static bool head_fits(struct xva_decoder *d, const struct xva_decoder_layout *l,
		      struct xva_decoder_saved *s)
{
	const unsigned char *f = s->footer;
	uint32_t flags = xva_get_le32(f + 12);

	s->usize = xva_get_le64(f + 24);
	s->damaged = flags & XVA_DECODER_DAMAGED;
	return memcmp(f, l->magic, 8) == 0 &&
	       xva_get_le32(f + 8) == l->version &&
	       !(flags & ~XVA_DECODER_DAMAGED) &&
	       xva_get_le64(f + 16) == d->raw_size &&
	       s->usize <= (uint64_t)INT64_MAX;
}

/* Reads [FROM, S->size) into S->table, checking the hash in its last 8
 * bytes: of the file from HASH_FROM (at most FROM) on. */
static bool read_sealed(struct xva_decoder_saved *s, uint64_t hash_from,
			uint64_t from)
{
	uint64_t len = s->size - from, at = hash_from;
	XXH64_state_t *h = XXH64_createState();
	unsigned char *chunk = NULL;
	bool ok;

	s->table = malloc(len);
	if (at < from)
		chunk = malloc(1 << 20);
	ok = h && s->table && (at == from || chunk);
	if (ok)
		XXH64_reset(h, 0);
	/* The body is hashed a MiB at a time; it stays on disk. */
	while (ok && at < from) {
		size_t n = from - at > (1 << 20) ? 1 << 20
						 : (size_t)(from - at);

		ok = xva_pread_full(s->fd, chunk, n, at) == 0;
		if (ok)
			XXH64_update(h, chunk, n);
		at += n;
	}
	if (ok)
		ok = xva_pread_full(s->fd, s->table, len, from) == 0;
	if (ok) {
		XXH64_update(h, s->table, len - 8);
		ok = XXH64_digest(h) == xva_get_le64(s->table + len - 8);
	}
	XXH64_freeState(h);
	free(chunk);
	return ok;
}

/* The footer's lengths against the file's size, then the whole end read
 * and its hash checked. */
static bool read_end(struct xva_decoder *d, const struct xva_decoder_layout *l,
		     struct xva_decoder_saved *s)
{
	const unsigned char *f = s->footer;
	uint32_t idlen = xva_get_le32(f + l->idlen_at);

	s->count = xva_get_le64(f + l->count_at);
	s->body_end = xva_get_le64(f + l->body_end_at);
	s->warnlen = xva_get_le32(f + l->warnlen_at);
	if (idlen != strlen(d->base.identity) ||
	    s->warnlen >= XVA_ERR_MAX || s->count > s->size / l->entry ||
	    s->body_end < l->body_min || s->body_end > s->size ||
	    s->body_end + s->count * l->entry + idlen + s->warnlen +
	    XVA_DECODER_FOOTER != s->size)
		return false;
	if (!read_sealed(s, l->hash_body ? 0 : s->body_end, s->body_end))
		return false;
	s->warning = s->table + s->count * l->entry + idlen;
	return true;
}

bool xva_decoder_open_saved(struct xva_decoder *d,
			    const struct xva_decoder_layout *l,
			    struct xva_decoder_saved *s)
{
	unsigned char tail[8];
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	if (d->raw_size == XVA_SIZE_UNKNOWN)
		return false;
	s->fd = open(d->cache_path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0)
		return false;
	if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < l->body_min + XVA_DECODER_FOOTER)
		goto reject;
	s->size = (uint64_t)st.st_size;
	if (xva_pread_full(s->fd, s->footer, XVA_DECODER_FOOTER,
			   s->size - XVA_DECODER_FOOTER) < 0 ||
	    !head_fits(d, l, s) || !read_end(d, l, s))
		goto reject;
	/* Made from these bytes: the identity says which, the stream's tail
	 * (a gzip trailer) backs it. */
	if (memcmp(s->table + s->count * l->entry, d->base.identity,
		   strlen(d->base.identity)) != 0 ||
	    xva_decoder_read_tail(d, tail, NULL) != XVA_OK ||
	    memcmp(tail, s->footer + l->tail_at, 8) != 0)
		goto reject;
	memcpy(s->tail, tail, 8);
	return true;
reject:
	xva_decoder_saved_free(s);
	return false;
}

bool xva_decoder_loaded(struct xva_decoder *d, struct xva_decoder_saved *s)
{
	for (uint32_t i = 0; i < s->warnlen; i++)
		if (s->warning[i] < 0x20 || s->warning[i] == 0x7f)
			return false;
	memcpy(d->base.warning, s->warning, s->warnlen);
	d->base.warning[s->warnlen] = '\0';
	d->base.stream_damaged = s->damaged;
	d->fd = s->fd;
	s->fd = -1;
	d->cache_bytes = s->size;
	memcpy(d->tail, s->tail, 8);
	d->base.size = s->usize;
	d->index_loaded = true;
	d->persisted = true;
	xva_decoder_saved_free(s);
	return true;
}

void xva_decoder_saved_free(struct xva_decoder_saved *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->table);
	s->table = NULL;
	s->warning = NULL;
}

/* ---- random reads -------------------------------------------------- */

/* From the LRU of decoded blocks, and the kind for a block it lacks. */
static enum xva_status random_read(struct xva_decoder *d, unsigned char *buf,
				   size_t len, uint64_t off, size_t *got,
				   struct xva_err *err)
{
	uint64_t end, pos = off;
	void *reader = NULL;
	enum xva_status st = XVA_OK;

	if (off >= d->base.size)
		return XVA_OK;
	end = d->base.size - off < len ? d->base.size : off + len;
	while (pos < end) {
		uint64_t index = pos >> XVA_BLOCK_SHIFT;
		uint64_t stop = (index + 1) << XVA_BLOCK_SHIFT;
		struct xva_block *b;

		if (stop > end)
			stop = end;
		b = xva_block_lru_get(d->lru, index);
		if (b) {
			size_t at = (size_t)(pos - (index << XVA_BLOCK_SHIFT));

			if (at + (stop - pos) > b->len) {
				xva_block_lru_unpin(d->lru, b);
				st = xva_fail(err, XVA_EIO, "a cached %s block "
					      "is short", d->kind->name);
				break;
			}
			memcpy(buf + (pos - off), b->data + at,
			       (size_t)(stop - pos));
			xva_block_lru_unpin(d->lru, b);
		} else {
			st = d->kind->read_block(d, &reader, index,
						 buf + (pos - off), pos, stop,
						 err);
			if (st != XVA_OK)
				break;
		}
		pos = stop;
	}
	if (reader && d->kind->reader_done)
		d->kind->reader_done(d, reader);
	*got = (size_t)(pos - off);
	return st;
}

/* ---- the source ---------------------------------------------------- */

static enum xva_status decoder_read(struct xva_source *src, void *buf,
				    size_t len, uint64_t off, size_t *got,
				    struct xva_err *err)
{
	struct xva_decoder *d = (struct xva_decoder *)src;
	struct xva_err local;
	enum xva_status st;

	if (!err)
		err = &local;
	pthread_mutex_lock(&d->pass_lock);
	if (d->failed.status != XVA_OK) {
		*err = d->failed;
		pthread_mutex_unlock(&d->pass_lock);
		return err->status;
	}
	if (d->passing) {
		st = xva_pass_read(&d->pb, d->kind->pass_more, d,
				   d->kind->stream, buf, len, off, got, err);
		if (st != XVA_OK)
			step_failed(d, err);
		pthread_mutex_unlock(&d->pass_lock);
		return st;
	}
	pthread_mutex_unlock(&d->pass_lock);
	return random_read(d, buf, len, off, got, err);
}

static enum xva_status decoder_finish_pass(struct xva_source *src,
					   struct xva_err *err)
{
	struct xva_decoder *d = (struct xva_decoder *)src;
	struct xva_err local;
	enum xva_status st = XVA_OK;

	if (!err)
		err = &local;
	pthread_mutex_lock(&d->pass_lock);
	if (d->failed.status != XVA_OK) {
		*err = d->failed;
		st = err->status;
		goto out;
	}
	if (!d->passing)
		goto out;
	while (!d->pb.ended) {
		st = d->kind->pass_more(d, d->pb.end, err);
		if (st != XVA_OK) {
			step_failed(d, err);
			goto out;
		}
	}
	xva_decoder_progress(d, true);
	src->size = d->pb.visible;
	st = d->kind->finish(d, err);
	if (st == XVA_OK)
		end_pass(d);
out:
	pthread_mutex_unlock(&d->pass_lock);
	return st;
}

static void decoder_info(const struct xva_source *src,
			 struct xva_source_info *info)
{
	struct xva_decoder *d = (struct xva_decoder *)src;
	struct xva_source_info raw;

	xva_source_info(d->raw, &raw);
	/* The pass grows the kind's index as it goes. */
	pthread_mutex_lock(&d->pass_lock);
	info->kind = d->kind->name;
	info->over = raw.kind;
	info->stored_size = raw.stored_size;
	info->index_loaded = d->index_loaded;
	if (d->persisted) {
		snprintf(info->cache_path, sizeof(info->cache_path), "%s",
			 d->cache_path);
		info->cache_bytes = d->cache_bytes;
	}
	d->kind->info(d, info);
	pthread_mutex_unlock(&d->pass_lock);
}

static void decoder_close(struct xva_source *src)
{
	struct xva_decoder *d = (struct xva_decoder *)src;

	/* The pass first: zstd's compressing threads write the file. */
	end_pass(d);
	d->kind->close(d);
	xva_block_lru_free(d->lru);
	if (d->tmp_path) {
		unlink(d->tmp_path);
		free(d->tmp_path);
	}
	if (d->fd >= 0)
		close(d->fd);
	free(d->cache_path);
	free(d->cache_dir);
	free(d->tmp_dir);
	pthread_mutex_destroy(&d->pass_lock);
	pthread_mutex_destroy(&d->reader_lock);
	pthread_cond_destroy(&d->reader_freed);
	xva_stream_destroy(&d->in.raw_stream);
	xva_source_close(d->raw);
	xva_source_fini(src);
	free(d);
}

/* The raw source (a remote one has an I/O thread) lives through forks. */
static void decoder_before_fork(struct xva_source *src)
{
	xva_source_before_fork(((struct xva_decoder *)src)->raw);
}

static void decoder_after_fork(struct xva_source *src)
{
	xva_source_after_fork(((struct xva_decoder *)src)->raw);
}

static const struct xva_source_ops decoder_ops = {
	.read = decoder_read,
	.before_fork = decoder_before_fork,
	.after_fork = decoder_after_fork,
	.finish_pass = decoder_finish_pass,
	.info = decoder_info,
	.close = decoder_close,
};

/* The options and the cache file's names; the saved file if valid, else
 * the pass. */
static enum xva_status decoder_start(struct xva_decoder *d,
				     const struct xva_source_options *o,
				     struct xva_err *err)
{
	enum xva_status st;

	d->base.mtime = d->raw->mtime;
	d->raw_size = d->raw->size;
	d->progress = o->progress;
	d->progress_ctx = o->progress_ctx;
	d->stop = o->stop;
	d->cache_max = o->cache_max;
	d->memory_max = o->memory_max ? o->memory_max : DEFAULT_MEMORY;
	st = xva_block_lru_new(d->memory_max, &d->lru, err);
	if (st != XVA_OK)
		return st;
	if (o->cache_dir) {
		d->cache_dir = strdup(o->cache_dir);
		d->cache_path = xva_cache_path(o->cache_dir, d->base.identity,
					       d->kind->ext);
		if (!d->cache_dir || !d->cache_path)
			return xva_nomem(err);
		if (!o->fresh_pass && d->kind->load(d))
			return XVA_OK;
	}
	st = start_pass(d, err);
	if (st != XVA_OK)
		return st;
	d->passing = true;
	d->base.in_pass = true;
	return XVA_OK;
}

enum xva_status xva_decoder_open(const struct xva_decoder_kind *kind,
				 struct xva_source *raw,
				 const struct xva_source_options *o,
				 struct xva_source **out, struct xva_err *err)
{
	static const struct xva_source_options none = { .s3_path_style = -1 };
	struct xva_decoder *d;
	char *identity = NULL;
	enum xva_status st;

	*out = NULL;
	if (!o)
		o = &none;
	d = calloc(1, kind->size);
	if (!d || asprintf(&identity, "%s(%s)", kind->name,
			   raw->identity) < 0) {
		free(d);
		xva_source_close(raw);
		return xva_nomem(err);
	}
	st = xva_source_init(&d->base, &decoder_ops, raw->location, identity,
			     err);
	free(identity);
	if (st != XVA_OK) {
		free(d);
		xva_source_close(raw);
		return st;
	}
	d->kind = kind;
	d->raw = raw;
	d->fd = -1;
	pthread_mutex_init(&d->pass_lock, NULL);
	pthread_mutex_init(&d->reader_lock, NULL);
	pthread_cond_init(&d->reader_freed, NULL);
	xva_stream_init(&d->in.raw_stream, XVA_READAHEAD_DEFAULT);
	st = decoder_start(d, o, err);
	if (st != XVA_OK) {
		decoder_close(&d->base);
		return st;
	}
	*out = &d->base;
	return XVA_OK;
}
