/* The zstd source against real zstd output (zstd -3 -c from a pipe, as
 * XAPI writes it: one frame, no content size, an XXH64 checksum): every
 * byte served in the pass, in random reads and from several threads is
 * compared with the payload; the chunk cache is reloaded, refused when
 * damaged or forged, and a damaged piece is an error that names the file;
 * cut, corrupt and checksum-failing streams are served up to their intact
 * part and say so. */
#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "compressed.h"
#include "xvafs/cachefile.h"

#define PAYLOAD_SIZE (24 * MIB + 777)

static char dir[] = "/tmp/xvafs-zs-XXXXXX";
static char payload_path[256], zst_path[256], cache_dir[256], work_path[256];
static char tmp_dir[256];
static unsigned char *payload;

static const struct expect *whole(void)
{
	static struct expect x;

	x.data = payload;
	x.len = PAYLOAD_SIZE;
	return &x;
}

static bool only(const char *name)
{
	const char *o = getenv("ONLY");

	return !o || strcmp(o, name) == 0;
}

static char *cache_file(struct xva_source *src)
{
	return xva_cache_path(cache_dir, src->identity, "zsc");
}

static void test_plain(void)
{
	struct xva_source_options o = { .s3_path_style = -1 };
	struct xva_source_info info;
	struct xva_source *src;
	struct stat st;

	src = open_source(zst_path, &o);
	CHECK(src != NULL);
	if (!src)
		return;
	CHECK(src->in_pass && src->size == XVA_SIZE_UNKNOWN);
	CHECK(!src->skip_is_free && src->fd < 0);
	CHECK(strncmp(src->identity, "zstd(file:", 10) == 0);
	/* The cache is an unlinked file in $TMPDIR: nothing to see there. */
	CHECK(count_files(tmp_dir, "") == 0);
	CHECK(full_check(src, whole(), 3000));
	CHECK(concurrent_reads(src, whole(), 6, 400));
	CHECK_MSG(!src->warning[0], "%s", src->warning);
	CHECK(!src->stream_damaged);
	xva_source_info(src, &info);
	CHECK(stat(zst_path, &st) == 0);
	CHECK(strcmp(info.kind, "zstd") == 0 && strcmp(info.over, "file") == 0);
	CHECK(info.stored_size == (uint64_t)st.st_size && !info.index_loaded);
	CHECK(info.cache_path[0] == '\0' && info.cache_bytes == 0);
	CHECK(info.access_points > 0 && info.access_points <= 25);
	CHECK(info.index_memory > 0);
	CHECK(count_files(tmp_dir, "") == 0);
	xva_source_close(src);
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
	src = open_source(zst_path, &o);
	CHECK(src && src->in_pass);
	if (!src)
		return;
	CHECK(full_check(src, whole(), 500));
	CHECK(stat(zst_path, &st) == 0);
	CHECK(log.calls >= 1 && log.done == (uint64_t)st.st_size &&
	      log.total == (uint64_t)st.st_size);
	xva_source_info(src, &info);
	path = cache_file(src);
	CHECK(path && strcmp(info.cache_path, path) == 0);
	CHECK(path && stat(path, &st) == 0 &&
	      info.cache_bytes == (uint64_t)st.st_size);
	/* Raw pieces: the payload (it has no MiB of zeros) and the table. */
	CHECK(info.cache_bytes > PAYLOAD_SIZE &&
	      info.cache_bytes < PAYLOAD_SIZE + MIB);
	free(path);
	xva_source_close(src);
	CHECK(count_files(cache_dir, ".tmp") == 0);

	src = open_source(zst_path, &o);
	CHECK(src && !src->in_pass && src->size == PAYLOAD_SIZE);
	if (!src)
		return;
	xva_source_info(src, &info);
	CHECK(info.index_loaded && info.cache_bytes > 0);
	CHECK(random_reads(src, whole(), 2000, 7));
	CHECK(concurrent_reads(src, whole(), 4, 300));
	CHECK(xva_source_finish_pass(src, NULL) == XVA_OK);
	xva_source_close(src);
}

