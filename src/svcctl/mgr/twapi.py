"""TWAPI's service commands (seed 003) as thin functions over :class:`~svcctl.mgr.Manager`.

Names, options and return shapes follow TWAPI: states and types as lower-case words, records as
dicts with TWAPI's keys, ``pid`` -1 when stopped, ``wait`` in milliseconds returning whether the
target state was reached. Every function takes TWAPI's standard options ``system`` and
``database``. The service side (``run_as_service``, ``update_service_status``) is in
:mod:`svcctl.svc.twapi`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import ERROR_SERVICE_SPECIFIC_ERROR, ScmError
from ..types import (
    NO_CHANGE,
    Action,
    ActionType,
    ErrorControl,
    FailureActions,
    ServiceAccess,
    ServiceType,
    StartType,
    State,
    StateFilter,
    Status,
)
from . import Manager, Service, wait_poll_interval

_TYPES = {
    "kernel_driver": ServiceType.KERNEL_DRIVER,
    "file_system_driver": ServiceType.FILE_SYSTEM_DRIVER,
    "adapter": ServiceType.ADAPTER,
    "recognizer_driver": ServiceType.RECOGNIZER_DRIVER,
    "win32_own_process": ServiceType.WIN32_OWN_PROCESS,
    "win32_share_process": ServiceType.WIN32_SHARE_PROCESS,
}
_STARTS = {s.name.lower(): s for s in StartType}
_ERRORS = {e.name.lower(): e for e in ErrorControl}
_ACTIONS = {"none": ActionType.NONE, "restart": ActionType.RESTART, "reboot": ActionType.REBOOT,
            "run": ActionType.RUN_COMMAND}


def _type_word(service_type: int) -> str | int:
    base = service_type & ~int(ServiceType.INTERACTIVE_PROCESS)
    for word, value in _TYPES.items():
        if base == value:
            return word
    return service_type


def _state_word(state: int) -> str | int:
    return State(state).name.lower() if state in State._value2member_map_ else state


@contextmanager
def _manager(system: str | None, database: str | None) -> Iterator[Manager]:
    mgr = Manager.connect(system, database)
    try:
        yield mgr
    finally:
        mgr.disconnect()


def _status_record(status: Status) -> dict[str, Any]:
    return {
        "checkpoint": status.checkpoint,
        "controls_accepted": int(status.controls_accepted),
        "exitcode": status.win32_exit_code,
        "interactive": int(bool(status.service_type & ServiceType.INTERACTIVE_PROCESS)),
        "pid": status.pid if status.state != State.STOPPED else -1,
        "serviceflags": status.flags,
        "servicetype": _type_word(status.service_type),
        "state": _state_word(status.state),
        "service_code": status.service_exit_code if status.win32_exit_code == ERROR_SERVICE_SPECIFIC_ERROR else 0,
        "wait_hint": status.wait_hint,
    }


def _await(svc: Service, target: State, wait_ms: int) -> bool:
    """Wait up to ``wait_ms`` for ``target``, checking at least as often as B89's poll interval."""
    deadline = time.monotonic() + wait_ms / 1000
    status = svc.query()
    while status.state != target:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        status = svc.watch(status, min(remaining, wait_poll_interval(status.wait_hint)))
    return True


# --- names and existence ---------------------------------------------------------------------------


def get_service_display_name(name: str, *, system: str | None = None, database: str | None = None) -> str:
    with _manager(system, database) as m:
        try:
            return m.display_name(name)
        except ScmError:
            m.key_name(name)  # raises when it is not a display name either
            return name


def get_service_internal_name(name: str, *, system: str | None = None, database: str | None = None) -> str:
    with _manager(system, database) as m:
        try:
            return m.key_name(name)
        except ScmError:
            m.display_name(name)  # a key name is its own internal name; raises 1060 if unknown
            return name


def service_exists(name: str, *, system: str | None = None, database: str | None = None) -> bool:
    with _manager(system, database) as m:
        return m.exists(name)


# --- status ----------------------------------------------------------------------------------------


def get_service_status(name: str, *, system: str | None = None, database: str | None = None) -> dict[str, Any]:
    with _manager(system, database) as m, m.open_service(name, access=ServiceAccess.QUERY_STATUS) as svc:
        return _status_record(svc.query())


def get_service_state(name: str, *, system: str | None = None, database: str | None = None) -> str | int:
    state: str | int = get_service_status(name, system=system, database=database)["state"]
    return state


