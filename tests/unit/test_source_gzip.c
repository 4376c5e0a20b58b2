/* The gzip source against real gzip output (gzip -c, level 6, as XAPI
 * writes it): every byte served in the pass, in random reads and from
 * several threads is compared with the payload; the index is reloaded,
 * and refused when damaged or forged; cut, corrupt and checksum-failing
 * streams are served up to their intact part and say so. */
#include <xxhash.h>
#include <zlib.h>

#include "compressed.h"
#include "xvafs/cachefile.h"

#define PAYLOAD_SIZE (24 * MIB + 777)

static char dir[] = "/tmp/xvafs-gz-XXXXXX";
static char payload_path[256], gz_path[256], cache_dir[256], work_path[256];
static unsigned char *payload;

static const struct expect *whole(void)
{
	static struct expect x;

	x.data = payload;
	x.len = PAYLOAD_SIZE;
	return &x;
}

static char *index_path(struct xva_source *src)
{
	return xva_cache_path(cache_dir, src->identity, "gzi");
}

static void test_plain(void)
{
	struct xva_source_options o = { .s3_path_style = -1 };
	struct xva_source_info info;
	struct xva_source *src = open_source(gz_path, &o);
	size_t csize;
	unsigned char *gz = read_file(gz_path, &csize);

	CHECK(src != NULL);
	if (!src)
		return;
	CHECK(src->in_pass && src->size == XVA_SIZE_UNKNOWN);
	CHECK(!src->skip_is_free && src->fd < 0);
	CHECK(strncmp(src->identity, "gzip(file:", 10) == 0);
	CHECK(full_check(src, whole(), 3000));
	CHECK(concurrent_reads(src, whole(), 6, 400));
	CHECK_MSG(!src->warning[0], "%s", src->warning);
	CHECK(!src->stream_damaged);
	xva_source_info(src, &info);
	CHECK(strcmp(info.kind, "gzip") == 0 && strcmp(info.over, "file") == 0);
	CHECK(info.stored_size == csize && !info.index_loaded);
	CHECK(info.cache_path[0] == '\0' && info.cache_bytes == 0);
	CHECK(info.access_points >= PAYLOAD_SIZE / (4 * MIB));
	CHECK(info.index_memory > 0);
	xva_source_close(src);
	free(gz);
}

struct progress_log {
	unsigned calls;
	uint64_t done, total;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct progress_log *log = ctx;

	log->calls++;
	log->done = done;
	log->total = total;
}

static void test_persistence(void)
{
	struct progress_log log = { 0 };
	struct xva_source_options o = { .cache_dir = cache_dir,
					.progress = on_progress,
					.progress_ctx = &log,
					.s3_path_style = -1 };
	struct xva_source_info info;
	struct xva_source *src;
	struct stat st;
	char *path;

	empty_dir(cache_dir);
	src = open_source(gz_path, &o);
	CHECK(src && src->in_pass);
	if (!src)
		return;
	CHECK(full_check(src, whole(), 500));
	CHECK(stat(gz_path, &st) == 0);
	CHECK(log.calls >= 1 && log.done == (uint64_t)st.st_size &&
	      log.total == (uint64_t)st.st_size);
	xva_source_info(src, &info);
	path = index_path(src);
	CHECK(path && strcmp(info.cache_path, path) == 0);
	CHECK(info.cache_bytes > 0 && !info.index_loaded);
	free(path);
	xva_source_close(src);
	CHECK(count_files(cache_dir, ".tmp") == 0);

	src = open_source(gz_path, &o);
	CHECK(src && !src->in_pass && src->size == PAYLOAD_SIZE);
	if (!src)
		return;
	xva_source_info(src, &info);
	CHECK(info.index_loaded && info.cache_bytes > 0);
	CHECK(random_reads(src, whole(), 2000, 7));
	CHECK(concurrent_reads(src, whole(), 4, 300));
	/* A pass call on a loaded source is nothing to do. */
	CHECK(xva_source_finish_pass(src, NULL) == XVA_OK);
	xva_source_close(src);
}

/* Rewrites the index's trailing XXH64 so that only the change made is
 * wrong, not the hash. */
