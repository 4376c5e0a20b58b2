#!/usr/bin/env bash
# Faults while mounted, and load:
#   - the .xva truncated under the mount: reads of what is gone fail with
#     EIO (never zeros), the rest is served, the daemon neither crashes
#     nor hangs;
#   - the .xva replaced or deleted: the still-open file keeps being served;
#   - the daemon killed: reads fail fast, fusermount3 -u recovers the mount
#     point, a loop device on top reports errors and nothing hangs;
#   - 16 concurrent readers, random offsets and lengths, every byte checked,
#     and the daemon's memory stays flat.
. "$(dirname "$0")/lib.sh"
need_fuse
need_root

MIB=1048576
MNT=$WORK/mnt
head -c $((24 * MIB)) /dev/urandom >"$WORK/disk.img"
"$MKXVA" "$WORK/src.xva" "$WORK/disk.img=Ref:1"

note "the export truncated under the mount"
cp "$WORK/src.xva" "$WORK/cut.xva"
mount_xva "$WORK/cut.xva" "$MNT" -o noindexcache
cmp <(head -c $MIB "$MNT/Ref:1") <(head -c $MIB "$WORK/disk.img") || fail "first MiB"
truncate -s $((12 * MIB)) "$WORK/cut.xva"
err=$(timeout "$XVAFS_TEST_HANG_GUARD" dd if="$MNT/Ref:1" bs=$MIB skip=20 count=1 iflag=direct of=/dev/null 2>&1) && fail "a chunk past the cut was served"
grep -q "Input/output error" <<<"$err" || fail "past the cut: '$err'"
err=$(timeout "$XVAFS_TEST_HANG_GUARD" dd if="$MNT/Ref:1" bs=$MIB skip=18 count=1 of=/dev/null 2>&1) && fail "a buffered read past the cut was served"
cmp <(dd if="$MNT/Ref:1" bs=$MIB skip=3 count=1 iflag=direct status=none) \
    <(dd if="$WORK/disk.img" bs=$MIB skip=3 count=1 status=none) || fail "a chunk before the cut"
unmount_xva "$MNT" "member Ref:1/[0-9]+: cannot read|the export is now shorter than byte"

note "the export replaced, then deleted, under the mount"
cp "$WORK/src.xva" "$WORK/moving.xva"
mount_xva "$WORK/moving.xva" "$MNT"
head -c 5000 /dev/urandom >"$WORK/other"
mv "$WORK/other" "$WORK/moving.xva"
cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "after a replace, the disk differs"
rm -f "$WORK/moving.xva"
"$READCHECK" --direct --reads 300 "$MNT/Ref:1" "$WORK/disk.img" || fail "after a delete, the disk differs"
unmount_xva "$MNT"

note "the daemon killed: reads fail fast, the mount point recovers"
mount_xva "$WORK/src.xva" "$MNT"
loop=$(losetup -r -f --show "$MNT/Ref:1")
LOOPS+=("$loop")
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
timeout "$XVAFS_TEST_HANG_GUARD" cat "$MNT/Ref:1" >/dev/null 2>&1 && fail "a dead mount served data"
[ $? = 124 ] && fail "a read of a dead mount hung"
rc=0; timeout "$XVAFS_TEST_HANG_GUARD" dd if="$loop" bs=$MIB skip=10 count=1 iflag=direct of=/dev/null status=none 2>/dev/null || rc=$?
[ "$rc" = 124 ] && fail "a read of a loop device over a dead mount hung"
[ "$rc" = 0 ] && fail "a loop device over a dead mount served data"
losetup -d "$loop"
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
! is_mounted "$MNT" || fail "the dead mount is still there"
mount_xva "$WORK/src.xva" "$MNT"
cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "remount after a kill"

note "16 concurrent readers, every byte checked, memory flat"
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON_PID/status"; }
wave() {
	local pids=() i p
	for i in $(seq 1 16); do
		timeout "$XVAFS_TEST_HANG_GUARD" "$READCHECK" --reads 1500 --seed "$1$i" \
			$([ $((i % 2)) = 0 ] && echo --direct) "$MNT/Ref:1" "$WORK/disk.img" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || fail "a concurrent reader failed (status $?)"
	done
}
# The first wave grows the working set (threads, their pipes and
# buffers); a second one must not grow it further.
before=$(rss)
wave 1
warm=$(rss)
wave 2
after=$(rss)
echo "daemon RSS: $before KiB idle, $warm KiB after 16 readers, $after KiB after 16 more"
# ASan keeps freed memory in its quarantine (256 MB by default), so RSS
# says nothing about leaks there; LeakSanitizer checks those at exit.
if [ "${XVAFS_SANITIZED:-0}" != 1 ]; then
	[ "$after" -lt $((warm + 8 * 1024)) ] || fail "the daemon kept growing: $warm -> $after KiB"
	[ "$after" -lt $((128 * 1024)) ] || fail "the daemon uses $after KiB"
else
	echo "   (sanitized build: memory checked by LeakSanitizer, not by RSS)"
fi
unmount_xva "$MNT"
echo "PASS: faults confined, load served byte for byte"
