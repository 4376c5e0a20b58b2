#!/usr/bin/env bash
# Partitions, LVM volumes and filesystems inside the disks, through real
# mounts of exports made by mkxva from the guest fixtures (guestfixtures.sh:
# sfdisk, lvm2, mkfs.*), plain, gzip, zstd and over HTTP (nginx):
#   - every partition file (Ref:NNpK, by-device/xvdXK) against dd at
#     sfdisk's offsets, the primary GPT broken included; every served LV
#     (linear in two segments, striped over two disks, zero) against the
#     bytes placed where lvm2 reported its extents; no file for the LVs
#     that are not served;
#   - by-uuid/ and by-label/ against blkid -p of the file each names; a
#     filesystem label that is a disk's VDI label stays the disk's, with a
#     warning at mount and in --list;
#   - SEEK_DATA/SEEK_HOLE, st_blocks and O_DIRECT of partitions and LVs
#     against their disks;
#   - --list names the refused segment types (error, raid5, snapshot) and
#     hidden sub-LVs with their reasons, --list --json matches its schema;
#   - a partial VG (its LV not served, the missing PV said), two VGs named
#     VolGroup00 (two folders, each LV its own bytes);
#   - writes through the overlay to a partition and an LV land at their
#     disk offsets (read back from the disk file, and from --export-disk
#     --overlay), and stop at a partition's end;
#   - the nbdkit plugin (when built): partitions and LVs as exports by the
#     same names, and its start-up warnings are --list's.
. "$(dirname "$0")/lib.sh"
# shellcheck source=guestfixtures.sh
. "$(dirname "$0")/guestfixtures.sh"
need_fuse
need_root
SRV_DIR=$WORK/srv
mkdir -p "$SRV_DIR"
# shellcheck source=../servers/lib.sh
. "$(dirname "$0")/../servers/lib.sh"
trap 'srv_cleanup; cleanup' EXIT
for t in sfdisk blkid mkfs.xfs mkntfs ntfscp mkfs.btrfs cryptsetup pvcreate vgcfgrestore \
	gzip zstd python3; do
	command -v "$t" >/dev/null || fail "$t is missing (contrib/install-deps.sh)"
done
python3 -c 'import jsonschema' 2>/dev/null || fail "python3-jsonschema is missing"
[ -z "$(missing_nginx)" ] || skip "needs $(missing_nginx)"
losetup -f >/dev/null 2>&1 || skip "no free loop device"
SCHEMA=$(cd "$(dirname "$0")/../.." && pwd)/doc/list-json.schema.json

F=$WORK/fix
MNT=$WORK/mnt
mkdir -p "$F" "$WORK/want" "$WORK/www"
note "fixtures"
lvm_noise() { grep -v -e WARNING -e 'not zeroed' -e 'device-mapper' -e 'libdevmapper' -e 'mapper/control' -e 'kernel driver' >&2; }
gf_partitions "$F"
gf_lvm "$F" 2> >(lvm_noise)
P5=${LOOPS[0]} # lvm.img's logical partition 5, VolGroup00's PV
gf_refused "$F" 2> >(lvm_noise)

