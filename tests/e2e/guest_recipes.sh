#!/usr/bin/env bash
# The README's recipes for files inside the disks (Inside the disks), run
# as written, on fixtures made with the real tools (guestfixtures.sh):
#   - as an unprivileged user (nobody): mount the export, then fuse2fs -o
#     ro,norecovery on an ext4 LV, grub-mount on XFS (a logical partition)
#     and btrfs (a disk without a partition table), debugfs rdump, ntfscat;
#     root cannot read that mount (no allow_root);
#   - with -o allow_root (user_allow_other in /etc/fuse.conf for the
#     moment of the mount, then restored): root's mount -o
#     loop,ro,norecovery on the LV and (nouuid) on the XFS partition, and
#     ntfs-3g -o ro as nobody when ntfs-3g is setuid root (else as root).
# Every file read is compared with the file the fixture put there.
. "$(dirname "$0")/lib.sh"
# shellcheck source=guestfixtures.sh
. "$(dirname "$0")/guestfixtures.sh"
need_fuse
need_root
for t in sfdisk mkfs.xfs mkntfs ntfscp ntfscat mkfs.btrfs cryptsetup pvcreate \
	fuse2fs grub-mount debugfs ntfs-3g runuser; do
	command -v "$t" >/dev/null || fail "$t is missing (contrib/install-deps.sh)"
done
id nobody >/dev/null 2>&1 || skip "no user nobody"
losetup -f >/dev/null 2>&1 || skip "no free loop device"

FUSE_CONF=/etc/fuse.conf
fuse_conf_saved=
restore() {
	restore_fuse_conf
	cleanup
}
trap restore EXIT
# allow_root for a user needs user_allow_other, which fusermount3 reads
# when it mounts: set only around that mount, and put back as it was.
allow_other_for_users() {
	if [ -e "$FUSE_CONF" ]; then
		cp -p "$FUSE_CONF" "$WORK/fuse.conf.saved"
		fuse_conf_saved="file"
	else
		fuse_conf_saved="none"
	fi
	grep -q '^user_allow_other' "$FUSE_CONF" 2>/dev/null || echo user_allow_other >>"$FUSE_CONF"
}
restore_fuse_conf() {
	case $fuse_conf_saved in
	file) cp -p "$WORK/fuse.conf.saved" "$FUSE_CONF" ;;
	none) rm -f "$FUSE_CONF" ;;
	esac
	fuse_conf_saved=
}

F=$WORK/fix
mkdir -p "$F"
note "fixtures"
gf_partitions "$F"
gf_lvm "$F" 2> >(grep -v -e WARNING -e 'not zeroed' >&2)
C=$F/content
"$MKXVA" "$WORK/web01.xva" "$F/mbr.img=Ref:10" "$F/lvm.img=Ref:11" "$F/btrfs.img=Ref:12"
# nobody reads the export and the expected files, and owns its folders.
chmod 755 "$WORK" "$F"
chmod 644 "$WORK/web01.xva"
U=$WORK/nobody
mkdir -p "$U/xva" "$U/guest" "$U/out" "$U/cache"
chown -R nobody "$U"
as_nobody() { runuser -u nobody -- "$@"; }

# mount_as_nobody OPTIONS...: the export at $U/xva, served by nobody.
mount_as_nobody() {
	DAEMON_LOG=$WORK/daemon.$RANDOM.log
	as_nobody env XDG_CACHE_HOME="$U/cache" "$XVAFS" -f "$@" "$WORK/web01.xva" "$U/xva" \
		2>"$DAEMON_LOG" &
	DAEMON_PID=$!
	MOUNTS+=("$U/xva")
	wait_until --pid "$DAEMON_PID" "nobody's mount" is_mounted "$U/xva" || {
		cat "$DAEMON_LOG" >&2
		fail "xvafs as nobody exited before mounting"
	}
}

# same_files DIR: hello.txt, random.bin and sub/numbers.txt under DIR, read
# by nobody, are the fixture's.
same_files() {
	as_nobody cmp "$1/hello.txt" "$C/hello.txt" &&
		as_nobody cmp "$1/random.bin" "$C/random.bin" &&
		as_nobody cmp "$1/sub/numbers.txt" "$C/sub/numbers.txt"
}

