"""sc.exe's verbs with sc's syntax, output and exit codes (spec section 2), over svcctl.mgr.

Options are sc's ``key= value`` (or ``key=value``) pairs, keywords and values case-insensitive.
Everything sc prints goes to stdout, and the exit code is the Win32 code of the failing call
(0 on success, 1639 for bad syntax).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from ..errors import ERROR_INVALID_COMMAND_LINE, ERROR_INVALID_PARAMETER, ERROR_MORE_DATA, ScmError
from ..mgr import Manager, Service
from ..types import (
    NO_CHANGE,
    Action,
    ActionType,
    Control,
    ErrorControl,
    FailureActions,
    ServiceAccess,
    ServiceType,
    StartType,
    StateFilter,
)
from . import scformat as fmt
from .usage import usage_for

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any, TextIO

_OPTION = re.compile(r"^([A-Za-z]+)=(.*)$", re.S)
_TYPES = {
    "own": ServiceType.WIN32_OWN_PROCESS,
    "share": ServiceType.WIN32_SHARE_PROCESS,
    "kernel": ServiceType.KERNEL_DRIVER,
    "filesys": ServiceType.FILE_SYSTEM_DRIVER,
    "rec": ServiceType.RECOGNIZER_DRIVER,
    "adapt": ServiceType.ADAPTER,
    "interact": ServiceType.INTERACTIVE_PROCESS,
}
_ENUM_TYPES = {"service": ServiceType.WIN32, "driver": ServiceType.DRIVER, "all": ServiceType.TYPE_ALL, **_TYPES}
_STARTS = {"boot": 0, "system": 1, "auto": 2, "demand": 3, "disabled": 4, "delayed-auto": 2}
_ERRORS = {"normal": 1, "severe": 2, "critical": 3, "ignore": 0}
_STATES = {"active": StateFilter.ACTIVE, "inactive": StateFilter.INACTIVE, "all": StateFilter.ALL}
_CONTROLS = {
    "paramchange": Control.PARAMCHANGE,
    "netbindadd": Control.NETBINDADD,
    "netbindremove": Control.NETBINDREMOVE,
    "netbindenable": Control.NETBINDENABLE,
    "netbinddisable": Control.NETBINDDISABLE,
}
_ACTIONS = {"restart": ActionType.RESTART, "run": ActionType.RUN_COMMAND, "reboot": ActionType.REBOOT,
            "": ActionType.NONE, "none": ActionType.NONE}


class Usage(Exception):
    """Bad syntax: print the verb's usage and exit 1639."""

    def __init__(self, verb: str, note: str = "") -> None:
        super().__init__(verb)
        self.verb, self.note = verb, note


class Failed(Exception):
    """An API call failed: print sc's FAILED block naming ``api`` and exit with the code."""

    def __init__(self, api: str, error: ScmError) -> None:
        super().__init__(api)
        self.api, self.code = api, error.winerror