static void rehash(unsigned char *file, size_t len)
{
	uint64_t h = XXH64(file, len - 8, 0);

	for (int i = 0; i < 8; i++)
		file[len - 8 + i] = (unsigned char)(h >> (8 * i));
}

enum damage {
	FLIP_FIRST, FLIP_MIDDLE, FLIP_FOOTER, FLIP_LAST, TRUNCATE, EMPTY,
	FORGE_IDENTITY, FORGE_COUNT, FORGE_COFF, FORGE_WCLEN, FORGE_ORDER,
	FORGE_CSIZE, FORGE_VERSION, N_DAMAGE
};

static void test_damaged_index(void)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.s3_path_style = -1 };

	for (int d = 0; d < N_DAMAGE; d++) {
		struct xva_source *src;
		struct xva_source_info info;
		unsigned char *file;
		size_t len, foot, npoints, table;
		char *path;

		empty_dir(cache_dir);
		src = open_source(gz_path, &o);
		if (!src || !full_check(src, whole(), 10)) {
			CHECK(!"building the index");
			xva_source_close(src);
			return;
		}
		path = index_path(src);
		xva_source_close(src);
		file = read_file(path, &len);
		CHECK(file && len > 128);
		if (!file || len <= 128) {
			free(path);
			return;
		}
		foot = len - 128;
		npoints = 0;
		for (int i = 7; i >= 0; i--)
			npoints = npoints << 8 | file[foot + 40 + i];
		table = 0;
		for (int i = 7; i >= 0; i--)
			table = table << 8 | file[foot + 48 + i];
		switch (d) {
		case FLIP_FIRST: file[0] ^= 1; break;
		case FLIP_MIDDLE: file[len / 2] ^= 0x80; break;
		case FLIP_FOOTER: file[foot + 20] ^= 4; break;
		case FLIP_LAST: file[len - 1] ^= 1; break;
		case TRUNCATE: len -= 1000; break;
		case EMPTY: len = 0; break;
		case FORGE_IDENTITY:
			file[table + npoints * 48 + 6] ^= 1;
			rehash(file, len);
			break;
		case FORGE_COUNT:
			file[foot + 40 + 6] = 0x7f;
			rehash(file, len);
			break;
		case FORGE_COFF: /* point 1 beyond the stream */
			file[table + 48 + 8 + 6] = 0x10;
			rehash(file, len);
			break;
		case FORGE_WCLEN:
			file[table + 48 + 32 + 3] = 0x40;
			rehash(file, len);
			break;
		case FORGE_ORDER: { /* swap points 1 and 2 */
			unsigned char tmp[48];

			memcpy(tmp, file + table + 48, 48);
			memcpy(file + table + 48, file + table + 96, 48);
			memcpy(file + table + 96, tmp, 48);
			rehash(file, len);
			break;
		}
		case FORGE_CSIZE:
			file[foot + 16] ^= 1;
			rehash(file, len);
			break;
		case FORGE_VERSION:
			file[foot + 8] = 2;
			rehash(file, len);
			break;
		}
		CHECK(write_file(path, file, len) == 0);
		free(file);

		src = open_source(gz_path, &o);
		CHECK_MSG(src && src->in_pass, "damage %d was trusted", d);
		if (src) {
			xva_source_info(src, &info);
			CHECK(!info.index_loaded);
			CHECK_MSG(full_check(src, whole(), 200),
				  "damage %d: the rebuild", d);
			xva_source_close(src);
		}
		/* The rebuilt index replaced it and loads. */
		src = open_source(gz_path, &o);
		CHECK_MSG(src && !src->in_pass, "damage %d: not rebuilt", d);
		if (src)
			CHECK(random_reads(src, whole(), 100, (uint64_t)d));
		xva_source_close(src);
		free(path);
	}
}

