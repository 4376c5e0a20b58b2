/* The disk VIEW: the one interface every front end (the mount, the nbdkit
 * plugin, --export-disk) reads and writes a disk through.
 *
 * A view is a run of bytes [0, size) with a struct of operations, in the
 * way of nbdkit's backends and its partition filter: a view may be built
 * over another view. Implementations:
 *
 *   disk     a disk of the export as the disk map lays it out (read-only)
 *   overlay  a disk through the copy-on-write overlay (writable when the
 *            overlay was opened for writing)
 *   slice    the bytes [offset, offset + len) of another view, every
 *            operation clipped to them and moved by offset: a partition
 *   map      segments striped over other views: an LVM logical volume
 *   file     a regular local file that is a raw disk image (read-only):
 *            a file given instead of an export, test programs
 *
 * How a reader reads is decided once, when it opens the view
 * (xva_view_choose): into a buffer (COPY), as segments of files it may
 * splice from (SPLICE: the export's own file, the overlay's data file,
 * zero runs), as memory the source lends in place (LEND: the remote
 * source's cache blocks, struct xva_lease), or through the export's
 * O_DIRECT descriptor (DIRECT). The view says what it can; front ends
 * never look at the source.
 *
 * Views hold no lock of their own; every operation is safe to call from
 * several threads at once, as the read path and the overlay are. A view
 * must outlive the views made over it and every reader of it. */
#ifndef XVAFS_VIEW_H
#define XVAFS_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "xvafs/error.h"
#include "xvafs/overlay.h"
#include "xvafs/read.h"
#include "xvafs/xva.h"

struct xva_view;

/* Flags of a read. */
#define XVA_VIEW_DIRECT 1u /* through the export's O_DIRECT descriptor
			      (the buffer aligned to 4096) when the view
			      can (see can_direct); else the same bytes
			      through the page cache */

struct xva_view_ops {
	/* LEN bytes at OFF into BUF, clipped to the view's size (*DONE the
	 * clipped length); FLAGS XVA_VIEW_*. */
	enum xva_status (*read)(struct xva_view *v, void *buf, size_t len,
				uint64_t off, unsigned flags, size_t *done,
				struct xva_err *err);
	/* The same read as segments, in order, as xva_read_segments. Where
	 * SPLICE is set, every non-zero segment names a real descriptor
	 * (the export's file or the overlay's data file) a reply may splice
	 * from, and the export is checked to still hold the bytes named;
	 * where not, fd -1 means "the export, through its source". */
	enum xva_status (*segments)(struct xva_view *v, size_t len,
				    uint64_t off, bool splice,
				    xva_segment_fn fn, void *ctx, size_t *done,
				    struct xva_err *err);
	/* Optional (can_lend): the same read lent through LEASE (struct
	 * xva_lease, xvafs/source.h), which holds the bytes until it is
	 * released; *DONE the clipped length. */
	enum xva_status (*lend)(struct xva_view *v, size_t len, uint64_t off,
				struct xva_lease *lease, size_t *done,
				struct xva_err *err);
	/* Writes and zeroes (discard) of [OFF, OFF + LEN), which must lie
	 * inside the view (else XVA_ENOSPC); XVA_EROFS on a read-only view. */
	enum xva_status (*write)(struct xva_view *v, const void *buf,
				 size_t len, uint64_t off, struct xva_err *err);
	enum xva_status (*zero)(struct xva_view *v, uint64_t len, uint64_t off,
				struct xva_err *err);
	/* Makes every write so far durable (nothing to do: XVA_OK). */
	enum xva_status (*sync)(struct xva_view *v, struct xva_err *err);
	/* SEEK_DATA (WANT_DATA) or SEEK_HOLE from OFF into *OUT, as
	 * xva_disk_seek: -1 at or past the end, or when no data follows. */
	int (*seek)(struct xva_view *v, uint64_t off, bool want_data,
		    uint64_t *out);
	/* A hint: [OFF, OFF + LEN) will be read soon (the present chunks
	 * are announced to the source). */
	void (*prefetch)(struct xva_view *v, uint64_t off, uint64_t len);
	/* Optional: whether a read of [OFF, OFF + LEN) would wait for the
	 * export's bytes now (the read-ahead policy's probe; cheap, never
	 * blocks). Without it every read counts as a miss. */
	bool (*would_wait)(struct xva_view *v, uint64_t off, uint64_t len);
	/* Bytes that hold data (for st_blocks), at most the size. */
	uint64_t (*allocated)(struct xva_view *v);
	/* Frees V (not the views under it). */
	void (*close)(struct xva_view *v);
};

