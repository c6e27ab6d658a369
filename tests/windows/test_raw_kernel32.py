"""svcctl.winapi.kernel32 (the wrapper's process layer) and status notifications, for real."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import time
from ctypes import byref
from ctypes.wintypes import DWORD
from pathlib import Path

from svcctl.winapi import advapi32 as a
from svcctl.winapi import kernel32 as k

from .conftest import eventually
from .test_raw_scm import RUNNING, STOP, STOPPED, control, create, start

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def exit_code(handle: int) -> int:
    code = DWORD()
    k.GetExitCodeProcess(handle, byref(code))
    return code.value


def test_job_object_terminates_the_tree() -> None:
    job = k.CreateJobObjectW(None, None)
    try:
        info = k.JOBOBJECT_EXTENDED_LIMIT_INFORMATION()
        info.BasicLimitInformation.LimitFlags = k.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        k.SetInformationJobObject(job, k.JobObjectExtendedLimitInformation, byref(info), ctypes.sizeof(info))
        child = subprocess.Popen(SLEEPER)
        k.AssignProcessToJobObject(job, int(child._handle))  # type: ignore[attr-defined]
        acct = k.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION()
        k.QueryInformationJobObject(job, k.JobObjectBasicAccountingInformation, byref(acct), ctypes.sizeof(acct), None)
        assert acct.ActiveProcesses == 1
        k.TerminateJobObject(job, 7)
        assert child.wait(10) == 7
    finally:
        k.CloseHandle(job)


def test_kill_on_job_close() -> None:
    job = k.CreateJobObjectW(None, None)
    info = k.JOBOBJECT_EXTENDED_LIMIT_INFORMATION()
    info.BasicLimitInformation.LimitFlags = k.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    k.SetInformationJobObject(job, k.JobObjectExtendedLimitInformation, byref(info), ctypes.sizeof(info))
    child = subprocess.Popen(SLEEPER)
    k.AssignProcessToJobObject(job, int(child._handle))  # type: ignore[attr-defined]
    k.CloseHandle(job)  # the last handle: the whole job dies
    child.wait(10)
    assert child.returncode is not None


def test_wait_and_errors() -> None:
    child = subprocess.Popen(SLEEPER)
    h = int(child._handle)  # type: ignore[attr-defined]
    assert k.WaitForSingleObject(h, 0) == k.WAIT_TIMEOUT
    assert exit_code(h) == k.STILL_ACTIVE
    k.TerminateProcess(h, 3)
    assert k.WaitForSingleObject(h, 10000) == k.WAIT_OBJECT_0
    assert exit_code(h) == 3
    child.wait()
    try:
        k.OpenProcess(k.SYNCHRONIZE, False, 0xFFFFFFF0)  # no such process
    except OSError as exc:
        assert exc.winerror == 87  # type: ignore[attr-defined]
    else:
        raise AssertionError("OpenProcess of a bogus pid succeeded")


def test_notify_service_status_change(scm: int, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    """NotifyServiceStatusChangeW: the APC arrives in an alertable wait (the `watch` op's base)."""
    h = create(scm, name, tmp_path / "svc.log", cleanup)
    fired: list[int] = []
    try:
        callback = a.PFN_SC_NOTIFY_CALLBACK(lambda p: fired.append(1))
        notify = a.SERVICE_NOTIFYW(a.SERVICE_NOTIFY_STATUS_CHANGE, callback)
        a.NotifyServiceStatusChangeW(h, 0x8, byref(notify))  # SERVICE_NOTIFY_RUNNING
        start(h)
        deadline = time.monotonic() + 10
        while not fired and time.monotonic() < deadline:
            k.SleepEx(100, True)
        assert fired, "no notification within 10 s"
        assert notify.dwNotificationStatus == 0 and notify.dwNotificationTriggered == 0x8
        assert notify.ServiceStatus.dwCurrentState == RUNNING
        control(h, STOP)
        eventually(lambda: a.query_status(h).dwCurrentState == STOPPED, what="STOPPED")
    finally:
        a.CloseServiceHandle(h)


CTRL_C_SENDER = r"""
import subprocess, sys, time
from svcctl.winapi import kernel32 as k
out, ready = sys.argv[1], sys.argv[2]
k.AllocConsole()  # a console-less process (like a service) gets a hidden console of its own
child = subprocess.Popen(
    [sys.executable, "-c",
     "import signal, sys, time\n"
     "signal.signal(signal.SIGINT, lambda *a: sys.exit(43))\n"
     f"open({ready!r}, 'w').close()\n"
     "time.sleep(30)\n"],
    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
deadline = time.monotonic() + 10
while not __import__("os").path.exists(ready) and time.monotonic() < deadline:
    time.sleep(0.01)
k.SetConsoleCtrlHandler(None, True)  # the sender ignores the Ctrl+C it sends to its console group
k.GenerateConsoleCtrlEvent(k.CTRL_C_EVENT, 0)
try:
    rc = child.wait(10)
except subprocess.TimeoutExpired:
    child.kill()
    rc = "timeout"
open(out, "w").write(str(rc))
"""


def test_ctrl_c_to_a_child_from_a_console_less_process(tmp_path: Path) -> None:
    """The wrapper's Ctrl+C recipe: AllocConsole in a process without one (DETACHED_PROCESS
    here, a service in real life), children share it, CTRL_C_EVENT to group 0."""
    out, ready = tmp_path / "rc.txt", tmp_path / "ready"
    sender = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SENDER, str(out), str(ready)],
        creationflags=k.DETACHED_PROCESS,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert sender.wait(30) == 0
    assert out.read_text() == "43"  # the child's SIGINT handler ran
