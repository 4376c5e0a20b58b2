/* The zstd decoder: one pass turns the stream into a chunk cache with
 * random access.
 *
 * XAPI's zstd exports are one frame with a 2 MiB window whose blocks are
 * not restart points, and libzstd's public API cannot save a decoder's
 * state. So the pass decodes the stream once and writes what it decodes,
 * cut at every 1 MiB of uncompressed offset, into a cache file: each piece
 * raw with its XXH3-64, or, when -o cache_max caps the file, its own zstd
 * frame (level 1, with its content size and checksum); then a table of
 * {offset, length, kind, hash} per piece and a footer. A random read
 * reads one piece whole and checks its hash (or decompresses it, about
 * 0.35 ms per MiB) and keeps it in the LRU of decoded blocks. Pieces that
 * are all zeros (omitted disk chunks are not, but zero runs inside them
 * are common) are a mark in the table.
 *
 * Raw by default: decoding runs at ~2.4 GB/s, level-1 compression at
 * ~0.87 GB/s a core (negative levels and lz4 little faster), so on two
 * cores a compressed cache set the pass's pace at 0.3-0.45 of zstd -dc's;
 * raw, the pass costs zstd -dc's CPU and a third more, and the rest is
 * writing the cache (bench/README.md, compressed.sh). The pass decodes in
 * the caller's thread and hands pieces to as many others as there are
 * CPUs (at most MAX_WORKERS), which hash or compress them and write them
 * wherever the file ends when they are ready; the table says where.
 *
 * The cache lives in the cache folder (<hash>.zsc) when there is one that
 * can be written, else in an unlinked temporary file in $TMPDIR or
 * /var/tmp that goes away with the source.
 *
 * What every compressed kind shares (the pass's input, the sticky failure,
 * the source's ops, the cache file's handling, the random-read loop over
 * the LRU) is the decoder base's (source/decoder.c); this file gives it
 * the zstd format through a struct xva_decoder_kind.
 *
 * Lock order: the base's pass_lock, then the pass's LOCK (submit_piece,
 * worker_failed, zs_info); the base's reader_lock (which guards the pool
 * of decompression contexts) is never held with either. pass_lock is held
 * across a whole pass step: the raw source's read (its locks, and a wait
 * on the network for a remote one), the progress callback (which must not
 * call back into this source), waits for room in the queue, the cache
 * file's writes and sync, and the join of the compressing threads (in
 * finish_pass). That is safe because those threads take only the pass's
 * LOCK, which is a leaf: they drop it to compress and write. reader_lock
 * is a leaf too. A decompression context taken from the pool is a lock
 * without a mutex, kept across the cache file's pread and the block LRU's
 * lock. Callers above may hold the overlay's stripes (a copy-up). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>
#include <xxhash.h>

#include "base/io.h"
#include "source/decoder.h"
#include "base/thread.h"
#include "source/blockcache.h"
#include "source/source.h"

#define PASS_STEP XVA_DECODER_STEP
/* The pass buffer drops what it no longer needs by moving the rest to its
 * front: at its least size (a few MiB) that moved about a byte for every
 * byte decoded. Made this size from the start, it moves one in eight. */
#define PASS_BUF_SIZE ((size_t)16 << 20)
#define PASS_BUF_MAX (PASS_BUF_SIZE + XVA_PASS_BACKLOG + 2 * XVA_BLOCK_SIZE + \
		      4 * PASS_STEP)
#define QUEUE_LEN 8
#define SPARES (QUEUE_LEN + MAX_WORKERS + 1)
/* A kept cache is made durable at the end (fdatasync); starting the
 * writeback as the pass goes leaves that little to wait for (it took 0.6 s
 * of a 2 GiB pass otherwise). */
#define WRITEBACK_STEP ((uint64_t)64 << 20)
#define MAX_WORKERS 4
#define CACHE_LEVEL 1
#define MAX_DCTX 8
/* A frame starts with 4 bytes of magic and a descriptor byte: what a
 * decoder asks for first (ZSTD_FRAMEHEADERSIZE_PREFIX, static-only). */
#define FRAME_PREFIX 5
#define BLOCK_HEADER 3

#define CACHE_MAGIC "XVAFSZSC"
#define FOOTER_MAGIC "XVAZSCft"
/* 1: every piece a frame, 16-byte table entries. */
#define CACHE_VERSION 2u
#define HEADER_SIZE 16u
#define PIECE_SIZE 24u
#define PIECE_FRAME 0u
#define PIECE_ZERO 1u
#define PIECE_RAW 2u

