"""Foundation benchmarks of the portable SCM, all measured in one run, printed as Markdown.

    .venv/bin/python bench/bench_foundation.py [--reps N] [--services N] [--threads N] [--quick]

1. Status queries per second from one persistent client (``svc.query()`` in a loop) with 200
   and with 10,000 services registered, and the rate of ``create_service`` (target >= 20,000
   queries/s).
2. create + start of 200 native Python services (bench/native_service.py) until all report
   RUNNING, issued sequentially from one connection and from several client threads (one
   connection each), against bench/bare_spawner.py starting 200 Python processes until all
   signalled ready (target: ratio <= 1.3x). Two baselines, side by side: (a) children that are
   the same Python processes as the services (same interpreter, same imports: ``svcctl.svc``),
   which the target is judged against; (b) children that import nothing, the stricter floor of
   any exec-based spawner. Then stop all (until STOPPED and reaped) and delete, against
   kill-and-reap.
3. Daemon RSS (VmRSS) with 1,000 services registered (target <= 30 MiB).

Timed sections are repeated ``--reps`` times; tables show the median (min–max).
Every daemon is private (temporary SVCCTL_HOME) and is stopped with SIGTERM at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import resource
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare_spawner
from common import (
    BENCH,
    Daemon,
    Interference,
    bytecode_situation,
    cpu_seconds,
    machine,
    median,
    native_binpath,
    pid_alive,
    private_bytecode_cache,
    proc_status,
    source_revision,
    spread,
    wait_quiet,
    wait_until,
)

from svcctl import wire
from svcctl.home import socket_path
from svcctl.mgr import Manager, Service
from svcctl.mgr.portable import PortableBackend
from svcctl.types import MAXIMUM_ALLOWED, State

MIB = 1024.0
QPS_TARGET = 20_000
START_RATIO_TARGET = 1.3
RSS_TARGET_MIB = 30.0


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- 1. queries and creation ---------------------------------------------------------------------


def query_rate(svc: Service, seconds: float) -> float:
    """Status queries per second on one open handle, one request at a time."""
    query = svc.query
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(200):
            query()
        n += 200
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - t0)


def query_cpu(d: Daemon, svc: Service, seconds: float) -> tuple[float, float]:
    """CPU microseconds per query spent by (client, daemon) during one query window."""
    me = os.getpid()
    c0, d0, t0 = cpu_seconds(me), cpu_seconds(d.pid), time.perf_counter()
    rate = query_rate(svc, seconds)
    n = rate * (time.perf_counter() - t0)
    return 1e6 * (cpu_seconds(me) - c0) / n, 1e6 * (cpu_seconds(d.pid) - d0) / n


def pipelined_rate(d: Daemon, name: str, seconds: float, depth: int = 64) -> float:
    """Daemon capacity: status requests on one connection, ``depth`` in flight (raw frames).

    The protocol tags each request with an id, so a client may send several before reading;
    the daemon is unchanged, only the client does not wait for each answer."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(socket_path(d.home)))
    chan = wire.Channel(sock)
    try:
        chan.send({"id": 1, "op": "open_scm", "access": MAXIMUM_ALLOWED})
        scm = chan.recv()["r"]
        chan.send({"id": 2, "op": "open", "scm": scm, "name": name, "access": MAXIMUM_ALLOWED})
        h = chan.recv()["r"]
        burst = b"".join(wire.encode({"id": 10 + i, "op": "status", "h": h}) for i in range(depth))
        n = 0
        t0 = time.perf_counter()
        while True:
            sock.sendall(burst)
            for _ in range(depth):
                reply = chan.recv()
                if "r" not in reply:
                    raise RuntimeError(f"status failed: {reply}")
            n += depth
            now = time.perf_counter()
            if now - t0 >= seconds:
                return n / (now - t0)
    finally:
        chan.close()


RAW_ECHO_SERVER = """
import socket, sys
s = socket.socket(fileno=int(sys.argv[1]))
while True:
    data = s.recv(262144)
    if not data:
        break
    s.sendall(data)
"""

