/* A Xen Orchestra backup repository as a catalogue of exports: every full
 * backup of every VM, by the VM's name and the backup's date.
 *
 * A repository (a local or mounted folder, or s3://BUCKET/PREFIX) holds
 * xo-vm-backups/<VM UUID>/<YYYYMMDD>T<HHMMSS>Z.xva, each beside a .json
 * of its metadata (mode "full", timestamp, the VM's XAPI record, size).
 * Opening the catalogue lists those files (ListObjectsV2 for S3) and
 * reads each .json (decrypted with the repository's key when it is
 * encrypted, the key checked against metadata.json first); no backup is
 * opened. xva_repo_open_backup() opens one as an export, on first use.
 *
 * A VM's name is the name_label of its newest backup's .json; VMs that
 * share a name get distinct folder names, the smallest UUID keeping the
 * name and the others "NAME (UUID8)". A backup whose .json is missing or
 * broken is still listed, from its .xva's name, with a note; incremental
 * (delta) backups' metadata is skipped. */
#ifndef XVAFS_REPOSITORY_H
#define XVAFS_REPOSITORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "xvafs/crypt.h"
#include "xvafs/error.h"
#include "xvafs/source.h"
#include "xvafs/xva.h"

/* The folder a repository keeps its VMs' backups in. */
#define XVA_REPO_BACKUPS "xo-vm-backups"

struct xva_repo_backup {
	char stamp[17];      /* "20260131T020000Z", as in the file names */
	char iso[21];        /* "2026-01-31T02:00:00Z": the mount's name */
	time_t time;         /* the same, seconds since the epoch (UTC) */
	char *xva;           /* the .xva's location (path or s3:// URL) */
	bool has_xva;        /* listed; false: only its .json is there */
	uint64_t stored_size;/* the .xva's bytes as stored (listing) */
	uint64_t size;       /* the .json's "size" (the export's bytes before
				encryption), or 0 */
	char *vm_name;       /* the .json's vm.name_label, or NULL */
	/* What is wrong with its .json ("missing", "not JSON", ...), or
	 * NULL. */
	char *note;
};

struct xva_repo_vm {
	char *uuid;
	char *name;          /* from the newest backup's .json; else the UUID */
	char *folder;        /* its distinct name in the mount */
	struct xva_repo_backup *backups; /* oldest first */
	size_t n_backups;
};

struct xva_repo {
	char *location;      /* the repository's root, as given (no '/' at
				the end) */
	enum xva_crypt_alg alg;
	bool has_key;
	struct xva_crypt_key key; /* wiped at close */
	struct xva_repo_vm *vms;  /* by folder name */
	size_t n_vms;
};

/* Whether LOCATION is a repository's root: a folder with xo-vm-backups/
 * in it, or s3://BUCKET[/PREFIX] with objects under PREFIX/xo-vm-backups/
 * (one listing request; a location ending in '/' is taken for a
 * repository whatever that says, so its error is a repository's). */
bool xva_repo_detect(const char *location, const struct xva_source_options *o);

/* Opens the catalogue of the repository at LOCATION. KEY (NULL: none) is
 * its encryption key, checked as xva_xo_repo_check_key does; with
 * KEY_IF_NEEDED (the key came from the environment) a key is not an
 * error for an unencrypted repository. O may be NULL. */
enum xva_status xva_repo_open(const char *location,
			      const struct xva_crypt_key *key,
			      bool key_if_needed,
			      const struct xva_source_options *o,
			      struct xva_repo **out, struct xva_err *err);
void xva_repo_close(struct xva_repo *repo);

/* Opens backup B of REPO as an export, with OPTIONS (may be NULL) and the
 * repository's key. */
enum xva_status xva_repo_open_backup(const struct xva_repo *repo,
				     const struct xva_repo_backup *b,
				     const struct xva_open_options *options,
				     struct xva **out, struct xva_err *err);

/* Whether backup B of VM matches SELECT: NULL (all), the VM's folder
 * name or UUID, or one backup as VM/TIMESTAMP (the ISO name or the
 * file's stamp). */
bool xva_repo_selected(const struct xva_repo_vm *vm,
		       const struct xva_repo_backup *b, const char *select);

/* Peeks at backup B's first bytes (decrypted, without authenticating):
 * "gzip", "zstd" or "none" (a plain tar) in *KIND; for --list. */
enum xva_status xva_repo_backup_compression(const struct xva_repo *repo,
					    const struct xva_repo_backup *b,
					    const struct xva_source_options *o,
					    const char **kind,
					    struct xva_err *err);

#endif
