"""svcctl.svc's Windows dispatcher against a real SCM (Wine's under Linux CI).

The services are Windows Python itself running svcctl.svc code: svc_image.py (a ServiceMain on
Win32Dispatcher and StatusHandle) as ``"<python.exe>" "<script>"``, and svc_class_image.py (the
Service class) as ``"<python.exe>" -m <package>.<module>``. No helper exe. The manager side here
is the raw ctypes layer, so these tests depend on nothing but svcctl.winapi and the dispatcher.
Expectations that differ on Wine cite ../shared/spec/wine-scm-support.md and the B-numbers of
../shared/spec/scm-behaviours.md; Wine's gaps are strict xfails, so a fixed Wine shows up.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from ctypes import byref
from pathlib import Path
from typing import Any

import pytest

if sys.platform != "win32":
    pytest.skip("Windows only: run it with tools/wine/test", allow_module_level=True)

from svcctl.errors import ScmError
from svcctl.svc import win32
from svcctl.svc.win32 import Win32Dispatcher
from svcctl.winapi import advapi32 as a
from svcctl.winapi import buffers

from .conftest import eventually
from .rawscm import SHARE_PROCESS, control, create, events, read_log, start, wait_state

HERE = Path(__file__).parent
SVC_IMAGE = HERE / "svc_image.py"
SVC_CLASS_IMAGE = HERE / "svc_class_image.py"
STOPPED, START_PENDING, RUNNING, PAUSED = 1, 2, 4, 7
STOP, PAUSE, CONTINUE, INTERROGATE = 1, 2, 3, 4
IS_WINE = hasattr(ctypes.WinDLL("ntdll"), "wine_get_version")


# --- helpers --------------------------------------------------------------------------------------
def image(log: Path, *options: str) -> str:
    """The interpreter as the image: ``"<python.exe>" "<svc_image.py>" "<log>" options...``."""
    return " ".join([f'"{sys.executable}"', f'"{SVC_IMAGE}"', f'"{log}"', *(f'"{o}"' for o in options)])


def exit_codes(status: a.SERVICE_STATUS_PROCESS) -> tuple[int, int]:
    return (status.dwWin32ExitCode, status.dwServiceSpecificExitCode)


def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def removed(path: Path) -> bool:
    """Delete ``path`` if it is there; False while another process still has it open (32)."""
    try:
        path.unlink(missing_ok=True)
    except PermissionError:
        return False
    return True


# --- services under the SCM -----------------------------------------------------------------------
@pytest.mark.b(49)
@pytest.mark.b(84)
def test_lifecycle_args_checkpoints_controls_exit_code(
    scm: int, name: str, tmp_path: Path, cleanup: list[str]
) -> None:
    log = tmp_path / "svc.log"
    h = create(scm, name, image(log), cleanup)
    try:
        assert buffers.query_config(h).lpBinaryPathName == image(log)  # python.exe is the image
        start(h, "alpha", "with space", "--pending=5", "--exit=42")
        seen: list[tuple[int, int]] = []

        def running() -> bool:
            s = a.query_status(h)
            if s.dwCurrentState == START_PENDING:
                seen.append((s.dwCheckPoint, s.dwWaitHint))
            return s.dwCurrentState == RUNNING

        eventually(running, what="RUNNING after the checkpoints")
        # The dispatcher's reports reach the SCM as sent: checkpoints 1..5 with a 2500 ms hint
        # (before the first report the SCM shows its own checkpoint 0 / 2000 ms, B48).
        ours = [cp for cp, hint in seen if cp >= 1]
        assert ours and all(hint == 2500 for cp, hint in seen if cp >= 1) and set(ours) <= {1, 2, 3, 4, 5}
        assert ours == sorted(ours)

        (img,) = events(log, "image")
        assert img["stdout_none"] and img["stderr_none"]  # services get no stdio
        (main,) = events(log, "main")
        assert main["argv"] == [name, "alpha", "with space", "--pending=5", "--exit=42"]  # B49
        assert main["pid"] == a.query_status(h).dwProcessId

        assert control(h, PAUSE).dwCurrentState in (PAUSED, RUNNING)
        wait_state(h, PAUSED)
        control(h, CONTINUE)
        wait_state(h, RUNNING)
        interrogated = control(h, INTERROGATE)
        assert (interrogated.dwCurrentState, interrogated.dwControlsAccepted) == (RUNNING, 0x1 | 0x2)
        control(h, 200)
        eventually(lambda: events(log, "user", service=name, control=200), what="user control 200 recorded")

        control(h, STOP)
        stopped = wait_state(h, STOPPED)
        assert exit_codes(stopped) == (1066, 42)  # ERROR_SERVICE_SPECIFIC_ERROR + ours (B84)
        assert [e["control"] for e in events(log, "control")] == [PAUSE, CONTINUE, INTERROGATE, 200, STOP]
        eventually(lambda: events(log, "dispatcher-returned"), what="run() to return")
    finally:
        a.CloseServiceHandle(h)


def test_handler_that_raises_answers_1064_and_the_service_lives_on(
    scm: int, name: str, tmp_path: Path, cleanup: list[str]
) -> None:
    """Like the portable dispatcher: a raising HandlerEx returns 1064 for that control only.

    The SCM ignores the return code of user controls (B68; Wine ignores every handler's return
    code), so ControlService succeeds; the traceback goes to the stdio log (sys.stderr was None).
    """
    log, stdio = tmp_path / "svc.log", tmp_path / "stdio"
    h = create(scm, name, image(log, f"--stdio-dir={stdio}"), cleanup)
    try:
        start(h, "--print=hello from a service")
        wait_state(h, RUNNING)
        control(h, 201)
        assert a.query_status(h).dwCurrentState == RUNNING
        control(h, 202)  # still served
        eventually(lambda: events(log, "user", control=202), what="user control 202")
        control(h, STOP)
        assert exit_codes(wait_state(h, STOPPED)) == (0, 0)
        out = text_of(stdio / f"{name}.log")
        assert "hello from a service" in out
        assert "Traceback" in out and "handler raised on 201" in out
    finally:
        a.CloseServiceHandle(h)


def test_service_main_that_raises_reports_stopped_1064(
    scm: int, name: str, tmp_path: Path, cleanup: list[str]
) -> None:
    log, stdio = tmp_path / "svc.log", tmp_path / "stdio"
    h = create(scm, name, image(log, f"--stdio-dir={stdio}"), cleanup)
    try:
        start(h, "--raise-late")
        wait_state(h, RUNNING)
        control(h, STOP)
        assert exit_codes(wait_state(h, STOPPED)) == (1064, 0)  # ERROR_EXCEPTION_IN_SERVICE
        assert "raised after STOP" in text_of(stdio / f"{name}.log")
        eventually(lambda: events(log, "dispatcher-returned"), what="run() to return")
    finally:
        a.CloseServiceHandle(h)


def test_service_main_that_raises_before_registering(
    scm: int, name: str, tmp_path: Path, cleanup: list[str]
) -> None:
    """The dispatcher registers on the failed ServiceMain's behalf, so the SCM learns of it now
    rather than after its pipe timeout (1053). The traceback goes to the default stdio log."""
    log = tmp_path / "svc.log"
    default_log = Path(win32.stdio_log_path(name))  # %ProgramData%\svcctl\logs\<name>.log
    h = create(scm, name, image(log), cleanup)
    try:
        try:
            start(h, "--raise-early")
        except OSError as exc:
            # Wine's StartServiceW waits for the first status, and a first status of STOPPED
            # fails it with 1053 (wine-scm-support.md, Start/lifecycle); Windows returns first (B48).
            assert IS_WINE and exc.winerror == 1053, exc
        assert exit_codes(wait_state(h, STOPPED)) == (1064, 0)
        assert "raised before register" in eventually(lambda: text_of(default_log), what="the stdio log")
    finally:
        a.CloseServiceHandle(h)
        eventually(lambda: removed(default_log), what="the service process to let go of its log")


@pytest.fixture
def pair(scm: int, name: str, tmp_path: Path, cleanup: list[str]) -> Iterator[tuple[list[str], list[int], Path]]:
    """Two SHARE_PROCESS services with one ImagePath whose table names both (B54)."""
    log = tmp_path / "svc.log"
    names = [name + "a", name + "b"]
    binpath = image(log, "--share=" + ",".join(names))
    handles = [create(scm, n, binpath, cleanup, SHARE_PROCESS) for n in names]
    yield names, handles, log
    for h in handles:
        a.CloseServiceHandle(h)


@pytest.mark.b(54)
def test_two_services_of_one_image_share_process_table(pair: tuple[list[str], list[int], Path]) -> None:
    """A two-entry table: each start runs its own ServiceMain, controls reach their own handler."""
    (na, nb), (ha, hb), log = pair
    start(ha, "--exit=5")
    wait_state(ha, RUNNING)
    start(hb, "--exit=6")
    wait_state(hb, RUNNING)
    assert [e["argv"] for e in events(log, "main", service=na)] == [[na, "--exit=5"]]
    assert [e["argv"] for e in events(log, "main", service=nb)] == [[nb, "--exit=6"]]
    assert a.query_status(ha).dwServiceType == SHARE_PROCESS
    control(ha, 200)
    control(hb, 210)
    eventually(lambda: events(log, "user", service=nb, control=210), what="control 210 at B")
    assert [e["control"] for e in events(log, "user", service=na)] == [200]
    control(ha, STOP)
    assert exit_codes(wait_state(ha, STOPPED)) == (1066, 5)
    assert a.query_status(hb).dwCurrentState == RUNNING  # B unaffected by A's stop
    control(hb, STOP)
    assert exit_codes(wait_state(hb, STOPPED)) == (1066, 6)


@pytest.mark.b(54)
@pytest.mark.xfail(
    IS_WINE,
    strict=True,
    reason="Wine 8 starts each SHARE_PROCESS service in a process of its own "
    "(wine-scm-support.md, SERVICE_WIN32_SHARE_PROCESS); Windows starts B in A's process (B54)",
)
def test_share_process_services_run_in_one_process(pair: tuple[list[str], list[int], Path]) -> None:
    _, (ha, hb), log = pair
    start(ha)
    pid_a = wait_state(ha, RUNNING).dwProcessId
    start(hb)
    pid_b = wait_state(hb, RUNNING).dwProcessId
    control(ha, STOP)
    control(hb, STOP)
    wait_state(ha, STOPPED)
    wait_state(hb, STOPPED)
    assert pid_a == pid_b
    assert len(events(log, "image")) == 1


@pytest.fixture
def module_package(tmp_path: Path) -> Iterator[str]:
    """svc_class_image.py as ``<pkg>.service`` of a package on the Windows Python's path, through a
    .pth file in its site-packages: what ``pip install`` of a project would give its services."""
    site = Path(sys.prefix) / "Lib" / "site-packages"
    if not site.is_dir():
        pytest.skip(f"no {site}")
    pkg = "svcctl_t_pkg_" + uuid.uuid4().hex[:8]
    root = tmp_path / "site"
    (root / pkg).mkdir(parents=True)
    (root / pkg / "__init__.py").write_text("", encoding="utf-8")
    shutil.copy(SVC_CLASS_IMAGE, root / pkg / "service.py")
    pth = site / f"{pkg}.pth"
    pth.write_text(f"{root}\n", encoding="utf-8")
    try:
        yield pkg
    finally:
        pth.unlink()


def test_service_class_image_run_with_python_dash_m(
    scm: int, name: str, tmp_path: Path, cleanup: list[str], module_package: str
) -> None:
    log = tmp_path / "svc.log"
    binpath = f'"{sys.executable}" -m {module_package}.service "{log}"'
    h = create(scm, name, binpath, cleanup)
    try:
        start(h, "--exit=7")
        wait_state(h, RUNNING)
        (img,) = events(log, "image")
        assert img["dispatcher"] == "Win32Dispatcher" and img["stdout_none"]
        (started,) = events(log, "start")
        assert started["args"] == ["--exit=7"] and started["name"] == name
        control(h, PAUSE)
        wait_state(h, PAUSED)
        control(h, CONTINUE)
        wait_state(h, RUNNING)
        assert control(h, INTERROGATE).dwControlsAccepted == 0x1 | 0x2 | 0x4  # STOP|PAUSE_CONTINUE|SHUTDOWN
        control(h, 200)
        eventually(lambda: events(log, "control", control=200), what="user control 200")
        control(h, STOP)
        assert exit_codes(wait_state(h, STOPPED)) == (1066, 7)  # run() returned 7
        assert [e["event"] for e in read_log(log)] == [
            "image", "start", "pause", "resume", "control", "run-returns", "dispatcher-returned",
        ]  # fmt: skip
    finally:
        a.CloseServiceHandle(h)


# --- the dispatcher in this (console) process -------------------------------------------------------
def _noop_main(dispatcher: object, argv: list[str]) -> None:
    pass


@pytest.mark.b(55)
def test_run_outside_the_scm_raises_1063() -> None:
    """In a fresh process (this one may have called the dispatcher already): 1063 at once. A
    second call gives 1056 on Wine, whose sechost remembers the first attempt."""
    code = (
        "from svcctl.svc.win32 import Win32Dispatcher\n"
        "from svcctl.errors import ScmError\n"
        "d = Win32Dispatcher({'x': lambda d, argv: None})\n"
        "for _ in range(2):\n"
        "    try:\n"
        "        d.run()\n"
        "    except ScmError as exc:\n"
        "        print(exc.winerror)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    first, second = out.stdout.split()
    assert first == "1063"  # ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: "not started as a service"
    assert second in ("1063", "1056")


@pytest.mark.b(55)
@pytest.mark.b(56)
def test_table_and_registration_errors() -> None:
    with pytest.raises(ScmError) as exc:
        Win32Dispatcher({})
    assert exc.value.winerror == 13  # ERROR_INVALID_DATA
    shared = Win32Dispatcher({"a": _noop_main, "b": _noop_main})
    assert shared.service_type == SHARE_PROCESS
    with pytest.raises(ScmError) as exc:
        shared.register("c", lambda c, e, d: 0)
    assert exc.value.winerror == 1083  # ERROR_SERVICE_NOT_IN_EXE
    with pytest.raises(ScmError):  # known name, but this process is no service (Wine: 1060)
        Win32Dispatcher({"a": _noop_main}).register("a", lambda c, e, d: 0)


def test_handler_ex_decodes_event_data_and_guards_the_handler() -> None:
    """HandlerEx through a real ctypes thunk: pointers in, Python values out, DWORD back."""
    d = Win32Dispatcher({"x": _noop_main})
    got: list[tuple[int, int, object]] = []
    results: dict[int, object] = {}

    def handler(code: int, event_type: int, data: object) -> Any:
        got.append((code, event_type, data))
        if code == 201:
            raise RuntimeError("boom")
        return results.get(code, 0)

    thunk = a.LPHANDLER_FUNCTION_EX(lambda c, e, p, ctx: d._handler_ex(handler, c, e, p))
    session = win32.WTSSESSION_NOTIFICATION(8, 3)
    assert thunk(0xE, 5, byref(session), None) == 0  # SESSIONCHANGE / WTS_SESSION_LOGON
    change = win32.SERVICE_TIMECHANGE_INFO(133_000_000_000_000_000, 132_999_999_990_000_000)
    thunk(0x10, 0, byref(change), None)
    power = (ctypes.c_ubyte * (ctypes.sizeof(win32.POWERBROADCAST_SETTING) + 4))()
    setting = win32.POWERBROADCAST_SETTING.from_buffer(power)
    setting.PowerSetting.Data1, setting.PowerSetting.Data2, setting.DataLength = 0x5D3E9A59, 0xE9D5, 4
    ctypes.memmove(ctypes.addressof(power) + ctypes.sizeof(win32.POWERBROADCAST_SETTING), b"\x01\x00\x00\x00", 4)
    thunk(0xD, 0x8013, power, None)  # POWEREVENT / PBT_POWERSETTINGCHANGE
    device = win32.DEV_BROADCAST_HDR(12, 5, 0)
    thunk(0xB, 0x8000, byref(device), None)  # DEVICEEVENT / DBT_DEVICEARRIVAL
    results[200], results[202] = -1, None
    assert thunk(200, 0, None, None) == 0xFFFFFFFF  # a negative result is still a DWORD
    assert thunk(202, 0, None, None) == 0  # None: NO_ERROR
    assert thunk(201, 0, None, None) == 1064  # ERROR_EXCEPTION_IN_SERVICE
    assert not d._win_shutdown
    thunk(0xF, 0, None, None)  # PRESHUTDOWN: the process may end right after run() (exit_on_shutdown)
    assert d._win_shutdown
    assert got == [
        (0xE, 5, 3),
        (0x10, 0, (133_000_000_000_000_000, 132_999_999_990_000_000)),
        (0xD, 0x8013, ("5d3e9a59-e9d5-0000-0000-000000000000", b"\x01\x00\x00\x00")),
        (0xB, 0x8000, bytes(device)),
        (200, 0, None),
        (202, 0, None),
        (201, 0, None),
        (0xF, 0, None),
    ]


def test_stdio_goes_to_a_log_only_when_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    d = Win32Dispatcher({"x": _noop_main})
    monkeypatch.setattr(Win32Dispatcher, "stdio_log_dir", str(tmp_path / "logs"))
    own = sys.stdout
    monkeypatch.setattr(sys, "stderr", None)
    d._ensure_stdio("svc one")
    assert sys.stdout is own and isinstance(sys.stderr, win32._ServiceLog)
    path = tmp_path / "logs" / "svc one.log"
    assert not path.exists()  # opened on the first write only
    sys.stderr.write("first line\nsecond ")
    sys.stderr.write("half\n")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [line.split("] ", 1)[1] for line in lines] == ["first line", "second half"]
    assert all(f"[{os.getpid()}]" in line for line in lines)
    sys.stderr.close()
