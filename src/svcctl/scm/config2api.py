"""QueryServiceConfig2 and ChangeServiceConfig2: the description, failure actions and their flag,
delayed auto-start and the preshutdown timeout (B37-B41, B112-B117).

Mixed into :class:`~svcctl.scm.core.Scm` (it uses the handle checks and the database).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import (
    ERROR_ACCESS_DENIED,
    ERROR_CANNOT_DETECT_DRIVER_FAILURE,
    ERROR_INVALID_LEVEL,
    ERROR_INVALID_PARAMETER,
    ERROR_SERVICE_MARKED_FOR_DELETE,
    ScmError,
)
from ..types import ActionType, ConfigLevel, FailureActions, ServiceAccess, ServiceType
from . import validate
from .parts import ScmParts
from .record import to_values

if TYPE_CHECKING:
    from .core import Session

_CONFIG2_LEVELS = frozenset(
    {
        ConfigLevel.DESCRIPTION,
        ConfigLevel.FAILURE_ACTIONS,
        ConfigLevel.FAILURE_ACTIONS_FLAG,
        ConfigLevel.DELAYED_AUTO_START_INFO,
        ConfigLevel.PRESHUTDOWN_INFO,
    }
)


class Config2Api(ScmParts):
    def config2(self, s: Session, h: int, level: int) -> Any:
        self._live()
        if level not in _CONFIG2_LEVELS:
            raise ScmError(ERROR_INVALID_LEVEL)  # B38: checked before anything else
        rec = self._svc(s, h, ServiceAccess.QUERY_CONFIG)
        if level == ConfigLevel.DESCRIPTION:
            return rec.description
        if level == ConfigLevel.FAILURE_ACTIONS:
            return rec.failure_actions.to_wire()
        if level == ConfigLevel.FAILURE_ACTIONS_FLAG:
            return rec.failure_actions_on_non_crash
        if level == ConfigLevel.DELAYED_AUTO_START_INFO:
            return rec.delayed_auto_start
        return rec.preshutdown_timeout

    def change2(self, s: Session, h: int, level: int, value: Any) -> None:
        self._live()
        rec = self._svc(s, h, ServiceAccess.CHANGE_CONFIG)
        if level not in _CONFIG2_LEVELS:
            raise ScmError(ERROR_INVALID_LEVEL)
        if rec.marked_for_delete:
            raise ScmError(ERROR_SERVICE_MARKED_FOR_DELETE)  # B96
        if value is None:
            return  # B41: lpInfo NULL leaves the information as it is
        if level == ConfigLevel.DESCRIPTION:
            if not isinstance(value, str):
                raise ScmError(ERROR_INVALID_PARAMETER)
            rec.description = value or None  # B37: "" deletes
        elif level == ConfigLevel.FAILURE_ACTIONS:
            if rec.service_type & ServiceType.DRIVER:
                raise ScmError(ERROR_CANNOT_DETECT_DRIVER_FAILURE)  # B117
            rec.failure_actions = self._merge_failure_actions(s, h, rec.failure_actions, value)
        elif level == ConfigLevel.FAILURE_ACTIONS_FLAG:
            rec.failure_actions_on_non_crash = validate.boolean(value)
        elif level == ConfigLevel.DELAYED_AUTO_START_INFO:
            rec.delayed_auto_start = validate.boolean(value)  # B40: 0/1 only
        else:
            rec.preshutdown_timeout = validate.dword(value)  # B39
        self.db.write({rec.key: to_values(rec)})

    def _merge_failure_actions(self, s: Session, h: int, old: FailureActions, value: Any) -> FailureActions:
        """B115 update semantics; RESTART actions need SERVICE_START on the handle (B116)."""
        new = validate.failure_actions(value)
        restarts = any(a.type == ActionType.RESTART for a in new.actions)
        if restarts and not s.handles[h].access & ServiceAccess.START:
            raise ScmError(ERROR_ACCESS_DENIED)
        actions_given = value.get("actions") is not None
        reset, actions = (new.reset_period, new.actions) if actions_given else (old.reset_period, old.actions)
        if actions_given and not new.actions:
            reset, actions = 0, ()
        reboot = old.reboot_message if new.reboot_message is None else (new.reboot_message or None)
        command = old.command if new.command is None else (new.command or None)
        return FailureActions(reset, reboot, command, actions)
