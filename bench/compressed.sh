#!/bin/bash
# Compressed sources: the gzip and zstd decoders (through the source API,
# bench/compressed_driver.c) against the standard decompressors and
# Debian's python3-indexed-gzip, on a realistic export compressed the way
# XAPI does (gzip -c and zstd -c from a pipe).
#
#   bench/compressed.sh [CHUNKS]     # default 2400 (a 2.34 GiB disk); RUNS=3
#
# Prints medians of RUNS runs and ratios (reference time / ours: above 1
# means faster than the reference). Needs gzip, pigz, zstd and
# python3-indexed-gzip; data (about 6 GB) in $BENCH_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
size=${1:-2400}
runs=${RUNS:-3}
drv=$build/bench/compressed_driver
py=/usr/bin/python3
for tool in gzip pigz zstd; do
	command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }
done
$py -c 'import indexed_gzip' 2>/dev/null ||
	{ echo "bench: needs python3-indexed-gzip" >&2; exit 1; }

img=$work/compressed-$size.img
xva=$work/compressed-$size.xva
cache=$work/compressed-cache
if [ ! -f "$xva" ]; then
	$py "$top/bench/compressed_image.py" "$img" "$size"
	"$build/tests/mkxva" "$xva" "$img"
	rm -f "$img"
fi
[ -f "$xva.gz" ] || gzip -c <"$xva" >"$xva.gz"
[ -f "$xva.zst" ] || zstd -q -c <"$xva" >"$xva.zst"

tsize=$(stat -c %s "$xva")
gib=$(echo "$tsize / 1073741824" | bc -l)
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p"; }
timeit() {
	local t
	t=$(now)
	"$@" >/dev/null
	elapsed "$t"
}
per_gib() { echo "$1 / $gib / 1048576" | bc -l | xargs printf '%.2f MiB'; }

machine
echo "export: $tsize bytes; gzip: $(stat -c %s "$xva.gz") bytes; zstd: $(stat -c %s "$xva.zst") bytes"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$xva.gz" "$xva.zst" >/dev/null # warm: every run reads from the page cache

# 1. The pass (open, read everything, finish, save the index) against
# decompressing to /dev/null.
declare -a zc pg zd gp zp gseq zseq
for ((r = 0; r < runs; r++)); do
	zc+=("$(timeit sh -c "zcat <'$xva.gz'")")
	pg+=("$(timeit sh -c "pigz -dc <'$xva.gz'")")
	zd+=("$(timeit sh -c "zstd -q -dc <'$xva.zst'")")
	rm -rf "$cache"
	gline=$("$drv" pass "$xva.gz" "$cache")
	gp+=("$(echo "$gline" | field pass_s)")
	zline=$("$drv" pass "$xva.zst" "$cache")
	zp+=("$(echo "$zline" | field pass_s)")
	gseq+=("$("$drv" seq "$xva.gz" "$cache" | field seq_s)")
	zseq+=("$("$drv" seq "$xva.zst" "$cache" | field seq_s)")
done
m_zc=$(printf '%s\n' "${zc[@]}" | median)
m_pg=$(printf '%s\n' "${pg[@]}" | median)
m_zd=$(printf '%s\n' "${zd[@]}" | median)
m_gp=$(printf '%s\n' "${gp[@]}" | median)
m_zp=$(printf '%s\n' "${zp[@]}" | median)
m_gseq=$(printf '%s\n' "${gseq[@]}" | median)
m_zseq=$(printf '%s\n' "${zseq[@]}" | median)
fast_gz=$(printf '%s\n' "$m_zc" "$m_pg" | sort -g | head -1)
echo
echo "== pass over the whole stream (open + read all + finish + save), median of $runs =="
printf '%-34s %8.2f s %6s MB/s\n' "zcat > /dev/null" "$m_zc" "$(mbs "$tsize" "$m_zc")"
printf '%-34s %8.2f s %6s MB/s\n' "pigz -dc > /dev/null" "$m_pg" "$(mbs "$tsize" "$m_pg")"
printf '%-34s %8.2f s %6s MB/s  ratio %s (vs fastest of zcat, pigz)\n' \
	"gzip source pass" "$m_gp" "$(mbs "$tsize" "$m_gp")" "$(ratio "$fast_gz" "$m_gp")"
printf '%-34s %8.2f s %6s MB/s\n' "zstd -dc > /dev/null" "$m_zd" "$(mbs "$tsize" "$m_zd")"
printf '%-34s %8.2f s %6s MB/s  ratio %s (vs zstd -dc)\n' \
	"zstd source pass (+ chunk cache)" "$m_zp" "$(mbs "$tsize" "$m_zp")" "$(ratio "$m_zd" "$m_zp")"
