#!/usr/bin/env bash
# Mount conventions: `mount -t fuse.xvafs` and an /etc/fstab line through
# the standard mount.fuse3 helper (which runs `xvafs SRC MNT -o OPTS` found
# on PATH, adding dev,suid), with the type and source shown by mount, df
# and findmnt; `umount` and `fusermount3 -u` both clean, the daemon gone.
# Also the bash completion. (The Debian packages: tests/package.sh.)
. "$(dirname "$0")/lib.sh"
need_fuse
need_root
command -v mount.fuse3 >/dev/null || command -v /sbin/mount.fuse3 >/dev/null ||
	fail "mount.fuse3 is missing (Debian package fuse3)"
top=$(cd "$(dirname "$0")/../.." && pwd)

# mount(8) runs helpers with a sanitized environment: xvafs must be in a
# system folder, not just on our PATH. A link for the test's duration.
link=/usr/local/sbin/xvafs
if [ -e "$link" ] || [ -L "$link" ]; then
	skip "$link exists already; not replacing an installed xvafs"
fi
mkdir -p /usr/local/sbin
ln -s "$XVAFS" "$link"
trap 'rm -f "$link"; cleanup' EXIT
# mount.fuse3 runs the first xvafs on PATH: it must be this link, not a
# packaged /usr/bin/xvafs (tests/package.sh installs one for a while).
[ "$(command -v xvafs)" = "$link" ] ||
	fail "xvafs on PATH is $(command -v xvafs || echo none), not $link: put /usr/local/sbin first in PATH"
MNT=$WORK/mnt
mkdir -p "$MNT"
head -c 3000000 /dev/urandom >"$WORK/disk.img"
"$MKXVA" "$WORK/vm.xva" "$WORK/disk.img=Ref:1"

daemon_gone() {
	no_daemon() { ! pgrep -f "xvafs $WORK/vm.xva" >/dev/null; }
	wait_until "the daemon to exit after $1" no_daemon
}

note "mount -t fuse.xvafs ... -o ro,allow_other, then umount"
mount -t fuse.xvafs "$WORK/vm.xva" "$MNT" -o ro,allow_other || fail "mount -t fuse.xvafs: status $?"
MOUNTS+=("$MNT")
[ "$(findmnt -n -o FSTYPE "$MNT")" = fuse.xvafs ] || fail "findmnt type: $(findmnt -n -o FSTYPE "$MNT")"
[ "$(findmnt -n -o SOURCE "$MNT")" = "$WORK/vm.xva" ] || fail "findmnt source: $(findmnt -n -o SOURCE "$MNT")"
findmnt -n -o OPTIONS "$MNT" | grep -q "^ro,.*allow_other" || fail "options: $(findmnt -n -o OPTIONS "$MNT")"
df "$MNT" | grep -q "^$WORK/vm.xva" || fail "df does not show the export"
cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "disk differs"
umount "$MNT" || fail "umount: status $?"
daemon_gone umount

note "umount of a foreground daemon: it exits 0"
mount_xva "$WORK/vm.xva" "$MNT"
umount "$MNT" || fail "umount: status $?"
rc=0; wait "$DAEMON_PID" || rc=$?
[ "$rc" = 0 ] || fail "after umount the daemon exited $rc"

note "an /etc/fstab line (mount -T), then fusermount3 -u"
printf '%s %s fuse.xvafs ro,allow_other,nofail 0 0\n' "$WORK/vm.xva" "$MNT" >"$WORK/fstab"
mount -T "$WORK/fstab" "$MNT" || fail "mount from fstab: status $?"
cmp "$MNT/by-device/xvda" "$WORK/disk.img" || fail "disk differs (fstab)"
fusermount3 -u "$MNT" || fail "fusermount3 -u"
daemon_gone "fusermount3 -u"

note "fstab's defaults (rw) without an overlay folder is refused, loudly"
printf '%s %s fuse.xvafs defaults 0 0\n' "$WORK/vm.xva" "$MNT" >"$WORK/fstab"
mount -T "$WORK/fstab" "$MNT" 2>"$WORK/err" && fail "defaults mounted without an overlay folder"
grep -q "fstab's \"defaults\" means rw" "$WORK/err" || { cat "$WORK/err"; fail "no explanation"; }
[ ! -e "$WORK/vm.xva.overlay" ] || fail "an overlay folder was created"

note "the systemd unit example"
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$WORK/unit"
	cp "$top/contrib/systemd/mnt-xva.mount" "$WORK/unit/"
	(cd "$WORK/unit" && timeout "$XVAFS_TEST_HANG_GUARD" systemd-analyze verify ./mnt-xva.mount) ||
		fail "systemd-analyze verify rejects contrib/systemd/mnt-xva.mount"
else
	echo "   (no systemd-analyze here: the unit is not verified)"
fi

note "bash completion"
if [ -f /usr/share/bash-completion/bash_completion ]; then
	out=$(bash -c ". /usr/share/bash-completion/bash_completion; . '$top/contrib/bash-completion/xvafs'
		COMP_WORDS=(xvafs -o all); COMP_CWORD=2; COMP_LINE='xvafs -o all'; COMP_POINT=\${#COMP_LINE}
		_xvafs; printf '%s\n' \"\${COMPREPLY[@]}\"")
	grep -qx allow_other <<<"$out" || fail "completion of -o all: '$out'"
	out=$(bash -c ". /usr/share/bash-completion/bash_completion; . '$top/contrib/bash-completion/xvafs'
		COMP_WORDS=(xvafs --ver); COMP_CWORD=1; COMP_LINE='xvafs --ver'; COMP_POINT=\${#COMP_LINE}
		_xvafs; printf '%s\n' \"\${COMPREPLY[@]}\"")
	grep -qx -- --verify <<<"$out" && grep -qx -- --version <<<"$out" || fail "completion of --ver: '$out'"
	# complete WORD...: what bash completion offers for the last word.
	complete_words() {
		local line="$*"
		PATH=$(dirname "$XVAFS"):$PATH bash -c ". /usr/share/bash-completion/bash_completion; . '$top/contrib/bash-completion/xvafs'
			COMP_WORDS=($(printf '%q ' "$@")); COMP_CWORD=$(($# - 1)); COMP_LINE='$line'; COMP_POINT=\${#COMP_LINE}
			_xvafs; printf '%s\n' \"\${COMPREPLY[@]}\""
	}
	out=$(complete_words xvafs -o uid=)
	[ -z "$out" ] || fail "completion of -o uid= offers '$out'"
	mkdir -p "$WORK/ovl-target"
	out=$(complete_words xvafs -o "ro,overlay=$WORK/ovl-t")
	grep -qx "ro,overlay=$WORK/ovl-target" <<<"$out" || fail "completion of overlay=: '$out'"
	out=$(complete_words xvafs --export-disk "$WORK/vm.xva" "")
	grep -qx Ref:1 <<<"$out" && grep -qx xvda <<<"$out" || fail "completion of a disk: '$out'"
	out=$(complete_words xvafs --vm-config l)
	grep -qx libvirt <<<"$out" || fail "completion of --vm-config's format: '$out'"
	mkdir -p "$WORK/vmc-target"
	out=$(complete_words xvafs --vm-config xl "$WORK/vm.xva" "$WORK/vmc-t")
	grep -qx "$WORK/vmc-target" <<<"$out" || fail "completion of --vm-config's mount point: '$out'"
else
	fail "bash-completion is missing (Debian package bash-completion)"
fi

echo "PASS: mount.fuse3, fstab, umount and completion"
