#!/bin/sh
# Boots the VM of an export served by xvafs with qemu/KVM.
#   xvafs -o overlay=/srv/web01.overlay /srv/backups/web01.xva /mnt/xva
#   contrib/qemu/boot-web01.sh /mnt/xva
# cache=none opens the disks with O_DIRECT, which xvafs serves without
# filling the page cache twice. Without an overlay, add readonly=on.
set -eu
mnt=${1:-/mnt/xva}
exec qemu-system-x86_64 -enable-kvm -m 2048 -smp 2 \
	-drive file="$mnt/by-device/xvda",format=raw,if=virtio,cache=none,aio=native \
	-nic user,model=virtio-net-pci
