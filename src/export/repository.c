/* A Xen Orchestra repository's catalogue: the listing of xo-vm-backups/
 * (a folder's, or an S3 prefix's), each backup's .json read (decrypted
 * when the repository is encrypted), the VMs named and given distinct
 * folder names. No backup is opened here but by xva_repo_open_backup(). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "source/s3list.h"
#include "source/source.h"
#include "xvafs/repository.h"

/* A backup's metadata is a few KiB (two XAPI VM records). */
#define JSON_MAX (16u << 20)
/* XO names backups YYYYMMDDTHHMMSSZ. */
#define STAMP_LEN 16

/* --- the listing --- */

/* One file of xo-vm-backups/UUID/ that names a backup. */
struct entry {
	char *uuid;
	char stamp[STAMP_LEN + 1];
	bool is_xva;         /* else its .json */
	uint64_t size;
};

struct entries {
	struct entry *items;
	size_t n, cap;
};

static void entries_free(struct entries *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->items[i].uuid);
	free(e->items);
}

/* Whether NAME is STAMP.xva or STAMP.json, STAMP as XO writes it. */
static bool backup_file(const char *name, char stamp[STAMP_LEN + 1],
			bool *is_xva)
{
	static const char pattern[] = "dddddddd" "T" "dddddd" "Z";
	const char *ext = name + STAMP_LEN;

	if (strlen(name) < STAMP_LEN + 4)
		return false;
	for (size_t i = 0; i < STAMP_LEN; i++)
		if (pattern[i] == 'd' ? name[i] < '0' || name[i] > '9'
				      : name[i] != pattern[i])
			return false;
	if (strcmp(ext, ".xva") != 0 && strcmp(ext, ".json") != 0)
		return false;
	memcpy(stamp, name, STAMP_LEN);
	stamp[STAMP_LEN] = '\0';
	*is_xva = strcmp(ext, ".xva") == 0;
	return true;
}

/* A VM folder's name: XO's are UUIDs; anything else plain enough to be
 * a path component is taken too. */
static bool vm_folder_ok(const char *name, size_t len)
{
	return len > 0 && len < 128 && name[0] != '.' &&
	       memchr(name, '/', len) == NULL;
}

static enum xva_status add_entry(struct entries *e, const char *uuid,
				 size_t uuid_len, const char *file,
				 uint64_t size, struct xva_err *err)
{
	struct entry *x;
	char stamp[STAMP_LEN + 1];
	bool is_xva;

	if (!vm_folder_ok(uuid, uuid_len) || !backup_file(file, stamp, &is_xva))
		return XVA_OK;
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 64;
		struct entry *items = realloc(e->items, cap * sizeof(*items));

		if (!items)
			return xva_nomem(err);
		e->items = items;
		e->cap = cap;
	}
	x = &e->items[e->n];
	x->uuid = strndup(uuid, uuid_len);
	if (!x->uuid)
		return xva_nomem(err);
	memcpy(x->stamp, stamp, sizeof(stamp));
	x->is_xva = is_xva;
	x->size = size;
	e->n++;
	return XVA_OK;
}

static enum xva_status list_local(const char *root, struct entries *out,
				  struct xva_err *err)
{
	char path[4096];
	enum xva_status st = XVA_OK;
	struct dirent *d;
	DIR *top;

	if (strlen(root) > sizeof(path) - 64)
		return xva_fail(err, XVA_EINVAL, "%.100s...: too long a path",
				root);

	snprintf(path, sizeof(path), "%s/%s", root, XVA_REPO_BACKUPS);
	top = opendir(path);
	if (!top)
		return xva_fail(err, errno == EACCES ? XVA_EACCESS : XVA_EOPEN,
				"%s: %s", path, strerror(errno));
	while (st == XVA_OK && (d = readdir(top))) {
		char vm_path[4096 + 256];
		struct dirent *f;
		DIR *vm;

		if (!vm_folder_ok(d->d_name, strlen(d->d_name)))
			continue;
		snprintf(vm_path, sizeof(vm_path), "%s/%s", path, d->d_name);
		vm = opendir(vm_path);
		if (!vm)
			continue; /* a file, or a folder we may not read */
		while (st == XVA_OK && (f = readdir(vm))) {
			char file[sizeof(vm_path) + 256];
			struct stat sb;

			snprintf(file, sizeof(file), "%s/%s", vm_path, f->d_name);
			if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode))
				continue;
			st = add_entry(out, d->d_name, strlen(d->d_name),
				       f->d_name, (uint64_t)sb.st_size, err);
		}
		closedir(vm);
	}
	closedir(top);
	return st;
}

