/* lvm2's metadata text (the libdm config syntax), parsed into a tree:
 *   section := NAME '{' item* '}'     item := section | NAME '=' value
 *   value   := '[' (scalar ','?)* ']' | scalar
 *   scalar  := integer | float | "string with \ escapes" | 'string'
 * with '#' comments to the end of the line outside strings. A duplicate
 * key keeps its first value (lookups return the first). Bounded: the
 * nesting depth (XVA_LVM_MAX_DEPTH) and the values in a list
 * (XVA_LVM_MAX_ITEMS); the text's length is the caller's bound. */
#ifndef XVAFS_GUEST_LVM_TEXT_H
#define XVAFS_GUEST_LVM_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xvafs/error.h"

enum lvm_node_type {
	LVM_SECTION,
	LVM_INT,
	LVM_FLOAT,  /* kept as its text */
	LVM_STRING,
	LVM_LIST,
};

struct lvm_node {
	const char *key;          /* NULL inside a list */
	enum lvm_node_type type;
	int64_t i;
	const char *s;            /* STRING, FLOAT */
	struct lvm_node *child;   /* SECTION, LIST: the first */
	struct lvm_node *next;
	size_t n_children;
};

struct lvm_tree; /* owns every node and string */

/* The tree of TEXT (LEN bytes; a NUL ends it early): its root is a
 * section holding the top-level items. XVA_EFORMAT with the line and
 * what is wrong, XVA_ENOMEM. */
enum xva_status lvm_text_parse(const char *text, size_t len,
			       struct lvm_tree **out, struct xva_err *err);
const struct lvm_node *lvm_tree_root(const struct lvm_tree *t);
void lvm_tree_free(struct lvm_tree *t);

/* The first item KEY of SECTION, or NULL. */
const struct lvm_node *lvm_find(const struct lvm_node *section,
				const char *key);
/* The first item KEY of SECTION when it has TYPE, else NULL. */
const struct lvm_node *lvm_find_type(const struct lvm_node *section,
				     const char *key, enum lvm_node_type type);
/* Whether the list KEY of SECTION holds the string WORD. */
bool lvm_list_has(const struct lvm_node *section, const char *key,
		  const char *word);

#endif
