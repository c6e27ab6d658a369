"""The ``.reg`` file codec ("Windows Registry Editor Version 5.00", and REGEDIT4 on input).

Services are installed and repaired on Windows by exporting and importing ``.reg`` files of the
Services key (seed 000), so the portable SCM reads and writes the same files. The parser turns a
file into a list of operations (:class:`Key`, :class:`DeleteKey`, :class:`SetValue`,
:class:`DeleteValue`) whose value data has the shapes the database stores (``str`` for REG_SZ and
REG_EXPAND_SZ, ``int`` for REG_DWORD and REG_QWORD, ``tuple[str, ...]`` for REG_MULTI_SZ, ``bytes``
for everything else). It returns every operation or raises :class:`RegFileError` naming the line,
so an import can be all-or-nothing. :func:`dump` writes what regedit writes: UTF-16LE with a BOM,
CRLF, hex data wrapped at regedit's column with ``\\`` continuations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from ..regvalue import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ

REG_NONE = 0

HEADER_V5 = "Windows Registry Editor Version 5.00"
HEADER_V4 = "REGEDIT4"

#: Value data as the database stores it (see ``svcctl.scm.database``).
Data = str | int | bytes | tuple[str, ...]

_HIVES = {
    "HKEY_LOCAL_MACHINE": "HKEY_LOCAL_MACHINE",
    "HKLM": "HKEY_LOCAL_MACHINE",
    "HKEY_CURRENT_USER": "HKEY_CURRENT_USER",
    "HKCU": "HKEY_CURRENT_USER",
    "HKEY_CLASSES_ROOT": "HKEY_CLASSES_ROOT",
    "HKCR": "HKEY_CLASSES_ROOT",
    "HKEY_USERS": "HKEY_USERS",
    "HKU": "HKEY_USERS",
    "HKEY_CURRENT_CONFIG": "HKEY_CURRENT_CONFIG",
    "HKCC": "HKEY_CURRENT_CONFIG",
}
_CONTROL_SETS = ("CurrentControlSet", "ControlSet001")
_ROOT = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet"
_MAX_HEX_COLUMN = 77  # regedit breaks a hex line once it reaches this column (lines stay <= 80)
_UNWRITABLE = frozenset("\0\r\n")
_HEX_TYPE = re.compile(r"hex(?:\(([0-9a-fA-F]{1,8})\))?:", re.ASCII | re.IGNORECASE)
_DWORD = re.compile(r"dword:([0-9a-fA-F]{1,8})", re.ASCII | re.IGNORECASE)
_HEX_BYTE = re.compile(r"[0-9a-fA-F]{1,2}", re.ASCII)


class RegFileError(ValueError):
    """A ``.reg`` file (or a key in it) that cannot be imported; ``line`` is 1-based (0: no line)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.reason = message
        super().__init__(f"line {line}: {message}" if line else message)

    def __reduce__(self) -> tuple[type[RegFileError], tuple[int, str]]:
        return (RegFileError, (self.line, self.reason))


# --- the model -------------------------------------------------------------------------------------


def _check_text(what: str, text: str) -> None:
    if _UNWRITABLE.intersection(text):
        raise ValueError(f"{what} {text!r} contains NUL, CR or LF, which a .reg file cannot carry")
    try:
        text.encode("utf-16-le")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {text!r} is not valid Unicode") from None


def _check_path(path: str) -> None:
    _check_text("key", path)
    parts = path.split("\\")
    if not all(parts):
        raise ValueError(f"key {path!r} has an empty component")
    if path.startswith("-"):
        raise ValueError(f"key {path!r} starts with '-', which reads as a deletion")


def _check_data(vtype: int, data: Data) -> None:
    if not 0 <= vtype <= 0xFFFFFFFF:
        raise ValueError(f"value type {vtype} is out of range")
    if vtype in (REG_SZ, REG_EXPAND_SZ):
        if not isinstance(data, str):
            raise ValueError(f"REG_SZ/REG_EXPAND_SZ data must be str, not {type(data).__name__}")
        _utf16(data)
    elif vtype in (REG_DWORD, REG_QWORD):
        bits = 32 if vtype == REG_DWORD else 64
        if type(data) is not int or not 0 <= data < 1 << bits:
            raise ValueError(f"{'REG_DWORD' if bits == 32 else 'REG_QWORD'} data must be an int in [0, 2**{bits})")
    elif vtype == REG_MULTI_SZ:
        if not isinstance(data, tuple) or not all(isinstance(s, str) and s and "\0" not in s for s in data):
            raise ValueError("REG_MULTI_SZ data must be a tuple of non-empty strings without NUL")
        for s in data:
            _utf16(s)
    elif not isinstance(data, bytes):
        raise ValueError(f"data of value type {vtype} must be bytes, not {type(data).__name__}")