static enum xva_status list_s3(const char *root,
			       const struct xva_source_options *o,
			       struct entries *out, struct xva_err *err)
{
	struct xva_object_list objects;
	enum xva_status st;
	char *prefix;

	if (asprintf(&prefix, "%s/%s/", root, XVA_REPO_BACKUPS) < 0)
		return xva_nomem(err);
	st = xva_s3_list(prefix, o, &objects, err);
	for (size_t i = 0; st == XVA_OK && i < objects.n; i++) {
		const char *name = objects.items[i].name;
		const char *slash = strchr(name, '/');

		/* UUID/FILE; deeper keys are not backups of this layout. */
		if (slash && !strchr(slash + 1, '/'))
			st = add_entry(out, name, (size_t)(slash - name),
				       slash + 1, objects.items[i].size, err);
	}
	xva_object_list_free(&objects);
	free(prefix);
	return st;
}

static bool is_s3(const char *location)
{
	return strncasecmp(location, "s3://", 5) == 0;
}

bool xva_repo_detect(const char *location, const struct xva_source_options *o)
{
	struct xva_source_options defaults = { .s3_path_style = -1 };
	struct xva_object_list objects;
	struct xva_err err;
	struct stat sb;
	char *prefix;
	size_t len = strlen(location);
	bool found;

	if (!o)
		o = &defaults;
	if (!is_s3(location)) {
		char path[4096];

		if (xva_location_is_url(location))
			return false; /* a web server lists nothing */
		snprintf(path, sizeof(path), "%s/%s", location, XVA_REPO_BACKUPS);
		return stat(location, &sb) == 0 && S_ISDIR(sb.st_mode) &&
		       stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
	}
	if (len > 5 && location[len - 1] == '/')
		return true;
	/* s3://BUCKET alone names no object: a repository at the root. */
	if (!strchr(location + 5, '/'))
		return true;
	while (len > 5 && location[len - 1] == '/')
		len--;
	if (asprintf(&prefix, "%.*s/%s/", (int)len, location,
		     XVA_REPO_BACKUPS) < 0)
		return false;
	found = xva_s3_list(prefix, o, &objects, &err) == XVA_OK &&
		objects.n > 0;
	xva_object_list_free(&objects);
	free(prefix);
	return found;
}

/* --- the catalogue --- */

static int cmp_entry(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->uuid, y->uuid);

	return c ? c : strcmp(x->stamp, y->stamp);
}

