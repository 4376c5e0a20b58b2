/* The source layer: "the bytes of the uncompressed tar at offset X",
 * whatever holds them. The tar walk, the disk map, the read path and every
 * front end read an export through this interface only, so adding a kind
 * of input is adding one module here.
 *
 * Kinds: a plain local file (source_file.c), an object on a web server or
 * in S3 (source_http.c), a file Xen Orchestra encrypted over either of
 * them (source/crypt.c), and a gzip or zstd stream over any of these
 * (source_gzip.c, source_zstd.c). xva_source_open(), the factory in
 * source_open.c (which no kind calls), picks the raw kind from the location
 * and stacks a decoder on it when the first bytes are a gzip or zstd magic;
 * exports are named .xva either way. source.c is the base every kind uses.
 *
 * A compressed stream has no random access until its index exists. Opening
 * one loads that index from the cache folder when a valid one is there;
 * otherwise the source starts in a sequential pass: it serves reads in
 * increasing order only (a read may go back at most XVA_PASS_BACKLOG bytes
 * behind the furthest byte read), decoding as it goes and building its
 * index on the way. The tar walk is that pass; xva_source_finish_pass()
 * then reads to the end of the stream, checks the stream's own checksum,
 * saves the index, and from then on reads go anywhere.
 *
 * Every source is safe for concurrent reads from several threads once it
 * is out of its pass. */
#ifndef XVAFS_SOURCE_H
#define XVAFS_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "xvafs/crypt.h"
#include "xvafs/error.h"

#define XVA_SIZE_UNKNOWN UINT64_MAX
/* How far behind its furthest read a read may go during a pass. */
#define XVA_PASS_BACKLOG (1u << 20)

/* Progress of a pass over a stream: DONE of TOTAL stored (compressed)
 * bytes consumed; TOTAL is 0 when unknown. */
typedef void (*xva_progress_fn)(void *ctx, uint64_t done, uint64_t total);

struct xva_source_options {
	/* Where compressed sources keep their index and chunk cache, named
	 * after the source's identity. NULL: no persistent cache (the gzip
	 * index lives in memory, the zstd chunk cache in an unlinked
	 * temporary file). */
	const char *cache_dir;
	uint64_t cache_max;    /* most bytes a chunk cache may take; 0: none */
	/* Do not load a saved index or chunk cache: make the pass again
	 * (--verify does, to check the stream's own checksum now). */
	bool fresh_pass;
	uint64_t memory_max;   /* in-memory cache of decoded or fetched
				  bytes; 0: the source's default */
	xva_progress_fn progress;
	void *progress_ctx;
	/* Set (by a signal handler) to stop a pass with XVA_EINTR. */
	const volatile sig_atomic_t *stop;
	/* Remote sources. */
	const char *ca_file;     /* extra CA bundle; NULL: the system's */
	const char *s3_endpoint; /* S3-compatible endpoint URL; NULL: AWS */
	const char *s3_region;   /* NULL: from the AWS config, else us-east-1 */
	const char *aws_profile; /* NULL: $AWS_PROFILE, else "default" */
	int s3_path_style;       /* 1 path-style, 0 virtual-host, -1 auto */
	unsigned timeout_s;      /* per request; 0: the default */
	unsigned retries;        /* per request; 0: the default */
	/* An encrypted file: serve its bytes before its tag is checked (the
	 * user asked for it; the source then warns that they are not
	 * authenticated). */
	bool crypt_unauthenticated;
};

/* Facts for --list and the logs. */
struct xva_source_info {
	const char *kind;       /* "file", "http", "s3", "gzip", "zstd" */
	const char *over;       /* a decoder's raw kind, or NULL */
	uint64_t stored_size;   /* bytes as stored (compressed, remote) */
	bool index_loaded;      /* the source's own index came from the cache */
	char cache_path[4096];  /* its file in the cache folder, or "" */
	uint64_t cache_bytes;   /* that file's size */
	uint64_t index_memory;  /* bytes of memory its index holds */
	uint64_t access_points; /* gzip: access points; zstd: frames */
};

struct xva_source;

/* What each kind implements; callers use the xva_source_* calls below. */
struct xva_source_ops {
	enum xva_status (*read)(struct xva_source *src, void *buf, size_t len,
				uint64_t off, size_t *got, struct xva_err *err);
	/* Optional: a hint that LEN bytes at OFF will be read soon. */
	void (*prefetch)(struct xva_source *src, uint64_t off, uint64_t len);
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
};

/* Opens LOCATION: a path, an http:// or https:// URL, or s3://BUCKET/KEY;
 * a gzip or zstd stream is recognised by its magic and decoded; xz and
 * bzip2 are XVA_EUNSUPPORTED. O may be NULL. */
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
void xva_source_prefetch(struct xva_source *src, uint64_t off, uint64_t len);
enum xva_status xva_source_finish_pass(struct xva_source *src,
				       struct xva_err *err);
void xva_source_info(const struct xva_source *src,
		     struct xva_source_info *info);
/* Around a fork() of a process holding SRC (see before_fork above): no
 * read may be made between the two calls. */
void xva_source_before_fork(struct xva_source *src);
void xva_source_after_fork(struct xva_source *src);

/* Whether LOCATION names a remote object rather than a path. */
bool xva_location_is_url(const char *location);

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
enum xva_crypt_auth {
	XVA_CRYPT_AUTH_NOT_ENCRYPTED = 0, /* not a crypt source */
	XVA_CRYPT_AUTH_PENDING,  /* in its pass: the tag is checked at its end */
	XVA_CRYPT_AUTH_SKIPPED,  /* not checked: crypt_unauthenticated */
	XVA_CRYPT_AUTH_CACHED,   /* checked before, with this key */
	XVA_CRYPT_AUTH_CHECKED,  /* checked by this process */
	XVA_CRYPT_AUTH_FAILED,   /* the tag does not match: no reads */
};
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
