#!/usr/bin/env bash
# The daemon's lifecycle and the command line's edges, as service managers,
# scripts and administrators meet them:
#   - started with standard input closed, it serves (the export is not
#     opened on fd 0), and runs that do not mount never close fd 0;
#   - SIGTERM, SIGINT and SIGHUP unmount and exit 0; while a loop device
#     uses the mount, the stop waits (the mount keeps serving) until it is
#     free, and a second signal forces it;
#   - a file, a mount point, a dead daemon's mount point as mount point;
#     a non-empty folder; operands the wrong way round; unknown options;
#     option values out of range (nothing created);
#   - one writer per overlay: a second mount, and --export-disk reading it,
#     are refused with the holder named; no write is lost;
#   - -o log=FILE gets the serving errors of a background daemon.
. "$(dirname "$0")/lib.sh"
need_fuse
need_root

MIB=1048576
MNT=$WORK/mnt
mkdir -p "$MNT"
make_image "$WORK/disk.img" $((16 * MIB))
"$MKXVA" "$WORK/vm.xva" "$WORK/disk.img=Ref:1"

# start_daemon SIGNAL_TEST_NAME: the daemon in the foreground, as mount_xva.
note "standard input closed: the daemon still serves"
"$XVAFS" "$WORK/vm.xva" "$MNT" <&- 2>"$WORK/err" || { cat "$WORK/err"; fail "daemon with stdin closed: $?"; }
MOUNTS+=("$MNT")
cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "with stdin closed, reads fail or differ"
fusermount3 -u "$MNT"
if command -v strace >/dev/null; then
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -e trace=close -o "$WORK/strace" "$XVAFS" --list "$WORK/vm.xva" >/dev/null
	! grep -q '^[0-9]* *close(0)' "$WORK/strace" || fail "--list closed fd 0"
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -e trace=close -o "$WORK/strace" "$XVAFS" --list /no/such.xva >/dev/null 2>&1 || true
	! grep -q '^[0-9]* *close(0)' "$WORK/strace" || fail "a failed open closed fd 0"
fi

for sig in TERM INT HUP; do
	note "SIG$sig: unmounted, exit 0"
	mount_xva "$WORK/vm.xva" "$MNT"
	kill -s "$sig" "$DAEMON_PID"
	rc=0; wait "$DAEMON_PID" || rc=$?
	[ "$rc" = 0 ] || { cat "$DAEMON_LOG"; fail "SIG$sig: exit status $rc"; }
	! is_mounted "$MNT" || fail "SIG$sig left the mount"
	[ ! -s "$DAEMON_LOG" ] || { cat "$DAEMON_LOG"; fail "SIG$sig: the daemon printed"; }
done

# SIGUSR2 is how the daemon's main thread tells the thread that takes the
# stop signals that serving has ended: one from outside must not end that
# thread, or SIGTERM would then stay pending with nobody to take it.
note "a SIGUSR2 from outside, then SIGTERM: unmounted, exit 0"
mount_xva "$WORK/vm.xva" "$MNT"
kill -USR2 "$DAEMON_PID"
kill -TERM "$DAEMON_PID"
wait_until "the daemon to stop after SIGUSR2 and SIGTERM" exited "$DAEMON_PID"
rc=0; wait "$DAEMON_PID" || rc=$?
[ "$rc" = 0 ] || { cat "$DAEMON_LOG"; fail "SIGUSR2, SIGTERM: exit status $rc"; }
! is_mounted "$MNT" || fail "SIGUSR2, SIGTERM left the mount"

note "SIGTERM while a loop device uses a disk: the stop waits, serving"
mount_xva "$WORK/vm.xva" "$MNT"
loop=$(losetup -r -f --show "$MNT/Ref:1")
LOOPS+=("$loop")
kill -TERM "$DAEMON_PID"
wait_until --pid "$DAEMON_PID" "word that the stop is deferred" in_file "$DAEMON_LOG" "is busy" || true
grep -q "$MNT is busy (a loop device or an open file uses it): staying mounted" "$DAEMON_LOG" ||
	{ cat "$DAEMON_LOG"; fail "no word that the stop is deferred"; }
is_mounted "$MNT" || fail "SIGTERM detached a busy mount"
cmp "$loop" "$WORK/disk.img" || fail "the loop device failed while the stop waited"
losetup -d "$loop"
wait_until "the daemon to stop once the mount was free" exited "$DAEMON_PID"
wait "$DAEMON_PID" || fail "deferred stop: exit status $?"
! is_mounted "$MNT" || fail "the mount outlived the deferred stop"

note "a second signal forces the stop"
mount_xva "$WORK/vm.xva" "$MNT"
exec 7<"$MNT/Ref:1"
kill -TERM "$DAEMON_PID"
wait_until --pid "$DAEMON_PID" "word that the stop is deferred" in_file "$DAEMON_LOG" "is busy" ||
	{ cat "$DAEMON_LOG"; fail "the daemon exited on one signal with a file open"; }
kill -INT "$DAEMON_PID"
rc=0; wait "$DAEMON_PID" || rc=$?
exec 7<&-
[ "$rc" = 0 ] || fail "forced stop: exit status $rc"
grep -q "second signal: stopping now" "$DAEMON_LOG" || { cat "$DAEMON_LOG"; fail "forced stop unannounced"; }
fusermount3 -u "$MNT" 2>/dev/null || true

# refused STATUS REGEX ARGS...: xvafs refuses, says REGEX on one line.
refused() {
	local want=$1 regex=$2 rc=0
	shift 2
	"$XVAFS" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	[ "$rc" = "$want" ] || { cat "$WORK/err"; fail "xvafs $*: exit status $rc, expected $want"; }
	grep -Eq -- "$regex" "$WORK/err" || { cat "$WORK/err"; fail "xvafs $*: no /$regex/"; }
}

