"""Manager side: create, configure, query, control and delete services.

``Manager.connect()`` opens the service control manager (the real one on Windows, the portable
daemon elsewhere, or ``backend="memory"`` for an in-process one); ``Service`` handles come from
``create_service`` / ``open_service``. Both are context managers, and both raise
:class:`~svcctl.errors.ScmError` carrying Windows' code for every failure.
"""

from __future__ import annotations

import time
from types import TracebackType

from ..errors import ERROR_INVALID_HANDLE, ScmError
from ..types import (
    MAXIMUM_ALLOWED,
    NO_CHANGE,
    Config,
    ConfigLevel,
    Control,
    EnumEntry,
    ErrorControl,
    FailureActions,
    ServiceAccess,
    ServiceType,
    StartType,
    State,
    StateFilter,
    Status,
)
from .backend import Backend, default_backend_name, open_backend

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

__all__ = ["Manager", "Service", "wait_poll_interval"]


def wait_poll_interval(wait_hint_ms: int) -> float:
    """B89: a controller that polls should do so every wait hint / 10, clamped to [1 s, 10 s]."""
    return min(max(wait_hint_ms / 10000, 1.0), 10.0)


def _entries(rows: list[list[Any]]) -> list[EnumEntry]:
    return [EnumEntry(r[0], r[1], Status.from_wire(r[2])) for r in rows]


def _sddl(hex_sd: str) -> str:
    from ..secdesc import bytes_to_sddl

    return bytes_to_sddl(bytes.fromhex(hex_sd))


def _sd_args(sd: str | bytes, info: int | None) -> dict[str, Any]:
    from ..secdesc import SecurityDescriptor, SecurityDescriptorError

    try:
        desc = SecurityDescriptor.from_bytes(sd) if isinstance(sd, bytes) else SecurityDescriptor.from_sddl(sd)
    except SecurityDescriptorError as exc:
        raise ScmError(1336, str(exc)) from None  # ERROR_INVALID_ACL
    if info is None:
        info = (1 if desc.owner else 0) | (2 if desc.group else 0) | (4 if desc.control & 0x4 else 0) | (
            8 if desc.control & 0x10 else 0)
    return {"info": info or 4, "sd": desc.to_bytes().hex()}


