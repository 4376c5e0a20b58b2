#!/usr/bin/env bash
# Holes: the chunks an export left out are holes that kernel tools see.
# SEEK_DATA/SEEK_HOLE, st_blocks, du, cp --sparse=auto, qemu-img map and
# qemu-img convert must skip them; the splice and copy read paths, 4 KiB
# random and 1 MiB sequential and O_DIRECT reads all stay byte-exact.
. "$(dirname "$0")/lib.sh"
need_fuse

MIB=1048576
MNT=$WORK/mnt
# Chunks 0, 3, 4 and 9 hold data; 1-2 and 5-8 are left out.
truncate -s $((10 * MIB)) "$WORK/disk.img"
for c in 0 3 4 9; do
	head -c $MIB /dev/urandom | dd of="$WORK/disk.img" bs=$MIB seek=$c conv=notrunc status=none
done
"$MKXVA" --keepalive 2 "$WORK/sparse.xva" "$WORK/disk.img=Ref:1"
want="0 $MIB
$((3 * MIB)) $((5 * MIB))
$((9 * MIB)) $((10 * MIB))"

for mode in "" "-o nosplice"; do
	note "read path ${mode:-splice}"
	# shellcheck disable=SC2086
	mount_xva "$WORK/sparse.xva" "$MNT" $mode
	disk=$MNT/Ref:1
	got=$("$SEEKMAP" "$disk") || fail "seekmap failed"
	[ "$got" = "$want" ] || fail "SEEK_DATA/SEEK_HOLE ranges: $got"
	[ "$(stat -c %b "$disk")" = $((4 * MIB / 512)) ] || fail "st_blocks $(stat -c %b "$disk")"
	[ "$(du -k "$disk" | cut -f1)" = 4096 ] || fail "du says $(du -k "$disk")"
	"$READCHECK" --reads 2000 "$disk" "$WORK/disk.img" || fail "odd reads"
	"$READCHECK" --direct --reads 1000 "$disk" "$WORK/disk.img" || fail "O_DIRECT reads"
	cmp <(dd if="$disk" bs=1M status=none) "$WORK/disk.img" || fail "1 MiB sequential reads"
	cmp <(dd if="$disk" bs=4k iflag=direct status=none) "$WORK/disk.img" || fail "4 KiB O_DIRECT sequential reads"

	cp --sparse=auto "$disk" "$WORK/copy.img"
	cmp "$WORK/copy.img" "$WORK/disk.img" || fail "cp copy differs"
	[ "$(du -k "$WORK/copy.img" | cut -f1)" -le 4200 ] || fail "cp --sparse=auto wrote the holes: $(du -k "$WORK/copy.img")"
	rm -f "$WORK/copy.img"
	unmount_xva "$MNT"
done

if [ "$(id -u)" = 0 ]; then
	note "-o readahead_kb sets the mount's readahead"
	mount_xva "$WORK/sparse.xva" "$MNT" -o readahead_kb=1024
	dev=$(awk -v m="$MNT" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
	[ "$(cat "/sys/class/bdi/$dev/read_ahead_kb")" = 1024 ] ||
		fail "read_ahead_kb is $(cat "/sys/class/bdi/$dev/read_ahead_kb")"
	cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "readahead 1024: disk differs"
	unmount_xva "$MNT"
fi

if command -v qemu-img >/dev/null; then
	note "qemu-img map and convert skip the holes"
	mount_xva "$WORK/sparse.xva" "$MNT"
	qemu-img map --output=json -f raw "$MNT/Ref:1" >"$WORK/map.json"
	python3 - "$WORK/map.json" <<'PY' || fail "qemu-img map: $(cat "$WORK/map.json")"
import json, sys
MIB = 1 << 20
data = [(e["start"], e["start"] + e["length"]) for e in json.load(open(sys.argv[1])) if e["data"]]
assert data == [(0, MIB), (3 * MIB, 5 * MIB), (9 * MIB, 10 * MIB)], data
PY
	strace -f -e trace=lseek -o "$WORK/convert.strace" \
		qemu-img convert -f raw -O raw "$MNT/Ref:1" "$WORK/converted.img"
	cmp "$WORK/converted.img" "$WORK/disk.img" || fail "qemu-img convert output differs"
	grep -q "SEEK_DATA" "$WORK/convert.strace" || fail "qemu-img convert did not ask for holes"
	[ "$(du -k "$WORK/converted.img" | cut -f1)" -le 4200 ] || fail "qemu-img convert wrote the holes"
	unmount_xva "$MNT"
else
	fail "qemu-img is missing (Debian package qemu-utils)"
fi
echo "PASS: holes seen and skipped, reads byte-exact on both paths"
