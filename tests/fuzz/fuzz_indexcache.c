/* libFuzzer harness: the index cache, as read back from the cache folder
 * where it may be damaged. The input (see fuzzutil.h) is an uncompressed
 * export and an index cache file; the export goes in a memfd, the file is
 * put where xvafs looks for that export's cache, and the export is opened
 * with xva_open() as a mount opens it: the cache is loaded (or refused,
 * and the export walked), then every disk is read, sought and verified a
 * little, through the map the cache gave. Nothing may crash, hang, leak
 * or read out of bounds, and no cache file may make an export that opens
 * without it fail to open. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "fuzzutil.h"
#include "xvafs/cachefile.h"
#include "xvafs/read.h"
#include "source/source.h"
#include "xvafs/verify.h"
#include "xvafs/xva.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEAD 16u /* magic, version, endianness mark */

/* The cache file as xvafs would have written it for IDENTITY: that
 * identity in place of the stored one, and the trailer recomputed. */
static uint8_t *seal(const struct fuzz_input *in, const char *identity,
		     size_t *len)
{
	size_t idlen = strlen(identity), old;
	uint8_t *file, lenbuf[4];

	if (in->cache_len < HEAD + 4 + 8)
		return NULL;
	old = fuzz_le32(in->cache + HEAD);
	if (old > in->cache_len - HEAD - 4 - 8)
		return NULL;
	fuzz_put_le32(lenbuf, (uint32_t)idlen);
	file = fuzz_splice(in->cache, in->cache_len, HEAD, 4 + old, lenbuf, 4,
			   len);
	{
		uint8_t *with = fuzz_splice(file, *len, HEAD + 4, 0, identity,
					    idlen, len);

		free(file);
		file = with;
	}
	fuzz_put_le64(file + *len - 8, XXH64(file, *len - 8, 0));
	return file;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xva_open_options opts = { .cache_dir = fuzz_cache_dir() };
	struct xva_source *src = NULL;
	struct fuzz_input in;
	struct xva *xva = NULL;
	struct xva_err err;
	char path[64], buf[8192], *cache_path;
	uint8_t *sealed = NULL;
	size_t len;
	int fd;

	if (fuzz_split(data, size, &in) != 0)
		return 0;
	fd = fuzz_memfd(in.stream, in.stream_len, path, sizeof(path));
	if (fd < 0)
		return 0;
	/* The identity xvafs gives this export, from the source itself. */
	if (xva_source_open(path, NULL, &src, &err) != XVA_OK) {
		close(fd);
		return 0;
	}
	cache_path = xva_cache_path(opts.cache_dir, src->identity, "idx");
	if (in.mode & 1)
		sealed = seal(&in, src->identity, &len);
	xva_source_close(src);
	if (!cache_path)
		abort();
	if (sealed)
		fuzz_write_file(cache_path, sealed, len);
	else
		fuzz_write_file(cache_path, in.cache, in.cache_len);
	free(sealed);

	if (xva_open(path, &opts, &xva, &err) == XVA_OK) {
		if (getenv("XVAFS_FUZZ_VERBOSE"))
			fprintf(stderr, "index cache: %s\n",
				xva->index_from_cache ? "loaded" :
				xva->cache_note[0] ? xva->cache_note : "none");
		for (size_t i = 0; i < xva->map.n_disks; i++) {
			const struct xva_disk *d = &xva->map.disks[i];
			uint64_t to, offs[] = { 0, d->size / 2,
						d->size ? d->size - 1 : 0 };
			size_t done;

			for (size_t k = 0; k < 3; k++) {
				xva_read(xva, d, buf, sizeof(buf), offs[k],
					 &done, &err);
				xva_disk_seek(d, offs[k], true, &to);
				xva_disk_seek(d, offs[k], false, &to);
			}
			for (size_t e = 0; e < d->n_extents && e < 4; e++)
				xva_verify_extent(xva, d, e, buf, sizeof(buf),
						  &err);
			for (size_t k = 0; k < d->keepalives && k < 4; k++)
				xva_verify_keepalive(xva, d, k, &err);
		}
		xva_close(xva);
	} else {
		/* A cache file is never trusted: whatever it says, an export
		 * that opens without it opens with it. */
		struct xva_err why = err;

		if (getenv("XVAFS_FUZZ_VERBOSE"))
			fprintf(stderr, "open: %s\n", why.msg);
		if (xva_open(path, NULL, &xva, &err) == XVA_OK) {
			fprintf(stderr, "the export opens, but not with this "
				"index cache: %s\n", why.msg);
			abort();
		}
	}
	unlink(cache_path);
	free(cache_path);
	close(fd);
	return 0;
}