struct xva_view {
	const struct xva_view_ops *ops;
	const char *name;        /* for messages (a disk's prefix) */
	uint64_t size;           /* bytes; fixed */
	struct timespec mtime;   /* of the export */
	bool writable;           /* write and zero can succeed */
	bool can_splice;         /* segments(splice) names real descriptors */
	bool can_direct;         /* reads with XVA_VIEW_DIRECT bypass the
				    page cache */
	bool can_lend;           /* lend works (the source lends) */
};

/* The implementations. A disk view reads DISK of XVA; an overlay view
 * disk number INDEX of OVL (over XVA's disk INDEX); a slice view the
 * bytes [OFFSET, OFFSET + LEN) of PARENT (clipped to PARENT's size),
 * named NAME (copied). XVA_ENOMEM only. */
enum xva_status xva_view_disk(const struct xva *xva,
			      const struct xva_disk *disk,
			      struct xva_view **out, struct xva_err *err);
enum xva_status xva_view_overlay(const struct xva *xva,
				 struct xva_overlay *ovl, size_t index,
				 bool writable, struct xva_view **out,
				 struct xva_err *err);
enum xva_status xva_view_slice(struct xva_view *parent, uint64_t offset,
			       uint64_t len, const char *name,
			       struct xva_view **out, struct xva_err *err);
/* A MAP view: SIZE bytes made of segments laid end to end, each mapping
 * its run of the view onto stripes over parent views (an LVM logical
 * volume over its physical volumes' data areas).
 *
 * A segment covers [start, start + len) of the view. Its bytes are a
 * pattern of CHUNK-byte chunks dealt out round-robin over N_STRIPES
 * parents (Linux dm-stripe): pattern byte p is in chunk c = p / chunk,
 * on stripe c % n, at stripe byte (c / n) * chunk + p % chunk, that is
 * parent byte stripes[c % n].offset plus that. The segment starts SKIP
 * bytes into its pattern (a piece of a longer striped run). One stripe
 * is linear (CHUNK is then unused); none reads as zeros. Segments must
 * follow each other from 0 to SIZE. */
struct xva_map_stripe {
	struct xva_view *view;
	uint64_t offset;   /* parent byte of the stripe's first chunk */
};
struct xva_map_seg {
	uint64_t start, len;
	uint64_t skip;     /* bytes into the pattern the segment starts at */
	uint64_t chunk;    /* bytes; > 0 when n_stripes > 1 */
	unsigned n_stripes; /* 0: zeros */
	const struct xva_map_stripe *stripes;
};
/* The map view of SEGS (copied), named NAME (copied): writable when
 * WRITABLE and every parent is; it splices and reads O_DIRECT when every
 * parent can. XVA_EINVAL for segments that do not tile [0, SIZE) or name
 * parent bytes past a parent's end; XVA_ENOMEM. */
enum xva_status xva_view_map(const char *name, uint64_t size,
			     const struct xva_map_seg *segs, size_t n_segs,
			     bool writable, struct xva_view **out,
			     struct xva_err *err);
/* A read-only view of the regular file at PATH, named NAME (copied); the
 * file is opened O_RDONLY and never written. XVA_EOPEN (missing, not a
 * regular file), XVA_EACCESS, XVA_EIO, XVA_ENOMEM, naming PATH. */
enum xva_status xva_view_file(const char *path, const char *name,
			      struct xva_view **out, struct xva_err *err);
/* The view of disk INDEX of XVA: through OVL when there is one. */
enum xva_status xva_view_open(const struct xva *xva, struct xva_overlay *ovl,
			      size_t index, bool writable,
			      struct xva_view **out, struct xva_err *err);
void xva_view_close(struct xva_view *v);

