#!/usr/bin/env bash
# Writers of one disk write in parallel, and its readers never see bytes
# older than a write that returned (tests/rwstress.c says how it judges):
#   - mixed: per 4 KiB slot a writer (buffered and O_DIRECT in turn,
#     syncing now and then) and two readers (cached and O_DIRECT) reading
#     in a loop; every read is judged, and the final reads must be the
#     last writes; the disk is the same after a remount;
#   - writers: the same with no read-only opener, under libfuse's debug
#     log: the kernel sends the daemon several WRITEs of the disk at once
#     (Linux 6.9 and later; one at a time before this change).
# Bounded by rounds, not time; nothing is timed.
. "$(dirname "$0")/lib.sh"
: "${RWSTRESS:?path to rwstress}"
need_fuse

MNT=$WORK/mnt
OVL=$WORK/overlay
make_image "$WORK/disk.img" $((8 * 1048576))
"$MKXVA" "$WORK/vm.xva" "$WORK/disk.img=Ref:1"

note "mixed cached and O_DIRECT readers and writers: no stale read"
mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$OVL"
"$RWSTRESS" "$MNT/Ref:1" 4 1000 mixed || fail "a read saw bytes older than a write that had returned, or wrong bytes"
cp "$MNT/Ref:1" "$WORK/written.img"
unmount_xva "$MNT"
mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$OVL"
cmp "$MNT/Ref:1" "$WORK/written.img" || fail "after a remount the disk differs from what was read before"
unmount_xva "$MNT"

note "writers only: several WRITEs of one disk reach the daemon at once"
# Most WRITE requests between their arrival and their reply in libfuse's
# debug log: the kernel sent them together.
most_writes_at_once() {
	awk '/opcode: WRITE/ { u = $2; sub(",", "", u); open[u] = 1; if (++n > most) most = n }
	     /^ *unique: [0-9]+, (success|error)/ { u = $2; sub(",", "", u); if (u in open) { delete open[u]; n-- } }
	     END { print most + 0 }' "$1"
}
rm -rf "$OVL"
mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$OVL" -d
"$RWSTRESS" "$MNT/Ref:1" 4 300 writers || fail "writers alone: a read back differs from the write"
unmount_xva "$MNT" "*"
minor=$(sed -n 's/^INIT: 7\.\([0-9]*\)$/\1/p' "$DAEMON_LOG" | head -1)
at_once=$(most_writes_at_once "$DAEMON_LOG")
echo "  kernel FUSE 7.${minor:-?}: up to $at_once WRITEs of one disk at once"
if [ "${minor:-0}" -ge 40 ]; then
	[ "$at_once" -ge 2 ] || fail "4 writers of one disk: at most $at_once WRITE at a time reached the daemon"
else
	note "SKIP of the parallel check: FUSE 7.${minor:-?} is older than 7.40 (Linux 6.9), where writers stay cached"
fi
echo "PASS"
