/* The overlay: writes to the export's disks, block by block, in a data
 * file and a bitmap per disk.
 *
 * Lock order, per disk: a writer takes its stripes (in stripe order, see
 * lock_stripes), then map_lock in hold(); a sync takes sync_lock, then
 * map_lock. Stripes and sync_lock are never held together, and map_lock is
 * a leaf. The stripes are held across I/O: the copy-up reads the export
 * (so every lock of the source below it may be taken, and a remote source
 * waited for) and writes the data file. That is safe because nothing below
 * calls back into the overlay. Readers take no lock: they test the bitmap's
 * bits, which are set only after the block's data is written. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "source/source.h"
#include "xvafs/atomicfile.h"
#include "xvafs/overlay.h"
#include "base/io.h"

#define MAP_MAGIC "XVAFSOV1"
#define MAP_VERSION 2u     /* written: little-endian fields */
#define MAP_VERSION_NATIVE 1u /* read: the writer's byte order (before 2) */
#define MAP_HEADER 4096u
#define PREFIX_MAX 256
#define LOCK_NAME "lock"
/* Writers of blocks B and B + STRIPES share a lock; a write spanning
 * STRIPES blocks or more takes them all. */
#define STRIPES 64

/* The map file's first MAP_HEADER bytes, zeros past the fields:
 *   0  magic "XVAFSOV1"   8 bytes
 *   8  version            32 bits
 *  12  block size         32 bits
 *  16  disk size          64 bits
 *  24  export size        64 bits (the uncompressed tar)
 *  32  ova.xml hash       64 bits (XXH64 of its text; 0 without one)
 *  40  disk prefix        PREFIX_MAX bytes, NUL-terminated
 * Version 2 writes every number little-endian. Version 1 (development
 * snapshots up to commit 1204875) wrote the C struct below as the machine
 * laid it out: the same offsets, numbers in the writer's byte order, which
 * its version field tells (1, or 1 << 24 when read little-endian). The
 * bitmap follows at MAP_HEADER, bit B & 7 of byte B >> 3 for block B, in
 * both. */
#define MAP_FIELDS 296u

struct map_header {
	char magic[8];
	uint32_t version;
	uint32_t block;
	uint64_t disk_size;
	uint64_t export_size;
	uint64_t ova_hash; /* XXH64 of ova.xml's text; 0 without one */
	char prefix[PREFIX_MAX];
};
_Static_assert(sizeof(struct map_header) == MAP_FIELDS,
	       "version 1 maps hold this struct as the machine lays it out");

struct ovl_disk {
	const struct xva_disk *disk;
	int data_fd, map_fd;      /* -1 when reading a disk never written */
	uint32_t block;
	uint64_t n_blocks;
	unsigned char *bitmap;    /* bit B: the overlay holds block B */
	uint64_t held;            /* blocks held (atomic) */
	/* Guards the dirty range. A leaf: taken after a writer's stripes or
	 * sync_lock, held for no I/O. */
	pthread_mutex_t map_lock;
	size_t dirty_lo, dirty_hi; /* bitmap bytes not yet on disk: [lo, hi) */
	/* Changes (writes, zeroings) done so far, counted once each has
	 * written its data and set its bits (atomic; starts at 1 for a
	 * writer, so its first sync also covers what an earlier process left
	 * unsynced), and how many of them a sync has made durable (written
	 * under sync_lock, read atomically). A sync that finds nothing new
	 * returns at once; syncs that waited for one in progress return if it
	 * covered them, so concurrent syncs share one flush. */
	uint64_t changes, synced;
	/* One sync at a time: held across both fdatasyncs and the map's
	 * write, so that a second sync cannot report bits durable before the
	 * first has written them. Taken with no other lock; before map_lock. */
	pthread_mutex_t sync_lock;
	/* A block's writers: a copy-up writes the whole block, so a write
	 * beside it to the same block would be lost. Taken first (in stripe
	 * order), before map_lock and the source's locks; held across the
	 * copy-up's read of the export and the data file's writes. */
	pthread_mutex_t stripes[STRIPES];
};

struct xva_overlay {
	const struct xva *xva;
	enum xva_overlay_mode mode;
	int lock_fd;
	struct ovl_disk *disks;
	size_t n_disks;
};

bool xva_overlay_block_valid(uint32_t block)
{
	return block == 0 || (block >= XVA_OVL_BLOCK_MIN &&
			      block <= XVA_OVL_BLOCK_MAX &&
			      (block & (block - 1)) == 0);
}

