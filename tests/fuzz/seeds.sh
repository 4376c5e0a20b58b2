#!/usr/bin/env bash
# Makes seed corpora for the fuzzers with the project's generator: small
# exports of every variant (index) and their ova.xml texts (ovaxml, vm);
# the cache files xvafs itself writes for gzip and zstd copies of some
# (indexcache, gzipindex, zstdindex: xvafs --list with XDG_CACHE_HOME in
# a temporary folder); HTTP responses (http) and AWS credentials and
# config files (aws) as servers and the AWS CLI write them.
#   tests/fuzz/seeds.sh MKXVA OUTDIR [XVAFS]
# XVAFS defaults to the xvafs beside MKXVA's folder (build/xvafs).
set -euo pipefail
mkxva=$1
out=$2
xvafs=${3:-$(dirname "$mkxva")/../xvafs}
mkdir -p "$out/index" "$out/ovaxml" "$out/vm" "$out/indexcache" \
	"$out/gzipindex" "$out/zstdindex" "$out/http" "$out/aws" "$out/efivars"
fixtures=$(cd "$(dirname "$0")/../fixtures" && pwd)
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
	"--vm windows --xo --vifs 3" "--vm pv-pygrub" \
	"--vm hvm-uefi --nvram $fixtures/nvram-v2.b64"; do
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
# XCP-ng's UEFI variable blobs, both versions (tests/guests/efivars.py
# made the fixtures).
for v in 1 2; do
	base64 -d "$fixtures/nvram-v$v.b64" >"$out/efivars/varstored-v$v"
done

# The loaders' input (tests/fuzz/fuzzutil.h): mode 1 (the harness puts
# its stream's identity in the file and seals it), the stream's length as
# a little-endian u32, the stream, the cache file.
# shellcheck disable=SC2059
byte() { printf "\\x$(printf %02x $(($1 & 255)))"; }
pack() { # pack STREAM CACHEFILE OUT
	local n
	n=$(stat -c %s "$1")
	{
		byte 1
		byte "$n"; byte $((n >> 8)); byte $((n >> 16)); byte $((n >> 24))
		cat "$1" "$2"
	} >"$3"
}
# cached NAME XVA: the cache files xvafs writes when it lists XVA's gzip
# and zstd copies; seeds for the three loaders.
cached() {
	local name=$1 xva=$2 kind ext
	for kind in gz zst; do
		if [ $kind = gz ]; then gzip -c <"$xva" >"$tmp/$name.$kind.xva"; ext=gzi
		else zstd -q -3 -c <"$xva" >"$tmp/$name.$kind.xva"; ext=zsc; fi
		rm -rf "$tmp/cache"
		XDG_CACHE_HOME=$tmp/cache "$xvafs" --list "$tmp/$name.$kind.xva" >/dev/null
		[ $kind = gz ] && pack "$xva" "$tmp/cache/xvafs/"*.idx "$out/indexcache/$name.bin"
		pack "$tmp/$name.$kind.xva" "$tmp/cache/xvafs/"*.$ext \
			"$out/$([ $kind = gz ] && echo gzipindex || echo zstdindex)/$name.bin"
	done
}
for i in 1 4 7 11; do
	cached "seed-$i" "$out/index/seed-$i.xva"
done
# Several access points and frames: a 10 MiB disk, mostly zeros, with
# every chunk written.
truncate -s $((10 << 20)) "$tmp/big.img"
for mib in 0 3 5 9; do
	head -c 700 /dev/urandom | dd of="$tmp/big.img" bs=1 seek=$((mib << 20)) conv=notrunc status=none
done
"$mkxva" --all-chunks "$tmp/big.xva" "$tmp/big.img=Ref:3"
cached big "$tmp/big.xva"
rm -f "$out/indexcache/big.bin" # 10 MiB of tar: too big for the fuzzer

# HTTP responses: the header lines libcurl hands over, then a body.
printf 'HTTP/1.1 206 Partial Content\r\nServer: nginx/1.22.1\r\nDate: Mon, 07 Dec 2026 13:00:00 GMT\r\nContent-Type: application/octet-stream\r\nContent-Length: 1048576\r\nLast-Modified: Sun, 06 Dec 2026 09:12:44 GMT\r\nConnection: keep-alive\r\nETag: "6932a1bc-2a00000"\r\nContent-Range: bytes 1048576-2097151/44040192\r\n\r\n' >"$out/http/nginx-206.txt"
printf 'HTTP/1.1 301 Moved Permanently\r\nLocation: https://mirror.example.org/vm.xva\r\nContent-Length: 0\r\n\r\nHTTP/2 206 \r\ncontent-range: bytes 0-65535/44040192\r\netag: W/"abc"\r\n\r\n' >"$out/http/redirect.txt"
printf 'HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */0\r\nContent-Length: 0\r\n\r\n' >"$out/http/empty-416.txt"
printf 'HTTP/1.1 100 Continue\r\n\r\n' >"$out/http/continue.txt"
printf 'HTTP/1.1 200 OK\r\nContent-Length: 44040192\r\nAccept-Ranges: none\r\n\r\n' >"$out/http/no-ranges.txt"
printf 'HTTP/1.1 206 Partial Content\r\nx-amz-id-2: Q2lhbyEK\r\nx-amz-request-id: 4442587FB7D0A2F9\r\nx-amz-bucket-region: eu-west-1\r\nLast-Modified: Sun, 06 Dec 2026 09:12:44 GMT\r\nETag: "fba9dede5f27731c9771645a39863328"\r\nAccept-Ranges: bytes\r\nContent-Range: bytes 0-511/44040192\r\nContent-Type: binary/octet-stream\r\nServer: AmazonS3\r\n\r\n' >"$out/http/s3-206.txt"
printf 'HTTP/1.1 403 Forbidden\r\nx-amz-bucket-region: us-west-2\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\nServer: AmazonS3\r\n\r\n<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message><AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId><RequestId>4442587FB7D0A2F9</RequestId></Error>' >"$out/http/s3-403.txt"
printf 'HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-central-1\r\nContent-Type: application/xml\r\n\r\n<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><Endpoint>vm-exports.s3.eu-central-1.amazonaws.com</Endpoint><Bucket>vm-exports</Bucket><Region>eu-central-1</Region></Error>' >"$out/http/s3-301.txt"
printf 'HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\n\r\n<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>web01.xva</Key></Error>' >"$out/http/s3-404.txt"

