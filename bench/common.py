"""Helpers shared by the benchmarks: a private daemon, RSS, timing, the native service image.

The daemon is started the way tests/conftest.py's ``Daemon`` does it: ``python -m svcctl serve``
in its own ``SVCCTL_HOME`` (a temporary directory), readiness read from ``--ready-fd``, and
SIGTERM to stop it (which stops every service it runs).
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from svcctl.mgr import Manager
from svcctl.mgr.portable import PortableBackend

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
#: The minimal native service (subclass of svcctl.svc.Service, run(...)).
NATIVE_SERVICE = BENCH / "native_service.py"


def native_binpath(python: str = sys.executable) -> str:
    """ImagePath of the minimal native service, run by ``python``."""
    return f"{shlex.quote(python)} {shlex.quote(str(NATIVE_SERVICE))}"


class Daemon:
    """``svcctl serve`` in a private temporary home; ``stop()`` sends SIGTERM and removes it."""

    def __init__(self, *args: str, python: str = sys.executable, wrap: tuple[str, ...] = ()) -> None:
        """``args`` go to ``svcctl serve``; ``wrap`` goes between the interpreter and ``-m svcctl``
        (e.g. ``("-m", "cProfile", "-o", FILE)`` to profile the daemon)."""
        self.home = Path(tempfile.mkdtemp(prefix="svcctl-bench-"))
        rfd, wfd = os.pipe()
        env = dict(os.environ, SVCCTL_HOME=str(self.home))
        self.proc = subprocess.Popen(
            [python, *wrap, "-m", "svcctl", "serve", "--home", str(self.home), "--ready-fd", str(wfd), *args],
            env=env,
            pass_fds=(wfd,),
        )
        os.close(wfd)
        with os.fdopen(rfd) as ready:
            line = ready.readline()
        if line != "ready\n":
            self.proc.kill()
            code = self.proc.wait()
            shutil.rmtree(self.home, ignore_errors=True)
            raise RuntimeError(f"daemon did not come up (exit {code})")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def connect(self) -> Manager:
        return Manager.connect(backend=PortableBackend.connect(home=self.home))

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def stop(self, timeout: float = 60) -> int:
        try:
            if self.proc.poll() is None:
                self.proc.terminate()  # SIGTERM: the daemon stops every service, then exits
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Daemon:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def proc_status(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM ...), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (VmRSS)."""
    return proc_status(pid, "VmRSS")


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` still exists (unreaped zombies count as alive)."""
    return os.path.exists(f"/proc/{pid}")


def wait_exit(proc: subprocess.Popen[Any], timeout: float) -> int:
    """Wait for ``proc`` to exit and return its code, seeing the exit the moment it happens.

    ``Popen.wait(timeout)`` polls with sleeps that double up to 50 ms, so a timed wait through it
    overshoots by up to that much; a pidfd becomes readable at the exit itself."""
    import select

    fd = os.pidfd_open(proc.pid)
    try:
        if not select.select([fd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(proc.args, timeout)
    finally:
        os.close(fd)
    return proc.wait()


def wait_until(probe: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not probe():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` is the elapsed wall time in seconds."""
    out: list[float] = []
    t0 = time.perf_counter()
    try:
        yield out
    finally:
        out.append(time.perf_counter() - t0)


def repeat(fn: Callable[[], Any], reps: int) -> list[Any]:
    return [fn() for _ in range(reps)]


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float], fmt: str = "{:.2f}") -> str:
    """``median (min-max)`` of a list of figures."""
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def cpu_seconds(pid: int) -> float:
    """user + system CPU time consumed so far by ``pid`` (from /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, steal) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq + steal) / hz, steal / hz


