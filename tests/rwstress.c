/* Coherency stress test for a file written by several writers at once
 * while others read it, through cached and O_DIRECT descriptors mixed.
 *
 *   rwstress FILE SLOTS ROUNDS [mixed|writers]
 *
 * SLOTS 4 KiB slots, each in its own 64 KiB of FILE (so different overlay
 * blocks and lock stripes). Per slot, one writer thread writes rounds 2 to
 * ROUNDS (round 1 is written before the threads start), alternating a
 * buffered and an O_DIRECT descriptor, and syncing now and then; two
 * reader threads pread the slot in a loop, one through a cached
 * descriptor, one with O_DIRECT. Every 8-byte word of a round's data says
 * its round, slot and place, so a read can be judged alone:
 *   - every word is one some writer wrote (no garbage, no other slot's);
 *   - no word is older than the last write that returned before the read
 *     began (the stale-read race: a cached page filled with the old bytes
 *     while a direct write was in flight, kept after it returned);
 *   - right after each write returns, its writer reads the slot back
 *     through a cached and an O_DIRECT descriptor: exactly that round.
 * At the end, every slot through fresh descriptors: its last round.
 *
 * "writers" leaves out the readers and reads back through the writer's
 * own descriptors, so that no descriptor open during the writes is
 * read-only: a FUSE file system that serves writable opens with direct
 * I/O and parallel direct writes then gets the writes of all slots at
 * once (the kernel serialises them while a cached opener exists).
 *
 * The number of reads is not bounded by time but by the writers' rounds;
 * nothing is timed. Exit status 0: all agree; 1: a read was wrong (the
 * first few are printed); 2: usage or I/O error. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SLOT = 4096, SPACING = 65536, WORDS = SLOT / 8, MAX_SLOTS = 64 };

struct slot {
	unsigned index;
	const char *file;
	unsigned rounds;
	bool writers_only;
	/* The round whose write started / returned last (release, acquire). */
	atomic_uint started, done;
	atomic_bool finished;
	pthread_t writer, readers[2];
};

static atomic_uint failures;
static atomic_ulong reads;

static uint64_t word(unsigned round, unsigned slot, unsigned i)
{
	return (uint64_t)round << 32 | (uint64_t)slot << 16 | i;
}

static void fill(uint64_t *buf, unsigned round, unsigned slot)
{
	for (unsigned i = 0; i < WORDS; i++)
		buf[i] = word(round, slot, i);
}

_Noreturn static void io_error(const char *what, const char *file)
{
	fprintf(stderr, "rwstress: %s: %s: %s\n", file, what, strerror(errno));
	exit(2);
}

static void report(const struct slot *s, const char *who, const char *what,
		   unsigned got, unsigned want)
{
	if (atomic_fetch_add(&failures, 1) < 10)
		fprintf(stderr, "rwstress: slot %u, %s: %s (read round %u, "
			"expected %s %u)\n", s->index, who, what, got,
			strcmp(what, "stale bytes") == 0 ? "at least" : "exactly",
			want);
}

static int open_file(const char *file, int flags)
{
	int fd = open(file, flags);

	if (fd < 0)
		io_error(flags & O_DIRECT ? "cannot open with O_DIRECT"
					  : "cannot open", file);
	return fd;
}

static void read_slot(int fd, uint64_t *buf, const struct slot *s)
{
	off_t off = (off_t)s->index * SPACING;
	size_t got = 0;

	while (got < SLOT) {
		ssize_t n = pread(fd, (char *)buf + got, SLOT - got,
				  off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			io_error(n < 0 ? "read failed" : "read ended early",
				 s->file);
		got += (size_t)n;
	}
	atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed);
}

/* Judges one read: every word well formed, none older than AT_LEAST, none
 * newer than the last round started. EXACT: every word of round AT_LEAST.
 * Returns false (and reports) on the first bad word. */
static bool judge(const struct slot *s, const uint64_t *buf,
		  unsigned at_least, bool exact, const char *who)
{
	unsigned newest = atomic_load_explicit(&s->started, memory_order_acquire);

	for (unsigned i = 0; i < WORDS; i++) {
		unsigned round = (unsigned)(buf[i] >> 32);

		if (buf[i] != word(round, s->index, i) || round == 0 ||
		    round > newest) {
			report(s, who, "bytes no writer wrote there", round,
			       at_least);
			return false;
		}
		if (exact && round != at_least) {
			report(s, who, "not the write that just returned", round,
			       at_least);
			return false;
		}
		if (round < at_least) {
			report(s, who, "stale bytes", round, at_least);
			return false;
		}
	}
	return true;
}

static void write_slot(int fd, const uint64_t *buf, const struct slot *s)
{
	off_t off = (off_t)s->index * SPACING;

	if (pwrite(fd, buf, SLOT, off) != SLOT)
		io_error("write failed", s->file);
}