static void rehash(unsigned char *file, size_t len)
{
	uint64_t frames_end = 0, h;

	for (int i = 7; i >= 0; i--)
		frames_end = frames_end << 8 | file[len - 128 + 40 + i];
	h = XXH64(file + frames_end, len - 8 - frames_end, 0);
	for (int i = 0; i < 8; i++)
		file[len - 8 + i] = (unsigned char)(h >> (8 * i));
}

enum damage {
	FLIP_MAGIC, FLIP_TABLE, FLIP_FOOTER, FLIP_LAST, TRUNCATE, EMPTY,
	FORGE_IDENTITY, FORGE_COUNT, FORGE_COFF, FORGE_CLEN, FORGE_KIND,
	FORGE_CSIZE, FORGE_USIZE, FORGE_VERSION, N_DAMAGE
};

/* With CAPPED, -o cache_max: the pieces are frames, else raw. */
static void test_damaged_cache(bool capped)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.cache_max = capped ? 1ull << 30 : 0,
					.s3_path_style = -1 };
	unsigned char want_kind = capped ? 0 : 2;

	for (int d = 0; d < N_DAMAGE; d++) {
		struct xva_source *src;
		unsigned char *file;
		size_t len, foot, table, npieces, first_frame = SIZE_MAX;
		char *path;

		empty_dir(cache_dir);
		src = open_source(zst_path, &o);
		if (!src || !full_check(src, whole(), 10)) {
			CHECK(!"building the cache");
			xva_source_close(src);
			return;
		}
		path = cache_file(src);
		xva_source_close(src);
		file = read_file(path, &len);
		CHECK(file && len > 144);
		if (!file || len <= 144) {
			free(path);
			return;
		}
		foot = len - 128;
		table = npieces = 0;
		for (int i = 7; i >= 0; i--) {
			table = table << 8 | file[foot + 40 + i];
			npieces = npieces << 8 | file[foot + 32 + i];
		}
		for (size_t i = 0; i < npieces && first_frame == SIZE_MAX; i++)
			if (file[table + i * 24 + 12] == want_kind)
				first_frame = i;
		CHECK(first_frame != SIZE_MAX);
		switch (d) {
		case FLIP_MAGIC: file[0] ^= 1; break;
		case FLIP_TABLE: file[table + 3] ^= 0x10; break;
		case FLIP_FOOTER: file[foot + 20] ^= 4; break;
		case FLIP_LAST: file[len - 1] ^= 1; break;
		case TRUNCATE: len -= 100; break;
		case EMPTY: len = 0; break;
		case FORGE_IDENTITY:
			file[table + npieces * 24 + 6] ^= 1;
			rehash(file, len);
			break;
		case FORGE_COUNT:
			file[foot + 32 + 6] = 0x7f;
			rehash(file, len);
			break;
		case FORGE_COFF:
			file[table + first_frame * 24] += 1;
			rehash(file, len);
			break;
		case FORGE_CLEN:
			file[table + first_frame * 24 + 8 + 3] = 0x7f;
			rehash(file, len);
			break;
		case FORGE_KIND:
			file[table + first_frame * 24 + 12] = 1;
			rehash(file, len);
			break;
		case FORGE_CSIZE:
			file[foot + 16] ^= 1;
			rehash(file, len);
			break;
		case FORGE_USIZE:
			/* 16 MiB off: a size the table disagrees with. (A
			 * forger who keeps everything consistent, say one
			 * byte less where the last piece is zeros, cannot be
			 * told from the real thing; what is checked is that
			 * nothing in the file is used unbounded.) */
			file[foot + 24 + 3] ^= 1;
			rehash(file, len);
			break;
		case FORGE_VERSION:
			/* A cache of version 1 (16-byte entries, frames
			 * only): rebuilt. */
			file[foot + 8] = 1;
			rehash(file, len);
			break;
		}
		CHECK(write_file(path, file, len) == 0);
		free(file);

		src = open_source(zst_path, &o);
		CHECK_MSG(src && src->in_pass, "damage %d was trusted", d);
		if (src) {
			CHECK_MSG(full_check(src, whole(), 200),
				  "damage %d: the rebuild", d);
			xva_source_close(src);
		}
		src = open_source(zst_path, &o);
		CHECK_MSG(src && !src->in_pass, "damage %d: not rebuilt", d);
		if (src)
			CHECK(random_reads(src, whole(), 100, (uint64_t)d));
		xva_source_close(src);
		free(path);
	}
}

