/* Inode 1 is the root folder; disk I of the map is inode I + 2. The disks
 * never change while mounted, so attributes and entries are cached long. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "fs.h"

#define FIRST_DISK_INO 2
#define CACHE_SECONDS 86400.0
#define BLOCK 4096

static struct xvafs_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct xva_disk *disk_of(struct xvafs_fs *fs, fuse_ino_t ino)
{
	if (ino < FIRST_DISK_INO || ino - FIRST_DISK_INO >= fs->xva->map.n_disks)
		return NULL;
	return &fs->xva->map.disks[ino - FIRST_DISK_INO];
}

static int fill_attr(struct xvafs_fs *fs, fuse_ino_t ino, struct stat *st)
{
	const struct xva_disk *disk = disk_of(fs, ino);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_atim = fs->xva->st.st_mtim;
	st->st_mtim = fs->xva->st.st_mtim;
	st->st_ctim = fs->xva->st.st_mtim;
	st->st_blksize = BLOCK;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
		return 0;
	}
	if (!disk)
		return ENOENT;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_size = (off_t)disk->size;
	/* Only present chunks occupy space, so cp and du see the holes. */
	st->st_blocks = (blkcnt_t)((disk->bytes_present + 511) / 512);
	return 0;
}

static void xvafs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct xvafs_fs *fs = fs_of(req);
	struct fuse_entry_param e;
	const struct xva_disk *disk;

	if (parent != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.attr_timeout = CACHE_SECONDS;
	e.entry_timeout = CACHE_SECONDS;
	disk = xva_map_find(&fs->xva->map, name);
	if (!disk) {
		/* ino 0 caches the negative answer for entry_timeout. */
		fuse_reply_entry(req, &e);
		return;
	}
	e.ino = FIRST_DISK_INO + (fuse_ino_t)(disk - fs->xva->map.disks);
	fill_attr(fs, e.ino, &e.attr);
	fuse_reply_entry(req, &e);
}

static void xvafs_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct stat st;
	int err;

	(void)fi;
	err = fill_attr(fs_of(req), ino, &st);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_attr(req, &st, CACHE_SECONDS);
}

static void xvafs_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void xvafs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct xvafs_fs *fs = fs_of(req);
	size_t n_entries = 2 + fs->xva->map.n_disks, used = 0;
	char *buf;

	(void)fi;
	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Entry I has offset I + 1, the offset of the entry after it. */
	for (size_t i = (size_t)off; i < n_entries; i++) {
		struct stat st = { 0 };
		const char *name;
		size_t need;

		if (i < 2) {
			name = i == 0 ? "." : "..";
			st.st_ino = FUSE_ROOT_ID;
			st.st_mode = S_IFDIR;
		} else {
			name = fs->xva->map.disks[i - 2].prefix;
			st.st_ino = FIRST_DISK_INO + i - 2;
			st.st_mode = S_IFREG;
		}
		need = fuse_add_direntry(req, buf + used, size - used, name,
					 &st, (off_t)(i + 1));
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void xvafs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct xva_disk *disk = disk_of(fs_of(req), ino);

	if (!disk) {
		fuse_reply_err(req, ino == FUSE_ROOT_ID ? EISDIR : ENOENT);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)disk;
	fi->keep_cache = 1; /* the .xva never changes under the mount */
	fuse_reply_open(req, fi);
}

static void xvafs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	const struct xva_disk *disk = (const struct xva_disk *)(uintptr_t)fi->fh;
	struct xvafs_fs *fs = fs_of(req);
	struct xva_err err;
	size_t done;
	char *buf;

	(void)ino;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (xva_read(fs->xva, disk, buf, size, (uint64_t)off, &done, &err) !=
	    XVA_OK) {
		fuse_log(FUSE_LOG_ERR, "xvafs: disk %s, read of %zu bytes at "
			 "disk byte %lld: %s\n", disk->prefix, size,
			 (long long)off, err.msg);
		fuse_reply_err(req, EIO);
	} else {
		fuse_reply_buf(req, buf, done);
	}
	free(buf);
}

static void xvafs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct xvafs_fs *fs = fs_of(req);
	struct statvfs sv;
	uint64_t bytes = 0;

	(void)ino;
	for (size_t i = 0; i < fs->xva->map.n_disks; i++)
		bytes += fs->xva->map.disks[i].bytes_present;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = BLOCK;
	sv.f_frsize = BLOCK;
	sv.f_blocks = (fsblkcnt_t)((bytes + BLOCK - 1) / BLOCK);
	sv.f_files = (fsfilcnt_t)(fs->xva->map.n_disks + 1);
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

const struct fuse_lowlevel_ops xvafs_ops = {
	.lookup = xvafs_lookup,
	.getattr = xvafs_getattr,
	.opendir = xvafs_opendir,
	.readdir = xvafs_readdir,
	.open = xvafs_open,
	.read = xvafs_read,
	.statfs = xvafs_statfs,
};
