#!/usr/bin/env bash
# bench/all.sh: every headline figure of xvafs, each against its
# reference measured in the same run, min / median / max of RUNS runs;
# the machine it ran on; the README's "How fast" table regenerated from
# it. With two builds (--before), both are measured in the same runs and
# printed side by side, with the ratio of one to the other.
#
#   bench/all.sh [--quick] [--runs N] [--before BUILD|REV] [--after BUILD|REV]
#                [--parts "PART..."] [--update-readme] [--readme FILE]
#                [--scripts "NAME..."|all]
#
# BUILD is a build folder (holding xvafs and tests/mkxva); REV is a git
# revision of this repository, built once into $BENCH_DIR/build-SHA.
# --after defaults to $BUILD, else build/. Run as root (page cache,
# loop devices, cgroups). Parts, all by default:
#   cached     cat of a disk through the mount against cat of the .xva,
#              the page cache dropped before each (the storage is whatever
#              holds $BENCH_DIR: here a host-cached virtual disk); also
#              with -o prefetch=0
#   throttled  the same on a slow disk (bench/lib.sh: a direct-I/O loop
#              device, reads limited by blkio) at each of LIMITS MB/s,
#              both sides inside the same cgroup
#   verify     xvafs --verify against xxhsum -H64 of the .xva, same limits
#   overlay    random 4 KiB writes, fio psync, 4 jobs, fsync every 64,
#              through an overlay against a plain file on the same file
#              system
#   zstd       first mount (xvafs --list, fresh cache folder) of a zstd
#              export against zstd -dc, on the realistic export
#              (bench/compressed_image.py) and on a small one of random
#              data; the second mount
#   gzip       the same for gzip against pigz -dc, realistic export
#   url        cat of a disk through a mount of its URL (nginx, HTTPS,
#              HTTP/2, behind tests/servers/delayproxy.py) against
#              curl -o /dev/null, at each round trip of BENCH_RTTS ms
# Sizes (full / --quick): DISK_MIB 2048 / 256 (a third of the chunks
# holes: a 1.43 GB export at 2048), ZSTD_MIB 2048 / 512 (realistic data:
# a 1.84 GB export at 2048), SMALL_MIB 256 / 128, OVERLAY_MIB 1024 / 256
# with RUNTIME 10 / 3 s, URL_MIB 1024 / 256, BENCH_RTTS "0 5 20" / "0",
# LIMITS "200 500 1000", RUNS 5 / 1. The environment overrides each.
#
# --scripts also runs these other scripts of bench/ (NAME.sh; all: every
# one), with each build in turn, and prints their outputs one after the
# other (each measures its own reference), so that no bench is left out
# of a before/after comparison; with --quick they get small sizes too.
# --parts "" runs only them.
#
# Where the goal is a ratio to a program that does not go through FUSE,
# a comparison is measured in the same runs (the report's last column),
# with bench/passthrough, a minimal FUSE passthrough of one file:
#   cached     the same disk as a sparse raw file through the passthrough,
#              already in the page cache: FUSE's own speed with no storage
#              (here often slower than xvafs reading cold: bench/README.md)
#   throttled  the raw disk through the passthrough, on the slow disk, the
#              same drops and cgroup: what FUSE with the kernel's own
#              readahead does at that speed
#   overlay    the same fio writes through bench/passthrough -w of a plain
#              file (direct I/O, parallel writes, one pwrite per write): a
#              ceiling for writes through FUSE
#   zstd       zstd -dc into a file beside the export, then sync: decoding
#              and storing the data, the work a first mount must do
#   url        a CPU bound: the cores' busy time during curl's run plus
#              during a cat of the raw disk through the passthrough (page
#              cache), spread over every core (or curl's time if longer)
#
# Results go to $BENCH_DIR/all.meta and all.tsv (bench/all_report.py
# prints the tables again from them); the scripts' outputs to
# $BENCH_DIR/script-NAME-BUILD.log.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
	exit "${1:-0}"
}

