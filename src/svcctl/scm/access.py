"""Access control by security descriptor: who the caller is as SIDs, and what each SD grants.

Every OpenSCManager and OpenService is checked against a descriptor (B7): the SCM's own, kept in
``Control\\ServiceGroupOrder\\Security`` as Windows keeps it, and each service's, kept in
``Services\\<name>\\Security`` (the binary value seed 000 exports). A service without one has
B141's default. Local callers become tokens of SIDs:

* everyone: Everyone (WD), Authenticated Users (AU), Interactive (IU: the socket is local),
  LOCAL, Users (BU), and the Unix user and groups as ``S-1-22-1-<uid>`` / ``S-1-22-2-<gid>``
  (Samba's "Unix User" and "Unix Group" SIDs, so an SDDL can name one Unix account or group);
* root and the daemon's owner also hold Administrators (BA) and LocalSystem (SY).

Refusals answer 5 and are written to the event log (7930).
"""

from __future__ import annotations

import grp
import os
import pwd
from functools import lru_cache

from ..errors import ERROR_ACCESS_DENIED, ERROR_INVALID_PARAMETER, AccessDenied, ScmError
from ..regvalue import REG_BINARY
from ..secdesc import (
    DEFAULT_SCM_SDDL,
    DEFAULT_SERVICE_SDDL,
    MAXIMUM_ALLOWED,
    SCM_MAPPING,
    SERVICE_MAPPING,
    SecurityDescriptor,
    SecurityDescriptorError,
    Sid,
    access_check,
    map_descriptor,
)
from ..types import GenericMapping
from .database import Database
from .events import EventLog
from .security import Identity, grant

SCM_SECURITY_KEY = "Control\\ServiceGroupOrder\\Security"
OWNER_SECURITY_INFORMATION, GROUP_SECURITY_INFORMATION = 0x1, 0x2
DACL_SECURITY_INFORMATION, SACL_SECURITY_INFORMATION = 0x4, 0x8
_EVERYONE_LOCAL = ("S-1-1-0", "S-1-5-11", "S-1-5-4", "S-1-2-0", "S-1-5-32-545")
_ADMIN = ("S-1-5-32-544", "S-1-5-18")


@lru_cache(maxsize=256)
def token(uid: int, gid: int, admin: bool) -> frozenset[Sid]:
    """The SIDs a local caller holds (cached: group membership is read from the system once)."""
    sids = {*_EVERYONE_LOCAL, f"S-1-22-1-{uid}", f"S-1-22-2-{gid}"}
    try:
        name = pwd.getpwuid(uid).pw_name
        sids.update(f"S-1-22-2-{g}" for g in os.getgrouplist(name, gid))
    except KeyError:
        pass
    if admin:
        sids.update(_ADMIN)
    return frozenset(Sid.parse(s) for s in sids)


def account_sid(name: str) -> str:
    """``S-1-22-1-<uid>`` for a Unix user name, ``S-1-22-2-<gid>`` for ``group:NAME``."""
    try:
        if name.startswith("group:"):
            return f"S-1-22-2-{grp.getgrnam(name[6:]).gr_gid}"
        return f"S-1-22-1-{pwd.getpwnam(name).pw_uid}"
    except KeyError:
        raise ScmError(1332, f"no account named {name!r}") from None  # ERROR_NONE_MAPPED


