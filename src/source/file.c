/* The plain local file: the tar's bytes are the file's, read with pread.
 * Its descriptor is exposed (src->fd) so the FUSE front end can splice
 * replies from the file's own pages, and a second, O_DIRECT descriptor
 * serves readers that bypass the page cache. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/source.h"

struct file_source {
	struct xva_source base;
};

static enum xva_status file_read(struct xva_source *src, void *buf,
				 size_t len, uint64_t off, size_t *got,
				 struct xva_err *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(src->fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xva_fail(err, XVA_EIO, "cannot read %zu bytes at "
					"byte %llu: %s", len - done,
					(unsigned long long)(off + done),
					strerror(errno));
		if (n == 0)
			break; /* the end of the file */
		done += (size_t)n;
	}
	*got = done;
	return XVA_OK;
}

/* Starts the device reading; the pages land in the page cache, where the
 * reads (or splices) that follow find them. */
static void file_prefetch(struct xva_source *src, uint64_t off, uint64_t len)
{
	posix_fadvise(src->fd, (off_t)off, (off_t)len, POSIX_FADV_WILLNEED);
}

static void file_info(const struct xva_source *src,
		      struct xva_source_info *info)
{
	info->kind = "file";
	info->stored_size = src->size;
}

static void file_close(struct xva_source *src)
{
	if (src->fd >= 0)
		close(src->fd);
	if (src->direct_fd >= 0)
		close(src->direct_fd);
	xva_source_fini(src);
	free(src);
}

static const struct xva_source_ops file_ops = {
	.read = file_read,
	.prefetch = file_prefetch,
	.info = file_info,
	.close = file_close,
};

enum xva_status xva_source_file_open(const char *path,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err)
{
	struct file_source *fs;
	struct xva_source *src;
	char identity[160], proc[64];
	struct stat st;
	enum xva_status status;
	int fd;

	(void)o;
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return xva_fail(err, errno == EACCES ? XVA_EACCESS : XVA_EOPEN,
				"cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0) {
		status = xva_fail(err, XVA_EIO, "cannot stat: %s", strerror(errno));
		close(fd);
		return status;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return xva_fail(err, XVA_EOPEN, "not a regular file");
	}
	snprintf(identity, sizeof(identity), "file:%llu:%llu:%llu:%lld.%09ld",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 (long)st.st_mtim.tv_nsec);
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		close(fd);
		return xva_nomem(err);
	}
	src = &fs->base;
	status = xva_source_init(src, &file_ops, path, identity, err);
	if (status != XVA_OK) {
		close(fd);
		free(fs);
		return status;
	}
	src->fd = fd;
	src->size = (uint64_t)st.st_size;
	src->skip_is_free = true;
	src->mtime = st.st_mtim;
	/* A new open file description of the very same file, whatever
	 * happened to its name since. Without one (tmpfs has no O_DIRECT),
	 * O_DIRECT readers are served through the page cache. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	src->direct_fd = open(proc, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (src->direct_fd < 0)
		src->direct_errno = errno;
	*out = src;
	return XVA_OK;
}
