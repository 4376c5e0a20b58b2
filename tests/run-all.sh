#!/usr/bin/env bash
# The whole test suite: a warnings-as-errors build and an ASan+UBSan build,
# each running every ctest test (unit and end-to-end mounts).
#
#   tests/run-all.sh            as root, with /dev/fuse and loop devices
#
# Under CI (CI=true) an end-to-end test that cannot mount fails instead of
# being skipped, so a run never passes without mounting.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${CI:-}" = true ]; then
	export XVAFS_REQUIRE_MOUNT=1
fi
jobs=$(nproc 2>/dev/null || echo 2)

run_build() {
	local dir=$1
	shift
	echo "== $dir: $*"
	cmake -S . -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
	ctest --test-dir "$dir" --output-on-failure -j1
}

run_build build -DXVAFS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_build build-asan -DXVAFS_SANITIZE=ON -DXVAFS_WERROR=ON -DCMAKE_BUILD_TYPE=Debug
echo "== all test builds passed"
