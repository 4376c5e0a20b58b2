/* The gzip decoder: random access into a gzip stream, zran style.
 *
 * Deflate has no restart points: every byte may refer to the 32 KiB before
 * it. One sequential pass (the tar walk, then finish_pass) therefore
 * records access points at deflate block boundaries, each with the bit
 * position there and the 32 KiB of output before it (its window). A read
 * then primes a raw inflate at the point before it and inflates forward.
 *
 * Access points are placed at the first block boundary after every
 * XVA_GZIP_SPACING bytes of output, and at the start of every gzip member
 * (concatenated members each start a fresh deflate stream with no
 * history). 4 MiB was chosen by measurement on a 2 GiB export
 * (bench/compressed.sh): a random 4 KiB read costs the inflate of half a
 * span on average, 3.7 ms median at 4 MiB against 1.1 ms at 1 MiB and
 * 14.5 ms at 16 MiB, but 1 MiB makes the index 3.9x bigger (15.4 MiB per
 * GiB against 4.0) and the pass 28 % slower (deflating 4x the windows),
 * while the LRU of decoded blocks and the cursors below make the reads a
 * mounted disk sees (runs of neighbouring reads) pay that cost once per
 * run, not once per read. 2 MiB (1.9 ms, 7.6 MiB per GiB) is the choice
 * if latency matters more than the cache folder's size.
 *
 * The index is written to the cache folder as it grows (windows first, the
 * point table and a footer at the end; see gz_layout), so its windows
 * never have to sit in memory: reads fetch them with pread, each checked
 * against the XXH64 kept in its point. Without a cache folder the windows
 * are kept in memory, deflated.
 *
 * Random reads keep every decoded 1 MiB block (aligned in uncompressed
 * offsets) in a bounded LRU and park their inflate state ("cursor") where
 * they stop, so a sequential reader continues without re-priming and never
 * inflates the same bytes twice.
 *
 * What every compressed kind shares (the pass's input, the sticky failure,
 * the source's ops, the cache file's handling, the random-read loop over
 * the LRU) is the decoder base's (source/decoder.c); this file gives it
 * the gzip format through a struct xva_decoder_kind.
 *
 * Lock order: this file uses the base's two locks. pass_lock and
 * reader_lock (which guards the cursor table) are never held together
 * (the base drops pass_lock before a random read). pass_lock is held
 * across a whole pass step: the raw source's read (its locks, and a wait
 * on the network for a remote one), the index file's writes and the
 * progress callback, which must not call back into this source.
 * reader_lock is a leaf. A cursor marked busy is a lock without a mutex,
 * taken with neither lock held and kept across the raw source's reads
 * (each told first to the cursor's read-ahead stream, whose lock is a
 * leaf), the windows' preads and the block LRU's lock. Callers above may
 * hold the overlay's stripes (a copy-up). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include <zlib.h>

#include "base/io.h"
#include "source/decoder.h"
#include "source/blockcache.h"
#include "source/source.h"

#ifndef XVA_GZIP_SPACING
#define XVA_GZIP_SPACING ((uint64_t)4 << 20)
#endif
#define WINDOW_SIZE 32768u
#define PASS_STEP XVA_DECODER_STEP
/* Output of a deflate block is held back until the block ends (a corrupt
 * block can produce wrong bytes before inflate notices), but no more than
 * this much: zlib's blocks are at most a few MiB, and a forged stream must
 * not make the pass hoard memory. */
#define PENDING_MAX ((size_t)16 << 20)
#define PASS_BUF_MAX (XVA_PASS_BACKLOG + PENDING_MAX + 4 * PASS_STEP)
#define CURSOR_INPUT ((size_t)256 << 10)
#define MAX_CURSORS 4

#define INDEX_MAGIC "XVAFSGZI"
#define INDEX_VERSION 1u
#define POINT_SIZE 48u
#define IDENTITY_MAX 4096u
#define POINT_MEMBER_START 1u

struct gz_point {
	uint64_t uoff;  /* uncompressed offset */
	uint64_t coff;  /* compressed offset of the first byte to feed */
	uint64_t woff;  /* where its deflated window is in the window store */
	uint64_t wsum;  /* XXH64 of the window as inflated */
	uint32_t wclen; /* deflated window bytes */
	uint32_t wlen;  /* window bytes (< 32 KiB near a member's start) */
	uint8_t bits;   /* bits of the byte before COFF still to feed */
	uint8_t flags;  /* POINT_MEMBER_START */
};

/* Deflated windows: in the index file (the decoder's fd, when >= 0) or
 * in memory. */
struct window_store {
	unsigned char *mem;
	uint64_t len, cap;
};

struct gz_pass {
	z_stream strm;          /* gzip wrapper: zlib checks CRC and ISIZE */
	bool strm_ready;        /* its input is the decoder's (pass_refill) */
	bool in_member;
	bool header_done;
	unsigned skip;          /* trailer bytes still to skip (after a CRC
				   mismatch zlib stops before ISIZE) */
	uint64_t members;
	uint64_t last_point_uoff;
	uint64_t block_coff;    /* where the block being decoded starts */
	z_stream wdef;          /* deflates windows */
	bool wdef_ready;
	unsigned char window[WINDOW_SIZE];
	unsigned char *wout;
	size_t wout_cap;
	XXH64_state_t *file_hash;
};