# AWS files: the credentials file, a NUL, the config file.
aws() { # aws NAME CREDENTIALS CONFIG
	{ printf '%s' "$2"; printf '\0'; printf '%s' "$3"; } >"$out/aws/$1.txt"
}
aws default '[default]
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
' '[default]
region = eu-west-1
output = json
'
aws profiles '[default]
aws_access_key_id=AKIAIOSFODNN7EXAMPLE
aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

[dev]
aws_access_key_id = ASIAIOSFODNN7EXAMPLE
aws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY
aws_session_token = IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ
' '# comment
; another
[profile dev]
region = us-west-2
s3 =
    addressing_style = path
    endpoint_url = http://127.0.0.1:9000
[profile ci]
role_arn = arn:aws:iam::123456789012:role/ci
source_profile = default
'
aws endpoint '' '[profile dev]
endpoint_url = https://minio.example.org:9000/prefix
region = us-east-1
aws_access_key_id = minio
aws_secret_access_key = minio123
[default]
sso_session = corp
sso_start_url = https://corp.awsapps.com/start
'
aws process '[dev]
credential_process = /usr/local/bin/get-creds --profile dev
' '[profile dev]
  region = ap-southeast-2
[profile   dev   ]
region=eu-north-1
'

# The guest harness (fuzz_guest.c): mode 0, the first bytes of a disk as
# sfdisk writes them (MBR with logical partitions, GPT); mode 1 (3:
# wrapped round the metadata ring), LVM metadata text as lvm2 writes it
# on disk, naming the harness's PVs.
mkdir -p "$out/guest"
guest_disk() { # guest_disk NAME < sfdisk script
	truncate -s 64K "$tmp/$1.img"
	sfdisk -q "$tmp/$1.img" >/dev/null
	{ printf '\0'; cat "$tmp/$1.img"; } >"$out/guest/$1.bin"
}
guest_disk mbr <<'EOF'
label: dos
start=4, size=16, type=83, bootable
start=24, size=100, type=5
start=26, size=10, type=8e
start=40, size=10, type=7
EOF
guest_disk gpt <<'EOF'
label: gpt
first-lba: 34
start=34, size=16, type=L, name="root"
start=50, size=40, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, name="lvm"
EOF
guest_text() { # guest_text NAME MODE < text
	{ printf "\\x$1"; cat; } >"$out/guest/$2.bin"
}
lvm_vg='vg0 {
id = "vg0IDx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx"
seqno = 3
format = "lvm2"
status = ["RESIZEABLE", "READ", "WRITE"]
flags = []
extent_size = 8
max_lv = 0
max_pv = 0
metadata_copies = 0

physical_volumes {

pv0 {
id = "pv0AAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAAAA"
device = "/dev/xvda"

status = ["ALLOCATABLE"]
flags = []
dev_size = 8192
pe_start = 2048
pe_count = 700
}

pv1 {
id = "pv1BBB-BBBB-BBBB-BBBB-BBBB-BBBB-BBBBBB"
device = "/dev/xvdb"

status = ["ALLOCATABLE"]
flags = []
dev_size = 8192
pe_start = 2048
pe_count = 700
}
}

logical_volumes {

lin {
id = "aaaaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaaaa"
status = ["READ", "WRITE", "VISIBLE"]
flags = []
creation_time = 1700000000
creation_host = "guest"
segment_count = 2

segment1 {
start_extent = 0
extent_count = 4

type = "striped"
stripe_count = 1

stripes = [
"pv0", 0
]
}
segment2 {
start_extent = 4
extent_count = 8

type = "striped"
stripe_count = 2
stripe_size = 4

stripes = [
"pv0", 10,
"pv1", 0
]
}
}

mir {
status = ["READ", "WRITE", "VISIBLE"]
segment_count = 1

segment1 {
start_extent = 0
extent_count = 2

type = "mirror"
mirror_count = 2
mirrors = [
"mir_mimage_0", 0,
"mir_mimage_1", 0
]
}
}

mir_mimage_0 {
status = ["READ", "WRITE"]
segment1 {
start_extent = 0
extent_count = 2
type = "striped"
stripe_count = 1
stripes = ["pv1", 20]
}
}

snapshot0 {
status = ["READ", "WRITE"]
segment1 {
start_extent = 0
extent_count = 2
type = "snapshot"
chunk_size = 8
origin = "lin"
cow_store = "mir"
}
}
}

}
# Generated by LVM2 version 2.03.16(2) (2022-05-18): Mon Dec  7 13:00:00 2026

contents = "Text Format Volume Group"
version = 1

description = "Write from lvcreate -n lin vg0."

creation_host = "guest"	# Linux guest 6.1.0 #1 SMP x86_64
creation_time = 1700000000	# Mon Dec  7 13:00:00 2026
'
printf '%s' "$lvm_vg" | guest_text 01 lvm-text
printf '%s' "$lvm_vg" | guest_text 03 lvm-text-wrapped
