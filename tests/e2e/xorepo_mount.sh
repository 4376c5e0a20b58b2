#!/usr/bin/env bash
# Xen Orchestra backup repositories through the real command line and
# mount, written by Xen Orchestra's own remote handler
# (tests/servers/mkxorepo.mjs): plain, gzip and zstd backups in
# ChaCha20-Poly1305, AES-256-GCM and unencrypted repositories, on a local
# folder, in s3rver (uploaded with the AWS CLI) and behind the endpoint that
# checks every SigV4 signature (listing in pages of 2 keys).
#   - the mount: VM folders by name (two VMs of one name apart by UUID),
#     backups by ISO time, latest links, every disk byte for byte;
#   - --list (text, and JSON against its schema) and --verify, of all and
#     of one VM or one backup;
#   - a wrong key (one line, exit 2, nothing mounted), a key given to an
#     unencrypted repository, an encrypted backup given without a key;
#   - a tampered byte: the first open's pass refuses the backup (its
#     error.txt; the other backups stay readable), and with
#     -o unauthenticated --verify names it;
#   - a backup whose .json is missing or broken still appears, with a note;
#   - 200 backups: mount time and the daemon's memory, measured and
#     reported (not asserted).
. "$(dirname "$0")/lib.sh"
need_fuse
need_root
SRV_DIR=$WORK/srv
mkdir -p "$SRV_DIR"
# shellcheck source=../servers/lib.sh
. "$(dirname "$0")/../servers/lib.sh"
trap 'srv_cleanup; cleanup' EXIT
command -v node >/dev/null || skip "needs node (Debian nodejs)"
[ -d "$SERVERS_DIR/node_modules/@xen-orchestra/fs" ] &&
	[ -d "$SERVERS_DIR/node_modules/xo-fs-legacy" ] ||
	skip "needs @xen-orchestra/fs (npm ci in tests/servers)"
missing="$(missing_botocore) $(missing_s3rver)"
[ -z "${missing// /}" ] || skip "needs$(printf ' %s' $missing)"
python3 -c 'import jsonschema' 2>/dev/null ||
	fail "python3-jsonschema is missing (contrib/install-deps.sh installs it)"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_DEFAULT_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL \
	AWS_ENDPOINT_URL_S3 XVAFS_KEY
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

export LC_ALL=C
MKXOREPO=$SERVERS_DIR/mkxorepo.mjs
SCHEMA=$(cd "$(dirname "$0")/../.." && pwd)/doc/list-json.schema.json
MIB=1048576
MNT=$WORK/mnt
WEB01=0c9e2d7a-5b1f-4e0a-9a51-7f3e2b8c4d11
TWIN=fb1e0000-2222-3333-4444-555555555555   # another VM named web01
DB=11111111-2222-3333-4444-555555555555

# The exports: a VM with two disks (data, left-out runs, a short last
# chunk), plain, gzip and zstd; the database VM's own.
make_image "$WORK/d1.img" $((9 * MIB + 777))
make_image "$WORK/d2.img" $((3 * MIB))
# An MBR on the second disk: each backup's folder serves its partition
# (Ref:2p1, by-device/xvdb1), as a mount of the .xva does.
command -v sfdisk >/dev/null || fail "sfdisk is missing (Debian fdisk)"
printf 'start=2048, size=2048, type=83\n' | sfdisk -q "$WORK/d2.img" >/dev/null ||
	fail "sfdisk on d2.img"
dd if="$WORK/d2.img" of="$WORK/d2p1.img" bs=$MIB skip=1 count=1 status=none
"$MKXVA" --vm hvm-bios --vm-name web01 --keepalive 1 "$WORK/e.xva" \
	"$WORK/d1.img=Ref:1=root" "$WORK/d2.img=Ref:2=data" >/dev/null
gzip -c "$WORK/e.xva" >"$WORK/e.xva.gz"
zstd -q -c "$WORK/e.xva" >"$WORK/e.xva.zst"
"$MKXVA" "$WORK/db.xva" "$WORK/d2.img=Ref:7" >/dev/null
printf 'Xo-test-key/0123456789abcdefghij\n' >"$WORK/key"
printf 'Xo-test-key/0123456789abcdefghiX\n' >"$WORK/wrong"

