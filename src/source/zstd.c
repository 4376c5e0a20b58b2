/* The zstd decoder: one pass turns the stream into a chunk cache with
 * random access.
 *
 * XAPI's zstd exports are one frame with a 2 MiB window whose blocks are
 * not restart points, and libzstd's public API cannot save a decoder's
 * state. So the pass decodes the stream once and writes what it decodes,
 * cut at every 1 MiB of uncompressed offset, into a cache file: each piece
 * its own zstd frame (level 1, with its content size and checksum), then a
 * table of {offset, length} per piece and a footer. A random read
 * decompresses one piece (about 0.35 ms per MiB) and keeps it in the LRU
 * of decoded blocks. Pieces that are all zeros (omitted disk chunks are
 * not, but zero runs inside them are common) are a mark in the table, not
 * a frame.
 *
 * The pass decodes in the caller's thread and compresses pieces in as
 * many others as there are CPUs (at most MAX_WORKERS): decoding runs at
 * ~2.4 GB/s, level-1 compression at ~0.87 GB/s a core, so compression
 * sets the pace, and on two cores two compressing threads beat one (the
 * decoder needs a fifth of a core). Each frame goes wherever the file
 * ends when it is ready; the table says where.
 *
 * The cache lives in the cache folder (<hash>.zsc) when there is one that
 * can be written, else in an unlinked temporary file in $TMPDIR or
 * /var/tmp that goes away with the source.
 *
 * Lock order: pass_lock, then the pass's LOCK (submit_piece, worker_failed,
 * zs_info); dctx_lock is never held with either. pass_lock is held across a
 * whole pass step: the raw source's read (its locks, and a wait on the
 * network for a remote one), the progress callback (which must not call
 * back into this source), waits for room in the queue, the cache file's
 * writes and sync, and the join of the compressing threads. That is safe
 * because those threads take only the pass's LOCK, which is a leaf: they
 * drop it to compress and write. dctx_lock is a leaf too. A
 * decompression context taken from the pool is a lock without a mutex,
 * kept across the cache file's pread and the block LRU's lock. Callers
 * above may hold the overlay's stripes (a copy-up). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "base/io.h"
#include "base/thread.h"
#include "xvafs/atomicfile.h"
#include "source/blockcache.h"
#include "xvafs/cachefile.h"
#include "source/source.h"

#define PASS_INPUT ((size_t)1 << 20)
#define PASS_STEP ((size_t)1 << 20)
#define PASS_BUF_MAX (XVA_PASS_BACKLOG + 2 * XVA_BLOCK_SIZE + 4 * PASS_STEP)
#define QUEUE_LEN 8
/* A kept cache is made durable at the end (fdatasync); starting the
 * writeback as the pass goes leaves that little to wait for (it took 0.6 s
 * of a 2 GiB pass otherwise). */
#define WRITEBACK_STEP ((uint64_t)64 << 20)
#define MAX_WORKERS 4
#define CACHE_LEVEL 1
#define MAX_DCTX 8
#define DEFAULT_MEMORY ((uint64_t)64 << 20)
#define PROGRESS_NS 200000000ll
/* A frame starts with 4 bytes of magic and a descriptor byte: what a
 * decoder asks for first (ZSTD_FRAMEHEADERSIZE_PREFIX, static-only). */
#define FRAME_PREFIX 5
#define BLOCK_HEADER 3

#define CACHE_MAGIC "XVAFSZSC"
#define FOOTER_MAGIC "XVAZSCft"
#define CACHE_VERSION 1u
#define HEADER_SIZE 16u
#define FOOTER_SIZE 128u
#define PIECE_SIZE 16u
#define IDENTITY_MAX 4096u
#define FLAG_DAMAGED 1u
#define PIECE_FRAME 0u
#define PIECE_ZERO 1u

struct zs_piece {
	uint64_t coff;  /* where its frame is in the cache file */
	uint32_t clen;  /* the frame's length; 0 for a zero piece */
	uint32_t kind;  /* PIECE_FRAME or PIECE_ZERO */
};

struct zs_job {
	uint64_t index;
	size_t len;
	unsigned char *data;
};

struct zs_pass {
	ZSTD_DStream *ds;
	unsigned char *in;
	size_t in_len, in_pos;  /* in[in_pos, in_len) is unread */
	uint64_t in_off;        /* compressed offset of in[0] */
	uint64_t raw_next;
	bool raw_eof;
	size_t hint;            /* what the decoder wants next */
	bool out_full;          /* the last call may have more to flush */
	bool between_frames;
	uint64_t frames;
	uint64_t frame_start;   /* compressed offset of the current frame */
	uint64_t submitted;     /* pieces handed on cover [0, submitted) */
	struct timespec last_progress;

	/* The compressing threads and their queue. LOCK also guards the
	 * piece table and the file's end while they run. A leaf, taken after
	 * the source's pass_lock or by a compressing thread alone; held for
	 * no I/O. */
	struct zs_worker *workers;
	size_t n_workers;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a job queued or done, or closing */
	struct zs_job queue[QUEUE_LEN];
	size_t head, count;
	unsigned char *spare[QUEUE_LEN + MAX_WORKERS + 1];
	size_t n_spare;
	bool closing;
	struct xva_err werr;    /* a thread's failure, status XVA_OK if none */
	bool durable;           /* the cache is to be kept: write it back */
	uint64_t written_back;  /* writeback started for [0, written_back) */
};

struct zs_worker {
	struct zs_source *zs;
	pthread_t thread;
	bool running;
	ZSTD_CCtx *cctx;
	unsigned char *frame;
	size_t frame_cap;
};

struct zs_dctx {
	ZSTD_DCtx *dctx;
	unsigned char *frame;
	unsigned char *block;
};

