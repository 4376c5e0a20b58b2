/* crashrec: an LD_PRELOAD shim that records what a process writes to files
 * under one folder, and when it syncs them, so that a test can rebuild the
 * files as a power cut at any moment could have left them
 * (tests/e2e/crashstates.py).
 *
 *   CRASHREC_DIR=/abs/overlay CRASHREC_LOG=/abs/log LD_PRELOAD=crashrec.so CMD
 *
 * One line per event in LOG, in the order the events happened (each write
 * is made and logged under one lock, so the order in the log is the order
 * on the files); the bytes written go to LOG.data. Names are relative to
 * the folder ("." is the folder itself). Lines:
 *   create NAME              open(O_CREAT) made the file
 *   trunc NAME SIZE          O_TRUNC, ftruncate, truncate
 *   write NAME OFF LEN DOFF  LEN bytes at OFF, saved at DOFF in LOG.data
 *   falloc NAME MODE OFF LEN fallocate (posix_fallocate: MODE 0)
 *   sync NAME KIND SEQ       KIND (fsync, fdatasync, range, syncfs, sync)
 *                            succeeded; it began when SEQ lines were logged,
 *                            so it covers those lines and no later one
 *   rename OLD NEW, unlink NAME
 * Only calls that succeeded are logged (a short write: what it wrote).
 * The process's other files are not looked at. */
#undef _FILE_OFFSET_BITS
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 65536

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char dir[PATH_MAX];
static size_t dir_len;
static int log_fd = -1, data_fd = -1;
static uint64_t seq, data_off;
static char *names[MAX_FD]; /* the recorded name of each watched fd */

