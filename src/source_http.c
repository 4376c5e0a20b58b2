/* Placeholder until the remote source lands. */
#include "xvafs/source.h"

enum xva_status xva_source_http_open(const char *url,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err)
{
	(void)url;
	(void)o;
	*out = NULL;
	return xva_fail(err, XVA_EUNSUPPORTED, "remote exports are not "
			"supported by this build");
}
