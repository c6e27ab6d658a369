"""The SCM's API: what OpenSCManager, CreateService, ControlService & co. do, in Windows' order.

Each public method is one API call. It takes the caller's :class:`Session` (identity and open
handles) and plain arguments, checks them in the order Windows does (B17, B61, B79, B100 ...),
and returns wire-ready values. The daemon's server and the in-process backend both call these
methods, so the two cannot drift apart.
"""

from __future__ import annotations

import asyncio
import itertools
from functools import partial
from typing import Any

from ..errors import (
    ERROR_CIRCULAR_DEPENDENCY,
    ERROR_DATABASE_DOES_NOT_EXIST,
    ERROR_DEPENDENT_SERVICES_RUNNING,
    ERROR_INVALID_ADDRESS,
    ERROR_INVALID_HANDLE,
    ERROR_INVALID_NAME,
    ERROR_INVALID_PARAMETER,
    ERROR_SERVICE_ALREADY_RUNNING,
    ERROR_SERVICE_DEPENDENCY_DELETED,
    ERROR_SERVICE_DEPENDENCY_FAIL,
    ERROR_SERVICE_DISABLED,
    ERROR_SERVICE_DOES_NOT_EXIST,
    ERROR_SERVICE_MARKED_FOR_DELETE,
    ERROR_SHUTDOWN_IN_PROGRESS,
    ScmError,
)
from ..types import (
    NO_CHANGE,
    SCM_GENERIC_MAPPING,
    SERVICE_GENERIC_MAPPING,
    SERVICES_ACTIVE_DATABASE,
    Control,
    ScmAccess,
    ServiceAccess,
    ServiceType,
    StartType,
    State,
    StateFilter,
    is_user_control,
)
from . import boot, graph, validate
from .access import AccessControl
from .bootapi import BootApi
from .config2api import Config2Api
from .database import SERVICES, Database
from .events import EventLog
from .record import ServiceRecord, from_values, to_values
from .recovery import Recovery
from .regapi import RegistryApi
from .runtime import Runtime
from .secapi import SecurityApi
from .security import Identity, require


class Handle:
    __slots__ = ("rec", "access")

    def __init__(self, rec: ServiceRecord | None, access: int) -> None:
        self.rec = rec  # None for a manager handle
        self.access = access


class Session:
    """One client: its identity and its handles (handles are per process, B9)."""

    _ids = itertools.count(0x10000, 8)

    def __init__(self, who: Identity) -> None:
        self.who = who
        self.handles: dict[int, Handle] = {}

    def add(self, handle: Handle) -> int:
        h = next(Session._ids)
        self.handles[h] = handle
        return h


#: Control codes a client may send, and the right each needs (B61, B62).
_CONTROL_RIGHT: dict[int, int] = {
    Control.STOP: ServiceAccess.STOP,
    Control.PAUSE: ServiceAccess.PAUSE_CONTINUE,
    Control.CONTINUE: ServiceAccess.PAUSE_CONTINUE,
    Control.INTERROGATE: ServiceAccess.INTERROGATE,
    Control.PARAMCHANGE: ServiceAccess.PAUSE_CONTINUE,
    Control.NETBINDADD: ServiceAccess.PAUSE_CONTINUE,
    Control.NETBINDREMOVE: ServiceAccess.PAUSE_CONTINUE,
    Control.NETBINDENABLE: ServiceAccess.PAUSE_CONTINUE,
    Control.NETBINDDISABLE: ServiceAccess.PAUSE_CONTINUE,
}
#: B52: a START_PENDING service that shows no progress for this long plus its wait hint is hung.
HUNG_START_S = 80.0


