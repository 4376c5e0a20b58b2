/* Parallel writes to one disk with the libfuse Debian 12 ships (3.14.0).
 *
 * The kernel holds a FUSE file's inode lock through the whole round trip
 * of each write, so the writers of one disk went one at a time whatever
 * the daemon did. A file opened for direct I/O with
 * FOPEN_PARALLEL_DIRECT_WRITES (Linux 6.2) takes that lock shared, while
 * no opener of the disk uses the page cache; FUSE_DIRECT_IO_ALLOW_MMAP
 * (INIT, protocol 7.39) keeps shared mmap of such files working. libfuse
 * 3.14.0 can ask for neither (fi->parallel_direct_writes came with
 * 3.14.1, FUSE_CAP_DIRECT_IO_ALLOW_MMAP with 3.17.1), but it writes every
 * reply through the session's I/O functions, which
 * fuse_session_custom_io() lets a file system supply. Ours pass
 * everything through and add the flag to the one reply that the handler
 * about to send it marked on its own thread. Once libfuse 3.17 is the
 * oldest supported, this file can go. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fuse/fs.h"

/* Linux 6.6 named it FUSE_DIRECT_IO_RELAX; Debian 12's headers predate
 * both. An INIT flag above bit 31, so it goes in flags2. */
#define ALLOW_MMAP_FLAGS2 (1u << (36 - 32))

/* Per thread: what to add to the next reply it writes. Made when the
 * session is attached, before any handler can mark. */
static pthread_key_t mark_key;

void xvafs_reply_mark(enum xvafs_reply_patch patch)
{
	pthread_setspecific(mark_key, (void *)(uintptr_t)patch);
}

/* The mark is for the next reply this thread writes, whatever it is: an
 * error reply in its place must not leave it for a later one. */
static enum xvafs_reply_patch take_mark(void)
{
	enum xvafs_reply_patch patch =
		(enum xvafs_reply_patch)(uintptr_t)pthread_getspecific(mark_key);

	if (patch != REPLY_AS_IS)
		pthread_setspecific(mark_key, NULL);
	return patch;
}

/* Writes REPLY (a header and one argument, as libfuse sends INIT and OPEN
 * replies) with ARG in place of its argument. */
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
	enum xvafs_reply_patch patch = take_mark();

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

/* Without these libfuse would stop splicing (it splices only when custom
 * I/O leaves it a way to). */
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

	int e = pthread_key_create(&mark_key, NULL);

	if (e != 0) {
		errno = e;
		return -1;
	}
	fs->se = se;
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}