# The export: disk N of DISKS is xvd(a+N); lvm.img's VDI is labelled as
# mbr.img's root filesystem, so by-label/rootfs must stay the disk's.
DISKS=(mbr:Ref:10 lvm:Ref:11 sa:Ref:12 sb:Ref:13 btrfs:Ref:14 gpt-bad:Ref:15 refused:Ref:16 luks:Ref:17)
specs=()
for d in "${DISKS[@]}"; do
	label=${d#*:}
	[ "${d%%:*}" = lvm ] && label=rootfs
	specs+=("$F/${d%%:*}.img=${d#*:}=$label")
done
"$MKXVA" "$WORK/www/guest.xva" "${specs[@]}"
gzip -c "$WORK/www/guest.xva" >"$WORK/www/guest.gz.xva"
zstd -q -3 -c <"$WORK/www/guest.xva" >"$WORK/www/guest.zst.xva"
"$MKXVA" "$WORK/dup.xva" "$F/d1.img=Ref:20" "$F/d2.img=Ref:21"
"$MKXVA" "$WORK/partial.xva" "$F/sb.img=Ref:30"
nginx_start "$WORK/www" || fail "nginx did not start"

LETTERS=abcdefghijklmnopqrstuvwxyz
# The expected partitions, "PREFIX DEVICE N START SECTORS", each one's
# bytes in want/PREFIXpN; gpt-bad.img has gpt.img's table (its primary
# header is broken, the backup is the same).
: >"$WORK/parts"
for i in "${!DISKS[@]}"; do
	img=${DISKS[$i]%%:*} prefix=${DISKS[$i]#*:}
	dev=xvd${LETTERS:i:1}
	table=$F/$img.img
	[ "$img" = gpt-bad ] && table=$F/gpt.img
	sfdisk --json "$table" 2>/dev/null | python3 -c '
import json, sys
table, prefix, dev = sys.argv[1:4]
try:
    parts = json.load(sys.stdin)["partitiontable"]["partitions"]
except ValueError:
    parts = []
for p in parts:
    if p["type"].lower() not in ("5", "f", "85"):
        print(prefix, dev, p["node"][len(table):], p["start"], p["size"])' "$table" "$prefix" "$dev" >>"$WORK/parts" || true
done
while read -r prefix dev n start size; do
	img=$(printf '%s\n' "${DISKS[@]}" | sed -n "s/:$prefix\$//p")
	dd if="$F/$img.img" bs=512 skip="$start" count="$size" status=none >"$WORK/want/${prefix}p$n"
done <"$WORK/parts"
[ "$(wc -l <"$WORK/parts")" = 10 ] || { cat "$WORK/parts"; fail "expected 10 partitions from sfdisk"; }
# The LVs served, "FILE EXPECTED".
cat >"$WORK/lvs" <<EOF
lvm/VolGroup00/LogVol00 $F/lv/VolGroup00-LogVol00.img
lvm/VolGroup00/LogVol01 $F/lv/VolGroup00-LogVol01.img
lvm/vgs/data $F/lv/vgs-data.img
lvm/vgr/base $F/lv/vgr-base.img
lvm/vgr/lv_zero $F/lv/vgr-lv_zero.img
EOF
# What the daemon may say of guest.xva: the broken GPT, the label clash.
SAID="disk Ref:15: the primary GPT is bad|by-label/rootfs is disk Ref:11 \(its VDI's label\): the filesystem label of Ref:10p1"

# check_contents: every partition and LV file of the mount at $MNT.
check_contents() {
	local prefix dev n start size file want
	while read -r prefix dev n start size; do
		file=$MNT/${prefix}p$n
		cmp "$file" "$WORK/want/${prefix}p$n" || fail "$1: ${prefix}p$n differs"
		[ "$(readlink "$MNT/by-device/$dev$n")" = "../${prefix}p$n" ] ||
			fail "$1: by-device/$dev$n -> $(readlink "$MNT/by-device/$dev$n")"
	done <"$WORK/parts"
	while read -r file want; do
		cmp "$MNT/$file" "$want" || fail "$1: $file differs from where lvm2 put it"
	done <"$WORK/lvs"
	for lv in lv_error r5 snap snapshot0 r5_rimage_0; do
		[ ! -e "$MNT/lvm/vgr/$lv" ] || fail "$1: lvm/vgr/$lv is served"
	done
	[ ! -e "$MNT/Ref:10p2" ] || fail "$1: the extended partition is served"
}

# check_links: every by-uuid/ and filesystem by-label/ link against blkid.
check_links() {
	local l target
	for l in "$MNT"/by-uuid/*; do
		[ "$(blkid -p -o value -s UUID "$l")" = "${l##*/}" ] ||
			fail "$1: blkid sees another UUID in ${l##*/} ($(readlink "$l"))"
	done
	[ "$(find "$MNT/by-uuid" -mindepth 1 | wc -l)" = 13 ] || fail "$1: $(find "$MNT/by-uuid" -mindepth 1 | wc -l) by-uuid links, not 13"
	for l in "$MNT"/by-label/*; do
		target=$(readlink "$l")
		case $target in ../Ref:1[0-7]) continue ;; esac # a disk's VDI label
		[ "$(blkid -p -o value -s LABEL "$l")" = "${l##*/}" ] ||
			fail "$1: blkid sees another label in by-label/${l##*/} ($target)"
	done
	[ "$(readlink "$MNT/by-label/rootfs")" = ../Ref:11 ] || fail "$1: by-label/rootfs is not the disk's"
	[ "$(readlink "$MNT/by-label/lvroot")" = ../lvm/VolGroup00/LogVol00 ] || fail "$1: by-label/lvroot"
	[ "$(readlink "$MNT/by-label/btrlabel")" = ../Ref:14 ] || fail "$1: by-label/btrlabel"
	[ ! -e "$MNT/by-label/cryptlabel" ] || fail "$1: a LUKS label is linked (udev does not)"
}

