/* xvafs --export-disk: one disk, with an overlay's changes, as a sparse
 * raw file (or onto a block device, or to standard output), so that a
 * migration can leave xvafs behind.
 *
 * A file is written under a temporary name beside the target and renamed
 * only once it is whole and durable: a failed or interrupted run leaves
 * no partial file where the target should be, and an existing file is
 * replaced only with --force. Only the data is written to a file; its
 * holes stay holes. A block device (--force) and standard output get
 * every byte, zeros included. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/io.h"
#include "cli/tools.h"
#include "front/guestview.h"
#include "front/warnings.h"
#include "xvafs/atomicfile.h"
#include "xvafs/view.h"

#define COPY_SIZE (1u << 20)

enum target_kind { TARGET_FILE, TARGET_DEVICE, TARGET_STDOUT };

struct target {
	enum target_kind kind;
	const char *name; /* for messages */
	int fd;
	char *tmp_path;   /* TARGET_FILE: written here, renamed at the end */
	uint64_t pos;     /* TARGET_STDOUT: bytes written so far */
};

struct export {
	const struct xva *xva;
	struct xva_overlay *ovl;
	const char *what;      /* "disk", "partition" or "LV" */
	struct xva_view *view; /* what is exported, with the overlay's
				  changes */
	/* A partition or LV: every disk's view, and the guest view over
	 * them that VIEW is made from. */
	struct xva_view **disks;
	struct xvafs_guest *guest;
	struct xva_stream stream; /* read-ahead for the copy */
	char *buf;
};

static enum xva_status read_disk(struct export *x, void *buf, size_t len,
				 uint64_t off, struct xva_err *err)
{
	size_t done = 0;
	enum xva_status st;

	xva_view_note_read(x->view, &x->stream, off, len);
	st = xva_view_read(x->view, buf, len, off, 0, &done, err);
	if (st == XVA_OK && done != len)
		st = xva_fail(err, XVA_EIO, "disk %s: short read at byte %llu",
			      x->view->name, (unsigned long long)off);
	return st;
}

