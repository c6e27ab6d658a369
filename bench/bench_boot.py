"""Boot and shutdown (issue 4): 200 auto-start services, against a bare spawner and supervisord.

    .venv/bin/python bench/bench_boot.py [--reps N] [--poll-ms MS] [--boot-limit S] [--quick]

The set: 200 native services (bench/native_service.py), all AUTO_START. 100 are independent;
100 form 20 chains of depth 5, each service depending on the previous one of its chain. They are
created once through a ``svcctl serve --no-boot`` daemon in a private home, which is then
stopped (SIGTERM). Each repetition then runs, in rotating order:

* **svcctl** (judged): launching ``svcctl serve`` on that home (a normal boot) until all 200
  report RUNNING, observed by one client calling ``Manager.list_services`` every ``--poll-ms``.
  A boot that has not got there after ``--boot-limit`` seconds counts as incomplete (what was not
  RUNNING is reported). The daemon's own launch-to-ready time (``--ready-fd``) is reported too.
  Then, after 0.5 s, **stop-all** (judged): SIGTERM to that daemon with all 200 RUNNING until it
  has exited (SHUTDOWN to every service, then every process tree ended and reaped; the benchmark
  checks that no service process is left). Only boots that got all 200 RUNNING count for it.
* **bare**: the same 200 Python processes (baseline (a) of bench_foundation.py: the same
  interpreter, ``import svcctl.svc``, then one byte to an inherited pipe), started the way the
  daemon's PosixSpawner starts them, in topological order: the 20 chain heads first, then the 100
  independent ones; each further chain member as soon as its predecessor has signalled ready.
  Time until all 200 are ready. Stop: SIGKILL and reap (bench/bare_spawner.py's ``kill_all``).
* **graceful** (diagnostic): the same start, but the children wait on a second pipe and exit
  normally (interpreter teardown) when it is closed: the floor of any stop that lets Python
  service processes end on their own, as a SHUTDOWN does. **os_exit** (diagnostic): the same,
  leaving through ``os._exit(0)``, without interpreter finalization.
* **supervisord** (supervisor 4, installed into its own venv as bench_cli.py does): 200 programs
  running the same child (``import svcctl.svc``, then sleep; a native service needs an SCM),
  ``startsecs=0``, output discarded. supervisord has no dependencies: ``priority`` approximates
  the chains, through one group per chain level (level 1: the chain heads and the independent
  ones) with priority = level. supervisord starts every group in its first turn, and stops one
  group per turn in reverse priority order (with one group per program, its default, stopping 200
  would take minutes). Time from launching supervisord until its status (``getAllProcessInfo``,
  the call behind ``supervisorctl status``, made over its unix socket every ``--poll-ms``; the
  warm-up checks ``supervisorctl status`` itself) shows all RUNNING, and until all 200 children
  have actually finished their imports (each writes one byte to a FIFO). Stop-all: SIGTERM until
  supervisord exits.

Before each timed section the script waits until no other benchmark (bench_recovery,
bench_foundation, bench_cli) runs, then for an idle machine (common.wait_quiet). A final
diagnostic run splits the svcctl stop-all into its phases. Everything started is stopped and
every temporary directory removed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import math
import os
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare_spawner
from bench_cli import DEFAULT_VENV, ensure_supervisor
from common import (
    SUPERVISORD_HEADER,
    Interference,
    bytecode_situation,
    machine,
    median,
    native_binpath,
    own_tree_cpu,
    pid_alive,
    private_bytecode_cache,
    rss_kib,
    source_revision,
    spread,
    wait_exit,
    wait_quiet,
)

from svcctl.mgr import Manager
from svcctl.mgr.portable import PortableBackend
from svcctl.types import StartType

BOOT_RATIO_TARGET = 1.3
STOP_RATIO_TARGET = 1.5
OTHER_BENCHMARKS = "bench/bench_(recovery|foundation|cli)"
DEADLINE_S = 90.0

#: The supervisord child: baseline (a)'s child (same interpreter, ``import svcctl.svc``), which
#: signals by writing one byte to the FIFO named in argv[1] (it has no inherited fd), then sleeps.
SUP_CHILD = (
    "import svcctl.svc, os, sys, time; fd = os.open(sys.argv[1], os.O_WRONLY); os.write(fd, b'r'); "
    "os.close(fd); time.sleep(1e6)"
)

#: Baseline (a)'s child with a graceful stop: after signalling ready on argv[1] it blocks reading
#: the pipe argv[2] and, at EOF, leaves normally (interpreter teardown, as a service process does).
CHILD_GRACEFUL = (
    f"import {bare_spawner.SERVICE_IMPORTS}\nimport os,sys\n"
    "os.write(int(sys.argv[1]),b'r')\nos.close(int(sys.argv[1]))\nos.read(int(sys.argv[2]),1)\n"
)


#: The same, leaving through ``os._exit(0)`` at EOF: no interpreter finalization (module teardown,
#: thread joins, GC), as the svcctl console script already ends.
CHILD_GRACEFUL_OS_EXIT = CHILD_GRACEFUL + "os._exit(0)\n"


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class ServiceSet:
    """Names of the set: ``chains[c][k]`` depends on ``chains[c][k - 1]``; ``independent``."""

    def __init__(self, chains: int, depth: int, independent: int) -> None:
        self.depth = depth
        self.chains = [[f"c{c:02d}_{k}" for k in range(1, depth + 1)] for c in range(chains)]
        self.independent = [f"i{i:03d}" for i in range(independent)]
        self.total = chains * depth + independent

    def describe(self) -> str:
        return (
            f"{self.total} services: {len(self.independent)} independent, "
            f"{len(self.chains) * self.depth} in {len(self.chains)} chains of depth {self.depth}"
        )


# --- waiting for the machine ---------------------------------------------------------------------


def others_running() -> list[str]:
    r = subprocess.run(["pgrep", "-af", OTHER_BENCHMARKS], capture_output=True, text=True)
    return r.stdout.splitlines()


def wait_turn(max_idle_wait: float) -> str:
    """Wait (up to 10 minutes, polling every 3 s) until no other benchmark runs, then for an idle
    machine. Returns what was seen."""
    deadline = time.monotonic() + 600
    seen = others_running()
    waited = 0.0
    if seen:
        log(f"  waiting for other benchmarks to finish: {'; '.join(seen)}")
        t0 = time.monotonic()
        while seen and time.monotonic() < deadline:
            time.sleep(3)
            seen = others_running()
        waited = time.monotonic() - t0
    quiet = wait_quiet(max_wait=max_idle_wait)
    prefix = f"waited {waited:.0f} s for other benchmarks; " if waited else ""
    if seen:
        prefix = "other benchmarks still running after 10 minutes; "
    return prefix + quiet


# --- svcctl ----------------------------------------------------------------------------------------

Listing = list[tuple[str, str, int, int]]  # name, state, pid, win32 exit code


def launch_daemon(home: Path, *args: str) -> tuple[subprocess.Popen[bytes], float, float]:
    """``svcctl serve`` on ``home``; returns (process, launch time, seconds until it was ready)."""
    rfd, wfd = os.pipe()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "svcctl", "serve", "--home", str(home), "--ready-fd", str(wfd), *args],
        env=dict(os.environ, SVCCTL_HOME=str(home)),
        pass_fds=(wfd,),
    )
    os.close(wfd)
    with os.fdopen(rfd) as ready:
        line = ready.readline()
    ready_s = time.perf_counter() - t0
    if line != "ready\n":
        proc.kill()
        raise RuntimeError(f"daemon did not come up (exit {proc.wait()})")
    return proc, t0, ready_s


def terminate(proc: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """SIGTERM and wait; SIGKILL (the whole session when it has one) after ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(proc.pid) == proc.pid:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        return proc.wait()