for x in guest.xva guest.gz.xva guest.zst.xva "http://127.0.0.1:$NGINX_PORT/guest.xva"; do
	case $x in http*) src=$x ;; *) src=$WORK/www/$x ;; esac
	note "$x: partitions, LVs and links"
	mount_xva "$src" "$MNT"
	check_contents "$x"
	check_links "$x"
	unmount_xva "$MNT" "$SAID"
done

note "holes, st_blocks and O_DIRECT of partitions and LVs, as their disks'"
mount_xva "$WORK/www/guest.xva" "$MNT"
python3 - "$MNT" "$WORK/parts" <<'EOF' || fail "a partition's holes or blocks are not its disk's"
import os, sys
mnt, parts = sys.argv[1:3]
def runs(path, start, end):
    """(offset, is_data) runs of PATH over [start, end), by SEEK_DATA/SEEK_HOLE."""
    fd = os.open(path, os.O_RDONLY)
    out, pos = [], start
    try:
        while pos < end:
            try:
                data = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:
                data = end
            data = min(data, end)
            if data > pos:
                out.append((pos - start, False))
            if data >= end:
                break
            hole = min(os.lseek(fd, data, os.SEEK_HOLE), end)
            out.append((data - start, True))
            pos = hole
    finally:
        os.close(fd)
    return out
for line in open(parts):
    prefix, dev, n, start, size = line.split()
    start, size = int(start) * 512, int(size) * 512
    part = "%s/%sp%s" % (mnt, prefix, n)
    mine, disk = runs(part, 0, size), runs("%s/%s" % (mnt, prefix), start, start + size)
    assert mine == disk, (part, mine, disk)
    ends = [off for off, _ in mine[1:]] + [size]
    data = sum(e - off for (off, d), e in zip(mine, ends) if d)
    blocks = os.stat(part).st_blocks
    assert blocks == (data + 511) // 512, (part, blocks, data)
EOF
for f in Ref:10p7 Ref:11p5 lvm/vgs/data lvm/VolGroup00/LogVol00; do
	want=$(awk -v f="$f" '$1 == f { print $2 }' "$WORK/lvs")
	[ -n "$want" ] || want=$WORK/want/$f
	dd if="$MNT/$f" iflag=direct bs=1M status=none | cmp - "$want" || fail "$f: O_DIRECT reads differ"
	"$READCHECK" --reads 200 "$MNT/$f" "$want" || fail "$f: odd-offset reads differ"
	"$READCHECK" --direct --reads 100 "$MNT/$f" "$want" || fail "$f: O_DIRECT odd reads differ"
done
unmount_xva "$MNT" "$SAID"

