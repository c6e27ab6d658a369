"""The shared vocabulary of svcctl: Win32 service constants and the records both sides exchange.

Every enum value equals its Win32 number, and the wire protocol carries the same numbers, so a
``Status`` read through the Windows backend, the portable daemon or the in-memory fake compares
equal field by field. This module imports nothing of svcctl's and nothing outside the stdlib.
"""

from __future__ import annotations

import enum

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, Final


#: ``SERVICE_NO_CHANGE``: leave this DWORD of ChangeServiceConfig as it is (B33).
NO_CHANGE: Final = 0xFFFFFFFF
#: ``INFINITE`` reset period / timeout.
INFINITE: Final = 0xFFFFFFFF
#: ``SC_GROUP_IDENTIFIER``: a dependency that names a load-order group, not a service.
GROUP_PREFIX: Final = "+"
#: Names of the service databases (B2).
SERVICES_ACTIVE_DATABASE: Final = "ServicesActive"
SERVICES_FAILED_DATABASE: Final = "ServicesFailed"
#: Longest service and display name Windows accepts (B4).
MAX_NAME_LENGTH: Final = 256


class ServiceType(enum.IntFlag):
    """``dwServiceType`` bits (B18)."""

    KERNEL_DRIVER = 0x1
    FILE_SYSTEM_DRIVER = 0x2
    ADAPTER = 0x4
    RECOGNIZER_DRIVER = 0x8
    WIN32_OWN_PROCESS = 0x10
    WIN32_SHARE_PROCESS = 0x20
    USER_SERVICE = 0x40
    USERSERVICE_INSTANCE = 0x80
    INTERACTIVE_PROCESS = 0x100
    DRIVER = 0x0B
    WIN32 = 0x30
    TYPE_ALL = 0x3FF


class StartType(enum.IntEnum):
    """``dwStartType`` (B20); delayed auto-start is AUTO_START plus a config2 flag (B40)."""

    BOOT_START = 0
    SYSTEM_START = 1
    AUTO_START = 2
    DEMAND_START = 3
    DISABLED = 4


class ErrorControl(enum.IntEnum):
    """``dwErrorControl`` (B21, B128)."""

    IGNORE = 0
    NORMAL = 1
    SEVERE = 2
    CRITICAL = 3


class State(enum.IntEnum):
    """``dwCurrentState``: the seven service states (B75)."""

    STOPPED = 1
    START_PENDING = 2
    STOP_PENDING = 3
    RUNNING = 4
    CONTINUE_PENDING = 5
    PAUSE_PENDING = 6
    PAUSED = 7

    @property
    def pending(self) -> bool:
        """True for the four ``*_PENDING`` states, where checkpoint and wait hint mean something."""
        return self in _PENDING


_PENDING = frozenset({State.START_PENDING, State.STOP_PENDING, State.CONTINUE_PENDING, State.PAUSE_PENDING})


class StateFilter(enum.IntEnum):
    """``dwServiceState`` of the enumeration calls (B103)."""

    ACTIVE = 1
    INACTIVE = 2
    ALL = 3


class Control(enum.IntEnum):
    """``SERVICE_CONTROL_*`` codes 1-15 and the later notifications; 128-255 are user-defined."""

    STOP = 0x1
    PAUSE = 0x2
    CONTINUE = 0x3
    INTERROGATE = 0x4
    SHUTDOWN = 0x5
    PARAMCHANGE = 0x6
    NETBINDADD = 0x7
    NETBINDREMOVE = 0x8
    NETBINDENABLE = 0x9
    NETBINDDISABLE = 0xA
    DEVICEEVENT = 0xB
    HARDWAREPROFILECHANGE = 0xC
    POWEREVENT = 0xD
    SESSIONCHANGE = 0xE
    PRESHUTDOWN = 0xF
    TIMECHANGE = 0x10
    TRIGGEREVENT = 0x20
    USERMODEREBOOT = 0x40


USER_CONTROL_MIN: Final = 128
USER_CONTROL_MAX: Final = 255


def is_user_control(code: int) -> bool:
    """True for the user-defined control range 128-255 (no accept bit exists for these, B64)."""
    return USER_CONTROL_MIN <= code <= USER_CONTROL_MAX


