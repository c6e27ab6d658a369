"""Baselines for the start benchmark: a bare-Python spawner with no SCM in between.

It starts ``n`` Python processes with the same interpreter (and the same way the daemon's
``PosixSpawner`` does: own session, stdio on /dev/null, one inherited fd), each of which signals
readiness by writing one byte to an inherited pipe and then waits to be killed. ``spawn_all``
returns once every child has signalled; ``kill_all`` is SIGKILL + reap.

Two children serve as baselines:

* ``CHILD_SAME_IMPORTS`` (baseline a): the same Python process as a native service, i.e. the same
  interpreter and the same imports as bench/native_service.py (``svcctl.svc``), then ready. The
  difference to the SCM is the SCM's own overhead; the start target is judged against it.
* ``CHILD`` (baseline b): a bare ``python`` that imports nothing, the floor of any exec-based
  spawner.

    .venv/bin/python bench/bare_spawner.py [N] [--same-imports]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

#: Baseline (b), the child that imports nothing: signal readiness on the inherited fd, then sleep
#: until killed. It uses only modules the interpreter has loaded before running ``-c`` (os, sys,
#: time). It used to wait with ``signal.pause()``, but ``import signal`` loads enum, functools and
#: collections (about 3 ms), which a bare child should not pay.
CHILD = (
    "import os,sys,time\nos.write(int(sys.argv[1]),b'r')\nos.close(int(sys.argv[1]))\n"
    "while True:\n    time.sleep(3600)\n"
)

#: What bench/native_service.py imports (``from svcctl.svc import Service, run``). A RUNNING native
#: service has loaded no module beyond these (bench_foundation.py checks this on every run).
SERVICE_IMPORTS = "svcctl.svc"

#: Baseline (a): the same child after the native service's imports, i.e. the same Python process
#: as a native service without the SCM (no channel, no status reports).
CHILD_SAME_IMPORTS = f"import {SERVICE_IMPORTS}\n" + CHILD

#: The same child after importing only the stdlib modules a service side needs at minimum (enums,
#: JSON framing, the socket, threads): the floor a leaner svcctl.svc could reach.
STDLIB_FLOOR = "enum, json, socket, struct, threading"
CHILD_WITH_STDLIB_FLOOR = f"import {STDLIB_FLOOR}\n" + CHILD


#: A pre-imported template that forks the children itself (a "zygote"): what the start cost
#: would be if service processes were forked from an interpreter that already imported
#: svcctl.svc instead of being exec'd. argv: ready fd, number of children.
TEMPLATE = (
    "import os,sys,signal\nimport svcctl.svc\nfd,n=int(sys.argv[1]),int(sys.argv[2])\n"
    "for _ in range(n):\n"
    "    if os.fork()==0:\n"
    "        os.write(fd,b'r');os.close(fd);signal.pause();os._exit(0)\n"
    "os.close(fd)\nsignal.pause()\n"
)


def _start(argv: list[str], ready_fd: int) -> subprocess.Popen[bytes]:
    """One child as PosixSpawner starts a service image: own session, no stdio, one inherited fd."""
    return subprocess.Popen(
        argv,
        pass_fds=(ready_fd,),
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _await_ready(rfd: int, n: int, what: str) -> None:
    """Until ``n`` ready bytes came through ``rfd`` (every writer closing first is an error)."""
    got = 0
    while got < n:
        data = os.read(rfd, 4096)
        if not data:
            raise RuntimeError(f"only {got} of {n} {what} signalled ready")
        got += len(data)


def spawn_forked(n: int, python: str = sys.executable) -> subprocess.Popen[bytes]:
    """Start one TEMPLATE process that forks ``n`` children; return once all signalled ready.

    Stop with ``kill_group``: the template and its children share one session."""
    rfd, wfd = os.pipe()
    try:
        proc = _start([python, "-c", TEMPLATE, str(wfd), str(n)], wfd)
        os.close(wfd)
        wfd = -1
        _await_ready(rfd, n, "forked children")
    finally:
        if wfd >= 0:
            os.close(wfd)
        os.close(rfd)
    return proc


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a template's whole session and reap the template."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def spawn_all(n: int, code: str = CHILD, python: str = sys.executable) -> list[subprocess.Popen[bytes]]:
    """Start ``n`` children and return once all have written their ready byte."""
    rfd, wfd = os.pipe()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(n):
            procs.append(_start([python, "-c", code, str(wfd)], wfd))
        os.close(wfd)
        wfd = -1
        _await_ready(rfd, n, "children")
    except BaseException:
        kill_all(procs)
        raise
    finally:
        if wfd >= 0:
            os.close(wfd)
        os.close(rfd)
    return procs


def kill_all(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL every child and reap it."""
    for p in procs:
        try:
            p.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass
    for p in procs:
        p.wait()


def main(argv: list[str]) -> int:
    same = "--same-imports" in argv
    nums = [a for a in argv if a != "--same-imports"]
    n = int(nums[0]) if nums else 200
    t0 = time.perf_counter()
    procs = spawn_all(n, CHILD_SAME_IMPORTS if same else CHILD)
    t1 = time.perf_counter()
    kill_all(procs)
    t2 = time.perf_counter()
    what = f"importing {SERVICE_IMPORTS}" if same else "importing nothing"
    print(f"spawned {n} children {what}, ready in {t1 - t0:.3f} s, killed and reaped in {t2 - t1:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
