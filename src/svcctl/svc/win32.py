"""StartServiceCtrlDispatcherW for the Windows SCM: the same Dispatcher, spoken over advapi32.

:class:`Win32Dispatcher` keeps the portable :class:`~.dispatcher.Dispatcher`'s surface (a table
of ``ServiceMain(dispatcher, argv)`` callables, ``register(name, handler) -> StatusHandle``,
``run()``), so :class:`~.service.Service`, the TWAPI layer and hand-written ServiceMains run
unchanged under either SCM. It subclasses Dispatcher only for that surface (and the table check,
13 for a malformed table, B55); nothing of the portable channel is used.

What Windows asks of a service process, and where it is done here:

* ``run()`` hands one SERVICE_TABLE_ENTRYW per table key to StartServiceCtrlDispatcherW, which
  blocks until every service of the process has reported STOPPED (B55). With one entry the name
  is ignored by the SCM (OWN_PROCESS); with several each key must be the service's name and the
  services report SERVICE_WIN32_SHARE_PROCESS (B54).
* Windows starts a thread per service start and calls its ServiceMain there; the callback copies
  argv out (argv[0] = the service name, B49) and calls the table's callable in that thread.
* ``register`` is RegisterServiceCtrlHandlerExW with a HandlerEx trampoline that decodes the
  event data Windows passes by pointer (valid only during the call) and returns the handler's
  result; every control and notification is forwarded, user codes 128-255 included.
* Every ctypes callback object stays referenced for the dispatcher's life: Windows calls into
  them from its own threads, and a collected thunk is a crash, not an exception.

Services have no stdio under the SCM (``sys.stdout is None``). When a service starts and the
streams are missing, stdout and stderr go to ``<dir>\\<first service name>.log`` (opened on the
first write), so ``print`` and the tracebacks of failing ServiceMains and handlers are kept.
``<dir>`` is :attr:`Win32Dispatcher.stdio_log_dir`, else ``%SVCCTL_LOG_DIR%``, else
``%ProgramData%\\svcctl\\logs``. Streams the application set itself are left alone.

Windows only: importing loads advapi32 (through :mod:`svcctl.winapi.advapi32`).
"""

from __future__ import annotations

import ctypes
import io
import os
import sys
import threading
import time
from ctypes import Structure, byref
from ctypes.wintypes import DWORD

from ..errors import (
    ERROR_CALL_NOT_IMPLEMENTED,
    ERROR_EXCEPTION_IN_SERVICE,
    ERROR_FAILED_SERVICE_CONTROLLER_CONNECT,
    ERROR_SERVICE_ALREADY_RUNNING,
    ERROR_SERVICE_NOT_IN_EXE,
    ScmError,
)
from ..types import Control, ServiceType

# Fails loudly on other systems, and tells mypy to check the rest only for --platform win32.
assert sys.platform == "win32", "svcctl.svc.win32 is Windows-only"

from ..quickexit import exit_now  # noqa: E402
from ..winapi import advapi32 as a  # noqa: E402  (after the platform assert, as in winapi)
from .dispatcher import Dispatcher, HandlerEx, ServiceMain, _print_exception  # noqa: E402
from .status import StatusHandle  # noqa: E402

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any

__all__ = ["Win32Dispatcher", "event_data"]

_SHUTDOWN_CONTROLS = (Control.SHUTDOWN, Control.PRESHUTDOWN)
_PBT_POWERSETTINGCHANGE = 0x8013
_DEVICE_EVENT_MAX = 64 * 1024  # DEV_BROADCAST_* sizes are small; a wild dbch_size is not trusted


# --- the event data of HandlerEx (winsvc.h, wtsapi32.h, winuser.h, dbt.h) -------------------------
class WTSSESSION_NOTIFICATION(Structure):
    _fields_ = [("cbSize", DWORD), ("dwSessionId", DWORD)]


class SERVICE_TIMECHANGE_INFO(Structure):
    _fields_ = [("liNewTime", ctypes.c_longlong), ("liOldTime", ctypes.c_longlong)]  # FILETIME ticks


class GUID(Structure):
    _fields_ = [("Data1", DWORD), ("Data2", ctypes.c_ushort), ("Data3", ctypes.c_ushort),
                ("Data4", ctypes.c_ubyte * 8)]  # fmt: skip

    def __str__(self) -> str:
        d4 = bytes(self.Data4).hex()
        return f"{self.Data1:08x}-{self.Data2:04x}-{self.Data3:04x}-{d4[:4]}-{d4[4:]}"


class POWERBROADCAST_SETTING(Structure):
    _fields_ = [("PowerSetting", GUID), ("DataLength", DWORD)]  # followed by DataLength bytes


class DEV_BROADCAST_HDR(Structure):
    _fields_ = [("dbch_size", DWORD), ("dbch_devicetype", DWORD), ("dbch_reserved", DWORD)]