struct zs_source {
	struct xva_source base;
	struct xva_source *raw;
	uint64_t raw_size;
	xva_progress_fn progress;
	void *progress_ctx;
	const volatile sig_atomic_t *stop;
	uint64_t cache_max;
	uint64_t memory_max;
	char *cache_dir;
	char *cache_path;       /* the .zsc, when persisting */
	char *tmp_path;         /* while it is being written */
	char *tmp_dir;          /* the folder of an unlinked cache */
	int fd;                 /* the cache file */
	bool persisted;
	bool index_loaded;
	uint64_t file_end;      /* bytes written to the cache file */
	uint64_t file_bytes;
	struct zs_piece *pieces;
	size_t n_pieces, cap_pieces, n_frames;
	unsigned char tail[8];

	/* Guards the pass (PASSING, PB, PASS, FAILED). Taken after the
	 * overlay's stripes, before the pass's LOCK and the raw source's
	 * locks; held across the raw source's I/O. Never with dctx_lock. */
	pthread_mutex_t pass_lock;
	bool passing;
	struct xva_pass_buf pb;
	struct zs_pass *pass;
	struct xva_err failed;

	struct xva_block_lru *lru;
	/* Guards the pool of decompression contexts. A leaf: only a new
	 * context's allocation is done under it. */
	pthread_mutex_t dctx_lock;
	pthread_cond_t dctx_freed; /* a context back in the pool */
	struct zs_dctx *idle[MAX_DCTX];
	size_t n_idle, n_dctx;
};

/* How messages name the cache file. */
static void cache_name(const struct zs_source *zs, char *buf, size_t len)
{
	if (zs->persisted)
		snprintf(buf, len, "the chunk cache %s", zs->cache_path);
	else if (zs->tmp_path)
		snprintf(buf, len, "the chunk cache %s", zs->tmp_path);
	else
		snprintf(buf, len, "the temporary chunk cache in %s",
			 zs->tmp_dir ? zs->tmp_dir : "?");
}

static enum xva_status write_failed(const struct zs_source *zs, int errnum,
				    struct xva_err *err)
{
	const char *dir = zs->tmp_path ? zs->cache_dir : zs->tmp_dir;
	char name[4200];

	if (errnum == ENOSPC || errnum == EDQUOT)
		return xva_fail(err, XVA_ENOSPC, "no space left in the cache "
				"folder %s for the zstd chunk cache: %s",
				dir ? dir : "?", strerror(errnum));
	cache_name(zs, name, sizeof(name));
	return xva_fail(err, XVA_EIO, "cannot write %s: %s", name,
			strerror(errnum));
}

static enum xva_status cap_exceeded(const struct zs_source *zs,
				    struct xva_err *err)
{
	return xva_fail(err, XVA_ENOSPC, "the chunk cache would exceed the cap "
			"of %llu bytes (-o cache_max)",
			(unsigned long long)zs->cache_max);
}

/* ---- the compressing thread ---------------------------------------- */

