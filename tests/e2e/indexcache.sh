#!/usr/bin/env bash
# The index cache through the command line: written on the first mount of a
# large export (0600 in a 0700 folder), used on the next, rebuilt when the
# export changes, ignored with a warning when damaged, and never written
# with -o noindexcache. Served bytes are the same either way.
. "$(dirname "$0")/lib.sh"

MNT=$WORK/mnt
CACHE=$XDG_CACHE_HOME/xvafs
head -c $((1500 * 512)) /dev/urandom >"$WORK/disk.img"
"$MKXVA" --chunk 512 "$WORK/big.xva" "$WORK/disk.img=Ref:1"   # 3,000 members

from_cache() {
	"$XVAFS" --list --json "$WORK/big.xva" 2>"$WORK/list.err" |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["index_from_cache"])'
}

note "first use writes the cache, the second uses it"
[ "$(from_cache)" = False ] || fail "a cache was used before one existed"
[ -s "$WORK/list.err" ] && { cat "$WORK/list.err"; fail "warnings on the first use"; }
[ "$(find "$CACHE" -name '*.idx' | wc -l)" = 1 ] || fail "no cache file in $CACHE"
[ "$(stat -c %a "$CACHE")" = 700 ] || fail "cache folder mode $(stat -c %a "$CACHE")"
[ "$(stat -c %a "$CACHE"/*.idx)" = 600 ] || fail "cache file mode"
[ "$(from_cache)" = True ] || fail "the cache was not used"

note "a damaged cache is ignored with a warning and rewritten"
idx=$(find "$CACHE" -name '*.idx')
printf 'X' | dd of="$idx" bs=1 seek=200 conv=notrunc status=none
[ "$(from_cache)" = False ] || fail "a damaged cache was used"
grep -q "ignoring index cache .*its checksum is wrong" "$WORK/list.err" || { cat "$WORK/list.err"; fail "no warning"; }
[ "$(from_cache)" = True ] || fail "the cache was not rewritten"

note "a changed export makes the cache stale"
touch -d '+1 hour' "$WORK/big.xva"
[ "$(from_cache)" = False ] || fail "a stale cache was used"
[ -s "$WORK/list.err" ] && { cat "$WORK/list.err"; fail "a stale cache is not worth a warning"; }

need_fuse
note "mounting from the cache serves the same bytes"
mount_xva "$WORK/big.xva" "$MNT"
cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "served from the cache, the disk differs"
unmount_xva "$MNT"

note "-o noindexcache neither reads nor writes it"
rm -rf "$CACHE"
mount_xva "$WORK/big.xva" "$MNT" -o noindexcache
cmp "$MNT/Ref:1" "$WORK/disk.img" || fail "disk differs"
unmount_xva "$MNT"
[ ! -e "$CACHE" ] || fail "-o noindexcache wrote a cache"
echo "PASS: the index cache is used, checked and rebuilt"
