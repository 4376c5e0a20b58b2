#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xvafs/diskmap.h"

_Static_assert(sizeof(struct xva_extent) <= 32,
	       "the map must cost at most 32 bytes per present chunk");

/* Disk positions stay below 2^63 so they fit off_t everywhere. */
#define POS_LIMIT ((uint64_t)INT64_MAX)

void xva_map_init(struct xva_diskmap *map)
{
	memset(map, 0, sizeof(*map));
}

void xva_map_free(struct xva_diskmap *map)
{
	for (size_t i = 0; i < map->n_disks; i++) {
		free(map->disks[i].prefix);
		free(map->disks[i].extents);
		free(map->disks[i].keepalive_list);
		free(map->disks[i].bad_checksums);
	}
	free(map->disks);
	xva_map_init(map);
}

struct xva_disk *xva_map_find(const struct xva_diskmap *map, const char *prefix)
{
	for (size_t i = 0; i < map->n_disks; i++)
		if (strcmp(map->disks[i].prefix, prefix) == 0)
			return &map->disks[i];
	return NULL;
}

void xva_disk_member_name(const struct xva_disk *disk, uint64_t number,
			  char *buf, size_t len)
{
	snprintf(buf, len, "%s/%0*llu", disk->prefix, disk->number_width,
		 (unsigned long long)number);
}

/* Finds the disk for PREFIX, creating it when its first member arrives.
 * A disk seen before that is not the current one has been split by
 * another disk's members. */
static enum xva_status disk_for(struct xva_diskmap *map, const char *prefix,
				uint64_t number, struct xva_disk **out,
				struct xva_err *err)
{
	struct xva_disk *disk;

	if (map->current && strcmp(map->current->prefix, prefix) == 0) {
		*out = map->current;
		return XVA_OK;
	}
	disk = xva_map_find(map, prefix);
	if (disk)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_INTERLEAVED,
				    "member %s/%llu: members of disk %s resume after "
				    "members of disk %s; each disk's members must be "
				    "contiguous", prefix, (unsigned long long)number,
				    prefix, map->current->prefix);
	if (map->n_disks == map->cap_disks) {
		size_t cap = map->cap_disks ? 2 * map->cap_disks : 4;
		struct xva_disk *disks = realloc(map->disks, cap * sizeof(*disks));

		if (!disks)
			goto nomem;
		map->disks = disks;
		map->cap_disks = cap;
	}
	disk = &map->disks[map->n_disks];
	memset(disk, 0, sizeof(*disk));
	disk->prefix = strdup(prefix);
	if (!disk->prefix)
		goto nomem;
	map->n_disks++;
	map->current = disk;
	*out = disk;
	return XVA_OK;
nomem:
	return xva_nomem(err);
}

static enum xva_status append_extent(struct xva_disk *disk,
				     const struct xva_extent *ext,
				     struct xva_err *err)
{
	if (disk->n_extents == disk->cap_extents) {
		size_t cap = disk->cap_extents ? 2 * disk->cap_extents : 64;
		struct xva_extent *e = realloc(disk->extents, cap * sizeof(*e));

		if (!e)
			return xva_nomem(err);
		disk->extents = e;
		disk->cap_extents = cap;
	}
	disk->extents[disk->n_extents++] = *ext;
	return XVA_OK;
}

/* Appends one element to a rarely used array that grows one at a time. */
static void *append_rare(void *array, size_t *n, size_t size, const void *elem,
			 struct xva_err *err)
{
	char *bigger = realloc(array, (*n + 1) * size);

	if (!bigger) {
		xva_nomem(err);
		return NULL;
	}
	memcpy(bigger + *n * size, elem, size);
	(*n)++;
	return bigger;
}

/* Where member NAME (number NUMBER, at FILE_OFF) starts on DISK: after
 * the blocks missing since the last member, each the disk's block size. */
static enum xva_status place_member(const struct xva_disk *disk,
				    const char *name, uint64_t number,
				    uint64_t file_off, uint64_t *pos,
				    struct xva_err *err)
{
	uint64_t gap;

	if (disk->members > 0 && number <= disk->last_number) {
		char prev[64];

		xva_disk_member_name(disk, disk->last_number, prev, sizeof(prev));
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_ORDER,
				    "member %s at byte %llu follows %s: member "
				    "numbers must increase", name,
				    (unsigned long long)file_off, prev);
	}
	gap = disk->members > 0 ? number - disk->last_number - 1 : number;
	*pos = disk->data_end;
	if (gap == 0)
		return XVA_OK;
	if (disk->block == 0)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_GAP,
				    "member %s at byte %llu: %llu missing "
				    "blocks before any member with data, so their "
				    "size is unknown", name,
				    (unsigned long long)file_off,
				    (unsigned long long)gap);
	if (gap > (POS_LIMIT - *pos) / disk->block)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVERFLOW,
				    "member %s at byte %llu: the gap of %llu "
				    "blocks puts the disk past 2^63 bytes", name,
				    (unsigned long long)file_off,
				    (unsigned long long)gap);
	*pos += gap * disk->block;
	return XVA_OK;
}