/* A damaged piece (a frame, or a raw piece, which its hash guards) in a
 * cache that is otherwise fine shows when read: an error naming the file,
 * never other bytes. CAPPED as in test_damaged_cache. */
static void test_damaged_piece(bool capped)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.cache_max = capped ? 1ull << 30 : 0,
					.s3_path_style = -1 };
	unsigned char want_kind = capped ? 0 : 2;
	struct xva_source *src;
	unsigned char *file, *buf = malloc(MIB);
	size_t len, table = 0, npieces = 0, hit = SIZE_MAX, coff = 0, clen = 0;
	struct xva_err err;
	char *path;
	size_t got;

	empty_dir(cache_dir);
	src = open_source(zst_path, &o);
	CHECK(src && full_check(src, whole(), 10));
	path = src ? cache_file(src) : NULL;
	xva_source_close(src);
	file = path ? read_file(path, &len) : NULL;
	CHECK(file != NULL);
	if (!file) {
		free(path);
		free(buf);
		return;
	}
	for (int i = 7; i >= 0; i--) {
		table = table << 8 | file[len - 128 + 40 + i];
		npieces = npieces << 8 | file[len - 128 + 32 + i];
	}
	for (size_t i = npieces / 2; i < npieces && hit == SIZE_MAX; i++) {
		const unsigned char *e = file + table + i * 24;

		if (e[12] == want_kind) {
			hit = i;
			for (int k = 7; k >= 0; k--)
				coff = coff << 8 | e[k];
			clen = (size_t)e[8] | (size_t)e[9] << 8 |
			       (size_t)e[10] << 16;
		}
	}
	CHECK(hit != SIZE_MAX);
	file[coff + clen / 2] ^= 0x20;
	CHECK(write_file(path, file, len) == 0);
	src = open_source(zst_path, &o);
	CHECK(src && !src->in_pass);
	if (src) {
		CHECK(xva_source_read(src, buf, 4096, hit * MIB + 100, &got,
				      &err) == XVA_EIO);
		CHECK_MSG(strstr(err.msg, path) && strstr(err.msg, "damaged") &&
			  strstr(err.msg, "delete it"), "%s", err.msg);
		/* Its neighbours are fine. */
		CHECK(check_read(src, whole(), (hit - 1) * MIB, MIB, buf));
		xva_source_close(src);
	}
	free(file);
	free(path);
	free(buf);
}

/* One flipped bit anywhere in the table, identity, warning or footer, or
 * in the header: refused every time. (Frames carry their own checksums:
 * see test_damaged_piece.) */
