/* The index pass must report where each member's data starts exactly: the
 * data is compared by content, and every 512-byte block of the pattern is
 * different, so an offset off by one header block fails. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "tartools.h"
#include "export/tarindex.h"

#define MAX_SEEN 64

struct seen {
	char name[400];
	uint64_t header_off, data_off, size;
};

struct collect {
	struct seen m[MAX_SEEN];
	size_t n;
};

static enum xva_status collect(void *ctx, const struct xva_tar_member *m,
			       struct xva_err *err)
{
	struct collect *c = ctx;

	(void)err;
	if (c->n < MAX_SEEN) {
		snprintf(c->m[c->n].name, sizeof(c->m[c->n].name), "%s", m->name);
		c->m[c->n].header_off = m->header_off;
		c->m[c->n].data_off = m->data_off;
		c->m[c->n].size = m->size;
	}
	c->n++;
	return XVA_OK;
}

static enum xva_status walk(const char *path, struct collect *c,
			    struct xva_err *err)
{
	struct xva_source *src;
	enum xva_status status;

	memset(c, 0, sizeof(*c));
	status = xva_source_file_open(path, NULL, &src, err);
	if (status != XVA_OK)
		return status;
	status = xva_tar_walk(src, collect, c, err);
	xva_source_close(src);
	return status;
}

static char long_name[300];

static const struct test_member members[] = {
	{ "ova.xml", 777, NULL, 1 },
	{ "Ref:1/00000000", 4096, NULL, 2 },
	{ "Ref:1/00000000.xxhash", 16, NULL, 3 },
	{ "Ref:1/00000002", 0, NULL, 4 },
	{ "Ref:1/00000002.xxhash", 16, NULL, 5 },
	{ "Ref:1/00000003", 1000, NULL, 6 },
	{ long_name, 2048, NULL, 7 },
	{ "Ref:1/00000004.checksum", 40, NULL, 8 },
};
#define N_MEMBERS (sizeof(members) / sizeof(members[0]))

static void check_layout(const char *format, bool with_long_name)
{
	size_t n = with_long_name ? N_MEMBERS : N_MEMBERS - 2;
	char path[] = "/tmp/xvafs-test-XXXXXX";
	struct collect c;
	struct xva_err err;
	enum xva_status st;
	uint64_t expected_header = 0;
	int fd = mkstemp(path);

	close(fd);
	CHECK(test_write_tar(path, format, members, n) == 0);
	st = walk(path, &c, &err);
	CHECK_MSG(st == XVA_OK, "%s: %s", format, err.msg);
	CHECK_MSG(c.n == n, "%s: %zu members, expected %zu", format, c.n, n);
	fd = open(path, O_RDONLY);
	for (size_t k = 0; k < c.n && k < n; k++) {
		const struct seen *s = &c.m[k];
		unsigned char *buf = malloc(s->size + 1);
		bool same = true;

		CHECK_MSG(strcmp(s->name, members[k].name) == 0, "%s: %s", format,
			  s->name);
		CHECK(s->size == members[k].size);
		CHECK_MSG(s->header_off == expected_header,
			  "%s: %s header at %llu, expected %llu", format, s->name,
			  (unsigned long long)s->header_off,
			  (unsigned long long)expected_header);
		/* Short names need exactly one header block. */
		if (strlen(members[k].name) < 100 && strcmp(format, "pax") != 0)
			CHECK_MSG(s->data_off == s->header_off + 512,
				  "%s: %s data at %llu", format, s->name,
				  (unsigned long long)s->data_off);
		CHECK(pread(fd, buf, s->size, (off_t)s->data_off) ==
		      (ssize_t)s->size);
		for (size_t i = 0; i < s->size; i++)
			same = same && buf[i] == test_pattern(members[k].seed, i);
		CHECK_MSG(same, "%s: data of %s at %llu is not the member's",
			  format, s->name, (unsigned long long)s->data_off);
		expected_header = s->data_off + (s->size + 511) / 512 * 512;
		free(buf);
	}
	close(fd);
	unlink(path);
}

