#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "xvafs/overlay.h"
#include "io.h"

#define MAP_MAGIC "XVAFSOV1"
#define MAP_VERSION 1u
#define MAP_HEADER 4096u
#define PREFIX_MAX 256

/* The map file's first block. */
struct map_header {
	char magic[8];
	uint32_t version;
	uint32_t block;
	uint64_t disk_size;
	uint64_t export_size;
	uint64_t ova_hash; /* XXH64 of ova.xml's text; 0 without one */
	char prefix[PREFIX_MAX];
};

struct ovl_disk {
	const struct xva_disk *disk;
	int data_fd, map_fd;
	uint32_t block;
	uint64_t n_blocks;
	unsigned char *bitmap;    /* bit B: the overlay holds block B */
	size_t dirty_lo, dirty_hi; /* bitmap bytes not yet on disk: [lo, hi) */
	uint64_t held;            /* blocks held */
	pthread_mutex_t lock;     /* writes and syncs */
};

struct xva_overlay {
	const struct xva *xva;
	struct ovl_disk *disks;
	size_t n_disks;
};

static bool held(const struct ovl_disk *d, uint64_t b)
{
	return __atomic_load_n(&d->bitmap[b >> 3], __ATOMIC_ACQUIRE) &
	       (1u << (b & 7));
}

/* Marks block B held; called with the lock, after its data is written. */
static void hold(struct ovl_disk *d, uint64_t b)
{
	size_t byte = (size_t)(b >> 3);

	if (held(d, b))
		return;
	__atomic_fetch_or(&d->bitmap[byte], (unsigned char)(1u << (b & 7)),
			  __ATOMIC_RELEASE);
	d->held++;
	if (d->dirty_lo >= d->dirty_hi) {
		d->dirty_lo = byte;
		d->dirty_hi = byte + 1;
	} else {
		d->dirty_lo = byte < d->dirty_lo ? byte : d->dirty_lo;
		d->dirty_hi = byte + 1 > d->dirty_hi ? byte + 1 : d->dirty_hi;
	}
}

