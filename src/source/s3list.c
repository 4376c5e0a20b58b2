/* ListObjectsV2 under a prefix, one page (up to 1000 keys) per request,
 * following NextContinuationToken. Requests are signed by curl
 * (CURLOPT_AWS_SIGV4) with the credentials and region the S3 source
 * would use (xva_s3_resolve), so a repository lists wherever its backups
 * can be read. The query is written in SigV4's canonical form (names in
 * order, values percent-encoded), which curl 7.88 signs as it is. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "source/aws.h"
#include "source/http_response.h"
#include "source/s3list.h"

/* A page of 1000 keys is about 300 KiB of XML; anything past this is not
 * a listing. */
#define PAGE_MAX (16u << 20)
#define PAGES_MAX (XVA_S3_LIST_MAX / 1000 + 1)
#define DEFAULT_TIMEOUT_S 30
#define DEFAULT_TRIES 5

struct page {
	char *body;
	size_t len;
	bool too_long;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct page *p = ud;
	size_t n = size * nmemb;
	char *grown;

	if (p->len + n > PAGE_MAX) {
		p->too_long = true;
		return 0;
	}
	grown = realloc(p->body, p->len + n + 1);
	if (!grown)
		return 0;
	memcpy(grown + p->len, data, n);
	p->body = grown;
	p->len += n;
	p->body[p->len] = '\0';
	return n;
}

void xva_object_list_free(struct xva_object_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->items[i].name);
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static enum xva_status add_object(struct xva_object_list *list,
				  const char *name, uint64_t size,
				  struct xva_err *err)
{
	if (list->n == list->cap) {
		size_t cap = list->cap ? 2 * list->cap : 256;
		struct xva_object *items = realloc(list->items,
						   cap * sizeof(*items));

		if (!items)
			return xva_nomem(err);
		list->items = items;
		list->cap = cap;
	}
	list->items[list->n].name = strdup(name);
	if (!list->items[list->n].name)
		return xva_nomem(err);
	list->items[list->n++].size = size;
	return XVA_OK;
}

/* The text of NODE's child element NAME, or NULL (xmlFree it). */
static xmlChar *child_text(xmlNode *node, const char *name)
{
	for (xmlNode *c = node->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
		    strcmp((const char *)c->name, name) == 0)
			return xmlNodeGetContent(c);
	return NULL;
}

/* One page's <Contents> into LIST; *TOKEN (malloc'ed) the next page's
 * continuation token, NULL after the last. */
static enum xva_status parse_page(const struct page *p, const char *prefix,
				  struct xva_object_list *list, char **token,
				  struct xva_err *err)
{
	xmlDoc *doc;
	xmlNode *root;
	xmlChar *truncated, *next;
	enum xva_status st = XVA_OK;
	size_t plen = strlen(prefix);

	*token = NULL;
	doc = xmlReadMemory(p->body, (int)p->len, "list.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
			    XML_PARSE_NOWARNING);
	root = doc ? xmlDocGetRootElement(doc) : NULL;
	if (!root || strcmp((const char *)root->name, "ListBucketResult") != 0) {
		xmlFreeDoc(doc);
		return xva_fail(err, XVA_EFORMAT, "the S3 listing is not a "
				"ListBucketResult");
	}
	for (xmlNode *c = root->children; c && st == XVA_OK; c = c->next) {
		xmlChar *key, *size;
		unsigned long long n = 0;
		char *end = NULL;

		if (c->type != XML_ELEMENT_NODE ||
		    strcmp((const char *)c->name, "Contents") != 0)
			continue;
		key = child_text(c, "Key");
		size = child_text(c, "Size");
		if (size)
			n = strtoull((const char *)size, &end, 10);
		if (!key || !size || !end || *end ||
		    strncmp((const char *)key, prefix, plen) != 0)
			st = xva_fail(err, XVA_EFORMAT, "the S3 listing has an "
				      "entry without a key under %s or a size",
				      prefix);
		else if (list->n >= XVA_S3_LIST_MAX)
			st = xva_fail(err, XVA_EFORMAT, "more than %u objects "
				      "under %s", XVA_S3_LIST_MAX, prefix);
		else
			st = add_object(list, (const char *)key + plen, n, err);
		xmlFree(key);
		xmlFree(size);
	}
	truncated = child_text(root, "IsTruncated");
	next = child_text(root, "NextContinuationToken");
	if (st == XVA_OK && truncated &&
	    strcmp((const char *)truncated, "true") == 0) {
		if (!next || !*next)
			st = xva_fail(err, XVA_EFORMAT, "the S3 listing is cut "
				      "but names no continuation token");
		else if (!(*token = strdup((const char *)next)))
			st = xva_nomem(err);
	}
	xmlFree(truncated);
	xmlFree(next);
	xmlFreeDoc(doc);
	return st;
}

