/* The plain local file: the tar's bytes are the file's, read with pread.
 * Its descriptor is exposed (src->fd) so the FUSE front end can splice
 * replies from the file's own pages, and a second, O_DIRECT descriptor
 * serves readers that bypass the page cache.
 *
 * Read-ahead hints (the policy's, xvafs/readahead.h, and the tar walk's)
 * are queued for a prefetcher thread of the source's own, started on the
 * first hint: the thread that serves a reader never gives the page cache
 * advice (posix_fadvise and readahead(2) allocate and insert the pages
 * and submit the I/O in the calling thread). The prefetcher asks the
 * device for each hinted range in pieces no longer than one call of
 * readahead(2) is allowed to start, and skips every piece the page cache
 * already holds (cachestat(2)), so cached chunks are never advised
 * again. The policy's probe is a one-byte read with RWF_NOWAIT: a read
 * misses when its bytes are not ready in the page cache. */
#include <errno.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/thread.h"
#include "source/source.h"

/* cachestat(2), Linux 6.5; the C library has no wrapper and Debian 12's
 * kernel headers do not know it. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
struct cachestat_range {
	uint64_t off;
	uint64_t len;
};
struct cachestat_counts {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

#define PAGE 4096u
/* Hints waiting for the prefetcher; one that finds the queue full is
 * dropped (a hint costs only speed when lost). */
#define QUEUE_MAX 256
/* A piece of which only part is cached is split in two until each part
 * is all cached or none of it, or one page. */
#define PIECE_MIN PAGE
/* The piece when the device says nothing: the kernel's default window. */
#define PIECE_DEFAULT (128u << 10)
/* The most one call asks for: readahead(2) works in 2 MiB steps anyway,
 * and a shorter call lets the next cachestat see what the reader has
 * taken meanwhile. */
#define PIECE_MAX (2u << 20)
/* The prefetcher ends after this long without a hint (the next starts
 * it again), so a process that is done reading keeps no thread of it. */
#define IDLE_EXIT_S 2

struct range {
	uint64_t off, len;
};

struct file_source {
	struct xva_source base;
	/* The prefetcher's own open file description of the file, with
	 * POSIX_FADV_SEQUENTIAL, and the bytes one readahead(2) call on it
	 * may start (the device's cap: longer calls are cut silently). */
	int ra_fd;
	uint64_t piece;
	int probe_fd;           /* the probes' description (see would_wait) */
	/* A leaf: held only to queue and take hints and to start the thread
	 * (joining one that ended, which takes it no more), never across
	 * I/O or a call into another layer. */
	pthread_mutex_t lock;
	pthread_cond_t wake;    /* a hint was queued, or STOPPING set */
	pthread_cond_t idle;    /* the queue ran empty with nothing fetched */
	pthread_t thread;
	bool joinable;          /* THREAD was started and not yet joined */
	bool running;           /* it has not yet returned */
	bool stopping;
	bool busy;              /* the thread is fetching a range */
	struct range queue[QUEUE_MAX];
	size_t head, count;
	uint64_t fetched_end;   /* the prefetcher's own: where its last range
				 * ended (page-aligned) */
	/* For tests (under LOCK): told of each range the prefetcher asks
	 * for. */
	void (*observe)(void *ctx, uint64_t off, uint64_t len);
	void *observe_ctx;
};

static struct file_source *fs_of(struct xva_source *src)
{
	return (struct file_source *)src;
}

static enum xva_status file_read(struct xva_source *src, void *buf,
				 size_t len, uint64_t off, size_t *got,
				 struct xva_err *err)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(src->fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return xva_fail(err, XVA_EIO, "cannot read %zu bytes at "
					"byte %llu: %s", len - done,
					(unsigned long long)(off + done),
					strerror(errno));
		if (n == 0)
			break; /* the end of the file */
		done += (size_t)n;
	}
	*got = done;
	return XVA_OK;
}

/* --- what the page cache holds --- */

/* Pages of [OFF, OFF + LEN) (page-aligned) in the page cache, or -1 when
 * the kernel cannot tell (before 6.5). Pages still being read count. */
