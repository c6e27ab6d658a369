"""The wrapper (issue 5): 200 wrapped ``sleep`` programs and a 200 MiB log, against a bare
spawner, a ``cat`` relay and supervisord, side by side in one run.

    .venv/bin/python bench/bench_wrapper.py [--reps 3] [--n 200] [--mib 200]

* **Start** (judged, <= 1.3x): until all 200 are running.
  - bare: ``subprocess.Popen(["sleep", "3600"], start_new_session=True)`` 200 times (a program
    is running once Popen returns: exec succeeded).
  - svcctl: 200 services made as ``svcctl install`` makes them (the wrapper as image, Parameters
    Application=/bin/sleep), handles opened beforehand, one client calling StartService for all
    of them through ``Manager.start_many`` (pipelined on one connection, as supervisord gets one
    ``startAllProcesses``), until ``list_services`` shows all RUNNING and every program has
    exec'd (the wrapper reports RUNNING once the launcher has cloned the program, as srvany
    does once CreateProcess returns; bare's Popen returns after the exec). Judged: the daemon's
    default, a cgroup per program (as root). Also shown: the same with one StartService after
    the other, each waiting for its answer, and ``SVCCTL_CGROUPS=0`` (process groups, as for an
    unprivileged user).
  - supervisord: 200 ``[program:]`` sections (sleep 3600, startsecs=0, autostart=false), then
    ``startAllProcesses`` (what ``supervisorctl start all`` calls) until it returns.
* **Stop** (judged, <= 1.5x): until all 200 are gone. bare: SIGINT to each process group, then
  reap; svcctl: a STOP control to each (``Manager.control_many``, or one at a time) until all
  STOPPED; supervisord: ``stopAllProcesses``.
* **RSS** (judged, <= 20 MiB): the daemon (which hosts every wrapper) and its launcher (the
  static program that starts the wrapped programs) with all 200 running;
  supervisord's for comparison.
* **asyncio floor** (diagnostic, not judged): ``bench/floor_server.py``, a process with the
  daemon's interpreter, asyncio and sqlite3 and nothing of an SCM, that starts the 200 sleeps in
  sessions of their own and, on a pipelined request per program, sends SIGINT to its group and
  answers once its pidfd says it exited and it is reaped. Its stop time and its RSS with all
  200 running are what no SCM written in Python on asyncio can beat on this machine.
* **Log capture** (judged, >= 1000 MiB/s): ``dd`` writes ``--mib`` MiB of zeros in 1 MiB blocks to
  standard output; time until the log file holds all of it. Floor: dd straight into the file;
  ``cat`` relay: ``dd | cat > file``; svcctl: a wrapped dd with AppStdout; supervisord: a program
  with ``stdout_logfile``.

Each figure is the median of ``--reps`` runs (min–max). Daemons read bytecode from a private
cache (``common.private_bytecode_cache``), filled first with svcctl's and the standard library's
(``common.fill_bytecode_cache``): compiling modules from source would add the compiler's memory
to the daemon's RSS. The script prints a markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_boot import sup_rpc
from bench_cli import DEFAULT_VENV, ensure_supervisor, log
from common import (
    SUPERVISORD_HEADER,
    Daemon,
    fill_bytecode_cache,
    machine,
    median,
    private_bytecode_cache,
    proc_status,
    source_revision,
    spread,
    wait_quiet,
)

from svcctl.mgr import Manager
from svcctl.types import Control, State
from svcctl.wrapper import wrapper_image_path

SLEEP = shutil.which("sleep") or "/bin/sleep"
FLOOR = Path(__file__).resolve().parent / "floor_server.py"
DD = shutil.which("dd") or "/bin/dd"


def wait_for(probe: Callable[[], bool], timeout: float, what: str, pause: float = 0.002) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(pause)


# --- start and stop -----------------------------------------------------------------------------


def bare(n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    procs = [subprocess.Popen([SLEEP, "3600"], start_new_session=True, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    start = time.perf_counter() - t0
    t0 = time.perf_counter()
    for p in procs:
        os.killpg(p.pid, signal.SIGINT)
    for p in procs:
        p.wait()
    return start, time.perf_counter() - t0


def floor(n: int) -> tuple[float, int]:
    """bench/floor_server.py with n sleeps: the time to stop them all on request, and its RSS
    (KiB) with all running."""
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen([sys.executable, str(FLOOR), str(n), str(theirs.fileno()), SLEEP],
                            pass_fds=(theirs.fileno(),))
    theirs.close()
    try:
        answers = ours.makefile("rb")
        word, rss = answers.readline().split()
        assert word == b"ready", word
        t0 = time.perf_counter()
        ours.sendall(b"".join(b"%d\n" % i for i in range(n)))
        assert sorted(int(answers.readline()) for _ in range(n)) == list(range(n))
        return time.perf_counter() - t0, int(rss)
    finally:
        proc.kill()
        proc.wait()
        ours.close()


def count(mgr: Manager, state: State) -> int:
    return sum(1 for e in mgr.list_services() if e.status.state is state)


class Wrapped:
    """A daemon with n wrapped sleeps installed; ``run()`` starts and stops them all once."""

    def __init__(self, n: int, cgroups: bool) -> None:
        self.n = n
        os.environ["SVCCTL_CGROUPS"] = "1" if cgroups else "0"
        try:
            self.daemon = Daemon("--no-boot")
        finally:
            del os.environ["SVCCTL_CGROUPS"]
        self.mgr = self.daemon.connect()
        for i in range(n):
            self.mgr.create_service(f"w{i}", wrapper_image_path()).close()
            self.mgr.reg_set(f"Services\\w{i}\\Parameters",
                             {"Application": (2, SLEEP), "AppParameters": (2, "3600")})
        self.handles = [self.mgr.open_service(f"w{i}") for i in range(n)]
        self.rss_kib = 0
        #: The most programs not exec'd yet when all were RUNNING (RUNNING follows the clone).
        self.not_yet_execd: dict[str, int] = {}

    def run(self, pipelined: bool = True) -> tuple[float, float]:
        """Start all, until RUNNING, then stop all, until STOPPED: pipelined through
        ``Manager.start_many``/``control_many`` (as supervisord gets one ``startAllProcesses``),
        or one call at a time."""
        t0 = time.perf_counter()
        if pipelined:
            assert not any(self.mgr.start_many(self.handles))
        else:
            for h in self.handles:
                h.start()
        wait_for(lambda: count(self.mgr, State.RUNNING) == self.n, 60, "all RUNNING")
        start = time.perf_counter() - t0
        # RUNNING follows the launcher's clone, as srvany's follows CreateProcess; bare's Popen
        # returns after the exec. So a program still before its exec counts as not running yet.
        launcher, cloned = self.launched()
        key = "pipelined" if pipelined else "one at a time"
        self.not_yet_execd[key] = max(self.not_yet_execd.get(key, 0), len(cloned))
        if cloned:
            wait_for(lambda: not self.launched()[1], 60, "every program's exec", pause=0)
            start = time.perf_counter() - t0
        self.rss_kib = max(self.rss_kib, sum(proc_status(pid, "VmRSS") for pid in (self.daemon.pid, *launcher)))
        t0 = time.perf_counter()
        if pipelined:
            assert not any(isinstance(r, Exception) for r in self.mgr.control_many(self.handles, Control.STOP))
        else:
            for h in self.handles:
                h.stop()
        wait_for(lambda: count(self.mgr, State.STOPPED) == self.n, 60, "all STOPPED")
        return start, time.perf_counter() - t0

    def launched(self) -> tuple[list[int], list[int]]:
        """The daemon's launcher ([] before it runs), and the programs it cloned that have not
        exec'd yet: all are the daemon's children with the launcher's argv, the launcher the
        oldest of them."""
        found = []
        children = Path(f"/proc/{self.daemon.pid}/task/{self.daemon.pid}/children").read_text().split()
        for pid in children:
            try:
                if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"svcctl-launcher\0"):
                    started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
                    found.append((started, int(pid)))
            except OSError:
                pass
        found.sort()
        return [pid for _, pid in found[:1]], [pid for _, pid in found[1:]]

    def close(self) -> None:
        self.mgr.disconnect()
        self.daemon.stop()


class Supervisord:
    """supervisord with n sleep programs (or one dd program for the log test)."""

    def __init__(self, venv: Path, programs: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="svcctl-bench-sup-"))
        self.sock = str(self.dir / "supervisor.sock")
        (self.dir / "supervisord.conf").write_text(SUPERVISORD_HEADER.format(dir=self.dir) + programs)
        conf = str(self.dir / "supervisord.conf")
        self.proc = subprocess.Popen([str(venv / "bin" / "supervisord"), "-n", "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.sock) and self._up(), 30, "supervisord", 0.02)

    def _up(self) -> bool:
        try:
            return sup_rpc(self.sock, "supervisor.getState")["statename"] == "RUNNING"
        except OSError:
            return False

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        shutil.rmtree(self.dir, ignore_errors=True)


def sleep_programs(n: int) -> str:
    return "".join(f"\n[program:s{i}]\ncommand={SLEEP} 3600\nautostart=false\nstartsecs=0\nstopsignal=INT\n"
                   "stdout_logfile=NONE\nstderr_logfile=NONE\n" for i in range(n))


def supervisord_run(sup: Supervisord) -> tuple[float, float]:
    t0 = time.perf_counter()
    sup_rpc(sup.sock, "supervisor.startAllProcesses", True)
    start = time.perf_counter() - t0
    t0 = time.perf_counter()
    sup_rpc(sup.sock, "supervisor.stopAllProcesses", True)
    return start, time.perf_counter() - t0


# --- log capture --------------------------------------------------------------------------------


def dd_args(mib: int) -> list[str]:
    return ["if=/dev/zero", "bs=1M", f"count={mib}", "status=none"]


def file_full(path: Path, size: int) -> Callable[[], bool]:
    return lambda: path.exists() and path.stat().st_size >= size


def log_shell(mib: int, out: Path, relay: bool) -> float:
    cmd = f"{DD} {' '.join(dd_args(mib))} | cat > {out}" if relay else f"{DD} {' '.join(dd_args(mib))} of={out}"
    t0 = time.perf_counter()
    subprocess.run(cmd, shell=True, check=True)
    return mib / (time.perf_counter() - t0)


def log_svcctl(mgr: Manager, mib: int, out: Path) -> float:
    name = "logger"
    mgr.create_service(name, wrapper_image_path()).close()
    mgr.reg_set(f"Services\\{name}\\Parameters", {
        "Application": (2, DD), "AppParameters": (2, " ".join(dd_args(mib))), "AppStdout": (2, str(out)),
    })
    mgr.reg_set(f"Services\\{name}\\Parameters\\AppExit", {"": (1, "Ignore")})
    with mgr.open_service(name) as svc:
        t0 = time.perf_counter()
        svc.start()
        wait_for(file_full(out, mib << 20), 60, "the whole log", 0.001)
        rate = mib / (time.perf_counter() - t0)
        svc.stop()
        svc.wait(State.STOPPED, 30)
        svc.delete()
    return rate


def log_supervisord(venv: Path, mib: int, out: Path) -> float:
    conf = (f"\n[program:logger]\ncommand={DD} {' '.join(dd_args(mib))}\nautostart=false\nstartsecs=0\n"
            f"autorestart=false\nstdout_logfile={out}\nstdout_logfile_maxbytes=0\nstderr_logfile=NONE\n")
    sup = Supervisord(venv, conf)
    try:
        t0 = time.perf_counter()
        sup_rpc(sup.sock, "supervisor.startProcess", "logger", False)
        wait_for(file_full(out, mib << 20), 120, "supervisord's whole log", 0.001)
        return mib / (time.perf_counter() - t0)
    finally:
        sup.close()


# --- the run --------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--mib", type=int, default=200)
    p.add_argument("--supervisor-venv", type=Path, default=DEFAULT_VENV)
    a = p.parse_args(argv)
    sup_desc = ensure_supervisor(a.supervisor_venv)
    with private_bytecode_cache():  # the daemon reads bytecode, as an installed package would
        return _measure(a, sup_desc)


def _measure(a: argparse.Namespace, sup_desc: str) -> int:
    # Fill the private cache first (svcctl and the stdlib), so no daemon pays, in time and in
    # memory, for compiling.
    fill_bytecode_cache()
    quiet = wait_quiet()
    log(quiet)
    began = time.perf_counter()
    keys = ("bare", "cgroup", "cgroup1", "pgroup", "floor", "supervisord")
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in keys}
    runners = {"cgroup": Wrapped(a.n, cgroups=True), "pgroup": Wrapped(a.n, cgroups=False)}
    sup = Supervisord(a.supervisor_venv, sleep_programs(a.n))
    sup_rss = floor_rss = 0
    try:
        for rep in range(a.reps + 1):  # the first round warms up and is not recorded
            order = [*keys[rep % len(keys):], *keys[:rep % len(keys)]]
            for key in order:
                if key == "bare":
                    figures = bare(a.n)
                elif key == "supervisord":
                    figures = supervisord_run(sup)
                    sup_rss = max(sup_rss, proc_status(sup.proc.pid, "VmRSS"))
                elif key == "floor":
                    stop, rss_kib = floor(a.n)
                    figures = (float("nan"), stop)
                    floor_rss = max(floor_rss, rss_kib)
                elif key == "cgroup1":
                    figures = runners["cgroup"].run(pipelined=False)
                else:
                    figures = runners[key].run()
                if rep:
                    results[key].append(figures)
                rss = f", RSS {runners[key[:6]].rss_kib / 1024:.1f} MiB" if key[:6] in runners else ""
                if key == "floor":
                    rss = f", RSS {floor_rss / 1024:.1f} MiB"
                began_ms = "" if key == "floor" else f"start {figures[0] * 1000:.0f} ms, "
                log(f"rep {rep} {key}: {began_ms}stop {figures[1] * 1000:.0f} ms{rss}")
        logs: dict[str, list[float]] = {k: [] for k in ("direct", "cat", "svcctl", "supervisord")}
        work = Path(tempfile.mkdtemp(prefix="svcctl-bench-log-"))
        try:
            for rep in range(a.reps):
                for key in logs:
                    out = work / f"{key}{rep}.log"
                    if key == "direct":
                        rate = log_shell(a.mib, out, relay=False)
                    elif key == "cat":
                        rate = log_shell(a.mib, out, relay=True)
                    elif key == "svcctl":
                        rate = log_svcctl(runners["cgroup"].mgr, a.mib, out)
                    else:
                        rate = log_supervisord(a.supervisor_venv, a.mib, out)
                    out.unlink()
                    logs[key].append(rate)
                    log(f"log rep {rep} {key}: {rate:.0f} MiB/s")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    finally:
        sup.close()
        for r in runners.values():
            r.close()
    report(a, results, logs, {k: r.rss_kib for k, r in runners.items()}, sup_rss, floor_rss, sup_desc, quiet,
           time.perf_counter() - began, {k: r.not_yet_execd for k, r in runners.items()})
    return 0


def report(a: argparse.Namespace, results: dict[str, list[tuple[float, float]]], logs: dict[str, list[float]],
           rss: dict[str, int], sup_rss: int, floor_rss: int, sup_desc: str, quiet: str, took: float,
           execs: dict[str, dict[str, int]]) -> None:
    m = machine()
    starts = {k: [s for s, _ in v] for k, v in results.items()}
    stops = {k: [t for _, t in v] for k, v in results.items()}
    bs, bt = median(starts["bare"]), median(stops["bare"])

    def ms(values: list[float]) -> str:
        return spread([v * 1000 for v in values], "{:.0f}")

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    print(f"### Results (real run, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n")
    print(f"{m['nproc']} CPUs ({m['cpu']}), {m['mem']}, Linux {m['kernel']}, {m['python']}; svcctl "
          f"{source_revision()}; {sup_desc}. {a.n} programs, {a.reps} reps after a warm-up, {quiet}; "
          f"{took:.0f} s in all.\n")
    print("| Measure | bare spawner | svcctl, cgroup per program (judged) | same, one call at a time | "
          "svcctl, process groups | asyncio floor (no SCM) | supervisord |")
    print("|---|---|---|---|---|---|---|")
    columns = ("bare", "cgroup", "cgroup1", "pgroup", "floor", "supervisord")
    print(f"| start {a.n} until all running (ms) | "
          + " | ".join("—" if k == "floor" else ms(starts[k]) for k in columns) + " |")
    print("| — ratio to bare (target <= 1.3x) | "
          + " | ".join("—" if k == "floor" else f"{median(starts[k]) / bs:.2f}x" for k in columns) + " |")
    print(f"| stop all {a.n} until gone (ms) | " + " | ".join(ms(stops[k]) for k in columns) + " |")
    print("| — ratio to bare (target <= 1.5x) | " + " | ".join(f"{median(stops[k]) / bt:.2f}x" for k in columns)
          + " |")
    print(f"| RSS with all running, MiB (target <= 20) | — | {rss['cgroup'] / 1024:.1f} | (same daemon) | "
          f"{rss['pgroup'] / 1024:.1f} | {floor_rss / 1024:.1f} | {sup_rss / 1024:.1f} |")
    print()
    print("Programs still before their exec when all were RUNNING (most in a rep; the start time then "
          "runs until none is): " + ", ".join(f"{label} {pending.get(mode, 0)}" for label, pending, mode in (
              ("cgroups", execs["cgroup"], "pipelined"), ("one call at a time", execs["cgroup"], "one at a time"),
              ("process groups", execs["pgroup"], "pipelined"))) + ".")
    print()
    print(f"| Log capture of {a.mib} MiB (MiB/s) | dd into the file | dd \\| cat > file | svcctl wrapper "
          "| supervisord |")
    print("|---|---|---|---|---|")
    print(f"| median (min–max) | {spread(logs['direct'], '{:.0f}')} | {spread(logs['cat'], '{:.0f}')} | "
          f"{spread(logs['svcctl'], '{:.0f}')} | {spread(logs['supervisord'], '{:.0f}')} |")
    print()
    print("| Target | Verdict |\n|---|---|")
    print(f"| start <= 1.3x bare | {verdict(median(starts['cgroup']) / bs <= 1.3)} "
          f"({median(starts['cgroup']) / bs:.2f}x; process groups {median(starts['pgroup']) / bs:.2f}x) |")
    print(f"| stop <= 1.5x bare | {verdict(median(stops['cgroup']) / bt <= 1.5)} "
          f"({median(stops['cgroup']) / bt:.2f}x; process groups {median(stops['pgroup']) / bt:.2f}x) |")
    print(f"| RSS <= 20 MiB | {verdict(rss['cgroup'] <= 20 * 1024)} ({rss['cgroup'] / 1024:.1f} MiB) |")
    print(f"| log capture >= 1000 MiB/s | {verdict(median(logs['svcctl']) >= 1000)} "
          f"({median(logs['svcctl']):.0f} MiB/s) |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