class Accept(enum.IntFlag):
    """``dwControlsAccepted`` bits (B64, B83)."""

    NONE = 0
    STOP = 0x1
    PAUSE_CONTINUE = 0x2
    SHUTDOWN = 0x4
    PARAMCHANGE = 0x8
    NETBINDCHANGE = 0x10
    HARDWAREPROFILECHANGE = 0x20
    POWEREVENT = 0x40
    SESSIONCHANGE = 0x80
    PRESHUTDOWN = 0x100
    TIMECHANGE = 0x200
    TRIGGEREVENT = 0x400
    USERMODEREBOOT = 0x800


#: The accept bit a control needs before the SCM forwards it (B64); absent = always forwarded.
CONTROL_ACCEPT: Final[dict[int, Accept]] = {
    Control.STOP: Accept.STOP,
    Control.PAUSE: Accept.PAUSE_CONTINUE,
    Control.CONTINUE: Accept.PAUSE_CONTINUE,
    Control.SHUTDOWN: Accept.SHUTDOWN,
    Control.PARAMCHANGE: Accept.PARAMCHANGE,
    Control.NETBINDADD: Accept.NETBINDCHANGE,
    Control.NETBINDREMOVE: Accept.NETBINDCHANGE,
    Control.NETBINDENABLE: Accept.NETBINDCHANGE,
    Control.NETBINDDISABLE: Accept.NETBINDCHANGE,
    Control.HARDWAREPROFILECHANGE: Accept.HARDWAREPROFILECHANGE,
    Control.POWEREVENT: Accept.POWEREVENT,
    Control.SESSIONCHANGE: Accept.SESSIONCHANGE,
    Control.PRESHUTDOWN: Accept.PRESHUTDOWN,
    Control.TIMECHANGE: Accept.TIMECHANGE,
    Control.TRIGGEREVENT: Accept.TRIGGEREVENT,
    Control.USERMODEREBOOT: Accept.USERMODEREBOOT,
}


class ServiceFlags(enum.IntFlag):
    """``dwServiceFlags`` of SERVICE_STATUS_PROCESS (B80)."""

    NONE = 0
    RUNS_IN_SYSTEM_PROCESS = 0x1


class ConfigLevel(enum.IntEnum):
    """``dwInfoLevel`` of QueryServiceConfig2 / ChangeServiceConfig2 (B38, B41)."""

    DESCRIPTION = 1
    FAILURE_ACTIONS = 2
    DELAYED_AUTO_START_INFO = 3
    FAILURE_ACTIONS_FLAG = 4
    SERVICE_SID_INFO = 5
    REQUIRED_PRIVILEGES_INFO = 6
    PRESHUTDOWN_INFO = 7


class ActionType(enum.IntEnum):
    """``SC_ACTION_TYPE`` (B114)."""

    NONE = 0
    RESTART = 1
    REBOOT = 2
    RUN_COMMAND = 3


# --- access rights (B8, B138-B142) -------------------------------------------------------------

DELETE: Final = 0x00010000
READ_CONTROL: Final = 0x00020000
WRITE_DAC: Final = 0x00040000
WRITE_OWNER: Final = 0x00080000
STANDARD_RIGHTS_REQUIRED: Final = 0x000F0000
STANDARD_RIGHTS_READ: Final = READ_CONTROL
STANDARD_RIGHTS_WRITE: Final = READ_CONTROL
STANDARD_RIGHTS_EXECUTE: Final = READ_CONTROL
ACCESS_SYSTEM_SECURITY: Final = 0x01000000
MAXIMUM_ALLOWED: Final = 0x02000000
GENERIC_ALL: Final = 0x10000000
GENERIC_EXECUTE: Final = 0x20000000
GENERIC_WRITE: Final = 0x40000000
GENERIC_READ: Final = 0x80000000


class ScmAccess(enum.IntFlag):
    """``SC_MANAGER_*`` rights on the manager handle."""

    CONNECT = 0x1
    CREATE_SERVICE = 0x2
    ENUMERATE_SERVICE = 0x4
    LOCK = 0x8
    QUERY_LOCK_STATUS = 0x10
    MODIFY_BOOT_CONFIG = 0x20
    ALL_ACCESS = 0xF003F


class ServiceAccess(enum.IntFlag):
    """``SERVICE_*`` rights on a service handle."""

    QUERY_CONFIG = 0x1
    CHANGE_CONFIG = 0x2
    QUERY_STATUS = 0x4
    ENUMERATE_DEPENDENTS = 0x8
    START = 0x10
    STOP = 0x20
    PAUSE_CONTINUE = 0x40
    INTERROGATE = 0x80
    USER_DEFINED_CONTROL = 0x100
    DELETE = 0x10000
    READ_CONTROL = 0x20000
    WRITE_DAC = 0x40000
    WRITE_OWNER = 0x80000
    ALL_ACCESS = 0xF01FF


