#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "export/tarindex.h"

#define TAR_BLOCK 512u
/* Sources that skip for free: one read usually holds the checksum member
 * and the next data member's header. */
#define WALK_READ_SIZE 10240u
/* Sources in a pass decode everything anyway; reads stay well inside
 * their backlog (see source.h) when the end marker is re-read. */
#define PASS_READ_SIZE (256u << 10)
/* How many of the walk's future reads are announced to the source: 256
 * keep a remote walk of 100,000 members under 10 s at 20 ms of round trip
 * over HTTP/2 (128 took twice that; bench/remote.md). */
#define PREDICT_AHEAD 256u

/* The walk's reads, through libarchive's client callbacks. */
struct walk_io {
	struct xva_source *src;
	char *buf;
	size_t buflen;
	uint64_t pos;           /* the next byte libarchive gets */
	bool at_end;            /* the export ended at byte END */
	uint64_t end;
	enum xva_status status; /* of a read that failed */
	struct xva_err read_err;
	/* Prediction: reads repeat at a stride (one per chunk and checksum
	 * pair in XAPI's exports), broken by keep-alives and disk ends. */
	uint64_t last_read, stride, hinted_to;
	bool have_last;
};

static uint64_t round_up_block(uint64_t n)
{
	return (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

/* Once a stride has been seen twice in a row, the next PREDICT_AHEAD
 * reads are announced, each as it enters the window. A broken stride
 * announces nothing until it repeats, so an export without a pattern
 * costs no wasted fetches. */
static void predict(struct walk_io *io, uint64_t pos)
{
	uint64_t limit, p;

	if (io->have_last && pos > io->last_read) {
		uint64_t stride = pos - io->last_read;

		if (stride != io->stride) {
			io->stride = stride;
			io->hinted_to = 0;
		} else {
			limit = pos + PREDICT_AHEAD * stride;
			if (io->src->size != XVA_SIZE_UNKNOWN &&
			    limit > io->src->size)
				limit = io->src->size;
			p = io->hinted_to > pos ? io->hinted_to + stride
						: pos + stride;
			for (; p < limit; p += stride)
				xva_source_prefetch(io->src, p, WALK_READ_SIZE);
			io->hinted_to = p - stride;
		}
	}
	io->last_read = pos;
	io->have_last = true;
}

static la_ssize_t walk_read(struct archive *a, void *vio, const void **out)
{
	struct walk_io *io = vio;
	enum xva_status st;
	size_t got;

	*out = io->buf;
	if (io->at_end)
		return 0;
	if (io->src->skip_is_free)
		predict(io, io->pos);
	st = xva_source_read(io->src, io->buf, io->buflen, io->pos, &got,
			     &io->read_err);
	if (st != XVA_OK) {
		io->status = st;
		archive_set_error(a, EIO, "%s", io->read_err.msg);
		return -1;
	}
	if (got < io->buflen) {
		io->at_end = true;
		io->end = io->pos + got;
	}
	io->pos += got;
	return (la_ssize_t)got;
}

/* A source in a pass (whose size is unknown) skips by reading the last
 * byte of each step of at most SKIP_STEP: it decodes every byte all the
 * same, and is spared the copy of what is skipped (most of the bytes: a
 * disk's chunks). Where the stream ends inside a step, the skip stops
 * before it, and libarchive reads the rest, which is within the pass's
 * backlog, to find where the export ends. */
#define SKIP_STEP (XVA_PASS_BACKLOG / 2)

static uint64_t pass_skip(struct walk_io *io, uint64_t request)
{
	uint64_t done = 0;

	while (done < request) {
		uint64_t step = request - done < SKIP_STEP ? request - done
							   : SKIP_STEP;
		char last;
		size_t got = 0;

		if (xva_source_read(io->src, &last, 1, io->pos + step - 1, &got,
				    NULL) != XVA_OK || got != 1)
			break;
		io->pos += step;
		done += step;
	}
	return done;
}

/* Returning less than asked makes libarchive read the rest. */
static la_int64_t walk_skip(struct archive *a, void *vio, la_int64_t request)
{
	struct walk_io *io = vio;
	uint64_t n = (uint64_t)request, size = io->src->size;

	(void)a;
	if (request <= 0)
		return 0;
	if (!io->src->skip_is_free)
		return io->src->in_pass ? (la_int64_t)pass_skip(io, n) : 0;
	if (size != XVA_SIZE_UNKNOWN)
		n = io->pos >= size ? 0 : n < size - io->pos ? n : size - io->pos;
	io->pos += n;
	return (la_int64_t)n;
}

static enum xva_status check_entry(struct archive_entry *entry,
				   const char *name, uint64_t header_off,
				   struct xva_err *err)
{
	mode_t type = archive_entry_filetype(entry);

	if (archive_entry_hardlink(entry) || archive_entry_symlink(entry)) {
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_MEMBER_KIND,
				    "member %s at byte %llu is a link; an export "
				    "holds only regular members", name,
				    (unsigned long long)header_off);
	}
	if (type != AE_IFREG && type != AE_IFDIR) {
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_MEMBER_KIND,
				    "member %s at byte %llu is not a regular "
				    "file (type 0%o)", name,
				    (unsigned long long)header_off, (unsigned)type);
	}
	/* A sparse member's data is not contiguous in the file, so it could
	 * not be served in place. */
	if (archive_entry_sparse_count(entry) > 0) {
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_MEMBER_KIND,
				    "member %s at byte %llu is a sparse tar "
				    "member, which no export writer produces",
				    name, (unsigned long long)header_off);
	}
	if (!archive_entry_size_is_set(entry) || archive_entry_size(entry) < 0) {
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_HEADER,
				    "member %s at byte %llu has no valid size",
				    name, (unsigned long long)header_off);
	}
	return XVA_OK;
}