class Manager:
    """An open service control manager (OpenSCManager)."""

    def __init__(self, backend: Backend, handle: int, system: str | None) -> None:
        self.backend = backend
        self.handle = handle
        self.system = system
        self._closed = False

    @classmethod
    def connect(
        cls,
        system: str | None = None,
        database: str | None = None,
        access: int = MAXIMUM_ALLOWED,
        backend: str | Backend | None = None,
    ) -> Manager:
        """Open the SCM of ``system`` (None = this machine) with ``access`` rights."""
        be = backend if isinstance(backend, Backend) else open_backend(backend or default_backend_name(), system)
        try:
            h = be.call("open_scm", machine=system, database=database, access=int(access))
        except BaseException:
            be.close()
            raise
        return cls(be, h, system)

    def __enter__(self) -> Manager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the manager handle. Service handles opened through it stay valid (B10)."""
        if not self._closed:
            self._closed = True
            self.backend.call("close", h=self.handle)

    def disconnect(self) -> None:
        """Close the manager and every handle of this connection (as process exit would)."""
        self._closed = True
        self.backend.close()

    # --- services ----------------------------------------------------------------------------------

    def create_service(
        self,
        name: str,
        binpath: str,
        *,
        display_name: str | None = None,
        service_type: int = ServiceType.WIN32_OWN_PROCESS,
        start_type: int = StartType.DEMAND_START,
        error_control: int = ErrorControl.NORMAL,
        group: str | None = None,
        tag: bool = False,
        dependencies: list[str] | None = None,
        account: str | None = None,
        password: str | None = None,
        access: int = ServiceAccess.ALL_ACCESS,
    ) -> Service:
        """CreateService with every parameter; ``tag=True`` asks for a tag in ``group`` (B22)."""
        h, tag_id = self.backend.call(
            "create",
            scm=self.handle,
            name=name,
            display=display_name,
            access=int(access),
            type=int(service_type),
            start=int(start_type),
            error=int(error_control),
            binpath=binpath,
            group=group,
            tag=tag,
            deps=dependencies,
            account=account,
            password=password,
        )
        svc = Service(self.backend, h, name)
        svc.tag_id = tag_id
        return svc

    def open_service(self, name: str, access: int = MAXIMUM_ALLOWED) -> Service:
        """OpenService by key name (display names give 1060, B6)."""
        return Service(self.backend, self.backend.call("open", scm=self.handle, name=name, access=int(access)), name)

    def list_services(
        self,
        service_type: int = ServiceType.WIN32,
        state: int = StateFilter.ALL,
        group: str | None = None,
    ) -> list[EnumEntry]:
        """EnumServicesStatusEx: name order; ``group=""`` selects services without a group."""
        rows = self.backend.call("enum", scm=self.handle, type=int(service_type), state=int(state), group=group)
        return _entries(rows)

    def display_name(self, key_name: str) -> str:
        """GetServiceDisplayName (the key name when none was set, B11)."""
        name: str = self.backend.call("display_name", scm=self.handle, name=key_name)
        return name

    def key_name(self, display_name: str) -> str:
        """GetServiceKeyName."""
        name: str = self.backend.call("key_name", scm=self.handle, name=display_name)
        return name

    def exists(self, name: str) -> bool:
        """Whether ``name`` is a service's key or display name."""
        try:
            self.key_name(name)
            return True
        except ScmError:
            pass
        try:
            self.open_service(name, access=ServiceAccess.QUERY_STATUS).close()
            return True
        except ScmError as exc:
            return exc.winerror == 5  # it exists, we just may not look at it

    def start_many(self, services: Sequence[Service], *args: str) -> list[ScmError | None]:
        """StartService for every one of ``services`` at once, as ``systemctl start a b c`` or
        supervisord's ``start all`` do: the portable backend keeps the calls in flight together,
        so 200 starts cost the SCM's time, not 200 round trips. Each entry is None (started, as
        :meth:`Service.start` returns) or the error that service's start raised."""
        results = self.backend.call_many([("start", {"h": svc.handle, "args": list(args)}) for svc in services])
        return [r if isinstance(r, ScmError) else None for r in results]

    def control_many(self, services: Sequence[Service], code: int) -> list[Status | ScmError]:
        """ControlService(``code``) for every one of ``services`` at once (see :meth:`start_many`);
        each entry is the status ControlService returned, or its error."""
        results = self.backend.call_many([("control", {"h": svc.handle, "code": int(code)}) for svc in services])
        return [r if isinstance(r, ScmError) else Status.from_wire(r) for r in results]

    def stop_with_dependents(self, name: str, timeout: float = 30.0) -> Status:
        """Stop ``name`` after its active dependents, in EnumDependentServices order (a valid stop
        order, B107), each waited for until STOPPED. (The SCM itself refuses with 1051, B65.)"""
        deadline = time.monotonic() + timeout
        rights = ServiceAccess.STOP | ServiceAccess.QUERY_STATUS
        with self.open_service(name, rights | ServiceAccess.ENUMERATE_DEPENDENTS) as svc:
            for entry in svc.dependents(StateFilter.ACTIVE):
                with self.open_service(entry.name, rights) as dep:
                    if dep.query().state not in (State.STOPPED, State.STOP_PENDING):
                        dep.stop()
                    dep.wait(State.STOPPED, max(deadline - time.monotonic(), 0))
            if svc.query().state not in (State.STOPPED, State.STOP_PENDING):
                svc.stop()
            return svc.wait(State.STOPPED, max(deadline - time.monotonic(), 0))

    def group_order(self) -> list[str]:
        """``Control\\ServiceGroupOrder`` ``List``: the load-order groups, first started first."""
        groups: list[str] = self.backend.call("group_order", scm=self.handle)
        return groups

    def set_group_order(self, groups: list[str]) -> None:
        self.backend.call("set_group_order", scm=self.handle, groups=list(groups))

    def tag_order(self, group: str) -> list[int]:
        """``Control\\GroupOrderList\\<group>``: the tags of ``group`` in start order."""
        tags: list[int] = self.backend.call("tag_order", scm=self.handle, group=group)
        return tags

    def set_tag_order(self, group: str, tags: list[int]) -> None:
        self.backend.call("set_tag_order", scm=self.handle, group=group, tags=[int(t) for t in tags])

    def events(
        self, service: str | None = None, since: int = 0, limit: int = 1000, wait: float = 0
    ) -> list[list[Any]]:
        """Event log records after id ``since`` (-1: the newest ``limit``):
        [id, time, event id, level, service, text, data].

        With ``wait`` (seconds) and nothing new yet, the call returns as soon as events arrive.
        """
        rows: list[list[Any]] = self.backend.call(
            "events_since", scm=self.handle, service=service, since=since, limit=limit, wait_ms=int(wait * 1000)
        )
        return rows

    # --- security descriptors (QueryServiceObjectSecurity / SetServiceObjectSecurity) --------

    def security(self, info: int = 0x4) -> str:
        """The SCM's own descriptor as SDDL (``info``: 1 owner, 2 group, 4 DACL, 8 SACL)."""
        return _sddl(self.backend.call("get_security", h=self.handle, info=info))

    def set_security(self, sd: str | bytes, info: int | None = None) -> None:
        """Replace parts of the SCM's descriptor (from SDDL or binary; ``info`` default: the
        parts the SDDL names)."""
        self.backend.call("set_security", h=self.handle, **_sd_args(sd, info))

    # --- the registry next to the services (srvany's and NSSM's Parameters) -------------------

    def reg_get(self, key: str) -> dict[str, dict[str, tuple[int, Any]]]:
        r"""Values of ``key`` (relative to ``HKLM\SYSTEM\CurrentControlSet``) and of every key
        below it: ``{subkey relative to key ("" for key itself): {name: (REG_* type, data)}}``."""
        from ..regvalue import from_wire

        raw: dict[str, dict[str, Any]] = self.backend.call("reg_get", scm=self.handle, key=key)
        return {k: {n: from_wire(v) for n, v in values.items()} for k, values in raw.items()}

    def reg_set(self, key: str, values: dict[str, tuple[int, Any] | None], replace: bool = False) -> None:
        r"""Set values (``None`` deletes one) of a ``Services\<name>\Parameters`` key, in one
        transaction; ``replace`` first drops the values not named."""
        from ..regvalue import to_wire

        wire = {n: None if v is None else to_wire(v) for n, v in values.items()}
        self.backend.call("reg_set", scm=self.handle, key=key, values=wire, replace=replace)

    def reg_import(self, ops: list[list[Any]]) -> dict[str, list[str]]:
        """Apply .reg operations ``[kind, line, key, name, type, data]`` all or nothing (see
        :mod:`svcctl.scm.regimport`); returns the services created, changed and deleted."""
        result: dict[str, list[str]] = self.backend.call("reg_import", scm=self.handle, ops=ops)
        return result

    def reg_delete(self, key: str) -> None:
        """Delete a ``Parameters`` key, or a key below it, with its subkeys."""
        self.backend.call("reg_delete", scm=self.handle, key=key)


