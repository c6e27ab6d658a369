"""QueryServiceConfig2W / ChangeServiceConfig2W for the Windows backend, level by level.

Each level's structure is converted to and from the wire value the portable SCM uses
(:meth:`svcctl.scm.core.Scm.config2` / ``change2``): DESCRIPTION a str or None, FAILURE_ACTIONS
``{"reset", "reboot", "command", "actions": [[type, delay_ms], ...]}`` (None members: "leave
unchanged", B115), FAILURE_ACTIONS_FLAG and DELAYED_AUTO_START_INFO a bool, PRESHUTDOWN_INFO a
DWORD. Two levels the portable SCM refuses are served too, since Windows has them: SERVICE_SID_INFO
(a DWORD) and REQUIRED_PRIVILEGES_INFO (a list of privilege names). Other levels: 124.

A ``None`` value changes nothing (B41). For DESCRIPTION and FAILURE_ACTIONS that is still a call
with the structure's "unchanged" form, so Windows checks the handle, its access and the
marked-for-delete state; the flag levels have no such form and make no call.
"""

from __future__ import annotations

import ctypes
import sys
from ctypes import POINTER, byref, cast

from ..errors import ERROR_INVALID_LEVEL, ERROR_INVALID_PARAMETER, ScmError
from ..types import ConfigLevel

assert sys.platform == "win32", "svcctl.mgr.win32_config2 is Windows-only"

from ..winapi import advapi32 as _a  # noqa: E402
from ..winapi import buffers as _b  # noqa: E402

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any

LEVELS = frozenset(ConfigLevel)


def _unsupported(level: int) -> ScmError:
    return ScmError(ERROR_INVALID_LEVEL, f"config2 level {level} is not one svcctl converts")


def query(handle: int, level: int) -> Any:
    """The wire value of one level (the strings are copied out before the buffer goes)."""
    if level not in LEVELS:
        raise _unsupported(level)
    buf = _b.query_config2(handle, level)
    if level == ConfigLevel.DESCRIPTION:
        return _a.SERVICE_DESCRIPTIONW.from_buffer(buf).lpDescription
    if level == ConfigLevel.FAILURE_ACTIONS:
        fa = _a.SERVICE_FAILURE_ACTIONSW.from_buffer(buf)
        actions = [[int(fa.lpsaActions[i].Type), int(fa.lpsaActions[i].Delay)] for i in range(fa.cActions)]
        return {"reset": int(fa.dwResetPeriod), "reboot": fa.lpRebootMsg, "command": fa.lpCommand, "actions": actions}
    if level == ConfigLevel.DELAYED_AUTO_START_INFO:
        return bool(_a.SERVICE_DELAYED_AUTO_START_INFO.from_buffer(buf).fDelayedAutostart)
    if level == ConfigLevel.FAILURE_ACTIONS_FLAG:
        return bool(_a.SERVICE_FAILURE_ACTIONS_FLAG.from_buffer(buf).fFailureActionsOnNonCrashFailures)
    if level == ConfigLevel.SERVICE_SID_INFO:
        return int(_a.SERVICE_SID_INFO.from_buffer(buf).dwServiceSidType)
    if level == ConfigLevel.REQUIRED_PRIVILEGES_INFO:
        return _a.parse_multi_sz(_a.SERVICE_REQUIRED_PRIVILEGES_INFOW.from_buffer(buf).pmszRequiredPrivileges)
    return int(_a.SERVICE_PRESHUTDOWN_INFO.from_buffer(buf).dwPreshutdownTimeout)


def _dword(value: Any, what: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if type(value) is not int or not 0 <= value <= 0xFFFFFFFF:
        raise ScmError(ERROR_INVALID_PARAMETER, f"{what}: expected a DWORD, got {value!r}")
    return value


def _opt_str(value: Any, what: str) -> str | None:
    if value is not None and (not isinstance(value, str) or "\0" in value):
        raise ScmError(ERROR_INVALID_PARAMETER, f"{what}: expected a string")
    return value


def _failure_actions(value: Any) -> tuple[_a.SERVICE_FAILURE_ACTIONSW, object]:
    """The structure, and what must stay alive while Windows reads it (the action array)."""
    if not isinstance(value, dict) or set(value) - {"reset", "reboot", "command", "actions"}:
        raise ScmError(ERROR_INVALID_PARAMETER, "failure actions: {reset, reboot, command, actions}")
    reset = value.get("reset")
    info = _a.SERVICE_FAILURE_ACTIONSW()
    info.dwResetPeriod = 0 if reset is None else _dword(reset, "reset period")
    info.lpRebootMsg = _opt_str(value.get("reboot"), "reboot message")
    info.lpCommand = _opt_str(value.get("command"), "command")
    actions = value.get("actions")
    if actions is None:  # NULL lpsaActions: actions and reset period stay as they are (B115)
        return info, None
    if not isinstance(actions, list):
        raise ScmError(ERROR_INVALID_PARAMETER, "failure actions: a list of [type, delay_ms]")
    array = (_a.SC_ACTION * max(len(actions), 1))()
    for i, item in enumerate(actions):
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise ScmError(ERROR_INVALID_PARAMETER, f"failure action {item!r}")
        array[i].Type, array[i].Delay = _dword(item[0], "action type"), _dword(item[1], "action delay")
    info.cActions = len(actions)  # 0 with a non-NULL array deletes them (B115)
    info.lpsaActions = cast(array, POINTER(_a.SC_ACTION))
    return info, array


def change(handle: int, level: int, value: Any) -> None:
    """ChangeServiceConfig2W with the level's structure built from ``value``."""
    if level not in LEVELS:
        raise _unsupported(level)
    keep: object = None
    info: ctypes.Structure
    if level == ConfigLevel.DESCRIPTION:
        info = _a.SERVICE_DESCRIPTIONW(_opt_str(value, "description"))  # "" deletes, None keeps (B37)
    elif level == ConfigLevel.FAILURE_ACTIONS:
        info, keep = _failure_actions({} if value is None else value)
    elif value is None:
        return  # B41: nothing to change, and these levels have no "unchanged" structure
    elif level == ConfigLevel.DELAYED_AUTO_START_INFO:
        info = _a.SERVICE_DELAYED_AUTO_START_INFO(_dword(value, "delayed auto-start"))  # 87 from Windows unless 0/1
    elif level == ConfigLevel.FAILURE_ACTIONS_FLAG:
        info = _a.SERVICE_FAILURE_ACTIONS_FLAG(_dword(value, "failure actions flag"))
    elif level == ConfigLevel.SERVICE_SID_INFO:
        info = _a.SERVICE_SID_INFO(_dword(value, "SID type"))
    elif level == ConfigLevel.REQUIRED_PRIVILEGES_INFO:
        if not isinstance(value, list) or not all(isinstance(p, str) and p and "\0" not in p for p in value):
            raise ScmError(ERROR_INVALID_PARAMETER, "required privileges: a list of names")
        text = _a.multi_sz(value) or "\0"
        keep = buf = (ctypes.c_wchar * len(text))(*text)
        info = _a.SERVICE_REQUIRED_PRIVILEGES_INFOW(ctypes.addressof(buf))
    else:
        info = _a.SERVICE_PRESHUTDOWN_INFO(_dword(value, "preshutdown timeout"))
    _a.ChangeServiceConfig2W(handle, level, byref(info))
    del keep
