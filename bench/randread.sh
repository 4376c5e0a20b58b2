#!/usr/bin/env bash
# Benchmark: 4 KiB random reads with fio, cold page cache, through the
# mount against the same reads on the .xva file itself, on an export whose
# chunks are all present (so every read through the mount is real I/O).
#   - psync, 8 jobs;
#   - libaio, O_DIRECT, queue depth 32.
# Each run makes IOS reads (default 50,000, about a tenth of a 2 GiB
# disk's pages, so the page cache stays cold) after dropping the caches.
#
#   bench/randread.sh [SIZE_MIB]           (root; BUILD=dir for the build)
. "$(dirname "$0")/lib.sh"
size_mib=${1:-2048}
IOS=${IOS:-50000}
command -v fio >/dev/null || { echo "bench: needs fio (Debian package fio)" >&2; exit 1; }
[ "$can_drop" = yes ] || { echo "bench: needs root to drop the page cache" >&2; exit 1; }

img=$work/rand-$size_mib.img
xva=$work/rand-$size_mib.xva
bench_image "$img" "$size_mib" all
[ -f "$xva" ] || "$build/tests/mkxva" "$xva" "$img=Ref:1"
mnt=$work/mnt
mkdir -p "$mnt"

# iops FILE ENGINE_OPTIONS...: read IOPS of one fio run.
iops() {
	local file=$1
	shift
	drop_caches
	# fio splits --filename at ":" unless it is escaped (Ref:1).
	fio --name=rand --filename="${file//:/\\:}" --readonly --rw=randread --bs=4k \
		--group_reporting \
		--output-format=json --output="$work/fio.json" "$@" >/dev/null
	python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["read"]["iops"]))' "$work/fio.json"
}

machine
echo "export: $(stat -c %s "$xva") bytes, every chunk present; $IOS reads per run"
"$build/xvafs" -o noindexcache "$xva" "$mnt"
mounted "$mnt"
trap 'fusermount3 -u "$mnt"' EXIT
for mode in psync libaio; do
	if [ $mode = psync ]; then
		args=(--ioengine=psync --numjobs=8 --number_ios=$((IOS / 8)))
	else
		args=(--ioengine=libaio --direct=1 --iodepth=32 --numjobs=1 --number_ios="$IOS")
	fi
	ref=$(iops "$xva" "${args[@]}")
	got=$(iops "$mnt/Ref:1" "${args[@]}")
	printf '%-7s %-62s .xva %7s IOPS   xvafs %7s IOPS   ratio %s\n' "$mode" "${args[*]}" \
		"$ref" "$got" "$(ratio "$got" "$ref")"
done
