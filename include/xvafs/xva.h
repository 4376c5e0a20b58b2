/* An opened export: its source, the tar index pass, the disk map, ova.xml
 * and the disks' names together. Every front end (the FUSE mount, the
 * nbdkit plugin, the command-line tools) opens one with xva_open() and
 * reads it through read.h and verify.h.
 *
 * Everything that can be wrong with the export is found by xva_open(),
 * before anything is served. An export cut short is not refused: the
 * intact part is served and reads past it fail. The export is opened
 * read-only and never written. */
#ifndef XVAFS_XVA_H
#define XVAFS_XVA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "xvafs/diskmap.h"
#include "xvafs/error.h"
#include "xvafs/names.h"
#include "xvafs/ovaxml.h"
#include "xvafs/source.h"

/* ova.xml is small (kilobytes); anything past this is not an export's. */
#define XVA_OVA_XML_MAX (64u << 20)

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

struct xva_open_options {
	/* The index cache's folder, also where compressed sources keep their
	 * indexes and chunk caches; NULL: no cache. */
	const char *cache_dir;
	/* For the source (its cache_dir is taken from above). When its
	 * crypt_key and crypt_alg are set, the export is decrypted with
	 * them as they are (a repository's catalogue has checked the key). */
	struct xva_source_options source;
	/* The key of the encrypted repository the export is in, or NULL:
	 * its encryption.json is looked for in the folders above the export
	 * and the key checked against its metadata.json before anything
	 * else is read (a wrong key is XVA_EACCESS, one line). */
	const struct xva_crypt_key *key;
	/* The key came from the environment, not from an option: it is used
	 * only when the export is in an encrypted repository. */
	bool key_if_needed;
	/* How the front end's user gives a key, for the message that says
	 * an export given without one is encrypted ("-o key_file=FILE or
	 * $XVAFS_KEY"); NULL: "the repository's encryption key". */
	const char *key_how;
};

struct xva {
	struct xva_source *src;     /* owns every descriptor on the export */
	struct xva_diskmap map;     /* one disk per member prefix */
	struct xva_index_facts idx; /* the rest of what the index pass found */
	struct xva_disk_names *names; /* parallel to map.disks */
	struct xva_ovaxml *ova;     /* NULL without ova.xml (single-VDI export) */
	bool index_from_cache;      /* the index came from the cache */
	char cache_note[XVA_ERR_MAX]; /* why the cache was ignored or not
					 written; empty when all went well */
	/* Chunks are verified on first read (-o verify, or because the
	 * compressed stream failed its own checksum). Owned by verify.c,
	 * which creates and frees it; NULL when off. Ask
	 * xva_verify_enabled() rather than reading it. */
	struct xva_verify_state *verify_state;
	/* The caller's stop flag (from the options), checked by the walk. */
	const volatile sig_atomic_t *stop;
	/* An encrypted export: its cipher, and the repository whose key
	 * decrypts it (NULL when the caller gave the cipher). */
	enum xva_crypt_alg crypt_alg;
	char *crypt_repo;
	const char *key_how; /* the options', for the not-an-export message */
};

/* Opens and indexes the export at LOCATION (a path or URL; OPTIONS may be
 * NULL). */
enum xva_status xva_open(const char *location,
			 const struct xva_open_options *options,
			 struct xva **out, struct xva_err *err);
void xva_close(struct xva *xva);

/* The disk named NAME as the mount names it: its prefix, its by-device
 * name or its by-label name (in that order of precedence); NULL if none. */
const struct xva_disk *xva_find_disk(const struct xva *xva, const char *name);

/* Index of DISK in the map (and in names). */
size_t xva_disk_index(const struct xva *xva, const struct xva_disk *disk);

/* What front ends need to know of the source, so they never look into
 * it: the stream's warning ("" when none), whether it fails its own
 * checksum, the tar's size, the source's facts, the export's mtime. */
const char *xva_stream_warning(const struct xva *xva);
bool xva_stream_damaged(const struct xva *xva);
uint64_t xva_tar_size(const struct xva *xva);
void xva_info(const struct xva *xva, struct xva_source_info *info);
struct timespec xva_mtime(const struct xva *xva);
/* Why a local export could not be opened O_DIRECT (an errno), or 0 (it
 * could, or the export is not a local file). */
int xva_direct_errno(const struct xva *xva);
/* Whether the file DEV/INO is the export's own file. */
bool xva_is_export_file(const struct xva *xva, dev_t dev, ino_t ino);
/* The export is about to be read once, in file order: the kernel is told
 * to read ahead hard (a local file; nothing for the others). */
void xva_advise_sequential(const struct xva *xva);
/* An encrypted export's authentication (XVA_CRYPT_AUTH_NOT_ENCRYPTED
 * for any other); NOTE (may be NULL) gets why it failed or could not be
 * recorded, or "". */
enum xva_crypt_auth xva_crypt_state(const struct xva *xva, char *note,
				    size_t note_len);
/* Checks an encrypted export's tag now if that has not been done (one
 * pass over the whole file; --verify): XVA_ECORRUPT when it does not
 * match, and every read fails from then on. XVA_EINVAL when the export
 * is not encrypted. */
enum xva_status xva_authenticate(struct xva *xva, struct xva_err *err);
/* Around a fork() of a process holding XVA, as xva_source_before_fork. */
void xva_open_before_fork(struct xva *xva);
void xva_open_after_fork(struct xva *xva);

#endif
