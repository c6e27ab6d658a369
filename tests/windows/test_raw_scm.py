"""svcctl.winapi against a real SCM (Wine's under Linux CI): create, start with arguments,
pause, continue, user control, stop with a service-specific exit code, read back, delete.

The service is Windows Python itself running svc_raw.py, so this proves the raw layer from both
sides: the manager calls here and the dispatcher/handler/SetServiceStatus path in the service.
Expectations that differ on Wine cite docs/wine.md and ../shared/spec/wine-scm-support.md.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import byref
from ctypes.wintypes import DWORD
from pathlib import Path

import pytest

from svcctl.winapi import advapi32 as a
from svcctl.winapi import buffers

from .conftest import SERVICE_ALL_ACCESS, eventually
from .rawscm import DEMAND_START, ERROR_NORMAL, OWN_PROCESS, control, events, start, wait_state
from .rawscm import create as create_service

SVC_RAW = Path(__file__).with_name("svc_raw.py")
STOPPED, START_PENDING, RUNNING, PAUSED = 1, 2, 4, 7
STOP, PAUSE, CONTINUE, INTERROGATE = 1, 2, 3, 4
SERVICE_CONFIG_DESCRIPTION = 1


def winerror(exc: pytest.ExceptionInfo[OSError]) -> int:
    return exc.value.winerror  # type: ignore[attr-defined,no-any-return,unused-ignore]


def open_error(scm: int, name: str) -> int:
    """OpenServiceW's error code, 0 when it opened."""
    try:
        a.CloseServiceHandle(a.OpenServiceW(scm, name, 0x4))  # SERVICE_QUERY_STATUS
    except OSError as exc:
        return exc.winerror  # type: ignore[attr-defined,no-any-return,unused-ignore]
    return 0


def create(scm: int, name: str, log: Path, cleanup: list[str], display: str | None = None) -> int:
    return create_service(scm, name, f'"{sys.executable}" "{SVC_RAW}" "{log}"', cleanup, display=display)


