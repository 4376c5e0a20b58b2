/* An intrusive least-recently-used list: a node embedded in each entry,
 * the list's two ends in the owner, no allocation. The caller locks.
 * XVA_LRU_ENTRY turns a node back into its entry. */
#ifndef XVAFS_LRU_H
#define XVAFS_LRU_H

#include <stddef.h>

struct xva_lru_node {
	struct xva_lru_node *older, *newer;
};

struct xva_lru_list {
	struct xva_lru_node *oldest, *newest;
};

#define XVA_LRU_ENTRY(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

static inline void xva_lru_unlink(struct xva_lru_list *l,
				  struct xva_lru_node *n)
{
	if (n->older)
		n->older->newer = n->newer;
	else
		l->oldest = n->newer;
	if (n->newer)
		n->newer->older = n->older;
	else
		l->newest = n->older;
	n->older = n->newer = NULL;
}

static inline void xva_lru_push(struct xva_lru_list *l, struct xva_lru_node *n)
{
	n->older = l->newest;
	n->newer = NULL;
	if (l->newest)
		l->newest->newer = n;
	else
		l->oldest = n;
	l->newest = n;
}

/* N, which is in L, becomes the newest. */
static inline void xva_lru_touch(struct xva_lru_list *l, struct xva_lru_node *n)
{
	if (l->newest != n) {
		xva_lru_unlink(l, n);
		xva_lru_push(l, n);
	}
}

#endif
