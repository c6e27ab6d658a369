"""A program for the wrapper tests (run by Windows Python as a wrapped service's Application).

``wrap_prog.py exit CODE MARKS``: appends a line to MARKS, writes to stdout and stderr, exits CODE.
``wrap_prog.py stubborn PIDS``: ignores Ctrl+C and Ctrl+Break, starts a grandchild that ignores
them too, writes both pids to PIDS, then waits forever: only the kill step can end it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def stubborn(pids: str, spawn: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGBREAK, signal.SIG_IGN)
    ids = [os.getpid()]
    if spawn:
        child = subprocess.Popen([sys.executable, __file__, "grandchild", pids])
        ids.append(child.pid)
        with open(pids, "w") as f:
            f.write(" ".join(map(str, ids)))
    print("stubborn: ignoring Ctrl+C", file=sys.stderr, flush=True)
    while True:
        time.sleep(0.1)


def main() -> int:
    mode = sys.argv[1]
    if mode == "exit":
        with open(sys.argv[3], "a") as f:
            f.write("run\n")
        print("to stdout", flush=True)
        print("to stderr: exiting", sys.argv[2], file=sys.stderr, flush=True)
        return int(sys.argv[2])
    stubborn(sys.argv[2], spawn=mode == "stubborn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