static bool held(const struct ovl_disk *d, uint64_t b)
{
	return d->bitmap && (__atomic_load_n(&d->bitmap[b >> 3],
					     __ATOMIC_ACQUIRE) & (1u << (b & 7)));
}

/* Marks block B held, after its data is written. */
static void hold(struct ovl_disk *d, uint64_t b)
{
	size_t byte = (size_t)(b >> 3);
	unsigned char bit = (unsigned char)(1u << (b & 7));

	if (__atomic_fetch_or(&d->bitmap[byte], bit, __ATOMIC_RELEASE) & bit)
		return;
	__atomic_fetch_add(&d->held, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&d->map_lock);
	if (d->dirty_lo >= d->dirty_hi) {
		d->dirty_lo = byte;
		d->dirty_hi = byte + 1;
	} else {
		d->dirty_lo = byte < d->dirty_lo ? byte : d->dirty_lo;
		d->dirty_hi = byte + 1 > d->dirty_hi ? byte + 1 : d->dirty_hi;
	}
	pthread_mutex_unlock(&d->map_lock);
}

static enum xva_status io_error(struct xva_err *err, const char *what,
				const struct ovl_disk *d)
{
	int e = errno;

	/* errno 0: a read found the file ending early (writes that stop
	 * short say ENOSPC themselves). */
	return xva_fail(err, e == ENOSPC || e == EDQUOT ? XVA_ENOSPC : XVA_EIO,
			"overlay of disk %s: %s: %s", d->disk->prefix, what,
			e ? strerror(e) : "the file is shorter than the disk");
}

static uint64_t ova_hash(const struct xva *xva)
{
	uint64_t h = 0;
	char *buf;
	size_t done;
	struct xva_err err;

	if (!xva->ova || !xva->idx.ova_len)
		return 0;
	buf = malloc(xva->idx.ova_len);
	if (buf && xva_read_ova(xva, buf, xva->idx.ova_len, 0, &done, &err) ==
		   XVA_OK)
		h = XXH64(buf, done, 0);
	free(buf);
	return h;
}

/* PREFIX.data and PREFIX.map, or a hash of the prefix when it is too long
 * to be part of a file name. */
static char *file_path(const char *dir, const char *prefix, const char *ext)
{
	char *path;
	int r;

	if (strlen(prefix) > 200)
		r = asprintf(&path, "%s/%016llx.%s", dir,
			     (unsigned long long)XXH64(prefix, strlen(prefix), 0),
			     ext);
	else
		r = asprintf(&path, "%s/%s.%s", dir, prefix, ext);
	return r < 0 ? NULL : path;
}

/* --- the lock --- */

static void write_holder(int fd, const char *holder)
{
	char line[600];
	int n = snprintf(line, sizeof(line), "pid %ld, %s\n", (long)getpid(),
			 holder ? holder : "xvafs");

	if (ftruncate(fd, 0) == 0 && n > 0)
		(void)!pwrite(fd, line, (size_t)n < sizeof(line) ? (size_t)n
							 : sizeof(line) - 1, 0);
}

void xva_overlay_set_holder(struct xva_overlay *ovl, const char *holder)
{
	if (ovl->mode == XVA_OVL_WRITE && ovl->lock_fd >= 0)
		write_holder(ovl->lock_fd, holder);
}

/* One writer, or any number of readers: flock on DIR/lock, which the
 * kernel drops when the last descriptor of its open file description
 * goes (the process dies, daemonized or not). The writer writes who it is
 * into the file for the next one to be told. */
