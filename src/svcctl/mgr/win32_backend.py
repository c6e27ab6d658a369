"""The Windows backend (re-exported by :mod:`svcctl.mgr.win32`): the SCM API onto advapi32.

Each operation of :mod:`svcctl.scm.api` is mapped onto its advapi32 call.

``Manager.connect(backend="win32")`` (the default on Windows) lands here through
:func:`svcctl.mgr.backend.open_backend`, the only place that imports this module. Results are
the wire values the portable SCM returns (lists of Win32 numbers, see :mod:`svcctl.scm.core`),
read from the real SCM through the raw layer :mod:`svcctl.winapi`.

Handles: the SCM's SC_HANDLEs stay in this object; callers get small integers (like the
daemon's), so an unknown or closed one is refused with ERROR_INVALID_HANDLE (6) instead of
being passed to Windows. :meth:`Win32Backend.close` closes all that are still open, as process
exit would.

Errors: every ``OSError`` of the raw layer or ``winreg`` becomes ``ScmError(winerror)``; the
text Windows gave (when it differs from svcctl's) is kept as the detail. Arguments ctypes cannot
convert (a NUL inside a name, a number out of range) give ERROR_INVALID_PARAMETER (87).

What has no Win32 call of its own:

* ``watch`` is NotifyServiceStatusChangeW on a private handle, waited for alertably, with a
  re-query every slice (checkpoints of a pending state never notify), or plain polling where
  notifications are unavailable.
* ``reg_*``, ``group_order`` and ``tag_order`` use ``winreg`` on
  ``HKLM\\SYSTEM\\CurrentControlSet`` of the manager's machine (:mod:`.win32_registry`).
* ``events_since`` is refused with ERROR_NOT_SUPPORTED (50): Windows keeps service events in the
  System event log, which this backend does not read (Event Viewer, ``wevtutil qe System``).
"""

from __future__ import annotations

import ctypes
import itertools
import sys
import threading
import time
from ctypes import byref
from ctypes.wintypes import DWORD, LPCWSTR

from ..errors import (
    ERROR_INVALID_FUNCTION,
    ERROR_INVALID_HANDLE,
    ERROR_INVALID_PARAMETER,
    ERROR_NOT_SUPPORTED,
    ScmError,
    message,
)
from .backend import Backend

# Fails loudly on other systems, and tells mypy to check the rest only for --platform win32.
assert sys.platform == "win32", "svcctl.mgr.win32_backend is Windows-only"

from ..winapi import advapi32 as _a  # noqa: E402  (after the platform assert, on purpose)
from ..winapi import buffers as _b  # noqa: E402
from ..winapi import kernel32 as _k  # noqa: E402
from . import win32_config2 as _c2  # noqa: E402
from . import win32_registry as _reg  # noqa: E402

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

__all__ = ["Win32Backend"]

SC_MANAGER_CONNECT = 0x0001
SERVICE_QUERY_STATUS = 0x0004
#: SERVICE_NOTIFY_* bits: 1 << (state - 1) for the seven states.
SERVICE_NOTIFY_ALL = 0x7F
_PENDING = frozenset({2, 3, 5, 6})
#: ``watch``: how often a pending service's checkpoint is re-read, and the longest alertable
#: wait between two status queries otherwise (a safety net should a notification be lost).
PENDING_POLL_S = 0.05
IDLE_SLICE_S = 1.0
MAX_WATCH_MS = 3_600_000


def _win_error(exc: OSError, op: str) -> ScmError:
    code = _b.winerror_of(exc)
    if code is None:
        return ScmError(ERROR_INVALID_FUNCTION, f"{op}: {exc}")
    text = (exc.strerror or "").strip()
    return ScmError(code, text if text and text != message(code) else None)


