#!/usr/bin/env bash
# Exports cut short (an interrupted download): xvafs mounts them with a
# warning that says up to which byte each disk is intact, serves that part,
# and fails reads past it with EIO, never zeros. --list and --verify report
# the same facts.
. "$(dirname "$0")/lib.sh"

MIB=1048576
MNT=$WORK/mnt
head -c $((8 * MIB)) /dev/urandom >"$WORK/one.img"
head -c $((3 * MIB)) /dev/urandom >"$WORK/two.img"
"$MKXVA" "$WORK/good.xva" "$WORK/one.img=Ref:1" "$WORK/two.img=Ref:2"

data_of() { # data_of XVA MEMBER: the byte offset of MEMBER's data
	echo $(($(grep -boa "$2" "$1" | head -1 | cut -d: -f1) + 512))
}

# The cut falls 300000 bytes into the data of Ref:1's chunk 5.
cut=$(($(data_of "$WORK/good.xva" 'Ref:1/00000005') + 300000))
intact=$((5 * MIB + 300000))
head -c "$cut" "$WORK/good.xva" >"$WORK/cut.xva"

note "--list on a cut export"
"$XVAFS" --list --bytes "$WORK/cut.xva" >"$WORK/list.txt" 2>"$WORK/list.err" || fail "--list: exit status $?"
grep -q "truncated: member Ref:1/00000005 .*the export ends at byte $cut" "$WORK/list.err" || { cat "$WORK/list.err"; fail "--list: no truncation warning"; }
grep -q "disk Ref:1 is intact up to byte $intact of $((8 * MIB))" "$WORK/list.err" || { cat "$WORK/list.err"; fail "--list: Ref:1's intact part"; }
grep -q "disk Ref:2 is intact up to byte 0 of $((3 * MIB))" "$WORK/list.err" || { cat "$WORK/list.err"; fail "--list: Ref:2 not reached"; }
awk -v i="$intact" '$1 == "Ref:1" && $7 == i { ok = 1 } END { exit !ok }' "$WORK/list.txt" ||
	{ cat "$WORK/list.txt"; fail "--list: INTACT_TO column"; }
"$XVAFS" --list --json "$WORK/cut.xva" 2>/dev/null | python3 -c '
import json, sys
doc = json.load(sys.stdin)
d = {x["prefix"]: x for x in doc["disks"]}
assert doc["truncated"] is True and "Ref:1/00000005" in doc["truncation"]
assert d["Ref:1"]["intact_end"] == int(sys.argv[1]) and d["Ref:2"]["intact_end"] == 0
' "$intact" || fail "--json on a cut export"

note "--verify on a cut export"
rc=0; "$XVAFS" --verify "$WORK/cut.xva" >"$WORK/verify.out" 2>&1 || rc=$?
[ "$rc" = 4 ] || { cat "$WORK/verify.out"; fail "--verify: exit status $rc"; }
grep -q "5 chunks verified good.*1 unreadable.*and it is cut short: the export is damaged" "$WORK/verify.out" ||
	{ cat "$WORK/verify.out"; fail "--verify summary"; }
grep -q "member Ref:1/00000005 (disk bytes $((5 * MIB))-$((6 * MIB - 1))): the export is cut short inside it" "$WORK/verify.out" ||
	{ cat "$WORK/verify.out"; fail "--verify: the cut chunk"; }

need_fuse
note "mounting a cut export serves the intact part"
mount_xva "$WORK/cut.xva" "$MNT"
[ "$(stat -c %s "$MNT/Ref:1")" = $((8 * MIB)) ] || fail "Ref:1 keeps its virtual size"
[ "$(stat -c %s "$MNT/Ref:2")" = $((3 * MIB)) ] || fail "Ref:2, never reached, keeps its virtual size"
pages=$((intact / 4096))
cmp <(dd if="$MNT/Ref:1" bs=4096 count=$pages iflag=direct status=none) \
    <(head -c $((pages * 4096)) "$WORK/one.img") || fail "the intact part differs"
dd if="$MNT/Ref:1" bs=4096 skip=$pages count=1 iflag=direct of=/dev/null status=none 2>/dev/null &&
	fail "the page the cut falls in was served"
dd if="$MNT/Ref:1" bs=4096 skip=$((7 * 256)) count=1 iflag=direct of=/dev/null status=none 2>/dev/null &&
	fail "a chunk past the cut was served"
err=$(dd if="$MNT/Ref:1" bs=4096 skip=$((7 * 256)) count=1 iflag=direct of=/dev/null 2>&1) || true
grep -q "Input/output error" <<<"$err" || fail "past the cut: '$err', expected EIO"
head -c 4096 "$MNT/Ref:2" >/dev/null 2>&1 && fail "Ref:2, never reached, was served"
unmount_xva "$MNT" "truncated: member Ref:1/00000005|disk Ref:1 is intact up to byte $intact|disk Ref:2 is intact up to byte 0"

note "cut at a member boundary: every disk complete, the end marker missing"
size=$(stat -c %s "$WORK/good.xva")
head -c $((size - 1024)) "$WORK/good.xva" >"$WORK/nomarker.xva"
mount_xva "$WORK/nomarker.xva" "$MNT"
cmp "$MNT/Ref:1" "$WORK/one.img" && cmp "$MNT/Ref:2" "$WORK/two.img" || fail "complete disks differ"
unmount_xva "$MNT" "without the end-of-archive marker"
rc=0; "$XVAFS" --verify "$WORK/nomarker.xva" >"$WORK/verify.out" 2>&1 || rc=$?
[ "$rc" = 4 ] && grep -q "11 chunks verified good.*and it is cut short" "$WORK/verify.out" ||
	{ cat "$WORK/verify.out"; fail "--verify without the end marker: exit status $rc"; }

note "cut inside a header between chunks: intact up to the last whole chunk"
hdr=$(grep -boa 'Ref:1/00000006' "$WORK/good.xva" | head -1 | cut -d: -f1)
head -c $((hdr + 100)) "$WORK/good.xva" >"$WORK/cut-header.xva"
"$XVAFS" --list "$WORK/cut-header.xva" 2>&1 >/dev/null | grep -q "disk Ref:1 is intact up to byte $((6 * MIB)) of" ||
	fail "cut in a header: Ref:1 should be intact up to 6 MiB"

note "cut inside ova.xml: nothing can be served"
head -c 1000 "$WORK/good.xva" >"$WORK/cut-ova.xva"
rc=0; "$XVAFS" "$WORK/cut-ova.xva" "$MNT" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "the export is cut short inside ova.xml" "$WORK/err" || { cat "$WORK/err"; fail "cut in ova.xml: exit status $rc"; }

echo "PASS: cut exports served up to the cut, and no further"
