/* S3 locations, the AWS files and the credentials chain (no network). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "source/aws.h"

static char dir[] = "/tmp/xvafs-test-aws.XXXXXX";
static char creds_path[256], config_path[256];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

static void clear_env(void)
{
	static const char *const vars[] = {
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
		"AWS_ENDPOINT_URL_S3",
	};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	setenv("AWS_SHARED_CREDENTIALS_FILE", creds_path, 1);
	setenv("AWS_CONFIG_FILE", config_path, 1);
}

static void test_encode(void)
{
	char *s;

	s = xva_uri_encode("a b+c=d/é~_.-%?#&x", true);
	CHECK_MSG(s && !strcmp(s, "a%20b%2Bc%3Dd/%C3%A9~_.-%25%3F%23%26x"),
		  "%s", s);
	free(s);
	s = xva_uri_encode("a/b", false);
	CHECK(s && !strcmp(s, "a%2Fb"));
	free(s);
}

static void test_redact(void)
{
	static const char *const cases[][2] = {
		{ "https://user:pa:ss@host/x.xva", "https://host/x.xva" },
		{ "https://h/b/k.xva?X-Amz-Algorithm=AWS4&X-Amz-Credential=AK"
		  "&X-Amz-Signature=abc&versionId=3", "https://h/b/k.xva?versionId=3" },
		{ "http://h/x?sig=1&sv=2&se=3", "http://h/x" },
		{ "http://h/x?a=1#frag", "http://h/x?a=1" },
		{ "http://h/x#f?sig=1", "http://h/x" },
		{ "http://h/p@q", "http://h/p@q" },
		{ "http://u@h:81/x?token=t&Signature=s&Expires=1&AWSAccessKeyId=k",
		  "http://h:81/x" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = xva_url_redact(cases[i][0]);

		CHECK_MSG(s && !strcmp(s, cases[i][1]), "%s -> %s", cases[i][0],
			  s ? s : "NULL");
		free(s);
	}
}

static void test_ini(void)
{
	struct xva_err err = { 0 };
	char *v = NULL;
	bool has;

	write_file(config_path,
		   "# comment\n"
		   "[default]\n"
		   "region = eu-west-3\n"
		   "s3 =\n"
		   "    endpoint_url = http://nested:9000\n"
		   "    addressing_style = virtual\n"
		   "Output=json\n"
		   "\n"
		   "[profile other]\n"
		   "; another comment\n"
		   "region=ap-south-1\r\n"
		   "region = ap-south-2\n");
	CHECK(xva_aws_ini_get(config_path, "default", "region", &v, &err) == XVA_OK);
	CHECK(v && !strcmp(v, "eu-west-3"));
	free(v);
	CHECK(xva_aws_ini_get(config_path, "default", "s3.endpoint_url", &v,
			      &err) == XVA_OK);
	CHECK(v && !strcmp(v, "http://nested:9000"));
	free(v);
	CHECK(xva_aws_ini_get(config_path, "default", "output", &v, &err) == XVA_OK);
	CHECK(v && !strcmp(v, "json"));
	free(v);
	/* configparser keeps the last of repeated keys */
	CHECK(xva_aws_ini_get(config_path, "profile other", "region", &v,
			      &err) == XVA_OK);
	CHECK(v && !strcmp(v, "ap-south-2"));
	free(v);
	CHECK(xva_aws_ini_get(config_path, "nope", "region", &v, &err) == XVA_OK);
	CHECK(v == NULL);
	CHECK(xva_aws_ini_get("/nonexistent/file", "default", "region", &v,
			      &err) == XVA_OK && v == NULL);
	CHECK(xva_aws_ini_has_section(config_path, "profile other", &has,
				      &err) == XVA_OK && has);
	CHECK(xva_aws_ini_has_section(config_path, "other", &has, &err) ==
	      XVA_OK && !has);
}

