"""The wrapper as a Windows service under a real SCM (Wine's under Linux CI): issue 7 item 3.

The service's image is ``"<python.exe>" -m svcctl.wrapper``, created and configured through
``Manager.connect(backend="win32")`` (Parameters with NSSM's names), and the program it wraps is
Windows Python again: ``-m http.server`` (exits 0 on KeyboardInterrupt, so its log shows whether
Ctrl+C reached it) or wrap_prog.py. AppParameters is split POSIX-style by supervisor.Command
today, so paths in it are written with forward slashes.
"""

from __future__ import annotations

import ctypes
import socket
import sys
import time
import urllib.request
from collections.abc import Iterator
from ctypes import byref
from ctypes.wintypes import DWORD
from pathlib import Path
from typing import Any

import pytest

if sys.platform != "win32":
    pytest.skip("Windows only: run it with tools/wine/test", allow_module_level=True)

from svcctl.mgr import Manager, Service
from svcctl.regvalue import REG_DWORD, REG_EXPAND_SZ, REG_SZ
from svcctl.svc.win32 import stdio_log_path
from svcctl.types import Control, State
from svcctl.winapi import kernel32 as k
from svcctl.wrapper import wrapper_image_path

from .conftest import eventually

HERE = Path(__file__).parent
PROG = (HERE / "wrap_prog.py").as_posix()
ERROR_SERVICE_SPECIFIC_ERROR = 1066


class PROCESSENTRY32W(ctypes.Structure):
    _fields_ = [("dwSize", DWORD), ("cntUsage", DWORD), ("th32ProcessID", DWORD),
                ("th32DefaultHeapID", ctypes.c_size_t), ("th32ModuleID", DWORD), ("cntThreads", DWORD),
                ("th32ParentProcessID", DWORD),
                ("pcPriClassBase", ctypes.c_long), ("dwFlags", DWORD), ("szExeFile", ctypes.c_wchar * 260)]


_k32 = ctypes.WinDLL("kernel32", use_last_error=True)
_k32.CreateToolhelp32Snapshot.restype = ctypes.c_void_p
_k32.CreateToolhelp32Snapshot.argtypes = [DWORD, DWORD]
_k32.Process32FirstW.argtypes = [ctypes.c_void_p, ctypes.POINTER(PROCESSENTRY32W)]
_k32.Process32NextW.argtypes = [ctypes.c_void_p, ctypes.POINTER(PROCESSENTRY32W)]
_k32.CloseHandle.argtypes = [ctypes.c_void_p]


def processes() -> dict[int, int]:
    """pid -> parent pid of every process now (Toolhelp32)."""
    snap = _k32.CreateToolhelp32Snapshot(2, 0)  # TH32CS_SNAPPROCESS
    out: dict[int, int] = {}
    entry = PROCESSENTRY32W()
    entry.dwSize = ctypes.sizeof(entry)
    ok = _k32.Process32FirstW(snap, byref(entry))
    while ok:
        out[entry.th32ProcessID] = entry.th32ParentProcessID
        ok = _k32.Process32NextW(snap, byref(entry))
    _k32.CloseHandle(snap)
    return out


def tree(root: int) -> set[int]:
    """``root`` and its descendants now."""
    procs, found, grew = processes(), {root}, True
    while grew:
        more = {pid for pid, parent in procs.items() if parent in found and pid not in found}
        found |= more
        grew = bool(more)
    return found


def running(pid: int) -> bool:
    try:
        h = k.OpenProcess(k.PROCESS_QUERY_LIMITED_INFORMATION, False, pid)
    except OSError:
        return False
    try:
        code = DWORD()
        k.GetExitCodeProcess(h, byref(code))
        return code.value == k.STILL_ACTIVE
    finally:
        k.CloseHandle(h)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as r:
            return int(r.status)
    except OSError:
        return None


@pytest.fixture
def wrapped(mgr: Manager, name: str, cleanup: list[str]) -> Iterator[Any]:
    """make(parameters, app_exit=None) -> Service: a wrapped service, stopped and deleted after."""
    made: list[Service] = []

    def make(params: dict[str, Any], app_exit: dict[str, str] | None = None) -> Service:
        cleanup.append(name)
        svc = mgr.create_service(name, wrapper_image_path(sys.executable))
        made.append(svc)
        values: dict[str, tuple[int, Any] | None] = {"Application": (REG_EXPAND_SZ, sys.executable)}
        for key, value in params.items():
            values[key] = (REG_DWORD, value) if isinstance(value, int) else (REG_EXPAND_SZ, value)
        mgr.reg_set(f"Services\\{name}\\Parameters", values)
        if app_exit:
            mgr.reg_set(f"Services\\{name}\\Parameters\\AppExit", {c: (REG_SZ, a) for c, a in app_exit.items()})
        return svc

    yield make
    for svc in made:
        svc.close()


def state(svc: Service, want: State, timeout: float = 15.0) -> Any:
    return eventually(lambda: (s := svc.query()).state == want and s, timeout, f"state {want.name}")