# make_repo DIR [mkxorepo options]: web01 with a plain, a gzip and a zstd
# backup; its twin; db with one backup whose .json is then removed, one
# whose .json is broken, and a good one, the newest (which names it).
make_repo() {
	local dir=$1
	shift
	node "$MKXOREPO" --dir "$dir" "$@" \
		--vm "$WEB01:web01" --backup "2026-11-24T02:00:00Z:$WORK/e.xva" \
		--backup "2026-12-01T02:00:00Z:$WORK/e.xva.gz" \
		--backup "2026-12-08T02:00:00Z:$WORK/e.xva.zst" \
		--vm "$TWIN:web01" --backup "2026-12-02T03:00:00Z:$WORK/e.xva" \
		--vm "$DB:db" --backup "2026-12-05T04:00:00Z:$WORK/db.xva" \
		--backup "2026-12-06T04:00:00Z:$WORK/db.xva" \
		--backup "2026-12-07T04:00:00Z:$WORK/db.xva" >/dev/null ||
		fail "mkxorepo $*"
	rm "$dir/xo-vm-backups/$DB/20261205T040000Z.json"
	printf 'not json at all, and longer than a tag' \
		>"$dir/xo-vm-backups/$DB/20261206T040000Z.json"
}

# check_repo LOCATION [xvafs options]: --list, a mount of every backup
# byte for byte, --verify.
check_repo() {
	local loc=$1 out d
	shift
	out=$("$XVAFS" --list "$@" "$loc") || fail "--list $loc: $out"
	echo "$out"
	grep -q "^vm: web01 ($WEB01), 3 backups$" <<<"$out" || fail "--list: web01: $out"
	grep -q "^vm: web01 (fb1e0000) ($TWIN), 1 backup$" <<<"$out" || fail "--list: the twin: $out"
	grep -Eq "^  2026-12-01T02:00:00Z .* gzip " <<<"$out" || fail "--list: gzip: $out"
	grep -Eq "^  2026-12-08T02:00:00Z .* zstd " <<<"$out" || fail "--list: zstd: $out"
	grep -Eq "^  2026-11-24T02:00:00Z .* none " <<<"$out" || fail "--list: plain: $out"
	grep -q "its .json is missing" <<<"$out" || fail "--list: the missing .json: $out"
	grep -Eq "its .json (is not a JSON object|cannot be read: .*tag does not match)" <<<"$out" ||
		fail "--list: the broken .json: $out"
	"$XVAFS" --list --json "$@" "$loc" >"$WORK/list.json" || fail "--list --json $loc"
	python3 - "$SCHEMA" "$WORK/list.json" <<'PY' || fail "--list --json does not match its schema"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
names = sorted(v["folder"] for v in doc["vms"])
assert names == ["db", "web01", "web01 (fb1e0000)"], names
PY

	mount_xva "$loc" "$MNT" "$@"
	[ "$(ls "$MNT" | tr '\n' '|')" = "db|web01|web01 (fb1e0000)|" ] || fail "root: $(ls "$MNT")"
	[ "$(ls "$MNT/web01" | tr '\n' '|')" = "2026-11-24T02:00:00Z|2026-12-01T02:00:00Z|2026-12-08T02:00:00Z|latest|" ] ||
		fail "web01: $(ls "$MNT/web01")"
	[ "$(readlink "$MNT/web01/latest")" = 2026-12-08T02:00:00Z ] || fail "latest: $(readlink "$MNT/web01/latest")"
	[ "$(stat -c %Y "$MNT/web01/2026-12-01T02:00:00Z")" = "$(date -d 2026-12-01T02:00:00Z +%s)" ] ||
		fail "a backup's folder is not dated by the backup"
	for d in "$MNT/web01/"2026-* "$MNT/web01 (fb1e0000)/2026-12-02T03:00:00Z"; do
		check_disk "$d/Ref:1" "$WORK/d1.img" "$WORK/e.xva" Ref:1
		check_disk "$d/Ref:2" "$WORK/d2.img" "$WORK/e.xva" Ref:2
		cmp "$d/by-device/xvda" "$WORK/d1.img" || fail "$d/by-device/xvda"
		cmp "$d/Ref:2p1" "$WORK/d2p1.img" || fail "$d/Ref:2p1"
		[ "$(readlink "$d/by-device/xvdb1")" = ../Ref:2p1 ] ||
			fail "$d/by-device/xvdb1: $(readlink "$d/by-device/xvdb1")"
		[ -f "$d/ova.xml" ] && ls "$d/vm/"*.cfg >/dev/null || fail "$d: no ova.xml or vm/"
		for f in "$d/vm" "$d/vm/"*.cfg; do
			[ "$(stat -c %Y "$f")" -gt 0 ] || fail "$f: dated 1970"
		done
		grep -q "$MNT/web01" "$d/vm/"*.cfg || fail "$d/vm: the disks' paths are not in the mount"
		# Read-only here: the header says to mount the backup's .xva to run it.
		hdr=$(grep -h '^#' "$d/vm/"*.cfg | sed 's/^# *//' | tr '\n' ' ')
		grep -q "read-only in this mount of a backup repository: to run the VM, mount the backup itself" <<<"$hdr" &&
			grep -q "xvafs -o overlay=DIR [^ ]*/xo-vm-backups/[0-9a-f-]*/[0-9T]*Z\.xva MOUNTPOINT" <<<"$hdr" ||
			fail "$d/vm: the header's advice: $hdr"
	done
	d=$MNT/db/2026-12-05T04:00:00Z
	grep -q "its .json is missing" "$d/note.txt" || fail "db's note: $(cat "$d/note.txt")"
	cmp "$d/Ref:7" "$WORK/d2.img" || fail "$d/Ref:7"
	grep -Eq "not a JSON object|tag does not match" "$MNT/db/2026-12-06T04:00:00Z/note.txt" ||
		fail "the broken .json's note"
	cmp "$MNT/db/2026-12-06T04:00:00Z/Ref:7" "$WORK/d2.img" || fail "the broken .json's backup"
	cmp "$MNT/db/latest/Ref:7" "$WORK/d2.img" || fail "db/latest/Ref:7"
	unmount_xva "$MNT"

	note "--verify: every backup, then one VM, then one backup"
	out=$("$XVAFS" --verify "$@" "$loc") || fail "--verify $loc: $out"
	grep -q ": 7 backups intact, 0 not fully verifiable, 0 damaged, 0 could not be opened$" <<<"$out" ||
		fail "--verify: $out"
	out=$("$XVAFS" --verify --vm "web01 (fb1e0000)" "$@" "$loc") || fail "--verify --vm: $out"
	grep -q ": 1 backup intact," <<<"$out" || fail "--verify --vm: $out"
	out=$("$XVAFS" --verify -o vm=web01/2026-12-01T02:00:00Z "$@" "$loc") || fail "--verify -o vm=: $out"
	grep -q "^xvafs: web01/2026-12-01T02:00:00Z: .*the export is intact$" <<<"$out" &&
		grep -q ": 1 backup intact," <<<"$out" || fail "--verify one backup: $out"
}