ECHO_SERVER = """
import asyncio, socket, sys
class Echo(asyncio.Protocol):
    def connection_made(self, t): self.t = t
    def data_received(self, data): self.t.write(data)
    def connection_lost(self, exc): loop.stop()
loop = asyncio.new_event_loop()
loop.run_until_complete(loop.create_unix_connection(Echo, sock=socket.socket(fileno=int(sys.argv[1]))))
loop.run_forever()
"""


def echo_floor(seconds: float, reps: int, server: str = ECHO_SERVER) -> list[float]:
    """Round trips/s of the svcctl client (PortableBackend.call) against a server that only
    echoes each frame back (asyncio Protocol, or a blocking recv/sendall loop): the floor set by
    the transport, the client and the server's I/O model, with no SCM work."""
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, "-c", server, str(theirs.fileno())], pass_fds=(theirs.fileno(),))
    theirs.close()
    be = PortableBackend(ours)
    try:
        rates = []
        for rep in range(reps + 1):
            n = 0
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < (0.2 if rep == 0 else seconds):
                for _ in range(200):
                    be.call("status", h=0x10008)  # the echoed request carries our id: a reply
                n += 200
            if rep:
                rates.append(n / (time.perf_counter() - t0))
        return rates
    finally:
        be.close()
        proc.wait(10)


def pinned(d: Daemon, fn: Callable[[], list[float]]) -> list[float]:
    """Run ``fn`` with this process and the daemon both bound to one CPU (no cross-CPU wake-ups)."""
    me, cpus = os.getpid(), os.sched_getaffinity(0)
    one = {min(cpus)}
    os.sched_setaffinity(me, one)
    os.sched_setaffinity(d.pid, one)
    try:
        return fn()
    finally:
        os.sched_setaffinity(d.pid, cpus)
        os.sched_setaffinity(me, cpus)


def create_range(mgr: Manager, start: int, stop: int, binpath: str = "/bin/true") -> float:
    """Create services s<start>..s<stop-1>; returns seconds spent in create_service calls.

    Handles are closed afterwards (outside the timed part), so the daemon holds none of them.
    """
    handles = []
    t0 = time.perf_counter()
    for i in range(start, stop):
        handles.append(mgr.create_service(f"s{i}", binpath))
    elapsed = time.perf_counter() - t0
    for h in handles:
        h.close()
    return elapsed


def rss_mib(d: Daemon) -> float:
    time.sleep(0.2)  # let the event log flush and the loop go idle
    return d.rss_kib() / MIB


