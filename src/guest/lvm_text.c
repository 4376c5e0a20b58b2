/* The metadata text parser (lvm_text.h): one pass, recursive descent,
 * every node and string in an arena freed at once. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/lvm_text.h"
#include "xvafs/lvm.h"

#define ARENA_BLOCK 65536u

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	char data[];
};

struct lvm_tree {
	struct arena_block *blocks;
	struct lvm_node root;
};

static void *arena_alloc(struct lvm_tree *t, size_t n)
{
	struct arena_block *b = t->blocks;

	n = (n + 15) & ~(size_t)15;
	if (!b || b->size - b->used < n) {
		size_t size = n > ARENA_BLOCK ? n : ARENA_BLOCK;

		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->next = t->blocks;
		b->used = 0;
		b->size = size;
		t->blocks = b;
	}
	b->used += n;
	return b->data + b->used - n;
}

struct parser {
	struct lvm_tree *t;
	const char *p, *end, *start;
	struct xva_err *err;
	int depth;
};

static unsigned line_of(const struct parser *ps)
{
	unsigned line = 1;

	for (const char *q = ps->start; q < ps->p; q++)
		line += *q == '\n';
	return line;
}

__attribute__((format(printf, 2, 3)))
static enum xva_status bad(struct parser *ps, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return xva_fail(ps->err, XVA_EFORMAT, "metadata text, line %u: %s",
			line_of(ps), what);
}

static void skip_space(struct parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;

		if (c == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
			   c == '\f' || c == '\v') {
			ps->p++;
		} else {
			break;
		}
	}
}

static bool name_char(char c)
{
	return c > ' ' && c != '{' && c != '}' && c != '[' && c != ']' &&
	       c != '=' && c != ',' && c != '"' && c != '\'' && c != '#' &&
	       c != 0x7f;
}

static char *copy(struct parser *ps, const char *from, size_t n)
{
	char *s = arena_alloc(ps->t, n + 1);

	if (s) {
		memcpy(s, from, n);
		s[n] = '\0';
	}
	return s;
}

static struct lvm_node *new_node(struct parser *ps, const char *key,
				 enum lvm_node_type type)
{
	struct lvm_node *n = arena_alloc(ps->t, sizeof(*n));

	if (n) {
		memset(n, 0, sizeof(*n));
		n->key = key;
		n->type = type;
	}
	return n;
}

/* A quoted string: "..." with backslash escapes, or '...'. */
static enum xva_status parse_string(struct parser *ps, struct lvm_node *n)
{
	char quote = *ps->p++;
	const char *from = ps->p;
	char *out;
	size_t o = 0;

	while (ps->p < ps->end && *ps->p != quote) {
		if (quote == '"' && *ps->p == '\\' && ps->p + 1 < ps->end)
			ps->p++;
		ps->p++;
	}
	if (ps->p >= ps->end)
		return bad(ps, "a string is not closed");
	out = arena_alloc(ps->t, (size_t)(ps->p - from) + 1);
	if (!out)
		return xva_nomem(ps->err);
	for (const char *q = from; q < ps->p; q++) {
		if (quote == '"' && *q == '\\')
			q++;
		out[o++] = *q;
	}
	out[o] = '\0';
	ps->p++;
	n->type = LVM_STRING;
	n->s = out;
	return XVA_OK;
}

static enum xva_status parse_number(struct parser *ps, struct lvm_node *n)
{
	const char *from = ps->p;
	bool neg = false, dot = false;
	uint64_t v = 0;

	if (*ps->p == '-' || *ps->p == '+')
		neg = *ps->p++ == '-';
	if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9')
		return bad(ps, "a value that is neither a number, a string "
			   "nor a list");
	while (ps->p < ps->end && ((*ps->p >= '0' && *ps->p <= '9') ||
				   *ps->p == '.')) {
		if (*ps->p == '.')
			dot = true;
		else if (!dot && (v > (UINT64_MAX - 9) / 10 ||
				  v * 10 + (uint64_t)(*ps->p - '0') >
					  (uint64_t)INT64_MAX))
			return bad(ps, "a number too large");
		else if (!dot)
			v = v * 10 + (uint64_t)(*ps->p - '0');
		ps->p++;
	}
	if (dot) {
		n->type = LVM_FLOAT;
		n->s = copy(ps, from, (size_t)(ps->p - from));
		return n->s ? XVA_OK : xva_nomem(ps->err);
	}
	n->type = LVM_INT;
	n->i = neg ? -(int64_t)v : (int64_t)v;
	return XVA_OK;
}

static enum xva_status parse_scalar(struct parser *ps, struct lvm_node *n)
{
	if (ps->p >= ps->end)
		return bad(ps, "the text ends where a value should be");
	if (*ps->p == '"' || *ps->p == '\'')
		return parse_string(ps, n);
	return parse_number(ps, n);
}

static enum xva_status parse_list(struct parser *ps, struct lvm_node *n)
{
	struct lvm_node **tail = &n->child;
	enum xva_status st;

