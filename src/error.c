#include <stdarg.h>
#include <stdio.h>

#include "xvafs/error.h"

void xva_err_set(struct xva_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}
