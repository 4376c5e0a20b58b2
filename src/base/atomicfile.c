#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/io.h"
#include "xvafs/atomicfile.h"

static enum xva_status write_error(int errnum, const char *what,
				   const char *path, struct xva_err *err)
{
	return xva_fail(err, errnum == ENOSPC || errnum == EDQUOT ? XVA_ENOSPC
			: XVA_EIO, "cannot %s %s: %s", what, path,
			strerror(errnum));
}

enum xva_status xva_atomic_file_create(const char *final, char **tmp_path,
				       int *fd, struct xva_err *err)
{
	const char *slash = strrchr(final, '/');
	int dir_len = slash ? (int)(slash - final) : 1;
	const char *dir = slash ? final : ".";

	*fd = -1;
	if (asprintf(tmp_path, "%.*s/.tmp-%s-XXXXXX", dir_len, dir,
		     slash ? slash + 1 : final) < 0) {
		*tmp_path = NULL;
		return xva_nomem(err);
	}
	*fd = mkostemp(*tmp_path, O_CLOEXEC); /* created 0600 */
	if (*fd < 0) {
		enum xva_status st = write_error(errno, "create", *tmp_path, err);

		free(*tmp_path);
		*tmp_path = NULL;
		return st;
	}
	return XVA_OK;
}

enum xva_status xva_sync_folder(const char *dir, struct xva_err *err)
{
	enum xva_status st = XVA_OK;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	/* EINVAL: a file system that cannot sync a folder (some network
	 * ones) has nothing more to make durable there. */
	if (fd < 0)
		st = write_error(errno, "open the folder", dir, err);
	else if (fsync(fd) < 0 && errno != EINVAL)
		st = write_error(errno, "sync the folder", dir, err);
	if (fd >= 0)
		close(fd);
	return st;
}

enum xva_status xva_sync_parent_folder(const char *path, struct xva_err *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, slash == path ? 1
					    : (size_t)(slash - path))
			  : strdup(".");
	enum xva_status st;

	if (!dir)
		return xva_nomem(err);
	st = xva_sync_folder(dir, err);
	free(dir);
	return st;
}

enum xva_status xva_atomic_file_commit(int fd, const char *tmp_path,
				       const char *final, struct xva_err *err)
{
	if (fsync(fd) < 0)
		return write_error(errno, "write", tmp_path, err);
	if (rename(tmp_path, final) < 0)
		return xva_fail(err, XVA_EIO, "cannot rename %s to %s: %s",
				tmp_path, final, strerror(errno));
	return xva_sync_parent_folder(final, err);
}

enum xva_status xva_atomic_file_write(const char *final, const void *data,
				      size_t len, struct xva_err *err)
{
	enum xva_status st;
	char *tmp;
	int fd;

	st = xva_atomic_file_create(final, &tmp, &fd, err);
	if (st != XVA_OK)
		return st;
	if (xva_pwrite_full(fd, data, len, 0) < 0)
		st = write_error(errno, "write", tmp, err);
	else
		st = xva_atomic_file_commit(fd, tmp, final, err);
	close(fd);
	if (st != XVA_OK)
		unlink(tmp); /* gone already when only the folder sync failed */
	free(tmp);
	return st;
}
