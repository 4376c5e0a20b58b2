#!/usr/bin/env bash
# Benchmark: `xvafs --verify` against the physical reference, hashing the
# same .xva with xxhsum (XXH64) or sha1sum, measured in the same run, with
# a warm and a cold page cache. Prints the median and the best of RUNS runs
# (default 5) and the ratios reference time / xvafs time: 1.0 means as fast
# as just hashing the file. Cold reads on a virtual disk are noisy (the
# same command takes 0.56 s or 1.65 s here), hence both figures.
#
#   bench/verify.sh [SIZE_MIB]     (root for the cold runs; BUILD=dir)
. "$(dirname "$0")/lib.sh"
size_mib=${1:-2048}
command -v xxhsum >/dev/null || { echo "bench: needs xxhsum (Debian package xxhash)" >&2; exit 1; }

img=$work/verify-$size_mib.img
bench_image "$img" "$size_mib"

RUNS=${RUNS:-5}
CACHE=warm

one_run() { # wall time of one run, output discarded
	local s e
	[ "$CACHE" = cold ] && drop_caches
	[ "$CACHE" = warm ] && cat "$xva" >/dev/null
	s=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}

seconds() { # seconds COMMAND...: "MEDIAN BEST" of RUNS runs
	local times
	times=$(for ((r = 0; r < RUNS; r++)); do one_run "$@"; done | sort -n)
	echo "$(sed -n "$(((RUNS + 1) / 2))p" <<<"$times") $(head -1 <<<"$times")"
}

machine
for sum in xxhash sha1; do
	xva=$work/verify-$size_mib-$sum.xva
	[ -f "$xva" ] || "$build/tests/mkxva" --checksum "$sum" "$xva" "$img=Ref:1"
	ref=(xxhsum -H64 "$xva")
	[ "$sum" = sha1 ] && ref=(sha1sum "$xva")
	echo "== $sum: $(stat -c %s "$xva") byte export of a ${size_mib} MiB disk"
	for cache in warm cold; do
		if [ "$cache" = cold ] && [ "$can_drop" = no ]; then
			echo "   $cache: skipped (dropping the page cache needs root)"
			continue
		fi
		CACHE=$cache
		read -r ref_med ref_best < <(seconds "${ref[@]}")
		read -r x_med x_best < <(seconds "$build/xvafs" --verify "$xva")
		printf '   %s: %-8s median %5.2f s best %5.2f s | xvafs --verify median %5.2f s best %5.2f s | ratio median %.2f best %.2f\n' \
			"$cache" "${ref[0]}" "$ref_med" "$ref_best" "$x_med" "$x_best" \
			"$(echo "$ref_med / $x_med" | bc -l)" "$(echo "$ref_best / $x_best" | bc -l)"
	done
done