struct gz_cursor {
	z_stream strm;          /* raw inflate */
	z_stream wstrm;         /* inflates windows */
	bool ready;
	unsigned char *in;
	uint64_t next_coff;     /* compressed offset of the next fetch */
	uint64_t pos;           /* uncompressed offset of the next byte out */
	bool member_ended;
	unsigned char *blk;     /* the 1 MiB block POS is in */
	uint64_t blk_index;
	size_t blk_from;        /* valid bytes: [blk_from, pos - block start) */
	bool busy;
	uint64_t last_used;
	struct xva_stream raw_stream; /* read-ahead of the raw source */
	unsigned char window[WINDOW_SIZE];
};

struct gz_source {
	/* Its cache file is the .gzi index, when persisting. */
	struct xva_decoder dec;

	/* Grown by the pass under dec.pass_lock, like PASS; they stop
	 * changing when the pass ends, and random reads then use them
	 * unlocked. */
	struct window_store ws;
	struct gz_point *points;
	size_t n_points, cap_points;
	struct gz_pass *pass;

	/* Under dec.reader_lock (a leaf: only cursor_new's allocation is
	 * done under it), with every cursor not busy (a busy one is its
	 * reader's); dec.reader_freed: a cursor stopped being busy. */
	struct gz_cursor *cursors[MAX_CURSORS];
	size_t n_cursors;
	uint64_t use_clock;
};

/* Appends LEN bytes to the window store; *OFF is where they went. */
static enum xva_status store_append(struct gz_source *gz, const void *data,
				    size_t len, uint64_t *off,
				    struct xva_err *err)
{
	struct window_store *ws = &gz->ws;

	*off = ws->len;
	if (gz->dec.fd >= 0) {
		if (gz->dec.cache_max && ws->len + len > gz->dec.cache_max)
			return xva_decoder_cap_exceeded(&gz->dec, err);
		if (xva_pwrite_full(gz->dec.fd, data, len, ws->len) < 0)
			return xva_decoder_write_failed(&gz->dec, errno, err);
		XXH64_update(gz->pass->file_hash, data, len);
	} else {
		if (ws->len + len > ws->cap) {
			uint64_t cap = ws->cap ? ws->cap * 2 : 1 << 20;
			unsigned char *grown;

			while (cap < ws->len + len)
				cap *= 2;
			grown = realloc(ws->mem, cap);
			if (!grown)
				return xva_nomem(err);
			ws->mem = grown;
			ws->cap = cap;
		}
		memcpy(ws->mem + ws->len, data, len);
	}
	ws->len += len;
	return XVA_OK;
}

static enum xva_status store_read(struct gz_source *gz, void *buf, size_t len,
				  uint64_t off, struct xva_err *err)
{
	const struct window_store *ws = &gz->ws;

	if (off > ws->len || len > ws->len - off)
		return xva_fail(err, XVA_EIO, "the gzip index %s is damaged: a "
				"window lies past its end; delete it",
				gz->dec.cache_path ? gz->dec.cache_path
						   : "(memory)");
	if (gz->dec.fd < 0) {
		memcpy(buf, ws->mem + off, len);
		return XVA_OK;
	}
	return xva_decoder_pread(&gz->dec, buf, len, off, err);
}

/* ---- the pass ---------------------------------------------------- */

/* The inflate stream's next_in and avail_in are where the pass's input
 * (the decoder's) stands between refills: its unread bytes always end at
 * dec.in.len. */
static uint64_t pass_consumed(const struct gz_source *gz)
{
	const struct xva_decoder_input *in = &gz->dec.in;

	return in->off + (uint64_t)(gz->pass->strm.next_in - in->data);
}

static enum xva_status pass_refill(struct gz_source *gz, struct xva_err *err)
{
	struct xva_decoder_input *in = &gz->dec.in;
	z_stream *strm = &gz->pass->strm;
	enum xva_status st;

	in->pos = (size_t)(strm->next_in - in->data);
	st = xva_decoder_refill(&gz->dec, err);
	strm->next_in = in->data + in->pos;
	strm->avail_in = (uInt)(in->len - in->pos);
	return st;
}

