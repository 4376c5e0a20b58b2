# shellcheck shell=bash
# Disk images with partitions, LVM volumes and filesystems, made with the
# real tools only (sfdisk, lvm2, mkfs.*), and the bytes each partition and
# LV must hold, taken from what those tools report -- never from xvafs's
# own code. Sourced (bash) by e2e/guest.sh; every function writes into
# the folder it is given.
#
#   gf_partitions DIR   mbr.img (primaries, extended, logicals; ext4,
#                       vfat, ntfs, xfs, swap), gpt.img (names; vfat,
#                       ext4), gpt-bad.img (its primary header broken),
#                       btrfs.img and luks.img (no partition table); the
#                       ext4, ntfs, xfs and btrfs filesystems hold
#                       DIR/content's files (ntfs: the top-level ones)
#   gf_lvm DIR          (root, loop devices) lvm.img: a PV in logical
#                       partition 5 with VolGroup00/LogVol00 (two
#                       segments, ext4) and LogVol01 (swap); sa.img and
#                       sb.img: whole-disk PVs of VG vgs with data, striped
#                       -i2 -I64k (ext4 holding random.bin); d1.img and
#                       d2.img: two VGs both named VolGroup00
#   gf_refused DIR      (root, loop devices) refused.img: a whole-disk PV
#                       of VG vgr with base (linear, random bytes), lv_zero
#                       (a zero segment), lv_error (an error segment), r5
#                       (raid5 over hidden sub-LVs) and snap (a snapshot of
#                       base); r5 and snap written by vgcfgrestore from
#                       metadata lvm2 itself backed up, with them added
#
# For each LV, DIR/lv/VG-LV.img holds the bytes it must read as, and
# DIR/lv/VG-LV.dev the image(s) it lives on. lvm2 runs with a private
# configuration (LVM_SYSTEM_DIR in DIR: no /etc/lvm, no backups, no udev)
# and --devices naming only the fixtures' loop devices, and creates LVs
# with --driverloaded n (no device-mapper): the LVs' contents are then
# placed by gf_scatter from `lvs --segments` and `pvs`' report.
#
# The caller provides LOOPS (an array the cleanup detaches, as lib.sh's).

# mkfs.xfs refuses filesystems under 300 MB unless run as a test.
export TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1
export LVM_SUPPRESS_FD_WARNINGS=1

gf_mkfs_into() { # gf_mkfs_into IMAGE START_SECTOR SECTORS KIND ARGS...: a
	# filesystem made in a file of the partition's size, copied in place
	local img=$1 start=$2 sectors=$3 kind=$4 part
	shift 4
	part=$(mktemp "$(dirname "$img")/part.XXXXXX")
	truncate -s $((sectors * 512)) "$part"
	local content
	content=$(dirname "$img")/content
	case $kind in
	ext4) mkfs.ext4 -q -F "$@" "$part" ;;
	vfat) mkfs.vfat "$@" "$part" >/dev/null 2>&1 ;;
	ntfs)
		mkntfs -q -F -f "$@" "$part" >/dev/null 2>&1
		# ntfscp writes into the image as a file: no mount, no root.
		ntfscp -q "$part" "$content/hello.txt" hello.txt
		ntfscp -q "$part" "$content/random.bin" random.bin
		;;
	xfs) mkfs.xfs -q -f -p "$(gf_xfs_proto "$content" "$part.proto")" "$@" "$part" ;;
	swap) mkswap "$@" "$part" >/dev/null 2>&1 ;;
	esac
	dd if="$part" of="$img" bs=512 seek="$start" conv=notrunc,sparse status=none
	rm -f "$part"
}

gf_xfs_proto() { # gf_xfs_proto CONTENT FILE: mkfs.xfs's prototype of
	# CONTENT's files (no mount needed); prints FILE
	cat >"$2" <<-EOF
		/dev/null
		0 0
		d--755 0 0
		hello.txt ---644 0 0 $1/hello.txt
		random.bin ---644 0 0 $1/random.bin
		sub d--755 0 0
		numbers.txt ---644 0 0 $1/sub/numbers.txt
		\$
		\$
	EOF
	echo "$2"
}

gf_content() { # gf_content DIR: files for the filesystems to hold
	mkdir -p "$1/content/sub"
	echo "hello from the guest" >"$1/content/hello.txt"
	head -c 300000 /dev/urandom >"$1/content/random.bin"
	seq 1 20000 >"$1/content/sub/numbers.txt"
}

# sfdisk's start and size (sectors) of partition N of IMAGE.
gf_part() {
	sfdisk --json "$1" | python3 -c '
import json, sys
for p in json.load(sys.stdin)["partitiontable"]["partitions"]:
    if p["node"] == sys.argv[1] + sys.argv[2]:
        print(p["start"], p["size"])' "$1" "$2"
}

