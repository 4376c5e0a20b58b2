#!/usr/bin/env bash
# Remote exports through the real command line and mount: nginx over HTTP
# and HTTPS (a CA of the test's own), an S3 endpoint that checks every
# SigV4 signature, and s3rver with the object uploaded by the AWS CLI.
#   - every disk byte for byte (cmp, odd reads, O_DIRECT), st_blocks, the
#     GPT+ext4 disk through a loop device; --list, --verify, --export-disk;
#   - the index cache, keyed by URL, size and ETag: a second mount uses it,
#     a replaced object is a rebuild, never stale bytes;
#   - faults: the object replaced while mounted (errors, never mixed
#     bytes), the server stopped mid-read (EIO, then reads again once it is
#     back), and each refusal (404, 403, TLS, no server, a wrong secret) one
#     line and exit 2 before anything is mounted;
#   - through a delay proxy at 20 ms a round trip, an export of 20,000
#     members is indexed (correctness only; bench/remote.sh times it).
. "$(dirname "$0")/lib.sh"
need_fuse
need_root
SRV_DIR=$WORK/srv
mkdir -p "$SRV_DIR"
# shellcheck source=../servers/lib.sh
. "$(dirname "$0")/../servers/lib.sh"
trap 'srv_cleanup; cleanup' EXIT
missing="$(missing_nginx) $(missing_botocore) $(missing_s3rver)"
[ -z "${missing// /}" ] || skip "needs$(printf ' %s' $missing)"
# Nothing from the user's own AWS setup leaks into the test.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_DEFAULT_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL \
	AWS_ENDPOINT_URL_S3
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

MIB=1048576
MNT=$WORK/mnt
WEB=$WORK/www
mkdir -p "$WEB" "$WORK/root/etc"
# A GPT disk with an ext4 filesystem, and a disk with holes.
echo "served from afar" >"$WORK/root/etc/motd"
head -c 2000000 /dev/urandom >"$WORK/root/blob"
truncate -s 40M "$WORK/gpt.img"
printf 'label: gpt\nstart=2048, size=73728, type=linux\n' | sfdisk -q "$WORK/gpt.img"
mkfs.ext4 -q -F -E offset=$((2048 * 512)) -d "$WORK/root" "$WORK/gpt.img" 36M
make_image "$WORK/data.img" $((13 * MIB + 777))
"$MKXVA" --keepalive 2 "$WEB/vm.xva" "$WORK/gpt.img=Ref:1" "$WORK/data.img=Ref:2"
cp "$WEB/vm.xva" "$WORK/vm.xva"
nginx_start "$WEB" || fail "nginx did not start"
HTTP=http://127.0.0.1:$NGINX_PORT
HTTPS=https://127.0.0.1:$NGINX_TLS_PORT

# check_export URL [options]: mounts URL, checks every disk and the ext4
# filesystem, unmounts.
check_export() {
	local url=$1 loop part
	shift
	mount_xva "$url" "$MNT" "$@"
	check_disk "$MNT/Ref:1" "$WORK/gpt.img" "$WORK/vm.xva" Ref:1
	check_disk "$MNT/Ref:2" "$WORK/data.img" "$WORK/vm.xva" Ref:2
	loop=$(losetup -r -P -f --show "$MNT/Ref:1")
	LOOPS+=("$loop")
	part=${loop}p1
	[ -b "$part" ] || { partx -a "$loop" && [ -b "$part" ]; } || fail "no partition on $loop"
	mkdir -p "$WORK/guest"
	mount -o ro "$part" "$WORK/guest"
	[ "$(cat "$WORK/guest/etc/motd")" = "served from afar" ] && cmp "$WORK/guest/blob" "$WORK/root/blob" ||
		fail "$url: the guest's files differ"
	umount "$WORK/guest"
	losetup -d "$loop"
	unmount_xva "$MNT"
}

note "HTTP and HTTPS: every byte, the filesystem inside"
check_export "$HTTP/vm.xva" -o noindexcache
check_export "$HTTPS/vm.xva" -o ca_file="$CA_FILE"

note "gzip and zstd exports over HTTPS"
gzip -c <"$WORK/vm.xva" >"$WEB/vm.gz.xva"
zstd -q -3 -c <"$WORK/vm.xva" >"$WEB/vm.zst.xva"
for c in gz zst; do
	mount_xva "$HTTPS/vm.$c.xva" "$MNT" -o ca_file="$CA_FILE"
	cmp "$MNT/Ref:1" "$WORK/gpt.img" && cmp "$MNT/Ref:2" "$WORK/data.img" ||
		fail "vm.$c.xva over HTTPS: a disk differs"
	"$READCHECK" --reads 300 "$MNT/Ref:2" "$WORK/data.img" || fail "vm.$c.xva: odd reads differ"
	unmount_xva "$MNT"