# unmount_inner DIR: a FUSE filesystem nobody mounted inside the export.
unmount_inner() {
	as_nobody fusermount -u "$1" || fail "fusermount -u $1"
}

note "as nobody: mount the export, then fuse2fs -o ro,norecovery on an ext4 LV"
mount_as_nobody
MOUNTS+=("$U/guest")
as_nobody fuse2fs -o ro,norecovery "$U/xva/lvm/VolGroup00/LogVol00" "$U/guest" ||
	fail "fuse2fs as nobody: status $?"
same_files "$U/guest" || fail "fuse2fs: the LV's files differ"
unmount_inner "$U/guest"

note "as nobody: grub-mount on XFS in a logical partition, and on btrfs"
as_nobody grub-mount "$U/xva/by-device/xvda7" "$U/guest" || fail "grub-mount xfs: status $?"
same_files "$U/guest" || fail "grub-mount: the XFS partition's files differ"
unmount_inner "$U/guest"
as_nobody grub-mount "$U/xva/by-label/btrlabel" "$U/guest" || fail "grub-mount btrfs: status $?"
same_files "$U/guest" || fail "grub-mount: the btrfs disk's files differ"
unmount_inner "$U/guest"

note "as nobody: debugfs rdump, ntfscat (no FUSE)"
as_nobody debugfs -R "rdump /sub $U/out" "$U/xva/by-device/xvda1" 2>/dev/null ||
	fail "debugfs rdump: status $?"
diff -r "$U/out/sub" "$C/sub" || fail "debugfs rdump copied other files"
as_nobody ntfscat "$U/xva/by-label/WinData" random.bin | cmp - "$C/random.bin" ||
	fail "ntfscat: the NTFS partition's file differs"

note "root cannot read nobody's mount without allow_root"
if head -c 1 "$U/xva/Ref:11" >/dev/null 2>&1; then
	fail "root read a file of nobody's mount without allow_root"
fi
unmount_xva "$U/xva"

note "-o allow_root: root's mount -o loop,ro,norecovery (nouuid for XFS), ntfs-3g"
allow_other_for_users
mount_as_nobody -o allow_root
restore_fuse_conf
G=$WORK/guest
mkdir -p "$G"
MOUNTS+=("$G")
mount -o loop,ro,norecovery "$U/xva/lvm/VolGroup00/LogVol00" "$G" || fail "mount -o loop of the LV"
cmp "$G/random.bin" "$C/random.bin" || fail "the kernel's ext4 reads another random.bin from the LV"
cmp "$G/sub/numbers.txt" "$C/sub/numbers.txt" || fail "the kernel's ext4 reads another numbers.txt"
umount "$G"
mount -o loop,ro,norecovery,nouuid "$U/xva/by-device/xvda7" "$G" || fail "mount -o loop of the XFS partition"
cmp "$G/random.bin" "$C/random.bin" || fail "the kernel's XFS reads another file"
umount "$G"
# Debian asks whether ntfs-3g is setuid root (dpkg-reconfigure ntfs-3g):
# then a user mounts with it, and it opens the image as root.
if [ -u "$(command -v ntfs-3g)" ]; then
	as_nobody ntfs-3g -o ro "$U/xva/by-label/WinData" "$U/guest" || fail "ntfs-3g as nobody: status $?"
	as_nobody cmp "$U/guest/random.bin" "$C/random.bin" || fail "ntfs-3g: the NTFS file differs"
	unmount_inner "$U/guest"
else
	note "ntfs-3g is not setuid root here: run as root"
	ntfs-3g -o ro "$U/xva/by-label/WinData" "$G" || fail "ntfs-3g as root: status $?"
	cmp "$G/random.bin" "$C/random.bin" || fail "ntfs-3g: the NTFS file differs"
	fusermount3 -u "$G"
fi
unmount_xva "$U/xva"
echo "PASS: files inside the disks without root, and root's mounts with allow_root"
