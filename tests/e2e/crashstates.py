#!/usr/bin/env python3
"""Crash states of the overlay, built from a record instead of a random kill.

A workload writes to a disk through a real mount with -o overlay=DIR, with
fsyncs between rounds of writes, while tests/crashrec.c records every write
and sync the daemon makes under DIR. From that record, crash states are built
the way a power cut could leave the folder (the LazyFS model):
  - a file's write (or size change) survives when an fsync/fdatasync of that
    file began after it and returned before the cut; a new file's name
    survives when an fsync of the folder did (fsync(2): syncing a file does
    not promise its directory entry); syncfs/sync keep everything before them;
  - anything else may or may not have reached the disk: each prefix of those
    writes (in order), random subsets, and the last write torn at a 512-byte
    sector are tried.
Cuts are tried just before each sync the daemon makes returns (when the most
is in flight), just after each of the guest's fsyncs returned, and at the end.

Each state is materialised in a fresh folder and read back through xvafs:
every state with xvafs --export-disk --overlay (the core, reading), some by
mounting it with -o overlay= (writing). Either must open it, and every
512-byte sector must read
  - what the guest's last fsync before the cut covered (the last bytes
    written to it before that fsync, or the export's), or
  - bytes one of the guest's later writes (before the next fsync returned)
    put there;
never anything else. Guest writes are whole sectors, as a guest's block
layer makes them, so a sector is always one of those values.

Environment: XVAFS, MKXVA, CRASHREC (the shim), WORK (a scratch folder),
XVAFS_SANITIZED, CRASH_SEED (default: random, printed), CRASH_ROUNDS (fsync'd
rounds of writes per workload, default 5, 3 under ASan), CRASH_MOUNTS (real
mounts per workload, default 12, 8 under ASan), CRASH_KEEP_GOING=1 (try every state, not
stop at the first failure), CRASH_JOBS (states checked at once, default 2).
"""
import concurrent.futures
import os
import queue
import random
import shutil
import subprocess
import sys
import time
import traceback

SECTOR = 512
DISK = 2 * 1024 * 1024
# seconds: a guard against hangs, never a timing assertion (tests/wait.sh)
HANG = int(os.environ.get("XVAFS_TEST_HANG_GUARD", "600"))

XVAFS = os.environ["XVAFS"]
MKXVA = os.environ["MKXVA"]
SHIM = os.environ["CRASHREC"]
WORK = os.environ["WORK"]
SEED = int(os.environ.get("CRASH_SEED") or random.SystemRandom().randrange(1 << 32))
SANITIZED = os.environ.get("XVAFS_SANITIZED", "0") in ("1", "ON", "TRUE", "true")
# Under ASan every xvafs run costs several times more: fewer fsync rounds
# (so fewer states) keep the test to a couple of minutes.
ROUNDS = int(os.environ.get("CRASH_ROUNDS") or (3 if SANITIZED else 5))
MOUNTS = int(os.environ.get("CRASH_MOUNTS") or (8 if SANITIZED else 12))
JOBS = int(os.environ.get("CRASH_JOBS", "2"))  # states checked at once
KEEP_GOING = os.environ.get("CRASH_KEEP_GOING") == "1"  # every failing state
FAILED = []

print(f"-- crash states: CRASH_SEED={SEED}", flush=True)


class Failure(Exception):
    pass


def preload():
    """LD_PRELOAD for the daemon: under ASan, its runtime must come first."""
    libs = [SHIM]
    if SANITIZED:
        out = subprocess.run(["ldd", XVAFS], capture_output=True, text=True).stdout
        asan = [l.split("=>")[1].split()[0] for l in out.splitlines()
                if "libasan" in l and "=>" in l]
        if not asan:
            raise Failure("a sanitized xvafs without libasan in ldd's list")
        libs = asan[:1] + libs
    return ":".join(libs)


def is_mounted(mnt):
    with open("/proc/self/mounts") as f:
        return any(l.split()[1] == mnt and l.split()[2].startswith("fuse")
                   for l in f)


