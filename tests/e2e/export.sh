#!/usr/bin/env bash
# --export-disk: a disk leaves xvafs as a file, a device or a stream, and
# no failure or interruption leaves a partial file where the output should
# be:
#   - by prefix, guest device or label; holes stay holes in a file;
#   - an existing output is replaced only with --force;
#   - a cut export: exit 4, no output, an existing one untouched;
#   - a full file system: exit 6, no output, no temporary file;
#   - interrupted: 130, nothing left;
#   - to standard output (-), and onto a block device whose old contents
#     (holes included) are overwritten;
#   - progress on a terminal.
. "$(dirname "$0")/lib.sh"
need_root

MIB=1048576
make_image "$WORK/disk.img" $((24 * MIB))
"$MKXVA" "$WORK/vm.xva" "$WORK/disk.img=Ref:7=root disk"
out=$WORK/out/disk.raw
mkdir -p "$WORK/out"

# export_ok DISK: exports by that name and compares.
export_ok() {
	rm -f "$out"
	"$XVAFS" --export-disk "$WORK/vm.xva" "$1" "$out" >"$WORK/stdout" 2>"$WORK/err" ||
		{ cat "$WORK/err"; fail "--export-disk $1: exit status $?"; }
	cmp "$out" "$WORK/disk.img" || fail "--export-disk $1: differs"
	grep -q "wrote disk Ref:7 (25165824 bytes, [0-9]* of them data) to $out" "$WORK/stdout" ||
		{ cat "$WORK/stdout"; fail "--export-disk $1: no report"; }
}
leftovers() { # no temporary file may be left beside the output
	! ls -A "$WORK/out" | grep -q '^\.tmp-' || fail "a temporary file was left: $(ls -A "$WORK/out")"
}

note "by prefix, guest device and label"
export_ok Ref:7
export_ok xvda
export_ok "root disk"
[ "$(stat -c %b "$out")" -lt $((12 * MIB / 512)) ] || fail "the holes were written"
[ "$(stat -c %a "$out")" = "$(printf '%o' $((0666 & ~$(umask))))" ] || fail "output mode $(stat -c %a "$out")"
leftovers
rc=0; "$XVAFS" --export-disk "$WORK/vm.xva" xvdz "$out" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "no disk xvdz in the export: name it by prefix, guest device or label" "$WORK/err" ||
	{ cat "$WORK/err"; fail "an unknown disk: exit status $rc"; }

note "an existing output needs --force"
echo keep >"$WORK/out/existing"
rc=0; "$XVAFS" --export-disk "$WORK/vm.xva" xvda "$WORK/out/existing" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "existing exists; give --force to replace it" "$WORK/err" || fail "overwrote without --force ($rc)"
[ "$(cat "$WORK/out/existing")" = keep ] || fail "the existing file changed"
"$XVAFS" --export-disk --force "$WORK/vm.xva" xvda "$WORK/out/existing" >/dev/null || fail "--force: $?"
cmp "$WORK/out/existing" "$WORK/disk.img" || fail "--force: differs"

note "a cut export: exit 4, nothing written"
head -c $(($(stat -c %s "$WORK/vm.xva") - 2 * MIB)) "$WORK/vm.xva" >"$WORK/cut.xva"
rc=0; "$XVAFS" --export-disk --force "$WORK/cut.xva" xvda "$out" 2>"$WORK/err" || rc=$?
[ "$rc" = 4 ] || { cat "$WORK/err"; fail "cut export: exit status $rc"; }
cmp "$out" "$WORK/disk.img" || fail "the existing output was touched"
rc=0; "$XVAFS" --export-disk "$WORK/cut.xva" xvda "$WORK/out/new.raw" 2>"$WORK/err" || rc=$?
[ "$rc" = 4 ] && [ ! -e "$WORK/out/new.raw" ] || fail "a cut export left an output ($rc)"
leftovers

note "a full file system: exit 6, nothing left"
mkdir -p "$WORK/small"
mount -t tmpfs -o size=4M tmpfs "$WORK/small"
MOUNTS+=("$WORK/small")
rc=0; "$XVAFS" --export-disk "$WORK/vm.xva" xvda "$WORK/small/disk.raw" 2>"$WORK/err" || rc=$?
[ "$rc" = 6 ] && grep -q "cannot write: No space left on device" "$WORK/err" ||
	{ cat "$WORK/err"; fail "full file system: exit status $rc"; }
[ -z "$(ls -A "$WORK/small")" ] || fail "left in the full file system: $(ls -A "$WORK/small")"
umount "$WORK/small"

note "interrupted: 130, nothing left"
head -c $((768 * MIB)) < <(yes xvafs) >"$WORK/big.img"
"$MKXVA" "$WORK/big.xva" "$WORK/big.img=Ref:1"
rm -f "$WORK/big.img"
tmp_big() { ls -A "$WORK/out" | grep -q '^\.tmp-big'; }
for attempt in 1 2 3; do
	"$XVAFS" --export-disk "$WORK/big.xva" Ref:1 "$WORK/out/big.raw" >/dev/null 2>"$WORK/err" &
	pid=$!
	# Until the export writes its temporary file (or has finished).
	wait_until --pid "$pid" "the export's temporary file" tmp_big || true
	kill -INT "$pid" 2>/dev/null || true
	rc=0; wait "$pid" || rc=$?
	[ "$rc" = 0 ] && { rm -f "$WORK/out/big.raw"; continue; } # finished first
	[ "$rc" = 130 ] && grep -q "interrupted; .*big.raw was not written" "$WORK/err" ||
		{ cat "$WORK/err"; fail "interrupted: exit status $rc"; }
	[ ! -e "$WORK/out/big.raw" ] || fail "an interrupted export left its output"
	leftovers
	break
done
[ "$rc" = 130 ] || fail "the export always finished before the interrupt"

note "to standard output"
"$XVAFS" --export-disk "$WORK/vm.xva" xvda - 2>"$WORK/err" | cmp - "$WORK/disk.img" ||
	{ cat "$WORK/err"; fail "to standard output: differs"; }
grep -q "wrote disk Ref:7 .* to standard output" "$WORK/err" || fail "standard output: no report on stderr"

note "onto a block device, its old contents overwritten"
head -c $((32 * MIB)) /dev/zero | tr '\0' '\377' >"$WORK/dev.img"
loop=$(losetup -f --show "$WORK/dev.img")
LOOPS+=("$loop")
rc=0; "$XVAFS" --export-disk "$WORK/vm.xva" xvda "$loop" 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "give --force to overwrite it" "$WORK/err" || fail "a device without --force ($rc)"
"$XVAFS" --export-disk --force "$WORK/vm.xva" xvda "$loop" >/dev/null 2>"$WORK/err" ||
	{ cat "$WORK/err"; fail "onto a device: $?"; }
cmp -n $((24 * MIB)) "$loop" "$WORK/disk.img" || fail "the device holds other bytes (holes not zeroed?)"
losetup -d "$loop"

note "progress on a terminal"
if command -v script >/dev/null; then
	script -qec "'$XVAFS' --export-disk --force '$WORK/vm.xva' xvda '$out'" /dev/null >"$WORK/tty" ||
		fail "--export-disk under a terminal: $?"
	grep -q "exporting: " "$WORK/tty" || fail "no progress on a terminal"
fi
echo "PASS: --export-disk writes whole outputs or none"
