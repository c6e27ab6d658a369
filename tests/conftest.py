"""Fixtures shared by every tier: a real daemon per session, an in-process SCM, helpers.

Waiting is always a condition with a deadline (``eventually``), never a bare sleep.

Inside Windows Python (the Wine tier, ``tools/wine/test``) the backend under test is ``win32``,
Wine's or Windows' real SCM: ``backend_name`` is ``win32`` only, service images run with this
``python.exe`` and their ImagePaths are quoted by Windows' rules. The daemon's and the in-process
SCM's modules are imported only when a test asks for them (some of them are POSIX-only).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import Manager, Service
from svcctl.mgr.portable import PortableBackend
from svcctl.types import State

if TYPE_CHECKING:
    from svcctl.mgr.memory import MemoryScm

ROOT = Path(__file__).resolve().parent.parent
SVCHOST = ROOT / "tests" / "contract" / "svchost.py"
PIPE_TIMEOUT_MS = 1500
HANDLER_TIMEOUT_MS = 2000
#: True inside Windows Python: the contract suite then runs against the real SCM (backend win32).
WINDOWS = sys.platform == "win32"
#: The backends the contract suite runs against on this system.
BACKENDS = ["win32"] if WINDOWS else ["memory", "portable"]


def image_path(*argv: str | Path) -> str:
    """An ImagePath (command line) running ``argv``: joined by spaces as before on POSIX, and
    quoted by CommandLineToArgvW's rules on Windows (python.exe and paths may contain spaces)."""
    if WINDOWS:
        return subprocess.list2cmdline([str(a) for a in argv])
    return " ".join(str(a) for a in argv).strip()

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], timeout: float = 10.0, what: str = "condition") -> T:
    """Return probe()'s first truthy value; fail if none comes before the deadline."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (Linux): a zombie, exited but not yet reaped, does not count."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def retire(svc: Service, stop_timeout: float = 15.0) -> None:
    """Stop (if need be), delete and close a service a test made."""
    try:
        if svc.query().state is not State.STOPPED:
            eventually(lambda: svc.query().state is not State.START_PENDING, 10, "start to settle")
            try:
                svc.stop()
            except ScmError:
                pass
            eventually(lambda: svc.query().state is State.STOPPED, stop_timeout, "service to stop")
        try:
            svc.delete()
        except ScmError as exc:
            if exc.winerror != 1072:
                raise
    finally:
        svc.close()


class Daemon:
    """A real ``svcctl serve`` in its own home, started and stopped by the test."""

    def __init__(self, home: Path, *args: str) -> None:
        self.home = home
        rfd, wfd = os.pipe()
        env = dict(os.environ, SVCCTL_HOME=str(home))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "svcctl", "serve", "--ready-fd", str(wfd), *args],
            env=env,
            pass_fds=(wfd,),
        )
        os.close(wfd)
        with os.fdopen(rfd) as ready:
            line = ready.readline()
        if line != "ready\n":
            self.proc.kill()
            raise RuntimeError(f"daemon did not come up (exit {self.proc.wait()})")

    def connect(self) -> Manager:
        return Manager.connect(backend=PortableBackend.connect(home=self.home))

    def stop(self, sig: int = 15, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    d = Daemon(
        tmp_path_factory.mktemp("home"),
        "--pipe-timeout",
        str(PIPE_TIMEOUT_MS),
        "--handler-timeout",
        str(HANDLER_TIMEOUT_MS),
        "--wait-to-kill",
        "5000",
    )
    yield d
    assert d.stop() == 0


@pytest.fixture(scope="session")
def memory_scm() -> Iterator[MemoryScm]:
    from svcctl.mgr.memory import MemoryScm
    from svcctl.scm.runtime import Settings

    scm = MemoryScm(Settings(pipe_timeout_ms=PIPE_TIMEOUT_MS, handler_timeout_ms=HANDLER_TIMEOUT_MS))
    yield scm
    scm.shutdown()


@pytest.fixture(params=BACKENDS)
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def connect(backend_name: str, request: pytest.FixtureRequest) -> Iterator[Callable[[], Manager]]:
    """Open more managers (each its own client connection) on the backend under test."""
    opened: list[Manager] = []

    def open_manager() -> Manager:
        if backend_name == "memory":
            m = Manager.connect(backend=request.getfixturevalue("memory_scm").connect())
        elif backend_name == "win32":
            m = Manager.connect(backend="win32")
        else:
            m = request.getfixturevalue("daemon").connect()
        opened.append(m)
        return m

    yield open_manager
    for m in opened:
        m.disconnect()


@pytest.fixture
def mgr(connect: Callable[[], Manager]) -> Manager:
    return connect()


@pytest.fixture
def name() -> str:
    """A service name no other test uses."""
    return "t" + uuid.uuid4().hex[:12]


class HostLog:
    """What a svchost image saw, one JSON record per line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def wait_for(self, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            for rec in self.records():
                if all(rec.get(k) == v for k, v in match.items()):
                    return rec
            return None

        return eventually(probe, timeout, f"log record {match}")


@pytest.fixture
def hostlog(tmp_path: Path) -> HostLog:
    return HostLog(tmp_path / "host.jsonl")


@pytest.fixture
def svchost(hostlog: HostLog) -> Callable[..., str]:
    """Build the ImagePath of a svchost image: svchost("--behave", "crash")."""

    def binpath(*args: str) -> str:
        return image_path(sys.executable, SVCHOST, "--log", hostlog.path, *args)

    return binpath