done

note "--list, --verify, --export-disk over HTTPS; the index cache"
"$XVAFS" --list --json -o ca_file="$CA_FILE" "$HTTPS/vm.xva" >"$WORK/list.json" ||
	fail "--list of a URL: $?"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["transport"] == "http" and d["index_from_cache"], d' "$WORK/list.json" ||
	{ cat "$WORK/list.json"; fail "--list: not from the index cache the mount left"; }
"$XVAFS" --verify -o ca_file="$CA_FILE" "$HTTPS/vm.xva" >"$WORK/out" || { cat "$WORK/out"; fail "--verify of a URL"; }
grep -q "the export is intact" "$WORK/out" || fail "--verify: $(cat "$WORK/out")"
"$XVAFS" --export-disk -o ca_file="$CA_FILE" "$HTTPS/vm.xva" xvdb "$WORK/out.raw" >/dev/null ||
	fail "--export-disk of a URL"
cmp "$WORK/out.raw" "$WORK/data.img" || fail "--export-disk of a URL differs"

note "the object replaced while mounted: errors, never its bytes; then a rebuild"
head -c $((24 * MIB)) /dev/urandom >"$WORK/big.img"
"$MKXVA" "$WEB/big.xva" "$WORK/big.img=Ref:1"
mount_xva "$HTTP/big.xva" "$MNT" -o timeout=2,retries=2,memory=4M,noindexcache
head -c $((24 * MIB)) /dev/urandom >"$WORK/big2.img"
"$MKXVA" "$WEB/big.xva.new" "$WORK/big2.img=Ref:1"
# nginx's ETag is the modification time in seconds and the size: a
# replacement within the same second by a file of the same size would not
# change it (no HTTP client could tell then).
touch -d "@$(($(date +%s) + 10))" "$WEB/big.xva.new"
mv "$WEB/big.xva.new" "$WEB/big.xva"
# What is still cached is the old object's, and is served; whatever must
# be fetched now is refused, so the disk cannot be read whole, and every
# byte that was read is the old disk's.
dd if="$MNT/Ref:1" bs=$MIB iflag=direct of="$WORK/after" status=none 2>"$WORK/err" &&
	fail "the disk of the replaced object was read whole"
grep -q "Input/output error" "$WORK/err" || fail "after the replace: $(cat "$WORK/err")"
cmp -n "$(stat -c %s "$WORK/after")" "$WORK/after" "$WORK/big.img" ||
	fail "bytes of the new object were served as the old disk's"
unmount_xva "$MNT" "changed since it was opened"
make_image "$WORK/other.img" $((13 * MIB + 777))
"$MKXVA" --keepalive 2 "$WORK/other.xva" "$WORK/gpt.img=Ref:1" "$WORK/other.img=Ref:2"
cp "$WORK/other.xva" "$WEB/vm.xva.new"
touch -d "@$(($(date +%s) + 10))" "$WEB/vm.xva.new"
mv "$WEB/vm.xva.new" "$WEB/vm.xva"
cp "$WORK/other.xva" "$WORK/vm.xva"
mount_xva "$HTTP/vm.xva" "$MNT"
cmp "$MNT/Ref:2" "$WORK/other.img" || fail "after a remount, the new object's disk differs"
unmount_xva "$MNT"

note "the server stopped mid-read, then back"
mount_xva "$HTTP/vm.xva" "$MNT" -o timeout=1,retries=2,memory=4M
nginx_stop
rc=0; timeout "$XVAFS_TEST_HANG_GUARD" dd if="$MNT/Ref:2" bs=$MIB skip=11 count=1 iflag=direct of=/dev/null status=none 2>"$WORK/err" || rc=$?
[ "$rc" != 124 ] || fail "a read hung while the server was down"
[ "$rc" != 0 ] || fail "a read succeeded with the server down"
grep -q "Input/output error" "$WORK/err" || fail "server down: $(cat "$WORK/err")"
nginx_start "$WEB" || fail "nginx did not start again"
cmp "$MNT/Ref:2" "$WORK/other.img" || fail "reads did not recover once the server was back"
unmount_xva "$MNT" "*"