def connect(home: Path) -> Manager:
    return Manager.connect(backend=PortableBackend.connect(home=home))


def svcctl_listing(mgr: Manager) -> Callable[[], Listing]:
    def listing() -> Listing:
        return [(e.name, e.status.state.name, e.status.pid, e.status.win32_exit_code) for e in mgr.list_services()]

    return listing


def create_set(home: Path, sset: ServiceSet) -> None:
    """Create the set through a ``--no-boot`` daemon, then stop it (SIGTERM)."""
    proc, _, _ = launch_daemon(home, "--no-boot")
    try:
        with connect(home) as mgr:
            binpath = native_binpath()
            for chain in sset.chains:
                for k, name in enumerate(chain):
                    deps = [chain[k - 1]] if k else None
                    mgr.create_service(name, binpath, start_type=StartType.AUTO_START, dependencies=deps).close()
            for name in sset.independent:
                mgr.create_service(name, binpath, start_type=StartType.AUTO_START).close()
    finally:
        code = terminate(proc)
    if code != 0:
        raise RuntimeError(f"the --no-boot daemon exited with {code}")


class Poll:
    """The observer: when each service was first seen RUNNING (seconds since the launch)."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self.pids: dict[str, int] = {}
        self.answered = -1.0  # when the manager first answered
        self.last: Listing = []
        self.complete = False

    def summary(self) -> str:
        """What the last listing showed: count per (state, win32 exit code) of those not RUNNING."""
        counts: dict[str, int] = {}
        for _, state, _, win32 in self.last:
            if state != "RUNNING":
                key = f"{state} ({win32})"
                counts[key] = counts.get(key, 0) + 1
        return ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "none"


def poll_until_running(
    listing: Callable[[], Listing], total: int, t0: float, poll_s: float, alive: Callable[[], bool], limit: float
) -> Poll:
    """Call ``listing`` every ``poll_s`` until ``total`` entries are RUNNING or ``limit`` seconds
    have passed since ``t0`` (then ``complete`` is False). ``listing`` may raise OSError while the
    manager is not up yet."""
    p = Poll()
    while True:
        try:
            p.last = listing()
        except (OSError, http.client.HTTPException, xmlrpc.client.Fault):
            p.last = []
        now = time.perf_counter() - t0
        if p.last and p.answered < 0:
            p.answered = now
        for name, state, pid, _ in p.last:
            if state == "RUNNING" and name not in p.first:
                p.first[name] = now
                p.pids[name] = pid
        if len(p.first) >= total:
            p.complete = True
            return p
        if not alive():
            raise RuntimeError("the manager exited before all services were RUNNING")
        if now > limit:
            return p
        time.sleep(poll_s)


def split(first: dict[str, float], sset: ServiceSet) -> dict[str, float]:
    """When the last independent service, the last chain head and the last chain tail were first
    seen RUNNING (NaN when one never was), and the median time from one chain member to the next."""
    nan = float("nan")

    def last(names: list[str]) -> float:
        return max(first[n] for n in names) if all(n in first for n in names) else nan

    steps = [
        first[ch[k]] - first[ch[k - 1]]
        for ch in sset.chains
        for k in range(1, sset.depth)
        if ch[k] in first and ch[k - 1] in first
    ]
    return {
        "last_independent": last(sset.independent),
        "last_head": last([ch[0] for ch in sset.chains]),
        "last_chain": last([ch[-1] for ch in sset.chains]),
        "chain_step": median(steps) if steps else nan,
    }


def stop_daemon(proc: subprocess.Popen[bytes], pids: dict[str, int]) -> float:
    """SIGTERM until the daemon has exited; checks that it exited 0 and left no service process."""
    t1 = time.perf_counter()
    proc.terminate()
    code = wait_exit(proc, 60)
    stop = time.perf_counter() - t1
    left = [p for p in pids.values() if p and pid_alive(p)]
    for p in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    if code != 0 or left:
        raise RuntimeError(f"daemon exit {code}; {len(left)} service processes left behind")
    return stop


def svcctl_boot_run(
    home: Path, sset: ServiceSet, poll_s: float, limit: float, notes: list[str] | None = None
) -> dict[str, float]:
    """Boot: launch until all RUNNING (or ``limit``; what was not RUNNING then goes to ``notes``),
    then stop-all (SIGTERM until exit; NaN when the boot was incomplete)."""
    cpu0 = own_tree_cpu()
    proc, t0, ready = launch_daemon(home)
    try:
        with connect(home) as mgr:
            p = poll_until_running(svcctl_listing(mgr), sset.total, t0, poll_s, lambda: proc.poll() is None, limit)
            boot_cpu = cpu_precise(proc.pid)
            rss = rss_kib(proc.pid) / 1024
        if not p.complete:
            log(f"    boot incomplete after {limit:.0f} s: {len(p.first)} RUNNING; not RUNNING: {p.summary()}")
            if notes is not None:
                missing = [n for n in sset.independent + [m for ch in sset.chains for m in ch] if n not in p.first]
                pos = sorted({k + 1 for ch in sset.chains for k, m in enumerate(ch) if m in missing})
                indep = sum(1 for n in sset.independent if n in missing)
                notes.append(f"{p.summary()}: chain positions {pos}, {indep} independent")
        time.sleep(0.5)  # let the boot finish its bookkeeping (last-known-good copy, event log)
        stop = stop_daemon(proc, p.pids)
    finally:
        if proc.poll() is None:
            terminate(proc)
    return {
        "ready": ready,
        "running": max(p.first.values()) if p.complete else float("nan"),
        "n_running": len(p.first),
        "stopped": stop if p.complete else float("nan"),
        "daemon_cpu_boot": boot_cpu,
        "rss": rss,
        "cpu": own_tree_cpu() - cpu0,
        **split(p.first, sset),
    }


def booted_daemon(home: Path, sset: ServiceSet, poll_s: float) -> tuple[subprocess.Popen[bytes], Poll]:
    """The real daemon after a normal boot with all of the set RUNNING. The caller stops it."""
    proc, t0, _ = launch_daemon(home)
    try:
        with connect(home) as mgr:
            p = poll_until_running(svcctl_listing(mgr), sset.total, t0, poll_s, lambda: proc.poll() is None, DEADLINE_S)
        if not p.complete:
            raise TimeoutError(f"boot: not all RUNNING after {DEADLINE_S:.0f} s: {p.summary()}")
    except BaseException:
        terminate(proc)
        raise
    return proc, p


# --- bare spawner, topological order ------------------------------------------------------------------


class TopoSpawner:
    """Starts the set's processes like bare_spawner.spawn_all, in topological order: the chain
    heads, then the independent ones (handling readiness in between), then each chain member once
    its predecessor has written its ready byte (one pipe per chain, one for the independent ones)."""

    def __init__(self, sset: ServiceSet, code: str, stop_fd: int | None = None) -> None:
        self.sset, self.code, self.stop_fd = sset, code, stop_fd
        self.procs: list[subprocess.Popen[bytes]] = []
        self.first: dict[str, float] = {}

    def _spawn(self, wfd: int) -> None:
        extra = (self.stop_fd,) if self.stop_fd is not None else ()
        self.procs.append(
            subprocess.Popen(
                [sys.executable, "-c", self.code, str(wfd), *map(str, extra)],
                pass_fds=(wfd, *extra),
                start_new_session=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    def run(self) -> float:
        """Start everything; returns the seconds until all were ready. ``procs`` holds them all."""
        sset = self.sset
        sel = selectors.DefaultSelector()
        pipes = [os.pipe() for _ in range(len(sset.chains) + 1)]
        started = [0] * len(sset.chains)
        indep_r, indep_w = pipes[-1]
        ready_indep = 0
        t0 = time.perf_counter()

        def handle(timeout: float | None) -> None:
            nonlocal ready_indep
            for key, _ in sel.select(timeout):
                c = key.data
                got = len(os.read(key.fd, 4096))
                now = time.perf_counter() - t0
                if c < 0:
                    for i in range(got):
                        self.first[sset.independent[ready_indep + i]] = now
                    ready_indep += got
                    continue
                self.first[sset.chains[c][started[c] - 1]] = now  # one outstanding per chain
                if started[c] < sset.depth:
                    self._spawn(pipes[c][1])
                    started[c] += 1
                else:
                    sel.unregister(key.fd)

        try:
            for c, (r, w) in enumerate(pipes[:-1]):
                sel.register(r, selectors.EVENT_READ, c)
                self._spawn(w)
                started[c] = 1
            sel.register(indep_r, selectors.EVENT_READ, -1)
            for _ in sset.independent:
                self._spawn(indep_w)
                handle(0)
            deadline = time.perf_counter() + DEADLINE_S
            while len(self.first) < sset.total:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"only {len(self.first)} of {sset.total} bare children ready")
                handle(1.0)
            return time.perf_counter() - t0
        except BaseException:
            bare_spawner.kill_all(self.procs)
            raise
        finally:
            sel.close()
            for r, w in pipes:
                os.close(r)
                os.close(w)


def bare_run(sset: ServiceSet) -> dict[str, float]:
    cpu0 = own_tree_cpu()
    sp = TopoSpawner(sset, bare_spawner.CHILD_SAME_IMPORTS)
    running = sp.run()
    time.sleep(0.5)  # as for svcctl: the same pause between start and stop
    t1 = time.perf_counter()
    bare_spawner.kill_all(sp.procs)
    stop = time.perf_counter() - t1
    return {"running": running, "stopped": stop, "cpu": own_tree_cpu() - cpu0, **split(sp.first, sset)}


def bare_graceful_run(sset: ServiceSet, code: str = CHILD_GRACEFUL) -> dict[str, float]:
    cpu0 = own_tree_cpu()
    stop_r, stop_w = os.pipe()
    sp = TopoSpawner(sset, code, stop_r)
    try:
        running = sp.run()
        os.close(stop_r)
        stop_r = -1
        time.sleep(0.5)
        before = sum(cpu_precise(p.pid) for p in sp.procs)
        reaped0 = reaped_children_cpu()
        t1 = time.perf_counter()
        os.close(stop_w)  # every child reads EOF and exits normally
        stop_w = -1
        for p in sp.procs:
            wait_exit(p, 60)
        stop = time.perf_counter() - t1
        stop_cpu = reaped_children_cpu() - reaped0 - before  # the children's CPU while they stopped
    finally:
        for fd in (stop_r, stop_w):
            if fd >= 0:
                os.close(fd)
        bare_spawner.kill_all(sp.procs)
    return {"running": running, "stopped": stop, "stop_cpu": stop_cpu, "cpu": own_tree_cpu() - cpu0}


def cpu_precise(pid: int) -> float:
    """CPU seconds used so far by process ``pid``, all its threads (ended ones too), with
    nanosecond resolution, which adds up with the µs figures of getrusage. Read from the process's
    CPU-time clock (clockid ``~pid << 3 | 2``, Linux's CPUCLOCK_SCHED of a process):
    /proc/PID/schedstat counts only the main thread, so a service's ServiceMain thread was
    missing from "before" and its start-up counted as stop; /proc/PID/stat counts in 10 ms ticks."""
    return time.clock_gettime(((~pid) << 3) | 2)


def reaped_children_cpu() -> float:
    """CPU seconds of every child this process has reaped (and, through them, their children)."""
    t = os.times()
    return t.children_user + t.children_system


# --- supervisord --------------------------------------------------------------------------------------

#: One group per chain level (level 1: the chain heads and the independent ones). supervisord stops
#: one group per turn of its main loop (up to 1 s each), in reverse priority order; with one group
#: per program (its default) stopping 200 programs takes minutes.
SUP_GROUP = """
[group:level{level}]
programs={programs}
priority={level}
"""

SUP_PROGRAM = """
[program:{name}]
command={command}
priority={priority}
autostart=true
startsecs=0
autorestart=false
stopsignal=TERM
stdout_logfile=NONE
stderr_logfile=NONE
"""


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.unix_path)
        self.sock = s


def sup_rpc(sock: str, method: str, *params: Any) -> Any:
    """One XML-RPC call to supervisord over its unix socket, as supervisorctl makes it."""
    conn = _UnixHTTPConnection(sock)
    try:
        conn.request("POST", "/RPC2", xmlrpc.client.dumps(params, method), {"Content-Type": "text/xml"})
        data = conn.getresponse().read()
    finally:
        conn.close()
    return xmlrpc.client.loads(data)[0][0]


class Supervisor:
    """Config and FIFO for supervisord running the set; ``run()`` times one start and stop."""

    def __init__(self, venv: Path, sset: ServiceSet) -> None:
        self.venv, self.sset = venv, sset
        self.dir = Path(tempfile.mkdtemp(prefix="svcctl-bench-sup-"))
        self.sock = str(self.dir / "supervisor.sock")
        self.fifo = self.dir / "ready.fifo"
        os.mkfifo(self.fifo)
        command = f"{shlex.quote(sys.executable)} -c {shlex.quote(SUP_CHILD)} {shlex.quote(str(self.fifo))}"
        parts = [SUPERVISORD_HEADER.format(dir=self.dir)]
        levels: list[list[str]] = [list(sset.independent)] + [[] for _ in range(sset.depth - 1)]
        for chain in sset.chains:
            for k, name in enumerate(chain):
                levels[k].append(name)
        for k, names in enumerate(levels, 1):
            parts.append(SUP_GROUP.format(level=k, programs=",".join(names)))
            parts += [SUP_PROGRAM.format(name=n, command=command, priority=k) for n in names]
        self.conf = self.dir / "supervisord.conf"
        self.conf.write_text("".join(parts))
        self.ctl = [str(venv / "bin" / "supervisorctl"), "-c", str(self.conf)]

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def listing(self) -> Listing:
        info = sup_rpc(self.sock, "supervisor.getAllProcessInfo")
        return [(i["name"], i["statename"], i["pid"], i["exitstatus"]) for i in info]

    def run(self, poll_s: float, check_ctl: bool = False) -> dict[str, float]:
        sset = self.sset
        cpu0 = own_tree_cpu()
        fifo = os.open(self.fifo, os.O_RDWR)  # a writer of our own: no EOF between children
        out = open(self.dir / "supervisord.stdout", "ab")  # noqa: SIM115 (closed in finally)
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [str(self.venv / "bin" / "supervisord"), "-n", "-c", str(self.conf)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        pids: dict[str, int] = {}
        try:
            p = poll_until_running(self.listing, sset.total, t0, poll_s, lambda: proc.poll() is None, DEADLINE_S)
            pids = p.pids
            if not p.complete:
                raise TimeoutError(f"supervisord: only {len(p.first)} of {sset.total} RUNNING: {p.summary()}")
            running = max(p.first.values())
            # Readiness: every child has finished its imports and written its byte to the FIFO.
            got = 0
            deadline = time.perf_counter() + DEADLINE_S
            while got < sset.total:
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"only {got} of {sset.total} supervisord children ready")
                got += len(os.read(fifo, 4096))
            ready = time.perf_counter() - t0
            rss = rss_kib(proc.pid) / 1024
            if check_ctl:  # the same through supervisorctl itself
                r = subprocess.run([*self.ctl, "status"], capture_output=True, text=True)
                n = sum(1 for line in r.stdout.splitlines() if " RUNNING " in line)
                if n != sset.total:
                    raise RuntimeError(f"supervisorctl status shows {n} RUNNING:\n{r.stdout}{r.stderr}")
            time.sleep(0.5)  # as for svcctl: the same pause between start and stop
            t1 = time.perf_counter()
            proc.terminate()  # supervisord stops every program, then exits
            code = wait_exit(proc, 60)
            stop = time.perf_counter() - t1
        finally:
            if proc.poll() is None:
                terminate(proc)
            os.close(fifo)
            out.close()
        left = [pid for pid in pids.values() if pid and pid_alive(pid)]
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if code != 0 or left:
            raise RuntimeError(f"supervisord exit {code}; {len(left)} children left behind")
        return {
            "answered": p.answered,
            "running": running,
            "ready": ready,
            "stopped": stop,
            "rss": rss,
            "cpu": own_tree_cpu() - cpu0,
        }


# --- diagnostics -----------------------------------------------------------------------------------


def shutdown_phases(home: Path, sset: ServiceSet, poll_s: float) -> dict[str, float]:
    """The real daemon with the set RUNNING after a normal boot, as for stop-all, then SIGTERM while
    watching every service process (a pidfd each, and /proc to see it reaped): when the first and
    the last service process exited, when the daemon had reaped them all, and when the daemon
    exited. Also the cost of one ``list_services`` call (the observer)."""
    proc, p = booted_daemon(home, sset, poll_s)
    pids = p.pids
    try:
        with connect(home) as mgr:
            listing = svcctl_listing(mgr)
            c0, d0 = own_tree_cpu(), cpu_precise(proc.pid)
            w0 = time.perf_counter()
            for _ in range(50):
                listing()
            list_ms = 1000 * (time.perf_counter() - w0) / 50
            list_client_ms = 1000 * (own_tree_cpu() - c0) / 50
            list_daemon_ms = 1000 * (cpu_precise(proc.pid) - d0) / 50
        time.sleep(0.5)
        sel = selectors.DefaultSelector()
        for pid in pids.values():
            sel.register(os.pidfd_open(pid), selectors.EVENT_READ, pid)  # readable once it has exited
        exited: list[float] = []
        reaped: list[float] = []
        unreaped: set[int] = set()
        daemon_cpu0 = daemon_cpu = cpu_precise(proc.pid)
        services_cpu0 = sum(cpu_precise(pid) for pid in pids.values())
        reaped0 = reaped_children_cpu()
        t1 = time.perf_counter()
        proc.terminate()
        try:
            while proc.poll() is None:
                if sel.get_map():
                    events = sel.select(0.005)
                else:
                    events = []
                    time.sleep(0.002)
                now = time.perf_counter() - t1
                for key, _ in events:
                    sel.unregister(key.fd)
                    os.close(key.fd)
                    exited.append(now)
                    unreaped.add(key.data)
                for pid in [p for p in unreaped if not pid_alive(p)]:  # gone from /proc: reaped
                    unreaped.discard(pid)
                    reaped.append(now)
                with contextlib.suppress(OSError, IndexError, ValueError):
                    daemon_cpu = cpu_precise(proc.pid)
            now = time.perf_counter() - t1  # what ended while the daemon exited
            for key, _ in sel.select(0) if sel.get_map() else []:
                sel.unregister(key.fd)
                os.close(key.fd)
                exited.append(now)
            reaped += [now] * len(unreaped)
        finally:
            for key in list(sel.get_map().values()):
                os.close(key.fd)
            sel.close()
        daemon_exit = time.perf_counter() - t1
        # Reaping the daemon brought in its own CPU and that of every service it reaped.
        stop_cpu = reaped_children_cpu() - reaped0 - daemon_cpu0 - services_cpu0
    finally:
        if proc.poll() is None:
            terminate(proc)
    return {
        "first_exit": min(exited) if exited else float("nan"),
        "last_exit": max(exited) if len(exited) == sset.total else float("nan"),
        "last_reaped": max(reaped) if len(reaped) == sset.total else float("nan"),
        "daemon_exit": daemon_exit,
        "daemon_cpu_stop": daemon_cpu - daemon_cpu0,
        "services_cpu_stop": stop_cpu - (daemon_cpu - daemon_cpu0),
        "list_ms": list_ms,
        "list_client_ms": list_client_ms,
        "list_daemon_ms": list_daemon_ms,
    }


# --- report ------------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=3, help="timed repetitions of every variant (default 3)")
    p.add_argument("--poll-ms", type=float, default=20, help="status polling interval of the observer (ms)")
    p.add_argument(
        "--boot-limit", type=float, default=12, help="seconds a svcctl boot may take before it counts as incomplete"
    )
    p.add_argument("--supervisor-venv", type=Path, default=DEFAULT_VENV, help=f"default {DEFAULT_VENV}")
    p.add_argument("--no-wait-quiet", action="store_true", help="do not wait for an idle machine")
    p.add_argument("--quick", action="store_true", help="1 rep, 4 chains and 20 independent (smoke test)")
    a = p.parse_args(argv)
    sset = ServiceSet(4, 5, 20) if a.quick else ServiceSet(20, 5, 100)
    if a.quick:
        a.reps = 1
    poll_s = a.poll_ms / 1000

    sup_desc = ensure_supervisor(a.supervisor_venv)
    log(sup_desc)
    m = machine()
    log(f"machine: {m['nproc']} CPUs, {m['python']}; set: {sset.describe()}")
    revision = source_revision()
    env_desc = bytecode_situation()
    log(f"svcctl {revision}; bytecode in the calling environment: {env_desc}")
    t_all = time.perf_counter()
    quiet_seen: list[str] = []

    def turn() -> None:
        if a.no_wait_quiet:
            quiet_seen.append("did not wait")
            return
        seen = wait_turn(90 if not quiet_seen else 30)
        quiet_seen.append(seen)
        log(f"  {seen}")

    notes: list[str] = []
    results: dict[str, list[dict[str, float]]] = {}
    interference: Interference | None = None
    with contextlib.ExitStack() as stack:
        stack.enter_context(private_bytecode_cache())
        home = Path(tempfile.mkdtemp(prefix="svcctl-bench-boot-"))
        stack.callback(shutil.rmtree, home, True)
        sup = Supervisor(a.supervisor_venv, sset)
        stack.callback(sup.close)

        log(f"creating the set in {home} (--no-boot daemon)")
        create_set(home, sset)
        runners: dict[str, Callable[[], dict[str, float]]] = {
            "svcctl": lambda: svcctl_boot_run(home, sset, poll_s, a.boot_limit, notes),
            "bare": lambda: bare_run(sset),
            "graceful": lambda: bare_graceful_run(sset),
            "os_exit": lambda: bare_graceful_run(sset, CHILD_GRACEFUL_OS_EXIT),
            "supervisord": lambda: sup.run(poll_s),
        }
        results = {v: [] for v in runners}
        log("warm-up, not timed (fills the bytecode cache, checks supervisorctl status)")
        turn()
        interference = Interference()
        for v in ("svcctl", "bare", "graceful", "supervisord"):
            r = sup.run(poll_s, check_ctl=True) if v == "supervisord" else runners[v]()
            log(f"  warm-up {v}: " + ", ".join(f"{k} {x:.2f}" for k, x in r.items()))
        order = list(runners)
        for rep in range(a.reps):
            for v in order[rep % len(order) :] + order[: rep % len(order)]:
                turn()
                r = runners[v]()
                results[v].append(r)
                log(f"  rep {rep + 1} {v}: " + ", ".join(f"{k} {x:.2f}" for k, x in r.items()))
        log("diagnostic: svcctl shutdown phases")
        turn()
        phases = shutdown_phases(home, sset, poll_s)
        log("  " + ", ".join(f"{k} {x:.3f}" for k, x in phases.items()))
    elapsed = time.perf_counter() - t_all
    noise = interference.report() if interference else ""
    log(noise)

    def vals(v: str, key: str) -> list[float]:
        return [r[key] for r in results[v] if not math.isnan(r[key])]

    def med(v: str, key: str) -> float:
        x = vals(v, key)
        return median(x) if x else float("nan")

    def spr(v: str, key: str, fmt: str = "{:.2f}") -> str:
        x = vals(v, key)
        return spread(x, fmt) if x else "–"

    n = sset.total
    reps = a.reps
    bare = med("bare", "running")
    complete = [r for r in results["svcctl"] if r["n_running"] == n]
    if len(complete) == reps:
        boot = spr("svcctl", "running")
        boot_ratio = med("svcctl", "running") / bare
        ratio_cell = f"{boot_ratio:.2f}x"
        boot_ok = boot_ratio <= BOOT_RATIO_TARGET
    else:
        got = [int(r["n_running"]) for r in results["svcctl"] if r["n_running"] < n]
        boot = (
            f"**not reached** in {reps - len(complete)} of {reps} reps: {min(got)}–{max(got)} of {n} RUNNING "
            f"after {a.boot_limit:.0f} s; not RUNNING then: {'; '.join(sorted(set(notes)))}"
        )
        ratio_cell = "–"
        boot_ok = False
    kill = med("bare", "stopped")
    stop_ratio = med("svcctl", "stopped") / kill
    stop_cell = f"{stop_ratio:.1f}x" if not math.isnan(stop_ratio) else "– (no complete boot)"
    stop_ok = stop_ratio <= STOP_RATIO_TARGET  # False for NaN
    graceful = med("graceful", "stopped")
    lines = [
        f"Run {datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}: "
        f"{m['nproc']} CPUs ({m['cpu']}), {m['mem']} RAM, Linux {m['kernel']}, {m['python']}.",
        f"svcctl {revision}; {sup_desc}. Set: {sset.describe()}, all AUTO_START.",
        f"Children use a private .pyc cache (calling environment: {env_desc}). Status polled every "
        f"{a.poll_ms:.0f} ms. Each figure: median of {reps} reps (min–max), variants in rotating order, "
        f"after an untimed warm-up. Total benchmark time {elapsed:.0f} s.",
        f"Load: before the first section {quiet_seen[0] if quiet_seen else '?'}; {noise}.",
        "",
        "| # | Measure | Result | Target | Verdict |",
        "|---|---|---|---|---|",
        f"| B1 | bare spawner, topological: the same {n} Python processes (`import svcctl.svc`, then ready); "
        f"a chain member starts once its predecessor is ready; until all ready (s) | {spr('bare', 'running')} "
        "| baseline | |",
        f"| B2 | svcctl boot: launch `svcctl serve` until all {n} RUNNING (s) | {boot} | | |",
        f"| B3 | — the daemon's launch until ready (`--ready-fd`) (s) | {spr('svcctl', 'ready')} | – | |",
        f"| B4 | ratio B2 / B1 | {ratio_cell} | <= {BOOT_RATIO_TARGET}x | {verdict(boot_ok)} |",
        f"| B5 | — in that boot: last independent / last chain head RUNNING (s) "
        f"| {med('svcctl', 'last_independent'):.2f} / {med('svcctl', 'last_head'):.2f} | – | |",
        f"| B7 | supervisord: launch until its status shows all {n} RUNNING (`startsecs=0`) (s) "
        f"| {spr('supervisord', 'running')} ({med('supervisord', 'running') / bare:.2f}x B1) | comparison | |",
        f"| B8 | supervisord: launch until all {n} children have finished their imports (s) "
        f"| {spr('supervisord', 'ready')} ({med('supervisord', 'ready') / bare:.2f}x B1) | comparison | |",
        f"| S1 | bare spawner: SIGKILL and reap the {n} (s) | {spr('bare', 'stopped', '{:.3f}')} | baseline | |",
        f"| S2 | svcctl stop-all: SIGTERM to `svcctl serve` after the boot of B2, with all {n} RUNNING, until "
        f"it has exited, all stopped and reaped (s) | {spr('svcctl', 'stopped', '{:.3f}')} | | |",
        f"| S3 | ratio S2 / S1 | {stop_cell} | <= {STOP_RATIO_TARGET}x | {verdict(stop_ok)} |",
        f"| S4 | graceful floor (diagnostic): bare children leave normally (interpreter finalization) at EOF "
        f"of a pipe, until all reaped (s) | {spr('graceful', 'stopped', '{:.3f}')} ({graceful / kill:.1f}x S1; "
        f"S2 is {med('svcctl', 'stopped') / graceful:.2f}x this) | diagnostic | not judged |",
        f"| S5 | supervisord: SIGTERM until it has exited (s) | {spr('supervisord', 'stopped', '{:.3f}')} "
        f"({med('supervisord', 'stopped') / kill:.1f}x S1) | comparison | |",
        "",
        "Diagnostics (same run):",
        "",
        "| Measure | Result |",
        "|---|---|",
        f"| last independent / last chain head / last chain tail ready: bare (B1) (s) "
        f"| {med('bare', 'last_independent'):.2f} / {med('bare', 'last_head'):.2f} / "
        f"{med('bare', 'last_chain'):.2f} |",
        f"| same, RUNNING: svcctl boot (B2) (s) "
        f"| {med('svcctl', 'last_independent'):.2f} / {med('svcctl', 'last_head'):.2f} / "
        f"{med('svcctl', 'last_chain'):.2f} |",
        f"| one chain step, predecessor ready → successor ready, median: bare / svcctl B2 (ms; svcctl at "
        f"{a.poll_ms:.0f} ms polling resolution) "
        f"| {1000 * med('bare', 'chain_step'):.0f} / {1000 * med('svcctl', 'chain_step'):.0f} |",
        f"| svcctl daemon CPU from launch until all RUNNING, B2 (s) | {spr('svcctl', 'daemon_cpu_boot')} |",
        f"| CPU of a whole run (start + stop), all processes incl. the observer: bare / svcctl B2 / "
        f"supervisord (s) | {med('bare', 'cpu'):.1f} / {med('svcctl', 'cpu'):.1f} / {med('supervisord', 'cpu'):.1f} |",
        f"| RSS with {n} running: svcctl daemon / supervisord (MiB) "
        f"| {med('svcctl', 'rss'):.1f} / {med('supervisord', 'rss'):.1f} |",
        f"| supervisord: launch until its socket first answered (s) | {spr('supervisord', 'answered')} |",
        f"| bare spawner, graceful stop (S4): same start as B1 (s) | {spr('graceful', 'running')} |",
        f"| svcctl shutdown phases (one extra run of S2), from SIGTERM: first service process exited / last "
        f"exited / last reaped / daemon exited (s) | {phases['first_exit']:.3f} / {phases['last_exit']:.3f} / "
        f"{phases['last_reaped']:.3f} / {phases['daemon_exit']:.3f} |",
        f"| — CPU during that shutdown: daemon / all {n} service processes (s); per service process (ms) "
        f"| {phases['daemon_cpu_stop']:.3f} / {phases['services_cpu_stop']:.2f}; "
        f"{1000 * phases['services_cpu_stop'] / n:.1f} |",
        f"| — graceful bare stop: CPU of all {n} children while they stopped (s); per child (ms) "
        f"| {med('graceful', 'stop_cpu'):.2f}; {1000 * med('graceful', 'stop_cpu') / n:.1f} |",
        f"| bare spawner, graceful stop, children leave through `os._exit(0)` at EOF (no interpreter "
        f"finalization): until all reaped (s); CPU per child while stopping (ms) "
        f"| {spr('os_exit', 'stopped', '{:.3f}')} ({med('os_exit', 'stopped') / kill:.1f}x S1); "
        f"{1000 * med('os_exit', 'stop_cpu') / n:.1f} |",
        f"| observer cost: one `list_services` of {n}: wall / client CPU / daemon CPU (ms) "
        f"| {phases['list_ms']:.2f} / {phases['list_client_ms']:.2f} / {phases['list_daemon_ms']:.2f} |",
    ]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
