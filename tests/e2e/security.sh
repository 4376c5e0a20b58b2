#!/usr/bin/env bash
# Who can read what, and what xvafs opens:
#   - the export is opened read-only, and nothing else is opened for
#     writing (strace);
#   - without allow_other only the mounting user reads the disks;
#   - with it, the modes (umask, uid, gid) decide, checked by the kernel;
#   - a user who is not root mounts with fusermount3, and allow_other is
#     refused to them without user_allow_other in /etc/fuse.conf.
. "$(dirname "$0")/lib.sh"
need_fuse
need_root
command -v strace >/dev/null || fail "strace is missing (Debian package strace)"
command -v useradd >/dev/null || skip "no useradd to make a test user"

USER_NAME=xvafs-test
created_user=
if ! id "$USER_NAME" >/dev/null 2>&1; then
	useradd -M -s /usr/sbin/nologin "$USER_NAME"
	created_user=1
fi
fuse_mode=$(stat -c %a /dev/fuse)
restore() {
	chmod "$fuse_mode" /dev/fuse
	[ -z "$created_user" ] || userdel "$USER_NAME" 2>/dev/null || true
	cleanup
}
trap restore EXIT

MNT=$WORK/mnt
chmod 755 "$WORK"
head -c 3000000 /dev/urandom >"$WORK/disk.img"
"$MKXVA" "$WORK/vm.xva" "$WORK/disk.img=Ref:1"
chmod 644 "$WORK/vm.xva" "$WORK/disk.img"
as_user() { runuser -u "$USER_NAME" -- "$@"; }
user_reads() { as_user head -c 1 "$1" >/dev/null 2>&1; }

note "the export is opened read-only; nothing is opened for writing"
mkdir -p "$MNT"
# LeakSanitizer (in the sanitized build) needs ptrace, which strace holds.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
strace -f -e trace=open,openat -o "$WORK/strace.txt" \
	"$XVAFS" -f -o noindexcache "$WORK/vm.xva" "$MNT" 2>"$WORK/daemon.err" &
tracer=$!
wait_until --pid "$tracer" "the mount under strace" is_mounted "$MNT" ||
	{ cat "$WORK/daemon.err"; fail "no mount under strace"; }
cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "disk differs"
dd if="$MNT/Ref:1" bs=4096 count=4 iflag=direct of=/dev/null status=none
fusermount3 -u "$MNT"
wait "$tracer" || fail "xvafs under strace exited with $?"
grep -q "vm.xva\", O_RDONLY" "$WORK/strace.txt" || fail "the export was not opened read-only"
bad=$(grep -E "O_WRONLY|O_RDWR|O_CREAT" "$WORK/strace.txt" | grep -v -e '"/dev/fuse"' -e '"/dev/null"' || true)
[ -z "$bad" ] || fail "opened for writing: $bad"

note "without allow_other, only the mounting user reads"
mount_xva "$WORK/vm.xva" "$MNT"
user_reads "$MNT/Ref:1" && fail "another user read a disk without allow_other"
unmount_xva "$MNT"

note "with allow_other, the modes decide"
mount_xva "$WORK/vm.xva" "$MNT" -o allow_other
[ "$(stat -c %a "$MNT/Ref:1")" = 444 ] || fail "default mode $(stat -c %a "$MNT/Ref:1")"
user_reads "$MNT/Ref:1" || fail "allow_other with mode 0444: another user cannot read"
unmount_xva "$MNT"
mount_xva "$WORK/vm.xva" "$MNT" -o allow_other,umask=077
[ "$(stat -c %a "$MNT/Ref:1")" = 400 ] || fail "umask=077 gives mode $(stat -c %a "$MNT/Ref:1")"
user_reads "$MNT/Ref:1" && fail "umask=077: another user read the disk"
head -c 1 "$MNT/Ref:1" >/dev/null || fail "umask=077: the owner cannot read"
unmount_xva "$MNT"
uid=$(id -u "$USER_NAME")
mount_xva "$WORK/vm.xva" "$MNT" -o allow_other,uid="$uid",gid=0,umask=0277
[ "$(stat -c '%u %g %a' "$MNT/Ref:1")" = "$uid 0 400" ] || fail "uid/gid/umask: $(stat -c '%u %g %a' "$MNT/Ref:1")"
user_reads "$MNT/Ref:1" || fail "uid=: the owner cannot read"
unmount_xva "$MNT"

note "a user who is not root mounts with fusermount3"
chmod 0666 /dev/fuse   # as on a stock system; restored at the end
UMNT=$WORK/usermnt
mkdir -p "$UMNT"
chown "$USER_NAME" "$UMNT"
as_user env XDG_CACHE_HOME="$UMNT.cache" "$XVAFS" "$WORK/vm.xva" "$UMNT" || fail "a user could not mount: status $?"
MOUNTS+=("$UMNT")
is_mounted "$UMNT" || fail "the user's mount is not there"
as_user cmp "$UMNT/Ref:1" "$WORK/disk.img" || fail "the user reads wrong bytes"
head -c 1 "$UMNT/Ref:1" >/dev/null 2>&1 && fail "root read a user's mount without allow_root"
as_user fusermount3 -u "$UMNT" || fail "the user could not unmount"
rc=0
as_user "$XVAFS" -o allow_other "$WORK/vm.xva" "$UMNT" 2>"$WORK/err" || rc=$?
[ "$rc" = 3 ] && grep -q "user_allow_other" "$WORK/err" ||
	{ cat "$WORK/err"; fail "allow_other for a user without user_allow_other: status $rc"; }
echo "PASS: read-only export, permissions as configured, user mounts"
