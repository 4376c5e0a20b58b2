/* The index cache: what the index pass learnt about an export, kept in a
 * file so that mounting a large export on a slow disk a second time does
 * not walk its headers again.
 *
 * A cache file is used only when its key (the source's identity: for a
 * file its device, inode, size and mtime; for a remote object its URL,
 * size and ETag) matches, its XXH64 checksum is right, every extent in it is
 * consistent with the map's rules and the file's size, and the tar headers
 * in front of a sample of its chunks, re-read from the export, agree with it.
 * Anything else is a miss, and the caller rebuilds. */
#ifndef XVAFS_INDEXCACHE_H
#define XVAFS_INDEXCACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "xvafs/diskmap.h"
#include "xvafs/error.h"
#include "source/source.h"
#include "xvafs/xva.h"

/* Plain local exports with fewer members index faster than a cache file
 * is checked; compressed and remote ones are always cached. */
#define XVA_CACHE_MIN_MEMBERS 1024

/* Loads the index of the export SRC holds (its size known: a compressed
 * source's own index is loaded first) from DIR into MAP (initialised,
 * empty) and FACTS. XVA_OK is a hit; XVA_EOPEN means there is no cache
 * file for the export as it is now; anything else (a damaged, stale or
 * forged file: XVA_EFORMAT) is a miss whose reason ERR gives. MAP is left
 * empty on a miss. */
enum xva_status xva_index_cache_load(const char *dir, struct xva_source *src,
				     struct xva_diskmap *map,
				     struct xva_index_facts *facts,
				     struct xva_err *err);

/* Writes the index to DIR (created 0700 if missing), atomically, 0600. */
enum xva_status xva_index_cache_save(const char *dir,
				     const struct xva_source *src,
				     const struct xva_diskmap *map,
				     const struct xva_index_facts *facts,
				     struct xva_err *err);

#endif
