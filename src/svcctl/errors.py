"""Win32 error codes of the service API and the one exception tree that carries them.

Every failure anywhere in svcctl (daemon, backends, service side, CLI) is an :class:`ScmError`
whose ``winerror`` is the Win32 code Windows would return, so callers can branch on numbers that
mean the same thing on every backend. The message texts are Windows' ``FormatMessage`` strings
(English), which ``sc``-style output prints verbatim.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import ClassVar


ERROR_SUCCESS = 0
ERROR_INVALID_FUNCTION = 1
ERROR_FILE_NOT_FOUND = 2
ERROR_PATH_NOT_FOUND = 3
ERROR_ACCESS_DENIED = 5
ERROR_INVALID_HANDLE = 6
ERROR_NOT_ENOUGH_MEMORY = 8
ERROR_INVALID_DATA = 13
ERROR_NOT_SUPPORTED = 50
ERROR_INVALID_PARAMETER = 87
ERROR_CALL_NOT_IMPLEMENTED = 120
ERROR_INSUFFICIENT_BUFFER = 122
ERROR_INVALID_NAME = 123
ERROR_INVALID_LEVEL = 124
ERROR_BAD_EXE_FORMAT = 193
ERROR_MORE_DATA = 234
ERROR_DIRECTORY = 267
ERROR_INVALID_ADDRESS = 487
ERROR_DEPENDENT_SERVICES_RUNNING = 1051
ERROR_INVALID_SERVICE_CONTROL = 1052
ERROR_SERVICE_REQUEST_TIMEOUT = 1053
ERROR_SERVICE_NO_THREAD = 1054
ERROR_SERVICE_DATABASE_LOCKED = 1055
ERROR_SERVICE_ALREADY_RUNNING = 1056
ERROR_INVALID_SERVICE_ACCOUNT = 1057
ERROR_SERVICE_DISABLED = 1058
ERROR_CIRCULAR_DEPENDENCY = 1059
ERROR_SERVICE_DOES_NOT_EXIST = 1060
ERROR_SERVICE_CANNOT_ACCEPT_CTRL = 1061
ERROR_SERVICE_NOT_ACTIVE = 1062
ERROR_FAILED_SERVICE_CONTROLLER_CONNECT = 1063
ERROR_EXCEPTION_IN_SERVICE = 1064
ERROR_DATABASE_DOES_NOT_EXIST = 1065
ERROR_SERVICE_SPECIFIC_ERROR = 1066
ERROR_PROCESS_ABORTED = 1067
ERROR_SERVICE_DEPENDENCY_FAIL = 1068
ERROR_SERVICE_LOGON_FAILED = 1069
ERROR_SERVICE_START_HANG = 1070
ERROR_INVALID_SERVICE_LOCK = 1071
ERROR_SERVICE_MARKED_FOR_DELETE = 1072
ERROR_SERVICE_EXISTS = 1073
ERROR_ALREADY_RUNNING_LKG = 1074
ERROR_SERVICE_DEPENDENCY_DELETED = 1075
ERROR_BOOT_ALREADY_ACCEPTED = 1076
ERROR_SERVICE_NEVER_STARTED = 1077
ERROR_DUPLICATE_SERVICE_NAME = 1078
ERROR_DIFFERENT_SERVICE_ACCOUNT = 1079
ERROR_CANNOT_DETECT_DRIVER_FAILURE = 1080
ERROR_CANNOT_DETECT_PROCESS_ABORT = 1081
ERROR_NO_RECOVERY_PROGRAM = 1082
ERROR_SERVICE_NOT_IN_EXE = 1083
ERROR_NOT_SAFEBOOT_SERVICE = 1084
ERROR_SHUTDOWN_IN_PROGRESS = 1115
ERROR_REQUEST_ABORTED = 1235
ERROR_ALREADY_REGISTERED = 1242
ERROR_INCOMPATIBLE_SERVICE_SID_TYPE = 1290
ERROR_SERVICE_NOTIFY_CLIENT_LAGGING = 1294
ERROR_PRIVILEGE_NOT_HELD = 1314
ERROR_NONE_MAPPED = 1332
ERROR_TIMEOUT = 1460
ERROR_INVALID_COMMAND_LINE = 1639
RPC_S_SERVER_UNAVAILABLE = 1722

#: Windows' message text for each code (``FormatMessage``, en-US).
MESSAGES: dict[int, str] = {
    ERROR_SUCCESS: 'The operation completed successfully.',
    ERROR_INVALID_FUNCTION: 'Incorrect function.',
    ERROR_FILE_NOT_FOUND: 'The system cannot find the file specified.',
    ERROR_PATH_NOT_FOUND: 'The system cannot find the path specified.',
    ERROR_ACCESS_DENIED: 'Access is denied.',
    ERROR_INVALID_HANDLE: 'The handle is invalid.',
    ERROR_NOT_ENOUGH_MEMORY: 'Not enough memory resources are available to process this command.',
    ERROR_INVALID_DATA: 'The data is invalid.',
    ERROR_NOT_SUPPORTED: 'The request is not supported.',
    ERROR_INVALID_PARAMETER: 'The parameter is incorrect.',
    ERROR_CALL_NOT_IMPLEMENTED: 'This function is not supported on this system.',
    ERROR_INSUFFICIENT_BUFFER: 'The data area passed to a system call is too small.',
    ERROR_INVALID_NAME: 'The filename, directory name, or volume label syntax is incorrect.',
    ERROR_INVALID_LEVEL: 'The system call level is not correct.',
    ERROR_BAD_EXE_FORMAT: '%1 is not a valid Win32 application.',
    ERROR_MORE_DATA: 'More data is available.',
    ERROR_DIRECTORY: 'The directory name is invalid.',
    ERROR_INVALID_ADDRESS: 'Attempt to access invalid address.',
    ERROR_DEPENDENT_SERVICES_RUNNING: 'A stop control has been sent to a service that other running services are dependent on.',
    ERROR_INVALID_SERVICE_CONTROL: 'The requested control is not valid for this service.',
    ERROR_SERVICE_REQUEST_TIMEOUT: 'The service did not respond to the start or control request in a timely fashion.',
    ERROR_SERVICE_NO_THREAD: 'A thread could not be created for the service.',
    ERROR_SERVICE_DATABASE_LOCKED: 'The service database is locked.',
    ERROR_SERVICE_ALREADY_RUNNING: 'An instance of the service is already running.',
    ERROR_INVALID_SERVICE_ACCOUNT: 'The account name is invalid or does not exist, or the password is invalid for the account name specified.',
    ERROR_SERVICE_DISABLED: 'The service cannot be started, either because it is disabled or because it has no enabled devices associated with it.',
    ERROR_CIRCULAR_DEPENDENCY: 'Circular service dependency was specified.',
    ERROR_SERVICE_DOES_NOT_EXIST: 'The specified service does not exist as an installed service.',
    ERROR_SERVICE_CANNOT_ACCEPT_CTRL: 'The service cannot accept control messages at this time.',
    ERROR_SERVICE_NOT_ACTIVE: 'The service has not been started.',
    ERROR_FAILED_SERVICE_CONTROLLER_CONNECT: 'The service process could not connect to the service controller.',
    ERROR_EXCEPTION_IN_SERVICE: 'An exception occurred in the service when handling the control request.',
    ERROR_DATABASE_DOES_NOT_EXIST: 'The database specified does not exist.',
    ERROR_SERVICE_SPECIFIC_ERROR: 'The service has returned a service-specific error code.',
    ERROR_PROCESS_ABORTED: 'The process terminated unexpectedly.',
    ERROR_SERVICE_DEPENDENCY_FAIL: 'The dependency service or group failed to start.',
    ERROR_SERVICE_LOGON_FAILED: 'The service did not start due to a logon failure.',
    ERROR_SERVICE_START_HANG: 'After starting, the service hung in a start-pending state.',
    ERROR_INVALID_SERVICE_LOCK: 'The specified service database lock is invalid.',
    ERROR_SERVICE_MARKED_FOR_DELETE: 'The specified service has been marked for deletion.',
    ERROR_SERVICE_EXISTS: 'The specified service already exists.',
    ERROR_ALREADY_RUNNING_LKG: 'The system is currently running with the last-known-good configuration.',
    ERROR_SERVICE_DEPENDENCY_DELETED: 'The dependency service does not exist or has been marked for deletion.',
    ERROR_BOOT_ALREADY_ACCEPTED: 'The current boot has already been accepted for use as the last-known-good control set.',
    ERROR_SERVICE_NEVER_STARTED: 'No attempts to start the service have been made since the last boot.',
    ERROR_DUPLICATE_SERVICE_NAME: 'The name is already in use as either a service name or a service display name.',
    ERROR_DIFFERENT_SERVICE_ACCOUNT: 'The account specified for this service is different from the account specified for other services running in the same process.',
    ERROR_CANNOT_DETECT_DRIVER_FAILURE: 'Failure actions can only be set for Win32 services, not for drivers.',
    ERROR_CANNOT_DETECT_PROCESS_ABORT: "This service runs in the same process as the service control manager. Therefore, the service control manager cannot take action if this service's process terminates unexpectedly.",
    ERROR_NO_RECOVERY_PROGRAM: 'No recovery program has been configured for this service.',
    ERROR_SERVICE_NOT_IN_EXE: 'The executable program that this service is configured to run in does not implement the service.',
    ERROR_NOT_SAFEBOOT_SERVICE: 'This service cannot be started in Safe Mode.',
    ERROR_SHUTDOWN_IN_PROGRESS: 'A system shutdown is in progress.',
    ERROR_REQUEST_ABORTED: 'The request was aborted.',
    ERROR_ALREADY_REGISTERED: 'The service is already registered.',
    ERROR_INCOMPATIBLE_SERVICE_SID_TYPE: 'The service start failed since one or more services in the same process have an incompatible service SID type setting. A service with restricted service SID type can only coexist in the same process with other services with a restricted SID type. If the service SID type for this service was just configured, the hosting process must be restarted in order to start this service.',
    ERROR_SERVICE_NOTIFY_CLIENT_LAGGING: 'The service notification client is lagging too far behind the current state of services in the machine.',
    ERROR_PRIVILEGE_NOT_HELD: 'A required privilege is not held by the client.',
    ERROR_NONE_MAPPED: 'No mapping between account names and security IDs was done.',
    ERROR_TIMEOUT: 'This operation returned because the timeout period expired.',
    ERROR_INVALID_COMMAND_LINE: 'Invalid command line argument. Consult the Windows Installer SDK for detailed command line help.',
    RPC_S_SERVER_UNAVAILABLE: 'The RPC server is unavailable.',
}


def message(code: int) -> str:
    """Windows' text for ``code``; unknown codes get a neutral text that still names the number."""
    return MESSAGES.get(code, f"Unknown error {code}.")


