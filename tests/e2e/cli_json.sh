#!/usr/bin/env bash
# --list --json against its published schema (doc/list-json.schema.json)
# with python3-jsonschema: real output of exports with and without a VM
# record, without ova.xml, metadata only, with keep-alives and SHA-1
# checksums, cut short, compressed, and the error object of exports that
# cannot be read. Every object of the schema forbids undeclared fields, so
# a field the code adds without declaring it fails here. No mount needed.
. "$(dirname "$0")/lib.sh"

SCHEMA=$(cd "$(dirname "$0")/../.." && pwd)/doc/list-json.schema.json
python3 -c 'import jsonschema' 2>/dev/null ||
	fail "python3-jsonschema is missing (contrib/install-deps.sh installs it)"

KIB=1024
head -c $((300 * KIB)) /dev/urandom >"$WORK/a.img"
truncate -s $((3 * KIB * KIB)) "$WORK/b.img"
head -c 4096 /dev/urandom | dd of="$WORK/b.img" bs=4096 seek=300 conv=notrunc status=none
truncate -s $((64 * KIB)) "$WORK/c.img"

mk() { # mk NAME MKXVA-OPTIONS...: an export from a.img, b.img and c.img
	local name=$1
	shift
	"$MKXVA" --chunk 65536 "$@" "$WORK/$name.xva" "$WORK/a.img=Ref:1=root" \
		"$WORK/b.img=Ref:2=data" "$WORK/c.img=Ref:3=suspend image"
}
mk plain
mk vm --vm hvm-bios --with-snapshot --userdevices 0,4,5
mk pv --vm pv-pygrub --vifs 0
mk windows --vm windows --xo --vifs 3
mk suspend --suspend Ref:3 --with-cd --empty-drive --checksum sha1 --keepalive 1
mk meta --metadata-only
"$MKXVA" --chunk 65536 --no-ova "$WORK/single.xva" "$WORK/a.img"
# Inside the disks: a GPT partition with ext4 labelled as the disk's VDI
# (by-label/root stays the disk's: a guest note says so), a bare FAT disk.
truncate -s 8M "$WORK/p.img"
printf 'label: gpt\nstart=2048, size=12288, type=linux, name="root fs"\n' | sfdisk -q "$WORK/p.img"
mkfs.ext4 -q -F -L root -E offset=$((2048 * 512)) "$WORK/p.img" 6M
truncate -s 4M "$WORK/f.img"
mkfs.vfat -n BARE "$WORK/f.img" >/dev/null
"$MKXVA" --chunk 65536 "$WORK/parts.xva" "$WORK/p.img=Ref:1=root" "$WORK/f.img=Ref:2=data"
# Cut inside Ref:2's data.
size=$(stat -c %s "$WORK/vm.xva")
head -c $((size * 2 / 3)) "$WORK/vm.xva" >"$WORK/cut.xva"
gzip -c <"$WORK/plain.xva" >"$WORK/plain.xva.gz"
zstd -q -c <"$WORK/vm.xva" >"$WORK/vm.xva.zst"

outputs=()
for x in plain vm pv windows suspend meta single cut parts; do
	"$XVAFS" --list --json "$WORK/$x.xva" >"$WORK/$x.json" 2>"$WORK/$x.err" ||
		{ cat "$WORK/$x.err"; fail "--list --json $x.xva: exit status $?"; }
	outputs+=("ok:$WORK/$x.json")
done
for x in plain.xva.gz vm.xva.zst; do
	"$XVAFS" --list --json "$WORK/$x" >"$WORK/$x.json" 2>"$WORK/$x.err" ||
		{ cat "$WORK/$x.err"; fail "--list --json $x: exit status $?"; }
	outputs+=("ok:$WORK/$x.json")
done
# Errors: a missing file, a file that is no export, ova.xml cut short.
head -c 100000 /dev/urandom >"$WORK/noise.xva"
head -c 1500 "$WORK/vm.xva" >"$WORK/cut-ova.xva"
for x in no-such noise cut-ova; do
	rc=0
	"$XVAFS" --list --json "$WORK/$x.xva" >"$WORK/$x.json" 2>"$WORK/$x.err" || rc=$?
	[ "$rc" != 0 ] || fail "--list --json $x.xva: exit status 0"
	outputs+=("error:$WORK/$x.json")
