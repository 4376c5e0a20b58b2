/* xvafs's command line: the commands, the option table's options as
 * fuse_opt entries, --help, and the checks of the command and of every
 * option's value, all before anything is opened. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "fuse/fs.h"
#include "front/options.h"
#include "cli/tools.h"

/* --help: the -o options' lines come from the option table, between
 * these two parts. */
static const char usage_head[] =
"usage: xvafs [options] EXPORT MOUNTPOINT\n"
"       xvafs [-o key_file=FILE] [--vm NAME] [options] REPOSITORY MOUNTPOINT\n"
"       xvafs --list [--json] [--bytes] [-o OPT] EXPORT\n"
"       xvafs --verify [-o OPT] EXPORT\n"
"       xvafs --export-disk [--overlay DIR] [--force] [-o OPT] EXPORT DISK OUT\n"
"       xvafs --vm-config xl|libvirt|qemu [-o OPT] EXPORT MOUNTPOINT\n"
"\n"
"Mounts a XenServer / XCP-ng VM export read-only. Each disk appears as a\n"
"raw file named by its member prefix (e.g. Ref:12), read in place, with\n"
"links to it in by-device/ (xvda, ...) and by-label/ (the VDI's name);\n"
"the export's ova.xml is there too. EXPORT is a path, an http:// or\n"
"https:// URL, or s3://BUCKET/KEY; it may be gzip- or zstd-compressed\n"
"(as xe vm-export compress=... and Xen Orchestra write them).\n"
"\n"
"REPOSITORY is a Xen Orchestra backup repository (a folder holding\n"
"xo-vm-backups/, or s3://BUCKET/PREFIX): every full backup is mounted as\n"
"VM/TIMESTAMP/ (UTC), with a link VM/latest, each opened when first looked\n"
"into. An encrypted repository's key (and an encrypted backup's) is given\n"
"with -o key_file=FILE or in $XVAFS_KEY, never on the command line; by\n"
"default a backup's tag is checked by reading it once when first opened\n"
"(remembered in the cache), -o unauthenticated serves it before that.\n"
"\n"
"commands:\n"
"    --list                 show the VM and its disks, without mounting\n"
"    --json                 with --list: the same as JSON\n"
"    --bytes                with --list: sizes in bytes\n"
"    --verify               check every chunk against its checksum\n"
"    --export-disk          write DISK (its prefix, guest device or label)\n"
"                           as a sparse raw file OUT, onto a block device\n"
"                           (with --force), or to standard output (-)\n"
"    --overlay DIR          with --export-disk: with that overlay's changes\n"
"    --force                with --export-disk: replace an existing OUT\n"
"    --vm-config FORMAT     print the export's VM as an xl config, libvirt\n"
"                           domain XML or qemu command line, its disks in\n"
"                           the mount at MOUNTPOINT (mounted also as\n"
"                           MOUNTPOINT/vm/NAME.cfg, .xml and .qemu.sh)\n"
"    --no-index-cache       neither use nor write the index cache\n"
"    --vm NAME              a repository: only this VM (its folder or\n"
"                           UUID) or one backup (NAME/TIMESTAMP)\n"
"\n"
"options:\n"
"    -h, --help             print this help and exit\n"
"    -V, --version          print the version and exit\n"
"    -f                     stay in the foreground\n"
"    -d, -o debug           print FUSE requests (implies -f)\n"
"    -s                     serve requests on a single thread\n"
"    -o OPT[,OPT...]        options:\n";
static const char usage_tail[] =
"         mount(8)'s generic options (nodev, nosuid, noexec, noatime,\n"
"         context=, ...) are passed on to the kernel\n"
"\n"
"exit status: 0 success; 1 usage error (also a wrong S3 region, -o rw\n"
"without EXPORT.overlay/, a log=, overlay= or --overlay that cannot be\n"
"opened or made); 2 the export cannot be read or is malformed (or its\n"
"overlay is in use or another export's); 3 mounting failed; 4 --verify\n"
"found damaged chunks or --export-disk could not read the disk; 5 --verify\n"
"found nothing damaged but chunks without checksums; 6 the output\n"
"(--export-disk's OUT, or standard output) could not be written; 128+N\n"
"stopped by signal N before finishing.\n"
"\n"
"Unmount with: fusermount3 -u MOUNTPOINT (or umount MOUNTPOINT)\n";


