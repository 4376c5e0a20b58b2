#!/usr/bin/env python3
"""tarpatch: sets one field of one tar header in place and fixes the
header's checksum, to make malformed tars no writer would produce.

    tarpatch.py FILE INDEX FIELD VALUE

INDEX counts headers from 0 (extension headers included). FIELD is one of
name, size, typeflag, linkname; a size of "b256:N" is written in base-256,
otherwise in octal."""
import sys

FIELDS = {"name": (0, 100), "size": (124, 12), "typeflag": (156, 1),
          "linkname": (157, 100)}


def header_offsets(data):
    off = 0
    while off + 512 <= len(data) and any(data[off:off + 512]):
        yield off
        h = data[off:off + 512]
        raw = h[124:136]
        if raw[0] & 0x80:
            size = int.from_bytes(raw[1:], "big")
        else:
            size = int(raw.split(b"\0")[0].strip() or b"0", 8)
        off += 512 + (size + 511) // 512 * 512


def main():
    path, index, field, value = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    data = bytearray(open(path, "rb").read())
    off = list(header_offsets(bytes(data)))[index]
    start, length = FIELDS[field]
    if field == "size" and value.startswith("b256:"):
        raw = bytes([0x80]) + int(value[5:]).to_bytes(11, "big")
    elif field == "size":
        digits = "%011o" % int(value)
        if len(digits) > 11:
            sys.exit("tarpatch: %s does not fit an octal size field" % value)
        raw = digits.encode() + b"\0"
    else:
        raw = value.encode().ljust(length, b"\0")[:length]
    data[off + start:off + start + length] = raw
    data[off + 148:off + 156] = b" " * 8
    total = sum(data[off:off + 512])
    data[off + 148:off + 156] = ("%06o" % total).encode() + b"\0 "
    open(path, "wb").write(data)


main()