#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (!real_##name) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static ssize_t raw_write(int fd, const void *buf, size_t len)
{
	REAL(write);
	size_t done = 0;

	while (done < len) {
		ssize_t n = real_write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* The recorder cannot go on without its log: a test that silently missed
 * events would pass for the wrong reason. */
static void broken(const char *what)
{
	static const char msg[] = "crashrec: cannot write the log\n";

	(void)what;
	(void)!raw_write(2, msg, sizeof(msg) - 1);
	abort();
}

__attribute__((constructor)) static void init(void)
{
	const char *d = getenv("CRASHREC_DIR"), *l = getenv("CRASHREC_LOG");
	char data[PATH_MAX + 8];
	REAL(open);

	if (!d || !l || d[0] != '/' || strlen(d) >= sizeof(dir))
		return;
	strcpy(dir, d);
	dir_len = strlen(dir);
	while (dir_len > 1 && dir[dir_len - 1] == '/')
		dir[--dir_len] = '\0';
	snprintf(data, sizeof(data), "%s.data", l);
	log_fd = real_open(l, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	data_fd = real_open(data, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (log_fd < 0 || data_fd < 0)
		broken("open");
}

/* NAME relative to the folder, or NULL when PATH is not in it. Only
 * absolute paths and paths relative to the working folder are resolved:
 * enough for a daemon given an absolute overlay folder. */
static const char *inside(int dirfd, const char *path, char *buf, size_t len)
{
	if (log_fd < 0 || !path)
		return NULL;
	if (path[0] != '/') {
		char cwd[PATH_MAX];

		if (dirfd != AT_FDCWD || !getcwd(cwd, sizeof(cwd)))
			return NULL;
		if ((size_t)snprintf(buf, len, "%s/%s", cwd, path) >= len)
			return NULL;
		path = buf;
	}
	if (strncmp(path, dir, dir_len) != 0)
		return NULL;
	if (path[dir_len] == '\0')
		return ".";
	if (path[dir_len] != '/' || !path[dir_len + 1])
		return NULL;
	return path + dir_len + 1;
}

static const char *watched(int fd)
{
	return fd >= 0 && fd < MAX_FD ? names[fd] : NULL;
}

/* Appends one line; called with the lock held. */
__attribute__((format(printf, 1, 2)))
static void log_line(const char *fmt, ...)
{
	char line[PATH_MAX * 2 + 128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		broken("line");
	line[n++] = '\n';
	if (raw_write(log_fd, line, (size_t)n) < 0)
		broken("log");
	seq++;
}

static void log_data(const char *name, uint64_t off, const void *buf,
		     size_t len)
{
	if (raw_write(data_fd, buf, len) < 0)
		broken("data");
	log_line("write %s %llu %zu %llu", name, (unsigned long long)off, len,
		 (unsigned long long)data_off);
	data_off += len;
}

/* --- opening and closing --- */

/* The real open or openat: exactly one of the two is given. */
struct opener {
	int (*open)(const char *, int, ...);
	int (*openat)(int, const char *, int, ...);
};

static int opened(int dirfd, const char *path, int flags, mode_t mode,
		  struct opener real)
{
	char buf[PATH_MAX * 2];
	const char *name = inside(dirfd, path, buf, sizeof(buf));
	struct stat sb;
	bool existed;
	int fd;

	if (!name)
		return real.open ? real.open(path, flags, mode)
				 : real.openat(dirfd, path, flags, mode);
	pthread_mutex_lock(&lock);
	existed = fstatat(dirfd, path, &sb, 0) == 0;
	fd = real.open ? real.open(path, flags, mode)
		       : real.openat(dirfd, path, flags, mode);
	if (fd >= 0) {
		if ((flags & O_CREAT) && !existed)
			log_line("create %s", name);
		else if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
			log_line("trunc %s 0", name);
		if (fd < MAX_FD) {
			free(names[fd]);
			names[fd] = strdup(name);
		}
	}
	pthread_mutex_unlock(&lock);
	return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

#define OPENAT(fn)                                                      \
	int fn(int dirfd, const char *path, int flags, ...)               \
	{                                                               \
		REAL(fn);                                               \
		struct opener o = { NULL, real_##fn };                  \
		va_list ap;                                             \
		mode_t mode;                                            \
		va_start(ap, flags);                                    \
		mode = mode_arg(flags, ap);                             \
		va_end(ap);                                             \
		return opened(dirfd, path, flags, mode, o);             \
	}
OPENAT(openat)
OPENAT(openat64)

#define OPEN(fn)                                                        \
	int fn(const char *path, int flags, ...)                         \
	{                                                               \
		REAL(fn);                                               \
		struct opener o = { real_##fn, NULL };                  \
		va_list ap;                                             \
		mode_t mode;                                            \
		va_start(ap, flags);                                    \
		mode = mode_arg(flags, ap);                             \
		va_end(ap);                                             \
		return opened(AT_FDCWD, path, flags, mode, o);          \
	}
OPEN(open)
OPEN(open64)

int creat(const char *path, mode_t mode)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int close(int fd)
{
	REAL(close);

	if (watched(fd)) {
		pthread_mutex_lock(&lock);
		free(names[fd]);
		names[fd] = NULL;
		pthread_mutex_unlock(&lock);
	}
	return real_close(fd);
}

/* --- writing --- */

#define PWRITE(fn, off_type)                                            \
	ssize_t fn(int fd, const void *buf, size_t len, off_type off)     \
	{                                                               \
		REAL(fn);                                               \
		ssize_t n;                                              \
		if (!watched(fd))                                       \
			return real_##fn(fd, buf, len, off);            \
		pthread_mutex_lock(&lock);                              \
		n = real_##fn(fd, buf, len, off);                       \
		if (n > 0 && watched(fd))                               \
			log_data(names[fd], (uint64_t)off, buf, (size_t)n); \
		pthread_mutex_unlock(&lock);                            \
		return n;                                               \
	}
PWRITE(pwrite, off_t)
PWRITE(pwrite64, off64_t)

/* The bytes of an iovec, gathered; NULL when out of memory. */
static char *gather(const struct iovec *iov, int cnt, size_t n)
{
	char *buf = malloc(n ? n : 1);
	size_t done = 0;

	for (int i = 0; buf && i < cnt && done < n; i++) {
		size_t k = iov[i].iov_len < n - done ? iov[i].iov_len : n - done;

		memcpy(buf + done, iov[i].iov_base, k);
		done += k;
	}
	return buf;
}

#define PWRITEV(fn, off_type)                                           \
	ssize_t fn(int fd, const struct iovec *iov, int cnt, off_type off) \
	{                                                               \
		REAL(fn);                                               \
		ssize_t n;                                              \
		if (!watched(fd))                                       \
			return real_##fn(fd, iov, cnt, off);            \
		pthread_mutex_lock(&lock);                              \
		n = real_##fn(fd, iov, cnt, off);                       \
		if (n > 0 && watched(fd)) {                             \
			char *b = gather(iov, cnt, (size_t)n);          \
			if (!b)                                         \
				broken("memory");                       \
			log_data(names[fd], (uint64_t)off, b, (size_t)n); \
			free(b);                                        \
		}                                                       \
		pthread_mutex_unlock(&lock);                            \
		return n;                                               \
	}
PWRITEV(pwritev, off_t)
PWRITEV(pwritev64, off64_t)

ssize_t write(int fd, const void *buf, size_t len)
{
	REAL(write);
	ssize_t n;
	off_t at;

	if (!watched(fd))
		return real_write(fd, buf, len);
	pthread_mutex_lock(&lock);
	/* With O_APPEND the write lands at the end, wherever the offset is. */
	at = (fcntl(fd, F_GETFL) & O_APPEND) ? lseek(fd, 0, SEEK_END)
					       : lseek(fd, 0, SEEK_CUR);
	n = real_write(fd, buf, len);
	if (n > 0 && at >= 0)
		log_data(names[fd], (uint64_t)at, buf, (size_t)n);
	pthread_mutex_unlock(&lock);
	return n;
}

#define FTRUNCATE(fn, off_type)                                         \
	int fn(int fd, off_type size)                                     \
	{                                                               \
		REAL(fn);                                               \
		int r;                                                  \
		if (!watched(fd))                                       \
			return real_##fn(fd, size);                     \
		pthread_mutex_lock(&lock);                              \
		r = real_##fn(fd, size);                                \
		if (r == 0 && watched(fd))                              \
			log_line("trunc %s %lld", names[fd], (long long)size); \
		pthread_mutex_unlock(&lock);                            \
		return r;                                               \
	}
FTRUNCATE(ftruncate, off_t)
FTRUNCATE(ftruncate64, off64_t)

#define TRUNCATE(fn, off_type)                                          \
	int fn(const char *path, off_type size)                           \
	{                                                               \
		REAL(fn);                                               \
		char buf[PATH_MAX * 2];                                 \
		const char *name = inside(AT_FDCWD, path, buf, sizeof(buf)); \
		int r;                                                  \
		if (!name)                                              \
			return real_##fn(path, size);                   \
		pthread_mutex_lock(&lock);                              \
		r = real_##fn(path, size);                              \
		if (r == 0)                                             \
			log_line("trunc %s %lld", name, (long long)size); \
		pthread_mutex_unlock(&lock);                            \
		return r;                                               \
	}
TRUNCATE(truncate, off_t)
TRUNCATE(truncate64, off64_t)

#define FALLOCATE(fn, off_type)                                         \
	int fn(int fd, int mode, off_type off, off_type len)              \
	{                                                               \
		REAL(fn);                                               \
		int r;                                                  \
		if (!watched(fd))                                       \
			return real_##fn(fd, mode, off, len);           \
		pthread_mutex_lock(&lock);                              \
		r = real_##fn(fd, mode, off, len);                      \
		if (r == 0 && watched(fd))                              \
			log_line("falloc %s %d %lld %lld", names[fd], mode, \
				 (long long)off, (long long)len);       \
		pthread_mutex_unlock(&lock);                            \
		return r;                                               \
	}
FALLOCATE(fallocate, off_t)
FALLOCATE(fallocate64, off64_t)

/* glibc's posix_fallocate makes the system call itself: not through
 * fallocate above. It returns the error instead of setting errno. */
#define POSIX_FALLOCATE(fn, off_type)                                   \
	int fn(int fd, off_type off, off_type len)                        \
	{                                                               \
		REAL(fn);                                               \
		int r;                                                  \
		if (!watched(fd))                                       \
			return real_##fn(fd, off, len);                 \
		pthread_mutex_lock(&lock);                              \
		r = real_##fn(fd, off, len);                            \
		if (r == 0 && watched(fd))                              \
			log_line("falloc %s 0 %lld %lld", names[fd],    \
				 (long long)off, (long long)len);       \
		pthread_mutex_unlock(&lock);                            \
		return r;                                               \
	}
POSIX_FALLOCATE(posix_fallocate, off_t)
POSIX_FALLOCATE(posix_fallocate64, off64_t)

/* --- syncing --- */

static uint64_t now_seq(void)
{
	uint64_t s;

	pthread_mutex_lock(&lock);
	s = seq;
	pthread_mutex_unlock(&lock);
	return s;
}

/* Logs a sync of NAME that began at BEGIN, if it succeeded. The name is
 * copied at the start: the fd may be closed and reused meanwhile. */
static void synced(int r, const char *name, const char *kind, uint64_t begin)
{
	if (r != 0 || !name)
		return;
	pthread_mutex_lock(&lock);
	log_line("sync %s %s %llu", name, kind, (unsigned long long)begin);
	pthread_mutex_unlock(&lock);
}

static char *name_copy(int fd)
{
	char *n = NULL;

	pthread_mutex_lock(&lock);
	if (watched(fd))
		n = strdup(names[fd]);
	pthread_mutex_unlock(&lock);
	return n;
}

#define FSYNC(fn)                                                       \
	int fn(int fd)                                                    \
	{                                                               \
		REAL(fn);                                               \
		char *name = name_copy(fd);                             \
		uint64_t begin = now_seq();                             \
		int r = real_##fn(fd);                                  \
		synced(r, name, #fn, begin);                            \
		free(name);                                             \
		return r;                                               \
	}
FSYNC(fsync)
FSYNC(fdatasync)

int sync_file_range(int fd, off64_t off, off64_t len, unsigned int flags)
{
	REAL(sync_file_range);
	char *name = name_copy(fd);
	uint64_t begin = now_seq();
	int r = real_sync_file_range(fd, off, len, flags);

	/* Logged, but it promises nothing after a power cut (no metadata,
	 * no cache flush): the model keeps nothing for it. */
	synced(r, name, "range", begin);
	free(name);
	return r;
}

int syncfs(int fd)
{
	REAL(syncfs);
	uint64_t begin = now_seq();
	int r = real_syncfs(fd);

	/* Which file system does not matter here: the folder's is the only
	 * one recorded. */
	synced(r, log_fd >= 0 ? "." : NULL, "syncfs", begin);
	return r;
}

void sync(void)
{
	REAL(sync);
	uint64_t begin = now_seq();

	real_sync();
	synced(0, log_fd >= 0 ? "." : NULL, "sync", begin);
}

/* --- names --- */

static int renamed(int r, const char *from, const char *to)
{
	if (r == 0 && (from || to)) {
		pthread_mutex_lock(&lock);
		log_line("rename %s %s", from ? from : "-", to ? to : "-");
		pthread_mutex_unlock(&lock);
	}
	return r;
}

int rename(const char *old, const char *new)
{
	REAL(rename);
	char b1[PATH_MAX * 2], b2[PATH_MAX * 2];

	return renamed(real_rename(old, new), inside(AT_FDCWD, old, b1, sizeof(b1)),
		       inside(AT_FDCWD, new, b2, sizeof(b2)));
}

int renameat(int ofd, const char *old, int nfd, const char *new)
{
	REAL(renameat);
	char b1[PATH_MAX * 2], b2[PATH_MAX * 2];

	return renamed(real_renameat(ofd, old, nfd, new),
		       inside(ofd, old, b1, sizeof(b1)),
		       inside(nfd, new, b2, sizeof(b2)));
}

int renameat2(int ofd, const char *old, int nfd, const char *new,
	      unsigned int flags)
{
	REAL(renameat2);
	char b1[PATH_MAX * 2], b2[PATH_MAX * 2];

	return renamed(real_renameat2(ofd, old, nfd, new, flags),
		       inside(ofd, old, b1, sizeof(b1)),
		       inside(nfd, new, b2, sizeof(b2)));
}

static int unlinked(int r, const char *name)
{
	if (r == 0 && name) {
		pthread_mutex_lock(&lock);
		log_line("unlink %s", name);
		pthread_mutex_unlock(&lock);
	}
	return r;
}

int unlink(const char *path)
{
	REAL(unlink);
	char b[PATH_MAX * 2];

	return unlinked(real_unlink(path), inside(AT_FDCWD, path, b, sizeof(b)));
}

int unlinkat(int dfd, const char *path, int flags)
{
	REAL(unlinkat);
	char b[PATH_MAX * 2];

	return unlinked(real_unlinkat(dfd, path, flags),
			inside(dfd, path, b, sizeof(b)));
}
