/* The file view: a regular local file read as a disk, read-only. The
 * disks of an export are read through the export's views; this one is
 * for what is a raw disk image already: the partitions of a file given
 * instead of an export (the front ends' open error), and the test
 * programs that read images directly. Its descriptor is opened
 * O_RDONLY: nothing through it can change the file. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/io.h"
#include "xvafs/view.h"

struct file_view {
	struct xva_view v;
	int fd;
	char *name;
};

static int fd_of(struct xva_view *v)
{
	return ((struct file_view *)v)->fd;
}

static enum xva_status file_read(struct xva_view *v, void *buf, size_t len,
				 uint64_t off, unsigned flags, size_t *done,
				 struct xva_err *err)
{
	(void)flags; /* the file is read through the page cache */
	*done = 0;
	xva_err_clear(err);
	len = (size_t)xva_view_clip(v, len, off);
	if (len == 0)
		return XVA_OK;
	if (xva_pread_full(fd_of(v), buf, len, off) != 0)
		return xva_fail(err, XVA_EIO, "%s: cannot read %zu bytes at "
				"byte %llu: %s", v->name, len,
				(unsigned long long)off,
				errno ? strerror(errno) : "the file is shorter "
				"than it was");
	*done = len;
	return XVA_OK;
}

/* One segment: the file itself, which a reply may splice from. */
static enum xva_status file_segments(struct xva_view *v, size_t len,
				     uint64_t off, bool splice,
				     xva_segment_fn fn, void *ctx, size_t *done,
				     struct xva_err *err)
{
	struct xva_segment seg = { 0 };

	(void)splice;
	*done = 0;
	len = (size_t)xva_view_clip(v, len, off);
	if (len == 0)
		return XVA_OK;
	seg.file_off = off;
	seg.len = len;
	seg.fd = fd_of(v);
	*done = len;
	return fn(ctx, &seg, err);
}

static enum xva_status file_write(struct xva_view *v, const void *buf,
				  size_t len, uint64_t off, struct xva_err *err)
{
	(void)buf;
	return xva_view_check_change(v, len, off, err);
}

static enum xva_status file_zero(struct xva_view *v, uint64_t len,
				 uint64_t off, struct xva_err *err)
{
	return xva_view_check_change(v, len, off, err);
}

static enum xva_status file_sync(struct xva_view *v, struct xva_err *err)
{
	(void)v;
	xva_err_clear(err);
	return XVA_OK;
}

/* The file system's answer; the end of the file is a hole. */
static int file_seek(struct xva_view *v, uint64_t off, bool want_data,
		     uint64_t *out)
{
	off_t r;

	if (off >= v->size)
		return -1;
	r = lseek(fd_of(v), (off_t)off, want_data ? SEEK_DATA : SEEK_HOLE);
	if (r < 0 || (uint64_t)r >= v->size) {
		if (want_data && (r >= 0 || errno == ENXIO))
			return -1;
		/* No answer (a file system without SEEK_DATA): all data. */
		*out = want_data ? off : v->size;
		return 0;
	}
	*out = (uint64_t)r;
	return 0;
}

static void file_prefetch(struct xva_view *v, uint64_t off, uint64_t len)
{
	len = xva_view_clip(v, len, off);
	if (len)
		posix_fadvise(fd_of(v), (off_t)off, (off_t)len,
			      POSIX_FADV_WILLNEED);
}

static uint64_t file_allocated(struct xva_view *v)
{
	struct stat st;
	uint64_t used;

	if (fstat(fd_of(v), &st) != 0)
		return v->size;
	used = (uint64_t)st.st_blocks * 512;
	return used < v->size ? used : v->size;
}

static void file_close(struct xva_view *v)
{
	struct file_view *f = (struct file_view *)v;

	close(f->fd);
	free(f->name);
	free(f);
}

static const struct xva_view_ops file_ops = {
	.read = file_read,
	.segments = file_segments,
	.write = file_write,
	.zero = file_zero,
	.sync = file_sync,
	.seek = file_seek,
	.prefetch = file_prefetch,
	.allocated = file_allocated,
	.close = file_close,
};

enum xva_status xva_view_file(const char *path, const char *name,
			      struct xva_view **out, struct xva_err *err)
{
	struct file_view *f = calloc(1, sizeof(*f));
	enum xva_status status = XVA_OK;
	struct stat st;

	*out = NULL;
	if (!f || !(f->name = strdup(name))) {
		free(f);
		return xva_nomem(err);
	}
	/* O_NONBLOCK: a FIFO put in the file's place does not hang the
	 * open; it is refused below. */
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (f->fd < 0)
		status = xva_fail(err, errno == EACCES || errno == EPERM
				       ? XVA_EACCESS : XVA_EOPEN,
				  "%s: cannot open: %s", path, strerror(errno));
	else if (fstat(f->fd, &st) != 0)
		status = xva_fail(err, XVA_EIO, "%s: %s", path,
				  strerror(errno));
	else if (!S_ISREG(st.st_mode))
		status = xva_fail(err, XVA_EOPEN, "%s: not a regular file",
				  path);
	if (status != XVA_OK) {
		if (f->fd >= 0)
			close(f->fd);
		free(f->name);
		free(f);
		return status;
	}
	f->v.ops = &file_ops;
	f->v.name = f->name;
	f->v.size = (uint64_t)st.st_size;
	f->v.mtime = st.st_mtim;
	f->v.can_splice = true;
	*out = &f->v;
	return XVA_OK;
}
