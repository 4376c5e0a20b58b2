#!/usr/bin/env bash
# Through the kernel as users do: images with an MBR or a GPT partition
# table and an ext4 filesystem holding known files are exported, mounted
# with xvafs, then the partition is mounted read-only through
# `losetup -r -P` and through `mount -o ro,loop,offset=...`.
. "$(dirname "$0")/lib.sh"
need_fuse
need_root
command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4 (Debian package e2fsprogs)"
command -v sfdisk >/dev/null || skip "no sfdisk (Debian package fdisk)"
losetup -f >/dev/null 2>&1 || skip "no free loop device"

MNT=$WORK/mnt
FS=$WORK/fs
mkdir -p "$FS" "$WORK/root/etc" "$WORK/root/data/deep/er"
echo "hello from the guest" >"$WORK/root/etc/motd"
head -c 3000000 /dev/urandom >"$WORK/root/data/blob"
head -c 12345 /dev/urandom >"$WORK/root/data/deep/er/odd-size"
(cd "$WORK/root" && find . -type f -exec sha256sum {} + | sort -k2) >"$WORK/want.sha256"

check_files() {
	local got
	got=$(cd "$FS" && find . -type f ! -path './lost+found/*' -exec sha256sum {} + | sort -k2)
	[ "$got" = "$(cat "$WORK/want.sha256")" ] || fail "$1: the files in the guest filesystem differ"
}

# partition_offset DISK: the first partition's byte offset, the way the
# README tells users to find it.
partition_offset() {
	local start
	start=$(sfdisk -d "$1" | awk -F'[=,]' '/start=/ { gsub(/ /, "", $2); print $2; exit }')
	[ -n "$start" ] || fail "no partition found on $1"
	echo $((start * 512))
}

for label in dos gpt; do
	note "$label partition table"
	img=$WORK/$label.img
	truncate -s 64M "$img"
	printf 'label: %s\nstart=2048, size=120000, type=%s\n' "$label" \
		"$([ $label = gpt ] && echo linux || echo 83)" | sfdisk -q "$img"
	mkfs.ext4 -q -F -E offset=$((2048 * 512)) -d "$WORK/root" "$img" 60000k
	"$MKXVA" --keepalive 2 "$WORK/$label.xva" "$img=Ref:42"
	mount_xva "$WORK/$label.xva" "$MNT"
	cmp "$MNT/Ref:42" "$img" || fail "$label: served disk differs from the image"

	loop=$(losetup -r -P -f --show "$MNT/Ref:42")
	LOOPS+=("$loop")
	# Kernels without partition parsers (like CI's) need partx to create
	# the partition devices; users' kernels do it on -P.
	[ -b "${loop}p1" ] || partx -a "$loop"
	[ -b "${loop}p1" ] || fail "$label: no ${loop}p1 after losetup -P and partx -a"
	mount -o ro "${loop}p1" "$FS"
	MOUNTS+=("$FS")
	check_files "$label via losetup -P"
	umount "$FS"
	losetup -d "$loop"

	offset=$(partition_offset "$MNT/Ref:42")
	[ "$offset" = 1048576 ] || fail "$label: partition offset $offset"
	mount -o ro,loop,offset="$offset" "$MNT/Ref:42" "$FS"
	check_files "$label via mount -o loop,offset"
	umount "$FS"
	unmount_xva "$MNT"
done
echo "PASS: partitions and ext4 read through loop devices"