static int64_t pages_cached(int fd, uint64_t off, uint64_t len)
{
	/* A kernel (or valgrind) without the call says so once; asking
	 * again on every piece would only repeat the refusal. */
	static atomic_bool unsupported;
	struct cachestat_range r = { off, len };
	struct cachestat_counts c;

	if (atomic_load_explicit(&unsupported, memory_order_relaxed))
		return -1;
	if (syscall(__NR_cachestat, fd, &r, &c, 0) != 0) {
		if (errno == ENOSYS)
			atomic_store_explicit(&unsupported, true,
					      memory_order_relaxed);
		return -1;
	}
	return (int64_t)c.nr_cache;
}

/* A read waits when its last byte is not in the page cache, or is there
 * but still being read. cachestat says whether the page is there; only
 * then does a read of one byte with RWF_NOWAIT say whether it is ready
 * (EAGAIN). The order matters: RWF_NOWAIT on a missing page still starts
 * reading it, and that lone page, in the middle of what the prefetcher
 * asks for next, split each of its requests into a dozen small ones
 * (4 KiB to 512 KiB) around it. The read is made on a description of its
 * own (POSIX_FADV_RANDOM), so the readers' readahead state stays theirs.
 * Without cachestat, RWF_NOWAIT alone answers; without either, every
 * read counts as a miss (read-ahead as before probes). */
static bool file_would_wait(struct xva_source *src, uint64_t off,
			    uint64_t len)
{
	struct file_source *fs = fs_of(src);
	uint64_t first = off & ~(uint64_t)(PAGE - 1);
	uint64_t pages = (off + len - first + PAGE - 1) / PAGE;
	uint64_t last_page = (off + len - 1) & ~(uint64_t)(PAGE - 1);
	char byte;
	struct iovec iov = { &byte, 1 };
	int64_t cached;

	if (len == 0 || off >= src->size)
		return false;
	if (pages_cached(src->fd, last_page, PAGE) == 0)
		return true;
	if (fs->probe_fd >= 0) {
		if (preadv2(fs->probe_fd, &iov, 1, (off_t)(off + len - 1),
			    RWF_NOWAIT) >= 0)
			return false;
		if (errno == EAGAIN)
			return true;
	}
	cached = pages_cached(src->fd, first, pages * PAGE);
	return cached < 0 || (uint64_t)cached < pages;
}

/* --- the prefetcher --- */

static void ask_device(struct file_source *fs, uint64_t off, uint64_t len)
{
	void (*observe)(void *ctx, uint64_t off, uint64_t len);
	void *ctx;

	pthread_mutex_lock(&fs->lock);
	observe = fs->observe;
	ctx = fs->observe_ctx;
	pthread_mutex_unlock(&fs->lock);
	if (observe)
		observe(ctx, off, len);
	/* Starts the reads and returns; a failure only means no read-ahead
	 * (the reader's own read reports real errors). */
	(void)readahead(fs->ra_fd, (off64_t)off, (size_t)len);
}

/* Pages to ask for, gathered into one readahead(2) call while they are
 * contiguous and within a piece. */
struct pending {
	uint64_t off, len;
};

static void pending_flush(struct file_source *fs, struct pending *p)
{
	if (p->len)
		ask_device(fs, p->off, p->len);
	p->len = 0;
}

static void pending_add(struct file_source *fs, struct pending *p,
			uint64_t off, uint64_t len)
{
	if (p->len && p->off + p->len == off && p->len + len <= fs->piece) {
		p->len += len;
		return;
	}
	pending_flush(fs, p);
	p->off = off;
	p->len = len;
}

/* Gathers the pages of [OFF, OFF + LEN) (page-aligned, at most a piece)
 * that the page cache lacks, halving a piece that holds some until each
 * half holds all or none. The halves around a cached page are asked for
 * together again: a lone cached page (the tar walk's read of a header
 * leaves one between every two chunks) costs a few cachestat calls, not
 * a dozen small requests to the device. */