for flavour in chacha20-poly1305 aes-256-gcm none; do
	repo=$WORK/repo-$flavour
	opts=(--key-file "$WORK/key")
	[ "$flavour" = aes-256-gcm ] && opts+=(--legacy)
	[ "$flavour" = none ] && opts=()
	note "$flavour: a repository Xen Orchestra's handler wrote, on a local folder"
	make_repo "$repo" "${opts[@]}"
	if [ "$flavour" = none ]; then
		check_repo "$repo"
		note "none: a key for an unencrypted repository is refused; one in the environment is not used"
		rc=0; "$XVAFS" --list -o key_file="$WORK/key" "$repo" >/dev/null 2>"$WORK/err" || rc=$?
		[ "$rc" = 1 ] && grep -q "is not encrypted: it needs no key" "$WORK/err" || fail "key for none: $rc $(cat "$WORK/err")"
		XVAFS_KEY=$(cat "$WORK/key") "$XVAFS" --list "$repo" >/dev/null || fail "\$XVAFS_KEY with an unencrypted repository"
		note "none: a --vm that names nothing, said alike by the mount and --verify"
		for cmd in "--verify" "-f"; do
			rc=0
			if [ "$cmd" = -f ]; then
				mkdir -p "$MNT"
				"$XVAFS" -f --vm nosuch "$repo" "$MNT" 2>"$WORK/err" || rc=$?
			else
				"$XVAFS" --verify --vm nosuch "$repo" >/dev/null 2>"$WORK/err" || rc=$?
			fi
			[ "$rc" = 1 ] && [ "$(cat "$WORK/err")" = "xvafs: $repo: no VM or backup is nosuch (--list shows them)" ] ||
				fail "$cmd --vm nosuch: $rc $(cat "$WORK/err")"
		done
		continue
	fi
	check_repo "$repo" -o key_file="$WORK/key"
	note "$flavour: the key in the environment"
	out=$(XVAFS_KEY=$(cat "$WORK/key") "$XVAFS" --list --vm db "$repo") || fail "\$XVAFS_KEY: $out"
	grep -q "^vm: db " <<<"$out" || fail "\$XVAFS_KEY: $out"
	# The header counts the repository, then what --vm keeps.
	grep -q "^repository: $repo (encrypted with $flavour), 3 VMs, 7 full backups; --vm db: 3 shown$" <<<"$out" ||
		fail "--list --vm db's header: $out"

	note "$flavour: a key that is not one says where it came from, once"
	printf 'short\n' >"$WORK/short"
	rc=0; "$XVAFS" --list -o key_file="$WORK/short" "$repo" >/dev/null 2>"$WORK/err" || rc=$?
	[ "$rc" = 1 ] && [ "$(cat "$WORK/err")" = "xvafs: key file $WORK/short: the key has 5 bytes: Xen Orchestra's encryption keys are 32 characters (32 bytes)" ] ||
		fail "short key file: $rc $(cat "$WORK/err")"
	rc=0; XVAFS_KEY=short "$XVAFS" --list "$repo" >/dev/null 2>"$WORK/err" || rc=$?
	[ "$rc" = 1 ] && [ "$(cat "$WORK/err")" = "xvafs: \$XVAFS_KEY: the key has 5 bytes: Xen Orchestra's encryption keys are 32 characters (32 bytes)" ] ||
		fail "short \$XVAFS_KEY: $rc $(cat "$WORK/err")"

	note "$flavour: a wrong key is one line, exit 2, nothing mounted"
	rc=0; "$XVAFS" -o key_file="$WORK/wrong" "$repo" "$MNT" 2>"$WORK/err" || rc=$?
	[ "$rc" = 2 ] || fail "wrong key: exit $rc"
	[ "$(wc -l <"$WORK/err")" = 1 ] && grep -q "^xvafs: $repo: wrong key: it does not decrypt its metadata.json ($flavour)" "$WORK/err" ||
		fail "wrong key: $(cat "$WORK/err")"
	is_mounted "$MNT" && fail "mounted with a wrong key"
	rc=0; "$XVAFS" --list "$repo" 2>"$WORK/err" || rc=$?
	# One line, the repository named once, and how to give the key.
	[ "$rc" = 2 ] && [ "$(cat "$WORK/err")" = "xvafs: $repo: the repository is encrypted ($flavour): it needs its encryption key (give it with -o key_file=FILE or the XVAFS_KEY environment variable)" ] ||
		fail "no key: $rc $(cat "$WORK/err")"

	note "$flavour: one encrypted backup: with its repository's key, and without (named for what it is)"
	one=$repo/xo-vm-backups/$WEB01/20261201T020000Z.xva
	mount_xva "$one" "$MNT" -o key_file="$WORK/key"
	check_disk "$MNT/Ref:1" "$WORK/d1.img" "$WORK/e.xva" Ref:1
	unmount_xva "$MNT"
	rc=0; "$XVAFS" --list "$one" 2>"$WORK/err" || rc=$?
	[ "$rc" = 2 ] && grep -q "is a backup Xen Orchestra encrypted ($flavour, repository $repo): give the repository's encryption key with -o key_file=FILE or the XVAFS_KEY environment variable" "$WORK/err" ||
		fail "no key, one backup: $rc $(cat "$WORK/err")"
	rc=0; "$XVAFS" --list -o key_file="$WORK/wrong" "$one" 2>"$WORK/err" || rc=$?
	[ "$rc" = 2 ] && grep -q ": $repo: wrong key: it does not decrypt" "$WORK/err" || fail "wrong key, one backup: $rc $(cat "$WORK/err")"
