"""Crash-loop benchmark (issue 6's acceptance), printed as Markdown.

    .venv/bin/python bench/bench_recovery.py [--seconds 30] [--quiet-seconds 10] [--warmup 5]
    .venv/bin/python bench/bench_recovery.py --rss-plateau 240   # does the daemon's growth level off?

Target: with one service in a 0 ms crash-restart loop for 30 s, status-query p99 latency from
another client stays <= 5 ms and daemon RSS grows by < 2 MiB.

* ``crasher`` runs bench/crashing_service.py: it reports RUNNING, then ``os._exit(3)`` (no
  STOPPED: a crash, 1067). Its failure actions are RESTART after 0 ms, reset period INFINITE,
  so the one action repeats for every failure.
* ``idle`` (binpath /bin/true) is never started. One client connection queries its status
  (``svc.query()``) in a tight loop; every query's latency is taken with ``perf_counter``.
* Sequence, one daemon, one query connection throughout: quiet window (no crash loop), crash loop
  started, warm-up, the measured crash-loop window, a few seconds more of crash loop with the query
  client idle (the loop's own cost: restarts/s, daemon CPU, CPU of the crasher's processes), crash
  loop ended (service disabled, the queued restart then leaves it alone), a second quiet window.
  The two quiet windows bracket the crash loop, since this VM's speed moves in phases.
* Daemon VmRSS is read once a second from inside the query loop (outside the timed calls); growth
  is the last sample of the measured window minus the first.
* Restarts are 7031 events ("terminated unexpectedly ... corrective action") of ``crasher`` whose
  time falls in the measured window, from ``Manager.events``; the service's own log (one line per
  run that reached RUNNING) is counted as a cross-check.

Daemon and service processes use a private .pyc cache (as an installed package would have .pyc
files), filled by a throw-away daemon first: a daemon that compiles svcctl itself stays about
5 MiB larger for its whole life.
The daemon is private (temporary SVCCTL_HOME) and is stopped with SIGTERM at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import math
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BENCH,
    Daemon,
    Interference,
    bytecode_situation,
    cpu_seconds,
    machine,
    machine_cpu,
    median,
    private_bytecode_cache,
    proc_status,
    source_revision,
    wait_quiet,
)

from svcctl.mgr import Manager, Service
from svcctl.types import INFINITE, Action, ActionType, FailureActions, StartType, State

MIB = 1024.0
P99_TARGET_MS = 5.0
RSS_GROWTH_TARGET_MIB = 2.0
CRASHER = BENCH / "crashing_service.py"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def children_cpu_seconds(pid: int) -> float:
    """CPU of ``pid``'s reaped children (cutime + cstime): for the daemon, its service processes."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def cpu_pressure_us() -> int | None:
    """PSI: total microseconds in which some runnable task waited for a CPU (None without PSI)."""
    try:
        with open("/proc/pressure/cpu") as f:
            return int(f.readline().rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return None


class Window:
    """One timed stretch of the query loop: every latency (s), daemon samples once a second."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lat: list[float] = []
        #: (seconds into the window, VmRSS KiB)
        self.rss: list[tuple[float, int]] = []
        self.wall0 = self.wall1 = 0.0  # time.time() bounds, to match event times
        self.seconds = 0.0
        self.daemon_cpu = 0.0
        self.client_cpu = 0.0
        self.fds: tuple[int, int] = (0, 0)
        self.threads: tuple[int, int] = (0, 0)
        #: involuntary context switches (preemptions) per second: daemon, query client
        self.preempt: tuple[float, float] = (0.0, 0.0)
        #: share of the window in which some task waited for a CPU (PSI), None without PSI
        self.pressure: float | None = None

    def pct(self, p: float) -> float:
        """Nearest-rank percentile, in ms."""
        s = sorted(self.lat)
        return 1000 * s[max(0, math.ceil(p / 100 * len(s)) - 1)]

    def over(self, ms: float) -> int:
        limit = ms / 1000
        return sum(1 for x in self.lat if x > limit)

    @property
    def rss_growth_mib(self) -> float:
        return (self.rss[-1][1] - self.rss[0][1]) / MIB

    def rss_slope_mib_per_min(self) -> float:
        """Least-squares slope of the RSS samples."""
        n = len(self.rss)
        if n < 2:
            return 0.0
        mt = sum(t for t, _ in self.rss) / n
        mr = sum(r for _, r in self.rss) / n
        num = sum((t - mt) * (r - mr) for t, r in self.rss)
        den = sum((t - mt) ** 2 for t, _ in self.rss)
        return 60 * num / den / MIB if den else 0.0


def query_loop(svc: Service, daemon_pid: int, seconds: float, win: Window | None = None) -> Window:
    """Query ``svc`` one request at a time for ``seconds``; record into ``win`` (or a throw-away)."""
    w = win or Window("warm-up")
    lat = w.lat
    append = lat.append
    query = svc.query
    clock = time.perf_counter
    me = os.getpid()
    w.fds = (fd_count(daemon_pid), 0)
    w.threads = (proc_status(daemon_pid, "Threads"), 0)
    c_me, c_d = cpu_seconds(me), cpu_seconds(daemon_pid)
    nv_me, nv_d = proc_status(me, "nonvoluntary_ctxt_switches"), proc_status(daemon_pid, "nonvoluntary_ctxt_switches")
    psi0 = cpu_pressure_us()
    w.wall0 = time.time()
    t_start = clock()
    w.rss.append((0.0, proc_status(daemon_pid, "VmRSS")))
    next_sample = t_start + 1.0
    deadline = t_start + seconds
    while True:
        t0 = clock()
        query()
        t1 = clock()
        append(t1 - t0)
        if t1 >= next_sample:
            w.rss.append((t1 - t_start, proc_status(daemon_pid, "VmRSS")))
            next_sample += 1.0
            if t1 >= deadline:
                break
    w.seconds = clock() - t_start
    w.wall1 = time.time()
    w.daemon_cpu = cpu_seconds(daemon_pid) - c_d
    w.client_cpu = cpu_seconds(me) - c_me
    w.preempt = (
        (proc_status(daemon_pid, "nonvoluntary_ctxt_switches") - nv_d) / w.seconds,
        (proc_status(me, "nonvoluntary_ctxt_switches") - nv_me) / w.seconds,
    )
    psi1 = cpu_pressure_us()
    if psi0 is not None and psi1 is not None:
        w.pressure = (psi1 - psi0) / 1e6 / w.seconds
    w.fds = (w.fds[0], fd_count(daemon_pid))
    w.threads = (w.threads[0], proc_status(daemon_pid, "Threads"))
    return w


def all_events(mgr: Manager, service: str) -> list[list[Any]]:
    """Every stored event of ``service``, oldest first (paged)."""
    out: list[list[Any]] = []
    since = 0
    while True:
        page = mgr.events(service=service, since=since, limit=1000)
        if not page:
            return out
        out.extend(page)
        since = page[-1][0]


def crash_loop_alone(daemon_pid: int, seconds: float) -> tuple[float, float, float, float, float, float]:
    """Let the crash loop run with no queries: (wall0, wall1, seconds, daemon CPU, CPU of its reaped
    children, machine busy share). The children are the crasher's processes (nothing else runs)."""
    ncpu = len(os.sched_getaffinity(0))
    d0, c0, (b0, _) = cpu_seconds(daemon_pid), children_cpu_seconds(daemon_pid), machine_cpu()
    w0, t0 = time.time(), time.perf_counter()
    time.sleep(seconds)
    w1, t1 = time.time(), time.perf_counter()
    d1, c1, (b1, _) = cpu_seconds(daemon_pid), children_cpu_seconds(daemon_pid), machine_cpu()
    return w0, w1, t1 - t0, d1 - d0, c1 - c0, (b1 - b0) / ((t1 - t0) * ncpu)


def end_crash_loop(crasher: Service, timeout: float = 30) -> float:
    """Disable ``crasher`` (B118: the queued restart then leaves it alone) and wait until it has
    stayed STOPPED for 1 s. Returns the seconds that took."""
    t0 = time.monotonic()
    crasher.update_config(start_type=StartType.DISABLED)
    stopped_since: float | None = None
    while time.monotonic() - t0 < timeout:
        st = crasher.query()
        now = time.monotonic()
        if st.state is State.STOPPED and st.pid == 0:
            stopped_since = stopped_since or now
            if now - stopped_since >= 1.0:
                return now - t0
        else:
            stopped_since = None
        time.sleep(0.01)
    raise TimeoutError("the crash loop did not end")


def rss_plateau(seconds: float, every: float = 20.0) -> list[str]:
    """The crash loop alone for ``seconds`` (no query client): daemon memory every ``every`` s,
    with the size of its database files and the failure count, to see whether growth levels off."""
    lines = [
        "| Crash loop (s) | failures so far (last 7031) | VmRSS (MiB) | RssAnon (MiB) | RssFile (MiB) "
        "| database + WAL (MiB) |",
        "|---|---|---|---|---|---|",
    ]
    with private_bytecode_cache():
        with Daemon():  # fills the .pyc cache, as in the main benchmark
            pass
        with Daemon() as d, d.connect() as ctl:
            ctl.create_service("idle", "/bin/true").close()
            crasher = ctl.create_service("crasher", f"{shlex.quote(sys.executable)} {shlex.quote(str(CRASHER))}")
            crasher.set_failure_actions(FailureActions(INFINITE, None, None, (Action(ActionType.RESTART, 0),)))

            def sample(t: float) -> None:
                mib = {k: proc_status(d.pid, k) / MIB for k in ("VmRSS", "RssAnon", "RssFile")}
                db = sum(f.stat().st_size for f in d.home.iterdir() if f.name.startswith("services.db"))
                recent = [e for e in ctl.events(service="crasher", since=-1, limit=10) if e[2] == 7031]
                count = f"{(recent[-1][6] or {}).get('failures', 0):,}" if recent else "0"
                lines.append(
                    f"| {t:.0f} | {count} | {mib['VmRSS']:.2f} | {mib['RssAnon']:.2f} | {mib['RssFile']:.2f} "
                    f"| {db / 2**20:.1f} |"
                )
                log(lines[-1])

            sample(0)
            crasher.start()
            t0 = time.monotonic()
            while (t := time.monotonic() - t0) < seconds:
                time.sleep(min(every, seconds - t))
                sample(time.monotonic() - t0)
            end_crash_loop(crasher)
            crasher.close()
    return lines


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=30.0, help="measured crash-loop window (default 30 s)")
    p.add_argument("--quiet-seconds", type=float, default=10.0, help="each quiet window (default 10 s)")
    p.add_argument("--warmup", type=float, default=5.0, help="crash loop before the measured window (default 5 s)")
    p.add_argument("--solo-seconds", type=float, default=5.0,
                   help="crash loop with the query client idle, for its own cost (default 5 s)")
    p.add_argument("--rss-plateau", type=float, metavar="SECONDS",
                   help="instead: the crash loop alone for SECONDS, daemon memory every 20 s")
    p.add_argument("--no-wait-quiet", action="store_true", help="do not wait for an idle machine first")
    a = p.parse_args(argv)

    m = machine()
    log(f"machine: {m['nproc']} CPUs, {m['python']}")
    quiet = "did not wait for an idle machine" if a.no_wait_quiet else wait_quiet()
    log(quiet)
    t_all = time.perf_counter()
    interference = Interference()
    env_desc = bytecode_situation()
    revision = source_revision()
    log(f"svcctl {revision}")
    if a.rss_plateau:
        table = rss_plateau(a.rss_plateau)
        noise = interference.report()
        print(
            f"Run {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}, svcctl {revision}: "
            f"crash loop alone for {a.rss_plateau:.0f} s (no query client). Load: {quiet}; {noise}.\n"
        )
        print("\n".join(table))
        return 0

    with contextlib.ExitStack() as stack:
        stack.enter_context(private_bytecode_cache())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="svcctl-bench-crash-")))
        runs_log = tmp / "runs.log"
        with Daemon():  # fills the .pyc cache: a daemon that compiles svcctl first stays ~5 MiB larger
            pass
        d = stack.enter_context(Daemon())
        ctl = stack.enter_context(d.connect())
        qmgr = stack.enter_context(d.connect())  # the query client's own connection
        stack.enter_context(ctl.create_service("idle", "/bin/true"))
        binpath = f"{shlex.quote(sys.executable)} {shlex.quote(str(CRASHER))} {shlex.quote(str(runs_log))}"
        crasher = stack.enter_context(ctl.create_service("crasher", binpath))
        crasher.set_failure_actions(FailureActions(INFINITE, None, None, (Action(ActionType.RESTART, 0),)))
        idle = stack.enter_context(qmgr.open_service("idle"))

        rss_empty = d.rss_kib() / MIB
        log("quiet window 1")
        query_loop(idle, d.pid, 1.0)
        quiet1 = query_loop(idle, d.pid, a.quiet_seconds, Window("quiet, before"))
        rss_before = d.rss_kib() / MIB

        log("crash loop: start, warm-up")
        crasher.start()
        query_loop(idle, d.pid, a.warmup)
        log("crash loop: measured window")
        loop = query_loop(idle, d.pid, a.seconds, Window("crash loop"))
        log("crash loop with the query client idle")
        solo = crash_loop_alone(d.pid, a.solo_seconds)
        log("crash loop: ending")
        end_s = end_crash_loop(crasher)
        time.sleep(1.0)
        rss_after = d.rss_kib() / MIB
        hwm = proc_status(d.pid, "VmHWM") / MIB

        log("quiet window 2")
        quiet2 = query_loop(idle, d.pid, a.quiet_seconds, Window("quiet, after"))

        events = all_events(ctl, "crasher")
        runs = [float(line.split()[0]) for line in runs_log.read_text().splitlines()]
    code = d.proc.returncode  # the exit stack closed both connections, then stopped the daemon (SIGTERM)
    elapsed = time.perf_counter() - t_all
    noise = interference.report()
    log(noise)

    def in_loop(t: float) -> bool:
        return loop.wall0 <= t <= loop.wall1

    failures = [e for e in events if e[2] == 7031]
    restarts = sum(1 for e in failures if in_loop(e[1]))
    runs_in_loop = sum(1 for t in runs if in_loop(t))
    last_count = max(((e[6] or {}).get("failures", 0) for e in failures), default=0)
    other = sorted({e[2] for e in events if e[2] not in (7031, 7036, 7040, 7045)})
    # crash-to-restart gap: a 7031 to the next run's line in the service's log
    gaps = []
    j = 0
    for e in failures:
        while j < len(runs) and runs[j] <= e[1]:
            j += 1
        if j < len(runs):
            gaps.append(runs[j] - e[1])
    rate = restarts / loop.seconds
    solo_restarts = sum(1 for e in failures if solo[0] <= e[1] <= solo[1])
    p99 = loop.pct(99)
    growth = loop.rss_growth_mib
    wins = (quiet1, loop, quiet2)

    def row(label: str, fn: Any, fmt: str = "{:.2f}") -> str:
        return f"| {label} | " + " | ".join(fmt.format(fn(w)) for w in wins) + " |"

    lines = [
        f"Run {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}: "
        f"{m['nproc']} CPUs ({m['cpu']}), {m['mem']} RAM, Linux {m['kernel']}, {m['python']}.",
        f"svcctl {revision}. Daemon and service processes: private .pyc cache (PYTHONPYCACHEPREFIX), "
        "filled before the measured daemon started. "
        f"Calling environment: {env_desc}.",
        f"Windows: quiet {a.quiet_seconds:.0f} s, crash loop {a.warmup:.0f} s warm-up + {a.seconds:.0f} s measured, "
        f"crash loop {a.solo_seconds:.0f} s more with the query client idle, quiet {a.quiet_seconds:.0f} s; "
        "one daemon and one query connection throughout. "
        f"Total benchmark time {elapsed:.0f} s.",
        f"Load: {quiet}; {noise}.",
        "",
        "| # | Measure | Result | Target | Verdict |",
        "|---|---|---|---|---|",
        f"| 1 | status-query p99 latency during the crash loop (ms) | {p99:.2f} "
        f"| <= {P99_TARGET_MS:.0f} | {verdict(p99 <= P99_TARGET_MS)} |",
        f"| 2 | daemon RSS growth over the {loop.seconds:.0f} s crash loop, first to last sample (MiB) "
        f"| {growth:+.2f} ({loop.rss[0][1] / MIB:.1f} → {loop.rss[-1][1] / MIB:.1f}) "
        f"| < {RSS_GROWTH_TARGET_MIB:.0f} | {verdict(growth < RSS_GROWTH_TARGET_MIB)} |",
        f"| 3 | restarts (7031 events) in the measured window | {restarts:,} ({rate:.1f}/s) | – | |",
        "",
        "Query latency, side by side (one connection, one request at a time):",
        "",
        "| Measure | " + " | ".join(w.name for w in wins) + " |",
        "|---|---|---|---|",
        row("queries", lambda w: len(w.lat), "{:,}"),
        row("queries/s", lambda w: len(w.lat) / w.seconds, "{:,.0f}"),
        row("median (ms)", lambda w: 1000 * median(w.lat), "{:.3f}"),
        row("p99 (ms)", lambda w: w.pct(99), "{:.3f}"),
        row("p99.9 (ms)", lambda w: w.pct(99.9), "{:.3f}"),
        row("max (ms)", lambda w: 1000 * max(w.lat), "{:.2f}"),
        row("queries over 5 ms", lambda w: w.over(5), "{:,}"),
        row("daemon CPU (% of one CPU)", lambda w: 100 * w.daemon_cpu / w.seconds, "{:.0f}"),
        row("query client CPU (% of one CPU)", lambda w: 100 * w.client_cpu / w.seconds, "{:.0f}"),
        row("daemon preemptions (involuntary context switches) per second", lambda w: w.preempt[0], "{:,.0f}"),
        row("query client preemptions per second", lambda w: w.preempt[1], "{:,.0f}"),
        row("CPU pressure: share of the time some task waited for a CPU (PSI)",
            lambda w: "n/a" if w.pressure is None else f"{100 * w.pressure:.0f}%", "{}"),
        row("daemon RSS, first → last sample (MiB)", lambda w: f"{w.rss[0][1] / MIB:.1f} → {w.rss[-1][1] / MIB:.1f}",
            "{}"),
        row("daemon RSS slope (MiB/min, least squares over 1 s samples)", lambda w: w.rss_slope_mib_per_min(),
            "{:+.2f}"),
        row("daemon open fds, start → end", lambda w: f"{w.fds[0]} → {w.fds[1]}", "{}"),
        row("daemon threads, start → end", lambda w: f"{w.threads[0]} → {w.threads[1]}", "{}"),
        "",
        "Diagnostics (same run):",
        "",
        "| Measure | Result |",
        "|---|---|",
        f"| daemon RSS: idle services registered / after quiet window 1 / 1 s after the crash loop ended (MiB) "
        f"| {rss_empty:.1f} / {rss_before:.1f} / {rss_after:.1f} (VmHWM {hwm:.1f}) |",
        f"| daemon RSS samples during the crash loop, min / max (MiB) "
        f"| {min(r for _, r in loop.rss) / MIB:.1f} / {max(r for _, r in loop.rss) / MIB:.1f} |",
        f"| crasher runs that reached RUNNING, from its own log: in the window / in all "
        f"| {runs_in_loop:,} / {len(runs):,} |",
        f"| 7031 events in all / failure count in the last one | {len(failures):,} / {last_count:,} |",
        f"| crash-to-restart, a 7031 to the next run reaching RUNNING: median / p99 (ms) "
        f"| {1000 * median(gaps):.1f} / {1000 * sorted(gaps)[max(0, math.ceil(0.99 * len(gaps)) - 1)]:.1f} |"
        if gaps
        else "| crash-to-restart | no data |",
        f"| crash loop with the query client idle ({solo[2]:.0f} s, after the measured window): restarts/s "
        f"| {solo_restarts / solo[2]:.1f} |",
        f"| — daemon CPU per restart (ms) | {1000 * solo[3] / max(1, solo_restarts):.2f} |",
        f"| — CPU of the crasher's processes per run (reaped children of the daemon) (ms) "
        f"| {1000 * solo[4] / max(1, solo_restarts):.1f} |",
        f"| — machine CPU used, share of {m['nproc']} CPUs | {100 * solo[5]:.0f}% |",
        f"| other event IDs of crasher (besides 7031, 7036, 7040 for the disable, 7045) "
        f"| {', '.join(map(str, other)) or 'none'} |",
        f"| time to end the loop (disable, then STOPPED for 1 s) (s) | {end_s:.2f} |",
        f"| SIGTERM to exit (daemon exit code) | {code} |",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