static void fetch_piece(struct file_source *fs, struct pending *p,
			uint64_t off, uint64_t len)
{
	int64_t cached = pages_cached(fs->ra_fd, off, len);
	uint64_t half;

	if (cached >= 0 && (uint64_t)cached * PAGE >= len)
		return;
	if (cached > 0 && len > PIECE_MIN) {
		half = (len / 2 + PAGE - 1) & ~(uint64_t)(PAGE - 1);
		fetch_piece(fs, p, off, half);
		fetch_piece(fs, p, off + half, len - half);
		return;
	}
	pending_add(fs, p, off, len);
}

static void fetch_range(struct file_source *fs, uint64_t off, uint64_t len)
{
	uint64_t pos = off & ~(uint64_t)(PAGE - 1);
	uint64_t end = (off + len + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	struct pending p = { 0, 0 };

	/* A range that starts in the page the last one ended in (the next
	 * chunk, less than a page of headers after the one before) starts
	 * after it: that page was asked for already. */
	if (pos < fs->fetched_end && off >= fs->fetched_end - PAGE)
		pos = fs->fetched_end;
	if (end > ((fs->base.size + PAGE - 1) & ~(uint64_t)(PAGE - 1)))
		end = (fs->base.size + PAGE - 1) & ~(uint64_t)(PAGE - 1);
	if (end > pos)
		fs->fetched_end = end;
	while (pos < end) {
		uint64_t n = end - pos < fs->piece ? end - pos : fs->piece;

		fetch_piece(fs, &p, pos, n);
		pos += n;
	}
	pending_flush(fs, &p);
}

static void *prefetcher(void *arg)
{
	struct file_source *fs = arg;

	pthread_mutex_lock(&fs->lock);
	while (!fs->stopping) {
		struct range r;

		if (fs->count == 0) {
			struct timespec until;

			pthread_cond_broadcast(&fs->idle);
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += IDLE_EXIT_S;
			if (pthread_cond_timedwait(&fs->wake, &fs->lock, &until) ==
			    ETIMEDOUT && fs->count == 0)
				break;
			continue;
		}
		r = fs->queue[fs->head];
		fs->head = (fs->head + 1) % QUEUE_MAX;
		fs->count--;
		fs->busy = true;
		pthread_mutex_unlock(&fs->lock);
		fetch_range(fs, r.off, r.len);
		pthread_mutex_lock(&fs->lock);
		fs->busy = false;
	}
	fs->running = false;
	pthread_cond_broadcast(&fs->idle);
	pthread_mutex_unlock(&fs->lock);
	return NULL;
}

/* Under the lock: starts the prefetcher unless it runs. Without a thread
 * (none could be started) hints stay queued unfetched: read-ahead is
 * off, reads work as ever. */
static void start_prefetcher(struct file_source *fs)
{
	if (fs->running || fs->stopping)
		return;
	/* One that ended when idle has returned or is about to: it takes
	 * the lock no more. */
	if (fs->joinable)
		pthread_join(fs->thread, NULL);
	fs->joinable = fs->running =
		xva_thread_start(&fs->thread, prefetcher, fs) == 0;
}

/* Under the lock: queues [OFF, OFF + LEN), joined to the last hint when
 * it continues it, across a gap of less than a page (the tar's headers
 * between two chunks: asking for them costs nothing, and one range is
 * asked for in whole pieces). */
static void enqueue(struct file_source *fs, uint64_t off, uint64_t len)
{
	if (fs->count) {
		struct range *last = &fs->queue[(fs->head + fs->count - 1) %
						QUEUE_MAX];

		if (off >= last->off && off <= last->off + last->len + PAGE) {
			if (off + len > last->off + last->len)
				last->len = off + len - last->off;
			return;
		}
	}
	if (fs->count == QUEUE_MAX)
		return;
	fs->queue[(fs->head + fs->count) % QUEUE_MAX] = (struct range){ off, len };
	fs->count++;
}

static void file_prefetch(struct xva_source *src, uint64_t off, uint64_t len)
{
	struct file_source *fs = fs_of(src);

	if (fs->ra_fd < 0 || off >= src->size)
		return;
	pthread_mutex_lock(&fs->lock);
	enqueue(fs, off, len);
	start_prefetcher(fs);
	pthread_cond_signal(&fs->wake);
	pthread_mutex_unlock(&fs->lock);
}

/* Only the forking thread lives on in a child: the prefetcher is stopped
 * before a fork and started again after it. */
static void stop_prefetcher(struct file_source *fs)
{
	bool joinable;

	pthread_mutex_lock(&fs->lock);
	joinable = fs->joinable;
	fs->stopping = true;
	pthread_cond_signal(&fs->wake);
	pthread_mutex_unlock(&fs->lock);
	if (joinable)
		pthread_join(fs->thread, NULL);
	pthread_mutex_lock(&fs->lock);
	fs->joinable = false;
	pthread_mutex_unlock(&fs->lock);
}

static void file_before_fork(struct xva_source *src)
{
	stop_prefetcher(fs_of(src));
}

static void file_after_fork(struct xva_source *src)
{
	struct file_source *fs = fs_of(src);

	pthread_mutex_lock(&fs->lock);
	fs->stopping = false;
	if (fs->count)
		start_prefetcher(fs);
	pthread_mutex_unlock(&fs->lock);
}

void xva_source_file_observe(struct xva_source *src,
			     void (*fn)(void *ctx, uint64_t off, uint64_t len),
			     void *ctx)
{
	struct file_source *fs = fs_of(src);

	pthread_mutex_lock(&fs->lock);
	fs->observe = fn;
	fs->observe_ctx = ctx;
	pthread_mutex_unlock(&fs->lock);
}

void xva_source_file_drain(struct xva_source *src)
{
	struct file_source *fs = fs_of(src);

	pthread_mutex_lock(&fs->lock);
	while (fs->running && (fs->count || fs->busy))
		pthread_cond_wait(&fs->idle, &fs->lock);
	pthread_mutex_unlock(&fs->lock);
}

uint64_t xva_source_file_piece(const struct xva_source *src)
{
	return ((const struct file_source *)src)->piece;
}

/* A condition whose timed waits count on the monotonic clock. */
static void init_monotonic_cond(pthread_cond_t *cond)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &attr);
	pthread_condattr_destroy(&attr);
}

