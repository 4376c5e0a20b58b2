/* What the harnesses of the decoders' cache files (the gzip index, the
 * zstd chunk cache) share: the stream in a memfd, the cache file written
 * where xvafs looks for it, the stream opened with xva_source_open() as at
 * a mount, and reads through it. Each harness gives its decoder's name,
 * file extension and how to reseal a mutated file. */
#ifndef XVAFS_FUZZDECODER_H
#define XVAFS_FUZZDECODER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzutil.h"
#include "xvafs/cachefile.h"
#include "source/source.h"

/* One input: DECODER's ("gzip", "zstd") cache file of extension EXT
 * for the stream, resealed by SEAL when the input's mode asks, then the
 * stream opened and read as at a mount. */
typedef uint8_t *(*fuzz_seal_fn)(const struct fuzz_input *in,
				 const char *identity, size_t *len);

static inline int fuzz_decoder_cache(const uint8_t *data, size_t size,
				     const char *decoder, const char *ext,
				     fuzz_seal_fn seal)
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
	if (asprintf(&identity, "%s(%s)", decoder, raw->identity) < 0)
		abort();
	xva_source_close(raw);
	cache_path = xva_cache_path(o.cache_dir, identity, ext);
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

#endif
