"""Parameter checks of CreateService / ChangeServiceConfig(2), each with Windows' error code."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..errors import (
    ERROR_DUPLICATE_SERVICE_NAME,
    ERROR_INVALID_NAME,
    ERROR_INVALID_PARAMETER,
    ERROR_SERVICE_EXISTS,
    ERROR_SERVICE_MARKED_FOR_DELETE,
    ScmError,
)
from ..types import (
    MAX_NAME_LENGTH,
    ActionType,
    ErrorControl,
    FailureActions,
    ServiceType,
    StartType,
)
from ..types import Action as ScAction
from .record import LOCAL_SYSTEM, ServiceRecord, split_dependencies

_BASE_TYPES = {
    ServiceType.KERNEL_DRIVER,
    ServiceType.FILE_SYSTEM_DRIVER,
    ServiceType.WIN32_OWN_PROCESS,
    ServiceType.WIN32_SHARE_PROCESS,
}
_LOCAL_SYSTEM_SPELLINGS = {"localsystem", ".\\localsystem"}


def service_name(name: str) -> None:
    """B4: 1..256 characters, no slash or backslash (spaces are fine)."""
    if not name or len(name) > MAX_NAME_LENGTH or "/" in name or "\\" in name or "\0" in name:
        raise ScmError(ERROR_INVALID_NAME, repr(name))


def display_name(name: str) -> None:
    if len(name) > MAX_NAME_LENGTH or "\0" in name:
        raise ScmError(ERROR_INVALID_NAME, "display name")


def service_type(value: int) -> None:
    """B18: exactly one base type; INTERACTIVE only on the two Win32 types."""
    base = value & ~int(ServiceType.INTERACTIVE_PROCESS)
    if base not in _BASE_TYPES or (value & ServiceType.INTERACTIVE_PROCESS and not base & ServiceType.WIN32):
        raise ScmError(ERROR_INVALID_PARAMETER, f"service type 0x{value:x}")


def start_type(svc_type: int, value: int) -> None:
    """B20: 0..4; boot and system start only for drivers."""
    if value not in StartType._value2member_map_:
        raise ScmError(ERROR_INVALID_PARAMETER, f"start type {value}")
    if value in (StartType.BOOT_START, StartType.SYSTEM_START) and not svc_type & ServiceType.DRIVER:
        raise ScmError(ERROR_INVALID_PARAMETER, "boot/system start is for drivers only")


def error_control(value: int) -> None:
    if value not in ErrorControl._value2member_map_:
        raise ScmError(ERROR_INVALID_PARAMETER, f"error control {value}")  # B21


def as_start(value: int) -> StartType:
    return StartType(value)


def as_error(value: int) -> ErrorControl:
    return ErrorControl(value)


def account(svc_type: int, name: str | None) -> None:
    """B19: an interactive service must run as LocalSystem (87, not 1057)."""
    if svc_type & ServiceType.INTERACTIVE_PROCESS and name and name.casefold() not in _LOCAL_SYSTEM_SPELLINGS:
        raise ScmError(ERROR_INVALID_PARAMETER, "interactive services run as LocalSystem")


def account_exists(svc_type: int, name: str | None) -> None:
    """B146: a Win32 service's account must exist here (1057); see :mod:`.accounts`."""
    if name and svc_type & ServiceType.WIN32:
        from ..accounts import resolve

        resolve(name)


def stored_account(svc_type: int, name: str | None) -> str:
    """B27: Win32 services without an account run as LocalSystem; drivers keep it empty."""
    if name:
        return name
    return "" if svc_type & ServiceType.DRIVER else LOCAL_SYSTEM


def exists(existing: ServiceRecord) -> None:
    raise ScmError(ERROR_SERVICE_MARKED_FOR_DELETE if existing.marked_for_delete else ERROR_SERVICE_EXISTS)


def display_free(records: Iterable[ServiceRecord], display: str, me: ServiceRecord | None) -> None:
    """B25: a display name may not equal another service's key name (equal display names are
    accepted, as on Windows 10 1709 and later, B26)."""
    wanted = display.casefold()
    for rec in records:
        if rec is not me and rec.name.casefold() == wanted:
            raise ScmError(ERROR_DUPLICATE_SERVICE_NAME, display)


def dependencies(deps: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    for d in deps:
        if "\0" in d or len(d) > MAX_NAME_LENGTH + 1:
            raise ScmError(ERROR_INVALID_PARAMETER, "dependency name")
    return split_dependencies(deps)


def boolean(value: Any) -> bool:
    if value is True or value is False or value in (0, 1):
        return bool(value)
    raise ScmError(ERROR_INVALID_PARAMETER, f"expected 0 or 1, got {value!r}")


def dword(value: Any) -> int:
    if type(value) is not int or not 0 <= value <= 0xFFFFFFFF:
        raise ScmError(ERROR_INVALID_PARAMETER, f"expected a DWORD, got {value!r}")
    return value


def failure_actions(value: Any) -> FailureActions:
    """Parse the wire form of SERVICE_FAILURE_ACTIONS; ``None`` members mean "unchanged"."""
    if not isinstance(value, dict) or set(value) - {"reset", "reboot", "command", "actions"}:
        raise ScmError(ERROR_INVALID_PARAMETER, "failure actions")
    reset = value.get("reset", 0)
    reboot, command, actions = value.get("reboot"), value.get("command"), value.get("actions")
    if reset is None:
        reset = 0
    dword(reset)
    if (reboot is not None and not isinstance(reboot, str)) or (command is not None and not isinstance(command, str)):
        raise ScmError(ERROR_INVALID_PARAMETER, "failure actions strings")
    parsed: list[ScAction] = []
    for item in actions or []:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or item[0] not in ActionType._value2member_map_
            or type(item[1]) is not int
        ):
            raise ScmError(ERROR_INVALID_PARAMETER, f"failure action {item!r}")
        parsed.append(ScAction(ActionType(item[0]), dword(item[1])))
    return FailureActions(reset, reboot, command, tuple(parsed))
