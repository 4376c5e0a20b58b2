/* S3 locations, the AWS configuration files and the credentials chain.
 *
 * The order things are looked in is the AWS CLI's, so that a user whose
 * `aws s3 cp` works finds xvafs using the same keys, region and endpoint:
 *   credentials: $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY (skipped when a
 *                profile is named explicitly, as `aws --profile` does),
 *                then the profile's section of the shared credentials
 *                file, then of the config file;
 *   profile:     the option, $AWS_PROFILE, "default";
 *   region:      the option, $AWS_REGION, $AWS_DEFAULT_REGION, the
 *                profile's region, us-east-1;
 *   endpoint:    the option, $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, the
 *                profile's "s3 = endpoint_url", its endpoint_url, AWS. */
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "source/aws.h"

char *xva_uri_encode(const char *in, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(in);
	char *out = malloc(3 * n + 1), *p = out;

	if (!out)
		return NULL;
	for (const unsigned char *s = (const unsigned char *)in; *s; s++) {
		if (isalnum(*s) && *s < 0x80) {
			*p++ = (char)*s;
		} else if (*s == '-' || *s == '.' || *s == '_' || *s == '~' ||
			   (*s == '/' && keep_slash)) {
			*p++ = (char)*s;
		} else {
			*p++ = '%';
			*p++ = hex[*s >> 4];
			*p++ = hex[*s & 15];
		}
	}
	*p = '\0';
	return out;
}

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r' || end[-1] == '\n'))
		*--end = '\0';
	return s;
}

/* One pass over an AWS INI file (Python configparser's dialect as botocore
 * reads it: names of keys are case-insensitive, an indented "k = v" under
 * a key with an empty value is that key's nested setting, no inline
 * comments). Calls VISIT for every section line (KEY NULL) and setting;
 * VISIT returns true to stop. */
typedef bool (*ini_visit_fn)(void *ctx, const char *section, const char *key,
			     const char *value);

static enum xva_status ini_walk(const char *path, ini_visit_fn visit,
				void *ctx, struct xva_err *err)
{
	char *line = NULL, *section = NULL, parent[128] = "";
	enum xva_status st = XVA_OK;
	size_t cap = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT || errno == ENOTDIR)
			return XVA_OK;
		return xva_fail(err, errno == EACCES ? XVA_EACCESS : XVA_EIO,
				"%s: cannot read: %s", path, strerror(errno));
	}
	while (getline(&line, &cap, f) >= 0) {
		bool indented = line[0] == ' ' || line[0] == '\t';
		char *s = trim(line), *eq, *key;

		if (!*s || *s == '#' || *s == ';')
			continue;
		if (!indented && *s == '[') {
			char *close = strrchr(s, ']');

			if (!close)
				continue;
			*close = '\0';
			free(section);
			section = strdup(trim(s + 1));
			if (!section) {
				st = xva_nomem(err);
				break;
			}
			parent[0] = '\0';
			if (visit(ctx, section, NULL, NULL))
				break;
			continue;
		}
		eq = strchr(s, '=');
		if (!section || !eq)
			continue;
		*eq = '\0';
		key = trim(s);
		s = trim(eq + 1);
		for (char *k = key; *k; k++)
			*k = (char)tolower((unsigned char)*k);
		if (!indented) {
			parent[0] = '\0';
			if (!*s && strlen(key) < sizeof(parent)) {
				strcpy(parent, key);
				continue;
			}
			if (visit(ctx, section, key, s))
				break;
		} else if (parent[0]) {
			char nested[300];

			snprintf(nested, sizeof(nested), "%s.%s", parent, key);
			if (visit(ctx, section, nested, s))
				break;
		}
	}
	if (st == XVA_OK && ferror(f))
		st = xva_fail(err, XVA_EIO, "%s: cannot read: %s", path,
			      strerror(errno));
	free(line);
	free(section);
	fclose(f);
	return st;
}

struct ini_lookup {
	const char *section;
	const char *key;
	bool found_section;
	char *value;
	bool nomem;
};

