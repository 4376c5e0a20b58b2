#!/usr/bin/env bash
# The guest view (partitions, LVM volumes, filesystems) of disk images
# made with the real tools (guestfixtures.sh), held against those tools:
#   - partition tables against sfdisk --json and partx;
#   - every partition's bytes against dd at sfdisk's offsets;
#   - each device's TYPE, LABEL, UUID, VERSION against blkid -p;
#   - every LV's bytes against the bytes placed where lvm2 reported its
#     extents (linear, two segments, striped over two disks, two VGs both
#     named VolGroup00), a partial VG, the primary GPT broken;
#   - a file inside the striped LV as grub-fstest reads it from the images
#     with its own LVM code, and from the LV guestcheck serves.
# Needs root (loop devices for lvm2) and the tools of guestfixtures.sh.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=guestfixtures.sh
source "$(dirname "$0")/guestfixtures.sh"
: "${GUESTCHECK:?path to guestcheck}"

need_root
for t in sfdisk partx blkid python3 mkfs.ext4 mkfs.vfat mkntfs mkfs.xfs mkswap \
	mkfs.btrfs cryptsetup pvcreate losetup grub-fstest; do
	command -v "$t" >/dev/null || skip "no $t (see contrib/install-deps.sh)"
done
losetup -f >/dev/null 2>&1 || skip "no free loop device"

F=$WORK/fix
mkdir -p "$F"
note "fixtures"
gf_partitions "$F"
gf_lvm "$F" 2> >(grep -v -e WARNING -e 'not zeroed' >&2)

# compare_table IMAGE [SFDISK_IMAGE]: guestcheck's table of IMAGE against
# sfdisk's (of SFDISK_IMAGE, the same by default) and partx's.
compare_table() {
	local img=$1 ref=${2:-$1}
	"$GUESTCHECK" list "$img" >"$WORK/list"
	sfdisk --json "$ref" >"$WORK/sfdisk.json"
	partx -s -b -g -o NR,START,SECTORS "$ref" >"$WORK/partx"
	python3 - "$ref" "$WORK/list" "$WORK/sfdisk.json" "$WORK/partx" <<-'EOF'
		import json, re, sys
		ref, listing, sf, px = sys.argv[1:5]
		kv = lambda line: dict(re.findall(r'(\w+)=("[^"]*"|\S*)', line))
		lines = open(listing).read().splitlines()
		table = kv([l for l in lines if l.startswith("table ")][0])
		ours = {int(p["n"]): p for p in map(kv, (l for l in lines if l.startswith("part ")))}
		t = json.load(open(sf))["partitiontable"]
		bad = []
		if table["kind"] != t["label"]:
		    bad.append("label %s, sfdisk %s" % (table["kind"], t["label"]))
		want_id = t["id"].lower().replace("0x", "")
		if table["id"] != want_id:
		    bad.append("id %s, sfdisk %s" % (table["id"], want_id))
		theirs = {int(p["node"][len(ref):]): p for p in t["partitions"]}
		if sorted(ours) != sorted(theirs):
		    bad.append("numbers %s, sfdisk %s" % (sorted(ours), sorted(theirs)))
		for n, p in theirs.items():
		    o = ours.get(n)
		    if not o:
		        continue
		    want = {"start": str(p["start"] * 512), "length": str(p["size"] * 512),
		            "type": p["type"].lower(), "uuid": p.get("uuid", "").lower(),
		            "name": '"%s"' % p.get("name", "")}
		    for k, v in want.items():
		        if o[k] != v:
		            bad.append("partition %d %s: %s, sfdisk %s" % (n, k, o[k], v))
		for line in open(px).read().splitlines():
		    nr, start, sectors = map(int, line.split())
		    o = ours.get(nr)
		    if not o or int(o["start"]) != start * 512 or int(o["length"]) != sectors * 512:
		        bad.append("partx: %s" % line)
		if bad:
		    sys.exit("table of %s:\n  %s" % (ref, "\n  ".join(bad)))
	EOF
}