/* Writes LEN bytes at OFF of the disk to T; -1 with errno on failure. */
static int put(struct target *t, const void *buf, size_t len, uint64_t off)
{
	if (t->kind != TARGET_STDOUT)
		return xva_pwrite_full(t->fd, buf, len, off);
	for (size_t done = 0; done < len; ) {
		ssize_t n = write(t->fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	t->pos += len;
	return 0;
}

/* Disk bytes [FROM, TO) are a hole: a file keeps it as one; a device and
 * a stream need the zeros. */
static int put_hole(struct target *t, const char *zeros, uint64_t from,
		    uint64_t to)
{
	if (t->kind == TARGET_FILE || from >= to)
		return 0;
	if (t->kind == TARGET_DEVICE) {
		uint64_t range[2] = { from, to - from };

		if (fallocate(t->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
			      (off_t)from, (off_t)(to - from)) == 0 ||
		    ioctl(t->fd, BLKZEROOUT, range) == 0)
			return 0;
	}
	for (uint64_t pos = from; pos < to; ) {
		size_t n = to - pos < COPY_SIZE ? (size_t)(to - pos) : COPY_SIZE;

		if (put(t, zeros, n, pos) < 0)
			return -1;
		pos += n;
	}
	return 0;
}

static int seek_disk(struct export *x, uint64_t off, bool data, uint64_t *to)
{
	return xva_view_seek(x->view, off, data, to);
}

/* Whether the file at ST is the export's own file. */
static bool is_export(const struct xva *xva, const struct stat *st)
{
	return xva_is_export_file(xva, st->st_dev, st->st_ino);
}

static int open_device(struct target *t, const char *out, uint64_t need)
{
	uint64_t size = 0;

	t->kind = TARGET_DEVICE;
	/* O_EXCL on a block device: not while it is mounted or in use. */
	t->fd = open(out, O_WRONLY | O_CLOEXEC | O_EXCL);
	if (t->fd < 0 || ioctl(t->fd, BLKGETSIZE64, &size) < 0) {
		fprintf(stderr, "xvafs: %s: %s\n", out, strerror(errno));
		return XVAFS_EXIT_OUTPUT;
	}
	if (size < need) {
		fprintf(stderr, "xvafs: %s: the device holds %llu bytes, fewer "
			"than the disk's %llu\n", out, (unsigned long long)size,
			(unsigned long long)need);
		return XVAFS_EXIT_OUTPUT;
	}
	return XVAFS_EXIT_OK;
}

/* A new temporary file beside OUT, with the modes a new file gets. */
static int open_file(struct target *t, const char *out, uint64_t size)
{
	struct xva_err err;
	mode_t mask;

	t->kind = TARGET_FILE;
	if (xva_atomic_file_create(out, &t->tmp_path, &t->fd, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s\n", err.msg);
		return XVAFS_EXIT_OUTPUT;
	}
	mask = umask(0);
	umask(mask);
	if (fchmod(t->fd, 0666 & ~mask) < 0 || ftruncate(t->fd, (off_t)size) < 0) {
		fprintf(stderr, "xvafs: %s: %s\n", t->tmp_path, strerror(errno));
		return XVAFS_EXIT_OUTPUT;
	}
	return XVAFS_EXIT_OK;
}

/* The target: standard output, a block device (with --force), or a new
 * file that replaces OUT (an existing one only with --force). */
static int open_target(const struct xva *xva, uint64_t size,
		       const struct xvafs_export_options *o, struct target *t)
{
	struct stat st;

	memset(t, 0, sizeof(*t));
	t->name = o->out;
	t->fd = -1;
	if (strcmp(o->out, "-") == 0) {
		if (isatty(STDOUT_FILENO)) {
			fprintf(stderr, "xvafs: standard output is a terminal; "
				"redirect it to a file or a pipe\n");
			return XVAFS_EXIT_USAGE;
		}
		t->kind = TARGET_STDOUT;
		t->name = "standard output";
		t->fd = STDOUT_FILENO;
		return XVAFS_EXIT_OK;
	}
	if (stat(o->out, &st) != 0)
		return open_file(t, o->out, size);
	if (is_export(xva, &st)) {
		fprintf(stderr, "xvafs: %s: that is the export itself\n", o->out);
		return XVAFS_EXIT_USAGE;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		fprintf(stderr, "xvafs: %s: neither a file nor a block device\n",
			o->out);
		return XVAFS_EXIT_USAGE;
	}
	if (!o->force) {
		fprintf(stderr, "xvafs: %s exists; give --force to %s it\n",
			o->out, S_ISBLK(st.st_mode) ? "overwrite" : "replace");
		return XVAFS_EXIT_USAGE;
	}
	return S_ISBLK(st.st_mode) ? open_device(t, o->out, size)
				   : open_file(t, o->out, size);
}

/* Makes the output durable and, for a file, puts it in place. */
static int finish_target(struct target *t, const char *out)
{
	struct xva_err err;

	if (t->kind == TARGET_STDOUT)
		return XVAFS_EXIT_OK;
	if (t->kind == TARGET_DEVICE) {
		if (fsync(t->fd) < 0) {
			fprintf(stderr, "xvafs: %s: %s\n", out, strerror(errno));
			return XVAFS_EXIT_OUTPUT;
		}
		return XVAFS_EXIT_OK;
	}
	if (xva_atomic_file_commit(t->fd, t->tmp_path, out, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s\n", err.msg);
		return XVAFS_EXIT_OUTPUT;
	}
	free(t->tmp_path);
	t->tmp_path = NULL;
	return XVAFS_EXIT_OK;
}

static void close_target(struct target *t)
{
	if (t->fd >= 0 && t->kind != TARGET_STDOUT)
		close(t->fd);
	if (t->tmp_path) {
		unlink(t->tmp_path);
		free(t->tmp_path);
	}
}

/* Copies the data between the holes, in order. */
static int copy_disk(const char *path, struct export *x, struct target *t,
		     const char *zeros, uint64_t *written)
{
	uint64_t size = xva_view_size(x->view);
	struct xvafs_progress p;
	uint64_t pos = 0, data, hole;
	struct xva_err err;
	int status = XVAFS_EXIT_OK;

	xvafs_progress_start(&p, "exporting", size);
	while (pos < size && status == XVAFS_EXIT_OK) {
		if (seek_disk(x, pos, true, &data) != 0)
			data = size; /* only holes left */
		if (data < size && seek_disk(x, data, false, &hole) != 0)
			hole = size;
		if (data >= size)
			hole = size;
		if (put_hole(t, zeros, pos, data) < 0)
			goto write_failed;
		for (pos = data; pos < hole; ) {
			size_t n = hole - pos < COPY_SIZE ? (size_t)(hole - pos)
							  : COPY_SIZE;

			if (xvafs_interrupted)
				return xvafs_exit_for(XVA_EINTR, XVAFS_AT_EXPORT);
			if (read_disk(x, x->buf, n, pos, &err) != XVA_OK) {
				xvafs_progress_end(&p);
				fprintf(stderr, "xvafs: %s: %s\n", path, err.msg);
				return XVAFS_EXIT_DAMAGED;
			}
			if (put(t, x->buf, n, pos) < 0)
				goto write_failed;
			pos += n;
			*written += n;
			xvafs_progress_update(&p, pos);
		}
		pos = hole;
	}
	xvafs_progress_end(&p);
	return status;
write_failed:
	xvafs_progress_end(&p);
	fprintf(stderr, "xvafs: %s: cannot write: %s\n",
		t->tmp_path ? t->tmp_path : t->name, strerror(errno));
	return XVAFS_EXIT_OUTPUT;
}

static void say_warning(void *ctx, const char *message)
{
	fprintf(stderr, "xvafs: %s: %s\n", (const char *)ctx, message);
}

/* X->view: partition or LV NAME, found by a scan of every disk (what is
 * odd inside them said as the mount says it). */
static int open_item(const char *path, struct export *x, const char *name)
{
	const struct xva *xva = x->xva;
	const struct xvafs_guest_item *it;
	struct xva_err err;

	x->disks = calloc(xva->map.n_disks ? xva->map.n_disks : 1,
			  sizeof(*x->disks));
	if (!x->disks) {
		fprintf(stderr, "xvafs: out of memory\n");
		return XVAFS_EXIT_OUTPUT;
	}
	for (size_t i = 0; i < xva->map.n_disks; i++)
		if (xva_view_open(xva, x->ovl, i, false, &x->disks[i], &err) !=
		    XVA_OK) {
			fprintf(stderr, "xvafs: %s\n", err.msg);
			return XVAFS_EXIT_OUTPUT;
		}
	if (xvafs_guest_scan(xva, x->disks, &x->guest, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s: %s\n", path, err.msg);
		return XVAFS_EXIT_OUTPUT;
	}
	xvafs_guest_warnings(xva, x->guest, say_warning, (void *)path);
	it = xvafs_guest_find(x->guest, name);
	if (!it) {
		fprintf(stderr, "xvafs: %s: no disk %s in the export: name it by "
			"prefix, guest device or label, or name a partition "
			"(Ref:12p1, xvda1) or an LV (lvm/VG/LV), as xvafs --list "
			"shows\n", path, name);
		return XVAFS_EXIT_USAGE;
	}
	x->what = it->kind == XVAFS_ITEM_PART ? "partition" : "LV";
	if (xvafs_guest_item_view(x->guest, it, NULL, false, &x->view, &err) !=
	    XVA_OK) {
		fprintf(stderr, "xvafs: %s\n", err.msg);
		return XVAFS_EXIT_OUTPUT;
	}
	return XVAFS_EXIT_OK;
}

/* X->view: disk NAME, or a partition or LV named so. */
static int open_source(const char *path, struct export *x, const char *name)
{
	const struct xva_disk *disk = xva_find_disk(x->xva, name);
	struct xva_err err;

	if (!disk)
		return open_item(path, x, name);
	x->what = "disk";
	if (xva_view_open(x->xva, x->ovl, xva_disk_index(x->xva, disk), false,
			  &x->view, &err) != XVA_OK) {
		fprintf(stderr, "xvafs: %s\n", err.msg);
		return XVAFS_EXIT_OUTPUT;
	}
	return XVAFS_EXIT_OK;
}

static void close_source(struct export *x)
{
	/* The views over the guest's devices, the guest, then the disks. */
	xva_view_close(x->view);
	xvafs_guest_free(x->guest);
	for (size_t i = 0; x->disks && i < x->xva->map.n_disks; i++)
		xva_view_close(x->disks[i]);
	free(x->disks);
}

int xvafs_export_disk(const char *path, struct xva *xva,
		      const struct xvafs_export_options *o)
{
	struct export x = { .xva = xva };
	struct target t = { .fd = -1 };
	char *zeros = NULL;
	uint64_t written = 0;
	struct xva_err err;
	int status;

	xva_stream_init(&x.stream, XVA_READAHEAD_DEFAULT);
	if (o->overlay_dir) {
		enum xva_status st = xva_overlay_open(xva, o->overlay_dir,
						      XVA_OVL_READ, 0, NULL,
						      &x.ovl, &err);

		if (st != XVA_OK) {
			fprintf(stderr, "xvafs: %s: %s\n", o->overlay_dir, err.msg);
			status = xvafs_exit_for(st, XVAFS_AT_OVERLAY);
			goto out;
		}
	}
	status = open_source(path, &x, o->disk);
	if (status != XVAFS_EXIT_OK)
		goto out;
	x.buf = malloc(COPY_SIZE);
	zeros = calloc(1, COPY_SIZE);
	if (!x.buf || !zeros) {
		fprintf(stderr, "xvafs: out of memory\n");
		status = XVAFS_EXIT_OUTPUT;
		goto out;
	}
	status = open_target(xva, xva_view_size(x.view), o, &t);
	if (status == XVAFS_EXIT_OK)
		status = copy_disk(path, &x, &t, zeros, &written);
	if (status == XVAFS_EXIT_OK)
		status = finish_target(&t, o->out);
	if (status == XVAFS_EXIT_OK)
		fprintf(t.kind == TARGET_STDOUT ? stderr : stdout,
			"xvafs: wrote %s %s (%llu bytes, %llu of them data) "
			"to %s\n", x.what, x.view->name,
			(unsigned long long)xva_view_size(x.view),
			(unsigned long long)written, t.name);
	else if (status > 128)
		fprintf(stderr, "xvafs: interrupted; %s was not written\n",
			o->out);
out:
	close_target(&t);
	free(zeros);
	free(x.buf);
	close_source(&x);
	if (x.ovl)
		xva_overlay_close(x.ovl, &err);
	xva_stream_destroy(&x.stream);
	return status;
}
