#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "xvafs/error.h"

/* A printf format passed on from xva_fail's callers, whose formats the
 * compiler checks there. The message is formatted aside first: a caller
 * that wraps the message already in ERR passes err->msg as an argument,
 * and vsnprintf's output may not overlap its arguments. */
__attribute__((format(printf, 4, 0)))
static void set(struct xva_err *err, enum xva_status status,
		enum xva_reason reason, const char *fmt, va_list ap)
{
	char msg[sizeof(err->msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	err->status = status;
	err->reason = reason;
	memcpy(err->msg, msg, sizeof(msg));
}

enum xva_status xva_fail(struct xva_err *err, enum xva_status status,
			 const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		set(err, status, XVA_R_NONE, fmt, ap);
		va_end(ap);
	}
	return status;
}

enum xva_status xva_fail_why(struct xva_err *err, enum xva_status status,
			     enum xva_reason reason, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		set(err, status, reason, fmt, ap);
		va_end(ap);
	}
	return status;
}

enum xva_status xva_nomem(struct xva_err *err)
{
	return xva_fail(err, XVA_ENOMEM, "out of memory");
}

void xva_err_clear(struct xva_err *err)
{
	err->status = XVA_OK;
	err->reason = XVA_R_NONE;
	err->msg[0] = '\0';
}

int xva_status_errno(enum xva_status status)
{
	switch (status) {
	case XVA_OK: return 0;
	case XVA_ENOMEM: return ENOMEM;
	case XVA_ENOSPC: return ENOSPC;
	case XVA_EACCESS: return EACCES;
	case XVA_EINVAL: return EINVAL;
	case XVA_EROFS: return EROFS;
	case XVA_EBUSY: return EBUSY;
	case XVA_EINTR: return EINTR;
	case XVA_EOPEN: return ENOENT;
	/* Everything a reader can only take as "these bytes cannot be had":
	 * damaged, cut, changed, unreachable. Never zeros. */
	case XVA_EIO: case XVA_EFORMAT: case XVA_EUNSUPPORTED:
	case XVA_ETRUNCATED: case XVA_ECUT: case XVA_ECORRUPT:
	case XVA_EUNVERIFIABLE: case XVA_EMISMATCH: case XVA_ECHANGED:
	case XVA_ENET:
		return EIO;
	}
	return EIO;
}

const char *xva_strerror(enum xva_status status)
{
	switch (status) {
	case XVA_OK: return "success";
	case XVA_ENOMEM: return "out of memory";
	case XVA_EIO: return "input/output error";
	case XVA_EOPEN: return "cannot open";
	case XVA_EFORMAT: return "malformed export";
	case XVA_EUNSUPPORTED: return "unsupported input";
	case XVA_ETRUNCATED: return "the input ends early";
	case XVA_ECUT: return "past the intact part of a cut export";
	case XVA_ECORRUPT: return "data failed its checksum";
	case XVA_EUNVERIFIABLE: return "data has no checksum to verify";
	case XVA_ENOSPC: return "no space left";
	case XVA_EBUSY: return "in use by another process";
	case XVA_EMISMATCH: return "made for another export";
	case XVA_ECHANGED: return "the export changed";
	case XVA_EACCESS: return "permission denied";
	case XVA_ENET: return "network failure";
	case XVA_EINTR: return "interrupted";
	case XVA_EINVAL: return "invalid argument";
	case XVA_EROFS: return "read-only";
	}
	return "unknown status";
}
