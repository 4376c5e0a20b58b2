/* The source layer: "the bytes of the uncompressed tar at offset X",
 * whatever holds them. The tar walk, the disk map, the read path and every
 * front end read an export through this layer only, so adding a kind
 * of input is adding one module here.
 *
 * Kinds (in src/source/): a plain local file (file.c), an object on a
 * web server or in S3 (http.c), a file Xen Orchestra encrypted over
 * either of them (crypt.c), and a gzip or zstd stream over any of these
 * (gzip.c, zstd.c). xva_source_open(), the factory in open.c (which no
 * kind calls), picks the raw kind from the location and stacks a decoder
 * on it when the first bytes are a gzip or zstd magic; exports are named
 * .xva either way. source.c is the base every kind uses.
 *
 * This header is what front ends may know of a source: its options and
 * facts. What the kinds implement and the calls the core makes are in
 * src/source/source.h.
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
#include <sys/uio.h>
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
	/* A file of an encrypted Xen Orchestra repository: the factory puts
	 * the crypt source over the raw one with this key and cipher (the
	 * caller has checked the key against the repository). NULL or
	 * XVA_CRYPT_NONE: not encrypted. */
	const struct xva_crypt_key *crypt_key;
	enum xva_crypt_alg crypt_alg;
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
	/* An export's facts (xva_info) for an encrypted one: its cipher
	 * ("chacha20-poly1305", "aes-256-gcm") and where its authentication
	 * stands (xva_crypt_auth_name); NULL when not encrypted. kind and
	 * over then name the decoder and the raw kind, as for any other. */
	const char *encryption;
	const char *authentication;
};

/* An opened source. Only the core (src/source, src/export, src/access)
 * sees its fields, through src/source/source.h; front ends hold it, if at
 * all, as this incomplete type. */
struct xva_source;

/* A read's bytes LENT in place instead of copied into the reader's
 * buffer: pointers into a source's cache (the remote source's blocks),
 * into a zero buffer for holes, and into the reader's SCRATCH buffer for
 * the bytes nobody can lend (an overlay's data, read into it). A front
 * end writes the pieces out as they are: writev(2) copies them once, into
 * the kernel, where a reply through a buffer copies every byte twice.
 * Lent memory stays valid, and the cache blocks holding it pinned (never
 * evicted, freed or reused), until xva_lease_release. One thread uses a
 * lease; its pins come from one source. Made by xva_view_lend
 * (xvafs/view.h). */
#define XVA_LEASE_INLINE 8
struct xva_lease {
	struct iovec *iov;      /* the read's bytes, in order */
	size_t n_iov;
	/* The rest is the lease's own. */
	size_t cap_iov;
	struct xva_source *src; /* whose pins */
	void **pins;
	size_t n_pins, cap_pins;
	char *scratch;
	size_t scratch_len, scratch_used;
	struct iovec iov_inline[XVA_LEASE_INLINE];
	void *pins_inline[XVA_LEASE_INLINE];
};

/* An empty lease; SCRATCH (SCRATCH_LEN bytes, may be NULL) is the
 * reader's, for bytes that cannot be lent: as long as the reads made
 * with the lease, it is never short. */
void xva_lease_init(struct xva_lease *l, void *scratch, size_t scratch_len);
/* Unpins what L holds and empties it (it may be used again). */
void xva_lease_release(struct xva_lease *l);

/* Whether LOCATION names a remote object rather than a path. */
bool xva_location_is_url(const char *location);

#endif