static bool all_zero(const unsigned char *p, size_t len)
{
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* Compresses one piece and writes it where the file ends; its place in
 * the table was made when it was handed on. Called without the lock. */
static enum xva_status store_piece(struct zs_worker *w, const struct zs_job *j,
				   struct xva_err *err)
{
	struct zs_source *zs = w->zs;
	struct zs_pass *p = zs->pass;
	struct zs_piece piece = { .kind = PIECE_ZERO };
	size_t clen = 0;

	if (!all_zero(j->data, j->len)) {
		clen = ZSTD_compress2(w->cctx, w->frame, w->frame_cap, j->data,
				      j->len);
		if (ZSTD_isError(clen))
			return xva_fail(err, XVA_EIO, "zstd cannot compress "
					"piece %llu: %s",
					(unsigned long long)j->index,
					ZSTD_getErrorName(clen));
		piece.kind = PIECE_FRAME;
		piece.clen = (uint32_t)clen;
	}
	pthread_mutex_lock(&p->lock);
	if (clen && zs->cache_max && zs->file_end + clen > zs->cache_max) {
		pthread_mutex_unlock(&p->lock);
		return cap_exceeded(zs, err);
	}
	if (clen) {
		piece.coff = zs->file_end;
		zs->file_end += clen;
		zs->n_frames++;
	}
	zs->pieces[j->index] = piece;
	pthread_mutex_unlock(&p->lock);
	if (clen && xva_pwrite_full(zs->fd, w->frame, clen, piece.coff) < 0)
		return write_failed(zs, errno, err);
	if (p->durable) {
		uint64_t from, to;

		pthread_mutex_lock(&p->lock);
		from = p->written_back;
		to = zs->file_end;
		if (to - from >= WRITEBACK_STEP)
			p->written_back = to;
		pthread_mutex_unlock(&p->lock);
		if (to - from >= WRITEBACK_STEP)
			sync_file_range(zs->fd, (off_t)from, (off_t)(to - from),
					SYNC_FILE_RANGE_WRITE);
	}
	return XVA_OK;
}

static void *compress_thread(void *arg)
{
	struct zs_worker *w = arg;
	struct zs_pass *p = w->zs->pass;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct zs_job j;
		struct xva_err err = { 0 };
		enum xva_status st = XVA_OK;

		while (!p->count && !p->closing)
			pthread_cond_wait(&p->changed, &p->lock);
		if (!p->count)
			break;
		j = p->queue[p->head];
		p->head = (p->head + 1) % QUEUE_LEN;
		p->count--;
		if (p->werr.status == XVA_OK) {
			pthread_mutex_unlock(&p->lock);
			st = store_piece(w, &j, &err);
			pthread_mutex_lock(&p->lock);
			if (st != XVA_OK && p->werr.status == XVA_OK)
				p->werr = err;
		}
		p->spare[p->n_spare++] = j.data;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Hands piece [SUBMITTED, SUBMITTED + LEN) of the pass buffer on. */
static enum xva_status submit_piece(struct zs_source *zs, size_t len,
				    struct xva_err *err)
{
	struct zs_pass *p = zs->pass;
	struct xva_pass_buf *pb = &zs->pb;
	unsigned char *buf;

	pthread_mutex_lock(&p->lock);
	while (p->count == QUEUE_LEN && p->werr.status == XVA_OK)
		pthread_cond_wait(&p->changed, &p->lock);
	if (p->werr.status != XVA_OK) {
		*err = p->werr;
		pthread_mutex_unlock(&p->lock);
		return err->status;
	}
	if (zs->n_pieces == zs->cap_pieces) {
		size_t cap = zs->cap_pieces ? zs->cap_pieces * 2 : 1024;
		struct zs_piece *grown = realloc(zs->pieces,
						 cap * sizeof(*grown));

		if (!grown) {
			pthread_mutex_unlock(&p->lock);
			return xva_nomem(err);
		}
		zs->pieces = grown;
		zs->cap_pieces = cap;
	}
	buf = p->n_spare ? p->spare[--p->n_spare] : NULL;
	pthread_mutex_unlock(&p->lock);
	if (!buf) {
		buf = malloc(XVA_BLOCK_SIZE);
		if (!buf)
			return xva_nomem(err);
	}
	memcpy(buf, pb->data + (p->submitted - pb->start), len);
	pthread_mutex_lock(&p->lock);
	p->queue[(p->head + p->count) % QUEUE_LEN] = (struct zs_job){
		p->submitted >> XVA_BLOCK_SHIFT, len, buf };
	p->count++;
	zs->n_pieces++;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	p->submitted += len;
	return XVA_OK;
}

static bool worker_failed(struct zs_source *zs)
{
	struct zs_pass *p = zs->pass;
	bool failed;

	pthread_mutex_lock(&p->lock);
	failed = p->werr.status != XVA_OK;
	pthread_mutex_unlock(&p->lock);
	return failed;
}

/* Waits for the thread to store every piece handed on; its error, if any. */
static enum xva_status stop_worker(struct zs_source *zs, struct xva_err *err)
{
	struct zs_pass *p = zs->pass;

	pthread_mutex_lock(&p->lock);
	p->closing = true;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->n_workers; i++) {
		if (p->workers[i].running)
			pthread_join(p->workers[i].thread, NULL);
		p->workers[i].running = false;
	}
	if (p->werr.status != XVA_OK) {
		*err = p->werr;
		return err->status;
	}
	return XVA_OK;
}

/* ---- the pass ------------------------------------------------------ */

static uint64_t pass_consumed(const struct zs_pass *p)
{
	return p->in_off + p->in_pos;
}

static void report_progress(struct zs_source *zs, bool force)
{
	struct zs_pass *p = zs->pass;
	struct timespec now;
	long long ns;

	if (!zs->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	ns = (now.tv_sec - p->last_progress.tv_sec) * 1000000000ll +
	     (now.tv_nsec - p->last_progress.tv_nsec);
	if (!force && ns < PROGRESS_NS)
		return;
	p->last_progress = now;
	zs->progress(zs->progress_ctx, p->raw_next,
		     zs->raw_size == XVA_SIZE_UNKNOWN ? 0 : zs->raw_size);
}

static enum xva_status pass_refill(struct zs_source *zs, struct xva_err *err)
{
	struct zs_pass *p = zs->pass;
	size_t left = p->in_len - p->in_pos, got;
	enum xva_status st;

	if (zs->stop && *zs->stop)
		return xva_fail(err, XVA_EINTR, "interrupted");
	memmove(p->in, p->in + p->in_pos, left);
	p->in_off += p->in_pos;
	p->in_pos = 0;
	p->in_len = left;
	st = xva_source_read(zs->raw, p->in + left, PASS_INPUT - left,
			     p->raw_next, &got, err);
	if (st != XVA_OK)
		return st;
	if (got == 0)
		p->raw_eof = true;
	p->raw_next += got;
	p->in_len += got;
	report_progress(zs, false);
	return XVA_OK;
}

/* A failure after which the pass cannot go on; see gzip.c. */
static enum xva_status pass_broken(struct zs_source *zs, struct xva_err *err)
{
	zs->failed = *err;
	if (zs->tmp_path) {
		unlink(zs->tmp_path);
		free(zs->tmp_path);
		zs->tmp_path = NULL;
	}
	return err->status;
}

/* The decoder failed. It reports no progress for a failing call, but
 * calls are fed one stage of input at a time and only once all output is
 * flushed (see pass_more), so a failing call produced none: the output so
 * far is exactly what decoded. */
static void decode_failed(struct zs_source *zs, size_t ret, size_t fed)
{
	struct zs_pass *p = zs->pass;
	struct xva_pass_buf *pb = &zs->pb;
	uint64_t at = pass_consumed(p);

	if (ZSTD_getErrorCode(ret) == ZSTD_error_checksum_wrong) {
		/* The failing call was fed the rest of the frame's 4
		 * checksum bytes: past them, the next frame, if any, is
		 * decoded as usual. */
		zs->base.stream_damaged = true;
		xva_source_warn(&zs->base, "zstd frame %llu, ending at compressed "
			    "byte %llu (uncompressed byte %llu), fails its "
			    "XXH64 content checksum: its data may be damaged",
			    (unsigned long long)p->frames + 1,
			    (unsigned long long)(at + fed),
			    (unsigned long long)pb->end);
		p->in_pos += fed;
		ZSTD_DCtx_reset(p->ds, ZSTD_reset_session_only);
		p->frames++;
		p->between_frames = true;
		p->hint = FRAME_PREFIX;
		return;
	}
	/* Within the 4 bytes of a frame's magic (which libzstd may check
	 * before it has all of them), after a frame: not zstd at all. */
	if (p->frames && at < p->frame_start + 4 &&
	    ZSTD_getErrorCode(ret) == ZSTD_error_prefix_unknown) {
		at = p->frame_start;
		if (zs->raw_size != XVA_SIZE_UNKNOWN && zs->raw_size > at)
			xva_source_warn(&zs->base, "the %llu bytes after the end of "
				    "the zstd stream at compressed byte %llu are "
				    "not zstd data: ignored",
				    (unsigned long long)(zs->raw_size - at),
				    (unsigned long long)at);
		else
			xva_source_warn(&zs->base, "the bytes after the end of the "
				    "zstd stream at compressed byte %llu are not "
				    "zstd data: ignored", (unsigned long long)at);
		pb->ended = true;
		return;
	}
	zs->base.stream_damaged = true;
	xva_source_warn(&zs->base, "the zstd stream is corrupt at compressed byte "
		    "%llu (%s): it is served up to uncompressed byte %llu",
		    (unsigned long long)at, ZSTD_getErrorName(ret),
		    (unsigned long long)pb->end);
	pb->ended = true;
}

/* Hands on the pieces the new output completed; at the end, the last. */
static enum xva_status submit_pieces(struct zs_source *zs, struct xva_err *err)
{
	struct zs_pass *p = zs->pass;
	struct xva_pass_buf *pb = &zs->pb;
	enum xva_status st;

	while (pb->end - p->submitted >= XVA_BLOCK_SIZE) {
		st = submit_piece(zs, XVA_BLOCK_SIZE, err);
		if (st != XVA_OK)
			return st;
	}
	if (pb->ended && pb->end > p->submitted)
		return submit_piece(zs, (size_t)(pb->end - p->submitted), err);
	return XVA_OK;
}

/* One step of the pass (xva_pass_more_fn). */
static enum xva_status pass_more(void *ctx, uint64_t keep, struct xva_err *err)
{
	struct zs_source *zs = ctx;
	struct zs_pass *p = zs->pass;
	struct xva_pass_buf *pb = &zs->pb;
	ZSTD_outBuffer out;
	ZSTD_inBuffer in;
	size_t room, feed, ret;
	enum xva_status st;

	/* The piece being filled stays until it is handed on. */
	if (keep > p->submitted)
		keep = p->submitted;
	st = xva_pass_buf_room(pb, keep, PASS_STEP, PASS_BUF_MAX, err);
	if (st != XVA_OK)
		return st;
	/* Input one stage at a time: a block's bytes without the next
	 * block's header the decoder would like preloaded, so that a call
	 * that fails has produced nothing (see decode_failed). And none
	 * while output is still to be flushed. */
	feed = 0;
	if (!p->out_full) {
		size_t want = p->hint > BLOCK_HEADER ? p->hint - BLOCK_HEADER
						     : p->hint;

		if (want == 0)
			want = 1;
		if (p->in_len - p->in_pos < want && !p->raw_eof) {
			st = pass_refill(zs, err);
			if (st != XVA_OK)
				return st;
		}
		feed = p->in_len - p->in_pos < want ? p->in_len - p->in_pos
						    : want;
		if (feed == 0 && p->raw_eof) {
			pb->visible = pb->end;
			pb->ended = true;
			if (!p->between_frames)
				xva_source_warn(&zs->base, "the zstd stream is cut "
					    "short at compressed byte %llu "
					    "(uncompressed byte %llu)",
					    (unsigned long long)p->raw_next,
					    (unsigned long long)pb->end);
			return submit_pieces(zs, err);
		}
	}
	room = pb->cap - (size_t)(pb->end - pb->start);
	if (room > PASS_STEP)
		room = PASS_STEP;
	out = (ZSTD_outBuffer){ pb->data + (pb->end - pb->start), room, 0 };
	in = (ZSTD_inBuffer){ p->in + p->in_pos, feed, 0 };
	if (feed && p->between_frames) {
		p->between_frames = false;
		p->frame_start = pass_consumed(p);
	}
	ret = ZSTD_decompressStream(p->ds, &out, &in);
	if (ZSTD_isError(ret)) {
		decode_failed(zs, ret, feed);
		pb->visible = pb->end;
		return submit_pieces(zs, err);
	}
	p->in_pos += in.pos;
	pb->end += out.pos;
	pb->visible = pb->end;
	p->out_full = out.pos == out.size;
	if (ret == 0) {
		p->frames++;
		p->between_frames = true;
		p->hint = FRAME_PREFIX;
	} else {
		p->hint = ret;
	}
	return submit_pieces(zs, err);
}

static void pass_free(struct zs_source *zs)
{
	struct zs_pass *p = zs->pass;
	struct xva_err ignored;

	if (!p)
		return;
	stop_worker(zs, &ignored);
	for (size_t i = 0; i < p->count; i++)
		free(p->queue[(p->head + i) % QUEUE_LEN].data);
	for (size_t i = 0; i < p->n_spare; i++)
		free(p->spare[i]);
	for (size_t i = 0; i < p->n_workers; i++) {
		ZSTD_freeCCtx(p->workers[i].cctx);
		free(p->workers[i].frame);
	}
	free(p->workers);
	ZSTD_freeDStream(p->ds);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->changed);
	free(p->in);
	free(p);
	zs->pass = NULL;
}

static enum xva_status worker_new(struct zs_worker *w, struct xva_err *err)
{
	w->cctx = ZSTD_createCCtx();
	w->frame_cap = ZSTD_compressBound(XVA_BLOCK_SIZE);
	w->frame = malloc(w->frame_cap);
	if (!w->cctx || !w->frame)
		return xva_nomem(err);
	if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
						ZSTD_c_compressionLevel,
						CACHE_LEVEL)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag,
						1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx,
						ZSTD_c_contentSizeFlag, 1)))
		return xva_fail(err, XVA_EIO, "libzstd refuses the cache's "
				"compression parameters");
	if (xva_thread_start(&w->thread, compress_thread, w) != 0)
		return xva_fail(err, XVA_ENOMEM, "cannot start a thread that "
				"writes the zstd chunk cache");
	w->running = true;
	return XVA_OK;
}