def get_multiple_service_status(
    *,
    types: Iterable[str] = (),
    active: bool = False,
    inactive: bool = False,
    system: str | None = None,
    database: str | None = None,
) -> list[dict[str, Any]]:
    """Status records of every service matching ``types`` (TWAPI's -kernel_driver ... options)."""
    mask = 0
    for t in types:
        mask |= _TYPES[t]
    state = StateFilter.ALL if active == inactive else (StateFilter.ACTIVE if active else StateFilter.INACTIVE)
    with _manager(system, database) as m:
        entries = m.list_services(mask or ServiceType.TYPE_ALL, state)
    return [{"name": e.name, "displayname": e.display_name, **_status_record(e.status)} for e in entries]


def get_dependent_service_status(
    name: str, *, active: bool = False, inactive: bool = False, system: str | None = None, database: str | None = None
) -> list[dict[str, Any]]:
    state = StateFilter.ALL if active == inactive else (StateFilter.ACTIVE if active else StateFilter.INACTIVE)
    with _manager(system, database) as m, m.open_service(name, access=ServiceAccess.ENUMERATE_DEPENDENTS) as svc:
        entries = svc.dependents(state)
    out = []
    for e in entries:
        rec = {"name": e.name, "displayname": e.display_name, **_status_record(e.status)}
        del rec["pid"]  # TWAPI's dependent records carry no pid
        out.append(rec)
    return out


def interrogate_service(name: str, *, system: str | None = None, database: str | None = None) -> None:
    with _manager(system, database) as m, m.open_service(name, access=ServiceAccess.INTERROGATE) as svc:
        svc.interrogate()


# --- run state ---------------------------------------------------------------------------------------


def start_service(
    name: str, *args: str, wait: int = 0, system: str | None = None, database: str | None = None
) -> bool:
    """Start unless already running; True when it is RUNNING by the time this returns."""
    with _manager(system, database) as m, m.open_service(name, ServiceAccess.START | ServiceAccess.QUERY_STATUS) as svc:
        if svc.query().state == State.STOPPED:
            svc.start(*args)
        return _await(svc, State.RUNNING, wait)


def _control(name: str, code: int, right: int, target: State, wait: int, system: str | None,
             database: str | None, skip_if: State) -> bool:
    with _manager(system, database) as m, m.open_service(name, right | ServiceAccess.QUERY_STATUS) as svc:
        if svc.query().state != skip_if:
            svc.control(code)
        return _await(svc, target, wait)


def stop_service(name: str, *, wait: int = 0, system: str | None = None, database: str | None = None) -> bool:
    return _control(name, 1, ServiceAccess.STOP, State.STOPPED, wait, system, database, State.STOPPED)


def pause_service(name: str, *, wait: int = 0, system: str | None = None, database: str | None = None) -> bool:
    return _control(name, 2, ServiceAccess.PAUSE_CONTINUE, State.PAUSED, wait, system, database, State.PAUSED)


def continue_service(name: str, *, wait: int = 0, system: str | None = None, database: str | None = None) -> bool:
    return _control(name, 3, ServiceAccess.PAUSE_CONTINUE, State.RUNNING, wait, system, database, State.RUNNING)


# --- configuration -------------------------------------------------------------------------------------


def create_service(
    name: str,
    command: str,
    *,
    displayname: str | None = None,
    servicetype: str = "win32_own_process",
    interactive: bool = False,
    starttype: str = "auto_start",
    errorcontrol: str = "normal",
    loadordergroup: str | None = None,
    dependencies: list[str] | None = None,
    account: str | None = None,
    password: str | None = None,
    system: str | None = None,
    database: str | None = None,
) -> None:
    svc_type = _TYPES[servicetype] | (ServiceType.INTERACTIVE_PROCESS if interactive else 0)
    with _manager(system, database) as m:
        m.create_service(
            name,
            command,
            display_name=displayname,
            service_type=svc_type,
            start_type=_STARTS[starttype],
            error_control=_ERRORS[errorcontrol],
            group=loadordergroup,
            dependencies=dependencies,
            account=account,
            password=password if account else None,
        ).close()


def delete_service(name: str, *, system: str | None = None, database: str | None = None) -> None:
    with _manager(system, database) as m, m.open_service(name, ServiceAccess.DELETE) as svc:
        svc.delete()


