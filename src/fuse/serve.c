/* Mounting and serving an opened export: the mount point, the default
 * mount options, the overlay and the vm/ files, the daemon's log, the
 * readahead, and the stopper thread that takes the stop signals. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_vmconfig.h"
#include "fuse/fs.h"
#include "front/options.h"
#include "fuse/serve.h"
#include "front/warnings.h"
#include "base/thread.h"
#include "cli/tools.h"
#include "xvafs/repository.h"

/* --- the mount point --- */

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Whether PATH (resolved) is a mount point; its type and source if so.
 * DEV gets the mount's "major:minor". */
static bool mounted_at(const char *path, char *what, size_t len, char *dev,
		       size_t dev_len)
{
	char line[8192];
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return false;
	/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - TYPE SOURCE ...":
	 * the last match is the one on top. */
	while (fgets(line, sizeof(line), f)) {
		char majmin[64], mnt[4096], type[256] = "?", source[4096] = "?";
		const char *dash = strstr(line, " - ");

		if (sscanf(line, "%*u %*u %63s %*s %4095s", majmin, mnt) != 2)
			continue;
		unescape(mnt);
		if (strcmp(mnt, path) != 0)
			continue;
		if (dash)
			sscanf(dash + 3, "%255s %4095s", type, source);
		unescape(source);
		snprintf(what, len, "%s from %s", type, source);
		snprintf(dev, dev_len, "%s", majmin);
		found = true;
	}
	fclose(f);
	return found;
}

int check_mountpoint(const char *mnt)
{
	char resolved[PATH_MAX], what[512], dev[64];
	struct stat st;
	struct dirent *e;
	bool empty = true;
	DIR *dir;

	if (stat(mnt, &st) < 0) {
		if (errno == ENOTCONN)
			fprintf(stderr, "xvafs: %s: %s: an xvafs (or another FUSE "
				"daemon) that served it has died; run "
				"fusermount3 -u %s first\n", mnt, strerror(errno),
				mnt);
		else if (errno == ENOENT)
			fprintf(stderr, "xvafs: %s: cannot mount there: %s; "
				"create the folder first (mkdir %s)\n", mnt,
				strerror(errno), mnt);
		else
			fprintf(stderr, "xvafs: %s: cannot mount there: %s\n", mnt,
				strerror(errno));
		return XVAFS_EXIT_MOUNT;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "xvafs: %s: not a folder; mount on a folder "
			"(mkdir it first)\n", mnt);
		return XVAFS_EXIT_MOUNT;
	}
	if (realpath(mnt, resolved) &&
	    mounted_at(resolved, what, sizeof(what), dev, sizeof(dev))) {
		struct statfs sf;

		/* A dead daemon's mount answers from the kernel's caches, but
		 * statfs always asks the daemon. */
		if (statfs(mnt, &sf) < 0 && errno == ENOTCONN) {
			fprintf(stderr, "xvafs: %s: %s: an xvafs (or another FUSE "
				"daemon) that served it has died; run "
				"fusermount3 -u %s first\n", mnt, strerror(errno),
				mnt);
			return XVAFS_EXIT_MOUNT;
		}
		fprintf(stderr, "xvafs: %s is already a mount point (%s); "
			"unmount it first (fusermount3 -u %s or umount %s), or "
			"mount somewhere else\n", mnt, what, mnt, mnt);
		return XVAFS_EXIT_MOUNT;
	}
	dir = opendir(mnt);
	while (dir && (e = readdir(dir)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = false;
			break;
		}
	if (dir)
		closedir(dir);
	if (!empty)
		fprintf(stderr, "xvafs: %s is not empty: what it holds is hidden "
			"while the export is mounted there\n", mnt);
	return XVAFS_EXIT_OK;
}

/* --- logging --- */

static FILE *log_file;

/* fuse_log_func_t gives its format without the printf attribute. */
static void log_to_syslog(enum fuse_log_level level, const char *fmt,
			  va_list ap) __attribute__((format(printf, 2, 0)));
static void log_to_file(enum fuse_log_level level, const char *fmt,
			va_list ap) __attribute__((format(printf, 2, 0)));

static void log_to_syslog(enum fuse_log_level level, const char *fmt,
			  va_list ap)
{
	vsyslog((int)level, fmt, ap);
}