/* One flipped bit anywhere in the index, 40 places: refused every time. */
static void test_flip_anywhere(void)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.s3_path_style = -1 };
	struct xva_source *src;
	unsigned char *file;
	size_t len;
	char *path;

	empty_dir(cache_dir);
	src = open_source(gz_path, &o);
	if (!src || !full_check(src, whole(), 10)) {
		CHECK(!"building the index");
		xva_source_close(src);
		return;
	}
	path = index_path(src);
	xva_source_close(src);
	file = read_file(path, &len);
	CHECK(file != NULL);
	for (size_t i = 0; file && i < 40; i++) {
		size_t at = i == 39 ? len - 1 : len / 39 * i + i * 7 % 13;

		file[at] ^= (unsigned char)(1 << (i % 8));
		CHECK(write_file(path, file, len) == 0);
		file[at] ^= (unsigned char)(1 << (i % 8));
		src = open_source(gz_path, &o);
		CHECK_MSG(src && src->in_pass, "a flip at byte %zu of %zu was "
			  "trusted", at, len);
		xva_source_close(src);
	}
	free(file);
	free(path);
}

static void test_backlog(void)
{
	struct xva_source_options o = { .s3_path_style = -1 };
	struct xva_source *src = open_source(gz_path, &o);
	unsigned char *buf = malloc(MIB);
	struct xva_err err;
	size_t got;

	CHECK(src != NULL);
	if (src) {
		CHECK(xva_source_read(src, buf, MIB, 4 * MIB, &got, &err) ==
		      XVA_OK && got == MIB);
		CHECK(check_read(src, whole(), 4 * MIB, 10, buf));
		CHECK(xva_source_read(src, buf, 10, 4 * MIB - 1, &got, &err) ==
		      XVA_EINVAL);
		CHECK_MSG(strstr(err.msg, "the gzip stream is read in one "
				 "pass: byte 4194303 is more than 1048576 "
				 "bytes behind byte 5242880"), "%s", err.msg);
		xva_source_close(src);
	}
	free(buf);
}

static void test_unwritable_cache(void)
{
	char bad[300];
	struct xva_source_options o = { .cache_dir = bad, .s3_path_style = -1 };
	struct xva_source_info info;
	struct xva_source *src;

	/* Under a regular file: no one, root included, can create it. */
	snprintf(bad, sizeof(bad), "%s/sub/cache", payload_path);
	src = open_source(gz_path, &o);
	CHECK(src && src->in_pass);
	if (!src)
		return;
	CHECK_MSG(strstr(src->warning, "the gzip index is not kept") &&
		  strstr(src->warning, payload_path), "%s", src->warning);
	CHECK(!src->stream_damaged);
	CHECK(full_check(src, whole(), 300));
	xva_source_info(src, &info);
	CHECK(info.cache_path[0] == '\0' && !info.index_loaded);
	xva_source_close(src);
}

/* What an independent inflate of FILE says: the decoded bytes, where it
 * stopped, the start of the block that failed (or the end), the start of
 * the block holding compressed byte MARK, and whether a checksum failed. */
struct reference {
	size_t decoded;
	size_t fail_block_uoff;
	size_t mark_block_uoff;
	bool data_error, check_error, cut;
};

static struct reference reference_inflate(const unsigned char *file,
					  size_t len, size_t mark)
{
	struct reference r = { 0 };
	unsigned char *out = malloc(PAYLOAD_SIZE + MIB);
	size_t block_uoff = 0, block_coff = 0;
	z_stream s;

	memset(&s, 0, sizeof(s));
	inflateInit2(&s, 15 + 16);
	s.next_in = (unsigned char *)file;
	s.avail_in = (uInt)len;
	s.next_out = out;
	s.avail_out = PAYLOAD_SIZE + MIB;
	r.mark_block_uoff = SIZE_MAX;
	for (;;) {
		int ret = inflate(&s, Z_BLOCK);
		size_t coff = (size_t)(s.next_in - file);

		r.decoded = s.total_out;
		if (ret == Z_STREAM_END) {
			r.fail_block_uoff = r.decoded;
			break;
		}
		if (ret == Z_DATA_ERROR) {
			r.check_error = strstr(s.msg, "incorrect") != NULL &&
					strstr(s.msg, "check") != NULL &&
					strstr(s.msg, "header") == NULL;
			r.data_error = !r.check_error;
			r.fail_block_uoff = r.check_error ? r.decoded : block_uoff;
			break;
		}
		if (ret == Z_BUF_ERROR) { /* all input used: cut short */
			r.cut = true;
			r.fail_block_uoff = r.decoded;
			break;
		}
		if (s.data_type & 128) {
			if (block_coff <= mark && coff > mark)
				r.mark_block_uoff = block_uoff;
			block_uoff = s.total_out;
			block_coff = coff;
		}
	}
	if (r.mark_block_uoff == SIZE_MAX)
		r.mark_block_uoff = block_uoff;
	inflateEnd(&s);
	free(out);
	return r;
}

