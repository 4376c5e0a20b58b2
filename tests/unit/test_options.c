/* The option table: the one value parser, each option's range, and the
 * words that refuse a value (both front ends say them, and scripts and
 * people have read them for years: they stay as they were). */
#include <string.h>

#include "check.h"
#include "front/options.h"
#include "xvafs/number.h"

static const struct xvafs_option *opt(enum xvafs_option_id id)
{
	return &xvafs_options[id];
}

static bool takes(enum xvafs_option_id id, const char *text, uint64_t want)
{
	uint64_t v = ~0ull;

	return xvafs_option_parse(opt(id), text, &v) && v == want;
}

static bool refuses(enum xvafs_option_id id, const char *text)
{
	uint64_t v;

	return !xvafs_option_parse(opt(id), text, &v);
}

static void test_parsers(void)
{
	uint64_t v;
	const char *end;

	CHECK(xvafs_parse_uint("0", &v) && v == 0);
	CHECK(xvafs_parse_uint("18446744073709551615", &v) && v == UINT64_MAX);
	CHECK(!xvafs_parse_uint("18446744073709551616", &v));
	CHECK(!xvafs_parse_uint("", &v) && !xvafs_parse_uint(NULL, &v));
	CHECK(!xvafs_parse_uint("-1", &v) && !xvafs_parse_uint("+1", &v));
	CHECK(!xvafs_parse_uint(" 1", &v) && !xvafs_parse_uint("1 ", &v));
	CHECK(!xvafs_parse_uint("0x10", &v));
	CHECK(xvafs_parse_size("64M", &v) && v == 64ull << 20);
	CHECK(xvafs_parse_size("64m", &v) && v == 64ull << 20);
	CHECK(xvafs_parse_size("2GiB", &v) && v == 2ull << 30);
	CHECK(xvafs_parse_size("3kb", &v) && v == 3072);
	CHECK(xvafs_parse_size("1T", &v) && v == 1ull << 40);
	CHECK(xvafs_parse_size("123", &v) && v == 123);
	CHECK(!xvafs_parse_size("1P", &v) && !xvafs_parse_size("1MX", &v));
	CHECK(!xvafs_parse_size("1.5M", &v) && !xvafs_parse_size("M", &v));
	CHECK(!xvafs_parse_size("16777216T", &v)); /* 2^64 */
	CHECK(xva_parse_digits("0777x", 8, &v, &end) && v == 0777 &&
	      strcmp(end, "x") == 0);
	CHECK(!xva_parse_digits("8", 8, &v, &end));
}

static void test_ranges(void)
{
	CHECK(takes(XVAFS_OPT_PREFETCH, "0", 0));
	CHECK(takes(XVAFS_OPT_PREFETCH, "1G", 1ull << 30));
	CHECK(refuses(XVAFS_OPT_PREFETCH, "1025M"));
	CHECK(takes(XVAFS_OPT_READAHEAD_KB, "1048576", 1u << 20));
	CHECK(refuses(XVAFS_OPT_READAHEAD_KB, "1048577"));
	CHECK(takes(XVAFS_OPT_MEMORY, "4M", 4u << 20));
	CHECK(refuses(XVAFS_OPT_MEMORY, "4095K"));
	CHECK(takes(XVAFS_OPT_CACHE_MAX, "0", 0));
	CHECK(refuses(XVAFS_OPT_TIMEOUT, "0") && refuses(XVAFS_OPT_TIMEOUT, "3601"));
	CHECK(takes(XVAFS_OPT_TIMEOUT, "3600", 3600));
	CHECK(refuses(XVAFS_OPT_RETRIES, "0") && refuses(XVAFS_OPT_RETRIES, "101"));
	CHECK(takes(XVAFS_OPT_UID, "4294967294", 4294967294u));
	CHECK(refuses(XVAFS_OPT_UID, "4294967295"));
	CHECK(takes(XVAFS_OPT_UMASK, "027", 027) && takes(XVAFS_OPT_UMASK, "0", 0));
	CHECK(refuses(XVAFS_OPT_UMASK, "1000") && refuses(XVAFS_OPT_UMASK, "8"));
	CHECK(takes(XVAFS_OPT_OVERLAY_BLOCK, "65536", 65536));
	CHECK(refuses(XVAFS_OPT_OVERLAY_BLOCK, "0"));
	CHECK(refuses(XVAFS_OPT_OVERLAY_BLOCK, "12288"));
	CHECK(refuses(XVAFS_OPT_OVERLAY_BLOCK, "2048"));
	CHECK(refuses(XVAFS_OPT_OVERLAY_BLOCK, "131072"));
}

static void test_expected(void)
{
	static const struct {
		enum xvafs_option_id id;
		const char *text;
	} cases[] = {
		{ XVAFS_OPT_OVERLAY_BLOCK, "a power of two from 4096 to 65536" },
		{ XVAFS_OPT_READAHEAD_KB, "a number of KiB from 0 to 1048576" },
		{ XVAFS_OPT_PREFETCH, "a size up to 1G, such as 64M, or 0" },
		{ XVAFS_OPT_UID, "a user id from 0 to 4294967294" },
		{ XVAFS_OPT_GID, "a group id from 0 to 4294967294" },
		{ XVAFS_OPT_UMASK, "an octal mode from 000 to 777" },
		{ XVAFS_OPT_CACHE_MAX, "a size such as 20G" },
		{ XVAFS_OPT_MEMORY, "a size of at least 4M, such as 256M" },
		{ XVAFS_OPT_TIMEOUT, "seconds from 1 to 3600" },
		{ XVAFS_OPT_RETRIES, "a number of tries from 1 to 100" },
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		xvafs_option_expected(opt(cases[i].id), buf, sizeof(buf));
		CHECK_MSG(strcmp(buf, cases[i].text) == 0, "%s: \"%s\"",
			  opt(cases[i].id)->name, buf);
	}
}

/* Every row is whole: each has a front end, the numbers have words for
 * their messages and a default in range, and a name is used once. */
static void test_table(void)
{
	for (size_t i = 0; i < XVAFS_N_OPTIONS; i++) {
		const struct xvafs_option *o = &xvafs_options[i];
		bool number = o->type == XVAFS_TYPE_UINT ||
			      o->type == XVAFS_TYPE_SIZE ||
			      o->type == XVAFS_TYPE_OCTAL;

		CHECK_MSG(o->name && o->in, "row %zu", i);
		if (!o->name)
			continue;
		CHECK_MSG(!number || (o->noun && o->metavar), "%s", o->name);
		CHECK_MSG((o->type == XVAFS_TYPE_BOOL) == (o->metavar == NULL) ||
			  o->type == XVAFS_TYPE_FUSE, "%s", o->name);
		CHECK_MSG(xvafs_option_find(o->name, strlen(o->name), o->in) == o,
			  "%s is in the table twice", o->name);
		CHECK_MSG(!number || o->default_value == 0 ||
			  (o->default_value >= o->min &&
			   (!o->max || o->default_value <= o->max)),
			  "%s: the default is out of its range", o->name);
	}
}

int main(void)
{
	test_parsers();
	test_ranges();
	test_expected();
	test_table();
	return CHECK_DONE();
}