class Scm(BootApi, Config2Api, RegistryApi, SecurityApi):
    """The service control manager of one database (registry calls in :mod:`.regapi`, security
    descriptors in :mod:`.secapi` and :mod:`.access`)."""

    def __init__(self, db: Database, events: EventLog, runtime: Runtime) -> None:
        self.db = db
        self.events = events
        self.runtime = runtime
        self.access = AccessControl(db, events)
        self.records: dict[str, ServiceRecord] = {}
        self.shutting_down = False
        self._boot_tasks: set[asyncio.Task[None]] = set()
        runtime.on_stopped = self._on_stopped
        runtime.recovery = Recovery(self._recovery_restart, runtime.run_command, runtime.reboot)
        #: True once this run uses the last-known-good configuration (B128).
        self.last_known_good = False
        self._load()

    def _load(self) -> None:
        """(Re)build the records from the Services key of the database. A service that stays
        keeps its record object, so handles opened before a reload keep working."""
        old, self.records = self.records, {}
        for key, values in self.db.read_tree(SERVICES).items():
            parts = key.split("\\")
            if len(parts) != 2 or "Type" not in values:
                continue
            rec = from_values(parts[1], values)
            if rec.marked_for_delete:  # deletions pending at the last shutdown complete now (B94)
                self.db.delete_tree(rec.key)
                continue
            kept = old.get(rec.name.lower())
            if kept is not None:
                kept.take_config(rec)
                rec = kept
            self.records[rec.name.lower()] = rec

    # --- handles -------------------------------------------------------------------------------

    def _live(self) -> None:
        if self.shutting_down:
            raise ScmError(ERROR_SHUTDOWN_IN_PROGRESS)  # B136

    @staticmethod
    def _scm(s: Session, h: int) -> Handle:
        handle = s.handles.get(h)
        if handle is None or handle.rec is not None:
            raise ScmError(ERROR_INVALID_HANDLE)
        return handle

    @staticmethod
    def _svc(s: Session, h: int, needed: int = 0) -> ServiceRecord:
        handle = s.handles.get(h)
        if handle is None or handle.rec is None:
            raise ScmError(ERROR_INVALID_HANDLE)
        require(handle.access, needed)
        return handle.rec

    def _find(self, name: str) -> ServiceRecord:
        rec = self.records.get(name.lower())
        if rec is None:
            raise ScmError(ERROR_SERVICE_DOES_NOT_EXIST, name)
        return rec

    def _open_handle(self, s: Session, rec: ServiceRecord, access: int) -> int:
        rec.handles += 1
        return s.add(Handle(rec, access))

    def open_scm(self, s: Session, machine: str | None, database: str | None, access: int) -> int:
        self._live()
        if database and database.casefold() != SERVICES_ACTIVE_DATABASE.casefold():
            known = database.casefold() == "servicesfailed"
            raise ScmError(ERROR_DATABASE_DOES_NOT_EXIST if known else ERROR_INVALID_NAME, database)  # B2
        granted = self.access.open(s.who, None, "the service control manager", access,
                                   SCM_GENERIC_MAPPING) | ScmAccess.CONNECT  # B1
        return s.add(Handle(None, granted))

    def close(self, s: Session, h: int) -> None:
        handle = s.handles.pop(h, None)
        if handle is None:
            raise ScmError(ERROR_INVALID_HANDLE)  # B9
        rec = handle.rec
        if rec is not None:
            rec.handles -= 1
            self._maybe_remove(rec)

    def close_session(self, s: Session) -> None:
        for h in list(s.handles):
            self.close(s, h)

    # --- create / open / delete ----------------------------------------------------------------

    def create(
        self,
        s: Session,
        scm: int,
        name: str | None,
        display: str | None,
        access: int,
        type: int,
        start: int,
        error: int,
        binpath: str | None,
        group: str | None,
        tag: bool,
        deps: list[str] | None,
        account: str | None,
        password: str | None,
    ) -> list[int]:
        self._live()
        handle = self._scm(s, scm)  # B17 (1)
        if name is None or binpath is None:
            raise ScmError(ERROR_INVALID_ADDRESS)  # (2)
        require(handle.access, ScmAccess.CREATE_SERVICE)  # (3)
        validate.service_name(name)  # (4)
        if not binpath:
            raise ScmError(ERROR_INVALID_PARAMETER, "empty binary path")  # (5)
        validate.service_type(type)
        validate.start_type(type, start)
        validate.error_control(error)
        validate.account(type, account)
        validate.account_exists(type, account)
        if tag and not group:
            raise ScmError(ERROR_INVALID_PARAMETER, "a tag needs a load-order group")  # B22
        if display is not None:
            validate.display_name(display)
        existing = self.records.get(name.lower())
        if existing is not None:
            validate.exists(existing)  # B24
        if display:
            validate.display_free(self.records.values(), display, None)  # B25, B26
        services, groups = validate.dependencies(deps or [])
        if graph.creates_cycle(self.records, name, group or "", services, groups):
            raise ScmError(ERROR_CIRCULAR_DEPENDENCY)  # B30
        rec = ServiceRecord(name)
        rec.service_type = type
        rec.start_type = validate.as_start(start)
        rec.error_control = validate.as_error(error)
        rec.image_path = binpath
        rec.display_name = display or ""  # B11: read back as the key name
        rec.group = group or ""
        rec.depend_on_service, rec.depend_on_group = services, groups
        rec.object_name = validate.stored_account(type, account)  # B27
        if tag:
            rec.tag = self._free_tag(rec.group)
        self.db.write({rec.key: to_values(rec)}, replace=[rec.key])
        self.records[name.lower()] = rec
        self.access.forget()
        self.events.write(7045, name, name, binpath, data={"type": type, "start": start, "account": rec.object_name})
        granted = SERVICE_GENERIC_MAPPING.map(access)  # B23: no check, the creator gets what it asked
        return [self._open_handle(s, rec, granted), rec.tag]

    def _free_tag(self, group: str) -> int:
        """B22: the lowest tag neither used in the group nor listed in its tag vector."""
        used = {r.tag for r in graph.group_members(self.records, group)} | set(boot.tag_order(self.db, group))
        tag = 1
        while tag in used:
            tag += 1
        return tag

    def open(self, s: Session, scm: int, name: str | None, access: int) -> int:
        self._live()
        self._scm(s, scm)  # B5: only CONNECT is needed on the manager (B7)
        if name is None:
            raise ScmError(ERROR_INVALID_ADDRESS)
        rec = self._find(name)  # key names only (B6)
        granted = self.access.open(s.who, rec.name, rec.name, access, SERVICE_GENERIC_MAPPING)  # B7
        return self._open_handle(s, rec, granted)

    def delete(self, s: Session, h: int) -> None:
        self._live()
        rec = self._svc(s, h, ServiceAccess.DELETE)  # B93
        if rec.marked_for_delete:
            raise ScmError(ERROR_SERVICE_MARKED_FOR_DELETE)  # B95
        rec.marked_for_delete = True
        self.db.write({rec.key: {"DeleteFlag": (4, 1)}})
        self._maybe_remove(rec)

    def _maybe_remove(self, rec: ServiceRecord) -> None:
        """B94: the key goes once the service is stopped and its last handle is closed."""
        gone = rec.marked_for_delete and rec.handles <= 0 and rec.state is State.STOPPED and not rec.starting
        if gone and self.records.get(rec.name.lower()) is rec:
            del self.records[rec.name.lower()]
            self.db.delete_tree(rec.key)
            self.access.forget()  # its descriptor went with its key

    def _on_stopped(self, rec: ServiceRecord, crashed: bool) -> None:
        self._maybe_remove(rec)

    async def _recovery_restart(self, rec: ServiceRecord) -> None:
        """RESTART action: start it again unless it was deleted or disabled meanwhile (B118)."""
        if self.shutting_down or self.records.get(rec.name.lower()) is not rec or rec.marked_for_delete:
            return
        if rec.start_type == StartType.DISABLED or rec.state is not State.STOPPED or rec.starting:
            return
        try:
            await self._start(rec, [], frozenset())
        except ScmError:
            pass  # the start path logged 7000 with the reason

    # --- queries -------------------------------------------------------------------------------

    def status(self, s: Session, h: int) -> list[int]:
        self._live()
        return self._svc(s, h, ServiceAccess.QUERY_STATUS).status_wire()  # B78

    def config(self, s: Session, h: int) -> list[Any]:
        self._live()
        return self._svc(s, h, ServiceAccess.QUERY_CONFIG).config().to_wire()

    def enum(self, s: Session, scm: int, type: int, state: int, group: str | None) -> list[list[Any]]:
        self._live()
        handle = self._scm(s, scm)  # B100 order: handle, then 87, then access, then group
        if not type or not state or state & ~StateFilter.ALL or type & ~int(ServiceType.TYPE_ALL):
            raise ScmError(ERROR_INVALID_PARAMETER)
        require(handle.access, ScmAccess.ENUMERATE_SERVICE)
        if group:
            g = group.casefold()
            if not any(r.group.casefold() == g for r in self.records.values()):
                raise ScmError(ERROR_SERVICE_DOES_NOT_EXIST, f"group {group}")
        out = []
        types = type & int(ServiceType.TYPE_ALL) & ~int(ServiceType.INTERACTIVE_PROCESS)  # plain ints:
        active_ok, inactive_ok = state & int(StateFilter.ACTIVE), state & int(StateFilter.INACTIVE)  # flag ops are slow
        for rec in sorted(self.records.values(), key=lambda r: r.name.casefold()):  # B106
            if not int(rec.service_type) & types:
                continue
            if not (active_ok if rec.state is not State.STOPPED else inactive_ok):
                continue
            if group is not None and rec.group.casefold() != group.casefold():
                continue  # B105: "" selects services without a group
            out.append([rec.name, rec.shown_name, rec.status_wire()])
        return out

    def display_name(self, s: Session, scm: int, name: str | None) -> str:
        self._live()
        self._scm(s, scm)
        if name is None:
            raise ScmError(ERROR_INVALID_ADDRESS)
        return self._find(name).shown_name  # B11

    def key_name(self, s: Session, scm: int, name: str | None) -> str:
        self._live()
        self._scm(s, scm)
        if name is None:
            raise ScmError(ERROR_INVALID_ADDRESS)
        wanted = name.casefold()
        for rec in self.records.values():  # oldest first (B26)
            if rec.shown_name.casefold() == wanted:
                return rec.name
        raise ScmError(ERROR_SERVICE_DOES_NOT_EXIST, name)

    def dependents(self, s: Session, h: int, state: int) -> list[list[Any]]:
        self._live()
        rec = self._svc(s, h, ServiceAccess.ENUMERATE_DEPENDENTS)  # B107
        if not state or state & ~StateFilter.ALL:
            raise ScmError(ERROR_INVALID_PARAMETER)
        out = []
        for d in graph.all_dependents(self.records, rec):
            active = d.state is not State.STOPPED
            if state & (StateFilter.ACTIVE if active else StateFilter.INACTIVE):
                out.append([d.name, d.shown_name, d.status_wire()])
        return out

    async def events_since(
        self, s: Session, scm: int, service: str | None, since: int, limit: int, wait_ms: int
    ) -> list[Any]:
        """Event log records after id ``since`` (-1: the newest ``limit``); with ``wait_ms``, wait
        that long for new ones."""
        self._scm(s, scm)
        limit = min(max(limit, 1), 10000)
        rows = self.events.read(service, since, limit)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(wait_ms, 0), 3_600_000) / 1000
        while not rows and loop.time() < deadline:
            arrived: asyncio.Future[None] = loop.create_future()
            self.events.on_next_write(partial(_resolve, arrived))
            try:
                await asyncio.wait_for(arrived, deadline - loop.time())
            except TimeoutError:
                break
            rows = self.events.read(service, since, limit)
        return [e.to_wire() for e in rows]

    # --- configuration -------------------------------------------------------------------------

    def change(
        self,
        s: Session,
        h: int,
        type: int,
        start: int,
        error: int,
        binpath: str | None,
        group: str | None,
        tag: bool,
        deps: list[str] | None,
        account: str | None,
        password: str | None,
        display: str | None,
    ) -> int:
        self._live()
        rec = self._svc(s, h, ServiceAccess.CHANGE_CONFIG)  # B34
        if rec.marked_for_delete:
            raise ScmError(ERROR_SERVICE_MARKED_FOR_DELETE)  # B96
        new_type = rec.service_type if type == NO_CHANGE else type
        validate.service_type(new_type)
        if start != NO_CHANGE:
            validate.start_type(new_type, start)
        elif type != NO_CHANGE:
            validate.start_type(new_type, rec.start_type)
        if error != NO_CHANGE:
            validate.error_control(error)
        validate.account(new_type, account if account is not None else rec.object_name)
        if account is not None:
            validate.account_exists(new_type, account)
        new_group = rec.group if group is None else group
        if tag and not new_group:
            raise ScmError(ERROR_INVALID_PARAMETER, "a tag needs a load-order group")
        if display:
            validate.display_name(display)
            validate.display_free(self.records.values(), display, rec)
        if deps is not None:
            services, groups = validate.dependencies(deps)
        else:
            services, groups = rec.depend_on_service, rec.depend_on_group
        if (deps is not None or group is not None) and graph.creates_cycle(
            self.records, rec.name, new_group, services, groups
        ):
            raise ScmError(ERROR_CIRCULAR_DEPENDENCY)
        old_start = rec.start_type
        rec.service_type = new_type
        if start != NO_CHANGE:
            rec.start_type = validate.as_start(start)
        if error != NO_CHANGE:
            rec.error_control = validate.as_error(error)
        if binpath is not None:
            rec.image_path = binpath
        if group is not None:
            rec.group = group
        if tag:
            rec.tag = self._free_tag(rec.group)
        elif not rec.group:
            rec.tag = 0
        rec.depend_on_service, rec.depend_on_group = services, groups
        if account is not None:
            rec.object_name = validate.stored_account(new_type, account)
        if display is not None:
            rec.display_name = display  # shown at once (B35); "" falls back to the key name
        self.db.write({rec.key: to_values(rec)})
        if rec.start_type is not old_start:
            self.events.write(7040, rec.name, rec.shown_name, old_start.name, rec.start_type.name)
        return rec.tag

    # --- start / control -----------------------------------------------------------------------

    async def start(self, s: Session, h: int, args: list[str]) -> None:
        self._live()
        rec = self._svc(s, h, ServiceAccess.START)  # B42
        await self._start(rec, args, frozenset())

    async def _start(self, rec: ServiceRecord, args: list[str], trail: frozenset[str]) -> None:
        if rec.marked_for_delete:
            raise ScmError(ERROR_SERVICE_MARKED_FOR_DELETE)  # B44
        if rec.start_type == StartType.DISABLED:
            raise ScmError(ERROR_SERVICE_DISABLED)  # B43
        if rec.state is not State.STOPPED or rec.starting:
            raise ScmError(ERROR_SERVICE_ALREADY_RUNNING)  # B45
        rec.starting = True
        try:
            await self._start_dependencies(rec, trail | {rec.name.casefold()})
        finally:
            rec.starting = False
            self.runtime.notify(rec)
        await self.runtime.start(rec, args)

    async def _start_dependencies(self, rec: ServiceRecord, trail: frozenset[str]) -> None:
        """B50: start what ``rec`` depends on first; 1075 for a missing one, 1068 for a failure."""
        for name in rec.depend_on_service:
            dep = self.records.get(name.lower())
            if dep is None or dep.marked_for_delete:
                raise ScmError(ERROR_SERVICE_DEPENDENCY_DELETED, name)
            if not await self._bring_up(dep, trail):
                raise ScmError(ERROR_SERVICE_DEPENDENCY_FAIL, name)
        for group in rec.depend_on_group:
            members = [m for m in graph.group_members(self.records, group) if m is not rec]
            if not members:
                raise ScmError(ERROR_SERVICE_DEPENDENCY_DELETED, "+" + group)
            results = await asyncio.gather(*(self._bring_up(m, trail) for m in members))
            if not any(results):
                raise ScmError(ERROR_SERVICE_DEPENDENCY_FAIL, "+" + group)

    async def _bring_up(self, dep: ServiceRecord, trail: frozenset[str]) -> bool:
        """Start ``dep`` if stopped and wait until it runs; False if it did not come up."""
        if dep.name.casefold() in trail:
            return False
        if dep.state is State.STOPPED and not dep.starting:
            try:
                await self._start(dep, [], trail)
            except ScmError:
                return False
        while dep.state in (State.START_PENDING,) or dep.starting:
            hint = max(dep.wait_hint, 1000) / 1000
            if not await self.runtime.changed(dep, timeout=HUNG_START_S + hint):
                return False
        return dep.state not in (State.STOPPED, State.STOP_PENDING)

    async def control(self, s: Session, h: int, code: int) -> list[int]:
        self._live()
        right = _CONTROL_RIGHT.get(code)  # B61: the code is checked before the handle's access
        if right is None:
            if not is_user_control(code):
                raise ScmError(ERROR_INVALID_PARAMETER, f"control code {code}")
            right = ServiceAccess.USER_DEFINED_CONTROL
        rec = self._svc(s, h, right)  # B62
        self.runtime.check_control(rec, code)  # B63, B64, B70
        if code == Control.STOP:
            active = [d for d in graph.direct_dependents(self.records, rec) if d.state is not State.STOPPED]
            if active:
                raise ScmError(ERROR_DEPENDENT_SERVICES_RUNNING, ", ".join(d.name for d in active))  # B65
        await self.runtime.control(rec, code)
        return rec.status_wire()  # B67: as last reported

    async def watch(self, s: Session, h: int, seen: list[int] | None, timeout_ms: int) -> list[int]:
        """Long poll: the status once (state, checkpoint) differs from ``seen``, or at timeout."""
        self._live()
        rec = self._svc(s, h, ServiceAccess.QUERY_STATUS)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(max(timeout_ms, 0), 3_600_000) / 1000
        while seen is not None and [int(rec.state), rec.status_wire()[5]] == seen:
            remaining = deadline - loop.time()
            if remaining <= 0 or not await self.runtime.changed(rec, timeout=remaining):
                break
        return rec.status_wire()

    # --- shutdown ------------------------------------------------------------------------------

    async def shutdown(self, timeout_ms: int) -> None:
        self.shutting_down = True
        for task in self._boot_tasks:
            task.cancel()
        await self.runtime.stop_all(list(self.records.values()), timeout_ms)
        for rec in list(self.records.values()):
            self._maybe_remove(rec)
        self.events.flush()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
