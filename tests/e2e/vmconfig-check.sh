#!/usr/bin/env bash
# The generated VM configurations, checked by the real tools:
#   xl       parsed by libxlutil (xlparse, the parser xl create uses), disk
#            specs by xlu_disk_parse;
#   libvirt  virt-xml-validate against libvirt's domain schema, then
#            virsh -c test:///default define and dumpxml (no hypervisor);
#   qemu     sh -n, then run with a stand-in qemu-system-x86_64 that records
#            its arguments, so the words qemu would get are compared.
# Every value is compared with the ova.xml it came from, read here by
# Python's own XML parser. Records: HVM BIOS (disks at userdevices 0, 1, 4,
# a CD with an ISO, three VIFs, a snapshot), HVM UEFI with Secure Boot (Xen
# Orchestra style), PV with pygrub, Windows, and a VM whose name and mount
# point hold quotes, newlines, "$(...)" and commas.
#
# Needs MKXVA and VMCONFIG (tests/vmconfig.c); XLPARSE may be empty when
# libxen-dev is missing. A missing checker is a SKIP (exit 77) with the
# reason, a FAIL under XVAFS_REQUIRE_MOUNT=1 (CI).
set -euo pipefail

: "${MKXVA:?path to the mkxva generator}"
: "${VMCONFIG:?path to the vmconfig front end}"
: "${XLPARSE:=}"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/xvafs-vmconfig.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
MISSING=()

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

note() {
	echo "-- $*"
}

missing() {
	if [ -n "${XVAFS_REQUIRE_MOUNT:-}" ]; then
		fail "cannot check, but XVAFS_REQUIRE_MOUNT is set: $*"
	fi
	MISSING+=("$*")
}

have_xl=1 have_libvirt=1
[ -n "$XLPARSE" ] && [ -x "$XLPARSE" ] || { have_xl=0; missing "no xlparse (Debian package libxen-dev)"; }
command -v virt-xml-validate >/dev/null || { have_libvirt=0; missing "no virt-xml-validate (Debian package libvirt-clients)"; }
command -v virsh >/dev/null || { have_libvirt=0; missing "no virsh (Debian package libvirt-clients)"; }
if [ "$have_libvirt" = 1 ] && ! virsh -q -c test:///default list >/dev/null 2>&1; then
	have_libvirt=0
	missing "virsh cannot open test:///default (Debian package libvirt-daemon)"
fi
command -v python3 >/dev/null || { [ -n "${XVAFS_REQUIRE_MOUNT:-}" ] && fail "no python3"; echo "SKIP: no python3"; exit 77; }

# A stand-in qemu: records the words it was given, NUL-separated.
mkdir -p "$WORK/bin"
cat >"$WORK/bin/qemu-system-x86_64" <<'EOF'
#!/bin/sh
printf '%s\0' "$@" >"$QEMU_ARGS"
EOF
chmod +x "$WORK/bin/qemu-system-x86_64"

truncate -s 3M "$WORK/root.img"
truncate -s 2M "$WORK/data.img"
truncate -s 1M "$WORK/logs.img"

HOSTILE_NAME=$(printf 'evil"\x27$(touch %s/pwned)`id`\n<x>&amp;--; rm -rf / \\ a,b -->\tend' "$WORK")
HOSTILE_MNT="$WORK/mnt it's, \"x\" \$(touch pwned2) -->"