/* Reads SRC in one pass to its end and checks the first GOOD bytes
 * against the payload; returns the bytes served. */
static size_t drain(struct xva_source *src, size_t good)
{
	unsigned char *buf = malloc(MIB);
	uint64_t pos = 0;
	struct xva_err err;

	for (;;) {
		size_t got = 0;

		if (xva_source_read(src, buf, MIB, pos, &got, &err) != XVA_OK) {
			CHECK_MSG(0, "drain at %llu: %s",
				  (unsigned long long)pos, err.msg);
			break;
		}
		if (pos < good) {
			size_t n = good - pos < got ? good - pos : got;

			CHECK_MSG(memcmp(buf, payload + pos, n) == 0,
				  "bytes at %llu differ", (unsigned long long)pos);
		}
		pos += got;
		if (got < MIB)
			break;
	}
	free(buf);
	CHECK(xva_source_finish_pass(src, &err) == XVA_OK);
	return (size_t)pos;
}

static bool only(const char *name)
{
	const char *o = getenv("ONLY");

	return !o || strcmp(o, name) == 0;
}

static void test_cut(void)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.s3_path_style = -1 };
	size_t csize;
	unsigned char *gz = read_file(gz_path, &csize);
	size_t cuts[] = { 5, 11, csize / 10, csize / 2, csize - 9, csize - 4,
			  csize - 1 };

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct reference r = reference_inflate(gz, cuts[i], 0);
		struct expect x = { payload, r.decoded };
		struct xva_source *src;
		char want[128];
		size_t served;

		CHECK(r.cut);
		empty_dir(cache_dir);
		CHECK(write_file(work_path, gz, cuts[i]) == 0);
		src = open_source(work_path, &o);
		CHECK(src != NULL);
		if (!src)
			continue;
		served = drain(src, r.decoded);
		CHECK_MSG(served == r.decoded && src->size == r.decoded,
			  "cut at %zu: served %zu, size %llu, want %zu", cuts[i],
			  served, (unsigned long long)src->size, r.decoded);
		snprintf(want, sizeof(want), "the gzip stream is cut short at "
			 "compressed byte %zu (uncompressed byte %zu)", cuts[i],
			 r.decoded);
		CHECK_MSG(strcmp(src->warning, want) == 0, "%s", src->warning);
		CHECK(!src->stream_damaged);
		CHECK(random_reads(src, &x, 300, i));
		xva_source_close(src);

		/* The index keeps the warning. */
		src = open_source(work_path, &o);
		CHECK(src && !src->in_pass && src->size == r.decoded);
		if (src) {
			CHECK(strcmp(src->warning, want) == 0);
			CHECK(random_reads(src, &x, 100, i));
		}
		xva_source_close(src);
	}
	free(gz);
}

/* Compressed offsets of the deflate block boundaries of FILE. */
static size_t *block_starts(const unsigned char *file, size_t len, size_t *n)
{
	unsigned char *out = malloc(PAYLOAD_SIZE + MIB);
	size_t *starts = malloc(sizeof(*starts) * 100000);
	z_stream s;

	*n = 0;
	memset(&s, 0, sizeof(s));
	inflateInit2(&s, 15 + 16);
	s.next_in = (unsigned char *)file;
	s.avail_in = (uInt)len;
	s.next_out = out;
	s.avail_out = PAYLOAD_SIZE + MIB;
	while (inflate(&s, Z_BLOCK) == Z_OK && *n < 100000)
		if (s.data_type & 128)
			starts[(*n)++] = (size_t)(s.next_in - file);
	inflateEnd(&s);
	free(out);
	return starts;
}