# compare_parts IMAGE: each partition's bytes, and what blkid sees in it.
compare_parts() {
	local img=$1 n start size
	while read -r n start size; do
		"$GUESTCHECK" dump "xvda$n" "$img" >"$WORK/ours"
		dd if="$img" bs=512 skip="$start" count="$size" status=none >"$WORK/want"
		cmp "$WORK/ours" "$WORK/want" || fail "$img: partition $n differs"
		compare_fs "xvda$n" "$WORK/want" "$img"
	done < <(sfdisk --json "$img" | python3 -c '
import json, sys
img = sys.argv[1]
for p in json.load(sys.stdin)["partitiontable"]["partitions"]:
    if p["type"].lower() not in ("5", "f", "85"):
        print(p["node"][len(img):], p["start"], p["size"])' "$img")
}

# compare_fs NAME FILE IMAGE...: guestcheck's probe of device or LV NAME
# against blkid -p of FILE (its bytes).
compare_fs() {
	local name=$1 file=$2
	shift 2
	"$GUESTCHECK" list "$@" >"$WORK/list"
	blkid -p -o export "$file" >"$WORK/blkid" || true
	python3 - "$name" "$WORK/list" "$WORK/blkid" <<-'EOF'
		import re, sys
		name, listing, bl = sys.argv[1:4]
		kv = lambda line: {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|\S*)', line)}
		ours = None
		for line in open(listing).read().splitlines():
		    d = kv(line)
		    if d.get("name") == name or d.get("path") == name:
		        ours = d
		if ours is None:
		    sys.exit("%s is not listed" % name)
		theirs = dict(l.split("=", 1) for l in open(bl).read().splitlines() if "=" in l)
		theirs = {k: v.replace("\\ ", " ") for k, v in theirs.items()}
		bad = [k for k in ("TYPE", "LABEL", "UUID") if ours.get(k, "") != theirs.get(k, "")]
		if ours.get("VERSION") and theirs.get("VERSION") and ours["VERSION"] != theirs["VERSION"]:
		    bad.append("VERSION")
		if bad:
		    sys.exit("%s: %s differ: ours %s, blkid %s" % (name, bad, ours, theirs))
	EOF
}

note "partition tables against sfdisk and partx"
for img in mbr gpt lvm; do
	compare_table "$F/$img.img"
	compare_parts "$F/$img.img"
done
compare_table "$F/gpt-bad.img" "$F/gpt.img"
grep -q "table disk=xvda kind=gpt .*backup=1" "$WORK/list" ||
	fail "gpt-bad: the backup header was not reported"
note "filesystems on bare disks"
compare_fs xvda "$F/btrfs.img" "$F/btrfs.img"
compare_fs xvda "$F/luks.img" "$F/luks.img"
compare_fs xvda "$F/sa.img" "$F/sa.img"

# compare_lv PATH CONTENT IMAGE...: the LV's bytes and probe.
compare_lv() {
	local path=$1 content=$2
	shift 2
	"$GUESTCHECK" dump "$path" "$@" >"$WORK/lv" || fail "$path: not served"
	cmp "$WORK/lv" "$content" || fail "$path differs from where lvm2 put it"
	compare_fs "$path" "$content" "$@"
}

note "LVs against the bytes lvm2's report placed"
compare_lv VolGroup00/LogVol00 "$F/lv/VolGroup00-LogVol00.img" "$F/lvm.img"
compare_lv VolGroup00/LogVol01 "$F/lv/VolGroup00-LogVol01.img" "$F/lvm.img"
lvsegs=$(grep -c . < <(lvs --devices "${LOOPS[0]}" --segments --noheadings VolGroup00/LogVol00))
[ "$lvsegs" = 2 ] || fail "LogVol00 has $lvsegs segments, the fixture wants 2"
compare_lv vgs/data "$F/lv/vgs-data.img" "$F/sa.img" "$F/sb.img"

note "two VGs named VolGroup00"
"$GUESTCHECK" list "$F/d1.img" "$F/d2.img" >"$WORK/dup"
mapfile -t paths < <(sed -n 's/^lv path=\([^ ]*\) .*/\1/p' "$WORK/dup")
if [ "${#paths[@]}" != 2 ] || [ "${paths[0]}" = "${paths[1]}" ]; then
	fail "two LVs with distinct paths expected: ${paths[*]}"
fi
for p in "${paths[@]}"; do
	case $p in VolGroup00.*/LogVol00) ;; *) fail "path $p" ;; esac
done
"$GUESTCHECK" dump "${paths[0]}" "$F/d1.img" "$F/d2.img" | cmp - "$F/lv/dup1.img" ||
	fail "the first VolGroup00's LV differs"
"$GUESTCHECK" dump "${paths[1]}" "$F/d1.img" "$F/d2.img" | cmp - "$F/lv/dup2.img" ||
	fail "the second VolGroup00's LV differs"

note "a partial VG: the striped LV refused, with the reason"
"$GUESTCHECK" list "$F/sb.img" >"$WORK/partial"
grep -q "^vg name=vgs .*partial=1" "$WORK/partial" || fail "vgs not partial"
grep -q "^refused vg=vgs lv=data .*missing" "$WORK/partial" || fail "data not refused"
if "$GUESTCHECK" dump vgs/data "$F/sb.img" >/dev/null 2>&1; then
	fail "a partial LV was served"
fi

note "grub-fstest agrees on a file inside the striped LV"
grub-fstest -c 2 -r lvm/vgs-data "$F/sa.img" "$F/sb.img" cat /random.bin |
	cmp - "$F/content/random.bin" || fail "grub-fstest: the fixture is wrong"
"$GUESTCHECK" dump vgs/data "$F/sa.img" "$F/sb.img" >"$WORK/lv"
grub-fstest "$WORK/lv" cat /random.bin | cmp - "$F/content/random.bin" ||
	fail "grub-fstest reads another random.bin from the LV guestcheck serves"
echo "PASS"
