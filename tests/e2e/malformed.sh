#!/usr/bin/env bash
# A table of malformed exports. Each row: how the file is made, what
# `xvafs --list` (or --verify) must exit with, and what it must say. No
# crash, no hang (each run has a time limit), never a silent success on
# input that is wrong. Needs neither root nor /dev/fuse.
. "$(dirname "$0")/lib.sh"
TARPATCH=$(dirname "$0")/../tarpatch.py
MIB=1048576
head -c $((3 * MIB + 100)) /dev/urandom >"$WORK/disk.img"
"$MKXVA" "$WORK/good.xva" "$WORK/disk.img=Ref:1"

spec() { # spec FILE LINE...: an export with exactly these members
	local file=$1
	shift
	printf '%s\n' "$@" >"$file.spec"
	"$MKXVA" --spec "$file.spec" "$file"
}
ova() { # ova FILE XML: an export with that ova.xml and one small disk
	printf '%s' "$2" >"$1.xml"
	spec "$1" "ova.xml @$1.xml" "Ref:1/00000000 4096" "Ref:1/00000001 100"
}
vdi() { # vdi FIELDS: an ova.xml with one VDI Ref:1 and those snapshot fields
	printf '<value><struct><member><name>objects</name><value><array><data><value><struct><member><name>class</name><value>VDI</value></member><member><name>id</name><value>Ref:1</value></member><member><name>snapshot</name><value><struct>%s</struct></value></member></struct></value></data></array></value></member></struct></value>' "$1"
}
field() { printf '<member><name>%s</name><value>%s</value></member>' "$1" "$2"; }

