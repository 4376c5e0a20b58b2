/* Decoded 1 MiB blocks of a compressed stream: the readers' LRU and the
 * pass window. See include/xvafs/blockcache.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "source/blockcache.h"
#include "source/source.h"

struct xva_block_lru {
	/* Guards everything here and every block's pins and links. A leaf:
	 * nothing is taken, no I/O done, while it is held. Its callers may
	 * hold a gzip cursor or zstd context (not mutexes) and, through a
	 * copy-up, the overlay's stripes. */
	pthread_mutex_t lock;
	size_t max_blocks;
	size_t n_blocks;
	struct xva_block **table;
	size_t table_mask;
	struct xva_lru_list list;
};

static struct xva_block *block_of(struct xva_lru_node *n)
{
	return n ? XVA_LRU_ENTRY(n, struct xva_block, lru) : NULL;
}

static size_t bucket(const struct xva_block_lru *lru, uint64_t index)
{
	/* Fibonacci hashing: neighbouring blocks land far apart. */
	return (size_t)((index * 0x9e3779b97f4a7c15ull) >> 17) & lru->table_mask;
}

enum xva_status xva_block_lru_new(uint64_t max_bytes,
				  struct xva_block_lru **out,
				  struct xva_err *err)
{
	struct xva_block_lru *lru;
	size_t buckets = 4;

	*out = NULL;
	lru = calloc(1, sizeof(*lru));
	if (!lru)
		return xva_nomem(err);
	lru->max_blocks = (size_t)(max_bytes >> XVA_BLOCK_SHIFT);
	if (lru->max_blocks < 2)
		lru->max_blocks = 2;
	if (lru->max_blocks > (SIZE_MAX >> 4))
		lru->max_blocks = SIZE_MAX >> 4;
	while (buckets < 2 * lru->max_blocks)
		buckets *= 2;
	lru->table = calloc(buckets, sizeof(*lru->table));
	if (!lru->table) {
		free(lru);
		return xva_nomem(err);
	}
	lru->table_mask = buckets - 1;
	pthread_mutex_init(&lru->lock, NULL);
	*out = lru;
	return XVA_OK;
}

static void free_block(struct xva_block *b)
{
	free(b->data);
	free(b);
}

void xva_block_lru_free(struct xva_block_lru *lru)
{
	struct xva_block *b, *next;

	if (!lru)
		return;
	for (b = block_of(lru->list.oldest); b; b = next) {
		next = block_of(b->lru.newer);
		free_block(b);
	}
	free(lru->table);
	pthread_mutex_destroy(&lru->lock);
	free(lru);
}

static void unlink_table(struct xva_block_lru *lru, struct xva_block *b)
{
	struct xva_block **p = &lru->table[bucket(lru, b->index)];

	while (*p != b)
		p = &(*p)->hash_next;
	*p = b->hash_next;
	b->hash_next = NULL;
}

struct xva_block *xva_block_lru_get(struct xva_block_lru *lru, uint64_t index)
{
	struct xva_block *b;

	pthread_mutex_lock(&lru->lock);
	for (b = lru->table[bucket(lru, index)]; b; b = b->hash_next)
		if (b->index == index)
			break;
	if (b) {
		b->pins++;
		xva_lru_touch(&lru->list, &b->lru);
	}
	pthread_mutex_unlock(&lru->lock);
	return b;
}

void xva_block_lru_unpin(struct xva_block_lru *lru, struct xva_block *block)
{
	pthread_mutex_lock(&lru->lock);
	block->pins--;
	pthread_mutex_unlock(&lru->lock);
}

unsigned char *xva_block_lru_adopt(struct xva_block_lru *lru, uint64_t index,
				   unsigned char *data, size_t len)
{
	struct xva_block *b, *victim = NULL;
	unsigned char *spare = NULL;

	pthread_mutex_lock(&lru->lock);
	for (b = lru->table[bucket(lru, index)]; b; b = b->hash_next)
		if (b->index == index)
			break;
	if (b) {
		/* Another reader got there first: its copy is the same. */
		pthread_mutex_unlock(&lru->lock);
		return data;
	}
	if (lru->n_blocks >= lru->max_blocks) {
		for (victim = block_of(lru->list.oldest);
		     victim && victim->pins;
		     victim = block_of(victim->lru.newer))
			;
		if (!victim) {
			pthread_mutex_unlock(&lru->lock);
			return data;
		}
		xva_lru_unlink(&lru->list, &victim->lru);
		unlink_table(lru, victim);
		spare = victim->data;
		b = victim; /* the record is reused too */
	} else {
		b = malloc(sizeof(*b));
		if (!b) {
			pthread_mutex_unlock(&lru->lock);
			return data;
		}
		lru->n_blocks++;
	}
	memset(b, 0, sizeof(*b));
	b->index = index;
	b->len = len;
	b->data = data;
	b->in_table = true;
	b->hash_next = lru->table[bucket(lru, index)];
	lru->table[bucket(lru, index)] = b;
	xva_lru_push(&lru->list, &b->lru);
	pthread_mutex_unlock(&lru->lock);
	return spare;
}