struct zs_piece {
	uint64_t coff;  /* where its frame is in the cache file */
	uint32_t clen;  /* the frame's length; 0 for a zero piece */
	uint32_t kind;  /* PIECE_FRAME, PIECE_RAW or PIECE_ZERO */
	uint64_t hash;  /* a raw piece's XXH3-64; 0 for the others */
};

struct zs_job {
	uint64_t index;
	size_t len;
	unsigned char *data;
};

/* Its input is the decoder's. */
struct zs_pass {
	ZSTD_DStream *ds;
	size_t hint;            /* what the decoder wants next */
	bool out_full;          /* the last call may have more to flush */
	bool between_frames;
	uint64_t frames;
	uint64_t frame_start;   /* compressed offset of the current frame */
	uint64_t submitted;     /* pieces handed on cover [0, submitted) */

	/* The compressing threads and their queue. LOCK also guards the
	 * piece table and the file's end while they run. A leaf, taken after
	 * the decoder's pass_lock or by a compressing thread alone; held for
	 * no I/O. */
	struct zs_worker *workers;
	size_t n_workers;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a job queued or done, or closing */
	struct zs_job queue[QUEUE_LEN];
	size_t head, count;
	/* Pieces' buffers not in use: pieces of SLAB, one allocation for as
	 * many as can be in use at once, so that the pass does not fault in
	 * a fresh buffer for each. */
	unsigned char *spare[SPARES];
	size_t n_spare;
	unsigned char *slab;
	bool closing;
	struct xva_err werr;    /* a thread's failure, status XVA_OK if none */
	bool durable;           /* the cache is to be kept: write it back */
	bool compress;          /* frames, not raw pieces (a cap is set) */
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
	/* Its cache file is the chunk cache: the .zsc when persisting,
	 * else an unlinked file. */
	struct xva_decoder dec;
	uint64_t file_end;      /* bytes written to the cache file */
	struct zs_piece *pieces;
	size_t n_pieces, cap_pieces, n_frames;
	/* Under dec.pass_lock, with its LOCK for what its threads touch. */
	struct zs_pass *pass;

