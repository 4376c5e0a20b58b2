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
	listed=$(ls -A "$MNT" | sort)
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
[ -z "$(ls -A "$MNT")" ] || fail "metadata-only export serves files"
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

echo "PASS: all variants served byte for byte"
