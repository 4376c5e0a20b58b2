/* Helpers the unit tests share: write a tar with libarchive, fill data
 * with a pattern in which every 512-byte block differs. */
#ifndef XVAFS_TEST_TARTOOLS_H
#define XVAFS_TEST_TARTOOLS_H

#include <archive.h>
#include <archive_entry.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct test_member {
	const char *name;
	size_t size;
	const void *data; /* NULL: pattern(seed) */
	unsigned seed;
};

static inline unsigned char test_pattern(unsigned seed, uint64_t i)
{
	return (unsigned char)(seed * 131u + i * 7u + (i / 512u) * 13u + 1u);
}

/* Writes MEMBERS to PATH in FORMAT ("v7", "ustar", "gnu", "pax"). */
static inline int test_write_tar(const char *path, const char *format,
				 const struct test_member *members, size_t n)
{
	struct archive *a = archive_write_new();
	int ok = 1;

	if (strcmp(format, "v7") == 0)
		archive_write_set_format_v7tar(a);
	else if (strcmp(format, "gnu") == 0)
		archive_write_set_format_gnutar(a);
	else if (strcmp(format, "pax") == 0)
		archive_write_set_format_pax(a);
	else
		archive_write_set_format_ustar(a);
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK)
		ok = 0;
	for (size_t k = 0; ok && k < n; k++) {
		struct archive_entry *e = archive_entry_new();
		unsigned char *buf = NULL;
		const void *data = members[k].data;

		if (!data) {
			buf = malloc(members[k].size + 1);
			for (size_t i = 0; i < members[k].size; i++)
				buf[i] = test_pattern(members[k].seed, i);
			data = buf;
		}
		archive_entry_set_pathname(e, members[k].name);
		archive_entry_set_size(e, (la_int64_t)members[k].size);
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_perm(e, 0400);
		if (archive_write_header(a, e) != ARCHIVE_OK ||
		    (members[k].size &&
		     archive_write_data(a, data, members[k].size) !=
			     (la_ssize_t)members[k].size))
			ok = 0;
		archive_entry_free(e);
		free(buf);
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		ok = 0;
	archive_write_free(a);
	return ok ? 0 : -1;
}

/* Writes to PATH (v7) one disk of BLOCKS members "Ref:1/NNNNNNNN" of
 * BLOCK_SIZE bytes each, every third (1, 4, 7 ...) left out as an export
 * leaves out zeros, the last kept so that the disk ends where it should;
 * member data is pattern(block number). At most 64 blocks. */
static inline int test_write_thirds_tar(const char *path, unsigned blocks,
					size_t block_size)
{
	struct test_member m[64];
	char names[64][32];
	size_t n = 0;

	if (blocks > 64)
		return -1;
	for (unsigned b = 0; b < blocks; b++) {
		if (b % 3 == 1 && b != blocks - 1)
			continue;
		snprintf(names[n], sizeof(names[n]), "Ref:1/%08u", b);
		m[n] = (struct test_member){ names[n], block_size, NULL, b };
		n++;
	}
	return test_write_tar(path, "v7", m, n);
}

#endif