/* libarchive stops at the first zero block or at a clean end; only the
 * two zero blocks XAPI writes prove the stream was not cut short at a
 * member boundary. */
static enum xva_status check_end_marker(struct walk_io *io, uint64_t end,
					const char *last, struct xva_err *err)
{
	unsigned char marker[2 * TAR_BLOCK];
	enum xva_status st;
	size_t got;

	st = xva_source_read(io->src, marker, sizeof(marker), end, &got, err);
	if (st != XVA_OK)
		return st;
	if (got < sizeof(marker))
		return xva_fail(err, XVA_ETRUNCATED, "truncated: the export ends "
				"at byte %llu%s%s, without the end-of-archive "
				"marker (it was cut short)",
				(unsigned long long)(end + got),
				last ? " after member " : "", last ? last : "");
	for (size_t i = 0; i < sizeof(marker); i++)
		if (marker[i] != 0)
			return xva_fail_why(err, XVA_EFORMAT, XVA_R_HEADER,
					    "damaged tar header at byte %llu%s%s: "
					    "neither a member nor the "
					    "end-of-archive marker",
					    (unsigned long long)end,
					    last ? " after member " : "",
					    last ? last : "");
	return XVA_OK;
}

/* Why libarchive could not read the header at EXPECTED. */
static enum xva_status header_failure(struct archive *a, struct walk_io *io,
				      uint64_t expected, const char *last,
				      struct xva_err *err)
{
	const char *why = archive_error_string(a);

	if (io->status != XVA_OK) {
		*err = io->read_err;
		return io->status;
	}
	if (!why)
		why = "unreadable header";
	if (io->at_end && expected + TAR_BLOCK > io->end)
		return xva_fail(err, XVA_ETRUNCATED, "truncated: the export ends "
				"at byte %llu inside the tar header that starts "
				"at byte %llu%s%s", (unsigned long long)io->end,
				(unsigned long long)expected,
				last ? " after member " : "", last ? last : "");
	if (!last)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_NOT_TAR,
				    "not a tar archive (byte 0: %s)", why);
	return xva_fail_why(err, XVA_EFORMAT, XVA_R_HEADER,
			    "damaged tar header at byte %llu after member %s: %s",
			    (unsigned long long)expected, last, why);
}

/* Skips the member's data (reading it, for a source in a pass). An export
 * that ends inside the data or its padding is cut there. */
static enum xva_status skip_data(struct archive *a, struct walk_io *io,
				 struct xva_tar_member *m, bool *cut)
{
	*cut = false;
	if (archive_read_data_skip(a) == ARCHIVE_OK)
		return XVA_OK;
	if (io->status != XVA_OK)
		return io->status;
	/* Only the end of the export makes a skip fail. */
	*cut = true;
	m->available = io->end <= m->data_off ? 0
		       : io->end - m->data_off < m->size ? io->end - m->data_off
							 : m->size;
	return XVA_OK;
}

static enum xva_status cut_in_member(const struct xva_tar_member *m,
				     uint64_t end, struct xva_err *err)
{
	if (m->available < m->size)
		return xva_fail(err, XVA_ETRUNCATED, "truncated: member %s "
				"(header at byte %llu) needs %llu data bytes up "
				"to byte %llu, but the export ends at byte %llu",
				m->name, (unsigned long long)m->header_off,
				(unsigned long long)m->size,
				(unsigned long long)(m->data_off + m->size),
				(unsigned long long)end);
	return xva_fail(err, XVA_ETRUNCATED, "truncated: the export ends at "
			"byte %llu, inside the padding of member %s",
			(unsigned long long)end, m->name);
}