static enum xva_status record_point(struct gz_source *gz, uint64_t uoff,
				    uint64_t coff, unsigned bits,
				    bool member_start, struct xva_err *err)
{
	struct gz_pass *p = gz->pass;
	struct gz_point *pt;
	unsigned wlen = 0;
	enum xva_status st;

	if (gz->n_points == gz->cap_points) {
		size_t cap = gz->cap_points ? gz->cap_points * 2 : 256;
		struct gz_point *grown = realloc(gz->points, cap * sizeof(*pt));

		if (!grown)
			return xva_nomem(err);
		gz->points = grown;
		gz->cap_points = cap;
	}
	pt = &gz->points[gz->n_points];
	memset(pt, 0, sizeof(*pt));
	pt->uoff = uoff;
	pt->coff = coff;
	pt->bits = (uint8_t)bits;
	pt->flags = member_start ? POINT_MEMBER_START : 0;
	if (!member_start) {
		uInt len = WINDOW_SIZE;

		if (inflateGetDictionary(&p->strm, p->window, &len) != Z_OK)
			return xva_fail(err, XVA_EIO, "zlib cannot give the "
					"window at uncompressed byte %llu",
					(unsigned long long)uoff);
		wlen = len;
	}
	pt->wlen = wlen;
	pt->wsum = XXH64(p->window, wlen, 0);
	if (wlen) {
		deflateReset(&p->wdef);
		p->wdef.next_in = p->window;
		p->wdef.avail_in = wlen;
		p->wdef.next_out = p->wout;
		p->wdef.avail_out = (uInt)p->wout_cap;
		if (deflate(&p->wdef, Z_FINISH) != Z_STREAM_END)
			return xva_fail(err, XVA_EIO, "zlib cannot deflate the "
					"window at uncompressed byte %llu",
					(unsigned long long)uoff);
		pt->wclen = (uint32_t)(p->wout_cap - p->wdef.avail_out);
		st = store_append(gz, p->wout, pt->wclen, &pt->woff, err);
		if (st != XVA_OK)
			return st;
	} else {
		pt->woff = gz->ws.len;
	}
	gz->n_points++;
	p->last_point_uoff = uoff;
	return XVA_OK;
}

/* Between members: a next member, the end, or bytes that are not gzip. */
static enum xva_status next_member(struct gz_source *gz, struct xva_err *err)
{
	struct gz_pass *p = gz->pass;
	struct xva_pass_buf *pb = &gz->dec.pb;
	enum xva_status st;

	while (p->skip) {
		if (p->strm.avail_in == 0) {
			if (gz->dec.in.raw_eof)
				break;
			st = pass_refill(gz, err);
			if (st != XVA_OK)
				return st;
			continue;
		}
		p->strm.next_in++;
		p->strm.avail_in--;
		p->skip--;
	}
	while (p->strm.avail_in < 2 && !gz->dec.in.raw_eof) {
		st = pass_refill(gz, err);
		if (st != XVA_OK)
			return st;
	}
	if (p->strm.avail_in == 0) {
		pb->ended = true;
		return XVA_OK;
	}
	if (p->strm.avail_in < 2 || p->strm.next_in[0] != 0x1f ||
	    p->strm.next_in[1] != 0x8b) {
		xva_decoder_not_ours(&gz->dec, pass_consumed(gz));
		return XVA_OK;
	}
	if (p->members && inflateReset(&p->strm) != Z_OK) {
		xva_fail(err, XVA_EIO, "zlib cannot reset");
		return xva_decoder_pass_broken(&gz->dec, err);
	}
	p->members++;
	p->in_member = true;
	p->header_done = false;
	p->block_coff = pass_consumed(gz);
	return XVA_OK;
}

static bool checksum_message(const char *msg)
{
	return msg && (strcmp(msg, "incorrect data check") == 0 ||
		       strcmp(msg, "incorrect length check") == 0);
}

/* A member whose CRC-32 or ISIZE does not match: served (its bytes are
 * what deflate gave), the stream marked damaged, the next member next. */
static void member_check_failed(struct gz_source *gz, uint64_t at)
{
	struct xva_decoder *d = &gz->dec;
	struct gz_pass *p = gz->pass;
	struct xva_pass_buf *pb = &d->pb;
	bool crc = strcmp(p->strm.msg, "incorrect data check") == 0;

	pb->visible = pb->end;
	d->base.stream_damaged = true;
	xva_source_warn(&d->base, "gzip member %llu, ending at compressed "
			"byte %llu (uncompressed byte %llu), fails its %s "
			"check: its data may be damaged",
			(unsigned long long)p->members, (unsigned long long)at,
			(unsigned long long)pb->end,
			crc ? "CRC-32" : "ISIZE (length)");
	p->skip = crc ? 4 : 0;
	p->in_member = false;
}

/* A deflate block inflate refuses: the stream ends before it. The bytes
 * of the failing block are dropped: inflate may have produced some of
 * them wrong before it saw the damage. */
static void stream_corrupt(struct gz_source *gz, uint64_t at)
{
	struct xva_decoder *d = &gz->dec;
	struct gz_pass *p = gz->pass;
	struct xva_pass_buf *pb = &d->pb;

	pb->end = pb->visible;
	pb->ended = true;
	d->base.stream_damaged = true;
	xva_source_warn(&d->base, "the gzip stream is corrupt in the deflate "
			"block at compressed byte %llu (%s, at byte %llu): it "
			"is served up to uncompressed byte %llu",
			(unsigned long long)p->block_coff,
			p->strm.msg ? p->strm.msg : "inflate error",
			(unsigned long long)at, (unsigned long long)pb->visible);
}

/* Inflate stopped at a block boundary (compressed byte AT): the member's
 * first, or one XVA_GZIP_SPACING past the last point (never after the
 * member's last block), becomes an access point; the bytes so far are
 * whole. */