static void log_to_file(enum fuse_log_level level, const char *fmt,
			va_list ap)
{
	char stamp[64];
	time_t t = time(NULL);
	struct tm tm;

	(void)level;
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	fprintf(log_file, "%s [%ld] ", stamp, (long)getpid());
	vfprintf(log_file, fmt, ap);
	fflush(log_file);
}

/* -o log=PATH, opened before anything is mounted so that an error reaches
 * the terminal. */
int open_log(const char *path)
{
	log_file = fopen(path, "ae");
	if (!log_file) {
		fprintf(stderr, "xvafs: -o log=%s: %s\n", path, strerror(errno));
		return XVAFS_EXIT_USAGE;
	}
	return XVAFS_EXIT_OK;
}

void close_log(void)
{
	if (log_file)
		fclose(log_file);
}

/* --- serving --- */

/* The kernel's readahead for a FUSE mount can only be raised through its
 * backing device's sysfs entry. */
static int set_readahead(const char *mountpoint, unsigned kb)
{
	char resolved[PATH_MAX], what[512], dev[64], path[128];
	FILE *f;

	if (!realpath(mountpoint, resolved) ||
	    !mounted_at(resolved, what, sizeof(what), dev, sizeof(dev))) {
		errno = ENOENT;
		return -1;
	}
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "%u\n", kb);
	return fclose(f) == 0 ? 0 : -1;
}

/* Mount options go first so that the user's own -o can override them. */
static int add_default_options(struct fuse_args *args, const char *image,
			       bool writable)
{
	char resolved[PATH_MAX];
	char *opts = NULL, *fsname = NULL;
	int ret = -1;

	if (xva_location_is_url(image) || !realpath(image, resolved))
		snprintf(resolved, sizeof(resolved), "%s", image);
	if (asprintf(&fsname, "fsname=%s", resolved) < 0)
		return -1;
	/* The kernel enforces the modes, so that allow_other, uid, gid and
	 * umask mean what they say. */
	if (fuse_opt_add_opt(&opts, writable ? "rw" : "ro") == 0 &&
	    fuse_opt_add_opt(&opts, "default_permissions") == 0 &&
	    fuse_opt_add_opt(&opts, "subtype=xvafs") == 0 &&
	    fuse_opt_add_opt_escaped(&opts, fsname) == 0 &&
	    fuse_opt_insert_arg(args, 1, "-o") == 0 &&
	    fuse_opt_insert_arg(args, 2, opts) == 0)
		ret = 0;
	free(opts);
	free(fsname);
	return ret;
}

/* Stopping like umount: a signal unmounts the file system unless it is
 * busy (a loop device or an open file uses it); then it stays mounted
 * and serving, retrying every second, until it is free or a second
 * signal forces the stop. The signals are taken by this thread alone:
 * from before the mount on, every other thread blocks them, so that one
 * sent at any moment waits for it instead of killing the process (and
 * leaving a dead mount) with the default action. */

/* The stop signals: SIGINT, SIGTERM and SIGHUP. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/* A stop signal that came after the export was opened and before the
 * stopper could take it is remembered in xvafs_interrupted (where the
 * handler installed for the index pass puts one that came before the
 * mount). A pending one is moved there too: fork() would drop it, and
 * the daemon must still stop. */
static void take_pending_stop(void)
{
	const struct timespec now = { 0, 0 };
	sigset_t set;
	int sig;

	stop_signals(&set);
	while ((sig = sigtimedwait(&set, NULL, &now)) > 0)
		xvafs_interrupted = sig;
}

struct stopper {
	struct fuse_session *se;
	const char *mountpoint;
	pthread_t main_thread;
	sigset_t signals; /* SIGINT, SIGTERM, SIGHUP, and SIGUSR2 to quit */
	/* Set by the main thread before its SIGUSR2, so that a SIGUSR2 sent
	 * to the process from outside is not taken for the end of serving
	 * (which would leave the stop signals with nobody to take them). */
	atomic_bool served;
};