/* The bucket's URL (the target's without its key), with the query. */
static char *page_url(const struct xva_s3_target *t, const char *prefix,
		      const char *token)
{
	char *enc_key = xva_uri_encode(t->key, true);
	char *enc_prefix = xva_uri_encode(prefix, false);
	char *enc_token = token ? xva_uri_encode(token, false) : NULL;
	char *url = NULL;
	size_t base;

	if (enc_key && enc_prefix && (!token || enc_token) &&
	    strlen(t->url) >= strlen(enc_key)) {
		base = strlen(t->url) - strlen(enc_key);
		/* Path-style: ENDPOINT/BUCKET, not ENDPOINT/BUCKET/. */
		if (t->path_style && base > 0 && t->url[base - 1] == '/')
			base--;
		if (asprintf(&url, "%.*s?%s%s%slist-type=2&prefix=%s",
			     (int)base, t->url,
			     token ? "continuation-token=" : "",
			     token ? enc_token : "", token ? "&" : "",
			     enc_prefix) < 0)
			url = NULL;
	}
	free(enc_key);
	free(enc_prefix);
	free(enc_token);
	return url;
}

static CURL *new_easy(const struct xva_s3_target *t,
		      const struct xva_source_options *o,
		      struct curl_slist *headers, struct page *p)
{
	long timeout = o->timeout_s ? (long)o->timeout_s : DEFAULT_TIMEOUT_S;
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "xvafs");
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, timeout);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, p);
	if (o->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
	if (t->access_key) {
		curl_easy_setopt(e, CURLOPT_AWS_SIGV4, t->sigv4);
		curl_easy_setopt(e, CURLOPT_USERNAME, t->access_key);
		curl_easy_setopt(e, CURLOPT_PASSWORD, t->secret_key);
	}
	return e;
}

/* What a failed page request means, as the S3 source would say it. */
static enum xva_status page_failed(const struct xva_s3_target *t,
				   const char *shown, long code, CURLcode rc,
				   const struct page *p, struct xva_err *err)
{
	char s3code[128], msg[256], region[64];
	const char *why;

	if (code == 0)
		return xva_fail(err, XVA_ENET, "listing %s: %s", shown,
				curl_easy_strerror(rc));
	xva_s3_error_field(p->body, "Code", s3code, sizeof(s3code));
	xva_s3_error_field(p->body, "Message", msg, sizeof(msg));
	xva_s3_error_field(p->body, "Region", region, sizeof(region));
	if (code == 404)
		return xva_fail(err, XVA_EOPEN, "listing %s: no such bucket "
				"(HTTP 404%s%s)", shown, s3code[0] ? " " : "",
				s3code);
	if (region[0] && strcmp(region, t->region) != 0)
		return xva_fail(err, XVA_EINVAL, "listing %s: the bucket is in "
				"region %s, not %s: set the region "
				"(AWS_REGION=%s)", shown, region, t->region,
				region);
	why = xva_s3_auth_problem(s3code);
	if (why || code == 401 || code == 403)
		return xva_fail(err, XVA_EACCESS, "listing %s: access denied "
				"(HTTP %ld %s%s%s)%s%s", shown, code, s3code,
				msg[0] ? ": " : "", msg, why ? ": " : "",
				why ? why : "");
	return xva_fail(err, XVA_EIO, "listing %s: HTTP %ld %s%s%s", shown,
			code, s3code, msg[0] ? ": " : "", msg);
}

