/* The cache folder: where the index cache and compressed sources' own
 * indexes and chunk caches live. Files are named after a hash of the
 * source's identity, so a changed export never finds the old files, and
 * are published by the atomic-file writer (xvafs/atomicfile.h), so a
 * reader never sees half a file and a power cut never loses a rename. */
#ifndef XVAFS_CACHEFILE_H
#define XVAFS_CACHEFILE_H

#include "xvafs/error.h"

/* The default cache folder: $XDG_CACHE_HOME/xvafs, else
 * $HOME/.cache/xvafs; NULL when neither is set. malloc'ed. */
char *xva_cache_default_dir(void);

/* DIR/HASH.EXT, HASH the XXH64 of IDENTITY in hex. malloc'ed; NULL when
 * out of memory. */
char *xva_cache_path(const char *dir, const char *identity, const char *ext);

/* Creates DIR and its missing parents, mode 0700. */
enum xva_status xva_cache_mkdir(const char *dir, struct xva_err *err);

#endif
