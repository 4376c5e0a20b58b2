/* nbdkit-xva-plugin: the disks of a XenServer / XCP-ng export (.xva)
 * served over NBD, one export per disk, read in place through the core.
 *
 * The export is opened and indexed once, in .get_ready, before nbdkit
 * accepts a connection: everything wrong with it is said at start, as the
 * mount says it, and nbdkit exits non-zero. One nbdkit serves one export,
 * so the opened export (and its overlay, when writable) lives in one
 * plugin context; a connection's handle only names its disk and keeps its
 * read-ahead state. Every callback is safe to run in parallel: the core's
 * read path and overlay are. */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xvafs/cachefile.h"
#include "xvafs/overlay.h"
#include "xvafs/read.h"
#include "xvafs/verify.h"
#include "xvafs/view.h"
#include "xvafs/xva.h"
#include "front/guestview.h"
#include "front/openerror.h"
#include "front/options.h"
#include "front/warnings.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

/* Block sizes: any byte is addressable, a page is what a read costs no
 * more than, and 32 MiB keeps one request's buffer reasonable. */
#define BLOCK_MIN 1u
#define BLOCK_PREFERRED 4096u
#define BLOCK_MAX (32u << 20)
/* Only requests this large feed the core's read-ahead. Sequential NBD
 * readers (nbdcopy, qemu-img, a guest's readahead) send 64 KiB and more;
 * a client with dozens of small reads in flight (a guest's database, fio)
 * would otherwise now and then look like a stream and read prefetch=
 * bytes ahead for nothing (measured before the core judged streams by
 * request length: 4 KiB random reads at queue depth 32 dropped from about
 * 38,000 to 24,000 IOPS). */
#define STREAM_MIN_REQUEST (64u << 10)
/* Longest client-supplied export name quoted back in a message. */
#define NAME_QUOTE_MAX 200

/* The parameters, then what .get_ready made of them. */
struct xva_plugin {
	const char *file;        /* file=, as given (for messages) */
	char *location;          /* what is opened: absolute path or URL */
	const char *disk;        /* disk=: the default export */
	char *overlay_dir;       /* overlay=, absolute */
	char *cache_dir;         /* cache_dir=, absolute */
	bool verify;             /* verify=true */
	bool noindexcache;
	uint64_t prefetch;       /* read-ahead per connection; 0: off */
	bool prefetch_given;     /* else the table's default */
	char *ca_file;           /* ca_file=, absolute */
	char *key_file;          /* key_file=, absolute */
	uint32_t overlay_block;  /* for a new overlay; 0: the default */
	/* For remote and compressed exports, as the mount's -o options. */
	struct xva_source_options source;

	struct xva *xva;
	struct xva_overlay *ovl; /* NULL: read-only */
	struct xva_view **views; /* per disk: what connections read and
				    write (through the overlay, if any) */
	/* Partitions and LVs inside the disks, scanned once over VIEWS;
	 * ITEM_VIEWS[i] serves guest->items[i]. */
	struct xvafs_guest *guest;
	struct xva_view **item_views;
	size_t default_disk;
	const struct xvafs_guest_item *default_item; /* disk= named one */
};

static struct xva_plugin px = {
	.source = { .s3_path_style = -1 },
};

/* One connection. */
struct handle {
	size_t disk;           /* a disk's export: its index */
	const struct xvafs_guest_item *item; /* else a partition's or LV's */
	struct xva_view *view; /* px.views[disk] or the item's view */
	struct xva_stream stream;
};

/* Start-up warnings (a cut export, chunks without checksums): nbdkit has
 * no warning level, and these are not errors, so they go to stderr like
 * nbdkit's own start-up messages. */