def parse(verb: str, tokens: list[str], keys: set[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Split sc arguments into positionals and ``key= value`` options (keys lower-cased)."""
    positional: list[str] = []
    options: dict[str, list[str]] = {}
    i = 0
    while i < len(tokens):
        m = _OPTION.match(tokens[i])
        if m and m.group(1).lower() in keys:
            key, value = m.group(1).lower(), m.group(2)
            if value == "" and tokens[i].endswith("="):
                i += 1
                if i >= len(tokens):
                    raise Usage(verb, f"{key}= needs a value")
                value = tokens[i]
            options.setdefault(key, []).append(value)
        elif m and positional:
            raise Usage(verb, f"unknown option {m.group(1)}=")
        else:
            positional.append(tokens[i])
        i += 1
    return positional, options


def _one(options: dict[str, list[str]], key: str) -> str | None:
    values = options.get(key)
    return values[-1] if values else None


def _open(mgr: Manager, name: str, access: int, api: str = "OpenService") -> Service:
    try:
        return mgr.open_service(name, access)
    except ScmError as exc:
        raise Failed(api, exc) from None


def _call(api: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except ScmError as exc:
        raise Failed(api, exc) from None


class Sc:
    """One sc command against one manager; writes to ``out``, returns the exit code."""

    def __init__(self, mgr: Manager, out: TextIO, as_json: bool = False) -> None:
        self.mgr, self.out, self.json = mgr, out, as_json

    def emit(self, text: str) -> None:
        self.out.write(text)

    def emit_json(self, obj: Any) -> None:
        self.out.write(json.dumps(obj, indent=2) + "\n")

    # --- queries ---------------------------------------------------------------------------------

    def query(self, verb: str, args: list[str]) -> int:
        ex = verb == "queryex"
        pos, opts = parse(verb, args, {"type", "state", "bufsize", "ri", "group"})
        if pos and not opts:
            if len(pos) != 1:
                raise Usage(verb)
            svc = _open(self.mgr, pos[0], ServiceAccess.QUERY_STATUS, "EnumQueryServicesStatus:OpenService")
            status = _call("QueryServiceStatus", svc.query)
            if self.json:
                self.emit_json({"name": pos[0], **_status_json(status)})
            else:
                self.emit(fmt.query_block(pos[0], status, ex=ex))
            return 0
        if pos:
            raise Usage(verb)
        mask = 0
        for word in opts.get("type", []) or ["service"]:
            if word.lower() not in _ENUM_TYPES:
                raise Usage(verb, 'ERROR following "type="! Must be one of: all, driver, interact, service.')
            mask |= _ENUM_TYPES[word.lower()]
        state_word = (_one(opts, "state") or "active").lower()
        if state_word not in _STATES:
            raise Usage(verb, f"unknown state= {state_word}")
        group = _one(opts, "group")
        entries = _call("EnumServicesStatus", lambda: self.mgr.list_services(mask, _STATES[state_word], group))
        start = _int_option(verb, opts, "ri", 0)
        bufsize = _int_option(verb, opts, "bufsize", 0)
        entries = entries[start:]
        more = ""
        if bufsize:
            fits, used = 0, 0
            for e in entries:
                size = _enum_entry_size(e.name, e.display_name, ex)
                if used + size > bufsize:
                    break
                used, fits = used + size, fits + 1
            if fits < len(entries):
                need = sum(_enum_entry_size(e.name, e.display_name, ex) for e in entries[fits:])
                more = f"Enum: more data, need {need} bytes start resume at index {start + fits}\n"
                entries = entries[:fits]
        if self.json:
            self.emit_json([{"name": e.name, "display_name": e.display_name, **_status_json(e.status)}
                            for e in entries])
        else:
            self.emit(fmt.enum_block(entries, ex=ex))
            self.emit(more)
        return ERROR_MORE_DATA if more else 0

    def qc(self, verb: str, args: list[str]) -> int:
        name = _single(verb, args, extra=1)  # sc qc NAME [bufsize]
        svc = _open(self.mgr, name, ServiceAccess.QUERY_CONFIG)
        cfg = _call("QueryServiceConfig", svc.config)
        delayed = _call("QueryServiceConfig2", svc.delayed_auto_start)
        if self.json:
            self.emit_json({"name": name, **_config_json(cfg), "delayed_auto_start": delayed})
        else:
            self.emit(fmt.config_block(name, cfg, delayed=delayed))
        return 0

    def qdescription(self, verb: str, args: list[str]) -> int:
        name = _single(verb, args, extra=1)
        svc = _open(self.mgr, name, ServiceAccess.QUERY_CONFIG)
        text = _call("QueryServiceConfig2", svc.description)
        if self.json:
            self.emit_json({"name": name, "description": text})
        else:
            self.emit(fmt.description_block(name, text))
        return 0

    def qfailure(self, verb: str, args: list[str]) -> int:
        name = _single(verb, args, extra=1)
        svc = _open(self.mgr, name, ServiceAccess.QUERY_CONFIG)
        fa = _call("QueryServiceConfig2", svc.failure_actions)
        if self.json:
            self.emit_json({"name": name, **fa.to_wire()})
        else:
            self.emit(fmt.failure_actions_block(name, fa))
        return 0

    def qfailureflag(self, verb: str, args: list[str]) -> int:
        name = _single(verb, args)
        svc = _open(self.mgr, name, ServiceAccess.QUERY_CONFIG)
        flag = _call("QueryServiceConfig2", svc.failure_actions_on_non_crash)
        if self.json:
            self.emit_json({"name": name, "failure_actions_on_noncrash_failures": flag})
        else:
            self.emit(fmt.failure_flag_block(name, flag))
        return 0

    def getdisplayname(self, verb: str, args: list[str]) -> int:
        name = _single(verb, args, extra=1)
        display = _call("GetServiceDisplayName", lambda: self.mgr.display_name(name))
        self.emit(fmt.success("GetServiceDisplayName") + f"Name = {display}\n")
        return 0

    def getkeyname(self, verb: str, args: list[str]) -> int:
        name = _single(verb, args, extra=1)
        key = _call("GetServiceKeyName", lambda: self.mgr.key_name(name))
        self.emit(fmt.success("GetServiceKeyName") + f"Name = {key}\n")
        return 0

    def enumdepend(self, verb: str, args: list[str]) -> int:
        name = _single(verb, args, extra=1)
        svc = _open(self.mgr, name, ServiceAccess.ENUMERATE_DEPENDENTS)
        deps = _call("EnumDependentServices", lambda: svc.dependents(StateFilter.ALL))
        self.emit(f"Enum: entriesRead = {len(deps)}\n" + fmt.enum_block(deps))
        return 0

    def sdshow(self, verb: str, args: list[str]) -> int:
        name = _single(verb, args)
        target: Any = self.mgr if name.lower() == "scmanager" else _open(self.mgr, name, ServiceAccess.READ_CONTROL)
        try:
            sddl = target.security(0x4 | 0x8)  # DACL and SACL, as sc asks (B142)
        except ScmError:
            sddl = _call("QueryServiceObjectSecurity", lambda: target.security(0x4))  # no SACL right
        self.emit(f"\n{sddl}\n\n")
        return 0

    def sdset(self, verb: str, args: list[str]) -> int:
        if len(args) != 2:
            raise Usage(verb)
        name, sddl = args
        if name.lower() == "scmanager":
            target: Any = self.mgr
        else:
            target = _open(self.mgr, name, 0x40000)  # WRITE_DAC (B145)
        _call("SetServiceObjectSecurity", lambda: target.set_security(sddl))
        self.emit(fmt.success("SetServiceObjectSecurity"))
        return 0

    # --- changes ---------------------------------------------------------------------------------

    def create(self, verb: str, args: list[str]) -> int:
        pos, opts = parse(verb, args, _CONFIG_KEYS)
        if len(pos) != 1 or _one(opts, "binpath") is None:
            raise Usage(verb)
        fields = _config_fields(verb, opts)
        delayed = fields.pop("delayed")
        from .audit import quote_image_path

        binpath = quote_image_path(str(fields.pop("binpath")))  # an unquoted path with spaces is a hole
        defaults = {"service_type": ServiceType.WIN32_OWN_PROCESS, "start_type": StartType.DEMAND_START,
                    "error_control": ErrorControl.NORMAL}  # sc's defaults: own, demand, normal
        for key, default in defaults.items():
            if fields[key] == NO_CHANGE:
                fields[key] = default
        svc = _call("CreateService", lambda: self.mgr.create_service(pos[0], binpath, **fields))
        if delayed:
            _call("ChangeServiceConfig2", lambda: svc.set_delayed_auto_start(True))
        self.emit(fmt.success("CreateService"))
        return 0

    def config(self, verb: str, args: list[str]) -> int:
        pos, opts = parse(verb, args, _CONFIG_KEYS)
        if len(pos) != 1 or not opts:
            raise Usage(verb)
        fields = _config_fields(verb, opts)
        delayed = fields.pop("delayed")
        svc = _open(self.mgr, pos[0], ServiceAccess.CHANGE_CONFIG)
        _call("ChangeServiceConfig", lambda: svc.update_config(**fields))
        if _one(opts, "start") is not None:
            _call("ChangeServiceConfig2", lambda: svc.set_delayed_auto_start(delayed))
        self.emit(fmt.success("ChangeServiceConfig"))
        return 0

    def description(self, verb: str, args: list[str]) -> int:
        if not args:
            raise Usage(verb)
        svc = _open(self.mgr, args[0], ServiceAccess.CHANGE_CONFIG)
        text = " ".join(args[1:]) if len(args) > 1 else None  # no text: NULL, unchanged (B37)
        _call("ChangeServiceConfig2", lambda: svc.set_description(text))
        self.emit(fmt.success("ChangeServiceConfig2"))
        return 0

    def failure(self, verb: str, args: list[str]) -> int:
        pos, opts = parse(verb, args, {"reset", "reboot", "command", "actions"})
        if len(pos) != 1 or not opts:
            raise Usage(verb)
        reset, actions = _one(opts, "reset"), _one(opts, "actions")
        if (reset is None) != (actions is None):
            raise Usage(verb, "ERROR:  The reset and actions options must be used simultaneously.")
        value: dict[str, Any] = {"reboot": _one(opts, "reboot"), "command": _one(opts, "command")}
        if actions is not None and reset is not None:
            value["reset"] = 0xFFFFFFFF if reset.lower() == "infinite" else _number(verb, reset)
            value["actions"] = [[int(a.type), a.delay_ms] for a in _parse_actions(verb, actions)]
        needs_start = any(a[0] == ActionType.RESTART for a in value.get("actions", []))
        access = ServiceAccess.CHANGE_CONFIG | (ServiceAccess.START if needs_start else 0)
        svc = _open(self.mgr, pos[0], access)
        _call("ChangeServiceConfig2", lambda: svc.set_failure_actions(value))
        self.emit(fmt.success("ChangeServiceConfig2"))
        return 0

    def failureflag(self, verb: str, args: list[str]) -> int:
        if len(args) != 2 or args[1] not in ("0", "1"):
            raise Usage(verb)
        svc = _open(self.mgr, args[0], ServiceAccess.CHANGE_CONFIG)
        _call("ChangeServiceConfig2", lambda: svc.set_failure_actions_on_non_crash(args[1] == "1"))
        self.emit(fmt.success("ChangeServiceConfig2"))
        return 0

    def delete(self, verb: str, args: list[str]) -> int:
        svc = _open(self.mgr, _single(verb, args), ServiceAccess.DELETE)
        _call("DeleteService", svc.delete)
        self.emit(fmt.success("DeleteService"))
        return 0

    # --- run state -------------------------------------------------------------------------------

    def start(self, verb: str, args: list[str]) -> int:
        if not args:
            raise Usage(verb)
        svc = _open(self.mgr, args[0], ServiceAccess.START | ServiceAccess.QUERY_STATUS, "StartService: OpenService")
        _call("StartService", lambda: svc.start(*args[1:]))
        status = _call("QueryServiceStatusEx", svc.query)
        if self.json:
            self.emit_json({"name": args[0], **_status_json(status)})
        else:
            self.emit(fmt.query_block(args[0], status, ex=True))
        return 0

    def control(self, verb: str, args: list[str]) -> int:
        if verb == "control":
            if len(args) != 2:
                raise Usage(verb)
            word = args[1].lower()
            code = _CONTROLS.get(word) or (int(word) if word.isdigit() and 128 <= int(word) <= 255 else 0)
            if not code:
                raise Usage(verb)
        elif verb == "stop" and "--with-dependents" in args:
            names = [a for a in args if a != "--with-dependents"]
            if len(names) != 1:
                raise Usage(verb)
            status = _call("ControlService", lambda: self.mgr.stop_with_dependents(names[0]))
            self.emit(fmt.query_block(names[0], status))
            return 0
        else:
            if len(args) != 1:
                raise Usage(verb)
            code = {"stop": Control.STOP, "pause": Control.PAUSE, "continue": Control.CONTINUE,
                    "interrogate": Control.INTERROGATE}[verb]
        rights: dict[int, int] = {Control.STOP: ServiceAccess.STOP, Control.INTERROGATE: ServiceAccess.INTERROGATE}
        right = rights.get(code, ServiceAccess.USER_DEFINED_CONTROL if code >= 128 else ServiceAccess.PAUSE_CONTINUE)
        svc = _open(self.mgr, args[0], right)
        status = _call("ControlService", lambda: svc.control(code))
        if self.json:
            self.emit_json({"name": args[0], **_status_json(status)})
        else:
            self.emit(fmt.query_block(args[0], status))
        return 0


_CONFIG_KEYS = {"type", "start", "error", "binpath", "group", "tag", "depend", "obj", "displayname", "password"}


def _single(verb: str, args: list[str], extra: int = 0) -> str:
    if not 1 <= len(args) <= 1 + extra:
        raise Usage(verb)
    return args[0]


def _number(verb: str, text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise Usage(verb, f"not a number: {text}") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise Usage(verb, f"out of range: {text}")
    return value


def _int_option(verb: str, opts: dict[str, list[str]], key: str, default: int) -> int:
    value = _one(opts, key)
    return default if value is None else _number(verb, value)


def _enum_entry_size(name: str, display: str, ex: bool) -> int:
    """Bytes of one ENUM_SERVICE_STATUS(_PROCESS)W entry with its strings (x64 layout)."""
    fixed = 56 if ex else 44
    return fixed + 2 * (len(name) + 1) + 2 * (len(display) + 1)


def _parse_actions(verb: str, text: str) -> list[Action]:
    parts = text.split("/")
    if len(parts) % 2:
        raise Usage(verb, "actions= takes action/delay pairs")
    out = []
    for word, delay in zip(parts[::2], parts[1::2], strict=True):
        if word.lower() not in _ACTIONS:
            raise Usage(verb, f"unknown action {word}")
        out.append(Action(_ACTIONS[word.lower()], _number(verb, delay)))
    return out


def _config_fields(verb: str, opts: dict[str, list[str]]) -> dict[str, Any]:
    """ChangeServiceConfig arguments from sc options; NO_CHANGE / None where not given."""
    fields: dict[str, Any] = {"service_type": NO_CHANGE, "start_type": NO_CHANGE, "error_control": NO_CHANGE,
                              "delayed": False}
    if "type" in opts:
        value = 0
        for word in opts["type"]:
            if word.lower() not in _TYPES:
                raise Usage(verb, f"unknown type= {word}")
            value |= _TYPES[word.lower()]
        fields["service_type"] = value
    start = _one(opts, "start")
    if start is not None:
        if start.lower() not in _STARTS:
            raise Usage(verb, f"unknown start= {start}")
        fields["start_type"] = _STARTS[start.lower()]
        fields["delayed"] = start.lower() == "delayed-auto"
    error = _one(opts, "error")
    if error is not None:
        if error.lower() not in _ERRORS:
            raise Usage(verb, f"unknown error= {error}")
        fields["error_control"] = _ERRORS[error.lower()]
    tag = _one(opts, "tag")
    if tag is not None and tag.lower() not in ("yes", "no"):
        raise Usage(verb, f"tag= takes yes or no, not {tag}")
    depend = _one(opts, "depend")
    fields.update(
        binpath=_one(opts, "binpath"),
        group=_one(opts, "group"),
        tag=tag is not None and tag.lower() == "yes",
        dependencies=None if depend is None else [d for d in depend.split("/") if d],
        account=_one(opts, "obj"),
        password=_one(opts, "password"),
        display_name=_one(opts, "displayname"),
    )
    return fields


def _status_json(status: Any) -> dict[str, Any]:
    return {
        "type": int(status.service_type),
        "state": status.state.name,
        "state_code": int(status.state),
        "controls_accepted": int(status.controls_accepted),
        "win32_exit_code": status.win32_exit_code,
        "service_exit_code": status.service_exit_code,
        "checkpoint": status.checkpoint,
        "wait_hint": status.wait_hint,
        "pid": status.pid,
        "flags": status.flags,
    }


def _config_json(cfg: Any) -> dict[str, Any]:
    return {
        "type": int(cfg.service_type),
        "start_type": cfg.start_type.name,
        "error_control": cfg.error_control.name,
        "binary_path": cfg.binary_path,
        "load_order_group": cfg.load_order_group,
        "tag": cfg.tag_id,
        "dependencies": list(cfg.dependencies),
        "service_start_name": cfg.service_start_name,
        "display_name": cfg.display_name,
    }


VERBS: dict[str, Callable[[Sc, str, list[str]], int]] = {
    "query": Sc.query,
    "queryex": Sc.query,
    "qc": Sc.qc,
    "qdescription": Sc.qdescription,
    "qfailure": Sc.qfailure,
    "qfailureflag": Sc.qfailureflag,
    "getdisplayname": Sc.getdisplayname,
    "getkeyname": Sc.getkeyname,
    "enumdepend": Sc.enumdepend,
    "sdshow": Sc.sdshow,
    "sdset": Sc.sdset,
    "create": Sc.create,
    "config": Sc.config,
    "description": Sc.description,
    "failure": Sc.failure,
    "failureflag": Sc.failureflag,
    "delete": Sc.delete,
    "start": Sc.start,
    "stop": Sc.control,
    "pause": Sc.control,
    "continue": Sc.control,
    "interrogate": Sc.control,
    "control": Sc.control,
}


def run(argv: list[str], out: TextIO, connect: Callable[[str | None], Manager]) -> int:
    """Run one sc command line (``argv`` without the program name)."""
    server = None
    if argv and argv[0].startswith("\\\\"):
        server, argv = argv[0], argv[1:]
    as_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]
    if not argv or argv[0].lower() not in VERBS:
        out.write(usage_for(None))
        return ERROR_INVALID_COMMAND_LINE
    verb = argv[0].lower()
    try:
        mgr = connect(server)
    except ScmError as exc:
        out.write(fmt.failure_block("OpenSCManager", exc.winerror))
        return exc.winerror
    try:
        return VERBS[verb](Sc(mgr, out, as_json), verb, argv[1:])
    except Usage as u:
        if u.note:
            out.write(u.note + "\n")
        out.write(usage_for(u.verb))
        return ERROR_INVALID_COMMAND_LINE
    except Failed as f:
        out.write(fmt.failure_block(f.api, f.code))
        return f.code
    finally:
        mgr.disconnect()


__all__ = ["ERROR_INVALID_PARAMETER", "FailureActions", "VERBS", "run"]
