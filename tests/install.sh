#!/usr/bin/env bash
# cmake --install, as a user who builds from source runs it (into a
# staging folder with DESTDIR, so nothing on this machine changes): every
# file the README's Install section promises is there, the installed
# xvafs runs and prints the project's version, and the man pages render.
#
#   tests/install.sh BUILD_DIR PROJECT_VERSION
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 BUILD_DIR PROJECT_VERSION" >&2; exit 1; }
build=$1 version=$2
stage=$(mktemp -d "${TMPDIR:-/tmp}/xvafs-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

DESTDIR=$stage cmake --install "$build" --prefix /usr/local >"$stage.log" 2>&1 ||
	{ cat "$stage.log" >&2; rm -f "$stage.log"; fail "cmake --install"; }
rm -f "$stage.log"
root=$stage/usr/local
for f in bin/xvafs share/man/man1/xvafs.1 share/bash-completion/completions/xvafs \
	share/doc/xvafs/README.md share/doc/xvafs/NEWS share/doc/xvafs/LICENSE \
	share/doc/xvafs/list-json.schema.json; do
	[ -f "$root/$f" ] || fail "cmake --install left out $f"
done
out=$("$root/bin/xvafs" --version 2>&1) || fail "the installed xvafs --version: $out"
grep -q "$version" <<<"$out" || fail "the installed xvafs says '$out', not $version"
# The plugin is built where nbdkit-plugin-dev is installed; then it is
# installed with its page.
if [ -f "$build/nbdkit-xva-plugin.so" ]; then
	# In nbdkit's own plugin folder (pkg-config), whatever the prefix.
	plugin=$(find "$stage" -name nbdkit-xva-plugin.so -print -quit)
	[ -n "$plugin" ] || fail "cmake --install left out nbdkit-xva-plugin.so"
	[ -f "$root/share/man/man1/nbdkit-xva-plugin.1" ] ||
		fail "cmake --install left out nbdkit-xva-plugin.1"
fi
if command -v man >/dev/null; then
	for page in "$root"/share/man/man1/*.1; do
		n=$(LC_ALL=C MANWIDTH=80 man -l "$page" 2>"$stage/man.err" | wc -l)
		[ "$n" -gt 20 ] && [ ! -s "$stage/man.err" ] ||
			fail "$page does not render: $(cat "$stage/man.err")"
	done
fi
echo "PASS: cmake --install put $(find "$stage" -type f | wc -l) files in place (prefix /usr/local)"
