#!/usr/bin/env bash
# The export's VM through the real command line and the mount:
#   - disks at userdevice 0, 1 and 4 with the CD drive at 3 are xvda, xvdb
#     and xvde, as Xen names them (not xvda, xvdb, xvdc by order);
#   - --vm-config xl|libvirt|qemu prints the same text the mount serves as
#     vm/NAME.cfg, .xml and .qemu.sh (read-only; the script executable),
#     with the disks' paths in this mount;
#   - --list --json carries the VM's facts;
#   - an export without a VM record has no vm/ folder, and --vm-config
#     says why, with exit 2; an unknown format is a usage error.
#   - contrib/xen/web01.cfg and contrib/qemu/boot-web01.sh are the
#     writers' output.
# (tests/e2e/vmconfig-check.sh checks the configurations themselves with
# libxlutil, virt-xml-validate, virsh and sh.)
. "$(dirname "$0")/lib.sh"
need_fuse

MIB=1048576
MNT=$WORK/mnt
for d in a b c; do make_image "$WORK/$d.img" $((3 * MIB)); done
"$MKXVA" --vm hvm-bios --vm-name "web 01" --userdevices 0,1,4 --with-cd \
	"$WORK/vm.xva" "$WORK/a.img=Ref:10" "$WORK/b.img=Ref:11" "$WORK/c.img=Ref:12"

note "devices by userdevice number, the CD at 3 taking no name"
mount_xva "$WORK/vm.xva" "$MNT"
[ "$(ls "$MNT/by-device" | tr '\n' ' ')" = "xvda xvdb xvde " ] ||
	fail "by-device: $(ls "$MNT/by-device" | tr '\n' ' ')"
cmp "$MNT/by-device/xvde" "$WORK/c.img" || fail "xvde is not the disk at userdevice 4"

note "vm/ files equal --vm-config's output"
mnt_abs=$(cd "$MNT" && pwd)
stem=web\ 01
[ -f "$MNT/vm/$stem.cfg" ] && [ -f "$MNT/vm/$stem.xml" ] && [ -f "$MNT/vm/$stem.qemu.sh" ] ||
	fail "vm/ holds: $(ls "$MNT/vm")"
for f in xl:cfg libvirt:xml qemu:qemu.sh; do
	"$XVAFS" --vm-config "${f%%:*}" "$WORK/vm.xva" "$mnt_abs" >"$WORK/out.${f#*:}" ||
		fail "--vm-config ${f%%:*}: exit status $?"
	cmp "$WORK/out.${f#*:}" "$MNT/vm/$stem.${f#*:}" || fail "vm/$stem.${f#*:} differs from --vm-config ${f%%:*}"
done
grep -q "target=$mnt_abs/by-device/xvde" "$MNT/vm/$stem.cfg" || fail "the xl config does not point into the mount"
[ "$(stat -c %a "$MNT/vm/$stem.cfg")" = 444 ] && [ "$(stat -c %a "$MNT/vm/$stem.qemu.sh")" = 555 ] ||
	fail "modes: $(stat -c '%n %a' "$MNT"/vm/*)"
sh -n "$MNT/vm/$stem.qemu.sh" || fail "the qemu script does not parse"
printf x 2>/dev/null >"$MNT/vm/$stem.cfg" && fail "vm/ files are writable"
unmount_xva "$MNT"

note "--list --json carries the VM"
"$XVAFS" --list --json "$WORK/vm.xva" | python3 -c '
import json, sys
d = json.load(sys.stdin)
vm = d["vm"]
assert vm["name"] == "web 01", vm
assert [x["device"] for x in vm["disks"]] == ["xvda", "xvdb", "xvde"], vm["disks"]
assert vm["memory"] > 0 and vm["vcpus_max"] >= 1 and vm["kind"] == "hvm", vm
assert all(v["mac"] for v in vm["vifs"]), vm["vifs"]
' || fail "--list --json: the VM's facts"

note "no VM record: no vm/ folder, and --vm-config says why"
"$MKXVA" --no-ova "$WORK/bare.xva" "$WORK/a.img"
mount_xva "$WORK/bare.xva" "$MNT"
[ ! -e "$MNT/vm" ] || fail "a vm/ folder without a VM record"
unmount_xva "$MNT"
rc=0; "$XVAFS" --vm-config xl "$WORK/bare.xva" "$MNT" >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 2 ] && grep -q "holds no VM record" "$WORK/err" || { cat "$WORK/err"; fail "--vm-config without a VM: $rc"; }
rc=0; "$XVAFS" --vm-config xl "$WORK/vm.xva" "$mnt_abs" >/dev/full 2>"$WORK/err" || rc=$?
[ "$rc" = 6 ] && grep -q "cannot write the configuration" "$WORK/err" || { cat "$WORK/err"; fail "--vm-config to a full device: $rc"; }
rc=0; "$XVAFS" --vm-config vmx "$WORK/vm.xva" "$MNT" >/dev/null 2>"$WORK/err" || rc=$?
[ "$rc" = 1 ] && grep -q "valid formats: xl, libvirt, qemu" "$WORK/err" || { cat "$WORK/err"; fail "an unknown format: $rc"; }
note "the contrib examples are what the writers make"
top=$(cd "$(dirname "$0")/../.." && pwd)
truncate -s 8M "$WORK/web01.img"
"$MKXVA" --vm hvm-bios --vm-name web01 --with-cd "$WORK/web01.xva" "$WORK/web01.img=Ref:1"
"$XVAFS" --vm-config xl "$WORK/web01.xva" /mnt/xva | diff - "$top/contrib/xen/web01.cfg" ||
	fail "contrib/xen/web01.cfg is not the xl writer's output (regenerate it)"
"$XVAFS" --vm-config qemu "$WORK/web01.xva" /mnt/xva | diff - "$top/contrib/qemu/boot-web01.sh" ||
	fail "contrib/qemu/boot-web01.sh is not the qemu writer's output (regenerate it)"
echo "PASS: the VM through --vm-config, vm/ and --list --json"