@dataclass(frozen=True)
class Key:
    """``[path]``: create the key (a section creates it even when it lists no values)."""

    path: str
    line: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        _check_path(self.path)


@dataclass(frozen=True)
class DeleteKey:
    """``[-path]``: delete the key and everything below it."""

    path: str
    line: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        _check_path(self.path)


@dataclass(frozen=True)
class SetValue:
    """``"name"=data`` in section ``path``; ``name == ""`` is the default value (``@``)."""

    path: str
    name: str
    type: int
    data: Data
    line: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        _check_path(self.path)
        _check_text("value name", self.name)
        _check_data(self.type, self.data)


@dataclass(frozen=True)
class DeleteValue:
    """``"name"=-`` in section ``path``."""

    path: str
    name: str
    line: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        _check_path(self.path)
        _check_text("value name", self.name)


Op = Key | DeleteKey | SetValue | DeleteValue


# --- value data <-> bytes --------------------------------------------------------------------------


def _utf16(text: str) -> bytes:
    try:
        return text.encode("utf-16-le")
    except UnicodeEncodeError:
        raise ValueError(f"{text!r} is not valid Unicode") from None


def to_bytes(vtype: int, data: Data) -> bytes:
    """The raw registry bytes of a value, as RegQueryValueEx would return them."""
    _check_data(vtype, data)
    if isinstance(data, str):
        return _utf16(data + "\0")
    if isinstance(data, int):
        return data.to_bytes(4 if vtype == REG_DWORD else 8, "little")
    if isinstance(data, tuple):
        return _utf16("".join(s + "\0" for s in data) + "\0")
    return data


def from_bytes(vtype: int, raw: bytes, *, ansi: bool = False) -> Data:
    """Registry bytes to the database's shape; ``ansi`` for REGEDIT4 files (single-byte strings).

    Strings lose one terminating NUL; REG_MULTI_SZ ends at its first empty string, as Windows'
    readers do. Raises ValueError for data the type cannot hold.
    """
    if vtype in (REG_DWORD, REG_QWORD):
        size = 4 if vtype == REG_DWORD else 8
        if len(raw) != size:
            raise ValueError(f"{'REG_DWORD' if size == 4 else 'REG_QWORD'} data must be {size} bytes, not {len(raw)}")
        return int.from_bytes(raw, "little")
    if vtype not in (REG_SZ, REG_EXPAND_SZ, REG_MULTI_SZ):
        return raw
    try:
        text = raw.decode("cp1252") if ansi else raw.decode("utf-16-le")
    except UnicodeDecodeError:
        raise ValueError("string data is not valid " + ("ANSI" if ansi else "UTF-16LE")) from None
    if vtype == REG_MULTI_SZ:
        items: list[str] = []
        for item in text.split("\0"):
            if not item:
                break
            items.append(item)
        return tuple(items)
    return text[:-1] if text.endswith("\0") else text


# --- parsing ---------------------------------------------------------------------------------------


def _decode_file(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    if data.startswith(b"\xff\xfe"):
        codec, body = "utf-16-le", data[2:]
    elif data.startswith(b"\xef\xbb\xbf"):
        codec, body = "utf-8", data[3:]
    elif len(data) >= 2 and data[0] and not data[1]:
        codec, body = "utf-16-le", data  # UTF-16LE without its BOM
    else:
        codec, body = "utf-8", data
    try:
        return body.decode(codec)
    except UnicodeDecodeError as e:
        if codec == "utf-8" and body.startswith(HEADER_V4.encode()):
            return body.decode("cp1252", errors="replace")  # REGEDIT4 files are in the ANSI code page
        line = body[: e.start].decode(codec, errors="replace").count("\n") + 1
        raise RegFileError(line, f"the file is not valid {codec.upper()}") from None


def _normalize_key(path: str, line: int) -> str:
    hive, sep, rest = path.partition("\\")
    full = _HIVES.get(hive.upper())
    if full is None:
        raise RegFileError(line, f"unknown registry hive {hive!r}")
    key = full + sep + rest
    try:
        _check_path(key)
    except ValueError as e:
        raise RegFileError(line, str(e)) from None
    return key


def _quoted(text: str, pos: int, line: int) -> tuple[str, int]:
    """Read the quoted string starting at ``text[pos] == '"'``; return it and the index after it."""
    out: list[str] = []
    i = pos + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            if i + 1 >= len(text):
                break
            esc = text[i + 1]
            # regedit writes \\ and \"; Wine's regedit also writes \n, \r and \0.
            mapped = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "0": "\0"}.get(esc)
            if mapped is None:
                raise RegFileError(line, f"unknown escape sequence '\\{esc}' in a quoted string")
            out.append(mapped)
            i += 2
            continue
        out.append(c)
        i += 1
    raise RegFileError(line, "unterminated quoted string")


