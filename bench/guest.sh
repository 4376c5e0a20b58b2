#!/usr/bin/env bash
# What the guest view (partitions, LVM volumes, filesystems inside the
# disks) costs:
#   1. the scan a mount makes, timed apart from opening the export
#      (bench/guestscan), for an export of 3 disks (an MBR disk with five
#      filesystems in primary and logical partitions, a disk with an LVM
#      PV in a logical partition, a btrfs disk without a table): plain,
#      gzip, zstd, and the plain and gzip ones over HTTP from nginx;
#   2. a partition file read against its disk file over the same bytes
#      (256 MiB of random data in a GPT partition; dd, 1 MiB blocks, warm,
#      and cold when the page cache can be dropped), through one mount of
#      a plain export.
# Needs root (the fixtures' lvm2 runs on loop devices) and the tools of
# tests/e2e/guestfixtures.sh.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "bench/guest.sh: run as root" >&2; exit 1; }
RUNS=${RUNS:-9}
g=$work/guest
rm -rf "$g"
mkdir -p "$g/www" "$g/mnt"
LOOPS=()
SRV_DIR=$g/srv
mkdir -p "$SRV_DIR"
# shellcheck source=../tests/servers/lib.sh
source "$top/tests/servers/lib.sh"
done_() {
	srv_cleanup
	local l
	for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	mountpoint -q "$g/mnt" && fusermount3 -u "$g/mnt"
	return 0
}
trap done_ EXIT
# shellcheck source=../tests/e2e/guestfixtures.sh
source "$top/tests/e2e/guestfixtures.sh"
gf_partitions "$g" >/dev/null
gf_lvm "$g" 2>/dev/null
for l in "${LOOPS[@]}"; do losetup -d "$l"; done
LOOPS=()
"$build/tests/mkxva" "$g/www/vm.xva" "$g/mbr.img=Ref:10" "$g/lvm.img=Ref:11" "$g/btrfs.img=Ref:12"
gzip -c "$g/www/vm.xva" >"$g/www/vm.gz.xva"
zstd -q -3 -c <"$g/www/vm.xva" >"$g/www/vm.zst.xva"
nginx_start "$g/www" >/dev/null
url=http://127.0.0.1:$NGINX_PORT
machine

# median FIELD: the median of column FIELD of the lines on stdin.
median() { awk -v f="$1" '{ print $f }' | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "1. the scan at mount, 3 disks (median of $RUNS runs, after one to fill the index cache)"
printf '%-22s %12s %12s %s\n' export "open (s)" "scan (s)" found
for x in "$g/www/vm.xva" "$g/www/vm.gz.xva" "$g/www/vm.zst.xva" "$url/vm.xva" "$url/vm.gz.xva"; do
	"$build/bench/guestscan" -n 1 "$x" >/dev/null
	"$build/bench/guestscan" -n "$RUNS" "$x" >"$g/runs"
	case $x in http*) where="http ${x##*/}" ;; *) where=${x##*/} ;; esac
	printf '%-22s %12s %12s %s\n' "$where" "$(median 2 <"$g/runs")" \
		"$(median 4 <"$g/runs")" "$(tail -1 "$g/runs" | cut -d' ' -f5-)"
done

echo "2. a partition file against its disk file, the same 256 MiB (MB/s, median of $RUNS)"
truncate -s 300M "$g/speed.img"
printf 'label: gpt\nstart=34816, size=524288, type=linux\n' | sfdisk -q "$g/speed.img"
head -c $((256 * MIB)) /dev/urandom | dd of="$g/speed.img" bs=1M seek=17 conv=notrunc status=none
"$build/tests/mkxva" "$g/speed.xva" "$g/speed.img=Ref:13"
"$build/xvafs" "$g/speed.xva" "$g/mnt"
mounted "$g/mnt"
# read_mbs FILE SKIP_MIB: dd of 256 MiB, MB/s.
read_mbs() {
	local t
	t=$(now)
	dd if="$1" of=/dev/null bs=1M skip="$2" count=256 status=none
	mbs $((256 * MIB)) "$(elapsed "$t")"
	echo
}
for temp in warm cold; do
	[ "$temp" = cold ] && [ "$can_drop" != yes ] && continue
	for what in "disk Ref:13 17" "partition Ref:13p1 0"; do
		read -r name file skip <<<"$what"
		for ((i = 0; i < RUNS; i++)); do
			if [ "$temp" = cold ]; then
				drop_caches
			else
				dd if="$g/mnt/$file" of=/dev/null bs=1M skip="$skip" count=256 status=none
			fi
			read_mbs "$g/mnt/$file" "$skip"
		done | sort -n | awk -v t="$temp" -v n="$name" -v f="$file" \
			'{ a[NR] = $1 } END { printf "%-5s %-9s %-10s %6s MB/s (min %s, max %s)\n", t, n, f, a[int((NR + 1) / 2)], a[1], a[NR] }'
	done
done
fusermount3 -u "$g/mnt"