def test_full_lifecycle_with_exit_code(scm: int, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    log = tmp_path / "svc.log"
    h = create(scm, name, log, cleanup, display=f"{name} display")
    try:
        cfg = buffers.query_config(h)
        assert (cfg.dwServiceType, cfg.dwStartType, cfg.dwErrorControl) == (OWN_PROCESS, DEMAND_START, ERROR_NORMAL)
        assert cfg.lpBinaryPathName == f'"{sys.executable}" "{SVC_RAW}" "{log}"'
        assert cfg.lpDisplayName == f"{name} display"
        assert cfg.lpServiceStartName == "LocalSystem"
        assert a.parse_multi_sz(cfg.lpDependencies) == []
        never = a.query_status(h)
        assert (never.dwCurrentState, never.dwWin32ExitCode) == (STOPPED, 1077)  # ERROR_SERVICE_NEVER_STARTED

        start(h, "alpha", "with space", "--exit=42")
        running = wait_state(h, RUNNING)
        assert running.dwProcessId != 0
        (main,) = eventually(lambda: events(log, "main"), what="ServiceMain")
        assert main["argv"] == [name, "alpha", "with space", "--exit=42"]  # argv[0] = the service name
        assert main["pid"] == running.dwProcessId

        with pytest.raises(OSError) as exc:
            start(h)
        assert winerror(exc) == 1056  # ERROR_SERVICE_ALREADY_RUNNING

        assert control(h, PAUSE).dwCurrentState in (PAUSED, RUNNING)  # the status as last reported
        wait_state(h, PAUSED)
        control(h, CONTINUE)
        wait_state(h, RUNNING)
        control(h, 200)
        assert control(h, INTERROGATE).dwCurrentState == RUNNING
        eventually(lambda: any(e["control"] == 200 for e in events(log, "control")), what="user control 200")

        control(h, STOP)
        stopped = wait_state(h, STOPPED)
        assert (stopped.dwWin32ExitCode, stopped.dwServiceSpecificExitCode) == (1066, 42)
        assert [e["control"] for e in events(log, "control")] == [PAUSE, CONTINUE, 200, INTERROGATE, STOP]
        eventually(lambda: events(log, "dispatcher-returned"), what="the dispatcher to return")

        with pytest.raises(OSError) as exc:
            control(h, STOP)
        assert winerror(exc) == 1062  # ERROR_SERVICE_NOT_ACTIVE

        a.DeleteService(h)
        with pytest.raises(OSError) as exc:
            a.DeleteService(h)
        assert winerror(exc) == 1072  # ERROR_SERVICE_MARKED_FOR_DELETE
    finally:
        a.CloseServiceHandle(h)
    # Gone once the last handle is closed and the process has exited (Windows and Wine both
    # may lag behind CloseServiceHandle: the service process still holds the record).
    eventually(lambda: open_error(scm, name) == 1060, what="the service to be deleted")


def test_start_pending_checkpoints_then_restart(scm: int, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    log = tmp_path / "svc.log"
    h = create(scm, name, log, cleanup)
    try:
        start(h, "--pending=4")
        seen = set()

        def running() -> bool:
            s = a.query_status(h)
            if s.dwCurrentState == START_PENDING:
                seen.add(s.dwCheckPoint)
            return s.dwCurrentState == RUNNING

        eventually(running, what="RUNNING after the checkpoints")
        assert seen <= {0, 1, 2, 3, 4}
        control(h, STOP)
        assert wait_state(h, STOPPED).dwWin32ExitCode == 0
        start(h)  # a stopped service starts again, in a new process
        wait_state(h, RUNNING)
        control(h, STOP)
        wait_state(h, STOPPED)
        assert len(events(log, "main")) == 2
    finally:
        a.CloseServiceHandle(h)


def test_error_codes(scm: int, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    with pytest.raises(OSError) as exc:
        a.OpenServiceW(scm, name, SERVICE_ALL_ACCESS)
    assert winerror(exc) == 1060  # ERROR_SERVICE_DOES_NOT_EXIST
    h = create(scm, name, tmp_path / "svc.log", cleanup)
    try:
        with pytest.raises(OSError) as exc:
            create(scm, name.upper(), tmp_path / "other.log", cleanup)  # names are case-insensitive
        assert winerror(exc) == 1073  # ERROR_SERVICE_EXISTS
        with pytest.raises(OSError) as exc:
            control(h, 127)
        assert winerror(exc) == 87  # only 128-255 are user controls
        with pytest.raises(OSError) as exc:
            a.CloseServiceHandle(None)
        assert winerror(exc) == 6  # ERROR_INVALID_HANDLE
    finally:
        a.CloseServiceHandle(h)


def test_dispatcher_from_a_console_process_fails_with_1063() -> None:
    main = a.LPSERVICE_MAIN_FUNCTIONW(lambda argc, argv: None)
    with pytest.raises(OSError) as exc:
        a.StartServiceCtrlDispatcherW(a.service_table([("", main)]))
    assert winerror(exc) == 1063  # ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: "not a service"


def test_grown_buffers(scm: int, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    display = f"{name} é中 display"
    h = create(scm, name, tmp_path / "svc.log", cleanup, display=display)
    try:
        assert buffers.display_name(scm, name) == display
        assert buffers.key_name(scm, display) == name
        # Force the 122 path of a name call: a 2-character first buffer.
        buf = buffers.grow_and_retry(
            lambda b, n, need: a.GetServiceDisplayNameW(scm, name, ctypes.cast(b, a.LPWSTR), byref(need)),
            2,
            unit=ctypes.sizeof(ctypes.c_wchar),
            slack=1,
        )
        assert ctypes.wstring_at(buf) == display

        text = "why: " + "x" * 3000  # longer than query_config2's first 256-byte buffer
        desc = a.SERVICE_DESCRIPTIONW(text)
        a.ChangeServiceConfig2W(h, SERVICE_CONFIG_DESCRIPTION, byref(desc))
        raw = buffers.query_config2(h, SERVICE_CONFIG_DESCRIPTION)
        assert a.SERVICE_DESCRIPTIONW.from_buffer(raw).lpDescription == text

        rows = buffers.enum_services(scm, 0x30, 3)  # SERVICE_WIN32, SERVICE_STATE_ALL
        mine = [r for r in rows if r[0] == name]
        assert len(mine) == 1 and mine[0][1] == display and mine[0][2].dwCurrentState == STOPPED
        # With a 1-byte first buffer: Wine answers 234 with no entries, Windows with some and
        # a resume handle; either way every service comes back exactly once.
        returned, resume = DWORD(), DWORD(0)
        small: list[str] = []

        def take(b: ctypes.Array[ctypes.c_char]) -> bool:
            entries = (a.ENUM_SERVICE_STATUS_PROCESSW * returned.value).from_buffer(b)
            small.extend(e.lpServiceName for e in entries)
            return returned.value > 0

        def call(b: ctypes.Array[ctypes.c_char], n: int, need: DWORD) -> object:
            returned.value = 0
            return a.EnumServicesStatusExW(scm, 0, 0x30, 3, b, n, byref(need), byref(returned), byref(resume), None)

        take(buffers.grow_and_retry(call, 1, partial=take))
        assert sorted(small) == sorted(r[0] for r in rows)

        assert buffers.enum_dependents(h, 3) == []  # nothing depends on it (Wine: always [])
        sd = buffers.object_security(h, a.DACL_SECURITY_INFORMATION)
        assert len(sd) >= 20 and sd[0] == 1  # a self-relative SECURITY_DESCRIPTOR, revision 1
    finally:
        a.CloseServiceHandle(h)


def test_change_config_round_trip(scm: int, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    h = create(scm, name, tmp_path / "svc.log", cleanup)
    try:
        no = a.SERVICE_NO_CHANGE
        a.ChangeServiceConfigW(h, no, 4, no, None, "svcctl_grp", None, a.multi_sz([]), None, None, "new display")
        cfg = buffers.query_config(h)
        assert (cfg.dwStartType, cfg.lpLoadOrderGroup, cfg.lpDisplayName) == (4, "svcctl_grp", "new display")
        with pytest.raises(OSError) as exc:
            start(h)
        assert winerror(exc) == 1058  # ERROR_SERVICE_DISABLED
    finally:
        a.CloseServiceHandle(h)
