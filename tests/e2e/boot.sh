# The VM boots from the backup: guests made with real tools
# (tests/guests/mkguests.sh: Debian's kernel, a busybox initramfs that
# prints a marker on the serial console, writes a file in its root file
# system and powers off) exported by mkxva with realistic VM records,
# plain and zstd, and started from fresh mounts through overlays:
#   - BIOS (MBR, extlinux) and UEFI (GPT, its loader only at
#     \EFI\debian\grubx64.efi, its Boot0001 entry in the VM record's NVRAM)
#     by the generated vm/NAME.qemu.sh as generated, the accelerator alone
#     set (XVAFS_ACCEL=tcg: KVM guests hang on this machine);
#   - the UEFI guest again with OVMF's empty variables: it ends in the UEFI
#     shell, as a migrated guest whose variables were lost; and with Secure
#     Boot on (the carried keys enforce it): its unsigned loader refused;
#   - the UEFI guest by the generated libvirt XML, libvirt's qemu driver
#     (a session daemon) starting it, the variables its <nvram> template;
#   - PV: pygrub (Xen's, as xl create runs it for bootloader="pygrub")
#     takes kernel and initrd from the served disk the generated xl config
#     names; qemu boots them with that disk as root;
#   - nbdkit with the plugin serving the BIOS guest's disk to qemu;
#   - the vTPM state carried to swtpm, which the guest sees as a TPM 2.0.
# Each: the marker on the console, the guest's file in the overlay after
# a remount, the export's hash unchanged. The time from xvafs's start to
# the marker is printed, not asserted (the wait for it is bounded only by
# the hang guard: TCG on a loaded machine is slow).
source "$(dirname "$0")/lib.sh"
need_fuse
need_root
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64 (Debian package qemu-system-x86)"
for f in OVMF_CODE_4M.fd OVMF_VARS_4M.fd; do
	[ -f "/usr/share/OVMF/$f" ] || skip "no /usr/share/OVMF/$f (Debian package ovmf)"
done
command -v zstd >/dev/null || skip "no zstd"
command -v debugfs >/dev/null || skip "no debugfs (Debian package e2fsprogs)"
rc=0
G=$(bash "$top/tests/guests/mkguests.sh" 2>"$WORK/mkguests.err") || rc=$?
if [ "$rc" = 77 ]; then
	skip "$(sed -n 's/^SKIP: //p' "$WORK/mkguests.err")"
elif [ "$rc" != 0 ]; then
	cat "$WORK/mkguests.err" >&2
	fail "making the test guests failed"
fi
EFIVARS="$top/tests/guests/efivars.py"

GUESTS=() # qemu (or script) pids, ended on exit
NBDKITS=()
boot_cleanup() {
	local p
	for p in "${GUESTS[@]}" "${NBDKITS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	cleanup
}
trap boot_cleanup EXIT

# export_guest NAME IMG PROFILE [mkxva options]: NAME.xva and
# NAME.zstd.xva, the guest's disk as xvda.
export_guest() {
	local name=$1 img=$2 profile=$3
	shift 3
	"$MKXVA" --vm "$profile" --vifs 0 "$@" "$WORK/$name.xva" "$img=Ref:10=root disk"
	zstd -q -3 -c "$WORK/$name.xva" >"$WORK/$name.zstd.xva"
	sha256sum "$WORK/$name.xva" "$WORK/$name.zstd.xva" >"$WORK/$name.sums"
}

now() { date +%s.%N; }
# console LOG: a serial console's text, without OVMF's terminal escapes.
console() { { tr -d '\r' <"$1"; } 2>/dev/null | sed 's/\x1b\[[0-9;?=]*[a-zA-Z]//g'; }
console_has() { console "$1" | grep -aE -- "$2" >/dev/null; } # all read: no SIGPIPE