/* A number from a sysfs file, 0 when there is none. */
static unsigned long sysfs_number(const char *dir, const char *name)
{
	char path[160];
	unsigned long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* The bytes one readahead(2) call may start on FD: the larger of the
 * device's largest request and its readahead window (doubled by
 * POSIX_FADV_SEQUENTIAL), as the kernel cuts each call to it. */
static uint64_t device_piece(int fd)
{
	char dir[3][96];
	unsigned long ra_kb = 0, io_kb = 0;
	struct stat st;

	if (fstat(fd, &st) != 0)
		return PIECE_DEFAULT;
	/* A disk's queue; a partition's is its disk's; a file system
	 * without a device (NFS, FUSE) has a backing device of its own. */
	snprintf(dir[0], sizeof(dir[0]), "/sys/dev/block/%u:%u/queue",
		 major(st.st_dev), minor(st.st_dev));
	snprintf(dir[1], sizeof(dir[1]), "/sys/dev/block/%u:%u/../queue",
		 major(st.st_dev), minor(st.st_dev));
	snprintf(dir[2], sizeof(dir[2]), "/sys/class/bdi/%u:%u",
		 major(st.st_dev), minor(st.st_dev));
	for (int i = 0; i < 3 && !ra_kb; i++) {
		ra_kb = sysfs_number(dir[i], "read_ahead_kb");
		if (ra_kb && i < 2)
			io_kb = sysfs_number(dir[i], "max_sectors_kb");
	}
	if (2 * ra_kb > io_kb)
		io_kb = 2 * ra_kb;
	if (io_kb == 0)
		return PIECE_DEFAULT;
	return io_kb * 1024 > PIECE_MAX ? PIECE_MAX : io_kb * 1024;
}