static bool lookup_visit(void *ctx, const char *section, const char *key,
			 const char *value)
{
	struct ini_lookup *l = ctx;

	if (strcmp(section, l->section) != 0)
		return false;
	l->found_section = true;
	if (!key || strcasecmp(key, l->key) != 0)
		return false;
	/* configparser keeps the last of repeated keys. */
	free(l->value);
	l->value = strdup(value);
	l->nomem = !l->value;
	return l->nomem;
}

enum xva_status xva_aws_ini_get(const char *path, const char *section,
				const char *key, char **value,
				struct xva_err *err)
{
	struct ini_lookup l = { .section = section, .key = key };
	enum xva_status st;

	*value = NULL;
	st = ini_walk(path, lookup_visit, &l, err);
	if (st == XVA_OK && l.nomem)
		st = xva_nomem(err);
	if (st != XVA_OK) {
		free(l.value);
		return st;
	}
	*value = l.value;
	return XVA_OK;
}

enum xva_status xva_aws_ini_has_section(const char *path,
					const char *section, bool *has,
					struct xva_err *err)
{
	struct ini_lookup l = { .section = section, .key = "" };
	enum xva_status st;

	st = ini_walk(path, lookup_visit, &l, err);
	free(l.value);
	*has = l.found_section;
	return st;
}

static bool is_secret_param(const char *name, size_t len)
{
	static const char *const secret[] = {
		"signature", "awsaccesskeyid", "expires", "sig", "se", "st",
		"sp", "sv", "sr", "spr", "srt", "ss", "skoid", "sktid", "skt",
		"ske", "sks", "skv", "token", "access_token", "key", "api_key",
		"apikey", "auth", "password", "passwd", "secret",
	};

	if ((len >= 6 && strncasecmp(name, "x-amz-", 6) == 0) ||
	    (len >= 7 && strncasecmp(name, "x-goog-", 7) == 0))
		return true;
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (strlen(secret[i]) == len &&
		    strncasecmp(name, secret[i], len) == 0)
			return true;
	return false;
}

char *xva_url_redact(const char *url)
{
	const char *scheme_end = strstr(url, "://");
	const char *host, *at, *path_start, *query, *frag, *p;
	size_t len = strlen(url);
	char *out = malloc(len + 1), *o = out;
	bool any = false;

	if (!out)
		return NULL;
	host = scheme_end ? scheme_end + 3 : url;
	path_start = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(path_start - host));
	/* The last '@' before the path ends the user information. */
	while (at) {
		const char *next = memchr(at + 1, '@',
					  (size_t)(path_start - at - 1));

		if (!next)
			break;
		at = next;
	}
	memcpy(o, url, (size_t)(host - url));
	o += host - url;
	p = at ? at + 1 : host;
	query = strchr(p, '?');
	frag = strchr(p, '#');
	if (frag && query && frag < query)
		query = NULL;
	if (!query) {
		size_t n = frag ? (size_t)(frag - p) : strlen(p);

		memcpy(o, p, n);
		o[n] = '\0';
		return out;
	}
	memcpy(o, p, (size_t)(query - p));
	o += query - p;
	p = query + 1;
	while (*p && *p != '#') {
		size_t n = strcspn(p, "&#");
		size_t name = strcspn(p, "=&#");

		if (!is_secret_param(p, name < n ? name : n)) {
			*o++ = any ? '&' : '?';
			memcpy(o, p, n);
			o += n;
			any = true;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	*o = '\0';
	return out;
}

static char *home_path(const char *rel)
{
	const char *home = getenv("HOME");
	struct passwd pw, *res = NULL;
	char buf[4096], *out;

	if (!home || !*home) {
		if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) != 0 ||
		    !res)
			return NULL;
		home = pw.pw_dir;
	}
	if (asprintf(&out, "%s/%s", home, rel) < 0)
		return NULL;
	return out;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void append(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t size, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, size - used, fmt, ap);
	va_end(ap);
}

/* Reads one profile's settings from both files. */
struct profile {
	char *key, *secret, *token;
	char *region, *endpoint, *s3_endpoint, *addressing;
	char *role_arn, *process, *sso;
	bool in_credentials, in_config;
};