def _hex_bytes(text: str, line: int) -> bytes:
    text = text.strip()
    if not text:
        return b""
    parts = [p.strip() for p in text.split(",")]
    if parts and not parts[-1]:
        parts.pop()  # a trailing comma, as left by some editors
    out = bytearray()
    for p in parts:
        if not _HEX_BYTE.fullmatch(p):
            raise RegFileError(line, f"bad hex byte {p!r}")
        out.append(int(p, 16))
    return bytes(out)


def _value(path: str, text: str, lines: list[str], idx: int, ansi: bool) -> tuple[Op, int]:
    """Parse the value line ``lines[idx]`` (already stripped as ``text``); return op and next index."""
    line = idx + 1
    if text.startswith("@"):
        name, pos = "", 1
    else:
        name, pos = _quoted(text, 0, line)
    rest = text[pos:].lstrip(" \t")
    if not rest.startswith("="):
        raise RegFileError(line, "expected '=' after the value name")
    rest = rest[1:].strip(" \t")
    try:
        if rest == "-":
            return DeleteValue(path, name, line), idx + 1
        if rest.startswith('"'):
            data, end = _quoted(rest, 0, line)
            if rest[end:].strip(" \t"):
                raise RegFileError(line, "unexpected text after the quoted string")
            return SetValue(path, name, REG_SZ, data, line), idx + 1
        m = _DWORD.fullmatch(rest)
        if m:
            return SetValue(path, name, REG_DWORD, int(m.group(1), 16), line), idx + 1
        m = _HEX_TYPE.match(rest)
        if not m:
            raise RegFileError(line, f"unrecognised value data {rest[:40]!r}")
        vtype = REG_BINARY if m.group(1) is None else int(m.group(1), 16)
        body = rest[m.end() :]
        nxt = idx + 1
        while body.rstrip(" \t").endswith("\\"):
            body = body.rstrip(" \t")[:-1]
            more = lines[nxt].strip(" \t") if nxt < len(lines) else ""
            if not more or more.startswith((";", "[", '"', "@")):
                raise RegFileError(line, "a hex value ends with '\\' but no continuation line follows")
            body += more
            nxt += 1
        raw = _hex_bytes(body, line)
        if vtype == REG_BINARY and m.group(1) is None:
            return SetValue(path, name, REG_BINARY, raw, line), nxt
        return SetValue(path, name, vtype, from_bytes(vtype, raw, ansi=ansi), line), nxt
    except ValueError as e:
        if isinstance(e, RegFileError):
            raise
        raise RegFileError(line, str(e)) from None


def parse(data: bytes | str) -> list[Op]:
    """Parse a whole ``.reg`` file; every operation in file order, or :class:`RegFileError`.

    Hive abbreviations (``HKLM``) are expanded; paths are otherwise kept as written. Each section
    yields a :class:`Key` (or :class:`DeleteKey`) before its values.
    """
    text = _decode_file(data)
    lines = [ln.removesuffix("\r") for ln in text.split("\n")]
    first = lines[0].strip(" \t") if lines else ""
    if first not in (HEADER_V5, HEADER_V4):
        raise RegFileError(1, f"expected the header {HEADER_V5!r} (or {HEADER_V4!r})")
    ansi = first == HEADER_V4
    ops: list[Op] = []
    current: str | None = None
    idx = 1
    while idx < len(lines):
        line = idx + 1
        raw = lines[idx]
        if "\0" in raw:
            raise RegFileError(line, "NUL character in the file")
        stripped = raw.strip(" \t")
        if not stripped or stripped.startswith(";"):
            idx += 1
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise RegFileError(line, "key section without its closing ']'")
            inner = stripped[1:-1]
            if inner.startswith("-"):
                ops.append(DeleteKey(_normalize_key(inner[1:], line), line))
                current = None
            else:
                current = _normalize_key(inner, line)
                ops.append(Key(current, line))
            idx += 1
            continue
        if stripped.startswith(('"', "@")):
            if current is None:
                raise RegFileError(line, "value outside a key section")
            op, idx = _value(current, stripped, lines, idx, ansi)
            ops.append(op)
            continue
        raise RegFileError(line, f"unexpected text {stripped[:40]!r}")
    return ops