class Service:
    """An open service handle."""

    def __init__(self, backend: Backend, handle: int, name: str) -> None:
        self.backend = backend
        self.handle = handle
        self.name = name
        self.tag_id = 0
        self._closed = False

    def __enter__(self) -> Service:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Service {self.name!r} handle=0x{self.handle:x}>"

    def _call(self, op: str, **args: Any) -> Any:
        if self._closed:
            raise ScmError(ERROR_INVALID_HANDLE)
        return self.backend.call(op, h=self.handle, **args)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.backend.call("close", h=self.handle)

    # --- status and configuration ------------------------------------------------------------

    def query(self) -> Status:
        """QueryServiceStatusEx."""
        return Status.from_wire(self._call("status"))

    def config(self) -> Config:
        """QueryServiceConfig."""
        return Config.from_wire(self._call("config"))

    def config2(self, level: int) -> Any:
        """QueryServiceConfig2 at a raw level (wire value)."""
        return self._call("config2", level=int(level))

    def description(self) -> str | None:
        value: str | None = self.config2(ConfigLevel.DESCRIPTION)
        return value

    def failure_actions(self) -> FailureActions:
        return FailureActions.from_wire(self.config2(ConfigLevel.FAILURE_ACTIONS))

    def failure_actions_on_non_crash(self) -> bool:
        return bool(self.config2(ConfigLevel.FAILURE_ACTIONS_FLAG))

    def delayed_auto_start(self) -> bool:
        return bool(self.config2(ConfigLevel.DELAYED_AUTO_START_INFO))

    def preshutdown_timeout(self) -> int:
        return int(self.config2(ConfigLevel.PRESHUTDOWN_INFO))

    def update_config(
        self,
        *,
        service_type: int = NO_CHANGE,
        start_type: int = NO_CHANGE,
        error_control: int = NO_CHANGE,
        binpath: str | None = None,
        group: str | None = None,
        tag: bool = False,
        dependencies: list[str] | None = None,
        account: str | None = None,
        password: str | None = None,
        display_name: str | None = None,
    ) -> int:
        """ChangeServiceConfig: NO_CHANGE / None leave a field alone, "" clears group and
        dependencies (B33). Returns the tag."""
        tag_id: int = self._call(
            "change",
            type=int(service_type),
            start=int(start_type),
            error=int(error_control),
            binpath=binpath,
            group=group,
            tag=tag,
            deps=[] if dependencies == [""] else dependencies,
            account=account,
            password=password,
            display=display_name,
        )
        self.tag_id = tag_id
        return tag_id

    def update_config2(self, level: int, value: Any) -> None:
        """ChangeServiceConfig2 at a raw level; ``None`` leaves the information unchanged (B41)."""
        self._call("change2", level=int(level), value=value)

    def set_description(self, text: str | None) -> None:
        """None leaves it, "" deletes it (B37)."""
        self.update_config2(ConfigLevel.DESCRIPTION, text)

    def set_failure_actions(self, actions: FailureActions | dict[str, Any]) -> None:
        """B115 semantics when given a dict: missing/None members stay as they are."""
        value = actions.to_wire() if isinstance(actions, FailureActions) else actions
        self.update_config2(ConfigLevel.FAILURE_ACTIONS, value)

    def set_failure_actions_on_non_crash(self, flag: bool) -> None:
        self.update_config2(ConfigLevel.FAILURE_ACTIONS_FLAG, bool(flag))

    def set_delayed_auto_start(self, flag: bool | int) -> None:
        self.update_config2(ConfigLevel.DELAYED_AUTO_START_INFO, flag)

    def set_preshutdown_timeout(self, ms: int) -> None:
        self.update_config2(ConfigLevel.PRESHUTDOWN_INFO, ms)

    # --- run state ---------------------------------------------------------------------------

    def security(self, info: int = 0x4) -> str:
        """The service's descriptor as SDDL (``info``: 1 owner, 2 group, 4 DACL, 8 SACL)."""
        return _sddl(self._call("get_security", info=info))

    def set_security(self, sd: str | bytes, info: int | None = None) -> None:
        """SetServiceObjectSecurity from SDDL or binary; ``info`` defaults to the parts the SDDL
        names (a bare ``D:...`` replaces only the DACL, as ``sc sdset`` does). Needs WRITE_DAC."""
        self._call("set_security", **_sd_args(sd, info))

    def start(self, *args: str) -> None:
        """StartService: returns once ServiceMain runs (START_PENDING, B48), not when RUNNING."""
        self._call("start", args=list(args))

    def control(self, code: int) -> Status:
        """ControlService: the status as last reported (B67)."""
        return Status.from_wire(self._call("control", code=int(code)))

    def stop(self) -> Status:
        return self.control(Control.STOP)

    def pause(self) -> Status:
        return self.control(Control.PAUSE)

    def continue_(self) -> Status:
        return self.control(Control.CONTINUE)

    def interrogate(self) -> Status:
        return self.control(Control.INTERROGATE)

    def dependents(self, state: int = StateFilter.ACTIVE) -> list[EnumEntry]:
        """EnumDependentServices: direct and indirect, in reverse start order (B107)."""
        return _entries(self._call("dependents", state=int(state)))

    def delete(self) -> None:
        """DeleteService: marks it; it goes once stopped and all handles are closed (B94)."""
        self._call("delete")

    def watch(self, seen: Status | None, timeout: float) -> Status:
        """Status as soon as it differs from ``seen`` (state or checkpoint), or after ``timeout``.

        A long poll in the daemon (NotifyServiceStatusChange's role), so waiting costs no polling.
        """
        last = [int(seen.state), seen.checkpoint] if seen is not None else None
        return Status.from_wire(self._call("watch", seen=last, timeout_ms=int(max(timeout, 0) * 1000)))

    def wait(self, state: State, timeout: float | None = None) -> Status:
        """Wait until ``state`` is reached or ``timeout`` passes; returns the last status.

        Like Windows' service controllers (B89) it gives up early when a pending service's
        checkpoint has not advanced for longer than its wait hint, or when the service settles
        in a state other than the one awaited.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        status = self.query()
        progress_at = time.monotonic()
        while status.state != state and status.state.pending:
            now = time.monotonic()
            budget = status.wait_hint / 1000 + 1 - (now - progress_at) if status.wait_hint else 3600.0
            if deadline is not None:
                budget = min(budget, deadline - now)
            if budget <= 0:
                break
            new = self.watch(status, budget)
            if (new.state, new.checkpoint) != (status.state, status.checkpoint):
                progress_at = time.monotonic()
            status = new
        return status

