#!/bin/bash
# mkguests.sh: the boot tests' guests, made with the real tools and kept
# in a cache outside the source tree (XVAFS_GUEST_CACHE, default
# /var/cache/xvafs-tests): Debian's cloud kernel (apt-get download) and a
# busybox-static initramfs whose /init (tests/guests/init) prints a marker
# on the serial console, writes a file in its root file system, syncs and
# powers off. Three disks, each with an ext4 root file system labelled
# xvaroot holding /boot/vmlinuz and /boot/initrd.img:
#
#   bios.img  MBR, extlinux in the MBR and on the ext4 partition
#   uefi.img  GPT: an EFI system partition whose only loader is
#             \EFI\debian\grubx64.efi (grub, as Debian installs it: no
#             \EFI\BOOT\BOOTX64.EFI fallback), and the ext4 root
#   pv.img    MBR, ext4 with /boot/grub/grub.cfg for Xen's pygrub
#
# and uefi-nvram-v1.b64, uefi-nvram-v2.b64: the VM record's NVRAM
# EFI-variables as XCP-ng's varstored writes them (versions 1 and 2), with
# the Boot0001 entry that starts the loader, BootOrder, and the Secure
# Boot keys of OVMF's Microsoft-keyed store (tests/guests/efivars.py).
#
# The kernel's command lines have no_timer_check: under TCG on a loaded
# host its check of the IO-APIC timer can fail and panic the guest.
#
# Prints the folder holding them. Exits 77 with "SKIP: reason" on stderr
# when a tool or the kernel cannot be had. Needs root (a loop mount for
# extlinux, which must see the files as the kernel wrote them: extlinux
# reads its kernel through the block map, and mkfs.ext4 -d leaves holes).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${XVAFS_GUEST_CACHE:-/var/cache/xvafs-tests}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

[ "$(id -u)" = 0 ] || skip "making the test guests needs root (a loop mount for extlinux)"
for tool in apt-get apt-cache dpkg-deb depmod modprobe cpio gzip sfdisk mkfs.ext4 \
	mkfs.vfat mmd mcopy grub-mkstandalone extlinux readelf python3 sha256sum flock; do
	command -v "$tool" >/dev/null ||
		skip "no $tool (contrib/install-deps.sh installs the boot tests' packages)"
done
[ -x /bin/busybox ] && ! readelf -l /bin/busybox | grep -q interpreter ||
	skip "no static /bin/busybox (Debian package busybox-static)"
[ -d /usr/lib/grub/x86_64-efi ] || skip "no grub EFI modules (Debian package grub-efi-amd64-bin)"
[ -f /usr/lib/EXTLINUX/mbr.bin ] || skip "no /usr/lib/EXTLINUX/mbr.bin (Debian package extlinux)"
keys=/usr/share/OVMF/OVMF_VARS_4M.ms.fd
[ -f "$keys" ] || skip "no $keys (Debian package ovmf)"

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9 # one builder at a time; the others wait, then find it made

# The kernel: the package linux-image-cloud-amd64 depends on, or the one
# already fetched when the package lists cannot say.
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/ { print $2; exit }') || true
deb=
if [ -n "$kpkg" ]; then
	deb=$(ls "$cache/${kpkg}_"*.deb 2>/dev/null | tail -1) || true
	if [ -z "$deb" ]; then
		(cd "$cache" && apt-get download -q "$kpkg" >/dev/null 2>&1) ||
			skip "apt-get download $kpkg failed (no network or no Debian package lists)"
		deb=$(ls "$cache/${kpkg}_"*.deb | tail -1)
	fi
else
	deb=$(ls "$cache"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | tail -1) || true
	[ -n "$deb" ] || skip "apt-cache knows no linux-image-cloud-amd64 and none is cached in $cache"
fi

key=$(cat "$here/mkguests.sh" "$here/init" "$here/efivars.py" <(basename "$deb") |
	sha256sum | cut -c1-16)
out=$cache/guests-$key
if [ -f "$out/done" ]; then
	echo "$out"
	exit 0
fi

