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

#include "fuzzdecoder.h"
#include "fuzzutil.h"
#include "xvafs/cachefile.h"
#include "source/source.h"

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
	return fuzz_decoder_cache(data, size, "gzip", "gzi", seal);
}
