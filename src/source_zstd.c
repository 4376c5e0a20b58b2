/* Placeholder until the zstd decoder lands. */
#include "xvafs/source.h"

enum xva_status xva_source_zstd_open(struct xva_source *raw,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err)
{
	(void)o;
	*out = NULL;
	xva_source_close(raw);
	return xva_fail(err, XVA_EUNSUPPORTED, "the export is zstd-compressed; "
			"this build cannot read it");
}
