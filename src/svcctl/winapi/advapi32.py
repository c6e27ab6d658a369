"""advapi32's service API over ctypes: structures, callback types and prototypes.

A one-to-one image of the Win32 declarations (winsvc.h), so that code above reads like the C it
replaces and the documentation applies unchanged. Functions are loaded with
``use_last_error=True`` and carry an errcheck: a failure raises ``OSError`` whose ``winerror``
is GetLastError's value, taken right after the call (before Python code can overwrite it).

Windows only: importing loads advapi32.dll. Wine 8 lacks ControlServiceExW (and its sechost
stub aborts the caller), so it is not declared here; see docs/wine.md.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import POINTER, Structure, byref, c_void_p
from ctypes.wintypes import BOOL, DWORD, HANDLE, LPCWSTR, LPDWORD, LPVOID, LPWSTR

# Fails loudly on other systems, and tells mypy to check the rest only for --platform win32.
assert sys.platform == "win32", "svcctl.winapi.advapi32 is Windows-only"

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "LPHANDLER_FUNCTION_EX",
    "LPSERVICE_MAIN_FUNCTIONW",
    "PFN_SC_NOTIFY_CALLBACK",
    "ENUM_SERVICE_STATUS_PROCESSW",
    "ENUM_SERVICE_STATUSW",
    "QUERY_SERVICE_CONFIGW",
    "SC_ACTION",
    "SERVICE_DELAYED_AUTO_START_INFO",
    "SERVICE_DESCRIPTIONW",
    "SERVICE_FAILURE_ACTIONS_FLAG",
    "SERVICE_FAILURE_ACTIONSW",
    "SERVICE_NOTIFYW",
    "SERVICE_PRESHUTDOWN_INFO",
    "SERVICE_REQUIRED_PRIVILEGES_INFOW",
    "SERVICE_SID_INFO",
    "SERVICE_STATUS",
    "SERVICE_STATUS_PROCESS",
    "SERVICE_TABLE_ENTRYW",
    "SC_HANDLE",
    "SERVICE_STATUS_HANDLE",
    "check_bool",
    "check_handle",
    "check_error_code",
    "declare",
    "service_table",
    "multi_sz",
    "parse_multi_sz",
]

SC_HANDLE = HANDLE
SERVICE_STATUS_HANDLE = HANDLE

# --- constants the raw layer itself needs (the rest are svcctl.types' enums) ----------------------
SC_ENUM_PROCESS_INFO = 0  # EnumServicesStatusExW's only info level
SC_STATUS_PROCESS_INFO = 0  # QueryServiceStatusEx's only info level
SERVICE_NO_CHANGE = 0xFFFFFFFF
SERVICE_NOTIFY_STATUS_CHANGE = 2  # SERVICE_NOTIFYW.dwVersion
# Security information bits for Query/SetServiceObjectSecurity.
OWNER_SECURITY_INFORMATION = 0x1
GROUP_SECURITY_INFORMATION = 0x2
DACL_SECURITY_INFORMATION = 0x4
SACL_SECURITY_INFORMATION = 0x8


# --- structures ------------------------------------------------------------------------------------
class SERVICE_STATUS(Structure):
    _fields_ = [
        ("dwServiceType", DWORD),
        ("dwCurrentState", DWORD),
        ("dwControlsAccepted", DWORD),
        ("dwWin32ExitCode", DWORD),
        ("dwServiceSpecificExitCode", DWORD),
        ("dwCheckPoint", DWORD),
        ("dwWaitHint", DWORD),
    ]


class SERVICE_STATUS_PROCESS(Structure):
    _fields_ = [  # SERVICE_STATUS, then the two fields QueryServiceStatusEx adds
        *SERVICE_STATUS._fields_,
        ("dwProcessId", DWORD),
        ("dwServiceFlags", DWORD),
    ]


class QUERY_SERVICE_CONFIGW(Structure):
    # The strings point into the same caller-supplied buffer, after the structure.
    _fields_ = [
        ("dwServiceType", DWORD),
        ("dwStartType", DWORD),
        ("dwErrorControl", DWORD),
        ("lpBinaryPathName", LPWSTR),
        ("lpLoadOrderGroup", LPWSTR),
        ("dwTagId", DWORD),
        ("lpDependencies", LPVOID),  # a multi-sz: LPWSTR would stop at the first NUL
        ("lpServiceStartName", LPWSTR),
        ("lpDisplayName", LPWSTR),
    ]


class SERVICE_DESCRIPTIONW(Structure):
    _fields_ = [("lpDescription", LPWSTR)]


class SC_ACTION(Structure):
    _fields_ = [("Type", DWORD), ("Delay", DWORD)]  # SC_ACTION_TYPE is a C enum: 32 bits


class SERVICE_FAILURE_ACTIONSW(Structure):
    _fields_ = [
        ("dwResetPeriod", DWORD),
        ("lpRebootMsg", LPWSTR),
        ("lpCommand", LPWSTR),
        ("cActions", DWORD),
        ("lpsaActions", POINTER(SC_ACTION)),
    ]


class SERVICE_FAILURE_ACTIONS_FLAG(Structure):
    _fields_ = [("fFailureActionsOnNonCrashFailures", BOOL)]


class SERVICE_DELAYED_AUTO_START_INFO(Structure):
    _fields_ = [("fDelayedAutostart", BOOL)]


class SERVICE_PRESHUTDOWN_INFO(Structure):
    _fields_ = [("dwPreshutdownTimeout", DWORD)]


class SERVICE_SID_INFO(Structure):
    _fields_ = [("dwServiceSidType", DWORD)]


class SERVICE_REQUIRED_PRIVILEGES_INFOW(Structure):
    _fields_ = [("pmszRequiredPrivileges", LPVOID)]  # multi-sz


class ENUM_SERVICE_STATUSW(Structure):
    _fields_ = [("lpServiceName", LPWSTR), ("lpDisplayName", LPWSTR), ("ServiceStatus", SERVICE_STATUS)]


class ENUM_SERVICE_STATUS_PROCESSW(Structure):
    _fields_ = [
        ("lpServiceName", LPWSTR),
        ("lpDisplayName", LPWSTR),
        ("ServiceStatusProcess", SERVICE_STATUS_PROCESS),
    ]


# --- callbacks ------------------------------------------------------------------------------------
# ServiceMain(argc, argv). The pointer array lives only during the call: copy the strings out.
LPSERVICE_MAIN_FUNCTIONW = ctypes.WINFUNCTYPE(None, DWORD, POINTER(LPWSTR))
# HandlerEx(control, event type, event data, context) -> NO_ERROR or a Win32 code.
LPHANDLER_FUNCTION_EX = ctypes.WINFUNCTYPE(DWORD, DWORD, DWORD, LPVOID, LPVOID)
# NotifyServiceStatusChangeW's APC: receives the SERVICE_NOTIFYW it was given.
PFN_SC_NOTIFY_CALLBACK = ctypes.WINFUNCTYPE(None, LPVOID)


class SERVICE_TABLE_ENTRYW(Structure):
    _fields_ = [("lpServiceName", LPWSTR), ("lpServiceProc", LPSERVICE_MAIN_FUNCTIONW)]


class SERVICE_NOTIFYW(Structure):
    # SERVICE_NOTIFY_2W. lpServiceNames is LocalAlloc'ed by the SCM (only for SCM-handle
    # notifications, which Wine does not implement): the receiver LocalFree()s it.
    _fields_ = [
        ("dwVersion", DWORD),
        ("pfnNotifyCallback", PFN_SC_NOTIFY_CALLBACK),
        ("pContext", LPVOID),
        ("dwNotificationStatus", DWORD),
        ("ServiceStatus", SERVICE_STATUS_PROCESS),
        ("dwNotificationTriggered", DWORD),
        ("pszServiceNames", LPWSTR),
    ]


# --- error checks ---------------------------------------------------------------------------------
def check_bool(result: Any, func: Any, args: tuple[Any, ...]) -> Any:
    """errcheck for BOOL functions: FALSE means failure, the code is in GetLastError."""
    if not result:
        raise ctypes.WinError(ctypes.get_last_error())
    return result


def check_handle(result: Any, func: Any, args: tuple[Any, ...]) -> Any:
    """errcheck for functions returning a handle: NULL (None from c_void_p) means failure."""
    if not result:
        raise ctypes.WinError(ctypes.get_last_error())
    return result


def check_error_code(result: Any, func: Any, args: tuple[Any, ...]) -> Any:
    """errcheck for functions that return the Win32 code itself (NotifyServiceStatusChangeW)."""
    if result:
        raise ctypes.WinError(result)
    return result


def declare(dll: ctypes.WinDLL, name: str, restype: Any, argtypes: list[Any], errcheck: Any = check_bool) -> Any:
    """Declare one export: its C signature, and the check that turns failure into OSError."""
    func = getattr(dll, name)
    func.restype = restype
    func.argtypes = argtypes
    if errcheck is not None:
        func.errcheck = errcheck
    return func


_advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
_P = POINTER

# --- SCM and service handles ----------------------------------------------------------------------
OpenSCManagerW = declare(_advapi32, "OpenSCManagerW", SC_HANDLE, [LPCWSTR, LPCWSTR, DWORD], check_handle)
CreateServiceW = declare(
    _advapi32,
    "CreateServiceW",
    SC_HANDLE,
    # scm, name, display, access, type, start, error control, binary path, group, tag id (out),
    # dependencies (multi-sz), start name, password
    [SC_HANDLE, LPCWSTR, LPCWSTR, DWORD, DWORD, DWORD, DWORD, LPCWSTR, LPCWSTR, LPDWORD, LPCWSTR, LPCWSTR, LPCWSTR],
    check_handle,
)
OpenServiceW = declare(_advapi32, "OpenServiceW", SC_HANDLE, [SC_HANDLE, LPCWSTR, DWORD], check_handle)
DeleteService = declare(_advapi32, "DeleteService", BOOL, [SC_HANDLE])
CloseServiceHandle = declare(_advapi32, "CloseServiceHandle", BOOL, [SC_HANDLE])

# --- status and configuration ---------------------------------------------------------------------
QueryServiceStatus = declare(_advapi32, "QueryServiceStatus", BOOL, [SC_HANDLE, _P(SERVICE_STATUS)])
# (service, SC_STATUS_PROCESS_INFO, buffer, size, needed)
QueryServiceStatusEx = declare(_advapi32, "QueryServiceStatusEx", BOOL, [SC_HANDLE, DWORD, c_void_p, DWORD, LPDWORD])
# (service, buffer, size, needed) -> 122 with *needed when the buffer is too small
QueryServiceConfigW = declare(_advapi32, "QueryServiceConfigW", BOOL, [SC_HANDLE, c_void_p, DWORD, LPDWORD])
# (service, level, buffer, size, needed)
QueryServiceConfig2W = declare(_advapi32, "QueryServiceConfig2W", BOOL, [SC_HANDLE, DWORD, c_void_p, DWORD, LPDWORD])
ChangeServiceConfigW = declare(
    _advapi32,
    "ChangeServiceConfigW",
    BOOL,
    # service, type, start, error control, binary path, group, tag id (out), dependencies,
    # start name, password, display name
    [SC_HANDLE, DWORD, DWORD, DWORD, LPCWSTR, LPCWSTR, LPDWORD, LPCWSTR, LPCWSTR, LPCWSTR, LPCWSTR],
)
# (service, level, pointer to the level's structure)
ChangeServiceConfig2W = declare(_advapi32, "ChangeServiceConfig2W", BOOL, [SC_HANDLE, DWORD, c_void_p])

# --- run state ------------------------------------------------------------------------------------
# (service, argc, argv)
StartServiceW = declare(_advapi32, "StartServiceW", BOOL, [SC_HANDLE, DWORD, _P(LPCWSTR)])
# (service, control, last status out): the status is filled even on some failures (e.g. 1052)
ControlService = declare(_advapi32, "ControlService", BOOL, [SC_HANDLE, DWORD, _P(SERVICE_STATUS)])
# (service, mask of SERVICE_NOTIFY_* states, SERVICE_NOTIFYW): the callback is an APC, so the
# calling thread must wait alertably (SleepEx / WaitForSingleObjectEx with bAlertable=TRUE).
NotifyServiceStatusChangeW = declare(
    _advapi32, "NotifyServiceStatusChangeW", DWORD, [SC_HANDLE, DWORD, _P(SERVICE_NOTIFYW)], check_error_code
)

# --- enumeration and names ------------------------------------------------------------------------
EnumServicesStatusExW = declare(
    _advapi32,
    "EnumServicesStatusExW",
    BOOL,
    # scm, SC_ENUM_PROCESS_INFO, type, state, buffer, size, needed, returned, resume handle, group
    [SC_HANDLE, DWORD, DWORD, DWORD, c_void_p, DWORD, LPDWORD, LPDWORD, LPDWORD, LPCWSTR],
)
# (service, state, buffer of ENUM_SERVICE_STATUSW, size, needed, returned)
EnumDependentServicesW = declare(
    _advapi32, "EnumDependentServicesW", BOOL, [SC_HANDLE, DWORD, c_void_p, DWORD, LPDWORD, LPDWORD]
)
# (scm, key name, buffer, in: buffer size / out: length, both in characters without the NUL)
GetServiceDisplayNameW = declare(_advapi32, "GetServiceDisplayNameW", BOOL, [SC_HANDLE, LPCWSTR, LPWSTR, LPDWORD])
GetServiceKeyNameW = declare(_advapi32, "GetServiceKeyNameW", BOOL, [SC_HANDLE, LPCWSTR, LPWSTR, LPDWORD])

# --- security -------------------------------------------------------------------------------------
# (service, SECURITY_INFORMATION, self-relative SD buffer, size, needed)
QueryServiceObjectSecurity = declare(
    _advapi32, "QueryServiceObjectSecurity", BOOL, [SC_HANDLE, DWORD, c_void_p, DWORD, LPDWORD]
)
SetServiceObjectSecurity = declare(_advapi32, "SetServiceObjectSecurity", BOOL, [SC_HANDLE, DWORD, c_void_p])
# The length of a valid security descriptor (undefined for an invalid one: no error to check).
GetSecurityDescriptorLength = declare(_advapi32, "GetSecurityDescriptorLength", DWORD, [c_void_p], None)
# SDDL <-> self-relative security descriptor, to show and take SDs the way `sc sdshow/sdset` do.
ConvertSecurityDescriptorToStringSecurityDescriptorW = declare(
    _advapi32,
    "ConvertSecurityDescriptorToStringSecurityDescriptorW",
    BOOL,
    [c_void_p, DWORD, DWORD, _P(LPWSTR), LPDWORD],  # (SD, SDDL_REVISION_1, info, out string, out len)
)
ConvertStringSecurityDescriptorToSecurityDescriptorW = declare(
    _advapi32,
    "ConvertStringSecurityDescriptorToSecurityDescriptorW",
    BOOL,
    [LPCWSTR, DWORD, _P(c_void_p), LPDWORD],  # (SDDL, SDDL_REVISION_1, out SD (LocalFree it), out size)
)

# --- service side ---------------------------------------------------------------------------------
# Blocks until every service of the table stopped; 1063 at once when not started by the SCM.
StartServiceCtrlDispatcherW = declare(_advapi32, "StartServiceCtrlDispatcherW", BOOL, [_P(SERVICE_TABLE_ENTRYW)])
RegisterServiceCtrlHandlerExW = declare(
    _advapi32,
    "RegisterServiceCtrlHandlerExW",
    SERVICE_STATUS_HANDLE,
    [LPCWSTR, LPHANDLER_FUNCTION_EX, LPVOID],
    check_handle,
)
SetServiceStatus = declare(_advapi32, "SetServiceStatus", BOOL, [SERVICE_STATUS_HANDLE, _P(SERVICE_STATUS)])


# --- small helpers every caller of the above needs ------------------------------------------------
def multi_sz(items: list[str] | None) -> str | None:
    """A REG_MULTI_SZ-style string for LPCWSTR arguments (dependencies): None stays None
    ("no change"), [] becomes the empty list (one NUL), as ChangeServiceConfigW expects."""
    if items is None:
        return None
    return "".join(s + "\0" for s in items) + "\0"


def parse_multi_sz(address: int | None) -> list[str]:
    """Read a double-NUL-terminated string list at ``address`` (None/NULL: the empty list)."""
    items: list[str] = []
    if not address:
        return items
    size = ctypes.sizeof(ctypes.c_wchar)
    while True:
        s = ctypes.wstring_at(address)
        if not s:
            return items
        items.append(s)
        address += (len(s) + 1) * size


def service_table(entries: list[tuple[str, Any]]) -> ctypes.Array[SERVICE_TABLE_ENTRYW]:
    """A NULL-terminated SERVICE_TABLE_ENTRYW array from (name, LPSERVICE_MAIN_FUNCTIONW) pairs.

    The callbacks must stay referenced by the caller for as long as the dispatcher runs: the
    array keeps them alive only as long as the array itself lives.
    """
    table = (SERVICE_TABLE_ENTRYW * (len(entries) + 1))()
    for i, (name, main) in enumerate(entries):
        table[i].lpServiceName = name
        table[i].lpServiceProc = main
    return table


def query_status(handle: int) -> SERVICE_STATUS_PROCESS:
    """QueryServiceStatusEx at its only level (a fixed-size answer: no buffer dance)."""
    status = SERVICE_STATUS_PROCESS()
    needed = DWORD()
    QueryServiceStatusEx(handle, SC_STATUS_PROCESS_INFO, byref(status), ctypes.sizeof(status), byref(needed))
    return status
