#!/usr/bin/env python3
"""subreaper.py STATUS_FILE COMMAND [ARGS...]

Runs COMMAND as a child subreaper: a daemon that COMMAND forks off (and
whose parent then exits) is re-parented here instead of to init, so its
exit status can be known. Appends to STATUS_FILE, one line each, flushed:
  started PID          COMMAND's process
  exited PID STATUS    any process reaped (STATUS as a shell reports it:
                       the exit code, or 128+N when killed by signal N)
and exits once no child is left."""
import ctypes
import os
import signal
import sys

PR_SET_CHILD_SUBREAPER = 36


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("prctl(PR_SET_CHILD_SUBREAPER): " +
                 os.strerror(ctypes.get_errno()))
    out = open(sys.argv[1], "a", buffering=1)
    pid = os.fork()
    if pid == 0:
        # As from an interactive shell: Python ignores SIGPIPE, and a
        # script's background job ignores SIGINT; neither is the
        # command's own choice.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            os.execvp(sys.argv[2], sys.argv[2:])
        finally:
            os._exit(127)
    out.write(f"started {pid}\n")
    while True:
        try:
            child, status = os.wait()
        except ChildProcessError:
            break
        code = os.waitstatus_to_exitcode(status)
        out.write(f"exited {child} {code if code >= 0 else 128 - code}\n")


if __name__ == "__main__":
    main()