static void profile_free(struct profile *p)
{
	free(p->key);
	free(p->secret);
	free(p->token);
	free(p->region);
	free(p->endpoint);
	free(p->s3_endpoint);
	free(p->addressing);
	free(p->role_arn);
	free(p->process);
	free(p->sso);
}

struct profile_read {
	const char *section;
	bool config;
	struct profile *p;
	bool found;
	bool nomem;
};

static bool set_once(char **slot, const char *value, bool *nomem)
{
	free(*slot);
	*slot = strdup(value);
	*nomem = !*slot;
	return *nomem;
}

static bool profile_visit(void *ctx, const char *section, const char *key,
			  const char *value)
{
	struct profile_read *r = ctx;
	struct profile *p = r->p;

	if (strcmp(section, r->section) != 0)
		return false;
	r->found = true;
	if (!key)
		return false;
	/* The credentials file's keys win over the config file's: the
	 * credentials file is read first, and a key it set is kept. */
	if (!strcmp(key, "aws_access_key_id") && !(r->config && p->in_credentials))
		return set_once(&p->key, value, &r->nomem);
	if (!strcmp(key, "aws_secret_access_key") &&
	    !(r->config && p->in_credentials))
		return set_once(&p->secret, value, &r->nomem);
	if ((!strcmp(key, "aws_session_token") ||
	     (!strcmp(key, "aws_security_token") && !p->token)) &&
	    !(r->config && p->in_credentials))
		return set_once(&p->token, value, &r->nomem);
	if (!r->config)
		return false;
	if (!strcmp(key, "region"))
		return set_once(&p->region, value, &r->nomem);
	if (!strcmp(key, "endpoint_url"))
		return set_once(&p->endpoint, value, &r->nomem);
	if (!strcmp(key, "s3.endpoint_url"))
		return set_once(&p->s3_endpoint, value, &r->nomem);
	if (!strcmp(key, "s3.addressing_style"))
		return set_once(&p->addressing, value, &r->nomem);
	if (!strcmp(key, "role_arn"))
		return set_once(&p->role_arn, value, &r->nomem);
	if (!strcmp(key, "credential_process"))
		return set_once(&p->process, value, &r->nomem);
	if (!strcmp(key, "sso_start_url") || !strcmp(key, "sso_session"))
		return set_once(&p->sso, value, &r->nomem);
	return false;
}

static enum xva_status read_profile(const char *path, const char *section,
				    bool config, struct profile *p,
				    bool *found, struct xva_err *err)
{
	struct profile_read r = { .section = section, .config = config, .p = p };
	enum xva_status st;

	st = ini_walk(path, profile_visit, &r, err);
	if (st == XVA_OK && r.nomem)
		st = xva_nomem(err);
	*found = r.found;
	return st;
}

/* Endpoint "scheme://host[:port][/prefix]" split in two at the host. */
static enum xva_status split_endpoint(const char *endpoint, char **scheme_out,
				      char **rest_out, struct xva_err *err)
{
	const char *sep = strstr(endpoint, "://");
	char *scheme, *rest;
	size_t n;

	if (!sep) {
		scheme = strdup("https");
		rest = strdup(endpoint);
	} else {
		scheme = strndup(endpoint, (size_t)(sep - endpoint));
		rest = strdup(sep + 3);
	}
	if (!scheme || !rest) {
		free(scheme);
		free(rest);
		return xva_nomem(err);
	}
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0) {
		free(scheme);
		free(rest);
		return xva_fail(err, XVA_EINVAL, "S3 endpoint %s: not an http:// "
				"or https:// URL", endpoint);
	}
	n = strlen(rest);
	while (n && rest[n - 1] == '/')
		rest[--n] = '\0';
	if (!n || rest[0] == '/' || strpbrk(rest, "?#@")) {
		free(scheme);
		free(rest);
		return xva_fail(err, XVA_EINVAL, "S3 endpoint %s: expected "
				"http(s)://HOST[:PORT][/PATH]", endpoint);
	}
	*scheme_out = scheme;
	*rest_out = rest;
	return XVA_OK;
}