# run_guest NAME LOG T0 CMD...: starts CMD (a qemu, or a script that execs
# one) with its serial console in LOG, waits for the guest's marker and
# its end, and prints the time from T0 (xvafs's start) to the marker.
run_guest() {
	local name=$1 log=$2 t0=$3 pid rc=0
	shift 3
	"$@" </dev/null >"$log" 2>&1 &
	pid=$!
	GUESTS+=("$pid")
	wait_until --pid "$pid" "$name's marker on its console" \
		console_has "$log" "XVAFS-GUEST-(UP|FAIL)|Kernel panic" ||
		{ tail -30 "$log" >&2; fail "$name: qemu ended before the guest started"; }
	console_has "$log" "XVAFS-GUEST-FAIL|Kernel panic" && { tail -30 "$log" >&2; fail "$name: the guest failed"; }
	note "$name: marker $(echo "$(now) - $t0" | bc | xargs printf '%.1f') s after xvafs started: $(console "$log" | grep -ao 'XVAFS-GUEST-UP.*')"
	wait_until --pid "$pid" "$name to power off" console_has "$log" "XVAFS-GUEST-(DONE|FAIL)|Kernel panic" ||
		{ tail -30 "$log" >&2; fail "$name: qemu ended before the guest was done"; }
	console_has "$log" "XVAFS-GUEST-FAIL|Kernel panic" && { tail -30 "$log" >&2; fail "$name: the guest failed"; }
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || { tail -30 "$log" >&2; fail "$name: qemu exited with $rc"; }
}

# guest_file DISK START_MIB SIZE_MIB: the guest's /xvafs-boots, read
# from its root file system on DISK.
guest_file() {
	dd if="$1" of="$WORK/root.img" bs=1M skip="$2" count="$3" status=none
	debugfs -R "cat /xvafs-boots" "$WORK/root.img" 2>/dev/null
}

# check_after NAME XVA OVERLAY START SIZE EXPECT: a remount with the
# overlay shows the guest's file (matching EXPECT); the export is as it was.
check_after() {
	local name=$1 xva=$2 ovl=$3 start=$4 size=$5 expect=$6 got
	mount_xva "$xva" "$WORK/mnt" -o overlay="$ovl"
	got=$(guest_file "$WORK/mnt/by-device/xvda" "$start" "$size")
	unmount_xva "$WORK/mnt"
	echo "$got" | grep -Eq -- "$expect" ||
		fail "$name: after a remount the guest's file holds \"$got\", not /$expect/"
	sha256sum -c --quiet "$WORK/$name.sums" || fail "$name: the export changed"
}

mkdir -p "$WORK/run"
cd "$WORK/run" # where the scripts put their copies of the UEFI variables

note "BIOS guest (MBR, extlinux) by the generated qemu script, plain export"
export_guest bios "$G/bios.img" hvm-bios
t0=$(now)
mount_xva "$WORK/bios.xva" "$WORK/mnt" -o overlay="$WORK/bios.ovl"
run_guest bios "$WORK/bios.log" "$t0" env XVAFS_ACCEL=tcg sh "$WORK/mnt/vm/web01.qemu.sh" -display none
unmount_xva "$WORK/mnt"
check_after bios "$WORK/bios.xva" "$WORK/bios.ovl" 1 63 "guest=bios firmware=bios"

note "UEFI guest (loader only at \\EFI\\debian\\grubx64.efi, Boot0001 in NVRAM, a vTPM) by the generated qemu script, zstd export"
# Secure Boot off (the guest's loader is unsigned); the NVRAM holds the
# keys all the same, as an XCP-ng pool's VMs do. The vTPM's state is a
# TPM 2.0 swtpm_setup made, in the VTPM object as XAPI exports it:
# "PERMALL SAVESTATE VOLATILESTATE", each base64 (the last two empty).
command -v swtpm >/dev/null && command -v swtpm_setup >/dev/null ||
	skip "no swtpm or swtpm_setup (Debian packages swtpm, swtpm-tools)"
mkdir -p "$WORK/tpm"
swtpm_setup --tpm2 --tpmstate "$WORK/tpm" --createek --overwrite >"$WORK/swtpm_setup.log" 2>&1 ||
	{ cat "$WORK/swtpm_setup.log" >&2; fail "swtpm_setup failed"; }
printf '%s  ' "$(base64 -w0 "$WORK/tpm/tpm2-00.permall")" >"$WORK/vtpm.txt"
export_guest uefi "$G/uefi.img" hvm-uefi --platform-add secureboot=false \
	--nvram "$G/uefi-nvram-v2.b64" --vtpm "$WORK/vtpm.txt"
t0=$(now)
mount_xva "$WORK/uefi.zstd.xva" "$WORK/mnt" -o overlay="$WORK/uefi.ovl"
python3 "$EFIVARS" compare "$WORK/mnt/vm/db01.OVMF_VARS.fd" "$G/uefi-nvram-v2.b64" >/dev/null ||
	fail "vm/db01.OVMF_VARS.fd does not hold the VM record's variables"
