#!/usr/bin/env bash
# Compressed exports mounted in place, as XAPI and Xen Orchestra write
# them: the whole tar through the real gzip (level 6) and zstd (level 3,
# from a pipe: one frame, no content size).
#   - export variants, every disk byte for byte (cmp, odd reads across
#     chunk and access-point boundaries, O_DIRECT), st_blocks; the GPT+ext4
#     disk through a loop device; --list, --verify, -o verify, an overlay,
#     --export-disk;
#   - the second mount uses the saved index (no pass); a damaged index is
#     rebuilt, never trusted;
#   - a cut stream is served up to its last intact byte; a corrupted byte
#     is named with its compressed and uncompressed offsets, and only the
#     chunks it spoils fail;
#   - Ctrl-C during the first pass leaves nothing a later mount trusts;
#     cache_max too small is a clear error;
#   - a zstd export whose disk data lies past 4 GiB of tar.
. "$(dirname "$0")/lib.sh"
need_fuse
need_root
command -v gzip >/dev/null && command -v zstd >/dev/null || skip "needs gzip and zstd"

MIB=1048576
MNT=$WORK/mnt
CACHE=$XDG_CACHE_HOME/xvafs
# compress KIND IN OUT: as XAPI does it.
compress() {
	case $1 in
	gzip) gzip -c <"$2" >"$3" ;;
	zstd) zstd -q -3 -c <"$2" >"$3" ;;
	esac
}

make_image "$WORK/main.img" $((13 * MIB + 12345))
make_image "$WORK/small.img" $((3 * MIB))
make_image "$WORK/tiny.img" 3000

note "export variants, gzip and zstd"
for v in "keep:--keepalive 2:main.img=Ref:12" "sha1:--checksum sha1:main.img=Ref:3" \
	 "ustar:--format ustar --checksum none:small.img=Ref:1" \
	 "several:--keepalive 3:main.img=Ref:10 small.img=Ref:2 tiny.img=Ref:000"; do
	IFS=: read -r name opts disks <<<"$v"
	specs=()
	for d in $disks; do specs+=("$WORK/$d"); done
	# shellcheck disable=SC2086
	"$MKXVA" $opts "$WORK/$name.xva" "${specs[@]}"
	for kind in gzip zstd; do
		compress $kind "$WORK/$name.xva" "$WORK/$name.$kind.xva"
		mount_xva "$WORK/$name.$kind.xva" "$MNT"
		for d in $disks; do
			check_disk "$MNT/${d#*=}" "$WORK/${d%%=*}" "$WORK/$name.xva" "${d#*=}"
		done
		unmount_xva "$MNT"
	done
done