static bool bucket_ok(const char *b)
{
	size_t n = strlen(b);

	if (n == 0 || n > 255)
		return false;
	for (; *b; b++)
		if (!isalnum((unsigned char)*b) && *b != '.' && *b != '-' &&
		    *b != '_')
			return false;
	return true;
}

static bool bucket_is_dns_name(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63 || b[0] == '-' || b[n - 1] == '-')
		return false;
	for (; *b; b++)
		if (!islower((unsigned char)*b) && !isdigit((unsigned char)*b) &&
		    *b != '-')
			return false;
	return true;
}

static enum xva_status find_credentials(struct xva_s3_target *t,
					const struct xva_source_options *o,
					const char *profile_name,
					const char *cred_file,
					const char *config_file,
					struct profile *p,
					struct xva_err *err)
{
	const char *key = env("AWS_ACCESS_KEY_ID");
	const char *secret = env("AWS_SECRET_ACCESS_KEY");
	if (o->aws_profile) {
		append(t->cred_looked, sizeof(t->cred_looked),
		       "the environment (skipped: profile %s named)",
		       o->aws_profile);
	} else {
		append(t->cred_looked, sizeof(t->cred_looked),
		       "$AWS_ACCESS_KEY_ID");
		if (key && !secret)
			return xva_fail(err, XVA_EACCESS, "AWS_ACCESS_KEY_ID is "
					"set but AWS_SECRET_ACCESS_KEY is not");
		if (secret && !key)
			return xva_fail(err, XVA_EACCESS, "AWS_SECRET_ACCESS_KEY "
					"is set but AWS_ACCESS_KEY_ID is not");
		if (key) {
			const char *token = env("AWS_SESSION_TOKEN");

			if (!token)
				token = env("AWS_SECURITY_TOKEN");
			t->access_key = strdup(key);
			t->secret_key = strdup(secret);
			t->session_token = token ? strdup(token) : NULL;
			if (!t->access_key || !t->secret_key ||
			    (token && !t->session_token))
				return xva_nomem(err);
			snprintf(t->cred_source, sizeof(t->cred_source),
				 "$AWS_ACCESS_KEY_ID");
			return XVA_OK;
		}
	}

	append(t->cred_looked, sizeof(t->cred_looked), ", %s [%s]",
	       cred_file, profile_name);
	if (strcmp(profile_name, "default") == 0)
		append(t->cred_looked, sizeof(t->cred_looked), ", %s [%s]",
		       config_file, "default");
	else
		append(t->cred_looked, sizeof(t->cred_looked),
		       ", %s [profile %s]", config_file, profile_name);
	if (p->key || p->secret) {
		if (!p->key || !p->secret)
			return xva_fail(err, XVA_EACCESS, "AWS profile %s has "
					"%s but not %s", profile_name,
					p->key ? "aws_access_key_id" :
					"aws_secret_access_key",
					p->key ? "aws_secret_access_key" :
					"aws_access_key_id");
		t->access_key = strdup(p->key);
		t->secret_key = strdup(p->secret);
		t->session_token = p->token ? strdup(p->token) : NULL;
		if (!t->access_key || !t->secret_key ||
		    (p->token && !t->session_token))
			return xva_nomem(err);
		snprintf(t->cred_source, sizeof(t->cred_source),
			 "profile %s in %s", profile_name,
			 p->in_credentials ? cred_file : config_file);
		return XVA_OK;
	}
	if (p->process || p->sso || p->role_arn)
		snprintf(t->cred_unsupported, sizeof(t->cred_unsupported),
			 "AWS profile %s gets its credentials by %s, which "
			 "xvafs does not do: export temporary keys instead "
			 "(aws configure export-credentials --format env)",
			 profile_name, p->process ? "credential_process" :
			 p->sso ? "SSO" : "role_arn");
	return XVA_OK;
}

/* BUCKET and KEY of s3://BUCKET/KEY, and the name shown in messages. */
static enum xva_status parse_location(const char *location,
				      struct xva_s3_target *t,
				      struct xva_err *err)
{
	const char *slash;

