# Shared helpers for the benchmarks (sourced, bash).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${BUILD:-$top/build}" && pwd)
work=${BENCH_DIR:-/var/tmp/xvafs-bench}
mkdir -p "$work"
export XDG_CACHE_HOME=$work/cache
MIB=1048576
# shellcheck source=../tests/wait.sh
source "$top/tests/wait.sh"

can_drop=no
if [ "$(id -u)" = 0 ] && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
	can_drop=yes
fi

drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
}

now() { date +%s.%N; }
elapsed() { echo "$(now) - $1" | bc; }
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
mbs() { echo "$1 / $2 / 1000000" | bc -l | xargs printf '%.0f'; }

# bench_image FILE SIZE_MIB EVERY: a disk image whose chunk C is random
# unless C % 3 == 1 (left out of exports), or random throughout when
# EVERY is "all".
bench_image() {
	local file=$1 size_mib=$2 every=${3:-third}
	[ -f "$file" ] && return 0
	truncate -s "${size_mib}M" "$file.tmp"
	for ((c = 0; c < size_mib; c++)); do
		if [ "$every" = all ] || ((c % 3 != 1 || c == 0 || c == size_mib - 1)); then
			echo "$c"
		fi
	done | while read -r c; do
		head -c $MIB /dev/urandom | dd of="$file.tmp" bs=1M seek="$c" conv=notrunc status=none
	done
	mv "$file.tmp" "$file"
}

machine() {
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), libfuse $(pkg-config --modversion fuse3)"
}

# The slow disk (bench/throttled.sh, bench/all.sh). This machine's disk is
# cached by the host and faster than FUSE, which hides what users see on
# real disks; this makes one: an ext4 image on a loop device with
# --direct-io=on (the loop device reads its backing file without the page
# cache), and a cgroup v1 blkio group that limits reads from it. Commands
# run from a shell inside the group (in_cg), the daemon included.
#
# slow_disk_start BYTES: an empty file system of at least BYTES, mounted
# at $slow; sets slow, slow_loop, slow_dev (MAJ:MIN) and slow_cg. Needs
# root and the blkio controller. slow_disk_stop undoes exactly that.
slow=
slow_loop=
slow_dev=
slow_cg=
slow_disk_start() {
	[ -d /sys/fs/cgroup/blkio ] || { echo "bench: no cgroup v1 blkio controller" >&2; return 1; }
	slow=$work/slow-$$
	slow_cg=/sys/fs/cgroup/blkio/xvafs-bench-$$
	mkdir -p "$slow"
	truncate -s $((($1 + 1700 * MIB) / MIB))M "$slow.ext4"
	mkfs.ext4 -q -F "$slow.ext4"
	slow_loop=$(losetup --direct-io=on -f --show "$slow.ext4")
	mount "$slow_loop" "$slow"
	slow_dev=$(lsblk -dno MAJ:MIN "$slow_loop" | tr -d ' ')
	mkdir -p "$slow_cg"
}
slow_disk_stop() {
	[ -n "$slow" ] && mountpoint -q "$slow" && umount "$slow"
	[ -n "$slow_loop" ] && losetup -d "$slow_loop" 2>/dev/null
	if [ -n "$slow" ]; then
		rmdir "$slow" 2>/dev/null
		rm -f "$slow.ext4"
	fi
	[ -n "$slow_cg" ] && [ -d "$slow_cg" ] && rmdir "$slow_cg" 2>/dev/null
	slow='' slow_loop='' slow_cg=''
	return 0
}
# slow_limit BPS IOPS: the reads allowed from the slow disk (0: no limit).
slow_limit() {
	echo "$slow_dev $1" >"$slow_cg/blkio.throttle.read_bps_device"
	echo "$slow_dev $2" >"$slow_cg/blkio.throttle.read_iops_device"
}
# slow_reads: "BYTES REQUESTS" read from the slow disk by its group so far
# (blkio.throttle.io_service_bytes and io_serviced).
slow_reads() {
	local f
	for f in io_service_bytes io_serviced; do
		awk -v d="$slow_dev" '$1 == d && $2 == "Read" { n = $3 } END { printf "%d ", n }' \
			"$slow_cg/blkio.throttle.$f"
	done
	echo
}
# in_cg CMD...: runs CMD from a shell inside the slow disk's group.
in_cg() { bash -c 'echo $$ >"$0/cgroup.procs"; exec "$@"' "$slow_cg" "$@"; }

is_fuse_mount() {
	awk -v m="$1" '$2 == m && $3 ~ /^fuse/ { f = 1 } END { exit !f }' /proc/self/mounts
}
# mounted MNT: waits until MNT is a FUSE mount.
mounted() {
	wait_until "$1 to mount" is_fuse_mount "$1"
}
