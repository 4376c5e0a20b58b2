#!/usr/bin/env python3
"""Checks that src/ keeps its layers: each folder includes only headers of
its own layer or of the layers under it, and front ends include no
internal header of the core (they see include/xvafs/, base/ and each
other). Run from anywhere: python3 tests/layering.py [SRC_ROOT]."""
import os
import re
import sys

# Layer of each folder, lowest first. Folders of one rank may not include
# each other (vm and access sit side by side on the export layer).
RANK = {"base": 0, "source": 1, "export": 2, "access": 3, "vm": 3,
        "guest": 4, "front": 5, "fuse": 6, "cli": 6, "nbdkit": 6}
# The core folders whose headers are internal: no front end includes them.
CORE = {"base", "source", "export", "access", "vm", "guest"}
FRONT = {"front", "fuse", "cli", "nbdkit"}
# What a front end may include from the core's own folders: the helpers
# every layer shares.
FRONT_MAY_USE = {"base/io.h", "base/thread.h"}
# The layer each public header belongs to.
PUBLIC = {
    "error.h": "base", "number.h": "base", "atomicfile.h": "base",
    "cachefile.h": "base", "readahead.h": "base", "source.h": "source",
    "xva.h": "export",
    "diskmap.h": "export", "names.h": "export", "ovaxml.h": "export",
    "checksum.h": "export", "verify.h": "export", "read.h": "access",
    "view.h": "access", "overlay.h": "access", "vm.h": "vm",
    "partition.h": "guest", "lvm.h": "guest", "fsprobe.h": "guest",
    "guest.h": "guest", "crypt.h": "source",
    "repository.h": "export",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def layer_of(header, here):
    if header.startswith("xvafs/"):
        name = header[len("xvafs/"):]
        if name not in PUBLIC:
            return None
        return PUBLIC[name]
    if "/" not in header:
        return here  # beside the file
    return header.split("/", 1)[0]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "src")
    problems = []
    for folder in sorted(os.listdir(root)):
        path = os.path.join(root, folder)
        if not os.path.isdir(path):
            problems.append(f"src/{folder}: a file outside every layer folder")
            continue
        if folder not in RANK:
            problems.append(f"src/{folder}: a folder tests/layering.py does "
                            "not know; give it a rank")
            continue
        for name in sorted(os.listdir(path)):
            if not name.endswith((".c", ".h")):
                continue
            with open(os.path.join(path, name), encoding="utf-8") as f:
                text = f.read()
            for header in INCLUDE.findall(text):
                where = f"src/{folder}/{name}: includes \"{header}\""
                layer = layer_of(header, folder)
                if layer is None:
                    problems.append(f"{where}, which is no known header")
                elif layer not in RANK:
                    problems.append(f"{where}, from no known layer")
                elif folder in FRONT and layer in CORE and \
                        not header.startswith("xvafs/") and \
                        header not in FRONT_MAY_USE:
                    problems.append(f"{where}: a front end sees only "
                                    "include/xvafs/ and the shared helpers")
                elif RANK[layer] > RANK[folder]:
                    problems.append(f"{where}, from the {layer} layer above "
                                    f"{folder}")
                elif RANK[layer] == RANK[folder] and layer != folder and \
                        not (folder in FRONT and layer in FRONT):
                    problems.append(f"{where}: {folder} and {layer} sit side "
                                    "by side and may not include each other")
    public = os.path.join(root, "..", "include", "xvafs")
    for name in sorted(os.listdir(public)):
        with open(os.path.join(public, name), encoding="utf-8") as f:
            for header in INCLUDE.findall(f.read()):
                if not header.startswith("xvafs/"):
                    problems.append(f"include/xvafs/{name}: includes "
                                    f"\"{header}\", an internal header")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} layering problem(s)")
        return 1
    print("layers kept: every include goes down or sideways within a layer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
