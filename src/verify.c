/* xvafs --verify: every chunk of every disk against its checksum member,
 * reading the .xva once, in file order. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tools.h"

#define READ_SIZE (1u << 20)

struct tally {
	uint64_t good, mismatch, no_checksum, unreadable, bytes;
};

struct progress {
	bool shown;        /* stderr is a terminal */
	uint64_t total, done;
	double start, last;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void show_progress(struct progress *p, bool final)
{
	double t = now(), rate;
	char done[32], total[32];

	if (!p->shown || (!final && t - p->last < 0.25))
		return;
	p->last = t;
	if (final) {
		fputs("\r\033[K", stderr);
		return;
	}
	rate = t > p->start ? (double)p->done / (t - p->start) : 0;
	human(p->done, done, sizeof(done));
	human(p->total, total, sizeof(total));
	fprintf(stderr, "\r\033[Kverifying: %s of %s (%.0f%%), %.0f MB/s",
		done, total, p->total ? 100.0 * (double)p->done / (double)p->total
				      : 100.0, rate / 1e6);
	if (rate > 0) {
		unsigned eta = (unsigned)((double)(p->total - p->done) / rate);

		fprintf(stderr, ", ETA %u:%02u", eta / 60, eta % 60);
	}
	fflush(stderr);
}

static void count(struct tally *t, enum xva_verdict v, FILE *out,
		  const char *path, const struct xva_err *err)
{
	switch (v) {
	case XVA_VERDICT_GOOD:
		t->good++;
		return;
	case XVA_VERDICT_MISMATCH:
		t->mismatch++;
		break;
	case XVA_VERDICT_NO_CHECKSUM:
		t->no_checksum++;
		break;
	case XVA_VERDICT_UNREADABLE:
		t->unreadable++;
		break;
	}
	fprintf(out, "xvafs: %s: %s\n", path, err->msg);
}

/* The disk's chunks and keep-alives, merged in number order, which is the
 * order they lie in the file. */
static void verify_disk(FILE *out, const char *path, const struct xva *xva,
			const struct xva_disk *d, void *buf, struct tally *t,
			struct progress *p)
{
	size_t e = 0, k = 0;
	enum xva_verdict verdict;
	struct xva_err err;

	if (d->checksum_kind == XVA_CHECKSUM_NONE) {
		if (d->members > 0) {
			fprintf(out, "xvafs: %s: disk %s has no checksum members; "
				"its %llu chunks cannot be verified\n", path,
				d->prefix, (unsigned long long)d->members);
			t->no_checksum += d->members;
		}
		p->done += d->bytes_present;
		return;
	}
	while (e < d->n_extents || k < d->keepalives) {
		if (k < d->keepalives &&
		    (e == d->n_extents ||
		     d->keepalive_list[k].number < d->extents[e].number)) {
			count(t, xva_verify_keepalive(xva, d, k, &err), out, path,
			      &err);
			k++;
			continue;
		}
		verdict = xva_verify_extent(xva, d, e, buf, READ_SIZE, &err);
		count(t, verdict, out, path, &err);
		if (verdict == XVA_VERDICT_GOOD)
			t->bytes += d->extents[e].len;
		p->done += d->extents[e].len;
		show_progress(p, false);
		e++;
	}
}

int xvafs_verify(FILE *out, const char *path, const struct xva *xva)
{
	struct progress p = { isatty(STDERR_FILENO) != 0, 0, 0, now(), 0 };
	struct tally t = { 0 };
	uint64_t problems;
	char bytes[32];
	void *buf;

	buf = malloc(READ_SIZE);
	if (!buf) {
		fprintf(stderr, "xvafs: out of memory\n");
		return XVAFS_EXIT_DAMAGED;
	}
	/* One pass in file order: tell the kernel to read ahead hard. */
	posix_fadvise(xva->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (size_t i = 0; i < xva->map.n_disks; i++)
		p.total += xva->map.disks[i].bytes_present;
	for (size_t i = 0; i < xva->map.n_disks; i++)
		verify_disk(out, path, xva, &xva->map.disks[i], buf, &t, &p);
	show_progress(&p, true);
	free(buf);

	xvafs_warn(out, path, xva);
	problems = t.mismatch + t.no_checksum + t.unreadable;
	human(t.bytes, bytes, sizeof(bytes));
	fprintf(out, "xvafs: %s: %llu chunk%s verified good (%s of data) in %zu "
		"disk%s", path, (unsigned long long)t.good,
		t.good == 1 ? "" : "s", bytes, xva->map.n_disks,
		xva->map.n_disks == 1 ? "" : "s");
	if (problems || xva->idx.truncated)
		fprintf(out, "; %llu bad, %llu without a usable checksum, %llu "
			"unreadable%s: the export is damaged\n",
			(unsigned long long)t.mismatch,
			(unsigned long long)t.no_checksum,
			(unsigned long long)t.unreadable,
			xva->idx.truncated ? ", and it is cut short" : "");
	else
		fprintf(out, ": the export is intact\n");
	return problems || xva->idx.truncated ? XVAFS_EXIT_DAMAGED : XVAFS_EXIT_OK;
}