gf_partitions() {
	local d=$1 s
	gf_content "$d"
	truncate -s 200M "$d/mbr.img"
	sfdisk -q "$d/mbr.img" <<-'EOF'
		label: dos
		label-id: 0x5ca1ab1e
		start=2048, size=32768, type=83, bootable
		start=34816, type=5
		start=36864, size=16384, type=c
		start=55296, size=24576, type=7
		start=81920, size=102400, type=83
		start=186368, size=8192, type=82
	EOF
	read -r s _ < <(gf_part "$d/mbr.img" 1)
	gf_mkfs_into "$d/mbr.img" "$s" 32768 ext4 -L rootfs -d "$d/content"
	gf_mkfs_into "$d/mbr.img" 36864 16384 vfat -n BOOTFAT
	gf_mkfs_into "$d/mbr.img" 55296 24576 ntfs -L WinData
	gf_mkfs_into "$d/mbr.img" 81920 102400 xfs -L xfsdata
	gf_mkfs_into "$d/mbr.img" 186368 8192 swap -L swappy
	truncate -s 64M "$d/gpt.img"
	sfdisk -q "$d/gpt.img" <<-'EOF'
		label: gpt
		start=2048, size=16384, type=U, name="EFI system"
		start=18432, size=40960, type=L, name="root fs"
		start=59392, size=40000, type=E6D6D379-F507-44C2-A23C-238F2A3DF928, name=lvm
	EOF
	gf_mkfs_into "$d/gpt.img" 2048 16384 vfat -F 32 -n ESP
	gf_mkfs_into "$d/gpt.img" 18432 40960 ext4 -L gptroot -d "$d/content"
	cp "$d/gpt.img" "$d/gpt-bad.img"
	# The primary header's CRC, broken: the backup must be read.
	printf '\xde\xad' | dd of="$d/gpt-bad.img" bs=1 seek=528 conv=notrunc status=none
	truncate -s 160M "$d/btrfs.img"
	mkfs.btrfs -q -f -L btrlabel --rootdir "$d/content" "$d/btrfs.img" >/dev/null
	truncate -s 20M "$d/luks.img"
	echo -n secret | cryptsetup luksFormat -q --type luks2 --label cryptlabel \
		--pbkdf pbkdf2 --pbkdf-force-iterations 1000 "$d/luks.img" - >/dev/null
}

# --- LVM ---

gf_lvm_env() { # a configuration of the fixtures' own
	mkdir -p "$1/lvmconf"
	cat >"$1/lvmconf/lvm.conf" <<-'EOF'
		devices { use_devicesfile = 0 obtain_device_list_from_udev = 0 }
		global { event_activation = 0 }
		activation { udev_sync = 0 udev_rules = 0 monitoring = 0 }
		backup { backup = 0 archive = 0 }
	EOF
	export LVM_SYSTEM_DIR=$1/lvmconf
}

