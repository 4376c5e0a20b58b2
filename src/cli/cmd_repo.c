/* --list and --verify on a Xen Orchestra backup repository: its VMs and
 * their full backups (dates, sizes, compression, encryption, notes), and
 * every selected backup verified in turn. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/tools.h"
#include "xvafs/repository.h"

/* The layout version --list --json shares with a single export's. */
#define LIST_JSON_SCHEMA_VERSION 1

struct peeked {
	const char *compression; /* "gzip", "zstd", "none", or NULL */
	char error[XVA_ERR_MAX]; /* why it could not be told, or "" */
};

static void peek(const struct xva_repo *repo, const struct xva_repo_backup *b,
		 const struct xva_source_options *so, struct peeked *p)
{
	struct xva_err err;

	p->compression = NULL;
	p->error[0] = '\0';
	if (!b->has_xva)
		return;
	if (xva_repo_backup_compression(repo, b, so, &p->compression,
					&err) != XVA_OK) {
		p->compression = NULL;
		snprintf(p->error, sizeof(p->error), "%s", err.msg);
	}
}

static void print_text(FILE *out, const struct xva_repo *repo,
		       const struct xva_source_options *so, bool exact,
		       const char *select)
{
	size_t n_backups = 0, n_shown = 0;

	for (size_t i = 0; i < repo->n_vms; i++)
		for (size_t k = 0; k < repo->vms[i].n_backups; k++) {
			n_backups++;
			n_shown += xva_repo_selected(&repo->vms[i],
						     &repo->vms[i].backups[k],
						     select);
		}
	fprintf(out, "repository: %s (%s%s), %zu VM%s, %zu full backup%s",
		repo->location, repo->alg == XVA_CRYPT_NONE ? "not encrypted"
		: "encrypted with ", repo->alg == XVA_CRYPT_NONE ? ""
		: xva_crypt_alg_name(repo->alg), repo->n_vms,
		repo->n_vms == 1 ? "" : "s", n_backups,
		n_backups == 1 ? "" : "s");
	/* The whole repository, then what --vm keeps. */
	if (select)
		fprintf(out, "; --vm %s: %zu shown", select, n_shown);
	fputc('\n', out);
	for (size_t i = 0; i < repo->n_vms; i++) {
		const struct xva_repo_vm *vm = &repo->vms[i];
		bool header = false;

		for (size_t k = vm->n_backups; k-- > 0; ) {
			const struct xva_repo_backup *b = &vm->backups[k];
			char size[32] = "-", stored[32] = "-";
			struct peeked p;

			if (!xva_repo_selected(vm, b, select))
				continue;
			if (!header) {
				fprintf(out, "\nvm: %s (%s), %zu backup%s\n",
					vm->folder, vm->uuid, vm->n_backups,
					vm->n_backups == 1 ? "" : "s");
				fprintf(out, "  %-20s  %14s  %14s  %-11s  %s\n",
					"BACKUP", "SIZE", "STORED",
					"COMPRESSION", "NOTE");
				header = true;
			}
			peek(repo, b, so, &p);
			if (b->size)
				xvafs_human(b->size, exact, size, sizeof(size));
			if (b->has_xva)
				xvafs_human(b->stored_size, exact, stored,
					    sizeof(stored));
			fprintf(out, "  %-20s  %14s  %14s  %-11s  %s%s%s\n",
				b->iso, size, stored,
				p.compression ? p.compression : "-",
				b->note ? b->note : "",
				b->note && p.error[0] ? "; " : "",
				p.error[0] ? p.error : (b->note ? "" : "-"));
		}
	}
}

static void add_string(json_object *obj, const char *key, const char *value)
{
	json_object_object_add(obj, key, value ? json_object_new_string(value)
					       : NULL);
}

static json_object *backup_json(const struct xva_repo *repo,
				const struct xva_repo_backup *b,
				const struct xva_source_options *so)
{
	json_object *o = json_object_new_object();
	struct peeked p;

	peek(repo, b, so, &p);
	add_string(o, "timestamp", b->iso);
	add_string(o, "stamp", b->stamp);
	add_string(o, "file", b->xva);
	json_object_object_add(o, "present", json_object_new_boolean(b->has_xva));
	json_object_object_add(o, "size", b->size ?
			       json_object_new_uint64(b->size) : NULL);
	json_object_object_add(o, "stored_size", b->has_xva ?
			       json_object_new_uint64(b->stored_size) : NULL);
	add_string(o, "compression", p.compression &&
		   strcmp(p.compression, "none") ? p.compression : NULL);
	add_string(o, "encryption", repo->alg == XVA_CRYPT_NONE ? NULL
				    : xva_crypt_alg_name(repo->alg));
	add_string(o, "vm_name", b->vm_name);
	add_string(o, "note", b->note);
	add_string(o, "error", p.error[0] ? p.error : NULL);
	return o;
}