class ScmError(OSError):
    """A service-control failure carrying the Win32 code (``.winerror``) Windows would return.

    ``ScmError(1060)`` picks the named subclass for the code, so ``except ServiceDoesNotExist``
    works whichever backend raised it.
    """

    code: ClassVar[int] = 0
    _by_code: ClassVar[dict[int, type[ScmError]]] = {}

    def __new__(cls, winerror: int | None = None, detail: str | None = None) -> ScmError:
        code = cls.code if winerror is None else int(winerror)
        target = cls._by_code.get(code, cls) if cls is ScmError else cls
        if sys.platform == "win32":  # Windows' OSError takes winerror in __new__ only
            return super().__new__(target, None, message(code), None, code)
        return super().__new__(target)

    def __init__(self, winerror: int | None = None, detail: str | None = None) -> None:
        code = type(self).code if winerror is None else int(winerror)
        text = message(code)
        if sys.platform == "win32":  # OSError maps winerror itself there (and owns the slot)
            super().__init__(None, text, None, code)
        else:
            super().__init__(code, text)
            self.winerror: int = code
        self.strerror: str = text
        self.detail: str | None = detail

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.code:
            ScmError._by_code.setdefault(cls.code, cls)

    def __str__(self) -> str:
        base = f"[WinError {self.winerror}] {self.strerror}"
        return f"{base} ({self.detail})" if self.detail else base

    def __reduce__(self) -> tuple[type[ScmError], tuple[int, str | None]]:
        return (ScmError, (self.winerror, self.detail))


