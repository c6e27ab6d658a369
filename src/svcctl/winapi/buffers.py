"""One grow-and-retry loop for the Win32 calls that answer "buffer too small" with a size.

QueryServiceConfigW, QueryServiceConfig2W, EnumServicesStatusExW, EnumDependentServicesW,
GetServiceDisplayNameW / GetServiceKeyNameW and QueryServiceObjectSecurity all fail with
ERROR_INSUFFICIENT_BUFFER (122) or ERROR_MORE_DATA (234) and report the size they need. The
size can change between two calls (a service is created or renamed meanwhile), so the answer is
a loop, written once here: :func:`grow_and_retry`. The per-call functions below it are thin
users of it for Windows; the helper itself is plain ctypes and imports on any system, so its
logic is tested on Linux too.

Two quirks it absorbs: EnumServicesStatusExW on Windows fills what fits, answers 234 and moves
its resume handle (``partial`` consumes those entries and the loop goes on), while Wine 8
returns 0 entries with 234 and ignores the resume handle (the loop grows the buffer instead).
"""

from __future__ import annotations

import ctypes
import sys
from ctypes.wintypes import DWORD

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from collections.abc import Callable

    #: call(buffer, size, needed): the API call with ``buffer`` of ``size`` units; raises OSError.
    SizedCall = Callable[[ctypes.Array[ctypes.c_char], int, DWORD], object]

ERROR_INSUFFICIENT_BUFFER = 122
ERROR_MORE_DATA = 234
#: Growing attempts before the last error is raised: sizes that keep changing mean a busy SCM,
#: sizes that never suffice mean a broken callee; neither deserves an endless loop.
MAX_TRIES = 8


def winerror_of(exc: OSError) -> int | None:
    """``exc.winerror`` where it exists (Windows), else None: OSError only has it on Windows."""
    code = getattr(exc, "winerror", None)
    return code if isinstance(code, int) else None


def grow_and_retry(
    call: SizedCall,
    size: int = 1024,
    *,
    unit: int = 1,
    slack: int = 0,
    partial: Callable[[ctypes.Array[ctypes.c_char]], bool] | None = None,
) -> ctypes.Array[ctypes.c_char]:
    """Run ``call(buffer, size, needed)`` with larger buffers until it succeeds; the buffer.

    ``size`` counts units of ``unit`` bytes (2 for the name calls, which count WCHARs).
    ``needed`` is a DWORD preset to ``size``: calls with an in/out length (GetServiceDisplayNameW)
    pass it as that, the others as their bytes-needed pointer. After a 122/234 the next size is
    ``needed + slack`` (``slack=1`` for the terminating NUL the name calls leave out), and at
    least double the last one, so a callee that keeps under-reporting cannot loop forever.

    ``partial(buffer)`` serves calls that return part of the answer with 234: it takes the
    entries from ``buffer`` and returns True when there were any, and then the call is simply
    repeated (its resume handle has moved on) without counting as a retry.
    """
    tries = 0
    while True:
        buf = ctypes.create_string_buffer(max(size, 1) * unit)
        needed = DWORD(size)
        try:
            call(buf, size, needed)
            return buf
        except OSError as exc:
            code = winerror_of(exc)
            if code not in (ERROR_INSUFFICIENT_BUFFER, ERROR_MORE_DATA):
                raise
            if code == ERROR_MORE_DATA and partial is not None and partial(buf):
                size = max(size, needed.value + slack)
                continue
            tries += 1
            if tries >= MAX_TRIES:
                raise
            size = max(needed.value + slack, size * 2)


if sys.platform == "win32":
    from ctypes import byref, cast, sizeof
    from ctypes.wintypes import LPWSTR

    from . import advapi32 as _a

    def query_config(handle: int) -> _a.QUERY_SERVICE_CONFIGW:
        """QueryServiceConfigW; the structure keeps its buffer (and so its strings) alive.
        Read dependencies with ``advapi32.parse_multi_sz(cfg.lpDependencies)``."""
        buf = grow_and_retry(lambda b, n, need: _a.QueryServiceConfigW(handle, b, n, byref(need)), 1024)
        return _a.QUERY_SERVICE_CONFIGW.from_buffer(buf)

    def query_config2(handle: int, level: int) -> ctypes.Array[ctypes.c_char]:
        """QueryServiceConfig2W: the raw buffer, whose head is the level's structure."""
        return grow_and_retry(lambda b, n, need: _a.QueryServiceConfig2W(handle, level, b, n, byref(need)), 256)

    def enum_services(
        scm: int, service_type: int, state: int, group: str | None = None
    ) -> list[tuple[str, str, _a.SERVICE_STATUS_PROCESS]]:
        """EnumServicesStatusExW, every page: (key name, display name, status) in SCM order."""
        rows: list[tuple[str, str, _a.SERVICE_STATUS_PROCESS]] = []
        returned = DWORD()
        resume = DWORD(0)

        def take(buf: ctypes.Array[ctypes.c_char]) -> bool:
            entries = (_a.ENUM_SERVICE_STATUS_PROCESSW * returned.value).from_buffer(buf)
            for e in entries:
                status = _a.SERVICE_STATUS_PROCESS.from_buffer_copy(e.ServiceStatusProcess)
                rows.append((e.lpServiceName, e.lpDisplayName or "", status))
            return returned.value > 0

        def call(buf: ctypes.Array[ctypes.c_char], size: int, need: DWORD) -> object:
            returned.value = 0
            return _a.EnumServicesStatusExW(
                scm, _a.SC_ENUM_PROCESS_INFO, service_type, state, buf, size, byref(need),
                byref(returned), byref(resume), group,
            )  # fmt: skip

        take(grow_and_retry(call, 16384, partial=take))
        return rows

    def enum_dependents(handle: int, state: int) -> list[tuple[str, str, _a.SERVICE_STATUS]]:
        """EnumDependentServicesW: (key name, display name, status), reverse start order."""
        returned = DWORD()

        def call(buf: ctypes.Array[ctypes.c_char], size: int, need: DWORD) -> object:
            return _a.EnumDependentServicesW(handle, state, buf, size, byref(need), byref(returned))

        buf = grow_and_retry(call, 4096)
        entries = (_a.ENUM_SERVICE_STATUSW * returned.value).from_buffer(buf)
        return [
            (e.lpServiceName, e.lpDisplayName or "", _a.SERVICE_STATUS.from_buffer_copy(e.ServiceStatus))
            for e in entries
        ]

    def _name_call(func: Callable[..., object], scm: int, name: str) -> str:
        buf = grow_and_retry(
            lambda b, n, need: func(scm, name, cast(b, LPWSTR), byref(need)), 257, unit=sizeof(ctypes.c_wchar), slack=1
        )
        return ctypes.wstring_at(buf)

    def display_name(scm: int, key_name: str) -> str:
        """GetServiceDisplayNameW (the key name when no display name is set)."""
        return _name_call(_a.GetServiceDisplayNameW, scm, key_name)

    def key_name(scm: int, display_name: str) -> str:
        """GetServiceKeyNameW."""
        return _name_call(_a.GetServiceKeyNameW, scm, display_name)

    def object_security(handle: int, info: int) -> bytes:
        """QueryServiceObjectSecurity: the self-relative security descriptor's bytes."""
        buf = grow_and_retry(lambda b, n, need: _a.QueryServiceObjectSecurity(handle, info, b, n, byref(need)), 256)
        return buf.raw[: _a.GetSecurityDescriptorLength(buf)]