static enum xva_ovl_status io_error(struct xva_err *err, const char *what,
				    const struct ovl_disk *d)
{
	int e = errno;

	/* errno 0: a read found the file ending early (writes that stop
	 * short say ENOSPC themselves). */
	xva_err_set(err, "overlay of disk %s: %s: %s", d->disk->prefix, what,
		    e ? strerror(e) : "the file is shorter than the disk");
	return e == ENOSPC || e == EDQUOT ? XVA_OVL_ENOSPC : XVA_OVL_EIO;
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

static enum xva_ovl_status open_disk(const struct xva *xva, const char *dir,
				     struct ovl_disk *d, uint32_t block,
				     uint64_t hash, struct xva_err *err)
{
	struct map_header want, have;
	char *data_path = file_path(dir, d->disk->prefix, "data");
	char *map_path = file_path(dir, d->disk->prefix, "map");
	enum xva_ovl_status status = XVA_OVL_EOPEN;
	size_t bitmap_len;
	struct stat st;

	if (!data_path || !map_path) {
		status = XVA_OVL_ENOMEM;
		goto out;
	}
	memset(&want, 0, sizeof(want));
	memcpy(want.magic, MAP_MAGIC, 8);
	want.version = MAP_VERSION;
	want.block = block;
	want.disk_size = d->disk->size;
	want.export_size = (uint64_t)xva->st.st_size;
	want.ova_hash = hash;
	snprintf(want.prefix, sizeof(want.prefix), "%s", d->disk->prefix);

	d->map_fd = open(map_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			 0600);
	if (d->map_fd < 0 || fstat(d->map_fd, &st) < 0) {
		xva_err_set(err, "cannot open %s: %s", map_path, strerror(errno));
		goto out;
	}
	if (st.st_size == 0) {
		char header[MAP_HEADER] = { 0 };

		memcpy(header, &want, sizeof(want));
		if (xva_pwrite_full(d->map_fd, header, sizeof(header), 0) < 0 ||
		    fsync(d->map_fd) < 0) {
			status = io_error(err, "cannot write its map", d);
			goto out;
		}
		have = want;
	} else if (pread(d->map_fd, &have, sizeof(have), 0) != sizeof(have) ||
		   memcmp(have.magic, MAP_MAGIC, 8) != 0 ||
		   have.version != MAP_VERSION || have.block < XVA_OVL_BLOCK_MIN ||
		   have.block > XVA_OVL_BLOCK_MAX ||
		   (have.block & (have.block - 1)) != 0) {
		xva_err_set(err, "%s is not an xvafs overlay map", map_path);
		status = XVA_OVL_EDAMAGED;
		goto out;
	}
	have.prefix[PREFIX_MAX - 1] = '\0';
	if (strcmp(have.prefix, want.prefix) != 0 ||
	    have.disk_size != want.disk_size ||
	    have.export_size != want.export_size ||
	    have.ova_hash != want.ova_hash) {
		xva_err_set(err, "the overlay %s was made for another export or "
			    "disk (disk %s of %llu bytes in a %llu-byte export), "
			    "not disk %s of %llu bytes in this %llu-byte export; "
			    "refusing it", map_path, have.prefix,
			    (unsigned long long)have.disk_size,
			    (unsigned long long)have.export_size, want.prefix,
			    (unsigned long long)want.disk_size,
			    (unsigned long long)want.export_size);
		status = XVA_OVL_EMISMATCH;
		goto out;
	}
	d->block = have.block;
	d->n_blocks = (d->disk->size + d->block - 1) / d->block;
	bitmap_len = (size_t)((d->n_blocks + 7) / 8);
	d->bitmap = calloc(bitmap_len ? bitmap_len : 1, 1);
	if (!d->bitmap) {
		status = XVA_OVL_ENOMEM;
		goto out;
	}
	/* The map's space is taken now (a new map grows to its full size,
	 * zeros), so that a full file system can fail data writes but never
	 * the map's. */
	errno = posix_fallocate(d->map_fd, 0, (off_t)(MAP_HEADER + bitmap_len));
	if (errno != 0) {
		status = io_error(err, "cannot reserve space for its map", d);
		goto out;
	}
	if (xva_pread_full(d->map_fd, d->bitmap, bitmap_len, MAP_HEADER) < 0) {
		status = io_error(err, "cannot read its map", d);
		goto out;
	}
	for (uint64_t b = 0; b < d->n_blocks; b++)
		d->held += held(d, b) ? 1 : 0;
	d->data_fd = open(data_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			  0600);
	if (d->data_fd < 0 || fstat(d->data_fd, &st) < 0) {
		xva_err_set(err, "cannot open %s: %s", data_path, strerror(errno));
		goto out;
	}
	if ((uint64_t)st.st_size < d->disk->size &&
	    ftruncate(d->data_fd, (off_t)d->disk->size) < 0) {
		status = io_error(err, "cannot size its data file", d);
		goto out;
	}
	status = XVA_OVL_OK;
out:
	if (status == XVA_OVL_ENOMEM)
		xva_err_set(err, "out of memory");
	free(data_path);
	free(map_path);
	return status;
}

enum xva_ovl_status xva_overlay_open(const struct xva *xva, const char *dir,
				     uint32_t block, struct xva_overlay **out,
				     struct xva_err *err)
{
	struct xva_overlay *ovl;
	enum xva_ovl_status st = XVA_OVL_OK;
	uint64_t hash = ova_hash(xva);

	*out = NULL;
	if (!block)
		block = XVA_OVL_BLOCK_DEFAULT;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		xva_err_set(err, "cannot create the overlay folder %s: %s", dir,
			    strerror(errno));
		return XVA_OVL_EOPEN;
	}
	ovl = calloc(1, sizeof(*ovl));
	if (!ovl || !(ovl->disks = calloc(xva->map.n_disks + 1,
					  sizeof(*ovl->disks)))) {
		free(ovl);
		xva_err_set(err, "out of memory");
		return XVA_OVL_ENOMEM;
	}
	ovl->xva = xva;
	for (size_t i = 0; i < xva->map.n_disks && st == XVA_OVL_OK; i++) {
		struct ovl_disk *d = &ovl->disks[i];

		d->disk = &xva->map.disks[i];
		d->data_fd = d->map_fd = -1;
		pthread_mutex_init(&d->lock, NULL);
		ovl->n_disks++;
		st = open_disk(xva, dir, d, block, hash, err);
	}
	if (st != XVA_OVL_OK) {
		struct xva_err ignored;

		xva_overlay_close(ovl, &ignored);
		return st;
	}
	*out = ovl;
	return XVA_OVL_OK;
}