static int unmount_unless_busy(const char *mnt)
{
	pid_t pid;
	int status;

	if (geteuid() == 0)
		return umount2(mnt, UMOUNT_NOFOLLOW);
	/* fusermount3 -u refuses a busy mount as umount does. */
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, STDERR_FILENO);
		execlp("fusermount3", "fusermount3", "-u", "-q", "--", mnt,
		       (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void wake_main(int sig)
{
	(void)sig;
}

static void *stop_on_signal(void *arg)
{
	struct stopper *s = arg;
	bool asked = false;
	/* A stop that came before this thread did is its first signal. */
	int early = xvafs_interrupted;

	for (;;) {
		struct timespec second = { 1, 0 };
		int sig = early ? early
			  : asked ? sigtimedwait(&s->signals, NULL, &second)
				  : sigwaitinfo(&s->signals, NULL);

		early = 0;

		if (sig == SIGUSR2) {
			if (atomic_load(&s->served))
				return NULL; /* the file system has stopped */
			continue; /* not ours */
		}
		if (sig < 0 && errno != EAGAIN)
			continue;
		if (sig > 0 && asked) {
			fuse_log(FUSE_LOG_WARNING, "xvafs: %s: second signal: "
				 "stopping now; what still uses the mount gets "
				 "\"Transport endpoint is not connected\"\n", s->mountpoint);
			fuse_session_exit(s->se);
			pthread_kill(s->main_thread, SIGUSR1);
			return NULL;
		}
		if (unmount_unless_busy(s->mountpoint) == 0)
			continue; /* the loop ends; main sends SIGUSR2 */
		if (sig > 0) {
			fuse_log(FUSE_LOG_WARNING, "xvafs: %s is busy (a loop "
				 "device or an open file uses it): staying mounted "
				 "and serving until it is free; signal again to "
				 "stop now\n", s->mountpoint);
			asked = true;
		}
	}
}

static int serve(struct fuse_session *se, const struct fuse_cmdline_opts *o)
{
	struct fuse_loop_config *config;
	int ret;

	if (o->singlethread)
		return fuse_session_loop(se);
	config = fuse_loop_cfg_create();
	if (!config)
		return -1;
	fuse_loop_cfg_set_clone_fd(config, (unsigned)o->clone_fd);
	/* UINT_MAX is fuse_parse_cmdline's "not given": keep libfuse's own
	 * defaults then. */
	if (o->max_idle_threads != UINT_MAX)
		fuse_loop_cfg_set_idle_threads(config, o->max_idle_threads);
	if (o->max_threads != UINT_MAX)
		fuse_loop_cfg_set_max_threads(config, o->max_threads);
	ret = fuse_session_loop_mt(se, config);
	fuse_loop_cfg_destroy(config);
	return ret;
}

/* Serves until unmounted, with signals taken by a stopper thread. */
static int serve_until_stopped(struct fuse_session *se,
			       const struct fuse_cmdline_opts *o)
{
	struct stopper s = { se, o->mountpoint, pthread_self(), { { 0 } }, false };
	struct sigaction sa;
	pthread_t thread;
	int ret;

	stop_signals(&s.signals);
	sigaddset(&s.signals, SIGUSR2);
	/* The stop signals are blocked already (mount_and_serve); SIGUSR2
	 * too now, in the threads libfuse starts, which inherit the mask. */
	pthread_sigmask(SIG_BLOCK, &s.signals, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = wake_main; /* no SA_RESTART: interrupts the wait */
	sigaction(SIGUSR1, &sa, NULL);
	ret = xva_thread_start(&thread, stop_on_signal, &s);
	if (ret != 0) {
		fuse_log(FUSE_LOG_ERR, "xvafs: cannot start the thread that "
			 "takes the stop signals: %s\n", strerror(ret));
		return -1;
	}
	ret = serve(se, o);
	atomic_store(&s.served, true);
	pthread_kill(thread, SIGUSR2);
	pthread_join(thread, NULL);
	/* A signal number from libfuse is a stop asked for, not a failure. */
	return ret < 0 ? ret : 0;
}

static int open_overlay(const struct cli *cli, const struct settings *s,
			struct xvafs_fs *fs, const char *mountpoint)
{
	char *dir = cli->value[XVAFS_OPT_OVERLAY], holder[PATH_MAX + 32];
	struct xva_err err;
	enum xva_status st;

	if (!dir && asprintf(&dir, "%s.overlay", cli->image) < 0) {
		fprintf(stderr, "xvafs: out of memory\n");
		return XVAFS_EXIT_MOUNT;
	}
	/* mount(8) passes "rw" for fstab's "defaults": writes next to an
	 * export are only ever made where someone made room for them. */
	if (!cli->value[XVAFS_OPT_OVERLAY] && access(dir, F_OK) != 0) {
		fprintf(stderr, "xvafs: %s: -o rw keeps the disks' writes in this "
			"folder, which does not exist: create it to allow writes, "
			"give -o overlay=DIR, or mount with -o ro (fstab's "
			"\"defaults\" means rw)\n", dir);
		if (dir != cli->value[XVAFS_OPT_OVERLAY])
			free(dir);
		return XVAFS_EXIT_USAGE;
	}
	snprintf(holder, sizeof(holder), "mounted at %s", mountpoint);
	st = xva_overlay_open(fs->xva, dir, XVA_OVL_WRITE, s->overlay_block,
			      holder, &fs->overlay, &err);
	if (st != XVA_OK)
		fprintf(stderr, "xvafs: %s: %s\n", dir, err.msg);
	if (dir != cli->value[XVAFS_OPT_OVERLAY])
		free(dir);
	return st == XVA_OK ? XVAFS_EXIT_OK
			    : xvafs_exit_for(st, XVAFS_AT_MOUNT_OVERLAY);
}

/* vm/NAME.OVMF_VARS.fd, vm/NAME.tpm2-00.permall: the firmware state the
 * configurations copy on the VM's first start. */
static int add_vm_firmware_files(struct xvafs_fs *fs, fuse_ino_t dir,
				 const struct xva_vm *vm)
{
	struct xva_vm_file files[XVA_VM_MAX_FILES];
	size_t n = xva_vm_files(vm, files);

	for (size_t i = 0; i < n; i++) {
		char *name = NULL, *copy = malloc(files[i].len);

		if (!copy || asprintf(&name, "%s%s", vm->file_stem,
				      files[i].suffix) < 0) {
			free(copy);
			return -1;
		}
		memcpy(copy, files[i].data, files[i].len);
		if (xvafs_fs_add_text(fs, dir, XVA_NAME_VM, name, copy,
				      files[i].len, false) != 0) {
			free(name);
			return -1;
		}
		free(name);
	}
	return 0;
}

/* vm/NAME.cfg, .xml and .qemu.sh in the folder DIR: the export's VM for
 * xl, libvirt and qemu, its disks in this mount (under MOUNTPOINT/PATH
 * for a repository's backup, IMAGE its .xva; PATH NULL for the mount of
 * one export, IMAGE the export as given). An
 * export whose VM record is missing or cannot be right mounts without
 * them (the disks are what matter); --vm-config and --list --json say
 * why. BRIDGE (may be NULL) is every NIC's bridge. */
static int add_vm_files(struct xvafs_fs *fs, struct xva *xva, fuse_ino_t dir,
			const char *image, const char *mountpoint,
			const char *path, const char *bridge)
{
	const char *base = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
	char *where = NULL;
	struct xva_vm *vm;
	struct xva_err err;
	int ret = 0;

	if (!xva->ova || xva->ova->n_vms == 0)
		return 0;
	if (asprintf(&where, "%s%s%s", mountpoint, path ? "/" : "",
		     path ? path : "") < 0)
		return -1;
	vm = xvafs_vm_of(xva, bridge, &err);
	if (!vm) {
		free(where);
		return err.status == XVA_ENOMEM ? -1 : 0;
	}
	for (int format = 0; format < XVA_VM_N_FORMATS && !ret; format++) {
		char *text = NULL, *name = NULL;
		size_t len;

		/* A repository's backup is read-only where its disks are: the
		 * header says to mount its .xva (IMAGE) to run the VM. */
		if (xva_vm_write_read_only(vm, format, where, base,
					   path ? image : NULL, &text, &len,
					   &err) != XVA_OK) {
			fuse_log(FUSE_LOG_WARNING, "xvafs: %s: no vm/ files: %s\n",
				 path ? path : image, err.msg);
			break;
		}
		if (asprintf(&name, "%s%s", vm->file_stem,
			     xva_vm_format_suffix(format)) < 0) {
			free(text);
			ret = -1;
			break;
		}
		ret = xvafs_fs_add_text(fs, dir, XVA_NAME_VM, name, text, len,
					xva_vm_format_executable(format));
		free(name);
	}
	if (!ret)
		ret = add_vm_firmware_files(fs, dir, vm);
	xva_vm_free(vm);
	free(where);
	return ret;
}

static void say_warning(void *ctx, const char *message)
{
	fprintf(stderr, "xvafs: %s: %s\n", (const char *)ctx, message);
}

/* The mount's own vm/ files for a repository's backup, when its folder
 * is first looked into. */
static struct {
	const char *mountpoint;
	const char *bridge;
} repo_vm_files;

static int fill_backup(struct xvafs_fs *fs, struct xva *xva, fuse_ino_t dir,
		       const char *path, const char *location)
{
	return add_vm_files(fs, xva, dir, location, repo_vm_files.mountpoint,
			    path, repo_vm_files.bridge);
}

/* Mounts FS (laid out) and serves it until unmounted; XVA is the export
 * it serves, or NULL for a repository. */
static int serve_fs(struct fuse_args *args, const struct cli *cli,
		    const struct settings *s,
		    const struct fuse_cmdline_opts *opts, struct xvafs_fs *fs,
		    struct xva *xva)
{
	struct fuse_session *se;
	char holder[PATH_MAX + 32];
	bool daemonized;
	int status = XVAFS_EXIT_MOUNT;

	se = fuse_session_new(args, &xvafs_ops, sizeof(xvafs_ops), fs);
	if (!se)
		return status; /* libfuse has said why */
	if (fuse_session_mount(se, opts->mountpoint) != 0)
		goto out;
	/* Replies that libfuse 3.14 cannot ask for, and notifications. */
	if (xvafs_fs_attach_session(fs, se) != 0) {
		fprintf(stderr, "xvafs: cannot set up the mount's replies: %s\n",
			strerror(errno));
		goto out_unmount;
	}
	if (s->readahead_kb && set_readahead(opts->mountpoint, s->readahead_kb) != 0)
		fprintf(stderr, "xvafs: %s: cannot set readahead_kb=%u: %s "
			"(serving with the kernel's default)\n", opts->mountpoint,
			s->readahead_kb, strerror(errno));
	/* A remote source's I/O thread would not live on in the daemon. A
	 * repository's backups are opened in the daemon, after the fork. */
	if (xva)
		xva_open_before_fork(xva);
	take_pending_stop();
	daemonized = fuse_daemonize(opts->foreground) == 0;
	if (xva)
		xva_open_after_fork(xva);
	if (!daemonized)
		goto out_unmount;
	if (log_file) {
		fuse_set_log_func(log_to_file);
	} else if (!opts->foreground) {
		openlog("xvafs", LOG_PID, LOG_DAEMON);
		fuse_set_log_func(log_to_syslog);
	}
	/* The daemon is another process now: the overlay's holder too. */
	snprintf(holder, sizeof(holder), "mounted at %s", opts->mountpoint);
	if (fs->overlay)
		xva_overlay_set_holder(fs->overlay, holder);
	if (serve_until_stopped(se, opts) == 0)
		status = XVAFS_EXIT_OK;
out_unmount:
	fuse_session_unmount(se);
out:
	fuse_session_destroy(se);
	(void)cli;
	return status;
}

/* The mount's settings, common to both kinds. */
static void fs_settings(struct xvafs_fs *fs, const struct cli *cli,
			const struct settings *s)
{
	fs->splice = !cli->flag[XVAFS_OPT_NOSPLICE];
	fs->readahead_kb = s->readahead_kb;
	fs->prefetch = s->prefetch;
	fs->uid = s->uid_set ? s->uid : getuid();
	fs->gid = s->gid_set ? s->gid : getgid();
	fs->umask = s->umask;
}

/* -o bridge=, when given, names a bridge (said when it does not). */
static bool bridge_ok(const struct cli *cli)
{
	const char *bridge = cli->value[XVAFS_OPT_BRIDGE];

	if (!bridge || xva_vm_bridge_valid(bridge))
		return true;
	fprintf(stderr, "xvafs: bridge=%s: not a bridge name (at most 15 "
		"letters, digits, '_', '.' or '-')\n", bridge);
	return false;
}

/* Mounts XVA at the mount point and serves it until unmounted. */
int mount_and_serve(struct fuse_args *args, const struct cli *cli,
		    const struct settings *s,
		    const struct fuse_cmdline_opts *opts, struct xva *xva)
{
	struct xvafs_fs fs = { 0 };
	struct xva_err err;
	sigset_t stops;
	int status;

	/* Blocked in this thread, and in every thread started from here on,
	 * until the stopper takes them: a stop signal during the mount, the
	 * fork or the start of serving is not lost, and never kills the
	 * process with the file system mounted. */
	if (!bridge_ok(cli))
		return XVAFS_EXIT_USAGE;
	stop_signals(&stops);
	pthread_sigmask(SIG_BLOCK, &stops, NULL);
	if (xva_direct_errno(xva))
		fprintf(stderr, "xvafs: %s: cannot open the export with O_DIRECT "
			"(%s); O_DIRECT readers will be served through the page "
			"cache\n", cli->image, strerror(xva_direct_errno(xva)));
	fs.xva = xva;
	fs_settings(&fs, cli, s);
	if (cli->flag[XVAFS_OPT_RW] || cli->value[XVAFS_OPT_OVERLAY]) {
		status = open_overlay(cli, s, &fs, opts->mountpoint);
		if (status != XVAFS_EXIT_OK)
			return status;
	}
	status = XVAFS_EXIT_MOUNT;
	if (xvafs_fs_init(&fs, xva) != 0 ||
	    add_vm_files(&fs, xva, FUSE_ROOT_ID, cli->image, opts->mountpoint,
			 NULL, cli->value[XVAFS_OPT_BRIDGE]) != 0 ||
	    add_default_options(args, cli->image, fs.overlay != NULL) != 0) {
		fprintf(stderr, "xvafs: out of memory\n");
	} else {
		/* What is odd inside the disks, as --list says it. */
		xvafs_guest_warnings(xva, fs.guest, say_warning,
				     (void *)cli->image);
		status = serve_fs(args, cli, s, opts, &fs, xva);
	}
	xvafs_fs_destroy(&fs);
	/* Whatever was written and not yet synced is made durable now. */
	if (xva_overlay_close(fs.overlay, &err) != XVA_OK) {
		fuse_log(FUSE_LOG_ERR, "xvafs: %s: %s\n", cli->image, err.msg);
		status = XVAFS_EXIT_MOUNT;
	}
	return status;
}

int mount_repository(struct fuse_args *args, const struct cli *cli,
		     const struct settings *s,
		     const struct fuse_cmdline_opts *opts,
		     struct xva_repo *repo, const struct xva_open_options *oo)
{
	struct xvafs_fs fs = { 0 };
	sigset_t stops;
	int status = XVAFS_EXIT_MOUNT;

	if (!bridge_ok(cli))
		return XVAFS_EXIT_USAGE;
	/* Said once here, and again in the log for each backup served so. */
	if (repo->alg != XVA_CRYPT_NONE && cli->flag[XVAFS_OPT_UNAUTHENTICATED])
		fprintf(stderr, "xvafs: %s: unauthenticated: each encrypted "
			"backup is served before its %s tag is checked, so its "
			"data may have been altered (xvafs --verify checks "
			"them)\n", cli->image, xva_crypt_alg_name(repo->alg));
	/* As mount_and_serve. */
	stop_signals(&stops);
	pthread_sigmask(SIG_BLOCK, &stops, NULL);
	fs_settings(&fs, cli, s);
	fs.open_options = oo;
	fs.verify_backups = cli->flag[XVAFS_OPT_VERIFY] != 0;
	fs.fill_backup = fill_backup;
	repo_vm_files.mountpoint = opts->mountpoint;
	repo_vm_files.bridge = cli->value[XVAFS_OPT_BRIDGE];
	if (xvafs_fs_init_repo(&fs, repo, cli->value[XVAFS_OPT_VM]) != 0 ||
	    add_default_options(args, cli->image, false) != 0)
		fprintf(stderr, "xvafs: out of memory\n");
	else if (atomic_load(&fs.n_nodes) == 1 && cli->value[XVAFS_OPT_VM]) {
		/* As --list and --verify say it. */
		fprintf(stderr, "xvafs: %s: no VM or backup is %s (--list shows "
			"them)\n", cli->image, cli->value[XVAFS_OPT_VM]);
		status = XVAFS_EXIT_USAGE;
	} else if (atomic_load(&fs.n_nodes) == 1) {
		fprintf(stderr, "xvafs: %s: no full backup to mount\n",
			cli->image);
		status = XVAFS_EXIT_BAD_INPUT;
	} else
		status = serve_fs(args, cli, s, opts, &fs, NULL);
	xvafs_fs_destroy(&fs);
	return status;
}