# refused REGEX URL [options]: exit 2, one line naming URL, nothing mounted.
refused() {
	local regex=$1 url=$2 rc=0
	shift 2
	timeout "$XVAFS_TEST_HANG_GUARD" "$XVAFS" -f "$@" "$url" "$MNT" 2>"$WORK/err" || rc=$?
	[ "$rc" = 2 ] || { cat "$WORK/err"; fail "$url: exit status $rc, expected 2"; }
	[ "$(grep -c . "$WORK/err")" = 1 ] && grep -Eq "^xvafs: .+: .*($regex)" "$WORK/err" ||
		{ cat "$WORK/err"; fail "$url: not one line matching /$regex/"; }
	! is_mounted "$MNT" || fail "$url was mounted"
	note "refused: $(cut -c1-150 "$WORK/err")"
}
note "refusals, before mounting"
refused "no such object" "$HTTP/missing.xva"
mkdir -p "$WEB/forbidden"
cp "$WEB/vm.xva" "$WEB/forbidden/vm.xva"
refused "refused \(HTTP 403\)" "$HTTP/forbidden/vm.xva"
refused "certificate|TLS|SSL" "$HTTPS/vm.xva"
refused "connect|refused|reach" "http://127.0.0.1:$(free_port)/vm.xva" -o timeout=2,retries=1

note "S3 with signatures checked (botocore), and a wrong secret"
secret='wJalr/XUtnFEMI+K7MDENG=bPxRfiCY'
mkdir -p "$WORK/s3/bkt/exports"
cp "$WORK/other.xva" "$WORK/s3/bkt/exports/web 01.xva"
s3sig_start "" "$WORK/s3" --key "AKIDTEST:$secret" || fail "s3sig did not start"
export AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=$secret
mount_xva "s3://bkt/exports/web 01.xva" "$MNT" -o s3_endpoint="$S3SIG_URL",s3_path_style
cmp "$MNT/Ref:2" "$WORK/other.img" || fail "S3: the disk differs"
grep -q "$secret" /proc/mounts && fail "the secret is in /proc/mounts"
unmount_xva "$MNT"
AWS_SECRET_ACCESS_KEY=NotTheSecret0815 refused "SignatureDoesNotMatch" "s3://bkt/exports/web 01.xva" \
	-o s3_endpoint="$S3SIG_URL",s3_path_style,noindexcache
grep -q "NotTheSecret0815" "$WORK/err" && fail "the wrong secret was printed"
refused "no such bucket|NoSuchBucket" "s3://nobucket/x.xva" -o s3_endpoint="$S3SIG_URL",s3_path_style
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

note "s3rver, the object uploaded with the AWS CLI"
s3rver_start || fail "s3rver did not start"
aws() { AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 \
	/usr/bin/aws --endpoint-url "$S3RVER_URL" "$@"; }
aws s3 mb s3://backups >/dev/null || fail "aws s3 mb"
aws s3 cp --quiet "$WORK/vm.xva" "s3://backups/xo-vm-backups/web01.xva" || fail "aws s3 cp"
AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \
	mount_xva "s3://backups/xo-vm-backups/web01.xva" "$MNT" -o s3_endpoint="$S3RVER_URL"
cmp "$MNT/Ref:1" "$WORK/gpt.img" && cmp "$MNT/Ref:2" "$WORK/other.img" || fail "s3rver: a disk differs"
unmount_xva "$MNT"

note "20,000 members through a 20 ms round trip"
head -c $((40 * MIB)) /dev/urandom >"$WORK/many.img"
"$MKXVA" --chunk 4096 "$WEB/many.xva" "$WORK/many.img=Ref:1"
delayproxy_start "$NGINX_TLS_PORT" 10 || fail "the delay proxy did not start"
start=$(date +%s)
"$XVAFS" --list --json --no-index-cache -o ca_file="$CA_FILE" \
	"https://127.0.0.1:$PROXY_PORT/many.xva" >"$WORK/many.json" 2>"$WORK/err" ||
	{ cat "$WORK/err"; fail "indexing 20,000 members at 20 ms"; }
note "indexed in $(($(date +%s) - start)) s"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["members"] == 20481 and d["disks"][0]["chunks"] == 10240, (d["members"], d["disks"][0]["chunks"])' "$WORK/many.json" ||
	fail "the index of the 20,000-member export is wrong"
echo "PASS: remote exports served, verified and refused as local ones"
