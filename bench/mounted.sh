#!/usr/bin/env bash
# Compressed and remote exports through the real command line and mount,
# each against its physical reference in the same run (medians of RUNS):
#
#   compressed  the first mount's pass (xvafs --list, fresh cache) against
#               zcat, pigz -dc and zstd -dc to /dev/null; the second
#               (the saved index); cat of the disk through the mount
#               against decompressing the file to /dev/null.
#   remote      the index pass (xvafs --list --no-index-cache URL) of XAPI
#               layouts of 1,000 / 10,000 / 100,000 members through a delay
#               proxy at 0, 5 and 20 ms of round trip, HTTP/2 over TLS,
#               against curl downloading the object; cat of a disk through
#               a mount of the URL against curl -o /dev/null of the object.
#
#   bench/mounted.sh [compressed] [remote]    (root; BUILD=dir; RUNS=3;
#       BENCH_RTTS="0 5 20"; BENCH_MEMBERS="1000 10000 100000";
#       COMPRESSED_MIB=2048, the compressed disk; URL_MIB=1024, the disk
#       read through a URL mount)
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parts=" ${*:-compressed remote} "
runs=${RUNS:-3}
rtts=${BENCH_RTTS:-0 5 20}
members_list=${BENCH_MEMBERS:-1000 10000 100000}
compressed_mib=${COMPRESSED_MIB:-2048}
url_mib=${URL_MIB:-1024}
[ "$can_drop" = yes ] || { echo "bench: needs root (page cache, mounts)" >&2; exit 1; }
xvafs=$build/xvafs
mnt=$work/mnt
mkdir -p "$mnt"
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
timeit() { local t; t=$(now); "$@" >/dev/null 2>&1; elapsed "$t"; }
f2() { printf '%.2f' "$1"; }

machine
if [[ $parts == *" compressed "* ]]; then
	# Data that compresses as disks do (bench/compressed_image.py: random,
	# zeros and real binaries; 15 % of the chunks all zeros).
	img=$work/mounted-$compressed_mib.img
	xva=$work/mounted-$compressed_mib.xva
	if [ ! -f "$xva" ]; then
		python3 "$top/bench/compressed_image.py" "$img" "$compressed_mib"
		"$build/tests/mkxva" "$xva" "$img=Ref:1"
		rm -f "$img"
	fi
	[ -f "$xva.gz" ] || gzip -c <"$xva" >"$xva.gz"
	[ -f "$xva.zst" ] || zstd -q -3 -c <"$xva" >"$xva.zst"
	cache=$work/mounted-cache
	echo "export: $(stat -c %s "$xva") bytes (a $compressed_mib MiB disk, 15 % of its chunks left out); gzip $(stat -c %s "$xva.gz"), zstd $(stat -c %s "$xva.zst")"
	for kind in gz zst; do
		x=$xva.$kind
		ref=(); ref2=(); first=(); second=(); seq=(); dec=()
		for ((r = 0; r < runs; r++)); do
			drop_caches
			if [ $kind = gz ]; then
				ref+=("$(timeit sh -c "zcat <'$x'")")
				drop_caches
				ref2+=("$(timeit sh -c "pigz -dc <'$x'")")
			else
				ref+=("$(timeit sh -c "zstd -q -dc <'$x'")")
			fi
			rm -rf "$cache"
			drop_caches
			first+=("$(timeit "$xvafs" --list -o cache_dir="$cache" "$x")")
			drop_caches
			second+=("$(timeit "$xvafs" --list -o cache_dir="$cache" "$x")")
			drop_caches
			"$xvafs" -o cache_dir="$cache" "$x" "$mnt"
			mounted "$mnt"
			seq+=("$(timeit cat "$mnt/Ref:1")")
			fusermount3 -u "$mnt"
		done
		r1=$(printf '%s\n' "${ref[@]}" | median)
		f=$(printf '%s\n' "${first[@]}" | median)
		s=$(printf '%s\n' "${second[@]}" | median)
		q=$(printf '%s\n' "${seq[@]}" | median)
		if [ $kind = gz ]; then
			r2=$(printf '%s\n' "${ref2[@]}" | median)
			best=$(echo "if ($r1 < $r2) $r1 else $r2" | bc -l)
			echo "gzip: first mount $(f2 "$f") s against zcat $(f2 "$r1") s, pigz -dc $(f2 "$r2") s: $(ratio "$best" "$f") of the fastest; second mount $(f2 "$s") s"
		else
			best=$r1
			echo "zstd: first mount $(f2 "$f") s against zstd -dc $(f2 "$r1") s: $(ratio "$best" "$f"); second mount $(f2 "$s") s"
		fi
		echo "      cat of the disk through the mount $(f2 "$q") s, against decompressing the file $(f2 "$best") s: $(ratio "$best" "$q")"
	done
fi

if [[ $parts == *" remote "* ]]; then
	SRV_DIR=$(mktemp -d "${TMPDIR:-/tmp}/xvafs-bench-mounted.XXXXXX")
	source "$top/tests/servers/lib.sh"
	trap 'mountpoint -q "$mnt" && fusermount3 -u "$mnt"; srv_cleanup; rm -rf "$SRV_DIR"' EXIT
	data=$work/remote
	mkdir -p "$data"
	for m in $members_list; do
		[ -f "$data/walk-$m.xva" ] || python3 "$top/tests/servers/mksparsexva.py" "$data/walk-$m.xva" "$m"
	done
	img=$work/seq-$url_mib.img
	bench_image "$img" "$url_mib"
	[ -f "$data/seq-$url_mib.xva" ] || "$build/tests/mkxva" "$data/seq-$url_mib.xva" "$img=Ref:1"
	nginx_start "$data" || exit 1
	for rtt in $rtts; do
		delayproxy_start "$NGINX_TLS_PORT" "$(echo "$rtt / 2" | bc -l)" || exit 1
		url=https://127.0.0.1:$PROXY_PORT
		for m in $members_list; do
			idx=(); dl=()
			for ((r = 0; r < runs; r++)); do
				idx+=("$(timeit "$xvafs" --list --no-index-cache -o ca_file="$CA_FILE" "$url/walk-$m.xva")")
			done
			# The full download is only timed where it takes minutes, not hours.
			if [ "$m" -le 10000 ]; then
				dl+=("$(timeit curl -s --cacert "$CA_FILE" -o /dev/null "$url/walk-$m.xva")")
			fi
			t=$(printf '%s\n' "${idx[@]}" | median)
			if [ ${#dl[@]} -gt 0 ]; then
				echo "remote ${rtt} ms: index of $m members $(f2 "$t") s; curl download of the object $(f2 "${dl[0]}") s"
			else
				echo "remote ${rtt} ms: index of $m members $(f2 "$t") s"
			fi
		done
		ref=(); seq=()
		for ((r = 0; r < runs; r++)); do
			ref+=("$(timeit curl -s --cacert "$CA_FILE" -o /dev/null "$url/seq-$url_mib.xva")")
			"$xvafs" -o noindexcache,ca_file="$CA_FILE" "$url/seq-$url_mib.xva" "$mnt"
			mounted "$mnt"
			seq+=("$(timeit cat "$mnt/Ref:1")")
			fusermount3 -u "$mnt"
		done
		a=$(printf '%s\n' "${ref[@]}" | median)
		b=$(printf '%s\n' "${seq[@]}" | median)
		echo "remote ${rtt} ms: cat of a $url_mib MiB disk through the mount $(f2 "$b") s, curl -o /dev/null of its export $(f2 "$a") s: $(ratio "$a" "$b")"
		kill "$PROXY_PID" 2>/dev/null || true
	done
fi
