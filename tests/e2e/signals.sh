#!/usr/bin/env bash
# Stop signals for every kind of export (issue 19: a mount of a remote
# export killed by SIGTERM, a dead mount left behind). For each signal
# (TERM, INT, HUP) x source (plain, gzip, zstd, HTTP from nginx, S3 from
# the SigV4-checking endpoint) x mode (foreground -f, daemonized):
#   - idle: the mount goes, the daemon exits 0, nothing is logged;
#   - while cat streams a disk through the mount: the stop is deferred
#     ("is busy" logged, still mounted); then, after SIGTERM, the reader
#     reads on to the end, byte for byte, and the stop completes once it
#     has closed the disk; after SIGINT or SIGHUP a second signal forces
#     the stop. Either way the mount goes and the exit status is 0.
# The fork paths: a daemonized mount of each source serves every disk
# byte for byte after the fork; nbdkit without -f (it forks) serving an
# HTTP export with the plugin gives nbdcopy every disk byte for byte.
#
# A daemon's exit status is known through subreaper.py, which adopts it
# when its launcher exits. Every wait is for an event, with a hang guard
# of minutes.
. "$(dirname "$0")/lib.sh"
need_fuse
need_root
E2E_DIR=$(cd "$(dirname "$0")" && pwd)
SRV_DIR=$WORK/srv
mkdir -p "$SRV_DIR"
# shellcheck source=../servers/lib.sh
. "$E2E_DIR/../servers/lib.sh"
trap 'srv_cleanup; cleanup' EXIT
missing="$(missing_nginx) $(missing_botocore)"
[ -z "${missing// /}" ] || skip "needs$(printf ' %s' $missing)"
for tool in gzip zstd python3; do
	command -v "$tool" >/dev/null || skip "needs $tool"
done
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE \
	AWS_DEFAULT_PROFILE AWS_REGION AWS_DEFAULT_REGION AWS_ENDPOINT_URL \
	AWS_ENDPOINT_URL_S3
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

# The system's python3 for subreaper.py: a version manager's shim on PATH
# can take seconds to start, for each of the cases.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
MIB=1048576
note "making the export: a 16 MiB disk and an odd-sized one; gzip, zstd; the servers"
make_image "$WORK/disk1.img" $((16 * MIB))
make_image "$WORK/disk2.img" $((3 * MIB + 777))
"$MKXVA" "$WORK/vm.xva" "$WORK/disk1.img=Ref:1" "$WORK/disk2.img=Ref:2"
gzip -c <"$WORK/vm.xva" >"$WORK/vm.gz.xva"
zstd -q -3 -c <"$WORK/vm.xva" >"$WORK/vm.zst.xva"
mkdir -p "$WORK/www" "$WORK/s3/bkt"
cp "$WORK/vm.xva" "$WORK/www/vm.xva"
cp "$WORK/vm.xva" "$WORK/s3/bkt/vm.xva"
nginx_start "$WORK/www" || fail "nginx did not start"
secret='wJalr/XUtnFEMI+K7MDENG=bPxRfiCY'
s3sig_start "" "$WORK/s3" --key "AKIDTEST:$secret" || fail "s3sig did not start"
export AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=$secret