static enum xva_status at_block_boundary(struct gz_source *gz, uint64_t at,
					 struct xva_err *err)
{
	struct gz_pass *p = gz->pass;
	struct xva_pass_buf *pb = &gz->dec.pb;
	unsigned bits = (unsigned)p->strm.data_type & 7;
	enum xva_status st = XVA_OK;

	if (!p->header_done) {
		p->header_done = true;
		st = record_point(gz, pb->end, at, 0, true, err);
	} else if (!(p->strm.data_type & 64) &&
		   pb->end - p->last_point_uoff >= XVA_GZIP_SPACING) {
		st = record_point(gz, pb->end, at, bits, false, err);
	}
	if (st != XVA_OK)
		return st;
	pb->visible = pb->end;
	p->block_coff = at;
	return XVA_OK;
}

/* One step of the pass (xva_pass_more_fn). */
static enum xva_status pass_more(void *ctx, uint64_t keep, struct xva_err *err)
{
	struct gz_source *gz = ctx;
	struct xva_decoder *d = &gz->dec;
	struct gz_pass *p = gz->pass;
	struct xva_pass_buf *pb = &d->pb;
	uint64_t visible_before = pb->visible;
	enum xva_status st;

	st = xva_pass_buf_room(pb, keep, PASS_STEP, PASS_BUF_MAX, err);
	if (st != XVA_OK)
		return st;
	for (;;) {
		size_t room, produced;
		uint64_t at;
		int ret;

		if (pb->ended || pb->visible > visible_before)
			return XVA_OK;
		if (!p->in_member) {
			st = next_member(gz, err);
			if (st != XVA_OK)
				return st;
			continue;
		}
		if (p->strm.avail_in == 0 && !d->in.raw_eof) {
			st = pass_refill(gz, err);
			if (st != XVA_OK)
				return st;
		}
		room = pb->cap - (size_t)(pb->end - pb->start);
		if (room == 0)
			return XVA_OK; /* the caller makes room and calls again */
		if (room > PASS_STEP)
			room = PASS_STEP;
		p->strm.next_out = pb->data + (pb->end - pb->start);
		p->strm.avail_out = (uInt)room;
		ret = inflate(&p->strm, Z_BLOCK);
		produced = room - p->strm.avail_out;
		pb->end += produced;
		at = pass_consumed(gz);
		if (ret == Z_STREAM_END) {
			pb->visible = pb->end;
			p->in_member = false;
			continue;
		}
		if (ret == Z_DATA_ERROR && checksum_message(p->strm.msg)) {
			member_check_failed(gz, at);
			continue;
		}
		if (ret == Z_MEM_ERROR) {
			xva_nomem(err);
			return xva_decoder_pass_broken(d, err);
		}
		if (ret != Z_OK && ret != Z_BUF_ERROR) {
			stream_corrupt(gz, at);
			return XVA_OK;
		}
		if (p->strm.data_type & 128) {
			st = at_block_boundary(gz, at, err);
			if (st != XVA_OK)
				return xva_decoder_pass_broken(d, err);
		} else if (pb->end - pb->visible > PENDING_MAX) {
			pb->visible = pb->end;
		}
		if (ret == Z_BUF_ERROR && p->strm.avail_in == 0 && d->in.raw_eof) {
			pb->visible = pb->end;
			pb->ended = true;
			xva_source_warn(&d->base, "the gzip stream is cut short at "
				    "compressed byte %llu (uncompressed byte "
				    "%llu)", (unsigned long long)at,
				    (unsigned long long)pb->end);
			return XVA_OK;
		}
		if (produced && pb->visible > visible_before)
			return XVA_OK;
	}
}

/* The decoder's end_pass. */
static void gz_end_pass(struct xva_decoder *d)
{
	struct gz_source *gz = (struct gz_source *)d;
	struct gz_pass *p = gz->pass;

	if (!p)
		return;
	if (p->strm_ready)
		inflateEnd(&p->strm);
	if (p->wdef_ready)
		deflateEnd(&p->wdef);
	if (p->file_hash)
		XXH64_freeState(p->file_hash);
	free(p->wout);
	free(p);
	gz->pass = NULL;
}

/* The decoder's start: the index file beside its final name when there is
 * a cache folder (one that cannot be written leaves the index in memory,
 * and the warning says so), and the pass. */
static enum xva_status gz_start(struct xva_decoder *d, struct xva_err *err)
{
	struct gz_source *gz = (struct gz_source *)d;
	struct gz_pass *p;

