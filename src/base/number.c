/* Digits to numbers, with the overflow checked. */
#include <stddef.h>

#include "xvafs/number.h"

bool xva_parse_digits(const char *text, unsigned base, uint64_t *value,
		      const char **end)
{
	uint64_t v = 0;
	const char *p = text;

	if (!p)
		return false;
	for (; *p >= '0' && (unsigned)(*p - '0') < base; p++) {
		unsigned digit = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - digit) / base)
			return false;
		v = v * base + digit;
	}
	if (p == text)
		return false;
	*value = v;
	*end = p;
	return true;
}