static void file_info(const struct xva_source *src,
		      struct xva_source_info *info)
{
	info->kind = "file";
	info->stored_size = src->size;
}

static void file_close(struct xva_source *src)
{
	struct file_source *fs = fs_of(src);

	stop_prefetcher(fs);
	pthread_mutex_destroy(&fs->lock);
	pthread_cond_destroy(&fs->wake);
	pthread_cond_destroy(&fs->idle);
	if (fs->ra_fd >= 0)
		close(fs->ra_fd);
	if (fs->probe_fd >= 0)
		close(fs->probe_fd);
	if (src->fd >= 0)
		close(src->fd);
	if (src->direct_fd >= 0)
		close(src->direct_fd);
	xva_source_fini(src);
	free(src);
}

static const struct xva_source_ops file_ops = {
	.read = file_read,
	.prefetch = file_prefetch,
	.would_wait = file_would_wait,
	.info = file_info,
	.before_fork = file_before_fork,
	.after_fork = file_after_fork,
	.close = file_close,
};

enum xva_status xva_source_file_open(const char *path,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err)
{
	struct file_source *fs;
	struct xva_source *src;
	char identity[160], proc[64];
	struct stat st;
	enum xva_status status;
	int fd;

	(void)o;
	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return xva_fail(err, errno == EACCES ? XVA_EACCESS : XVA_EOPEN,
				"cannot open: %s", strerror(errno));
	if (fstat(fd, &st) < 0) {
		status = xva_fail(err, XVA_EIO, "cannot stat: %s", strerror(errno));
		close(fd);
		return status;
	}
	if (S_ISDIR(st.st_mode)) {
		/* A repository's root was looked for first: this is not one. */
		close(fd);
		return xva_fail(err, XVA_EOPEN, "a folder, and not a Xen "
				"Orchestra backup repository (it has no "
				"xo-vm-backups/): give a .xva file, or a "
				"repository's root");
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return xva_fail(err, XVA_EOPEN, "not a regular file");
	}
	/* The change time too: the modification time can be set back
	 * (touch -r) after the bytes changed, the change time cannot, and
	 * an encrypted backup's remembered authentication is keyed by this. */
	snprintf(identity, sizeof(identity),
		 "file:%llu:%llu:%llu:%lld.%09ld:%lld.%09ld",
		 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
		 (long)st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec,
		 (long)st.st_ctim.tv_nsec);
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		close(fd);
		return xva_nomem(err);
	}
	src = &fs->base;
	status = xva_source_init(src, &file_ops, path, identity, err);
	if (status != XVA_OK) {
		close(fd);
		free(fs);
		return status;
	}
	pthread_mutex_init(&fs->lock, NULL);
	init_monotonic_cond(&fs->wake);
	pthread_cond_init(&fs->idle, NULL);
	src->fd = fd;
	src->size = (uint64_t)st.st_size;
	src->skip_is_free = true;
	src->mtime = st.st_mtim;
	/* A new open file description of the very same file, whatever
	 * happened to its name since. Without one (tmpfs has no O_DIRECT),
	 * O_DIRECT readers are served through the page cache. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	src->direct_fd = open(proc, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (src->direct_fd < 0)
		src->direct_errno = errno;
	/* The prefetcher's own description, so its readahead state is apart
	 * from the readers'; without one (no /proc) hints are ignored. */
	fs->ra_fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fs->ra_fd >= 0) {
		posix_fadvise(fs->ra_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		fs->piece = device_piece(fs->ra_fd);
	}
	fs->probe_fd = open(proc, O_RDONLY | O_CLOEXEC);
	if (fs->probe_fd >= 0)
		posix_fadvise(fs->probe_fd, 0, 0, POSIX_FADV_RANDOM);
	/* Readers of an export mostly go forward (the walk, --verify, a
	 * disk's reader); a doubled window for the kernel's own readahead of
	 * the readers' description (as cat asks for its input) costs random
	 * readers nothing, as they never grow a window. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	*out = src;
	return XVA_OK;
}