static void print_json(FILE *out, const struct xva_repo *repo,
		       const struct xva_source_options *so, const char *select)
{
	json_object *root = json_object_new_object();
	json_object *vms = json_object_new_array();

	json_object_object_add(root, "schema_version",
			       json_object_new_int(LIST_JSON_SCHEMA_VERSION));
	add_string(root, "repository", repo->location);
	add_string(root, "encryption", repo->alg == XVA_CRYPT_NONE ? NULL
				       : xva_crypt_alg_name(repo->alg));
	for (size_t i = 0; i < repo->n_vms; i++) {
		const struct xva_repo_vm *vm = &repo->vms[i];
		json_object *v = NULL, *backups = NULL;

		for (size_t k = vm->n_backups; k-- > 0; ) {
			if (!xva_repo_selected(vm, &vm->backups[k], select))
				continue;
			if (!v) {
				v = json_object_new_object();
				backups = json_object_new_array();
				add_string(v, "name", vm->name);
				add_string(v, "folder", vm->folder);
				add_string(v, "uuid", vm->uuid);
			}
			json_object_array_add(backups, backup_json(
						      repo, &vm->backups[k], so));
		}
		if (v) {
			json_object_object_add(v, "backups", backups);
			json_object_array_add(vms, v);
		}
	}
	json_object_object_add(root, "vms", vms);
	fprintf(out, "%s\n", json_object_to_json_string_ext(
				     root, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
}

/* Whether SELECT names anything in REPO. */
static bool selects_any(const struct xva_repo *repo, const char *select)
{
	for (size_t i = 0; i < repo->n_vms; i++)
		for (size_t k = 0; k < repo->vms[i].n_backups; k++)
			if (xva_repo_selected(&repo->vms[i],
					      &repo->vms[i].backups[k], select))
				return true;
	return false;
}

static int nothing_selected(const struct xva_repo *repo, const char *select)
{
	fprintf(stderr, "xvafs: %s: no VM or backup is %s (--list shows "
		"them)\n", repo->location, select);
	return XVAFS_EXIT_USAGE;
}

int xvafs_repo_list(FILE *out, const struct xva_repo *repo,
		    const struct xva_source_options *so, bool json, bool exact,
		    const char *select)
{
	if (select && !selects_any(repo, select))
		return nothing_selected(repo, select);
	if (json)
		print_json(out, repo, so, select);
	else
		print_text(out, repo, so, exact, select);
	return XVAFS_EXIT_OK;
}

/* The worse of two --verify outcomes. */
static int worse(int a, int b)
{
	static const int order[] = { XVAFS_EXIT_OK, XVAFS_EXIT_UNVERIFIABLE,
				     XVAFS_EXIT_BAD_INPUT, XVAFS_EXIT_DAMAGED };
	int ra = 4, rb = 4;

	for (int i = 0; i < 4; i++) {
		if (order[i] == a)
			ra = i;
		if (order[i] == b)
			rb = i;
	}
	return ra >= rb ? a : b;
}

int xvafs_repo_verify(FILE *out, const struct xva_repo *repo,
		      const struct xva_open_options *oo, const char *select)
{
	size_t good = 0, bad = 0, unopened = 0, partial = 0;
	int status = XVAFS_EXIT_OK;

	if (select && !selects_any(repo, select))
		return nothing_selected(repo, select);
	for (size_t i = 0; i < repo->n_vms && !xvafs_interrupted; i++) {
		const struct xva_repo_vm *vm = &repo->vms[i];

		for (size_t k = 0; k < vm->n_backups && !xvafs_interrupted; k++) {
			const struct xva_repo_backup *b = &vm->backups[k];
			char label[4096];
			struct xva *xva = NULL;
			struct xva_err err;
			int st;

			if (!xva_repo_selected(vm, b, select))
				continue;
			snprintf(label, sizeof(label), "%s/%s", vm->folder,
				 b->iso);
			if (b->note)
				fprintf(out, "xvafs: %s: %s\n", label, b->note);
			if (xva_repo_open_backup(repo, b, oo, &xva, &err) != XVA_OK) {
				if (err.status == XVA_EINTR)
					break;
				/* Its bytes were read and failed their check
				 * (an encrypted backup's tag is checked as it
				 * is opened): damaged, like a chunk that fails. */
				if (err.status == XVA_ECORRUPT) {
					fprintf(out, "xvafs: %s: damaged: %s\n",
						label, err.msg);
					bad++;
				} else {
					fprintf(out, "xvafs: %s: cannot be "
						"opened: %s\n", label, err.msg);
					unopened++;
				}
				status = worse(status, XVAFS_EXIT_DAMAGED);
				continue;
			}
			st = xvafs_verify(out, label, xva);
			xva_close(xva);
			if (st == XVAFS_EXIT_OK)
				good++;
			else if (st == XVAFS_EXIT_UNVERIFIABLE)
				partial++;
			else if (st == XVAFS_EXIT_DAMAGED)
				bad++;
			else
				break; /* interrupted */
			status = worse(status, st);
		}
	}
	if (xvafs_interrupted) {
		fprintf(stderr, "xvafs: %s: --verify interrupted\n",
			repo->location);
		return xvafs_exit_for(XVA_EINTR, XVAFS_AT_EXPORT);
	}
	fprintf(out, "xvafs: %s: %zu backup%s intact, %zu not fully "
		"verifiable, %zu damaged, %zu could not be opened\n",
		repo->location, good, good == 1 ? "" : "s", partial, bad,
		unopened);
	return status;
}