# --- writing ---------------------------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _hex_lines(prefix_len: int, raw: bytes) -> str:
    """Hex bytes as regedit writes them: comma-separated, wrapped with ``\\`` at column 77."""
    out: list[str] = []
    column = prefix_len
    last = len(raw) - 1
    for i, b in enumerate(raw):
        out.append(f"{b:02x}")
        if i == last:
            break
        out.append(",")
        column += 3
        if column >= _MAX_HEX_COLUMN:
            out.append("\\\r\n  ")
            column = 2
    return "".join(out)


def _value_line(op: SetValue | DeleteValue) -> str:
    head = "@=" if op.name == "" else f'"{_escape(op.name)}"='
    if isinstance(op, DeleteValue):
        return head + "-"
    vtype, data = op.type, op.data
    if vtype == REG_SZ and isinstance(data, str) and not _UNWRITABLE.intersection(data):
        return f'{head}"{_escape(data)}"'
    if vtype == REG_DWORD and isinstance(data, int):
        return f"{head}dword:{data:08x}"
    prefix = head + ("hex:" if vtype == REG_BINARY else f"hex({vtype:x}):")
    return prefix + _hex_lines(len(prefix), to_bytes(vtype, data))


def dumps(ops: Iterable[Op]) -> str:
    """The text of a version 5.00 file (CRLF line ends) holding ``ops`` in order.

    A value whose path differs from the open section opens a new section for it.
    """
    parts = [HEADER_V5, "\r\n"]
    current: str | None = None
    for op in ops:
        if isinstance(op, Key):
            parts += ["\r\n[", op.path, "]\r\n"]
            current = op.path
        elif isinstance(op, DeleteKey):
            parts += ["\r\n[-", op.path, "]\r\n"]
            current = None
        else:
            if op.path != current:
                parts += ["\r\n[", op.path, "]\r\n"]
                current = op.path
            parts += [_value_line(op), "\r\n"]
    parts.append("\r\n")
    return "".join(parts)


def dump(ops: Iterable[Op]) -> bytes:
    """The bytes regedit would write for ``ops``: UTF-16LE with a BOM."""
    return b"\xff\xfe" + dumps(ops).encode("utf-16-le")


# --- full registry paths <-> database keys ---------------------------------------------------------


def relative_key(path: str, line: int = 0) -> str:
    """``HKLM\\SYSTEM\\CurrentControlSet\\Services\\x`` (or ``ControlSet001``) -> ``Services\\x``.

    The database holds only the current control set, so any other key is refused with
    :class:`RegFileError` naming ``line``.
    """
    key = _normalize_key(path, line)
    parts = key.split("\\")
    if (
        len(parts) < 4
        or parts[0] != "HKEY_LOCAL_MACHINE"
        or parts[1].upper() != "SYSTEM"
        or parts[2].lower() not in {c.lower() for c in _CONTROL_SETS}
    ):
        raise RegFileError(line, f"key {path!r} is outside HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet")
    return "\\".join(parts[3:])


def absolute_key(key: str) -> str:
    """A database key (``Services\\x``) as its full registry path."""
    return f"{_ROOT}\\{key}" if key else _ROOT


def to_relative(ops: Iterable[Op]) -> list[Op]:
    """The operations with database-relative paths; the first foreign key raises with its line."""
    return [replace(op, path=relative_key(op.path, op.line)) for op in ops]


def to_absolute(ops: Iterable[Op]) -> list[Op]:
    """The operations with full registry paths, ready for :func:`dump`."""
    return [replace(op, path=absolute_key(op.path)) for op in ops]