class GenericMapping:
    """How GENERIC_* bits translate into object-specific rights (B8)."""

    __slots__ = ("all", "execute", "read", "write")

    def __init__(self, read: int, write: int, execute: int, all: int) -> None:
        self.read, self.write, self.execute, self.all = read, write, execute, all

    def map(self, access: int) -> int:
        """Replace GENERIC_* bits in ``access`` by the specific rights they stand for."""
        out = access & ~(GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL)
        if access & GENERIC_READ:
            out |= self.read
        if access & GENERIC_WRITE:
            out |= self.write
        if access & GENERIC_EXECUTE:
            out |= self.execute
        if access & GENERIC_ALL:
            out |= self.all
        return out


SCM_GENERIC_MAPPING: Final = GenericMapping(
    read=STANDARD_RIGHTS_READ | ScmAccess.ENUMERATE_SERVICE | ScmAccess.QUERY_LOCK_STATUS,
    write=STANDARD_RIGHTS_WRITE | ScmAccess.CREATE_SERVICE | ScmAccess.MODIFY_BOOT_CONFIG,
    execute=STANDARD_RIGHTS_EXECUTE | ScmAccess.CONNECT | ScmAccess.LOCK,
    all=ScmAccess.ALL_ACCESS,
)
SERVICE_GENERIC_MAPPING: Final = GenericMapping(
    read=STANDARD_RIGHTS_READ
    | ServiceAccess.QUERY_CONFIG
    | ServiceAccess.QUERY_STATUS
    | ServiceAccess.INTERROGATE
    | ServiceAccess.ENUMERATE_DEPENDENTS,
    write=STANDARD_RIGHTS_WRITE | ServiceAccess.CHANGE_CONFIG,
    execute=STANDARD_RIGHTS_EXECUTE
    | ServiceAccess.START
    | ServiceAccess.STOP
    | ServiceAccess.PAUSE_CONTINUE
    | ServiceAccess.USER_DEFINED_CONTROL,
    all=ServiceAccess.ALL_ACCESS,
)


# --- records -----------------------------------------------------------------------------------
# Small immutable slotted classes rather than dataclasses or NamedTuples: every service process
# and every CLI call imports this module, and neither needs typing or dataclasses at run time.


class _Record:
    """An immutable value: equality, hash, repr and iteration over its fields (its __slots__)."""

    __slots__: tuple[str, ...] = ()

    def _set(self, **values: Any) -> None:
        for key, value in values.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self.__slots__)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values())

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._values() == other._values()  # type: ignore[attr-defined,unused-ignore]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        body = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.__slots__)
        return f"{type(self).__name__}({body})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), self._values())


ERROR_SERVICE_SPECIFIC_ERROR: Final = 1066


class ExitCode(_Record):
    """Why a service stopped: a Win32 code, or 1066 plus the service's own code (B84)."""

    __slots__ = ("win32", "service_specific")
    win32: int
    service_specific: int

    def __init__(self, win32: int = 0, service_specific: int = 0) -> None:
        self._set(win32=win32, service_specific=service_specific)

    @property
    def is_service_specific(self) -> bool:
        return self.win32 == ERROR_SERVICE_SPECIFIC_ERROR

    @property
    def code(self) -> int:
        """The code that explains the stop: the service's own when it reported 1066."""
        return self.service_specific if self.is_service_specific else self.win32

    @property
    def ok(self) -> bool:
        return self.win32 == 0