static void test_flip_anywhere(void)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.s3_path_style = -1 };
	struct xva_source *src;
	unsigned char *file;
	size_t len, frames_end = 0;
	char *path;

	empty_dir(cache_dir);
	src = open_source(zst_path, &o);
	if (!src || !full_check(src, whole(), 10)) {
		CHECK(!"building the cache");
		xva_source_close(src);
		return;
	}
	path = cache_file(src);
	xva_source_close(src);
	file = read_file(path, &len);
	CHECK(file != NULL);
	for (int i = 7; file && i >= 0; i--)
		frames_end = frames_end << 8 | file[len - 128 + 40 + i];
	for (size_t i = 0; file && i < 42; i++) {
		size_t tail = len - frames_end;
		size_t at = i < 2 ? i * 9 : i == 41 ? len - 1
			    : frames_end + tail / 39 * (i - 2) + i % 5;

		file[at] ^= (unsigned char)(1 << (i % 8));
		CHECK(write_file(path, file, len) == 0);
		file[at] ^= (unsigned char)(1 << (i % 8));
		src = open_source(zst_path, &o);
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
	struct xva_source *src = open_source(zst_path, &o);
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
		CHECK_MSG(strstr(err.msg, "the zstd stream is read in one "
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

	snprintf(bad, sizeof(bad), "%s/sub/cache", payload_path);
	src = open_source(zst_path, &o);
	CHECK(src && src->in_pass);
	if (!src)
		return;
	CHECK_MSG(strstr(src->warning, "the zstd chunk cache is not kept") &&
		  strstr(src->warning, payload_path), "%s", src->warning);
	CHECK(full_check(src, whole(), 300));
	xva_source_info(src, &info);
	CHECK(info.cache_path[0] == '\0' && !info.index_loaded);
	CHECK(count_files(tmp_dir, "") == 0);
	xva_source_close(src);
}

/* What libzstd itself decodes of FILE, fed one byte per call so that a
 * failing call has no output left unaccounted. */
struct reference {
	size_t decoded;
	bool data_error, check_error, cut;
};

static struct reference reference_decode(const unsigned char *file, size_t len)
{
	struct reference r = { 0 };
	ZSTD_DStream *ds = ZSTD_createDStream();
	unsigned char *out = malloc(PAYLOAD_SIZE + MIB);
	ZSTD_outBuffer ob = { out, PAYLOAD_SIZE + MIB, 0 };
	size_t pos = 0, ret = 1;

	while (pos < len) {
		ZSTD_inBuffer ib = { file + pos, 1, 0 };

		ret = ZSTD_decompressStream(ds, &ob, &ib);
		if (ZSTD_isError(ret)) {
			r.check_error = ZSTD_getErrorCode(ret) ==
					ZSTD_error_checksum_wrong;
			r.data_error = !r.check_error;
			break;
		}
		pos += ib.pos;
	}
	r.cut = !ZSTD_isError(ret) && ret != 0;
	r.decoded = ob.pos;
	ZSTD_freeDStream(ds);
	free(out);
	return r;
}

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

static void test_cut(void)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.s3_path_style = -1 };
	size_t csize;
	unsigned char *zst = read_file(zst_path, &csize);
	size_t cuts[] = { 4, 7, csize / 10, csize / 2, csize - 5, csize - 4,
			  csize - 1 };

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct reference r = reference_decode(zst, cuts[i]);
		struct expect x = { payload, r.decoded };
		struct xva_source *src;
		char want[128];
		size_t served;

		CHECK(r.cut);
		empty_dir(cache_dir);
		CHECK(write_file(work_path, zst, cuts[i]) == 0);
		src = open_source(work_path, &o);
		CHECK(src != NULL);
		if (!src)
			continue;
		served = drain(src, r.decoded);
		CHECK_MSG(served == r.decoded && src->size == r.decoded,
			  "cut at %zu: served %zu, size %llu, want %zu", cuts[i],
			  served, (unsigned long long)src->size, r.decoded);
		snprintf(want, sizeof(want), "the zstd stream is cut short at "
			 "compressed byte %zu (uncompressed byte %zu)", cuts[i],
			 r.decoded);
		CHECK_MSG(strcmp(src->warning, want) == 0, "%s", src->warning);
		CHECK(!src->stream_damaged);
		CHECK(random_reads(src, &x, 300, i));
		xva_source_close(src);

		src = open_source(work_path, &o);
		CHECK(src && !src->in_pass && src->size == r.decoded);
		if (src) {
			CHECK(strcmp(src->warning, want) == 0);
			CHECK(random_reads(src, &x, 100, i));
		}
		xva_source_close(src);
	}
	free(zst);
}

/* Block headers of the first frame of FILE: offset and type of each. */
struct zblock {
	size_t off, size;
	int type; /* 0 raw, 1 RLE, 2 compressed */
};