note "GPT+ext4 through a loop device; the saved index; --list, --verify"
mkdir -p "$WORK/root/etc"
echo "inflated in place" >"$WORK/root/etc/motd"
head -c 3000000 /dev/urandom >"$WORK/root/blob"
truncate -s 40M "$WORK/gpt.img"
printf 'label: gpt\nstart=2048, size=73728, type=linux\n' | sfdisk -q "$WORK/gpt.img"
mkfs.ext4 -q -F -E offset=$((2048 * 512)) -d "$WORK/root" "$WORK/gpt.img" 36M
"$MKXVA" --keepalive 2 "$WORK/gpt.xva" "$WORK/gpt.img=Ref:1" "$WORK/small.img=Ref:2"
for kind in gzip zstd; do
	x=$WORK/gpt.$kind.xva
	compress $kind "$WORK/gpt.xva" "$x"
	rm -rf "$CACHE"
	mount_xva "$x" "$MNT"
	loop=$(losetup -r -P -f --show "$MNT/by-device/xvda")
	LOOPS+=("$loop")
	[ -b "${loop}p1" ] || partx -a "$loop"
	mkdir -p "$WORK/guest"
	mount -o ro "${loop}p1" "$WORK/guest"
	[ "$(cat "$WORK/guest/etc/motd")" = "inflated in place" ] && cmp "$WORK/guest/blob" "$WORK/root/blob" ||
		fail "$kind: the guest's files differ"
	umount "$WORK/guest"
	losetup -d "$loop"
	unmount_xva "$MNT"
	"$XVAFS" --list --json "$x" >"$WORK/list.json"
	python3 - "$WORK/list.json" "$kind" <<'PY' || { cat "$WORK/list.json"; fail "$kind: --list after a mount"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["compression"] == sys.argv[2] and d["index_from_cache"], d
assert d["cache_file"] and d["cache_bytes"] > 0 and d["tar_size"] > d["file_size"], d
PY
	"$XVAFS" --verify "$x" >"$WORK/out" || { cat "$WORK/out"; fail "$kind: --verify"; }
	grep -q "the export is intact" "$WORK/out" || fail "$kind: --verify says $(cat "$WORK/out")"
	note "$kind: $(grep -c . "$CACHE"/* | tr '\n' ' ')"
done

note "a damaged index is rebuilt, never trusted"
x=$WORK/gpt.gzip.xva
for f in "$CACHE"/*.gzi "$CACHE"/*.zsc; do
	[ -f "$f" ] && flip "$f" $(($(stat -c %s "$f") / 2))
done
for kind in gzip zstd; do
	mount_xva "$WORK/gpt.$kind.xva" "$MNT"
	cmp "$MNT/Ref:1" "$WORK/gpt.img" && cmp "$MNT/Ref:2" "$WORK/small.img" ||
		fail "$kind: wrong bytes from a damaged index or cache"
	unmount_xva "$MNT" "*"
done

note "-o verify, an overlay, --export-disk"
mount_xva "$WORK/gpt.zstd.xva" "$MNT" -o verify,overlay="$WORK/ovl"
printf 'written' | dd of="$MNT/Ref:2" bs=1 seek=5000 conv=notrunc,fsync status=none
cp "$WORK/small.img" "$WORK/small.model"
printf 'written' | dd of="$WORK/small.model" bs=1 seek=5000 conv=notrunc status=none
cmp "$MNT/Ref:2" "$WORK/small.model" || fail "a write through the overlay of a zstd export"
unmount_xva "$MNT"
"$XVAFS" --export-disk --overlay "$WORK/ovl" "$WORK/gpt.zstd.xva" xvdb "$WORK/out.raw" >/dev/null ||
	fail "--export-disk of a zstd export"
cmp "$WORK/out.raw" "$WORK/small.model" || fail "--export-disk of a zstd export differs"

note "a cut stream: served up to its last intact byte"
for kind in gzip zstd; do
	x=$WORK/gpt.$kind.xva
	head -c $(($(stat -c %s "$x") * 2 / 3)) "$x" >"$WORK/cut.$kind.xva"
	mount_xva "$WORK/cut.$kind.xva" "$MNT" -o noindexcache
	intact=$(sed -n 's/.*disk Ref:1 is intact up to byte \([0-9]*\) of.*/\1/p' "$DAEMON_LOG")
	[ -n "$intact" ] && [ "$intact" -gt 0 ] || { cat "$DAEMON_LOG"; fail "$kind: no intact part announced"; }
	# (The page that holds the cut is refused whole: a read of it asks for
	# bytes past the cut, and a short reply would read as the file's end.)
	cmp -n $((intact / 4096 * 4096)) "$MNT/Ref:1" "$WORK/gpt.img" || fail "$kind: the intact part differs"
	dd if="$MNT/Ref:1" bs=4096 skip=$((intact / 4096 + 1)) count=1 of=/dev/null status=none 2>/dev/null &&
		fail "$kind: a read past the cut was served"
	unmount_xva "$MNT" "cut short|truncated|intact up to"
	grep -q "$kind stream is cut short at compressed byte [0-9]* (uncompressed byte [0-9]*)" "$DAEMON_LOG" ||
		{ cat "$DAEMON_LOG"; fail "$kind: the cut is not named in both offsets"; }
done

note "a stream cut before its first tar byte says so, not 'empty'"
for kind in gzip zstd; do
	head -c 12 "$WORK/gpt.$kind.xva" >"$WORK/stub.$kind.xva"
	rc=0; "$XVAFS" --list --no-index-cache "$WORK/stub.$kind.xva" >/dev/null 2>"$WORK/err" || rc=$?
	[ "$rc" = 2 ] && grep -q "holds no data: .*$kind stream is cut short at compressed byte" "$WORK/err" ||
		{ cat "$WORK/err"; fail "$kind cut in its header: exit status $rc"; }
done

note "a corrupted byte: named by both offsets; the spoiled chunks fail, the rest are served"
for kind in gzip zstd; do
	x=$WORK/gpt.$kind.xva
	cp "$x" "$WORK/bad.$kind.xva"
	flip "$WORK/bad.$kind.xva" $(($(stat -c %s "$x") / 2))
	rc=0; "$XVAFS" --verify --no-index-cache "$WORK/bad.$kind.xva" >"$WORK/out" 2>&1 || rc=$?
	[ "$rc" = 4 ] || { cat "$WORK/out"; fail "$kind: --verify of a corrupted stream: $rc"; }
	grep -Eq "compressed byte [0-9]+.*uncompressed byte [0-9]+|fails its own checksum|checksum" "$WORK/out" ||
		{ cat "$WORK/out"; fail "$kind: the damage is not named"; }
	mount_xva "$WORK/bad.$kind.xva" "$MNT" -o noindexcache
	ok=0 bad=0
	for c in $(seq 0 39); do
		if cmp -s <(dd if="$MNT/Ref:1" bs=$MIB skip="$c" count=1 status=none 2>/dev/null) \
		       <(dd if="$WORK/gpt.img" bs=$MIB skip="$c" count=1 status=none); then
			ok=$((ok + 1))
		elif dd if="$MNT/Ref:1" bs=$MIB skip="$c" count=1 of=/dev/null status=none 2>/dev/null; then
			fail "$kind: chunk $c was served with wrong bytes"
		else
			bad=$((bad + 1))
		fi
	done
	[ "$ok" -gt 0 ] && [ "$bad" -gt 0 ] || fail "$kind: $ok good and $bad refused chunks"
	note "$kind: $ok chunks served, $bad refused"
	unmount_xva "$MNT" "*"
done

note "Ctrl-C during the first pass; cache_max too small"
head -c $((300 * MIB)) /dev/urandom >"$WORK/big.img"
"$MKXVA" "$WORK/big.xva" "$WORK/big.img=Ref:1"
rm -f "$WORK/big.img"
zstd -q -1 -c <"$WORK/big.xva" >"$WORK/big.zstd.xva"
rm -rf "$CACHE"
"$XVAFS" --list "$WORK/big.zstd.xva" >/dev/null 2>"$WORK/err" &
pid=$!
tmp_in_cache() { ls -A "$CACHE" 2>/dev/null | grep -q '^\.tmp-'; }
wait_until --pid "$pid" "the first pass to start writing its cache file" tmp_in_cache || {
	cat "$WORK/err"
	fail "xvafs --list finished before it wrote a cache file"
}
kill -INT "$pid"
rc=0; wait "$pid" || rc=$?
[ "$rc" = 130 ] || { cat "$WORK/err"; fail "Ctrl-C during the pass: exit status $rc"; }
[ -z "$(ls -A "$CACHE" 2>/dev/null | grep -v '^$')" ] || fail "left in the cache: $(ls -A "$CACHE")"
rc=0; "$XVAFS" --list -o cache_max=10M "$WORK/big.zstd.xva" >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "cache_max" "$WORK/err" || { cat "$WORK/err"; fail "cache_max: exit status $rc"; }
[ -z "$(ls -A "$CACHE" 2>/dev/null)" ] || fail "cache_max left: $(ls -A "$CACHE")"
rm -f "$WORK/big.xva" "$WORK/big.zstd.xva"

note "a zstd export with disk data past 4 GiB of tar"
truncate -s $((4200 * MIB)) "$WORK/huge.img"
head -c $MIB /dev/urandom | dd of="$WORK/huge.img" bs=$MIB seek=4190 conv=notrunc status=none
head -c $MIB /dev/urandom | dd of="$WORK/huge.img" bs=$MIB seek=10 conv=notrunc status=none
"$MKXVA" --all-chunks "$WORK/huge.xva" "$WORK/huge.img=Ref:1"
zstd -q -3 -c <"$WORK/huge.xva" >"$WORK/huge.zstd.xva"
rm -f "$WORK/huge.xva"
mount_xva "$WORK/huge.zstd.xva" "$MNT"
for c in 10 4190 4199; do
	cmp <(dd if="$MNT/Ref:1" bs=$MIB skip=$c count=1 status=none) \
	    <(dd if="$WORK/huge.img" bs=$MIB skip=$c count=1 status=none) || fail "past 4 GiB: chunk $c differs"
done
"$READCHECK" --reads 200 "$MNT/Ref:1" "$WORK/huge.img" || fail "past 4 GiB: odd reads differ"
unmount_xva "$MNT"
echo "PASS: compressed exports served, verified and refused as plain ones"
