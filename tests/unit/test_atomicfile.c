/* The atomic-file writer: a target holds the new bytes whole, or is as it
 * was, and no temporary file is left either way; failures name the path.
 * (That the folder is synced after the rename is checked on the system
 * calls, by tests/e2e/durable.sh.) */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "xvafs/atomicfile.h"

static char dir[] = "/tmp/xvafs-atomic-XXXXXX";

static char *slurp(const char *path)
{
	static char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n < 0 ? 0 : n] = '\0';
	return buf;
}

/* Entries in the folder whose names start with .tmp- */
static int temporaries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strncmp(e->d_name, ".tmp-", 5) == 0;
	if (d)
		closedir(d);
	return n;
}

int main(void)
{
	char target[128], sub[128], missing[128], *tmp, *got;
	struct xva_err err;
	struct stat st;
	int fd;

	if (!mkdtemp(dir))
		return 1;
	snprintf(target, sizeof(target), "%s/file", dir);
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(missing, sizeof(missing), "%s/no/such/file", dir);

	/* A new file: whole, 0600, no temporary left. */
	CHECK(xva_atomic_file_write(target, "first", 5, &err) == XVA_OK);
	got = slurp(target);
	CHECK(got && strcmp(got, "first") == 0);
	CHECK(stat(target, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(temporaries() == 0);

	/* Replacing it. */
	CHECK(xva_atomic_file_write(target, "second", 6, &err) == XVA_OK);
	got = slurp(target);
	CHECK(got && strcmp(got, "second") == 0);
	CHECK(temporaries() == 0);

	/* In steps: the temporary file is beside the target, the target is
	 * untouched until the commit, and the descriptor stays usable. */
	CHECK(xva_atomic_file_create(target, &tmp, &fd, &err) == XVA_OK);
	CHECK(strncmp(tmp, dir, strlen(dir)) == 0 &&
	      strncmp(tmp + strlen(dir), "/.tmp-file-", 11) == 0);
	CHECK(write(fd, "third", 5) == 5);
	got = slurp(target);
	CHECK(got && strcmp(got, "second") == 0);
	CHECK(xva_atomic_file_commit(fd, tmp, target, &err) == XVA_OK);
	CHECK(access(tmp, F_OK) != 0);
	got = slurp(target);
	CHECK(got && strcmp(got, "third") == 0);
	CHECK(pwrite(fd, "T", 1, 0) == 1);
	got = slurp(target);
	CHECK(got && strcmp(got, "Third") == 0);
	close(fd);
	free(tmp);

	/* A folder that does not exist: the error names the path. */
	CHECK(xva_atomic_file_write(missing, "x", 1, &err) == XVA_EIO);
	CHECK_MSG(strstr(err.msg, "/no/such/.tmp-file-") != NULL, "%s", err.msg);

	/* A target that cannot be replaced (a folder with an entry): the
	 * error names both paths, the folder stays, no temporary is left. */
	CHECK(mkdir(sub, 0700) == 0);
	snprintf(missing, sizeof(missing), "%s/sub/keep", dir);
	CHECK(xva_atomic_file_write(missing, "keep", 4, &err) == XVA_OK);
	CHECK(xva_atomic_file_write(sub, "x", 1, &err) == XVA_EIO);
	CHECK_MSG(strstr(err.msg, "cannot rename") && strstr(err.msg, sub),
		  "%s", err.msg);
	CHECK(stat(sub, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(temporaries() == 0);

	/* A bare name: the current folder. */
	CHECK(chdir(sub) == 0);
	CHECK(xva_atomic_file_write("bare", "bare", 4, &err) == XVA_OK);
	got = slurp("bare");
	CHECK(got && strcmp(got, "bare") == 0);

	unlink(missing);
	unlink("bare");
	rmdir(sub);
	unlink(target);
	rmdir(dir);
	return CHECK_DONE();
}
