#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "xvafs/tarindex.h"
#include "io.h"

#define TAR_BLOCK 512u
/* libarchive reads headers through this buffer; one read usually holds the
 * checksum member and the next data member's header. */
#define WALK_READ_SIZE 10240

const char *xva_tar_strerror(enum xva_tar_status status)
{
	switch (status) {
	case XVA_TAR_OK: return "success";
	case XVA_TAR_EIO: return "read error";
	case XVA_TAR_EEMPTY: return "empty file";
	case XVA_TAR_ECOMPRESSED: return "compressed export";
	case XVA_TAR_ENOTTAR: return "not a tar archive";
	case XVA_TAR_EHEADER: return "damaged tar header";
	case XVA_TAR_ETRUNCATED: return "truncated file";
	case XVA_TAR_EMEMBER: return "unsupported tar member";
	case XVA_TAR_ENOMEM: return "out of memory";
	case XVA_TAR_ECALLBACK: return "member refused";
	}
	return "unknown tar status";
}

static uint64_t round_up_block(uint64_t n)
{
	return (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

/* A whole-stream compressed export is recognised by its magic, so the user
 * is told how to decompress it instead of "not a tar". */
static enum xva_tar_status check_magic(int fd, uint64_t file_size,
				       struct xva_err *err)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *what;
	} kinds[] = {
		{"\x1f\x8b", 2, "gzip-compressed (xe vm-export compress=gzip); "
				"xvafs serves uncompressed exports: decompress it "
				"first, e.g. gzip -dc < IN > OUT.xva"},
		{"\x28\xb5\x2f\xfd", 4, "zstd-compressed (xe vm-export "
					"compress=zstd); xvafs serves uncompressed "
					"exports: decompress it first, e.g. "
					"zstd -dc < IN > OUT.xva"},
		{"\xfd" "7zXZ", 5, "xz-compressed; xvafs serves uncompressed "
				  "exports: decompress it first, e.g. xz -dc < IN > OUT.xva"},
		{"BZh", 3, "bzip2-compressed; xvafs serves uncompressed exports: "
			   "decompress it first, e.g. bzip2 -dc < IN > OUT.xva"},
	};
	unsigned char head[8];
	size_t got;

	if (file_size == 0) {
		xva_err_set(err, "the file is empty");
		return XVA_TAR_EEMPTY;
	}
	got = file_size < sizeof(head) ? (size_t)file_size : sizeof(head);
	if (xva_pread_full(fd, head, got, 0) < 0) {
		xva_err_set(err, "cannot read byte 0: %s",
			    errno ? strerror(errno) : "the file is now shorter");
		return XVA_TAR_EIO;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (got >= kinds[i].len &&
		    memcmp(head, kinds[i].magic, kinds[i].len) == 0) {
			xva_err_set(err, "the export is %s", kinds[i].what);
			return XVA_TAR_ECOMPRESSED;
		}
	}
	if (file_size < TAR_BLOCK) {
		xva_err_set(err, "not a tar archive: only %llu bytes, "
			    "shorter than one tar header",
			    (unsigned long long)file_size);
		return XVA_TAR_ENOTTAR;
	}
	return XVA_TAR_OK;
}

/* libarchive stops at the first zero block or at a clean end of file; only
 * the two zero blocks XAPI writes prove the stream was not cut short at a
 * member boundary. */
static enum xva_tar_status check_end_marker(int fd, uint64_t file_size,
					    uint64_t end, const char *last,
					    struct xva_err *err)
{
	unsigned char marker[2 * TAR_BLOCK];

	if (end + sizeof(marker) > file_size) {
		xva_err_set(err, "truncated: the file ends at byte %llu%s%s, "
			    "without the end-of-archive marker (the export was "
			    "cut short)", (unsigned long long)file_size,
			    last ? " after member " : "", last ? last : "");
		return XVA_TAR_ETRUNCATED;
	}
	if (xva_pread_full(fd, marker, sizeof(marker), end) < 0) {
		xva_err_set(err, "cannot read byte %llu: %s",
			    (unsigned long long)end,
			    errno ? strerror(errno) : "the file is now shorter");
		return XVA_TAR_EIO;
	}
	for (size_t i = 0; i < sizeof(marker); i++) {
		if (marker[i] != 0) {
			xva_err_set(err, "damaged tar header at byte %llu%s%s: "
				    "neither a member nor the end-of-archive "
				    "marker", (unsigned long long)end,
				    last ? " after member " : "",
				    last ? last : "");
			return XVA_TAR_EHEADER;
		}
	}
	return XVA_TAR_OK;
}

static enum xva_tar_status check_entry(struct archive_entry *entry,
				       const char *name, uint64_t header_off,
				       struct xva_err *err)
{
	mode_t type = archive_entry_filetype(entry);

	if (archive_entry_hardlink(entry) || archive_entry_symlink(entry)) {
		xva_err_set(err, "member %s at byte %llu is a link; an export "
			    "holds only regular members", name,
			    (unsigned long long)header_off);
		return XVA_TAR_EMEMBER;
	}
	if (type != AE_IFREG && type != AE_IFDIR) {
		xva_err_set(err, "member %s at byte %llu is not a regular file "
			    "(type 0%o)", name, (unsigned long long)header_off,
			    (unsigned)type);
		return XVA_TAR_EMEMBER;
	}
	/* A sparse member's data is not contiguous in the file, so it could
	 * not be served in place. */
	if (archive_entry_sparse_count(entry) > 0) {
		xva_err_set(err, "member %s at byte %llu is a sparse tar member, "
			    "which no export writer produces",
			    name, (unsigned long long)header_off);
		return XVA_TAR_EMEMBER;
	}
	if (!archive_entry_size_is_set(entry) || archive_entry_size(entry) < 0) {
		xva_err_set(err, "member %s at byte %llu has no valid size",
			    name, (unsigned long long)header_off);
		return XVA_TAR_EHEADER;
	}
	return XVA_TAR_OK;
}

