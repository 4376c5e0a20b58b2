#!/usr/bin/python3
"""Writes a sparse XVA-like tar for benchmarks of the tar walk over a network.

  mksparsexva.py OUT MEMBERS

The layout is XAPI's: ova.xml, then data members Ref:1/%08d of 1 MiB, each
followed by its .checksum member (SHA-1 of the data), until MEMBERS members
are written, then the two zero blocks. The data is all zeros and left as a
hole, so 100,000 members (52 GB) take a few MB of disk; only the headers'
positions and contents matter to the walk."""
import hashlib
import sys
import tarfile

CHUNK = 1 << 20


def header(name, size):
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o400
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out, members = sys.argv[1], int(sys.argv[2])
    # An ova.xml xvafs accepts (no VDI record: the disk is sized by its
    # data), so that the real index pass can be timed on it too.
    ova = (b'<value><struct><member><name>version</name><value><struct>'
           b'</struct></value></member><member><name>objects</name><value>'
           b'<array><data></data></array></value></member></struct></value>')
    digest = hashlib.sha1(bytes(CHUNK)).hexdigest().encode()
    with open(out, "wb") as f:
        f.write(header("ova.xml", len(ova)))
        f.write(ova + bytes(-len(ova) % 512))
        written, n = 1, 0
        while written < members:
            f.write(header(f"Ref:1/{n:08d}", CHUNK))
            f.seek(CHUNK, 1)
            f.write(header(f"Ref:1/{n:08d}.checksum", len(digest)))
            f.write(digest + bytes(512 - len(digest)))
            written += 2
            n += 1
        f.write(bytes(1024))


if __name__ == "__main__":
    main()