static void test_corrupt(void)
{
	struct xva_source_options o = { .s3_path_style = -1 };
	size_t csize, n_starts, header_errors = 0, mid_block_errors = 0;
	size_t check_errors = 0;
	unsigned char *gz = read_file(gz_path, &csize);
	size_t *starts = block_starts(gz, csize, &n_starts);

	/* Damage inside a Huffman block rarely makes inflate fail (zlib's
	 * codes are complete, every distance is valid past 32 KiB): it shows
	 * in the CRC. Damage near a block's start breaks its header, and
	 * sometimes a block fails after giving output. Try bytes near block
	 * starts until each kind has been seen. */
	for (size_t k = 1; k < n_starts && (header_errors < 3 ||
					     mid_block_errors < 2 ||
					     check_errors < 2); k += 7) {
		static const size_t into[] = { 0, 1, 3, 12, 60, 200 };
		size_t mark = starts[k] + into[k % 6];
		struct xva_source *src;
		struct reference r;
		size_t served;
		bool mid;

		if (mark >= csize - 8)
			break;
		gz[mark] ^= 0xff;
		r = reference_inflate(gz, csize, mark);
		mid = r.data_error && r.decoded > r.fail_block_uoff;
		if (r.data_error ? (mid ? mid_block_errors >= 2
				    : header_errors >= 3)
				 : check_errors >= 2) {
			gz[mark] ^= 0xff;
			continue;
		}
		if (getenv("DEBUG_REF"))
			fprintf(stderr, "mark %zu: decoded %zu fail %zu markblk %zu "
				"data %d check %d\n", mark, r.decoded,
				r.fail_block_uoff, r.mark_block_uoff, r.data_error,
				r.check_error);
		CHECK(write_file(work_path, gz, csize) == 0);
		gz[mark] ^= 0xff;
		src = open_source(work_path, &o);
		CHECK(src != NULL);
		if (!src)
			continue;
		/* Bytes decoded from input before the damaged byte are
		 * exact; the decoder ends its intact part at the start of the
		 * deflate block that failed. */
		served = drain(src, r.mark_block_uoff);
		CHECK(src->stream_damaged);
		if (r.data_error) {
			char want[96];

			if (mid)
				mid_block_errors++;
			else
				header_errors++;
			snprintf(want, sizeof(want), "served up to uncompressed "
				 "byte %zu", r.fail_block_uoff);
			CHECK_MSG(served == r.fail_block_uoff &&
				  src->size == r.fail_block_uoff,
				  "mark %zu: served %zu, want %zu", mark,
				  served, r.fail_block_uoff);
			CHECK_MSG(strstr(src->warning, "the gzip stream is "
					 "corrupt in the deflate block at "
					 "compressed byte") &&
				  strstr(src->warning, want), "%s", src->warning);
			CHECK(random_reads(src, &(struct expect){ payload,
				r.mark_block_uoff }, 50, mark));
		} else {
			check_errors++;
			CHECK(r.check_error);
			CHECK_MSG(strstr(src->warning, "fails its CRC-32 check") ||
				  strstr(src->warning, "fails its ISIZE"), "%s",
				  src->warning);
			CHECK(served == r.decoded);
		}
		xva_source_close(src);
	}
	CHECK_MSG(header_errors >= 3 && mid_block_errors >= 1 &&
		  check_errors >= 2, "header %zu, mid-block %zu, check %zu",
		  header_errors, mid_block_errors, check_errors);
	free(starts);

	/* The trailer: CRC-32, then ISIZE. */
	for (int k = 0; k < 2; k++) {
		size_t at = k == 0 ? csize - 8 : csize - 1;
		struct xva_source *src;

		gz[at] ^= 1;
		CHECK(write_file(work_path, gz, csize) == 0);
		gz[at] ^= 1;
		src = open_source(work_path, &o);
		if (!src) {
			CHECK(!"open");
			continue;
		}
		CHECK(drain(src, PAYLOAD_SIZE) == PAYLOAD_SIZE);
		CHECK(src->stream_damaged);
		CHECK_MSG(strstr(src->warning, k == 0 ? "fails its CRC-32 check"
				 : "fails its ISIZE (length) check"), "%s",
			  src->warning);
		CHECK(random_reads(src, whole(), 100, 5));
		xva_source_close(src);
	}
	free(gz);
}

