#!/usr/bin/env bash
# Makes seed corpora for the fuzzers with the project's generator: small
# exports of every variant (index) and their ova.xml texts (ovaxml).
#   tests/fuzz/seeds.sh MKXVA OUTDIR
set -euo pipefail
mkxva=$1
out=$2
mkdir -p "$out/index" "$out/ovaxml" "$out/vm"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 3000 /dev/urandom >"$tmp/a.img"
truncate -s 20000 "$tmp/b.img"
head -c 512 /dev/urandom | dd of="$tmp/b.img" conv=notrunc status=none
i=0
for opts in "" "--format ustar" "--format gnu" "--format pax" "--checksum sha1" \
	"--checksum none" "--keepalive 1" "--xo" "--no-ova" "--metadata-only" \
	"--with-cd --empty-drive" "--width 20" "--all-chunks" \
	"--vm hvm-bios --with-snapshot --with-cd --userdevices 0,4" \
	"--vm windows --xo --vifs 3" "--vm pv-pygrub"; do
	i=$((i + 1))
	imgs="$tmp/a.img=Ref:1 $tmp/b.img=Ref:2"
	[ "$opts" = "--no-ova" ] && imgs="$tmp/a.img"
	# shellcheck disable=SC2086
	"$mkxva" --chunk 4096 $opts "$out/index/seed-$i.xva" $imgs
	tar -xOf "$out/index/seed-$i.xva" ova.xml >"$out/ovaxml/seed-$i.xml" 2>/dev/null || rm -f "$out/ovaxml/seed-$i.xml"
done
# Compressed exports as XAPI writes them: the index harness then runs the
# gzip and zstd decoders' pass and random reads.
for i in 1 4 7; do
	gzip -c <"$out/index/seed-$i.xva" >"$out/index/seed-$i.gz.xva"
	zstd -q -3 -c <"$out/index/seed-$i.xva" >"$out/index/seed-$i.zst.xva"
done
# The VM harness reads ova.xml too.
cp "$out/ovaxml/"*.xml "$out/vm/"
