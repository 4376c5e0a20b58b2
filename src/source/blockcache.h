/* Decoded bytes of a compressed stream, kept by the two decoders
 * (gzip.c, zstd.c):
 *
 * - a bounded LRU of decoded 1 MiB blocks, aligned in uncompressed offsets,
 *   that random readers share: a block is decoded once and then copied
 *   from, by any number of threads at once (blocks are pinned while read,
 *   so the copy runs outside the cache's lock);
 * - the window a sequential pass keeps: the decoded bytes from
 *   XVA_PASS_BACKLOG behind the furthest byte read up to the decoder's
 *   position, and the read loop that serves pass reads from it. */
#ifndef XVAFS_BLOCKCACHE_H
#define XVAFS_BLOCKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"
#include "base/lru.h"

#define XVA_BLOCK_SHIFT 20
#define XVA_BLOCK_SIZE ((size_t)1 << XVA_BLOCK_SHIFT)

/* A cached block. DATA holds LEN bytes (XVA_BLOCK_SIZE but for the
 * stream's last block) of uncompressed offsets INDEX << XVA_BLOCK_SHIFT
 * onwards. The fields after DATA belong to the cache. */
struct xva_block {
	uint64_t index;
	size_t len;
	unsigned char *data;
	unsigned pins;
	bool in_table;
	struct xva_lru_node lru;
	struct xva_block *hash_next;
};

struct xva_block_lru;

/* A cache of at most MAX_BYTES of blocks (at least two blocks). */
enum xva_status xva_block_lru_new(uint64_t max_bytes,
				  struct xva_block_lru **out,
				  struct xva_err *err);
void xva_block_lru_free(struct xva_block_lru *lru);

/* The block INDEX, pinned (call xva_block_lru_unpin when done), or NULL. */
struct xva_block *xva_block_lru_get(struct xva_block_lru *lru,
				    uint64_t index);
void xva_block_lru_unpin(struct xva_block_lru *lru, struct xva_block *block);

/* Stores DATA (a malloc'ed buffer of XVA_BLOCK_SIZE bytes, LEN of them
 * valid) as block INDEX, taking it over. Returns a buffer of
 * XVA_BLOCK_SIZE bytes that the caller now owns and may decode its next
 * block into (the one it evicted, or DATA itself when the block was
 * already there or every block is pinned), or NULL: then the caller
 * allocates one. Recycling buffers spares a fresh mapping (256 page
 * faults) per decoded MiB. */
unsigned char *xva_block_lru_adopt(struct xva_block_lru *lru, uint64_t index,
				   unsigned char *data, size_t len);

/* Bytes of decoded data the cache holds now. */
uint64_t xva_block_lru_bytes(struct xva_block_lru *lru);

/* The window of a sequential pass. The decoder appends decoded bytes at
 * END; readers see [START, VISIBLE): a decoder may hold back bytes it does
 * not trust yet (gzip holds back the deflate block being decoded, whose
 * bytes a corrupt stream may have got wrong before inflate noticed). */
struct xva_pass_buf {
	unsigned char *data;
	size_t cap;
	uint64_t start;    /* uncompressed offset of data[0] */
	uint64_t end;      /* decoded so far: [start, end) are in data */
	uint64_t visible;  /* start <= visible <= end */
	uint64_t furthest; /* the furthest byte a read has returned */
	bool ended;        /* the decoder will append no more */
};

/* Asks for transparent huge pages over the whole pages of [P, P+LEN):
 * for the large buffers a pass writes every byte through, which in 4 KiB
 * pages cost a fault each on first use. Advice only. */
void xva_advise_huge(void *p, size_t len);

/* Makes room for at least MIN_FREE bytes after END, dropping the bytes
 * before KEEP (at most VISIBLE) and growing the buffer up to MAX_CAP. */
enum xva_status xva_pass_buf_room(struct xva_pass_buf *pb, uint64_t keep,
				  size_t min_free, size_t max_cap,
				  struct xva_err *err);
void xva_pass_buf_free(struct xva_pass_buf *pb);

/* Decodes one more step into PB (at least one byte, or sets PB->ended),
 * free to drop the bytes before KEEP. */
typedef enum xva_status (*xva_pass_more_fn)(void *ctx, uint64_t keep,
					    struct xva_err *err);

/* Serves a read during a pass: LEN bytes at OFF, decoding forward with
 * MORE as needed; *GOT < LEN where the stream ends. A read that starts
 * more than XVA_PASS_BACKLOG behind the furthest byte read is refused
 * (XVA_EINVAL): those bytes are gone. WHAT names the stream for that
 * message ("the gzip stream"). */
enum xva_status xva_pass_read(struct xva_pass_buf *pb, xva_pass_more_fn more,
			      void *ctx, const char *what, void *buf,
			      size_t len, uint64_t off, size_t *got,
			      struct xva_err *err);

#endif
