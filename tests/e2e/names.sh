#!/usr/bin/env bash
# Disks a person recognises: by-device/ and by-label/ links, ova.xml in the
# mount, and --list (text and JSON) for exports with several disks, a CD
# drive, an empty drive, a suspend image, duplicate and awkward labels, and
# Xen Orchestra's userdevice from 1.
. "$(dirname "$0")/lib.sh"

MIB=1048576
MNT=$WORK/mnt
make_image "$WORK/a.img" $((3 * MIB))
make_image "$WORK/b.img" $((2 * MIB + 77))
make_image "$WORK/c.img" $((1 * MIB))
make_image "$WORK/d.img" $((2 * MIB))
"$MKXVA" --with-cd --empty-drive --suspend Ref:9 "$WORK/vm.xva" \
	"$WORK/a.img=Ref:10=root disk" "$WORK/b.img=Ref:2=data/ünï" \
	"$WORK/c.img=Ref:9=suspend image" "$WORK/d.img=Ref:11=root disk"
"$MKXVA" --xo "$WORK/xo.xva" "$WORK/a.img=Ref:000=system" "$WORK/d.img=Ref:001=swap"

note "--list, as a user who is not root"
chmod 755 "$WORK"
chmod 644 "$WORK/vm.xva"
if id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	runuser -u nobody -- "$XVAFS" --list --bytes "$WORK/vm.xva" >"$WORK/list.txt" 2>"$WORK/list.err" ||
		fail "--list as nobody: exit status $?"
else
	"$XVAFS" --list --bytes "$WORK/vm.xva" >"$WORK/list.txt" 2>"$WORK/list.err"
fi
cat "$WORK/list.txt"
[ -s "$WORK/list.err" ] && { cat "$WORK/list.err"; fail "--list printed warnings"; }
grep -q "^vm: *xvafs test VM$" "$WORK/list.txt" || fail "--list does not name the VM"
# PREFIX DEVICE VIRTUAL_SIZE PRESENT CHUNKS CHECKSUM LABEL
expect_row() {
	awk -v p="$1" -v d="$2" -v s="$3" -v c="$4" -v l="$5" '
		$1 == p && $2 == d && $3 == s && $6 == c {
			label = $7; for (i = 8; i <= NF; i++) label = label " " $i
			if (label == l) found = 1
		} END { exit !found }' "$WORK/list.txt" || fail "--list has no row: $*"
}
expect_row Ref:10 xvda $((3 * MIB)) xxhash "root disk"
expect_row Ref:11 xvdb $((2 * MIB)) xxhash "root disk~2"
expect_row Ref:2 xvdc $((2 * MIB + 77)) xxhash "data_ünï"
expect_row Ref:9 - $((1 * MIB)) xxhash "suspend image"
[ "$(grep -c '^Ref:' "$WORK/list.txt")" = 4 ] || fail "--list shows the CD, the empty drive or the ISO as disks"

note "--list --json"
"$XVAFS" --list --json "$WORK/vm.xva" >"$WORK/list.json"
python3 - "$WORK/list.json" <<'PY' || fail "--json does not say what --list says"
import json, sys
doc = json.load(open(sys.argv[1]))
disks = {d["prefix"]: d for d in doc["disks"]}
assert set(disks) == {"Ref:10", "Ref:11", "Ref:2", "Ref:9"}, disks.keys()
assert doc["vms"][0]["name_label"] == "xvafs test VM"
assert doc["truncated"] is False
d = disks["Ref:2"]
assert d["device"] == "xvdc" and d["label"] == "data_ünï" and d["name_label"] == "data/ünï", d
assert d["virtual_size"] == 2 * 1048576 + 77 and d["checksum"] == "xxhash", d
assert d["bytes_present"] == d["virtual_size"] and d["chunks"] == 3, d
assert disks["Ref:9"]["device"] is None and disks["Ref:9"]["type"] == "suspend"
assert disks["Ref:10"]["bootable"] is True and disks["Ref:11"]["bootable"] is False
PY

need_fuse
note "the mount: disks, ova.xml, by-device/, by-label/"
mount_xva "$WORK/vm.xva" "$MNT"
[ "$(ls "$MNT" | tr '\n' ' ')" = "Ref:10 Ref:11 Ref:2 Ref:9 by-device by-label ova.xml " ] ||
	fail "root lists: $(ls "$MNT" | tr '\n' ' ')"
link() { # link PATH TARGET
	[ -L "$MNT/$1" ] || fail "$1 is not a link"
	[ "$(readlink "$MNT/$1")" = "../$2" ] || fail "$1 -> $(readlink "$MNT/$1"), expected ../$2"
}
link by-device/xvda Ref:10
link by-device/xvdb Ref:11
link by-device/xvdc Ref:2
[ "$(ls "$MNT/by-device" | wc -l)" = 3 ] || fail "by-device: $(ls "$MNT/by-device")"
link "by-label/root disk" Ref:10
link "by-label/root disk~2" Ref:11
link "by-label/data_ünï" Ref:2
link "by-label/suspend image" Ref:9
cmp "$MNT/by-device/xvdc" "$WORK/b.img" || fail "by-device/xvdc does not read as Ref:2"
cmp "$MNT/by-label/suspend image" "$WORK/c.img" || fail "by-label link does not read as Ref:9"
tar -xOf "$WORK/vm.xva" ova.xml | cmp - "$MNT/ova.xml" || fail "ova.xml differs from the export's"
[ "$(stat -c %a "$MNT/ova.xml")" = 444 ] || fail "ova.xml is not read-only"
[ "$(stat -c %h "$MNT")" = 4 ] || fail "the root's link count is $(stat -c %h "$MNT")"
unmount_xva "$MNT"

note "Xen Orchestra: userdevice from 1, device given"
mount_xva "$WORK/xo.xva" "$MNT"
link by-device/xvda Ref:000
link by-device/xvdb Ref:001
link by-label/system Ref:000
unmount_xva "$MNT"

echo "PASS: names, links, ova.xml and --list"
