/* A read-only view of a regular file, for test programs that open disk
 * images directly (the product's views read exports). Seek data/hole
 * asks the file system. Static inline: one file per program. */
#ifndef XVAFS_TEST_FILEVIEW_H
#define XVAFS_TEST_FILEVIEW_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xvafs/view.h"

struct fileview {
	struct xva_view v;
	int fd;
	char *name;
};

static inline int fileview_fd(struct xva_view *v)
{
	return ((struct fileview *)v)->fd;
}

static inline enum xva_status fileview_read(struct xva_view *v, void *buf,
					    size_t len, uint64_t off,
					    unsigned flags, size_t *done,
					    struct xva_err *err)
{
	ssize_t n;

	(void)flags;
	*done = 0;
	if (off >= v->size)
		return XVA_OK;
	if (len > v->size - off)
		len = (size_t)(v->size - off);
	while (*done < len) {
		n = pread(fileview_fd(v), (char *)buf + *done, len - *done,
			  (off_t)(off + *done));
		if (n <= 0)
			return xva_fail(err, XVA_EIO, "%s: read at %llu failed",
					v->name, (unsigned long long)off);
		*done += (size_t)n;
	}
	return XVA_OK;
}

static inline enum xva_status fileview_segments(struct xva_view *v, size_t len,
						uint64_t off, bool splice,
						xva_segment_fn fn, void *ctx,
						size_t *done,
						struct xva_err *err)
{
	struct xva_segment seg;

	(void)splice;
	*done = 0;
	if (off >= v->size)
		return XVA_OK;
	if (len > v->size - off)
		len = (size_t)(v->size - off);
	seg.file_off = off;
	seg.len = len;
	seg.number = 0;
	seg.fd = fileview_fd(v);
	seg.zero = false;
	*done = len;
	return fn(ctx, &seg, err);
}

static inline enum xva_status fileview_rofs(struct xva_view *v,
					    struct xva_err *err)
{
	return xva_fail(err, XVA_EROFS, "%s is read-only", v->name);
}

static inline enum xva_status fileview_write(struct xva_view *v,
					     const void *buf, size_t len,
					     uint64_t off, struct xva_err *err)
{
	(void)buf, (void)len, (void)off;
	return fileview_rofs(v, err);
}

static inline enum xva_status fileview_zero(struct xva_view *v, uint64_t len,
					    uint64_t off, struct xva_err *err)
{
	(void)len, (void)off;
	return fileview_rofs(v, err);
}

static inline enum xva_status fileview_sync(struct xva_view *v,
					    struct xva_err *err)
{
	(void)v, (void)err;
	return XVA_OK;
}

static inline int fileview_seek(struct xva_view *v, uint64_t off,
				bool want_data, uint64_t *out)
{
	off_t r = lseek(fileview_fd(v), (off_t)off,
			want_data ? SEEK_DATA : SEEK_HOLE);

	if (r < 0 || (uint64_t)r >= v->size) {
		if (want_data)
			return -1;
		*out = v->size;
		return 0;
	}
	*out = (uint64_t)r;
	return 0;
}

static inline void fileview_prefetch(struct xva_view *v, uint64_t off,
				     uint64_t len)
{
	(void)v, (void)off, (void)len;
}

static inline uint64_t fileview_allocated(struct xva_view *v)
{
	struct stat st;

	if (fstat(fileview_fd(v), &st) != 0)
		return v->size;
	return (uint64_t)st.st_blocks * 512 < v->size
		       ? (uint64_t)st.st_blocks * 512 : v->size;
}

static inline void fileview_close(struct xva_view *v)
{
	struct fileview *f = (struct fileview *)v;

	close(f->fd);
	free(f->name);
	free(f);
}

static const struct xva_view_ops fileview_ops = {
	.read = fileview_read,
	.segments = fileview_segments,
	.write = fileview_write,
	.zero = fileview_zero,
	.sync = fileview_sync,
	.seek = fileview_seek,
	.prefetch = fileview_prefetch,
	.allocated = fileview_allocated,
	.close = fileview_close,
};

/* The view of the file at PATH, named NAME; NULL on failure (errno). */
static inline struct xva_view *fileview_open(const char *path,
					     const char *name)
{
	struct fileview *f = calloc(1, sizeof(*f));
	struct stat st;

	if (!f)
		return NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0 || fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    !(f->name = strdup(name))) {
		if (f->fd >= 0)
			close(f->fd);
		free(f);
		return NULL;
	}
	f->v.ops = &fileview_ops;
	f->v.name = f->name;
	f->v.size = (uint64_t)st.st_size;
	f->v.mtime = st.st_mtim;
	f->v.can_splice = true;
	return &f->v;
}

#endif
