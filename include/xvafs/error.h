/* The core's one status type and its error record.
 *
 * Every core call that can fail returns an enum xva_status and, on
 * failure, fills a struct xva_err: the same status, a finer reason where
 * one helps a caller decide (which part of the export is malformed), and
 * one line that names the member or byte offset and what is wrong.
 * Callers add the file name in front. Statuses become errno values in one
 * place, xva_status_errno(), and exit statuses in the command line's. */
#ifndef XVAFS_ERROR_H
#define XVAFS_ERROR_H

#define XVA_ERR_MAX 512

enum xva_status {
	XVA_OK = 0,
	XVA_ENOMEM,
	XVA_EIO,          /* reading or writing failed */
	XVA_EOPEN,        /* a file or object cannot be opened or is of the
			     wrong kind (a folder, missing, HTTP 404) */
	XVA_EFORMAT,      /* not an export, or a malformed one: the reason
			     says which part */
	XVA_EUNSUPPORTED, /* input xvafs does not read (xz, bzip2, OVF) */
	XVA_ETRUNCATED,   /* the input ends before the export does */
	XVA_ECUT,         /* a read past the intact part of a cut export */
	XVA_ECORRUPT,     /* data failed its checksum */
	XVA_EUNVERIFIABLE, /* data that should be verified has no checksum */
	XVA_ENOSPC,       /* no room left for the overlay or a cache */
	XVA_EBUSY,        /* held by another process (an overlay) */
	XVA_EMISMATCH,    /* an overlay made for another export or disk */
	XVA_ECHANGED,     /* the export changed since it was indexed */
	XVA_EACCESS,      /* permission refused (file modes, credentials,
			     HTTP 401/403) */
	XVA_ENET,         /* a server that cannot be reached or stopped
			     answering */
	XVA_EINTR,        /* interrupted on purpose (a signal) */
	XVA_EINVAL,       /* a bad argument or option value */
	XVA_EROFS,        /* a write to a read-only disk view */
};

/* Which rule a malformed export breaks, for XVA_EFORMAT and friends, or
 * what the file is instead. */
enum xva_reason {
	XVA_R_NONE = 0,
	XVA_R_EMPTY,           /* the file is empty or all zeros */
	XVA_R_NOT_TAR,         /* the first header is not a tar header */
	XVA_R_HEADER,          /* a later tar header is damaged */
	XVA_R_MEMBER_KIND,     /* a link, device or sparse member */
	XVA_R_MEMBER_NAME,     /* a member name an export does not have */
	XVA_R_NO_EXPORT,       /* a tar with neither ova.xml nor disks */
	XVA_R_ORDER,           /* member numbers do not increase */
	XVA_R_INTERLEAVED,     /* a disk's members split by another's */
	XVA_R_CHUNK_LEN,       /* a chunk neither the block size nor last */
	XVA_R_GAP,             /* a gap before the block size is known */
	XVA_R_OVERFLOW,        /* positions past 2^63 */
	XVA_R_CHECKSUM_PLACE,  /* a checksum member not after its data */
	XVA_R_SIZE,            /* data disagrees with the VDI's virtual_size */
	XVA_R_OVA_SYNTAX,      /* ova.xml is not well-formed */
	XVA_R_OVA_DTD,         /* ova.xml declares a DTD */
	XVA_R_OVA_STRUCTURE,   /* ova.xml is not an export's metadata */
	XVA_R_OVA_VALUE,       /* a field whose value cannot be right */
	XVA_R_OVA_CUT,         /* the export is cut short inside ova.xml */
	XVA_R_STREAM,          /* a compressed stream's data is corrupt */
	XVA_R_STREAM_CHECKSUM, /* a compressed stream fails its own checksum */
	XVA_R_OVERLAY,         /* an overlay map that is not one */
	XVA_R_RAW_DISK,        /* not an export but a raw disk image with an
				  MBR or GPT partition table: a front end
				  lists its partitions (the guest layer
				  reads them; the export layer cannot) */
	XVA_R_DISK_IMAGE,      /* not an export but a disk image of a kind
				  the message names (qcow2, VHD, ISO...) */
};

struct xva_err {
	enum xva_status status;
	enum xva_reason reason;
	char msg[XVA_ERR_MAX];
};

/* Fills ERR (which may be NULL) and returns STATUS, so that a failure is
 * one statement: return xva_fail(err, XVA_EIO, "...", ...). The format
 * may take err->msg itself, to wrap the message already there. */
enum xva_status xva_fail(struct xva_err *err, enum xva_status status,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with a reason. */
enum xva_status xva_fail_why(struct xva_err *err, enum xva_status status,
			     enum xva_reason reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "out of memory", XVA_ENOMEM. */
enum xva_status xva_nomem(struct xva_err *err);
/* Empties ERR: no status, no message. */
void xva_err_clear(struct xva_err *err);

/* The errno a front end answers a request with. */
int xva_status_errno(enum xva_status status);
const char *xva_strerror(enum xva_status status);

#endif