def _status_wire(s: _a.SERVICE_STATUS_PROCESS) -> list[int]:
    return [
        int(s.dwServiceType), int(s.dwCurrentState), int(s.dwControlsAccepted), int(s.dwWin32ExitCode),
        int(s.dwServiceSpecificExitCode), int(s.dwCheckPoint), int(s.dwWaitHint), int(s.dwProcessId),
        int(s.dwServiceFlags),
    ]  # fmt: skip


def _short_status_wire(s: _a.SERVICE_STATUS, pid: int = 0, flags: int = 0) -> list[int]:
    return [
        int(s.dwServiceType), int(s.dwCurrentState), int(s.dwControlsAccepted), int(s.dwWin32ExitCode),
        int(s.dwServiceSpecificExitCode), int(s.dwCheckPoint), int(s.dwWaitHint), pid, flags,
    ]  # fmt: skip


def _wide_multi_sz(items: list[str] | None) -> ctypes.Array[ctypes.c_wchar] | None:
    """A double-NUL-terminated string list as a WCHAR buffer (None stays None: "no change")."""
    text = _a.multi_sz(items)
    if text is None:
        return None
    if any("\0" in s or not s for s in items or []):
        raise ScmError(ERROR_INVALID_PARAMETER, "empty name or NUL inside a dependency")
    return (ctypes.c_wchar * len(text))(*text)


class _Handle:
    """One SC_HANDLE: a manager's (``name`` None) or a service's, and the machine it is on."""

    __slots__ = ("sc", "machine", "name")

    def __init__(self, sc: int, machine: str | None, name: str | None) -> None:
        self.sc, self.machine, self.name = sc, machine, name


