"""The registry side of the portable SCM: the ``.reg`` codec (``regfile``).

Re-exported here so callers write ``from svcctl.registry import parse, dump``.
"""

from ..regvalue import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ
from .regfile import (
    HEADER_V4,
    HEADER_V5,
    REG_NONE,
    Data,
    DeleteKey,
    DeleteValue,
    Key,
    Op,
    RegFileError,
    SetValue,
    absolute_key,
    dump,
    dumps,
    from_bytes,
    parse,
    relative_key,
    to_absolute,
    to_bytes,
    to_relative,
)

__all__ = [
    "HEADER_V4",
    "HEADER_V5",
    "REG_BINARY",
    "REG_DWORD",
    "REG_EXPAND_SZ",
    "REG_MULTI_SZ",
    "REG_NONE",
    "REG_QWORD",
    "REG_SZ",
    "Data",
    "DeleteKey",
    "DeleteValue",
    "Key",
    "Op",
    "RegFileError",
    "SetValue",
    "absolute_key",
    "dump",
    "dumps",
    "from_bytes",
    "parse",
    "relative_key",
    "to_absolute",
    "to_bytes",
    "to_relative",
]
