#!/usr/bin/env bash
# Makes a sample .xva (a 64 MiB disk with an MBR partition and an ext4
# filesystem), mounts it with xvafs and shows what a user sees: the disk
# file, its partition table, and the guest's files through a loop device.
#
#   contrib/demo.sh [BUILD_DIR]      (default: build; root for the loop part)
#   KEEP=1 contrib/demo.sh           leave everything mounted afterwards
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
xvafs=$build/xvafs
mkxva=$build/tests/mkxva
demo=${DEMO_DIR:-/tmp/xvafs-demo}
[ -x "$xvafs" ] && [ -x "$mkxva" ] || { echo "demo: build first (cmake -S . -B build && cmake --build build)" >&2; exit 1; }

show() { # prints a command, then runs it
	printf '\n$ %s\n' "$*"
	"$@"
}

loop=
cleanup() {
	[ -n "${KEEP:-}" ] && return
	mountpoint -q "$demo/guest" 2>/dev/null && umount "$demo/guest"
	[ -n "$loop" ] && losetup -d "$loop" 2>/dev/null
	mountpoint -q "$demo/mnt" 2>/dev/null && fusermount3 -u "$demo/mnt"
	return 0
}
trap cleanup EXIT

mkdir -p "$demo/mnt" "$demo/guest"
mountpoint -q "$demo/mnt" && fusermount3 -u "$demo/mnt"
"$top/contrib/mkdemo.sh" "$mkxva" "$demo"
echo "demo: made $demo/backup.xva ($(stat -c %s "$demo/backup.xva") bytes) from a $(stat -c %s "$demo/disk.img")-byte disk"

show "$xvafs" "$demo/backup.xva" "$demo/mnt"
show ls -l "$demo/mnt" "$demo/mnt/by-device" "$demo/mnt/vm"
show sfdisk -l "$demo/mnt/Ref:12"
show cmp "$demo/mnt/Ref:12" "$demo/disk.img"
echo "(cmp printed nothing: the served disk is the exported disk, byte for byte)"

if [ "$(id -u)" = 0 ]; then
	loop=$(losetup -r -P -f --show "$demo/mnt/Ref:12")
	printf '\n$ losetup -r -P -f --show %s\n%s\n' "$demo/mnt/Ref:12" "$loop"
	# Kernels without partition parsers need partx to make ${loop}p1.
	[ -b "${loop}p1" ] || partx -a "$loop"
	show mount -o ro "${loop}p1" "$demo/guest"
	show ls -lR "$demo/guest/home"
	show cat "$demo/guest/home/admin/notes.txt"
else
	echo "demo: not root, so the guest filesystem is not mounted through a loop device"
fi
show grep -v '^#' "$demo/mnt/vm/demo-vm.cfg"
echo "(the VM as a Xen xl configuration, its header of comments left out; vm/ has it for libvirt and qemu too)"
if [ -n "${KEEP:-}" ]; then
	echo
	echo "demo: left mounted. Unmount with:"
	[ -n "$loop" ] && echo "  umount $demo/guest && losetup -d $loop"
	echo "  fusermount3 -u $demo/mnt"
fi
