/* Minimal checks for the unit tests: report every failure, exit non-zero
 * at the end if any. */
#ifndef XVAFS_TEST_CHECK_H
#define XVAFS_TEST_CHECK_H

#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                         \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                           \
			check_failures++;                                   \
		}                                                           \
	} while (0)

#define CHECK_MSG(cond, ...)                                                \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, \
				__LINE__, #cond);                           \
			fprintf(stderr, __VA_ARGS__);                       \
			fputc('\n', stderr);                                \
			check_failures++;                                   \
		}                                                           \
	} while (0)

#define CHECK_DONE()                                                        \
	(check_failures ? (fprintf(stderr, "%d check(s) failed\n",          \
				   check_failures), 1) : 0)

#endif
