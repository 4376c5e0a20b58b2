# shellcheck shell=bash
# Sourced by the tests in debian/tests. They run from the top of the source
# tree, as autopkgtest runs them, against the installed packages: always
# /usr/bin/xvafs and the plugin nbdkit finds by name, never a build tree.
#
# The demo export is made here with the project's generator, built from
# tests/mkxva.c against the installed -dev packages the tests depend on:
# the generator is a test tool, so no binary package ships it.
set -euo pipefail
top=$(pwd)
[ -f "$top/tests/mkxva.c" ] || { echo "FAIL: run from the top of the source tree" >&2; exit 1; }
# shellcheck source=../../tests/wait.sh
source "$top/tests/wait.sh"

# The test's folder: autopkgtest's, or one of our own, removed at the end.
own_work=
if [ -n "${AUTOPKGTEST_TMP:-}" ]; then
	work=$AUTOPKGTEST_TMP
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/xvafs-autopkgtest.XXXXXX")
	own_work=1
fi
# At exit: the test's test_cleanup (unmounting, stopping what it started),
# when it defines one, then the folder if it is ours.
on_exit() {
	if declare -F test_cleanup >/dev/null; then
		test_cleanup
	fi
	[ -z "$own_work" ] || rm -rf "$work"
}
trap on_exit EXIT
demo=$work/demo

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# skip REASON: the test cannot run here (autopkgtest's "skippable": exit
# 77). Under tests/package.sh in CI (XVAFS_REQUIRE_MOUNT=1) that fails.
skip() {
	[ -z "${XVAFS_REQUIRE_MOUNT:-}" ] || fail "cannot run, but XVAFS_REQUIRE_MOUNT is set: $*"
	echo "SKIP: $*"
	exit 77
}

# upstream_version PACKAGE: the installed package's version without a
# Debian revision or a binNMU suffix, as the programs print it.
upstream_version() {
	dpkg-query -W -f '${Version}' "$1" | sed -e 's/-[^-]*$//' -e 's/+b[0-9]*$//'
}

# make_demo: the demo export (contrib/mkdemo.sh) in $demo.
make_demo() {
	# shellcheck disable=SC2046
	cc -std=gnu11 -O2 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -o "$work/mkxva" \
		"$top/tests/mkxva.c" $(pkg-config --cflags --libs libarchive libxxhash libcrypto) ||
		fail "cannot build tests/mkxva.c"
	"$top/contrib/mkdemo.sh" "$work/mkxva" "$demo" >"$work/mkdemo.log" 2>&1 ||
		fail "contrib/mkdemo.sh: $(cat "$work/mkdemo.log")"
	echo "-- made the demo export: $(stat -c %s "$demo/backup.xva") bytes, a 64 MiB disk at Ref:12"
}

# check_guest IMAGE: IMAGE is the demo disk, and its guest filesystem (ext4
# in the partition at byte 1048576, read by debugfs in user space) holds the
# demo's files.
check_guest() {
	local image=$1 fs="$1?offset=1048576"
	cmp "$image" "$demo/disk.img" || fail "$image differs from the exported disk"
	debugfs -R 'cat /home/admin/notes.txt' "$fs" >"$work/notes.txt" 2>"$work/debugfs.log" ||
		fail "debugfs cat: $(cat "$work/debugfs.log")"
	cmp "$work/notes.txt" "$demo/root/home/admin/notes.txt" ||
		fail "/home/admin/notes.txt in the guest reads '$(cat "$work/notes.txt")': $(cat "$work/debugfs.log")"
	rm -f "$work/data.bin"
	debugfs -R "dump /home/admin/data.bin $work/data.bin" "$fs" 2>"$work/debugfs.log" ||
		fail "debugfs dump: $(cat "$work/debugfs.log")"
	cmp "$work/data.bin" "$demo/root/home/admin/data.bin" ||
		fail "/home/admin/data.bin differs in the guest: $(cat "$work/debugfs.log")"
	echo "-- $image: the exported disk byte for byte; the guest's files read back"
}
