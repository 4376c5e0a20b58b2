#!/usr/bin/python3
"""compressed_igzip.py FILE.gz SPACING N: Debian's python3-indexed-gzip on
the same file: index build time, exported index size, and N random 4 KiB
reads (seek + read), for bench/compressed.sh."""
import os
import random
import statistics
import sys
import tempfile
import time

import indexed_gzip


def main():
    path, spacing, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    t = time.monotonic()
    f = indexed_gzip.IndexedGzipFile(path, spacing=spacing,
                                     window_size=32768,
                                     readbuf_size=1 << 20)
    f.build_full_index()
    build = time.monotonic() - t
    size = f.seek(0, 2)
    with tempfile.TemporaryDirectory() as d:
        idx = os.path.join(d, 'index')
        f.export_index(idx)
        index_bytes = os.path.getsize(idx)
    rng = random.Random(1234)
    ms = []
    for _ in range(n):
        off = rng.randrange(size - 4096)
        t = time.monotonic()
        f.seek(off)
        data = f.read(4096)
        ms.append((time.monotonic() - t) * 1000)
        assert len(data) == 4096
    ms.sort()
    print('build_s=%.3f index_bytes=%d reads=%d median_ms=%.3f '
          'p90_ms=%.3f p99_ms=%.3f mean_ms=%.3f' %
          (build, index_bytes, n, ms[n // 2], ms[n * 9 // 10],
           ms[n * 99 // 100], statistics.mean(ms)))


main()