uint64_t xva_block_lru_bytes(struct xva_block_lru *lru)
{
	uint64_t bytes;

	pthread_mutex_lock(&lru->lock);
	bytes = (uint64_t)lru->n_blocks << XVA_BLOCK_SHIFT;
	pthread_mutex_unlock(&lru->lock);
	return bytes;
}

void xva_advise_huge(void *p, size_t len)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t from = ((uintptr_t)p + page - 1) & ~(page - 1);
	uintptr_t to = ((uintptr_t)p + len) & ~(page - 1);

	if (to > from)
		(void)madvise((void *)from, to - from, MADV_HUGEPAGE);
}

enum xva_status xva_pass_buf_room(struct xva_pass_buf *pb, uint64_t keep,
				  size_t min_free, size_t max_cap,
				  struct xva_err *err)
{
	size_t used, drop, want;

	if (keep > pb->visible)
		keep = pb->visible;
	if (keep < pb->start)
		keep = pb->start;
	used = (size_t)(pb->end - pb->start);
	if (pb->cap - used >= min_free)
		return XVA_OK;
	drop = (size_t)(keep - pb->start);
	if (drop) {
		memmove(pb->data, pb->data + drop, used - drop);
		pb->start = keep;
		used -= drop;
	}
	if (pb->cap - used >= min_free)
		return XVA_OK;
	want = pb->cap ? pb->cap : min_free;
	while (want - used < min_free)
		want *= 2;
	if (want > max_cap) {
		want = used + min_free;
		if (want > max_cap)
			return xva_fail(err, XVA_ENOMEM, "the pass needs more than "
					"%zu bytes of decoded history", max_cap);
	}
	unsigned char *grown = realloc(pb->data, want);

	if (!grown)
		return xva_nomem(err);
	pb->data = grown;
	pb->cap = want;
	/* Every byte decoded passes through this buffer: faulted in 4 KiB
	 * pages, a fresh one cost more than the decoding of a small export
	 * (bench/README.md). Advice only: without it, small pages. */
	xva_advise_huge(grown, want);
	return XVA_OK;
}

void xva_pass_buf_free(struct xva_pass_buf *pb)
{
	free(pb->data);
	memset(pb, 0, sizeof(*pb));
}

enum xva_status xva_pass_read(struct xva_pass_buf *pb, xva_pass_more_fn more,
			      void *ctx, const char *what, void *buf,
			      size_t len, uint64_t off, size_t *got,
			      struct xva_err *err)
{
	uint64_t pos = off, end = off + len, keep;
	enum xva_status st;

	*got = 0;
	if (end < off)
		return xva_fail(err, XVA_EINVAL, "a read of %zu bytes at byte "
				"%llu goes past 2^64", len,
				(unsigned long long)off);
	if ((pb->furthest > XVA_PASS_BACKLOG &&
	     off < pb->furthest - XVA_PASS_BACKLOG) || off < pb->start)
		return xva_fail(err, XVA_EINVAL, "%s is read in one pass: byte "
				"%llu is more than %u bytes behind byte %llu, "
				"already read", what, (unsigned long long)off,
				XVA_PASS_BACKLOG,
				(unsigned long long)pb->furthest);
	while (pos < end) {
		if (pos < pb->visible) {
			size_t n = (size_t)((pb->visible < end ? pb->visible
					     : end) - pos);

			memcpy((char *)buf + (pos - off),
			       pb->data + (pos - pb->start), n);
			pos += n;
			continue;
		}
		if (pb->ended)
			break;
		/* Kept: the backlog that later reads may come back for, which
		 * ends wherever this read ends, and so starts no earlier than
		 * XVA_PASS_BACKLOG before the furthest of POS and what earlier
		 * reads returned. */
		keep = pos > pb->furthest ? pos : pb->furthest;
		keep = keep > XVA_PASS_BACKLOG ? keep - XVA_PASS_BACKLOG : 0;
		st = more(ctx, keep, err);
		if (st != XVA_OK) {
			/* What was copied stays valid; the caller gets the
			 * error all the same. */
			if (pos > pb->furthest)
				pb->furthest = pos;
			return st;
		}
	}
	if (pos > pb->furthest)
		pb->furthest = pos;
	*got = (size_t)(pos - off);
	return XVA_OK;
}