def test_http_server_wrapped(wrapped: Any, tmp_path: Path, name: str) -> None:
    """Installed, started, answering on loopback, logs captured; paused and continued (the
    tree suspended); stopped by Ctrl+C (http.server says so), leaving no process behind."""
    port = free_port()
    svc = wrapped({"AppParameters": f"-m http.server {port} --bind 127.0.0.1", "AppDirectory": str(tmp_path),
                   "AppStdout": str(tmp_path / "out.log"), "AppStderr": str(tmp_path / "err.log"),
                   "AppReadyProbe": f"tcp:127.0.0.1:{port}"})
    t0 = time.monotonic()
    svc.start()
    status = state(svc, State.RUNNING)
    started = time.monotonic() - t0
    assert eventually(lambda: get(port) == 200, 10, "HTTP 200")
    procs = tree(status.pid)
    assert len(procs) >= 2, procs  # the wrapper and the program
    log = tmp_path / "err.log"
    assert eventually(lambda: log.exists() and '"GET / HTTP/1.1" 200' in log.read_text(), 5, "access log")

    svc.control(Control.PAUSE)
    state(svc, State.PAUSED)
    assert get(port, timeout=1.0) is None  # suspended: the connection is accepted by the kernel at most
    svc.control(Control.CONTINUE)
    state(svc, State.RUNNING)
    assert eventually(lambda: get(port) == 200, 10, "HTTP 200 after continue")

    t1 = time.monotonic()
    svc.control(Control.STOP)
    stopped = state(svc, State.STOPPED)
    stop_s = time.monotonic() - t1
    assert (stopped.win32_exit_code, stopped.service_exit_code) == (0, 0)
    # Ctrl+C reached it: http.server's KeyboardInterrupt handler says so on stdout
    assert "Keyboard interrupt received, exiting." in (tmp_path / "out.log").read_text()
    assert stop_s < 1.5, f"Ctrl+C should end it at once, took {stop_s:.2f}s (start {started:.2f}s)"
    eventually(lambda: not any(running(p) for p in procs), 5, "no process left")
    assert get(port, timeout=1.0) is None


def test_stubborn_tree_killed(wrapped: Any, tmp_path: Path) -> None:
    """A program that ignores Ctrl+C and Ctrl+Break, with a grandchild: the chain ends in the
    job's termination, and neither process is left."""
    pids = tmp_path / "pids.txt"
    svc = wrapped({"AppParameters": f"{PROG} stubborn {pids.as_posix()}", "AppStderr": str(tmp_path / "err.log"),
                   "AppStopMethodConsole": 300, "AppStopMethodWindow": 300, "AppStopMethodThreads": 2000})
    svc.start()
    state(svc, State.RUNNING)
    ids = [int(p) for p in eventually(lambda: pids.read_text().split() if pids.exists() else None, 10, "pids")]
    assert len(ids) == 2 and all(running(p) for p in ids)
    t0 = time.monotonic()
    svc.control(Control.STOP)
    stopped = state(svc, State.STOPPED)
    took = time.monotonic() - t0
    assert (stopped.win32_exit_code, stopped.service_exit_code) == (0, 0)
    assert 0.5 <= took < 5, took  # both waits ran out, then the kill
    eventually(lambda: not any(running(p) for p in ids), 5, "tree gone")


def test_exiting_program_restarted(wrapped: Any, tmp_path: Path) -> None:
    """Exit code 3 with the default action (Restart): run again and again, the service stays up;
    stdout and stderr naming one file share it."""
    marks, out = tmp_path / "marks.txt", tmp_path / "out.log"
    svc = wrapped({"AppParameters": f"{PROG} exit 3 {marks.as_posix()}", "AppStdout": str(out),
                   "AppStderr": str(out), "AppThrottle": 0, "AppRestartDelay": 100})
    svc.start()
    eventually(lambda: marks.exists() and marks.read_text().count("run") >= 3, 15, "three runs")
    assert svc.query().state == State.RUNNING
    text = out.read_text()
    assert text.count("to stdout") >= 2 and text.count("to stderr: exiting 3") >= 2
    svc.control(Control.STOP)
    state(svc, State.STOPPED)


def test_exit_action_stops_with_1066(wrapped: Any, tmp_path: Path, name: str) -> None:
    """AppExit Exit: the service stops with 1066 and the program's code; the event (its exit
    code and the last lines of its standard error) is in the service's log."""
    marks = tmp_path / "marks.txt"
    svc = wrapped({"AppParameters": f"{PROG} exit 7 {marks.as_posix()}", "AppStderr": str(tmp_path / "err.log")},
                  app_exit={"": "Exit"})
    svc.start()
    stopped = state(svc, State.STOPPED)
    assert (stopped.win32_exit_code, stopped.service_exit_code) == (ERROR_SERVICE_SPECIFIC_ERROR, 7)
    events = Path(stdio_log_path(name)).read_text(encoding="utf-8")
    assert "exited with code 7" in events and "to stderr: exiting 7" in events


def test_svcctl_install_runs_a_web_server_as_a_windows_service(mgr: Manager, name: str, cleanup: list[str],
                                                              tmp_path: Path) -> None:
    """Issue 7's acceptance through the command: `svcctl install NAME ... -- python -m http.server`,
    then start: it answers on loopback; stop leaves no process behind."""
    import io

    from svcctl.cli.main import main

    port = free_port()
    cleanup.append(name)
    out = io.StringIO()
    code = main(["install", name, "--account", "LocalSystem", "--cwd", str(tmp_path),
                 "--stdout", str(tmp_path / "out.log"), "--ready", f"tcp:127.0.0.1:{port}",
                 "--", sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"], out=out)
    assert code == 0, out.getvalue()
    with mgr.open_service(name) as svc:
        assert svc.config().binary_path == wrapper_image_path(sys.executable)
        svc.start()
        status = state(svc, State.RUNNING)
        assert eventually(lambda: get(port) == 200, 10, "HTTP 200")
        procs = tree(status.pid)
        svc.control(Control.STOP)
        state(svc, State.STOPPED)
    eventually(lambda: not any(running(p) for p in procs), 5, "no process left")
    assert get(port, timeout=1.0) is None
