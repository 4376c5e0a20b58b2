/* The source layer's inside: what each kind implements and the calls the
 * core (the tar walk, the index cache, the read path) makes. Front ends
 * never include this: they get an export's facts through xvafs/xva.h.
 * The layer itself is described in xvafs/source.h. */
#ifndef XVAFS_SOURCE_SOURCE_H
#define XVAFS_SOURCE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "xvafs/error.h"
#include "xvafs/crypt.h"
#include "xvafs/readahead.h"
#include "xvafs/source.h"

/* What each kind implements; callers use the xva_source_* calls below. */
struct xva_source_ops {
	enum xva_status (*read)(struct xva_source *src, void *buf, size_t len,
				uint64_t off, size_t *got, struct xva_err *err);
	/* Optional, with unpin: the read lent in place (struct xva_lease,
	 * xvafs/source.h): appends to LEASE pieces of the source's own
	 * memory holding LEN bytes at OFF (*GOT of them, fewer only where
	 * the stream ends) and the pins that keep that memory, which
	 * xva_lease_release hands back to unpin. */
	enum xva_status (*lend)(struct xva_source *src, size_t len,
				uint64_t off, struct xva_lease *lease,
				size_t *got, struct xva_err *err);
	void (*unpin)(struct xva_source *src, void *const *pins, size_t n);
	/* Optional: a hint that LEN bytes at OFF will be read soon, from
	 * the read-ahead policy (xvafs/readahead.h) or the tar walk. It
	 * returns at once: the fetching is done by a thread of the source's
	 * own, never by the caller's. */
	void (*prefetch)(struct xva_source *src, uint64_t off, uint64_t len);
	/* Optional: whether a read of LEN bytes at OFF would wait for its
	 * bytes now (a miss), for the read-ahead policy. Cheap, never
	 * blocking. Without it every read counts as a miss. */
	bool (*would_wait)(struct xva_source *src, uint64_t off, uint64_t len);
	/* Optional: ends a pass (see above). */
	enum xva_status (*finish_pass)(struct xva_source *src,
				       struct xva_err *err);
	void (*info)(const struct xva_source *src,
		     struct xva_source_info *info);
	/* Optional: a source with threads of its own (the remote one's I/O
	 * thread) stops them before the process forks (daemonizing), since
	 * only the forking thread lives on in the child, and starts them
	 * again after, in the process that goes on. */
	void (*before_fork)(struct xva_source *src);
	void (*after_fork)(struct xva_source *src);
	void (*close)(struct xva_source *src);
};

struct xva_source {
	const struct xva_source_ops *ops;
	/* The location as given, for messages (never with credentials). */
	char *location;
	/* What the caches are keyed by: equal for the same bytes, different
	 * whenever the bytes may differ (a file's device, inode, size and
	 * mtime; an object's URL, size and ETag; a decoder adds its kind). */
	char *identity;
	uint64_t size;          /* tar bytes; XVA_SIZE_UNKNOWN in a pass */
	bool in_pass;           /* reads must go forward (see above) */
	bool skip_is_free;      /* bytes not needed need not be read */
	/* >= 0: the tar's bytes are this local file's at the same offsets,
	 * so replies may be spliced from it; else -1. */
	int fd;
	int direct_fd;          /* the same file opened O_DIRECT, or -1 */
	int direct_errno;       /* why direct_fd is -1 for a local file */
	struct timespec mtime;  /* of the file or object */
	/* A problem of the stream found by the pass that does not stop the
	 * export being served: it is cut short, or fails its own checksum
	 * (stream_damaged). Empty when none. */
	char warning[XVA_ERR_MAX];
	bool stream_damaged;
	/* The source a decoder reads, when that one has a pass of its own
	 * to end (the crypt source's tag): set by the factory, ended after
	 * this one's by xva_source_finish_pass. It is the decoder's raw
	 * source, closed by the decoder. */
	struct xva_source *below;
};

/* Opens LOCATION: a path, an http:// or https:// URL, or s3://BUCKET/KEY;
 * decrypted when O names a key (o->crypt_key); a gzip or zstd stream is
 * recognised by its magic and decoded; xz and bzip2 are
 * XVA_EUNSUPPORTED. O may be NULL. */
enum xva_status xva_source_open(const char *location,
				const struct xva_source_options *o,
				struct xva_source **out, struct xva_err *err);
void xva_source_close(struct xva_source *src);

/* Reads up to LEN bytes at OFF into BUF; *GOT < LEN only where the stream
 * ends. During a pass the end may not be known yet; afterwards a read that
 * starts at or past src->size gets 0 bytes. */
enum xva_status xva_source_read(struct xva_source *src, void *buf,
				size_t len, uint64_t off, size_t *got,
				struct xva_err *err);
/* Exactly LEN bytes, or XVA_ETRUNCATED naming WHAT ("ova.xml", ...). */
enum xva_status xva_source_read_full(struct xva_source *src, void *buf,
				     size_t len, uint64_t off, const char *what,
				     struct xva_err *err);
/* Whether SRC lends its bytes (xva_source_lend). */
bool xva_source_can_lend(const struct xva_source *src);
/* Up to LEN bytes at OFF lent through LEASE (see the lend op): *GOT < LEN
 * only where the stream ends. XVA_EINVAL when SRC cannot lend. */
enum xva_status xva_source_lend(struct xva_source *src, size_t len,
				uint64_t off, struct xva_lease *lease,
				size_t *got, struct xva_err *err);
