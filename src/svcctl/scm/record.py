"""One service's record: its stored configuration (the values of B15) and its live status.

The record is the SCM's unit of truth. Its configuration round-trips through registry values
(:func:`to_values` / :func:`from_values`) so the database, a ``.reg`` export and the API agree.
Status fields change only through ``Runtime.set_status``.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from ..errors import ERROR_SERVICE_NEVER_STARTED
from ..types import (
    GROUP_PREFIX,
    Accept,
    Action,
    ActionType,
    Config,
    ErrorControl,
    FailureActions,
    ServiceType,
    StartType,
    State,
)
from .database import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ, Value, Values

if TYPE_CHECKING:
    from .host import Host

#: Windows' default preshutdown timeout (B39; Windows 10 1709+ reports 10000 ms).
DEFAULT_PRESHUTDOWN_MS = 180000
LOCAL_SYSTEM = "LocalSystem"


#: The slots that come from the database (the rest is live state).
CONFIG_FIELDS = (
    "service_type",
    "start_type",
    "error_control",
    "image_path",
    "display_name",
    "group",
    "tag",
    "depend_on_service",
    "depend_on_group",
    "object_name",
    "description",
    "failure_actions",
    "failure_actions_on_non_crash",
    "delayed_auto_start",
    "preshutdown_timeout",
    "marked_for_delete",
)


class ServiceRecord:
    """Configuration plus runtime state of one installed service."""

    __slots__ = (
        "name",
        *CONFIG_FIELDS,
        # live state
        "state",
        "accepted",
        "win32_exit",
        "service_exit",
        "checkpoint",
        "wait_hint",
        "pid",
        "host",
        "handles",
        "stop_sent",
        "starting",
        "waiters",
        "failure_count",
        "last_failure",
        "watchdog",
        "hang_at",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.service_type: int = ServiceType.WIN32_OWN_PROCESS
        self.start_type = StartType.DEMAND_START
        self.error_control = ErrorControl.NORMAL
        self.image_path = ""
        self.display_name = ""
        self.group = ""
        self.tag = 0
        self.depend_on_service: tuple[str, ...] = ()
        self.depend_on_group: tuple[str, ...] = ()
        self.object_name = ""
        self.description: str | None = None
        self.failure_actions = FailureActions()
        self.failure_actions_on_non_crash = False
        self.delayed_auto_start = False
        self.preshutdown_timeout = DEFAULT_PRESHUTDOWN_MS
        self.state = State.STOPPED
        self.accepted = Accept.NONE
        self.win32_exit = ERROR_SERVICE_NEVER_STARTED  # B77
        self.service_exit = 0
        self.checkpoint = 0
        self.wait_hint = 0
        self.pid = 0
        self.host: Host | None = None
        self.handles = 0
        self.marked_for_delete = False
        self.stop_sent = False
        self.starting = False
        self.waiters: list[Any] = []
        self.failure_count = 0  # failures since the daemon started, reset after the reset period
        self.last_failure = 0.0  # loop time of the last one
        self.watchdog: Any = None  # timer that declares a silent START_PENDING hung (B52)
        self.hang_at = 0.0  # loop time it does so, moved by each START_PENDING report

    def take_config(self, other: ServiceRecord) -> None:
        """Adopt ``other``'s stored configuration, keeping this record's identity and live state
        (open handles keep pointing at it when the configuration is swapped underneath)."""
        for field in CONFIG_FIELDS:
            setattr(self, field, getattr(other, field))

    @property
    def key(self) -> str:
        return f"Services\\{self.name}"

    @property
    def shown_name(self) -> str:
        """Display name, falling back to the key name (B11, B104)."""
        return self.display_name or self.name

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Services first, then ``+group`` entries (B31)."""
        return self.depend_on_service + tuple(GROUP_PREFIX + g for g in self.depend_on_group)

    def status_wire(self) -> list[int]:
        """SERVICE_STATUS_PROCESS as sent on the wire (the hot path of every status query)."""
        pending = self.state.pending
        return [
            int(self.service_type),  # configured type, not the reported one (B81)
            int(self.state),
            int(self.accepted),
            self.win32_exit,
            self.service_exit,
            self.checkpoint if pending else 0,  # B82
            self.wait_hint if pending else 0,
            self.pid,
            0,
        ]

    def config(self) -> Config:
        return Config(
            self.service_type,
            self.start_type,
            self.error_control,
            self.image_path,
            self.group,
            self.tag,
            self.dependencies,
            self.object_name,
            self.shown_name,
        )




