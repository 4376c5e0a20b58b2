/* The decoder base (internal to the source layer): what every compressed
 * kind shares, so that gzip.c and zstd.c hold only their format.
 *
 * A decoder is a compressed stream over a raw source. Opening one loads
 * the kind's cache file (an index, a chunk cache) from the cache folder
 * when a valid one is there; otherwise it starts a sequential pass that
 * refills an input buffer from the raw source, decodes into the pass
 * buffer, reports progress and builds the kind's cache file; finish_pass
 * ends it and saves that file. Reads then go anywhere: the base serves
 * them from the LRU of decoded 1 MiB blocks and asks the kind for a block
 * it does not hold.
 *
 * The base owns: the xva_source ops (a decoder's ops are the base's; they
 * call the kind's hooks below), the raw source (its reads, its forks, its
 * close), the options, the pass lock and its sticky failure, the pass
 * buffer and its input, the progress callback, the stream's tail, the
 * cache file (its names, its descriptor, its creation, commit and removal)
 * and the block LRU. A kind's struct starts with struct xva_decoder.
 *
 * Lock order: pass_lock (below) is taken after the overlay's stripes,
 * before any lock of the kind's own pass and before the raw source's
 * locks; it is held across a whole pass step (the kind's pass_more: the
 * raw source's read, with a wait on the network for a remote one, the
 * cache file's writes, the progress callback, which must not call back
 * into this source), across the kind's finish and info hooks, and never
 * during a random read: read_block runs with none of the base's locks. */
#ifndef XVAFS_SOURCE_DECODER_H
#define XVAFS_SOURCE_DECODER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <xxhash.h>

#include "source/blockcache.h"
#include "xvafs/error.h"
#include "source/source.h"

/* The most a pass step decodes at once. */
#define XVA_DECODER_STEP ((size_t)1 << 20)

struct xva_decoder;

/* What a kind gives the base. Names are for messages, which stay the
 * kinds' own words. */
struct xva_decoder_kind {
	const char *name;          /* "gzip": info's kind, the identity's
				      prefix, "a cached gzip block" */
	const char *ext;           /* of its file in the cache folder */
	const char *stream;        /* "the gzip stream", for pass reads */
	const char *tail_what;     /* what the stream's last 8 bytes are */
	/* Its cache file in messages: "the %s would exceed the cap", "the
	 * %s PATH"; and where nothing else names the kind ("no space left
	 * in the cache folder DIR for the %s", "cannot create a temporary %s
	 * in DIR" uses FILE). */
	const char *file;          /* "gzip index", "chunk cache" */
	const char *file_of_kind;  /* "gzip index", "zstd chunk cache" */
	size_t size;               /* of the kind's struct */

	/* Loads the saved cache file at d->cache_path if it is valid for
	 * this stream (then ends with xva_decoder_loaded()); any doubt and
	 * it is ignored (false), to be rebuilt. */
	bool (*load)(struct xva_decoder *d);
	/* Starts the pass: the kind's cache file and pass state. The input
	 * buffer is there. */
	enum xva_status (*start)(struct xva_decoder *d, struct xva_err *err);
	/* One step of the pass (xva_pass_more_fn, CTX the decoder), with
	 * pass_lock held. */
	xva_pass_more_fn pass_more;
	/* Optional: after a failed step, whether the cache file now misses
	 * something (then the failure is sticky; see
	 * xva_decoder_pass_broken). */
	bool (*step_broke)(struct xva_decoder *d);
	/* The pass reached the stream's end (d->base.size is set): checks
	 * and saves the cache file, calling xva_decoder_pass_broken() where
	 * the pass cannot be saved again. */
	enum xva_status (*finish)(struct xva_decoder *d, struct xva_err *err);
	/* Frees the pass's own state (after finish, or on close); safe to
	 * call when there is none. */
	void (*end_pass)(struct xva_decoder *d);
	/* A random read of [POS, STOP), all in block INDEX, which the LRU
	 * does not hold, into BUF; the kind may hand the block to the LRU.
	 * *READER is the kind's for the whole read (NULL at first), given
	 * back with reader_done (optional) when the read ends. */
	enum xva_status (*read_block)(struct xva_decoder *d, void **reader,
				      uint64_t index, unsigned char *buf,
				      uint64_t pos, uint64_t stop,
				      struct xva_err *err);
	void (*reader_done)(struct xva_decoder *d, void *reader);
	/* Fills index_memory and access_points, with pass_lock held. */
	void (*info)(struct xva_decoder *d, struct xva_source_info *info);
	/* Frees the kind's own state (the base's is freed after); also on
	 * an open that failed half way. */
	void (*close)(struct xva_decoder *d);
};

