#!/usr/bin/env bash
# Benchmark: time until a disk of an export can be read, from a cold page
# cache: xvafs (mount, then read the first MiB, where the partition table
# is) against what people do without it (tar -x, then concatenate the
# chunks into a raw image, then read its first MiB). Also the extra disk
# space each needs.
#
#   bench/usable.sh [SIZE_MIB]             (root; BUILD=dir for the build)
. "$(dirname "$0")/lib.sh"
size_mib=${1:-2048}
[ "$can_drop" = yes ] || { echo "bench: needs root to drop the page cache" >&2; exit 1; }

img=$work/seq-$size_mib.img
xva=$work/seq-$size_mib.xva
bench_image "$img" "$size_mib"
[ -f "$xva" ] || "$build/tests/mkxva" "$xva" "$img=Ref:1"
mnt=$work/mnt
untar=$work/untar
mkdir -p "$mnt"

machine
echo "export: $(stat -c %s "$xva") bytes of a $((size_mib * MIB))-byte disk, a third of its chunks left out"

drop_caches
s=$(now)
"$build/xvafs" -o noindexcache "$xva" "$mnt"
head -c $MIB "$mnt/Ref:1" >/dev/null
t_xvafs=$(elapsed "$s")
fusermount3 -u "$mnt"

rm -rf "$untar"
mkdir -p "$untar"
drop_caches
s=$(now)
tar -xf "$xva" -C "$untar"
# Chunk N at N MiB: right for this export, which has no keep-alives.
for chunk in "$untar"/Ref:1/*[0-9]; do
	n=$((10#$(basename "$chunk")))
	dd if="$chunk" of="$untar/disk.raw" bs=$MIB seek="$n" conv=notrunc,sparse status=none
done
truncate -s $((size_mib * MIB)) "$untar/disk.raw"
sync
head -c $MIB "$untar/disk.raw" >/dev/null
t_naive=$(elapsed "$s")
space=$(du -s --block-size=1 "$untar" | cut -f1)
cmp "$untar/disk.raw" "$img" || echo "bench: the concatenated image differs!" >&2
rm -rf "$untar"

printf 'xvafs mount + first MiB:            %7.2f s, extra disk space 0 (index cache off)\n' "$t_xvafs"
printf 'tar -x + concatenate + first MiB:   %7.2f s, extra disk space %d bytes\n' "$t_naive" "$space"
printf 'xvafs is usable %.0f times sooner\n' "$(echo "$t_naive / $t_xvafs" | bc -l)"