note "mount points that cannot work"
: >"$WORK/file"
refused 3 "$WORK/file: not a folder" "$WORK/vm.xva" "$WORK/file"
refused 3 "$WORK/nowhere: cannot mount there: No such file or directory; create the folder first \(mkdir $WORK/nowhere\)" "$WORK/vm.xva" "$WORK/nowhere"
mount_xva "$WORK/vm.xva" "$MNT"
refused 3 "$MNT is already a mount point \(fuse.xvafs from .*vm.xva\); unmount it first" "$WORK/vm.xva" "$MNT"
[ "$(grep -c " $MNT fuse" /proc/mounts)" = 1 ] || fail "a second mount stacked"
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
refused 3 "Transport endpoint is not connected: .* run fusermount3 -u $MNT first" "$WORK/vm.xva" "$MNT"
fusermount3 -u "$MNT"
mkdir -p "$WORK/full"
: >"$WORK/full/something"
mount_xva "$WORK/vm.xva" "$WORK/full"
cmp "$WORK/full/Ref:1" "$WORK/disk.img" || fail "mounted over a non-empty folder: differs"
unmount_xva "$WORK/full" "is not empty: what it holds is hidden"

note "the command line's edges"
refused 1 "is a folder and .* is not: the export comes first, then the mount point \(xvafs .*vm.xva .*mnt\)" "$MNT" "$WORK/vm.xva"
refused 1 "unknown option 'veriffy' \(did you mean 'verify'\?\)" -o veriffy "$WORK/vm.xva" "$MNT"
refused 1 "unknown option 'allow_others' \(did you mean 'allow_other'\?\)" -o allow_others "$WORK/vm.xva" "$MNT"
refused 1 "unknown option 'foo'\$" -o foo "$WORK/vm.xva" "$MNT"
refused 1 "unknown option 'ui=0' \(did you mean 'uid'\?\)" -o ui=0 "$WORK/vm.xva" "$MNT"
refused 1 "see xvafs --help" -o no_such_thing "$WORK/vm.xva" "$MNT"
for bad in overlay_block=1000 overlay_block=3000 overlay_block=131072 overlay_block=0 \
	   readahead_kb=-5 readahead_kb=99999999 uid=-1 uid=4294967295 gid=x umask=999 \
	   umask=-2 prefetch=2G cache_max=lots memory=1K timeout=0 retries=1000; do
	refused 1 "^xvafs: -o $bad: " -o "overlay=$WORK/ovl,$bad" "$WORK/vm.xva" "$MNT"
	[ ! -e "$WORK/ovl" ] || fail "-o $bad: the overlay folder was created"
done
refused 1 "-o ro and -o overlay= ask for opposite things" -o "ro,overlay=$WORK/ovl" "$WORK/vm.xva" "$MNT"
! is_mounted "$MNT" || fail "mounted despite a bad option"

note "one writer per overlay"
OVL=$WORK/overlay
mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$OVL"
first=$DAEMON_PID
mkdir -p "$WORK/mnt2"
refused 2 "the overlay $OVL is in use by another xvafs \(pid $first, mounted at $MNT\)" \
	-f -o overlay="$OVL" "$WORK/vm.xva" "$WORK/mnt2"
! is_mounted "$WORK/mnt2" || fail "a second writer mounted the overlay"
refused 2 "the overlay $OVL is in use by another xvafs \(pid $first" \
	--export-disk --overlay "$OVL" "$WORK/vm.xva" Ref:1 "$WORK/out.img"
[ ! -e "$WORK/out.img" ] || fail "a refused --export-disk wrote its output"
# The writes the issue lost: 100 adjacent 4 KiB blocks, each fsync'ed.
for i in $(seq 0 99); do
	head -c 4096 /dev/urandom >"$WORK/block"
	dd if="$WORK/block" of="$MNT/Ref:1" bs=4096 seek=$((1000 + i)) conv=notrunc,fsync status=none
	dd if="$WORK/block" of="$WORK/disk.img" bs=4096 seek=$((1000 + i)) conv=notrunc status=none
done
unmount_xva "$MNT"
mount_xva "$WORK/vm.xva" "$MNT" -o overlay="$OVL"
cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "writes were lost"
unmount_xva "$MNT"
"$XVAFS" --export-disk --overlay "$OVL" "$WORK/vm.xva" Ref:1 "$WORK/out.img" >/dev/null ||
	fail "--export-disk after the writer left"
cmp "$WORK/out.img" "$WORK/disk.img" || fail "--export-disk lost writes"

note "-o log=FILE: a background daemon's serving errors"
"$MKXVA" "$WORK/sum.xva" "$WORK/disk.img=Ref:1"
flip "$WORK/sum.xva" $(($(member_data "$WORK/sum.xva" Ref:1/00000000) + 100))
"$XVAFS" -o verify,log="$WORK/xvafs.log" "$WORK/sum.xva" "$MNT" || fail "background mount with log="
dd if="$MNT/Ref:1" bs=$MIB count=1 of=/dev/null status=none 2>/dev/null && fail "a damaged chunk was served"
fusermount3 -u "$MNT"
grep -Eq "^[0-9-]+ [0-9:]+ \[[0-9]+\] xvafs: disk Ref:1, member Ref:1/00000000 .*checksum mismatch" "$WORK/xvafs.log" ||
	{ cat "$WORK/xvafs.log"; fail "the log file lacks the error"; }
echo "PASS: lifecycle, signals, mount points, options, overlay lock, log file"