static size_t frame_blocks(const unsigned char *f, size_t len,
			   struct zblock *out, size_t max)
{
	static const size_t fcs_len[4] = { 0, 2, 4, 8 };
	static const size_t did_len[4] = { 0, 1, 2, 4 };
	unsigned fhd = f[4];
	bool single = fhd & 0x20;
	size_t at = 5 + (single ? 0 : 1) + did_len[fhd & 3], n = 0;

	at += (fhd >> 6) == 0 ? (single ? 1 : 0) : fcs_len[fhd >> 6];
	while (at + 3 <= len && n < max) {
		unsigned h = f[at] | f[at + 1] << 8 | f[at + 2] << 16;
		size_t size = h >> 3;
		int type = (h >> 1) & 3;

		out[n++] = (struct zblock){ at, size, type };
		at += 3 + (type == 1 ? 1 : size);
		if (h & 1)
			break;
	}
	return n;
}

static void test_corrupt(void)
{
	struct xva_source_options o = { .s3_path_style = -1 };
	size_t csize, n_blocks, data_errors = 0;
	unsigned char *zst = read_file(zst_path, &csize);
	struct zblock *blocks = malloc(sizeof(*blocks) * 100000);
	bool raw_done = false;

	n_blocks = frame_blocks(zst, csize, blocks, 100000);
	CHECK(n_blocks > 50);
	/* A byte of a raw block: decodes fine, only the checksum can tell. */
	for (size_t i = n_blocks / 2; i < n_blocks && !raw_done; i++) {
		struct xva_source *src;
		size_t mark = blocks[i].off + 3 + blocks[i].size / 2;

		if (blocks[i].type != 0 || blocks[i].size < 100)
			continue;
		raw_done = true;
		zst[mark] ^= 0x40;
		CHECK(write_file(work_path, zst, csize) == 0);
		zst[mark] ^= 0x40;
		src = open_source(work_path, &o);
		CHECK(src != NULL);
		if (!src)
			break;
		CHECK(drain(src, 0) == PAYLOAD_SIZE);
		CHECK(src->stream_damaged && src->size == PAYLOAD_SIZE);
		CHECK_MSG(strstr(src->warning, "zstd frame 1, ending at "
				 "compressed byte") &&
			  strstr(src->warning, "fails its XXH64 content "
				 "checksum"), "%s", src->warning);
		xva_source_close(src);
	}
	CHECK(raw_done);

	/* Damage in compressed blocks and block headers mostly makes the
	 * decoder fail: the part before is exact, to the byte. */
	for (size_t k = 3; k < n_blocks && data_errors < 5; k += 37) {
		static const size_t into[] = { 0, 1, 2, 5, 40 };
		size_t mark = blocks[k].off + into[k % 5];
		struct xva_source *src;
		struct reference r;
		char want[96];
		size_t served;

		if (blocks[k].type != 2)
			continue;
		zst[mark] ^= 0xff;
		r = reference_decode(zst, csize);
		if (!r.data_error) {
			zst[mark] ^= 0xff;
			continue;
		}
		CHECK(write_file(work_path, zst, csize) == 0);
		zst[mark] ^= 0xff;
		data_errors++;
		src = open_source(work_path, &o);
		CHECK(src != NULL);
		if (!src)
			continue;
		served = drain(src, r.decoded);
		CHECK_MSG(served == r.decoded && src->size == r.decoded,
			  "mark %zu: served %zu, want %zu", mark, served,
			  r.decoded);
		CHECK(src->stream_damaged);
		snprintf(want, sizeof(want), "it is served up to uncompressed "
			 "byte %zu", r.decoded);
		CHECK_MSG(strstr(src->warning, "the zstd stream is corrupt at "
				 "compressed byte") && strstr(src->warning, want),
			  "%s", src->warning);
		CHECK(random_reads(src, &(struct expect){ payload, r.decoded },
				   50, mark));
		xva_source_close(src);
	}
	CHECK(data_errors >= 3);

	/* The frame's checksum itself. */
	{
		struct xva_source *src;

		zst[csize - 2] ^= 1;
		CHECK(write_file(work_path, zst, csize) == 0);
		zst[csize - 2] ^= 1;
		src = open_source(work_path, &o);
		CHECK(src != NULL);
		if (src) {
			char want[64];

			CHECK(drain(src, PAYLOAD_SIZE) == PAYLOAD_SIZE);
			CHECK(src->stream_damaged);
			snprintf(want, sizeof(want), "ending at compressed byte "
				 "%zu (", csize);
			CHECK_MSG(strstr(src->warning, "fails its XXH64") &&
				  strstr(src->warning, want), "%s",
				  src->warning);
			CHECK(random_reads(src, whole(), 100, 5));
			xva_source_close(src);
		}
	}
	free(blocks);
	free(zst);
}

