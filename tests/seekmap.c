/* seekmap: prints a file's data ranges as the kernel reports them through
 * lseek(SEEK_DATA) and lseek(SEEK_HOLE), one "START END" line per range. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct stat st;
	off_t pos = 0;
	int fd;

	if (argc != 2) {
		fputs("usage: seekmap FILE\n", stderr);
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "seekmap: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	while (pos < st.st_size) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO)
				break;
			fprintf(stderr, "seekmap: SEEK_DATA at %lld: %s\n",
				(long long)pos, strerror(errno));
			return 1;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0) {
			fprintf(stderr, "seekmap: SEEK_HOLE at %lld: %s\n",
				(long long)data, strerror(errno));
			return 1;
		}
		printf("%lld %lld\n", (long long)data, (long long)hole);
		pos = hole;
	}
	return 0;
}