# make_CASE FILE: one function per row below.
make_random() { head -c 5000 /dev/urandom >"$1"; }
make_empty() { : >"$1"; }
make_gzip() { gzip -c "$WORK/good.xva" >"$1"; }
make_zstd() { zstd -q -c "$WORK/good.xva" >"$1"; }
make_xz() { printf '\xfd7zXZ\0rest' >"$1"; }
make_bzip2() { printf 'BZh91AY&SY' >"$1"; }
make_bad_first_checksum() { cp "$WORK/good.xva" "$1"; printf 'X' | dd of="$1" bs=1 seek=150 conv=notrunc status=none; }
make_bad_second_checksum() { cp "$WORK/good.xva" "$1"; python3 - "$1" <<'PY'
import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read())
ova = int(d[124:136].split(b"\0")[0].strip(), 8)
off = 512 + (ova + 511) // 512 * 512
d[off + 5] ^= 1
open(p, "wb").write(d)
PY
}
make_b256_size() { cp "$WORK/good.xva" "$1"; python3 "$TARPATCH" "$1" 3 size b256:4611686018427387904; }
make_size_past_eof() { cp "$WORK/good.xva" "$1"; python3 "$TARPATCH" "$1" -1 size 8000000000; }
make_first_chunk_huge() { cp "$WORK/good.xva" "$1"; python3 "$TARPATCH" "$1" 1 size 8000000000; }
make_size_not_octal() { cp "$WORK/good.xva" "$1"; python3 - "$1" <<'PY'
import sys
p = sys.argv[1]; d = bytearray(open(p, "rb").read())
ova = int(d[124:136].split(b"\0")[0].strip(), 8)
off = 512 + (ova + 511) // 512 * 512
d[off + 124:off + 136] = b"99zz99zz99z\0"
d[off + 148:off + 156] = b" " * 8
d[off + 148:off + 156] = ("%06o" % sum(d[off:off + 512])).encode() + b"\0 "
open(p, "wb").write(d)
PY
}
make_symlink() { cp "$WORK/good.xva" "$1"; python3 "$TARPATCH" "$1" 3 typeflag 2; python3 "$TARPATCH" "$1" 3 linkname /etc/passwd; }
make_hardlink() { cp "$WORK/good.xva" "$1"; python3 "$TARPATCH" "$1" 3 typeflag 1; python3 "$TARPATCH" "$1" 3 linkname ova.xml; }
make_device() { cp "$WORK/good.xva" "$1"; python3 "$TARPATCH" "$1" 3 typeflag 3; }
make_fifo() { cp "$WORK/good.xva" "$1"; python3 "$TARPATCH" "$1" 3 typeflag 6; }
make_cut_data() { head -c 2000000 "$WORK/good.xva" >"$1"; }
make_cut_marker() { head -c $(($(stat -c %s "$WORK/good.xva") - 1024)) "$WORK/good.xva" >"$1"; }
make_trailing_garbage() { cat "$WORK/good.xva" >"$1"; head -c 3000 /dev/urandom >>"$1"; }
make_dotdot() { spec "$1" "Ref:1/../00000000 512"; }
make_absolute() { spec "$1" "/Ref:1/00000000 512"; }
make_newline() { spec "$1" "Ref:1/00000000 512"; python3 "$TARPATCH" "$1" 0 name $'Ref:1\n/00000000'; }
make_control() { spec "$1" "Ref:1/00000000 512"; python3 "$TARPATCH" "$1" 0 name $'Ref:\x01/00000000'; }
make_nested() { spec "$1" "a/Ref:1/00000000 512"; }
make_stray() { spec "$1" "Ref:1/00000000 512" "notes.txt 10"; }
make_21_digits() { spec "$1" "Ref:1/100000000000000000000 512"; }
make_huge_number() { spec "$1" "Ref:1/18446744073709551615 512"; }
make_gap_overflow() { spec "$1" "Ref:1/00000000 4096" "Ref:1/18446744073709551615 4096"; }
make_reserved_prefix() { spec "$1" "by-label/00000000 512"; }
make_no_prefix() { spec "$1" "./00000000 512"; }
make_two_ova() { printf '<value/>' >"$1.xml"; spec "$1" "ova.xml @$1.xml" "ova.xml @$1.xml"; }
make_md5() { spec "$1" "Ref:1/00000000 512" "Ref:1/00000000.md5 32"; }
make_decreasing() { spec "$1" "Ref:1/00000000 4096" "Ref:1/00000002 4096" "Ref:1/00000001 4096"; }
make_repeated() { spec "$1" "Ref:1/00000000 4096" "Ref:1/00000000 4096"; }
make_short_middle() { spec "$1" "Ref:1/00000000 4096" "Ref:1/00000001 100" "Ref:1/00000002 4096"; }
make_long_chunk() { spec "$1" "Ref:1/00000000 4096" "Ref:1/00000001 8192"; }
make_interleaved() { spec "$1" "Ref:1/00000000 512" "Ref:2/00000000 512" "Ref:1/00000001 512"; }
make_sum_first() { spec "$1" "Ref:1/00000000.xxhash 16" "Ref:1/00000000 512"; }
make_sum_wrong_number() { spec "$1" "Ref:1/00000000 512" "Ref:1/00000007.xxhash 16"; }
make_sum_twice() { spec "$1" "Ref:1/00000000 512" "Ref:1/00000000.xxhash 16" "Ref:1/00000000.xxhash 16"; }
make_mixed_sums() { spec "$1" "Ref:1/00000000 512" "Ref:1/00000000.xxhash 16" "Ref:1/00000001 512" "Ref:1/00000001.checksum 40"; }
make_all_zero() { head -c 20480 /dev/zero >"$1"; }
make_empty_tar() { tar -cf "$1" -T /dev/null; }
make_ovf() { spec "$1" "web01.ovf 512" "web01-disk1.vmdk 4096"; }
make_missing_sum() { "$MKXVA" --drop-checksum 1 "$1" "$WORK/disk.img=Ref:1"; }
make_sum_length() { spec "$1" "Ref:1/00000000 512" "Ref:1/00000000.xxhash 17"; }
make_not_xml() { ova "$1" "this is not xml"; }
make_deep() { ova "$1" "$(printf '<value>%.0s' $(seq 1 5000))"; }
make_laughs() { ova "$1" '<!DOCTYPE v [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><value>&d;</value>'; }
make_external() { ova "$1" '<!DOCTYPE v [<!ENTITY x SYSTEM "file:///etc/passwd">]><value>&x;</value>'; }
make_size_text() { ova "$1" "$(vdi "$(field virtual_size abc)")"; }
make_size_negative() { ova "$1" "$(vdi "$(field virtual_size -5)")"; }
make_size_huge() { ova "$1" "$(vdi "$(field virtual_size 99999999999999999999)")"; }
make_size_small() { ova "$1" "$(vdi "$(field virtual_size 4096)")"; }
make_size_struct() { ova "$1" "$(vdi "$(field virtual_size '<struct></struct>')")"; }
make_missing_refs() { ova "$1" "$(vdi "$(field virtual_size 4196)$(field SR Ref:404)")"; }
make_legacy() { ova "$1" '<appliance version="0.1"/>'; }
make_no_objects() { ova "$1" '<value><struct><member><name>objects</name><value>none</value></member></struct></value>'; }
make_object_no_class() { ova "$1" '<value><struct><member><name>objects</name><value><array><data><value><struct><member><name>id</name><value>Ref:1</value></member></struct></value></data></array></value></member></struct></value>'; }