	ps->p++; /* '[' */
	n->type = LVM_LIST;
	for (;;) {
		struct lvm_node *item;

		skip_space(ps);
		if (ps->p < ps->end && *ps->p == ']') {
			ps->p++;
			return XVA_OK;
		}
		if (n->n_children >= XVA_LVM_MAX_ITEMS)
			return bad(ps, "a list of more than %u values",
				   XVA_LVM_MAX_ITEMS);
		item = new_node(ps, NULL, LVM_INT);
		if (!item)
			return xva_nomem(ps->err);
		st = parse_scalar(ps, item);
		if (st != XVA_OK)
			return st;
		*tail = item;
		tail = &item->next;
		n->n_children++;
		skip_space(ps);
		if (ps->p < ps->end && *ps->p == ',')
			ps->p++;
	}
}

static enum xva_status parse_items(struct parser *ps, struct lvm_node *sec,
				   bool top);

static enum xva_status parse_item(struct parser *ps, struct lvm_node *sec,
				  struct lvm_node ***tail)
{
	const char *from = ps->p;
	struct lvm_node *n;
	enum xva_status st;
	char *key;

	while (ps->p < ps->end && name_char(*ps->p))
		ps->p++;
	if (ps->p == from)
		return bad(ps, "a name was expected, not '%c'", *ps->p);
	if (!(key = copy(ps, from, (size_t)(ps->p - from))) ||
	    !(n = new_node(ps, key, LVM_SECTION)))
		return xva_nomem(ps->err);
	skip_space(ps);
	if (ps->p < ps->end && *ps->p == '{') {
		if (++ps->depth > XVA_LVM_MAX_DEPTH)
			return bad(ps, "sections nested more than %d deep",
				   XVA_LVM_MAX_DEPTH);
		ps->p++;
		st = parse_items(ps, n, false);
		ps->depth--;
	} else if (ps->p < ps->end && *ps->p == '=') {
		ps->p++;
		skip_space(ps);
		if (ps->p < ps->end && *ps->p == '[')
			st = parse_list(ps, n);
		else
			st = parse_scalar(ps, n);
	} else {
		return bad(ps, "'%s' is followed by neither '=' nor '{'", key);
	}
	if (st != XVA_OK)
		return st;
	**tail = n;
	*tail = &n->next;
	sec->n_children++;
	return XVA_OK;
}

/* The items of SEC up to its '}' (or the end, at the top). */
static enum xva_status parse_items(struct parser *ps, struct lvm_node *sec,
				   bool top)
{
	struct lvm_node **tail = &sec->child;
	enum xva_status st;

	for (;;) {
		skip_space(ps);
		if (ps->p >= ps->end) {
			if (top)
				return XVA_OK;
			return bad(ps, "section '%s' is not closed", sec->key);
		}
		if (*ps->p == '}') {
			if (top)
				return bad(ps, "a '}' with no section open");
			ps->p++;
			return XVA_OK;
		}
		st = parse_item(ps, sec, &tail);
		if (st != XVA_OK)
			return st;
	}
}

enum xva_status lvm_text_parse(const char *text, size_t len,
			       struct lvm_tree **out, struct xva_err *err)
{
	struct lvm_tree *t = calloc(1, sizeof(*t));
	const char *nul = memchr(text, '\0', len);
	struct parser ps = { t, text, nul ? nul : text + len, text, err, 0 };
	enum xva_status st;

	*out = NULL;
	if (!t)
		return xva_nomem(err);
	t->root.type = LVM_SECTION;
	t->root.key = "";
	st = parse_items(&ps, &t->root, true);
	if (st != XVA_OK) {
		lvm_tree_free(t);
		return st;
	}
	*out = t;
	return XVA_OK;
}

const struct lvm_node *lvm_tree_root(const struct lvm_tree *t)
{
	return &t->root;
}

void lvm_tree_free(struct lvm_tree *t)
{
	if (!t)
		return;
	while (t->blocks) {
		struct arena_block *b = t->blocks;

		t->blocks = b->next;
		free(b);
	}
	free(t);
}

const struct lvm_node *lvm_find(const struct lvm_node *section,
				const char *key)
{
	if (!section || section->type != LVM_SECTION)
		return NULL;
	for (const struct lvm_node *n = section->child; n; n = n->next)
		if (strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

const struct lvm_node *lvm_find_type(const struct lvm_node *section,
				     const char *key, enum lvm_node_type type)
{
	const struct lvm_node *n = lvm_find(section, key);

	return n && n->type == type ? n : NULL;
}

bool lvm_list_has(const struct lvm_node *section, const char *key,
		  const char *word)
{
	const struct lvm_node *l = lvm_find_type(section, key, LVM_LIST);

	for (const struct lvm_node *n = l ? l->child : NULL; n; n = n->next)
		if (n->type == LVM_STRING && strcmp(n->s, word) == 0)
			return true;
	return false;
}