echo "gzip pass: $gline"
echo "zstd pass: $zline"

echo
echo "== sequential read of everything after the pass, median of $runs =="
printf '%-34s %8.2f s %6s MB/s  ratio %s (vs fastest gzip decompressor)\n' \
	"gzip source" "$m_gseq" "$(mbs "$tsize" "$m_gseq")" "$(ratio "$fast_gz" "$m_gseq")"
printf '%-34s %8.2f s %6s MB/s  ratio %s (vs zstd -dc)\n' \
	"zstd source" "$m_zseq" "$(mbs "$tsize" "$m_zseq")" "$(ratio "$m_zd" "$m_zseq")"

# 2. Random 4 KiB reads at uniformly random offsets, index loaded.
echo
echo "== random 4 KiB reads (index loaded from the cache folder) =="
declare -a gr zr
for ((r = 0; r < runs; r++)); do
	gr+=("$("$drv" random "$xva.gz" "$cache" 2000)")
	zr+=("$("$drv" random "$xva.zst" "$cache" 2000)")
done
for kind in gz zst; do
	if [ $kind = gz ]; then lines=("${gr[@]}"); else lines=("${zr[@]}"); fi
	med=$(printf '%s\n' "${lines[@]}" | field median_ms | median)
	p99=$(printf '%s\n' "${lines[@]}" | field p99_ms | median)
	rss=$(printf '%s\n' "${lines[@]}" | field maxrss_kb | median)
	printf '%-34s median %7.3f ms  p99 %7.3f ms  peak RSS %s MiB\n' \
		"$kind source, 2000 reads x $runs" "$med" "$p99" "$((rss / 1024))"
	[ $kind = gz ] && g_med=$med && g_p99=$p99
done
ig=$($py "$top/bench/compressed_igzip.py" "$xva.gz" $((4 * MIB)) 500)
ig_med=$(echo "$ig" | field median_ms)
ig_p99=$(echo "$ig" | field p99_ms)
printf '%-34s median %7.3f ms  p99 %7.3f ms  ratio %s / %s\n' \
	"indexed_gzip 1.7, spacing 4 MiB" "$ig_med" "$ig_p99" \
	"$(ratio "$ig_med" "$g_med")" "$(ratio "$ig_p99" "$g_p99")"
echo "indexed_gzip: $ig"
echo "2 threads, gzip: $("$drv" random "$xva.gz" "$cache" 1000 4096 2 | cut -d' ' -f1-9)"
echo "2 threads, zstd: $("$drv" random "$xva.zst" "$cache" 1000 4096 2 | cut -d' ' -f1-9)"

# 3. What the index and the cache take.
gzi=$(echo "$gline" | field index_bytes)
zsc=$(echo "$zline" | field index_bytes)
igi=$(echo "$ig" | field index_bytes)
echo
echo "== index and cache sizes =="
echo "gzip index (.gzi): $gzi bytes, $(per_gib "$gzi") per GiB of export; $(echo "$gline" | field points) points"
echo "indexed_gzip export_index: $igi bytes, $(per_gib "$igi") per GiB"
echo "zstd chunk cache (.zsc): $zsc bytes, $(per_gib "$zsc") per GiB ($(echo "$zsc * 100 / $tsize" | bc -l | xargs printf '%.1f') % of the export); $(echo "$zline" | field points) frames"
echo "peak RSS of the pass: gzip $(($(echo "$gline" | field maxrss_kb) / 1024)) MiB, zstd $(($(echo "$zline" | field maxrss_kb) / 1024)) MiB"

# 4. The gzip spacing: the pass, the index size and random reads.
echo
echo "== gzip access-point spacing (1 run, 1000 random reads each) =="
for s in 1 2 4 16; do
	d=$build/bench/compressed_driver_s$s
	[ $s = 4 ] && d=$drv
	rm -rf "$cache-s$s"
	pl=$("$d" pass "$xva.gz" "$cache-s$s")
	rl=$("$d" random "$xva.gz" "$cache-s$s" 1000)
	printf 'spacing %2s MiB: pass %6.2f s, %5s points, index %s per GiB, random median %7.3f ms, p99 %7.3f ms\n' \
		"$s" "$(echo "$pl" | field pass_s)" "$(echo "$pl" | field points)" \
		"$(per_gib "$(echo "$pl" | field index_bytes)")" \
		"$(echo "$rl" | field median_ms)" "$(echo "$rl" | field p99_ms)"
	rm -rf "$cache-s$s"
done
rm -rf "$cache"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