cmp "$WORK/mnt/vm/db01.tpm2-00.permall" "$WORK/tpm/tpm2-00.permall" ||
	fail "vm/db01.tpm2-00.permall is not the vTPM's state"
run_guest uefi "$WORK/uefi.log" "$t0" env XVAFS_ACCEL=tcg XVAFS_OVMF_VARS="$WORK/run/uefi-vars.fd" \
	XVAFS_TPM_STATE="$WORK/run/uefi-tpm" sh "$WORK/mnt/vm/db01.qemu.sh" -display none
console_has "$WORK/uefi.log" 'starting Boot0001 "debian"' || fail "OVMF did not start the carried Boot0001"
console_has "$WORK/uefi.log" "XVAFS-GUEST-UP .*bootcurrent=0001 secureboot=0 pk=yes tpm=2" ||
	fail "the UEFI guest did not see its carried boot entry, Secure Boot off, its keys and its TPM"
unmount_xva "$WORK/mnt"
check_after uefi "$WORK/uefi.zstd.xva" "$WORK/uefi.ovl" 33 38 "guest=uefi firmware=uefi bootcurrent=0001"

note "the same UEFI guest without its NVRAM (OVMF's empty variables): no boot"
mount_xva "$WORK/uefi.xva" "$WORK/mnt" -o overlay="$WORK/uefi-lost.ovl"
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$WORK/run/empty-vars.fd"
XVAFS_ACCEL=tcg XVAFS_OVMF_VARS="$WORK/run/empty-vars.fd" sh "$WORK/mnt/vm/db01.qemu.sh" -display none \
	</dev/null >"$WORK/lost.log" 2>&1 &
lost=$!
GUESTS+=("$lost")
wait_until --pid "$lost" "the UEFI shell on the console" console_has "$WORK/lost.log" "Shell> " ||
	{ tail -30 "$WORK/lost.log" >&2; fail "qemu ended before OVMF gave up"; }
console_has "$WORK/lost.log" "XVAFS-GUEST" && fail "the guest started without its boot entry"
kill "$lost"
wait "$lost" 2>/dev/null || true
note "without the NVRAM: $(console "$WORK/lost.log" | grep -a -E 'BdsDxe: failed|starting Boot.*Shell' | tr '\n' ' ')"
unmount_xva "$WORK/mnt"
sha256sum -c --quiet "$WORK/uefi.sums" || fail "uefi: the export changed"

note "the UEFI guest with Secure Boot on, as its platform says: the carried keys refuse its unsigned loader"
export_guest uefisb "$G/uefi.img" hvm-uefi --nvram "$G/uefi-nvram-v2.b64"
mount_xva "$WORK/uefisb.xva" "$WORK/mnt" -o overlay="$WORK/uefisb.ovl"
grep -q OVMF_CODE_4M.secboot.fd "$WORK/mnt/vm/db01.qemu.sh" || fail "Secure Boot on, but not OVMF's Secure Boot build"
XVAFS_ACCEL=tcg XVAFS_OVMF_VARS="$WORK/run/sb-vars.fd" sh "$WORK/mnt/vm/db01.qemu.sh" -display none \
	</dev/null >"$WORK/sb.log" 2>&1 &
sb=$!
GUESTS+=("$sb")
wait_until --pid "$sb" "OVMF to refuse the unsigned loader" \
	console_has "$WORK/sb.log" 'failed to load Boot0001 "debian".*Access Denied' ||
	{ console "$WORK/sb.log" | tail -30 >&2; fail "qemu ended before OVMF refused the loader"; }
console_has "$WORK/sb.log" "XVAFS-GUEST" && fail "an unsigned loader started under Secure Boot"
kill "$sb"
wait "$sb" 2>/dev/null || true
note "Secure Boot: $(console "$WORK/sb.log" | grep -a -o 'BdsDxe: failed to load Boot0001.*Access Denied' | head -1)"
unmount_xva "$WORK/mnt"
sha256sum -c --quiet "$WORK/uefisb.sums" || fail "uefisb: the export changed"