enum { KEY_HELP, KEY_VERSION, KEY_VM, KEY_VM_EQ };

#define FLAG(text, field) { text, offsetof(struct cli, field), 1 }

/* The commands; the options come from the table (cli_spec()). */
static const struct fuse_opt command_spec[] = {
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	/* -o vm=NAME's flag: "--vm" alone matches only itself, "--vm=" only
	 * what starts with it (a "--vm %s" template would take --vm-config
	 * too). */
	FUSE_OPT_KEY("--vm", KEY_VM),
	FUSE_OPT_KEY("--vm=", KEY_VM_EQ),
	FLAG("--list", list),
	FLAG("--json", json),
	FLAG("--bytes", bytes),
	FLAG("--verify", verify),
	FLAG("--export-disk", export_disk),
	FLAG("--force", force),
	{ "--vm-config=%s", offsetof(struct cli, vm_config), 0 },
	{ "--vm-config %s", offsetof(struct cli, vm_config), 0 },
};
#define N_COMMAND_SPEC (sizeof(command_spec) / sizeof(command_spec[0]))

/* The commands, then each option of the table that the mount takes and
 * checks itself: -o NAME for a flag, -o NAME=VALUE, and its command-line
 * flag (--no-index-cache, --overlay DIR). libfuse's own are passed on
 * (cli_proc). */
static const struct fuse_opt *cli_spec(void)
{
	/* Up to three entries an option, and the end. */
	static struct fuse_opt spec[N_COMMAND_SPEC + 3 * XVAFS_N_OPTIONS + 1];
	static char templates[3 * XVAFS_N_OPTIONS][64];
	size_t n = 0, t = 0;

	memcpy(spec, command_spec, sizeof(command_spec));
	n = N_COMMAND_SPEC;
	for (size_t i = 0; i < XVAFS_N_OPTIONS; i++) {
		const struct xvafs_option *o = &xvafs_options[i];
		bool is_flag = o->type == XVAFS_TYPE_BOOL;
		unsigned long value_at = offsetof(struct cli, value) +
					 i * sizeof(char *);
		unsigned long flag_at = offsetof(struct cli, flag) +
					i * sizeof(int);

		if (!(o->in & XVAFS_IN_MOUNT) || o->type == XVAFS_TYPE_FUSE)
			continue;
		snprintf(templates[t], sizeof(templates[t]),
			 is_flag ? "%s" : "%s=%%s", o->name);
		spec[n++] = (struct fuse_opt){ templates[t++],
					       is_flag ? flag_at : value_at,
					       is_flag };
		if (!o->flag)
			continue;
		if (is_flag) {
			spec[n++] = (struct fuse_opt){ o->flag, flag_at, 1 };
			continue;
		}
		snprintf(templates[t], sizeof(templates[t]), "%s=%%s", o->flag);
		spec[n++] = (struct fuse_opt){ templates[t++], value_at, 0 };
		snprintf(templates[t], sizeof(templates[t]), "%s %%s", o->flag);
		spec[n++] = (struct fuse_opt){ templates[t++], value_at, 0 };
	}
	spec[n] = (struct fuse_opt)FUSE_OPT_END;
	return spec;
}

/* What libfuse and mount(8) take besides the table's libfuse options,
 * passed on to them. */
static const char *const passed_on[] = {
	"-d", "-f", "-s", "dev", "nodev", "suid",
	"nosuid", "exec", "noexec", "atime", "noatime", "diratime",
	"nodiratime", "relatime", "norelatime", "strictatime",
	"nostrictatime", "lazytime", "nolazytime", "sync", "async", "dirsync",
	"context=", "fscontext=", "defcontext=", "rootcontext=", NULL,
};

/* The commands, for suggestions. */
static const char *const commands[] = {
	"--list", "--json", "--bytes", "--verify", "--export-disk", "--force",
	"--vm-config", "--vm", "--help", "--version", NULL,
};

static bool known_fuse_option(const char *arg)
{
	size_t name_len = strcspn(arg, "=");
	const struct xvafs_option *fuse = xvafs_option_find(arg, name_len,
							    XVAFS_IN_MOUNT);

	if (fuse && fuse->type == XVAFS_TYPE_FUSE)
		return (fuse->metavar != NULL) == (arg[name_len] == '=');
	for (size_t i = 0; passed_on[i]; i++) {
		const char *o = passed_on[i];
		size_t n = strcspn(o, "=");

		if (n == name_len && strncmp(o, arg, n) == 0 &&
		    (o[n] == '=') == (arg[name_len] == '='))
			return true;
	}
	return false;
}

