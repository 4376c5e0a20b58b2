#!/usr/bin/env bash
# Writable disks through the copy-on-write overlay: the .xva never changes.
#   - a guest filesystem written through a loop device survives a remount
#     with the overlay and is gone without it;
#   - thousands of random writes match a model, before and after remount;
#   - kill -9 of the daemon mid-writes loses no synced write and leaves no
#     garbage (a process crash; power cuts, state by state: crashstates.sh);
#   - a full file system under the overlay gives ENOSPC and breaks nothing;
#   - truncate is refused, punch-hole reads zeros, files are 0600;
#   - an overlay of another export is refused; --export-disk.
. "$(dirname "$0")/lib.sh"
: "${RWCHECK:?path to rwcheck}"
need_fuse
need_root

MIB=1048576
MNT=$WORK/mnt
OVL=$WORK/overlay
FS=$WORK/fs
mkdir -p "$FS" "$WORK/root/etc"
echo "original" >"$WORK/root/etc/motd"
truncate -s 64M "$WORK/disk.img"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$WORK/disk.img"
mkfs.ext4 -q -F -E offset=1048576 -d "$WORK/root" "$WORK/disk.img" 64512k
"$MKXVA" --keepalive 2 "$WORK/vm.xva" "$WORK/disk.img=Ref:5"
sha=$(sha256sum <"$WORK/vm.xva")
xva_unchanged() {
	[ "$(sha256sum <"$WORK/vm.xva")" = "$sha" ] || fail "the .xva changed: $*"
}

loop_mount() { # loop_mount [-r]: the disk's partition at $FS
	local loop
	loop=$(losetup $1 -P -f --show "$MNT/Ref:5")
	LOOPS+=("$loop")
	[ -b "${loop}p1" ] || partx -a "$loop"
	mount ${1:+-o ro} "${loop}p1" "$FS"
	MOUNTS+=("$FS")
	LOOP=$loop
}
loop_umount() {
	umount "$FS"
	losetup -d "$LOOP"
}