class FileNotFound(ScmError):
    code = ERROR_FILE_NOT_FOUND


class PathNotFound(ScmError):
    code = ERROR_PATH_NOT_FOUND


class AccessDenied(ScmError):
    code = ERROR_ACCESS_DENIED


class InvalidHandle(ScmError):
    code = ERROR_INVALID_HANDLE


class InvalidData(ScmError):
    code = ERROR_INVALID_DATA


class InvalidParameter(ScmError):
    code = ERROR_INVALID_PARAMETER


class InvalidName(ScmError):
    code = ERROR_INVALID_NAME


class InvalidLevel(ScmError):
    code = ERROR_INVALID_LEVEL


class InvalidAddress(ScmError):
    code = ERROR_INVALID_ADDRESS


class DependentServicesRunning(ScmError):
    code = ERROR_DEPENDENT_SERVICES_RUNNING


class InvalidServiceControl(ScmError):
    code = ERROR_INVALID_SERVICE_CONTROL


class ServiceRequestTimeout(ScmError):
    code = ERROR_SERVICE_REQUEST_TIMEOUT


class ServiceAlreadyRunning(ScmError):
    code = ERROR_SERVICE_ALREADY_RUNNING


class InvalidServiceAccount(ScmError):
    code = ERROR_INVALID_SERVICE_ACCOUNT


