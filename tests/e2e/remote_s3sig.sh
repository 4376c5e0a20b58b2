#!/bin/bash
# The remote source against an S3 endpoint that checks every SigV4
# signature (tests/servers/s3sig.py, botocore): credentials from the
# environment, a credentials file with a profile, the config file and a
# session token; refusals as one clear line naming the cause; key names
# that need encoding; and the faults a network and a server can produce.
source "$(dirname "$0")/remote_lib.sh"

missing=$(missing_botocore)
[ -z "$missing" ] || skip "needs $missing"
control() {
	curl -sf "$S3SIG_URL/__control/$1" || fail "control $1"
}

key='exports/web 01+v=2 ü~(x).xva'
mkdir -p "$WORK/s3/bkt/exports" "$WORK/s3/eubkt"
make_export "$WORK/s3/bkt/$key"
local_copy=$WORK/local.xva
cp "$WORK/s3/bkt/$key" "$local_copy"
cp "$local_copy" "$WORK/s3/eubkt/export.xva"
size=$(stat -c %s "$local_copy")
secret='wJalr/XUtnFEMI+K7MDENG=bPxRfiCY'
token='FwoGZXIvYXdzE/token+with=chars'
s3sig_start "" "$WORK/s3" --key "AKIDTEST:$secret" --key "AKIDSESS:sess/secret:$token" \
	--bucket-region eubkt=eu-west-3 ||
	fail "s3sig did not start"
loc="s3://bkt/$key"
E=(--endpoint "$S3SIG_URL")

note "credentials from the environment; the key name percent-encoded"
out=$(AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=$secret \
	"$SRCREAD" --info "${E[@]}" --threads 6 --reads 200 "$loc" "$local_copy" seq random) ||
	fail "reads with env credentials: $out"
echo "$out"
no_secrets "$out" "$secret"
grep -q "^info: kind s3 size $size .*location $loc identity s3:$S3SIG_URL/bkt/exports/web%2001%2Bv%3D2%20%C3%BC~%28x%29.xva:$size:\"" <<<"$out" ||
	fail "info line: $out"
stats=$(control stats)
grep -q '"signed_headers": "[^"]*x-amz-content-sha256;x-amz-date' <<<"$stats" || fail "signed headers: $stats"
note "signed: $stats"

note "how many GETs: read-ahead in large ranges, one per header pair for the walk"
control reset >/dev/null
AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=$secret "$SRCREAD" "${E[@]}" "$loc" "$local_copy" seq >/dev/null ||
	fail "seq"
gets=$(control stats | sed 's/.*"get": \([0-9]*\).*/\1/')
blocks=$(((size + 1048575) / 1048576))
note "every byte in order: $gets GETs for $blocks blocks"
[ "$gets" -le $((blocks / 2 + 2)) ] || fail "$gets GETs to read $blocks blocks in order"
control reset >/dev/null
out=$(AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=$secret "$SRCREAD" "${E[@]}" --ahead 256 "$loc" "$local_copy" walk) ||
	fail "walk: $out"
headers=$(sed -n 's/^walk: \([0-9]*\) headers.*/\1/p' <<<"$out")
gets=$(control stats | sed 's/.*"get": \([0-9]*\).*/\1/')
note "the walk's pattern with prefetch: $gets GETs for $headers headers"
[ "$gets" -le $((headers / 2 + 3)) ] || fail "$gets GETs for a walk over $headers headers"

note "a profile in the shared credentials file (AWS_PROFILE)"
printf '[default]\naws_access_key_id = AKIDNOPE\naws_secret_access_key = x\n\n[work]\naws_access_key_id = AKIDTEST\naws_secret_access_key = %s\n' \
	"$secret" >"$AWS_SHARED_CREDENTIALS_FILE"
out=$(AWS_PROFILE=work "$SRCREAD" "${E[@]}" "$loc" "$local_copy" seq) || fail "profile work: $out"
note "a profile named explicitly wins over the environment's keys"
out=$(AWS_ACCESS_KEY_ID=AKIDNOPE AWS_SECRET_ACCESS_KEY=x "$SRCREAD" --profile work "${E[@]}" \
	"$loc" "$local_copy" seq) || fail "--profile work: $out"
expect_open EACCESS "InvalidAccessKeyId.*check the credentials" "${E[@]}" "$loc" "$local_copy"

note "keys in the config file; its endpoint_url and region"
: >"$AWS_SHARED_CREDENTIALS_FILE"
printf '[profile cfg]\nregion = eu-west-3\naws_access_key_id = AKIDTEST\naws_secret_access_key = %s\ns3 =\n  endpoint_url = %s\n' \
	"$secret" "$S3SIG_URL" >"$AWS_CONFIG_FILE"