static void test_members(void)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.s3_path_style = -1 };
	size_t cut1 = 7 * MIB + 5, cut2 = 15 * MIB;
	struct xva_source_info info;
	struct xva_source *src;

	empty_dir(cache_dir);
	CHECK(write_file(work_path, payload, cut1) == 0);
	CHECK(run("gzip -c < %s > %s.1", work_path, work_path) == 0);
	CHECK(write_file(work_path, payload, 0) == 0);
	CHECK(run("gzip -c < %s > %s.2", work_path, work_path) == 0);
	CHECK(write_file(work_path, payload + cut1, cut2 - cut1) == 0);
	CHECK(run("gzip -1 -c < %s > %s.3", work_path, work_path) == 0);
	CHECK(write_file(work_path, payload + cut2, PAYLOAD_SIZE - cut2) == 0);
	CHECK(run("gzip -9 -c < %s > %s.4", work_path, work_path) == 0);
	CHECK(run("cat %s.1 %s.2 %s.3 %s.2 %s.4 > %s", work_path, work_path,
		  work_path, work_path, work_path, work_path) == 0);
	for (int round = 0; round < 2; round++) {
		src = open_source(work_path, &o);
		CHECK(src && src->in_pass == (round == 0));
		if (!src)
			return;
		if (round == 0)
			CHECK(full_check(src, whole(), 2000));
		else
			CHECK(random_reads(src, whole(), 2000, 3));
		CHECK(concurrent_reads(src, whole(), 4, 200));
		CHECK_MSG(!src->warning[0], "%s", src->warning);
		xva_source_info(src, &info);
		CHECK(info.access_points >= 5);
		xva_source_close(src);
	}

	/* Bytes after the last member that are not gzip are ignored. */
	CHECK(run("printf 'not gzip' >> %s", work_path) == 0);
	src = open_source(work_path, &o);
	CHECK(src && full_check(src, whole(), 100));
	CHECK(src && strstr(src->warning, "8 bytes after the end of the gzip "
			    "stream") && !src->stream_damaged);
	xva_source_close(src);
	run("rm -f %s.1 %s.2 %s.3 %s.4", work_path, work_path, work_path,
	    work_path);
}

static void test_small(void)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.s3_path_style = -1 };
	size_t sizes[] = { 0, 1, 100, 4096, MIB, MIB + 1 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct expect x = { payload, sizes[i] };

		for (int round = 0; round < 2; round++) {
			struct xva_source *src;

			if (round == 0) {
				CHECK(write_file(payload_path, payload,
						 sizes[i]) == 0);
				CHECK(run("gzip -c < %s > %s", payload_path,
					  work_path) == 0);
			}
			src = open_source(work_path, &o);
			CHECK(src && src->in_pass == (round == 0));
			if (!src)
				continue;
			if (round == 0)
				CHECK_MSG(full_check(src, &x, 50), "size %zu",
					  sizes[i]);
			else
				CHECK(random_reads(src, &x, 50, 1));
			CHECK(src->size == sizes[i] && !src->warning[0]);
			xva_source_close(src);
		}
	}
	CHECK(write_file(payload_path, payload, PAYLOAD_SIZE) == 0);
}

static void test_stop(void)
{
	volatile sig_atomic_t stop = 0;
	struct xva_source_options o = { .cache_dir = cache_dir, .stop = &stop,
					.s3_path_style = -1 };
	unsigned char *buf = malloc(MIB);
	struct xva_source *src;
	struct xva_err err;
	size_t got;

	empty_dir(cache_dir);
	src = open_source(gz_path, &o);
	CHECK(src != NULL);
	if (src) {
		CHECK(xva_source_read(src, buf, MIB, 0, &got, &err) == XVA_OK);
		stop = 1;
		CHECK(xva_source_read(src, buf, MIB, 5 * MIB, &got, &err) ==
		      XVA_EINTR);
		CHECK(strcmp(err.msg, "interrupted") == 0);
		CHECK(xva_source_finish_pass(src, &err) == XVA_EINTR);
		xva_source_close(src);
	}
	CHECK(count_files(cache_dir, "") == 0);
	free(buf);
}

