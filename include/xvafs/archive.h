/* An opened .xva: the tar index pass, the disk map and ova.xml together,
 * and the read path every front end shares (FUSE mount, --list, tests).
 *
 * Everything that can be wrong with the file is found by xva_open(), before
 * anything is mounted. The file is opened O_RDONLY and never written. */
#ifndef XVAFS_ARCHIVE_H
#define XVAFS_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "xvafs/diskmap.h"
#include "xvafs/error.h"
#include "xvafs/ovaxml.h"
#include "xvafs/tarindex.h"

enum xva_status {
	XVA_OK = 0,
	XVA_EOPEN,   /* the file cannot be opened or is not a regular file */
	XVA_ETAR,    /* the tar structure is bad (see tar_status) */
	XVA_EMEMBER, /* a member's name is unsafe or not an export's */
	XVA_EMAP,    /* the chunks do not make a consistent disk */
	XVA_EOVA,    /* ova.xml is bad */
	XVA_EIO,     /* reading failed while serving */
	XVA_ENOMEM,
};

/* ova.xml is small (kilobytes); anything past this is not an export's. */
#define XVA_OVA_XML_MAX (64u << 20)

struct xva {
	int fd;
	struct stat st;             /* of the .xva when it was opened */
	struct xva_diskmap map;     /* one disk per member prefix */
	struct xva_ovaxml *ova;     /* NULL without ova.xml (single-VDI export) */
	uint64_t members;           /* tar members walked */
	enum xva_tar_status tar_status; /* when xva_open failed with XVA_ETAR */
};

enum xva_status xva_open(const char *path, struct xva **out,
			 struct xva_err *err);
void xva_close(struct xva *xva);

/* Reads LEN bytes of DISK at OFF into BUF, clipped to the disk's size;
 * *DONE is the byte count. Present chunks come from the .xva, gaps are
 * zeros. A chunk the file no longer holds is XVA_EIO, never zeros. */
enum xva_status xva_read(const struct xva *xva, const struct xva_disk *disk,
			 void *buf, size_t len, uint64_t off, size_t *done,
			 struct xva_err *err);

const char *xva_strerror(enum xva_status status);

#endif
