/* Detail messages shared by the core modules.
 *
 * Every core call that can fail returns its module's own status code and,
 * on failure, fills a struct xva_err with one line that names the member or
 * byte offset and what is wrong. Callers add the file name in front. */
#ifndef XVAFS_ERROR_H
#define XVAFS_ERROR_H

#define XVA_ERR_MAX 512

struct xva_err {
	char msg[XVA_ERR_MAX];
};

void xva_err_set(struct xva_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
