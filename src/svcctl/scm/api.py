"""The request vocabulary of the portable SCM and its argument checking.

A request is ``{"id": n, "op": NAME, <args>}``. :data:`OPS` says which arguments each operation
takes and of what type; anything else (unknown op, unknown field, wrong type) is refused with a
Win32 code before the SCM sees it. The socket server and the in-process backend both go through
:func:`dispatch`, so they validate identically.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..errors import ERROR_INVALID_FUNCTION, ERROR_INVALID_PARAMETER, ScmError
from .core import Scm, Session

Check = Callable[[Any], bool]


def _int(v: Any) -> bool:
    return type(v) is int and -(2**63) <= v < 2**64


def _str_opt(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _strs_opt(v: Any) -> bool:
    return v is None or (isinstance(v, list) and all(isinstance(x, str) for x in v))


def _strs(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _seen(v: Any) -> bool:
    return v is None or (isinstance(v, list) and len(v) == 2 and all(type(x) is int for x in v))


def _ints(v: Any) -> bool:
    return isinstance(v, list) and all(type(x) is int for x in v)


def _any(v: Any) -> bool:
    return True


_REQUIRED = object()
#: op -> {arg: (check, default)}; ``_REQUIRED`` marks arguments without a default.
OPS: dict[str, dict[str, tuple[Check, Any]]] = {
    "open_scm": {"machine": (_str_opt, None), "database": (_str_opt, None), "access": (_int, _REQUIRED)},
    "close": {"h": (_int, _REQUIRED)},
    "create": {
        "scm": (_int, _REQUIRED),
        "name": (_str_opt, None),
        "display": (_str_opt, None),
        "access": (_int, _REQUIRED),
        "type": (_int, _REQUIRED),
        "start": (_int, _REQUIRED),
        "error": (_int, _REQUIRED),
        "binpath": (_str_opt, None),
        "group": (_str_opt, None),
        "tag": (_bool, False),
        "deps": (_strs_opt, None),
        "account": (_str_opt, None),
        "password": (_str_opt, None),
    },
    "open": {"scm": (_int, _REQUIRED), "name": (_str_opt, None), "access": (_int, _REQUIRED)},
    "delete": {"h": (_int, _REQUIRED)},
    "status": {"h": (_int, _REQUIRED)},
    "config": {"h": (_int, _REQUIRED)},
    "config2": {"h": (_int, _REQUIRED), "level": (_int, _REQUIRED)},
    "enum": {
        "scm": (_int, _REQUIRED),
        "type": (_int, _REQUIRED),
        "state": (_int, _REQUIRED),
        "group": (_str_opt, None),
    },
    "display_name": {"scm": (_int, _REQUIRED), "name": (_str_opt, None)},
    "key_name": {"scm": (_int, _REQUIRED), "name": (_str_opt, None)},
    "dependents": {"h": (_int, _REQUIRED), "state": (_int, _REQUIRED)},
    "events_since": {
        "scm": (_int, _REQUIRED),
        "service": (_str_opt, None),
        "since": (_int, 0),
        "limit": (_int, 1000),
        "wait_ms": (_int, 0),
    },
    "change": {
        "h": (_int, _REQUIRED),
        "type": (_int, 0xFFFFFFFF),
        "start": (_int, 0xFFFFFFFF),
        "error": (_int, 0xFFFFFFFF),
        "binpath": (_str_opt, None),
        "group": (_str_opt, None),
        "tag": (_bool, False),
        "deps": (_strs_opt, None),
        "account": (_str_opt, None),
        "password": (_str_opt, None),
        "display": (_str_opt, None),
    },
    "change2": {"h": (_int, _REQUIRED), "level": (_int, _REQUIRED), "value": (_any, None)},
    "start": {"h": (_int, _REQUIRED), "args": (_strs, [])},
    "control": {"h": (_int, _REQUIRED), "code": (_int, _REQUIRED)},
    "group_order": {"scm": (_int, _REQUIRED)},
    "set_group_order": {"scm": (_int, _REQUIRED), "groups": (_strs, _REQUIRED)},
    "tag_order": {"scm": (_int, _REQUIRED), "group": (_str, _REQUIRED)},
    "set_tag_order": {"scm": (_int, _REQUIRED), "group": (_str, _REQUIRED), "tags": (_ints, _REQUIRED)},
    "watch": {"h": (_int, _REQUIRED), "seen": (_seen, None), "timeout_ms": (_int, 0)},
    "reg_get": {"scm": (_int, _REQUIRED), "key": (_str, _REQUIRED)},
    "reg_set": {"scm": (_int, _REQUIRED), "key": (_str, _REQUIRED), "values": (_any, _REQUIRED),
                "replace": (_bool, False)},
    "reg_delete": {"scm": (_int, _REQUIRED), "key": (_str, _REQUIRED)},
    "reg_import": {"scm": (_int, _REQUIRED), "ops": (_any, _REQUIRED)},
    "get_security": {"h": (_int, _REQUIRED), "info": (_int, 0x7)},
    "set_security": {"h": (_int, _REQUIRED), "info": (_int, 0x4), "sd": (_str, _REQUIRED)},
}

_ENVELOPE = frozenset({"id", "op"})


def parse(msg: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Check one request against :data:`OPS`; returns (op, arguments with defaults filled in)."""
    op = msg.get("op")
    spec = OPS.get(op) if isinstance(op, str) else None
    if spec is None:
        raise ScmError(ERROR_INVALID_FUNCTION, f"unknown operation {op!r}")
    args: dict[str, Any] = {}
    for key, value in msg.items():
        if key in _ENVELOPE:
            continue
        entry = spec.get(key)
        if entry is None:
            raise ScmError(ERROR_INVALID_PARAMETER, f"{op}: unknown field {key!r}")
        if not entry[0](value):
            raise ScmError(ERROR_INVALID_PARAMETER, f"{op}: field {key!r} has the wrong type")
        args[key] = value
    for key, (_, default) in spec.items():
        if key not in args:
            if default is _REQUIRED:
                raise ScmError(ERROR_INVALID_PARAMETER, f"{op}: missing field {key!r}")
            args[key] = list(default) if isinstance(default, list) else default
    return op, args  # type: ignore[return-value]


def dispatch(scm: Scm, session: Session, msg: dict[str, Any]) -> Any | Awaitable[Any]:
    """Run one request; async operations (start, control) return an awaitable."""
    op, args = parse(msg)
    method: Callable[..., Any] = getattr(scm, op)
    return method(session, **args)

