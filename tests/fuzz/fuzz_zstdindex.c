/* libFuzzer harness: the zstd chunk cache (the stream's blocks recompressed
 * as independent frames, and the piece table that finds them), as read
 * back from the cache folder where it may be damaged. The input (see
 * fuzzutil.h) is a zstd stream and a chunk cache file; the stream goes in
 * a memfd, the file where xvafs looks for that stream's chunk cache, and
 * the stream is opened with xva_source_open() as at a mount: a valid
 * cache is loaded and reads decode its frames or check its raw pieces
 * against their hashes (a refused one, such as a version-1 file, starts a
 * pass, which is not run). Nothing may crash, hang, leak or read out of
 * bounds, and a read never returns more than asked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include "fuzzdecoder.h"
#include "fuzzutil.h"
#include "xvafs/cachefile.h"
#include "source/source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FOOTER 128u

/* The file with IDENTITY in place of the stored one, its length in the
 * footer, and the hash (over what follows the frames) recomputed. */
static uint8_t *seal(const struct fuzz_input *in, const char *identity,
		     size_t *len)
{
	size_t idlen = strlen(identity), at;
	uint32_t old, warnlen;
	uint64_t frames_end;
	uint8_t *file;

	if (in->cache_len < FOOTER)
		return NULL;
	frames_end = fuzz_le64(in->cache + in->cache_len - FOOTER + 40);
	old = fuzz_le32(in->cache + in->cache_len - FOOTER + 56);
	warnlen = fuzz_le32(in->cache + in->cache_len - FOOTER + 60);
	if (old > in->cache_len - FOOTER ||
	    warnlen > in->cache_len - FOOTER - old)
		return NULL;
	at = in->cache_len - FOOTER - warnlen - old;
	if (frames_end > at)
		return NULL;
	file = fuzz_splice(in->cache, in->cache_len, at, old, identity, idlen,
			   len);
	fuzz_put_le32(file + *len - FOOTER + 56, (uint32_t)idlen);
	fuzz_put_le64(file + *len - 8, XXH64(file + frames_end,
					     *len - 8 - frames_end, 0));
	return file;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_decoder_cache(data, size, "zstd", "zsc", seal);
}