	/* The pool of decompression contexts, under dec.reader_lock (a leaf:
	 * only a new context's allocation is done under it);
	 * dec.reader_freed: a context is back. */
	struct zs_dctx *idle[MAX_DCTX];
	size_t n_idle, n_dctx;
};

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

	const unsigned char *out = w->frame;

	if (!p->compress && !all_zero(j->data, j->len)) {
		clen = j->len;
		out = j->data;
		piece.kind = PIECE_RAW;
		piece.clen = (uint32_t)clen;
		piece.hash = XXH3_64bits(j->data, j->len);
	} else if (!all_zero(j->data, j->len)) {
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
	if (clen && zs->dec.cache_max &&
	    zs->file_end + clen > zs->dec.cache_max) {
		pthread_mutex_unlock(&p->lock);
		return xva_decoder_cap_exceeded(&zs->dec, err);
	}
	if (clen) {
		piece.coff = zs->file_end;
		zs->file_end += clen;
		zs->n_frames++;
	}
	zs->pieces[j->index] = piece;
	pthread_mutex_unlock(&p->lock);
	if (clen && xva_pwrite_full(zs->dec.fd, out, clen, piece.coff) < 0)
		return xva_decoder_write_failed(&zs->dec, errno, err);
	if (p->durable) {
		uint64_t from, to;

		pthread_mutex_lock(&p->lock);
		from = p->written_back;
		to = zs->file_end;
		if (to - from >= WRITEBACK_STEP)
			p->written_back = to;
		pthread_mutex_unlock(&p->lock);
		if (to - from >= WRITEBACK_STEP)
			sync_file_range(zs->dec.fd, (off_t)from,
					(off_t)(to - from),
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
	struct xva_pass_buf *pb = &zs->dec.pb;
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
	/* With fewer than QUEUE_LEN queued and one piece per worker, fewer
	 * than SPARES are in use: one is always free. */
	buf = p->spare[--p->n_spare];
	pthread_mutex_unlock(&p->lock);
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

/* The decoder's step_broke: after a failed step, the cache misses
 * whatever a compressing thread failed to store. */
static bool worker_failed(struct xva_decoder *d)
{
	struct zs_pass *p = ((struct zs_source *)d)->pass;
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

static uint64_t pass_consumed(const struct zs_source *zs)
{
	return zs->dec.in.off + zs->dec.in.pos;
}

/* The decoder failed. It reports no progress for a failing call, but
 * calls are fed one stage of input at a time and only once all output is
 * flushed (see pass_more), so a failing call produced none: the output so
 * far is exactly what decoded. */
static void decode_failed(struct zs_source *zs, size_t ret, size_t fed)
{
	struct zs_pass *p = zs->pass;
	struct xva_pass_buf *pb = &zs->dec.pb;
	uint64_t at = pass_consumed(zs);

	if (ZSTD_getErrorCode(ret) == ZSTD_error_checksum_wrong) {
		/* The failing call was fed the rest of the frame's 4
		 * checksum bytes: past them, the next frame, if any, is
		 * decoded as usual. */
		zs->dec.base.stream_damaged = true;
		xva_source_warn(&zs->dec.base, "zstd frame %llu, ending at compressed "
			    "byte %llu (uncompressed byte %llu), fails its "
			    "XXH64 content checksum: its data may be damaged",
			    (unsigned long long)p->frames + 1,
			    (unsigned long long)(at + fed),
			    (unsigned long long)pb->end);
		zs->dec.in.pos += fed;
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
		xva_decoder_not_ours(&zs->dec, p->frame_start);
		return;
	}
	zs->dec.base.stream_damaged = true;
	xva_source_warn(&zs->dec.base, "the zstd stream is corrupt at compressed byte "
		    "%llu (%s): it is served up to uncompressed byte %llu",
		    (unsigned long long)at, ZSTD_getErrorName(ret),
		    (unsigned long long)pb->end);
	pb->ended = true;
}

/* Hands on the pieces the new output completed; at the end, the last. */
static enum xva_status submit_pieces(struct zs_source *zs, struct xva_err *err)
{
	struct zs_pass *p = zs->pass;
	struct xva_pass_buf *pb = &zs->dec.pb;
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
	struct xva_pass_buf *pb = &zs->dec.pb;
	struct xva_decoder_input *input = &zs->dec.in;
	ZSTD_outBuffer out;
	ZSTD_inBuffer in;
	size_t room, feed, ret;
	enum xva_status st;

	/* The piece being filled stays until it is handed on. */
	if (keep > p->submitted)
		keep = p->submitted;
	st = xva_pass_buf_room(pb, keep, pb->cap ? PASS_STEP : PASS_BUF_SIZE,
			       PASS_BUF_MAX, err);
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
		if (input->len - input->pos < want && !input->raw_eof) {
			st = xva_decoder_refill(&zs->dec, err);
			if (st != XVA_OK)
				return st;
		}
		feed = input->len - input->pos < want ? input->len - input->pos
						      : want;
		if (feed == 0 && input->raw_eof) {
			pb->visible = pb->end;
			pb->ended = true;
			if (!p->between_frames)
				xva_source_warn(&zs->dec.base, "the zstd stream is cut "
					    "short at compressed byte %llu "
					    "(uncompressed byte %llu)",
					    (unsigned long long)input->raw_next,
					    (unsigned long long)pb->end);
			return submit_pieces(zs, err);
		}
	}
	room = pb->cap - (size_t)(pb->end - pb->start);
	if (room > PASS_STEP)
		room = PASS_STEP;
	out = (ZSTD_outBuffer){ pb->data + (pb->end - pb->start), room, 0 };
	in = (ZSTD_inBuffer){ input->data + input->pos, feed, 0 };
	if (feed && p->between_frames) {
		p->between_frames = false;
		p->frame_start = pass_consumed(zs);
	}
	ret = ZSTD_decompressStream(p->ds, &out, &in);
	if (ZSTD_isError(ret)) {
		decode_failed(zs, ret, feed);
		pb->visible = pb->end;
		return submit_pieces(zs, err);
	}
	input->pos += in.pos;
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

/* The decoder's end_pass. */
static void pass_free(struct xva_decoder *d)
{
	struct zs_source *zs = (struct zs_source *)d;
	struct zs_pass *p = zs->pass;
	struct xva_err ignored;

	if (!p)
		return;
	stop_worker(zs, &ignored);
	free(p->slab); /* every piece's buffer, queued or spare */
	for (size_t i = 0; i < p->n_workers; i++) {
		ZSTD_freeCCtx(p->workers[i].cctx);
		free(p->workers[i].frame);
	}
	free(p->workers);
	ZSTD_freeDStream(p->ds);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->changed);
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
	p->ds = ZSTD_createDStream();
#ifdef XVA_ZSTD_WORKERS
	cpus = XVA_ZSTD_WORKERS;
#endif
	p->n_workers = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS
						      : (size_t)cpus;
	p->workers = calloc(p->n_workers, sizeof(*p->workers));
	p->slab = malloc((size_t)SPARES * XVA_BLOCK_SIZE);
	if (!p->ds || !p->workers || !p->slab)
		return xva_nomem(err);
	xva_advise_huge(p->slab, (size_t)SPARES * XVA_BLOCK_SIZE);
	for (size_t i = 0; i < SPARES; i++)
		p->spare[p->n_spare++] = p->slab + i * XVA_BLOCK_SIZE;
	p->hint = FRAME_PREFIX;
	p->between_frames = true;
	p->durable = zs->dec.tmp_path != NULL;
	p->compress = zs->dec.cache_max != 0;
	for (size_t i = 0; i < p->n_workers; i++) {
		p->workers[i].zs = zs;
		st = worker_new(&p->workers[i], err);
		if (st != XVA_OK)
			return st;
	}
	return XVA_OK;
}

/* ---- the cache file ------------------------------------------------ */

static void encode_piece(const struct xva_decoder *d, uint64_t i,
			 unsigned char *e)
{
	const struct zs_piece *pc = &((const struct zs_source *)d)->pieces[i];

	xva_put_le64(e, pc->coff);
	xva_put_le32(e + 8, pc->clen);
	xva_put_le32(e + 12, pc->kind);
	xva_put_le64(e + 16, pc->hash);
}

/* The file (see decoder.h): a 16-byte header and the frames as the body,
 * then the piece table, the identity, the warning and the footer, whose
 * hash covers those four only (the frames carry their own checksums). */
static const struct xva_decoder_layout zs_layout = {
	.magic = FOOTER_MAGIC,
	.version = CACHE_VERSION,
	.entry = PIECE_SIZE,
	.body_min = HEADER_SIZE,
	.count_at = 32,
	.body_end_at = 40,
	.tail_at = 48,
	.idlen_at = 56,
	.warnlen_at = 60,
	.encode = encode_piece,
};

static enum xva_status save_cache(struct zs_source *zs, struct xva_err *err)
{
	unsigned char footer[XVA_DECODER_FOOTER] = { 0 };

	return xva_decoder_save(&zs->dec, &zs_layout, zs->file_end,
				zs->n_pieces, footer, NULL, err);
}

static int by_coff(const void *a, const void *b)
{
	const struct zs_piece *x = *(const struct zs_piece *const *)a;
	const struct zs_piece *y = *(const struct zs_piece *const *)b;

	return x->coff < y->coff ? -1 : x->coff > y->coff;
}

/* Zero pieces are marks; frames and raw pieces (each as long as the
 * bytes it holds of the stream's USIZE) tile [HEADER_SIZE, FRAMES_END)
 * exactly, in whatever order the threads finished them. */
static bool valid_pieces(const struct zs_piece *pcs, size_t n,
			 uint64_t usize, uint64_t frames_end)
{
	size_t bound = ZSTD_compressBound(XVA_BLOCK_SIZE), n_frames = 0;
	const struct zs_piece **frames = malloc((n ? n : 1) * sizeof(*frames));
	uint64_t end = HEADER_SIZE;
	bool ok = frames != NULL;

	for (size_t i = 0; ok && i < n; i++) {
		const struct zs_piece *pc = &pcs[i];

		uint64_t start = (uint64_t)i << XVA_BLOCK_SHIFT;
		uint64_t len = usize - start < XVA_BLOCK_SIZE ? usize - start
							      : XVA_BLOCK_SIZE;

		if (pc->kind == PIECE_ZERO)
			ok = pc->coff == 0 && pc->clen == 0 && pc->hash == 0;
		else if ((pc->kind == PIECE_FRAME && pc->hash != 0) ||
			 (pc->kind == PIECE_RAW && pc->clen != len))
			ok = false;
		else if ((pc->kind != PIECE_FRAME && pc->kind != PIECE_RAW) ||
			 pc->clen == 0 ||
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

/* The decoder's load: the cache at dec.cache_path if it is valid for this
 * stream; any doubt and it is ignored (false), to be rebuilt. */
static bool load_cache(struct xva_decoder *d)
{
	struct zs_source *zs = (struct zs_source *)d;
	unsigned char header[HEADER_SIZE];
	struct xva_decoder_saved s;
	struct zs_piece *pcs = NULL;
	size_t n_frames = 0;

	if (!xva_decoder_open_saved(d, &zs_layout, &s))
		return false;
	if (xva_pread_full(s.fd, header, HEADER_SIZE, 0) < 0 ||
	    memcmp(header, CACHE_MAGIC, 8) != 0 ||
	    xva_get_le32(header + 8) != CACHE_VERSION ||
	    s.count != (s.usize + XVA_BLOCK_SIZE - 1) >> XVA_BLOCK_SHIFT)
		goto reject;
	pcs = calloc(s.count ? s.count : 1, sizeof(*pcs));
	if (!pcs)
		goto reject;
	for (uint64_t i = 0; i < s.count; i++) {
		const unsigned char *e = s.table + i * PIECE_SIZE;

		pcs[i].coff = xva_get_le64(e);
		pcs[i].clen = xva_get_le32(e + 8);
		pcs[i].kind = xva_get_le32(e + 12);
		pcs[i].hash = xva_get_le64(e + 16);
		n_frames += pcs[i].kind != PIECE_ZERO;
	}
	if (!valid_pieces(pcs, (size_t)s.count, s.usize, s.body_end) ||
	    !xva_decoder_loaded(d, &s))
		goto reject;
	zs->pieces = pcs;
	zs->n_pieces = zs->cap_pieces = (size_t)s.count;
	zs->n_frames = n_frames;
	zs->file_end = s.body_end;
	return true;
reject:
	free(pcs);
	xva_decoder_saved_free(&s);
	return false;
}

/* The cache file the pass writes: in the cache folder when it can be
 * written (else the warning says why not), or unlinked. */
static enum xva_status start_cache_file(struct zs_source *zs,
					struct xva_err *err)
{
	unsigned char header[HEADER_SIZE] = { 0 };
	enum xva_status st;

	if (zs->dec.cache_dir)
		xva_decoder_create_file(&zs->dec, "the zstd chunk cache is not "
					"kept (a temporary one is used)");
	if (zs->dec.fd < 0) {
		st = xva_decoder_open_unlinked(&zs->dec, err);
		if (st != XVA_OK)
			return st;
	}
	memcpy(header, CACHE_MAGIC, 8);
	xva_put_le32(header + 8, CACHE_VERSION);
	if (xva_pwrite_full(zs->dec.fd, header, HEADER_SIZE, 0) < 0)
		return xva_decoder_write_failed(&zs->dec, errno, err);
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

	pthread_mutex_lock(&zs->dec.reader_lock);
	while (!zs->n_idle && zs->n_dctx == MAX_DCTX)
		pthread_cond_wait(&zs->dec.reader_freed, &zs->dec.reader_lock);
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
	pthread_mutex_unlock(&zs->dec.reader_lock);
	return d;
}

static void dctx_give_back(struct zs_source *zs, struct zs_dctx *d)
{
	pthread_mutex_lock(&zs->dec.reader_lock);
	zs->idle[zs->n_idle++] = d;
	pthread_cond_signal(&zs->dec.reader_freed);
	pthread_mutex_unlock(&zs->dec.reader_lock);
}

/* The decoder's read_block: copies [POS, STOP) of piece INDEX into BUF,
 * decompressing the piece and keeping it in the LRU. */
static enum xva_status read_piece(struct xva_decoder *d, void **reader,
				  uint64_t index, unsigned char *buf,
				  uint64_t pos, uint64_t stop,
				  struct xva_err *err)
{
	struct zs_source *zs = (struct zs_source *)d;
	const struct zs_piece *pc = &zs->pieces[index];
	uint64_t start = index << XVA_BLOCK_SHIFT;
	size_t len = d->base.size - start < XVA_BLOCK_SIZE
		     ? (size_t)(d->base.size - start) : XVA_BLOCK_SIZE;
	char name[4200];
	struct zs_dctx *dc;
	enum xva_status st;
	size_t n;

	(void)reader;
	if (pc->kind == PIECE_ZERO) {
		memset(buf, 0, (size_t)(stop - pos));
		return XVA_OK;
	}
	dc = dctx_take(zs);
	if (!dc)
		return xva_nomem(err);
	if (!dc->block && !(dc->block = malloc(XVA_BLOCK_SIZE))) {
		dctx_give_back(zs, dc);
		return xva_nomem(err);
	}
	/* A raw piece is read whole: its hash is over all of it. */
	st = xva_decoder_pread(d, pc->kind == PIECE_RAW ? dc->block : dc->frame,
			       pc->clen, pc->coff, err);
	if (st != XVA_OK) {
		dctx_give_back(zs, dc);
		return st;
	}
	if (pc->kind == PIECE_RAW) {
		n = XXH3_64bits(dc->block, len) == pc->hash ? len : 0;
	} else {
		n = ZSTD_decompressDCtx(dc->dctx, dc->block, XVA_BLOCK_SIZE,
					dc->frame, pc->clen);
	}
	if (ZSTD_isError(n) || n != len) {
		dctx_give_back(zs, dc);
		xva_decoder_file_name(d, name, sizeof(name));
		return xva_fail(err, XVA_EIO, "%s is damaged at piece %llu "
				"(uncompressed bytes %llu...): %s; delete it "
				"and mount again", name,
				(unsigned long long)index,
				(unsigned long long)start,
				ZSTD_isError(n) ? ZSTD_getErrorName(n)
				: pc->kind == PIECE_RAW ? "its hash does not match"
				: "wrong length");
	}
	memcpy(buf, dc->block + (pos - start), (size_t)(stop - pos));
	dc->block = xva_block_lru_adopt(d->lru, index, dc->block, len);
	dctx_give_back(zs, dc);
	return XVA_OK;
}

/* ---- the source ---------------------------------------------------- */

/* The decoder's finish: every piece stored, the cache file saved. */
static enum xva_status zs_finish(struct xva_decoder *d, struct xva_err *err)
{
	struct zs_source *zs = (struct zs_source *)d;
	enum xva_status st;

	st = stop_worker(zs, err);
	if (st == XVA_OK)
		st = xva_decoder_read_tail(d, d->tail, err);
	if (st == XVA_OK && zs->n_pieces !=
	    (d->base.size + XVA_BLOCK_SIZE - 1) >> XVA_BLOCK_SHIFT)
		st = xva_fail(err, XVA_EIO, "the zstd pass stored %zu pieces "
			      "for %llu bytes", zs->n_pieces,
			      (unsigned long long)d->base.size);
	if (st == XVA_OK)
		st = save_cache(zs, err);
	if (st != XVA_OK)
		return xva_decoder_pass_broken(d, err);
	return XVA_OK;
}

/* The decoder's start. */
static enum xva_status zs_start(struct xva_decoder *d, struct xva_err *err)
{
	struct zs_source *zs = (struct zs_source *)d;
	enum xva_status st;

	st = start_cache_file(zs, err);
	if (st == XVA_OK)
		st = pass_new(zs, err);
	return st;
}

static void zs_info(struct xva_decoder *d, struct xva_source_info *info)
{
	struct zs_source *zs = (struct zs_source *)d;
	size_t frames, cap;

	if (zs->pass) {
		pthread_mutex_lock(&zs->pass->lock);
		frames = zs->n_frames;
		cap = zs->cap_pieces;
		pthread_mutex_unlock(&zs->pass->lock);
	} else {
		frames = zs->n_frames;
		cap = zs->cap_pieces;
	}
	info->index_memory = cap * sizeof(struct zs_piece);
	info->access_points = frames;
}

static void zs_close(struct xva_decoder *d)
{
	struct zs_source *zs = (struct zs_source *)d;

	for (size_t i = 0; i < zs->n_idle; i++)
		dctx_free(zs->idle[i]);
	free(zs->pieces);
}

static const struct xva_decoder_kind zs_kind = {
	.name = "zstd",
	.ext = "zsc",
	.stream = "the zstd stream",
	.tail_what = "the end of the zstd stream",
	.file = "chunk cache",
	.file_of_kind = "zstd chunk cache",
	.size = sizeof(struct zs_source),
	.load = load_cache,
	.start = zs_start,
	.pass_more = pass_more,
	.step_broke = worker_failed,
	.finish = zs_finish,
	.end_pass = pass_free,
	.read_block = read_piece,
	.info = zs_info,
	.close = zs_close,
};

enum xva_status xva_source_zstd_open(struct xva_source *raw,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err)
{
	return xva_decoder_open(&zs_kind, raw, o, out, err);
}
