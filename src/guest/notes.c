#include <stdio.h>
#include <stdlib.h>

#include "guest/notes.h"

enum xva_status guest_vnote(char ***notes, size_t *n, const char *fmt,
			    va_list ap)
{
	char **grown, *line;

	if (vasprintf(&line, fmt, ap) < 0)
		return XVA_ENOMEM;
	grown = realloc(*notes, (*n + 1) * sizeof(*grown));
	if (!grown) {
		free(line);
		return XVA_ENOMEM;
	}
	grown[(*n)++] = line;
	*notes = grown;
	return XVA_OK;
}
