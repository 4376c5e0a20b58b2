/* Parallel writes to one disk, with the libfuse that Debian 12 ships.
 *
 * The kernel holds a FUSE file's inode lock through the whole round trip
 * of each buffered write, so the writers of one disk of a writable mount
 * went one at a time whatever the daemon did (bench/README.md, overlay).
 * Since Linux 6.9 (FUSE 7.40) a file opened for direct I/O with
 * FOPEN_PARALLEL_DIRECT_WRITES takes that lock shared, and
 * FUSE_DIRECT_IO_ALLOW_MMAP keeps shared mmap working on such files.
 * libfuse 3.14 can ask for neither (3.15 added fi->parallel_direct_writes,
 * 3.17 FUSE_CAP_DIRECT_IO_ALLOW_MMAP), but it writes every reply through
 * the session's I/O functions, which fuse_session_custom_io() lets us
 * supply. Ours pass everything through, and add the flag to the one reply
 * that the handler writing it marked beforehand on its own thread. Once
 * libfuse 3.17 is the oldest supported, this file can go. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs.h"

/* Linux 6.6's name was FUSE_DIRECT_IO_RELAX; Debian 12's headers predate
 * both. An INIT flag above bit 31, sent in flags2. */
#define ALLOW_MMAP_FLAGS2 (1u << (36 - 32))

void xvafs_reply_mark(struct xvafs_fs *fs, enum xvafs_reply_patch patch)
{
	pthread_setspecific(fs->reply_patch, (void *)(uintptr_t)patch);
}

static enum xvafs_reply_patch take_mark(struct xvafs_fs *fs)
{
	enum xvafs_reply_patch patch =
		(enum xvafs_reply_patch)(uintptr_t)pthread_getspecific(fs->reply_patch);

	if (patch != REPLY_AS_IS)
		pthread_setspecific(fs->reply_patch, NULL);
	return patch;
}

/* Writes REPLY (one header and one argument, as libfuse sends INIT and
 * OPEN replies) with ARG in place of its argument. */
static ssize_t write_patched(int fd, const struct iovec *reply, void *arg,
			     size_t len)
{
	struct iovec iov[2] = { reply[0], { arg, len } };

	return writev(fd, iov, 2);
}

static ssize_t replies_writev(int fd, struct iovec *iov, int count,
			      void *userdata)
{
	struct xvafs_fs *fs = userdata;
	/* The mark is for the next reply this thread writes, whatever it is:
	 * an error reply in its place must not leave it for a later one. */
	enum xvafs_reply_patch patch = take_mark(fs);

	if (patch == REPLY_INIT && count == 2 &&
	    iov[1].iov_len == sizeof(struct fuse_init_out)) {
		struct fuse_init_out init;

		memcpy(&init, iov[1].iov_base, sizeof(init));
		if (init.flags & FUSE_INIT_EXT) {
			init.flags2 |= ALLOW_MMAP_FLAGS2;
			/* Set before the kernel can send any OPEN. */
			fs->parallel_writes = true;
			return write_patched(fd, iov, &init, sizeof(init));
		}
	} else if (patch == REPLY_OPEN_PARALLEL_WRITES && count == 2 &&
		   iov[1].iov_len == sizeof(struct fuse_open_out)) {
		struct fuse_open_out open;

		memcpy(&open, iov[1].iov_base, sizeof(open));
		open.open_flags |= FOPEN_PARALLEL_DIRECT_WRITES;
		return write_patched(fd, iov, &open, sizeof(open));
	}
	return writev(fd, iov, count);
}

static ssize_t replies_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	return read(fd, buf, len);
}

/* Without these libfuse would stop splicing (it offers splice only when
 * custom I/O leaves it a way to do it). */
static ssize_t replies_splice(int fd_in, off_t *off_in, int fd_out,
			      off_t *off_out, size_t len, unsigned int flags,
			      void *userdata)
{
	(void)userdata;
	return splice(fd_in, off_in, fd_out, off_out, len, flags);
}

int xvafs_fs_attach_session(struct xvafs_fs *fs, struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.writev = replies_writev,
		.read = replies_read,
		.splice_receive = replies_splice,
		.splice_send = replies_splice,
	};

	(void)fs; /* it is the session's userdata, which io's calls get */
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}