class _Notifier:
    """NotifyServiceStatusChangeW on a private handle of one service, for one ``watch`` call.

    The SERVICE_NOTIFYW and its callback must outlive every APC Windows may queue for them, and
    the APC is delivered to the registering thread only: so all of it happens in the caller's
    thread, and :meth:`close` closes the private handle (no APC is queued after that) and then
    drains an APC already queued with ``SleepEx(0, TRUE)`` while both are still alive.
    """

    def __init__(self, handle: int | None, state: int) -> None:
        self.handle = handle
        self.mask = SERVICE_NOTIFY_ALL & ~(1 << (state - 1))
        self.armed = False
        self.fired = False
        self.callback = _a.PFN_SC_NOTIFY_CALLBACK(self._on_notify)
        self.notify = _a.SERVICE_NOTIFYW()

    def _on_notify(self, parameter: int | None) -> None:
        self.fired = True

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, less if a notification arrives; polling when none can."""
        if self.handle and not self.armed:
            self.notify = _a.SERVICE_NOTIFYW(_a.SERVICE_NOTIFY_STATUS_CHANGE, self.callback)
            try:
                _a.NotifyServiceStatusChangeW(self.handle, self.mask, byref(self.notify))
                self.armed = True
            except OSError:  # 120 for SCM-wide ones on Wine, 1242 on old Windows ...: poll
                self.close()
        if not self.armed:
            time.sleep(min(seconds, PENDING_POLL_S))
            return
        _k.SleepEx(max(int(seconds * 1000), 1), True)
        if self.fired:
            self.armed = self.fired = False  # one APC per registration: register again next time

    def close(self) -> None:
        handle, self.handle = self.handle, None
        if handle:
            try:
                _a.CloseServiceHandle(handle)
            except OSError:
                pass
            _k.SleepEx(0, True)
        self.armed = False


class Win32Backend(Backend):
    """The Windows SCM (local or remote) through advapi32; see the module documentation."""

    def __init__(self, system: str | None = None) -> None:
        self.system = system or None
        self._handles: dict[int, _Handle] = {}
        self._ids = itertools.count(0x4000, 4)
        self._lock = threading.Lock()
        #: SC_MANAGER_CONNECT handles per machine, for this backend's own service handles.
        self._connections: dict[str | None, int] = {}

    # --- the seam ------------------------------------------------------------------------------

    def call(self, op: str, **args: Any) -> Any:
        method: Callable[..., Any] | None = getattr(self, "_op_" + op, None)
        if method is None:
            raise ScmError(ERROR_INVALID_FUNCTION, f"unknown operation {op!r}")
        for key, value in args.items():  # ctypes would cut such a string short, silently
            if isinstance(value, str) and "\0" in value:
                raise ScmError(ERROR_INVALID_PARAMETER, f"{op}: NUL inside {key!r}")
        try:
            return method(**args)
        except ScmError:
            raise  # an ScmError is an OSError: not to be translated again
        except OSError as exc:
            raise _win_error(exc, op) from exc
        except (ctypes.ArgumentError, TypeError, ValueError, OverflowError) as exc:
            raise ScmError(ERROR_INVALID_PARAMETER, f"{op}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            handles = [h.sc for h in self._handles.values()] + list(self._connections.values())
            self._handles.clear()
            self._connections.clear()
        for sc in handles:
            try:
                _a.CloseServiceHandle(sc)
            except OSError:
                pass

    # --- handles -------------------------------------------------------------------------------

    def _add(self, sc: int, machine: str | None, name: str | None) -> int:
        with self._lock:
            h = next(self._ids)
            self._handles[h] = _Handle(int(sc), machine, name)
            return h

    def _get(self, h: int, service: bool) -> _Handle:
        handle = self._handles.get(h)
        if handle is None or (handle.name is not None) != service:
            raise ScmError(ERROR_INVALID_HANDLE)
        return handle

    def _scm(self, h: int) -> _Handle:
        return self._get(h, service=False)

    def _svc(self, h: int) -> _Handle:
        return self._get(h, service=True)

    def _connection(self, machine: str | None) -> int:
        """A manager handle with SC_MANAGER_CONNECT (all OpenServiceW needs), opened once."""
        with self._lock:
            sc = self._connections.get(machine)
        if sc is None:
            sc = int(_a.OpenSCManagerW(machine, None, SC_MANAGER_CONNECT))
            with self._lock:
                old = self._connections.setdefault(machine, sc)
            if old != sc:
                _a.CloseServiceHandle(sc)
                sc = old
        return sc

    def _status_of(self, machine: str | None, name: str) -> list[int] | None:
        """QueryServiceStatusEx of another service by name; None when it cannot be read."""
        try:
            sc = _a.OpenServiceW(self._connection(machine), name, SERVICE_QUERY_STATUS)
        except OSError:
            return None
        try:
            return _status_wire(_a.query_status(sc))
        except OSError:
            return None
        finally:
            _a.CloseServiceHandle(sc)

    # --- manager -------------------------------------------------------------------------------

    def _op_open_scm(self, machine: str | None = None, database: str | None = None, *, access: int) -> int:
        machine = machine or None
        return self._add(_a.OpenSCManagerW(machine, database, access), machine, None)

    def _op_close(self, h: int) -> None:
        with self._lock:
            handle = self._handles.pop(h, None)
        if handle is None:
            raise ScmError(ERROR_INVALID_HANDLE)
        _a.CloseServiceHandle(handle.sc)

    def _op_create(
        self,
        scm: int,
        name: str | None = None,
        display: str | None = None,
        *,
        access: int,
        type: int,
        start: int,
        error: int,
        binpath: str | None = None,
        group: str | None = None,
        tag: bool = False,
        deps: list[str] | None = None,
        account: str | None = None,
        password: str | None = None,
    ) -> list[int]:
        m = self._scm(scm)
        tag_id = DWORD(0)
        sc = _a.CreateServiceW(
            m.sc, name, display, access, type, start, error, binpath, group,
            byref(tag_id) if tag else None, _wide_multi_sz(deps), account, password,
        )  # fmt: skip
        return [self._add(sc, m.machine, name or ""), int(tag_id.value)]

    def _op_open(self, scm: int, name: str | None = None, *, access: int) -> int:
        m = self._scm(scm)
        return self._add(_a.OpenServiceW(m.sc, name, access), m.machine, name or "")

    def _op_delete(self, h: int) -> None:
        _a.DeleteService(self._svc(h).sc)

    # --- queries -------------------------------------------------------------------------------

    def _op_status(self, h: int) -> list[int]:
        return _status_wire(_a.query_status(self._svc(h).sc))

    def _op_config(self, h: int) -> list[Any]:
        cfg = _b.query_config(self._svc(h).sc)
        return [
            int(cfg.dwServiceType), int(cfg.dwStartType), int(cfg.dwErrorControl), cfg.lpBinaryPathName or "",
            cfg.lpLoadOrderGroup or "", int(cfg.dwTagId), _a.parse_multi_sz(cfg.lpDependencies),
            cfg.lpServiceStartName or "", cfg.lpDisplayName or "",
        ]  # fmt: skip

    def _op_config2(self, h: int, level: int) -> Any:
        return _c2.query(self._svc(h).sc, level)

    def _op_enum(self, scm: int, type: int, state: int, group: str | None = None) -> list[list[Any]]:
        rows = _b.enum_services(self._scm(scm).sc, type, state, group)
        return [[name, display, _status_wire(status)] for name, display, status in rows]

    def _op_display_name(self, scm: int, name: str | None = None) -> str:
        return _b.display_name(self._scm(scm).sc, name)  # type: ignore[arg-type]  # NULL: 487 from Windows

    def _op_key_name(self, scm: int, name: str | None = None) -> str:
        return _b.key_name(self._scm(scm).sc, name)  # type: ignore[arg-type]

    def _op_dependents(self, h: int, state: int) -> list[list[Any]]:
        """EnumDependentServicesW; the rows' pid and flags come from QueryServiceStatusEx."""
        svc = self._svc(h)
        out: list[list[Any]] = []
        for name, display, status in _b.enum_dependents(svc.sc, state):
            full = self._status_of(svc.machine, name)
            out.append([name, display, full or _short_status_wire(status)])
        return out

    def _op_events_since(
        self, scm: int, service: str | None = None, since: int = 0, limit: int = 1000, wait_ms: int = 0
    ) -> list[Any]:
        self._scm(scm)
        raise ScmError(
            ERROR_NOT_SUPPORTED,
            "the win32 backend does not read the event log: see the System log's 'Service Control "
            "Manager' events (Event Viewer, or wevtutil qe System)",
        )

    # --- configuration -------------------------------------------------------------------------

    def _op_change(
        self,
        h: int,
        type: int = _a.SERVICE_NO_CHANGE,
        start: int = _a.SERVICE_NO_CHANGE,
        error: int = _a.SERVICE_NO_CHANGE,
        binpath: str | None = None,
        group: str | None = None,
        tag: bool = False,
        deps: list[str] | None = None,
        account: str | None = None,
        password: str | None = None,
        display: str | None = None,
    ) -> int:
        sc = self._svc(h).sc
        tag_id = DWORD(0)
        _a.ChangeServiceConfigW(
            sc, type, start, error, binpath, group, byref(tag_id) if tag else None, _wide_multi_sz(deps),
            account, password, display,
        )  # fmt: skip
        if tag:
            return int(tag_id.value)
        try:  # the portable SCM answers the current tag: read it (needs SERVICE_QUERY_CONFIG)
            return int(_b.query_config(sc).dwTagId)
        except OSError:
            return 0

    def _op_change2(self, h: int, level: int, value: Any = None) -> None:
        _c2.change(self._svc(h).sc, level, value)

    # --- run state -----------------------------------------------------------------------------

    def _op_start(self, h: int, args: list[str] | None = None) -> None:
        sc = self._svc(h).sc
        args = list(args or [])
        if not all(isinstance(a, str) for a in args):
            raise ScmError(ERROR_INVALID_PARAMETER, "start arguments are strings")
        argv = (LPCWSTR * len(args))(*args) if args else None
        _a.StartServiceW(sc, len(args), argv)

    def _op_control(self, h: int, code: int) -> list[int]:
        """ControlService: the status as last reported (B67); pid and flags from a status query."""
        sc = self._svc(h).sc
        status = _a.SERVICE_STATUS()
        _a.ControlService(sc, code, byref(status))
        try:
            ex = _a.query_status(sc)
            return _short_status_wire(status, int(ex.dwProcessId), int(ex.dwServiceFlags))
        except OSError:  # a handle with SERVICE_STOP only, say
            return _short_status_wire(status)

    def _op_watch(self, h: int, seen: list[int] | None = None, timeout_ms: int = 0) -> list[int]:
        """The status once (state, checkpoint) differs from ``seen``, or when the timeout ends."""
        svc = self._svc(h)
        status = _status_wire(_a.query_status(svc.sc))
        if seen is None or [status[1], status[5]] != list(seen):
            return status
        deadline = time.monotonic() + min(max(timeout_ms, 0), MAX_WATCH_MS) / 1000
        try:
            private: int | None = int(_a.OpenServiceW(self._connection(svc.machine), svc.name, SERVICE_QUERY_STATUS))
        except OSError:
            private = None
        notifier = _Notifier(private, status[1])
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return status
                notifier.wait(min(remaining, PENDING_POLL_S if status[1] in _PENDING else IDLE_SLICE_S))
                status = _status_wire(_a.query_status(svc.sc))
                if [status[1], status[5]] != list(seen):
                    return status
        finally:
            notifier.close()

    # --- boot order and the registry (winreg on the manager's machine) -----------------------

    def _op_group_order(self, scm: int) -> list[str]:
        return _reg.group_order(self._scm(scm).machine)

    def _op_set_group_order(self, scm: int, groups: list[str]) -> None:
        _reg.set_group_order(self._scm(scm).machine, groups)

    def _op_tag_order(self, scm: int, group: str) -> list[int]:
        return _reg.tag_order(self._scm(scm).machine, group)

    def _op_set_tag_order(self, scm: int, group: str, tags: list[int]) -> None:
        _reg.set_tag_order(self._scm(scm).machine, group, tags)

    # --- security descriptors (manager or service handle) ------------------------------------

    def _op_get_security(self, h: int, info: int = 0x7) -> str:
        """QueryServiceObjectSecurity: the self-relative descriptor, in hex like the wire's."""
        handle = self._handles.get(h)
        if handle is None:
            raise ScmError(ERROR_INVALID_HANDLE)
        return _b.object_security(handle.sc, info).hex()

    def _op_set_security(self, h: int, info: int = 0x4, sd: str = "") -> None:
        handle = self._handles.get(h)
        if handle is None:
            raise ScmError(ERROR_INVALID_HANDLE)
        raw = ctypes.create_string_buffer(bytes.fromhex(sd))
        _a.SetServiceObjectSecurity(handle.sc, info, raw)

    def _op_reg_get(self, scm: int, key: str) -> dict[str, dict[str, list[Any]]]:
        return _reg.reg_get(self._scm(scm).machine, key)

    def _op_reg_set(self, scm: int, key: str, values: Any, replace: bool = False) -> None:
        m = self._scm(scm)
        _reg.reg_set(m.machine, key, values, replace, lambda name: self._service_exists(m.sc, name))

    def _op_reg_delete(self, scm: int, key: str) -> None:
        m = self._scm(scm)
        _reg.reg_delete(m.machine, key, lambda name: self._service_exists(m.sc, name))

    @staticmethod
    def _service_exists(scm: int, name: str) -> None:
        """Raises 1060 (from OpenServiceW) unless ``name`` is an installed service."""
        _a.CloseServiceHandle(_a.OpenServiceW(scm, name, SERVICE_QUERY_STATUS))
