#!/usr/bin/env bash
# The whole test suite: a warnings-as-errors build and an ASan+UBSan build,
# each running every ctest test (unit tests; end-to-end mounts, NBD
# servers, web and S3 servers on loopback; valgrind and the slow test in
# the first), the Debian packages (tests/package.sh), then each libFuzzer
# harness for FUZZ_SECONDS (default 30) from the generator's seeds and the
# checked-in regressions.
#
#   tests/run-all.sh            as root, with /dev/fuse and loop devices
#
# Under CI (CI=true) an end-to-end test that cannot mount fails instead of
# being skipped, so a run never passes without mounting.
#
# Tests wait for events (a mount, a line, a socket, a port, an exit), never
# for a fixed time; XVAFS_TEST_HANG_GUARD (seconds, default 600, see
# tests/wait.sh) only bounds a wait that would hang.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${CI:-}" = true ]; then
	export XVAFS_REQUIRE_MOUNT=1
fi
jobs=$(nproc 2>/dev/null || echo 2)

# run_build DIR "CTEST ARGS" CMAKE ARGS...
run_build() {
	local dir=$1 ctest_args=$2
	shift 2
	echo "== $dir: $*"
	cmake -S . -B "$dir" "$@" >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
	# shellcheck disable=SC2086
	ctest --test-dir "$dir" --output-on-failure -j1 $ctest_args
}

run_build build "" -DXVAFS_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
# The Debian packages: built from a clean copy, lintian, installed,
# debian/tests (autopkgtest's null testbed, or the scripts directly),
# removed and purged. SKIP (77) when not root or without dpkg-buildpackage.
echo "== Debian packages: tests/package.sh"
package_status=0
tests/package.sh || package_status=$?
[ "$package_status" = 0 ] || [ "$package_status" = 77 ] || exit "$package_status"
# The slow test (offsets past 4 GiB through gzip and zstd) is mostly zlib
# and libzstd work, which the sanitizers do not see: the plain build runs it.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_build build-asan "-LE slow" -DXVAFS_SANITIZE=ON -DXVAFS_WERROR=ON -DCMAKE_BUILD_TYPE=Debug
fuzz_seconds=${FUZZ_SECONDS:-30}
# Every harness (tests/fuzz/fuzz_H.c; tests/fuzz/CMakeLists.txt has the
# same list for the replay tests).
harnesses="index ovaxml vm efivars indexcache gzipindex zstdindex http aws overlaymap guest"
# -timeout= only catches an input that hangs: how long a slow input may
# take depends on the machine and its load, so it is the hang guard.
echo "== build-fuzz: libFuzzer harnesses, ${fuzz_seconds}s each"
CC=clang cmake -S . -B build-fuzz -DXVAFS_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# shellcheck disable=SC2046,SC2086
cmake --build build-fuzz -j"$jobs" --target $(printf 'fuzz_%s ' $harnesses) >/dev/null
fuzz_dir=$(mktemp -d)
trap 'rm -rf "$fuzz_dir"' EXIT
tests/fuzz/seeds.sh build/tests/mkxva "$fuzz_dir/seeds" build/xvafs >/dev/null
# Overlay maps as the overlay code makes them, for the map loader's harness.
build/tests/fuzz/overlaymap_seeds "$fuzz_dir/seeds/overlaymap"
for h in $harnesses; do
	mkdir -p "$fuzz_dir/corpus-$h" "$fuzz_dir/crash-$h"
	cp "$fuzz_dir/seeds/$h"/* "$fuzz_dir/corpus-$h/"
	# New inputs go to the first folder; the regressions are read only
	# (their names may be the seeds').
	if ! build-fuzz/tests/fuzz/fuzz_$h -max_total_time="$fuzz_seconds" -timeout="${XVAFS_TEST_HANG_GUARD:-600}" \
		-rss_limit_mb=2048 -max_len=200000 -artifact_prefix="$fuzz_dir/crash-$h/" \
		"$fuzz_dir/corpus-$h" "tests/fuzz/regressions/$h" >"$fuzz_dir/$h.log" 2>&1; then
		tail -n 60 "$fuzz_dir/$h.log"
		echo "fuzz_$h found a crash; the input is in $fuzz_dir/crash-$h" >&2
		trap - EXIT
		exit 1
	fi
	echo "fuzz_$h: $(grep -o 'Done [0-9]* runs' "$fuzz_dir/$h.log" || tail -n 1 "$fuzz_dir/$h.log")"
done
echo "== all test builds passed"
