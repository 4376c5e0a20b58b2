#!/bin/sh
# Makes the demo's export: a 64 MiB disk with an MBR partition and an ext4
# filesystem holding a few files, exported by the project's generator as a
# VM "demo-vm" with the disk at Ref:12. contrib/demo.sh shows it mounted;
# debian/tests/ mount it with the installed packages.
#
#   contrib/mkdemo.sh MKXVA DIR
#
# Leaves in DIR: disk.img (the exported disk), backup.xva (the export), and
# root/ (the files put into the guest filesystem, to compare with).
# No root needed: sfdisk and mkfs.ext4 write into a plain file.
set -eu
[ $# = 2 ] || { echo "usage: $0 MKXVA DIR" >&2; exit 1; }
mkxva=$1 dir=$2
mkdir -p "$dir/root/etc" "$dir/root/home/admin"
echo "demo-vm" >"$dir/root/etc/hostname"
echo "This file was written into the guest filesystem before export." >"$dir/root/home/admin/notes.txt"
head -c 5000000 /dev/urandom >"$dir/root/home/admin/data.bin"
rm -f "$dir/disk.img"
truncate -s 64M "$dir/disk.img"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$dir/disk.img"
# The partition starts at sector 2048 (byte 1048576) and fills the disk.
mkfs.ext4 -q -F -E offset=1048576 -d "$dir/root" "$dir/disk.img" 64512k
"$mkxva" --keepalive 4 --vm hvm-bios --vm-name demo-vm "$dir/backup.xva" "$dir/disk.img=Ref:12"
