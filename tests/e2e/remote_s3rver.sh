#!/bin/bash
# The remote source against s3rver (a Node.js S3 clone; its account is
# S3RVER/S3RVER): an export uploaded with the AWS CLI is
# read back as s3://BUCKET/KEY, path-style, with the endpoint given by the
# option, by $AWS_ENDPOINT_URL and by the config file.
source "$(dirname "$0")/remote_lib.sh"

missing=$(missing_s3rver)
[ -z "$missing" ] || skip "needs $(echo $missing | sed 's/ (/ (/g')"

s3rver_start || fail "s3rver did not start"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
# The Debian AWS CLI, not whatever shim comes first on PATH.
aws() { /usr/bin/aws --endpoint-url "$S3RVER_URL" "$@"; }

local_copy=$WORK/local.xva
make_export "$local_copy"
size=$(stat -c %s "$local_copy")
key='exports/web 01+v=2 ü.xva'
aws s3 mb s3://xvafs-test >/dev/null || fail "aws s3 mb"
aws s3 cp --quiet "$local_copy" "s3://xvafs-test/$key" || fail "aws s3 cp"
aws s3 ls "s3://xvafs-test/exports/" || fail "aws s3 ls"

note "the endpoint as an option: every byte, random reads, the walk's pattern"
out=$("$SRCREAD" --info --endpoint "$S3RVER_URL" --threads 6 --reads 200 --ahead 32 \
	"s3://xvafs-test/$key" "$local_copy" seq random walk) || fail "reads: $out"
echo "$out"
grep -q "^info: kind s3 size $size stored $size location s3://xvafs-test/$key identity s3:$S3RVER_URL/xvafs-test/exports/web%2001%2Bv%3D2%20%C3%BC.xva:$size:" <<<"$out" ||
	fail "info line: $out"
no_secrets "$out" "$AWS_SECRET_ACCESS_KEY:"

note "the endpoint from \$AWS_ENDPOINT_URL, then from the config file"
out=$(AWS_ENDPOINT_URL=$S3RVER_URL "$SRCREAD" "s3://xvafs-test/$key" "$local_copy" seq) ||
	fail "AWS_ENDPOINT_URL: $out"
printf '[default]\nendpoint_url = %s\n' "$S3RVER_URL" >"$AWS_CONFIG_FILE"
out=$("$SRCREAD" "s3://xvafs-test/$key" "$local_copy" seq) || fail "config endpoint_url: $out"
: >"$AWS_CONFIG_FILE"

note "refusals and missing objects"
# (s3rver 3.7.1 accepts any signature for GETs: signatures are checked
# by remote_s3sig.sh.)
expect_open EOPEN "no such object \(HTTP 404 NoSuchKey\)" --endpoint "$S3RVER_URL" \
	"s3://xvafs-test/exports/none.xva" "$local_copy"
expect_open EOPEN "no such bucket \(HTTP 404 NoSuchBucket\)" --endpoint "$S3RVER_URL" \
	"s3://no-such-bucket/x.xva" "$local_copy"

note "the object is overwritten while open (s3rver ignores If-Match: the ETag tells)"
session_start --endpoint "$S3RVER_URL" "s3://xvafs-test/$key" "$local_copy"
expect_answer "read 0 100" "^ok 100$"
head -c "$size" /dev/urandom >"$WORK/other.xva"
aws s3 cp --quiet "$WORK/other.xva" "s3://xvafs-test/$key" || fail "aws s3 cp"
expect_answer "read $((2 << 20)) 100" "^error ECHANGED: .*changed since it was opened"
session_end
echo "remote_s3rver: all checks passed"