	if (d->cache_dir)
		xva_decoder_create_file(d, "the gzip index is not kept");
	p = calloc(1, sizeof(*p));
	if (!p)
		return xva_nomem(err);
	gz->pass = p;
	p->file_hash = XXH64_createState();
	if (!p->file_hash)
		return xva_nomem(err);
	XXH64_reset(p->file_hash, 0);
	if (inflateInit2(&p->strm, 15 + 16) != Z_OK)
		return xva_nomem(err);
	p->strm_ready = true;
	p->strm.next_in = d->in.data;
	/* Windows are deflated on their own, raw, at level 6. Measured on
	 * a 2 GiB export: 17.4 KiB a window on average, 0.25 s for its 513
	 * windows (the pass takes seconds); level 1 saves 0.08 s and makes
	 * them 2 % bigger. Windows before random data hardly shrink: zeroing
	 * the bytes nothing refers to (ratarmount's trick) would, but needs
	 * a deflate parser of our own. */
	if (deflateInit2(&p->wdef, 6, Z_DEFLATED, -15, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return xva_nomem(err);
	p->wdef_ready = true;
	p->wout_cap = deflateBound(&p->wdef, WINDOW_SIZE);
	p->wout = malloc(p->wout_cap);
	if (!p->wout)
		return xva_nomem(err);
	return XVA_OK;
}

/* ---- the index file ------------------------------------------------ */

static void encode_point(const struct xva_decoder *d, uint64_t i,
			 unsigned char *e)
{
	const struct gz_point *pt = &((const struct gz_source *)d)->points[i];

	xva_put_le64(e, pt->uoff);
	xva_put_le64(e + 8, pt->coff);
	xva_put_le64(e + 16, pt->woff);
	xva_put_le64(e + 24, pt->wsum);
	xva_put_le32(e + 32, pt->wclen);
	xva_put_le32(e + 36, pt->wlen);
	e[40] = pt->bits;
	e[41] = pt->flags;
}

/* False if its padding is not zeros. */
static bool decode_point(const unsigned char *e, struct gz_point *pt)
{
	pt->uoff = xva_get_le64(e);
	pt->coff = xva_get_le64(e + 8);
	pt->woff = xva_get_le64(e + 16);
	pt->wsum = xva_get_le64(e + 24);
	pt->wclen = xva_get_le32(e + 32);
	pt->wlen = xva_get_le32(e + 36);
	pt->bits = e[40];
	pt->flags = e[41];
	for (unsigned k = 42; k < POINT_SIZE; k++)
		if (e[k])
			return false;
	return true;
}

/* The file (see decoder.h): the deflated windows as the body, written
 * during the pass (so they come first, and the hash covers them), the
 * point table, the identity, the warning and the footer, which also holds
 * the spacing (at 32) and the number of members (at 56). */
static const struct xva_decoder_layout gz_layout = {
	.magic = INDEX_MAGIC,
	.version = INDEX_VERSION,
	.entry = POINT_SIZE,
	.hash_body = true,
	.count_at = 40,
	.body_end_at = 48,
	.tail_at = 64,
	.idlen_at = 72,
	.warnlen_at = 76,
	.encode = encode_point,
};

static enum xva_status save_index(struct gz_source *gz, struct xva_err *err)
{
	unsigned char footer[XVA_DECODER_FOOTER] = { 0 };

	xva_put_le64(footer + 32, XVA_GZIP_SPACING);
	xva_put_le64(footer + 56, gz->pass->members);
	return xva_decoder_save(&gz->dec, &gz_layout, gz->ws.len, gz->n_points,
				footer, gz->pass->file_hash, err);
}

static bool valid_points(const struct gz_point *pts, size_t n,
			 uint64_t csize, uint64_t usize, uint64_t wtotal)
{
	uint64_t wend = 0;

	/* No point: a stream cut inside its first header, with no data. */
	if (n == 0)
		return usize == 0;
	if (pts[0].uoff != 0 || !(pts[0].flags & POINT_MEMBER_START))
		return false;
	for (size_t i = 0; i < n; i++) {
		const struct gz_point *pt = &pts[i];
		bool start = pt->flags & POINT_MEMBER_START;

		if (pt->bits > 7 || (pt->bits && pt->coff == 0) ||
		    pt->coff > csize || pt->uoff > usize ||
		    pt->wlen > WINDOW_SIZE || (pt->flags & ~POINT_MEMBER_START) ||
		    (start && (pt->bits || pt->wlen)) ||
		    (pt->wlen == 0) != (pt->wclen == 0) ||
		    pt->wclen > 2 * WINDOW_SIZE || pt->woff < wend ||
		    pt->woff > wtotal || pt->wclen > wtotal - pt->woff)
			return false;
		wend = pt->woff + pt->wclen;
		if (i == 0)
			continue;
		/* Strictly forward in the compressed stream, never back in
		 * the uncompressed one. */
		if (pt->uoff < pts[i - 1].uoff ||
		    pt->coff * 8 - pt->bits <=
		    pts[i - 1].coff * 8 - pts[i - 1].bits)
			return false;
	}
	return true;
}

/* The decoder's load: the index at dec.cache_path if it is valid for this
 * stream; any doubt and it is ignored (false), to be rebuilt. The whole
 * file is read once to check its hash: then nothing in it is taken on
 * trust (windows are checked again when used, against their own hashes,
 * as the file stays open). An identity longer than IDENTITY_MAX never
 * loads one. */
static bool load_index(struct xva_decoder *d)
{
	struct gz_source *gz = (struct gz_source *)d;
	struct xva_decoder_saved s;
	struct gz_point *pts = NULL;

	if (strlen(d->base.identity) > IDENTITY_MAX ||
	    !xva_decoder_open_saved(d, &gz_layout, &s))
		return false;
	pts = calloc(s.count ? s.count : 1, sizeof(*pts));
	if (!pts)
		goto reject;
	for (uint64_t i = 0; i < s.count; i++)
		if (!decode_point(s.table + i * POINT_SIZE, &pts[i]))
			goto reject;
	if (!valid_points(pts, (size_t)s.count, d->raw_size, s.usize,
			  s.body_end) ||
	    !xva_decoder_loaded(d, &s))
		goto reject;
	gz->points = pts;
	gz->n_points = gz->cap_points = (size_t)s.count;
	gz->ws.len = s.body_end;
	return true;
reject:
	free(pts);
	xva_decoder_saved_free(&s);
	return false;
}

/* ---- random access ------------------------------------------------- */

/* The last point at or before uncompressed offset POS: of points with
 * equal offsets (empty members), the last, whose member holds POS. */
static size_t point_before(const struct gz_source *gz, uint64_t pos)
{
	size_t lo = 0, hi = gz->n_points;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (gz->points[mid].uoff <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* The first point at or after compressed offset COFF. */
static size_t point_from_coff(const struct gz_source *gz, uint64_t coff)
{
	size_t lo = 0, hi = gz->n_points;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (gz->points[mid].coff < coff)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void cursor_free(struct gz_cursor *c)
{
	if (!c)
		return;
	if (c->ready) {
		inflateEnd(&c->strm);
		inflateEnd(&c->wstrm);
	}
	xva_stream_destroy(&c->raw_stream);
	free(c->in);
	free(c->blk);
	free(c);
}

static struct gz_cursor *cursor_new(void)
{
	struct gz_cursor *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	xva_stream_init(&c->raw_stream, XVA_READAHEAD_DEFAULT);
	c->in = malloc(CURSOR_INPUT);
	c->blk = malloc(XVA_BLOCK_SIZE);
	if (!c->in || !c->blk)
		goto fail;
	if (inflateInit2(&c->strm, -15) != Z_OK)
		goto fail;
	if (inflateInit2(&c->wstrm, -15) != Z_OK) {
		inflateEnd(&c->strm);
		goto fail;
	}
	c->ready = true;
	c->pos = UINT64_MAX;
	return c;
fail:
	cursor_free(c);
	return NULL;
}

static const char *index_name(const struct gz_source *gz)
{
	return gz->dec.cache_path && gz->dec.persisted ? gz->dec.cache_path
						: "(kept in memory)";
}

/* Restarts C's inflate at point I, keeping its block if POS stays in it
 * (a member boundary inside a block). */
static enum xva_status cursor_restart(struct gz_source *gz, struct gz_cursor *c,
				      size_t i, struct xva_err *err)
{
	const struct gz_point *pt = &gz->points[i];
	unsigned char packed[2 * WINDOW_SIZE];
	enum xva_status st;

	c->pos = UINT64_MAX;
	c->member_ended = false;
	if (inflateReset(&c->strm) != Z_OK)
		return xva_fail(err, XVA_EIO, "zlib cannot reset");
	c->strm.avail_in = 0;
	c->next_coff = pt->coff;
	if (pt->bits) {
		unsigned char byte;

		st = xva_source_read_full(gz->dec.raw, &byte, 1, pt->coff - 1,
					  "the gzip stream", err);
		if (st != XVA_OK)
			return st;
		if (inflatePrime(&c->strm, pt->bits, byte >> (8 - pt->bits))
		    != Z_OK)
			return xva_fail(err, XVA_EIO, "zlib cannot prime");
	}
	if (pt->wlen) {
		st = store_read(gz, packed, pt->wclen, pt->woff, err);
		if (st != XVA_OK)
			return st;
		inflateReset(&c->wstrm);
		c->wstrm.next_in = packed;
		c->wstrm.avail_in = pt->wclen;
		c->wstrm.next_out = c->window;
		c->wstrm.avail_out = WINDOW_SIZE;
		if (inflate(&c->wstrm, Z_FINISH) != Z_STREAM_END ||
		    c->wstrm.avail_out != WINDOW_SIZE - pt->wlen ||
		    XXH64(c->window, pt->wlen, 0) != pt->wsum)
			return xva_fail(err, XVA_EIO, "the gzip index %s is "
					"damaged (the window of access point "
					"%zu); delete it", index_name(gz), i);
		if (inflateSetDictionary(&c->strm, c->window, pt->wlen) != Z_OK)
			return xva_fail(err, XVA_EIO, "zlib cannot set a window");
	}
	c->pos = pt->uoff;
	return XVA_OK;
}

static enum xva_status cursor_seek(struct gz_source *gz, struct gz_cursor *c,
				   uint64_t pos, struct xva_err *err)
{
	size_t i = point_before(gz, pos);
	enum xva_status st = cursor_restart(gz, c, i, err);

	if (st != XVA_OK)
		return st;
	c->blk_index = c->pos >> XVA_BLOCK_SHIFT;
	c->blk_from = (size_t)(c->pos & (XVA_BLOCK_SIZE - 1));
	return XVA_OK;
}

/* The block C is in is complete: to the LRU if it holds all of it. */
static enum xva_status cursor_next_block(struct gz_source *gz,
					 struct gz_cursor *c, uint64_t blk_len,
					 struct xva_err *err)
{
	if (c->blk_from == 0) {
		c->blk = xva_block_lru_adopt(gz->dec.lru, c->blk_index, c->blk,
					     (size_t)blk_len);
		if (!c->blk) {
			c->blk = malloc(XVA_BLOCK_SIZE);
			if (!c->blk) {
				c->pos = UINT64_MAX;
				return xva_nomem(err);
			}
		}
	}
	c->blk_index++;
	c->blk_from = 0;
	return XVA_OK;
}

static enum xva_status stream_changed(struct gz_cursor *c, const char *what,
				      struct xva_err *err)
{
	uint64_t at = c->next_coff - c->strm.avail_in;

	c->pos = UINT64_MAX;
	return xva_fail(err, XVA_EIO, "the gzip stream does not match its index "
			"at compressed byte %llu (%s): it changed or is damaged "
			"since it was indexed", (unsigned long long)at, what);
}

/* Inflates C forward until POS reaches TARGET (in its current block or at
 * its end), handing completed blocks to the LRU. */
static enum xva_status cursor_advance(struct gz_source *gz,
				      struct gz_cursor *c, uint64_t target,
				      struct xva_err *err)
{
	enum xva_status st;

	while (c->pos < target) {
		uint64_t blk_start = c->blk_index << XVA_BLOCK_SHIFT;
		uint64_t blk_end = blk_start + XVA_BLOCK_SIZE, stop;
		size_t room;
		int ret;

		if (blk_end > gz->dec.base.size)
			blk_end = gz->dec.base.size;
		if (c->pos == blk_end) {
			st = cursor_next_block(gz, c, blk_end - blk_start, err);
			if (st != XVA_OK)
				return st;
			continue;
		}
		if (c->member_ended) {
			size_t i = point_from_coff(gz, c->next_coff -
						   c->strm.avail_in);
			uint64_t pos = c->pos;

			if (i >= gz->n_points || gz->points[i].uoff != pos ||
			    !(gz->points[i].flags & POINT_MEMBER_START))
				return stream_changed(c, "a gzip member "
						      "ends early", err);
			st = cursor_restart(gz, c, i, err);
			if (st != XVA_OK)
				return st;
			continue;
		}
		if (c->strm.avail_in == 0) {
			size_t want = CURSOR_INPUT, got;

			if (c->next_coff >= gz->dec.raw_size)
				return stream_changed(c, "the stream ends "
						      "early", err);
			if (want > gz->dec.raw_size - c->next_coff)
				want = (size_t)(gz->dec.raw_size -
						c->next_coff);
			xva_source_note_read(gz->dec.raw, &c->raw_stream,
					     c->next_coff, want);
			st = xva_source_read(gz->dec.raw, c->in, want,
					     c->next_coff, &got, err);
			if (st != XVA_OK) {
				c->pos = UINT64_MAX;
				return st;
			}
			if (got == 0)
				return stream_changed(c, "the stream ends "
						      "early", err);
			c->next_coff += got;
			c->strm.next_in = c->in;
			c->strm.avail_in = (uInt)got;
		}
		stop = target < blk_end ? target : blk_end;
		room = (size_t)(stop - c->pos);
		c->strm.next_out = c->blk + (c->pos - blk_start);
		c->strm.avail_out = (uInt)room;
		ret = inflate(&c->strm, Z_NO_FLUSH);
		c->pos += room - c->strm.avail_out;
		if (ret == Z_STREAM_END)
			c->member_ended = true;
		else if (ret == Z_MEM_ERROR)
			return c->pos = UINT64_MAX, xva_nomem(err);
		else if (ret != Z_OK && ret != Z_BUF_ERROR &&
			 !(c->pos == gz->dec.base.size &&
			   gz->dec.base.stream_damaged))
			/* (Unless it is the damage the pass found, just past
			 * the intact part: inflate reads on into the header
			 * of the failing block. Nothing is served past it.) */
			return stream_changed(c, c->strm.msg ? c->strm.msg
					      : "inflate error", err);
	}
	return XVA_OK;
}

/* Whether C can serve POS without restarting from a point: POS is in its
 * block, or ahead of it by no more than a restart would inflate. */
static bool cursor_fits(const struct gz_source *gz, const struct gz_cursor *c,
			uint64_t pos)
{
	uint64_t blk_start = c->blk_index << XVA_BLOCK_SHIFT;

	if (c->pos == UINT64_MAX)
		return false;
	if (pos < c->pos)
		return pos >> XVA_BLOCK_SHIFT == c->blk_index &&
		       pos >= blk_start + c->blk_from;
	return gz->points[point_before(gz, pos)].uoff <= c->pos;
}

static enum xva_status cursor_take(struct gz_source *gz, uint64_t pos,
				   struct gz_cursor **out, struct xva_err *err)
{
	struct gz_cursor *best;

	pthread_mutex_lock(&gz->dec.reader_lock);
	for (;;) {
		struct gz_cursor *idle = NULL;

		best = NULL;
		for (size_t i = 0; i < gz->n_cursors; i++) {
			struct gz_cursor *c = gz->cursors[i];

			if (c->busy)
				continue;
			if (cursor_fits(gz, c, pos) &&
			    (!best || c->pos > best->pos))
				best = c;
			if (!idle || c->last_used < idle->last_used)
				idle = c;
		}
		if (!best && gz->n_cursors < MAX_CURSORS) {
			best = cursor_new();
			if (!best) {
				pthread_mutex_unlock(&gz->dec.reader_lock);
				return xva_nomem(err);
			}
			gz->cursors[gz->n_cursors++] = best;
		}
		if (!best)
			best = idle;
		if (best)
			break;
		pthread_cond_wait(&gz->dec.reader_freed, &gz->dec.reader_lock);
	}
	best->busy = true;
	best->last_used = ++gz->use_clock;
	pthread_mutex_unlock(&gz->dec.reader_lock);
	*out = best;
	return XVA_OK;
}

/* The decoder's reader_done: gives cursor C back. */
static void cursor_give_back(struct xva_decoder *d, void *reader)
{
	struct gz_source *gz = (struct gz_source *)d;
	struct gz_cursor *c = reader;

	pthread_mutex_lock(&gz->dec.reader_lock);
	c->busy = false;
	pthread_cond_signal(&gz->dec.reader_freed);
	pthread_mutex_unlock(&gz->dec.reader_lock);
}

/* Copies [POS, STOP) (one block's part) into BUF through cursor C. */
static enum xva_status cursor_read(struct gz_source *gz, struct gz_cursor *c,
				   unsigned char *buf, uint64_t pos,
				   uint64_t stop, struct xva_err *err)
{
	uint64_t blk_start;
	enum xva_status st;

	if (!cursor_fits(gz, c, pos)) {
		st = cursor_seek(gz, c, pos, err);
		if (st != XVA_OK)
			return st;
	}
	st = cursor_advance(gz, c, stop, err);
	if (st != XVA_OK)
		return st;
	blk_start = c->blk_index << XVA_BLOCK_SHIFT;
	if (pos >= blk_start + c->blk_from && stop <= c->pos &&
	    stop <= blk_start + XVA_BLOCK_SIZE) {
		memcpy(buf, c->blk + (pos - blk_start), (size_t)(stop - pos));
		return XVA_OK;
	}
	c->pos = UINT64_MAX;
	return xva_fail(err, XVA_EIO, "the gzip decoder lost its place at "
			"uncompressed byte %llu", (unsigned long long)pos);
}

/* The decoder's read_block: through a cursor, taken for the whole read
 * (*READER, then given back by cursor_give_back). */
static enum xva_status gz_read_block(struct xva_decoder *d, void **reader,
				     uint64_t index, unsigned char *buf,
				     uint64_t pos, uint64_t stop,
				     struct xva_err *err)
{
	struct gz_source *gz = (struct gz_source *)d;
	struct gz_cursor *c = *reader;
	enum xva_status st;

	(void)index;
	if (!c) {
		st = cursor_take(gz, pos, &c, err);
		if (st != XVA_OK)
			return st;
		*reader = c;
	}
	return cursor_read(gz, c, buf, pos, stop, err);
}

/* ---- the source ---------------------------------------------------- */

/* The decoder's finish: with a cache folder, the index is saved. */
static enum xva_status gz_finish(struct xva_decoder *d, struct xva_err *err)
{
	struct gz_source *gz = (struct gz_source *)d;
	enum xva_status st;

	if (d->fd < 0)
		return XVA_OK;
	st = xva_decoder_read_tail(d, d->tail, err);
	if (st != XVA_OK)
		return st;
	st = save_index(gz, err);
	if (st != XVA_OK)
		return xva_decoder_pass_broken(d, err);
	return XVA_OK;
}

static void gz_info(struct xva_decoder *d, struct xva_source_info *info)
{
	struct gz_source *gz = (struct gz_source *)d;

	info->index_memory = gz->cap_points * sizeof(struct gz_point) +
			     (d->fd < 0 ? gz->ws.cap : 0);
	info->access_points = gz->n_points;
}

static void gz_close(struct xva_decoder *d)
{
	struct gz_source *gz = (struct gz_source *)d;

	for (size_t i = 0; i < gz->n_cursors; i++)
		cursor_free(gz->cursors[i]);
	free(gz->ws.mem);
	free(gz->points);
}

static const struct xva_decoder_kind gz_kind = {
	.name = "gzip",
	.ext = "gzi",
	.stream = "the gzip stream",
	/* CRC-32 and length */
	.tail_what = "the gzip trailer",
	.file = "gzip index",
	.file_of_kind = "gzip index",
	.size = sizeof(struct gz_source),
	.load = load_index,
	.start = gz_start,
	.pass_more = pass_more,
	.finish = gz_finish,
	.end_pass = gz_end_pass,
	.read_block = gz_read_block,
	.reader_done = cursor_give_back,
	.info = gz_info,
	.close = gz_close,
};

enum xva_status xva_source_gzip_open(struct xva_source *raw,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err)
{
	return xva_decoder_open(&gz_kind, raw, o, out, err);
}
