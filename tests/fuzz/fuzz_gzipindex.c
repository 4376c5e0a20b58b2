/* libFuzzer harness: the gzip index (access points and their windows), as
 * read back from the cache folder where it may be damaged. The input (see
 * fuzzutil.h) is a gzip stream and an index file; the stream goes in a
 * memfd, the file where xvafs looks for that stream's index, and the
 * stream is opened with xva_source_open() as at a mount: a valid index is
 * loaded and reads go through its access points (a refused one starts a
 * pass, which is not run). Nothing may crash, hang, leak or read out of
 * bounds, and a read never returns more than asked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "fuzzutil.h"
#include "xvafs/cachefile.h"
#include "xvafs/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FOOTER 128u

/* The file with IDENTITY in place of the stored one, its length in the
 * footer, and the hash recomputed. */
static uint8_t *seal(const struct fuzz_input *in, const char *identity,
		     size_t *len)
{
	size_t idlen = strlen(identity), at;
	uint32_t old, warnlen;
	uint8_t *file;

	if (in->cache_len < FOOTER)
		return NULL;
	old = fuzz_le32(in->cache + in->cache_len - FOOTER + 72);
	warnlen = fuzz_le32(in->cache + in->cache_len - FOOTER + 76);
	if (old > in->cache_len - FOOTER ||
	    warnlen > in->cache_len - FOOTER - old)
		return NULL;
	at = in->cache_len - FOOTER - warnlen - old;
	file = fuzz_splice(in->cache, in->cache_len, at, old, identity, idlen,
			   len);
	fuzz_put_le32(file + *len - FOOTER + 72, (uint32_t)idlen);
	fuzz_put_le64(file + *len - 8, XXH64(file, *len - 8, 0));
	return file;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xva_source_options o = {
		.cache_dir = fuzz_cache_dir(),
		.memory_max = 4u << 20,
		.s3_path_style = -1,
	};
	struct xva_source *raw = NULL, *src = NULL;
	struct fuzz_input in;
	struct xva_err err;
	char path[64], *identity = NULL, *cache_path;
	static char buf[1u << 17];
	uint8_t *sealed = NULL;
	size_t len;
	int fd;

	if (fuzz_split(data, size, &in) != 0)
		return 0;
	fd = fuzz_memfd(in.stream, in.stream_len, path, sizeof(path));
	if (fd < 0)
		return 0;
	/* The identity xvafs gives this stream: the decoder's over the
	 * file's. */
	if (xva_source_file_open(path, NULL, &raw, &err) != XVA_OK) {
		close(fd);
		return 0;
	}
	if (asprintf(&identity, "gzip(%s)", raw->identity) < 0)
		abort();
	xva_source_close(raw);
	cache_path = xva_cache_path(o.cache_dir, identity, "gzi");
	if (!cache_path)
		abort();
	if (in.mode & 1)
		sealed = seal(&in, identity, &len);
	if (sealed)
		fuzz_write_file(cache_path, sealed, len);
	else
		fuzz_write_file(cache_path, in.cache, in.cache_len);
	free(sealed);
	free(identity);

	if (xva_source_open(path, &o, &src, &err) == XVA_OK) {
		struct xva_source_info info;

		xva_source_info(src, &info);
		if (getenv("XVAFS_FUZZ_VERBOSE"))
			fprintf(stderr, "%s: index %s\n", info.cache_path,
				info.index_loaded ? "loaded" : "refused");
		if (!src->in_pass) {
			uint64_t s = src->size;
			uint64_t offs[] = { 0, s / 3, s / 2, s > 1000 ? s - 1000 : 0,
					    s ? s - 1 : 0, s, s + 1 };
			size_t lens[] = { 512, 70000, sizeof(buf) };

			for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
				size_t got = 0;

				xva_source_read(src, buf, lens[k % 3], offs[k],
						&got, &err);
				if (got > lens[k % 3])
					abort();
			}
		}
		xva_source_close(src);
	}
	unlink(cache_path);
	free(cache_path);
	close(fd);
	return 0;
}