note "UEFI guest by the generated libvirt XML, through libvirt's qemu driver"
# libvirt for root is its system daemon, which needs systemd's sockets;
# a session daemon runs for any other user: nobody, in folders of this
# test's. The domain type (qemu, not kvm) and the CPU (host-passthrough
# needs KVM) are the accelerator's override; the serial console is read
# from its pty.
if ! command -v virsh >/dev/null || [ ! -x /usr/sbin/libvirtd ]; then
	note "SKIP libvirt: no libvirtd (Debian packages libvirt-daemon-system, libvirt-clients)"
elif ! id nobody >/dev/null 2>&1; then
	note "SKIP libvirt: no user nobody to run a session daemon as"
else
	lv=$WORK/libvirt
	mkdir -p "$lv/run" "$lv/cfg" "$lv/cache" "$lv/data"
	chmod 700 "$lv/run"
	chmod 755 "$WORK"
	chown -R nobody: "$lv"
	lvsh() {
		runuser -u nobody -- env HOME="$lv" XDG_RUNTIME_DIR="$lv/run" XDG_CONFIG_HOME="$lv/cfg" \
			XDG_CACHE_HOME="$lv/cache" XDG_DATA_HOME="$lv/data" virsh -q -c qemu:///session "$@"
	}
	if ! lvsh version >"$WORK/virsh.err" 2>&1; then
		note "SKIP libvirt: its session daemon does not start here: $(tr '\n' ' ' <"$WORK/virsh.err")"
	else
		t0=$(now)
		mount_xva "$WORK/uefi.xva" "$WORK/mnt" -o overlay="$WORK/libvirt.ovl",allow_other,uid="$(id -u nobody)",gid="$(id -g nobody)"
		sed -e "s/<domain type='kvm'>/<domain type='qemu'>/" \
			-e "s/<cpu mode='host-passthrough' check='none'>/<cpu mode='maximum' check='none'>/" \
			"$WORK/mnt/vm/db01.xml" >"$lv/db01.xml"
		# The vTPM's state where libvirt's session daemon keeps it, as the
		# XML's comment says for the system one.
		uuid=7a9d0c61-3f42-4b8e-a1d5-2c6e9b0f4d13
		mkdir -p "$lv/cfg/libvirt/qemu/swtpm/$uuid/tpm2"
		cp "$WORK/mnt/vm/db01.tpm2-00.permall" "$lv/cfg/libvirt/qemu/swtpm/$uuid/tpm2/tpm2-00.permall"
		chown -R nobody: "$lv"
		lvsh define "$lv/db01.xml" >/dev/null || fail "virsh define refuses the generated XML"
		lvsh start --paused db01 >/dev/null || fail "libvirt cannot start the generated domain"
		pty=$(lvsh ttyconsole db01)
		cat "$pty" >"$WORK/libvirt.log" 2>/dev/null &
		GUESTS+=("$!")
		lvsh resume db01 >/dev/null
		wait_until "the libvirt guest's marker" console_has "$WORK/libvirt.log" "XVAFS-GUEST-(DONE|FAIL)|Kernel panic"
		console_has "$WORK/libvirt.log" "XVAFS-GUEST-FAIL|Kernel panic" && fail "the libvirt guest failed"
		note "libvirt: marker $(echo "$(now) - $t0" | bc | xargs printf '%.1f') s after xvafs started: $(console "$WORK/libvirt.log" | grep -ao 'XVAFS-GUEST-UP.*')"
		console_has "$WORK/libvirt.log" "XVAFS-GUEST-UP .*bootcurrent=0001 secureboot=0 pk=yes tpm=2" ||
			fail "the libvirt guest did not boot its carried entry with its keys and TPM"
		lv_off() { lvsh domstate db01 2>/dev/null | grep 'shut off' >/dev/null; }
		wait_until "the libvirt domain to shut off" lv_off
		lvsh undefine --nvram --tpm db01 >/dev/null
		unmount_xva "$WORK/mnt"
		check_after uefi "$WORK/uefi.xva" "$WORK/libvirt.ovl" 33 38 "guest=uefi firmware=uefi bootcurrent=0001"
	fi
fi

note "PV guest: pygrub from the disk the xl config names, then qemu with the served disk as root"
PYGRUB=$(ls /usr/lib/xen-*/bin/pygrub 2>/dev/null | tail -1) || true
if [ -z "$PYGRUB" ]; then
	note "SKIP PV: no pygrub (Debian package xen-utils-4.17)"
