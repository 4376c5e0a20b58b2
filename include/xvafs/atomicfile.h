/* The atomic-file writer: how xvafs publishes a file (the index cache, the
 * gzip index, the zstd chunk cache, an --export-disk output). The file is
 * written whole under a temporary name in the target's folder, made
 * durable (fsync), renamed over the target, and the folder is made durable
 * too (fsync of the folder), so that a reader sees the old file or the
 * new one, never half of one, and what the rename made visible survives a
 * power cut. Every place that publishes by rename goes through here. */
#ifndef XVAFS_ATOMICFILE_H
#define XVAFS_ATOMICFILE_H

#include <stddef.h>

#include "xvafs/error.h"

/* Creates a new, empty, 0600 temporary file beside FINAL
 * (DIR/.tmp-NAME-XXXXXX) for writing; *TMP_PATH (malloc'ed) is its name,
 * for xva_atomic_file_commit() or, to give up, unlink(). */
enum xva_status xva_atomic_file_create(const char *final, char **tmp_path,
				       int *fd, struct xva_err *err);

/* Publishes what was written to FD (open on TMP_PATH): fsync of the file,
 * rename of TMP_PATH to FINAL, fsync of FINAL's folder. FD stays open. A
 * failure names the path; after a failed folder fsync the file is in
 * place but may not survive a power cut. */
enum xva_status xva_atomic_file_commit(int fd, const char *tmp_path,
				       const char *final, struct xva_err *err);

/* The whole cycle for LEN bytes at DATA: FINAL holds them, durably, or is
 * as it was (no temporary file is left behind). */
enum xva_status xva_atomic_file_write(const char *final, const void *data,
				      size_t len, struct xva_err *err);

/* Makes the entries of folder DIR durable (an fsync of the folder: fsync
 * of a new file makes its data durable, not its name). A file system that
 * cannot sync a folder (EINVAL) is not an error. */
enum xva_status xva_sync_folder(const char *dir, struct xva_err *err);
/* The same for the folder PATH is in. */
enum xva_status xva_sync_parent_folder(const char *path, struct xva_err *err);

#endif
