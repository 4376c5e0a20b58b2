#!/usr/bin/env bash
# Every kind of bad input gets one clear line on stderr that names the file
# and what is wrong, exit status 2, and nothing mounted. These fail before
# mounting, so they need neither root nor /dev/fuse.
. "$(dirname "$0")/lib.sh"

MIB=1048576
MNT=$WORK/mnt
mkdir -p "$MNT"
make_image "$WORK/disk.img" $((5 * MIB + 100))
"$MKXVA" "$WORK/good.xva" "$WORK/disk.img=Ref:1"

# refused FILE STATUS REGEX: xvafs must exit STATUS with one stderr line
# "xvafs: FILE: ..." matching REGEX, and mount nothing.
refused() {
	local file=$1 want=$2 regex=$3 rc=0 err=$WORK/err
	note "$(basename "$file"): $regex"
	timeout "$XVAFS_TEST_HANG_GUARD" "$XVAFS" "$file" "$MNT" 2>"$err" || rc=$?
	if is_mounted "$MNT"; then
		fusermount3 -u "$MNT"
		fail "$file was mounted"
	fi
	[ "$rc" = "$want" ] || { cat "$err" >&2; fail "$file: exit status $rc, expected $want"; }
	[ "$(wc -l <"$err")" = 1 ] || { cat "$err" >&2; fail "$file: expected one line on stderr"; }
	grep -q "^xvafs: $file: " "$err" || { cat "$err" >&2; fail "$file: message does not name the file"; }
	grep -Eq "$regex" "$err" || { cat "$err" >&2; fail "$file: message does not match /$regex/"; }
}

spec() { # spec NAME LINES...: an export with exactly these members
	local name=$1
	shift
	printf '%s\n' "$@" >"$WORK/$name.spec"
	"$MKXVA" --spec "$WORK/$name.spec" "$WORK/$name.xva"
}

xml() { # xml NAME TEXT: an export whose ova.xml is TEXT, with one disk
	printf '%s' "$2" >"$WORK/$1.xml"
	spec "$1" "ova.xml @$WORK/$1.xml" "Ref:1/00000000 4096" "Ref:1/00000001 100"
}

head -c 4096 /dev/urandom >"$WORK/random.xva"
refused "$WORK/random.xva" 2 "not a tar archive"
: >"$WORK/empty.xva"
refused "$WORK/empty.xva" 2 "the file is empty"
printf '\xfd7zXZ\0rest' >"$WORK/xz.xva"
refused "$WORK/xz.xva" 2 "xz-compressed; xvafs reads plain, gzip and zstd exports"
refused "$WORK/missing.xva" 2 "cannot open: No such file"
refused "$WORK" 2 "a folder, and not a Xen Orchestra backup repository \\(it has no xo-vm-backups/\\): give a \\.xva file, or a repository's root$"

# Disk images people mistake for exports are named, with what reads
# them, whatever their first bytes (a fixed VHD and an ISO start with
# zeros, and read as an empty tar).
if command -v qemu-img >/dev/null; then
	qemu-img create -q -f qcow2 "$WORK/img.qcow2" 1G
	refused "$WORK/img.qcow2" 2 "not an export but a qcow2 disk image \(version 3, virtual size 1.0 GiB\): qemu-img"
	qemu-img create -q -f vpc "$WORK/dynamic.vhd" 1G
	refused "$WORK/dynamic.vhd" 2 "not an export but a dynamic VHD disk image .*format vpc"
	qemu-img create -q -f vpc -o subformat=fixed "$WORK/fixed.vhd" 8M
	refused "$WORK/fixed.vhd" 2 "not an export but a fixed VHD disk image \(virtual size 8.0 MiB\)"
	qemu-img create -q -f vhdx "$WORK/img.vhdx" 1G
	refused "$WORK/img.vhdx" 2 "not an export but a VHDX disk image"
	qemu-img create -q -f vmdk "$WORK/img.vmdk" 1G
	refused "$WORK/img.vmdk" 2 "not an export but a VMDK disk image"
	qemu-img create -q -f vdi "$WORK/img.vdi" 1G
	refused "$WORK/img.vdi" 2 "not an export but a VirtualBox VDI disk image"