class AccessControl:
    """The descriptors of one SCM and the checks made against them."""

    def __init__(self, db: Database, events: EventLog) -> None:
        self.db = db
        self.events = events
        self._cache: dict[str, SecurityDescriptor] = {}
        self._defaults: dict[str, SecurityDescriptor] = {}

    # --- descriptors ---------------------------------------------------------------------------

    @staticmethod
    def _key(service: str | None) -> str:
        return SCM_SECURITY_KEY if service is None else f"Services\\{service}\\Security"

    def descriptor(self, service: str | None) -> SecurityDescriptor:
        """The stored descriptor of a service (None: the SCM), or the default one."""
        key = self._key(service).lower()
        sd = self._cache.get(key)
        if sd is None:
            stored = self.db.read_key(self._key(service)).get("Security")
            sd = None
            if stored is not None and stored[0] == REG_BINARY:
                try:
                    sd = SecurityDescriptor.from_bytes(stored[1])
                except SecurityDescriptorError:
                    sd = None  # a damaged value must not lock everyone out: the default applies
            if sd is None:  # one parsed default shared by every service that has no descriptor
                default = DEFAULT_SCM_SDDL if service is None else DEFAULT_SERVICE_SDDL
                sd = self._defaults.get(default)
                if sd is None:
                    sd = self._defaults[default] = SecurityDescriptor.from_sddl(default)
            self._cache[key] = sd
        return sd

    def forget(self) -> None:
        """Descriptors changed underneath (an import, a delete): read them again when needed."""
        self._cache.clear()

    def store(self, service: str | None, info: int, new: SecurityDescriptor) -> None:
        """SetServiceObjectSecurity: replace the parts ``info`` names, generic rights mapped."""
        mapping = SCM_MAPPING if service is None else SERVICE_MAPPING
        old = self.descriptor(service)
        new = map_descriptor(new, mapping)
        merged = SecurityDescriptor(
            new.owner if info & OWNER_SECURITY_INFORMATION else old.owner,
            new.group if info & GROUP_SECURITY_INFORMATION else old.group,
            new.dacl if info & DACL_SECURITY_INFORMATION else old.dacl,
            new.sacl if info & SACL_SECURITY_INFORMATION else old.sacl,
            _control(old, new, info),
        )
        self.db.write({self._key(service): {"Security": (REG_BINARY, merged.to_bytes())}})
        self._cache[self._key(service).lower()] = merged

    # --- checks ---------------------------------------------------------------------------------

    def allowed(self, who: Identity, service: str | None) -> int:
        """Everything the descriptor grants ``who`` (MAXIMUM_ALLOWED), 0 if nothing."""
        mapping = SCM_MAPPING if service is None else SERVICE_MAPPING
        try:
            return access_check(self.descriptor(service), token(who.uid, who.gid, who.admin), MAXIMUM_ALLOWED,
                                mapping)
        except AccessDenied:
            return 0

    def open(self, who: Identity, service: str | None, shown: str, desired: int, mapping: GenericMapping) -> int:
        """The access granted for ``desired``; 5, logged, when the descriptor does not give it."""
        allowed = self.allowed(who, service)
        try:
            if desired & MAXIMUM_ALLOWED and not allowed:
                raise ScmError(ERROR_ACCESS_DENIED, "the descriptor grants nothing")  # as AccessCheck
            return grant(desired, allowed, mapping)
        except ScmError as exc:
            if exc.winerror == ERROR_ACCESS_DENIED:
                self.events.write(7930, service, who.label, f"{desired:#x}", shown, f"{allowed:#x}",
                                  data={"uid": who.uid, "desired": desired, "allowed": allowed})
            raise


def _control(old: SecurityDescriptor, new: SecurityDescriptor, info: int) -> int:
    """Control bits: each part's flags come from the descriptor that part came from."""
    dacl_bits, sacl_bits = 0x1004 | 0x0500, 0x2010 | 0x0A00  # present, protected, auto-inherit
    control = old.control
    if info & DACL_SECURITY_INFORMATION:
        control = (control & ~dacl_bits) | (new.control & dacl_bits)
    if info & SACL_SECURITY_INFORMATION:
        control = (control & ~sacl_bits) | (new.control & sacl_bits)
    return control


def info_mask(info: int) -> int:
    if info <= 0 or info & ~0xF:
        raise ScmError(ERROR_INVALID_PARAMETER, f"security information {info:#x}")
    return info
