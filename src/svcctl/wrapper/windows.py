"""The wrapper's Windows process layer: a Job Object per program, Ctrl+C through a shared console.

Tree: the program is created suspended, put in a job with KILL_ON_JOB_CLOSE and only then
resumed, so it cannot start a child outside the job (assigning after a normal start races with
its first CreateProcess) and nothing of the tree outlives the wrapper, even a killed one.

Stop steps, as NSSM does them: ``interrupt`` is Ctrl+C. Windows delivers console control events
only to processes sharing the sender's console, and a service has none, so the layer allocates
one (hidden; on a service's desktop nobody sees it) before the first start and the programs
inherit it. No CREATE_NEW_PROCESS_GROUP: Windows disables Ctrl+C in a new group. The event goes
to group 0 (every process of the console, the wrapper too), and the wrapper survives its own
event through a handler that claims it; a handler rather than SetConsoleCtrlHandler(NULL, TRUE),
because that "ignore" flag is inherited by programs started later. ``close`` posts WM_CLOSE to
the top-level windows of the job's processes and sends Ctrl+Break (console programs' "close");
``kill`` is TerminateJobObject. Pause is NtSuspendProcess on every process of the job.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import subprocess
import sys
import threading
import weakref
from ctypes import byref
from ctypes.wintypes import DWORD
from typing import TYPE_CHECKING

from ..errors import ERROR_DIRECTORY, ERROR_FILE_NOT_FOUND, ScmError
from .process import CLOSE, INTERRUPT, KILL, Program, TreeWait

assert sys.platform == "win32", "svcctl.wrapper.windows is Windows-only"

from ..winapi import kernel32 as k  # noqa: E402
from ..winapi import wrapper32 as w  # noqa: E402

if TYPE_CHECKING:
    from ..accounts import Account

_PROCESS_ACCESS = (k.PROCESS_SET_QUOTA | k.PROCESS_TERMINATE | w.PROCESS_SUSPEND_RESUME
                   | k.PROCESS_QUERY_LIMITED_INFORMATION | k.SYNCHRONIZE)
#: The exit code TerminateJobObject gives what it kills (the main process's, if it was alive).
KILLED_EXIT_CODE = 1


class _Console:
    """The console the programs share with the wrapper, so that Ctrl+C can reach them."""

    def __init__(self) -> None:
        self.ready = False
        self._handler = k.PHANDLER_ROUTINE(self._on_event)  # referenced for the process's life
        self._lock = threading.Lock()

    @staticmethod
    def _on_event(event: int) -> bool:
        # The wrapper's own copy of a Ctrl+C/Ctrl+Break it sent: claimed, so it lives on.
        return event in (k.CTRL_C_EVENT, k.CTRL_BREAK_EVENT)

    def ensure(self) -> None:
        with self._lock:
            if self.ready:
                return
            try:
                k.AllocConsole()
            except OSError as exc:
                if exc.winerror != 5:  # 5: this process has a console already
                    return
            k.SetConsoleCtrlHandler(self._handler, True)
            self.ready = True

    def send(self, event: int) -> bool:
        if not self.ready:
            return False
        try:
            k.GenerateConsoleCtrlEvent(event, 0)
        except OSError:
            return False
        return True


_console = _Console()


class WindowsProgram(TreeWait):
    """One started program and its job (the tree)."""

    def __init__(self, popen: subprocess.Popen[bytes], process: int, job: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.pid = popen.pid
        self.exited: asyncio.Future[int] = loop.create_future()
        self._popen = popen
        self._process = process
        self._job = job
        self._loop = loop
        # Closing the job kills what is left in it: also when a program object is dropped.
        self._finalizer = weakref.finalize(self, _close_handles, job, process)
        threading.Thread(target=self._wait, name=f"svcctl-wait-{self.pid}", daemon=True).start()

    def _wait(self) -> None:
        code = self._popen.wait() & 0xFFFFFFFF
        try:
            self._loop.call_soon_threadsafe(self._set_exit, code)
        except RuntimeError:  # the loop is closed: the wrapper is ending
            pass

    def _set_exit(self, code: int) -> None:
        if not self.exited.done():
            self.exited.set_result(code)

    def pids(self) -> list[int]:
        """The processes of the tree now (the job's list)."""
        if not self._finalizer.alive:
            return []
        try:
            return w.job_process_ids(self._job)
        except OSError:
            return []

    def signal(self, step: str) -> None:
        if step == KILL:
            if self._finalizer.alive:
                try:
                    k.TerminateJobObject(self._job, KILLED_EXIT_CODE)
                except OSError:
                    pass
            return
        if step == INTERRUPT:
            _console.send(k.CTRL_C_EVENT)
        elif step == CLOSE:
            _close_windows(set(self.pids()))
            _console.send(k.CTRL_BREAK_EVENT)

    def alive(self) -> bool:
        if not self._finalizer.alive:
            return False
        info = k.JOBOBJECT_BASIC_ACCOUNTING_INFORMATION()
        try:
            k.QueryInformationJobObject(self._job, k.JobObjectBasicAccountingInformation, byref(info),
                                        ctypes.sizeof(info), None)
        except OSError:
            return not self.exited.done()
        return bool(info.ActiveProcesses > 0)

    def suspend(self) -> None:
        self._each_process(w.NtSuspendProcess)

    def resume(self) -> None:
        self._each_process(w.NtResumeProcess)

    def _each_process(self, call: object) -> None:
        assert callable(call)
        for pid in self.pids():
            try:
                handle = k.OpenProcess(w.PROCESS_SUSPEND_RESUME, False, pid)
            except OSError:
                continue  # exited meanwhile
            try:
                call(handle)
            except OSError:
                pass
            finally:
                k.CloseHandle(handle)

    def release(self) -> None:
        self._finalizer()


def _close_handles(job: int, process: int) -> None:
    for handle in (process, job):
        try:
            k.CloseHandle(handle)
        except OSError:
            pass


def _close_windows(pids: set[int]) -> int:
    """WM_CLOSE to every top-level window of ``pids``; how many were asked."""
    if not pids:
        return 0
    found: list[int] = []

    def each(hwnd: int, _: int) -> bool:
        owner = DWORD()
        k.GetWindowThreadProcessId(hwnd, byref(owner))
        if owner.value in pids:
            found.append(hwnd)
        return True

    try:
        k.EnumWindows(k.WNDENUMPROC(each), 0)
    except OSError:
        return 0  # no desktop to enumerate (a service without one)
    for hwnd in found:
        try:
            k.PostMessageW(hwnd, k.WM_CLOSE, 0, 0)
        except OSError:
            pass
    return len(found)


def _new_job() -> int:
    job = int(k.CreateJobObjectW(None, None))
    limits = k.JOBOBJECT_EXTENDED_LIMIT_INFORMATION()
    limits.BasicLimitInformation.LimitFlags = k.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    try:
        k.SetInformationJobObject(job, k.JobObjectExtendedLimitInformation, byref(limits), ctypes.sizeof(limits))
    except OSError:
        k.CloseHandle(job)
        raise
    return job


class WindowsProcessLayer:
    """Starts programs for the wrapper under the Windows SCM (one job per program)."""

    async def start(
        self, argv: list[str], cwd: str, env: dict[str, str], stdout: int, stderr: int, label: str,
        account: Account | None = None,
    ) -> Program:
        """Raises ScmError 2, 3, 5, 193 or 267 as CreateProcess fails. ``account`` is not
        supported (the program runs as the service does; the SCM chose that account)."""
        _console.ensure()
        job = _new_job()
        try:
            popen = subprocess.Popen(
                argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                creationflags=k.CREATE_SUSPENDED,
            )
        except OSError as exc:
            k.CloseHandle(job)
            code = exc.winerror or ERROR_FILE_NOT_FOUND
            if code == 2 and cwd and not os.path.isdir(cwd):
                code = ERROR_DIRECTORY
            raise ScmError(code, f"{argv[0]}: {exc.strerror}") from None
        try:
            process = int(k.OpenProcess(_PROCESS_ACCESS, False, popen.pid))
            k.AssignProcessToJobObject(job, process)
            w.NtResumeProcess(process)
        except OSError as exc:  # never let an unassigned, suspended program linger
            popen.kill()
            popen.wait()
            k.CloseHandle(job)
            raise ScmError(exc.winerror or ERROR_FILE_NOT_FOUND, f"{argv[0]}: job object: {exc}") from None
        return WindowsProgram(popen, process, job, asyncio.get_running_loop())

    def close(self) -> None:
        """Nothing to free: each program's job closes with it."""