/* A chunk of LEN bytes: the first sets the disk's block size, every other
 * is at most that long, and only the disk's last may be shorter. */
static enum xva_status check_chunk_len(struct xva_disk *disk,
				       const char *name, uint64_t file_off,
				       uint64_t len, uint64_t pos,
				       struct xva_err *err)
{
	if (disk->block == 0) {
		if (len > UINT32_MAX)
			return xva_fail_why(err, XVA_EFORMAT, XVA_R_CHUNK_LEN,
					    "member %s at byte %llu is %llu "
					    "bytes, too large for a chunk", name,
					    (unsigned long long)file_off,
					    (unsigned long long)len);
		disk->block = len;
	}
	if (len > disk->block)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_CHUNK_LEN,
				    "member %s at byte %llu is %llu bytes, "
				    "longer than the block size %llu set by the "
				    "disk's first chunk", name,
				    (unsigned long long)file_off,
				    (unsigned long long)len,
				    (unsigned long long)disk->block);
	if (disk->n_extents > 0) {
		const struct xva_extent *prev =
			&disk->extents[disk->n_extents - 1];

		if (prev->len != disk->block) {
			char pname[64];

			xva_disk_member_name(disk, prev->number, pname,
					     sizeof(pname));
			return xva_fail_why(err, XVA_EFORMAT, XVA_R_CHUNK_LEN,
					    "member %s is %u bytes, neither "
					    "the block size %llu nor 0, yet it is "
					    "not the disk's last chunk (%s follows)",
					    pname, prev->len,
					    (unsigned long long)disk->block, name);
		}
	}
	if (len > POS_LIMIT - pos)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_OVERFLOW,
				    "member %s at byte %llu puts the disk "
				    "past 2^63 bytes", name,
				    (unsigned long long)file_off);
	return XVA_OK;
}

enum xva_status xva_map_add_chunk(struct xva_diskmap *map,
				  const char *prefix, uint64_t number,
				  int width, uint64_t file_off,
				  uint64_t len, struct xva_err *err)
{
	struct xva_disk *disk;
	enum xva_status st;
	uint64_t pos = 0;
	char name[64];

	st = disk_for(map, prefix, number, &disk, err);
	if (st != XVA_OK)
		return st;
	if (disk->members == 0)
		disk->number_width = width;
	else if (disk->number_width != width)
		disk->number_width = 0;
	xva_disk_member_name(disk, number, name, sizeof(name));

	st = place_member(disk, name, number, file_off, &pos, err);
	if (st != XVA_OK)
		return st;
	if (len > 0) {
		struct xva_extent ext;

		st = check_chunk_len(disk, name, file_off, len, pos, err);
		if (st != XVA_OK)
			return st;
		ext.disk_off = pos;
		ext.file_off = file_off;
		ext.number = number;
		ext.len = (uint32_t)len;
		ext.csum_delta = 0;
		st = append_extent(disk, &ext, err);
		if (st != XVA_OK)
			return st;
		pos += len;
		disk->bytes_present += len;
	} else {
		struct xva_keepalive ka = { number, pos, 0, 0 };
		size_t n = (size_t)disk->keepalives;
		void *list = append_rare(disk->keepalive_list, &n, sizeof(ka),
					 &ka, err);

		if (!list)
			return XVA_ENOMEM;
		disk->keepalive_list = list;
		disk->keepalives = n;
	}
	disk->data_end = pos;
	disk->last_number = number;
	disk->last_has_checksum = false;
	disk->members++;
	return XVA_OK;
}

/* A checksum member that does not belong to the data member before it
 * (misplaced, misnamed, or of the other kind than the disk's others)
 * verifies nothing: it is counted, and the chunk it was meant for stays
 * without a checksum, so that --verify and -o verify call that chunk
 * unverifiable instead of the whole disk being refused. */
static void stray_checksum(struct xva_disk *disk, uint64_t file_off)
{
	if (disk->stray_checksums++ == 0)
		disk->first_stray_off = file_off;
}

enum xva_status xva_map_add_checksum(struct xva_diskmap *map,
				     const char *prefix, uint64_t number,
				     enum xva_checksum_kind kind,
				     uint64_t file_off, uint64_t len,
				     struct xva_err *err)
{
	struct xva_disk *disk = map->current;
	struct xva_extent *last;

