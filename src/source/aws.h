/* S3 locations: from s3://BUCKET/KEY, the options and the AWS
 * configuration to the HTTPS URL to request, the region to sign for and
 * the credentials to sign with, found the way the AWS CLI finds them (its
 * common subset: environment, shared credentials file, config file;
 * no SSO, credential_process, role assumption or instance metadata).
 *
 * Nothing here talks to the network; http.c signs and sends. */
#ifndef XVAFS_AWS_H
#define XVAFS_AWS_H

#include <stdbool.h>
#include <stddef.h>

#include "xvafs/error.h"
#include "source/source.h"

struct xva_s3_target {
	char *bucket;
	char *key;           /* as given, not encoded */
	char *url;           /* the object's URL, key percent-encoded */
	char *shown;         /* s3://BUCKET/KEY, for messages */
	char *region;
	char *sigv4;         /* CURLOPT_AWS_SIGV4's "aws:amz:REGION:s3" */
	bool custom_endpoint;
	bool path_style;
	/* NULL when no credentials were found: requests go unsigned. */
	char *access_key;
	char *secret_key;
	char *session_token; /* NULL unless temporary credentials */
	char cred_source[256];   /* where the credentials came from */
	char cred_looked[1024];  /* every place looked at, for messages */
	/* A profile that names a way of getting credentials xvafs does not
	 * implement (SSO, credential_process, role_arn), or "". */
	char cred_unsupported[256];
};

/* Fills T from LOCATION ("s3://BUCKET/KEY") and O. Fails with XVA_EINVAL
 * for a malformed location or endpoint, XVA_EACCESS when a profile asked
 * for does not exist or has half a key pair, XVA_EIO when a config file
 * exists but cannot be read. Finding no credentials at all is not a
 * failure (public buckets): T's access_key is then NULL. */
enum xva_status xva_s3_resolve(const char *location,
			       const struct xva_source_options *o,
			       struct xva_s3_target *t, struct xva_err *err);
void xva_s3_target_free(struct xva_s3_target *t);

/* Percent-encodes IN the way S3's SigV4 canonical URI wants it: every
 * byte but A-Z a-z 0-9 - . _ ~ (and '/' when KEEP_SLASH) as %XX with
 * upper-case hex. Returns a malloc'ed string or NULL. */
char *xva_uri_encode(const char *in, bool keep_slash);

/* Looks KEY up in SECTION of the INI-style AWS file PATH (a key nested
 * under "SUBSECTION =" is found as "SUBSECTION.KEY"). *VALUE is a malloc'ed
 * copy, or NULL when the file, section or key is not there. Fails only
 * when the file exists but cannot be read, or on no memory. */
enum xva_status xva_aws_ini_get(const char *path, const char *section,
				const char *key, char **value,
				struct xva_err *err);

/* Whether SECTION exists in PATH (false when the file does not). */
enum xva_status xva_aws_ini_has_section(const char *path,
					const char *section, bool *has,
					struct xva_err *err);

/* The URL with user:password@ and the query parameters that carry
 * secrets (pre-signed S3, GCS and Azure SAS signatures, tokens) removed:
 * fit for messages and cache keys. Malloc'ed, or NULL on no memory. */
char *xva_url_redact(const char *url);

#endif