tmp=$(mktemp -d "$cache/build.XXXXXX")
mnt=
cleanup() {
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then umount "$mnt" || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# --- kernel and initramfs ---
dpkg-deb -x "$deb" "$tmp/k"
kver=$(basename "$tmp"/k/boot/vmlinuz-*)
kver=${kver#vmlinuz-}
depmod -b "$tmp/k" "$kver"
mkdir -p "$tmp/initrd"/{bin,dev,proc,sys,newroot,lib/modules}
cp /bin/busybox "$tmp/initrd/bin/busybox"
cp "$here/init" "$tmp/initrd/init"
# The disk bus's driver (virtio-blk over virtio-pci) and efivarfs, in
# dependency order, each once.
modprobe -d "$tmp/k" -S "$kver" -a --show-depends virtio_blk virtio_pci efivarfs |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$tmp/modules"
while read -r ko; do
	cp "$ko" "$tmp/initrd/lib/modules/"
	basename "$ko" >>"$tmp/initrd/lib/modules/order"
done <"$tmp/modules"
# The console must exist before /init runs, or it has no output at all.
mknod -m 600 "$tmp/initrd/dev/console" c 5 1
(cd "$tmp/initrd" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) |
	gzip -9n >"$tmp/initrd.img"
cp "$tmp/k/boot/vmlinuz-$kver" "$tmp/vmlinuz"

# root FOLDER ARGS: a folder with the kernel and initramfs in /boot.
root() {
	mkdir -p "$1/boot"
	cp "$tmp/vmlinuz" "$tmp/initrd.img" "$1/boot/"
}

# --- BIOS: MBR, extlinux, ext4 ---
truncate -s 64M "$tmp/bios.img"
printf 'label: dos\nlabel-id: 0x58564131\nstart=2048, type=83, bootable\n' |
	sfdisk -q "$tmp/bios.img"
truncate -s 63M "$tmp/bios-root.img"
# extlinux 6.04 reads neither 64-bit ext4 nor metadata checksums.
mkfs.ext4 -q -F -L xvaroot -U 5856a131-0001-4000-8000-000000000001 \
	-O ^64bit,^metadata_csum "$tmp/bios-root.img"
mnt=$tmp/mnt
mkdir -p "$mnt"
mount -o loop "$tmp/bios-root.img" "$mnt"
root "$mnt"
mkdir -p "$mnt/boot/extlinux"
cat >"$mnt/boot/extlinux/extlinux.conf" <<'CFG'
SERIAL 0 115200
DEFAULT xvafs
PROMPT 0
TIMEOUT 0
LABEL xvafs
	LINUX /boot/vmlinuz
	INITRD /boot/initrd.img
	APPEND console=ttyS0 no_timer_check xvafs_guest=bios
CFG
extlinux --install "$mnt/boot/extlinux" 2>/dev/null
umount "$mnt"
mnt=
dd if="$tmp/bios-root.img" of="$tmp/bios.img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if=/usr/lib/EXTLINUX/mbr.bin of="$tmp/bios.img" bs=440 count=1 conv=notrunc status=none

# --- PV: MBR, ext4 with grub.cfg, no boot loader (pygrub reads it) ---
root "$tmp/pv-root"
mkdir -p "$tmp/pv-root/boot/grub"
cat >"$tmp/pv-root/boot/grub/grub.cfg" <<'CFG'
set default=0
set timeout=0
menuentry 'Debian GNU/Linux (xvafs PV test guest)' {
	linux /boot/vmlinuz root=LABEL=xvaroot ro console=hvc0 console=ttyS0 no_timer_check xvafs_guest=pv
	initrd /boot/initrd.img
}
CFG
truncate -s 64M "$tmp/pv.img"
printf 'label: dos\nlabel-id: 0x58564132\nstart=2048, type=83\n' | sfdisk -q "$tmp/pv.img"
truncate -s 63M "$tmp/pv-rootfs.img"
mkfs.ext4 -q -F -L xvaroot -U 5856a131-0002-4000-8000-000000000002 \
	-d "$tmp/pv-root" "$tmp/pv-rootfs.img"
dd if="$tmp/pv-rootfs.img" of="$tmp/pv.img" bs=1M seek=1 conv=notrunc,sparse status=none

# --- UEFI: GPT, ESP with \EFI\debian\grubx64.efi only, ext4 root ---
cat >"$tmp/grub-embedded.cfg" <<'CFG'
search --no-floppy --label --set=root xvaroot
linux /boot/vmlinuz console=ttyS0 no_timer_check xvafs_guest=uefi
initrd /boot/initrd.img
boot
CFG
grub-mkstandalone -O x86_64-efi -o "$tmp/grubx64.efi" --locales= --fonts= --themes= \
	--modules="part_gpt ext2 search search_label linux normal" \
	--install-modules="part_gpt ext2 search search_label linux normal boot" \
	"boot/grub/grub.cfg=$tmp/grub-embedded.cfg"
truncate -s 72M "$tmp/uefi.img"
sfdisk -q "$tmp/uefi.img" <<'PT'
label: gpt
label-id: 5856A131-0003-4000-8000-000000000003
start=2048, size=65536, type=U, uuid=5856A131-0003-4000-8000-0000000000E5, name="EFI system partition"
start=67584, size=77824, type=L, uuid=5856A131-0003-4000-8000-0000000000F5, name="root"
PT
truncate -s 32M "$tmp/esp.img"
mkfs.vfat -n ESP -i 58564131 "$tmp/esp.img" >/dev/null
mmd -i "$tmp/esp.img" ::/EFI ::/EFI/debian
mcopy -i "$tmp/esp.img" "$tmp/grubx64.efi" ::/EFI/debian/grubx64.efi
root "$tmp/uefi-root"
truncate -s 38M "$tmp/uefi-rootfs.img" # the partition: 77824 sectors
mkfs.ext4 -q -F -L xvaroot -U 5856a131-0003-4000-8000-0000000000f5 \
	-d "$tmp/uefi-root" "$tmp/uefi-rootfs.img"
dd if="$tmp/esp.img" of="$tmp/uefi.img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$tmp/uefi-rootfs.img" of="$tmp/uefi.img" bs=1M seek=33 conv=notrunc,sparse status=none
for v in 1 2; do
	python3 "$here/efivars.py" blob --version "$v" --disk "$tmp/uefi.img" --partition 1 \
		--loader '\EFI\debian\grubx64.efi' --keys-from "$keys" >"$tmp/uefi-nvram-v$v.b64"
done

mkdir "$tmp/out"
mv "$tmp"/{bios,uefi,pv}.img "$tmp"/uefi-nvram-v{1,2}.b64 "$tmp/vmlinuz" "$tmp/initrd.img" "$tmp/out/"
echo "$kver" >"$tmp/out/kernel-version"
touch "$tmp/out/done"
# Guests of an older script or kernel are not used again.
rm -rf "$cache"/guests-*
mv "$tmp/out" "$out"
echo "$out"