quick=no
update_readme=no
readme=$here/../README.md
readme_given=no
before=${XVAFS_BEFORE:-}
after=${XVAFS_AFTER:-${BUILD:-$here/../build}}
parts="cached throttled verify overlay zstd gzip url"
runs=
scripts=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=yes ;;
	--runs) runs=$2; shift ;;
	--before) before=$2; shift ;;
	--after) after=$2; shift ;;
	--parts) parts=$2; shift ;;
	--scripts) scripts=$2; shift ;;
	--update-readme) update_readme=yes ;;
	--readme) readme=$2; readme_given=yes; shift ;;
	-h | --help) usage 0 ;;
	*) echo "all.sh: unknown argument $1" >&2; usage 2 >&2 ;;
	esac
	shift
done
if [ $quick = yes ] && [ $update_readme = yes ] && [ $readme_given = no ]; then
	echo "all.sh: --quick figures (small sizes, one run) do not go into the README; give --readme FILE for another file" >&2
	exit 2
fi
all_parts=" cached throttled verify overlay zstd gzip url "
for p in $parts; do
	[[ $all_parts == *" $p "* ]] || { echo "all.sh: unknown part $p" >&2; exit 2; }
done
all_scripts="seqread randread usable index verify overlay throttled nbd compressed remote mounted"
[ "$scripts" = all ] && scripts=$all_scripts
for p in $scripts; do
	[[ " $all_scripts " == *" $p "* ]] || { echo "all.sh: no script bench/$p.sh to run" >&2; exit 2; }
done

if [ $quick = yes ]; then
	: "${RUNS:=1}" "${DISK_MIB:=256}" "${ZSTD_MIB:=512}" "${SMALL_MIB:=128}" \
		"${OVERLAY_MIB:=256}" "${RUNTIME:=3}" "${URL_MIB:=256}" "${BENCH_RTTS:=0}"
else
	: "${RUNS:=5}" "${DISK_MIB:=2048}" "${ZSTD_MIB:=2048}" "${SMALL_MIB:=256}" \
		"${OVERLAY_MIB:=1024}" "${RUNTIME:=10}" "${URL_MIB:=1024}" "${BENCH_RTTS:=0 5 20}"
fi
: "${LIMITS:=200 500 1000}"
RUNS=${runs:-$RUNS}

# build_rev REV: a build of revision REV of this repository, made once
# under $BENCH_DIR from `git archive` (no worktree is added); prints its
# folder.
build_rev() {
	local sha dir
	sha=$(git -C "$here/.." rev-parse --verify -q "$1^{commit}") || return 1
	dir=${BENCH_DIR:-/var/tmp/xvafs-bench}/build-${sha:0:12}
	if [ ! -x "$dir/build/xvafs" ]; then
		echo "all.sh: building $1 ($sha) in $dir" >&2
		rm -rf "$dir"
		mkdir -p "$dir/src"
		git -C "$here/.." archive "$sha" | tar -x -C "$dir/src"
		cmake -S "$dir/src" -B "$dir/build" >"$dir/build.log" 2>&1 &&
			cmake --build "$dir/build" -j"$(nproc)" >>"$dir/build.log" 2>&1 ||
			{ echo "all.sh: the build of $1 failed, see $dir/build.log" >&2; return 1; }
	fi
	echo "$dir/build"
}
# resolve SPEC: a build folder, as given or built from a revision.
resolve() {
	if [ -x "$1/xvafs" ]; then
		(cd "$1" && pwd)
	elif ! build_rev "$1"; then
		echo "all.sh: $1 is neither a build folder (with xvafs) nor a revision" >&2
		return 1
	fi
}
# what SPEC DIR: what a build is, for the log: the revision it was
# asked as, else the commit checked out where its folder lies (which may
# have changed since it was built).
what() {
	if [ -x "$1/xvafs" ]; then
		git -C "$2/.." log -1 --format='source tree at %h %s' 2>/dev/null | cut -c1-90 || echo "not in a git tree"
	else
		echo "revision $1, $(git -C "$here/.." log -1 --format='%h %s' "$1" | cut -c1-80)"
	fi
}
# commit_of SPEC DIR: the short commit a build was made from, for the
# README ("uncommitted changes" when its source tree has them).
commit_of() {
	if [ -x "$1/xvafs" ]; then
		local c
		c=$(git -C "$2/.." rev-parse --short HEAD 2>/dev/null) || { echo "an unknown commit"; return; }
		[ -z "$(git -C "$2/.." status --porcelain --untracked-files=no)" ] || c+=" with uncommitted changes"
		echo "$c"
	else
		git -C "$here/.." rev-parse --short "$1^{commit}"
	fi
}
declare -A bin label
dir=$(resolve "$after")
builds=(after)
bin[after]=$dir/xvafs
label[after]=$(what "$after" "$dir")
after_commit=$(commit_of "$after" "$dir")
after=$dir
if [ -n "$before" ]; then
	dir=$(resolve "$before")
	builds=(before after)
	bin[before]=$dir/xvafs
	label[before]=$(what "$before" "$dir")
