#!/usr/bin/env bash
# The Debian packages as a user gets them: built from a clean copy of this
# tree with dpkg-buildpackage (source and binaries), checked by lintian
# (no error, no warning), installed with apt-get from the .deb files,
# tested by debian/tests against the installed packages, then removed and
# purged, leaving no file behind.
#
#   tests/package.sh            as root (tests/run-all.sh runs it)
#
# The tests in debian/tests run through autopkgtest's "null" testbed (this
# machine) when autopkgtest is installed. Without it they are run directly,
# as autopkgtest would run them: from the top of the source tree, with
# AUTOPKGTEST_TMP, exit status 77 a skip for a "skippable" test, and any
# output on standard error a failure unless "allow-stderr".
# XVAFS_PACKAGE_TESTS=direct runs them directly even with autopkgtest.
#
# The packages put /usr/bin/xvafs and the nbdkit plugin "xva" on this
# machine while the tests run. The other tests never use them: they run
# the build tree's programs by path ($XVAFS, $NBD_PLUGIN), and e2e_mount
# checks that mount.fuse3 finds its own link first. The packages are
# purged at the end, also when a step fails.
#
# It SKIPs (exit 77) when not root, when dpkg-buildpackage or lintian is
# missing, or when xvafs is installed already (it is not replaced); under
# CI (XVAFS_REQUIRE_MOUNT=1, set by tests/run-all.sh) that is a failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=wait.sh
source "$top/tests/wait.sh"
packages="xvafs nbdkit-plugin-xva"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
skip() {
	[ -z "${XVAFS_REQUIRE_MOUNT:-}" ] || fail "cannot run, but XVAFS_REQUIRE_MOUNT is set: $*"
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root (installs and purges packages)"
for tool in dpkg-buildpackage lintian apt-get; do
	command -v "$tool" >/dev/null ||
		skip "no $tool (Debian packages dpkg-dev, debhelper, lintian; contrib/install-deps.sh)"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/xvafs-package.XXXXXX")
installed_by_us=
cleanup() {
	if [ -n "$installed_by_us" ]; then
		# shellcheck disable=SC2086
		dpkg --purge $packages >/dev/null 2>&1 || echo "package: could not purge $packages" >&2
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# One run at a time on this machine: the packages are machine-wide.
exec 9>/run/lock/xvafs-package-test.lock
flock -w "$XVAFS_TEST_HANG_GUARD" 9 || fail "another tests/package.sh holds /run/lock/xvafs-package-test.lock"
for p in $packages; do
	if [ "$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null)" != "" ] &&
		[ "$(dpkg-query -W -f '${db:Status-Abbrev}' "$p")" != "un " ]; then
		skip "$p is installed already ($(dpkg-query -W -f '${Version} ${db:Status-Abbrev}' "$p")): not replacing it"
	fi
done
plugin=/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/nbdkit/plugins/nbdkit-xva-plugin.so
for f in /usr/bin/xvafs "$plugin"; do
	[ ! -e "$f" ] || skip "$f exists and is not from the package (cmake --install?): not replacing it"
done

# copy_tree DEST: the files a clean clone has (tracked, and new ones not
# ignored), as they are in the working tree; no build folder.
copy_tree() {
	mkdir -p "$1"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$top" && git ls-files -z -co --exclude-standard |
			while IFS= read -r -d '' f; do
				[ -e "$f" ] && printf '%s\0' "$f" # not one deleted in the tree
			done | tar --null -T - -cf -) | tar -C "$1" -xf -
	else
		(cd "$top" && tar --exclude='./build*' --exclude='./obj-*' --exclude=./debian/.debhelper -cf - .) |
			tar -C "$1" -xf -
	fi
}

# control_tests CONTROL: "NAMES|RESTRICTIONS" for each stanza of a
# debian/tests/control (deb822: continuation lines start with a blank).
control_tests() {
	awk '
	function flush() {
		if (tests != "") print tests "|" restr
		tests = ""; restr = ""; field = ""
	}
	/^#/ { next }
	/^[ \t]*$/ { flush(); next }
	/^[ \t]/ {
		if (field == "tests") tests = tests " " $0
		else if (field == "restrictions") restr = restr " " $0
		next
	}
	{
		i = index($0, ":"); field = tolower(substr($0, 1, i - 1)); value = substr($0, i + 1)
		if (field == "tests") tests = value
		else if (field == "restrictions") restr = value
		else if (field == "test-command") { print "Test-Command is not supported here" > "/dev/stderr"; exit 1 }
	}
	END { flush() }' "$1" | tr ',' ' '
}

# run_tests_directly TREE: each test of TREE/debian/tests/control as
# autopkgtest runs one, as root here (the test dependencies are not
# installed here: contrib/install-deps.sh has them).
run_tests_directly() {
	local tree=$1 names restrictions name tmp rc
	control_tests "$tree/debian/tests/control" >"$work/tests" || fail "cannot read debian/tests/control"
	[ -s "$work/tests" ] || fail "debian/tests/control lists no test"
	while IFS='|' read -r names restrictions; do
		for name in $names; do
			tmp=$(mktemp -d "$work/autopkgtest-tmp.XXXXXX")
			rc=0
			(cd "$tree" && AUTOPKGTEST_TMP=$tmp "debian/tests/$name") \
				>"$work/$name.out" 2>"$work/$name.err" </dev/null || rc=$?
			sed "s/^/$name: /" "$work/$name.out"
			if [ "$rc" = 77 ] && [[ " $restrictions " == *" skippable "* ]]; then
				echo "$name SKIP"
			elif [ "$rc" != 0 ]; then
				cat "$work/$name.err" >&2
				fail "debian/tests/$name: status $rc"
			elif [ -s "$work/$name.err" ] && [[ " $restrictions " != *" allow-stderr "* ]]; then
				cat "$work/$name.err" >&2
				fail "debian/tests/$name wrote to standard error (no allow-stderr)"
			else
				echo "$name PASS"
			fi
		done
	done <"$work/tests"
}

echo "== package: dpkg-buildpackage -us -uc in a clean copy of the tree"
copy_tree "$work/build/xvafs"
version=$(cd "$work/build/xvafs" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
if ! (cd "$work/build/xvafs" && DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc) >"$work/build.log" 2>&1; then
	tail -n 80 "$work/build.log"
	fail "dpkg-buildpackage failed (log above)"
fi
grep -E '^[0-9]+% tests passed|^No tests were found' "$work/build.log" || true
changes=$work/build/xvafs_${version}_${arch}.changes
[ -f "$changes" ] || fail "no $changes"
ls "$work/build"

echo "== package: lintian (errors and warnings fail)"
lintian --fail-on error,warning --info "$changes" || fail "lintian: status $?"
echo "lintian: no error, no warning"

echo "== package: apt-get install ./xvafs_${version}_${arch}.deb ./nbdkit-plugin-xva_${version}_${arch}.deb"
debs=()
for p in $packages; do
	debs+=("$work/build/${p}_${version}_${arch}.deb")
done
install_packages() {
	installed_by_us=1
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o DPkg::Lock::Timeout="$XVAFS_TEST_HANG_GUARD" "${debs[@]}" >"$work/apt.log" 2>&1 ||
		{ cat "$work/apt.log"; fail "apt-get install of the .deb files failed"; }
	for p in $packages; do
		[ "$(dpkg-query -W -f '${Version} ${db:Status-Abbrev}' "$p")" = "$version ii " ] ||
			fail "$p: $(dpkg-query -W -f '${Version} ${db:Status-Abbrev}' "$p") after apt-get install"
	done
}
install_packages
# shellcheck disable=SC2086
dpkg -L $packages | while IFS= read -r f; do
	[ -d "$f" ] || printf '%s\n' "$f"
done >"$work/files"
echo "installed $(wc -l <"$work/files") files: $(grep -c '^/usr/bin/' "$work/files") in /usr/bin, $(grep -c '/nbdkit/plugins/' "$work/files") nbdkit plugin"

copy_tree "$work/test/xvafs"
if command -v autopkgtest >/dev/null && [ "${XVAFS_PACKAGE_TESTS:-}" != direct ]; then
	echo "== package: debian/tests with autopkgtest, on the null testbed (this machine, the packages installed)"
	autopkgtest --no-built-binaries --output-dir "$work/autopkgtest" "$work/test/xvafs/" -- null \
		>"$work/autopkgtest.log" 2>&1 || {
		cat "$work/autopkgtest.log"
		fail "autopkgtest: status $?"
	}
	sed -n '/@@@@ summary/,$p' "$work/autopkgtest.log"
else
	echo "== package: debian/tests run directly against the installed packages (autopkgtest's runner is not installed, or XVAFS_PACKAGE_TESTS=direct)"
	run_tests_directly "$work/test/xvafs"
fi

echo "== package: apt-get remove, then install again and purge"
# gone: nothing of the packages is left, files or dpkg records beyond STATE
# (the first letter of dpkg's status, "c": config files only, "n": none).
gone() {
	local p s f
	for p in $packages; do
		s=$(dpkg-query -W -f '${db:Status-Abbrev}' "$p" 2>/dev/null) || s="un "
		case "$s" in
		[ru][$1]*) ;;
		*) fail "$p: dpkg status '$s' after $2" ;;
		esac
	done
	while IFS= read -r f; do
		[ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is left after $2"
	done <"$work/files"
}
remove() {
	local what=$1
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get "$what" -y -q -o DPkg::Lock::Timeout="$XVAFS_TEST_HANG_GUARD" \
		$packages >"$work/apt.log" 2>&1 || { cat "$work/apt.log"; fail "apt-get $what: failed"; }
	installed_by_us=
}
remove remove
gone cn "apt-get remove"
install_packages
remove purge
gone n "apt-get purge"
echo "PASS: the packages build, lintian is silent, they install, pass debian/tests, remove and purge"
