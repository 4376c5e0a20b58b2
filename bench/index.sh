#!/usr/bin/env bash
# Benchmark: mount time and memory against the number of members (10k,
# 100k, 1M; small synthetic chunks of 512 bytes with .xxhash members), with
# the index built by walking the headers (warm and cold page cache) and
# read from the index cache (warm and cold).
#
#   bench/index.sh                         (root; BUILD=dir for the build;
#                                           MEMBERS_K="10 100 1000", thousands)
. "$(dirname "$0")/lib.sh"
[ "$can_drop" = yes ] || { echo "bench: needs root to drop the page cache" >&2; exit 1; }
mnt=$work/mnt
mkdir -p "$mnt"

# mount_once XVA [options]: "SECONDS MAX_RSS_KIB" of a mount (xvafs returns
# once mounted; the index is built before it forks, so its peak RSS is
# the index's), then unmounts.
mount_once() {
	local xva=$1 out
	shift
	out=$( { /usr/bin/time -f '%e %M' "$build/xvafs" "$@" "$xva" "$mnt"; } 2>&1)
	fusermount3 -u "$mnt"
	echo "$out" | tail -1
}

machine
printf '%9s %14s | %-26s | %-26s | %-26s | %-26s\n' members "xva bytes" \
	"walk, warm (s, max RSS)" "walk, cold" "cache, warm" "cache, cold"
for k in ${MEMBERS_K:-10 100 1000}; do
	members=$((k * 1000))
	xva=$work/idx-$k.xva
	if [ ! -f "$xva" ]; then
		head -c $((members / 2 * 512)) /dev/urandom >"$work/idx-$k.img"
		"$build/tests/mkxva" --chunk 512 "$xva" "$work/idx-$k.img=Ref:1"
		rm -f "$work/idx-$k.img"
	fi
	rm -rf "$XDG_CACHE_HOME"
	cat "$xva" >/dev/null
	walk_warm=$(mount_once "$xva" -o noindexcache)
	drop_caches
	walk_cold=$(mount_once "$xva" -o noindexcache)
	mount_once "$xva" >/dev/null   # writes the cache
	cat "$xva" >/dev/null
	cache_warm=$(mount_once "$xva")
	drop_caches
	cache_cold=$(mount_once "$xva")
	fmt() { read -r t m <<<"$1"; printf '%6.2f s, %6.1f MiB' "$t" "$(echo "$m / 1024" | bc -l)"; }
	printf '%9d %14d | %-26s | %-26s | %-26s | %-26s\n' "$members" "$(stat -c %s "$xva")" \
		"$(fmt "$walk_warm")" "$(fmt "$walk_cold")" "$(fmt "$cache_warm")" "$(fmt "$cache_cold")"
done