static void test_frames(void)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.s3_path_style = -1 };
	size_t cut1 = 7 * MIB + 5, cut2 = 15 * MIB;
	struct xva_source *src;
	/* A skippable frame: magic, length, content. */
	static const unsigned char skippable[] = {
		0x50, 0x2a, 0x4d, 0x18, 5, 0, 0, 0, 'x', 'v', 'a', 'f', 's' };

	empty_dir(cache_dir);
	CHECK(write_file(work_path, payload, cut1) == 0);
	CHECK(run("zstd -q -3 -c < %s > %s.1", work_path, work_path) == 0);
	CHECK(write_file(work_path, payload, 0) == 0);
	CHECK(run("zstd -q -3 -c < %s > %s.2", work_path, work_path) == 0);
	CHECK(write_file(work_path, payload + cut1, cut2 - cut1) == 0);
	/* With its content size in the header, and no checksum. */
	CHECK(run("zstd -q -1 --no-check -c %s > %s.3", work_path,
		  work_path) == 0);
	CHECK(write_file(work_path, payload + cut2, PAYLOAD_SIZE - cut2) == 0);
	CHECK(run("zstd -q -19 -T2 -c < %s > %s.4", work_path, work_path) == 0);
	snprintf(work_path + strlen(work_path), 8, ".s");
	CHECK(write_file(work_path, skippable, sizeof(skippable)) == 0);
	work_path[strlen(work_path) - 2] = '\0';
	CHECK(run("cat %s.1 %s.2 %s.s %s.3 %s.2 %s.4 > %s", work_path,
		  work_path, work_path, work_path, work_path, work_path,
		  work_path) == 0);
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
		xva_source_close(src);
	}

	CHECK(run("printf 'not zstd' >> %s", work_path) == 0);
	src = open_source(work_path, &o);
	CHECK(src && full_check(src, whole(), 100));
	CHECK_MSG(src && strstr(src->warning, "8 bytes after the end of the "
				"zstd stream") && !src->stream_damaged, "%s",
		  src ? src->warning : "");
	xva_source_close(src);
	run("rm -f %s.1 %s.2 %s.3 %s.4 %s.s", work_path, work_path, work_path,
	    work_path, work_path);
}