note "--list: refused segment types and hidden sub-LVs with their reasons; the JSON schema"
"$XVAFS" --list "$WORK/www/guest.xva" >"$WORK/list.txt" 2>"$WORK/list.err"
for want in "lv_error .*not served: segment type error: an error segment" \
	"r5 .*not served: segment type raid5" \
	"snap .*not served: the copy-on-write store of a snapshot of base" \
	"r5_rimage_0 .*not served: a hidden sub-LV" \
	"lvm/vgr/lv_zero .* zero" "lvm/vgs/data .*ext4 1.0 \"striped\"" \
	"Ref:15 (xvdf): gpt partition table .*read from the backup GPT"; do
	grep -q "$want" "$WORK/list.txt" || { cat "$WORK/list.txt"; fail "--list: no /$want/"; }
done
if ! grep -Eq "$SAID" "$WORK/list.err" || [ "$(wc -l <"$WORK/list.err")" != 2 ]; then
	cat "$WORK/list.err"
	fail "--list's warnings are not the mount's"
fi
"$XVAFS" --list --json "$WORK/www/guest.xva" >"$WORK/guest.json" 2>/dev/null
"$XVAFS" --list --json "$WORK/partial.xva" >"$WORK/partial.json" 2>/dev/null
"$XVAFS" --list --json "$WORK/dup.xva" >"$WORK/dup.json" 2>/dev/null
python3 - "$SCHEMA" "$WORK/guest.json" "$WORK/partial.json" "$WORK/dup.json" <<'EOF' ||
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
docs = [json.load(open(p)) for p in sys.argv[2:]]
for d in docs:
    jsonschema.Draft202012Validator(schema).validate(d)
guest, partial, dup = docs
vgs = {v["name"]: v for v in guest["volume_groups"]}
lvs = {l["name"]: l for l in vgs["vgr"]["lvs"]}
assert lvs["base"]["file"] == "lvm/vgr/base" and lvs["base"]["servable"]
assert "segment type raid5" in lvs["r5"]["why"] and lvs["r5"]["file"] is None
assert "segment type error" in lvs["lv_error"]["why"]
assert "snapshot of base" in lvs["snap"]["why"]
assert not lvs["r5_rmeta_1"]["visible"]
root = vgs["VolGroup00"]["lvs"][0]
assert root["filesystem"]["links"] == ["by-uuid/" + root["filesystem"]["uuid"], "by-label/lvroot"], root
assert vgs["VolGroup00"]["pvs"][0]["file"] == "Ref:11p5" and vgs["VolGroup00"]["pvs"][0]["device"] == "xvdb5"
p1 = guest["disks"][0]["partitions"][0]
assert p1["file"] == "Ref:10p1" and p1["device"] == "xvda1" and p1["bootable"], p1
assert p1["filesystem"]["links"] == ["by-uuid/" + p1["filesystem"]["uuid"]], p1  # rootfs is the disk's
assert guest["disks"][5]["partition_table"]["backup_used"]
assert any("by-label/rootfs is disk Ref:11" in n for n in guest["guest_notes"])
v = partial["volume_groups"][0]
assert v["partial"] and [p["missing"] for p in v["pvs"]] == [True, False], v
assert not v["lvs"][0]["servable"] and "missing" in v["lvs"][0]["why"], v
assert any("missing" in n for n in partial["guest_notes"]), partial["guest_notes"]
folders = sorted(v["folder"] for v in dup["volume_groups"])
assert len(set(folders)) == 2 and all(f.startswith("lvm/VolGroup00.") for f in folders), folders
EOF
	fail "--list --json"

note "a partial VG: its LV is not served, the missing PV is said"
mount_xva "$WORK/partial.xva" "$MNT"
[ ! -e "$MNT/lvm" ] || fail "an LV of a partial VG is served: $(find "$MNT/lvm")"
unmount_xva "$MNT" "LVM: VG vgs: PV pv0 .* is missing"