def event_data(control: int, event_type: int, address: int | None) -> object:
    """HandlerEx's ``lpEventData`` as a Python value the handler may keep after returning.

    SESSIONCHANGE: the session id (TWAPI passes the same). TIMECHANGE: ``(new, old)`` FILETIME
    ticks. POWEREVENT/PBT_POWERSETTINGCHANGE: ``(guid, data bytes)``. DEVICEEVENT: the
    DEV_BROADCAST structure's bytes. NULL: None. Anything else: the address itself, valid only
    until the handler returns (the portable SCM passes JSON values here instead).
    """
    if not address:
        return None
    if control == Control.SESSIONCHANGE:
        return int(WTSSESSION_NOTIFICATION.from_address(address).dwSessionId)
    if control == Control.TIMECHANGE:
        info = SERVICE_TIMECHANGE_INFO.from_address(address)
        return (int(info.liNewTime), int(info.liOldTime))
    if control == Control.POWEREVENT and event_type == _PBT_POWERSETTINGCHANGE:
        setting = POWERBROADCAST_SETTING.from_address(address)
        data = ctypes.string_at(address + ctypes.sizeof(POWERBROADCAST_SETTING), setting.DataLength)
        return (str(setting.PowerSetting), data)
    if control == Control.DEVICEEVENT:
        size = DEV_BROADCAST_HDR.from_address(address).dbch_size
        return ctypes.string_at(address, min(max(size, ctypes.sizeof(DEV_BROADCAST_HDR)), _DEVICE_EVENT_MAX))
    return address


# --- stdio for a process that has none -------------------------------------------------------------
class _ServiceLog(io.TextIOBase):
    """A text stream that opens its file on the first write and stamps each line with the time.

    Lazily, so a service that never prints leaves no file; flushed per write, so the traceback of
    a process about to die is on disk; locked, because handlers and ServiceMains run on
    Windows' threads concurrently.
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self._file: io.TextIOWrapper | None = None
        self._failed = False
        self._line_start = True
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, s: str, /) -> int:
        if not s:
            return 0
        with self._lock:
            if self._file is None and not self._failed:
                try:
                    os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
                    self._file = open(self.path, "a", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
                except OSError:
                    self._failed = True  # nowhere to write: behave as Python does without stdio
            if self._file is not None:
                stamp = time.strftime("%Y-%m-%d %H:%M:%S ") + f"[{os.getpid()}] "
                lines = s.splitlines(keepends=True)
                out = []
                for line in lines:
                    out.append(stamp + line if self._line_start else line)
                    self._line_start = line.endswith("\n")
                try:
                    self._file.write("".join(out))
                    self._file.flush()
                except (OSError, ValueError):
                    pass
        return len(s)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
        super().close()


def stdio_log_path(service: str, directory: str | None = None) -> str:
    """Where a service's stdout/stderr go when it has none (see the module docstring)."""
    base = directory or os.environ.get("SVCCTL_LOG_DIR")
    if not base:
        program_data = _program_data()
        if program_data:
            base = os.path.join(program_data, "svcctl", "logs")
        else:
            import tempfile

            base = tempfile.gettempdir()
    safe = "".join(c if c.isalnum() or c in "-_. " else "_" for c in service) or "service"
    return os.path.join(base, safe + ".log")


def _program_data() -> str | None:
    """%ProgramData% as the machine defines it: the registry first, because a service's
    environment need not have the variable (Wine's services get no PROGRAMDATA), so that the
    service and a tool looking for its log agree on the path."""
    import winreg

    try:
        key = winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList")
        with key:
            value, _ = winreg.QueryValueEx(key, "ProgramData")
        if isinstance(value, str) and value:
            return winreg.ExpandEnvironmentStrings(value)
    except OSError:
        pass
    return os.environ.get("PROGRAMDATA")


# --- the dispatcher ---------------------------------------------------------------------------------
_claimed = threading.Lock()  # one StartServiceCtrlDispatcherW per process (B55: 1056)


