#!/usr/bin/env bash
# Power cuts of an overlay, state by state: crashrec (an LD_PRELOAD shim)
# records what the daemon writes under the overlay folder and when it syncs,
# and crashstates.py builds from that record the states a power cut could
# leave (each prefix of the writes not yet synced, random subsets, a torn
# last write), then reads each through xvafs: it must open the overlay, keep
# every synced sector and show no bytes the guest never wrote there.
# CRASH_SEED=N replays a run (the seed is printed); CRASH_MOUNTS=N sets how
# many states per workload are also mounted (the others are read with
# --export-disk, much faster).
. "$(dirname "$0")/lib.sh"
: "${CRASHREC:?path to the crashrec shim}"
need_fuse
need_root
command -v python3 >/dev/null || skip "no python3"
command -v ldd >/dev/null || skip "no ldd (to find ASan's runtime for LD_PRELOAD)"

export WORK
# Where crashstates.py mounts, for lib.sh's cleanup should it be stopped
# with a mount up.
for j in $(seq 0 $((${CRASH_JOBS:-2} - 1))); do
	MOUNTS+=("$WORK/slot$j/mnt")
done
MOUNTS+=("$WORK/mnt")
python3 "$(dirname "$0")/crashstates.py"
