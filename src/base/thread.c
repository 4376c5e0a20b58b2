#include <signal.h>

#include "base/thread.h"

int xva_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	/* A fault of the thread itself must still be delivered to it (a
	 * blocked SIGSEGV kills the process without a core or a sanitizer
	 * report); everything else waits for a thread that takes it. */
	static const int synchronous[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL,
					   SIGABRT, SIGTRAP, SIGSYS };
	sigset_t all, old;
	int ret;

	sigfillset(&all);
	for (size_t i = 0; i < sizeof(synchronous) / sizeof(synchronous[0]); i++)
		sigdelset(&all, synchronous[i]);
	/* The new thread inherits the creator's mask: block around the
	 * creation, so there is no moment at which it runs unblocked. */
	ret = pthread_sigmask(SIG_BLOCK, &all, &old);
	if (ret != 0)
		return ret;
	ret = pthread_create(thread, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}
