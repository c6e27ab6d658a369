"""A/B of two source trees on the same machine in one run: is a change faster, or only noise?

    .venv/bin/python bench/ab_trees.py REV [--what wrapper|stop-all] [--reps 8] [--cgroups]

Tree A is ``git archive REV src`` unpacked in a temporary directory, tree B is this checkout's
``src`` (with uncommitted changes). Each daemon runs with ``PYTHONPATH`` set to its tree; the
variants alternate (ABBA...), so drift in the machine's speed hits both alike. Whole-run figures
of ``bench_wrapper.py`` and ``bench_boot.py`` move by ±10 % from run to run on this VM, more than
most single changes save; the daemon's CPU (from its process CPU-time clock) moves far less.

* ``wrapper``: 200 wrapped ``sleep`` programs as in ``bench_wrapper.py``; per rep, start all
  (``start_many``) until RUNNING and stop all (``control_many``) until STOPPED: wall time and
  the daemon's CPU for each.
* ``stop-all``: 200 native services started through the daemon, then SIGTERM until it exits:
  wall time, and the CPU of the daemon and all service processes during the shutdown.

Prints the median of each figure per tree.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_wrapper as bw
from bench_boot import cpu_precise, reaped_children_cpu
from common import Daemon, fill_bytecode_cache, private_bytecode_cache, wait_exit

from svcctl.types import Control, State

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "bench" / "native_service.py"


def cpu_ms(pid: int) -> float:
    return cpu_precise(pid) * 1000


def with_tree(tree: str) -> None:
    os.environ["PYTHONPATH"] = tree


def wrapper_rep(w: bw.Wrapped) -> tuple[float, ...]:
    c0, t0 = cpu_ms(w.daemon.pid), time.perf_counter()
    w.mgr.start_many(w.handles)
    bw.wait_for(lambda: bw.count(w.mgr, State.RUNNING) == w.n, 60, "all RUNNING")
    c1, t1 = cpu_ms(w.daemon.pid), time.perf_counter()
    w.mgr.control_many(w.handles, Control.STOP)
    bw.wait_for(lambda: bw.count(w.mgr, State.STOPPED) == w.n, 60, "all STOPPED")
    c2, t2 = cpu_ms(w.daemon.pid), time.perf_counter()
    return (t1 - t0) * 1000, c1 - c0, (t2 - t1) * 1000, c2 - c1


def stop_all_rep(tree: str, n: int) -> tuple[float, ...]:
    with_tree(tree)
    d = Daemon("--no-boot")
    mgr = d.connect()
    handles = [mgr.create_service(f"s{i}", f"{sys.executable} {NATIVE}") for i in range(n)]
    mgr.start_many(handles)
    pids = [h.wait(State.RUNNING, 30).pid for h in handles]
    mgr.disconnect()
    time.sleep(0.5)  # settled: the services' start-up is over
    before = sum(cpu_ms(p) for p in pids) + cpu_ms(d.pid)
    reaped = reaped_children_cpu() * 1000
    t0 = time.perf_counter()
    d.proc.terminate()
    wait_exit(d.proc, 60)
    wall = (time.perf_counter() - t0) * 1000
    d.proc.wait()
    used = reaped_children_cpu() * 1000 - reaped - before
    d.stop()
    return wall, used


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rev", help="tree A: a git revision of this repository")
    p.add_argument("--what", choices=("wrapper", "stop-all"), default="wrapper")
    p.add_argument("--reps", type=int, default=8)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--cgroups", action="store_true", help="wrapper: a cgroup per program (as root)")
    a = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="svcctl-ab-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", a.rev, "src"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
        trees = {f"A ({a.rev})": str(work / "src"), "B (this checkout)": str(ROOT / "src")}
        results: dict[str, list[tuple[float, ...]]] = {k: [] for k in trees}
        with private_bytecode_cache():
            fill_bytecode_cache()
            wrapped = {}
            if a.what == "wrapper":
                os.environ["SVCCTL_CGROUPS"] = "1" if a.cgroups else "0"
                for k, tree in trees.items():
                    with_tree(tree)
                    wrapped[k] = bw.Wrapped(a.n, cgroups=a.cgroups)
            try:
                for rep in range(a.reps + 1):  # the first round warms up and is not recorded
                    order = list(trees) if rep % 2 else list(trees)[::-1]
                    for k in order:
                        figures = wrapper_rep(wrapped[k]) if wrapped else stop_all_rep(trees[k], a.n)
                        if rep:
                            results[k].append(figures)
            finally:
                for w in wrapped.values():
                    w.close()
    finally:
        os.environ.pop("PYTHONPATH", None)
        shutil.rmtree(work, ignore_errors=True)
    names = (("start wall", "start daemon CPU", "stop wall", "stop daemon CPU") if a.what == "wrapper"
             else ("stop-all wall", "stop-all CPU, daemon + services"))
    print(f"{a.what}, {a.n} services, median of {a.reps} reps (ms)\n")
    print("| tree | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for k, rows in results.items():
        print(f"| {k} | " + " | ".join(f"{statistics.median(col):.1f}" for col in zip(*rows, strict=True)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
