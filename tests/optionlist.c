/* optionlist: the option table as lines a test can compare with what
 * is written by hand elsewhere (the bash completion, the man pages).
 *
 *   optionlist mount    each -o option as typed: NAME, or NAME= when it
 *                       takes a value
 *   optionlist flags    the command-line flags that are table options
 *   optionlist plugin   each plugin parameter as typed: NAME= (NAME=true
 *                       for a boolean) */
#include <stdio.h>
#include <string.h>

#include "front/options.h"

int main(int argc, char *argv[])
{
	const char *what = argc == 2 ? argv[1] : "";
	unsigned in = strcmp(what, "plugin") == 0 ? XVAFS_IN_PLUGIN
		      : XVAFS_IN_MOUNT;

	if (strcmp(what, "mount") != 0 && strcmp(what, "flags") != 0 &&
	    strcmp(what, "plugin") != 0) {
		fprintf(stderr, "usage: optionlist mount|flags|plugin\n");
		return 2;
	}
	for (size_t i = 0; i < XVAFS_N_OPTIONS; i++) {
		const struct xvafs_option *o = &xvafs_options[i];

		if (!(o->in & in))
			continue;
		if (strcmp(what, "flags") == 0) {
			if (o->flag)
				printf("%s\n", o->flag);
		} else if (in == XVAFS_IN_PLUGIN && o->type == XVAFS_TYPE_BOOL) {
			printf("%s=true\n", o->name);
		} else {
			printf("%s%s\n", o->name,
			       o->metavar || in == XVAFS_IN_PLUGIN ? "=" : "");
		}
	}
	return 0;
}