static enum xva_status pass_new(struct zs_source *zs, struct xva_err *err)
{
	struct zs_pass *p = calloc(1, sizeof(*p));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	enum xva_status st;

	if (!p)
		return xva_nomem(err);
	zs->pass = p;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	p->in = malloc(PASS_INPUT);
	p->ds = ZSTD_createDStream();
#ifdef XVA_ZSTD_WORKERS
	cpus = XVA_ZSTD_WORKERS;
#endif
	p->n_workers = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS
						      : (size_t)cpus;
	p->workers = calloc(p->n_workers, sizeof(*p->workers));
	if (!p->in || !p->ds || !p->workers)
		return xva_nomem(err);
	p->hint = FRAME_PREFIX;
	p->between_frames = true;
	p->durable = zs->tmp_path != NULL;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &p->last_progress);
	for (size_t i = 0; i < p->n_workers; i++) {
		p->workers[i].zs = zs;
		st = worker_new(&p->workers[i], err);
		if (st != XVA_OK)
			return st;
	}
	return XVA_OK;
}

/* ---- the cache file ------------------------------------------------ */

static enum xva_status read_tail(struct zs_source *zs, unsigned char tail[8],
				 struct xva_err *err)
{
	uint64_t at;

	memset(tail, 0, 8);
	if (zs->raw_size == XVA_SIZE_UNKNOWN)
		return XVA_OK;
	at = zs->raw_size < 8 ? 0 : zs->raw_size - 8;
	return xva_source_read_full(zs->raw, tail, (size_t)(zs->raw_size - at),
				    at, "the end of the zstd stream", err);
}