static enum xva_status take_lock(struct xva_overlay *ovl, const char *dir,
				 const char *holder, struct xva_err *err)
{
	bool writing = ovl->mode == XVA_OVL_WRITE;
	char *path, line[600] = "";
	ssize_t n;
	int fd;

	if (asprintf(&path, "%s/%s", dir, LOCK_NAME) < 0)
		return xva_nomem(err);
	fd = open(path, (writing ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC |
		  O_NOFOLLOW, 0600);
	if (fd < 0) {
		enum xva_status st = XVA_OK;

		/* Reading an overlay no writer ever locked: nothing to share. */
		if (writing || errno != ENOENT)
			st = xva_fail(err, XVA_EOPEN, "cannot open %s: %s", path,
				      strerror(errno));
		free(path);
		return st;
	}
	if (flock(fd, (writing ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) {
		if (writing)
			write_holder(fd, holder);
		ovl->lock_fd = fd;
		free(path);
		return XVA_OK;
	}
	if (errno != EWOULDBLOCK) {
		enum xva_status st = xva_fail(err, XVA_EIO, "cannot lock %s: %s",
					      path, strerror(errno));
		close(fd);
		free(path);
		return st;
	}
	/* A writer holds it when not even a shared lock can be had. */
	if (writing && flock(fd, LOCK_SH | LOCK_NB) == 0) {
		close(fd);
		free(path);
		return xva_fail(err, XVA_EBUSY, "the overlay %s is being read by "
				"another process (xvafs --export-disk?); a writer "
				"must have it alone: try again when it is done",
				dir);
	}
	n = pread(fd, line, sizeof(line) - 1, 0);
	line[n > 0 ? n : 0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	close(fd);
	free(path);
	return xva_fail(err, XVA_EBUSY, "the overlay %s is in use by another "
			"xvafs (%s); one process at a time may use an overlay "
			"it writes to: stop that one first", dir,
			line[0] ? line : "its pid is unknown");
}

/* --- opening --- */

static void make_header(const struct xva *xva, const struct ovl_disk *d,
			uint32_t block, uint64_t hash, struct map_header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, MAP_MAGIC, 8);
	h->version = MAP_VERSION;
	h->block = block;
	h->disk_size = d->disk->size;
	h->export_size = xva->src->size;
	h->ova_hash = hash;
	snprintf(h->prefix, sizeof(h->prefix), "%s", d->disk->prefix);
}

/* Byte order of a version 1 map: its writer's. */
static uint64_t get_be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void encode_header(const struct map_header *h,
			  unsigned char out[MAP_HEADER])
{
	memset(out, 0, MAP_HEADER);
	memcpy(out, h->magic, 8);
	xva_put_le32(out + 8, MAP_VERSION);
	xva_put_le32(out + 12, h->block);
	xva_put_le64(out + 16, h->disk_size);
	xva_put_le64(out + 24, h->export_size);
	xva_put_le64(out + 32, h->ova_hash);
	memcpy(out + 40, h->prefix, PREFIX_MAX);
}

/* Decodes the fields of either version; false when P holds neither (the
 * magic or the version is not one of them). */
static bool decode_header(const unsigned char p[MAP_FIELDS],
			  struct map_header *h)
{
	uint32_t version = xva_get_le32(p + 8);
	bool big = false;

	if (memcmp(p, MAP_MAGIC, 8) != 0)
		return false;
	if (version == MAP_VERSION_NATIVE << 24)
		big = true; /* version 1 from a big-endian machine */
	else if (version != MAP_VERSION && version != MAP_VERSION_NATIVE)
		return false;
	memcpy(h->magic, p, 8);
	h->version = big ? MAP_VERSION_NATIVE : version;
	h->block = big ? (uint32_t)get_be(p + 12, 4) : xva_get_le32(p + 12);
	h->disk_size = big ? get_be(p + 16, 8) : xva_get_le64(p + 16);
	h->export_size = big ? get_be(p + 24, 8) : xva_get_le64(p + 24);
	h->ova_hash = big ? get_be(p + 32, 8) : xva_get_le64(p + 32);
	memcpy(h->prefix, p + 40, PREFIX_MAX);
	h->prefix[PREFIX_MAX - 1] = '\0';
	return true;
}

static enum xva_status check_header(const struct map_header *want,
				    const unsigned char raw[MAP_FIELDS],
				    struct map_header *have,
				    const char *map_path, struct xva_err *err)
{
	if (!decode_header(raw, have) || have->block == 0 ||
	    !xva_overlay_block_valid(have->block))
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVERLAY,
				    "%s is not an xvafs overlay map", map_path);
	if (strcmp(have->prefix, want->prefix) != 0 ||
	    have->disk_size != want->disk_size ||
	    have->export_size != want->export_size ||
	    have->ova_hash != want->ova_hash)
		return xva_fail(err, XVA_EMISMATCH, "the overlay %s was made for "
				"another export or disk (disk %s of %llu bytes in "
				"a %llu-byte export), not disk %s of %llu bytes in "
				"this %llu-byte export; refusing it", map_path,
				have->prefix, (unsigned long long)have->disk_size,
				(unsigned long long)have->export_size,
				want->prefix, (unsigned long long)want->disk_size,
				(unsigned long long)want->export_size);
	return XVA_OK;
}

static enum xva_status open_disk(struct xva_overlay *ovl, const char *dir,
				 struct ovl_disk *d, uint32_t block,
				 uint64_t hash, struct xva_err *err)
{
	bool writing = ovl->mode == XVA_OVL_WRITE;
	int flags = (writing ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC |
		    O_NOFOLLOW;
	char *data_path = file_path(dir, d->disk->prefix, "data");
	char *map_path = file_path(dir, d->disk->prefix, "map");
	struct map_header want, have;
	unsigned char raw[MAP_HEADER];
	enum xva_status st = XVA_EOPEN;
	size_t bitmap_len;
	struct stat sb;

	if (!data_path || !map_path) {
		st = xva_nomem(err);
		goto out;
	}
	make_header(ovl->xva, d, block, hash, &want);
	d->map_fd = open(map_path, flags, 0600);
	if (d->map_fd < 0 && !writing && errno == ENOENT) {
		st = XVA_OK; /* never written: nothing held */
		goto out;
	}
	if (d->map_fd < 0 || fstat(d->map_fd, &sb) < 0) {
		xva_fail(err, XVA_EOPEN, "cannot open %s: %s", map_path,
			 strerror(errno));
		goto out;
	}
	/* A writer cut off before its new map's header was durable: it
	 * never held a block. */
	if (sb.st_size == 0 && !writing) {
		close(d->map_fd);
		d->map_fd = -1;
		st = XVA_OK;
		goto out;
	}
	/* A new map is written in the current version; an existing one keeps
	 * its header as it is (only its bitmap is ever written). */
	if (sb.st_size == 0 && writing) {
		encode_header(&want, raw);
		if (xva_pwrite_full(d->map_fd, raw, MAP_HEADER, 0) < 0 ||
		    fsync(d->map_fd) < 0) {
			st = io_error(err, "cannot write its map", d);
			goto out;
		}
	} else if (xva_pread_full(d->map_fd, raw, MAP_FIELDS, 0) < 0) {
		st = xva_fail_why(err, XVA_EFORMAT, XVA_R_OVERLAY,
				  "%s is not an xvafs overlay map", map_path);
		goto out;
	}
	st = check_header(&want, raw, &have, map_path, err);
	if (st != XVA_OK)
		goto out;
	d->block = have.block;
	d->n_blocks = (d->disk->size + d->block - 1) / d->block;
	bitmap_len = (size_t)((d->n_blocks + 7) / 8);
	d->bitmap = calloc(bitmap_len ? bitmap_len : 1, 1);
	if (!d->bitmap) {
		st = xva_nomem(err);
		goto out;
	}
	/* The map's space is taken now (a new map grows to its full size,
	 * zeros), so that a full file system can fail data writes but never
	 * the map's. */
	if (writing) {
		errno = posix_fallocate(d->map_fd, 0,
					(off_t)(MAP_HEADER + bitmap_len));
		if (errno != 0) {
			st = io_error(err, "cannot reserve space for its map", d);
			goto out;
		}
	}
	/* A reader may find a map shorter than its disk (a writer cut off
	 * before the space it reserved was durable): the bits past its end
	 * were never written, so no block there is held. */
	if (xva_pread_full(d->map_fd, d->bitmap, bitmap_len, MAP_HEADER) < 0 &&
	    (writing || errno != 0)) {
		st = io_error(err, "cannot read its map", d);
		goto out;
	}
	for (uint64_t b = 0; b < d->n_blocks; b++)
		d->held += held(d, b) ? 1 : 0;
	d->data_fd = open(data_path, flags, 0600);
	if (d->data_fd < 0 && !writing && errno == ENOENT && d->held == 0) {
		st = XVA_OK; /* cut off before making it: nothing to read */
		goto out;
	}
	if (d->data_fd < 0 || fstat(d->data_fd, &sb) < 0) {
		st = xva_fail(err, XVA_EOPEN, "cannot open %s: %s", data_path,
			      strerror(errno));
		goto out;
	}
	if (writing && (uint64_t)sb.st_size < d->disk->size &&
	    ftruncate(d->data_fd, (off_t)d->disk->size) < 0) {
		st = io_error(err, "cannot size its data file", d);
		goto out;
	}
	st = XVA_OK;
out:
	free(data_path);
	free(map_path);
	return st;
}

static void init_disk(struct ovl_disk *d, const struct xva_disk *disk)
{
	d->disk = disk;
	d->data_fd = d->map_fd = -1;
	d->changes = 1; /* see struct ovl_disk */
	pthread_mutex_init(&d->map_lock, NULL);
	pthread_mutex_init(&d->sync_lock, NULL);
	for (size_t s = 0; s < STRIPES; s++)
		pthread_mutex_init(&d->stripes[s], NULL);
}

static bool any_map(const struct xva_overlay *ovl)
{
	for (size_t i = 0; i < ovl->n_disks; i++)
		if (ovl->disks[i].map_fd >= 0)
			return true;
	return false;
}

enum xva_status xva_overlay_open(const struct xva *xva, const char *dir,
				 enum xva_overlay_mode mode, uint32_t block,
				 const char *holder, struct xva_overlay **out,
				 struct xva_err *err)
{
	struct xva_overlay *ovl;
	enum xva_status st = XVA_OK;
	struct stat sb;
	uint64_t hash;

	*out = NULL;
	if (!xva_overlay_block_valid(block))
		return xva_fail(err, XVA_EINVAL, "overlay_block=%u: the block "
				"size must be a power of two from %u to %u", block,
				XVA_OVL_BLOCK_MIN, XVA_OVL_BLOCK_MAX);
	if (!block)
		block = XVA_OVL_BLOCK_DEFAULT;
	if (mode == XVA_OVL_WRITE && mkdir(dir, 0700) == 0) {
		/* The new folder's own name must survive a power cut, as the
		 * files made in it do (below). */
		st = xva_sync_parent_folder(dir, err);
		if (st != XVA_OK)
			return st;
	} else if (mode == XVA_OVL_WRITE && errno != EEXIST) {
		return xva_fail(err, XVA_EOPEN, "cannot create the overlay folder "
				"%s: %s", dir, strerror(errno));
	}
	/* A mistyped folder read as an overlay would silently give the
	 * export's bytes without the user's changes. */
	if (stat(dir, &sb) < 0)
		return xva_fail(err, XVA_EOPEN, "no overlay folder %s: %s", dir,
				strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return xva_fail(err, XVA_EOPEN, "%s is not a folder: an overlay "
				"is a folder", dir);
	ovl = calloc(1, sizeof(*ovl));
	if (!ovl || !(ovl->disks = calloc(xva->map.n_disks + 1,
					  sizeof(*ovl->disks)))) {
		free(ovl);
		return xva_nomem(err);
	}
	ovl->xva = xva;
	ovl->mode = mode;
	ovl->lock_fd = -1;
	st = take_lock(ovl, dir, holder, err);
	hash = st == XVA_OK ? ova_hash(xva) : 0;
	for (size_t i = 0; i < xva->map.n_disks && st == XVA_OK; i++) {
		init_disk(&ovl->disks[i], &xva->map.disks[i]);
		ovl->n_disks++;
		st = open_disk(ovl, dir, &ovl->disks[i], block, hash, err);
	}
	/* A new map or data file's name is durable only once its folder is
	 * synced: without this a power cut could lose the file, and with it
	 * every block later synced to it. */
	if (st == XVA_OK && mode == XVA_OVL_WRITE)
		st = xva_sync_folder(dir, err);
	/* Every writer leaves its lock file, and each disk written a map. */
	if (st == XVA_OK && mode == XVA_OVL_READ && ovl->lock_fd < 0 &&
	    !any_map(ovl))
		st = xva_fail(err, XVA_EOPEN, "%s holds no xvafs overlay (no "
			      "lock file and no disk map in it)", dir);
	if (st != XVA_OK) {
		xva_overlay_close(ovl, NULL);
		return st;
	}
	*out = ovl;
	return XVA_OK;
}

enum xva_status xva_overlay_sync(struct xva_overlay *ovl, size_t disk,
				 struct xva_err *err)
{
	struct ovl_disk *d = &ovl->disks[disk];
	enum xva_status st = XVA_OK;
	unsigned char *snapshot = NULL;
	uint64_t want, covers;
	size_t lo, hi;

	if (ovl->mode != XVA_OVL_WRITE || d->data_fd < 0)
		return XVA_OK;
	/* Every change that returned before this call. */
	want = __atomic_load_n(&d->changes, __ATOMIC_ACQUIRE);
	if (__atomic_load_n(&d->synced, __ATOMIC_ACQUIRE) >= want)
		return XVA_OK;
	pthread_mutex_lock(&d->sync_lock);
	if (__atomic_load_n(&d->synced, __ATOMIC_ACQUIRE) >= want) {
		/* The sync this one waited for covered it. */
		pthread_mutex_unlock(&d->sync_lock);
		return XVA_OK;
	}
	/* This sync covers every change done by now, the waiting syncs'
	 * too: their data is written and their bits set (before the count
	 * was bumped), so the snapshot below holds the bits. */
	covers = __atomic_load_n(&d->changes, __ATOMIC_ACQUIRE);
	/* The bits set so far: each was set after its data was written, so
	 * the fdatasync below makes all their data durable first. */
	pthread_mutex_lock(&d->map_lock);
	lo = d->dirty_lo;
	hi = d->dirty_hi;
	if (lo < hi && (snapshot = malloc(hi - lo))) {
		for (size_t i = lo; i < hi; i++)
			snapshot[i - lo] = __atomic_load_n(&d->bitmap[i],
							   __ATOMIC_ACQUIRE);
		d->dirty_lo = d->dirty_hi = 0;
	}
	pthread_mutex_unlock(&d->map_lock);
	if (lo < hi && !snapshot) {
		st = xva_nomem(err);
	} else if (fdatasync(d->data_fd) < 0) {
		st = io_error(err, "cannot sync its data", d);
	} else if (snapshot &&
		   (xva_pwrite_full(d->map_fd, snapshot, hi - lo, MAP_HEADER + lo) < 0 ||
		    fdatasync(d->map_fd) < 0)) {
		st = io_error(err, "cannot write its map", d);
	}
	if (st != XVA_OK && snapshot) {
		/* Those bits are still to be written. */
		pthread_mutex_lock(&d->map_lock);
		if (d->dirty_lo >= d->dirty_hi) {
			d->dirty_lo = lo;
			d->dirty_hi = hi;
		} else {
			d->dirty_lo = lo < d->dirty_lo ? lo : d->dirty_lo;
			d->dirty_hi = hi > d->dirty_hi ? hi : d->dirty_hi;
		}
		pthread_mutex_unlock(&d->map_lock);
	}
	if (st == XVA_OK)
		__atomic_store_n(&d->synced, covers, __ATOMIC_RELEASE);
	free(snapshot);
	pthread_mutex_unlock(&d->sync_lock);
	return st;
}

enum xva_status xva_overlay_close(struct xva_overlay *ovl, struct xva_err *err)
{
	enum xva_status status = XVA_OK;

	if (!ovl)
		return XVA_OK;
	for (size_t i = 0; i < ovl->n_disks; i++) {
		struct ovl_disk *d = &ovl->disks[i];

		if (d->data_fd >= 0 && d->map_fd >= 0 && d->bitmap) {
			enum xva_status st = xva_overlay_sync(ovl, i, err);

			if (status == XVA_OK)
				status = st;
		}
		if (d->data_fd >= 0)
			close(d->data_fd);
		if (d->map_fd >= 0)
			close(d->map_fd);
		free(d->bitmap);
		pthread_mutex_destroy(&d->map_lock);
		pthread_mutex_destroy(&d->sync_lock);
		for (size_t s = 0; s < STRIPES; s++)
			pthread_mutex_destroy(&d->stripes[s]);
	}
	/* Last: the lock goes only once the maps are durable. */
	if (ovl->lock_fd >= 0)
		close(ovl->lock_fd);
	free(ovl->disks);
	free(ovl);
	return status;
}

/* --- reading --- */

enum xva_status xva_overlay_read_segments(struct xva_overlay *ovl,
					  size_t disk, size_t len,
					  uint64_t off, xva_segment_fn fn,
					  void *ctx, size_t *done,
					  struct xva_err *err)
{
	struct ovl_disk *d = &ovl->disks[disk];
	enum xva_status st;
	uint64_t pos, end;

	*done = 0;
	if (__atomic_load_n(&d->held, __ATOMIC_RELAXED) == 0)
		return xva_read_segments(ovl->xva, d->disk, len, off, fn, ctx,
					 done, err);
	if (off >= d->disk->size)
		return XVA_OK;
	if (len > d->disk->size - off)
		len = (size_t)(d->disk->size - off);
	end = off + len;
	/* Runs of blocks from the same layer. */
	for (pos = off; pos < end; ) {
		uint64_t b = pos / d->block, stop = (b + 1) * d->block;
		bool from_overlay = held(d, b);

		while (stop < end && held(d, stop / d->block) == from_overlay)
			stop += d->block;
		if (stop > end)
			stop = end;
		if (from_overlay) {
			struct xva_segment seg = { pos, stop - pos, 0, d->data_fd,
						   false };

			st = fn(ctx, &seg, err);
		} else {
			size_t n;

			st = xva_read_segments(ovl->xva, d->disk,
					       (size_t)(stop - pos), pos, fn, ctx,
					       &n, err);
		}
		if (st != XVA_OK)
			return st;
		pos = stop;
	}
	*done = len;
	return XVA_OK;
}

enum xva_status xva_overlay_read(struct xva_overlay *ovl, size_t disk,
				 void *buf, size_t len, uint64_t off,
				 size_t *done, struct xva_err *err)
{
	struct xva_copy c = { ovl->xva, ovl->disks[disk].disk, buf, false };

	xva_err_clear(err);
	return xva_overlay_read_segments(ovl, disk, len, off, xva_copy_segment,
					 &c, done, err);
}

/* --- writing --- */

/* Locks (or unlocks) the stripes of blocks FIRST to LAST, in stripe
 * order, so that two writers never wait on each other in a circle. */
static void lock_stripes(struct ovl_disk *d, uint64_t first, uint64_t last,
			 bool lock)
{
	bool all = last - first + 1 >= STRIPES;

	for (uint64_t s = 0; s < STRIPES; s++) {
		uint64_t lo = first % STRIPES, hi = last % STRIPES;
		bool in = all || (lo <= hi ? s >= lo && s <= hi
					   : s >= lo || s <= hi);

		if (!in)
			continue;
		if (lock)
			pthread_mutex_lock(&d->stripes[s]);
		else
			pthread_mutex_unlock(&d->stripes[s]);
	}
}

/* Writes BUF (LEN bytes at OFF, inside block B) into a block the overlay
 * does not hold yet: the rest of the block comes from the export. With
 * BUF NULL, writes zeros. Called with the block's stripe locked. */
static enum xva_status copy_up(struct xva_overlay *ovl, struct ovl_disk *d,
			       uint64_t b, const void *buf, size_t len,
			       uint64_t off, struct xva_err *err)
{
	uint64_t start = b * d->block;
	size_t block_len = (size_t)(d->disk->size - start < d->block
					    ? d->disk->size - start : d->block);
	enum xva_status st = XVA_OK;
	char *scratch = malloc(block_len);
	size_t n;

	if (!scratch)
		return xva_nomem(err);
	if (len < block_len)
		st = xva_read(ovl->xva, d->disk, scratch, block_len, start, &n,
			      err);
	if (st == XVA_OK) {
		if (buf)
			memcpy(scratch + (off - start), buf, len);
		else
			memset(scratch + (off - start), 0, len);
		if (xva_pwrite_full(d->data_fd, scratch, block_len, start) < 0)
			st = io_error(err, "cannot write its data", d);
		else
			hold(d, b);
	}
	free(scratch);
	return st;
}

static enum xva_status write_zeros(struct ovl_disk *d, uint64_t pos,
				   uint64_t stop, struct xva_err *err)
{
	static const char zeros[65536];

	if (fallocate(d->data_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)pos, (off_t)(stop - pos)) == 0)
		return XVA_OK;
	/* No punch-hole there: write the zeros. */
	for (uint64_t p = pos; p < stop; ) {
		size_t n = stop - p < sizeof(zeros) ? (size_t)(stop - p)
						    : sizeof(zeros);

		if (xva_pwrite_full(d->data_fd, zeros, n, p) < 0)
			return io_error(err, "cannot write its data", d);
		p += n;
	}
	return XVA_OK;
}

/* The write (BUF) or zeroing (BUF NULL) of LEN bytes at OFF. */
static enum xva_status change(struct xva_overlay *ovl, size_t disk,
			      const void *buf, uint64_t len, uint64_t off,
			      struct xva_err *err)
{
	struct ovl_disk *d = &ovl->disks[disk];
	enum xva_status st = XVA_OK;
	const char *in = buf;
	uint64_t pos, end;

	if (ovl->mode != XVA_OVL_WRITE)
		return xva_fail(err, XVA_EACCESS, "overlay of disk %s: opened "
				"for reading", d->disk->prefix);
	if (off >= d->disk->size || len > d->disk->size - off) {
		errno = ENOSPC;
		return io_error(err, "a write past the end of the disk", d);
	}
	if (len == 0)
		return XVA_OK;
	end = off + len;
	lock_stripes(d, off / d->block, (end - 1) / d->block, true);
	for (pos = off; pos < end && st == XVA_OK; ) {
		uint64_t b = pos / d->block, start = b * d->block;
		uint64_t stop = start + d->block < end ? start + d->block : end;
		uint64_t block_end = start + d->block < d->disk->size
					     ? start + d->block : d->disk->size;
		bool whole = pos == start && stop == block_end;

		if (!held(d, b) && !whole) {
			st = copy_up(ovl, d, b, in ? in + (pos - off) : NULL,
				     (size_t)(stop - pos), pos, err);
			pos = stop;
			continue;
		}
		/* Blocks that need no copy-up go out in one call: the rest of
		 * this run of held or wholly covered blocks. */
		while (stop < end) {
			uint64_t nb = stop / d->block;
			uint64_t next = stop + d->block < end ? stop + d->block : end;
			uint64_t nb_end = stop + d->block < d->disk->size
						  ? stop + d->block : d->disk->size;

			if (!held(d, nb) && next != nb_end)
				break;
			stop = next;
		}
		if (in) {
			if (xva_pwrite_full(d->data_fd, in + (pos - off),
					 (size_t)(stop - pos), pos) < 0)
				st = io_error(err, "cannot write its data", d);
		} else {
			st = write_zeros(d, pos, stop, err);
		}
		/* A failed write marks nothing: those blocks still read from
		 * wherever they did before. */
		for (uint64_t hb = b; st == XVA_OK && hb * d->block < stop; hb++)
			hold(d, hb);
		pos = stop;
	}
	/* Counted even when it failed: what it wrote before failing is made
	 * durable by the next sync, as before. */
	__atomic_add_fetch(&d->changes, 1, __ATOMIC_RELEASE);
	lock_stripes(d, off / d->block, (end - 1) / d->block, false);
	return st;
}

enum xva_status xva_overlay_write(struct xva_overlay *ovl, size_t disk,
				  const void *buf, size_t len, uint64_t off,
				  struct xva_err *err)
{
	return change(ovl, disk, buf, len, off, err);
}

enum xva_status xva_overlay_zero(struct xva_overlay *ovl, size_t disk,
				 uint64_t len, uint64_t off,
				 struct xva_err *err)
{
	return change(ovl, disk, NULL, len, off, err);
}

uint64_t xva_overlay_bytes(const struct xva_overlay *ovl, size_t disk)
{
	return __atomic_load_n(&ovl->disks[disk].held, __ATOMIC_RELAXED) *
	       ovl->disks[disk].block;
}

int xva_overlay_seek(struct xva_overlay *ovl, size_t disk, uint64_t off,
		     bool want_data, uint64_t *out)
{
	struct ovl_disk *d = &ovl->disks[disk];
	const struct xva_disk *lower = d->disk;
	uint64_t pos = off, to;

	if (off >= lower->size)
		return -1;
	if (__atomic_load_n(&d->held, __ATOMIC_RELAXED) == 0)
		return xva_disk_seek(lower, off, want_data, out);
	if (want_data) {
		uint64_t best = UINT64_MAX;

		if (xva_disk_seek(lower, off, true, &to) == 0)
			best = to;
		for (uint64_t b = off / d->block; b < d->n_blocks; b++) {
			if (b * d->block >= best)
				break;
			if (held(d, b)) {
				uint64_t at = b * d->block > off ? b * d->block : off;

				best = at < best ? at : best;
				break;
			}
		}
		if (best == UINT64_MAX)
			return -1;
		*out = best;
		return 0;
	}
	/* A hole is where neither layer has data. */
	while (pos < lower->size) {
		uint64_t b = pos / d->block;

		if (held(d, b)) {
			pos = (b + 1) * d->block;
			continue;
		}
		if (xva_disk_seek(lower, pos, false, &to) != 0 || to >= lower->size)
			break;
		if (to == pos) {
			*out = pos;
			return 0;
		}
		pos = to;
	}
	*out = lower->size;
	return 0;
}
