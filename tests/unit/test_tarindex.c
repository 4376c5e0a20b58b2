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
#include "xvafs/tarindex.h"

#define MAX_SEEN 64

struct seen {
	char name[400];
	uint64_t header_off, data_off, size;
};

struct collect {
	struct seen m[MAX_SEEN];
	size_t n;
};

static int collect(void *ctx, const struct xva_tar_member *m,
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
	return 0;
}

static enum xva_tar_status walk(const char *path, struct collect *c,
				struct xva_err *err)
{
	struct stat st;
	enum xva_tar_status status;
	int fd = open(path, O_RDONLY);

	memset(c, 0, sizeof(*c));
	if (fd < 0 || fstat(fd, &st) < 0)
		return XVA_TAR_EIO;
	status = xva_tar_walk(fd, (uint64_t)st.st_size, collect, c, err);
	close(fd);
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
	enum xva_tar_status st;
	uint64_t expected_header = 0;
	int fd = mkstemp(path);

	close(fd);
	CHECK(test_write_tar(path, format, members, n) == 0);
	st = walk(path, &c, &err);
	CHECK_MSG(st == XVA_TAR_OK, "%s: %s", format, err.msg);
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
static enum xva_tar_status damaged(void (*fn)(const char *path, void *arg),
				   void *arg, struct xva_err *err)
{
	char path[] = "/tmp/xvafs-test-XXXXXX";
	struct collect c;
	enum xva_tar_status st;
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
	CHECK(damaged(cut_at, &at, &err) == XVA_TAR_ETRUNCATED);
	at = -1024; /* the marker gone: cut at a member boundary */
	CHECK(damaged(cut_at, &at, &err) == XVA_TAR_ETRUNCATED);
	CHECK_MSG(strstr(err.msg, "end-of-archive") != NULL, "%s", err.msg);
	at = 1536 + 512 + 100; /* inside Ref:1/00000000's data */
	CHECK(damaged(cut_at, &at, &err) == XVA_TAR_ETRUNCATED);
	CHECK_MSG(strstr(err.msg, "Ref:1/00000000") != NULL, "%s", err.msg);
	at = 1536 + 100; /* inside a header */
	CHECK(damaged(cut_at, &at, &err) == XVA_TAR_ETRUNCATED);
	at = 1536 + 10; /* a byte of the second header's name */
	CHECK(damaged(poke, &at, &err) == XVA_TAR_EHEADER);
	CHECK_MSG(strstr(err.msg, "byte 1536") != NULL, "%s", err.msg);
	at = 148; /* the first header's checksum field */
	CHECK(damaged(poke, &at, &err) == XVA_TAR_ENOTTAR);
	CHECK(damaged(append_zeros, NULL, &err) == XVA_TAR_OK);
	CHECK(damaged(replace_with, "", &err) == XVA_TAR_EEMPTY);
	CHECK(damaged(replace_with, "\x1f\x8b\x08rest", &err) ==
	      XVA_TAR_ECOMPRESSED);
	CHECK(strstr(err.msg, "gzip") != NULL);
	CHECK(damaged(replace_with, "\x28\xb5\x2f\xfd...", &err) ==
	      XVA_TAR_ECOMPRESSED);
	CHECK(strstr(err.msg, "zstd") != NULL);
	CHECK(damaged(replace_with, "hello", &err) == XVA_TAR_ENOTTAR);
	return CHECK_DONE();
}
