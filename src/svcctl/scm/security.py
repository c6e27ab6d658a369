"""Who is calling and what they may do: peer credentials mapped onto Windows' default DACLs.

The daemon's owner and root act as BUILTIN\\Administrators; every other local user is an
authenticated interactive user with the default rights of B140 (manager) and B141 (services).
Rights are checked when a handle is opened, as Windows does (B7), and per call against the
handle's granted access.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ERROR_ACCESS_DENIED, ScmError
from ..types import (
    MAXIMUM_ALLOWED,
    READ_CONTROL,
    GenericMapping,
    ScmAccess,
    ServiceAccess,
)

#: B140: local authenticated users on the manager.
SCM_USER_RIGHTS = ScmAccess.CONNECT | ScmAccess.ENUMERATE_SERVICE | ScmAccess.QUERY_LOCK_STATUS | READ_CONTROL
#: B141: local authenticated/interactive users on a service.
SERVICE_USER_RIGHTS = (
    ServiceAccess.READ_CONTROL
    | ServiceAccess.ENUMERATE_DEPENDENTS
    | ServiceAccess.INTERROGATE
    | ServiceAccess.QUERY_CONFIG
    | ServiceAccess.QUERY_STATUS
    | ServiceAccess.USER_DEFINED_CONTROL
)


@dataclass(frozen=True, slots=True)
class Identity:
    """A caller, from SO_PEERCRED (or the in-process fake's owner)."""

    uid: int
    gid: int
    pid: int
    admin: bool

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


def scm_rights(who: Identity) -> int:
    return int(ScmAccess.ALL_ACCESS) if who.admin else int(SCM_USER_RIGHTS)


def service_rights(who: Identity) -> int:
    return int(ServiceAccess.ALL_ACCESS) if who.admin else int(SERVICE_USER_RIGHTS)


def require(granted: int, needed: int) -> None:
    if granted & needed != needed:
        raise ScmError(ERROR_ACCESS_DENIED)
