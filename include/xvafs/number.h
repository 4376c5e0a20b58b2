/* The one parser of digits, for numbers in member names, in ova.xml and
 * in what users type (the front ends' option values). */
#ifndef XVAFS_NUMBER_H
#define XVAFS_NUMBER_H

#include <stdbool.h>
#include <stdint.h>

/* The digits of BASE (8 or 10) at the start of TEXT as *VALUE, *END just
 * after them. False when there is none, or the number is over UINT64_MAX
 * (TEXT NULL is none). */
bool xva_parse_digits(const char *text, unsigned base, uint64_t *value,
		      const char **end);

#endif
