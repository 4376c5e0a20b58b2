#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "xvafs/cachefile.h"

char *xva_cache_default_dir(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *dir = NULL;

	if (xdg && xdg[0] == '/') {
		if (asprintf(&dir, "%s/xvafs", xdg) < 0)
			dir = NULL;
	} else if (home && home[0] == '/') {
		if (asprintf(&dir, "%s/.cache/xvafs", home) < 0)
			dir = NULL;
	}
	return dir;
}

char *xva_cache_path(const char *dir, const char *identity, const char *ext)
{
	char *path;

	if (asprintf(&path, "%s/%016llx.%s", dir,
		     (unsigned long long)XXH64(identity, strlen(identity), 0),
		     ext) < 0)
		return NULL;
	return path;
}

enum xva_status xva_cache_mkdir(const char *dir, struct xva_err *err)
{
	char *copy = strdup(dir);

	if (!copy)
		return xva_nomem(err);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(copy, 0700) < 0 && errno != EEXIST)
		goto fail;
	free(copy);
	return XVA_OK;
fail:
	xva_fail(err, errno == ENOSPC ? XVA_ENOSPC : XVA_EIO,
		 "cannot create the cache folder %s: %s", copy, strerror(errno));
	free(copy);
	return err ? err->status : XVA_EIO;
}

enum xva_status xva_cache_create_tmp(const char *final, char **tmp_path,
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
		enum xva_status st = xva_fail(err, errno == ENOSPC ? XVA_ENOSPC
						   : XVA_EIO,
					      "cannot create %s: %s", *tmp_path,
					      strerror(errno));
		free(*tmp_path);
		*tmp_path = NULL;
		return st;
	}
	return XVA_OK;
}

enum xva_status xva_cache_commit(int fd, const char *tmp_path,
				 const char *final, struct xva_err *err)
{
	if (fdatasync(fd) < 0)
		return xva_fail(err, errno == ENOSPC || errno == EDQUOT
				? XVA_ENOSPC : XVA_EIO, "cannot write %s: %s",
				tmp_path, strerror(errno));
	if (rename(tmp_path, final) < 0)
		return xva_fail(err, XVA_EIO, "cannot rename %s to %s: %s",
				tmp_path, final, strerror(errno));
	return XVA_OK;
}
