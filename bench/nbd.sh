#!/usr/bin/env bash
# Benchmark: the disks over NBD (nbdkit with the xva plugin, on a Unix
# socket) against the same disk through the FUSE mount and against the
# .xva itself, in one run:
#   - sequential: nbdcopy of the disk to null: (4 connections, its
#     defaults) against cat of the .xva and dd of the disk through the
#     mount (1 MiB reads), cold (page cache dropped) and warm, on an
#     export of a SIZE_MIB disk with a third of its chunks left out;
#   - 4 KiB random reads, cold, with fio's nbd engine (libnbd, queue depth
#     32, and 8 jobs at depth 1) against fio on the mount's file (libaio
#     O_DIRECT at depth 32, and psync x8), on an export whose chunks are
#     all present.
# Ratios are reference time / NBD time (above 1: NBD is faster). Each
# figure is the median of RUNS (default 3) runs.
#
#   bench/nbd.sh [SIZE_MIB]      (root; BUILD=dir for the build; default 1024)
. "$(dirname "$0")/lib.sh"
size_mib=${1:-1024}
RUNS=${RUNS:-3}
IOS=${IOS:-20000}
plugin=$build/nbdkit-xva-plugin.so
[ "$can_drop" = yes ] || { echo "bench: needs root to drop the page cache" >&2; exit 1; }
[ -f "$plugin" ] || { echo "bench: no $plugin (needs nbdkit-plugin-dev)" >&2; exit 1; }
for t in nbdkit nbdcopy fio; do
	command -v $t >/dev/null || { echo "bench: needs $t" >&2; exit 1; }
done
fio --enghelp 2>/dev/null | grep -qx '[[:space:]]*nbd' ||
	{ echo "bench: this fio has no nbd engine" >&2; exit 1; }

seq_img=$work/nbd-seq-$size_mib.img
seq_xva=$work/nbd-seq-$size_mib.xva
rnd_img=$work/nbd-rand-$size_mib.img
rnd_xva=$work/nbd-rand-$size_mib.xva
bench_image "$seq_img" "$size_mib"
[ -f "$seq_xva" ] || "$build/tests/mkxva" "$seq_xva" "$seq_img=Ref:1"
bench_image "$rnd_img" "$size_mib" all
[ -f "$rnd_xva" ] || "$build/tests/mkxva" "$rnd_xva" "$rnd_img=Ref:1"
mnt=$work/nbd-mnt
sock=$work/nbd.sock
mkdir -p "$mnt"
fuse_pid= nbd_pid=

stop_all() {
	if [ -n "$fuse_pid" ]; then
		fusermount3 -u "$mnt"
		wait "$fuse_pid" || true
		fuse_pid=
	fi
	if [ -n "$nbd_pid" ]; then
		kill "$nbd_pid"
		wait "$nbd_pid" || true
		nbd_pid=
	fi
}
trap stop_all EXIT

# serve XVA: the FUSE mount (foreground, in the background) and nbdkit.
serve() {
	stop_all
	"$build/xvafs" -f -o noindexcache "$1" "$mnt" &
	fuse_pid=$!
	mounted "$mnt"
	rm -f "$work/nbd.pid" "$sock"
	nbdkit -f -U "$sock" -P "$work/nbd.pid" "$plugin" "$1" noindexcache=true &
	nbd_pid=$!
	for _ in $(seq 1 200); do
		[ -s "$work/nbd.pid" ] && return 0
		sleep 0.05
	done
	echo "bench: nbdkit did not start" >&2
	exit 1
}

median() { sort -n | sed -n "$(((RUNS + 1) / 2))p"; }

# timed COLD CMD...: seconds CMD takes, the page cache dropped first when
# COLD is cold (else the .xva read once before, so it is warm).
timed() {
	local cold=$1 s
	shift
	if [ "$cold" = cold ]; then
		drop_caches
	else
		cat "$xva" >/dev/null
	fi
	s=$(now)
	"$@" >/dev/null
	elapsed "$s"
}

machine
echo "nbdkit $(nbdkit --version | awk '{ print $2 }'), libnbd $(nbdcopy --version | awk 'NR == 1 { print $2 }'), fio $(fio --version)"

xva=$seq_xva
serve "$xva"
echo "sequential: a $size_mib MiB disk, a third of its chunks left out ($(stat -c %s "$xva") bytes of .xva); $RUNS runs, medians"
for cold in cold warm; do
	t_cat=$(for _ in $(seq "$RUNS"); do timed $cold cat "$xva"; done | median)
	t_fuse=$(for _ in $(seq "$RUNS"); do timed $cold dd if="$mnt/Ref:1" of=/dev/null bs=1M status=none; done | median)
	t_nbd=$(for _ in $(seq "$RUNS"); do timed $cold nbdcopy "nbd+unix:///Ref:1?socket=$sock" null:; done | median)
	printf '%-5s nbdcopy %6.2f s (%5s MB/s of disk)   cat .xva %6.2f s  ratio %s   FUSE dd %6.2f s (%5s MB/s)  ratio %s\n' \
		$cold "$t_nbd" "$(mbs $((size_mib * MIB)) "$t_nbd")" "$t_cat" "$(ratio "$t_cat" "$t_nbd")" \
		"$t_fuse" "$(mbs $((size_mib * MIB)) "$t_fuse")" "$(ratio "$t_fuse" "$t_nbd")"
done

xva=$rnd_xva
serve "$xva"
# iops ARGS...: read IOPS of one cold fio run.
iops() {
	drop_caches
	fio --name=rand --readonly --rw=randread --bs=4k --group_reporting \
		--output-format=json --output="$work/nbd-fio.json" "$@" >/dev/null
	python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["jobs"][0]["read"]["iops"]))' "$work/nbd-fio.json"
}
echo "4 KiB random reads, cold: a $size_mib MiB disk, every chunk present; $IOS reads per run, medians of $RUNS"
for mode in qd32 x8; do
	if [ $mode = qd32 ]; then
		nbd_args=(--ioengine=nbd --iodepth=32 --numjobs=1 --number_ios="$IOS")
		fuse_args=(--ioengine=libaio --direct=1 --iodepth=32 --numjobs=1 --number_ios="$IOS")
	else
		nbd_args=(--ioengine=nbd --iodepth=1 --numjobs=8 --number_ios=$((IOS / 8)))
		fuse_args=(--ioengine=psync --numjobs=8 --number_ios=$((IOS / 8)))
	fi
	got=$(for _ in $(seq "$RUNS"); do iops "${nbd_args[@]}" --uri="nbd+unix:///Ref:1?socket=$sock"; done | median)
	# fio splits --filename at ":" unless it is escaped (Ref:1).
	ref=$(for _ in $(seq "$RUNS"); do iops "${fuse_args[@]}" --filename="$mnt/Ref\\:1"; done | median)
	printf '%-5s NBD (fio nbd engine) %7s IOPS   FUSE (%s) %7s IOPS   ratio %s\n' $mode "$got" \
		"${fuse_args[0]#--ioengine=}" "$ref" "$(ratio "$got" "$ref")"
done