declare -A LOCATION OPTIONS
LOCATION=([plain]=$WORK/vm.xva [gzip]=$WORK/vm.gz.xva [zstd]=$WORK/vm.zst.xva
	[http]=http://127.0.0.1:$NGINX_PORT/vm.xva [s3]=s3://bkt/vm.xva)
OPTIONS=([plain]= [gzip]= [zstd]= [http]= [s3]=s3_endpoint=$S3SIG_URL,s3_path_style)
SOURCES="plain gzip zstd http s3"

# In a case's subshell: C (its folder), MNT, REAPER, DAEMON.
status_of() { # status_of PID: its exit status, once reaped
	awk -v p="$1" '$1 == "exited" && $2 == p { print $3 }' "$C/status"
}
reaped() { [ -n "$(status_of "$1")" ]; }
busy_or_exited() { grep -q "is busy" "$C/log" 2>/dev/null || reaped "$DAEMON"; }
mounted_or_gone() { is_mounted "$MNT" || ! kill -0 "$REAPER" 2>/dev/null; }

# start SOURCE fg|bg: mounts SOURCE in the foreground (-f) or as a
# daemon, and sets DAEMON to the serving process.
start() {
	local src=$1 mode=$2 args=() launcher
	[ "$mode" = fg ] && args+=(-f)
	args+=(-o "log=$C/log${OPTIONS[$src]:+,${OPTIONS[$src]}}")
	mkdir -p "$MNT"
	: >"$C/status"
	"$PY" "$E2E_DIR/subreaper.py" "$C/status" "$XVAFS" "${args[@]}" \
		"${LOCATION[$src]}" "$MNT" 2>"$C/err" &
	REAPER=$!
	echo "$REAPER" >>"$C/pids"
	wait_until "the mount" mounted_or_gone
	is_mounted "$MNT" || { cat "$C/err" "$C/log" >&2 2>/dev/null; fail "xvafs exited without mounting"; }
	launcher=$(awk '$1 == "started" { print $2 }' "$C/status")
	if [ "$mode" = fg ]; then
		DAEMON=$launcher
	else
		# libfuse's launcher exits 0 once the daemon has started; the
		# daemon is this subreaper's child from then on.
		wait_until "the launcher to exit" reaped "$launcher"
		[ "$(status_of "$launcher")" = 0 ] || fail "the launcher exited with $(status_of "$launcher")"
		DAEMON=$(pgrep -P "$REAPER")
		[ -n "$DAEMON" ] || fail "no daemon under the launcher"
	fi
	echo "$DAEMON" >>"$C/pids"
}

# stopped [EXPECTED_LOG_REGEX]: the daemon exits 0, the mount is gone, no
# dead mount is left, and it logged nothing else.
stopped() {
	local expect=${1:-} rc
	wait_until "xvafs to exit" reaped "$DAEMON"
	rc=$(status_of "$DAEMON")
	wait "$REAPER" || fail "subreaper.py failed"
	[ "$rc" = 0 ] || { cat "$C/err" "$C/log" >&2 2>/dev/null; fail "exit status $rc"; }
	! is_mounted "$MNT" || fail "the mount is still there (dead: $(stat "$MNT" 2>&1 >/dev/null))"
	[ ! -s "$C/err" ] || { cat "$C/err" >&2; fail "xvafs printed on stderr"; }
	if [ -n "$expect" ]; then
		grep -Ev "$expect" "$C/log" | grep -q . && { cat "$C/log" >&2; fail "logged more than /$expect/"; }
	elif [ -s "$C/log" ]; then
		cat "$C/log" >&2
		fail "xvafs logged"
	fi
	return 0
}

# run_case SIG SOURCE fg|bg idle|stream|cmp: one case, in a subshell.
run_case() {
	local sig=$1 src=$2 mode=$3 load=$4 cat_pid
	case $load in
	idle)
		start "$src" "$mode"
		kill -s "$sig" "$DAEMON"
		stopped
		;;
	cmp)
		start "$src" "$mode"
		cmp "$MNT/Ref:1" "$WORK/disk1.img" || fail "Ref:1 differs"
		cmp "$MNT/Ref:2" "$WORK/disk2.img" || fail "Ref:2 differs"
		kill -s "$sig" "$DAEMON"
		stopped
		;;
	stream)
		start "$src" "$mode"
		# cat has the disk open and reads it, held where the test
		# wants by the pipe it writes to.
		mkfifo "$C/fifo"
		cat "$MNT/Ref:1" >"$C/fifo" &
		cat_pid=$!
		echo "$cat_pid" >>"$C/pids"
		exec 8<"$C/fifo"
		dd bs=64K count=16 iflag=fullblock status=none <&8 >"$C/got"
		kill -s "$sig" "$DAEMON"
		wait_until "the word that the stop waits" busy_or_exited
		! reaped "$DAEMON" || fail "exit status $(status_of "$DAEMON") instead of a deferred stop"
		is_mounted "$MNT" || fail "the busy mount was taken away"
		if [ "$sig" = TERM ]; then
			cat <&8 >>"$C/got"
			exec 8<&-
			wait "$cat_pid" || fail "the reader failed while the stop waited"
			cmp "$C/got" "$WORK/disk1.img" || fail "the reader got other bytes while the stop waited"
			stopped "is busy \(a loop device or an open file uses it\): staying mounted"
		else
			kill -s "$sig" "$DAEMON"
			stopped "is busy|second signal: stopping now"
			grep -q "second signal: stopping now" "$C/log" || fail "the forced stop was not announced"
			exec 8<&-
			wait "$cat_pid" || true # it read from a stopped mount
		fi
		;;
	esac
}

