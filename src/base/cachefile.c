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
	struct stat st;

	if (!copy)
		return xva_nomem(err);
	if (!copy[0]) {
		free(copy);
		return xva_fail(err, XVA_EINVAL, "no cache folder named");
	}
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
	if (stat(copy, &st) < 0)
		goto fail;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		goto fail;
	}
	free(copy);
	return XVA_OK;
fail:
	xva_fail(err, errno == ENOSPC ? XVA_ENOSPC : XVA_EIO,
		 "cannot create the cache folder %s: %s", copy, strerror(errno));
	free(copy);
	return err ? err->status : XVA_EIO;
}