enum xva_tar_status xva_tar_walk(int fd, uint64_t file_size,
				 xva_tar_member_fn fn, void *ctx,
				 struct xva_err *err)
{
	enum xva_tar_status status;
	struct archive *a = NULL;
	struct archive_entry *entry;
	char *last = NULL;     /* previous member's name, for messages */
	uint64_t expected = 0; /* where the next header must start */

	status = check_magic(fd, file_size, err);
	if (status != XVA_TAR_OK)
		return status;
	if (lseek(fd, 0, SEEK_SET) != 0) {
		xva_err_set(err, "cannot seek to byte 0: %s", strerror(errno));
		return XVA_TAR_EIO;
	}
	a = archive_read_new();
	if (!a) {
		xva_err_set(err, "out of memory");
		return XVA_TAR_ENOMEM;
	}
	/* Only tar, and no decompression filter: data offsets must be offsets
	 * in the file itself. */
	archive_read_support_format_tar(a);
	/* Opening reads the first header to recognise the format. */
	if (archive_read_open_fd(a, fd, WALK_READ_SIZE) != ARCHIVE_OK) {
		if (archive_errno(a) == EIO) {
			xva_err_set(err, "cannot read: %s", archive_error_string(a));
			status = XVA_TAR_EIO;
		} else {
			xva_err_set(err, "not a tar archive (byte 0: %s)",
				    archive_error_string(a));
			status = XVA_TAR_ENOTTAR;
		}
		goto out;
	}

	for (;;) {
		struct xva_tar_member m;
		const char *name;
		int r = archive_read_next_header(a, &entry);

		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK) {
			const char *why = archive_error_string(a);

			if (!why)
				why = "unreadable header";
			if (archive_errno(a) == EIO) {
				xva_err_set(err, "read error near byte %llu: %s",
					    (unsigned long long)expected, why);
				status = XVA_TAR_EIO;
			} else if (expected > file_size) {
				xva_err_set(err, "truncated: the file ends at "
					    "byte %llu, inside the padding of "
					    "member %s", (unsigned long long)file_size,
					    last ? last : "?");
				status = XVA_TAR_ETRUNCATED;
			} else if (expected + TAR_BLOCK > file_size) {
				xva_err_set(err, "truncated: the file ends at "
					    "byte %llu inside the tar header that "
					    "starts at byte %llu%s%s",
					    (unsigned long long)file_size,
					    (unsigned long long)expected,
					    last ? " after member " : "",
					    last ? last : "");
				status = XVA_TAR_ETRUNCATED;
			} else if (!last) {
				xva_err_set(err, "not a tar archive (byte 0: %s)",
					    why);
				status = XVA_TAR_ENOTTAR;
			} else {
				xva_err_set(err, "damaged tar header at byte "
					    "%llu after member %s: %s",
					    (unsigned long long)expected, last,
					    why);
				status = XVA_TAR_EHEADER;
			}
			goto out;
		}

		m.header_off = (uint64_t)archive_read_header_position(a);
		m.data_off = (uint64_t)archive_filter_bytes(a, 0);
		name = archive_entry_pathname(entry);
		if (!name)
			name = archive_entry_pathname_utf8(entry);
		if (!name) {
			xva_err_set(err, "member name at byte %llu cannot be "
				    "decoded", (unsigned long long)m.header_off);
			status = XVA_TAR_EHEADER;
			goto out;
		}
		/* Data is served by pread at these offsets, so they are checked
		 * against what the walk itself implies rather than trusted. */
		if (m.header_off != expected || m.data_off < m.header_off + TAR_BLOCK ||
		    m.data_off % TAR_BLOCK != 0) {
			xva_err_set(err, "member %s: header at byte %llu, data at "
				    "byte %llu, expected the header at byte %llu",
				    name, (unsigned long long)m.header_off,
				    (unsigned long long)m.data_off,
				    (unsigned long long)expected);
			status = XVA_TAR_EHEADER;
			goto out;
		}
		status = check_entry(entry, name, m.header_off, err);
		if (status != XVA_TAR_OK)
			goto out;
		m.name = name;
		m.size = (uint64_t)archive_entry_size(entry);
		m.is_dir = archive_entry_filetype(entry) == AE_IFDIR;
		m.available = m.size;
		if (m.size > file_size || m.data_off > file_size - m.size) {
			m.available = file_size > m.data_off
					      ? file_size - m.data_off : 0;
			if (fn(ctx, &m, err) != 0) {
				status = XVA_TAR_ECALLBACK;
				goto out;
			}
			xva_err_set(err, "truncated: member %s (header at byte "
				    "%llu) needs %llu data bytes up to byte %llu, "
				    "but the file ends at byte %llu", name,
				    (unsigned long long)m.header_off,
				    (unsigned long long)m.size,
				    (unsigned long long)(m.data_off + m.size),
				    (unsigned long long)file_size);
			status = XVA_TAR_ETRUNCATED;
			goto out;
		}
		if (fn(ctx, &m, err) != 0) {
			status = XVA_TAR_ECALLBACK;
			goto out;
		}
		expected = m.data_off + round_up_block(m.size);
		free(last);
		last = strdup(name);
		if (!last) {
			xva_err_set(err, "out of memory");
			status = XVA_TAR_ENOMEM;
			goto out;
		}
	}
	status = check_end_marker(fd, file_size, expected, last, err);
out:
	free(last);
	archive_read_free(a);
	return status;
}