def bench_registry(reps: int, query_seconds: float, big: int) -> dict[str, Any]:
    res: dict[str, Any] = {}
    log("section 1/3: queries, creation, RSS")
    with Daemon() as d:
        mgr = d.connect()
        res["rss_0"] = rss_mib(d)

        t = create_range(mgr, 0, 200)
        res["create_200_rate"] = 200 / t
        with mgr.open_service("s100") as svc:
            query_rate(svc, 0.2)  # warm-up
            res["qps_200"] = [query_rate(svc, query_seconds) for _ in range(reps)]
            res["cpu_200"] = query_cpu(d, svc, query_seconds)
            res["qps_200_pinned"] = pinned(d, lambda: [query_rate(svc, query_seconds) for _ in range(reps)])
        res["pipelined_200"] = [pipelined_rate(d, "s100", query_seconds) for _ in range(reps)]
        log(f"  200 services: {median(res['qps_200']):,.0f} queries/s, pipelined {median(res['pipelined_200']):,.0f}/s")

        t = create_range(mgr, 200, 1000)
        res["rss_1000"] = rss_mib(d)
        log(f"  1,000 services: RSS {res['rss_1000']:.1f} MiB")

        chunk = max((big - 1000) // 9, 1)
        rates = []
        i = 1000
        while i < big:
            j = min(i + chunk, big)
            rates.append((j - i) / create_range(mgr, i, j))
            i = j
        res["create_big_rates"] = rates
        log(f"  created up to {big}: {median(rates):,.0f} creates/s")
        res["rss_big"] = rss_mib(d)
        res["hwm_big"] = proc_status(d.pid, "VmHWM") / MIB

        with mgr.open_service(f"s{big // 2}") as svc:
            query_rate(svc, 0.2)
            res["qps_big"] = [query_rate(svc, query_seconds) for _ in range(reps)]
            res["cpu_big"] = query_cpu(d, svc, query_seconds)
        log(f"  {big} services: {median(res['qps_big']):,.0f} queries/s")
        mgr.close()
        t0 = time.perf_counter()
        code = d.stop()
        res["daemon_stop_big"] = time.perf_counter() - t0
        res["daemon_exit"] = code
    res["echo"] = echo_floor(query_seconds, reps)
    res["echo_raw"] = echo_floor(query_seconds, reps, RAW_ECHO_SERVER)
    log(f"  echo floors: asyncio {median(res['echo']):,.0f}, blocking {median(res['echo_raw']):,.0f} round trips/s")
    return res


# --- 2. starting services --------------------------------------------------------------------------


class StartRun:
    """One create+start+wait / stop+delete cycle of ``n`` native services over ``k`` connections."""

    def __init__(self, d: Daemon, n: int, k: int, prefix: str) -> None:
        self.n, self.k = n, k
        self.names = [f"{prefix}{i}" for i in range(n)]
        self.chunks = [self.names[i::k] for i in range(k)]
        self.mgrs = [d.connect() for _ in range(k)]
        self.svcs: list[list[Service]] = [[] for _ in range(k)]
        self.pids: list[int] = []
        self.binpath = native_binpath()

    def _each(self, fn: Callable[[int], Any]) -> list[Any]:
        if self.k == 1:
            return [fn(0)]
        with ThreadPoolExecutor(self.k) as ex:
            return list(ex.map(fn, range(self.k)))

    def up(self) -> dict[str, float]:
        """create + start every service, then wait until each reports RUNNING."""
        t0 = time.perf_counter()
        issued: list[float] = [0.0] * self.k
        pids: list[list[int]] = [[] for _ in range(self.k)]

        def work(w: int) -> None:
            mgr, mine = self.mgrs[w], self.svcs[w]
            for name in self.chunks[w]:
                svc = mgr.create_service(name, self.binpath)
                svc.start()
                mine.append(svc)
            issued[w] = time.perf_counter() - t0
            for svc in mine:
                st = svc.wait(State.RUNNING, timeout=120)
                if st.state is not State.RUNNING:
                    raise RuntimeError(f"{svc.name} did not run: {st}")
                pids[w].append(st.pid)

        self._each(work)
        total = time.perf_counter() - t0
        self.pids = [p for ps in pids for p in ps]
        return {"running": total, "issued": max(issued)}

    def down(self) -> dict[str, float]:
        """stop every service, wait until STOPPED and its process is reaped, then delete."""
        t0 = time.perf_counter()

        def stop(w: int) -> None:
            for svc in self.svcs[w]:
                svc.stop()
            for svc in self.svcs[w]:
                st = svc.wait(State.STOPPED, timeout=60)
                if st.state is not State.STOPPED:
                    raise RuntimeError(f"{svc.name} did not stop: {st}")

        self._each(stop)
        wait_until(lambda: not any(pid_alive(p) for p in self.pids), 30, "service processes to exit")
        stopped = time.perf_counter() - t0

        def delete(w: int) -> None:
            for svc in self.svcs[w]:
                svc.delete()
                svc.close()

        self._each(delete)
        for m in self.mgrs:
            m.close()
        return {"stopped": stopped}


def bare_run(code: str, n: int) -> dict[str, float]:
    t0 = time.perf_counter()
    procs = bare_spawner.spawn_all(n, code)
    t1 = time.perf_counter()
    bare_spawner.kill_all(procs)
    t2 = time.perf_counter()
    return {"running": t1 - t0, "stopped": t2 - t1}


def bench_starts(reps: int, n: int, threads: int) -> dict[str, list[dict[str, float]]]:
    log(f"section 2/3: create+start {n} native services vs bare spawner ({reps} reps)")
    # "same": baseline (a), children with the native service's imports; "bare": baseline (b),
    # children that import nothing; "bare_floor": children with a minimal stdlib import set.
    out: dict[str, list[dict[str, float]]] = {"seq": [], "par": [], "same": [], "bare": [], "bare_floor": []}
    with Daemon() as d:
        for rep in range(reps):
            # Rotate the order so drift (page cache, CPU frequency) does not favour one variant.
            variants = ["same", "seq", "bare", "par", "bare_floor"]
            variants = variants[rep % 5 :] + variants[: rep % 5]
            for v in variants:
                if v == "bare":
                    r = bare_run(bare_spawner.CHILD, n)
                elif v == "same":
                    r = bare_run(bare_spawner.CHILD_SAME_IMPORTS, n)
                elif v == "bare_floor":
                    r = bare_run(bare_spawner.CHILD_WITH_STDLIB_FLOOR, n)
                else:
                    run = StartRun(d, n, 1 if v == "seq" else threads, f"{v}{rep}_")
                    c0 = cpu_seconds(d.pid)
                    r = run.up()
                    r["daemon_cpu_up"] = cpu_seconds(d.pid) - c0
                    c0 = cpu_seconds(d.pid)
                    r.update(run.down())
                    r["daemon_cpu_down"] = cpu_seconds(d.pid) - c0
                out[v].append(r)
                log(f"  rep {rep + 1} {v}: " + ", ".join(f"{k} {x:.2f}s" for k, x in r.items()))
        out["rss_after"] = [{"rss": d.rss_kib() / MIB}]
    for _ in range(reps):
        t0 = time.perf_counter()
        template = bare_spawner.spawn_forked(n)
        t1 = time.perf_counter()
        bare_spawner.kill_group(template)
        out.setdefault("forked", []).append({"running": t1 - t0})
    return out


def warm_up() -> dict[str, list[str]]:
    """Fill the bytecode cache (one daemon starting and stopping one native service, bare
    children), and check that baseline (a) is the same Python process as a native service: the
    modules a RUNNING service has loaded (bench/module_probe_service.py) against the modules of a
    baseline (a) child. Returns the modules only the service has and only the child has."""
    with tempfile.TemporaryDirectory(prefix="svcctl-bench-mods-") as tmp:
        listing = Path(tmp) / "modules.txt"
        probe = f"{shlex.quote(sys.executable)} {shlex.quote(str(BENCH / 'module_probe_service.py'))} "
        with Daemon() as d, d.connect() as mgr:
            for name, binpath in (("warmup", native_binpath()), ("probe", probe + shlex.quote(str(listing)))):
                with mgr.create_service(name, binpath) as svc:
                    svc.start()
                    if svc.wait(State.RUNNING, 30).state is not State.RUNNING:
                        raise RuntimeError(f"{name} did not run")
                    if name == "probe":
                        wait_until(listing.exists, 30, "the module probe's listing")
                    svc.stop()
                    svc.wait(State.STOPPED, 30)
                    svc.delete()
        service_mods = set(listing.read_text().split())
    child = bare_spawner.CHILD_SAME_IMPORTS.split("os.write")[0] + "print('\\n'.join(sorted(sys.modules)))\n"
    child_mods = set(
        subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, check=True).stdout.split()
    )
    bare_spawner.kill_all(bare_spawner.spawn_all(2, bare_spawner.CHILD_SAME_IMPORTS))
    bare_spawner.kill_all(bare_spawner.spawn_all(2, bare_spawner.CHILD))
    bare_spawner.kill_all(bare_spawner.spawn_all(2, bare_spawner.CHILD_WITH_STDLIB_FLOOR))
    return {
        "service_only": sorted(service_mods - child_mods),
        "child_only": sorted(child_mods - service_mods),
        "service": sorted(service_mods),
    }