class Win32Dispatcher(Dispatcher):
    """A service process under the Windows SCM and the services it hosts."""

    #: Directory of the stdio log used when the process has no stdout/stderr (None: the default).
    stdio_log_dir: str | None = None

    def __init__(self, table: dict[str, ServiceMain]) -> None:
        super().__init__(table)
        self.service_type = ServiceType.WIN32_SHARE_PROCESS if len(self.table) > 1 else ServiceType.WIN32_OWN_PROCESS
        self._lock = threading.Lock()
        self._statuses: dict[str, StatusHandle] = {}  # by lower-case key: the current start's handle
        self._keep: list[object] = []  # every ctypes callback and the table array, for Windows' sake
        self._win_shutdown = False

    # --- API used by ServiceMain -----------------------------------------------------------------

    def register(self, name: str, handler: HandlerEx) -> StatusHandle:
        """RegisterServiceCtrlHandlerExW: 1083 for a name this table does not implement (B56)."""
        key = self._entry(name)
        if key is None:
            raise ScmError(ERROR_SERVICE_NOT_IN_EXE, name)

        def trampoline(control: int, event_type: int, data: int | None, context: int | None) -> int:
            return self._handler_ex(handler, control, event_type, data)

        callback = a.LPHANDLER_FUNCTION_EX(trampoline)
        try:
            handle = a.RegisterServiceCtrlHandlerExW(name, callback, None)
        except OSError as exc:
            raise ScmError(exc.winerror, f"RegisterServiceCtrlHandlerExW({name!r})") from None
        with self._lock:
            self._keep.append(callback)
        status = StatusHandle(name, lambda _, report: _set_status(handle, report), self.service_type)
        with self._lock:
            self._statuses[key.lower()] = status
        return status

    def _handler_ex(self, handler: HandlerEx, control: int, event_type: int, data: int | None) -> int:
        """HandlerEx: forward, and never let an exception reach Windows' thread (1064 instead)."""
        if control in _SHUTDOWN_CONTROLS:
            self._win_shutdown = True
        try:
            result = handler(control, event_type, event_data(control, event_type, data))
        except BaseException:  # SystemExit too: ctypes would only print it, to no stderr
            _print_exception()
            return ERROR_EXCEPTION_IN_SERVICE
        return result & 0xFFFFFFFF if isinstance(result, int) else 0

    # --- the dispatcher ----------------------------------------------------------------------------

    def run(self) -> None:
        """StartServiceCtrlDispatcherW: returns once every service of the process stopped.

        Outside the SCM it raises 1063 at once (how a program tells "run as a service" from
        "run in a console"); a second dispatcher in the process raises 1056 (B55).
        """
        if not _claimed.acquire(blocking=False):
            raise ScmError(ERROR_SERVICE_ALREADY_RUNNING, "the dispatcher already runs in this process")
        try:
            entries = [(key, a.LPSERVICE_MAIN_FUNCTIONW(self._main_for(key))) for key in self.table]
            table = a.service_table(entries)
            with self._lock:
                self._keep.extend(main for _, main in entries)
                self._keep.append(table)
            try:
                a.StartServiceCtrlDispatcherW(table)
            except OSError as exc:
                code = exc.winerror or ERROR_FAILED_SERVICE_CONTROLLER_CONNECT
                raise ScmError(code, "StartServiceCtrlDispatcherW") from None
        finally:
            _claimed.release()
        if self._win_shutdown and self.exit_on_shutdown:
            exit_now()  # Windows does not wait for service processes at shutdown (quickexit.py)

    def _main_for(self, key: str) -> Any:
        def service_main(argc: int, argv: Any) -> None:
            # The array lives only during this call: copy the strings out first.
            args = [argv[i] or "" for i in range(argc)] if argv else []
            self._service_main(key, args or [key])

        return service_main

    def _service_main(self, key: str, argv: list[str]) -> None:
        """ServiceMain on Windows' thread: the table's callable, and its failure reported as 1064."""
        self._ensure_stdio(argv[0] or key)
        with self._lock:
            self._statuses.pop(key.lower(), None)  # a restart in a shared process registers anew
        try:
            self.table[key](self, argv)
        except SystemExit as exc:  # sys.exit(n) in ServiceMain: stop with n (service-specific)
            code = exc.code if isinstance(exc.code, int) else (1 if exc.code else 0)
            self._report_failure(key, argv[0], code=code)
        except BaseException:  # nothing above this thread would see it
            _print_exception()
            self._report_failure(key, argv[0], win32=ERROR_EXCEPTION_IN_SERVICE)

    def _report_failure(self, key: str, name: str, *, win32: int | None = None, code: int = 0) -> None:
        """Report STOPPED for a ServiceMain that ended abnormally, registering on its behalf if it
        never did: otherwise the SCM would wait for a status until its timeout (1053)."""
        with self._lock:
            status = self._statuses.get(key.lower())
        try:
            if status is None:
                status = self.register(name or key, _refuse)
            if not status.stopped.is_set():
                status.stop(code, win32=win32)
        except ScmError:
            _print_exception()

    def _ensure_stdio(self, service: str) -> None:
        if sys.stdout is not None and sys.stderr is not None:
            return
        with self._lock:
            if sys.stdout is None or sys.stderr is None:
                log = _ServiceLog(stdio_log_path(service, self.stdio_log_dir))
                if sys.stdout is None:
                    sys.stdout = log
                if sys.stderr is None:
                    sys.stderr = log


def _refuse(control: int, event_type: int, data: object) -> int:
    """The handler of a service whose ServiceMain failed before registering one."""
    return 0 if control == Control.INTERROGATE else ERROR_CALL_NOT_IMPLEMENTED


def _set_status(handle: int, report: list[int]) -> None:
    """StatusHandle's sink: the report list is SERVICE_STATUS field for field."""
    try:
        a.SetServiceStatus(handle, byref(a.SERVICE_STATUS(*report)))
    except OSError as exc:
        raise ScmError(exc.winerror, "SetServiceStatus") from None