class Mount:
    """xvafs -f in the background; waits until the kernel shows the mount."""

    def __init__(self, xva, mnt, ovl, env=None, err=None):
        os.makedirs(mnt, exist_ok=True)
        self.mnt = mnt
        self.err = open(err or os.path.join(WORK, "daemon.err"), "w+")
        self.proc = subprocess.Popen([XVAFS, "-f", "-o", "overlay=" + ovl, xva, mnt],
                                     stderr=self.err, env=env)
        deadline = time.monotonic() + HANG
        while not is_mounted(mnt):
            if self.proc.poll() is not None:
                raise Failure(f"xvafs exited ({self.proc.returncode}) before mounting "
                              f"with overlay {ovl}: {self.stderr()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise Failure(f"{mnt} not mounted after {HANG} s")
            time.sleep(0.02)

    def stderr(self):
        self.err.seek(0)
        return self.err.read()

    def unmount(self):
        # The reader has closed the disk, but the states are checked in
        # threads: a subprocess another thread forks holds a copy of every
        # open descriptor (ours included) until it execs, and umount says
        # busy meanwhile. Wait for the mount to be free, bounded only by
        # the hang guard.
        end = time.monotonic() + HANG
        while True:
            p = subprocess.run(["fusermount3", "-u", self.mnt], capture_output=True, text=True)
            if p.returncode == 0:
                break
            if "busy" not in p.stderr or time.monotonic() > end:
                raise Failure(f"fusermount3 -u {self.mnt} failed: {p.stderr.strip()}")
            time.sleep(0.05)
        rc = self.proc.wait(timeout=HANG)
        said = self.stderr()
        self.err.close()
        if rc != 0 or said:
            raise Failure(f"xvafs exited with {rc} and said: {said!r}")


def make_export(rng):
    """A disk of random bytes with zero runs, as an .xva."""
    img = bytearray(rng.randbytes(DISK))
    for _ in range(4):
        at = rng.randrange(0, DISK, SECTOR)
        n = min(DISK - at, rng.randrange(1, 200) * SECTOR)
        img[at:at + n] = bytes(n)
    path = os.path.join(WORK, "disk.img")
    with open(path, "wb") as f:
        f.write(img)
    xva = os.path.join(WORK, "vm.xva")
    subprocess.run([MKXVA, xva, path + "=Ref:5"], check=True, stdout=subprocess.DEVNULL)
    return xva, bytes(img)


# --- the workload ---

def workload(xva, base_dir, rng, name, rounds):
    """Writes and fsyncs through a recorded mount. Returns the guest's events:
    ("w", offset, bytes) and ("s", log lines when that fsync returned)."""
    ovl = os.path.join(WORK, name + ".ovl")
    shutil.rmtree(ovl, ignore_errors=True)
    if base_dir:
        shutil.copytree(base_dir, ovl)
    else:
        os.mkdir(ovl, 0o700)
    log = os.path.join(WORK, name + ".log")
    env = dict(os.environ, CRASHREC_DIR=ovl, CRASHREC_LOG=log, LD_PRELOAD=preload())
    mnt = os.path.join(WORK, "mnt")
    m = Mount(xva, mnt, ovl, env)
    events = []
    fd = os.open(os.path.join(mnt, "Ref:5"), os.O_RDWR)
    try:
        for r in range(rounds + 1):
            for _ in range(rng.randrange(1, 7)):
                # Mostly small writes, some across many 4 KiB blocks; some
                # rewrite a block written before.
                n = rng.choice([1, 1, 2, 8, 8, 9, 40]) * SECTOR
                if events and rng.random() < 0.3:
                    at = rng.choice([e[1] for e in events if e[0] == "w"])
                else:
                    at = rng.randrange(0, DISK, SECTOR)
                at = min(at, DISK - n)
                data = rng.randbytes(n)
                if os.pwrite(fd, data, at) != n:
                    raise Failure("a short write through the mount")
                events.append(("w", at, data))
            if r == rounds:
                break  # the last round is left to the unmount
            os.fsync(fd)
            events.append(("s", count_lines(log)))
    finally:
        os.close(fd)
        m.unmount()
    events.append(("s", count_lines(log)))  # the unmount synced it all
    return ovl, log, events


def count_lines(path):
    with open(path, "rb") as f:
        return f.read().count(b"\n")


# --- the record ---

def read_log(log):
    with open(log + ".data", "rb") as f:
        data = f.read()
    ops = []
    with open(log) as f:
        for i, line in enumerate(f):
            w = line.split()
            kind = w[0]
            if kind == "write":
                off, n, doff = int(w[2]), int(w[3]), int(w[4])
                ops.append({"i": i, "kind": kind, "file": w[1], "off": off,
                            "data": data[doff:doff + n]})
            elif kind == "trunc":
                ops.append({"i": i, "kind": kind, "file": w[1], "size": int(w[2])})
            elif kind == "falloc":
                ops.append({"i": i, "kind": kind, "file": w[1], "mode": int(w[2]),
                            "off": int(w[3]), "len": int(w[4])})
            elif kind == "create":
                ops.append({"i": i, "kind": kind, "file": w[1]})
            elif kind == "sync":
                ops.append({"i": i, "kind": kind, "file": w[1], "how": w[2],
                            "begin": int(w[3])})
            else:
                # Renames and unlinks would need names apart from files in
                # the model; the overlay makes none today.
                raise Failure(f"the overlay did {kind} ({line.strip()}): this "
                              "test's model does not know it yet")
    return ops


def durable(op, syncs, cut):
    """Whether OP survives a cut before log line CUT."""
    for s in syncs:
        if s["i"] >= cut:
            break
        if s["begin"] <= op["i"]:
            continue
        if s["how"] in ("syncfs", "sync"):
            return True
        if s["how"] not in ("fsync", "fdatasync"):
            continue  # sync_file_range keeps nothing
        if op["kind"] == "create" and s["file"] == ".":
            return True
        if op["kind"] != "create" and s["file"] == op["file"]:
            return True
    return False


def materialise(base_dir, ops, applied, torn, into):
    """The folder after a cut: BASE_DIR with the ops in APPLIED (log line
    numbers), in order; TORN (line, bytes kept) cuts one write short."""
    shutil.rmtree(into, ignore_errors=True)
    if base_dir:
        shutil.copytree(base_dir, into)
    else:
        os.mkdir(into, 0o700)
    for op in ops:
        if op["i"] not in applied or op["kind"] == "sync":
            continue
        path = os.path.join(into, op["file"])
        if op["kind"] == "create":
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            continue
        if not os.path.exists(path):
            continue  # its name was lost: so is what was written to it
        if op["kind"] == "write":
            data = op["data"]
            if torn and torn[0] == op["i"]:
                data = data[:torn[1]]
            fd = os.open(path, os.O_WRONLY)
            os.pwrite(fd, data, op["off"])
            os.close(fd)
        elif op["kind"] == "trunc":
            os.truncate(path, op["size"])
        elif op["kind"] == "falloc":
            end = op["off"] + op["len"]
            size = os.path.getsize(path)
            if op["mode"] == 0:
                if end > size:
                    os.truncate(path, end)
            elif op["mode"] == 3:  # FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE
                end = min(end, size)
                if end > op["off"]:
                    fd = os.open(path, os.O_WRONLY)
                    os.pwrite(fd, bytes(end - op["off"]), op["off"])
                    os.close(fd)
            else:
                raise Failure(f"fallocate mode {op['mode']}: not in this test's model")


# --- what the guest may read ---

class Expect:
    """For a cut after the guest's K-th fsync: each sector's synced bytes and
    the bytes later writes may have left there."""

    def __init__(self, base, events):
        self.base = base
        self.events = events
        self.syncs = [e[1] for e in events if e[0] == "s"]
        self.cache = {}

    def after(self, k):
        if k in self.cache:
            return self.cache[k]
        img = bytearray(self.base)
        later = {}
        seen = 0
        for e in self.events:
            if e[0] == "s":
                seen += 1
                if seen > k:
                    break  # writes after the next fsync returned: not yet made
                continue
            _, at, data = e
            if seen < k:
                img[at:at + len(data)] = data
            else:
                for s in range(0, len(data), SECTOR):
                    later.setdefault((at + s) // SECTOR, set()).add(data[s:s + SECTOR])
        self.cache[k] = (bytes(img), later)
        return self.cache[k]

    def check(self, got, k):
        """None, or what is wrong with GOT after a cut following fsync K."""
        synced, later = self.after(k)
        if len(got) != len(synced):
            return f"the disk reads {len(got)} bytes, not {len(synced)}"
        if got == synced:
            return None
        step = 65536
        for c in range(0, len(got), step):
            if got[c:c + step] == synced[c:c + step]:
                continue
            for at in range(c, min(c + step, len(got)), SECTOR):
                g = got[at:at + SECTOR]
                if g == synced[at:at + SECTOR] or g in later.get(at // SECTOR, ()):
                    continue
                what = "the export's bytes" if g == self.base[at:at + SECTOR] else \
                    "bytes written to it before the fsync but not its last" \
                    if any(e[0] == "w" and e[1] <= at < e[1] + len(e[2]) and
                           e[2][at - e[1]:at - e[1] + SECTOR] == g for e in self.events) \
                    else "bytes never written there"
                return (f"sector {at // SECTOR} (offset {at}) reads {what}, not "
                        f"what fsync {k} covered or a later write")
        return None


# --- the states ---

def states(ops, events, rng):
    """(cut, guest fsyncs returned, frozenset of applied lines, torn) for each
    state to try."""
    syncs = [o for o in ops if o["kind"] == "sync"]
    changes = [o for o in ops if o["kind"] != "sync"]
    marks = [e[1] for e in events if e[0] == "s"]
    end = len(ops)
    cuts = sorted({s["i"] for s in syncs} | set(marks) | {end})
    seen = set()
    for cut in cuts:
        k = sum(1 for m in marks if m <= cut)
        keep = {o["i"] for o in changes if o["i"] < cut and durable(o, syncs, cut)}
        loose = [o for o in changes if o["i"] < cut and o["i"] not in keep]
        tries = []
        # (a) each prefix of the writes in flight (a long run: some of them)
        ms = list(range(len(loose) + 1))
        if len(ms) > 24:
            ms = sorted(set(ms[:4] + ms[-4:] + rng.sample(ms, 16)))
        for m in ms:
            tries.append((loose[:m], None))
        # (b) random subsets
        for _ in range(3 if loose else 0):
            tries.append(([o for o in loose if rng.random() < 0.5], None))
        # (c) the last write torn at a sector: of the longest prefix, of a
        # random one, and of a subset
        for pick in (loose, loose[:rng.randrange(len(loose) + 1)],
                     [o for o in loose if rng.random() < 0.5]):
            if pick and pick[-1]["kind"] == "write" and len(pick[-1]["data"]) > SECTOR:
                last = pick[-1]
                # whole sectors of the file: from OFF to a sector boundary
                first = (last["off"] // SECTOR + 1) * SECTOR
                cuts_at = list(range(first, last["off"] + len(last["data"]), SECTOR))
                if cuts_at:
                    t = rng.choice(cuts_at) - last["off"]
                    tries.append((pick, (last["i"], t)))
        for chosen, torn in tries:
            applied = frozenset(keep | {o["i"] for o in chosen})
            key = (applied, torn)
            if key in seen:
                continue
            seen.add(key)
            yield cut, k, applied, torn, keep


def describe(name, cut, k, applied, torn, keep, ops):
    loose = sorted(i for i in applied if i not in keep)
    dropped = sorted(o["i"] for o in ops if o["kind"] != "sync" and o["i"] < cut
                     and o["i"] not in applied)
    return (f"workload {name}, cut before log line {cut} (after the guest's fsync "
            f"{k}), unsynced lines applied {loose}, dropped {dropped}, torn "
            f"{'line %d after %d bytes' % torn if torn else 'none'}")


def export_disk(xva, ovl, slot):
    out = os.path.join(slot, "out.img")
    if os.path.exists(out):
        os.unlink(out)
    p = subprocess.run([XVAFS, "--export-disk", "--overlay", ovl, xva, "Ref:5", out],
                       capture_output=True, text=True, timeout=HANG)
    if p.returncode != 0 or p.stderr:
        return None, f"xvafs --export-disk refused it ({p.returncode}): {p.stderr.strip()}"
    with open(out, "rb") as f:
        return f.read(), None


def read_mounted(xva, ovl, slot):
    mnt = os.path.join(slot, "mnt")
    m = Mount(xva, mnt, ovl, err=os.path.join(slot, "daemon.err"))
    try:
        with open(os.path.join(mnt, "Ref:5"), "rb") as f:
            return f.read()
    finally:
        m.unmount()


def check_state(xva, base_dir, ops, expect, state, must_mount, slot):
    """None, or what is wrong with one crash state."""
    cut, k, applied, torn, keep = state
    state_dir = os.path.join(slot, "state")
    materialise(base_dir, ops, applied, torn, state_dir)
    got, err = export_disk(xva, state_dir, slot)
    names = os.listdir(state_dir)
    if err and k == 0 and "holds no xvafs overlay" in err and "lock" not in names \
            and not any(f.endswith(".map") and os.path.getsize(os.path.join(state_dir, f))
                        for f in names):
        # Cut before the guest's first fsync, and neither the lock file nor
        # a map reached the disk: such a folder is refused for reading by
        # design (it looks like a mistyped one; no block is held). A
        # writable mount must still take it.
        err, must_mount = None, True
        got = expect.after(k)[0]
    bad = err or expect.check(got, k)
    if not bad and must_mount:
        # A writable mount changes the folder (it sizes the files): on a
        # copy, after the read-only look above.
        shutil.rmtree(state_dir + ".m", ignore_errors=True)
        shutil.copytree(state_dir, state_dir + ".m")
        bad = expect.check(read_mounted(xva, state_dir + ".m", slot), k)
        bad = bad and "mounted: " + bad
    return bad, must_mount


def check_workload(name, xva, base, base_dir, ovl, log, events, rng):
    ops = read_log(log)
    expect = Expect(base, events)
    for k in range(len(expect.syncs) + 1):
        expect.after(k)  # filled before the workers share it
    # The folder as the workload left it is the last state: everything.
    got, err = export_disk(xva, ovl, WORK)
    if err or got != expect.after(len(expect.syncs))[0]:
        raise Failure(f"workload {name}: the overlay as unmounted is wrong: "
                      f"{err or 'its bytes differ from the model'}")
    todo = list(states(ops, events, rng))
    mount_at = set(rng.sample(range(len(todo)), min(MOUNTS, len(todo))))
    mount_at.add(len(todo) - 1)
    # Each worker has its own folders; a loaded machine gives two processes
    # more of its time than one.
    slots = queue.Queue()
    for j in range(JOBS):
        os.makedirs(os.path.join(WORK, f"slot{j}"), exist_ok=True)
        slots.put(os.path.join(WORK, f"slot{j}"))

    def one(n):
        slot = slots.get()
        try:
            return check_state(xva, base_dir, ops, expect, todo[n], n in mount_at, slot)
        except Failure as e:
            return str(e), False
        finally:
            slots.put(slot)

    mounted = 0
    with concurrent.futures.ThreadPoolExecutor(JOBS) as pool:
        for n, (bad, was_mounted) in enumerate(pool.map(one, range(len(todo)))):
            mounted += was_mounted
            if not bad:
                continue
            cut, k, applied, torn, keep = todo[n]
            msg = f"CRASH_SEED={SEED}: {describe(name, cut, k, applied, torn, keep, ops)}: {bad}"
            with open(log) as f:
                lines = f.readlines()[:cut]
            msg += "\nthe record up to the cut (line: event):\n" + "".join(
                f"  {i}: {l}" for i, l in enumerate(lines))[-6000:]
            if not KEEP_GOING:
                pool.shutdown(cancel_futures=True)
                raise Failure(msg)
            print("FAIL: " + msg, file=sys.stderr, flush=True)
            FAILED.append(msg)
    print(f"-- workload {name}: {len(ops)} recorded events, {len(expect.syncs)} "
          f"guest syncs, {len(todo)} crash states ({mounted} of them mounted)",
          flush=True)
    return len(todo)


def main():
    rng = random.Random(SEED)
    xva, base = make_export(rng)
    total = 0
    # From an empty folder: the overlay's files are made during the workload.
    ovl, log, events = workload(xva, None, rng, "new", ROUNDS)
    total += check_workload("new", xva, base, None, ovl, log, events, rng)
    # From the folder that one left: the files exist, blocks are held.
    model = Expect(base, events)
    base2 = model.after(len(model.syncs))[0]
    ovl2, log2, events2 = workload(xva, ovl, rng, "again", ROUNDS)
    total += check_workload("again", xva, base2, ovl, ovl2, log2, events2, rng)
    print(f"-- {total} crash states tried, CRASH_SEED={SEED}", flush=True)
    if FAILED:
        raise Failure(f"{len(FAILED)} crash states failed, CRASH_SEED={SEED}")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
    except Exception:
        # Not a finding of the test: still worth the seed to replay it.
        traceback.print_exc()
        print(f"FAIL: the test broke, CRASH_SEED={SEED}", file=sys.stderr)
        sys.exit(1)