else
	export_guest pv "$G/pv.img" pv-pygrub
	t0=$(now)
	mount_xva "$WORK/pv.zstd.xva" "$WORK/mnt" -o overlay="$WORK/pv.ovl"
	grep -q '^bootloader = "pygrub"' "$WORK/mnt/vm/legacy01.cfg" || fail "the xl config does not boot with pygrub"
	# As xl runs it: bootloader_args, then the disk's target.
	disk=$(sed -n 's/^[[:space:]]*"format=raw,.*target=\([^"]*\)",$/\1/p' "$WORK/mnt/vm/legacy01.cfg")
	[ "$disk" = "$WORK/mnt/by-device/xvda" ] || fail "the xl config's disk is \"$disk\""
	bootargs=$(sed -n 's/^bootloader_args = \[ "\(.*\)" \]$/\1/p' "$WORK/mnt/vm/legacy01.cfg")
	mkdir -p "$WORK/pygrub"
	"$PYGRUB" -q --output-format=simple --output-directory="$WORK/pygrub" ${bootargs:+"$bootargs"} "$disk" \
		>"$WORK/pygrub.out" || fail "pygrub failed on the served disk"
	note "pygrub: $(tr '\n' ' ' <"$WORK/pygrub.out")"
	kernel=$(sed -n 's/^kernel \(.*\)/\1/p' "$WORK/pygrub.out")
	ramdisk=$(sed -n 's/^ramdisk \(.*\)/\1/p' "$WORK/pygrub.out")
	args=$(sed -n 's/^args \(.*\)/\1/p' "$WORK/pygrub.out")
	cmp "$kernel" "$G/vmlinuz" || fail "pygrub's kernel is not the guest's"
	cmp "$ramdisk" "$G/initrd.img" || fail "pygrub's initrd is not the guest's"
	run_guest pv "$WORK/pv.log" "$t0" qemu-system-x86_64 -machine q35,accel=tcg -cpu max -m 512 \
		-kernel "$kernel" -initrd "$ramdisk" -append "$args" \
		-drive "file=$disk,format=raw,if=virtio,cache=none,aio=native" \
		-display none -serial stdio -no-reboot
	unmount_xva "$WORK/mnt"
	check_after pv "$WORK/pv.zstd.xva" "$WORK/pv.ovl" 1 63 "guest=pv firmware=bios"
fi

note "BIOS guest's disk served by nbdkit with the plugin, zstd export"
if [ -z "${NBD_PLUGIN:-}" ] || ! command -v nbdkit >/dev/null; then
	note "SKIP nbdkit: the plugin was not built or nbdkit is missing"
else
	t0=$(now)
	rm -f "$WORK/nbd.pid"
	# A sanitized plugin needs its runtime loaded first (as in nbd.sh).
	nbd_env=()
	if [ "${XVAFS_SANITIZED:-0}" = 1 ]; then
		asan=$(ldd "$NBD_PLUGIN" | awk '/libasan/ { print $3 }')
		[ -n "$asan" ] || fail "sanitized build, but the plugin links no libasan"
		nbd_env=(LD_PRELOAD="$asan")
	fi
	env "${nbd_env[@]}" nbdkit -f -U "$WORK/nbd.sock" -P "$WORK/nbd.pid" "$NBD_PLUGIN" \
		"file=$WORK/bios.zstd.xva" overlay="$WORK/nbd.ovl" cache_dir="$WORK/cache" \
		2>"$WORK/nbdkit.log" &
	nbd=$!
	NBDKITS+=("$nbd")
	wait_until --pid "$nbd" "nbdkit to listen" test -s "$WORK/nbd.pid" ||
		{ cat "$WORK/nbdkit.log" >&2; fail "nbdkit did not start"; }
	run_guest nbd "$WORK/nbd.log" "$t0" qemu-system-x86_64 -machine q35,accel=tcg -cpu max -m 512 \
		-drive "file.driver=nbd,file.server.type=unix,file.server.path=$WORK/nbd.sock,file.export=xvda,format=raw,if=virtio" \
		-display none -serial stdio -no-reboot
	kill "$nbd"
	wait "$nbd" 2>/dev/null || true
	check_after bios "$WORK/bios.zstd.xva" "$WORK/nbd.ovl" 1 63 "guest=bios firmware=bios"
fi

echo "PASS"