done

python3 - "$SCHEMA" "${outputs[@]}" <<'PY' || fail "--list --json does not match its schema"
import copy, json, sys
import jsonschema

schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
# Each kind against its own branch too, for messages that name the field.
branch = {k: jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/" + d})
          for k, d in (("ok", "listing"), ("error", "error"))}

# Every object the schema describes closes its fields.
def objects(node, path="#"):
    if isinstance(node, dict):
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, path + " lacks additionalProperties: false"
            assert set(node["required"]) == set(node["properties"]), path + ": a field is not required"
        for k, sub in node.items():
            yield from objects(sub, path + "/" + k)
    elif isinstance(node, list):
        for i, sub in enumerate(node):
            yield from objects(sub, f"{path}/{i}")
list(objects(schema))

seen = {"vm": False, "no vm": False, "truncated": False, "compressed": False,
        "keepalives": False, "null device": False, "partitions": False,
        "bare filesystem": False, "links": False, "guest note": False}
docs = []
for arg in sys.argv[2:]:
    kind, path = arg.split(":", 1)
    doc = json.load(open(path))
    errors = sorted(branch[kind].iter_errors(doc), key=lambda e: list(e.path))
    for e in errors[:5]:
        print(f"{path}: {list(e.absolute_path)}: {e.message[:300]}", file=sys.stderr)
    if errors or not v.is_valid(doc):
        print(f"{path}: does not match the schema", file=sys.stderr)
        sys.exit(1)
    assert doc["schema_version"] == 1, path
    assert ("error" in doc) == (kind == "error"), (path, doc)
    if kind == "error":
        assert doc["error"] and doc["status"], doc
        continue
    docs.append(doc)
    seen["vm"] |= doc["vm"] is not None
    seen["no vm"] |= doc["vm"] is None and doc["vm_error"] is not None
    seen["truncated"] |= doc["truncated"] and doc["truncation"] is not None
    seen["compressed"] |= doc["compression"] is not None
    for d in doc["disks"]:
        # chunks_present and members mean what they meant first.
        assert d["chunks_present"] == d["chunks"], d
        assert d["members"] == d["chunks"] + d["keepalives"], d
        seen["keepalives"] |= d["keepalives"] > 0
        seen["null device"] |= d["device"] is None
        seen["partitions"] |= bool(d["partitions"]) and d["partition_table"]["kind"] == "gpt"
        seen["bare filesystem"] |= d["filesystem"] is not None and d["filesystem"]["type"] == "vfat"
        for p in d["partitions"]:
            if p["filesystem"]:
                seen["links"] |= p["filesystem"]["links"] == ["by-uuid/" + p["filesystem"]["uuid"]]
    seen["guest note"] |= any("by-label/root is disk Ref:1" in n for n in doc["guest_notes"])
assert all(seen.values()), seen

# The schema refuses a field it does not declare, at every level.
doc = next(d for d in docs if d["vm"] and d["vm"]["vifs"] and d["vm"]["cdroms"])
for where in (lambda d: d, lambda d: d["disks"][0], lambda d: d["vm"],
              lambda d: d["vm"]["disks"][0], lambda d: d["vm"]["vifs"][0],
              lambda d: d["vm"]["cdroms"][0], lambda d: d["version"],
              lambda d: d["vms"][0]):
    bad = copy.deepcopy(doc)
    where(bad)["not_in_the_schema"] = 1
    assert not v.is_valid(bad), "an undeclared field passed"
doc = next(d for d in docs if d["disks"] and d["disks"][0]["partitions"])
for where in (lambda d: d["disks"][0]["partition_table"], lambda d: d["disks"][0]["partitions"][0],
              lambda d: d["disks"][0]["partitions"][0]["filesystem"], lambda d: d["disks"][1]["filesystem"]):
    bad = copy.deepcopy(doc)
    where(bad)["not_in_the_schema"] = 1
    assert not v.is_valid(bad), "an undeclared field passed"
print(f"{len(sys.argv) - 2} outputs match the schema")
PY