	if (!disk)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_CHECKSUM_PLACE,
				    "checksum member %llu of disk %s at byte %llu "
				    "comes before any data member",
				    (unsigned long long)number, prefix,
				    (unsigned long long)file_off);
	/* Another disk's checksum amid this disk's members is out of place
	 * in this disk's run. */
	if (strcmp(disk->prefix, prefix) != 0 || kind == XVA_CHECKSUM_NONE ||
	    disk->last_number != number ||
	    disk->last_has_checksum || disk->members == 0 ||
	    (disk->checksum_kind != XVA_CHECKSUM_NONE &&
	     disk->checksum_kind != kind)) {
		stray_checksum(disk, file_off);
		return XVA_OK;
	}
	disk->checksum_kind = kind;
	disk->last_has_checksum = true;
	disk->n_checksums++;
	last = disk->n_extents ? &disk->extents[disk->n_extents - 1] : NULL;
	if (last && last->number == number) {
		uint64_t delta = file_off - last->file_off;

		if (len != xva_checksum_text_len(kind)) {
			struct xva_bad_checksum bad = { number, len };
			void *list = append_rare(disk->bad_checksums,
						 &disk->n_bad_checksums,
						 sizeof(bad), &bad, err);

			if (!list)
				return XVA_ENOMEM;
			disk->bad_checksums = list;
		}
		last->csum_delta = delta <= UINT32_MAX ? (uint32_t)delta : 0;
	} else if (disk->keepalives > 0 &&
		   disk->keepalive_list[disk->keepalives - 1].number == number) {
		disk->keepalive_list[disk->keepalives - 1].csum_off = file_off;
		disk->keepalive_list[disk->keepalives - 1].csum_len = len;
	}
	return XVA_OK;
}

const struct xva_bad_checksum *xva_disk_bad_checksum(const struct xva_disk *disk,
						     uint64_t number)
{
	for (size_t i = 0; i < disk->n_bad_checksums; i++)
		if (disk->bad_checksums[i].number == number)
			return &disk->bad_checksums[i];
	return NULL;
}

enum xva_status xva_map_add_unreached(struct xva_diskmap *map,
				      const char *prefix, uint64_t size,
				      struct xva_err *err)
{
	struct xva_disk *disk;
	enum xva_status st = disk_for(map, prefix, 0, &disk, err);

	if (st != XVA_OK)
		return st;
	disk->size = size;
	disk->intact_end = 0;
	return XVA_OK;
}

enum xva_status xva_disk_set_size(struct xva_disk *disk,
				  bool have_virtual_size,
				  uint64_t virtual_size, bool truncated,
				  uint64_t cut_at, struct xva_err *err)
{
	disk->size = have_virtual_size ? virtual_size : disk->data_end;
	disk->intact_end = disk->size;
	if (disk->data_end > disk->size)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_SIZE,
				    "disk %s: its data runs to byte %llu, past the "
				    "VDI's virtual_size of %llu bytes", disk->prefix,
				    (unsigned long long)disk->data_end,
				    (unsigned long long)virtual_size);
	if (truncated) {
		uint64_t end = cut_at < disk->data_end ? cut_at : disk->data_end;

		if (end < disk->intact_end)
			disk->intact_end = end;
		return XVA_OK;
	}
	if (disk->data_end < disk->size)
		return xva_fail_why(err, XVA_EFORMAT, XVA_R_SIZE,
				    "disk %s: its data ends at byte %llu, short of "
				    "the VDI's virtual_size of %llu bytes; the last chunk, "
				    "which every export writes, is missing", disk->prefix,
				    (unsigned long long)disk->data_end,
				    (unsigned long long)virtual_size);
	return XVA_OK;
}

size_t xva_disk_extent_at(const struct xva_disk *disk, uint64_t off)
{
	size_t lo = 0, hi = disk->n_extents;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct xva_extent *e = &disk->extents[mid];

		if (e->disk_off + e->len <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int xva_disk_seek(const struct xva_disk *disk, uint64_t off, bool want_data,
		  uint64_t *out)
{
	size_t i = xva_disk_extent_at(disk, off);

	if (off >= disk->size)
		return -1;
	if (want_data) {
		uint64_t next;

		if (off >= disk->intact_end ||
		    (i < disk->n_extents && disk->extents[i].disk_off <= off)) {
			*out = off;
			return 0;
		}
		next = i < disk->n_extents ? disk->extents[i].disk_off : UINT64_MAX;
		if (next > disk->intact_end)
			next = disk->intact_end;
		if (next >= disk->size)
			return -1;
		*out = next;
		return 0;
	}
	/* The next hole: walk over chunks that follow each other directly. */
	for (uint64_t pos = off; pos < disk->size; ) {
		if (pos >= disk->intact_end)
			break;
		if (i < disk->n_extents && disk->extents[i].disk_off <= pos) {
			pos = disk->extents[i].disk_off + disk->extents[i].len;
			i++;
			continue;
		}
		*out = pos;
		return 0;
	}
	*out = disk->size; /* the implicit hole at the end of the file */
	return 0;
}
