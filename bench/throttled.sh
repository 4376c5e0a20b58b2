#!/usr/bin/env bash
# Benchmark: xvafs on a disk as slow as users' disks, against the same tool
# on the .xva itself, in the same run.
#
#   bench/throttled.sh [SIZE_MIB]        (root; BUILD=dir; RUNS=5;
#                                         LIMITS="200 500 1000" in MB/s;
#                                         IOPS=20000; PARTS="seq verify rand")
#
# The host caches this machine's disk (~3 GB/s "cold", faster than FUSE),
# so a slower disk is made: an ext4 image on a loop device with
# --direct-io=on (so the loop device reads the backing file without the
# page cache), holding the export, and the cgroup v1 blkio controller
# limits reads from that loop device (blkio.throttle.read_bps_device, and
# read_iops_device for the random part). Both the reference and xvafs
# (the daemon included) are started from a shell inside that cgroup, and
# the page cache is dropped before every run.
#
# seq:    cat of the disk through a fresh mount against cat of the .xva;
#         ratio = time of the reference / time of xvafs, min/median/max of
#         RUNS runs (each pair run back to back).
# verify: xvafs --verify against xxhsum -H64 of the .xva (the chunks are
#         .xxhash), same limits.
# rand:   fio 4 KiB random reads (psync, O_DIRECT, 8 jobs, 20 s) of the
#         disk through the mount against the same on the .xva, with an
#         IOPS limit and no bandwidth limit.
# (Writes through an overlay: bench/overlay.sh.)
. "$(dirname "$0")/lib.sh"
size_mib=${1:-2048}
RUNS=${RUNS:-5}
LIMITS=${LIMITS:-"200 500 1000"}
IOPS=${IOPS:-20000}
PARTS=${PARTS:-"seq verify rand"}
[ "$can_drop" = yes ] || { echo "bench: needs root to drop the page cache" >&2; exit 1; }

img=$work/seq-$size_mib.img
src_xva=$work/seq-$size_mib.xva
bench_image "$img" "$size_mib"
[ -f "$src_xva" ] || "$build/tests/mkxva" "$src_xva" "$img=Ref:1"
xva_bytes=$(stat -c %s "$src_xva")
# For random reads also an export with every chunk present, where no read
# of the disk is a hole's (holes cost no I/O at all).
full_img=$work/rand-1024-all.img
full_src=$work/rand-1024-all.xva
if [[ " $PARTS " == *" rand "* ]]; then
	bench_image "$full_img" 1024 all
	[ -f "$full_src" ] || "$build/tests/mkxva" "$full_src" "$full_img=Ref:1"
fi

# The slow disk (bench/lib.sh): ext4 on a direct-I/O loop device.
mnt=$work/mnt
mkdir -p "$mnt"
teardown() {
	mountpoint -q "$mnt" && fusermount3 -u "$mnt" 2>/dev/null
	slow_disk_stop
}
trap teardown EXIT
slow_disk_start "$xva_bytes"
cp "$src_xva" "$slow/vm.xva"
xva=$slow/vm.xva
[ -f "$full_src" ] && cp "$full_src" "$slow/full.xva"
limit() { slow_limit "$@"; } # limit BPS IOPS: 0 for none
timed() { local s; s=$(now); "$@" >/dev/null; elapsed "$s"; }
stats() { # min median max of the ratios on stdin
	sort -n | awk '{ v[NR] = $1 } END { printf "min %.2f median %.2f max %.2f", v[1], v[int((NR + 1) / 2)], v[NR] }'
}

mount_xvafs() {
	# shellcheck disable=SC2086
	in_cg "$build/xvafs" -o noindexcache ${XVAFS_OPTS:+-o $XVAFS_OPTS} "$@" "$xva" "$mnt"
	mounted "$mnt"
}

machine
echo "export: $xva_bytes bytes of a $((size_mib * MIB))-byte disk, a third of its chunks left out, on ext4 on a direct-I/O loop device"

for part in $PARTS; do
case $part in
seq)
	for mbps in $LIMITS; do
		limit $((mbps * 1000000)) 0
		ratios=()
		for ((r = 0; r < RUNS; r++)); do
			drop_caches
			t_ref=$(in_cg bash -c 's=$(date +%s.%N); cat "$0" >/dev/null; echo "$(date +%s.%N) - $s" | bc' "$xva")
			drop_caches
			mount_xvafs
			t_x=$(in_cg bash -c 's=$(date +%s.%N); cat "$0" >/dev/null; echo "$(date +%s.%N) - $s" | bc' "$mnt/Ref:1")
			fusermount3 -u "$mnt"
			ratios+=("$(ratio "$t_ref" "$t_x")")
			echo "  seq ${mbps} MB/s run $r: cat .xva $(printf '%.2f' "$t_ref") s, cat through xvafs $(printf '%.2f' "$t_x") s"
		done
		echo "seq at $mbps MB/s: ratio (cat .xva time / xvafs time) $(printf '%s\n' "${ratios[@]}" | stats)"
	done
	;;
verify)
	for mbps in $LIMITS; do
		limit $((mbps * 1000000)) 0
		ratios=()
		for ((r = 0; r < RUNS; r++)); do
			drop_caches
			t_ref=$(in_cg bash -c 's=$(date +%s.%N); xxhsum -H64 "$0" >/dev/null 2>&1; echo "$(date +%s.%N) - $s" | bc' "$xva")
			drop_caches
			t_x=$(in_cg bash -c 's=$(date +%s.%N); "$1" --verify --no-index-cache "$0" >/dev/null; echo "$(date +%s.%N) - $s" | bc' "$xva" "$build/xvafs")
			ratios+=("$(ratio "$t_ref" "$t_x")")
			echo "  verify ${mbps} MB/s run $r: xxhsum $(printf '%.2f' "$t_ref") s, xvafs --verify $(printf '%.2f' "$t_x") s"
		done
		echo "verify at $mbps MB/s: ratio (xxhsum time / xvafs time) $(printf '%s\n' "${ratios[@]}" | stats)"
	done
	;;
rand)
	limit 0 "$IOPS"
	fio_rand() { # fio_rand FILE SIZE
		# O_DIRECT on both: every read reaches the device (xvafs serves
		# O_DIRECT readers through an O_DIRECT descriptor), so the page
		# cache, which would soon hold the whole export, measures nothing.
		in_cg fio --name=rand --filename="${1//:/\\:}" --size="$2" --rw=randread --bs=4k \
			--ioengine=psync --direct=1 --numjobs=8 --time_based --runtime=20 \
			--group_reporting --output-format=terse --terse-version=3 | awk -F';' '{ print $8 }'
	}
	for which in vm full; do
		x=$slow/$which.xva
		[ -f "$x" ] || continue
		disk_mib=$([ $which = vm ] && echo "$size_mib" || echo 1024)
		drop_caches
		i_ref=$(fio_rand "$x" "$(stat -c %s "$x")")
		drop_caches
		in_cg "$build/xvafs" -o noindexcache "$x" "$mnt"
		mounted "$mnt"
		i_x=$(fio_rand "$mnt/Ref:1" $((disk_mib * MIB)))
		fusermount3 -u "$mnt"
		echo "rand 4 KiB O_DIRECT psync x8 at $IOPS IOPS, $([ $which = vm ] && echo "a third of the disk holes" || echo "every chunk present"): .xva $i_ref IOPS, xvafs $i_x IOPS: ratio $(ratio "$i_x" "$i_ref")"
	done
	;;
esac
done