out=$(AWS_PROFILE=cfg "$SRCREAD" "$loc" "$local_copy" seq) || fail "config file: $out"
out=$(AWS_PROFILE=cfg "$SRCREAD" s3://eubkt/export.xva "$local_copy" seq) || fail "config file's region: $out"
grep -q '"signed_headers"' <<<"$(control stats)" || fail "stats"
: >"$AWS_CONFIG_FILE"

note "a session token"
out=$(AWS_ACCESS_KEY_ID=AKIDSESS AWS_SECRET_ACCESS_KEY=sess/secret AWS_SESSION_TOKEN=$token \
	"$SRCREAD" "${E[@]}" "$loc" "$local_copy" seq) || fail "session token: $out"
grep -q 'x-amz-security-token' <<<"$(control stats)" || fail "the token is not signed"

note "refusals, one line each, never a secret"
AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=wrong-secret \
	expect_open EACCESS "SignatureDoesNotMatch.*secret key is wrong.*check the credentials" \
	"${E[@]}" "$loc" "$local_copy"
no_secrets "$LAST_OUT" wrong-secret
AWS_ACCESS_KEY_ID=AKIDUNKNOWN AWS_SECRET_ACCESS_KEY=$secret \
	expect_open EACCESS "InvalidAccessKeyId.*access key id is unknown" "${E[@]}" "$loc" "$local_copy"
no_secrets "$LAST_OUT" "$secret"
AWS_ACCESS_KEY_ID=AKIDSESS AWS_SECRET_ACCESS_KEY=sess/secret \
	expect_open EACCESS "InvalidToken.*session token" "${E[@]}" "$loc" "$local_copy"
expect_open EACCESS "no AWS credentials were found \(looked in .*AWS_ACCESS_KEY_ID.*$AWS_SHARED_CREDENTIALS_FILE.*$AWS_CONFIG_FILE" \
	"${E[@]}" "$loc" "$local_copy"
AWS_ACCESS_KEY_ID=AKIDTEST expect_open EACCESS "AWS_SECRET_ACCESS_KEY is not" "${E[@]}" "$loc" "$local_copy"
AWS_PROFILE=ghost expect_open EACCESS "profile ghost is in neither" "${E[@]}" "$loc" "$local_copy"
export AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=$secret
expect_open EOPEN "no such bucket \(HTTP 404 NoSuchBucket\)" "${E[@]}" "s3://nobucket/$key" "$local_copy"
expect_open EINVAL "the bucket is in region eu-west-3, not us-east-1 \(HTTP 400 AuthorizationHeaderMalformed\): set the region" \
	"${E[@]}" s3://eubkt/export.xva "$local_copy"
out=$(AWS_REGION=eu-west-3 "$SRCREAD" "${E[@]}" s3://eubkt/export.xva "$local_copy" seq) || fail "AWS_REGION: $out"
expect_open EOPEN "no such object \(HTTP 404 NoSuchKey\)" "${E[@]}" "s3://bkt/exports/none.xva" "$local_copy"

note "faults after open: each read fails alone, the next one works"
session_start --timeout 2 --retries 3 "${E[@]}" "$loc" "$local_copy"
expect_answer "read 0 512" "^ok 512$"
control "fault?mode=short&count=3" >/dev/null
# Each try keeps what came and asks for the rest, which comes short again:
# after 3 tries 7/8 of the block is there, a read near its end fails.
expect_answer "read $((1 << 20 | 1040000)) 100" "^error EIO: bytes [0-9]+-2097151: the server sent [0-9]+ of the [0-9]+ bytes asked \(3 tries\)$"
expect_answer "read $((1 << 20 | 1040000)) 100" "^ok 100$"
control "fault?mode=drop&count=3" >/dev/null
expect_answer "read $((2 << 20 | 1040000)) 100" "^error ENET: bytes [0-9]+-3145727: .*\(3 tries\)$"
expect_answer "read $((2 << 20)) 100" "^ok 100$"
control "fault?mode=drop&count=1" >/dev/null
expect_answer "read $((9 << 20 | 1040000)) 100" "^ok 100$" # the retry asked for the rest
control "fault?mode=500&count=2" >/dev/null
expect_answer "read $((3 << 20)) 100" "^ok 100$"
control "fault?mode=500&count=3" >/dev/null
expect_answer "read $((4 << 20)) 100" "^error EIO: .*HTTP 500 InternalError \(3 tries\)$"
expect_answer "read $((4 << 20)) 100" "^ok 100$"
control "fault?mode=wrongrange&count=1" >/dev/null
expect_answer "read $((5 << 20)) 100" "^error EIO: bytes 5242880-6291455: the server answered with bytes 5242881-6291456$"
control "fault?mode=norange&count=1" >/dev/null
expect_answer "read $((5 << 20)) 100" "^error EIO: the server does not serve byte ranges"
control "fault?mode=stall&count=1" >/dev/null
expect_answer "read $((5 << 20)) 100" "^ok 100$" # a stalled try is retried
control "fault?mode=stall&count=3" >/dev/null
expect_answer "read $((6 << 20)) 100" "^error ENET: .*too slow.*\(3 tries\)$"
control "fault?mode=none" >/dev/null
expect_answer "read $((6 << 20)) 100" "^ok 100$"
note "the server stops, then comes back on its port"
s3sig_stop
expect_answer "read $((7 << 20)) 100" "^error ENET: .*Couldn't connect.*\(3 tries\)$"
s3sig_start "$S3SIG_PORT" "$WORK/s3" --key "AKIDTEST:$secret" || fail "s3sig did not restart"
expect_answer "read $((7 << 20)) 100" "^ok 100$"
note "the object changes (its ETag): ECHANGED, and cached bytes stay the old ones"
control "etag?suffix=v2" >/dev/null
expect_answer "read $((8 << 20)) 100" "^error ECHANGED: .*HTTP 412 PreconditionFailed.*remount$"
expect_answer "read 0 512" "^ok 512$"
session_end
control "etag?suffix=" >/dev/null

note "a public bucket: no credentials, unsigned requests"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
s3sig_stop
s3sig_start "$S3SIG_PORT" "$WORK/s3" --anonymous || fail "s3sig did not restart"
out=$("$SRCREAD" "${E[@]}" "$loc" "$local_copy" seq) || fail "public bucket: $out"
echo "remote_s3sig: all checks passed"