fi

BUILD=$after
# shellcheck source=lib.sh
source "$here/lib.sh"
[ "$can_drop" = yes ] || { echo "all.sh: needs root (page cache, mounts, loop devices, cgroups)" >&2; exit 1; }
for tool in fio zstd pigz xxhsum curl nginx bc python3; do
	command -v $tool >/dev/null || { echo "all.sh: needs $tool (contrib/install-deps.sh)" >&2; exit 1; }
done
mnt=$work/all-mnt
mkdir -p "$mnt"
meta=$work/all.meta
results=$work/all.tsv
if [ -n "$parts" ]; then # a run of --scripts alone keeps the last results
	: >"$meta"
	: >"$results"
fi
srv_started=no

cleanup() {
	if is_fuse_mount "$mnt"; then fusermount3 -u "$mnt" || true; fi
	slow_disk_stop
	if [ $srv_started = yes ]; then
		srv_cleanup
		rm -rf "$SRV_DIR"
	fi
}
trap cleanup EXIT

# --- recording -------------------------------------------------------------

# describe ID KIND WHAT REFERENCE GOAL [CEILING]: a measure (see
# all_report.py).
describe() { local IFS=$'\t'; echo "$*" >>"$meta"; }
# note ID WHO RUN VALUE: one measurement, recorded and shown.
note() {
	printf '%s\t%s\t%s\t%s\n' "$@" >>"$results"
	local v=$4
	[[ $v == *.* ]] && v=$(printf '%.3f' "$v") # seconds; IOPS are whole
	printf '  %-14s run %d  %-6s %s\n' "$1" "$3" "$2" "$v"
}
# in_order RUN: the builds, in an order that alternates from run to run
# (neither is always the one that runs right after the reference).
in_order() {
	if ((${#builds[@]} == 2 && $1 % 2 == 1)); then
		echo "${builds[1]} ${builds[0]}"
	else
		echo "${builds[*]}"
	fi
}
# timeit CMD...: seconds CMD takes (output discarded), or "fail".
timeit() {
	local s
	s=$(now)
	if "$@" >/dev/null 2>"$work/all-err"; then
		elapsed "$s"
	else
		echo "all.sh: failed: $*: $(head -c 300 "$work/all-err")" >&2
		echo fail
	fi
}
# cg_timeit CMD...: the same, the command (and only it) timed inside the
# slow disk's cgroup.
cg_timeit() {
	in_cg bash -c 's=$(date +%s.%N); "$@" >/dev/null 2>&1 || { echo fail; exit 0; }
		echo "$(date +%s.%N) - $s" | bc' timed "$@"
}
# mount_cat WHO XVA [OPTION...]: mounts XVA with build WHO, times cat of
# its disk, unmounts. With CG=yes, all of it inside the slow disk's group.
mount_cat() {
	local who=$1 xva=$2 t
	shift 2
	local run=()
	[ "${CG:-no}" = yes ] && run=(in_cg)
	if ! "${run[@]}" "${bin[$who]}" -o noindexcache "$@" "$xva" "$mnt" 2>"$work/all-err" ||
		! mounted "$mnt"; then
		echo "all.sh: $who could not mount $xva: $(head -c 300 "$work/all-err")" >&2
		echo fail
		return
	fi
	if [ "${CG:-no}" = yes ]; then
		t=$(cg_timeit cat "$mnt/Ref:1")
	else
		t=$(timeit cat "$mnt/Ref:1")
	fi
	fusermount3 -u "$mnt"
	echo "$t"
}
gb() { echo "$1 / 1000000000" | bc -l | xargs printf '%.2f GB'; }
disk_size() { (($1 % 1024 == 0)) && echo "$(($1 / 1024)) GiB" || echo "$1 MiB"; }

# The comparisons' FUSE passthrough, from the last build (bench/passthrough.c).
passthrough=$(dirname "${bin[${builds[-1]}]}")/bench/passthrough
[ -x "$passthrough" ] || { echo "all.sh: no $passthrough: build the bench folder's targets" >&2; exit 1; }
# passthrough_start [-w] FILE: FILE served at $mnt/file by the passthrough
# (inside the slow disk's group with CG=yes), its pid in pt_pid; false,
# with the reason on stderr and nothing left running, if it did not mount.
pt_pid=
passthrough_start() {
	local run=()
	[ "${CG:-no}" = yes ] && run=(in_cg)
	"${run[@]}" "$passthrough" "$@" "$mnt" >/dev/null 2>"$work/all-err" &
	pt_pid=$!
	wait_until --pid $pt_pid "the passthrough to mount" is_fuse_mount "$mnt" && return 0
	echo "all.sh: $passthrough $* did not mount: $(head -c 300 "$work/all-err")" >&2
	kill $pt_pid 2>/dev/null || true
	wait $pt_pid 2>/dev/null || true
	return 1
}
passthrough_stop() {
	fusermount3 -u "$mnt"
	wait $pt_pid || true
}
# passthrough_cat FILE: seconds of a cat of FILE through the passthrough,
# or "fail". With CG=yes, all of it inside the slow disk's group.
passthrough_cat() {
	local t
	passthrough_start "$1" || { echo fail; return; }
	if [ "${CG:-no}" = yes ]; then
		t=$(cg_timeit cat "$mnt/file")
	else
		t=$(timeit cat "$mnt/file")
	fi
	passthrough_stop
	echo "$t"
}

# cpu_busy: seconds of CPU time every core has spent busy since boot.
cpu_busy() {
	awk '/^cpu / { printf "%.3f\n", ($2 + $3 + $4 + $7 + $8 + $9) / '"$(getconf CLK_TCK)"' }' /proc/stat
}
# cpu_bound T B0 B1 B2 B3: the least time two pieces of work can take on
# this machine's cores: the busy time B0..B1 and B2..B3 spread over every
# core, or T (the first piece's own time) if longer.
cpu_bound() {
	[ "$1" != fail ] || { echo fail; return; }
	echo "b = ($3 - $2 + $5 - $4) / $(nproc); if (b > $1) b else $1" | bc -l
}

# --- data --------------------------------------------------------------------

# seq_export MIB: the export of a MIB disk of random data, a third of its
# chunks holes (bench_image), shared with the other scripts.
seq_export() {
	bench_image "$work/seq-$1.img" "$1"
	[ -f "$work/seq-$1.xva" ] || "$build/tests/mkxva" "$work/seq-$1.xva" "$work/seq-$1.img=Ref:1"
	echo "$work/seq-$1.xva"
}
# realistic_export MIB: the export of bench/compressed_image.py's disk
# (shared with bench/mounted.sh), and its .gz and .zst (zstd -3).
realistic_export() {
	local xva=$work/mounted-$1.xva
	if [ ! -f "$xva" ]; then
		python3 "$here/compressed_image.py" "$work/mounted-$1.img" "$1"
		"$build/tests/mkxva" "$xva" "$work/mounted-$1.img=Ref:1"
		rm -f "$work/mounted-$1.img"
	fi
	echo "$xva"
}
compressed() { # compressed XVA gz|zst: XVA compressed as XAPI does, once
	if [ ! -f "$1.$2" ]; then
		if [ "$2" = gz ]; then gzip -c <"$1" >"$1.$2.tmp"; else zstd -q -3 -c <"$1" >"$1.$2.tmp"; fi
		mv "$1.$2.tmp" "$1.$2"
	fi
	echo "$1.$2"
}

# --- parts -------------------------------------------------------------------

part_cached() {
	local xva desc r who t
	xva=$(seq_export "$DISK_MIB")
	desc="$(disk_size "$DISK_MIB") disk, a third holes, $(gb "$(stat -c %s "$xva")") \`.xva\`"
	describe cached time "\`cat\` through the mount, unthrottled, page cache dropped ($desc)" "\`cat\` of the \`.xva\`" ">= 0.5" "FUSE passthrough of the raw disk, in the page cache"
	describe cached-p0 time "the same, \`-o prefetch=0\`" "\`cat\` of the \`.xva\`" "defaults never slower"
	echo "== cached: $desc, in $work"
	for ((r = 0; r < RUNS; r++)); do
		drop_caches
		t=$(timeit cat "$xva")
		note cached ref "$r" "$t"
		note cached-p0 ref "$r" "$t"
		cat "$work/seq-$DISK_MIB.img" >/dev/null
		note cached ceiling "$r" "$(passthrough_cat "$work/seq-$DISK_MIB.img")"
		for who in $(in_order "$r"); do
			drop_caches
			note cached "$who" "$r" "$(mount_cat "$who" "$xva")"
			drop_caches
			note cached-p0 "$who" "$r" "$(mount_cat "$who" "$xva" -o prefetch=0)"
		done
	done
}

# The slow disk, made once for the parts that use it.
slow_export=
slow_raw=
slow_up() {
	[ -n "$slow_export" ] && return 0
	local src raw=$work/seq-$DISK_MIB.img
	src=$(seq_export "$DISK_MIB")
	slow_disk_start $(($(stat -c %s "$src") + $(du -B1 "$raw" | cut -f1)))
	cp "$src" "$slow/vm.xva"
	cp --sparse=always "$raw" "$slow/vm.img"
	slow_export=$slow/vm.xva
	slow_raw=$slow/vm.img
}

# reads_from, reads_since: what the device read between the two, printed
# under the measurement (whether a reader read more than the other, and
# in how many requests).
reads_at=
reads_from() { reads_at=$(slow_reads); }
reads_since() {
	local now
	now=$(slow_reads)
	# shellcheck disable=SC2086 # two numbers each, split on purpose
	set -- $reads_at $now
	printf '%38s %d MB in %d requests\n' "read from the device:" $((($3 - $1) / 1000000)) $(($4 - $2))
}

part_throttled() {
	local mbps r who t
	slow_up
	echo "== throttled: $(disk_size "$DISK_MIB") disk, a third holes, $(gb "$(stat -c %s "$slow_export")") \`.xva\` on ext4 on a direct-I/O loop device, blkio limits"
	for mbps in $LIMITS; do
		describe "seq-$mbps" time "\`cat\` through the mount, reads limited to $mbps MB/s" "\`cat\` of the \`.xva\`" ">= 0.9 every run" "FUSE passthrough of the raw disk, same limit"
		slow_limit $((mbps * 1000000)) 0
		for ((r = 0; r < RUNS; r++)); do
			drop_caches
			reads_from
			note "seq-$mbps" ref "$r" "$(cg_timeit cat "$slow_export")"
			reads_since
			drop_caches
			note "seq-$mbps" ceiling "$r" "$(CG=yes passthrough_cat "$slow_raw")"
			for who in $(in_order "$r"); do
				drop_caches
				reads_from
				note "seq-$mbps" "$who" "$r" "$(CG=yes mount_cat "$who" "$slow_export")"
				reads_since
			done
		done
	done
	slow_limit 0 0
}

part_verify() {
	local mbps r who
	slow_up
	echo "== verify: the same export and limits"
	for mbps in $LIMITS; do
		describe "verify-$mbps" time "\`xvafs --verify\`, reads limited to $mbps MB/s" "\`xxhsum -H64\` of the \`.xva\`" ""
		slow_limit $((mbps * 1000000)) 0
		for ((r = 0; r < RUNS; r++)); do
			drop_caches
			note "verify-$mbps" ref "$r" "$(cg_timeit xxhsum -H64 "$slow_export")"
			for who in $(in_order "$r"); do
				drop_caches
				note "verify-$mbps" "$who" "$r" "$(cg_timeit "${bin[$who]}" --verify --no-index-cache "$slow_export")"
			done
		done
	done
	slow_limit 0 0
}

# fio_writes FILE: IOPS of random 4 KiB writes to FILE, or "fail". Every
# run starts with nothing left to write back from the one before.
fio_writes() {
	sync
	drop_caches
	if fio --name=w --filename="${1//:/\\:}" --rw=randwrite --bs=4k \
		--ioengine=psync --numjobs=4 --fsync=64 --time_based \
		--runtime="$RUNTIME" --group_reporting --size="${OVERLAY_MIB}M" \
		--output-format=json --output="$work/all-fio.json" >/dev/null 2>"$work/all-err"; then
		python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["write"]["iops"]))' "$work/all-fio.json"
	else
		echo "all.sh: fio failed: $(head -c 300 "$work/all-err")" >&2
		echo fail
	fi
}

part_overlay() {
	local img=$work/ovl-$OVERLAY_MIB.img xva=$work/ovl-$OVERLAY_MIB.xva r who v
	bench_image "$img" "$OVERLAY_MIB"
	[ -f "$xva" ] || "$build/tests/mkxva" "$xva" "$img=Ref:1"
	describe overlay rate "random 4 KiB writes through an overlay, 4 jobs ($(disk_size "$OVERLAY_MIB") disk, ${RUNTIME} s each)" "plain file, same file system" ">= 0.5" "ceiling: FUSE passthrough of a plain file"
	echo "== overlay: fio psync, 4 jobs, fsync every 64, on $(df -T "$work" | awk 'NR == 2 { print $2 }')"
	for ((r = 0; r < RUNS; r++)); do
		rm -f "$work/all-plain.img"
		truncate -s "${OVERLAY_MIB}M" "$work/all-plain.img"
		note overlay ref "$r" "$(fio_writes "$work/all-plain.img")"
		rm -f "$work/all-plain.img"
		truncate -s "${OVERLAY_MIB}M" "$work/all-plain.img"
		v=fail
		if passthrough_start -w "$work/all-plain.img"; then
			v=$(fio_writes "$mnt/file")
			passthrough_stop
		fi
		note overlay ceiling "$r" "$v"
		rm -f "$work/all-plain.img"
		for who in $(in_order "$r"); do
			rm -rf "$work/all-overlay"
			if "${bin[$who]}" -o noindexcache,overlay="$work/all-overlay" "$xva" "$mnt" && mounted "$mnt"; then
				v=$(fio_writes "$mnt/Ref:1")
				fusermount3 -u "$mnt"
			else
				v=fail
			fi
			note overlay "$who" "$r" "$v"
		done
	done
	rm -rf "$work/all-overlay"
}

# first_mounts ID ID2 FILE DECOMPRESSOR...: the first mount (the index
# pass, with a fresh cache folder) against DECOMPRESSOR to /dev/null, and
# the second mount (ID2, no reference; empty: not measured). With
# CEILING=yes, also DECOMPRESSOR into a file beside FILE, then sync.
first_mounts() {
	local id=$1 id2=$2 file=$3 r who cache=$work/all-cache
	shift 3
	for ((r = 0; r < RUNS; r++)); do
		drop_caches
		note "$id" ref "$r" "$(timeit sh -c '"$@" <"$0"' "$file" "$@")"
		if [ "${CEILING:-no}" = yes ]; then
			drop_caches
			note "$id" ceiling "$r" "$(timeit sh -c '"$@" <"$0" >"$0.decoded" && sync' "$file" "$@")"
			rm -f "$file.decoded"
		fi
		for who in $(in_order "$r"); do
			rm -rf "$cache"
			drop_caches
			note "$id" "$who" "$r" "$(timeit "${bin[$who]}" --list -o cache_dir="$cache" "$file")"
			[ -n "$id2" ] || continue
			drop_caches
			note "$id2" "$who" "$r" "$(timeit "${bin[$who]}" --list -o cache_dir="$cache" "$file")"
		done
	done
	rm -rf "$cache"
}

part_zstd() {
	local real small desc
	real=$(realistic_export "$ZSTD_MIB")
	desc="$(disk_size "$ZSTD_MIB") disk of realistic data, $(gb "$(stat -c %s "$real")") \`.xva\`"
	real=$(compressed "$real" zst)
	small=$(compressed "$(seq_export "$SMALL_MIB")" zst)
	describe zstd-first time "zstd export, first mount ($desc)" "\`zstd -dc\`" ">= 0.9" "ceiling: \`zstd -dc\` into a file, then \`sync\`"
	describe zstd-second time "zstd export, second mount (the saved cache)" "" ""
	describe zstd-small time "zstd export, first mount ($(disk_size "$SMALL_MIB") disk of random data, a third holes)" "\`zstd -dc\`" ">= 0.9" "ceiling: \`zstd -dc\` into a file, then \`sync\`"
	echo "== zstd: $desc, zstd -3 $(gb "$(stat -c %s "$real")"); and a $(disk_size "$SMALL_MIB") disk"
	CEILING=yes first_mounts zstd-first zstd-second "$real" zstd -q -dc
	CEILING=yes first_mounts zstd-small "" "$small" zstd -q -dc
}

part_gzip() {
	local real desc
	real=$(realistic_export "$ZSTD_MIB")
	desc="$(disk_size "$ZSTD_MIB") disk of realistic data, $(gb "$(stat -c %s "$real")") \`.xva\`"
	real=$(compressed "$real" gz)
	describe gzip-first time "gzip export, first mount ($desc)" "\`pigz -dc\`" ""
	describe gzip-second time "gzip export, second mount (the saved index)" "" ""
	echo "== gzip: $desc, gzip $(gb "$(stat -c %s "$real")")"
	first_mounts gzip-first gzip-second "$real" pigz -dc
}

part_url() {
	local data=$work/remote rtt url r who name t b0 b1 b2 b3 raw=$work/seq-$URL_MIB.img
	mkdir -p "$data"
	name=seq-$URL_MIB.xva
	[ -f "$data/$name" ] || cp "$(seq_export "$URL_MIB")" "$data/$name"
	bench_image "$raw" "$URL_MIB"
	SRV_DIR=$(mktemp -d "${TMPDIR:-/tmp}/xvafs-bench-all.XXXXXX")
	# shellcheck source=../tests/servers/lib.sh
	source "$top/tests/servers/lib.sh"
	srv_started=yes
	nginx_start "$data"
	echo "== url: a $(disk_size "$URL_MIB") disk, a third holes ($(gb "$(stat -c %s "$data/$name")") \`.xva\`), nginx HTTPS HTTP/2 on loopback"
	for rtt in $BENCH_RTTS; do
		describe "url-$rtt" time "\`cat\` of a disk through a URL mount, $rtt ms round trip" "\`curl -o /dev/null\`" ">= 0.8" "ceiling: the CPU time of curl's run and of FUSE's, over $(nproc) cores"
		delayproxy_start "$NGINX_TLS_PORT" "$(echo "$rtt / 2" | bc -l)"
		url=https://127.0.0.1:$PROXY_PORT/$name
		for ((r = 0; r < RUNS; r++)); do
			b0=$(cpu_busy)
			t=$(timeit curl -sf --cacert "$CA_FILE" -o /dev/null "$url")
			b1=$(cpu_busy)
			note "url-$rtt" ref "$r" "$t"
			for who in $(in_order "$r"); do
				note "url-$rtt" "$who" "$r" "$(mount_cat "$who" "$url" -o ca_file="$CA_FILE")"
			done
			# After the mounts, so that reading the raw disk into the
			# page cache cannot push the .xva out of it before them.
			cat "$raw" >/dev/null
			b2=$(cpu_busy)
			[ "$(passthrough_cat "$raw")" != fail ] || t=fail
			b3=$(cpu_busy)
			note "url-$rtt" ceiling "$r" "$(cpu_bound "$t" "$b0" "$b1" "$b2" "$b3")"
		done
		kill "$PROXY_PID" 2>/dev/null || true
		wait "$PROXY_PID" 2>/dev/null || true
	done
}

# --- the other scripts -------------------------------------------------------

# script_setup NAME: the arguments (s_args) and environment (s_env) of
# bench/NAME.sh in this mode: their own defaults, or small sizes with
# --quick; --runs is passed on.
script_setup() {
	s_args=()
	s_env=()
	[ -n "$runs" ] && s_env+=("RUNS=$runs")
	[ $quick = yes ] || return 0
	[ -n "$runs" ] || s_env+=(RUNS=1)
	case $1 in
	seqread | usable | verify | compressed) s_args=(256) ;;
	randread) s_args=(256) s_env+=(IOS=5000) ;;
	index) s_env+=("MEMBERS_K=10 100") ;;
	overlay) s_args=(256) s_env+=(RUNTIME=3) ;;
	throttled) s_args=(256) s_env+=("PARTS=seq verify" LIMITS=500) ;;
	nbd) s_args=(256) s_env+=(IOS=2000) ;;
	remote) s_env+=(BENCH_SEQ_MIB=256 BENCH_MEMBERS=1000 BENCH_RTTS=0) ;;
	mounted) s_env+=(COMPRESSED_MIB=256 URL_MIB=256 BENCH_MEMBERS=1000 BENCH_RTTS=0) ;;
	esac
}

