/* Stand-ins for the gzip and zstd decoders in builds that do not have
 * them yet (the remote source's own test build): a compressed export is
 * then refused, clearly, instead of failing to link. */
#include "xvafs/source.h"

enum xva_status xva_source_gzip_open(struct xva_source *raw,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err)
{
	(void)o;
	*out = NULL;
	xva_source_close(raw);
	return xva_fail(err, XVA_EUNSUPPORTED, "gzip: not in this build");
}

enum xva_status xva_source_zstd_open(struct xva_source *raw,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err)
{
	(void)o;
	*out = NULL;
	xva_source_close(raw);
	return xva_fail(err, XVA_EUNSUPPORTED, "zstd: not in this build");
}