def get_service_configuration(
    name: str, *options: str, system: str | None = None, database: str | None = None
) -> dict[str, Any]:
    """Options as TWAPI's (``"-all"``, ``"-command"``, ...); returns ``{"-option": value}``."""
    with _manager(system, database) as m, m.open_service(name, ServiceAccess.QUERY_CONFIG) as svc:
        cfg = svc.config()
        fa = svc.failure_actions()
        values: dict[str, Any] = {
            "-description": svc.description() or "",
            "-displayname": cfg.display_name,
            "-errorcontrol": cfg.error_control.name.lower(),
            "-failureactions": {
                "-resetperiod": fa.reset_period,
                "-rebootmsg": fa.reboot_message or "",
                "-command": fa.command or "",
                "-actions": [[_action_word(a.type), a.delay_ms] for a in fa.actions],
            },
            "-servicetype": _type_word(cfg.service_type),
            "-interactive": int(bool(cfg.service_type & ServiceType.INTERACTIVE_PROCESS)),
            "-loadordergroup": cfg.load_order_group,
            "-dependencies": list(cfg.dependencies),
            "-account": cfg.service_start_name,
            "-starttype": cfg.start_type.name.lower(),
            "-command": cfg.binary_path,
        }
    if not options or "-all" in options:
        return values
    return {k: values[k] for k in options}


def _action_word(t: ActionType) -> str:
    return {v: k for k, v in _ACTIONS.items()}[t]


def set_service_configuration(
    name: str,
    *,
    displayname: str | None = None,
    command: str | None = None,
    servicetype: str | None = None,
    interactive: bool | None = None,
    starttype: str | None = None,
    errorcontrol: str | None = None,
    loadordergroup: str | None = None,
    dependencies: list[str] | None = None,
    account: str | None = None,
    password: str | None = None,
    system: str | None = None,
    database: str | None = None,
) -> None:
    """Unspecified options stay as they are."""
    rights = ServiceAccess.CHANGE_CONFIG | ServiceAccess.QUERY_CONFIG
    with _manager(system, database) as m, m.open_service(name, rights) as svc:
        svc_type: int = NO_CHANGE
        if servicetype is not None or interactive is not None:
            current = svc.config().service_type
            base = _TYPES[servicetype] if servicetype else current & ~int(ServiceType.INTERACTIVE_PROCESS)
            inter = interactive if interactive is not None else bool(current & ServiceType.INTERACTIVE_PROCESS)
            svc_type = base | (ServiceType.INTERACTIVE_PROCESS if inter else 0)
        svc.update_config(
            service_type=svc_type,
            start_type=_STARTS[starttype] if starttype else NO_CHANGE,
            error_control=_ERRORS[errorcontrol] if errorcontrol else NO_CHANGE,
            binpath=command,
            group=loadordergroup,
            dependencies=dependencies,
            account=account,
            password=password if account else None,
            display_name=displayname,
        )


def set_service_description(name: str, text: str, *, system: str | None = None, database: str | None = None) -> None:
    with _manager(system, database) as m, m.open_service(name, ServiceAccess.CHANGE_CONFIG) as svc:
        svc.set_description(text)


def set_service_failure_actions(
    name: str,
    *,
    actions: list[tuple[str, int]] | None = None,
    command: str | None = None,
    rebootmsg: str | None = None,
    resetperiod: int = -1,
    system: str | None = None,
    database: str | None = None,
) -> None:
    """TWAPI semantics: unspecified options unchanged, except the reset period, which defaults to
    -1 (never reset) whenever ``actions`` is given."""
    value: dict[str, Any] = {"reboot": rebootmsg, "command": command}
    if actions is not None:
        value["actions"] = [[int(_ACTIONS[a]), int(ms)] for a, ms in actions]
        value["reset"] = resetperiod & 0xFFFFFFFF
    rights = ServiceAccess.CHANGE_CONFIG | ServiceAccess.START  # restart actions need START (B116)
    with _manager(system, database) as m, m.open_service(name, rights) as svc:
        svc.set_failure_actions(value)


__all__ = [
    "Action",
    "FailureActions",
    "continue_service",
    "create_service",
    "delete_service",
    "get_dependent_service_status",
    "get_multiple_service_status",
    "get_service_configuration",
    "get_service_display_name",
    "get_service_internal_name",
    "get_service_state",
    "get_service_status",
    "interrogate_service",
    "pause_service",
    "service_exists",
    "set_service_configuration",
    "set_service_description",
    "set_service_failure_actions",
    "start_service",
    "stop_service",
]