# NAME  COMMAND  STATUS  REGEX (on stdout and stderr)
table='
random                list   2 not a tar archive
empty                 list   2 the file is empty
xz                    list   2 xz-compressed
bzip2                 list   2 bzip2-compressed
bad_first_checksum    list   2 not a tar archive
bad_second_checksum   list   2 damaged tar header at byte [0-9]+ after member ova.xml
b256_size             list   2 member Ref:1/00000001 at byte [0-9]+ is 4611686018427387904 bytes, longer than the block size
size_past_eof         list   0 truncated: member Ref:1/00000003.xxhash .*needs 8000000000 data bytes
first_chunk_huge      list   2 member Ref:1/00000000 at byte [0-9]+ is 8000000000 bytes, too large for a chunk
size_not_octal        list   2 damaged tar header|not part of an export|truncated
symlink               list   2 is a link
hardlink              list   2 is a link
device                list   2 is not a regular file
fifo                  list   2 is not a regular file
cut_data              list   0 truncated: member Ref:1/
cut_marker            list   0 without the end-of-archive marker
trailing_garbage      list   0 Ref:1
dotdot                list   2 has a .\.\.. component
absolute              list   2 has an absolute path
newline               list   2 has a control character
control               list   2 has a control character
nested                list   2 is not part of an export
stray                 list   2 member notes.txt at byte [0-9]+ is not part of an export
21_digits             list   2 is not part of an export
huge_number           list   2 missing blocks before any member with data
gap_overflow          list   2 puts the disk past 2\^63 bytes
reserved_prefix       list   2 a disk prefix the mount reserves
no_prefix             list   2 is not part of an export
two_ova               list   2 second ova.xml member
md5                   list   0 1 checksum member is out of place, misnamed or of the other kind
decreasing            list   2 member numbers must increase
repeated              list   2 member numbers must increase
short_middle          list   2 is 100 bytes, neither the block size 4096 nor 0
long_chunk            list   2 longer than the block size 4096
interleaved           list   2 members of disk Ref:1 resume after members of disk Ref:2
sum_first             list   2 checksum member 0 of disk Ref:1 at byte [0-9]+ comes before any data member
sum_wrong_number      list   0 disk Ref:1: 1 checksum member is out of place
sum_twice             list   0 disk Ref:1: 1 checksum member is out of place
mixed_sums            list   0 disk Ref:1: 1 checksum member is out of place, misnamed or of the other kind
mixed_sums            verify 4 Ref:1/00000001 .*no checksum member follows it
all_zero              list   2 not an export: the tar holds neither ova.xml nor any disk data \(it is empty or all zeros\)
empty_tar             list   2 not an export: the tar holds neither ova.xml nor any disk data
ovf                   list   2 this is an OVF package \(member web01.ovf\)
missing_sum           verify 5 Ref:1/00000001 .*no checksum member follows it
sum_length            verify 5 holds 17 bytes, not the 16 of a checksum text
not_xml               list   2 ova.xml line 1: not well-formed XML
deep                  list   2 ova.xml line 1: not well-formed XML
laughs                list   2 ova.xml .*(DTD|entity)
external              list   2 ova.xml declares a DTD
size_text             list   2 virtual_size "abc" is not a byte count
size_negative         list   2 virtual_size "-5" is not a byte count
size_huge             list   2 virtual_size "99999999999999999999" is not a byte count
size_small            list   2 its data runs to byte 4196, past the VDI.s virtual_size of 4096 bytes
size_struct           list   2 field virtual_size is not a scalar
missing_refs          list   0 Ref:1
legacy                list   2 legacy XenSource 3.x appliance
no_objects            list   2 ova.xml has no objects array
object_no_class       list   2 an object lacks its class, id or snapshot
'

count=0
while read -r name cmd want regex; do
	[ -n "$name" ] || continue
	file=$WORK/$name.xva
	"make_$name" "$file"
	rc=0
	timeout "$XVAFS_TEST_HANG_GUARD" "$XVAFS" "--$cmd" "$file" >"$WORK/out" 2>&1 || rc=$?
	[ "$rc" != 124 ] || fail "$name: xvafs --$cmd hung"
	[ "$rc" = "$want" ] || { cat "$WORK/out"; fail "$name: exit status $rc, expected $want"; }
	grep -Eq -- "$regex" "$WORK/out" || { cat "$WORK/out"; fail "$name: output does not match /$regex/"; }
	if [ "$want" = 2 ]; then
		[ "$(wc -l <"$WORK/out")" = 1 ] && grep -q "^xvafs: $file: " "$WORK/out" ||
			{ cat "$WORK/out"; fail "$name: not one line naming the file"; }
	fi
	count=$((count + 1))
done <<<"$table"
[ "$count" -ge 40 ] || fail "only $count cases"
echo "PASS: $count malformed exports, each refused or served with the expected message"