/* The pass's input: the raw source's bytes read ahead. */
struct xva_decoder_input {
	unsigned char *data;
	size_t pos, len;        /* data[pos, len) is unread */
	uint64_t off;           /* compressed offset of data[0] */
	uint64_t raw_next;      /* compressed offset of the next raw read */
	bool raw_eof;
	/* Read-ahead of the raw source for the pass's reads (the policy's,
	 * xvafs/readahead.h; its lock a leaf, taken under pass_lock). */
	struct xva_stream raw_stream;
};

struct xva_decoder {
	struct xva_source base;
	const struct xva_decoder_kind *kind;
	struct xva_source *raw;
	uint64_t raw_size;      /* compressed bytes, or XVA_SIZE_UNKNOWN */
	xva_progress_fn progress;
	void *progress_ctx;
	const volatile sig_atomic_t *stop;
	uint64_t cache_max;
	uint64_t memory_max;

	/* The cache file: in the cache folder (CACHE_PATH, written as
	 * TMP_PATH until committed) or unlinked in TMP_DIR. */
	char *cache_dir;
	char *cache_path;
	char *tmp_path;
	char *tmp_dir;
	int fd;                 /* -1: none (a kind may keep it in memory) */
	bool persisted;         /* at CACHE_PATH, saved or loaded */
	bool index_loaded;      /* loaded */
	uint64_t cache_bytes;   /* its size once saved or loaded */
	unsigned char tail[8];  /* the stream's last 8 bytes, when read */

	/* Guards the pass (PASSING, PB, IN, FAILED and what the kind's pass
	 * grows; these stop changing when the pass ends, and random reads
	 * then use them unlocked). See the lock order above. */
	pthread_mutex_t pass_lock;
	bool passing;
	struct xva_pass_buf pb;
	struct xva_decoder_input in;
	struct timespec last_progress;
	struct xva_err failed;  /* sticky: the pass cannot go on */

	struct xva_block_lru *lru;
	/* Guard the kind's pool of random readers (gzip's cursors, zstd's
	 * decompression contexts) and say when one is back. A leaf: only a
	 * new reader's allocation is done under it. Never held with
	 * pass_lock. */
	pthread_mutex_t reader_lock;
	pthread_cond_t reader_freed;
};

/* Opens a decoder of KIND over RAW (taken over: closed with it, or on
 * failure); see xva_source_gzip_open(). */
enum xva_status xva_decoder_open(const struct xva_decoder_kind *kind,
				 struct xva_source *raw,
				 const struct xva_source_options *o,
				 struct xva_source **out, struct xva_err *err);

/* ---- for the pass (pass_lock held) ---- */

/* Moves the unread input to the front and reads up to the buffer's size
 * more from the raw source; XVA_EINTR when asked to stop. */
enum xva_status xva_decoder_refill(struct xva_decoder *d, struct xva_err *err);
/* Calls the progress callback, at most every 200 ms unless FORCE. */
void xva_decoder_progress(struct xva_decoder *d, bool force);
/* A failure after which the pass cannot go on (its cache file would miss
 * something, or is half written): every later call gets the same error,
 * and no half-written file stays behind. Returns ERR's status. */
enum xva_status xva_decoder_pass_broken(struct xva_decoder *d,
					struct xva_err *err);
/* The bytes from compressed offset AT on are not the kind's: the stream
 * ends there, with a warning (concatenated data that is not compressed
 * the same way is ignored, as the standard tools ignore it). */
void xva_decoder_not_ours(struct xva_decoder *d, uint64_t at);
/* The stream's last 8 bytes (fewer, zero-padded, for a shorter one; all
 * zeros when its size is unknown): for a whole stream, its trailer, which
 * ties a cache file to the bytes it was made from beyond what the identity
 * says. ERR may be NULL. */
enum xva_status xva_decoder_read_tail(struct xva_decoder *d,
				      unsigned char tail[8],
				      struct xva_err *err);

/* ---- the cache file ---- */

/* Starts the cache file beside its final name (d->fd, d->tmp_path); a
 * cache folder that cannot be written leaves d->fd -1 and adds
 * "NOT_KEPT: why" to the warning. */