/* Writes the usual members, then damages the file with FN. */
static enum xva_status damaged(void (*fn)(const char *path, void *arg),
				   void *arg, struct xva_err *err)
{
	char path[] = "/tmp/xvafs-test-XXXXXX";
	struct collect c;
	enum xva_status st;
	int fd = mkstemp(path);

	close(fd);
	test_write_tar(path, "v7", members, N_MEMBERS - 2);
	fn(path, arg);
	st = walk(path, &c, err);
	unlink(path);
	return st;
}

static void cut_at(const char *path, void *arg)
{
	off_t at = *(off_t *)arg;
	struct stat st;

	stat(path, &st);
	CHECK(truncate(path, at < 0 ? st.st_size + at : at) == 0);
}

static void poke(const char *path, void *arg)
{
	off_t at = *(off_t *)arg;
	int fd = open(path, O_RDWR);
	unsigned char b;

	CHECK(pread(fd, &b, 1, at) == 1);
	b ^= 0x01;
	CHECK(pwrite(fd, &b, 1, at) == 1);
	close(fd);
}

static void append_zeros(const char *path, void *arg)
{
	static const char zeros[8192];
	int fd = open(path, O_WRONLY | O_APPEND);

	(void)arg;
	CHECK(write(fd, zeros, sizeof(zeros)) == (ssize_t)sizeof(zeros));
	close(fd);
}

static void replace_with(const char *path, void *arg)
{
	FILE *f = fopen(path, "wb");

	fputs(arg, f);
	fclose(f);
}

/* A source in memory that records what the walk announces and reads. */
#define MAX_EVENTS 4096
struct mem_source {
	struct xva_source base;
	const unsigned char *data;
	uint64_t announced[MAX_EVENTS], read[MAX_EVENTS];
	size_t n_announced, n_read;
};

static enum xva_status mem_read(struct xva_source *src, void *buf, size_t len,
				uint64_t off, size_t *got, struct xva_err *err)
{
	struct mem_source *m = (struct mem_source *)src;

	(void)err;
	if (m->n_read < MAX_EVENTS)
		m->read[m->n_read++] = off;
	*got = off >= src->size ? 0 : src->size - off < len ? src->size - off
							      : len;
	memcpy(buf, m->data + off, *got);
	return XVA_OK;
}

static void mem_prefetch(struct xva_source *src, uint64_t off, uint64_t len)
{
	struct mem_source *m = (struct mem_source *)src;

	(void)len;
	if (m->n_announced < MAX_EVENTS)
		m->announced[m->n_announced++] = off;
}

static void mem_info(const struct xva_source *src, struct xva_source_info *i)
{
	(void)src;
	i->kind = "memory";
}

static void mem_close(struct xva_source *src)
{
	(void)src;
}

static bool was_announced(const struct mem_source *m, uint64_t off)
{
	for (size_t i = 0; i < m->n_announced; i++)
		if (m->announced[i] == off)
			return true;
	return false;
}

/* An export laid out as XAPI writes it, 300 chunks with a keep-alive in
 * the middle: the walk announces the positions of its reads ahead of
 * them, so a remote source can fetch them together, and wastes few
 * announcements when the stride breaks. */
