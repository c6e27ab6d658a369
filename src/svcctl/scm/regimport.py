"""``.reg`` import into the service database: all of it, checked, in one transaction, or nothing.

Seed 000 installs and repairs services by importing registry listings. The client parses the
file (:mod:`svcctl.registry`) and sends its operations with their line numbers; here they are
applied to a copy of the keys they touch, every service the result describes is checked as
CreateService / ChangeServiceConfig would check it, and only then is the database changed, in
one transaction, and the SCM's records reloaded. A refusal names the line that caused it.

On the wire an operation is ``[kind, line, key, name, type, data]`` with kind ``key`` (a section:
the key exists), ``delkey`` (``[-key]``), ``set`` or ``delval`` (``"name"=-``); keys are relative
to ``HKLM\\SYSTEM\\CurrentControlSet``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import (
    ERROR_ACCESS_DENIED,
    ERROR_CIRCULAR_DEPENDENCY,
    ERROR_INVALID_DATA,
    ERROR_INVALID_PARAMETER,
    ERROR_SERVICE_ALREADY_RUNNING,
    ScmError,
)
from ..regvalue import REG_DWORD, REG_MULTI_SZ, from_wire
from ..types import ServiceType, State
from . import graph, validate
from .database import Values
from .record import ServiceRecord, from_values

if TYPE_CHECKING:
    from .core import Scm

_ROOTS = ("services", "control")


def _err(code: int, line: int, text: str) -> ScmError:
    return ScmError(code, f"line {line}: {text}" if line else text)


def _root_of(key: str) -> str:
    """The subtree an import replaces as a unit: ``Services\\<name>``, or a key under Control."""
    parts = key.split("\\")
    if parts[0].lower() == "services" and len(parts) >= 2:
        return "\\".join(parts[:2])
    return "\\".join(parts[:2]) if len(parts) >= 2 else parts[0]


def _normalize(key: Any, line: int) -> str:
    if not isinstance(key, str):
        raise _err(ERROR_INVALID_PARAMETER, line, "bad key")
    parts = [p for p in key.split("\\") if p]
    if not parts or parts[0].lower() not in _ROOTS or any(p in (".", "..") for p in parts):
        raise _err(ERROR_ACCESS_DENIED, line, f"{key!r} is outside the Services and Control keys")
    if parts[0].lower() == "services" and len(parts) == 1:
        raise _err(ERROR_ACCESS_DENIED, line, "the Services key itself cannot be replaced")
    return "\\".join(parts)


def apply_import(scm: Scm, ops: list[Any]) -> dict[str, list[str]]:
    """Apply ``ops``; returns the services created, changed and deleted (by key name)."""
    if not isinstance(ops, list):
        raise ScmError(ERROR_INVALID_PARAMETER, "ops must be a list")
    parsed = []
    for raw in ops:
        if not (isinstance(raw, list) and len(raw) == 6 and raw[0] in ("key", "delkey", "set", "delval")
                and type(raw[1]) is int):
            raise ScmError(ERROR_INVALID_PARAMETER, "an op is [kind, line, key, name, type, data]")
        kind, line = raw[0], raw[1]
        key = _normalize(raw[2], line)
        value = None
        if kind == "set":
            if not isinstance(raw[3], str):
                raise _err(ERROR_INVALID_PARAMETER, line, "bad value name")
            value = from_wire([raw[4], raw[5]])
        parsed.append((kind, line, key, raw[3], value))

    # The subtrees touched, as they are now, then as the file leaves them.
    roots: dict[str, int] = {}
    for _, line, key, _, _ in parsed:
        roots.setdefault(_root_of(key).lower(), line)
    tree: dict[str, Values] = {}
    spelled: dict[str, str] = {}  # lower-case key -> as stored (or as the file spells a new one)
    for root in roots:
        for key, values in scm.db.read_tree(root).items():
            tree[key.lower()] = dict(values)
            spelled[key.lower()] = key
    last_line: dict[str, int] = {}
    for kind, line, key, name, value in parsed:
        low = key.lower()
        if kind == "delkey":
            for k in [k for k in tree if k == low or k.startswith(low + "\\")]:
                del tree[k]
        elif kind == "key":
            tree.setdefault(low, {})
            spelled.setdefault(low, key)
        elif kind == "set":
            assert value is not None
            tree.setdefault(low, {})[name] = value
            spelled.setdefault(low, key)
        else:
            tree.get(low, {}).pop(name, None)
        last_line[_root_of(low)] = line

    services = _check_services(scm, tree, spelled, roots, last_line)
    before = {r.lower() for r in roots if r.startswith("services\\") and r.split("\\")[1] in scm.records}
    scm.db.replace_trees(
        [_root_of(spelled.get(r, r)) for r in roots],
        {spelled.get(k, k): values for k, values in tree.items() if values},
    )
    scm.reload()  # records of services that stay are kept, so open handles stay valid
    created = [n for n in services if f"services\\{n.lower()}" not in before]
    changed = [n for n in services if f"services\\{n.lower()}" in before]
    deleted = [r.split("\\")[1] for r in before if r.split("\\")[1] not in {s.lower() for s in services}]
    for name in created:
        rec = scm.records.get(name.lower())
        if rec is not None:
            scm.events.write(7045, rec.name, rec.name, rec.image_path, data={"imported": True})
    return {"created": created, "changed": changed, "deleted": deleted}


def _check_services(scm: Scm, tree: dict[str, Values], spelled: dict[str, str], roots: dict[str, int],
                    last_line: dict[str, int]) -> list[str]:
    """Every Services\\<name> the import leaves with a Type is a service: check it as
    CreateService would. Returns their key names."""
    records = {k: r for k, r in scm.records.items()}
    touched: list[tuple[str, int]] = []
    for root, first_line in roots.items():
        parts = root.split("\\")
        if parts[0] != "services":
            continue
        name_low = parts[1]
        line = last_line.get(root, first_line)
        values = tree.get(root, {})
        current = scm.records.get(name_low)
        if "Type" not in values and "type" not in {k.lower() for k in values}:
            if current is not None and current.state is not State.STOPPED:
                raise _err(ERROR_SERVICE_ALREADY_RUNNING, line, f"{current.name} is running: stop it first")
            records.pop(name_low, None)
            continue
        name = spelled.get(root, root).split("\\")[1]
        records[name_low] = _checked_record(name, values, line)  # a running service's change waits
        # for its next start, as ChangeServiceConfig's does
        touched.append((name, line))
    for name, line in touched:
        rec = records[name.lower()]
        if rec.display_name:
            others = [r for k, r in records.items() if k != name.lower()]
            try:
                validate.display_free(others, rec.display_name, None)
            except ScmError as exc:
                raise _err(exc.winerror, line, f"display name {rec.display_name!r} is taken") from None
        if graph.creates_cycle({k: r for k, r in records.items() if k != name.lower()}, name, rec.group,
                               rec.depend_on_service, rec.depend_on_group):
            raise _err(ERROR_CIRCULAR_DEPENDENCY, line, f"{name}'s dependencies make a cycle")
    return [n for n, _ in touched]


def _checked_record(name: str, values: Values, line: int) -> ServiceRecord:
    def dword(value_name: str) -> int | None:
        entry = next((v for k, v in values.items() if k.lower() == value_name.lower()), None)
        if entry is None:
            return None
        if entry[0] != REG_DWORD:
            raise _err(ERROR_INVALID_DATA, line, f"{name}: {value_name} must be a dword")
        return int(entry[1])

    try:
        validate.service_name(name)
        svc_type = dword("Type") or 0
        validate.service_type(svc_type)
        start = dword("Start")
        validate.start_type(svc_type, 3 if start is None else start)
        error = dword("ErrorControl")
        validate.error_control(1 if error is None else error)
    except ScmError as exc:
        raise _err(exc.winerror, line, f"{name}: {exc.strerror}") from None
    for multi in ("DependOnService", "DependOnGroup"):
        entry = values.get(multi)
        if entry is not None and entry[0] != REG_MULTI_SZ:
            raise _err(ERROR_INVALID_DATA, line, f"{name}: {multi} must be a multi-string")
    rec = from_values(name, values)
    if svc_type & ServiceType.WIN32 and not rec.image_path:
        raise _err(ERROR_INVALID_PARAMETER, line, f"{name}: ImagePath is missing or empty")
    return rec
