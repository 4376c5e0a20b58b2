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
[ "$rc" = 0 ] && [ ! -s "$WORK/vg.err" ] || { cat "$WORK/vg.err"; fail "the mount session under valgrind: status $rc"; }
echo "PASS: valgrind memcheck clean"