done

note "a byte changed after the backup was authenticated, its size and modification time kept: checked again"
retamper=$WORK/retamper
cp -a "$WORK/repo-chacha20-poly1305" "$retamper"
victim=$retamper/xo-vm-backups/$WEB01/20261124T020000Z.xva
export XDG_CACHE_HOME=$WORK/cache-retamper
mount_xva "$retamper" "$MNT" -o key_file="$WORK/key"
check_disk "$MNT/web01/2026-11-24T02:00:00Z/Ref:1" "$WORK/d1.img" "$WORK/e.xva" Ref:1
unmount_xva "$MNT"
touch -r "$victim" "$WORK/victim-times"
python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x01]))' \
	"$victim" $((4 * MIB + 1234))
touch -r "$WORK/victim-times" "$victim"
mount_xva "$retamper" "$MNT" -o key_file="$WORK/key"
bad=$MNT/web01/2026-11-24T02:00:00Z
[ "$(ls "$bad")" = error.txt ] ||
	fail "a byte changed behind the remembered authentication was served: $(ls "$bad")"
unmount_xva "$MNT" "2026-11-24T02:00:00Z: .*authentication failed"

note "a tampered byte in an encrypted backup: refused by the first open's pass, named by --verify"
tampered=$WORK/tampered
cp -a "$WORK/repo-chacha20-poly1305" "$tampered"
victim=$tampered/xo-vm-backups/$WEB01/20261124T020000Z.xva
python3 -c 'import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2])); f.write(bytes([b[0] ^ 0x01]))' \
	"$victim" $((4 * MIB + 1234))
