"""QueryServiceObjectSecurity and SetServiceObjectSecurity, on service and manager handles.

The descriptor travels as its self-relative binary form in hex; the client renders SDDL. Rights
are Windows' (B110, B139): READ_CONTROL to read owner, group and DACL, WRITE_DAC to replace the
DACL, WRITE_OWNER for owner and group; the SACL is for administrators only (they hold the
security privilege that ACCESS_SYSTEM_SECURITY needs).
"""

from __future__ import annotations

from typing import Any

from ..errors import ERROR_ACCESS_DENIED, ERROR_INVALID_PARAMETER, ScmError
from ..secdesc import SecurityDescriptor, SecurityDescriptorError
from ..types import READ_CONTROL
from .access import (
    DACL_SECURITY_INFORMATION,
    GROUP_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION,
    SACL_SECURITY_INFORMATION,
    info_mask,
)
from .parts import ScmParts
from .security import require

WRITE_DAC, WRITE_OWNER = 0x40000, 0x80000


class SecurityApi(ScmParts):
    """Mixed into :class:`~svcctl.scm.core.Scm`."""

    def _target(self, s: Any, h: int) -> tuple[str | None, int]:
        handle = s.handles.get(h)
        if handle is None:
            from ..errors import ERROR_INVALID_HANDLE

            raise ScmError(ERROR_INVALID_HANDLE)
        return (None if handle.rec is None else handle.rec.name), handle.access

    def get_security(self, s: Any, h: int, info: int) -> str:
        self._live()
        service, granted = self._target(s, h)
        info = info_mask(info)
        if info & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION):
            require(granted, READ_CONTROL)
        if info & SACL_SECURITY_INFORMATION and not s.who.admin:
            raise ScmError(ERROR_ACCESS_DENIED, "reading the SACL needs the security privilege")
        sd = self.access.descriptor(service)
        part = SecurityDescriptor(
            sd.owner if info & OWNER_SECURITY_INFORMATION else None,
            sd.group if info & GROUP_SECURITY_INFORMATION else None,
            sd.dacl if info & DACL_SECURITY_INFORMATION else None,
            sd.sacl if info & SACL_SECURITY_INFORMATION else None,
            _visible_control(sd.control, info),
        )
        return part.to_bytes().hex()

    def set_security(self, s: Any, h: int, info: int, sd: Any) -> None:
        self._live()
        service, granted = self._target(s, h)
        info = info_mask(info)
        if info & DACL_SECURITY_INFORMATION:
            require(granted, WRITE_DAC)
        if info & (OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION):
            require(granted, WRITE_OWNER)
        if info & SACL_SECURITY_INFORMATION and not s.who.admin:
            raise ScmError(ERROR_ACCESS_DENIED, "setting the SACL needs the security privilege")
        try:
            new = SecurityDescriptor.from_bytes(bytes.fromhex(sd) if isinstance(sd, str) else b"")
        except (ValueError, SecurityDescriptorError) as exc:
            raise ScmError(ERROR_INVALID_PARAMETER, f"security descriptor: {exc}") from None
        self.access.store(service, info, new)


def _visible_control(control: int, info: int) -> int:
    keep = 0x8000  # self-relative
    if info & DACL_SECURITY_INFORMATION:
        keep |= 0x1004 | 0x0500
    if info & SACL_SECURITY_INFORMATION:
        keep |= 0x2010 | 0x0A00
    return control & keep
