"""The few calls the wrapper's Windows side needs beyond :mod:`.kernel32`: pausing a process tree
(ntdll's NtSuspendProcess/NtResumeProcess), the job's process list, and the event log.

NtSuspendProcess is undocumented but stable since XP and is what Process Explorer and NSSM's
peers use: suspending thread by thread races with threads being created. Same conventions as
:mod:`.advapi32` (``OSError`` with ``.winerror``). Windows only.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import Structure, c_long, c_size_t, c_void_p
from ctypes.wintypes import BOOL, DWORD, HANDLE, LPCWSTR, LPVOID, WORD

from . import advapi32

assert sys.platform == "win32", "svcctl.winapi.wrapper32 is Windows-only"

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any

declare = advapi32.declare

PROCESS_SUSPEND_RESUME = 0x0800
ERROR_MORE_DATA = 234
EVENTLOG_ERROR_TYPE, EVENTLOG_WARNING_TYPE, EVENTLOG_INFORMATION_TYPE = 1, 2, 4


def check_ntstatus(result: Any, func: Any, args: tuple[Any, ...]) -> Any:
    """errcheck for NTSTATUS functions: negative is failure (winerror is the NTSTATUS itself)."""
    if result < 0:
        raise OSError(0, f"{func.__name__}: NTSTATUS 0x{result & 0xFFFFFFFF:08X}", None, result & 0xFFFFFFFF)
    return result


class JOBOBJECT_BASIC_PROCESS_ID_LIST(Structure):
    # Followed by NumberOfProcessIdsInList - 1 more ULONG_PTRs: sized by the caller.
    _fields_ = [
        ("NumberOfAssignedProcesses", DWORD),
        ("NumberOfProcessIdsInList", DWORD),
        ("ProcessIdList", c_size_t * 1),
    ]


_ntdll = ctypes.WinDLL("ntdll", use_last_error=True)
_advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)

NtSuspendProcess = declare(_ntdll, "NtSuspendProcess", c_long, [HANDLE], check_ntstatus)
NtResumeProcess = declare(_ntdll, "NtResumeProcess", c_long, [HANDLE], check_ntstatus)

# (server, source name) -> event source handle
RegisterEventSourceW = declare(_advapi32, "RegisterEventSourceW", HANDLE, [LPCWSTR, LPCWSTR], advapi32.check_handle)
DeregisterEventSource = declare(_advapi32, "DeregisterEventSource", BOOL, [HANDLE])
# (source, type, category, event id, user SID, string count, data size, strings, data)
ReportEventW = declare(
    _advapi32, "ReportEventW", BOOL, [HANDLE, WORD, WORD, DWORD, LPVOID, WORD, DWORD, c_void_p, LPVOID]
)


def job_process_ids(job: int) -> list[int]:
    """The ids of the processes in ``job`` now (JobObjectBasicProcessIdList, grown on 234)."""
    from .kernel32 import JobObjectBasicProcessIdList, QueryInformationJobObject

    room = 16
    while True:
        size = ctypes.sizeof(JOBOBJECT_BASIC_PROCESS_ID_LIST) + (room - 1) * ctypes.sizeof(c_size_t)
        buf = ctypes.create_string_buffer(size)
        try:
            QueryInformationJobObject(job, JobObjectBasicProcessIdList, buf, size, None)
        except OSError as exc:
            if exc.winerror != ERROR_MORE_DATA or room >= 65536:
                raise
        head = JOBOBJECT_BASIC_PROCESS_ID_LIST.from_buffer(buf)
        if head.NumberOfAssignedProcesses > head.NumberOfProcessIdsInList and room < 65536:
            room = max(room * 2, head.NumberOfAssignedProcesses + 8)
            continue
        offset = JOBOBJECT_BASIC_PROCESS_ID_LIST.ProcessIdList.offset
        ids = (c_size_t * head.NumberOfProcessIdsInList).from_buffer(buf, offset)
        return [int(pid) for pid in ids]


def report_event(source: int, level: int, event_id: int, text: str) -> None:
    """One event with one insertion string (the whole text)."""
    strings = (LPCWSTR * 1)(text)
    ReportEventW(source, level, 0, event_id, None, 1, 0, strings, None)