static void test_prediction(void)
{
	static const struct xva_source_ops ops = {
		.read = mem_read, .prefetch = mem_prefetch, .info = mem_info,
		.close = mem_close,
	};
	enum { CHUNKS = 300, CHUNK = 65536 };
	struct test_member *m = calloc(2 * CHUNKS + 3, sizeof(*m));
	char (*names)[32] = calloc(2 * CHUNKS + 3, sizeof(*names));
	char path[] = "/tmp/xvafs-test-XXXXXX";
	struct mem_source *src = calloc(1, sizeof(*src));
	unsigned char *data;
	struct collect c;
	struct xva_err err;
	size_t n = 0, surprises = 0, unused = 0;
	struct stat st;
	int fd = mkstemp(path);

	m[n++] = (struct test_member){ "ova.xml", 100, NULL, 1 };
	for (unsigned i = 0; i < CHUNKS; i++) {
		snprintf(names[n], sizeof(names[n]), "Ref:1/%08u", i);
		m[n] = (struct test_member){ names[n], i == 150 ? 0 : CHUNK,
					     NULL, i };
		n++;
		snprintf(names[n], sizeof(names[n]), "Ref:1/%08u.xxhash", i);
		m[n] = (struct test_member){ names[n], 16, NULL, i };
		n++;
	}
	close(fd);
	CHECK(test_write_tar(path, "v7", m, n) == 0);
	CHECK(stat(path, &st) == 0);
	data = malloc((size_t)st.st_size);
	fd = open(path, O_RDONLY);
	CHECK(read(fd, data, (size_t)st.st_size) == st.st_size);
	close(fd);
	CHECK(xva_source_init(&src->base, &ops, "memory", "memory", &err) ==
	      XVA_OK);
	src->base.size = (uint64_t)st.st_size;
	src->base.skip_is_free = true;
	src->data = data;
	memset(&c, 0, sizeof(c));
	CHECK(xva_tar_walk(&src->base, collect, &c, &err) == XVA_OK);
	CHECK(c.n == n);
	for (size_t i = 0; i < src->n_read; i++)
		surprises += !was_announced(src, src->read[i]);
	for (size_t i = 0; i < src->n_announced; i++) {
		bool read = false;

		for (size_t j = 0; j < src->n_read && !read; j++)
			read = src->read[j] == src->announced[i];
		unused += !read;
	}
	/* The first reads set the stride; the keep-alive and the end break
	 * it: a handful of reads come unannounced. */
	CHECK_MSG(src->n_read > CHUNKS / 2 && surprises <= 12,
		  "%zu reads, %zu unannounced", src->n_read, surprises);
	/* Each break costs at most one window of guesses. */
	CHECK_MSG(unused <= 3 * 256, "%zu announced reads never came", unused);
	xva_source_fini(&src->base);
	free(src);
	free(data);
	free(names);
	free(m);
	unlink(path);
}

int main(void)
{
	struct xva_err err;
	off_t at;

	memcpy(long_name, "Ref:", 4);
	memset(long_name + 4, 'x', 150);
	strcpy(long_name + 154, "/00000004");

	check_layout("v7", false);
	check_layout("ustar", false);
	check_layout("gnu", false);
	check_layout("gnu", true);
	check_layout("pax", false);
	check_layout("pax", true);

	/* ova.xml 777 bytes -> data 512..1289, next header at 1536; the
	 * file is 1536 + 512 + 4096 + ... with the end marker last. */
	at = -1;  /* inside the end-of-archive marker */
	CHECK(damaged(cut_at, &at, &err) == XVA_ETRUNCATED);
	at = -1024; /* the marker gone: cut at a member boundary */
	CHECK(damaged(cut_at, &at, &err) == XVA_ETRUNCATED);
	CHECK_MSG(strstr(err.msg, "end-of-archive") != NULL, "%s", err.msg);
	at = 1536 + 512 + 100; /* inside Ref:1/00000000's data */
	CHECK(damaged(cut_at, &at, &err) == XVA_ETRUNCATED);
	CHECK_MSG(strstr(err.msg, "Ref:1/00000000") != NULL, "%s", err.msg);
	at = 1536 + 100; /* inside a header */
	CHECK(damaged(cut_at, &at, &err) == XVA_ETRUNCATED);
	at = 1536 + 10; /* a byte of the second header's name */
	CHECK(damaged(poke, &at, &err) == XVA_EFORMAT &&
	      err.reason == XVA_R_HEADER);
	CHECK_MSG(strstr(err.msg, "byte 1536") != NULL, "%s", err.msg);
	at = 148; /* the first header's checksum field */
	CHECK(damaged(poke, &at, &err) == XVA_EFORMAT &&
	      err.reason == XVA_R_NOT_TAR);
	CHECK(damaged(append_zeros, NULL, &err) == XVA_OK);
	CHECK(damaged(replace_with, "", &err) == XVA_EFORMAT &&
	      err.reason == XVA_R_EMPTY);
	CHECK(damaged(replace_with, "hello", &err) == XVA_EFORMAT &&
	      err.reason == XVA_R_NOT_TAR);
	test_prediction();
	return CHECK_DONE();
}
