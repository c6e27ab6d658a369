r"""The registry operations of the Windows backend: ``winreg`` on ``HKLM\SYSTEM\CurrentControlSet``.

The same contract as the portable SCM's :mod:`svcctl.scm.regapi`: ``reg_get`` reads any key under
``Services`` or ``Control`` with everything below it (a missing key reads as ``{}``), and
``reg_set`` / ``reg_delete`` write only ``Services\<name>\Parameters`` (and keys below it) of an
installed service. The registry's own ACLs decide who may write (administrators, on Windows).
Values travel as in :mod:`svcctl.regvalue`, ``[type, data]`` with binary data as hex; types
that module does not know (REG_NONE, REG_DWORD_BIG_ENDIAN, ...) come back as ``[type, hex]``.

Boot order lives here too: ``Control\ServiceGroupOrder`` ``List`` (REG_MULTI_SZ) and
``Control\GroupOrderList\<group>`` (REG_BINARY: a DWORD count, then the tags; B124).

``winreg`` has no transactions: ``reg_set`` checks every value before it writes the first, so a
bad value changes nothing, but a failure of Windows halfway leaves the earlier values written.
"""

from __future__ import annotations

import sys

from ..errors import ERROR_ACCESS_DENIED, ERROR_FILE_NOT_FOUND, ERROR_INVALID_PARAMETER, ScmError
from ..regvalue import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ, from_wire

assert sys.platform == "win32", "svcctl.mgr.win32_registry is Windows-only"

import winreg  # noqa: E402

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

BASE = "SYSTEM\\CurrentControlSet"
GROUP_ORDER_KEY = "Control\\ServiceGroupOrder"
TAG_ORDER_KEY = "Control\\GroupOrderList"
_READABLE_ROOTS = ("services", "control")


def normalize(key: str) -> str:
    parts = [p for p in key.replace("/", "\\").split("\\") if p]
    if not parts or any(p in (".", "..") or "\0" in p for p in parts):
        raise ScmError(ERROR_INVALID_PARAMETER, f"bad key {key!r}")
    return "\\".join(parts)


def _connect(machine: str | None) -> winreg.HKEYType:
    """HKEY_LOCAL_MACHINE of ``machine`` (None: this one); a handle to close."""
    if machine and not machine.startswith("\\\\"):
        machine = "\\\\" + machine
    return winreg.ConnectRegistry(machine or None, winreg.HKEY_LOCAL_MACHINE)


def _value_wire(vtype: int, data: Any) -> list[Any]:
    if vtype in (REG_SZ, REG_EXPAND_SZ):
        return [vtype, data or ""]
    if vtype in (REG_DWORD, REG_QWORD) and isinstance(data, int):
        return [vtype, data]
    if vtype == REG_MULTI_SZ:
        return [vtype, list(data or [])]
    if isinstance(data, str):  # a type winreg decodes that svcctl does not know (REG_LINK)
        data = data.encode("utf-16-le")
    return [vtype, bytes(data or b"").hex()]


def _read(key: winreg.HKEYType, rel: str, out: dict[str, dict[str, list[Any]]]) -> None:
    subkeys, count, _ = winreg.QueryInfoKey(key)
    values: dict[str, list[Any]] = {}
    for i in range(count):
        try:
            name, data, vtype = winreg.EnumValue(key, i)
        except OSError:  # one removed meanwhile
            break
        values[name] = _value_wire(vtype, data)
    out[rel] = values
    names = []
    for i in range(subkeys):
        try:
            names.append(winreg.EnumKey(key, i))
        except OSError:
            break
    for name in names:
        try:
            sub = winreg.OpenKey(key, name, 0, winreg.KEY_READ)
        except FileNotFoundError:
            continue
        with sub:
            _read(sub, f"{rel}\\{name}" if rel else name, out)


def reg_get(machine: str | None, key: str) -> dict[str, dict[str, list[Any]]]:
    """Every key at or below ``key`` with its values, keys relative to ``key`` ("" for it)."""
    key = normalize(key)
    if key.split("\\")[0].lower() not in _READABLE_ROOTS:
        raise ScmError(ERROR_FILE_NOT_FOUND, key)
    out: dict[str, dict[str, list[Any]]] = {}
    with _connect(machine) as root:
        try:
            top = winreg.OpenKey(root, f"{BASE}\\{key}", 0, winreg.KEY_READ)
        except FileNotFoundError:
            return out  # as the portable SCM: a key that is not there has nothing in it
        with top:
            _read(top, "", out)
    return out


def _writable(key: str, service_exists: Callable[[str], None]) -> str:
    key = normalize(key)
    parts = key.split("\\")
    if len(parts) < 3 or parts[0].lower() != "services" or parts[2].lower() != "parameters":
        raise ScmError(ERROR_ACCESS_DENIED, "only Services\\<name>\\Parameters is writable this way")
    service_exists(parts[1])
    return key


