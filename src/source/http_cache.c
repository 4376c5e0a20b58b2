/* The HTTP source's extent cache: a hash of extents by offset and an LRU
 * list, under the bytes budget (see http.c). */

#include <stdlib.h>
#include <string.h>

#include "source/http.h"

/* ---- the extent cache (all under hs->lock) ---- */

static size_t bucket_of(uint64_t key)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 52) % HASH_BUCKETS;
}

static struct extent *extent_of(struct xva_lru_node *n)
{
	return n ? XVA_LRU_ENTRY(n, struct extent, lru) : NULL;
}

void http_lru_touch(struct http_source *hs, struct extent *x)
{
	if (x->in_cache)
		xva_lru_touch(&hs->lru, &x->lru);
}

/* A block's buffer is kept for the next block while the budget allows:
 * fresh memory costs a page fault per 4 KiB as the body is written in,
 * about a tenth of a mount's sequential reading time. */
static void extent_free(struct http_source *hs, struct extent *x)
{
	if (!x->small && x->len == BLOCK_SIZE && hs->n_spare < SPARE_BLOCKS &&
	    hs->cached_bytes + (hs->n_spare + 1) * (uint64_t)BLOCK_SIZE <=
		    hs->memory_max)
		hs->spare[hs->n_spare++] = x->data;
	else
		free(x->data);
	free(x->fail_msg);
	free(x);
}

void http_extent_unref(struct http_source *hs, struct extent *x)
{
	if (--x->refs == 0 && !x->in_cache)
		extent_free(hs, x);
}

void http_cache_remove(struct http_source *hs, struct extent *x)
{
	struct extent **p = &hs->buckets[bucket_of(x->off >> BLOCK_SHIFT)];

	if (!x->in_cache)
		return;
	while (*p != x)
		p = &(*p)->hnext;
	*p = x->hnext;
	x->hnext = NULL;
	xva_lru_unlink(&hs->lru, &x->lru);
	x->in_cache = false;
	hs->cached_bytes -= x->len;
	if (x->refs == 0)
		extent_free(hs, x);
}

/* Drops least recently used extents nobody holds until NEED more bytes
 * fit in the budget; false when they cannot be made to fit. */
bool http_cache_make_room(struct http_source *hs, uint64_t need)
{
	struct extent *x = extent_of(hs->lru.oldest);

	while (hs->cached_bytes + need > hs->memory_max && x) {
		struct extent *next = extent_of(x->lru.newer);

		if (x->refs == 0 && x->state != EXT_FETCHING)
			http_cache_remove(hs, x);
		x = next;
	}
	return hs->cached_bytes + need <= hs->memory_max;
}

struct extent *http_find_block(struct http_source *hs, uint64_t index)
{
	uint64_t off = index << BLOCK_SHIFT;

	for (struct extent *x = hs->buckets[bucket_of(index)]; x; x = x->hnext)
		if (!x->small && x->off == off)
			return x;
	return NULL;
}

/* A small extent holding all of [OFF, OFF+LEN): small extents are shorter
 * than a block, so one that does starts in OFF's block or the one before. */
struct extent *http_find_small(struct http_source *hs, uint64_t off,
			  uint64_t len)
{
	uint64_t index = off >> BLOCK_SHIFT;

	for (int back = 0; back < 2 && (uint64_t)back <= index; back++) {
		struct extent *x = hs->buckets[bucket_of(index - (uint64_t)back)];

		for (; x; x = x->hnext)
			if (x->small && x->state != EXT_FAILED && x->off <= off &&
			    off + len <= x->off + x->len)
				return x;
	}
	return NULL;
}

struct extent *http_extent_new(struct http_source *hs, uint64_t off,
			  size_t len, bool small)
{
	struct extent *x = calloc(1, sizeof(*x));
	size_t b;

	if (!x)
		return NULL;
	if (!small && len == BLOCK_SIZE && hs->n_spare)
		x->data = hs->spare[--hs->n_spare];
	else
		x->data = malloc(len ? len : 1);
	if (!x->data) {
		free(x);
		return NULL;
	}
	x->off = off;
	x->len = len;
	x->small = small;
	x->state = EXT_FETCHING;
	x->in_cache = true;
	b = bucket_of(off >> BLOCK_SHIFT);
	x->hnext = hs->buckets[b];
	hs->buckets[b] = x;
	xva_lru_push(&hs->lru, &x->lru);
	hs->cached_bytes += len;
	return x;
}