else
	note "SKIP part: qemu-img (qemu-utils) is not installed: image formats not checked"
fi
# A partition or LV saved alone (no partition table) is named by what it
# holds, as --list names it, instead of "empty or all zeros" (ext4 starts
# with a zero KiB, which ends a tar) or the tar reader's words (FAT).
mkdir -p "$WORK/fsfiles"
echo "hello" >"$WORK/fsfiles/hello.txt"
if command -v mkfs.ext4 >/dev/null; then
	mkfs.ext4 -q -F -L rootfs -U 0c3f2d1e-8b7a-4c6d-9e5f-1a2b3c4d5e6f -d "$WORK/fsfiles" "$WORK/ext4.img" 8M
	refused "$WORK/ext4.img" 2 'not an export but a filesystem image \(ext4 1\.0 "rootfs" 0c3f2d1e-8b7a-4c6d-9e5f-1a2b3c4d5e6f\): mount it with mount -o loop,ro'
	truncate -s 8M "$WORK/swap.img"
	mkswap -q -U 11111111-2222-3333-4444-555555555555 "$WORK/swap.img" >/dev/null
	refused "$WORK/swap.img" 2 "not an export but a swap area \(swap 1 11111111-2222-3333-4444-555555555555\)$"
fi
if command -v mkfs.vfat >/dev/null; then
	mkfs.vfat -C -i 1234ABCD "$WORK/fat.img" 4096 >/dev/null
	refused "$WORK/fat.img" 2 "not an export but a filesystem image \(vfat FAT12 1234-ABCD\)"
fi
# Zeros, then data that is nothing known: not said to be all zeros.
{ head -c 8192 /dev/zero; printf 'some data'; } >"$WORK/zerostart.bin"
refused "$WORK/zerostart.bin" 2 "\(it starts with zeros, which end a tar, and holds data after them\)$"
head -c 8192 /dev/zero >"$WORK/zeros.bin"
refused "$WORK/zeros.bin" 2 "\(it is empty or all zeros\)$"

# A raw disk's message lists its partitions, ready for mount -o
# loop,ro,offset=N: each one's number and byte offset as sfdisk reports
# them, the extended partition (a container) left out.
lists_partitions() { # lists_partitions IMAGE (its message in $WORK/err)
	sfdisk --json "$1" >"$WORK/sfdisk.json"
	python3 - "$1" "$WORK/sfdisk.json" "$WORK/err" <<-'EOF' || fail "$1: partitions not listed as sfdisk has them"
		import json, re, sys
		img, sf, err = sys.argv[1:4]
		t = json.load(open(sf))["partitiontable"]
		msg = open(err).read()
		ssz = t.get("sectorsize", 512)
		want = [(int(p["node"][len(img):]), p["start"] * ssz)
		        for p in t["partitions"]
		        if p["type"].lower() not in ("5", "f", "85")]
		got = [(int(n), int(o)) for n, o in
		       re.findall(r"[:;] (\d+): offset (\d+), ", msg)]
		if got != want:
		    sys.exit("%s: listed %s, sfdisk has %s:\n%s" % (img, got, want, msg))
	EOF
}
truncate -s 16M "$WORK/mbr.img" "$WORK/gpt.img"
printf '%s\n' size=4M,type=83 size=2M,type=82 type=5 size=3M,type=83 \
	size=2M,type=8e | sfdisk -q "$WORK/mbr.img"
refused "$WORK/mbr.img" 2 "not an export but a raw disk image with an MBR partition table: it is already what xvafs serves.*; its partitions: 1: offset 1048576, 4.0 MiB, Linux; 2: "
lists_partitions "$WORK/mbr.img"
printf '%s\n' size=4M,type=U size=6M,type=L size=2M,type=S |
	sfdisk -q -X gpt "$WORK/gpt.img"
sum=$(cksum <"$WORK/gpt.img")
refused "$WORK/gpt.img" 2 "not an export but a raw disk image with a GPT partition table.*; its partitions: 1: offset 1048576, 4.0 MiB, EFI System; 2: "
lists_partitions "$WORK/gpt.img"
[ "$(cksum <"$WORK/gpt.img")" = "$sum" ] || fail "gpt.img was changed"
if command -v xorriso >/dev/null; then
	mkdir -p "$WORK/iso"
	echo hello >"$WORK/iso/file"
	xorriso -as mkisofs -quiet -o "$WORK/img.iso" "$WORK/iso" 2>/dev/null
	refused "$WORK/img.iso" 2 "not an export but an ISO 9660"