	if (strncasecmp(location, "s3://", 5) != 0)
		return xva_fail(err, XVA_EINVAL, "%s: not an s3:// location",
				location);
	slash = strchr(location + 5, '/');
	if (!slash || !slash[1])
		return xva_fail(err, XVA_EINVAL, "%s: expected s3://BUCKET/KEY",
				location);
	t->bucket = strndup(location + 5, (size_t)(slash - location - 5));
	t->key = strdup(slash + 1);
	if (!t->bucket || !t->key || asprintf(&t->shown, "s3://%s/%s",
					      t->bucket, t->key) < 0) {
		t->shown = NULL;
		return xva_nomem(err);
	}
	if (!bucket_ok(t->bucket))
		return xva_fail(err, XVA_EINVAL, "%s: \"%s\" is not a bucket "
				"name", location, t->bucket);
	return XVA_OK;
}

/* The profile PROFILE_NAME from the credentials file and the config file
 * (their paths in *CRED_FILE and *CONFIG_FILE, which the caller frees),
 * as the AWS CLI reads them: a profile named but in neither file is an
 * error; "default" may be missing. */
static enum xva_status load_profile(const char *profile_name,
				    char **cred_file, char **config_file,
				    struct profile *p, struct xva_err *err)
{
	char section[300];
	enum xva_status st;
	bool found, in_creds;

	*cred_file = env("AWS_SHARED_CREDENTIALS_FILE") ?
		     strdup(env("AWS_SHARED_CREDENTIALS_FILE")) :
		     home_path(".aws/credentials");
	*config_file = env("AWS_CONFIG_FILE") ?
		       strdup(env("AWS_CONFIG_FILE")) :
		       home_path(".aws/config");
	if (!*cred_file || !*config_file)
		return xva_nomem(err);
	st = read_profile(*cred_file, profile_name, false, p, &found, err);
	if (st != XVA_OK)
		return st;
	p->in_credentials = found && (p->key || p->secret);
	if (strcmp(profile_name, "default") == 0) {
		st = read_profile(*config_file, "default", true, p, &found, err);
		if (st == XVA_OK && !found)
			st = read_profile(*config_file, "profile default", true,
					  p, &found, err);
	} else {
		snprintf(section, sizeof(section), "profile %s", profile_name);
		st = read_profile(*config_file, section, true, p, &found, err);
	}
	if (st != XVA_OK)
		return st;
	p->in_config = found;
	if (strcmp(profile_name, "default") == 0 || p->in_config)
		return XVA_OK;
	st = xva_aws_ini_has_section(*cred_file, profile_name, &in_creds, err);
	if (st == XVA_OK && !in_creds)
		st = xva_fail(err, XVA_EACCESS, "the AWS profile %s is in "
			      "neither %s nor %s", profile_name, *cred_file,
			      *config_file);
	return st;
}

/* The region: the option, the environment, the profile, else us-east-1. */
static enum xva_status pick_region(const struct xva_source_options *o,
				   const struct profile *p,
				   struct xva_s3_target *t, struct xva_err *err)
{
	const char *region = o->s3_region;

	if (!region)
		region = env("AWS_REGION");
	if (!region)
		region = env("AWS_DEFAULT_REGION");
	if (!region)
		region = p->region;
	if (!region || !*region)
		region = "us-east-1";
	for (const char *c = region; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '-')
			return xva_fail(err, XVA_EINVAL, "\"%s\" is not an AWS "
					"region", region);
	t->region = strdup(region);
	if (!t->region || asprintf(&t->sigv4, "aws:amz:%s:s3", region) < 0) {
		t->sigv4 = NULL;
		return xva_nomem(err);
	}
	return XVA_OK;
}

/* The endpoint (NULL: AWS's own) and the addressing style: the options,
 * the environment, the profile; path-style for a custom endpoint or a
 * bucket that cannot be a host name. */
static enum xva_status pick_addressing(const struct xva_source_options *o,
				       const struct profile *p,
				       struct xva_s3_target *t,
				       const char **endpoint_out,
				       struct xva_err *err)
{
	const char *endpoint = o->s3_endpoint;
	int path_style;