/* How a reader reads the view, decided once when it opens it. */
enum xva_view_mode {
	XVA_VIEW_COPY,   /* xva_view_read into a buffer */
	XVA_VIEW_SPLICE, /* xva_view_segments with splice */
	XVA_VIEW_LEND,   /* xva_view_lend */
	XVA_VIEW_READ_DIRECT, /* xva_view_read with XVA_VIEW_DIRECT */
};
/* WANT_DIRECT: the reader opened with O_DIRECT; WANT_IN_PLACE: it can
 * send replies from where the bytes are (segments of descriptors, lent
 * memory) rather than from a buffer. */
enum xva_view_mode xva_view_choose(const struct xva_view *v, bool want_direct,
				   bool want_in_place);

/* The calls front ends make; each goes to V's operation. */
static inline uint64_t xva_view_size(const struct xva_view *v)
{
	return v->size;
}
enum xva_status xva_view_read(struct xva_view *v, void *buf, size_t len,
			      uint64_t off, unsigned flags, size_t *done,
			      struct xva_err *err);
/* Exactly LEN bytes at OFF of V into BUF. When V ends first *WHOLE is
 * false and the status XVA_OK: a parser of what V holds (a partition
 * table, an LVM label, a filesystem's superblock) takes that as "not
 * there", not as a failure to read. */
enum xva_status xva_view_read_whole(struct xva_view *v, void *buf, size_t len,
				    uint64_t off, bool *whole,
				    struct xva_err *err);
enum xva_status xva_view_segments(struct xva_view *v, size_t len, uint64_t off,
				  bool splice, xva_segment_fn fn, void *ctx,
				  size_t *done, struct xva_err *err);
/* XVA_EINVAL on a view that cannot lend. */
enum xva_status xva_view_lend(struct xva_view *v, size_t len, uint64_t off,
			      struct xva_lease *lease, size_t *done,
			      struct xva_err *err);
enum xva_status xva_view_write(struct xva_view *v, const void *buf, size_t len,
			       uint64_t off, struct xva_err *err);
enum xva_status xva_view_zero(struct xva_view *v, uint64_t len, uint64_t off,
			      struct xva_err *err);
enum xva_status xva_view_sync(struct xva_view *v, struct xva_err *err);
int xva_view_seek(struct xva_view *v, uint64_t off, bool want_data,
		  uint64_t *out);
void xva_view_prefetch(struct xva_view *v, uint64_t off, uint64_t len);
bool xva_view_would_wait(struct xva_view *v, uint64_t off, uint64_t len);
uint64_t xva_view_allocated(struct xva_view *v);

/* Extents: calls FN for each run of data (ZERO false) or hole (ZERO
 * true: it reads as zeros) from OFF on, in order, until [OFF, OFF + LEN)
 * (clipped to the view) is covered; the last run may go on past OFF +
 * LEN, never past the view's end. ONE: the first run only. Bytes past a
 * cut export's intact part are data (not known to be zeros). A status
 * other than XVA_OK from FN stops the walk and is returned. */
typedef enum xva_status (*xva_extent_fn)(void *ctx, uint64_t off,
					 uint64_t len, bool zero,
					 struct xva_err *err);
enum xva_status xva_view_extents(struct xva_view *v, uint64_t len,
				 uint64_t off, bool one, xva_extent_fn fn,
				 void *ctx, struct xva_err *err);

/* For implementations: LEN clipped to the bytes V has from OFF on. */
uint64_t xva_view_clip(const struct xva_view *v, uint64_t len, uint64_t off);
/* For implementations: whether [OFF, OFF + LEN) may be written or zeroed
 * (XVA_EROFS on a read-only view, XVA_ENOSPC past its end, naming V). */
enum xva_status xva_view_check_change(const struct xva_view *v, uint64_t len,
				      uint64_t off, struct xva_err *err);
/* For implementations whose allocated operation is the sum of their data
 * runs (a slice, a map): a walk of V's extents; V's size when the walk
 * fails. */
uint64_t xva_view_data_bytes(struct xva_view *v);

/* Read-ahead for one reader (an open file, an NBD connection,
 * --export-disk): before a read of LEN bytes at OFF is served; the policy
 * (xvafs/readahead.h) probes through the would_wait operation and
 * announces what lies ahead through the prefetch operation. */
void xva_view_note_read(struct xva_view *v, struct xva_stream *s,
			uint64_t off, size_t len);

#endif
