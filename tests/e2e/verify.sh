#!/usr/bin/env bash
# Checksums: --verify and -o verify on clean exports and on exports with a
# flipped byte in a chunk, a wrong checksum text, a missing checksum member
# and a checksum of the wrong length. Only the damaged chunk fails.
. "$(dirname "$0")/lib.sh"

MIB=1048576
MNT=$WORK/mnt
head -c $((8 * MIB)) /dev/urandom >"$WORK/disk.img"

# verify_says XVA STATUS REGEX: --verify exits STATUS and says REGEX.
verify_says() {
	local rc=0
	"$XVAFS" --verify "$1" >"$WORK/verify.out" 2>&1 || rc=$?
	[ "$rc" = "$2" ] || { cat "$WORK/verify.out"; fail "--verify $1: exit status $rc, expected $2"; }
	grep -Eq "$3" "$WORK/verify.out" || { cat "$WORK/verify.out"; fail "--verify $1 does not say /$3/"; }
}

note "clean exports"
for sum in xxhash sha1; do
	"$MKXVA" --checksum $sum --keepalive 1 "$WORK/$sum.xva" "$WORK/disk.img=Ref:1"
	verify_says "$WORK/$sum.xva" 0 "8 chunks verified good \(8.0 MiB of data\) in 1 disk: the export is intact"
done
"$MKXVA" --keepalive 1 "$WORK/gaps.xva" "$WORK/disk.img=Ref:1"
"$MKXVA" --checksum none "$WORK/nosum.xva" "$WORK/disk.img=Ref:1"
verify_says "$WORK/nosum.xva" 5 "disk Ref:1 has no checksum members; its 8 chunks cannot be verified"
grep -q "nothing found damaged, but the export cannot be fully verified" "$WORK/verify.out" ||
	{ cat "$WORK/verify.out"; fail "an export without checksums is called damaged"; }

note "a flipped byte in chunk 5"
cp "$WORK/xxhash.xva" "$WORK/flipped.xva"
flip "$WORK/flipped.xva" $(($(member_data "$WORK/flipped.xva" 'Ref:1/00000005') + 1000))
verify_says "$WORK/flipped.xva" 4 "disk Ref:1, member Ref:1/00000005 \(disk bytes $((5 * MIB))-$((6 * MIB - 1))\): checksum mismatch: the data hashes to [0-9A-F]{16}, its .xxhash member says [0-9A-F]{16}"
grep -q "7 chunks verified good.*1 bad, 0 unreadable, 0 without a usable checksum: the export is damaged" "$WORK/verify.out" ||
	{ cat "$WORK/verify.out"; fail "summary"; }

note "a wrong checksum text (sha1)"
cp "$WORK/sha1.xva" "$WORK/wrongtext.xva"
printf '0000000000000000000000000000000000000000' |
	dd of="$WORK/wrongtext.xva" bs=1 seek="$(member_data "$WORK/wrongtext.xva" 'Ref:1/00000002.checksum')" conv=notrunc status=none
verify_says "$WORK/wrongtext.xva" 4 "member Ref:1/00000002 \(disk bytes $((2 * MIB))-$((3 * MIB - 1))\): checksum mismatch: .* its .checksum member says 0{40}"

note "a missing checksum member"
"$MKXVA" --drop-checksum 3 "$WORK/missing.xva" "$WORK/disk.img=Ref:1"
verify_says "$WORK/missing.xva" 5 "member Ref:1/00000003 \(disk bytes $((3 * MIB))-$((4 * MIB - 1))\): no checksum member follows it"

note "a checksum text of the wrong length"
printf 'Ref:1/00000000 4096\nRef:1/00000000.xxhash 17\nRef:1/00000001 4096\n' >"$WORK/badlen.spec"
"$MKXVA" --spec "$WORK/badlen.spec" "$WORK/badlen.xva"
verify_says "$WORK/badlen.xva" 5 "member Ref:1/00000000 \(disk bytes 0-4095\): its .xxhash member holds 17 bytes, not the 16 of a checksum text"

need_fuse
# read_chunk MNT/DISK N: chunk N through O_DIRECT, into stdout.
read_chunk() {
	dd if="$1" bs=$MIB skip="$2" count=1 iflag=direct status=none
}
chunk_of_image() {
	dd if="$WORK/disk.img" bs=$MIB skip="$1" count=1 status=none
}

note "-o verify on a clean export"
mount_xva "$WORK/gaps.xva" "$MNT" -o verify
cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "-o verify: clean disk differs"
unmount_xva "$MNT"

note "-o verify: only the damaged chunk fails, and it is logged once"
mount_xva "$WORK/flipped.xva" "$MNT" -o verify
for n in 0 1 2 3 4 6 7; do
	cmp <(read_chunk "$MNT/Ref:1" $n) <(chunk_of_image $n) || fail "-o verify: chunk $n differs"
done
for _ in 1 2 3; do
	read_chunk "$MNT/Ref:1" 5 >/dev/null 2>&1 && fail "-o verify: the flipped chunk was served"
done
dd if="$MNT/Ref:1" bs=4096 skip=$((5 * 256 + 100)) count=1 iflag=direct of=/dev/null status=none 2>/dev/null &&
	fail "-o verify: a 4 KiB read inside the flipped chunk was served"
# Buffered reads of the neighbours still work.
cmp <(dd if="$MNT/Ref:1" bs=$MIB skip=4 count=1 status=none) <(chunk_of_image 4) || fail "buffered chunk 4"
unmount_xva "$MNT" "Ref:1/00000005 \(disk bytes $((5 * MIB))-$((6 * MIB - 1))\): checksum mismatch"
[ "$(grep -c . "$DAEMON_LOG")" = 1 ] || { cat "$DAEMON_LOG"; fail "the bad chunk was not logged exactly once"; }

note "without -o verify the bytes are served as stored"
mount_xva "$WORK/flipped.xva" "$MNT"
read_chunk "$MNT/Ref:1" 5 >/dev/null || fail "plain mount refused the chunk"
unmount_xva "$MNT"

note "-o verify: a chunk without a checksum fails, with a warning at mount"
mount_xva "$WORK/missing.xva" "$MNT" -o verify
read_chunk "$MNT/Ref:1" 3 >/dev/null 2>&1 && fail "-o verify served a chunk without a checksum"
cmp <(read_chunk "$MNT/Ref:1" 4) <(chunk_of_image 4) || fail "-o verify: chunk 4"
unmount_xva "$MNT" "1 of 8 chunks have no checksum member|Ref:1/00000003 .*no checksum member follows it"

note "-o verify is refused for an export without checksums"
rc=0; "$XVAFS" -o verify "$WORK/nosum.xva" "$MNT" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "^xvafs: $WORK/nosum.xva: -o verify: the export has no checksum members" "$WORK/err" ||
	{ cat "$WORK/err"; fail "-o verify without checksums: exit status $rc"; }

echo "PASS: checksums verified, damage found and confined"