export XDG_CACHE_HOME=$WORK/cache-tampered
mount_xva "$tampered" "$MNT" -o key_file="$WORK/key"
bad=$MNT/web01/2026-11-24T02:00:00Z
[ "$(ls "$bad")" = error.txt ] || fail "the tampered backup's folder: $(ls "$bad")"
grep -q "authentication failed: the chacha20-poly1305 tag .* does not match" "$bad/error.txt" ||
	fail "error.txt: $(cat "$bad/error.txt")"
check_disk "$MNT/web01/2026-12-01T02:00:00Z/Ref:1" "$WORK/d1.img" "$WORK/e.xva" Ref:1
unmount_xva "$MNT" "2026-11-24T02:00:00Z: .*authentication failed"
note "unauthenticated: served at once with a warning; --verify names the backup"
export XDG_CACHE_HOME=$WORK/cache-unauth
out=$("$XVAFS" --list -o key_file="$WORK/key",unauthenticated "$victim" 2>&1) || fail "unauthenticated --list: $out"
grep -q "not authenticated: the chacha20-poly1305 tag of this encrypted backup has not been checked" <<<"$out" ||
	fail "no warning: $out"
mount_xva "$tampered" "$MNT" -o key_file="$WORK/key",unauthenticated
grep -q "^xvafs: $tampered: unauthenticated: each encrypted backup is served before its chacha20-poly1305 tag is checked" "$DAEMON_LOG" ||
	fail "the repository mount did not warn at start: $(cat "$DAEMON_LOG")"
cat "$MNT/web01/2026-11-24T02:00:00Z/Ref:1" "$MNT/web01/2026-11-24T02:00:00Z/Ref:2" >/dev/null ||
	fail "the tampered backup was not served with -o unauthenticated"
grep -q "xvafs: web01/2026-11-24T02:00:00Z: not authenticated: the chacha20-poly1305 tag of this encrypted backup has not been checked" "$DAEMON_LOG" ||
	fail "the backup served unauthenticated was not named in the log: $(cat "$DAEMON_LOG")"
unmount_xva "$MNT" "*"
rc=0; out=$("$XVAFS" --verify -o key_file="$WORK/key",unauthenticated --vm web01 "$tampered" 2>&1) || rc=$?
[ "$rc" = 4 ] || fail "--verify of the tampered repository: exit $rc: $out"
grep -q "^xvafs: web01/2026-11-24T02:00:00Z: encryption: authentication failed" <<<"$out" &&
	grep -q ": 2 backups intact, 0 not fully verifiable, 1 damaged" <<<"$out" || fail "--verify: $out"
# Authenticated (the default), the tag fails as the backup is opened: it
# is still counted damaged, not "could not be opened".
export XDG_CACHE_HOME=$WORK/cache-verify-auth
rc=0; out=$("$XVAFS" --verify -o key_file="$WORK/key" --vm web01 "$tampered" 2>&1) || rc=$?
[ "$rc" = 4 ] || fail "authenticated --verify of the tampered repository: exit $rc: $out"
grep -q "^xvafs: web01/2026-11-24T02:00:00Z: damaged: .*authentication failed" <<<"$out" &&
	grep -q ": 2 backups intact, 0 not fully verifiable, 1 damaged, 0 could not be opened$" <<<"$out" ||
	fail "authenticated --verify: $out"
export XDG_CACHE_HOME=$WORK/cache

