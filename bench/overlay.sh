#!/usr/bin/env bash
# Benchmark: writes through the overlay against the same writes to a plain
# file on the same file system, for each overlay block size:
#   - 4 KiB random writes (fio, psync, 4 jobs, fsync every 64 writes);
#   - 1 MiB sequential writes of the whole disk (dd conv=fsync: the time
#     includes making them durable).
# The overlay's first write to a block copies the block up from the
# export, so small random writes cost more with large blocks.
#
#   bench/overlay.sh [SIZE_MIB]            (root; BUILD=dir for the build)
#   MODES="random sequential", BLOCKS="4096 16384 65536": what to run
. "$(dirname "$0")/lib.sh"
size_mib=${1:-1024}
RUNTIME=${RUNTIME:-10}
command -v fio >/dev/null || { echo "bench: needs fio (Debian package fio)" >&2; exit 1; }

img=$work/ovl-$size_mib.img
xva=$work/ovl-$size_mib.xva
bench_image "$img" "$size_mib"
[ -f "$xva" ] || "$build/tests/mkxva" "$xva" "$img=Ref:1"
mnt=$work/mnt
mkdir -p "$mnt"

# write_rate FILE MODE: "IOPS" for random 4 KiB, "MB/s" for sequential.
# Every run starts with nothing left to write back from the one before
# (the plain file's run leaves gigabytes of dirty pages behind).
write_rate() {
	local file=$1 mode=$2
	sync
	[ "$can_drop" = yes ] && drop_caches
	if [ "$mode" = random ]; then
		fio --name=w --filename="${file//:/\\:}" --rw=randwrite --bs=4k \
			--ioengine=psync --numjobs=4 --fsync=64 --time_based \
			--runtime="$RUNTIME" --group_reporting --size="${size_mib}M" \
			--output-format=json --output="$work/fio.json" >/dev/null
		python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["write"]["iops"]))' "$work/fio.json"
	else
		local s
		s=$(now)
		dd if="$img" of="$file" bs=1M conv=notrunc,fsync status=none
		mbs $((size_mib * MIB)) "$(elapsed "$s")"
	fi
}

machine
echo "disk: $size_mib MiB; overlay and plain file in $work ($(df -T "$work" | awk 'NR == 2 { print $2 }'))"
for mode in ${MODES:-random sequential}; do
	rm -f "$work/plain.img"
	truncate -s "${size_mib}M" "$work/plain.img"
	plain=$(write_rate "$work/plain.img" $mode)
	unit=$([ $mode = random ] && echo IOPS || echo MB/s)
	echo "$mode: plain file $plain $unit"
	for block in ${BLOCKS:-4096 16384 65536}; do
		rm -rf "$work/overlay"
		"$build/xvafs" -o noindexcache,overlay="$work/overlay",overlay_block=$block "$xva" "$mnt"
		mounted "$mnt"
		got=$(write_rate "$mnt/Ref:1" $mode)
		fusermount3 -u "$mnt"
		printf '  overlay block %5d: %6s %s (%s of the plain file)\n' "$block" "$got" "$unit" "$(ratio "$got" "$plain")"
	done
done
rm -rf "$work/overlay" "$work/plain.img"