/* One page, retried as the S3 source retries (5xx, 429, transport). */
static enum xva_status get_page(const struct xva_s3_target *t,
				const struct xva_source_options *o,
				struct curl_slist *headers, const char *url,
				struct page *p, struct xva_err *err)
{
	unsigned tries = o->retries ? o->retries : DEFAULT_TRIES;
	enum xva_status st = XVA_EIO;

	for (unsigned i = 0; i < tries; i++) {
		CURL *e = new_easy(t, o, headers, p);
		long code = 0;
		CURLcode rc;

		if (!e)
			return xva_nomem(err);
		free(p->body);
		memset(p, 0, sizeof(*p));
		curl_easy_setopt(e, CURLOPT_URL, url);
		rc = curl_easy_perform(e);
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_cleanup(e);
		if (p->too_long)
			return xva_fail(err, XVA_EFORMAT, "listing %s: a page "
					"over %u MiB", t->shown, PAGE_MAX >> 20);
		if (rc == CURLE_OK && code == 200 && p->body)
			return XVA_OK;
		st = page_failed(t, t->shown, code, rc, p, err);
		if (!(code == 0 || code == 429 || code >= 500))
			return st;
		if (o->stop && *o->stop)
			return xva_fail(err, XVA_EINTR, "interrupted while "
					"listing %s", t->shown);
		usleep(100000u << (i < 5 ? i : 5));
	}
	return st;
}

static enum xva_status s3_headers(const struct xva_s3_target *t,
				  struct curl_slist **list,
				  struct xva_err *err)
{
	char *h = NULL;

	*list = NULL;
	if (t->access_key &&
	    !(*list = curl_slist_append(*list,
					"x-amz-content-sha256: UNSIGNED-PAYLOAD")))
		return xva_nomem(err);
	if (t->session_token) {
		struct curl_slist *l;

		if (asprintf(&h, "x-amz-security-token: %s",
			     t->session_token) < 0)
			return xva_nomem(err);
		l = curl_slist_append(*list, h);
		explicit_bzero(h, strlen(h));
		free(h);
		if (!l)
			return xva_nomem(err);
		*list = l;
	}
	return XVA_OK;
}

enum xva_status xva_s3_list(const char *location,
			    const struct xva_source_options *o,
			    struct xva_object_list *out, struct xva_err *err)
{
	struct xva_s3_target t = { 0 };
	struct curl_slist *headers = NULL;
	struct page p = { 0 };
	char *token = NULL, *url = NULL;
	enum xva_status st;
	unsigned pages = 0;

	memset(out, 0, sizeof(*out));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return xva_fail(err, XVA_ENOMEM, "cannot initialise libcurl");
	st = xva_s3_resolve(location, o, &t, err);
	if (st == XVA_OK)
		st = s3_headers(&t, &headers, err);
	do {
		if (st != XVA_OK)
			break;
		free(url);
		url = page_url(&t, t.key, token);
		if (!url) {
			st = xva_nomem(err);
			break;
		}
		free(token);
		token = NULL;
		st = get_page(&t, o, headers, url, &p, err);
		if (st == XVA_OK)
			st = parse_page(&p, t.key, out, &token, err);
		if (st == XVA_OK && token && ++pages >= PAGES_MAX)
			st = xva_fail(err, XVA_EFORMAT, "listing %s: more than "
				      "%u pages", t.shown, PAGES_MAX);
	} while (st == XVA_OK && token);
	free(token);
	free(url);
	free(p.body);
	curl_slist_free_all(headers);
	xva_s3_target_free(&t);
	curl_global_cleanup();
	return st;
}