# --- per-process start-up cost (diagnostic) --------------------------------------------------------


def startup_costs(
    codes: dict[str, str], runs: int, envs: dict[str, dict[str, str]] | None = None
) -> dict[str, tuple[float, float]]:
    """``python -c code`` run to completion, one at a time, the codes interleaved so that other
    load (and this VM's changing speed) hits them alike: median (CPU ms, wall ms) per code. CPU is
    the child's user + system. ``envs`` gives some codes their own environment."""
    cpu: dict[str, list[float]] = {k: [] for k in codes}
    wall: dict[str, list[float]] = {k: [] for k in codes}
    for _ in range(runs):
        for key, code in codes.items():
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=(envs or {}).get(key))
            wall[key].append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[key].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return {k: (median(cpu[k]) * 1000, median(wall[k]) * 1000) for k in codes}


# --- report ------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def shown(ratio: float) -> str:
    """What a ratio against the stricter baseline (b) would mean, without bold: not a verdict."""
    return f"would be {'met' if ratio <= START_RATIO_TARGET else 'missed'}"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=3, help="repetitions of each timed section (default 3)")
    p.add_argument("--services", type=int, default=200, help="services started in section 2 (default 200)")
    p.add_argument("--threads", type=int, default=4, help="client connections for the concurrent starts")
    p.add_argument("--big", type=int, default=10_000, help="services registered for the large query test")
    p.add_argument("--query-seconds", type=float, default=0.7, help="length of one query window (default 0.7 s)")
    p.add_argument(
        "--env-as-is",
        action="store_true",
        help="run children with the caller's bytecode settings instead of a private .pyc cache",
    )
    p.add_argument("--quick", action="store_true", help="1 rep, 50 services, 2,000 registered (smoke test)")
    p.add_argument("--no-wait-quiet", action="store_true", help="do not wait for an idle machine first")
    a = p.parse_args(argv)
    if a.quick:
        a.reps, a.services, a.big, a.query_seconds = 1, 50, 2000, 0.3

    m = machine()
    log(f"machine: {m['nproc']} CPUs, {m['python']}")
    quiet = "did not wait for an idle machine" if a.no_wait_quiet else wait_quiet()
    log(quiet)
    t_all = time.perf_counter()
    interference = Interference()
    env_desc = bytecode_situation()
    revision = source_revision()
    log(f"svcctl {revision}")
    log(f"bytecode in the calling environment: {env_desc}")
    caller_env = dict(os.environ)

    with contextlib.ExitStack() as stack:
        if not a.env_as_is:
            stack.enter_context(private_bytecode_cache())
        mode = "as in the calling environment" if a.env_as_is else "private .pyc cache (PYTHONPYCACHEPREFIX)"
        log(f"children run with: {mode}; warming up")
        mods = warm_up()
        log(
            f"  modules: RUNNING native service {len(mods['service'])}, only in the service "
            f"{mods['service_only'] or 'none'}, only in baseline (a) {mods['child_only'] or 'none'}"
        )
        reg = bench_registry(a.reps, a.query_seconds, a.big)
        starts = bench_starts(a.reps, a.services, a.threads)
        log("diagnostic: per-process start-up cost")
        cost = startup_costs(
            {
                "bare": "pass",
                "stdlib": f"import {bare_spawner.STDLIB_FLOOR}",
                "svc": "import svcctl.svc",
                "svc_asis": "import svcctl.svc",
            },
            21,
            envs={"svc_asis": caller_env},
        )
    elapsed = time.perf_counter() - t_all
    noise = interference.report()
    log(noise)

    def med(v: str, key: str) -> float:
        return median([r[key] for r in starts[v]])

    def spr(v: str, key: str, fmt: str = "{:.2f}") -> str:
        return spread([r[key] for r in starts[v]], fmt)

    same = med("same", "running")  # baseline (a): the target is judged against it
    bare = med("bare", "running")  # baseline (b): the stricter floor, shown
    ratio_seq = med("seq", "running") / same
    ratio_par = med("par", "running") / same
    ratio_seq_b = med("seq", "running") / bare
    ratio_par_b = med("par", "running") / bare
    n = a.services
    big = a.big

    def fmt_cost(c: tuple[float, float]) -> str:
        return f"{c[0]:.1f} / {c[1]:.1f}"

    lines = [
        f"Run {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}: "
        f"{m['nproc']} CPUs ({m['cpu']}), {m['mem']} RAM, Linux {m['kernel']}, {m['python']}.",
        f"svcctl {revision}. Service and bare child processes: {mode}. Calling environment: {env_desc}.",
        f"Each timed figure: median of {a.reps} reps (min–max in brackets). Total benchmark time {elapsed:.0f} s.",
        f"Load: {quiet}; {noise}.",
        "",
        "| # | Measure | Result | Target | Verdict |",
        "|---|---|---|---|---|",
        f"| 1a | status queries/s, one client, 200 services | {spread(reg['qps_200'], '{:,.0f}')} "
        f"| >= {QPS_TARGET:,} | {verdict(median(reg['qps_200']) >= QPS_TARGET)} |",
        f"| 1b | status queries/s, one client, {big:,} services | {spread(reg['qps_big'], '{:,.0f}')} "
        f"| >= {QPS_TARGET:,} | {verdict(median(reg['qps_big']) >= QPS_TARGET)} |",
        f"| 1c | create_service/s, first 200 | {reg['create_200_rate']:,.0f} | – | |",
        f"| 1d | create_service/s, 1,000 → {big:,} (chunks of {(big - 1000) // 9:,}) "
        f"| {spread(reg['create_big_rates'], '{:,.0f}')} | – | |",
        f"| 2a | baseline (a), the same {n} Python processes: bare spawner, children `import "
        f"{bare_spawner.SERVICE_IMPORTS}` (as the native service does), then signal ready (s) "
        f"| {spr('same', 'running')} | baseline of the target | |",
        f"| 2b | baseline (b), stricter floor: bare spawner, {n} `python` children that import nothing, "
        f"then signal ready (s) | {spr('bare', 'running')} | shown, not judged | |",
        f"| 2c | create+start {n} native services until all RUNNING, sequential calls on 1 connection (s) "
        f"| {spr('seq', 'running')} | | |",
        f"| 2d | same, from {a.threads} client threads (1 connection each) (s) | {spr('par', 'running')} | | |",
        f"| 2e | ratio 2c / 2a (sequential, against the same processes) | {ratio_seq:.2f}x "
        f"| <= {START_RATIO_TARGET}x | {verdict(ratio_seq <= START_RATIO_TARGET)} |",
        f"| 2f | ratio 2d / 2a ({a.threads} threads, against the same processes) | {ratio_par:.2f}x "
        f"| <= {START_RATIO_TARGET}x | {verdict(ratio_par <= START_RATIO_TARGET)} |",
        f"| 2g | ratio 2c / 2b (sequential, against the stricter floor) | {ratio_seq_b:.2f}x "
        f"| (<= {START_RATIO_TARGET}x if judged against b) | not judged ({shown(ratio_seq_b)}) |",
        f"| 2h | ratio 2d / 2b ({a.threads} threads, against the stricter floor) | {ratio_par_b:.2f}x "
        f"| (<= {START_RATIO_TARGET}x if judged against b) | not judged ({shown(ratio_par_b)}) |",
        f"| 2i | stop {n} until STOPPED and reaped, then delete: sequential (s) | {spr('seq', 'stopped')} | – | |",
        f"| 2j | same, {a.threads} threads (s) | {spr('par', 'stopped')} | – | |",
        f"| 2k | bare spawner: kill and reap {n} children of 2b (s) | {spr('bare', 'stopped')} | – | |",
        f"| 3 | daemon RSS (VmRSS), 1,000 services registered (MiB) | {reg['rss_1000']:.1f} "
        f"| <= {RSS_TARGET_MIB:.0f} | {verdict(reg['rss_1000'] <= RSS_TARGET_MIB)} |",
        "",
        "Diagnostics (same run):",
        "",
        "| Measure | Result |",
        "|---|---|",
        f"| status queries/s, 200 services, client and daemon pinned to the same CPU "
        f"| {spread(reg['qps_200_pinned'], '{:,.0f}')} |",
        f"| CPU per status query, 200 services: client / daemon (µs) "
        f"| {reg['cpu_200'][0]:.0f} / {reg['cpu_200'][1]:.0f} |",
        f"| CPU per status query, {big:,} services: client / daemon (µs) "
        f"| {reg['cpu_big'][0]:.0f} / {reg['cpu_big'][1]:.0f} |",
        f"| floor: svcctl client against an asyncio server that only echoes frames (round trips/s) "
        f"| {spread(reg['echo'], '{:,.0f}')} |",
        f"| floor: same client against a blocking recv/sendall echo loop, no asyncio (round trips/s) "
        f"| {spread(reg['echo_raw'], '{:,.0f}')} |",
        f"| daemon capacity: status requests pipelined 64 deep on one connection, 200 services (/s) "
        f"| {spread(reg['pipelined_200'], '{:,.0f}')} |",
        f"| daemon RSS: empty / 1,000 / {big:,} services registered (MiB) "
        f"| {reg['rss_0']:.1f} / {reg['rss_1000']:.1f} / {reg['rss_big']:.1f} (VmHWM {reg['hwm_big']:.1f}) |",
        f"| daemon RSS after section 2 (MiB) | {starts['rss_after'][0]['rss']:.1f} |",
        f"| SIGTERM to exit, daemon with {big:,} services registered (s) "
        f"| {reg['daemon_stop_big']:.2f} (exit {reg['daemon_exit']}) |",
        f"| sequential: time until the last start() returned (s) | {spr('seq', 'issued')} |",
        f"| {a.threads} threads: time until the last start() returned (s) | {spr('par', 'issued')} |",
        f"| daemon CPU per service, create+start+RUNNING / stop+delete, {a.threads} threads (ms) "
        f"| {1000 * med('par', 'daemon_cpu_up') / n:.1f} / {1000 * med('par', 'daemon_cpu_down') / n:.1f} |",
        f"| modules loaded by a RUNNING native service / by a baseline (a) child, before it signals "
        f"| {len(mods['service'])}; only in the service: {', '.join(mods['service_only']) or 'none'}; "
        f"only in the child: {', '.join(mods['child_only']) or 'none'} |",
        f"| baseline (a) / baseline (b) | {same / bare:.2f}x |",
        f"| bare spawner whose child first does `import {bare_spawner.STDLIB_FLOOR}`: {n} until ready (s) "
        f"| {spr('bare_floor', 'running')} ({med('bare_floor', 'running') / same:.2f}x 2a, "
        f"{med('bare_floor', 'running') / bare:.2f}x 2b) |",
        f"| one template process imports svcctl.svc, then forks {n} children until ready (s) "
        f"| {spr('forked', 'running')} ({med('forked', 'running') / same:.2f}x 2a, "
        f"{med('forked', 'running') / bare:.2f}x 2b) |",
        "| one process run to exit, CPU / wall (ms, median of 21): | |",
        f"| — `python -c pass` | {fmt_cost(cost['bare'])} |",
        f"| — `python -c 'import enum, json, socket, struct, threading'` | {fmt_cost(cost['stdlib'])} |",
        f"| — `python -c 'import svcctl.svc'` | {fmt_cost(cost['svc'])} |",
        f"| — same, bytecode as in the calling environment | {fmt_cost(cost['svc_asis'])} |",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
