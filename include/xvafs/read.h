/* The read path every front end shares: the bytes of a disk at an offset.
 *
 * Present chunks come from the export through its source, gaps are
 * zeros. Bytes the export no longer holds are an error, bytes past the
 * intact part of an export cut short XVA_ECUT; never zeros. With
 * verification on, a chunk is checked the first time it is read. */
#ifndef XVAFS_READ_H
#define XVAFS_READ_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/readahead.h"
#include "xvafs/xva.h"

/* Reads LEN bytes of DISK at OFF into BUF, clipped to the disk's size;
 * *DONE is the byte count. */
enum xva_status xva_read(const struct xva *xva, const struct xva_disk *disk,
			 void *buf, size_t len, uint64_t off, size_t *done,
			 struct xva_err *err);

/* Where the bytes of a read come from: LEN bytes at FILE_OFF of the
 * export's tar (FD -1) or of the file FD (an overlay's data), or LEN zeros
 * when ZERO. */
struct xva_segment {
	uint64_t file_off;
	uint64_t len;
	uint64_t number; /* the chunk member's, for messages */
	int fd;
	bool zero;
};

typedef enum xva_status (*xva_segment_fn)(void *ctx,
					  const struct xva_segment *seg,
					  struct xva_err *err);

/* Splits a read of LEN bytes of DISK at OFF (clipped to the disk's size,
 * the clipped length in *DONE) into segments, in order, with the same
 * checks as xva_read (intact part, verification) made before the first
 * segment is passed on. Consecutive zero segments are merged. A status
 * other than XVA_OK from FN stops the split and is returned. */
enum xva_status xva_read_segments(const struct xva *xva,
				  const struct xva_disk *disk, size_t len,
				  uint64_t off, xva_segment_fn fn, void *ctx,
				  size_t *done, struct xva_err *err);

/* A segment function that copies each segment to OUT, advancing it (for
 * xva_read and the overlay's reads). */
struct xva_copy {
	const struct xva *xva;
	const struct xva_disk *disk;
	char *out;
	bool direct; /* read the export through its O_DIRECT descriptor */
};
enum xva_status xva_copy_segment(void *ctx, const struct xva_segment *seg,
				 struct xva_err *err);

/* A segment function that lends each segment through LEASE (struct
 * xva_lease, xvafs/source.h): the export's bytes from its source's cache
 * (which must lend: xva_source_can_lend), holes from a zero buffer, an
 * overlay's data read into the lease's scratch buffer. */
struct xva_lend {
	const struct xva *xva;
	const struct xva_disk *disk;
	struct xva_lease *lease;
};
enum xva_status xva_lend_segment(void *ctx, const struct xva_segment *seg,
				 struct xva_err *err);

/* Reads ova.xml's text like a file. */
enum xva_status xva_read_ova(const struct xva *xva, void *buf, size_t len,
			     uint64_t off, size_t *done, struct xva_err *err);

/* Read-ahead for one reader of one disk (an open file, an NBD
 * connection, --export-disk): the policy is xvafs/readahead.h's, in disk
 * offsets. A read waits (the probe) when the export's bytes of the last
 * chunk it touches are not ready at the source; what lies ahead is
 * announced as the chunks present (never the holes). */

/* Announces the present chunks among DISK's bytes [FROM, TO) that lie in
 * the intact part to the source, runs of chunks that follow each other
 * in the export as one range. */
void xva_disk_prefetch(const struct xva *xva, const struct xva_disk *disk,
		       uint64_t from, uint64_t to);
/* Whether a read of LEN bytes at OFF of DISK would wait at the source
 * (false for gaps and for bytes past the intact part). */
bool xva_disk_would_wait(const struct xva *xva, const struct xva_disk *disk,
			 uint64_t off, uint64_t len);
/* xva_stream_next with that probe, then xva_disk_prefetch: before a read
 * of LEN bytes at OFF of DISK is served. */
void xva_stream_note_read(struct xva_stream *s, const struct xva *xva,
			  const struct xva_disk *disk, uint64_t off,
			  size_t len);

#endif