/* --vm NAME: the table's -o vm=NAME. */
static int set_vm(struct cli *cli, const char *name)
{
	free(cli->value[XVAFS_OPT_VM]);
	cli->value[XVAFS_OPT_VM] = strdup(name);
	cli->vm_pending = 0;
	return cli->value[XVAFS_OPT_VM] ? 0 : -1;
}

static int cli_proc(void *data, const char *arg, int key,
		    struct fuse_args *outargs)
{
	struct cli *cli = data;

	(void)outargs;
	/* "-" is an operand (standard output for --export-disk). */
	if (key == FUSE_OPT_KEY_OPT && strcmp(arg, "-") == 0)
		key = FUSE_OPT_KEY_NONOPT;
	switch (key) {
	case KEY_HELP:
		cli->help = 1;
		return 0;
	case KEY_VERSION:
		cli->version = 1;
		return 0;
	case KEY_VM:
		cli->vm_pending = 1;
		return 0;
	case KEY_VM_EQ:
		return set_vm(cli, arg + strlen("--vm="));
	case FUSE_OPT_KEY_NONOPT:
		if (cli->vm_pending)
			return set_vm(cli, arg);
		if (!cli->image) {
			cli->image = arg;
			return 0;
		}
		if (!cli->mountpoint) {
			cli->mountpoint = arg;
			return 1; /* the mount point, for fuse_parse_cmdline */
		}
		if (cli->export_disk && !cli->out) {
			cli->out = arg;
			return 0;
		}
		cli->extra_operands++;
		return 1;
	case FUSE_OPT_KEY_OPT:
		if (known_fuse_option(arg))
			return 1;
		if (!cli->unknown)
			cli->unknown = strdup(arg);
		return 0;
	default:
		return 1;
	}
}

int cli_parse(struct fuse_args *args, struct cli *cli)
{
	return fuse_opt_parse(args, cli, cli_spec(), cli_proc);
}


/* Edit distance, for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			best = up + 1 < best ? up + 1 : best;
			best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Whether CANDIDATE's name (up to an "=") is nearer NAME than *BEST_D;
 * it is *BEST then. */
static void consider(const char *name, const char *candidate,
		     const char **best, size_t *best_d)
{
	char cand[64];
	size_t d;

	snprintf(cand, sizeof(cand), "%.*s", (int)strcspn(candidate, "="),
		 candidate);
	d = distance(name, cand);
	if (d < *best_d) {
		*best_d = d;
		*best = candidate;
	}
}

/* The known name nearest to ARG's, or NULL. */
static const char *closest_option(const char *arg)
{
	char name[64];
	const char *best = NULL;
	size_t best_d = 3; /* further than two edits is no suggestion */

	snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
	for (size_t i = 0; i < XVAFS_N_OPTIONS; i++) {
		const struct xvafs_option *o = &xvafs_options[i];

		if (!(o->in & XVAFS_IN_MOUNT))
			continue;
		consider(name, o->name, &best, &best_d);
		if (o->flag)
			consider(name, o->flag, &best, &best_d);
	}
	for (size_t i = 0; passed_on[i]; i++)
		consider(name, passed_on[i], &best, &best_d);
	for (size_t i = 0; commands[i]; i++)
		consider(name, commands[i], &best, &best_d);
	/* Two edits in a short name leave little of it: "foo" is not a
	 * misspelt "log". */
	if (best && 2 * best_d > strlen(name))
		return NULL;
	return best;
}

void print_usage(FILE *out)
{
	fputs(usage_head, out);
	xvafs_options_help(out, XVAFS_IN_MOUNT, 9, 31, 76);
	fputs(usage_tail, out);
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("xvafs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nsee xvafs --help\n", stderr);
	return XVAFS_EXIT_USAGE;
}

/* --- option values --- */

static int bad_value(const struct xvafs_option *o, const char *value)
{
	char expected[128];

	xvafs_option_expected(o, expected, sizeof(expected));
	return usage_error("-o %s=%s: %s", o->name, value, expected);
}