void xva_decoder_create_file(struct xva_decoder *d, const char *not_kept);
/* An unlinked cache file in $TMPDIR or /var/tmp (d->fd, d->tmp_dir): it
 * goes away with the descriptor. */
enum xva_status xva_decoder_open_unlinked(struct xva_decoder *d,
					  struct xva_err *err);
/* Renames the written file to d->cache_path, durably. */
enum xva_status xva_decoder_commit(struct xva_decoder *d, struct xva_err *err);
/* How messages name the cache file ("the gzip index PATH"). */
void xva_decoder_file_name(const struct xva_decoder *d, char *buf, size_t len);
/* The cache file could not be written (ERRNUM), or would pass the cap. */
enum xva_status xva_decoder_write_failed(const struct xva_decoder *d,
					 int errnum, struct xva_err *err);
enum xva_status xva_decoder_cap_exceeded(const struct xva_decoder *d,
					 struct xva_err *err);
/* Reads LEN bytes at OFF of the cache file. */
enum xva_status xva_decoder_pread(const struct xva_decoder *d, void *buf,
				  size_t len, uint64_t off,
				  struct xva_err *err);

/* ---- how every kind's cache file ends ---- */

/* [body][table][identity][warning][footer]. The body is the kind's (gzip's
 * windows; zstd's header and frames) and ends where the table starts; the
 * table holds COUNT entries of ENTRY bytes each; the footer is
 * XVA_DECODER_FOOTER bytes. The footer starts with a head alike in every
 * kind: the kind's magic (8 bytes), the format's version (le32), flags
 * (le32: XVA_DECODER_DAMAGED or none), the stream's compressed and
 * uncompressed sizes (le64 each); it holds the count, the body's end, the
 * stream's tail, the identity's and the warning's lengths at the kind's
 * offsets; and it ends with the XXH64 of the file from the body's start
 * (HASH_BODY) or from the table's, up to those 8 bytes. */
#define XVA_DECODER_FOOTER 128u
#define XVA_DECODER_DAMAGED 1u  /* the stream fails its own checksum */

struct xva_decoder_layout {
	const char *magic;
	uint32_t version;
	size_t entry;
	uint64_t body_min;       /* the body's least size */
	bool hash_body;
	/* In the footer: le64 count, le64 body end, the 8 tail bytes, le32
	 * identity length, le32 warning length. */
	unsigned count_at, body_end_at, tail_at, idlen_at, warnlen_at;
	/* Writes entry I (E is zeroed). */
	void (*encode)(const struct xva_decoder *d, uint64_t i,
		       unsigned char *e);
};

/* Writes the end of the cache file after its body (BODY_END bytes, hashed
 * into H already when the layout hashes the body; H may be NULL
 * otherwise): COUNT entries, the identity, the warning and FOOTER (the
 * kind's own fields set, the rest zero; the base fills the others), within
 * the cap; then publishes it at d->cache_path when it has a name there. */
enum xva_status xva_decoder_save(struct xva_decoder *d,
				 const struct xva_decoder_layout *l,
				 uint64_t body_end, uint64_t count,
				 unsigned char footer[XVA_DECODER_FOOTER],
				 XXH64_state_t *h, struct xva_err *err);

/* A saved file being loaded. */
struct xva_decoder_saved {
	int fd;
	uint64_t size;          /* of the file */
	uint64_t usize;         /* the stream's uncompressed size */
	bool damaged;
	uint64_t count, body_end;
	unsigned char footer[XVA_DECODER_FOOTER];
	unsigned char tail[8];  /* the stream's, as the footer holds it */
	unsigned char *table;   /* COUNT entries, then the identity, the
				   warning and the footer */
	const unsigned char *warning;
	uint32_t warnlen;
};

/* Opens the saved file at d->cache_path if the stream's size is known and
 * the file is whole (its hash), laid out as L, and made from this stream
 * (its identity and tail); else false, nothing held. */
bool xva_decoder_open_saved(struct xva_decoder *d,
			    const struct xva_decoder_layout *l,
			    struct xva_decoder_saved *s);
/* The last step of a load, once the kind has taken the table: takes the
 * saved warning (false if it holds a control character: then nothing is
 * taken) and what every kind keeps; S's file becomes d->fd. */
bool xva_decoder_loaded(struct xva_decoder *d, struct xva_decoder_saved *s);
/* Frees what S still holds (the file unless loaded, the table). */
void xva_decoder_saved_free(struct xva_decoder_saved *s);

#endif
