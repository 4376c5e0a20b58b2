#!/usr/bin/env bash
# Durable renames: every file xvafs publishes by renaming a temporary file
# (the --export-disk output, the index cache, the gzip index, the zstd
# chunk cache) is followed by an fsync of the folder it was renamed into,
# so that what the rename made visible survives a power cut. Checked on
# the system calls themselves (strace -f -y: fsync's descriptor shows its
# path).
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || skip "no strace (Debian package strace)"
command -v zstd >/dev/null || skip "no zstd"

# strace shows the paths of descriptors resolved: compare them so.
work=$(cd "$WORK" && pwd -P)
export XDG_CACHE_HOME=$work/cache
head -c 300000 /dev/urandom >"$work/disk.img"
"$MKXVA" "$work/vm.xva" "$work/disk.img=Ref:7"
gzip -c <"$work/vm.xva" >"$work/vm-gz.xva"
zstd -q -c <"$work/vm.xva" >"$work/vm-zst.xva"
mkdir -p "$work/out"

# traced LOG CMD...: runs CMD under strace.
traced() {
	local log=$1
	shift
	# LeakSanitizer (in the sanitized build) needs ptrace, which strace holds.
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -y -o "$log" \
		-e trace=rename,renameat,renameat2,fsync,fdatasync,openat "$@"
}

# durable LOG WHAT: every successful (or unfinished) rename into a folder
# in LOG is followed by an fsync of that folder; at least one rename.
durable() {
	awk -v what="$2" '
	/(^|[ \t])rename(at2?)?\(/ && !/ = -1 / {
		n = split($0, q, "\"")
		if (n < 5)
			next
		dir = q[n - 1]
		sub(/\/[^\/]*$/, "", dir)
		pending[dir] = $0
		renames++
		next
	}
	/f(data)?sync\([0-9]+</ {
		s = $0
		sub(/^.*f(data)?sync\([0-9]+</, "", s)
		sub(/>.*$/, "", s)
		delete pending[s]
	}
	END {
		if (!renames) {
			print what ": no rename was traced"
			exit 1
		}
		for (d in pending) {
			print what ": no fsync of " d " after: " pending[d]
			bad = 1
		}
		exit bad
	}' "$1" || { cat "$1"; fail "$2: a rename is not followed by an fsync of its folder"; }
}

note "--export-disk to a file"
traced "$work/export.strace" "$XVAFS" --export-disk "$work/vm.xva" Ref:7 "$work/out/disk.raw" >/dev/null
cmp "$work/out/disk.raw" "$work/disk.img" || fail "the exported disk differs"
durable "$work/export.strace" "--export-disk"

note "--force replacing an existing output"
traced "$work/force.strace" "$XVAFS" --export-disk --force "$work/vm.xva" Ref:7 "$work/out/disk.raw" >/dev/null
durable "$work/force.strace" "--export-disk --force"

note "the index cache and the gzip index"
traced "$work/gzip.strace" "$XVAFS" --list "$work/vm-gz.xva" >/dev/null
ls "$work/cache/xvafs/"*.idx >/dev/null 2>&1 || fail "no index cache was written"
[ "$(grep -c 'rename' "$work/gzip.strace")" -ge 2 ] || { cat "$work/gzip.strace"; fail "expected two renames (gzip index, index cache)"; }
durable "$work/gzip.strace" "gzip index and index cache"

note "the zstd chunk cache"
traced "$work/zstd.strace" "$XVAFS" --list "$work/vm-zst.xva" >/dev/null
durable "$work/zstd.strace" "zstd chunk cache and index cache"
# A writable mount's overlay folder, made by xvafs: its own name in the
# folder above must be as durable as the files synced in it.
if [ -c /dev/fuse ] && [ "$(id -u)" = 0 ]; then
	note "an overlay folder xvafs makes: the folder above it is synced"
	mkdir -p "$work/mnt"
	ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0 strace -f -y -o "$work/overlay.strace" \
		-e trace=mkdir,mkdirat,fsync,fdatasync "$XVAFS" -f -o overlay="$work/newoverlay" \
		"$work/vm.xva" "$work/mnt" 2>"$work/overlay.log" &
	pid=$!
	MOUNTS+=("$work/mnt")
	wait_until --pid "$pid" "the overlay mount" is_mounted "$work/mnt" ||
		{ cat "$work/overlay.log"; fail "the overlay mount did not come up"; }
	fusermount3 -u "$work/mnt"
	wait "$pid" || { cat "$work/overlay.log"; fail "the overlay mount exited with $?"; }
	awk -v dir="$work/newoverlay" -v parent="$work" '
		index($0, "mkdir") && index($0, "\"" dir "\"") && / = 0$/ { made = 1; next }
		made && index($0, "fsync(") && index($0, "<" parent ">") { synced = 1 }
		END { exit !(made && synced) }' "$work/overlay.strace" ||
		{ cat "$work/overlay.strace"; fail "the new overlay folder's parent was not synced after mkdir"; }
elif [ -n "${XVAFS_REQUIRE_MOUNT:-}" ]; then
	fail "the overlay folder case needs /dev/fuse and root, and XVAFS_REQUIRE_MOUNT is set"
else
	note "SKIP of the overlay folder case: it needs /dev/fuse and root"
fi
echo "PASS"
