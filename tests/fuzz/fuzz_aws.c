/* libFuzzer harness: the AWS shared credentials and config files, read as
 * the S3 source reads them when it resolves s3://BUCKET/KEY. The input is
 * the credentials file, a NUL byte, and the config file (no NUL: all
 * credentials, an empty config). Both are written to files the
 * environment points at (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE),
 * and xva_s3_resolve() runs for the default profile and a named one.
 * Nothing may crash, leak or read out of bounds, and a resolved target
 * is whole. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzutil.h"
#include "source/aws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char cred_path[128], config_path[128];

static void remove_files(void)
{
	unlink(cred_path);
	unlink(config_path);
}

static void setup(void)
{
	static const char *const unset[] = {
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
		"AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
		"AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
		"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
	};
	const char *dir = fuzz_cache_dir();

	for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
		unsetenv(unset[i]);
	snprintf(cred_path, sizeof(cred_path), "%s/credentials", dir);
	snprintf(config_path, sizeof(config_path), "%s/config", dir);
	setenv("AWS_SHARED_CREDENTIALS_FILE", cred_path, 1);
	setenv("AWS_CONFIG_FILE", config_path, 1);
	atexit(remove_files);
}

static void resolve(const char *profile)
{
	struct xva_source_options o = { .aws_profile = profile,
					.s3_path_style = -1 };
	struct xva_s3_target t;
	struct xva_err err;

	if (xva_s3_resolve("s3://fuzz-bucket/dir/disk.xva", &o, &t, &err) ==
	    XVA_OK) {
		if (!t.url || !t.region || !t.sigv4 || !t.shown ||
		    (t.access_key && !t.secret_key))
			abort();
	}
	xva_s3_target_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t cred_len = nul ? (size_t)(nul - data) : size;
	struct xva_err err;
	char *value = NULL;

	if (!cred_path[0])
		setup();
	fuzz_write_file(cred_path, data, cred_len);
	fuzz_write_file(config_path, nul ? nul + 1 : data,
			nul ? size - cred_len - 1 : 0);
	resolve(NULL);
	resolve("dev");
	if (xva_aws_ini_get(config_path, "profile dev", "s3.endpoint_url",
			    &value, &err) == XVA_OK)
		free(value);
	return 0;
}
