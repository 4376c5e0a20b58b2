#!/usr/bin/env bash
# The README's recipes, run as written:
#   - a partition through `losetup -r -P --direct-io=on`, and recovering a
#     single file from it;
#   - a partition at its byte offset, found with sfdisk -d and parted;
#   - qemu-img convert to qcow2, VHD (vpc) and VMDK (identical per
#     qemu-img compare), and a read with cache=none (O_DIRECT);
#   - LVM inside a disk: pvscan finds it through a loop device;
#   - the Xen example's disk paths exist in a mount;
#   - unmounting in the right order.
. "$(dirname "$0")/lib.sh"
need_fuse
need_root
top=$(cd "$(dirname "$0")/../.." && pwd)
for t in qemu-img parted pvs; do
	command -v "$t" >/dev/null || fail "$t is missing (Debian packages qemu-utils, parted, lvm2)"
done

MNT=$WORK/mnt
GUEST=$WORK/guest
mkdir -p "$MNT" "$GUEST" "$WORK/root/home/admin"
echo "the file to recover" >"$WORK/root/home/admin/notes.txt"
head -c 2000000 /dev/urandom >"$WORK/root/home/admin/data.bin"
truncate -s 64M "$WORK/disk.img"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$WORK/disk.img"
mkfs.ext4 -q -F -E offset=1048576 -d "$WORK/root" "$WORK/disk.img" 64512k
"$MKXVA" "$WORK/web01.xva" "$WORK/disk.img=Ref:12=root" "$WORK/disk.img=Ref:13=data"
mount_xva "$WORK/web01.xva" "$MNT"

note "losetup -r -P --direct-io=on, recover one file, unmount in order"
loop=$(losetup -r -P --direct-io=on -f --show "$MNT/Ref:12")
LOOPS+=("$loop")
[ -b "${loop}p1" ] || partx -a "$loop"
losetup -n -O DIO "$loop" | grep -q 1 || fail "the loop device does not use direct I/O"
mount -o ro "${loop}p1" "$GUEST"
MOUNTS+=("$GUEST")
cp "$GUEST/home/admin/notes.txt" "$WORK/recovered.txt"
cmp "$WORK/recovered.txt" "$WORK/root/home/admin/notes.txt" || fail "recovered file differs"
cmp "$GUEST/home/admin/data.bin" "$WORK/root/home/admin/data.bin" || fail "data.bin differs"
umount "$GUEST" || fail "umount of the guest filesystem"
losetup -d "$loop" || fail "losetup -d"

note "a partition at its byte offset: sfdisk -d and parted agree"
start=$(sfdisk -d "$MNT/Ref:12" | sed -n 's/.*start= *\([0-9]*\).*/\1/p' | head -1)
offset=$(parted -s -m "$MNT/Ref:12" unit B print | awk -F: '$1 == 1 { sub(/B$/, "", $2); print $2 }')
[ "$((start * 512))" = "$offset" ] || fail "sfdisk says $((start * 512)), parted says $offset"
mount -o ro,loop,offset="$offset" "$MNT/Ref:12" "$GUEST"
cmp "$GUEST/home/admin/notes.txt" "$WORK/root/home/admin/notes.txt" || fail "offset mount"
umount "$GUEST"

note "qemu-img convert to qcow2, vpc (VHD) and vmdk; a cache=none read"
for fmt in qcow2 vpc vmdk; do
	qemu-img convert -f raw -O "$fmt" "$MNT/Ref:12" "$WORK/web01.$fmt"
	qemu-img compare -q -f raw -F "$fmt" "$WORK/disk.img" "$WORK/web01.$fmt" ||
		fail "qemu-img convert to $fmt: not identical"
done
qemu-img convert -T none -f raw -O raw "$MNT/by-device/xvdb" "$WORK/direct.raw"
cmp "$WORK/direct.raw" "$WORK/disk.img" || fail "a cache=none (O_DIRECT) read differs"

note "the Xen example's disks exist in the mount"
for dev in $(grep -o 'by-device/xvd[a-z]*' "$top/contrib/xen/web01.cfg" | sort -u); do
	[ -e "$MNT/$dev" ] || fail "contrib/xen/web01.cfg names $dev, which the mount lacks"
done
# Both disks are the one image: their filesystems share a UUID, which the
# mount says (by-uuid/ links the first).
unmount_xva "$MNT" "by-uuid/[0-9a-f-]+: Ref:12p1 and Ref:13p1 hold filesystems with this UUID"

note "LVM inside a disk: pvscan through a loop device"
truncate -s 64M "$WORK/lvm.img"
src=$(losetup -f --show "$WORK/lvm.img")
LOOPS+=("$src")
vg=xvafs$$
pvcreate -q "$src" 2>/dev/null && vgcreate -q "$vg" "$src" 2>/dev/null || fail "cannot make a volume group"
vgchange -q -an "$vg" >/dev/null 2>&1 || true
losetup -d "$src"
"$MKXVA" "$WORK/lvm.xva" "$WORK/lvm.img=Ref:1"
mount_xva "$WORK/lvm.xva" "$MNT"
loop=$(losetup -r -f --show "$MNT/Ref:1")
LOOPS+=("$loop")
pvscan --cache "$loop" >/dev/null 2>&1 || true
pvs --noheadings -o vg_name "$loop" 2>/dev/null | grep -q "$vg" || fail "pvs does not find $vg on the served disk"
if [ -e /dev/mapper/control ] && dmsetup targets 2>/dev/null | grep -q linear; then
	vgchange -ay "$vg" >/dev/null 2>&1 || fail "vgchange -ay"
	vgchange -an "$vg" >/dev/null 2>&1
else
	echo "   (this kernel has no device-mapper, so the volume group cannot be activated here)"
fi
losetup -d "$loop"
unmount_xva "$MNT"
echo "PASS: the README's recipes work as written"