note "a guest filesystem written through a loop device"
mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$OVL"
[ "$(stat -c %a "$MNT/Ref:5")" = 644 ] || fail "a writable disk is mode $(stat -c %a "$MNT/Ref:5")"
loop_mount ""
echo "written in the guest" >"$FS/etc/motd"
head -c 3000000 /dev/urandom >"$FS/new-file"
want=$(sha256sum <"$FS/new-file")
sync
loop_umount
unmount_xva "$MNT"
[ "$(stat -c %a "$OVL")" = 700 ] || fail "overlay folder mode"
for f in "$OVL"/*; do
	[ "$(stat -c %a "$f")" = 600 ] || fail "$f is mode $(stat -c %a "$f")"
done
xva_unchanged "after writing a guest filesystem"

note "remounted with the overlay: the writes are there"
mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$OVL"
loop_mount -r
[ "$(cat "$FS/etc/motd")" = "written in the guest" ] || fail "motd: $(cat "$FS/etc/motd")"
[ "$(sha256sum <"$FS/new-file")" = "$want" ] || fail "new-file differs"
loop_umount
unmount_xva "$MNT"

note "without the overlay: the original disk"
mount_xva "$WORK/vm.xva" "$MNT"
cmp "$MNT/Ref:5" "$WORK/disk.img" || fail "the original disk differs"
unmount_xva "$MNT"
xva_unchanged "after remounts"

note "4,000 random writes against a model, before and after a remount"
rm -rf "$OVL"
cp "$WORK/disk.img" "$WORK/model.img"
mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$OVL"
"$RWCHECK" model "$MNT/Ref:5" "$WORK/model.img" 7 4000 || fail "random writes differ from the model"
unmount_xva "$MNT"
mount_xva "$WORK/vm.xva" "$MNT" -o rw,overlay="$OVL"
cmp "$MNT/Ref:5" "$WORK/model.img" || fail "after a remount the disk differs from the model"
"$SEEKMAP" "$MNT/Ref:5" >/dev/null || fail "SEEK_DATA/SEEK_HOLE on an overlay"
cp --sparse=auto "$MNT/Ref:5" "$WORK/copy.img"
cmp "$WORK/copy.img" "$WORK/model.img" || fail "cp --sparse=auto of an overlaid disk differs"

note "truncate refused, punch-hole reads zeros"
truncate -s 1M "$MNT/Ref:5" 2>/dev/null && fail "truncate was allowed"
[ "$(stat -c %s "$MNT/Ref:5")" = $((64 * MIB)) ] || fail "the size changed"
fallocate -p -o 1000000 -l 300000 "$MNT/Ref:5" || fail "punch-hole failed"
dd if=/dev/zero of="$WORK/model.img" bs=1 seek=1000000 count=300000 conv=notrunc status=none
cmp "$MNT/Ref:5" "$WORK/model.img" || fail "punched range does not read as zeros"
dd if=/dev/zero of="$MNT/Ref:5" bs=4096 seek=$((64 * 256)) count=1 status=none 2>/dev/null &&
	fail "a write past the end of the disk succeeded"
unmount_xva "$MNT"

note "--export-disk with the overlay"
"$XVAFS" --export-disk "$WORK/vm.xva" Ref:5 "$WORK/exported.img" --overlay "$OVL" >/dev/null ||
	fail "--export-disk failed"
cmp "$WORK/exported.img" "$WORK/model.img" || fail "the exported disk differs from the model"
"$XVAFS" --export-disk "$WORK/vm.xva" Ref:5 "$WORK/plain.img" >/dev/null
cmp "$WORK/plain.img" "$WORK/disk.img" || fail "the exported original differs"
[ "$(du -k "$WORK/plain.img" | cut -f1)" -lt $((64 * 1024)) ] || fail "--export-disk wrote the holes"
rc=0; "$XVAFS" --export-disk "$WORK/vm.xva" Ref:5 "$WORK/vm.xva" 2>"$WORK/err" || rc=$?
[ "$rc" != 0 ] && grep -q "that is the export itself" "$WORK/err" || fail "--export-disk over the export"
note "a mistyped overlay is refused, never read as 'no changes'"
for bad in "$OVL-typo" "$WORK/disk.img"; do
	rc=0; "$XVAFS" --export-disk "$WORK/vm.xva" Ref:5 "$WORK/typo.img" --overlay "$bad" 2>"$WORK/err" || rc=$?
	[ "$rc" = 1 ] && [ ! -e "$WORK/typo.img" ] && grep -q "$bad" "$WORK/err" ||
		{ cat "$WORK/err"; fail "--export-disk --overlay $bad: exit status $rc"; }
done
mkdir "$WORK/empty-ovl"
rc=0; "$XVAFS" --export-disk "$WORK/vm.xva" Ref:5 "$WORK/typo.img" --overlay "$WORK/empty-ovl" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "holds no xvafs overlay" "$WORK/err" ||
	{ cat "$WORK/err"; fail "--export-disk --overlay of an empty folder: exit status $rc"; }
rc=0; "$XVAFS" -o overlay="$WORK/disk.img" "$WORK/vm.xva" "$MNT" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "is not a folder" "$WORK/err" && ! mountpoint -q "$MNT" ||
	{ cat "$WORK/err"; fail "-o overlay= a file: exit status $rc"; }
xva_unchanged "after --export-disk"

note "-o rw alone needs FILE.xva.overlay to exist (fstab's defaults mean rw)"
rc=0; "$XVAFS" -o rw "$WORK/vm.xva" "$MNT" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "vm.xva.overlay: -o rw keeps the disks' writes in this folder, which does not exist" "$WORK/err" ||
	{ cat "$WORK/err"; fail "-o rw without the folder: status $rc"; }
[ ! -e "$WORK/vm.xva.overlay" ] || fail "-o rw created an overlay folder"
mkdir "$WORK/vm.xva.overlay"
mount_xva "$WORK/vm.xva" "$MNT" -o rw
printf 'x' | dd of="$MNT/Ref:5" bs=1 seek=10 conv=notrunc status=none || fail "-o rw with the folder: not writable"
unmount_xva "$MNT"
[ -e "$WORK/vm.xva.overlay/Ref:5.map" ] || fail "-o rw did not use FILE.xva.overlay"

note "an overlay of another export is refused"
"$MKXVA" "$WORK/other.xva" "$WORK/disk.img=Ref:5" "$WORK/disk.img=Ref:6"
rc=0; "$XVAFS" -o overlay="$OVL" "$WORK/other.xva" "$MNT" 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "was made for another export or disk" "$WORK/err" ||
	{ cat "$WORK/err"; fail "a mismatched overlay: exit status $rc"; }

note "kill -9 mid-writes: synced writes kept, no garbage"
for round in 1 2 3 4; do
	rm -rf "$OVL" "$WORK/log"
	mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$OVL"
	"$RWCHECK" crash "$MNT/Ref:5" "$WORK/log" "$round" 12345 &
	writer=$!
	# Kill at a random moment once writes are being synced.
	wait_until --pid "$writer" "rwcheck's first synced write" test -s "$WORK/log" ||
		fail "round $round: rwcheck exited before a write was synced"
	sleep "0.$((RANDOM % 8 + 1))"
	kill -9 "$DAEMON_PID"
	wait "$writer" || true
	wait "$DAEMON_PID" 2>/dev/null || true
	fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
	[ -s "$WORK/log" ] || fail "round $round: no write was synced before the kill"
	mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$OVL"
	"$RWCHECK" crash-verify "$MNT/Ref:5" "$WORK/disk.img" "$WORK/log" "$round" 12345 ||
		fail "round $round: the disk is wrong after the crash"
	unmount_xva "$MNT"
done
xva_unchanged "after crashes"

note "a full file system under the overlay: ENOSPC, and nothing else breaks"
mkdir -p "$WORK/small"
mount -t tmpfs -o size=2M tmpfs "$WORK/small"
MOUNTS+=("$WORK/small")
mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$WORK/small/ovl"
err=$(dd if=/dev/urandom of="$MNT/Ref:5" bs=1M count=8 conv=notrunc,fsync 2>&1) && fail "8 MiB fit in 2 MiB"
grep -q "No space left on device" <<<"$err" || fail "the writer got '$err', not ENOSPC"
cmp -n $MIB "$MNT/Ref:5" "$WORK/disk.img" -i $((20 * MIB)) >/dev/null 2>&1 ||
	cmp <(dd if="$MNT/Ref:5" bs=1M skip=20 count=1 status=none) \
	    <(dd if="$WORK/disk.img" bs=1M skip=20 count=1 status=none) || fail "reads broke after ENOSPC"
printf 'still writable' | dd of="$MNT/Ref:5" bs=1 seek=100 conv=notrunc status=none ||
	fail "a write into a held block failed after ENOSPC"
unmount_xva "$MNT"
umount "$WORK/small"
xva_unchanged "at the end"
echo "PASS: writes go to the overlay, survive what they must, and never reach the .xva"
