#!/usr/bin/env bash
# One version everywhere: CMake's project VERSION (what xvafs --version and
# the nbdkit plugin print), the newest entry of NEWS, the newest entry of
# debian/changelog (the package's version: a native package, no Debian
# revision) and the man pages' headers. NEWS says "(not yet released)"
# exactly when debian/changelog's distribution is UNRELEASED: NEWS is the
# source of truth, the changelog follows it.
#
#   tests/versions.sh PROJECT_VERSION XVAFS
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 PROJECT_VERSION XVAFS" >&2; exit 1; }
want=$1 xvafs=$2
top=$(cd "$(dirname "$0")/.." && pwd)
failed=0
differs() {
	echo "FAIL: $1 says '$2', CMakeLists.txt's project VERSION is $want" >&2
	failed=1
}

news=$(grep -m1 '^\* xvafs ' "$top/NEWS") || { echo "FAIL: NEWS has no '* xvafs VERSION' entry" >&2; exit 1; }
news_version=$(awk '{ print $3 }' <<<"$news")
[ "$news_version" = "$want" ] || differs "NEWS's newest entry" "$news"

# xvafs (VERSION) DISTRIBUTION; urgency=...
head=$(head -n 1 "$top/debian/changelog")
deb_version=$(sed -n 's/^xvafs (\([^)]*\)) .*/\1/p' <<<"$head")
deb_dist=$(sed -n 's/^xvafs ([^)]*) \([^;]*\);.*/\1/p' <<<"$head")
[ "$deb_version" = "$want" ] || differs "debian/changelog" "$head"
if [[ "$news" == *"(not yet released)"* ]]; then
	[ "$deb_dist" = UNRELEASED ] ||
		{ echo "FAIL: NEWS says $want is not yet released, debian/changelog has it in $deb_dist" >&2; failed=1; }
else
	[ "$deb_dist" != UNRELEASED ] ||
		{ echo "FAIL: NEWS has $want released, debian/changelog's entry is UNRELEASED" >&2; failed=1; }
fi

for page in "$top"/doc/*.1; do
	th=$(head -n 1 "$page")
	[[ "$th" == *"\"xvafs $want\""* ]] || differs "${page#"$top"/}" "$th"
done

printed=$("$xvafs" --version)
[[ "$printed" == "xvafs $want "* ]] || differs "xvafs --version" "$printed"

[ "$failed" = 0 ] || exit 1
echo "PASS: version $want in CMakeLists.txt, NEWS, debian/changelog ($deb_dist), the man pages and xvafs --version"