static void test_small(void)
{
	struct xva_source_options o = { .cache_dir = cache_dir,
					.s3_path_style = -1 };
	size_t sizes[] = { 0, 1, 100, 4096, MIB, MIB + 1, 2 * MIB };

	/* And all zeros: every piece a mark, no frame. */
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]) + 1; i++) {
		bool zeros = i == sizeof(sizes) / sizeof(sizes[0]);
		size_t size = zeros ? 5 * MIB + 3 : sizes[i];
		unsigned char *data = zeros ? calloc(1, size) : payload;
		struct expect x = { data, size };

		for (int round = 0; round < 2; round++) {
			struct xva_source_info info;
			struct xva_source *src;

			if (round == 0) {
				CHECK(write_file(payload_path, data, size) == 0);
				CHECK(run("zstd -q -3 -c < %s > %s",
					  payload_path, work_path) == 0);
			}
			src = open_source(work_path, &o);
			CHECK(src && src->in_pass == (round == 0));
			if (!src)
				continue;
			if (round == 0)
				CHECK_MSG(full_check(src, &x, 50), "size %zu",
					  size);
			else
				CHECK(random_reads(src, &x, 50, 1));
			CHECK(src->size == size && !src->warning[0]);
			xva_source_info(src, &info);
			if (zeros)
				CHECK(info.access_points == 0);
			xva_source_close(src);
		}
		if (zeros)
			free(data);
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
	src = open_source(zst_path, &o);
	CHECK(src != NULL);
	if (src) {
		CHECK(xva_source_read(src, buf, MIB, 0, &got, &err) == XVA_OK);
		stop = 1;
		CHECK(xva_source_read(src, buf, MIB, 9 * MIB, &got, &err) ==
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
	for (int with_dir = 0; with_dir < 2; with_dir++) {
		struct xva_source_options o = {
			.cache_dir = with_dir ? cache_dir : NULL,
			.cache_max = 3 * MIB, .s3_path_style = -1 };
		unsigned char *buf = malloc(MIB);
		struct xva_source *src;
		struct xva_err err;
		enum xva_status st = XVA_OK;
		size_t got;

		empty_dir(cache_dir);
		src = open_source(zst_path, &o);
		CHECK(src != NULL);
		if (src) {
			for (uint64_t pos = 0; st == XVA_OK; pos += MIB) {
				st = xva_source_read(src, buf, MIB, pos, &got,
						     &err);
				if (st == XVA_OK && got < MIB)
					break;
			}
			if (st == XVA_OK)
				st = xva_source_finish_pass(src, &err);
			CHECK(st == XVA_ENOSPC);
			CHECK_MSG(strcmp(err.msg, "the chunk cache would exceed "
					 "the cap of 3145728 bytes (-o "
					 "cache_max)") == 0, "%s", err.msg);
			CHECK(xva_source_finish_pass(src, &err) == XVA_ENOSPC);
			CHECK(count_files(cache_dir, "") == 0);
			xva_source_close(src);
		}
		CHECK(count_files(cache_dir, "") == 0);
		CHECK(count_files(tmp_dir, "") == 0);
		free(buf);
	}
}

static void test_enospc(void)
{
	char mnt[300];
	struct xva_source_options o = { .cache_dir = mnt, .s3_path_style = -1 };
	struct xva_source *src;
	struct xva_err err;
	enum xva_status st;

	snprintf(mnt, sizeof(mnt), "%s/full", dir);
	mkdir(mnt, 0700);
	if (run("mount -t tmpfs -o size=1m xvafs-test %s 2>/dev/null", mnt)
	    != 0) {
		printf("note: no tmpfs mount here, the real ENOSPC case is "
		       "not tested\n");
		rmdir(mnt);
		return;
	}
	src = open_source(zst_path, &o);
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
	need_tool("zstd");
	if (!mkdtemp(dir))
		skip("cannot create a temporary folder");
	snprintf(payload_path, sizeof(payload_path), "%s/payload", dir);
	snprintf(zst_path, sizeof(zst_path), "%s/payload.zst", dir);
	snprintf(work_path, sizeof(work_path), "%s/work.zst", dir);
	snprintf(cache_dir, sizeof(cache_dir), "%s/cache", dir);
	mkdir(cache_dir, 0700);
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/tmp", dir);
	mkdir(tmp_dir, 0700);
	setenv("TMPDIR", tmp_dir, 1);
	payload = make_payload(PAYLOAD_SIZE);
	CHECK(write_file(payload_path, payload, PAYLOAD_SIZE) == 0);
	/* XAPI runs /usr/bin/zstd with no options on a pipe: level 3, one
	 * frame, no content size, a checksum. */
	CHECK(run("zstd -q -c < %s > %s", payload_path, zst_path) == 0);

	if (only("plain"))
		test_plain();
	if (only("persistence"))
		test_persistence();
	if (only("damaged_cache")) {
		test_damaged_cache(false);
		test_damaged_cache(true);
	}
	if (only("damaged_piece")) {
		test_damaged_piece(false);
		test_damaged_piece(true);
	}
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
	if (only("frames"))
		test_frames();
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
