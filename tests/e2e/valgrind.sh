#!/usr/bin/env bash
# Valgrind memcheck on the index pass (--list, --verify, on exports with
# keep-alives, SHA-1 and a cut) and on a whole mount session (mount, reads
# through both paths, unmount): no error, no leak.
. "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || fail "valgrind is missing (Debian package valgrind)"
MIB=1048576
VG=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --track-fds=no)

head -c $((3 * MIB + 4000)) /dev/urandom >"$WORK/disk.img"
"$MKXVA" --keepalive 1 --with-cd "$WORK/a.xva" "$WORK/disk.img=Ref:1" "$WORK/disk.img=Ref:2=data"
"$MKXVA" --checksum sha1 --format gnu "$WORK/b.xva" "$WORK/disk.img=Ref:1"
head -c 2500000 "$WORK/a.xva" >"$WORK/cut.xva"

for xva in a b cut; do
	note "memcheck: --list and --verify of $xva.xva"
	"${VG[@]}" "$XVAFS" --list --json "$WORK/$xva.xva" >/dev/null 2>"$WORK/vg.err" ||
		{ cat "$WORK/vg.err"; fail "--list $xva.xva under valgrind: status $?"; }
	rc=0; "${VG[@]}" "$XVAFS" --verify "$WORK/$xva.xva" >/dev/null 2>"$WORK/vg.err" || rc=$?
	[ "$rc" = 0 ] || [ "$rc" = 4 ] || { cat "$WORK/vg.err"; fail "--verify $xva.xva under valgrind: status $rc"; }
done

need_fuse
note "memcheck: a mount session"
MNT=$WORK/mnt
mkdir -p "$MNT"
"${VG[@]}" "$XVAFS" -f -o noindexcache "$WORK/a.xva" "$MNT" 2>"$WORK/vg.err" &
vg=$!
wait_until --pid "$vg" "the mount under valgrind" is_mounted "$MNT" ||
	{ cat "$WORK/vg.err"; fail "no mount under valgrind"; }
cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "Ref:1 differs under valgrind"
"$READCHECK" --direct --reads 50 "$MNT/by-label/data" "$WORK/disk.img" || fail "O_DIRECT reads under valgrind"
ls -lR "$MNT" >/dev/null
"$SEEKMAP" "$MNT/Ref:2" >/dev/null
fusermount3 -u "$MNT"
rc=0; wait "$vg" || rc=$?
# Valgrind does not know cachestat(2) (syscall 451, which the prefetcher
# asks once, then stops asking): its own warning about that is not ours.
grep -v -e '^--[0-9]*-- WARNING: unhandled amd64-linux syscall: 451$' \
	-e '^--[0-9]*-- You may be able to write your own handler\.$' \
	-e '^--[0-9]*-- Read the file README_MISSING_SYSCALL_OR_IOCTL\.$' \
	-e '^--[0-9]*-- Nevertheless we consider this a bug\.  Please report$' \
	-e '^--[0-9]*-- it at http://valgrind.org/support/bug_reports.html\.$' \
	"$WORK/vg.err" >"$WORK/vg.ours" || true
[ "$rc" = 0 ] && [ ! -s "$WORK/vg.ours" ] || { cat "$WORK/vg.err"; fail "the mount session under valgrind: status $rc"; }
echo "PASS: valgrind memcheck clean"
