"""Profiles behind bench/RESULTS.md's analysis (cProfile of the client and of the daemon).

    .venv/bin/python bench/profile_foundation.py queries   # client + daemon while querying status
    .venv/bin/python bench/profile_foundation.py starts    # daemon while starting 200 services
    .venv/bin/python bench/profile_foundation.py service   # one native service process, start to RUNNING
    .venv/bin/python bench/profile_foundation.py imports   # -X importtime of svcctl.svc, top self times
    .venv/bin/python bench/profile_foundation.py micro     # pure-Python cost of one query's steps

Profiles are written to a temporary directory and summarised (top functions by own time).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Daemon, native_binpath, private_bytecode_cache

from svcctl.types import State

OUT = Path(tempfile.mkdtemp(prefix="svcctl-prof-"))


def show(path: str | Path | cProfile.Profile, title: str, n: int = 25, sort: str = "tottime") -> None:
    buf = io.StringIO()
    st = pstats.Stats(path if isinstance(path, cProfile.Profile) else str(path), stream=buf)
    st.strip_dirs().sort_stats(sort).print_stats(n)
    print(f"\n===== {title} (sorted by {sort}) =====")
    print(buf.getvalue())


def profiled_daemon(name: str) -> tuple[Daemon, Path]:
    prof = OUT / f"{name}.prof"
    return Daemon(wrap=("-m", "cProfile", "-o", str(prof))), prof


def queries(seconds: float = 3.0) -> None:
    d, prof = profiled_daemon("daemon-queries")
    try:
        mgr = d.connect()
        for i in range(200):
            mgr.create_service(f"s{i}", "/bin/true").close()
        svc = mgr.open_service("s100")
        pr = cProfile.Profile()
        n = 0
        t0 = time.perf_counter()
        pr.enable()
        while time.perf_counter() - t0 < seconds:
            svc.query()
            n += 1
        pr.disable()
        print(f"{n / seconds:,.0f} queries/s while both sides are profiled")
        svc.close()
        mgr.close()
        show(pr, "client: svc.query() loop")
    finally:
        d.stop()
    show(prof, "daemon while serving the query loop (includes start-up)")


def starts(n: int = 200, threads: int = 4) -> None:
    from concurrent.futures import ThreadPoolExecutor

    d, prof = profiled_daemon("daemon-starts")
    try:
        binpath = native_binpath()
        mgrs = [d.connect() for _ in range(threads)]

        def work(w: int) -> None:
            svcs = []
            for i in range(w, n, threads):
                s = mgrs[w].create_service(f"n{i}", binpath)
                s.start()
                svcs.append(s)
            for s in svcs:
                s.wait(State.RUNNING, 120)
            for s in svcs:
                s.stop()
            for s in svcs:
                s.wait(State.STOPPED, 60)
                s.delete()
                s.close()

        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as ex:
            list(ex.map(work, range(threads)))
        print(f"{n} services up and down in {time.perf_counter() - t0:.2f} s (daemon profiled)")
        for m in mgrs:
            m.close()
        time.sleep(1)
    finally:
        d.stop()
    show(prof, f"daemon while starting/stopping {n} native services")
    show(prof, "same, cumulative", n=30, sort="cumulative")


# The daemon SIGKILLs a service process as soon as its channel closes (Runtime._on_lost), so
# the profile is written when the service reports STOPPED, before the dispatcher lets go.
SERVICE_PROFILE = r"""
import cProfile, os, sys
sys.argv = [sys.argv[1]]
out = os.environ["SVCCTL_BENCH_PROF"]
pr = cProfile.Profile()
pr.enable()
import runpy
from svcctl.svc import dispatcher
_orig = dispatcher.Dispatcher._on_stopped
def _hooked(self, status):
    pr.disable()
    pr.dump_stats(out)
    _orig(self, status)
dispatcher.Dispatcher._on_stopped = _hooked
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def service() -> None:
    """Profile one native service process from interpreter start-up code to its exit."""
    prof = OUT / "service.prof"
    wrapper = OUT / "wrap_service.py"
    wrapper.write_text(SERVICE_PROFILE)
    os.environ["SVCCTL_BENCH_PROF"] = str(prof)  # the daemon passes its environment on
    d = Daemon()
    try:
        mgr = d.connect()
        binpath = f"{sys.executable} {wrapper} {native_binpath().split(' ', 1)[1]}"
        s = mgr.create_service("one", binpath)
        s.start()
        s.wait(State.RUNNING, 30)
        s.stop()
        s.wait(State.STOPPED, 30)
        time.sleep(0.5)
        s.delete()
        s.close()
        mgr.close()
    finally:
        d.stop()
    show(prof, "one native service process (imports included)", sort="cumulative", n=30)


def micro() -> None:
    """Pure-Python cost of each step of one status query, without I/O (timeit, best of 5)."""
    import threading
    import timeit

    from svcctl import wire
    from svcctl.scm import api
    from svcctl.scm.record import ServiceRecord
    from svcctl.types import Accept, Status

    req = {"h": 65544, "id": 5, "op": "status"}
    reply = {"id": 5, "r": [16, 4, 5, 0, 0, 0, 0, 1234, 0]}
    frame = wire.encode(reply)
    req_frame = wire.encode(req)
    dec = wire.Decoder()
    lock = threading.Lock()
    rec = ServiceRecord("x")

    def locked() -> None:
        with lock:
            pass

    steps: list[tuple[str, Callable[[], object]]] = [
        ("client: wire.encode(request)", lambda: wire.encode(req)),
        ("client: Decoder.feed(reply frame)", lambda: dec.feed(frame)),
        ("client: Status.from_wire", lambda: Status.from_wire(reply["r"])),  # type: ignore[arg-type]
        ("client:   of which Accept(5)", lambda: Accept(5)),
        ("client: lock acquire+release", locked),
        ("daemon: Decoder.feed(request frame)", lambda: dec.feed(req_frame)),
        ("daemon: api.parse(request)", lambda: api.parse(req)),
        ("daemon: ServiceRecord.status_wire()", rec.status_wire),
        ("daemon: wire.encode(reply)", lambda: wire.encode(reply)),
    ]
    n = 50_000
    for name, fn in steps:
        best = min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6
        print(f"{best:6.2f} us  {name}")


def imports() -> None:
    subprocess.run([sys.executable, "-c", "import svcctl.svc"], check=True)  # fill a bytecode cache, if any
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import svcctl.svc"], capture_output=True, text=True, check=True
    )
    rows = []
    for line in r.stderr.splitlines()[1:]:
        parts = line.split("|")
        rows.append((int(parts[0].split(":")[1]), int(parts[1]), parts[2].rstrip()))
    print("self us | cumulative us | module")
    for self_us, cum, mod in sorted(rows, reverse=True)[:25]:
        print(f"{self_us:7d} | {cum:10d} | {mod}")
    print(f"total (top level): {sum(c for _, c, m in rows if not m.startswith('  ')) / 1000:.1f} ms")


if __name__ == "__main__":
    what = sys.argv[1:] or ["imports", "micro", "queries", "starts", "service"]
    # Like bench_foundation: children share a private bytecode cache (an installed package has one).
    modes: dict[str, Callable[[], None]] = {"queries": queries, "starts": starts, "service": service}
    modes["imports"] = imports
    modes["micro"] = micro
    with private_bytecode_cache():
        for w in what:
            modes[w]()
    print(f"\nprofiles in {OUT}")
