"""Registry value types and how a value travels on the wire (stdlib only, no other imports).

A value is ``(REG_* type, data)``: str for REG_SZ/REG_EXPAND_SZ, int for REG_DWORD/REG_QWORD,
a tuple of str for REG_MULTI_SZ, bytes for REG_BINARY. On the wire it is ``[type, data]`` with
lists for tuples and hex strings for bytes, since JSON has neither.
"""

from __future__ import annotations

from .errors import ERROR_INVALID_PARAMETER, ScmError

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any

    Value = tuple[int, Any]

REG_SZ = 1
REG_EXPAND_SZ = 2
REG_BINARY = 3
REG_DWORD = 4
REG_MULTI_SZ = 7
REG_QWORD = 11


_TEXT_TYPES = (REG_SZ, REG_EXPAND_SZ, REG_DWORD, REG_QWORD, REG_MULTI_SZ)


def to_wire(value: Value) -> list[Any]:
    vtype, data = value
    if isinstance(data, bytes):
        return [vtype, data.hex()]
    if isinstance(data, tuple):
        return [vtype, list(data)]
    return [vtype, data]


def from_wire(raw: Any) -> Value:
    """Check one wire value against its type; 87 for anything a registry could not hold."""
    if not (isinstance(raw, list) and len(raw) == 2 and type(raw[0]) is int):
        raise ScmError(ERROR_INVALID_PARAMETER, "a value is [type, data]")
    vtype, data = raw
    if vtype in (REG_SZ, REG_EXPAND_SZ) and isinstance(data, str) and "\0" not in data:
        return vtype, data
    if vtype == REG_DWORD and type(data) is int and 0 <= data < 2**32:
        return vtype, data
    if vtype == REG_QWORD and type(data) is int and 0 <= data < 2**64:
        return vtype, data
    if vtype == REG_MULTI_SZ and isinstance(data, list) and all(isinstance(s, str) and "\0" not in s for s in data):
        return vtype, tuple(data)
    if vtype not in _TEXT_TYPES and isinstance(data, str) and 0 <= vtype < 2**32:
        try:  # REG_BINARY, and types without a Python shape of their own (REG_NONE ...): raw bytes
            return vtype, bytes.fromhex(data)
        except ValueError:
            pass
    raise ScmError(ERROR_INVALID_PARAMETER, f"value of type {vtype} has bad data")