CASES=0
FAILED=()
# case_ SIG SOURCE MODE LOAD: runs one case; a failure is recorded and
# what it left (a dead mount, processes it started) cleared.
case_() {
	local name="SIG$1 $2 $3 $4" rc=0 p start=$SECONDS
	CASES=$((CASES + 1))
	C=$WORK/case.$CASES
	MNT=$C/mnt
	mkdir -p "$C"
	: >"$C/pids"
	(run_case "$@") >"$C/out" 2>&1 || rc=$?
	if [ "$rc" = 0 ]; then
		echo "ok   $name ($((SECONDS - start)) s)"
	else
		echo "FAIL $name: $(grep -m1 '^FAIL: ' "$C/out" | cut -c7-)"
		sed -n '/^FAIL: /!p' "$C/out" | head -n 20 | sed 's/^/     /'
		FAILED+=("$name")
	fi
	if is_mounted "$MNT"; then
		umount -l "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null || true
	fi
	while read -r p; do
		kill -9 "$p" 2>/dev/null || true
	done <"$C/pids"
}

note "daemonized mounts serve every disk byte for byte after the fork"
for src in $SOURCES; do
	case_ TERM "$src" bg cmp
done

note "signals: idle, and while a reader streams a disk"
for sig in TERM INT HUP; do
	for src in $SOURCES; do
		for mode in fg bg; do
			for load in idle stream; do
				case_ "$sig" "$src" "$mode" "$load"
			done
		done
	done
done

if [ -n "${NBD_PLUGIN:-}" ] && command -v nbdkit >/dev/null && command -v nbdcopy >/dev/null; then
	note "nbdkit without -f (it forks) serving an HTTP export: nbdcopy byte for byte"
	NBD_ENV=()
	if [ "${XVAFS_SANITIZED:-0}" = 1 ]; then
		# nbdkit is not sanitized: the plugin's ASan runtime first.
		asan=$(ldd "$NBD_PLUGIN" | awk '/libasan/ { print $3 }')
		[ -n "$asan" ] || fail "sanitized build, but the plugin links no libasan"
		NBD_ENV=(LD_PRELOAD="$asan")
	fi
	C=$WORK/nbd
	mkdir -p "$C"
	: >"$C/status"
	sock=$C/nbd.sock
	"$PY" "$E2E_DIR/subreaper.py" "$C/status" env "${NBD_ENV[@]}" nbdkit -U "$sock" \
		-P "$C/nbd.pid" "$NBD_PLUGIN" "${LOCATION[http]}" 2>"$C/log" &
	REAPER=$!
	nbd_up() { [ -S "$sock" ] && [ -s "$C/nbd.pid" ] || ! kill -0 "$REAPER" 2>/dev/null; }
	wait_until "nbdkit to listen" nbd_up
	[ -S "$sock" ] && [ -s "$C/nbd.pid" ] || { cat "$C/log" >&2; fail "nbdkit did not start"; }
	pid=$(cat "$C/nbd.pid")
	launcher=$(awk '$1 == "started" { print $2 }' "$C/status")
	[ "$pid" != "$launcher" ] || fail "nbdkit did not fork"
	for d in 1 2; do
		nbdcopy "nbd+unix:///Ref:$d?socket=$sock" "$C/out" || { cat "$C/log" >&2; fail "nbdcopy Ref:$d"; }
		cmp "$C/out" "$WORK/disk$d.img" || fail "nbdkit after its fork: Ref:$d differs"
	done
	# As nbd.sh's stop: once the connections' threads have ended (here
	# the main thread and the plugin's I/O thread are left).
	few_threads() { [ "$(ls "/proc/$pid/task" 2>/dev/null | wc -l)" -le 2 ]; }
	wait_until "nbdkit's connections to end" few_threads
	kill -TERM "$pid"
	wait_until "nbdkit to exit" reaped "$pid"
	status=$(status_of "$pid")
	[ "$status" = 0 ] || { cat "$C/log" >&2; fail "nbdkit exited with $status"; }
	[ ! -s "$C/log" ] || { cat "$C/log" >&2; fail "nbdkit logged"; }
	wait "$REAPER" || fail "subreaper.py failed"
	echo "ok   nbdkit, forked, HTTP export"
else
	[ -z "${XVAFS_REQUIRE_MOUNT:-}" ] || fail "no nbdkit plugin, nbdkit or nbdcopy, but XVAFS_REQUIRE_MOUNT is set"
	note "nbdkit part not run: no nbdkit plugin (NBD_PLUGIN), nbdkit or nbdcopy"
fi

[ "${#FAILED[@]}" = 0 ] || fail "${#FAILED[@]} of $CASES cases failed:$(printf '\n  %s' "${FAILED[@]}")"
echo "PASS: $CASES cases: every signal stops every kind of export, idle or busy, in the foreground or daemonized"
