/* A minimal FUSE passthrough of one file, for benchmarks only: it serves
 * FILE as MOUNTPOINT/file, multi-threaded, replying with spliced pages of
 * FILE (replies capped at 512 KiB like xvafs's), so reading through it
 * shows what FUSE itself costs on this kernel: the ceiling for xvafs.
 *
 * With SHIFT, byte N of the served file is byte N + SHIFT of FILE: SHIFT
 * 512 makes every splice start 512 bytes into a page, as splices of chunk
 * data inside a tar do (member data follows a 512-byte header).
 *
 * With -w, the file is served writable, the way xvafs serves a disk with
 * an overlay: writable opens are direct I/O with parallel writes (through
 * xvafs's own src/fuse/replies.c), each WRITE one pwrite to FILE and each
 * FSYNC one fdatasync: the FUSE ceiling for overlay writes.
 *
 *   passthrough [-w] FILE MOUNTPOINT [SHIFT]   (foreground; fusermount3 -u) */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse/fs.h" /* the reply patches of replies.c */

struct pt {
	/* replies.c's state (the session, parallel_writes). First, since
	 * replies.c gets the session's userdata, a struct pt *, as its own. */
	struct xvafs_fs replies;
	int fd;
	struct stat st;
	off_t shift;
	bool writable;
};

static void pt_init(void *userdata, struct fuse_conn_info *conn)
{
	struct pt *pt = userdata;

	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->max_write > (512u << 10))
		conn->max_write = 512u << 10;
	if (pt->writable && conn->proto_minor >= 40)
		xvafs_reply_mark(REPLY_INIT);
	/* As xvafs asks (src/fuse/fs.c): the kernel's readahead keeps its
	 * asynchronous half below this many background requests. */
	conn->max_background = 64;
	conn->congestion_threshold = 48;
}

static void fill(const struct pt *pt, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = ino == 1 ? S_IFDIR | 0555
			       : S_IFREG | (pt->writable ? 0644 : 0444);
	st->st_nlink = ino == 1 ? 2 : 1;
	st->st_size = ino == 1 ? 0 : pt->st.st_size - pt->shift;
}

static void pt_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = { 0 };

	if (parent != 1 || strcmp(name, "file") != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	e.ino = 2;
	e.attr_timeout = e.entry_timeout = 3600;
	fill(fuse_req_userdata(req), 2, &e.attr);
	fuse_reply_entry(req, &e);
}

static void pt_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	fill(fuse_req_userdata(req), ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void pt_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != 2) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	fi->keep_cache = 1;
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		struct pt *pt = fuse_req_userdata(req);

		if (!pt->writable) {
			fuse_reply_err(req, EROFS);
			return;
		}
		if (pt->replies.parallel_writes) {
			fi->direct_io = 1;
			xvafs_reply_mark(REPLY_OPEN_PARALLEL_WRITES);
		}
	}
	fuse_reply_open(req, fi);
}

static void pt_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct pt *pt = fuse_req_userdata(req);
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

	(void)ino;
	(void)fi;
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY;
	bv.buf[0].fd = pt->fd;
	bv.buf[0].pos = off + pt->shift;
	fuse_reply_data(req, &bv, 0);
}

static void pt_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct pt *pt = fuse_req_userdata(req);
	ssize_t n = pwrite(pt->fd, buf, size, off + pt->shift);

	(void)ino;
	(void)fi;
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

static void pt_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct pt *pt = fuse_req_userdata(req);

	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, fdatasync(pt->fd) == 0 ? 0 : errno);
}

static const struct fuse_lowlevel_ops ops = {
	.init = pt_init,
	.lookup = pt_lookup,
	.getattr = pt_getattr,
	.open = pt_open,
	.read = pt_read,
	.write = pt_write,
	.fsync = pt_fsync,
};

int main(int argc, char **argv)
{
	char *fuse_argv[] = { argv[0], (char *)"-o", (char *)"ro,fsname=passthrough" };
	struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
	struct fuse_session *se;
	struct fuse_loop_config *cfg;
	struct pt pt = { 0 };
	int ret;

	if (argc > 1 && strcmp(argv[1], "-w") == 0) {
		pt.writable = true;
		fuse_argv[2] = (char *)"rw,fsname=passthrough";
		argv++;
		argc--;
	}
	if (argc != 3 && argc != 4) {
		fputs("usage: passthrough [-w] FILE MOUNTPOINT [SHIFT]\n", stderr);
		return 2;
	}
	pt.shift = argc == 4 ? atoll(argv[3]) : 0;
	pt.fd = open(argv[1], pt.writable ? O_RDWR : O_RDONLY);
	if (pt.fd < 0 || fstat(pt.fd, &pt.st) < 0) {
		perror(argv[1]);
		return 1;
	}
	se = fuse_session_new(&args, &ops, sizeof(ops), &pt);
	if (!se || fuse_session_mount(se, argv[2]) != 0)
		return 1;
	if (pt.writable && xvafs_fs_attach_session(&pt.replies, se) != 0) {
		perror("passthrough: custom replies");
		return 1;
	}
	cfg = fuse_loop_cfg_create();
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	fuse_session_unmount(se);
	fuse_session_destroy(se);
	return ret ? 1 : 0;
}
