#!/usr/bin/env bash
# Every export variant from the format notes, mounted and compared byte for
# byte with its source image.
. "$(dirname "$0")/lib.sh"
need_fuse

MIB=1048576
LONG="Ref:$(printf 'long%.0s' $(seq 1 30))"  # past tar's 100-byte name field
MNT=$WORK/mnt

make_image "$WORK/main.img" $((13 * MIB + 12345))
make_image "$WORK/small.img" $((3 * MIB))
make_image "$WORK/tiny.img" 3000
truncate -s $((8 * MIB)) "$WORK/zero.img"

# variant NAME "MKXVA OPTIONS" EXPECTED_STDERR_REGEX IMAGE=PREFIX...
# Mounts the export and checks that exactly the named prefixes are served,
# each identical to its image.
variant() {
	local name=$1 opts=$2 expect=$3 xva=$WORK/$1.xva spec img prefix listed wanted
	shift 3
	note "$name"
	# shellcheck disable=SC2086
	"$MKXVA" $opts "$xva" "$@" || fail "$name: mkxva failed"
	mount_xva "$xva" "$MNT"
	listed=$(find "$MNT" -mindepth 1 -maxdepth 1 -type f ! -name ova.xml -printf '%f\n' | sort)
	wanted=$(for spec in "$@"; do p=${spec#*=}; echo "${p%%=*}"; done | sort)
	[ "$listed" = "$wanted" ] || fail "$name: serves [$listed], expected [$wanted]"
	for spec in "$@"; do
		img=${spec%%=*}
		prefix=${spec#*=}
		prefix=${prefix%%=*}
		check_disk "$MNT/$prefix" "$img" "$xva" "$prefix"
	done
	unmount_xva "$MNT" "$expect"
}

variant xapi-keepalive "--keepalive 2" "" "$WORK/main.img=Ref:12"
variant xapi-old-sha1 "--mode 0000 --checksum sha1" "" "$WORK/main.img=Ref:3"
variant ustar-nosum "--format ustar --checksum none" "" "$WORK/main.img=Ref:1"
variant gnu-longname "--format gnu" "" "$WORK/small.img=$LONG"
variant pax-longname "--format pax --keepalive 1" "" "$WORK/small.img=$LONG"
variant all-zero "" "" "$WORK/zero.img=Ref:4"
variant several "--keepalive 3" "" "$WORK/main.img=Ref:10" "$WORK/small.img=Ref:2" "$WORK/tiny.img=Ref:000"
variant width20 "--width 20 --keepalive 2" "" "$WORK/main.img=Ref:5"
variant non-numeric "--checksum sha1" "" "$WORK/small.img=Ref:VDI-1-root"
variant big-ref "" "" "$WORK/small.img=Ref:4294967301"
variant single-vdi "--no-ova" "" "$WORK/main.img=vdi"
variant all-chunks "--all-chunks" "" "$WORK/main.img=Ref:6"
variant tiny "" "" "$WORK/tiny.img=Ref:7"
variant with-cd "--with-cd" "" "$WORK/small.img=Ref:8"

# Xen Orchestra pads the last chunk and rounds virtual_size up: the disk
# served is the image padded with zeros to a whole MiB.
cp "$WORK/main.img" "$WORK/padded.img"
truncate -s $((14 * MIB)) "$WORK/padded.img"
note xo
"$MKXVA" --xo "$WORK/xo.xva" "$WORK/main.img=Ref:000"
mount_xva "$WORK/xo.xva" "$MNT"
check_disk "$MNT/Ref:000" "$WORK/padded.img" "$WORK/xo.xva" "Ref:000"
unmount_xva "$MNT"

# A metadata-only export mounts, lists nothing, and says so.
note metadata-only
"$MKXVA" --metadata-only "$WORK/meta.xva" "$WORK/small.img=Ref:9"
mount_xva "$WORK/meta.xva" "$MNT"
[ "$(ls -A "$MNT")" = ova.xml ] || fail "metadata-only export serves more than ova.xml: $(ls -A "$MNT")"
unmount_xva "$MNT" "no disk data \(metadata only\)"

# The export is never written: same bytes and mtime after all of this.
note "the .xva is unchanged by a mount"
cp -p "$WORK/xapi-keepalive.xva" "$WORK/before.xva"
mount_xva "$WORK/xapi-keepalive.xva" "$MNT"
cat "$MNT/Ref:12" >/dev/null
touch "$MNT/Ref:12" 2>/dev/null && fail "a served disk could be touched"
( : >>"$MNT/Ref:12" ) 2>/dev/null && fail "a served disk opened for writing"
unmount_xva "$MNT"
cmp "$WORK/xapi-keepalive.xva" "$WORK/before.xva" || fail "the .xva changed"
[ "$(stat -c %Y "$WORK/xapi-keepalive.xva")" = "$(stat -c %Y "$WORK/before.xva")" ] || fail "the .xva's mtime changed"

# By default xvafs daemonizes: it returns 0 once mounted, and the daemon
# ends when the mount is unmounted.
note "daemon mode, -o pass-through"
"$XVAFS" -o fsname=web01-backup,allow_other "$WORK/several.xva" "$MNT" 2>"$WORK/daemon.err" ||
	fail "daemon mode: exit status $?"
MOUNTS+=("$MNT")
is_mounted "$MNT" || fail "daemon mode: not mounted when xvafs returned"
[ -s "$WORK/daemon.err" ] && { cat "$WORK/daemon.err" >&2; fail "daemon mode printed errors"; }
line=$(awk -v m="$MNT" '$2 == m' /proc/self/mounts)
grep -q "^web01-backup $MNT fuse.xvafs ro," <<<"$line" || fail "daemon mode: mount line is: $line"
grep -q "allow_other" <<<"$line" || fail "daemon mode: allow_other not passed: $line"
cmp "$MNT/Ref:2" "$WORK/small.img" || fail "daemon mode: Ref:2 differs"
pid=$(pgrep -f -- "xvafs .*$WORK/several.xva $MNT") || fail "daemon mode: no daemon process"
fusermount3 -u "$MNT"
wait_until "daemon mode: the daemon to exit after unmount" exited "$pid"

note "-d debug output"
mount_xva "$WORK/tiny.xva" "$MNT" -d
cat "$MNT/Ref:7" >/dev/null
unmount_xva "$MNT" "."
grep -q "INIT" "$DAEMON_LOG" || fail "-d printed no FUSE requests"

note "a mount point that does not exist: exit status 3"
rc=0; "$XVAFS" "$WORK/tiny.xva" "$WORK/no/such/dir" 2>"$WORK/err" || rc=$?
[ "$rc" = 3 ] || { cat "$WORK/err" >&2; fail "bad mount point: exit status $rc"; }

echo "PASS: all variants served byte for byte"
