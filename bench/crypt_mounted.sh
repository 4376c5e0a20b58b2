#!/usr/bin/env bash
# Encrypted against plain, through the mount: one export of random data
# (every chunk present), mounted as it is and as a backup of a Xen
# Orchestra repository that Xen Orchestra's own handler encrypted
# (tests/servers/mkxorepo.mjs; ChaCha20-Poly1305, or ALG=aes-256-gcm).
# The encrypted backup is authenticated once before measuring (its first
# open's pass, remembered in the cache), as any second mount finds it.
#   random  fio, 4 KiB random reads, psync x8 and libaio O_DIRECT qd32
#   seq     dd of the whole disk, 1 MiB reads; the plain export also
#           mounted with -o nosplice, the copying reply path an encrypted
#           export must take (its bytes are made, not the file's pages)
# each cold (every page cache dropped) and warm (the .xva files' pages in
# the page cache, the mount's dropped: the decryption's cost is all there
# is to see). Runs alternate plain and encrypted; medians of RUNS.
#   slow    with LIMITS (MB/s, e.g. "200 500 1000"): dd of both disks
#           with both files on the slow disk of throttled.sh (lib.sh),
#           page cache dropped, daemons inside its cgroup: storage-bound
#           reads, min / median / max of the per-run ratios
#
#   bench/crypt_mounted.sh [SIZE_MIB]   (root; BUILD=dir; RUNS=3; IOS=50000;
#                                        LIMITS=""; PARTS="random seq")
. "$(dirname "$0")/lib.sh"
size_mib=${1:-1024}
runs=${RUNS:-3}
IOS=${IOS:-50000}
LIMITS=${LIMITS:-}
PARTS=${PARTS-"random seq"}
alg=${ALG:-chacha20-poly1305}
vm=6a1e0a4c-0000-4000-8000-00000000be4c
command -v fio >/dev/null || { echo "bench: needs fio (Debian package fio)" >&2; exit 1; }
[ "$can_drop" = yes ] || { echo "bench: needs root to drop the page cache" >&2; exit 1; }

img=$work/rand-$size_mib.img
xva=$work/rand-$size_mib.xva
repo=$work/crypt-repo-$alg-$size_mib
bench_image "$img" "$size_mib" all
[ -f "$xva" ] || "$build/tests/mkxva" "$xva" "$img=Ref:1"
printf 'bench-key-0123456789abcdefghijkl\n' >"$work/key"
if [ ! -d "$repo" ]; then
	legacy=()
	[ "$alg" = aes-256-gcm ] && legacy=(--legacy)
	node "$top/tests/servers/mkxorepo.mjs" --dir "$repo" --key-file "$work/key" \
		"${legacy[@]}" --vm "$vm:bench" --backup "2026-01-01T00:00:00Z:$xva" >/dev/null
fi
enc_xva=$repo/xo-vm-backups/$vm/20260101T000000Z.xva
plain_mnt=$work/mnt-plain
copy_mnt=$work/mnt-copy
enc_mnt=$work/mnt-crypt
mkdir -p "$plain_mnt" "$copy_mnt" "$enc_mnt"
# In the foreground, so that each daemon's CPU time can be read.
"$build/xvafs" -f -o noindexcache "$xva" "$plain_mnt" &
plain_pid=$!
mounted "$plain_mnt"
"$build/xvafs" -f -o noindexcache,nosplice "$xva" "$copy_mnt" &
copy_pid=$!
mounted "$copy_mnt"
"$build/xvafs" -f -o key_file="$work/key" "$repo" "$enc_mnt" &
enc_pid=$!
mounted "$enc_mnt"
trap 'fusermount3 -u "$plain_mnt"; fusermount3 -u "$copy_mnt"; fusermount3 -u "$enc_mnt"; wait' EXIT
plain_disk=$plain_mnt/Ref:1
copy_disk=$copy_mnt/Ref:1
enc_disk=$enc_mnt/bench/latest/Ref:1
t=$(now)
cmp "$plain_disk" "$enc_disk" || { echo "bench: the disks differ" >&2; exit 1; }
echo "first look into the encrypted backup (its pass, tag checked) and a cmp of both: $(printf '%.1f' "$(elapsed "$t")") s"

# prepare TEMP FILE: the caches as TEMP wants them before reading FILE.
prepare() {
	drop_caches
	[ "$1" = warm ] && cat "$2" >/dev/null
	return 0
}

# iops TEMP BACKING DISK ARGS...: IOPS of one fio run.
iops() {
	local temp=$1 backing=$2 disk=$3
	shift 3
	prepare "$temp" "$backing"
	fio --name=rand --filename="${disk//:/\\:}" --readonly --rw=randread --bs=4k \
		--group_reporting --output-format=json --output="$work/fio.json" "$@" >/dev/null
	python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["read"]["iops"]))' "$work/fio.json"
}