/* After the frames: the piece table, the identity, the warning and the
 * footer, whose last 8 bytes are the XXH64 of all four (the frames carry
 * their own checksums). The file starts with a 16-byte header. */
static enum xva_status save_cache(struct zs_source *zs, struct xva_err *err)
{
	size_t idlen = strlen(zs->base.identity);
	size_t warnlen = strlen(zs->base.warning);
	size_t table_len = zs->n_pieces * PIECE_SIZE;
	size_t tail_len = table_len + idlen + warnlen + FOOTER_SIZE;
	unsigned char *buf, *footer;
	XXH64_state_t *h;
	enum xva_status st;

	if (zs->cache_max && zs->file_end + tail_len > zs->cache_max)
		return cap_exceeded(zs, err);
	buf = calloc(1, tail_len);
	h = XXH64_createState();
	if (!buf || !h) {
		free(buf);
		XXH64_freeState(h);
		return xva_nomem(err);
	}
	for (size_t i = 0; i < zs->n_pieces; i++) {
		unsigned char *e = buf + i * PIECE_SIZE;

		xva_put_le64(e, zs->pieces[i].coff);
		xva_put_le32(e + 8, zs->pieces[i].clen);
		xva_put_le32(e + 12, zs->pieces[i].kind);
	}
	memcpy(buf + table_len, zs->base.identity, idlen);
	memcpy(buf + table_len + idlen, zs->base.warning, warnlen);
	footer = buf + table_len + idlen + warnlen;
	memcpy(footer, FOOTER_MAGIC, 8);
	xva_put_le32(footer + 8, CACHE_VERSION);
	xva_put_le32(footer + 12, zs->base.stream_damaged ? FLAG_DAMAGED : 0);
	xva_put_le64(footer + 16, zs->raw_size);
	xva_put_le64(footer + 24, zs->base.size);
	xva_put_le64(footer + 32, zs->n_pieces);
	xva_put_le64(footer + 40, zs->file_end);
	memcpy(footer + 48, zs->tail, 8);
	xva_put_le32(footer + 56, (uint32_t)idlen);
	xva_put_le32(footer + 60, (uint32_t)warnlen);
	XXH64_reset(h, 0);
	XXH64_update(h, buf, tail_len - 8);
	xva_put_le64(footer + FOOTER_SIZE - 8, XXH64_digest(h));
	XXH64_freeState(h);
	if (xva_pwrite_full(zs->fd, buf, tail_len, zs->file_end) < 0) {
		st = write_failed(zs, errno, err);
		free(buf);
		return st;
	}
	free(buf);
	zs->file_bytes = zs->file_end + tail_len;
	if (!zs->tmp_path)
		return XVA_OK; /* unlinked: nothing to keep */
	st = xva_atomic_file_commit(zs->fd, zs->tmp_path, zs->cache_path, err);
	if (st != XVA_OK)
		return st;
	free(zs->tmp_path);
	zs->tmp_path = NULL;
	zs->persisted = true;
	return XVA_OK;
}

static int by_coff(const void *a, const void *b)
{
	const struct zs_piece *x = *(const struct zs_piece *const *)a;
	const struct zs_piece *y = *(const struct zs_piece *const *)b;

	return x->coff < y->coff ? -1 : x->coff > y->coff;
}

/* Zero pieces are marks; frames tile [HEADER_SIZE, FRAMES_END) exactly, in
 * whatever order the compressing threads finished them. */
static bool valid_pieces(const struct zs_piece *pcs, size_t n,
			 uint64_t frames_end)
{
	size_t bound = ZSTD_compressBound(XVA_BLOCK_SIZE), n_frames = 0;
	const struct zs_piece **frames = malloc((n ? n : 1) * sizeof(*frames));
	uint64_t end = HEADER_SIZE;
	bool ok = frames != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		const struct zs_piece *pc = &pcs[i];

		if (pc->kind == PIECE_ZERO)
			ok = pc->coff == 0 && pc->clen == 0;
		else if (pc->kind != PIECE_FRAME || pc->clen == 0 ||
			 pc->clen > bound || pc->coff < HEADER_SIZE ||
			 pc->coff > frames_end ||
			 pc->clen > frames_end - pc->coff)
			ok = false;
		else
			frames[n_frames++] = pc;
	}
	if (ok)
		qsort(frames, n_frames, sizeof(*frames), by_coff);
	for (size_t i = 0; ok && i < n_frames; i++) {
		ok = frames[i]->coff == end;
		end += frames[i]->clen;
	}
	free(frames);
	return ok && end == frames_end;
}

/* Loads the cache at zs->cache_path if it is valid for this stream; any
 * doubt and it is ignored (false), to be rebuilt. */