gf_loop() { # gf_loop VAR IMAGE [OFFSET SIZE]: a loop device in VAR
	local dev
	if [ $# -gt 2 ]; then
		dev=$(losetup --find --show -o "$3" --sizelimit "$4" "$2")
	else
		dev=$(losetup --find --show "$2")
	fi
	LOOPS+=("$dev")
	printf -v "$1" %s "$dev"
}

# gf_scatter VG LV CONTENT DEVICES MAP: writes CONTENT (the LV's bytes)
# where lvm2 says the LV's extents are: MAP lines "LOOPDEV IMAGE OFFSET"
# give the image file and byte offset behind each loop device.
gf_scatter() {
	local vg=$1 lv=$2 content=$3 devs=$4 map=$5 es segs pes
	es=$(vgs --devices "$devs" --noheadings --units b --nosuffix -o vg_extent_size "$vg" | tr -d ' ')
	segs=$(lvs --devices "$devs" --segments --noheadings --units b --nosuffix \
		-o seg_start,seg_size,stripes,stripe_size,seg_pe_ranges "$vg/$lv")
	pes=$(pvs --devices "$devs" --noheadings --units b --nosuffix -o pv_name,pe_start)
	python3 - "$content" "$es" "$map" "$segs" "$pes" <<-'EOF'
		import sys
		content, es, maptext, segs, pes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
		where = {l.split()[0]: (l.split()[1], int(l.split()[2])) for l in maptext.splitlines() if l.strip()}
		pe_start = {l.split()[0]: int(l.split()[1]) for l in pes.splitlines() if l.strip()}
		data = open(content, "rb").read()
		files = {}
		def put(dev, pe, off_in_stripe, chunk):
		    img, base = where[dev]
		    f = files.setdefault(img, open(img, "r+b"))
		    f.seek(base + pe_start[dev] + pe * es + off_in_stripe)
		    f.write(chunk)
		for line in segs.splitlines():
		    f = line.split()
		    if not f:
		        continue
		    start, size, n, ss = int(f[0]), int(f[1]), int(f[2]), int(f[3])
		    ranges = [(r.rsplit(":", 1)[0], int(r.rsplit(":", 1)[1].split("-")[0])) for r in f[4:]]
		    if n == 1:
		        put(ranges[0][0], ranges[0][1], 0, data[start:start + size])
		        continue
		    # dm-stripe: chunk k of the segment goes to stripe k % n, row k // n.
		    for k in range(size // ss):
		        dev, pe = ranges[k % n]
		        put(dev, pe, (k // n) * ss, data[start + k * ss:start + (k + 1) * ss])
		for f in files.values():
		    f.close()
	EOF
}

# The size in bytes of LV VG/LV.
gf_lv_size() {
	lvs --devices "$3" --noheadings --units b --nosuffix -o lv_size "$1/$2" | tr -d ' '
}

gf_lvm() {
	local d=$1 p5 s5 n5 sa sb d1 d2 size all
	gf_lvm_env "$d"
	mkdir -p "$d/lv"
	[ -d "$d/content" ] || gf_content "$d"
	# A PV in logical partition 5, as Debian's guided LVM layout.
	truncate -s 96M "$d/lvm.img"
	sfdisk -q "$d/lvm.img" <<-'EOF'
		label: dos
		start=2048, size=16384, type=83
		start=18432, type=5
		start=20480, type=8e
	EOF
	gf_mkfs_into "$d/lvm.img" 2048 16384 ext4 -L boot
	read -r s5 n5 < <(gf_part "$d/lvm.img" 5)
	gf_loop p5 "$d/lvm.img" $((s5 * 512)) $((n5 * 512))
	pvcreate -q --devices "$p5" "$p5" >/dev/null
	vgcreate -q --devices "$p5" -s 4M VolGroup00 "$p5" >/dev/null
	lvcreate -q --devices "$p5" --driverloaded n -an -Zn -l 3 -n LogVol00 VolGroup00 >/dev/null
	lvcreate -q --devices "$p5" --driverloaded n -an -Zn -l 2 -n LogVol01 VolGroup00 >/dev/null
	lvextend -q --devices "$p5" --driverloaded n -l +3 VolGroup00/LogVol00 >/dev/null
	size=$(gf_lv_size VolGroup00 LogVol00 "$p5")
	truncate -s "$size" "$d/lv/VolGroup00-LogVol00.img"
	mkfs.ext4 -q -F -L lvroot -d "$d/content" "$d/lv/VolGroup00-LogVol00.img"
	gf_scatter VolGroup00 LogVol00 "$d/lv/VolGroup00-LogVol00.img" "$p5" "$p5 $d/lvm.img $((s5 * 512))"
	size=$(gf_lv_size VolGroup00 LogVol01 "$p5")
	truncate -s "$size" "$d/lv/VolGroup00-LogVol01.img"
	mkswap -L lvswap "$d/lv/VolGroup00-LogVol01.img" >/dev/null 2>&1
	gf_scatter VolGroup00 LogVol01 "$d/lv/VolGroup00-LogVol01.img" "$p5" "$p5 $d/lvm.img $((s5 * 512))"
	echo "$d/lvm.img" >"$d/lv/VolGroup00-LogVol00.dev"
	echo "$d/lvm.img" >"$d/lv/VolGroup00-LogVol01.dev"

	# Two whole-disk PVs, one LV striped over both.
	truncate -s 48M "$d/sa.img" "$d/sb.img"
	gf_loop sa "$d/sa.img"
	gf_loop sb "$d/sb.img"
	all=$sa,$sb
	pvcreate -q --devices "$all" "$sa" "$sb" >/dev/null
	vgcreate -q --devices "$all" -s 4M vgs "$sa" "$sb" >/dev/null
	lvcreate -q --devices "$all" --driverloaded n -an -Zn -i2 -I64k -l 8 -n data vgs >/dev/null
	size=$(gf_lv_size vgs data "$all")
	truncate -s "$size" "$d/lv/vgs-data.img"
	mkfs.ext4 -q -F -L striped -d "$d/content" "$d/lv/vgs-data.img"
	gf_scatter vgs data "$d/lv/vgs-data.img" "$all" "$sa $d/sa.img 0
$sb $d/sb.img 0"
	printf '%s\n' "$d/sa.img" "$d/sb.img" >"$d/lv/vgs-data.dev"

	# Two VGs of one name on two disks (clones of a template).
	truncate -s 24M "$d/d1.img" "$d/d2.img"
	gf_loop d1 "$d/d1.img"
	gf_loop d2 "$d/d2.img"
	for x in 1 2; do
		local dev
		[ $x = 1 ] && dev=$d1 || dev=$d2
		pvcreate -q --devices "$dev" "$dev" >/dev/null
		vgcreate -q --devices "$dev" -s 4M VolGroup00 "$dev" >/dev/null
		lvcreate -q --devices "$dev" --driverloaded n -an -Zn -l $((x + 1)) -n LogVol00 VolGroup00 >/dev/null
		size=$(gf_lv_size VolGroup00 LogVol00 "$dev")
		head -c "$size" /dev/urandom >"$d/lv/dup$x.img"
		gf_scatter VolGroup00 LogVol00 "$d/lv/dup$x.img" "$dev" "$dev $d/d$x.img 0"
	done
}

# gf_refused DIR: LVs lvm2 describes but xvafs does not serve. lvm2 makes
# error and zero segments without device-mapper; raid5 and snapshots it
# refuses to create without it, so they are added to the metadata lvm2
# backed up and restored with vgcfgrestore, which checks them.
gf_refused() {
	local d=$1 r size
	gf_lvm_env "$d"
	mkdir -p "$d/lv"
	truncate -s 64M "$d/refused.img"
	gf_loop r "$d/refused.img"
	pvcreate -q --devices "$r" "$r" >/dev/null
	vgcreate -q --devices "$r" -s 4M vgr "$r" >/dev/null
	lvcreate -q --devices "$r" --driverloaded n -an -Zn -l 2 -n base vgr >/dev/null
	lvcreate -q --devices "$r" --driverloaded n -an -Zn --type error -l 2 -n lv_error vgr >/dev/null
	lvcreate -q --devices "$r" --driverloaded n -an -Zn --type zero -l 2 -n lv_zero vgr >/dev/null
	size=$(gf_lv_size vgr base "$r")
	head -c "$size" /dev/urandom >"$d/lv/vgr-base.img"
	gf_scatter vgr base "$d/lv/vgr-base.img" "$r" "$r $d/refused.img 0"
	head -c "$(gf_lv_size vgr lv_zero "$r")" /dev/zero >"$d/lv/vgr-lv_zero.img"
	vgcfgbackup -q --devices "$r" -f "$d/vgr.backup" vgr >/dev/null
	python3 - "$d/vgr.backup" "$d/vgr.restore" <<-'EOF'
		import hashlib, string, sys
		text = open(sys.argv[1]).read()
		def uuid(name):
		    a = string.ascii_letters + string.digits
		    c = "".join(a[b % 62] for b in hashlib.sha256(name.encode()).digest())[:32]
		    return "-".join(c[i:j] for i, j in ((0, 6), (6, 10), (10, 14), (14, 18), (18, 22), (22, 26), (26, 32)))
		def lv(name, status, seg):
		    body = "".join("%s = %s\n" % kv for kv in seg)
		    return ('%s {\nid = "%s"\nstatus = [%s]\nflags = []\nsegment_count = 1\n'
		            'segment1 {\nstart_extent = 0\n%s}\n}\n') % (
		        name, uuid(name), ", ".join('"%s"' % s for s in status), body)
		def linear(pe):
		    return [("extent_count", 1), ("type", '"striped"'), ("stripe_count", 1),
		            ("stripes", '["pv0", %d]' % pe)]
		# PEs 0-1 are base's; error and zero segments take none.
		add = lv("r5", ["READ", "WRITE", "VISIBLE"], [
		    ("extent_count", 2), ("type", '"raid5"'), ("device_count", 3),
		    ("stripe_size", 128), ("region_size", 1024),
		    ("raids", "[%s]" % ", ".join('"r5_rmeta_%d", "r5_rimage_%d"' % (i, i) for i in range(3)))])
		for i in range(3):
		    add += lv("r5_rmeta_%d" % i, ["READ", "WRITE"], linear(2 + 2 * i))
		    add += lv("r5_rimage_%d" % i, ["READ", "WRITE"], linear(3 + 2 * i))
		add += lv("snap", ["READ", "VISIBLE"], linear(8))
		add += lv("snapshot0", ["READ", "WRITE"], [
		    ("extent_count", 1), ("type", '"snapshot"'), ("chunk_size", 8),
		    ("origin", '"base"'), ("cow_store", '"snap"')])
		end = text.rindex("\t}\n\n}")
		open(sys.argv[2], "w").write(text[:end] + add + text[end:])
	EOF
	vgcfgrestore -q --devices "$r" -f "$d/vgr.restore" vgr >/dev/null
	[ "$(lvs --devices "$r" --noheadings -o segtype vgr/r5 | tr -d ' ')" = raid5 ] ||
		{ echo "gf_refused: lvm2 did not take the raid5 LV" >&2; return 1; }
}