# cpu PID: the process's user + system time so far, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# seq TEMP BACKING DISK PID: MB/s of dd over the whole disk, and the
# daemon's CPU milliseconds for it (in CPU_MS).
seq_mbs() {
	local temp=$1 backing=$2 disk=$3 pid=$4 t c
	prepare "$temp" "$backing"
	c=$(cpu "$pid")
	t=$(now)
	dd if="$disk" of=/dev/null bs=1M status=none
	mbs "$(stat -c %s "$disk")" "$(elapsed "$t")"
	CPU_MS=$((($(cpu "$pid") - c) * 1000 / $(getconf CLK_TCK)))
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

machine
echo "export: $(stat -c %s "$xva") bytes, every chunk present; $alg; medians of $runs runs"
for temp in warm cold; do
	[[ " $PARTS " == *" random "* ]] && for mode in psync libaio; do
		if [ $mode = psync ]; then
			args=(--ioengine=psync --numjobs=8 --number_ios=$((IOS / 8)))
		else
			args=(--ioengine=libaio --direct=1 --iodepth=32 --numjobs=1 --number_ios="$IOS")
		fi
		p=() e=()
		for ((r = 0; r < runs; r++)); do
			p+=("$(iops "$temp" "$xva" "$plain_disk" "${args[@]}")")
			e+=("$(iops "$temp" "$enc_xva" "$enc_disk" "${args[@]}")")
		done
		pm=$(printf '%s\n' "${p[@]}" | median)
		em=$(printf '%s\n' "${e[@]}" | median)
		printf 'random 4 KiB %-4s %-6s plain %7s IOPS   encrypted %7s IOPS   encrypted/plain %s   (runs: %s / %s)\n' \
			"$temp" "$mode" "$pm" "$em" "$(ratio "$em" "$pm")" "${p[*]}" "${e[*]}"
	done
	[[ " $PARTS " == *" seq "* ]] || continue
	p=() e=() c=() pc=() ec=() cc=()
	for ((r = 0; r < runs; r++)); do
		seq_mbs "$temp" "$xva" "$plain_disk" "$plain_pid" >"$work/mbs"
		p+=("$(cat "$work/mbs")")
		pc+=("$CPU_MS")
		seq_mbs "$temp" "$xva" "$copy_disk" "$copy_pid" >"$work/mbs"
		c+=("$(cat "$work/mbs")")
		cc+=("$CPU_MS")
		seq_mbs "$temp" "$enc_xva" "$enc_disk" "$enc_pid" >"$work/mbs"
		e+=("$(cat "$work/mbs")")
		ec+=("$CPU_MS")
	done
	pm=$(printf '%s\n' "${p[@]}" | median)
	em=$(printf '%s\n' "${e[@]}" | median)
	printf 'sequential 1 MiB %-4s  plain %7s MB/s   encrypted %7s MB/s   encrypted/plain %s   (runs: %s / %s)\n' \
		"$temp" "$pm" "$em" "$(ratio "$em" "$pm")" "${p[*]}" "${e[*]}"
	cm=$(printf '%s\n' "${c[@]}" | median)
	printf 'sequential 1 MiB %-4s  plain, nosplice %7s MB/s   encrypted/that %s   (runs: %s)\n' \
		"$temp" "$cm" "$(ratio "$em" "$cm")" "${c[*]}"
	printf '    daemon CPU ms for the whole disk: plain %s   nosplice %s   encrypted %s\n' \
		"$(printf '%s\n' "${pc[@]}" | median)" "$(printf '%s\n' "${cc[@]}" | median)" \
		"$(printf '%s\n' "${ec[@]}" | median)"
done

[ -n "$LIMITS" ] || exit 0
# The slow disk: both files copied onto it, both daemons started inside its
# group (their reads are the throttled ones), the encrypted backup's pass
# already remembered in the cache (the same cache folder as above).
fusermount3 -u "$plain_mnt"
fusermount3 -u "$copy_mnt"
fusermount3 -u "$enc_mnt"
wait
trap 'mountpoint -q "$plain_mnt" && fusermount3 -u "$plain_mnt"; mountpoint -q "$enc_mnt" && fusermount3 -u "$enc_mnt"; wait; slow_disk_stop' EXIT
slow_disk_start $((2 * $(stat -c %s "$xva")))
cp "$xva" "$slow/plain.xva"
cp -r "$repo" "$slow/repo"
in_cg "$build/xvafs" -f -o noindexcache "$slow/plain.xva" "$plain_mnt" &
mounted "$plain_mnt"
in_cg "$build/xvafs" -f -o key_file="$work/key" "$slow/repo" "$enc_mnt" &
mounted "$enc_mnt"
cmp "$plain_disk" "$enc_disk" || { echo "bench: the disks differ" >&2; exit 1; }
slow_dd() {
	local t
	drop_caches
	t=$(in_cg bash -c 's=$(date +%s.%N); dd if="$0" of=/dev/null bs=1M status=none; echo "$(date +%s.%N) - $s" | bc' "$1")
	mbs "$(stat -c %s "$1")" "$t"
}
for mbps in $LIMITS; do
	slow_limit $((mbps * 1000000)) 0
	p=() e=() q=()
	for ((r = 0; r < runs; r++)); do
		p+=("$(slow_dd "$plain_disk")")
		e+=("$(slow_dd "$enc_disk")")
		q+=("$(ratio "${e[-1]}" "${p[-1]}")")
	done
	printf 'sequential 1 MiB at %4s MB/s  plain %s MB/s   encrypted %s MB/s   encrypted/plain min %s median %s max %s   (runs: %s / %s)\n' \
		"$mbps" "$(printf '%s\n' "${p[@]}" | median)" "$(printf '%s\n' "${e[@]}" | median)" \
		"$(printf '%s\n' "${q[@]}" | sort -g | head -1)" "$(printf '%s\n' "${q[@]}" | median)" \
		"$(printf '%s\n' "${q[@]}" | sort -g | tail -1)" "${p[*]}" "${e[*]}"
done
slow_limit 0 0