static bool load_cache(struct zs_source *zs)
{
	unsigned char header[HEADER_SIZE], footer[FOOTER_SIZE], tail[8];
	unsigned char *buf = NULL;
	uint64_t fsize, csize, usize, npieces, frames_end, tail_len;
	uint32_t flags, idlen, warnlen;
	struct zs_piece *pcs = NULL;
	struct stat st;
	int fd;

	if (zs->raw_size == XVA_SIZE_UNKNOWN)
		return false;
	fd = open(zs->cache_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < HEADER_SIZE + FOOTER_SIZE)
		goto reject;
	fsize = (uint64_t)st.st_size;
	if (xva_pread_full(fd, header, HEADER_SIZE, 0) < 0 ||
	    memcmp(header, CACHE_MAGIC, 8) != 0 ||
	    xva_get_le32(header + 8) != CACHE_VERSION ||
	    xva_pread_full(fd, footer, FOOTER_SIZE, fsize - FOOTER_SIZE) < 0 ||
	    memcmp(footer, FOOTER_MAGIC, 8) != 0 ||
	    xva_get_le32(footer + 8) != CACHE_VERSION)
		goto reject;
	flags = xva_get_le32(footer + 12);
	csize = xva_get_le64(footer + 16);
	usize = xva_get_le64(footer + 24);
	npieces = xva_get_le64(footer + 32);
	frames_end = xva_get_le64(footer + 40);
	idlen = xva_get_le32(footer + 56);
	warnlen = xva_get_le32(footer + 60);
	if ((flags & ~FLAG_DAMAGED) || csize != zs->raw_size ||
	    usize > (uint64_t)INT64_MAX || idlen != strlen(zs->base.identity) ||
	    warnlen >= XVA_ERR_MAX || npieces > fsize / PIECE_SIZE ||
	    npieces != (usize + XVA_BLOCK_SIZE - 1) >> XVA_BLOCK_SHIFT ||
	    frames_end < HEADER_SIZE || frames_end > fsize)
		goto reject;
	tail_len = npieces * PIECE_SIZE + idlen + warnlen + FOOTER_SIZE;
	if (frames_end + tail_len != fsize)
		goto reject;
	buf = malloc(tail_len);
	if (!buf || xva_pread_full(fd, buf, tail_len, frames_end) < 0 ||
	    XXH64(buf, tail_len - 8, 0) != xva_get_le64(buf + tail_len - 8) ||
	    memcmp(buf + npieces * PIECE_SIZE, zs->base.identity, idlen) != 0)
		goto reject;
	if (read_tail(zs, tail, NULL) != XVA_OK ||
	    memcmp(tail, footer + 48, 8) != 0)
		goto reject;
	pcs = calloc(npieces ? npieces : 1, sizeof(*pcs));
	if (!pcs)
		goto reject;
	for (uint64_t i = 0; i < npieces; i++) {
		const unsigned char *e = buf + i * PIECE_SIZE;

		pcs[i].coff = xva_get_le64(e);
		pcs[i].clen = xva_get_le32(e + 8);
		pcs[i].kind = xva_get_le32(e + 12);
		zs->n_frames += pcs[i].kind == PIECE_FRAME;
	}
	if (!valid_pieces(pcs, (size_t)npieces, frames_end))
		goto reject;
	for (uint32_t i = 0; i < warnlen; i++) {
		unsigned char c = buf[npieces * PIECE_SIZE + idlen + i];

		if (c < 0x20 || c == 0x7f)
			goto reject;
	}
	memcpy(zs->base.warning, buf + npieces * PIECE_SIZE + idlen, warnlen);
	zs->base.warning[warnlen] = '\0';
	zs->base.stream_damaged = flags & FLAG_DAMAGED;
	free(buf);
	zs->pieces = pcs;
	zs->n_pieces = zs->cap_pieces = (size_t)npieces;
	zs->fd = fd;
	zs->file_end = frames_end;
	zs->file_bytes = fsize;
	memcpy(zs->tail, footer + 48, 8);
	zs->base.size = usize;
	zs->index_loaded = true;
	zs->persisted = true;
	return true;
reject:
	zs->n_frames = 0;
	free(pcs);
	free(buf);
	close(fd);
	return false;
}

/* An unlinked file for the cache: it goes away with the descriptor. */
static enum xva_status open_unlinked(struct zs_source *zs, struct xva_err *err)
{
	const char *dir = getenv("TMPDIR");
	char *path = NULL;
	int fd;

	if (!dir || dir[0] != '/')
		dir = "/var/tmp";
	zs->tmp_dir = strdup(dir);
	if (!zs->tmp_dir)
		return xva_nomem(err);
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
		       errno == EINVAL)) {
		/* A file system without O_TMPFILE: the same, by hand. */
		if (asprintf(&path, "%s/xvafs-zstd-XXXXXX", dir) < 0)
			return xva_nomem(err);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0)
			unlink(path);
		free(path);
	}
	if (fd < 0)
		return xva_fail(err, errno == ENOSPC ? XVA_ENOSPC : XVA_EIO,
				"cannot create a temporary chunk cache in %s: %s",
				dir, strerror(errno));
	zs->fd = fd;
	return XVA_OK;
}

/* The cache file the pass writes: in the cache folder when it can be
 * written (else the warning says why not), or unlinked. */
static enum xva_status start_cache_file(struct zs_source *zs,
					struct xva_err *err)
{
	unsigned char header[HEADER_SIZE] = { 0 };
	enum xva_status st;

	if (zs->cache_dir) {
		struct xva_err why;
		int fd;

		if (xva_cache_mkdir(zs->cache_dir, &why) == XVA_OK &&
		    xva_atomic_file_create(zs->cache_path, &zs->tmp_path, &fd,
					 &why) == XVA_OK)
			zs->fd = fd;
		else
			xva_source_warn(&zs->base, "the zstd chunk cache is not kept "
				    "(a temporary one is used): %s", why.msg);
	}
	if (zs->fd < 0) {
		st = open_unlinked(zs, err);
		if (st != XVA_OK)
			return st;
	}
	memcpy(header, CACHE_MAGIC, 8);
	xva_put_le32(header + 8, CACHE_VERSION);
	if (xva_pwrite_full(zs->fd, header, HEADER_SIZE, 0) < 0)
		return write_failed(zs, errno, err);
	zs->file_end = HEADER_SIZE;
	return XVA_OK;
}

/* ---- random access ------------------------------------------------- */

static void dctx_free(struct zs_dctx *d)
{
	if (!d)
		return;
	ZSTD_freeDCtx(d->dctx);
	free(d->frame);
	free(d->block);
	free(d);
}

