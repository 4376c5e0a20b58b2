#!/usr/bin/env bash
# The README's first command ends with contrib/demo.sh: it must run to the
# end on a fresh build, show the served disk equal to the exported one,
# the guest's file read through a loop device (as root), and the VM's xl
# configuration, and leave nothing mounted or attached.
. "$(dirname "$0")/lib.sh"
need_fuse
need_root
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(dirname "$XVAFS")
demo=$WORK/demo
rc=0
DEMO_DIR=$demo "$top/contrib/demo.sh" "$build" >"$WORK/out" 2>&1 || rc=$?
[ "$rc" = 0 ] || { cat "$WORK/out" >&2; fail "contrib/demo.sh exited $rc"; }
grep -q "^(cmp printed nothing" "$WORK/out" || fail "no cmp line: $(cat "$WORK/out")"
grep -q "^\$ cat $demo/guest/home/admin/notes.txt" "$WORK/out" || fail "the guest's file was not shown"
grep -q "^disk = \[" "$WORK/out" && grep -q "target=$demo/mnt/by-device/xvda" "$WORK/out" ||
	fail "the xl configuration was not shown: $(tail -30 "$WORK/out")"
! grep -q " $demo" /proc/mounts || fail "demo left a mount: $(grep " $demo" /proc/mounts)"
! losetup -j "$demo/disk.img" 2>/dev/null | grep -q . && ! losetup -a | grep -q "$demo" ||
	fail "demo left a loop device: $(losetup -a | grep "$demo")"
echo "PASS: contrib/demo.sh"
