#!/usr/bin/env python3
"""UEFI variables for the boot tests, written and read independently of
xvafs's own code:

  efivars.py blob --version 1|2 --disk IMG --partition N --loader PATH
                  [--keys-from OVMF_VARS.fd] [--description TEXT]
      prints the base64 EFI-variables blob XCP-ng's varstored keeps in a
      VM's NVRAM: Boot0001 (the loader at PATH on GPT partition N of IMG,
      as efibootmgr writes it), BootOrder, and with --keys-from the Secure
      Boot keys (PK, KEK, db, dbx) of an OVMF variable store.
  efivars.py list STORE.fd
      the live variables of an OVMF (EDK2 authenticated) variable store,
      one a line: NAME GUID ATTRIBUTES SHA256-OF-DATA.
  efivars.py compare STORE.fd BLOB.b64
      every variable of the blob is in the store with its data and
      attributes (exit 1 naming the first that is not).

The blob's layout (varstored's xapidb serialisation, public source): "VARS",
u32 version, u64 count, u64 data length; version 2 adds 8 bytes of MOR key
and 260 bytes of PPI data; then each variable: u64 name length, the name in
UTF-16LE without a NUL, u64 data length, the data, the 16-byte GUID, u32
attributes, 16-byte EFI_TIME, 32 bytes of certificate digest.
"""
import argparse
import base64
import hashlib
import struct
import sys
import uuid

GLOBAL = uuid.UUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
IMAGE_SECURITY = uuid.UUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
NV_BS_RT = 0x7
TIME_AUTH = 0x20


def gpt_partition(disk, number):
    with open(disk, "rb") as f:
        f.seek(512)
        header = f.read(92)
        if header[:8] != b"EFI PART":
            sys.exit(f"{disk}: no GPT header at LBA 1")
        entries_lba, count, size = struct.unpack_from("<QII", header, 72)
        if not 1 <= number <= count:
            sys.exit(f"{disk}: no partition {number}")
        f.seek(entries_lba * 512 + (number - 1) * size)
        entry = f.read(size)
    unique = entry[16:32]
    first, last = struct.unpack_from("<QQ", entry, 32)
    return unique, first, last - first + 1


def utf16z(text):
    return (text + "\0").encode("utf-16-le")


def load_option(description, disk, number, loader):
    unique, start, size = gpt_partition(disk, number)
    # Hard drive media path: partition number, start, size, signature,
    # GPT, GUID signature; then the file path; then the end node.
    hd = struct.pack("<BBHIQQ16sBB", 4, 1, 42, number, start, size, unique, 2, 2)
    path = utf16z(loader)
    file_node = struct.pack("<BBH", 4, 4, 4 + len(path)) + path
    end = struct.pack("<BBH", 0x7F, 0xFF, 4)
    dp = hd + file_node + end
    return struct.pack("<IH", 1, len(dp)) + utf16z(description) + dp


def store_variables(path):
    """(name, guid, attributes, timestamp, data) of the live variables."""
    d = open(path, "rb").read()
    if d[40:44] != b"_FVH":
        sys.exit(f"{path}: not a firmware volume")
    header_len = struct.unpack_from("<H", d, 48)[0]
    store = header_len
    if uuid.UUID(bytes_le=d[store:store + 16]) != uuid.UUID(
            "aaf32c78-947b-439a-a180-2e144ec37792"):
        sys.exit(f"{path}: not an authenticated variable store")
    end = store + struct.unpack_from("<I", d, store + 16)[0]
    off = store + 28
    out = []
    while off + 60 <= end:
        start_id, state, _, attrs = struct.unpack_from("<HBBI", d, off)
        if start_id != 0x55AA:
            break
        timestamp = d[off + 16:off + 32]
        name_size, data_size = struct.unpack_from("<II", d, off + 36)
        guid = uuid.UUID(bytes_le=d[off + 44:off + 60])
        name = d[off + 60:off + 60 + name_size].decode("utf-16-le").rstrip("\0")
        data = d[off + 60 + name_size:off + 60 + name_size + data_size]
        if state == 0x3F:  # added, neither deleted nor in transition
            out.append((name, guid, attrs, timestamp, data))
        off = (off + 60 + name_size + data_size + 3) & ~3
    return out


