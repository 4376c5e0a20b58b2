#!/bin/bash
# The remote source against nginx: HTTP/1.1 and HTTPS with HTTP/2, byte
# for byte; TLS, refusals and missing objects as one clear line each; a
# server that stops and comes back; an object replaced while open; the
# walk's prefetch pattern through a delaying proxy; no credentials in
# messages or identities.
source "$(dirname "$0")/remote_lib.sh"

missing=$(missing_nginx)
[ -z "$missing" ] || skip "needs $missing"

mkdir -p "$WORK/www/norange" "$WORK/www/forbidden"
make_export "$WORK/www/test.xva"
cp "$WORK/www/test.xva" "$WORK/www/norange/test.xva"
local_copy=$WORK/local.xva
cp "$WORK/www/test.xva" "$local_copy"
size=$(stat -c %s "$local_copy")
nginx_start "$WORK/www" || fail "nginx did not start"
http=http://127.0.0.1:$NGINX_PORT
https=https://127.0.0.1:$NGINX_TLS_PORT

note "HTTP/1.1: every byte in order, random reads from 8 threads"
out=$("$SRCREAD" --info --threads 8 --reads 300 "$http/test.xva" "$local_copy" seq random) ||
	fail "HTTP reads: $out"
echo "$out"
grep -q "^info: kind http size $size stored $size location $http/test.xva identity http:$http/test.xva:$size:\"" <<<"$out" ||
	fail "info line: $out"

note "HTTPS (HTTP/2 by ALPN) with the test CA, a small cache, the walk's pattern"
out=$("$SRCREAD" --ca "$CA_FILE" --memory $((8 << 20)) --threads 8 --reads 300 --ahead 64 \
	"$https/test.xva" "$local_copy" random seq walk) || fail "HTTPS reads: $out"
echo "$out"

note "reads lent in place, their leases kept while the small cache is pressed"
# 8 threads x 4 leases of up to 3 MiB pin more than the 8 MiB the cache
# may hold: each lease's bytes are checked again before its release.
out=$("$SRCREAD" --ca "$CA_FILE" --memory $((8 << 20)) --threads 8 --reads 200 \
	"$https/test.xva" "$local_copy" lend) || fail "lent reads: $out"
echo "$out"

note "a reader whose requests arrive out of order (a mount's threads) gets read-ahead"
# 128 KiB reads in swapped pairs, as several FUSE threads serve a reader's
# stream. Read-ahead asks for whole RA_REQUEST (4 MiB) ranges; a source that
# loses such a reader asks only for the 1 MiB blocks it waits for.
mkdir -p "$WORK/www/logged"
cp "$local_copy" "$WORK/www/logged/test.xva"
out=$(awk 'BEGIN { for (i = 0; i < 80; i += 2) {
		printf "read %d 131072\nread %d 131072\n", (i + 1) * 131072, i * 131072 } }' |
	"$SRCREAD" "$http/logged/test.xva" "$local_copy" commands) || fail "out-of-order reads: $out"
[ "$(grep -vc '^ok ' <<<"$out")" = 0 ] || fail "out-of-order reads: $out"
ranges=$SRV_DIR/nginx/logs/ranges.log
longest=$(awk -F'[=-]' '/^bytes=/ && $3 - $2 + 1 > m { m = $3 - $2 + 1 } END { print m + 0 }' "$ranges")
[ "$longest" -ge $((4 << 20)) ] ||
	fail "no read-ahead for an out-of-order reader: the longest range asked was $longest bytes ($(tr '\n' ' ' <"$ranges"))"

note "credentials in the URL are used but never shown"
out=$("$SRCREAD" --info "http://someone:hunter2@127.0.0.1:$NGINX_PORT/test.xva?X-Amz-Signature=topsecret&X-Amz-Credential=AKIAXX&v=1" \
	"$local_copy" seq) || fail "URL with credentials: $out"
no_secrets "$out" hunter2 topsecret AKIAXX someone
grep -q "identity http:$http/test.xva?v=1:$size:" <<<"$out" || fail "identity: $out"

note "errors at open, one line each"
expect_open ENET "certificate.*ca_file" "$https/test.xva" "$local_copy"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=other CA" \
	-keyout "$WORK/other.key" -out "$WORK/other.pem" 2>/dev/null
expect_open ENET "certificate.*ca_file" --ca "$WORK/other.pem" "$https/test.xva" "$local_copy"
expect_open EOPEN "no such object \(HTTP 404\)" "$http/nothing.xva" "$local_copy"
expect_open EACCESS "refused \(HTTP 403\)" "$http/forbidden/test.xva" "$local_copy"
expect_open EIO "does not serve byte ranges" "$http/norange/test.xva" "$local_copy"
expect_open ENET "resolve" "http://no-such-host.invalid/test.xva" "$local_copy"
dead=$(free_port)
expect_open ENET "127.0.0.1 port $dead.*\(2 tries\)" --retries 2 "http://127.0.0.1:$dead/test.xva" "$local_copy"

note "the server stops mid-read: reads fail, then work again once it is back"
session_start --timeout 5 --retries 2 "$http/test.xva" "$local_copy"
expect_answer "read 0 4096" "^ok 4096$"
expect_answer "read 1048000 5000" "^ok 5000$"
nginx_stop
expect_answer "read $((5 * 1048576 + 17)) 70000" "^error ENET: .*\(2 tries\)"
expect_answer "read 0 4096" "^ok 4096$" # already in the cache
nginx_start "$WORK/www" || fail "nginx did not restart"
expect_answer "read $((5 * 1048576 + 17)) 70000" "^ok 70000$"
expect_answer "read $((size - 10)) 100" "^ok 10$"
session_end

note "the object is replaced while open: ECHANGED, never mixed bytes"
session_start --ca "$CA_FILE" "$https/test.xva" "$local_copy"
expect_answer "read 0 100" "^ok 100$"
head -c "$size" /dev/urandom >"$WORK/www/test.xva.new"
touch -d '+1 minute' "$WORK/www/test.xva.new"
mv "$WORK/www/test.xva.new" "$WORK/www/test.xva"
expect_answer "read $((3 * 1048576)) 100" "^error ECHANGED: .*changed since it was opened.*remount"
expect_answer "read 1048570 20" "^error ECHANGED: "
session_end
cp "$local_copy" "$WORK/www/test.xva"

note "the walk's pattern through a proxy adding 5 ms each way (HTTPS, h2)"
delayproxy_start "$NGINX_TLS_PORT" 5 || fail "the delay proxy did not start"
out=$("$SRCREAD" --ca "$CA_FILE" --ahead 128 "https://127.0.0.1:$PROXY_PORT/test.xva" "$local_copy" walk random) ||
	fail "through the proxy: $out"
echo "$out"
echo "remote_http: all checks passed"