note "S3: the repository uploaded to s3rver with the AWS CLI"
s3rver_start || fail "s3rver did not start"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
/usr/bin/aws --endpoint-url "$S3RVER_URL" s3 mb s3://xo-br >/dev/null || fail "aws s3 mb"
/usr/bin/aws --endpoint-url "$S3RVER_URL" s3 cp --quiet --recursive \
	"$WORK/repo-chacha20-poly1305" s3://xo-br/br1 || fail "aws s3 cp"
check_repo s3://xo-br/br1 -o "key_file=$WORK/key,s3_endpoint=$S3RVER_URL"
rc=0; "$XVAFS" --list -o "key_file=$WORK/wrong,s3_endpoint=$S3RVER_URL" s3://xo-br/br1 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "^xvafs: s3://xo-br/br1: wrong key: " "$WORK/err" || fail "S3 wrong key: $rc $(cat "$WORK/err")"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_DEFAULT_REGION

note "S3: the SigV4-checking endpoint, listing 2 keys a page (AES-256-GCM)"
mkdir -p "$WORK/s3/xo"
cp -a "$WORK/repo-aes-256-gcm" "$WORK/s3/xo/backups"
secret='wJalr/XUtnFEMI+K7MDENG=bPxRfiCY'
s3sig_start "" "$WORK/s3" --key "AKIDTEST:$secret" --page-size 2 || fail "s3sig did not start"
export AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=$secret
check_repo s3://xo/backups/ -o "key_file=$WORK/key,s3_endpoint=$S3SIG_URL"
stats=$(curl -sf "$S3SIG_URL/__control/stats") || fail "s3sig stats"
grep -q '"lists": [1-9]' <<<"$stats" && grep -q '"refused": 0' <<<"$stats" || fail "s3sig: $stats"
rc=0; AWS_SECRET_ACCESS_KEY=nope "$XVAFS" --list -o "key_file=$WORK/key,s3_endpoint=$S3SIG_URL" \
	s3://xo/backups/ 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "SignatureDoesNotMatch" "$WORK/err" || fail "S3 wrong secret: $rc $(cat "$WORK/err")"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

note "200 backups: mounted at once (measured, not asserted)"
small=$WORK/small.xva
head -c $((2 * MIB)) /dev/urandom >"$WORK/small.img"
"$MKXVA" --vm hvm-bios --vm-name many "$small" "$WORK/small.img=Ref:1" >/dev/null
args=()
for i in $(seq 0 199); do
	args+=(--backup "$((1764547200000 + i * 86400000)):$small")
done
node "$MKXOREPO" --dir "$WORK/many" --key-file "$WORK/key" \
	--vm "$WEB01:many" "${args[@]}" >/dev/null || fail "mkxorepo 200"
start=$(date +%s%N)
mount_xva "$WORK/many" "$MNT" -o key_file="$WORK/key"
mounted=$(date +%s%N)
[ "$(ls "$MNT/many" | wc -l)" = 201 ] || fail "200 backups and latest: $(ls "$MNT/many" | wc -l)"
rss_mounted=$(awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status")
cmp "$MNT/many/latest/Ref:1" "$WORK/small.img" || fail "the newest of 200"
first=$(ls "$MNT/many" | sed -n 1p)
cmp "$MNT/many/$first/Ref:1" "$WORK/small.img" || fail "the oldest of 200"
rss_two=$(awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status")
note "concurrent first looks: 6 readers into one backup, 6 into 6 others"
same=$(ls "$MNT/many" | sed -n 100p)
pids=()
for i in 1 2 3 4 5 6; do
	cmp "$MNT/many/$same/Ref:1" "$WORK/small.img" &
	pids+=($!)
	other=$(ls "$MNT/many" | sed -n "$((110 + i))p")
	cmp "$MNT/many/$other/by-device/xvda" "$WORK/small.img" &
	pids+=($!)
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a concurrent first read failed"
done
[ -z "$(ls "$MNT/many/$same" | sort | uniq -d)" ] || fail "a folder filled twice: $(ls "$MNT/many/$same")"
[ "$(ls "$MNT/many/$same" | tr '\n' ' ')" = "Ref:1 by-device by-label ova.xml vm " ] ||
	fail "the folder read concurrently: $(ls "$MNT/many/$same")"
unmount_xva "$MNT"
echo "MEASURED: 200 encrypted backups: mounted in $(((mounted - start) / 1000000)) ms" \
	"(listing, 200 .json decrypted, the daemon up); daemon RSS ${rss_mounted} KiB mounted," \
	"${rss_two} KiB after opening two backups"
echo "PASS: xorepo_mount"