static void test_resolve(void)
{
	struct xva_source_options o = { .s3_path_style = -1 };
	struct xva_s3_target t;
	struct xva_err err = { 0 };
	enum xva_status st;

	write_file(creds_path,
		   "[default]\n"
		   "aws_access_key_id = AKDEFAULT\n"
		   "aws_secret_access_key = secretdefault\n"
		   "[work]\n"
		   "aws_access_key_id = AKWORK\n"
		   "aws_secret_access_key = secretwork\n"
		   "aws_session_token = tokwork\n"
		   "[half]\n"
		   "aws_access_key_id = AKHALF\n");
	write_file(config_path,
		   "[default]\n"
		   "region = eu-west-3\n"
		   "[profile work]\n"
		   "region = us-west-2\n"
		   "[profile cfgkeys]\n"
		   "aws_access_key_id = AKCFG\n"
		   "aws_secret_access_key = secretcfg\n"
		   "endpoint_url = http://generic:1\n"
		   "s3 =\n"
		   "  endpoint_url = http://s3only:2/prefix/\n"
		   "[profile sso]\n"
		   "sso_session = corp\n");

	/* The default profile; AWS virtual-host URL. */
	clear_env();
	st = xva_s3_resolve("s3://my-bucket/dir/a b+c.xva", &o, &t, &err);
	CHECK_MSG(st == XVA_OK, "%s", err.msg);
	if (st == XVA_OK) {
		CHECK(!strcmp(t.access_key, "AKDEFAULT"));
		CHECK(!strcmp(t.region, "eu-west-3"));
		CHECK(!strcmp(t.sigv4, "aws:amz:eu-west-3:s3"));
		CHECK_MSG(!strcmp(t.url, "https://my-bucket.s3.eu-west-3."
				  "amazonaws.com/dir/a%20b%2Bc.xva"), "%s", t.url);
		CHECK(!strcmp(t.shown, "s3://my-bucket/dir/a b+c.xva"));
		CHECK(t.session_token == NULL);
		xva_s3_target_free(&t);
	}

	/* The environment wins over the files; AWS_REGION over the config. */
	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
	setenv("AWS_SESSION_TOKEN", "tokenv", 1);
	setenv("AWS_REGION", "ca-central-1", 1);
	setenv("AWS_DEFAULT_REGION", "sa-east-1", 1);
	st = xva_s3_resolve("s3://b.with.dots/k", &o, &t, &err);
	CHECK_MSG(st == XVA_OK, "%s", err.msg);
	if (st == XVA_OK) {
		CHECK(!strcmp(t.access_key, "AKENV"));
		CHECK(!strcmp(t.session_token, "tokenv"));
		CHECK(!strcmp(t.region, "ca-central-1"));
		/* dotted names cannot be TLS host names: path-style */
		CHECK_MSG(!strcmp(t.url, "https://s3.ca-central-1.amazonaws.com/"
				  "b.with.dots/k"), "%s", t.url);
		xva_s3_target_free(&t);
	}

	/* A profile named explicitly skips the environment's keys, as
	 * aws --profile does; the option's region wins over everything. */
	o.aws_profile = "work";
	o.s3_region = "eu-north-1";
	st = xva_s3_resolve("s3://bkt/k", &o, &t, &err);
	CHECK_MSG(st == XVA_OK, "%s", err.msg);
	if (st == XVA_OK) {
		CHECK(!strcmp(t.access_key, "AKWORK"));
		CHECK(!strcmp(t.session_token, "tokwork"));
		CHECK(!strcmp(t.region, "eu-north-1"));
		CHECK(strstr(t.cred_source, "profile work") != NULL);
		xva_s3_target_free(&t);
	}
	o.aws_profile = NULL;
	o.s3_region = NULL;

	/* AWS_PROFILE; keys and the nested s3 endpoint from the config. */
	clear_env();
	setenv("AWS_PROFILE", "cfgkeys", 1);
	st = xva_s3_resolve("s3://bkt/k", &o, &t, &err);
	CHECK_MSG(st == XVA_OK, "%s", err.msg);
	if (st == XVA_OK) {
		CHECK(!strcmp(t.access_key, "AKCFG"));
		CHECK(!strcmp(t.region, "us-east-1"));
		CHECK(t.custom_endpoint && t.path_style);
		CHECK_MSG(!strcmp(t.url, "http://s3only:2/prefix/bkt/k"), "%s",
			  t.url);
		xva_s3_target_free(&t);
	}
	/* The environment's endpoint wins; virtual-host on request. */
	setenv("AWS_ENDPOINT_URL", "https://env.example:8443", 1);
	o.s3_path_style = 0;
	st = xva_s3_resolve("s3://bkt/k", &o, &t, &err);
	CHECK_MSG(st == XVA_OK, "%s", err.msg);
	if (st == XVA_OK) {
		CHECK_MSG(!strcmp(t.url, "https://bkt.env.example:8443/k"), "%s",
			  t.url);
		xva_s3_target_free(&t);
	}
	setenv("AWS_ENDPOINT_URL_S3", "http://s3env:3", 1);
	o.s3_path_style = -1;
	st = xva_s3_resolve("s3://bkt/k", &o, &t, &err);
	CHECK(st == XVA_OK && !strcmp(t.url, "http://s3env:3/bkt/k"));
	if (st == XVA_OK)
		xva_s3_target_free(&t);
	o.s3_endpoint = "http://option:4";
	st = xva_s3_resolve("s3://bkt/k", &o, &t, &err);
	CHECK(st == XVA_OK && !strcmp(t.url, "http://option:4/bkt/k"));
	if (st == XVA_OK)
		xva_s3_target_free(&t);
	o.s3_endpoint = "ftp://x";
	CHECK(xva_s3_resolve("s3://bkt/k", &o, &t, &err) == XVA_EINVAL);
	o.s3_endpoint = NULL;

	/* Failures, each with its reason. */
	clear_env();
	setenv("AWS_PROFILE", "nosuch", 1);
	CHECK(xva_s3_resolve("s3://bkt/k", &o, &t, &err) == XVA_EACCESS);
	CHECK_MSG(strstr(err.msg, "nosuch") && strstr(err.msg, creds_path),
		  "%s", err.msg);
	setenv("AWS_PROFILE", "half", 1);
	CHECK(xva_s3_resolve("s3://bkt/k", &o, &t, &err) == XVA_EACCESS);
	CHECK_MSG(strstr(err.msg, "aws_secret_access_key"), "%s", err.msg);
	clear_env();
	setenv("AWS_ACCESS_KEY_ID", "AKONLY", 1);
	CHECK(xva_s3_resolve("s3://bkt/k", &o, &t, &err) == XVA_EACCESS);
	clear_env();
	CHECK(xva_s3_resolve("s3://bkt", &o, &t, &err) == XVA_EINVAL);
	CHECK(xva_s3_resolve("s3://bkt/", &o, &t, &err) == XVA_EINVAL);
	CHECK(xva_s3_resolve("s3://b@d/k", &o, &t, &err) == XVA_EINVAL);
	o.s3_path_style = 0;
	CHECK(xva_s3_resolve("s3://Upper_Case/k", &o, &t, &err) == XVA_EINVAL);
	o.s3_path_style = -1;

	/* SSO and friends: no keys, and a reason for the error message. */
	setenv("AWS_PROFILE", "sso", 1);
	st = xva_s3_resolve("s3://bkt/k", &o, &t, &err);
	CHECK(st == XVA_OK);
	if (st == XVA_OK) {
		CHECK(t.access_key == NULL);
		CHECK_MSG(strstr(t.cred_unsupported, "SSO"), "%s",
			  t.cred_unsupported);
		xva_s3_target_free(&t);
	}

	/* No files at all: no credentials, and where they were looked for. */
	clear_env();
	unlink(creds_path);
	unlink(config_path);
	st = xva_s3_resolve("s3://bkt/k", &o, &t, &err);
	CHECK(st == XVA_OK);
	if (st == XVA_OK) {
		CHECK(t.access_key == NULL);
		CHECK(!strcmp(t.region, "us-east-1"));
		CHECK_MSG(strstr(t.cred_looked, "AWS_ACCESS_KEY_ID") &&
			  strstr(t.cred_looked, creds_path) &&
			  strstr(t.cred_looked, config_path), "%s",
			  t.cred_looked);
		xva_s3_target_free(&t);
	}
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(creds_path, sizeof(creds_path), "%s/credentials", dir);
	snprintf(config_path, sizeof(config_path), "%s/config", dir);
	test_encode();
	test_redact();
	test_ini();
	test_resolve();
	unlink(creds_path);
	unlink(config_path);
	rmdir(dir);
	return CHECK_DONE();
}