run_scripts() {
	local name who log rc
	for name in $scripts; do
		script_setup "$name"
		for who in "${builds[@]}"; do
			log=$work/script-$name-$who.log
			echo "=== bench/$name.sh ${s_args[*]} (${s_env[*]}), $who: ${label[$who]:0:60}"
			rc=0
			env "${s_env[@]}" BUILD="$(dirname "${bin[$who]}")" BENCH_DIR="$work" \
				bash "$here/$name.sh" "${s_args[@]}" >"$log" 2>&1 || rc=$?
			sed 's/^/    /' "$log"
			[ $rc = 0 ] || echo "    (bench/$name.sh exited with status $rc)"
		done
	done
}

# --- the run -----------------------------------------------------------------

libfuse=$(pkg-config --modversion fuse3 2>/dev/null || fusermount3 --version | sed 's/.*: //')
virt=$(systemd-detect-virt --vm 2>/dev/null || true)
storage=$(findmnt -no SOURCE,FSTYPE -T "$work" | tr -s ' ')
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//; s/ *$//')
mem=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
machine_line="$(nproc) cores ($cpu), $mem GiB of memory, kernel $(uname -r), libfuse $libfuse"
[ -n "$virt" ] && [ "$virt" != none ] && machine_line+=", a virtual machine ($virt)"
machine_line+="; data on $storage"
mode=$([ $quick = yes ] && echo "quick mode, " || true)
header="Measured $(date +%Y-%m-%d), xvafs at $after_commit, by \`bench/all.sh\` (${mode}$RUNS run$( ((RUNS > 1)) && echo s || true) of each, min / median / max; every reference in the same run) on: $machine_line."

echo "machine: $machine_line"
echo "date: $(date -Is); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for who in "${builds[@]}"; do
	echo "$who: ${bin[$who]} (${label[$who]})"
done
echo "runs: $RUNS; parts: $parts; scripts: ${scripts:-none}$([ $quick = yes ] && echo "; quick mode" || true)"
for p in $parts; do
	"part_$p"
done
[ -z "$scripts" ] || run_scripts
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$parts" ] || exit 0
echo
report=(python3 "$here/all_report.py" "$meta" "$results" "${builds[*]}" "$header")
[ $update_readme = yes ] && report+=("$readme")
"${report[@]}"
