"""kernel32 and user32 calls for the wrapper's Windows process layer: job objects (so a stop
reaches the whole process tree), console control events, WM_CLOSE, waits and termination.

Same conventions as :mod:`.advapi32`: ``use_last_error=True`` and an errcheck raising
``OSError`` with ``.winerror``. Windows only.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import Structure, c_int, c_size_t, c_ulonglong, c_void_p
from ctypes.wintypes import BOOL, DWORD, HANDLE, HWND, LARGE_INTEGER, LPARAM, LPCWSTR, LPDWORD, LPVOID, UINT, WPARAM

from . import advapi32

# Fails loudly on other systems, and tells mypy to check the rest only for --platform win32.
assert sys.platform == "win32", "svcctl.winapi.kernel32 is Windows-only"

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any

declare = advapi32.declare
check_handle = advapi32.check_handle

# --- constants ------------------------------------------------------------------------------------
INFINITE = 0xFFFFFFFF
WAIT_OBJECT_0 = 0
WAIT_IO_COMPLETION = 0xC0  # an APC ran during an alertable wait (NotifyServiceStatusChangeW)
WAIT_TIMEOUT = 0x102
WAIT_FAILED = 0xFFFFFFFF
STILL_ACTIVE = 259

SYNCHRONIZE = 0x00100000
PROCESS_TERMINATE = 0x0001
PROCESS_SET_QUOTA = 0x0100
PROCESS_QUERY_LIMITED_INFORMATION = 0x1000

CREATE_SUSPENDED = 0x00000004  # assign to the job before the child can spawn anything
DETACHED_PROCESS = 0x00000008  # no console at all, as a service has
CREATE_NEW_CONSOLE = 0x00000010
CREATE_NEW_PROCESS_GROUP = 0x00000200  # the group id GenerateConsoleCtrlEvent targets
CREATE_UNICODE_ENVIRONMENT = 0x00000400
CREATE_BREAKAWAY_FROM_JOB = 0x01000000
CREATE_NO_WINDOW = 0x08000000

CTRL_C_EVENT = 0
CTRL_BREAK_EVENT = 1

JobObjectBasicAccountingInformation = 1
JobObjectBasicProcessIdList = 3
JobObjectExtendedLimitInformation = 9
JOB_OBJECT_LIMIT_BREAKAWAY_OK = 0x00000800
JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK = 0x00001000
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000

WM_CLOSE = 0x0010


# --- structures -----------------------------------------------------------------------------------
class IO_COUNTERS(Structure):
    _fields_ = [
        ("ReadOperationCount", c_ulonglong),
        ("WriteOperationCount", c_ulonglong),
        ("OtherOperationCount", c_ulonglong),
        ("ReadTransferCount", c_ulonglong),
        ("WriteTransferCount", c_ulonglong),
        ("OtherTransferCount", c_ulonglong),
    ]


class JOBOBJECT_BASIC_LIMIT_INFORMATION(Structure):
    _fields_ = [
        ("PerProcessUserTimeLimit", LARGE_INTEGER),
        ("PerJobUserTimeLimit", LARGE_INTEGER),
        ("LimitFlags", DWORD),
        ("MinimumWorkingSetSize", c_size_t),
        ("MaximumWorkingSetSize", c_size_t),
        ("ActiveProcessLimit", DWORD),
        ("Affinity", c_size_t),  # ULONG_PTR
        ("PriorityClass", DWORD),
        ("SchedulingClass", DWORD),
    ]


class JOBOBJECT_EXTENDED_LIMIT_INFORMATION(Structure):
    _fields_ = [
        ("BasicLimitInformation", JOBOBJECT_BASIC_LIMIT_INFORMATION),
        ("IoInfo", IO_COUNTERS),
        ("ProcessMemoryLimit", c_size_t),
        ("JobMemoryLimit", c_size_t),
        ("PeakProcessMemoryUsed", c_size_t),
        ("PeakJobMemoryUsed", c_size_t),
    ]


class JOBOBJECT_BASIC_ACCOUNTING_INFORMATION(Structure):
    # ActiveProcesses tells when the whole tree has exited.
    _fields_ = [
        ("TotalUserTime", LARGE_INTEGER),
        ("TotalKernelTime", LARGE_INTEGER),
        ("ThisPeriodTotalUserTime", LARGE_INTEGER),
        ("ThisPeriodTotalKernelTime", LARGE_INTEGER),
        ("TotalPageFaultCount", DWORD),
        ("TotalProcesses", DWORD),
        ("ActiveProcesses", DWORD),
        ("TotalTerminatedProcesses", DWORD),
    ]


# --- error checks of the non-BOOL kind ------------------------------------------------------------
def check_wait(result: Any, func: Any, args: tuple[Any, ...]) -> Any:
    """errcheck for the WaitFor* family: WAIT_FAILED is the only failure."""
    if result == WAIT_FAILED:
        raise ctypes.WinError(ctypes.get_last_error())
    return result


def check_dword_minus_one(result: Any, func: Any, args: tuple[Any, ...]) -> Any:
    """errcheck for ResumeThread and friends: (DWORD)-1 means failure."""
    if result == 0xFFFFFFFF:
        raise ctypes.WinError(ctypes.get_last_error())
    return result


# Console control handler: (CTRL_* event) -> TRUE when handled.
PHANDLER_ROUTINE = ctypes.WINFUNCTYPE(BOOL, DWORD)
# EnumWindows callback: (window, lParam) -> FALSE stops the enumeration.
WNDENUMPROC = ctypes.WINFUNCTYPE(BOOL, HWND, LPARAM)

_kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
_user32 = ctypes.WinDLL("user32", use_last_error=True)

# --- handles, processes, waits --------------------------------------------------------------------
CloseHandle = declare(_kernel32, "CloseHandle", BOOL, [HANDLE])
OpenProcess = declare(_kernel32, "OpenProcess", HANDLE, [DWORD, BOOL, DWORD], check_handle)
TerminateProcess = declare(_kernel32, "TerminateProcess", BOOL, [HANDLE, UINT])
GetExitCodeProcess = declare(_kernel32, "GetExitCodeProcess", BOOL, [HANDLE, LPDWORD])
ResumeThread = declare(_kernel32, "ResumeThread", DWORD, [HANDLE], check_dword_minus_one)
WaitForSingleObject = declare(_kernel32, "WaitForSingleObject", DWORD, [HANDLE, DWORD], check_wait)
# (handle, ms, alertable): alertable waits run queued APCs (service status notifications)
WaitForSingleObjectEx = declare(_kernel32, "WaitForSingleObjectEx", DWORD, [HANDLE, DWORD, BOOL], check_wait)
# (ms, alertable) -> 0, or WAIT_IO_COMPLETION when an APC ended the sleep; cannot fail
SleepEx = declare(_kernel32, "SleepEx", DWORD, [DWORD, BOOL], None)
CreateEventW = declare(_kernel32, "CreateEventW", HANDLE, [LPVOID, BOOL, BOOL, LPCWSTR], check_handle)
SetEvent = declare(_kernel32, "SetEvent", BOOL, [HANDLE])
# Returns NULL on success, the handle itself on failure (used for SDs from the SDDL converters).
LocalFree = declare(_kernel32, "LocalFree", c_void_p, [c_void_p], None)

# --- job objects ----------------------------------------------------------------------------------
# (security attributes, name) -> job handle
CreateJobObjectW = declare(_kernel32, "CreateJobObjectW", HANDLE, [LPVOID, LPCWSTR], check_handle)
AssignProcessToJobObject = declare(_kernel32, "AssignProcessToJobObject", BOOL, [HANDLE, HANDLE])
# (job, JOBOBJECTINFOCLASS, structure, size)
SetInformationJobObject = declare(_kernel32, "SetInformationJobObject", BOOL, [HANDLE, c_int, LPVOID, DWORD])
# (job, JOBOBJECTINFOCLASS, structure, size, returned size)
QueryInformationJobObject = declare(
    _kernel32, "QueryInformationJobObject", BOOL, [HANDLE, c_int, LPVOID, DWORD, LPDWORD]
)
TerminateJobObject = declare(_kernel32, "TerminateJobObject", BOOL, [HANDLE, UINT])

# --- consoles -------------------------------------------------------------------------------------
# (CTRL_C_EVENT / CTRL_BREAK_EVENT, process group id): only reaches processes sharing the
# caller's console, hence the AttachConsole(child) / FreeConsole dance for console-less services.
GenerateConsoleCtrlEvent = declare(_kernel32, "GenerateConsoleCtrlEvent", BOOL, [DWORD, DWORD])
# (PHANDLER_ROUTINE or None, add): None with TRUE makes this process ignore CTRL_C, which is
# how a sender keeps its own Ctrl+C from killing itself. LPVOID so that None is accepted.
SetConsoleCtrlHandler = declare(_kernel32, "SetConsoleCtrlHandler", BOOL, [LPVOID, BOOL])
AttachConsole = declare(_kernel32, "AttachConsole", BOOL, [DWORD])
FreeConsole = declare(_kernel32, "FreeConsole", BOOL, [])
AllocConsole = declare(_kernel32, "AllocConsole", BOOL, [])

# --- windows (WM_CLOSE to a GUI child) ------------------------------------------------------------
# FALSE from EnumWindows may just mean the callback stopped it: no errcheck.
EnumWindows = declare(_user32, "EnumWindows", BOOL, [WNDENUMPROC, LPARAM], None)
GetWindowThreadProcessId = declare(_user32, "GetWindowThreadProcessId", DWORD, [HWND, LPDWORD], None)
PostMessageW = declare(_user32, "PostMessageW", BOOL, [HWND, UINT, WPARAM, LPARAM])