static bool stamp_time(const char *stamp, struct xva_repo_backup *b)
{
	struct tm tm = { 0 };

	if (sscanf(stamp, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon,
		   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return false;
	snprintf(b->iso, sizeof(b->iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ",
		 stamp, stamp + 4, stamp + 6, stamp + 9, stamp + 11, stamp + 13);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	b->time = timegm(&tm);
	return true;
}

/* The backups of the sorted entries [FROM, TO), one VM's, into VM. */
static enum xva_status add_backups(const char *root, struct xva_repo_vm *vm,
				   const struct entry *from,
				   const struct entry *to, struct xva_err *err)
{
	vm->backups = calloc((size_t)(to - from), sizeof(*vm->backups));
	if (!vm->backups)
		return xva_nomem(err);
	for (const struct entry *e = from; e < to; e++) {
		struct xva_repo_backup *b;

		if (vm->n_backups &&
		    strcmp(vm->backups[vm->n_backups - 1].stamp, e->stamp) == 0)
			b = &vm->backups[vm->n_backups - 1];
		else
			b = &vm->backups[vm->n_backups++];
		if (!b->stamp[0]) {
			memcpy(b->stamp, e->stamp, sizeof(b->stamp));
			if (!stamp_time(e->stamp, b))
				return xva_fail(err, XVA_EFORMAT, "%s: bad stamp",
						e->stamp);
			if (asprintf(&b->xva, "%s/%s/%s/%s.xva", root,
				     XVA_REPO_BACKUPS, vm->uuid, e->stamp) < 0) {
				b->xva = NULL;
				return xva_nomem(err);
			}
			/* Until its .json says otherwise. */
			b->note = strdup("its .json is missing");
			if (!b->note)
				return xva_nomem(err);
		}
		if (e->is_xva) {
			b->has_xva = true;
			b->stored_size = e->size;
		} else {
			free(b->note);
			b->note = NULL;
		}
	}
	return XVA_OK;
}

static enum xva_status build_vms(struct xva_repo *repo, struct entries *e,
				 struct xva_err *err)
{
	enum xva_status st = XVA_OK;
	size_t n = 0;

	qsort(e->items, e->n, sizeof(*e->items), cmp_entry);
	for (size_t i = 0; i < e->n; i++)
		if (i == 0 || strcmp(e->items[i].uuid, e->items[i - 1].uuid))
			n++;
	repo->vms = calloc(n ? n : 1, sizeof(*repo->vms));
	if (!repo->vms)
		return xva_nomem(err);
	for (size_t i = 0, j; i < e->n && st == XVA_OK; i = j) {
		struct xva_repo_vm *vm = &repo->vms[repo->n_vms++];

		for (j = i; j < e->n && !strcmp(e->items[j].uuid,
						e->items[i].uuid); j++)
			;
		vm->uuid = strdup(e->items[i].uuid);
		if (!vm->uuid)
			return xva_nomem(err);
		st = add_backups(repo->location, vm, &e->items[i], &e->items[j],
				 err);
	}
	return st;
}

/* --- each backup's .json --- */

/* "its .json WHAT[: DETAIL]". */
static char *json_note(const char *what, const char *detail)
{
	char *note;

	if (asprintf(&note, "its .json %s%s%s", what, detail ? ": " : "",
		     detail ? detail : "") < 0)
		return NULL;
	return note;
}

/* Reads B's .json: its VM's name, its size, whether it is a full backup.
 * Trouble with it is B's note, never an error (but no memory); *DELTA
 * when it names another kind of backup. */
static enum xva_status read_metadata(const struct xva_repo *repo,
				     const struct xva_source_options *o,
				     struct xva_repo_backup *b, bool *delta,
				     struct xva_err *err)
{
	unsigned char *raw = NULL, *plain = NULL;
	size_t raw_len = 0, plain_len = 0;
	struct json_object *root = NULL, *vm, *v;
	struct xva_err why;
	char *path;
	enum xva_status st;

	*delta = false;
	if (b->note) /* missing from the listing */
		return XVA_OK;
	if (asprintf(&path, "%.*s.json", (int)(strlen(b->xva) - 4), b->xva) < 0)
		return xva_nomem(err);
	st = xva_read_small_file(path, o, JSON_MAX, &raw, &raw_len, &why);
	if (st == XVA_OK && repo->alg != XVA_CRYPT_NONE) {
		st = xva_crypt_decrypt_buffer(&repo->key, repo->alg, raw, raw_len,
					      path, &plain, &plain_len, &why);
	} else if (st == XVA_OK) {
		plain = raw;
		raw = NULL;
	}
	if (st == XVA_ENOMEM) {
		*err = why;
	} else if (st != XVA_OK) {
		b->note = json_note("cannot be read", why.msg);
	} else if (!(root = json_tokener_parse((const char *)plain)) ||
		   !json_object_is_type(root, json_type_object)) {
		b->note = json_note("is not a JSON object", NULL);
	} else {
		if (json_object_object_get_ex(root, "mode", &v) &&
		    json_object_is_type(v, json_type_string) &&
		    strcmp(json_object_get_string(v), "full") != 0)
			*delta = true;
		if (json_object_object_get_ex(root, "size", &v) &&
		    json_object_is_type(v, json_type_int))
			b->size = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(root, "vm", &vm) &&
		    json_object_object_get_ex(vm, "name_label", &v) &&
		    json_object_is_type(v, json_type_string))
			b->vm_name = strdup(json_object_get_string(v));
		else
			b->note = json_note("has no vm.name_label", NULL);
	}
	json_object_put(root);
	if (plain)
		OPENSSL_cleanse(plain, plain_len);
	free(plain);
	free(raw);
	free(path);
	if (st == XVA_ENOMEM)
		return st;
	/* Every way above gives a note or a name, but a failed strdup. */
	if (!b->note && !b->vm_name)
		return xva_nomem(err);
	return XVA_OK;
}

static void free_backup(struct xva_repo_backup *b)
{
	free(b->xva);
	free(b->vm_name);
	free(b->note);
}

/* Every .json of VM; delta backups (and .json files of other kinds
 * without an .xva) leave the list. */
static enum xva_status read_vm_metadata(const struct xva_repo *repo,
					const struct xva_source_options *o,
					struct xva_repo_vm *vm,
					struct xva_err *err)
{
	size_t kept = 0;

	for (size_t i = 0; i < vm->n_backups; i++) {
		struct xva_repo_backup *b = &vm->backups[i];
		bool delta;
		enum xva_status st = read_metadata(repo, o, b, &delta, err);

		if (st != XVA_OK)
			return st;
		if (delta && !b->has_xva) {
			free_backup(b);
			continue;
		}
		if (!b->has_xva && !b->note &&
		    !(b->note = strdup("its .xva is missing")))
			return xva_nomem(err);
		vm->backups[kept++] = *b;
	}
	vm->n_backups = kept;
	return XVA_OK;
}

/* --- names --- */

/* NAME as one path component. */
static char *folder_of(const char *name, const char *uuid)
{
	char *f;

	if (!name || !*name || !strcmp(name, ".") || !strcmp(name, ".."))
		return strdup(uuid);
	f = strdup(name);
	for (char *p = f; p && *p; p++)
		if (*p == '/')
			*p = '_';
	return f;
}

static int cmp_name(const void *a, const void *b)
{
	const struct xva_repo_vm *x = a, *y = b;
	int c = strcmp(x->folder, y->folder);

	return c ? c : strcmp(x->uuid, y->uuid);
}

/* The newest backup's name, then distinct folders: in a group of VMs
 * with one name, the smallest UUID keeps it. */
static enum xva_status name_vms(struct xva_repo *repo, struct xva_err *err)
{
	for (size_t i = 0; i < repo->n_vms; i++) {
		struct xva_repo_vm *vm = &repo->vms[i];

		for (size_t k = vm->n_backups; k-- > 0 && !vm->name; )
			if (vm->backups[k].vm_name)
				vm->name = strdup(vm->backups[k].vm_name);
		if (!vm->name)
			vm->name = strdup(vm->uuid);
		vm->folder = vm->name ? folder_of(vm->name, vm->uuid) : NULL;
		if (!vm->name || !vm->folder)
			return xva_nomem(err);
	}
	qsort(repo->vms, repo->n_vms, sizeof(*repo->vms), cmp_name);
	for (size_t i = 1; i < repo->n_vms; i++) {
		struct xva_repo_vm *vm = &repo->vms[i];
		char *f;

		if (strcmp(vm->folder, repo->vms[i - 1].folder) != 0 &&
		    (i < 2 || strcmp(vm->folder, repo->vms[i - 2].folder) != 0))
			continue;
		/* Not the first of its group: "NAME (UUID8)". */
		if (asprintf(&f, "%s (%.8s)", vm->name, vm->uuid) < 0)
			return xva_nomem(err);
		for (char *p = f; *p; p++)
			if (*p == '/')
				*p = '_';
		free(vm->folder);
		vm->folder = f;
	}
	qsort(repo->vms, repo->n_vms, sizeof(*repo->vms), cmp_name);
	return XVA_OK;
}

/* --- opening --- */

static enum xva_status check_key(struct xva_repo *repo,
				 const struct xva_crypt_key *key,
				 bool key_if_needed,
				 const struct xva_source_options *o,
				 struct xva_err *err)
{
	enum xva_status st;

	st = xva_xo_repo_check_key(repo->location, key, o, &repo->alg, err);
	if (st == XVA_EINVAL && key && key_if_needed &&
	    repo->alg == XVA_CRYPT_NONE)
		return XVA_OK; /* $XVAFS_KEY set, an unencrypted repository */
	if (st != XVA_OK || repo->alg == XVA_CRYPT_NONE)
		return st;
	repo->key = *key;
	repo->has_key = true;
	return XVA_OK;
}

enum xva_status xva_repo_open(const char *location,
			      const struct xva_crypt_key *key,
			      bool key_if_needed,
			      const struct xva_source_options *o,
			      struct xva_repo **out, struct xva_err *err)
{
	struct xva_source_options defaults = { .s3_path_style = -1 };
	struct entries entries = { 0 };
	struct xva_repo *repo;
	enum xva_status st;
	size_t len = strlen(location);

	*out = NULL;
	if (!o)
		o = &defaults;
	repo = calloc(1, sizeof(*repo));
	if (!repo)
		return xva_nomem(err);
	while (len > 1 && location[len - 1] == '/' &&
	       !(is_s3(location) && len <= 5))
		len--;
	/* A local repository by its absolute path: a daemon serving it
	 * works from /. */
	if (!is_s3(location))
		repo->location = realpath(location, NULL);
	else
		repo->location = strndup(location, len);
	if (!repo->location && !is_s3(location) && errno != ENOMEM) {
		st = xva_fail(err, XVA_EOPEN, "%s: %s", location, strerror(errno));
		free(repo);
		return st;
	}
	if (!repo->location) {
		free(repo);
		return xva_nomem(err);
	}
	st = check_key(repo, key, key_if_needed, o, err);
	if (st == XVA_OK)
		st = is_s3(repo->location)
			? list_s3(repo->location, o, &entries, err)
			: list_local(repo->location, &entries, err);
	if (st == XVA_OK)
		st = build_vms(repo, &entries, err);
	for (size_t i = 0; st == XVA_OK && i < repo->n_vms; i++)
		st = read_vm_metadata(repo, o, &repo->vms[i], err);
	if (st == XVA_OK)
		st = name_vms(repo, err);
	entries_free(&entries);
	if (st != XVA_OK) {
		xva_repo_close(repo);
		return st;
	}
	*out = repo;
	return XVA_OK;
}

void xva_repo_close(struct xva_repo *repo)
{
	if (!repo)
		return;
	for (size_t i = 0; i < repo->n_vms; i++) {
		struct xva_repo_vm *vm = &repo->vms[i];

		for (size_t k = 0; k < vm->n_backups; k++)
			free_backup(&vm->backups[k]);
		free(vm->backups);
		free(vm->uuid);
		free(vm->name);
		free(vm->folder);
	}
	free(repo->vms);
	free(repo->location);
	xva_crypt_key_wipe(&repo->key);
	free(repo);
}

enum xva_status xva_repo_open_backup(const struct xva_repo *repo,
				     const struct xva_repo_backup *b,
				     const struct xva_open_options *options,
				     struct xva **out, struct xva_err *err)
{
	struct xva_open_options o = { 0 };

	*out = NULL;
	if (!b->has_xva)
		return xva_fail(err, XVA_EOPEN, "%.*s.json names a backup whose "
				".xva is missing", (int)(strlen(b->xva) - 4),
				b->xva);
	if (options)
		o = *options;
	o.key = NULL;
	o.source.crypt_key = repo->has_key ? &repo->key : NULL;
	o.source.crypt_alg = repo->has_key ? repo->alg : XVA_CRYPT_NONE;
	return xva_open(b->xva, &o, out, err);
}

bool xva_repo_selected(const struct xva_repo_vm *vm,
		       const struct xva_repo_backup *b, const char *select)
{
	const char *slash;
	size_t len;

	if (!select || !*select)
		return true;
	slash = strrchr(select, '/');
	len = slash ? (size_t)(slash - select) : strlen(select);
	/* By folder, not name: two VMs may share a name, never a folder. */
	if (!((strlen(vm->folder) == len && !strncmp(vm->folder, select, len)) ||
	      (strlen(vm->uuid) == len && !strncasecmp(vm->uuid, select, len))))
		return false;
	return !slash || !strcmp(slash + 1, b->iso) ||
	       !strcmp(slash + 1, b->stamp);
}

enum xva_status xva_repo_backup_compression(const struct xva_repo *repo,
					    const struct xva_repo_backup *b,
					    const struct xva_source_options *o,
					    const char **kind,
					    struct xva_err *err)
{
	struct xva_source_options peek = { .s3_path_style = -1 };
	struct xva_source *src = NULL, *plain;
	unsigned char head[4] = { 0 };
	enum xva_status st;
	size_t got = 0;

	*kind = "none";
	if (o)
		peek = *o;
	/* A look at 4 bytes, not a read: no pass, nothing cached. */
	peek.cache_dir = NULL;
	peek.crypt_unauthenticated = true;
	peek.progress = NULL;
	st = xva_location_is_url(b->xva)
		? xva_source_http_open(b->xva, &peek, &src, err)
		: xva_source_file_open(b->xva, &peek, &src, err);
	if (st == XVA_OK && repo->has_key) {
		st = xva_source_crypt_open(src, &repo->key, repo->alg, &peek,
					   &plain, err);
		src = st == XVA_OK ? plain : NULL;
	}
	if (st == XVA_OK)
		st = xva_source_read(src, head, sizeof(head), 0, &got, err);
	if (st == XVA_OK && got >= 2 && head[0] == 0x1f && head[1] == 0x8b)
		*kind = "gzip";
	else if (st == XVA_OK && got == 4 &&
		 memcmp(head, "\x28\xb5\x2f\xfd", 4) == 0)
		*kind = "zstd";
	if (src)
		xva_source_close(src);
	return st;
}