# check NAME MOUNTPOINT MKXVA_OPTIONS... -- VDI=DEVICE...
check() {
	local name=$1 mnt=$2
	shift 2
	local opts=() disks=()
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	disks=("$@")
	local dir=$WORK/$name
	mkdir -p "$dir"
	note "$name"
	"$MKXVA" --metadata-only "${opts[@]}" "$dir/export.xva" \
		"$WORK/root.img=Ref:10=root" "$WORK/data.img=Ref:11=data" \
		"$WORK/logs.img=Ref:9=logs"
	tar -xOf "$dir/export.xva" ova.xml >"$dir/ova.xml"
	for f in xl libvirt qemu; do
		"$VMCONFIG" "$f" "$dir/ova.xml" "$mnt" "${disks[@]}" >"$dir/vm.$f" ||
			fail "$name: vmconfig $f exited $?"
	done
	"$VMCONFIG" --json "$dir/ova.xml" "${disks[@]}" >"$dir/vm.json" ||
		fail "$name: vmconfig --json exited $?"

	if [ "$have_xl" = 1 ]; then
		"$XLPARSE" "$dir/vm.xl" >"$dir/xl.parsed" || fail "$name: libxlutil refuses vm.xl"
	fi
	if [ "$have_libvirt" = 1 ]; then
		virt-xml-validate "$dir/vm.libvirt" domain >"$dir/validate.log" 2>&1 ||
			{ cat "$dir/validate.log" >&2; fail "$name: virt-xml-validate refuses vm.libvirt"; }
		uuid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["uuid"])' "$dir/vm.json")
		virsh -q -c test:///default "define $dir/vm.libvirt; dumpxml $uuid" \
			>"$dir/libvirt.dump" 2>"$dir/virsh.err" ||
			{ cat "$dir/virsh.err" >&2; fail "$name: virsh define refuses vm.libvirt"; }
	fi
	sh -n "$dir/vm.qemu" || fail "$name: sh -n refuses vm.qemu"
	touch "$dir/vars.fd"
	(cd "$dir" && QEMU_ARGS=$dir/qemu.args XVAFS_OVMF_VARS=$dir/vars.fd XVAFS_NET=bridge \
		PATH="$WORK/bin:$PATH" sh "$dir/vm.qemu") || fail "$name: vm.qemu exited $?"
	[ -s "$dir/qemu.args" ] || fail "$name: vm.qemu did not run qemu"
	[ ! -e "$WORK/pwned" ] && [ ! -e "$dir/pwned2" ] || fail "$name: text from ova.xml ran as a command"

	python3 - "$dir" "$mnt" "$have_xl" "$have_libvirt" "${disks[@]}" <<'EOF' || fail "$name: see above"
import json, sys, xml.etree.ElementTree as ET

d, mnt, have_xl, have_libvirt = sys.argv[1], sys.argv[2].rstrip('/'), sys.argv[3] == '1', sys.argv[4] == '1'
served = dict(a.rsplit('=', 1) for a in sys.argv[5:])
errors = []

def check(cond, what):
    if not cond:
        errors.append(what)

# ova.xml, the XML-RPC way: a value is a scalar, a struct or an array.
def value(v):
    kids = list(v)
    if not kids:
        return v.text or ''
    k = kids[0]
    if k.tag == 'struct':
        return {m.find('name').text: value(m.find('value')) for m in k.findall('member')}
    if k.tag == 'array':
        return [value(x) for x in k.find('data').findall('value')]
    return k.text or ''

top = value(ET.parse(d + '/ova.xml').getroot())
objs = top['objects']
def of(cls):
    return {o['id']: o['snapshot'] for o in objs if o['class'] == cls}
vms, vbds, vifs, nets = of('VM'), of('VBD'), of('VIF'), of('network')
truthy = lambda s: s in ('1', 'true')
vm_id, vm = next((i, v) for i, v in vms.items()
                 if not truthy(v.get('is_a_snapshot', '0')) and not truthy(v.get('is_a_template', '0')))
mib = lambda b: (int(b) + (1 << 20) - 1) >> 20
kib = lambda b: (int(b) + 1023) >> 10
max_mem, target = int(vm['memory_static_max']), int(vm.get('memory_dynamic_max') or vm['memory_static_max'])
vcpus_max, vcpus_now = int(vm['VCPUs_max']), int(vm['VCPUs_at_startup'])
kind = vm.get('domain_type') or ('hvm' if vm.get('HVM_boot_policy') else 'pv')
my_vbds = sorted((v for v in vbds.values() if v['VM'] == vm_id), key=lambda v: int(v['userdevice']))
disks = [v for v in my_vbds if v['type'] == 'Disk' and v['VDI'] in served]
cds = [v for v in my_vbds if v['type'] == 'CD']
my_vifs = sorted((v for v in vifs.values() if v['VM'] == vm_id), key=lambda v: int(v['device']))
macs = [v['MAC'].lower() for v in my_vifs]
bridges = [nets[v['network']]['bridge'] for v in my_vifs]
paths = [mnt + '/by-device/' + served[v['VDI']] for v in disks]
windows = kind == 'hvm' and (vm['platform'].get('device_id') or truthy(vm['platform'].get('viridian', '')))