static struct zs_dctx *dctx_take(struct zs_source *zs)
{
	struct zs_dctx *d = NULL;

	pthread_mutex_lock(&zs->dctx_lock);
	while (!zs->n_idle && zs->n_dctx == MAX_DCTX)
		pthread_cond_wait(&zs->dctx_freed, &zs->dctx_lock);
	if (zs->n_idle) {
		d = zs->idle[--zs->n_idle];
	} else {
		d = calloc(1, sizeof(*d));
		if (d) {
			d->dctx = ZSTD_createDCtx();
			d->frame = malloc(ZSTD_compressBound(XVA_BLOCK_SIZE));
			if (!d->dctx || !d->frame) {
				dctx_free(d);
				d = NULL;
			} else {
				zs->n_dctx++;
			}
		}
	}
	pthread_mutex_unlock(&zs->dctx_lock);
	return d;
}

static void dctx_give_back(struct zs_source *zs, struct zs_dctx *d)
{
	pthread_mutex_lock(&zs->dctx_lock);
	zs->idle[zs->n_idle++] = d;
	pthread_cond_signal(&zs->dctx_freed);
	pthread_mutex_unlock(&zs->dctx_lock);
}

/* Copies [POS, STOP) of piece INDEX into BUF, decompressing the piece and
 * keeping it in the LRU. */
static enum xva_status read_piece(struct zs_source *zs, uint64_t index,
				  unsigned char *buf, uint64_t pos,
				  uint64_t stop, struct xva_err *err)
{
	const struct zs_piece *pc = &zs->pieces[index];
	uint64_t start = index << XVA_BLOCK_SHIFT;
	size_t len = zs->base.size - start < XVA_BLOCK_SIZE
		     ? (size_t)(zs->base.size - start) : XVA_BLOCK_SIZE;
	char name[4200];
	struct zs_dctx *d;
	size_t n;

	if (pc->kind == PIECE_ZERO) {
		memset(buf, 0, (size_t)(stop - pos));
		return XVA_OK;
	}
	d = dctx_take(zs);
	if (!d)
		return xva_nomem(err);
	if (!d->block && !(d->block = malloc(XVA_BLOCK_SIZE))) {
		dctx_give_back(zs, d);
		return xva_nomem(err);
	}
	if (xva_pread_full(zs->fd, d->frame, pc->clen, pc->coff) < 0) {
		int errnum = errno;

		dctx_give_back(zs, d);
		cache_name(zs, name, sizeof(name));
		return xva_fail(err, XVA_EIO, "cannot read %s: %s", name,
				errnum ? strerror(errnum) : "it is shorter than "
				"it was");
	}
	n = ZSTD_decompressDCtx(d->dctx, d->block, XVA_BLOCK_SIZE, d->frame,
				pc->clen);
	if (ZSTD_isError(n) || n != len) {
		dctx_give_back(zs, d);
		cache_name(zs, name, sizeof(name));
		return xva_fail(err, XVA_EIO, "%s is damaged at piece %llu "
				"(uncompressed bytes %llu...): %s; delete it "
				"and mount again", name,
				(unsigned long long)index,
				(unsigned long long)start,
				ZSTD_isError(n) ? ZSTD_getErrorName(n)
				: "wrong length");
	}
	memcpy(buf, d->block + (pos - start), (size_t)(stop - pos));
	d->block = xva_block_lru_adopt(zs->lru, index, d->block, len);
	dctx_give_back(zs, d);
	return XVA_OK;
}

static enum xva_status random_read(struct zs_source *zs, unsigned char *buf,
				   size_t len, uint64_t off, size_t *got,
				   struct xva_err *err)
{
	uint64_t end, pos = off;
	enum xva_status st = XVA_OK;

	if (off >= zs->base.size)
		return XVA_OK;
	end = zs->base.size - off < len ? zs->base.size : off + len;
	while (pos < end) {
		uint64_t index = pos >> XVA_BLOCK_SHIFT;
		uint64_t stop = (index + 1) << XVA_BLOCK_SHIFT;
		struct xva_block *b;

		if (stop > end)
			stop = end;
		b = xva_block_lru_get(zs->lru, index);
		if (b) {
			size_t at = (size_t)(pos - (index << XVA_BLOCK_SHIFT));

			memcpy(buf + (pos - off), b->data + at,
			       (size_t)(stop - pos));
			xva_block_lru_unpin(zs->lru, b);
		} else {
			st = read_piece(zs, index, buf + (pos - off), pos, stop,
					err);
			if (st != XVA_OK)
				break;
		}
		pos = stop;
	}
	*got = (size_t)(pos - off);
	return st;
}

/* ---- the source ---------------------------------------------------- */

static enum xva_status zs_read(struct xva_source *src, void *buf, size_t len,
			       uint64_t off, size_t *got, struct xva_err *err)
{
	struct zs_source *zs = (struct zs_source *)src;
	struct xva_err local;
	enum xva_status st;

	if (!err)
		err = &local;
	pthread_mutex_lock(&zs->pass_lock);
	if (zs->failed.status != XVA_OK) {
		*err = zs->failed;
		pthread_mutex_unlock(&zs->pass_lock);
		return err->status;
	}
	if (zs->passing) {
		st = xva_pass_read(&zs->pb, pass_more, zs, "the zstd stream",
				   buf, len, off, got, err);
		/* The cache misses whatever the thread failed to store. */
		if (st != XVA_OK && worker_failed(zs))
			pass_broken(zs, err);
		pthread_mutex_unlock(&zs->pass_lock);
		return st;
	}
	pthread_mutex_unlock(&zs->pass_lock);
	return random_read(zs, buf, len, off, got, err);
}

static enum xva_status zs_finish_pass(struct xva_source *src,
				      struct xva_err *err)
{
	struct zs_source *zs = (struct zs_source *)src;
	struct xva_err local;
	enum xva_status st = XVA_OK;

