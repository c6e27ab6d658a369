"""Who is calling (peer credentials) and the two primitives of every access decision.

The daemon's owner and root act as BUILTIN\\Administrators. What a caller may do is decided when
a handle is opened, against a security descriptor (:mod:`.access`, B7), and per call against the
handle's granted access (:func:`require`, B138-B139).
"""

from __future__ import annotations

from ..errors import ERROR_ACCESS_DENIED, ScmError
from ..types import (
    MAXIMUM_ALLOWED,
    GenericMapping,
    _Record,
)


class Identity(_Record):
    """A caller, from SO_PEERCRED (or the in-process fake's owner)."""

    __slots__ = ("uid", "gid", "pid", "admin")
    uid: int
    gid: int
    pid: int
    admin: bool

    def __init__(self, uid: int, gid: int, pid: int, admin: bool) -> None:
        self._set(uid=uid, gid=gid, pid=pid, admin=admin)

    @property
    def label(self) -> str:
        return f"uid {self.uid}" + (" (administrator)" if self.admin else "")


def grant(requested: int, allowed: int, mapping: GenericMapping) -> int:
    """Access granted for ``requested`` when ``allowed`` is what the DACL gives; 5 if short.

    GENERIC_* bits are mapped first (B8); MAXIMUM_ALLOWED yields everything ``allowed``.
    """
    wanted = mapping.map(requested)
    if wanted & MAXIMUM_ALLOWED:
        return allowed | (wanted & ~MAXIMUM_ALLOWED & allowed)
    if wanted & ~allowed & 0xFFFFFFFF:
        raise ScmError(ERROR_ACCESS_DENIED, f"requested access 0x{wanted:x}, allowed 0x{allowed:x}")
    return wanted


def require(granted: int, needed: int) -> None:
    needed = int(needed)  # an IntFlag would take enum's slow path for every check
    if int(granted) & needed != needed:
        raise ScmError(ERROR_ACCESS_DENIED)