# The description, as --list --json will show it.
j = json.load(open(d + '/vm.json'))
check(j['name'] == vm['name_label'], 'json name')
check(j['uuid'] == vm['uuid'], 'json uuid')
check(j['memory'] == max_mem and j['memory_target'] == target, 'json memory')
check(j['vcpus_max'] == vcpus_max and j['vcpus_at_startup'] == vcpus_now, 'json vcpus')
check(j['kind'] == kind, 'json kind')
check(j['firmware'] == (vm['HVM_boot_params'].get('firmware') or 'bios'), 'json firmware')
check([x['device'] for x in j['disks']] == [served[v['VDI']] for v in disks], 'json disks')
check([x['userdevice'] for x in j['disks']] == [int(v['userdevice']) for v in disks], 'json userdevices')
check([x['userdevice'] for x in j['cdroms']] == [int(v['userdevice']) for v in cds], 'json cdroms')
check([x['mac'] for x in j['vifs']] == macs and [x['bridge'] for x in j['vifs']] == bridges, 'json vifs')
check(j['windows'] == bool(windows), 'json windows')

if have_xl:
    xl = {}
    for line in open(d + '/xl.parsed', encoding='utf-8'):
        k, _, v = line.rstrip('\n').partition('=')
        xl[k] = v
    esc = lambda s: s.replace('\\', '\\\\').replace('\n', '\\n').replace('\t', '\\x09')
    check(xl.get('name') == esc(vm['name_label']), 'xl name %r' % xl.get('name'))
    check(xl.get('type') == kind, 'xl type')
    check(xl.get('memory') == str(mib(target)) and xl.get('maxmem') == str(mib(max_mem)), 'xl memory')
    check(xl.get('vcpus') == str(vcpus_now) and xl.get('maxvcpus') == str(vcpus_max), 'xl vcpus')
    xl_disks = [(xl['disk%d.vdev' % i], xl['disk%d.target' % i]) for i in range(len(disks))]
    if kind != 'hvm':  # pygrub reads the first disk: the bootable one
        check(xl_disks[0][0] == served[next(v for v in disks if truthy(v['bootable']))['VDI']], 'xl boot disk')
    for v, path in zip(disks, paths):
        dev = served[v['VDI']]
        check((dev, esc(path)) in xl_disks, 'xl disk %s at %s' % (dev, path))
    for i in range(len(disks)):
        check(xl['disk%d.format' % i] == 'raw' and xl['disk%d.cdrom' % i] == '0', 'xl disk %d format' % i)
    if kind == 'hvm':
        for n, v in enumerate(cds):
            i = len(disks) + n
            check(xl.get('disk%d.cdrom' % i) == '1' and xl.get('disk%d.access' % i) == 'ro', 'xl cd')
        check(xl.get('bios') == ('ovmf' if vm['HVM_boot_params'].get('firmware') == 'uefi' else 'seabios'), 'xl bios')
        check(xl.get('boot') == vm['HVM_boot_params'].get('order'), 'xl boot order')
    else:
        check(xl.get('bootloader') == 'pygrub', 'xl bootloader')
    for i, (mac, br) in enumerate(zip(macs, bridges)):
        spec = dict(p.strip().split('=', 1) for p in xl.get('vif%d' % i, '').split(','))
        check(spec.get('mac') == mac and spec.get('bridge') == br, 'xl vif %d: %r' % (i, spec))
    check('vif%d' % len(macs) not in xl, 'xl: extra vif')

if have_libvirt:
    lv = ET.parse(d + '/libvirt.dump').getroot()
    check(lv.findtext('uuid') == vm['uuid'], 'libvirt uuid')
    name = ''.join('_' if c == '/' or ord(c) < 32 else c for c in vm['name_label'])
    check(lv.findtext('name') == name, 'libvirt name %r' % lv.findtext('name'))
    check(lv.findtext('memory') == str(kib(max_mem)) and lv.find('memory').get('unit') == 'KiB', 'libvirt memory')
    check(lv.findtext('currentMemory') == str(kib(target)), 'libvirt currentMemory')
    vcpu = lv.find('vcpu')
    check(vcpu.text == str(vcpus_max) and int(vcpu.get('current', vcpu.text)) == vcpus_now, 'libvirt vcpu')
    devs = lv.find('devices')
    got = [x.find('source').get('file') for x in devs.findall('disk') if x.get('device') == 'disk']
    check(got == paths, 'libvirt disks %r' % got)
    buses = {x.find('target').get('bus') for x in devs.findall('disk') if x.get('device') == 'disk'}
    check(buses == ({'sata'} if windows else {'virtio'}), 'libvirt bus %r' % buses)
    check(len([x for x in devs.findall('disk') if x.get('device') == 'cdrom']) == len(cds), 'libvirt cdrom')
    ifs = devs.findall('interface')
    check([x.find('mac').get('address') for x in ifs] == macs, 'libvirt MACs')
    check([x.find('source').get('bridge') for x in ifs] == bridges, 'libvirt bridges')
    fw = vm['HVM_boot_params'].get('firmware') if kind == 'hvm' else None
    loader = lv.find('os/loader')
    check((loader is not None) == (fw == 'uefi'), 'libvirt loader')
    if fw == 'uefi' and vm['platform'].get('secureboot') == 'true':
        check(loader.get('secure') == 'yes' and loader.text.endswith('secboot.fd'), 'libvirt secure boot')