def _winreg_data(vtype: int, data: Any) -> Any:
    return list(data) if isinstance(data, tuple) else data  # winreg wants a list for REG_MULTI_SZ


def reg_set(machine: str | None, key: str, values: Any, replace: bool, service_exists: Callable[[str], None]) -> None:
    """Set (``None``: delete) values of one Parameters key; ``replace`` drops the others first."""
    key = _writable(key, service_exists)
    if not isinstance(values, dict) or not all(isinstance(n, str) and "\0" not in n for n in values):
        raise ScmError(ERROR_INVALID_PARAMETER, "values must be an object of names")
    changes = {name: None if raw is None else from_wire(raw) for name, raw in values.items()}
    with _connect(machine) as root:
        access = winreg.KEY_SET_VALUE | winreg.KEY_QUERY_VALUE
        with winreg.CreateKeyEx(root, f"{BASE}\\{key}", 0, access) as k:
            if replace:
                count = winreg.QueryInfoKey(k)[1]
                old = [winreg.EnumValue(k, i)[0] for i in range(count)]
                for name in old:
                    if changes.get(name) is None:  # not named, or to be deleted anyway
                        winreg.DeleteValue(k, name)
            for name, value in changes.items():
                if value is None:
                    try:
                        winreg.DeleteValue(k, name)
                    except FileNotFoundError:
                        pass
                else:
                    winreg.SetValueEx(k, name, 0, value[0], _winreg_data(*value))


def _delete_tree(parent: winreg.HKEYType, name: str) -> None:
    with winreg.OpenKey(parent, name, 0, winreg.KEY_READ | winreg.KEY_WRITE) as key:
        while True:
            try:
                child = winreg.EnumKey(key, 0)
            except OSError:
                break
            _delete_tree(key, child)
    winreg.DeleteKey(parent, name)


def reg_delete(machine: str | None, key: str, service_exists: Callable[[str], None]) -> None:
    """Delete a Parameters key (or one below it) with its subkeys; a missing key is no error."""
    key = _writable(key, service_exists)
    with _connect(machine) as root:
        try:
            _delete_tree(root, f"{BASE}\\{key}")
        except FileNotFoundError:
            pass


def _get_value(machine: str | None, key: str, name: str) -> tuple[Any, int] | None:
    with _connect(machine) as root:
        try:
            with winreg.OpenKey(root, f"{BASE}\\{key}", 0, winreg.KEY_READ) as k:
                return winreg.QueryValueEx(k, name)
        except FileNotFoundError:
            return None


def _set_value(machine: str | None, key: str, name: str, vtype: int, data: Any) -> None:
    with _connect(machine) as root, winreg.CreateKeyEx(root, f"{BASE}\\{key}", 0, winreg.KEY_SET_VALUE) as k:
        winreg.SetValueEx(k, name, 0, vtype, data)


def group_order(machine: str | None) -> list[str]:
    value = _get_value(machine, GROUP_ORDER_KEY, "List")
    if value is None or value[1] != REG_MULTI_SZ:
        return []
    return [g for g in value[0] or [] if g]


def set_group_order(machine: str | None, groups: list[str]) -> None:
    if not isinstance(groups, list) or not all(isinstance(g, str) and g and "\0" not in g for g in groups):
        raise ScmError(ERROR_INVALID_PARAMETER, "groups: a list of names")
    _set_value(machine, GROUP_ORDER_KEY, "List", REG_MULTI_SZ, list(groups))


def tag_order(machine: str | None, group: str) -> list[int]:
    """The tag vector of ``group``: DWORD count, then that many DWORD tags (B124)."""
    value = _get_value(machine, TAG_ORDER_KEY, group)
    if value is None or value[1] != REG_BINARY or not isinstance(value[0], bytes) or len(value[0]) < 4:
        return []
    blob = value[0]
    count = min(int.from_bytes(blob[:4], "little"), (len(blob) - 4) // 4)
    return [int.from_bytes(blob[4 + 4 * i : 8 + 4 * i], "little") for i in range(count)]


def set_tag_order(machine: str | None, group: str, tags: list[int]) -> None:
    if not isinstance(group, str) or "\0" in group:
        raise ScmError(ERROR_INVALID_PARAMETER, "group")
    if not isinstance(tags, list) or not all(type(t) is int and 0 <= t <= 0xFFFFFFFF for t in tags):
        raise ScmError(ERROR_INVALID_PARAMETER, "tags: a list of DWORDs")
    blob = b"".join(t.to_bytes(4, "little") for t in [len(tags), *tags])
    _set_value(machine, TAG_ORDER_KEY, group, REG_BINARY, blob)
