#!/bin/bash
# Remote source benchmarks, against nginx on loopback behind a proxy that
# adds RTT/2 ms each way (so a round trip costs RTT ms more), all ratios in
# one run:
#   seq      every byte of a large object through the source (srcread seq,
#            one reader, 1 MiB reads) vs curl -o /dev/null; goal >= 0.8
#   latency  random 4 KiB reads, one at a time: median and p99, vs curl
#            fetching the same kind of range over a reused connection
#   walk     the tar walk's pattern on sparse XVA-like tars of 1k, 10k and
#            100k members: 10240 bytes read at each header position, with
#            no prefetch (naive serial) or the position AHEAD headers on
#            prefetched (predicted); vs curl downloading the whole tar
# HTTP/1.1 (plain) and HTTP/2 (TLS, ALPN) both.
#
# Environment: BUILD (build folder with tests/srcread), BENCH_DIR (data,
# default /var/tmp/xvafs-bench), BENCH_RTTS ("0 5 20", ms), BENCH_SEQ_MIB
# (1024), BENCH_MEMBERS ("1000 10000 100000"), BENCH_NAIVE_MAX (members up
# to which the naive walk is run at an RTT > 0; 1000), BENCH_PARTS ("seq
# latency walk").
source "$(dirname "$0")/lib.sh"

srcread=$build/tests/srcread
[ -x "$srcread" ] || { echo "bench: build srcread first (make srcread in $build)" >&2; exit 1; }
rtts=${BENCH_RTTS:-0 5 20}
seq_mib=${BENCH_SEQ_MIB:-1024}
members_list=${BENCH_MEMBERS:-1000 10000 100000}
naive_max=${BENCH_NAIVE_MAX:-1000}
parts=" ${BENCH_PARTS:-seq latency walk} "

SRV_DIR=$(mktemp -d "${TMPDIR:-/tmp}/xvafs-bench-remote.XXXXXX")
source "$top/tests/servers/lib.sh"
trap 'srv_cleanup; rm -rf "$SRV_DIR"' EXIT

data=$work/remote
mkdir -p "$data"
if [ ! -f "$data/big.bin" ] || [ "$(stat -c %s "$data/big.bin")" != $((seq_mib * MIB)) ]; then
	head -c $((seq_mib * MIB)) /dev/urandom >"$data/big.bin.tmp"
	mv "$data/big.bin.tmp" "$data/big.bin"
fi
for m in $members_list; do
	[ -f "$data/walk-$m.xva" ] || python3 "$top/tests/servers/mksparsexva.py" "$data/walk-$m.xva" "$m"
done
nginx_start "$data" || exit 1

machine
echo "srcread: $srcread; nginx $(nginx -v 2>&1 | sed 's/.*\///'); curl $(curl -V | head -1 | cut -d' ' -f2)"
results=()
row() { results+=("$(printf '%-8s %-6s %-44s %s' "$@")"); echo "  $*"; }

median_p99() {
	sort -n | awk '{ v[NR] = $1 } END { p = int(NR * 0.99); if (p < 1) p = 1; printf "median %.2f ms, p99 %.2f ms", v[int((NR + 1) / 2)] * 1000, v[p] * 1000 }'
}

for rtt in $rtts; do
	delay=$(echo "$rtt / 2" | bc -l)
	srv_port_tls=$NGINX_TLS_PORT srv_port=$NGINX_PORT
	delayproxy_start "$srv_port" "$delay" || exit 1
	p_http=$PROXY_PORT pid_http=$PROXY_PID
	delayproxy_start "$srv_port_tls" "$delay" || exit 1
	p_https=$PROXY_PORT pid_https=$PROXY_PID
	echo "== round trip +$rtt ms (the proxy adds $(printf %.1f "$delay") ms each way)"
	for proto in http https; do
		if [ $proto = http ]; then
			base=http://127.0.0.1:$p_http tls=() ca=()
			label="HTTP/1.1"
		else
			base=https://127.0.0.1:$p_https tls=(--cacert "$CA_FILE") ca=(--ca "$CA_FILE")
			label="HTTP/2"
		fi

		# seq
		[[ $parts == *" seq "* ]] && {
		c=$(curl -s "${tls[@]}" -o /dev/null -w '%{time_total}' "$base/big.bin")
		s=$("$srcread" "${ca[@]}" --noverify "$base/big.bin" "$data/big.bin" seq | sed -n 's/.* in \([0-9.]*\) s.*/\1/p')
		row "${rtt}ms" "$label" "seq ${seq_mib} MiB: source $(mbs $((seq_mib * MIB)) "$s") MB/s, curl $(mbs $((seq_mib * MIB)) "$c") MB/s" "ratio $(ratio "$c" "$s")"
		}

		# latency
		[[ $parts == *" latency "* ]] && {
		lat=$("$srcread" "${ca[@]}" --reads 200 --seed 7 "$base/big.bin" "$data/big.bin" latency | sed 's/^latency: //')
		args=()
		for i in $(seq 1 100); do
			off=$(((RANDOM * 32768 + RANDOM) % (seq_mib * 256) * 4096))
			[ $i -gt 1 ] && args+=(--next)
			args+=(-s "${tls[@]}" -o /dev/null -w '%{time_total}\n' -r "$off-$((off + 4095))" "$base/big.bin")
		done
		cl=$(curl "${args[@]}" | tail -n +2 | median_p99)
		row "${rtt}ms" "$label" "random 4 KiB: source $lat" "curl (reused connection): $cl"
		}

		# walk
		[[ $parts == *" walk "* ]] || continue
		for m in $members_list; do
			f=$data/walk-$m.xva
			for ahead in 128 256; do
				t=$("$srcread" "${ca[@]}" --ahead $ahead "$base/walk-$m.xva" "$f" walk | sed -n 's/.*: \([0-9.]*\) s$/\1/p')
				row "${rtt}ms" "$label" "walk $m members, predicted $ahead ahead" "$t s"
			done
			if [ "$m" -le "$naive_max" ] || [ "$rtt" = 0 -a "$m" -le 10000 ]; then
				t=$("$srcread" "${ca[@]}" --ahead 0 "$base/walk-$m.xva" "$f" walk | sed -n 's/.*: \([0-9.]*\) s$/\1/p')
				row "${rtt}ms" "$label" "walk $m members, naive serial" "$t s"
			fi
			if [ "$m" -le 1000 ] || [ "$rtt" = 0 -a "$m" -le 10000 ]; then
				t=$(curl -s "${tls[@]}" -o /dev/null -w '%{time_total}' "$base/walk-$m.xva")
				row "${rtt}ms" "$label" "walk $m members, curl full download ($(($(stat -c %s "$f") / 1000000)) MB)" "$t s"
			fi
		done
	done
	kill "$pid_http" "$pid_https" 2>/dev/null || true
	wait "$pid_http" "$pid_https" 2>/dev/null || true
done

echo
echo "== summary"
printf '%s\n' "${results[@]}"
