#!/bin/bash
# The crypt source against the plain file it decrypts to: a file of random
# bytes is written into an encrypted repository by Xen Orchestra's own
# handler (tests/servers/mkxorepo.mjs, both ciphers), then srcread reads
#   seq      every byte, 1 MiB a read: the plain file; the encrypted one
#            in its first pass (decrypting through the AEAD, tag checked);
#            the encrypted one out of its pass (counter arithmetic only)
#   latency  single 4 KiB reads at random 4 KiB-aligned offsets
# warm (page cache: the decryption's cost is all there is to see) and
# cold (the files' own pages dropped before each run). Runs are
# interleaved; the medians of RUNS are printed by the wall clock and by
# CPU time, with the ratio encrypted / plain (1.0: as fast).
#
#   BUILD=build BENCH_DIR=/var/tmp/xvafs-bench SIZE_MIB=1024 RUNS=5 \
#   READS=20000 TEMPS="warm cold" bench/crypt.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-build}
srcread=$BUILD/tests/srcread
dir=${BENCH_DIR:-/var/tmp/xvafs-bench}/crypt
size_mib=${SIZE_MIB:-1024}
runs=${RUNS:-5}
reads=${READS:-20000}
vm=6a1e0a4c-0000-4000-8000-00000000be4c
[ -x "$srcread" ] || { echo "no $srcread: build first" >&2; exit 1; }
mkdir -p "$dir"
plain=$dir/plain.bin
[ "$(stat -c %s "$plain" 2>/dev/null || echo 0)" = $((size_mib << 20)) ] ||
	head -c $((size_mib << 20)) /dev/urandom >"$plain"
printf 'bench-key-0123456789abcdefghijkl\n' >"$dir/key"
for alg in chacha20-poly1305 aes-256-gcm; do
	[ -f "$dir/$alg.xva" ] && [ "$dir/$alg.xva" -nt "$plain" ] && continue
	rm -rf "$dir/repo-$alg"
	legacy=()
	[ "$alg" = aes-256-gcm ] && legacy=(--legacy)
	node "$here/../tests/servers/mkxorepo.mjs" --dir "$dir/repo-$alg" --key-file "$dir/key" \
		"${legacy[@]}" --vm "$vm:bench" --backup "2026-01-01T00:00:00Z:$plain" >/dev/null
	mv "$dir/repo-$alg/xo-vm-backups/$vm/20260101T000000Z.xva" "$dir/$alg.xva"
	rm -rf "$dir/repo-$alg"
done
cat "$plain" "$dir"/*.xva >/dev/null # warm

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# evict FILE...: drops these files' pages from the page cache (theirs
# only: nothing else on the machine is touched), for the cold runs.
evict() {
	python3 -c 'import os, sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)' "$@"
}
# run KEY MODE ARGS...: one srcread run; appends to res[KEY] its figure
# by the wall clock (MB/s for seq, reads/s for latency) and to
# res[KEY_cpu] the same by its CPU time (user + system), which the other
# load on the machine disturbs less.
declare -A res
run() {
	local key=$1 mode=$2 out cpu wall
	shift 2
	[ "$temp" = cold ] && evict "$plain" "$dir"/*.xva
	if [ "$mode" = seq ]; then
		out=$(/usr/bin/time -f 'cpu %U %S' "$srcread" --noverify "$@" seq 2>&1)
		wall=$(sed -n 's/^seq: .*: \([0-9.]*\) MB\/s$/\1/p' <<<"$out")
		cpu=$(awk -v b=$((size_mib << 20)) '/^cpu/ { printf "%.1f", b / ($2 + $3) / 1e6 }' <<<"$out")
	else
		out=$(/usr/bin/time -f 'cpu %U %S' "$srcread" --noverify --reads "$reads" "$@" latency 2>&1)
		wall=$(sed -n 's/^latency: .* \([0-9]*\) reads\/s)$/\1/p' <<<"$out")
		cpu=$(awk -v r="$reads" '/^cpu/ { printf "%.0f", r / ($2 + $3 + 1e-9) }' <<<"$out")
	fi
	res[$key]+="$wall "
	res[${key}_cpu]+="$cpu "
}
m() { tr ' ' '\n' <<<"${res[$1]}" | grep . | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
line() { # LABEL UNIT KEY BASEKEY
	printf '%-36s %9s %8s %6s | %9s %6s\n' "$1" "$(m "$3")" "$2" "$(ratio "$(m "$3")" "$(m "$4")")" \
		"$(m "$3_cpu")" "$(ratio "$(m "$3_cpu")" "$(m "$4_cpu")")"
}
for temp in ${TEMPS:-warm cold}; do
	res=()
	for ((i = 0; i < runs; i++)); do
		run plain_seq seq "$plain" "$plain"
		run plain_lat latency "$plain" "$plain"
		for alg in chacha20-poly1305 aes-256-gcm; do
			enc=(--key-file "$dir/key" --alg "$alg" "$dir/$alg.xva" "$plain")
			run "${alg}_pass" seq "${enc[@]}"
			run "${alg}_seq" seq --unauthenticated "${enc[@]}"
			run "${alg}_lat" latency --unauthenticated "${enc[@]}"
		done
	done
	echo "crypt bench: $size_mib MiB, $temp, medians of $runs, $reads random reads" \
		"(load: $(cut -d' ' -f1-3 /proc/loadavg))"
	printf '%-36s %9s %8s %6s | %9s %6s\n' what wall unit ratio "by CPU" ratio
	line "plain file, seq" MB/s plain_seq plain_seq
	line "plain file, 4 KiB random" reads/s plain_lat plain_lat
	for alg in chacha20-poly1305 aes-256-gcm; do
		line "$alg, first pass (AEAD, tag)" MB/s "${alg}_pass" plain_seq
		line "$alg, seq (counter)" MB/s "${alg}_seq" plain_seq
		line "$alg, 4 KiB random" reads/s "${alg}_lat" plain_lat
	done
done