enum xva_ovl_status xva_overlay_sync(struct xva_overlay *ovl, size_t disk,
				     struct xva_err *err)
{
	struct ovl_disk *d = &ovl->disks[disk];
	enum xva_ovl_status st = XVA_OVL_OK;

	pthread_mutex_lock(&d->lock);
	/* The data first: a bit may reach the disk only after its block. */
	if (fdatasync(d->data_fd) < 0) {
		st = io_error(err, "cannot sync its data", d);
	} else if (d->dirty_lo < d->dirty_hi) {
		if (xva_pwrite_full(d->map_fd, d->bitmap + d->dirty_lo,
				 d->dirty_hi - d->dirty_lo,
				 MAP_HEADER + d->dirty_lo) < 0 ||
		    fdatasync(d->map_fd) < 0)
			st = io_error(err, "cannot write its map", d);
		else
			d->dirty_lo = d->dirty_hi = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return st;
}

enum xva_ovl_status xva_overlay_close(struct xva_overlay *ovl,
				      struct xva_err *err)
{
	enum xva_ovl_status status = XVA_OVL_OK;

	if (!ovl)
		return XVA_OVL_OK;
	for (size_t i = 0; i < ovl->n_disks; i++) {
		struct ovl_disk *d = &ovl->disks[i];

		if (d->data_fd >= 0 && d->map_fd >= 0 && d->bitmap) {
			enum xva_ovl_status st = xva_overlay_sync(ovl, i, err);

			if (status == XVA_OVL_OK)
				status = st;
		}
		if (d->data_fd >= 0)
			close(d->data_fd);
		if (d->map_fd >= 0)
			close(d->map_fd);
		free(d->bitmap);
		pthread_mutex_destroy(&d->lock);
	}
	free(ovl->disks);
	free(ovl);
	return status;
}

static enum xva_ovl_status lower_error(enum xva_status st)
{
	return st == XVA_ENOMEM ? XVA_OVL_ENOMEM : XVA_OVL_ELOWER;
}

enum xva_ovl_status xva_overlay_read(struct xva_overlay *ovl, size_t disk,
				     void *buf, size_t len, uint64_t off,
				     size_t *done, struct xva_err *err)
{
	struct ovl_disk *d = &ovl->disks[disk];
	char *out = buf;
	uint64_t pos, end;

	*done = 0;
	if (off >= d->disk->size)
		return XVA_OVL_OK;
	if (len > d->disk->size - off)
		len = (size_t)(d->disk->size - off);
	end = off + len;
	/* Runs of blocks from the same layer, in one read each. */
	for (pos = off; pos < end; ) {
		uint64_t b = pos / d->block, stop = (b + 1) * d->block;
		bool from_overlay = held(d, b);
		size_t n;

		while (stop < end && held(d, stop / d->block) == from_overlay)
			stop += d->block;
		if (stop > end)
			stop = end;
		if (from_overlay) {
			if (xva_pread_full(d->data_fd, out, (size_t)(stop - pos), pos) < 0)
				return io_error(err, "cannot read its data", d);
		} else {
			enum xva_status st = xva_read(ovl->xva, d->disk, out,
						      (size_t)(stop - pos), pos,
						      &n, err);
			if (st != XVA_OK)
				return lower_error(st);
		}
		out += stop - pos;
		pos = stop;
	}
	*done = len;
	return XVA_OVL_OK;
}

/* Writes BUF (LEN bytes at OFF, inside block B) into a block the overlay
 * does not hold yet: the rest of the block comes from the export. With
 * BUF NULL, writes zeros. Called with the lock. */
static enum xva_ovl_status copy_up(struct xva_overlay *ovl, struct ovl_disk *d,
				   uint64_t b, const void *buf, size_t len,
				   uint64_t off, struct xva_err *err)
{
	uint64_t start = b * d->block;
	size_t block_len = (size_t)(d->disk->size - start < d->block
					    ? d->disk->size - start : d->block);
	enum xva_ovl_status st = XVA_OVL_OK;
	char *scratch = malloc(block_len);
	size_t n;

	if (!scratch) {
		xva_err_set(err, "out of memory");
		return XVA_OVL_ENOMEM;
	}
	if (len < block_len) {
		enum xva_status lst = xva_read(ovl->xva, d->disk, scratch,
					       block_len, start, &n, err);
		if (lst != XVA_OK) {
			free(scratch);
			return lower_error(lst);
		}
	}
	if (buf)
		memcpy(scratch + (off - start), buf, len);
	else
		memset(scratch + (off - start), 0, len);
	if (xva_pwrite_full(d->data_fd, scratch, block_len, start) < 0)
		st = io_error(err, "cannot write its data", d);
	else
		hold(d, b);
	free(scratch);
	return st;
}

/* The write (BUF) or zeroing (BUF NULL) of LEN bytes at OFF. */
static enum xva_ovl_status change(struct xva_overlay *ovl, size_t disk,
				  const void *buf, uint64_t len, uint64_t off,
				  struct xva_err *err)
{
	struct ovl_disk *d = &ovl->disks[disk];
	enum xva_ovl_status st = XVA_OVL_OK;
	const char *in = buf;
	uint64_t pos, end;

