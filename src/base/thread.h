/* Starting the core's threads (internal). */
#ifndef XVAFS_THREAD_H
#define XVAFS_THREAD_H

#include <pthread.h>

/* pthread_create, with every asynchronous signal blocked in the new
 * thread: a stop signal (SIGTERM, SIGINT, SIGHUP...) sent to the process
 * must reach the thread that handles it (the command line's stopper, or
 * nbdkit's main thread), never a worker whose default action would kill
 * the process in the middle of serving. Threads the new thread starts
 * (curl's resolver) inherit the mask. Returns 0 or an error number. */
int xva_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg);

#endif
