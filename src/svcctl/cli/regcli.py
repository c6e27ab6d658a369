"""``svcctl reg export [NAME ...] FILE`` and ``svcctl reg import FILE``: seed 000's .reg files.

Export writes what regedit writes (Registry Editor 5.00, UTF-16LE with BOM): the named services'
keys, or with no name the whole Services key and the Control keys the SCM reads. Import reads
that format (and UTF-8, and REGEDIT4), checks the file here, and hands its operations to the SCM,
which applies all of them or none; an error names the line.
"""

from __future__ import annotations

import os
from typing import Any, TextIO

from ..errors import ERROR_INVALID_DATA, ERROR_SERVICE_DOES_NOT_EXIST, ScmError
from ..mgr import Manager
from ..regvalue import from_wire, to_wire
from .connect import with_manager

USAGE = """usage: svcctl reg export [NAME ...] FILE    the services' keys (all, and Control, without NAME)
       svcctl reg import FILE              apply a .reg file: all of it or nothing
"""

#: The order Windows lists a service's values in (CreateService writes them so).
_SERVICE_ORDER = ("Type", "Start", "ErrorControl", "ImagePath", "DisplayName", "Group", "Tag",
                  "DependOnService", "DependOnGroup", "ObjectName", "Description")


def _ordered(values: dict[str, tuple[int, Any]], service_key: bool) -> list[str]:
    first = [n for n in _SERVICE_ORDER if n in values] if service_key else []
    return first + sorted((n for n in values if n not in first), key=str.lower)


def export_ops(mgr: Manager, names: list[str]) -> list[Any]:
    from ..registry import Key, SetValue, absolute_key

    roots = [f"Services\\{n}" for n in names] if names else ["Services", "Control"]
    ops: list[Any] = []
    for root in roots:
        tree = mgr.reg_get(root)
        if names and "" not in tree:
            raise ScmError(ERROR_SERVICE_DOES_NOT_EXIST, root.split("\\", 1)[1])
        for sub in sorted(tree, key=lambda k: [p.lower() for p in k.split("\\")] if k else []):
            key = f"{root}\\{sub}" if sub else root
            ops.append(Key(absolute_key(key)))
            is_service = key.count("\\") == 1 and key.lower().startswith("services\\")
            for name in _ordered(tree[sub], is_service):
                vtype, data = tree[sub][name]
                ops.append(SetValue(absolute_key(key), name, vtype, data))
    return ops


def import_wire_ops(data: bytes) -> list[list[Any]]:
    """The file's operations as the SCM takes them; RegFileError (with the line) when malformed."""
    from ..registry import DeleteKey, DeleteValue, Key, SetValue, parse, relative_key

    out: list[list[Any]] = []
    for op in parse(data):
        key = relative_key(op.path, op.line)
        if isinstance(op, Key):
            out.append(["key", op.line, key, None, None, None])
        elif isinstance(op, DeleteKey):
            out.append(["delkey", op.line, key, None, None, None])
        elif isinstance(op, DeleteValue):
            out.append(["delval", op.line, key, op.name, None, None])
        elif isinstance(op, SetValue):
            vtype, wire = to_wire((op.type, op.data))
            from_wire([vtype, wire])  # a type the SCM cannot store is refused here, with its line
            out.append(["set", op.line, key, op.name, vtype, wire])
    return out


def run(args: list[str], out: TextIO) -> int:
    if len(args) < 2 or args[0] not in ("export", "import") or "--help" in args or "-h" in args:
        out.write(USAGE)
        return 0 if ("--help" in args or "-h" in args) else 1639
    return with_manager(out, lambda mgr: _run(mgr, args, out))


def _run(mgr: Manager, args: list[str], out: TextIO) -> int:
    from ..registry import RegFileError, dump

    try:
        if args[0] == "export":
            *names, path = args[1:]
            data = dump(export_ops(mgr, names))
            with open(path, "wb") as f:
                f.write(data)
            out.write(f"Exported {len(names) or 'every'} service{'s' if len(names) != 1 else ''} to {path}.\n")
            return 0
        if len(args) != 2:
            out.write(USAGE)
            return 1639
        try:
            with open(args[1], "rb") as f:
                ops = import_wire_ops(f.read())
        except RegFileError as exc:
            out.write(f"svcctl reg import: {args[1]}: {exc} (nothing was imported)\n")
            return ERROR_INVALID_DATA
        except OSError as exc:
            out.write(f"svcctl reg import: {args[1]}: {exc.strerror}\n")
            return 2
        result = mgr.reg_import(ops)
        parts = [f"{k} {', '.join(v)}" for k, v in result.items() if v]
        out.write(f"Imported {os.path.basename(args[1])}" + (f": {'; '.join(parts)}" if parts else "") + ".\n")
        return 0
    except ScmError as exc:
        out.write(f"svcctl reg {args[0]}: {exc.strerror} ({exc.winerror}) (nothing was imported)\n"
                  if args[0] == "import" else f"svcctl reg {args[0]}: {exc.strerror} ({exc.winerror})\n")
        return exc.winerror