note "two VGs named VolGroup00: two folders, each LV its own bytes"
mount_xva "$WORK/dup.xva" "$MNT"
python3 - "$WORK/dup.json" >"$WORK/dup.map" <<'EOF'
import json, sys
for v in json.load(open(sys.argv[1]))["volume_groups"]:
    print(v["lvs"][0]["file"], v["pvs"][0]["file"])
EOF
while read -r file disk; do
	case $disk in Ref:20) want=$F/lv/dup1.img ;; Ref:21) want=$F/lv/dup2.img ;; *) fail "PV on $disk" ;; esac
	cmp "$MNT/$file" "$want" || fail "$file differs from its VG's LV"
done <"$WORK/dup.map"
[ "$(wc -l <"$WORK/dup.map")" = 2 ] || fail "two LVs expected"
unmount_xva "$MNT"

note "writes through the overlay land at the partition's and the LV's disk offsets"
mkdir -p "$WORK/ovl"
mount_xva "$WORK/www/guest.xva" "$MNT" -o overlay="$WORK/ovl"
head -c 70000 /dev/urandom >"$WORK/w1"
head -c 50000 /dev/urandom >"$WORK/w2"
read -r _ _ _ p7 _ < <(grep "^Ref:10 xvda 7 " "$WORK/parts")
off1=$((1048576 + 4097))
dd if="$WORK/w1" of="$MNT/Ref:10p7" bs=70000 seek="$off1" oflag=seek_bytes conv=notrunc,fsync status=none ||
	fail "write to the partition"
dd if="$MNT/Ref:10" bs=70000 skip=$((p7 * 512 + off1)) iflag=skip_bytes count=1 status=none |
	cmp - "$WORK/w1" || fail "the partition's write is not at its disk offset"
# LogVol00's second segment (lvm2's report): LV byte Y is at the PV's
# pe_start + its PE * extent size + (Y - the segment's start).
read -r seg_start pe_range < <(lvs --devices "$P5" --segments --noheadings --units b --nosuffix \
	-o seg_start,seg_pe_ranges VolGroup00/LogVol00 2>/dev/null | sed -n 2p)