words = open(d + '/qemu.args', 'rb').read().decode().split('\0')[:-1]
def after(opt):
    return [words[i + 1] for i, w in enumerate(words) if w == opt]
unq = lambda s: s.replace(',,', ',')
check(after('-name') == ['guest=' + vm['name_label'].replace(',', ',,')], 'qemu -name %r' % after('-name'))
check(after('-m') == [str(mib(max_mem))], 'qemu -m')
check(after('-smp')[0].startswith('cpus=%d,maxcpus=%d' % (vcpus_now, vcpus_max)), 'qemu -smp')
drives = [w for w in after('-drive') if w.startswith('file=')]
files = []
for w in drives:  # file=PATH,format=..., with PATH's commas doubled
    i, path = 5, ''
    while i < len(w):
        if w[i] == ',' and w[i + 1:i + 2] == ',':
            path += ','; i += 2
        elif w[i] == ',':
            break
        else:
            path += w[i]; i += 1
    files.append(path)
    check(',format=raw,' in w and 'cache=none' in w, 'qemu drive options %r' % w)
check(files == paths, 'qemu disks %r' % files)
nics = after('-device')
check([m for m in macs] == [p.split('mac=')[1].split(',')[0] for p in nics if 'mac=' in p], 'qemu MACs')
check(['br=' + b in ' '.join(after('-netdev')) for b in bridges] == [True] * len(bridges), 'qemu bridges')
check(('if=pflash' in ' '.join(after('-drive'))) == (kind == 'hvm' and vm['HVM_boot_params'].get('firmware') == 'uefi'), 'qemu pflash')

for e in errors:
    print('mismatch:', e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
}

check hvm-bios /mnt/xva --vm hvm-bios --userdevices 0,1,4 --with-cd --with-snapshot --vifs 3 \
	-- Ref:10=xvda Ref:11=xvdb Ref:9=xvde
check hvm-uefi-xo /mnt/xva/ --vm hvm-uefi --xo \
	-- Ref:9=xvda Ref:10=xvdb Ref:11=xvdc
check pv-pygrub /srv/mnt/legacy --vm pv-pygrub --userdevices 1,0,2 --vifs 1 \
	-- Ref:10=xvdb Ref:11=xvda Ref:9=xvdc
check windows /mnt/xva --vm windows --with-cd --vifs 2 \
	-- Ref:10=xvda Ref:11=xvdb Ref:9=xvdc
check hostile "$HOSTILE_MNT" --vm hvm-uefi --vm-name "$HOSTILE_NAME" --vifs 3 \
	-- Ref:10=xvda Ref:11=xvdb Ref:9=xvdc

note "usage and no-VM errors"
set +e
"$VMCONFIG" xm "$WORK/hvm-bios/ova.xml" /mnt/xva 2>"$WORK/err"; rc=$?
set -e
[ "$rc" = 1 ] && grep -q 'valid formats: xl, libvirt, qemu' "$WORK/err" || fail "unknown format: exit $rc, $(cat "$WORK/err")"
set +e
"$VMCONFIG" xl "$WORK/hvm-bios/ova.xml" relative/mnt 2>"$WORK/err"; rc=$?
set -e
[ "$rc" = 1 ] && grep -q 'absolute' "$WORK/err" || fail "relative mount point: exit $rc"
printf '<value><struct><member><name>objects</name><value><array><data><value><struct><member><name>class</name><value>VDI</value></member><member><name>id</name><value>Ref:1</value></member><member><name>snapshot</name><value><struct/></value></member></struct></value></data></array></value></member></struct></value>' >"$WORK/novm.xml"
set +e
"$VMCONFIG" xl "$WORK/novm.xml" /mnt/xva 2>"$WORK/err"; rc=$?
set -e
[ "$rc" = 2 ] && grep -q 'the export holds no VM record' "$WORK/err" &&
	[ "$(wc -l <"$WORK/err")" = 1 ] || fail "no VM: exit $rc, $(cat "$WORK/err")"

if [ "${#MISSING[@]}" -gt 0 ]; then
	echo "SKIP: checked what could be checked; missing: ${MISSING[*]}"
	exit 77
fi
echo "vmconfig-check: all formats pass the real tools"