else
	note "SKIP part: xorriso is not installed: ISO images not checked"
fi

# A damaged header: one bit of the first chunk's name flipped.
cp "$WORK/good.xva" "$WORK/bad-header.xva"
at=$(grep -boa 'Ref:1/00000000' "$WORK/bad-header.xva" | head -1 | cut -d: -f1)
printf 'S' | dd of="$WORK/bad-header.xva" bs=1 seek="$at" conv=notrunc status=none
refused "$WORK/bad-header.xva" 2 "damaged tar header at byte $at after member ova.xml"

spec decreasing "Ref:1/00000000 4096" "Ref:1/00000002 4096" "Ref:1/00000001 4096"
refused "$WORK/decreasing.xva" 2 "member Ref:1/00000001 .*follows Ref:1/00000002: member numbers must increase"
spec repeated "Ref:1/00000000 4096" "Ref:1/00000000 4096"
refused "$WORK/repeated.xva" 2 "numbers must increase"
spec short-middle "Ref:1/00000000 4096" "Ref:1/00000001 100" "Ref:1/00000002 4096"
refused "$WORK/short-middle.xva" 2 "member Ref:1/00000001 is 100 bytes, neither the block size 4096 nor 0"
spec long-chunk "Ref:1/00000000 4096" "Ref:1/00000001 8192"
refused "$WORK/long-chunk.xva" 2 "member Ref:1/00000001 .* longer than the block size 4096"
spec interleaved "Ref:1/00000000 512" "Ref:2/00000000 512" "Ref:1/00000001 512"
refused "$WORK/interleaved.xva" 2 "members of disk Ref:1 resume after members of disk Ref:2"
spec stray "Ref:1/00000000 512" "notes.txt 10"
refused "$WORK/stray.xva" 2 "member notes.txt at byte [0-9]+ is not part of an export"
spec dotdot "Ref:1/../00000000 512"
refused "$WORK/dotdot.xva" 2 "member name at byte 0 has a '..' component"
spec absolute "/Ref:1/00000000 512"
refused "$WORK/absolute.xva" 2 "member name at byte 0 has an absolute path"
spec nested "a/Ref:1/00000000 512"
refused "$WORK/nested.xva" 2 "not part of an export"

"$MKXVA" --virtual-size $((5 * MIB)) "$WORK/past.xva" "$WORK/disk.img=Ref:1"
refused "$WORK/past.xva" 2 "disk Ref:1: its data runs to byte $((5 * MIB + 100)), past the VDI's virtual_size of $((5 * MIB)) bytes"
"$MKXVA" --omit-last "$WORK/short.xva" "$WORK/disk.img=Ref:1"
refused "$WORK/short.xva" 2 "disk Ref:1: its data ends at byte $((5 * MIB)), short of the VDI's virtual_size .* last chunk"

xml not-xml "this is not xml"
refused "$WORK/not-xml.xva" 2 "ova.xml line 1: not well-formed XML"
xml laughs '<!DOCTYPE v [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><value>&c;</value>'
refused "$WORK/laughs.xva" 2 "ova.xml .*(DTD|entity)"
xml external '<!DOCTYPE v [<!ENTITY x SYSTEM "file:///etc/passwd">]><value>&x;</value>'
refused "$WORK/external.xva" 2 "ova.xml declares a DTD"
xml bad-size '<value><struct><member><name>objects</name><value><array><data><value><struct><member><name>class</name><value>VDI</value></member><member><name>id</name><value>Ref:1</value></member><member><name>snapshot</name><value><struct><member><name>virtual_size</name><value>-5</value></member></struct></value></member></struct></value></data></array></value></member></struct></value>'
refused "$WORK/bad-size.xva" 2 "ova.xml line 1: virtual_size \"-5\" is not a byte count"
xml legacy '<appliance version="0.1"/>'
refused "$WORK/legacy.xva" 2 "legacy XenSource 3.x"

echo "PASS: every bad input refused with a clear message"