def blob_variables(text):
    raw = base64.b64decode(text)
    if raw[:4] != b"VARS":
        sys.exit("not a VARS blob")
    version, count, _ = struct.unpack_from("<IQQ", raw, 4)
    off = 24 + (268 if version >= 2 else 0)
    out = []
    for _ in range(count):
        (n,) = struct.unpack_from("<Q", raw, off)
        name = raw[off + 8:off + 8 + n].decode("utf-16-le")
        off += 8 + n
        (n,) = struct.unpack_from("<Q", raw, off)
        data = raw[off + 8:off + 8 + n]
        off += 8 + n
        guid = uuid.UUID(bytes_le=raw[off:off + 16])
        (attrs,) = struct.unpack_from("<I", raw, off + 16)
        timestamp = raw[off + 20:off + 36]
        off += 16 + 4 + 16 + 32
        out.append((name, guid, attrs, timestamp, data))
    return out


def make_blob(args):
    variables = [
        ("Boot0001", GLOBAL, NV_BS_RT, bytes(16),
         load_option(args.description, args.disk, args.partition, args.loader)),
        ("BootOrder", GLOBAL, NV_BS_RT, bytes(16), struct.pack("<H", 1)),
    ]
    if args.keys_from:
        keys = {(n, g): (a, t, d) for n, g, a, t, d in store_variables(args.keys_from)}
        for name, guid in (("PK", GLOBAL), ("KEK", GLOBAL),
                           ("db", IMAGE_SECURITY), ("dbx", IMAGE_SECURITY)):
            if (name, guid) not in keys:
                sys.exit(f"{args.keys_from}: no {name}")
            attrs, timestamp, data = keys[(name, guid)]
            variables.append((name, guid, attrs, timestamp, data))
    body = b""
    for name, guid, attrs, timestamp, data in variables:
        encoded = name.encode("utf-16-le")  # no NUL, as varstored keeps it
        body += struct.pack("<Q", len(encoded)) + encoded
        body += struct.pack("<Q", len(data)) + data
        body += guid.bytes_le + struct.pack("<I", attrs) + timestamp + bytes(32)
    header = b"VARS" + struct.pack("<IQQ", args.version, len(variables), len(body))
    if args.version >= 2:
        header += bytes(8) + bytes(260)  # MOR key, PPI data: all clear
    print(base64.b64encode(header + body).decode())


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("blob")
    b.add_argument("--version", type=int, choices=(1, 2), default=2)
    b.add_argument("--disk", required=True)
    b.add_argument("--partition", type=int, required=True)
    b.add_argument("--loader", required=True)
    b.add_argument("--description", default="debian")
    b.add_argument("--keys-from")
    lst = sub.add_parser("list")
    lst.add_argument("store")
    cmp = sub.add_parser("compare")
    cmp.add_argument("store")
    cmp.add_argument("blob")
    args = parser.parse_args()
    if args.command == "blob":
        make_blob(args)
    elif args.command == "list":
        for name, guid, attrs, _, data in store_variables(args.store):
            print(name, guid, hex(attrs), hashlib.sha256(data).hexdigest())
    else:
        store = {(n, g): (a, d) for n, g, a, _, d in store_variables(args.store)}
        for name, guid, attrs, _, data in blob_variables(open(args.blob).read()):
            if store.get((name, guid)) != (attrs, data):
                sys.exit(f"{args.store}: {name} ({guid}) is not the blob's")
        print(f"{args.store}: every variable of {args.blob} is there")


if __name__ == "__main__":
    main()