static void test_cache_max(void)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.cache_max = 20000,
					.s3_path_style = -1 };
	unsigned char *buf = malloc(MIB);
	struct xva_source *src;
	struct xva_err err;
	enum xva_status st = XVA_OK;
	size_t got;

	empty_dir(cache_dir);
	src = open_source(gz_path, &o);
	CHECK(src != NULL);
	if (src) {
		for (uint64_t pos = 0; st == XVA_OK; pos += MIB) {
			st = xva_source_read(src, buf, MIB, pos, &got, &err);
			if (st == XVA_OK && got < MIB)
				break;
		}
		if (st == XVA_OK)
			st = xva_source_finish_pass(src, &err);
		CHECK(st == XVA_ENOSPC);
		CHECK_MSG(strstr(err.msg, "would exceed the cap of 20000 bytes "
				 "(-o cache_max)"), "%s", err.msg);
		/* It stays failed. */
		CHECK(xva_source_finish_pass(src, &err) == XVA_ENOSPC);
		CHECK(count_files(cache_dir, "") == 0);
		xva_source_close(src);
	}
	CHECK(count_files(cache_dir, "") == 0);
	free(buf);
}

/* A real full file system, when a small tmpfs can be mounted. */
static void test_enospc(void)
{
	char mnt[300];
	struct xva_source_options o = { .cache_dir = mnt, .s3_path_style = -1 };
	struct xva_source *src;
	struct xva_err err;
	enum xva_status st;

	snprintf(mnt, sizeof(mnt), "%s/full", dir);
	mkdir(mnt, 0700);
	if (run("mount -t tmpfs -o size=64k xvafs-test %s 2>/dev/null", mnt)
	    != 0) {
		printf("note: no tmpfs mount here, the real ENOSPC case is "
		       "not tested\n");
		rmdir(mnt);
		return;
	}
	src = open_source(gz_path, &o);
	CHECK(src != NULL);
	if (src) {
		st = xva_source_finish_pass(src, &err);
		CHECK(st == XVA_ENOSPC);
		CHECK_MSG(strstr(err.msg, "no space left in the cache folder") &&
			  strstr(err.msg, mnt), "%s", err.msg);
		xva_source_close(src);
	}
	CHECK(count_files(mnt, "") == 0);
	run("umount %s", mnt);
	rmdir(mnt);
}

int main(void)
{
	need_tool("gzip");
	if (!mkdtemp(dir))
		skip("cannot create a temporary folder");
	snprintf(payload_path, sizeof(payload_path), "%s/payload", dir);
	snprintf(gz_path, sizeof(gz_path), "%s/payload.gz", dir);
	snprintf(work_path, sizeof(work_path), "%s/work.gz", dir);
	snprintf(cache_dir, sizeof(cache_dir), "%s/cache", dir);
	mkdir(cache_dir, 0700);
	payload = make_payload(PAYLOAD_SIZE);
	CHECK(write_file(payload_path, payload, PAYLOAD_SIZE) == 0);
	/* XAPI runs /bin/gzip with no options on a pipe. */
	CHECK(run("gzip -c < %s > %s", payload_path, gz_path) == 0);

	if (only("plain"))
		test_plain();
	if (only("persistence"))
		test_persistence();
	if (only("damaged_index"))
		test_damaged_index();
	if (only("flip_anywhere"))
		test_flip_anywhere();
	if (only("backlog"))
		test_backlog();
	if (only("unwritable_cache"))
		test_unwritable_cache();
	if (only("cut"))
		test_cut();
	if (only("corrupt"))
		test_corrupt();
	if (only("members"))
		test_members();
	if (only("small"))
		test_small();
	if (only("stop"))
		test_stop();
	if (only("cache_max"))
		test_cache_max();
	if (only("enospc"))
		test_enospc();

	free(payload);
	run("rm -rf %s", dir);
	return CHECK_DONE();
}
