#!/usr/bin/env bash
# Benchmark: sequential read of a disk through the mount against reading
# the .xva itself (cat), on an export of a SIZE_MIB disk with a third of
# its chunks left out; and, warm, against a minimal FUSE passthrough of
# the .xva (bench/passthrough.c: the FUSE ceiling on this kernel), both
# aligned and shifted by 512 bytes, as chunk data sits in a tar (every
# splice then starts 512 bytes into a page, which costs FUSE itself).
#
#   bench/seqread.sh [SIZE_MIB]            (root; BUILD=dir for the build)
#
# Ratios are throughputs in bytes delivered per second, xvafs / reference:
# - cold: page cache dropped before each read; the reference is cat of
#   the .xva (the disk is the limit);
# - warm: the .xva in the page cache, the mount freshly made (its own
#   cache empty); the references are the passthroughs, mounted the same
#   way (aligned: FUSE's ceiling; shifted: the ceiling for tar data);
# - re-read: the disk read a second time in the same mount (keep_cache),
#   against cat of the .xva warm.
# Each figure is the median of RUNS (default 3) runs.
. "$(dirname "$0")/lib.sh"
size_mib=${1:-2048}
RUNS=${RUNS:-3}
[ "$can_drop" = yes ] || { echo "bench: needs root to drop the page cache" >&2; exit 1; }

img=$work/seq-$size_mib.img
xva=$work/seq-$size_mib.xva
bench_image "$img" "$size_mib"
[ -f "$xva" ] || "$build/tests/mkxva" "$xva" "$img=Ref:1"
disk_bytes=$((size_mib * MIB))
xva_bytes=$(stat -c %s "$xva")
mnt=$work/mnt
mkdir -p "$mnt"

median() { sort -n | sed -n "$(((RUNS + 1) / 2))p"; }

# read_time FILE: seconds to read FILE with 1 MiB reads.
read_time() {
	local s
	s=$(now)
	dd if="$1" of=/dev/null bs=1M status=none
	elapsed "$s"
}

mount_xvafs() { # mount_xvafs [options]
	"$build/xvafs" "$@" -o noindexcache "$xva" "$mnt"
	mounted "$mnt"
}

# The passthrough gets the same readahead as the xvafs mount it is
# compared with, set the way xvafs sets it: the mount's bdi in sysfs.
mount_passthrough() { # mount_passthrough SHIFT [readahead_kb]
	"$build/bench/passthrough" "$xva" "$mnt" "$1" &
	mounted "$mnt"
	shift
	if [ -n "${1:-}" ]; then
		local dev
		dev=$(awk -v m="$mnt" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo)
		echo "$1" >"/sys/class/bdi/$dev/read_ahead_kb"
	fi
}

cold_cat() { for ((r = 0; r < RUNS; r++)); do drop_caches; read_time "$xva"; done | median; }
warm_cat() { drop_caches; cat "$xva" >/dev/null; for ((r = 0; r < RUNS; r++)); do read_time "$xva"; done | median; }

# fresh_read MOUNT_FUNCTION FILE [options]: mount, read once, unmount.
fresh_read() {
	local how=$1 file=$2 cold=$3
	shift 3
	for ((r = 0; r < RUNS; r++)); do
		# Warm runs also start from a dropped cache, then read the .xva
		# back in: every run finds the same free memory, else a run that
		# must reclaim pages for the mount's own cache loses.
		drop_caches
		[ "$cold" = cold ] || cat "$xva" >/dev/null
		"$how" "$@"
		read_time "$mnt/$file"
		fusermount3 -u "$mnt"
		sleep 0.2
	done | median
}

reread() { # reread [options]: second read in the same mount
	drop_caches
	mount_xvafs "$@"
	read_time "$mnt/Ref:1" >/dev/null
	for ((r = 0; r < RUNS; r++)); do read_time "$mnt/Ref:1"; done | median
	fusermount3 -u "$mnt"
}

machine
echo "export: $xva_bytes bytes of a $disk_bytes-byte disk, a third of its chunks left out"
t_cat_cold=$(cold_cat)
t_cat_warm=$(warm_cat)
echo "reference: cat .xva cold $(mbs "$xva_bytes" "$t_cat_cold") MB/s, warm $(mbs "$xva_bytes" "$t_cat_warm") MB/s"
for ra in "" 1024; do
	t_pt0=$(fresh_read mount_passthrough file warm 0 $ra)
	t_pt=$(fresh_read mount_passthrough file warm 512 $ra)
	echo "readahead ${ra:-128 (default)} KiB: passthrough warm: aligned $(mbs "$xva_bytes" "$t_pt0") MB/s, shifted 512 $(mbs "$xva_bytes" "$t_pt") MB/s"
	for splice in "" nosplice; do
		opts=$(echo "${ra:+readahead_kb=$ra},$splice" | sed 's/^,//; s/,$//')
		opts=${opts:+-o $opts}
		# shellcheck disable=SC2086
		t_cold=$(fresh_read mount_xvafs Ref:1 cold $opts)
		# shellcheck disable=SC2086
		t_warm=$(fresh_read mount_xvafs Ref:1 warm $opts)
		# shellcheck disable=SC2086
		t_re=$(reread $opts)
		printf '  xvafs %-30s cold %5s MB/s (%s of cat)   warm %5s MB/s (%s of aligned, %s of shifted passthrough)   re-read %5s MB/s (%s of cat warm)\n' \
			"${opts:-(defaults)}" \
			"$(mbs $disk_bytes "$t_cold")" "$(ratio "$(mbs $disk_bytes "$t_cold")" "$(mbs "$xva_bytes" "$t_cat_cold")")" \
			"$(mbs $disk_bytes "$t_warm")" "$(ratio "$(mbs $disk_bytes "$t_warm")" "$(mbs "$xva_bytes" "$t_pt0")")" \
			"$(ratio "$(mbs $disk_bytes "$t_warm")" "$(mbs "$xva_bytes" "$t_pt")")" \
			"$(mbs $disk_bytes "$t_re")" "$(ratio "$(mbs $disk_bytes "$t_re")" "$(mbs "$xva_bytes" "$t_cat_warm")")"
	done
done