class Status(_Record):
    """SERVICE_STATUS_PROCESS: what QueryServiceStatusEx returns, identical on every backend."""

    __slots__ = ("service_type", "state", "controls_accepted", "win32_exit_code", "service_exit_code",
                 "checkpoint", "wait_hint", "pid", "flags")
    service_type: int
    state: State
    controls_accepted: Accept
    win32_exit_code: int
    service_exit_code: int
    checkpoint: int
    wait_hint: int
    pid: int
    flags: int

    def __init__(
        self,
        service_type: int,
        state: State,
        controls_accepted: Accept = Accept.NONE,
        win32_exit_code: int = 0,
        service_exit_code: int = 0,
        checkpoint: int = 0,
        wait_hint: int = 0,
        pid: int = 0,
        flags: int = 0,
    ) -> None:
        self._set(service_type=service_type, state=state, controls_accepted=controls_accepted,
                  win32_exit_code=win32_exit_code, service_exit_code=service_exit_code, checkpoint=checkpoint,
                  wait_hint=wait_hint, pid=pid, flags=flags)

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode(self.win32_exit_code, self.service_exit_code)

    def to_wire(self) -> list[int]:
        """The nine DWORDs in SERVICE_STATUS_PROCESS order."""
        return [int(v) for v in self._values()]

    @classmethod
    def from_wire(cls, v: list[int]) -> Status:
        return cls(v[0], State(v[1]), Accept(v[2]), v[3], v[4], v[5], v[6], v[7], v[8])


class Action(_Record):
    """One SC_ACTION: what to do on a failure, after ``delay_ms`` (B114)."""

    __slots__ = ("type", "delay_ms")
    type: ActionType
    delay_ms: int

    def __init__(self, type: ActionType, delay_ms: int = 0) -> None:
        self._set(type=type, delay_ms=delay_ms)


class FailureActions(_Record):
    """SERVICE_FAILURE_ACTIONS (B113-B115). ``None`` strings mean "not set"."""

    __slots__ = ("reset_period", "reboot_message", "command", "actions")
    reset_period: int
    reboot_message: str | None
    command: str | None
    actions: tuple[Action, ...]

    def __init__(
        self,
        reset_period: int = 0,
        reboot_message: str | None = None,
        command: str | None = None,
        actions: tuple[Action, ...] = (),
    ) -> None:
        self._set(reset_period=reset_period, reboot_message=reboot_message, command=command, actions=actions)

    def to_wire(self) -> dict[str, object]:
        return {
            "reset": self.reset_period,
            "reboot": self.reboot_message,
            "command": self.command,
            "actions": [[int(a.type), a.delay_ms] for a in self.actions],
        }

    @classmethod
    def from_wire(cls, d: dict[str, object]) -> FailureActions:
        acts = d.get("actions") or []
        assert isinstance(acts, list)
        reset = d.get("reset", 0)
        reboot, command = d.get("reboot"), d.get("command")
        return cls(
            reset_period=int(reset) if isinstance(reset, int) else 0,
            reboot_message=reboot if isinstance(reboot, str) else None,
            command=command if isinstance(command, str) else None,
            actions=tuple(Action(ActionType(t), int(ms)) for t, ms in acts),
        )


class Config(_Record):
    """QUERY_SERVICE_CONFIG: every string non-None, empty where unset (B28)."""

    __slots__ = ("service_type", "start_type", "error_control", "binary_path", "load_order_group", "tag_id",
                 "dependencies", "service_start_name", "display_name")
    service_type: int
    start_type: StartType
    error_control: ErrorControl
    binary_path: str
    load_order_group: str
    tag_id: int
    dependencies: tuple[str, ...]
    service_start_name: str
    display_name: str

    def __init__(
        self,
        service_type: int,
        start_type: StartType,
        error_control: ErrorControl,
        binary_path: str,
        load_order_group: str = "",
        tag_id: int = 0,
        dependencies: tuple[str, ...] = (),
        service_start_name: str = "",
        display_name: str = "",
    ) -> None:
        self._set(service_type=service_type, start_type=start_type, error_control=error_control,
                  binary_path=binary_path, load_order_group=load_order_group, tag_id=tag_id,
                  dependencies=dependencies, service_start_name=service_start_name, display_name=display_name)

    def to_wire(self) -> list[object]:
        v = list(self._values())
        v[6] = list(self.dependencies)
        return [int(x) if isinstance(x, enum.IntEnum) else x for x in v]

    @classmethod
    def from_wire(cls, v: list[Any]) -> Config:
        return cls(int(v[0]), StartType(v[1]), ErrorControl(v[2]), str(v[3]), str(v[4]), int(v[5]),
                   tuple(str(d) for d in v[6]), str(v[7]), str(v[8]))


class EnumEntry(_Record):
    """ENUM_SERVICE_STATUS_PROCESS: one row of an enumeration."""

    __slots__ = ("name", "display_name", "status")
    name: str
    display_name: str
    status: Status

    def __init__(self, name: str, display_name: str, status: Status) -> None:
        self._set(name=name, display_name=display_name, status=status)