static void *writer(void *arg)
{
	struct slot *s = arg;
	int buffered = open_file(s->file, O_RDWR);
	int direct = open_file(s->file, O_RDWR | O_DIRECT);
	int cached_reader = s->writers_only ? buffered
					    : open_file(s->file, O_RDONLY);
	int direct_reader = s->writers_only ? direct
					    : open_file(s->file, O_RDONLY | O_DIRECT);
	uint64_t *buf, *back;

	if (posix_memalign((void **)&buf, 4096, SLOT) ||
	    posix_memalign((void **)&back, 4096, SLOT))
		io_error("out of memory", s->file);
	for (unsigned round = 2; round <= s->rounds; round++) {
		fill(buf, round, s->index);
		atomic_store_explicit(&s->started, round, memory_order_release);
		write_slot(round % 2 ? direct : buffered, buf, s);
		atomic_store_explicit(&s->done, round, memory_order_release);
		read_slot(cached_reader, back, s);
		judge(s, back, round, true, "cached read after the write");
		read_slot(direct_reader, back, s);
		judge(s, back, round, true, "O_DIRECT read after the write");
		if (round % 16 == 0 && fdatasync(round % 32 ? buffered : direct) < 0)
			io_error("fdatasync failed", s->file);
	}
	atomic_store(&s->finished, true);
	free(buf);
	free(back);
	if (!s->writers_only) {
		close(cached_reader);
		close(direct_reader);
	}
	close(buffered);
	close(direct);
	return NULL;
}

struct reader_arg {
	struct slot *slot;
	bool direct;
};

static void *reader(void *arg)
{
	struct reader_arg *r = arg;
	struct slot *s = r->slot;
	int fd = open_file(s->file, O_RDONLY | (r->direct ? O_DIRECT : 0));
	const char *who = r->direct ? "O_DIRECT reader" : "cached reader";
	uint64_t *buf;

	if (posix_memalign((void **)&buf, 4096, SLOT))
		io_error("out of memory", s->file);
	while (!atomic_load(&s->finished)) {
		unsigned at_least = atomic_load_explicit(&s->done,
							 memory_order_acquire);

		read_slot(fd, buf, s);
		judge(s, buf, at_least, false, who);
	}
	free(buf);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct slot slots[MAX_SLOTS];
	static struct reader_arg args[MAX_SLOTS][2];
	unsigned n, rounds;
	bool writers_only;
	uint64_t *buf;
	int fd;

	if (argc < 4 || argc > 5 || (n = (unsigned)atoi(argv[2])) == 0 ||
	    n > MAX_SLOTS || (rounds = (unsigned)atoi(argv[3])) < 2 ||
	    (argc == 5 && strcmp(argv[4], "mixed") != 0 &&
	     strcmp(argv[4], "writers") != 0)) {
		fprintf(stderr, "usage: rwstress FILE SLOTS(1-%d) ROUNDS(>=2) "
			"[mixed|writers]\n", MAX_SLOTS);
		return 2;
	}
	writers_only = argc == 5 && strcmp(argv[4], "writers") == 0;
	if (posix_memalign((void **)&buf, 4096, SLOT))
		return 2;
	/* Round 1 everywhere, so that every read from now on can be judged. */
	fd = open_file(argv[1], O_RDWR);
	for (unsigned i = 0; i < n; i++) {
		slots[i].index = i;
		slots[i].file = argv[1];
		slots[i].rounds = rounds;
		slots[i].writers_only = writers_only;
		atomic_init(&slots[i].started, 1);
		atomic_init(&slots[i].done, 1);
		fill(buf, 1, i);
		write_slot(fd, buf, &slots[i]);
	}
	if (fsync(fd) < 0)
		io_error("fsync failed", argv[1]);
	close(fd);
	for (unsigned i = 0; i < n; i++) {
		for (int k = 0; k < 2 && !writers_only; k++) {
			args[i][k] = (struct reader_arg){ &slots[i], k == 1 };
			if (pthread_create(&slots[i].readers[k], NULL, reader,
					   &args[i][k]))
				io_error("cannot start a thread", argv[1]);
		}
		if (pthread_create(&slots[i].writer, NULL, writer, &slots[i]))
			io_error("cannot start a thread", argv[1]);
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(slots[i].writer, NULL);
		if (!writers_only) {
			pthread_join(slots[i].readers[0], NULL);
			pthread_join(slots[i].readers[1], NULL);
		}
	}
	/* Fresh descriptors: each slot's last round. */
	for (int k = 0; k < 2; k++) {
		fd = open_file(argv[1], O_RDONLY | (k ? O_DIRECT : 0));
		for (unsigned i = 0; i < n; i++) {
			read_slot(fd, buf, &slots[i]);
			judge(&slots[i], buf, rounds, true,
			      k ? "final O_DIRECT read" : "final cached read");
		}
		close(fd);
	}
	free(buf);
	printf("rwstress: %u slots, %u rounds each, %lu reads: %u wrong\n", n,
	       rounds, atomic_load(&reads), atomic_load(&failures));
	return atomic_load(&failures) ? 1 : 0;
}