def split_dependencies(deps: list[str] | tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split a dependency list into (services, groups) the way the Services key stores it (B31)."""
    services = tuple(d for d in deps if d and not d.startswith(GROUP_PREFIX))
    groups = tuple(d[1:] for d in deps if d.startswith(GROUP_PREFIX) and len(d) > 1)
    return services, groups


# --- FailureActions REG_BINARY (B121) ----------------------------------------------------------

_FA_HEADER = struct.Struct("<IIIII")  # dwResetPeriod, lpRebootMsg, lpCommand, cActions, lpsaActions
_SC_ACTION = struct.Struct("<II")


def pack_failure_actions(fa: FailureActions) -> bytes:
    """SERVICE_FAILURE_ACTIONS header with pointers zeroed (actions pointer = their offset)."""
    n = len(fa.actions)
    head = _FA_HEADER.pack(fa.reset_period, 0, 0, n, _FA_HEADER.size if n else 0)
    return head + b"".join(_SC_ACTION.pack(int(a.type), a.delay_ms) for a in fa.actions)


def unpack_failure_actions(blob: bytes, reboot: str | None, command: str | None) -> FailureActions:
    if len(blob) < _FA_HEADER.size:
        return FailureActions(reboot_message=reboot, command=command)
    reset, _, _, count, _ = _FA_HEADER.unpack_from(blob)
    actions = []
    for i in range(count):
        off = _FA_HEADER.size + i * _SC_ACTION.size
        if off + _SC_ACTION.size > len(blob):
            break
        t, delay = _SC_ACTION.unpack_from(blob, off)
        actions.append(Action(ActionType(t) if t in ActionType._value2member_map_ else ActionType.NONE, delay))
    return FailureActions(reset, reboot, command, tuple(actions))


# --- registry values <-> record ----------------------------------------------------------------


def to_values(rec: ServiceRecord) -> dict[str, Value | None]:
    """The Services\\<name> values of ``rec``; ``None`` marks a value that must not exist."""
    fa = rec.failure_actions
    has_fa = bool(fa.actions) or fa.reset_period != 0
    out: dict[str, Value | None] = {
        "Type": (REG_DWORD, int(rec.service_type)),
        "Start": (REG_DWORD, int(rec.start_type)),
        "ErrorControl": (REG_DWORD, int(rec.error_control)),
        "ImagePath": (REG_EXPAND_SZ, rec.image_path),
        "DisplayName": (REG_SZ, rec.display_name) if rec.display_name else None,
        "Group": (REG_SZ, rec.group) if rec.group else None,
        "Tag": (REG_DWORD, rec.tag) if rec.tag else None,
        "DependOnService": (REG_MULTI_SZ, rec.depend_on_service) if rec.depend_on_service else None,
        "DependOnGroup": (REG_MULTI_SZ, rec.depend_on_group) if rec.depend_on_group else None,
        "ObjectName": (REG_SZ, rec.object_name) if rec.object_name else None,
        "Description": (REG_SZ, rec.description) if rec.description is not None else None,
        "FailureActions": (REG_BINARY, pack_failure_actions(fa)) if has_fa else None,
        "RebootMessage": (REG_SZ, fa.reboot_message) if fa.reboot_message is not None else None,
        "FailureCommand": (REG_SZ, fa.command) if fa.command is not None else None,
        "FailureActionsOnNonCrashFailures": (REG_DWORD, 1) if rec.failure_actions_on_non_crash else None,
        "DelayedAutostart": (REG_DWORD, 1) if rec.delayed_auto_start else None,
        "PreshutdownTimeout": (REG_DWORD, rec.preshutdown_timeout)
        if rec.preshutdown_timeout != DEFAULT_PRESHUTDOWN_MS
        else None,
        "DeleteFlag": (REG_DWORD, 1) if rec.marked_for_delete else None,
    }
    return out


def _dword(values: Values, name: str, default: int = 0) -> int:
    v = values.get(name)
    return int(v[1]) if v and isinstance(v[1], int) else default


def _string(values: Values, name: str) -> str | None:
    v = values.get(name)
    return str(v[1]) if v is not None and isinstance(v[1], str) else None


def _multi(values: Values, name: str) -> tuple[str, ...]:
    v = values.get(name)
    if not v:
        return ()
    return tuple(s for s in v[1] if s) if isinstance(v[1], tuple) else (str(v[1]),)


def from_values(name: str, values: Values) -> ServiceRecord:
    """Rebuild a record from its stored values (values it does not know stay in the database)."""
    rec = ServiceRecord(name)
    rec.service_type = _dword(values, "Type", ServiceType.WIN32_OWN_PROCESS)
    start = _dword(values, "Start", StartType.DEMAND_START)
    rec.start_type = StartType(start) if start in StartType._value2member_map_ else StartType.DEMAND_START
    err = _dword(values, "ErrorControl", ErrorControl.NORMAL)
    rec.error_control = ErrorControl(err) if err in ErrorControl._value2member_map_ else ErrorControl.NORMAL
    rec.image_path = _string(values, "ImagePath") or ""
    rec.display_name = _string(values, "DisplayName") or ""
    rec.group = _string(values, "Group") or ""
    rec.tag = _dword(values, "Tag")
    rec.depend_on_service = _multi(values, "DependOnService")
    rec.depend_on_group = _multi(values, "DependOnGroup")
    rec.object_name = _string(values, "ObjectName") or ""
    rec.description = _string(values, "Description")
    blob = values.get("FailureActions")
    reboot, command = _string(values, "RebootMessage"), _string(values, "FailureCommand")
    if blob and isinstance(blob[1], bytes):
        rec.failure_actions = unpack_failure_actions(blob[1], reboot, command)
    else:
        rec.failure_actions = FailureActions(reboot_message=reboot, command=command)
    rec.failure_actions_on_non_crash = bool(_dword(values, "FailureActionsOnNonCrashFailures"))
    rec.delayed_auto_start = bool(_dword(values, "DelayedAutostart"))
    rec.preshutdown_timeout = _dword(values, "PreshutdownTimeout", DEFAULT_PRESHUTDOWN_MS)
    rec.marked_for_delete = bool(_dword(values, "DeleteFlag"))
    return rec
