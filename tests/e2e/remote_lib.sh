# shellcheck shell=bash
# Shared helpers for the remote-source tests (sourced, bash): a private
# folder, the loopback test servers, and checks of srcread's answers.
set -euo pipefail

: "${SRCREAD:?path to the srcread test program}"
: "${MKXVA:=}"

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xvafs-remote.XXXXXX")
SRV_DIR=$WORK/srv
mkdir -p "$SRV_DIR"
# shellcheck source=../servers/lib.sh
source "$E2E_DIR/../servers/lib.sh"

cleanup() {
	srv_cleanup
	rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	for f in "$SRV_DIR"/*.log "$SRV_DIR"/nginx/logs/error.log; do
		[ -s "$f" ] && { echo "--- $f (tail)" >&2; tail -n 20 "$f" >&2; }
	done
	exit 1
}

note() {
	echo "-- $*"
}

# A test that cannot run says why; under CI (XVAFS_REQUIRE_MOUNT=1) that
# is a failure instead.
skip() {
	if [ -n "${XVAFS_REQUIRE_MOUNT:-}" ]; then
		fail "cannot run, but XVAFS_REQUIRE_MOUNT is set: $*"
	fi
	echo "SKIP: $*"
	exit 77
}

# Nothing from the user's own AWS setup leaks into a test.
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_SECURITY_TOKEN \
	AWS_PROFILE AWS_DEFAULT_PROFILE AWS_REGION AWS_DEFAULT_REGION \
	AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_CA_BUNDLE
export HOME=$WORK/home
mkdir -p "$HOME/.aws"
export AWS_CONFIG_FILE=$WORK/aws-config AWS_SHARED_CREDENTIALS_FILE=$WORK/aws-credentials
: >"$AWS_CONFIG_FILE"
: >"$AWS_SHARED_CREDENTIALS_FILE"

# make_export OUT: a real export (ova.xml, chunks with a left-out run and
# keep-alives, checksums, a short last chunk) when mkxva is there, random
# bytes otherwise.
make_export() {
	local out=$1 img=$WORK/disk.img
	if [ -n "$MKXVA" ] && [ -x "$MKXVA" ]; then
		head -c $((9 * 1048576)) /dev/urandom >"$img"
		truncate -s $((14 * 1048576)) "$img"
		head -c $((5 * 1048576 + 4321)) /dev/urandom >>"$img"
		"$MKXVA" --keepalive 2 "$out" "$img" >/dev/null
		rm -f "$img"
	else
		head -c $((19 * 1048576 + 4321)) /dev/urandom >"$out"
	fi
}

# expect_open STATUS PATTERN [srcread args...]: srcread fails to open with
# STATUS and a message matching PATTERN (grep -E), on one line.
expect_open() {
	local status=$1 pattern=$2 out
	shift 2
	out=$("$SRCREAD" "$@" 2>&1) && fail "srcread $* opened; expected $status"
	grep -q "^open: error $status: " <<<"$out" || fail "srcread $*: expected $status, got: $out"
	grep -Eq "$pattern" <<<"$out" || fail "srcread $*: expected /$pattern/ in: $out"
	[ "$(grep -c . <<<"$out")" = 1 ] || fail "srcread $*: more than one line: $out"
	note "$status: ${out#open: error $status: }"
	# shellcheck disable=SC2034 # for the caller
	LAST_OUT=$out
}

# no_secrets TEXT SECRET...: none of the secrets appears in TEXT.
no_secrets() {
	local text=$1 s
	shift
	for s in "$@"; do
		if grep -qF -- "$s" <<<"$text"; then
			fail "a secret ($s) was printed: $text"
		fi
	done
}

# session_start ARGS...: srcread in command mode as a coprocess; ask CMD
# prints its one-line answer.
session_start() {
	coproc SESSION { "$SRCREAD" "$@" commands 2>&1; }
}

ask() {
	local line
	echo "$1" >&"${SESSION[1]}"
	IFS= read -r -t "$XVAFS_TEST_HANG_GUARD" line <&"${SESSION[0]}" || fail "no answer to '$1'"
	echo "$line"
}

# expect_answer CMD PATTERN: the answer to CMD matches PATTERN.
expect_answer() {
	local a
	a=$(ask "$1")
	grep -Eq "$2" <<<"$a" || fail "'$1': expected /$2/, got: $a"
	note "'$1' -> $a"
}

session_end() {
	local pid=$SESSION_PID rc=0
	eval "exec ${SESSION[1]}>&-"
	wait "$pid" || rc=$?
	[ "$rc" = 0 ] || fail "srcread's session ended with status $rc"
}