class ServiceDisabled(ScmError):
    code = ERROR_SERVICE_DISABLED


class CircularDependency(ScmError):
    code = ERROR_CIRCULAR_DEPENDENCY


class ServiceDoesNotExist(ScmError):
    code = ERROR_SERVICE_DOES_NOT_EXIST


class ServiceCannotAcceptControl(ScmError):
    code = ERROR_SERVICE_CANNOT_ACCEPT_CTRL


class ServiceNotActive(ScmError):
    code = ERROR_SERVICE_NOT_ACTIVE


class FailedServiceControllerConnect(ScmError):
    code = ERROR_FAILED_SERVICE_CONTROLLER_CONNECT


class DatabaseDoesNotExist(ScmError):
    code = ERROR_DATABASE_DOES_NOT_EXIST


class ServiceSpecificError(ScmError):
    code = ERROR_SERVICE_SPECIFIC_ERROR


class ProcessAborted(ScmError):
    code = ERROR_PROCESS_ABORTED


class ServiceDependencyFail(ScmError):
    code = ERROR_SERVICE_DEPENDENCY_FAIL


class ServiceMarkedForDelete(ScmError):
    code = ERROR_SERVICE_MARKED_FOR_DELETE


class ServiceExists(ScmError):
    code = ERROR_SERVICE_EXISTS


class ServiceDependencyDeleted(ScmError):
    code = ERROR_SERVICE_DEPENDENCY_DELETED


class DuplicateServiceName(ScmError):
    code = ERROR_DUPLICATE_SERVICE_NAME


class ServiceNotInExe(ScmError):
    code = ERROR_SERVICE_NOT_IN_EXE


class ShutdownInProgress(ScmError):
    code = ERROR_SHUTDOWN_IN_PROGRESS


class ServerUnavailable(ScmError):
    code = RPC_S_SERVER_UNAVAILABLE