/* Why libarchive could not open the export (read its first header). */
static enum xva_status open_failure(struct archive *a, struct walk_io *io,
				    struct xva_err *err)
{
	if (io->status != XVA_OK) {
		*err = io->read_err;
		return io->status;
	}
	if (io->at_end && io->end == 0 && io->src->warning[0])
		/* A compressed stream cut before its first byte. */
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_EMPTY,
				    "the export holds no data: %s",
				    io->src->warning);
	if (io->at_end && io->end == 0)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_EMPTY,
				    "the export is empty");
	return xva_fail_why(err, XVA_EFORMAT, XVA_R_NOT_TAR,
			    "not a tar archive (byte 0: %s)",
			    archive_error_string(a));
}

/* The member ENTRY just read into M (its name borrowed from ENTRY, valid
 * until the next header). Data is served at its offsets, so they are
 * checked against what the walk itself implies (EXPECTED, where the
 * header must start) rather than trusted. */
static enum xva_status read_member(struct archive *a,
				   struct archive_entry *entry,
				   uint64_t expected, struct xva_tar_member *m,
				   struct xva_err *err)
{
	const char *name;

	m->header_off = (uint64_t)archive_read_header_position(a);
	m->data_off = (uint64_t)archive_filter_bytes(a, 0);
	name = archive_entry_pathname(entry);
	if (!name)
		name = archive_entry_pathname_utf8(entry);
	if (!name)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_HEADER,
				    "member name at byte %llu cannot be "
				    "decoded", (unsigned long long)m->header_off);
	if (m->header_off != expected ||
	    m->data_off < m->header_off + TAR_BLOCK ||
	    m->data_off % TAR_BLOCK != 0)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_HEADER,
				    "member %s: header at byte %llu, data at "
				    "byte %llu, expected the header at byte "
				    "%llu", name,
				    (unsigned long long)m->header_off,
				    (unsigned long long)m->data_off,
				    (unsigned long long)expected);
	m->name = name;
	m->size = (uint64_t)archive_entry_size(entry);
	m->is_dir = archive_entry_filetype(entry) == AE_IFDIR;
	m->available = m->size;
	return check_entry(entry, name, m->header_off, err);
}

enum xva_status xva_tar_walk(struct xva_source *src, xva_tar_member_fn fn,
			     void *ctx, struct xva_err *err)
{
	struct walk_io io = { .src = src };
	enum xva_status status;
	struct archive *a = NULL;
	struct archive_entry *entry;
	char *last = NULL;     /* previous member's name, for messages */
	uint64_t expected = 0; /* where the next header must start */

	if (src->size == 0)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_EMPTY,
				    "the file is empty");
	if (src->size != XVA_SIZE_UNKNOWN && src->size < TAR_BLOCK)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_NOT_TAR,
				    "not a tar archive: only %llu bytes, shorter "
				    "than one tar header",
				    (unsigned long long)src->size);
	io.buflen = src->in_pass ? PASS_READ_SIZE : WALK_READ_SIZE;
	io.buf = malloc(io.buflen);
	a = archive_read_new();
	if (!io.buf || !a) {
		status = xva_nomem(err);
		goto out;
	}
	/* Only tar, and no decompression filter: data offsets must be
	 * offsets in the source's bytes. */
	archive_read_support_format_tar(a);
	archive_read_set_callback_data(a, &io);
	archive_read_set_read_callback(a, walk_read);
	archive_read_set_skip_callback(a, walk_skip);
	/* Opening reads the first header to recognise the format. */
	if (archive_read_open1(a) != ARCHIVE_OK) {
		status = open_failure(a, &io, err);
		goto out;
	}

	for (;;) {
		struct xva_tar_member m;
		const char *name;
		bool cut;
		int r = archive_read_next_header(a, &entry);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			status = header_failure(a, &io, expected, last, err);
			goto out;
		}
		status = read_member(a, entry, expected, &m, err);
		if (status != XVA_OK)
			goto out;
		name = m.name;
		status = skip_data(a, &io, &m, &cut);
		if (status != XVA_OK) {
			*err = io.read_err;
			goto out;
		}
		status = fn(ctx, &m, err);
		if (status != XVA_OK)
			goto out;
		if (cut) {
			status = cut_in_member(&m, io.end, err);
			goto out;
		}
		expected = m.data_off + round_up_block(m.size);
		free(last);
		last = strdup(name);
		if (!last) {
			status = xva_nomem(err);
			goto out;
		}
	}
	status = check_end_marker(&io, expected, last, err);
out:
	free(last);
	free(io.buf);
	if (a)
		archive_read_free(a);
	return status;
}