static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("nbdkit: xva: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* --- configuration --- */

/* VALUE of option O (named KEY) as a number into *N, checked as the
 * table says (a string's is 0). */
static int config_number(const struct xvafs_option *o, const char *key,
			 const char *value, uint64_t *n)
{
	char expected[128];

	*n = 0;
	if (o->type == XVAFS_TYPE_BOOL) {
		/* nbdkit's spellings: true, on, yes, 1, and their opposites. */
		int on = nbdkit_parse_bool(value);

		if (on < 0) {
			nbdkit_error("%s=%s: expected true or false", key, value);
			return -1;
		}
		*n = (uint64_t)on;
	} else if (!xvafs_option_parse(o, value, n)) {
		xvafs_option_expected(o, expected, sizeof(expected));
		nbdkit_error("%s=%s: expected %s", key, value, expected);
		return -1;
	}
	return 0;
}

/* A parameter of the option table's (the mount's -o options under the
 * same names, and the plugin's own). nbdkit keeps VALUE for the server's
 * lifetime. */
static int xva_config(const char *key, const char *value)
{
	const struct xvafs_option *o = xvafs_option_find(key, strlen(key),
							 XVAFS_IN_PLUGIN);
	struct xva_source_options *so = &px.source;
	char **path = NULL;
	uint64_t n;

	if (!o) {
		nbdkit_error("unknown parameter '%s' (see nbdkit xva --help)", key);
		return -1;
	}
	if (config_number(o, key, value, &n) != 0)
		return -1;
	switch ((enum xvafs_option_id)(o - xvafs_options)) {
	case XVAFS_OPT_FILE:
		if (px.file) {
			nbdkit_error("file= given twice: one nbdkit serves one "
				     "export (start one per export)");
			return -1;
		}
		px.file = value;
		break;
	case XVAFS_OPT_DISK:
		px.disk = value;
		break;
	case XVAFS_OPT_VERIFY:
		px.verify = n != 0;
		break;
	case XVAFS_OPT_NOINDEXCACHE:
		px.noindexcache = n != 0;
		break;
	case XVAFS_OPT_PREFETCH:
		px.prefetch = n;
		px.prefetch_given = true;
		break;
	case XVAFS_OPT_OVERLAY_BLOCK:
		px.overlay_block = (uint32_t)n;
		break;
	/* Paths: nbdkit changes directory to / before serving. */
	case XVAFS_OPT_OVERLAY:
		path = &px.overlay_dir;
		break;
	case XVAFS_OPT_CACHE_DIR:
		path = &px.cache_dir;
		break;
	case XVAFS_OPT_CA_FILE:
		path = &px.ca_file;
		break;
	case XVAFS_OPT_KEY_FILE:
		path = &px.key_file;
		break;
	case XVAFS_OPT_UNAUTHENTICATED:
		so->crypt_unauthenticated = n != 0;
		break;
	/* What reaches the source, for remote and compressed exports. */
	case XVAFS_OPT_CACHE_MAX:
		so->cache_max = n;
		break;
	case XVAFS_OPT_MEMORY:
		so->memory_max = n;
		break;
	case XVAFS_OPT_S3_ENDPOINT:
		so->s3_endpoint = value;
		break;
	case XVAFS_OPT_S3_REGION:
		so->s3_region = value;
		break;
	case XVAFS_OPT_S3_PATH_STYLE:
		so->s3_path_style = n ? 1 : 0;
		break;
	case XVAFS_OPT_AWS_PROFILE:
		so->aws_profile = value;
		break;
	case XVAFS_OPT_TIMEOUT:
		so->timeout_s = (unsigned)n;
		break;
	case XVAFS_OPT_RETRIES:
		so->retries = (unsigned)n;
		break;
	default:
		/* The table says the plugin takes an option it cannot use. */
		nbdkit_error("%s=: not supported by this plugin", key);
		return -1;
	}
	if (path) {
		free(*path);
		*path = nbdkit_absolute_path(value);
		return *path ? 0 : -1;
	}
	return 0;
}

static int xva_config_complete(void)
{
	if (!px.file) {
		nbdkit_error("no export given: nbdkit xva [file=]EXPORT.xva");
		return -1;
	}
	if (px.overlay_block && !px.overlay_dir) {
		nbdkit_error("overlay_block= goes with overlay=DIR");
		return -1;
	}
	if (!px.prefetch_given)
		px.prefetch = xvafs_options[XVAFS_OPT_PREFETCH].default_value;
	px.source.ca_file = px.ca_file;
	/* nbdkit changes directory to / before serving. */
	px.location = xva_location_is_url(px.file) ? strdup(px.file)
						   : nbdkit_absolute_path(px.file);
	if (!px.location) {
		nbdkit_error("%s: out of memory", px.file);
		return -1;
	}
	return 0;
}

/* nbdkit xva --help: the option table's, made when nbdkit loads the
 * plugin (nbdkit copies the plugin's struct, so the text must be there
 * before it asks for it). */
static char config_help[4096];

__attribute__((constructor)) static void make_config_help(void)
{
	FILE *out = fmemopen(config_help, sizeof(config_help) - 1, "w");
	size_t len;

	if (!out)
		return;
	xvafs_options_help(out, XVAFS_IN_PLUGIN, 0, 20, 76);
	fclose(out);
	/* nbdkit adds the last newline. */
	len = strlen(config_help);
	if (len && config_help[len - 1] == '\n')
		config_help[len - 1] = '\0';
}

static void xva_dump_plugin(void)
{
	printf("xva_version=%s\n", XVAFS_VERSION);
}

/* --- start --- */

/* The disk a VM boots from, as people name it: the bootable disk of the
 * VM (disks of snapshots get no device name), else xvda, else the first
 * in the export. */
static size_t pick_default_disk(const struct xva *xva)
{
	for (size_t i = 0; i < xva->map.n_disks; i++)
		if (xva->names[i].device && xva->names[i].vbd &&
		    xva->names[i].vbd->bootable)
			return i;
	for (size_t i = 0; i < xva->map.n_disks; i++)
		if (xva->names[i].device &&
		    strcmp(xva->names[i].device, "xvda") == 0)
			return i;
	return 0;
}

static void warn_message(void *ctx, const char *message)
{
	(void)ctx;
	warn("%s: %s", px.file, message);
}

/* What the mount says before mounting, from the same producer. */
static void warn_about_export(const struct xva *xva)
{
	if (xva->cache_note[0])
		warn("%s: %s", px.file, xva->cache_note);
	xvafs_export_warnings(xva, "verify=true", warn_message, NULL);
}

static int open_overlay(void)
{
	char holder[600];
	struct xva_err err;

	snprintf(holder, sizeof(holder), "nbdkit serving %.500s", px.file);
	if (xva_overlay_open(px.xva, px.overlay_dir, XVA_OVL_WRITE,
			     px.overlay_block, holder, &px.ovl, &err) != XVA_OK) {
		nbdkit_error("%s: %s", px.overlay_dir, err.msg);
		return -1;
	}
	return 0;
}

static int open_views(void)
{
	struct xva_err err;

	px.views = calloc(px.xva->map.n_disks, sizeof(*px.views));
	if (!px.views) {
		nbdkit_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < px.xva->map.n_disks; i++)
		if (xva_view_open(px.xva, px.ovl, i, true, &px.views[i], &err) !=
		    XVA_OK) {
			nbdkit_error("%s: %s", px.file, err.msg);
			return -1;
		}
	return 0;
}

/* The partitions and LVs inside the disks, each with its view (writable
 * through the overlay, as the disks); what is odd said as the mount says
 * it. Scanned once here: a few KiB a disk, before any connection. */
static int open_guest(void)
{
	struct xva_err err;

	if (xvafs_guest_scan(px.xva, px.views, &px.guest, &err) != XVA_OK) {
		nbdkit_error("%s: %s", px.file, err.msg);
		return -1;
	}
	xvafs_guest_warnings(px.xva, px.guest, warn_message, NULL);
	/* Damage the scan met was said at start; serving says it again. */
	xva_verify_rearm(px.xva);
	px.item_views = calloc(px.guest->n_items ? px.guest->n_items : 1,
			       sizeof(*px.item_views));
	if (!px.item_views) {
		nbdkit_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < px.guest->n_items; i++)
		if (xvafs_guest_item_view(px.guest, &px.guest->items[i], NULL,
					  true, &px.item_views[i], &err) !=
		    XVA_OK) {
			nbdkit_error("%s: %s", px.file, err.msg);
			return -1;
		}
	return 0;
}

/* The repository key from key_file= or $XVAFS_KEY into *KEY; *GIVEN
 * false when neither has one. */
static int load_key(struct xva_crypt_key *key, bool *given, bool *from_env)
{
	struct xva_err err;

	if (xvafs_key_load(px.key_file, key, given, from_env, &err) == XVA_OK)
		return 0;
	nbdkit_error("%s", err.msg);
	return -1;
}

static int xva_get_ready(void)
{
	struct xva_open_options o = { 0 };
	struct xva_crypt_key key;
	bool key_given, key_from_env;
	enum xva_status st;
	const struct xva_disk *d;
	struct xva_err err;
	char *default_cache = NULL;
	int ret = -1;

	if (!px.noindexcache)
		o.cache_dir = px.cache_dir ? px.cache_dir
					   : (default_cache = xva_cache_default_dir());
	o.source = px.source;
	if (load_key(&key, &key_given, &key_from_env) != 0)
		goto out;
	o.key = key_given ? &key : NULL;
	o.key_if_needed = key_from_env;
	o.key_how = "key_file=FILE or the " XVAFS_KEY_ENV " environment variable";
	st = xva_open(px.location, &o, &px.xva, &err);
	if (key_given)
		xva_crypt_key_wipe(&key);
	if (st != XVA_OK) {
		char msg[XVAFS_OPEN_ERROR_MAX];

		xvafs_open_error(px.location, &err, msg, sizeof(msg));
		nbdkit_error("%s: %s", px.file, msg);
		goto out;
	}
	if (px.xva->map.n_disks == 0) {
		nbdkit_error("%s: the export holds no disk data (metadata only): "
			     "there is nothing to serve", px.file);
		goto out;
	}
	if (px.verify && !xva_verify_enabled(px.xva) &&
	    xva_enable_verify(px.xva, &err) != XVA_OK) {
		nbdkit_error("%s: verify=true: %s", px.file, err.msg);
		goto out;
	}
	warn_about_export(px.xva);
	if (px.overlay_dir && open_overlay() != 0)
		goto out;
	if (open_views() != 0 || open_guest() != 0)
		goto out;
	if (px.disk) {
		d = xva_find_disk(px.xva, px.disk);
		px.default_item = d ? NULL : xvafs_guest_find(px.guest, px.disk);
		if (!d && !px.default_item) {
			nbdkit_error("%s: disk=%s: the export has no disk of that "
				     "prefix, guest device or label, and no "
				     "partition or LV of that name", px.file,
				     px.disk);
			goto out;
		}
		if (d)
			px.default_disk = xva_disk_index(px.xva, d);
	} else {
		px.default_disk = pick_default_disk(px.xva);
	}
	/* nbdkit forks next (into the background, or not): a remote
	 * source's I/O thread is stopped until .after_fork. */
	xva_open_before_fork(px.xva);
	ret = 0;
out:
	free(default_cache);
	return ret;
}

/* nbdkit forked into the background: the overlay's holder is this
 * process now, for the message a second user gets. */
static int xva_after_fork(void)
{
	char holder[600];

	xva_open_after_fork(px.xva);
	if (px.ovl) {
		snprintf(holder, sizeof(holder), "nbdkit serving %.500s", px.file);
		xva_overlay_set_holder(px.ovl, holder);
	}
	return 0;
}

static void xva_cleanup(void)
{
	struct xva_err err;

	/* Views over the guest's devices, the guest, then the disks. */
	for (size_t i = 0; px.item_views && i < px.guest->n_items; i++)
		xva_view_close(px.item_views[i]);
	free(px.item_views);
	px.item_views = NULL;
	xvafs_guest_free(px.guest);
	px.guest = NULL;
	for (size_t i = 0; px.views && i < px.xva->map.n_disks; i++)
		xva_view_close(px.views[i]);
	free(px.views);
	px.views = NULL;
	/* Whatever was written and not flushed is made durable now. */
	if (xva_overlay_close(px.ovl, &err) != XVA_OK)
		nbdkit_error("%s: %s", px.overlay_dir, err.msg);
	px.ovl = NULL;
	xva_close(px.xva);
	px.xva = NULL;
	free(px.location);
	free(px.overlay_dir);
	free(px.cache_dir);
	free(px.ca_file);
	free(px.key_file);
	px.location = px.overlay_dir = px.cache_dir = px.ca_file = NULL;
}

/* --- exports --- */

/* "xvda, web01 root, 10737418240 bytes" */
static void describe(size_t i, char *buf, size_t len)
{
	const struct xva_disk_names *n = &px.xva->names[i];

	snprintf(buf, len, "%s%s%.300s%s%llu bytes",
		 n->device ? n->device : "", n->device ? ", " : "",
		 n->label ? n->label : "", n->label ? ", " : "",
		 (unsigned long long)px.xva->map.disks[i].size);
}

/* "xvda1, partition 1 of Ref:12, ext4 \"rootfs\" UUID, 1048576 bytes",
 * "LV VolGroup00/LogVol00, ext4 ..., 25165824 bytes" */
static void describe_item(const struct xvafs_guest_item *it, char *buf,
			  size_t len)
{
	const struct xva_guest *g = px.guest->g;
	char fs[300];
	uint64_t size = xva_view_size(px.item_views[it - px.guest->items]);

	xvafs_fs_describe(it->fs, fs, sizeof(fs));
	if (it->kind == XVAFS_ITEM_PART)
		snprintf(buf, len, "%s%spartition %u of %s, %s%s%llu bytes",
			 it->device ? it->device : "", it->device ? ", " : "",
			 g->devs[it->index].part->number,
			 px.xva->map.disks[it->disk].prefix, fs,
			 fs[0] ? ", " : "", (unsigned long long)size);
	else
		snprintf(buf, len, "LV %s, %s%s%llu bytes", g->lvs[it->index].path,
			 fs, fs[0] ? ", " : "", (unsigned long long)size);
}

static int xva_list_exports(int readonly, int is_tls,
			    struct nbdkit_exports *exports)
{
	char desc[400];

	(void)readonly;
	(void)is_tls;
	for (size_t i = 0; i < px.xva->map.n_disks; i++) {
		describe(i, desc, sizeof(desc));
		if (nbdkit_add_export(exports, px.xva->map.disks[i].prefix,
				      desc) < 0)
			return -1;
	}
	for (size_t i = 0; i < px.guest->n_items; i++) {
		describe_item(&px.guest->items[i], desc, sizeof(desc));
		if (nbdkit_add_export(exports, px.guest->items[i].file, desc) < 0)
			return -1;
	}
	return 0;
}

static const char *xva_default_export(int readonly, int is_tls)
{
	(void)readonly;
	(void)is_tls;
	if (px.default_item)
		return px.default_item->file;
	return px.xva->map.disks[px.default_disk].prefix;
}

static void *xva_open_conn(int readonly)
{
	const char *name = nbdkit_export_name();
	const struct xvafs_guest_item *item = NULL;
	const struct xva_disk *d = NULL;
	struct handle *h;

	(void)readonly;
	if (!name)
		return NULL;
	if (!name[0] && px.default_item)
		item = px.default_item;
	else if (!name[0])
		d = &px.xva->map.disks[px.default_disk];
	else if (!(d = xva_find_disk(px.xva, name)))
		item = xvafs_guest_find(px.guest, name);
	if (!d && !item) {
		nbdkit_error("%s: no disk named '%.*s' (a prefix, guest device "
			     "or label), and no partition or LV (Ref:12p1, "
			     "xvda1, lvm/VG/LV): nbdinfo --list shows them",
			     px.file, NAME_QUOTE_MAX, name);
		nbdkit_set_error(ENOENT);
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		nbdkit_error("out of memory");
		return NULL;
	}
	h->item = item;
	if (item) {
		h->view = px.item_views[item - px.guest->items];
	} else {
		h->disk = xva_disk_index(px.xva, d);
		h->view = px.views[h->disk];
	}
	xva_stream_init(&h->stream, px.prefetch);
	return h;
}

static void xva_close_conn(void *handle)
{
	struct handle *h = handle;

	xva_stream_destroy(&h->stream);
	free(h);
}

static int64_t xva_get_size(void *handle)
{
	struct handle *h = handle;

	return (int64_t)xva_view_size(h->view);
}

static const char *xva_export_description(void *handle)
{
	struct handle *h = handle;
	char desc[400];

	if (h->item)
		describe_item(h->item, desc, sizeof(desc));
	else
		describe(h->disk, desc, sizeof(desc));
	return nbdkit_strdup_intern(desc);
}

static int xva_block_size(void *handle, uint32_t *minimum,
			  uint32_t *preferred, uint32_t *maximum)
{
	(void)handle;
	*minimum = BLOCK_MIN;
	*preferred = BLOCK_PREFERRED;
	*maximum = BLOCK_MAX;
	return 0;
}

static int xva_can_write(void *handle)
{
	(void)handle;
	return px.ovl != NULL;
}

static int xva_can_fua(void *handle)
{
	(void)handle;
	return px.ovl ? NBDKIT_FUA_NATIVE : NBDKIT_FUA_NONE;
}

/* Nothing is cached between connections: the read path has no state to
 * share, and overlay writes go straight to its files, which a flush on
 * any connection makes durable for all. */
static int xva_can_multi_conn(void *handle)
{
	(void)handle;
	return 1;
}

static int xva_can_extents(void *handle)
{
	(void)handle;
	return 1;
}

static int xva_can_cache(void *handle)
{
	(void)handle;
	return NBDKIT_CACHE_NATIVE;
}

/* --- data --- */

/* Sends the request's failure: the errno the core maps its status to,
 * and the message to the log, except past a cut (announced at start) and
 * a bad chunk already reported (empty message). */
static int fail(const struct handle *h, enum xva_status st,
		const struct xva_err *err)
{
	if (st == XVA_ECUT || !err->msg[0])
		nbdkit_debug("disk %s: %s", h->view->name, err->msg[0]
			     ? err->msg : xva_strerror(st));
	else
		nbdkit_error("%s: %s", px.file, err->msg);
	nbdkit_set_error(xva_status_errno(st));
	return -1;
}

static int xva_pread(void *handle, void *buf, uint32_t count, uint64_t offset,
		     uint32_t flags)
{
	struct handle *h = handle;
	enum xva_status st;
	struct xva_err err;
	size_t done;

	(void)flags;
	if (count >= STREAM_MIN_REQUEST)
		xva_view_note_read(h->view, &h->stream, offset, count);
	st = xva_view_read(h->view, buf, count, offset, 0, &done, &err);
	if (st == XVA_OK && done != count)
		/* nbdkit checked the bounds against the size we gave. */
		st = xva_fail(&err, XVA_EIO, "disk %s: read %zu of %u bytes at "
			      "byte %llu", h->view->name, done, count,
			      (unsigned long long)offset);
	return st == XVA_OK ? 0 : fail(h, st, &err);
}

static int sync_if(const struct handle *h, bool fua)
{
	struct xva_err err;
	enum xva_status st;

	if (!fua)
		return 0;
	st = xva_view_sync(h->view, &err);
	return st == XVA_OK ? 0 : fail(h, st, &err);
}

static int xva_pwrite(void *handle, const void *buf, uint32_t count,
		      uint64_t offset, uint32_t flags)
{
	struct handle *h = handle;
	enum xva_status st;
	struct xva_err err;

	st = xva_view_write(h->view, buf, count, offset, &err);
	if (st != XVA_OK)
		return fail(h, st, &err);
	return sync_if(h, flags & NBDKIT_FLAG_FUA);
}

/* Zeroing and trimming both leave the overlay holding zeros: a trimmed
 * range must not show the export's bytes again. */
static int xva_zero(void *handle, uint32_t count, uint64_t offset,
		    uint32_t flags)
{
	struct handle *h = handle;
	enum xva_status st;
	struct xva_err err;

	st = xva_view_zero(h->view, count, offset, &err);
	if (st != XVA_OK)
		return fail(h, st, &err);
	return sync_if(h, flags & NBDKIT_FLAG_FUA);
}

static int xva_trim(void *handle, uint32_t count, uint64_t offset,
		    uint32_t flags)
{
	return xva_zero(handle, count, offset, flags);
}

static int xva_flush(void *handle, uint32_t flags)
{
	(void)flags;
	return sync_if(handle, true);
}

/* A run of the view's extents to nbdkit; XVA_EINTR when nbdkit refused
 * it (and has said why). */
static enum xva_status add_extent(void *ctx, uint64_t off, uint64_t len,
				  bool zero, struct xva_err *err)
{
	(void)err;
	if (nbdkit_add_extent(ctx, off, len, zero ? NBDKIT_EXTENT_HOLE |
						    NBDKIT_EXTENT_ZERO : 0) < 0)
		return XVA_EINTR;
	return XVA_OK;
}

/* Holes are the chunks the export left out (and the overlay never
 * wrote): they read as zeros. Everything else is data, the range past a
 * cut export's intact part too: its bytes are not known to be zeros. */
static int xva_extents(void *handle, uint32_t count, uint64_t offset,
		       uint32_t flags, struct nbdkit_extents *extents)
{
	struct handle *h = handle;
	enum xva_status st;
	struct xva_err err;

	xva_err_clear(&err);
	st = xva_view_extents(h->view, count, offset,
			      flags & NBDKIT_FLAG_REQ_ONE, add_extent, extents,
			      &err);
	if (st == XVA_EINTR && !err.msg[0])
		return -1;
	return st == XVA_OK ? 0 : fail(h, st, &err);
}

/* The present chunks in the range are announced to the source (the
 * page cache for a local file). */
static int xva_cache(void *handle, uint32_t count, uint64_t offset,
		     uint32_t flags)
{
	struct handle *h = handle;

	(void)flags;
	xva_view_prefetch(h->view, offset, count);
	return 0;
}

static struct nbdkit_plugin plugin = {
	.name = "xva",
	.longname = "nbdkit XenServer/XCP-ng export (.xva) plugin",
	.version = XVAFS_VERSION,
	.description = "Serves each disk of a XenServer / XCP-ng VM export "
		       "(.xva) as an NBD export, read in place.",
	.magic_config_key = "file",
	.config = xva_config,
	.config_complete = xva_config_complete,
	.config_help = config_help,
	.dump_plugin = xva_dump_plugin,
	.get_ready = xva_get_ready,
	.after_fork = xva_after_fork,
	.cleanup = xva_cleanup,
	.list_exports = xva_list_exports,
	.default_export = xva_default_export,
	.open = xva_open_conn,
	.close = xva_close_conn,
	.get_size = xva_get_size,
	.export_description = xva_export_description,
	.block_size = xva_block_size,
	.can_write = xva_can_write,
	.can_flush = xva_can_write,
	.can_trim = xva_can_write,
	.can_zero = xva_can_write,
	.can_fua = xva_can_fua,
	.can_multi_conn = xva_can_multi_conn,
	.can_extents = xva_can_extents,
	.can_cache = xva_can_cache,
	.pread = xva_pread,
	.pwrite = xva_pwrite,
	.zero = xva_zero,
	.trim = xva_trim,
	.flush = xva_flush,
	.extents = xva_extents,
	.cache = xva_cache,
};

NBDKIT_REGISTER_PLUGIN(plugin)
