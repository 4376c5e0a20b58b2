# shellcheck shell=bash
# Waiting for events (sourced, bash): the end-to-end tests, the test
# servers and the benchmarks wait for what they wait for (a mount, a line
# in a log, a socket, a listening port, a process's exit), never for a
# fixed time. XVAFS_TEST_HANG_GUARD (seconds, default 600) only bounds a
# wait that would otherwise hang forever: nothing here assumes how fast
# this machine is.
: "${XVAFS_TEST_HANG_GUARD:=600}"

# wait_until [--pid PID] DESCRIPTION CMD [ARGS...]: runs CMD until it
# succeeds (returns 0). With --pid, returns 1 once process PID has exited
# and CMD still fails (the caller says why). After XVAFS_TEST_HANG_GUARD
# seconds it fails the test (fail, when the test defines it) naming
# DESCRIPTION.
wait_until() {
	local pid='' what end
	if [ "$1" = --pid ]; then
		pid=$2
		shift 2
	fi
	what=$1
	shift
	end=$((SECONDS + XVAFS_TEST_HANG_GUARD))
	until "$@"; do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			"$@" && return 0 # it happened just before the exit
			return 1
		fi
		if [ "$SECONDS" -ge "$end" ]; then
			if declare -F fail >/dev/null; then
				fail "gave up after the hang guard (XVAFS_TEST_HANG_GUARD=${XVAFS_TEST_HANG_GUARD} s) waiting for $what"
			fi
			echo "gave up after the hang guard (XVAFS_TEST_HANG_GUARD=${XVAFS_TEST_HANG_GUARD} s) waiting for $what" >&2
			exit 1
		fi
		sleep 0.05
	done
}

# exited PID: process PID is gone.
exited() {
	! kill -0 "$1" 2>/dev/null
}

# in_file FILE ERE: FILE has a line matching ERE.
in_file() {
	grep -Eq -- "$2" "$1" 2>/dev/null
}