	if (!endpoint)
		endpoint = env("AWS_ENDPOINT_URL_S3");
	if (!endpoint)
		endpoint = env("AWS_ENDPOINT_URL");
	if (!endpoint)
		endpoint = p->s3_endpoint;
	if (!endpoint)
		endpoint = p->endpoint;
	if (endpoint && !*endpoint)
		endpoint = NULL;
	t->custom_endpoint = endpoint != NULL;
	*endpoint_out = endpoint;

	path_style = o->s3_path_style;
	if (path_style < 0 && p->addressing) {
		if (!strcasecmp(p->addressing, "path"))
			path_style = 1;
		else if (!strcasecmp(p->addressing, "virtual"))
			path_style = 0;
	}
	if (path_style < 0)
		path_style = t->custom_endpoint || !bucket_is_dns_name(t->bucket);
	if (!path_style && !bucket_is_dns_name(t->bucket))
		return xva_fail(err, XVA_EINVAL, "bucket %s cannot be addressed "
				"as a host name (virtual-host style): use "
				"path-style addressing", t->bucket);
	t->path_style = path_style;
	return XVA_OK;
}

/* The object's URL from the endpoint (or AWS's for the region) and the
 * addressing style. */
static enum xva_status build_url(struct xva_s3_target *t,
				 const char *endpoint, struct xva_err *err)
{
	char *scheme = NULL, *host = NULL, *enc_key;
	enum xva_status st = XVA_OK;

	enc_key = xva_uri_encode(t->key, true);
	if (!enc_key)
		return xva_nomem(err);
	if (endpoint) {
		st = split_endpoint(endpoint, &scheme, &host, err);
	} else {
		scheme = strdup("https");
		if (!scheme || asprintf(&host, "s3.%s.amazonaws.com%s",
					t->region, strncmp(t->region, "cn-", 3)
					? "" : ".cn") < 0) {
			host = NULL;
			st = xva_nomem(err);
		}
	}
	if (st == XVA_OK) {
		int n = t->path_style
			? asprintf(&t->url, "%s://%s/%s/%s", scheme, host,
				   t->bucket, enc_key)
			: asprintf(&t->url, "%s://%s.%s/%s", scheme, t->bucket,
				   host, enc_key);
		if (n < 0) {
			t->url = NULL;
			st = xva_nomem(err);
		}
	}
	free(enc_key);
	free(scheme);
	free(host);
	return st;
}

enum xva_status xva_s3_resolve(const char *location,
			       const struct xva_source_options *o,
			       struct xva_s3_target *t, struct xva_err *err)
{
	char *cred_file = NULL, *config_file = NULL;
	const char *profile_name, *endpoint = NULL;
	struct profile p = { 0 };
	enum xva_status st;

	memset(t, 0, sizeof(*t));
	st = parse_location(location, t, err);
	if (st != XVA_OK)
		goto out;
	profile_name = o->aws_profile ? o->aws_profile : env("AWS_PROFILE");
	if (!profile_name)
		profile_name = env("AWS_DEFAULT_PROFILE");
	if (!profile_name)
		profile_name = "default";
	st = load_profile(profile_name, &cred_file, &config_file, &p, err);
	if (st == XVA_OK)
		st = find_credentials(t, o, profile_name, cred_file,
				      config_file, &p, err);
	if (st == XVA_OK)
		st = pick_region(o, &p, t, err);
	if (st == XVA_OK)
		st = pick_addressing(o, &p, t, &endpoint, err);
	if (st == XVA_OK)
		st = build_url(t, endpoint, err);
out:
	profile_free(&p);
	free(cred_file);
	free(config_file);
	if (st != XVA_OK)
		xva_s3_target_free(t);
	return st;
}

void xva_s3_target_free(struct xva_s3_target *t)
{
	free(t->bucket);
	free(t->key);
	free(t->url);
	free(t->shown);
	free(t->region);
	free(t->sigv4);
	free(t->access_key);
	if (t->secret_key) {
		explicit_bzero(t->secret_key, strlen(t->secret_key));
		free(t->secret_key);
	}
	free(t->session_token);
	memset(t, 0, sizeof(*t));
}
