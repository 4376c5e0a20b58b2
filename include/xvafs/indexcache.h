/* The index cache: what the index pass learnt about an export, kept in a
 * file so that mounting a large export on a slow disk a second time does
 * not walk its headers again.
 *
 * A cache file is used only when its key (device, inode, size and mtime of
 * the .xva) matches, its XXH64 checksum is right, every extent in it is
 * consistent with the map's rules and the file's size, and the tar headers
 * in front of a sample of its chunks, re-read from the .xva, agree with it.
 * Anything else is a miss, and the caller rebuilds. */
#ifndef XVAFS_INDEXCACHE_H
#define XVAFS_INDEXCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "xvafs/diskmap.h"
#include "xvafs/error.h"

/* Facts of the index pass besides the disk map. */
struct xva_index_facts {
	uint64_t members;       /* tar members walked */
	bool has_ova;           /* an ova.xml member was found */
	bool ova_cut;           /* the file ends inside it */
	uint64_t ova_off, ova_len;
	bool truncated;         /* the export was cut short */
	uint64_t cut_disk_pos;  /* where the cut falls on the last disk, or
				   UINT64_MAX when not inside a chunk */
	char truncation[XVA_ERR_MAX]; /* where, when truncated */
};

enum xva_cache_status {
	XVA_CACHE_HIT = 0,
	XVA_CACHE_MISS,    /* no cache file for this .xva as it is now */
	XVA_CACHE_INVALID, /* a cache file that failed validation */
	XVA_CACHE_EIO,     /* cannot read or write the cache */
};

/* Exports with fewer members index faster than a cache file is checked. */
#define XVA_CACHE_MIN_MEMBERS 1024

/* Loads the index of the .xva open on FD (as ST describes it) from DIR
 * into MAP (initialised, empty) and FACTS. On anything but a hit, MAP is
 * left empty and ERR says why (for XVA_CACHE_INVALID and XVA_CACHE_EIO). */
enum xva_cache_status xva_index_cache_load(const char *dir, int fd,
					   const struct stat *st,
					   struct xva_diskmap *map,
					   struct xva_index_facts *facts,
					   struct xva_err *err);

/* Writes the index to DIR (created 0700 if missing), atomically, 0600. */
enum xva_cache_status xva_index_cache_save(const char *dir,
					   const struct stat *st,
					   const struct xva_diskmap *map,
					   const struct xva_index_facts *facts,
					   struct xva_err *err);

/* The default cache folder: $XDG_CACHE_HOME/xvafs, else $HOME/.cache/xvafs;
 * NULL when neither is set. Returns a malloc'ed string. */
char *xva_index_cache_dir(void);

#endif
