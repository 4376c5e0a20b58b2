#!/usr/bin/python3
"""compressed_image.py OUT SIZE_MIB: a disk image like the shared notes'
test data. Per 64 KiB sub-block: 40 % random bytes, 25 % zeros, 35 % real
bytes of /usr binaries; 15 % of the 1 MiB chunks are all zeros (an export
leaves them out), never the first or the last. Deterministic."""
import glob
import os
import random
import sys

MIB = 1 << 20
SUB = 64 << 10


def binary_pool(limit=256 * MIB):
    pool = bytearray()
    paths = sorted(glob.glob('/usr/bin/*') +
                   glob.glob('/usr/lib/x86_64-linux-gnu/*.so*'))
    for p in paths:
        if len(pool) >= limit:
            break
        try:
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, 'rb') as f:
                    pool += f.read(limit - len(pool))
        except OSError:
            pass
    return bytes(pool)


def main():
    out, size_mib = sys.argv[1], int(sys.argv[2])
    rng = random.Random(20261130)
    pool = binary_pool()
    with open(out + '.tmp', 'wb') as f:
        f.truncate(size_mib * MIB)
        for c in range(size_mib):
            if 0 < c < size_mib - 1 and rng.random() < 0.15:
                continue
            chunk = bytearray()
            for _ in range(MIB // SUB):
                r = rng.random()
                if r < 0.40:
                    chunk += rng.randbytes(SUB)
                elif r < 0.65:
                    chunk += bytes(SUB)
                else:
                    at = rng.randrange(len(pool) - SUB)
                    chunk += pool[at:at + SUB]
            f.seek(c * MIB)
            f.write(chunk)
    os.rename(out + '.tmp', out)


main()