def own_tree_cpu() -> float:
    """CPU seconds of this process plus every child it has reaped (and their reaped children)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Interference:
    """How much CPU the rest of the machine used while we ran (other sessions, VM steal).

    Exact once every child of ours has been reaped (a reaped daemon brings in its services)."""

    def __init__(self) -> None:
        self.busy0, self.steal0 = machine_cpu()
        self.own0 = own_tree_cpu()
        self.t0 = time.monotonic()

    def report(self) -> str:
        busy, steal = machine_cpu()
        wall = time.monotonic() - self.t0
        foreign = max(0.0, (busy - self.busy0) - (own_tree_cpu() - self.own0))
        ncpu = len(os.sched_getaffinity(0))
        return (
            f"CPU used by other processes during the run: {foreign:.1f} s "
            f"({100 * foreign / (wall * ncpu):.0f}% of the machine's {wall * ncpu:.0f} CPU-seconds), "
            f"VM steal {steal - self.steal0:.1f} s"
        )


def wait_quiet(max_wait: float = 90.0, busy_below: float = 0.15, window: float = 2.0) -> str:
    """Wait (at most ``max_wait`` s) until the machine is idle: busy < ``busy_below`` of all CPUs
    over a ``window``-second sample. Returns what was seen."""
    ncpu = len(os.sched_getaffinity(0))
    deadline = time.monotonic() + max_wait
    while True:
        b0, _ = machine_cpu()
        time.sleep(window)
        b1, _ = machine_cpu()
        frac = (b1 - b0) / (window * ncpu)
        if frac < busy_below:
            return f"machine {100 * frac:.0f}% busy before the run"
        if time.monotonic() > deadline:
            return f"machine still {100 * frac:.0f}% busy after waiting {max_wait:.0f} s; ran anyway"


@contextmanager
def private_bytecode_cache() -> Iterator[Path]:
    """Let this process's children read and write .pyc files in a private temporary tree.

    Sets PYTHONPYCACHEPREFIX (and clears PYTHONDONTWRITEBYTECODE) in ``os.environ`` so every
    daemon, service process and bare child started meanwhile shares one bytecode cache outside
    the source tree, as an installed package would have. Restores both and removes the tree after.
    """
    saved = {k: os.environ.get(k) for k in ("PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE")}
    prefix = Path(tempfile.mkdtemp(prefix="svcctl-bench-pyc-"))
    os.environ["PYTHONPYCACHEPREFIX"] = str(prefix)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    try:
        yield prefix
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(prefix, ignore_errors=True)


def fill_bytecode_cache() -> None:
    """Compile svcctl and the standard library into the cache ``private_bytecode_cache`` set up.

    With PYTHONPYCACHEPREFIX set, Python reads no ``__pycache__`` directory at all, the standard
    library's included: without this the first daemon compiles every stdlib module it imports
    from source and keeps the compiler's memory (4.3 MiB of an idle daemon's VmRSS, 24.6 against
    20.3 MiB for the next daemon on the same cache). Takes about 2 s the first time."""
    import sysconfig

    import svcctl

    stdlib = sysconfig.get_paths()["stdlib"]
    skip = r"[/\\](test|tests|idlelib|tkinter|turtledemo|lib2to3|ensurepip|site-packages)[/\\]"
    for where, extra in ((stdlib, ["-x", skip]), (str(Path(svcctl.__file__).parent), [])):
        subprocess.run([sys.executable, "-m", "compileall", "-q", *extra, where], check=True,
                       stdout=subprocess.DEVNULL)


def bytecode_situation() -> str:
    """How the calling environment treats svcctl's bytecode, in words."""
    import svcctl

    pkg = Path(svcctl.__file__).parent
    has_cache = (pkg / "__pycache__").is_dir()
    parts = []
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        parts.append("PYTHONDONTWRITEBYTECODE=1")
    if os.environ.get("PYTHONPYCACHEPREFIX"):
        parts.append(f"PYTHONPYCACHEPREFIX={os.environ['PYTHONPYCACHEPREFIX']}")
    parts.append(f"{pkg}/__pycache__ {'present' if has_cache else 'absent'}")
    return ", ".join(parts)


def source_revision() -> str:
    """The svcctl commit measured, and whether src/ differs from it.

    Taken from the checkout svcctl is imported from, which is this one unless PYTHONPATH points
    elsewhere (e.g. at ``git worktree add /tmp/x HEAD``'s ``src`` to measure a clean commit while
    this tree has uncommitted work; children inherit PYTHONPATH, so they import the same)."""
    import svcctl

    checkout = Path(svcctl.__file__).resolve().parents[2]
    where = "" if checkout == ROOT else f" (checkout {checkout}, via PYTHONPATH)"
    try:
        head = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(checkout), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"unknown revision (not a git checkout){where}"
    return f"commit {head}" + (" with uncommitted changes in src/" if dirty else ", src/ clean") + where


def machine() -> dict[str, str]:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        mem = "?"
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": cpu,
        "mem": mem,
        "python": f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})",
        "kernel": platform.release(),
    }


#: The part of a private supervisord config every comparison shares ({dir}: its directory).
SUPERVISORD_HEADER = """\
[unix_http_server]
file={dir}/supervisor.sock

[supervisord]
logfile={dir}/supervisord.log
pidfile={dir}/supervisord.pid
childlogdir={dir}
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{dir}/supervisor.sock
"""