/* Every value is checked before anything is created anywhere. */
int check_values(const struct cli *cli, struct settings *s)
{
	uint64_t v[XVAFS_N_OPTIONS];

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < XVAFS_N_OPTIONS; i++) {
		const struct xvafs_option *o = &xvafs_options[i];

		v[i] = o->default_value;
		if ((o->in & XVAFS_IN_MOUNT) && cli->value[i] &&
		    !xvafs_option_parse(o, cli->value[i], &v[i]))
			return bad_value(o, cli->value[i]);
	}
	s->overlay_block = (uint32_t)v[XVAFS_OPT_OVERLAY_BLOCK];
	s->readahead_kb = (unsigned)v[XVAFS_OPT_READAHEAD_KB];
	s->prefetch = v[XVAFS_OPT_PREFETCH];
	s->uid_set = cli->value[XVAFS_OPT_UID] != NULL;
	s->uid = (uid_t)v[XVAFS_OPT_UID];
	s->gid_set = cli->value[XVAFS_OPT_GID] != NULL;
	s->gid = (gid_t)v[XVAFS_OPT_GID];
	s->umask = (mode_t)v[XVAFS_OPT_UMASK];
	s->cache_max = v[XVAFS_OPT_CACHE_MAX];
	s->memory = v[XVAFS_OPT_MEMORY];
	s->timeout_s = (unsigned)v[XVAFS_OPT_TIMEOUT];
	s->retries = (unsigned)v[XVAFS_OPT_RETRIES];
	if (cli->flag[XVAFS_OPT_RO] &&
	    (cli->flag[XVAFS_OPT_RW] || cli->value[XVAFS_OPT_OVERLAY]))
		return usage_error("-o ro and -o %s ask for opposite things",
				   cli->value[XVAFS_OPT_OVERLAY] ? "overlay="
								 : "rw");
	return XVAFS_EXIT_OK;
}

/* --- the command as a whole --- */

int check_command_line(const struct cli *cli)
{
	struct stat a, b;

	if (cli->unknown) {
		const char *near = closest_option(cli->unknown);

		if (near)
			return usage_error("unknown option '%s' (did you mean "
					   "'%.*s'?)", cli->unknown,
					   (int)strcspn(near, "="), near);
		return usage_error("unknown option '%s'", cli->unknown);
	}
	if (cli->vm_pending)
		return usage_error("--vm takes a NAME (a VM's folder or UUID, or "
				   "NAME/TIMESTAMP)");
	if (cli->list + cli->verify + cli->export_disk + !!cli->vm_config > 1)
		return usage_error("--list, --verify, --export-disk and --vm-config "
				   "do not go together");
	if ((cli->json || cli->bytes) && !cli->list)
		return usage_error("--json and --bytes go with --list");
	if (cli->force && !cli->export_disk)
		return usage_error("--force goes with --export-disk");
	if (!cli->image)
		return usage_error("no export given");
	if (cli->export_disk) {
		if (!cli->mountpoint || !cli->out || cli->extra_operands)
			return usage_error("--export-disk takes EXPORT DISK OUT");
		return XVAFS_EXIT_OK;
	}
	if (cli->list || cli->verify) {
		if (cli->mountpoint)
			return usage_error("--list and --verify take only EXPORT");
		return XVAFS_EXIT_OK;
	}
	if (cli->vm_config) {
		if (!cli->mountpoint || cli->extra_operands)
			return usage_error("--vm-config takes FORMAT EXPORT "
					   "MOUNTPOINT (where the export is, or "
					   "will be, mounted)");
		return XVAFS_EXIT_OK;
	}
	if (!cli->mountpoint)
		return usage_error("no mount point given");
	if (cli->extra_operands)
		return usage_error("too many operands: one EXPORT and one "
				   "MOUNTPOINT");
	if (stat(cli->image, &a) == 0 && S_ISDIR(a.st_mode) &&
	    stat(cli->mountpoint, &b) == 0 && !S_ISDIR(b.st_mode))
		return usage_error("%s is a folder and %s is not: the export comes "
				   "first, then the mount point (xvafs %s %s)",
				   cli->image, cli->mountpoint, cli->mountpoint,
				   cli->image);
	return XVAFS_EXIT_OK;
}

void free_cli(struct cli *cli)
{
	for (size_t i = 0; i < XVAFS_N_OPTIONS; i++)
		free(cli->value[i]);
	free(cli->unknown);
	free(cli->vm_config);
}