	if (off >= d->disk->size || len > d->disk->size - off) {
		errno = ENOSPC;
		return io_error(err, "a write past the end of the disk", d);
	}
	end = off + len;
	pthread_mutex_lock(&d->lock);
	for (pos = off; pos < end && st == XVA_OVL_OK; ) {
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
		} else if (fallocate(d->data_fd, FALLOC_FL_PUNCH_HOLE |
				     FALLOC_FL_KEEP_SIZE, (off_t)pos,
				     (off_t)(stop - pos)) < 0) {
			/* No punch-hole there: write the zeros. */
			static const char zeros[65536];

			for (uint64_t p = pos; p < stop && st == XVA_OVL_OK; ) {
				size_t n = stop - p < sizeof(zeros)
						   ? (size_t)(stop - p) : sizeof(zeros);

				if (xva_pwrite_full(d->data_fd, zeros, n, p) < 0)
					st = io_error(err, "cannot write its data", d);
				p += n;
			}
		}
		/* A failed write marks nothing: those blocks still read from
		 * wherever they did before. */
		for (uint64_t hb = b; st == XVA_OVL_OK && hb * d->block < stop; hb++)
			hold(d, hb);
		pos = stop;
	}
	pthread_mutex_unlock(&d->lock);
	return st;
}

enum xva_ovl_status xva_overlay_write(struct xva_overlay *ovl, size_t disk,
				      const void *buf, size_t len,
				      uint64_t off, struct xva_err *err)
{
	return change(ovl, disk, buf, len, off, err);
}

enum xva_ovl_status xva_overlay_zero(struct xva_overlay *ovl, size_t disk,
				     uint64_t len, uint64_t off,
				     struct xva_err *err)
{
	return change(ovl, disk, NULL, len, off, err);
}

uint64_t xva_overlay_bytes(const struct xva_overlay *ovl, size_t disk)
{
	return ovl->disks[disk].held * ovl->disks[disk].block;
}

int xva_overlay_seek(struct xva_overlay *ovl, size_t disk, uint64_t off,
		     bool want_data, uint64_t *out)
{
	struct ovl_disk *d = &ovl->disks[disk];
	const struct xva_disk *lower = d->disk;
	uint64_t pos = off, to;

	if (off >= lower->size)
		return -1;
	if (d->held == 0)
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