/* For lend ops and readers filling a lease: appends LEN bytes at DATA to
 * L's pieces (joined to the last one when they follow it in memory). */
enum xva_status xva_lease_add(struct xva_lease *l, const void *data,
			      size_t len, struct xva_err *err);
/* For lend ops: L takes PIN of SRC over (on failure it is unpinned at
 * once). */
enum xva_status xva_lease_hold(struct xva_lease *l, struct xva_source *src,
			       void *pin, struct xva_err *err);
/* LEN bytes of L's scratch buffer not yet used, or NULL when too few
 * are left. */
void *xva_lease_scratch(struct xva_lease *l, size_t len);
void xva_source_prefetch(struct xva_source *src, uint64_t off, uint64_t len);
bool xva_source_would_wait(struct xva_source *src, uint64_t off,
			   uint64_t len);
/* For a reader of SRC's own bytes (a decoder reading its compressed
 * bytes, --verify's chunks, a test): before a read of LEN bytes at OFF,
 * the read-ahead policy follows the reader through S and hints SRC what
 * lies ahead. */
void xva_source_note_read(struct xva_source *src, struct xva_stream *s,
			  uint64_t off, size_t len);
/* Ends SRC's pass, then that of the source below it (a decoder's pass
 * over an encrypted file checks its tag too). */
enum xva_status xva_source_finish_pass(struct xva_source *src,
				       struct xva_err *err);
/* The crypt source in SRC's stack (SRC itself, or the one below its
 * decoder), or NULL when the export is not encrypted. */
struct xva_source *xva_source_crypt_of(struct xva_source *src);
void xva_source_info(const struct xva_source *src,
		     struct xva_source_info *info);
/* Around a fork() of a process holding SRC (see before_fork above): no
 * read may be made between the two calls. */
void xva_source_before_fork(struct xva_source *src);
void xva_source_after_fork(struct xva_source *src);

/* The kinds. Each constructor fills a struct xva_source it allocates; a
 * decoder takes RAW over and closes it with itself (or on failure). */
enum xva_status xva_source_file_open(const char *path,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err);
enum xva_status xva_source_http_open(const char *url,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err);
enum xva_status xva_source_gzip_open(struct xva_source *raw,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err);
enum xva_status xva_source_zstd_open(struct xva_source *raw,
				     const struct xva_source_options *o,
				     struct xva_source **out,
				     struct xva_err *err);

/* A file Xen Orchestra encrypted with KEY and ALG, read as its plaintext
 * (RAW's size - 28 bytes) over RAW, a raw source of known size. Where it
 * starts, by its authentication (the tag over the whole file):
 *  - the cache folder (o->cache_dir) records that this file was
 *    authenticated with this key, and o->fresh_pass is not set: it reads
 *    anywhere (XVA_CRYPT_AUTH_CACHED);
 *  - else with o->crypt_unauthenticated: it reads anywhere and its
 *    warning says it is not authenticated (XVA_CRYPT_AUTH_SKIPPED);
 *  - else it starts in a pass (XVA_CRYPT_AUTH_PENDING): finish_pass
 *    checks the tag (XVA_ECORRUPT, reason XVA_R_STREAM_CHECKSUM, when it
 *    does not match; every read fails from then on), records it in the
 *    cache folder, and then it reads anywhere (XVA_CRYPT_AUTH_CHECKED).
 * Errors: XVA_EFORMAT for a file too short to be encrypted (or too long
 * for AES-256-GCM), XVA_EUNSUPPORTED for a cipher OpenSSL lacks. */
enum xva_status xva_source_crypt_open(struct xva_source *raw,
				      const struct xva_crypt_key *key,
				      enum xva_crypt_alg alg,
				      const struct xva_source_options *o,
				      struct xva_source **out,
				      struct xva_err *err);
/* SRC's state; NOTE (may be NULL) gets why it FAILED, or why its
 * authentication could not be recorded, or "". */
enum xva_crypt_auth xva_crypt_auth_state(const struct xva_source *src,
					 char *note, size_t note_len);
/* Checks SRC's tag now, reading the whole file (progress and stop from
 * its options): ends its pass if it is in one, else makes a pass of its
 * own (--verify; after crypt_unauthenticated). A tag that does not match
 * is XVA_ECORRUPT and every read fails from then on. */
enum xva_status xva_crypt_authenticate(struct xva_source *src,
				       struct xva_err *err);

/* For tests of a local file's prefetcher: FN is told of each range it
 * asks the device for (page-aligned), from its thread; drain waits until
 * every hint queued so far has been dealt with. */
void xva_source_file_observe(struct xva_source *src,
			     void (*fn)(void *ctx, uint64_t off, uint64_t len),
			     void *ctx);
void xva_source_file_drain(struct xva_source *src);
/* The most bytes one of its requests asks for (the device's cap). */
uint64_t xva_source_file_piece(const struct xva_source *src);

/* For the kinds: fills the common fields (fd and direct_fd -1). */
enum xva_status xva_source_init(struct xva_source *src,
				const struct xva_source_ops *ops,
				const char *location, const char *identity,
				struct xva_err *err);
/* Adds a line to SRC's warning ("; " between lines). */
void xva_source_warn(struct xva_source *src, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Frees the common fields (not SRC itself). */
void xva_source_fini(struct xva_source *src);

#endif
