/* What the command-line tools share: exit statuses, interruption, units
 * and progress lines. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/tools.h"

volatile sig_atomic_t xvafs_interrupted;

/* The statuses that are not the export's fault (XVAFS_EXIT_BAD_INPUT,
 * the default), by where they were met. */
static const struct {
	enum xva_status status;
	unsigned at;            /* a mask of 1 << enum xvafs_failed_at */
	enum xvafs_exit exit;
} exit_table[] = {
#define AT(x) (1u << XVAFS_AT_##x)
	/* A bad value in the command line or in what it names. */
	{ XVA_EINVAL, AT(EXPORT) | AT(MOUNT_OVERLAY) | AT(VM), XVAFS_EXIT_USAGE },
	/* The folder an option names cannot be opened or made. */
	{ XVA_EOPEN, AT(OVERLAY) | AT(MOUNT_OVERLAY), XVAFS_EXIT_USAGE },
	/* The machine, not the export, failed the mount. */
	{ XVA_EIO, AT(MOUNT_OVERLAY), XVAFS_EXIT_MOUNT },
	{ XVA_ENOSPC, AT(MOUNT_OVERLAY), XVAFS_EXIT_MOUNT },
	{ XVA_ENOMEM, AT(MOUNT_OVERLAY), XVAFS_EXIT_MOUNT },
#undef AT
};

int xvafs_exit_for(enum xva_status st, enum xvafs_failed_at at)
{
	if (st == XVA_EINTR)
		return 128 + (xvafs_interrupted ? xvafs_interrupted : SIGINT);
	for (size_t i = 0; i < sizeof(exit_table) / sizeof(exit_table[0]); i++)
		if (exit_table[i].status == st && exit_table[i].at & (1u << at))
			return exit_table[i].exit;
	return XVAFS_EXIT_BAD_INPUT;
}

static void on_interrupt(int sig)
{
	xvafs_interrupted = sig;
}

void xvafs_catch_interrupts(void)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &sa, NULL);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void xvafs_progress_start(struct xvafs_progress *p, const char *what,
			  uint64_t total)
{
	memset(p, 0, sizeof(*p));
	p->shown = isatty(STDERR_FILENO) != 0;
	p->what = what;
	p->total = total;
	p->start = now();
}

void xvafs_progress_update(struct xvafs_progress *p, uint64_t done)
{
	char d[32], t[32], r[32];
	double at, rate;

	p->done = done;
	if (!p->shown)
		return;
	at = now();
	if (at - p->last < 0.25)
		return;
	p->last = at;
	rate = at > p->start ? (double)done / (at - p->start) : 0;
	xvafs_human(done, false, d, sizeof(d));
	xvafs_human((uint64_t)rate, false, r, sizeof(r));
	if (p->total) {
		xvafs_human(p->total, false, t, sizeof(t));
		fprintf(stderr, "\r\033[K%s: %s of %s (%.0f%%), %s/s", p->what, d,
			t, 100.0 * (double)done / (double)p->total, r);
		if (rate > 0 && p->total > done) {
			unsigned eta = (unsigned)((double)(p->total - done) / rate);

			fprintf(stderr, ", ETA %u:%02u:%02u", eta / 3600,
				eta / 60 % 60, eta % 60);
		}
	} else {
		fprintf(stderr, "\r\033[K%s: %s, %s/s", p->what, d, r);
	}
	fflush(stderr);
}

void xvafs_progress_end(struct xvafs_progress *p)
{
	if (p->shown && p->last > 0) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

void xvafs_progress_fn(void *ctx, uint64_t done, uint64_t total)
{
	struct xvafs_progress *p = ctx;

	p->total = total;
	xvafs_progress_update(p, done);
}
