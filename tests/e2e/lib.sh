# Shared helpers for the end-to-end tests (sourced, bash).
#
# Mounts follow libfuse's own tests: the daemon runs in the foreground, the
# test waits until the kernel shows the mount, checks with plain system
# calls, unmounts with fusermount3 -u, and fails when the daemon exited
# non-zero or printed anything it was not expected to.
set -euo pipefail

: "${XVAFS:?path to the xvafs binary}"
: "${MKXVA:?path to the mkxva generator}"
: "${READCHECK:?path to readcheck}"
: "${SEEKMAP:=}"
: "${RWCHECK:=}"
# shellcheck source=../wait.sh
source "$(dirname "${BASH_SOURCE[0]}")/../wait.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/xvafs-e2e.XXXXXX")
# Index caches go to the test's own folder, never the user's.
export XDG_CACHE_HOME=$WORK/cache
MOUNTS=()
LOOPS=()
DAEMON_PID=
DAEMON_LOG=

# detach_own_loops: detaches the loop devices in LOOPS that still serve a
# file of this test's. A device the test detached itself may have been
# given to another test run since (the kernel reuses the lowest free
# number): detaching it by number alone would pull it from under that run.
detach_own_loops() {
	local l back real
	real=$(cd "$WORK" 2>/dev/null && pwd -P) || real=$WORK
	for l in "${LOOPS[@]}"; do
		back=$(losetup -n -O BACK-FILE "$l" 2>/dev/null) || continue
		case "$back" in
		"$WORK"/* | "$real"/*) losetup -d "$l" 2>/dev/null || true ;;
		esac
	done
	LOOPS=()
}

cleanup() {
	local m
	# Loop devices first, while the paths of their files still resolve
	# (and so that the mounts under them are no longer busy).
	detach_own_loops
	for m in "${MOUNTS[@]}"; do
		mountpoint -q "$m" 2>/dev/null && { umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
	done
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

note() {
	echo "-- $*"
}

# A test that cannot mount says why. Under CI (XVAFS_REQUIRE_MOUNT=1) that
# is a failure: a run must never pass without mounting.
skip() {
	if [ -n "${XVAFS_REQUIRE_MOUNT:-}" ]; then
		fail "cannot run, but XVAFS_REQUIRE_MOUNT is set: $*"
	fi
	echo "SKIP: $*"
	exit 77
}

need_fuse() {
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null || skip "no fusermount3 (Debian package fuse3)"
	[ -r /dev/fuse ] && [ -w /dev/fuse ] || skip "/dev/fuse is not accessible to $(id -un)"
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root (loop devices, mount)"
}

is_mounted() {
	awk -v m="$1" '$2 == m && $3 ~ /^fuse/ { found = 1 } END { exit !found }' /proc/self/mounts
}

# mount_xva XVA MNT [xvafs options...]: starts the daemon in the
# foreground and waits until the mount is there.
mount_xva() {
	local xva=$1 mnt=$2
	shift 2
	mkdir -p "$mnt"
	DAEMON_LOG=$WORK/daemon.$RANDOM.log
	"$XVAFS" -f "$@" "$xva" "$mnt" 2>"$DAEMON_LOG" &
	DAEMON_PID=$!
	MOUNTS+=("$mnt")
	wait_until --pid "$DAEMON_PID" "$xva mounted at $mnt" is_mounted "$mnt" || {
		cat "$DAEMON_LOG" >&2
		fail "xvafs exited before mounting $xva"
	}
}

# unmount_xva MNT [EXPECTED_STDERR_REGEX]: unmounts, then checks the
# daemon's exit status and that it printed nothing unexpected ("*": what
# it printed does not matter).
unmount_xva() {
	local mnt=$1 expect=${2:-} rc=0
	fusermount3 -u "$mnt" || fail "fusermount3 -u $mnt failed"
	wait "$DAEMON_PID" || rc=$?
	[ "$rc" = 0 ] || { cat "$DAEMON_LOG" >&2; fail "xvafs exited with $rc"; }
	if [ "$expect" = "*" ]; then
		return 0 # whatever it said
	elif [ -n "$expect" ]; then
		grep -Eq "$expect" "$DAEMON_LOG" || { cat "$DAEMON_LOG" >&2; fail "daemon did not say /$expect/"; }
		if grep -Ev "$expect" "$DAEMON_LOG" | grep -q .; then
			cat "$DAEMON_LOG" >&2
			fail "the daemon printed more than expected"
		fi
	elif [ -s "$DAEMON_LOG" ]; then
		cat "$DAEMON_LOG" >&2
		fail "the daemon printed errors"
	fi
}

# make_image FILE SIZE: a disk image with data, long zero runs (so chunks
# are left out and keep-alives written), a sparse-looking middle chunk and
# random bytes in its last, possibly partial, chunk.
make_image() {
	local file=$1 size=$2 mib=1048576
	truncate -s "$size" "$file"
	head -c $mib /dev/urandom | dd of="$file" conv=notrunc status=none
	if [ "$size" -gt $((7 * mib)) ]; then
		head -c 100 /dev/urandom | dd of="$file" bs=1 seek=$((6 * mib + 4000)) conv=notrunc status=none
	fi
	if [ "$size" -gt $((13 * mib)) ]; then
		head -c $((2 * mib)) /dev/urandom | dd of="$file" bs=$mib seek=11 conv=notrunc status=none
	fi
	# The last 5000 bytes (or less): never all zero.
	local tail=$((size < 5000 ? size : 5000))
	head -c "$tail" /dev/urandom | dd of="$file" bs=1 seek=$((size - tail)) conv=notrunc status=none
}

# present_bytes XVA PREFIX: the sum of the prefix's data member sizes, as
# GNU tar lists them.
present_bytes() {
	tar -tvf "$1" | awk -v p="$2" '
		{ name = $6; for (i = 7; i <= NF; i++) name = name " " $i }
		index(name, p "/") == 1 && substr(name, length(p) + 2) ~ /^[0-9]+$/ { s += $3 }
		END { print s + 0 }'
}

# check_disk MNT/NAME REF XVA PREFIX: size, every byte, odd reads, O_DIRECT
# and st_blocks of one served disk.
check_disk() {
	local file=$1 ref=$2 xva=$3 prefix=$4 present blocks
	[ -f "$file" ] || fail "$file is not served"
	[ "$(stat -c %s "$file")" = "$(stat -c %s "$ref")" ] || fail "$file: size $(stat -c %s "$file"), expected $(stat -c %s "$ref")"
	cmp "$file" "$ref" || fail "$file differs from $ref"
	"$READCHECK" --reads 600 "$file" "$ref" || fail "$file: odd-offset reads differ"
	"$READCHECK" --direct --reads 300 "$file" "$ref" || fail "$file: O_DIRECT reads differ"
	dd if="$file" iflag=direct bs=1M status=none | cmp - "$ref" || fail "$file: dd iflag=direct differs"
	present=$(present_bytes "$xva" "$prefix")
	blocks=$(stat -c %b "$file")
	[ "$blocks" = $(((present + 511) / 512)) ] || fail "$file: st_blocks $blocks, expected $(((present + 511) / 512)) for $present bytes present"
}

# member_data XVA NAME: the offset of member NAME's data (its name is in
# the first header block, which the data follows).
member_data() {
	echo $(($(grep -boa "$2" "$1" | head -1 | cut -d: -f1) + 512))
}

# flip FILE OFFSET: flips one bit of the byte at OFFSET.
flip() {
	local b
	b=$(dd if="$1" bs=1 skip="$2" count=1 status=none | od -An -tu1 | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
