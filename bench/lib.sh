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

is_fuse_mount() {
	awk -v m="$1" '$2 == m && $3 ~ /^fuse/ { f = 1 } END { exit !f }' /proc/self/mounts
}
# mounted MNT: waits until MNT is a FUSE mount.
mounted() {
	wait_until "$1 to mount" is_fuse_mount "$1"
}