	if (!err)
		err = &local;
	pthread_mutex_lock(&zs->pass_lock);
	if (zs->failed.status != XVA_OK) {
		*err = zs->failed;
		st = err->status;
		goto out;
	}
	if (!zs->passing)
		goto out;
	while (!zs->pb.ended) {
		st = pass_more(zs, zs->pb.end, err);
		if (st != XVA_OK) {
			if (worker_failed(zs))
				pass_broken(zs, err);
			goto out;
		}
	}
	report_progress(zs, true);
	src->size = zs->pb.visible;
	st = stop_worker(zs, err);
	if (st == XVA_OK)
		st = read_tail(zs, zs->tail, err);
	if (st == XVA_OK && zs->n_pieces !=
	    (src->size + XVA_BLOCK_SIZE - 1) >> XVA_BLOCK_SHIFT)
		st = xva_fail(err, XVA_EIO, "the zstd pass stored %zu pieces "
			      "for %llu bytes", zs->n_pieces,
			      (unsigned long long)src->size);
	if (st == XVA_OK)
		st = save_cache(zs, err);
	if (st == XVA_OK && !zs->lru)
		st = xva_block_lru_new(zs->memory_max, &zs->lru, err);
	if (st != XVA_OK) {
		pass_broken(zs, err);
		goto out;
	}
	pass_free(zs);
	xva_pass_buf_free(&zs->pb);
	zs->passing = false;
	src->in_pass = false;
out:
	pthread_mutex_unlock(&zs->pass_lock);
	return st;
}

static void zs_info(const struct xva_source *src, struct xva_source_info *info)
{
	struct zs_source *zs = (struct zs_source *)src;
	struct xva_source_info raw;
	size_t frames, cap;

	xva_source_info(zs->raw, &raw);
	pthread_mutex_lock(&zs->pass_lock);
	if (zs->pass) {
		pthread_mutex_lock(&zs->pass->lock);
		frames = zs->n_frames;
		cap = zs->cap_pieces;
		pthread_mutex_unlock(&zs->pass->lock);
	} else {
		frames = zs->n_frames;
		cap = zs->cap_pieces;
	}
	pthread_mutex_unlock(&zs->pass_lock);
	info->kind = "zstd";
	info->over = raw.kind;
	info->stored_size = raw.stored_size;
	info->index_loaded = zs->index_loaded;
	if (zs->persisted) {
		snprintf(info->cache_path, sizeof(info->cache_path), "%s",
			 zs->cache_path);
		info->cache_bytes = zs->file_bytes;
	}
	info->index_memory = cap * sizeof(struct zs_piece);
	info->access_points = frames;
}

static void zs_close(struct xva_source *src)
{
	struct zs_source *zs = (struct zs_source *)src;

	pass_free(zs);
	xva_pass_buf_free(&zs->pb);
	for (size_t i = 0; i < zs->n_idle; i++)
		dctx_free(zs->idle[i]);
	xva_block_lru_free(zs->lru);
	if (zs->tmp_path) {
		unlink(zs->tmp_path);
		free(zs->tmp_path);
	}
	if (zs->fd >= 0)
		close(zs->fd);
	free(zs->pieces);
	free(zs->cache_path);
	free(zs->cache_dir);
	free(zs->tmp_dir);
	pthread_mutex_destroy(&zs->pass_lock);
	pthread_mutex_destroy(&zs->dctx_lock);
	pthread_cond_destroy(&zs->dctx_freed);
	xva_source_close(zs->raw);
	xva_source_fini(src);
	free(zs);
}

/* The raw source (a remote one has an I/O thread) lives through forks. */
static void zs_before_fork(struct xva_source *src)
{
	xva_source_before_fork(((struct zs_source *)src)->raw);
}

static void zs_after_fork(struct xva_source *src)
{
	xva_source_after_fork(((struct zs_source *)src)->raw);
}

static const struct xva_source_ops zs_ops = {
	.read = zs_read,
	.before_fork = zs_before_fork,
	.after_fork = zs_after_fork,
	.finish_pass = zs_finish_pass,
	.info = zs_info,
	.close = zs_close,
};

enum xva_status xva_source_zstd_open(struct xva_source *raw,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err)
{
	static const struct xva_source_options none = { .s3_path_style = -1 };
	struct zs_source *zs;
	char *identity = NULL;
	enum xva_status st;

	*out = NULL;
	if (!o)
		o = &none;
	zs = calloc(1, sizeof(*zs));
	if (!zs || asprintf(&identity, "zstd(%s)", raw->identity) < 0) {
		free(zs);
		xva_source_close(raw);
		return xva_nomem(err);
	}
	st = xva_source_init(&zs->base, &zs_ops, raw->location, identity, err);
	free(identity);
	if (st != XVA_OK) {
		free(zs);
		xva_source_close(raw);
		return st;
	}
	zs->raw = raw;
	zs->fd = -1;
	pthread_mutex_init(&zs->pass_lock, NULL);
	pthread_mutex_init(&zs->dctx_lock, NULL);
	pthread_cond_init(&zs->dctx_freed, NULL);
	zs->base.mtime = raw->mtime;
	zs->raw_size = raw->size;
	zs->progress = o->progress;
	zs->progress_ctx = o->progress_ctx;
	zs->stop = o->stop;
	zs->cache_max = o->cache_max;
	zs->memory_max = o->memory_max ? o->memory_max : DEFAULT_MEMORY;
	if (o->cache_dir) {
		zs->cache_dir = strdup(o->cache_dir);
		zs->cache_path = xva_cache_path(o->cache_dir, zs->base.identity,
						"zsc");
		if (!zs->cache_dir || !zs->cache_path) {
			st = xva_nomem(err);
			goto fail;
		}
		if (!o->fresh_pass && load_cache(zs)) {
			st = xva_block_lru_new(zs->memory_max, &zs->lru, err);
			if (st != XVA_OK)
				goto fail;
			*out = &zs->base;
			return XVA_OK;
		}
	}
	st = start_cache_file(zs, err);
	if (st == XVA_OK)
		st = pass_new(zs, err);
	if (st != XVA_OK)
		goto fail;
	zs->passing = true;
	zs->base.in_pass = true;
	*out = &zs->base;
	return XVA_OK;
fail:
	zs_close(&zs->base);
	return st;
}