pe=${pe_range##*:}
pe=${pe%%-*}
pe_start=$(pvs --devices "$P5" --noheadings --units b --nosuffix -o pe_start 2>/dev/null | tr -d ' ')
read -r _ _ _ p5 _ < <(grep "^Ref:11 xvdb 5 " "$WORK/parts")
off2=$((seg_start + 1048576 + 333))
disk_off=$((p5 * 512 + pe_start + pe * 4194304 + off2 - seg_start))
dd if="$WORK/w2" of="$MNT/lvm/VolGroup00/LogVol00" bs=50000 seek="$off2" oflag=seek_bytes conv=notrunc,fsync \
	status=none || fail "write to the LV"
dd if="$MNT/Ref:11" bs=50000 skip="$disk_off" iflag=skip_bytes count=1 status=none |
	cmp - "$WORK/w2" || fail "the LV's write is not at lvm2's disk offset"
# A partition ends like a device: nothing is written past it.
size7=$(stat -c %s "$MNT/Ref:10p7")
if dd if="$WORK/w1" of="$MNT/Ref:10p7" bs=4096 seek=$((size7 - 2048)) oflag=seek_bytes count=1 \
	conv=notrunc status=none 2>"$WORK/dd.err"; then
	fail "a write across the partition's end succeeded"
fi
grep -q "No space left" "$WORK/dd.err" || { cat "$WORK/dd.err"; fail "a write past the end: not ENOSPC"; }
unmount_xva "$MNT" "$SAID"
"$XVAFS" --export-disk --overlay "$WORK/ovl" "$WORK/www/guest.xva" Ref:11 "$WORK/ref11.raw" >/dev/null
dd if="$WORK/ref11.raw" bs=50000 skip="$disk_off" iflag=skip_bytes count=1 status=none |
	cmp - "$WORK/w2" || fail "--export-disk --overlay: the LV's write is not in the disk"
{ cmp -l "$WORK/ref11.raw" "$F/lvm.img" || true; } | awk -v lo="$disk_off" -v hi=$((disk_off + 50000)) \
	'$1 - 1 < lo || $1 - 1 >= hi { bad = 1 } END { exit bad }' || fail "the LV's write changed other disk bytes"
"$XVAFS" --export-disk --overlay "$WORK/ovl" "$WORK/www/guest.xva" xvda7 "$WORK/p7.raw" >/dev/null
dd if="$WORK/p7.raw" bs=70000 skip="$off1" iflag=skip_bytes count=1 status=none | cmp - "$WORK/w1" ||
	fail "--export-disk of the partition with the overlay"
if [ -n "${NBD_PLUGIN:-}" ] && command -v nbdkit >/dev/null && command -v nbdcopy >/dev/null; then
	note "the nbdkit plugin: partitions and LVs by name; its warnings are --list's"
	# The sanitized plugin needs the ASan runtime first (nbd.sh does the
	# same); only nbdkit gets it, not the clients.
	nbd_env=()
	if [ "${XVAFS_SANITIZED:-0}" = 1 ]; then
		nbd_env=(LD_PRELOAD="$(ldd "$NBD_PLUGIN" | awk '/libasan/ { print $3 }')")
	fi
	sock=$WORK/nbd.sock
	env "${nbd_env[@]}" nbdkit -f -U "$sock" -P "$WORK/nbd.pid" "$NBD_PLUGIN" \
		"$WORK/www/guest.xva" 2>"$WORK/nbd.log" &
	nbd_pid=$!
	SRV_PIDS+=("$nbd_pid")
	wait_until --pid "$nbd_pid" "nbdkit to write its pid file (it listens then)" \
		test -s "$WORK/nbd.pid" || { cat "$WORK/nbd.log"; fail "nbdkit did not start"; }
	uri() { echo "nbd+unix:///$1?socket=$sock"; }
	nbdcopy "$(uri lvm/vgs/data)" - | cmp - "$F/lv/vgs-data.img" || fail "NBD lvm/vgs/data differs"
	nbdcopy "$(uri xvdb1)" - | cmp - "$WORK/want/Ref:11p1" || fail "NBD xvdb1 differs"
	nbdcopy "$(uri Ref:15p2)" - | cmp - "$WORK/want/Ref:15p2" || fail "NBD Ref:15p2 differs"
	if nbdinfo "$(uri lvm/vgr/r5)" >/dev/null 2>&1; then
		fail "the raid5 LV is an NBD export"
	fi
	nbdinfo --list --json "$(uri "")" >"$WORK/nbd.list"
	python3 - "$WORK/nbd.list" <<-'EOF' || fail "nbdinfo --list: the partitions and LVs"
		import json, sys
		names = {e["export-name"] for e in json.load(open(sys.argv[1]))["exports"]}
		want = {"Ref:10p1", "Ref:11p5", "Ref:15p3", "lvm/VolGroup00/LogVol00", "lvm/vgr/lv_zero"}
		assert want <= names and "lvm/vgr/r5" not in names, sorted(names)
	EOF
	kill "$nbd_pid"
	wait "$nbd_pid" || { cat "$WORK/nbd.log"; fail "nbdkit exited with $?"; }
	sed -n 's|^xvafs: .*/guest\.xva: ||p' "$WORK/list.err" >"$WORK/list.warnings"
	sed -n 's|^nbdkit: xva: warning: .*/guest\.xva: ||p' "$WORK/nbd.log" >"$WORK/nbd.warnings"
	diff "$WORK/list.warnings" "$WORK/nbd.warnings" || { cat "$WORK/nbd.log"; fail "the plugin's warnings are not --list's"; }
fi
echo "PASS: partitions, LVs and filesystem links through real mounts, byte for byte"
