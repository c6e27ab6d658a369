"""Security descriptors: SIDs, ACEs, ACLs, the self-relative binary form, SDDL, and AccessCheck.

Windows keeps each service's descriptor as the binary value ``Services\\<name>\\Security\\Security``
(B15) and shows it as SDDL (``sc sdshow``, B142); the portable SCM stores, prints and enforces the
same thing (B7, B8, B138-B146). Binary and SDDL output match what Windows writes: SACL, DACL, owner,
group in that order; rights letters in ascending bit order, or one exact name (``KA``, ``FA``...),
or lower-case ``0x`` hex when a bit has no letter, as ConvertSecurityDescriptorToStringSecurityDescriptor
prints them. Every malformed input raises :class:`SecurityDescriptorError` (a ValueError).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from typing import NamedTuple

from svcctl.errors import AccessDenied
from svcctl.types import _Record

# --- access rights -------------------------------------------------------------------------------

DELETE, READ_CONTROL, WRITE_DAC, WRITE_OWNER, SYNCHRONIZE = 0x10000, 0x20000, 0x40000, 0x80000, 0x100000
STANDARD_RIGHTS_REQUIRED = 0x000F0000
STANDARD_RIGHTS_READ = STANDARD_RIGHTS_WRITE = STANDARD_RIGHTS_EXECUTE = READ_CONTROL
ACCESS_SYSTEM_SECURITY, MAXIMUM_ALLOWED = 0x01000000, 0x02000000
GENERIC_ALL, GENERIC_EXECUTE, GENERIC_WRITE, GENERIC_READ = 0x10000000, 0x20000000, 0x40000000, 0x80000000

SC_MANAGER_CONNECT, SC_MANAGER_CREATE_SERVICE, SC_MANAGER_ENUMERATE_SERVICE = 0x1, 0x2, 0x4
SC_MANAGER_LOCK, SC_MANAGER_QUERY_LOCK_STATUS, SC_MANAGER_MODIFY_BOOT_CONFIG = 0x8, 0x10, 0x20
SC_MANAGER_ALL_ACCESS = 0xF003F

SERVICE_QUERY_CONFIG, SERVICE_CHANGE_CONFIG, SERVICE_QUERY_STATUS = 0x1, 0x2, 0x4
SERVICE_ENUMERATE_DEPENDENTS, SERVICE_START, SERVICE_STOP, SERVICE_PAUSE_CONTINUE = 0x8, 0x10, 0x20, 0x40
SERVICE_INTERROGATE, SERVICE_USER_DEFINED_CONTROL = 0x80, 0x100
SERVICE_ALL_ACCESS = 0xF01FF


class GenericMapping(NamedTuple):
    """What GENERIC_READ/WRITE/EXECUTE/ALL mean for one kind of object."""

    read: int
    write: int
    execute: int
    all: int


# B8: the SCM's and services' generic mappings.
SCM_MAPPING = GenericMapping(
    STANDARD_RIGHTS_READ | SC_MANAGER_ENUMERATE_SERVICE | SC_MANAGER_QUERY_LOCK_STATUS,
    STANDARD_RIGHTS_WRITE | SC_MANAGER_CREATE_SERVICE | SC_MANAGER_MODIFY_BOOT_CONFIG,
    STANDARD_RIGHTS_EXECUTE | SC_MANAGER_CONNECT | SC_MANAGER_LOCK,
    SC_MANAGER_ALL_ACCESS,
)
SERVICE_MAPPING = GenericMapping(
    STANDARD_RIGHTS_READ
    | SERVICE_QUERY_CONFIG
    | SERVICE_QUERY_STATUS
    | SERVICE_INTERROGATE
    | SERVICE_ENUMERATE_DEPENDENTS,
    STANDARD_RIGHTS_WRITE | SERVICE_CHANGE_CONFIG,
    STANDARD_RIGHTS_EXECUTE | SERVICE_START | SERVICE_STOP | SERVICE_PAUSE_CONTINUE | SERVICE_USER_DEFINED_CONTROL,
    SERVICE_ALL_ACCESS,
)

# --- ACE types and flags, descriptor control bits --------------------------------------------------

ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE, SYSTEM_AUDIT_ACE_TYPE, SYSTEM_ALARM_ACE_TYPE = 0, 1, 2, 3

OBJECT_INHERIT_ACE, CONTAINER_INHERIT_ACE, NO_PROPAGATE_INHERIT_ACE, INHERIT_ONLY_ACE = 0x1, 0x2, 0x4, 0x8
INHERITED_ACE, SUCCESSFUL_ACCESS_ACE_FLAG, FAILED_ACCESS_ACE_FLAG = 0x10, 0x40, 0x80

SE_OWNER_DEFAULTED, SE_GROUP_DEFAULTED, SE_DACL_PRESENT, SE_DACL_DEFAULTED = 0x1, 0x2, 0x4, 0x8
SE_SACL_PRESENT, SE_SACL_DEFAULTED = 0x10, 0x20
SE_DACL_AUTO_INHERIT_REQ, SE_SACL_AUTO_INHERIT_REQ = 0x100, 0x200
SE_DACL_AUTO_INHERITED, SE_SACL_AUTO_INHERITED = 0x400, 0x800
SE_DACL_PROTECTED, SE_SACL_PROTECTED, SE_SELF_RELATIVE = 0x1000, 0x2000, 0x8000

ACL_REVISION = 2

# --- SDDL vocabularies -----------------------------------------------------------------------------

_ACE_TYPES = {"A": 0, "D": 1, "AU": 2, "AL": 3}
_OBJECT_ACE_TYPES = {"OA": 0, "OD": 1, "OU": 2, "OL": 3}  # without GUIDs Windows reads them as plain ACEs
_ACE_TYPE_NAMES = {v: k for k, v in _ACE_TYPES.items()}
_ACE_FLAGS = {"OI": 0x01, "CI": 0x02, "NP": 0x04, "IO": 0x08, "ID": 0x10, "SA": 0x40, "FA": 0x80}
_BIT_RIGHTS = {  # printed in ascending bit order, as Windows does
    "CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "RP": 0x10, "WP": 0x20, "DT": 0x40, "LO": 0x80, "CR": 0x100,
    "SD": DELETE, "RC": READ_CONTROL, "WD": WRITE_DAC, "WO": WRITE_OWNER,
    "GA": GENERIC_ALL, "GX": GENERIC_EXECUTE, "GW": GENERIC_WRITE, "GR": GENERIC_READ,
}  # fmt: skip
_NAMED_MASKS = {  # an exact match prints as one name (KR wins over KX, as on Windows)
    "FA": 0x1F01FF, "FR": 0x120089, "FW": 0x120116, "FX": 0x1200A0,
    "KA": 0xF003F, "KR": 0x20019, "KW": 0x20006, "KX": 0x20019,
}  # fmt: skip
_RIGHTS = {**_BIT_RIGHTS, **_NAMED_MASKS}
_BIT_ORDER = sorted(_BIT_RIGHTS.items(), key=lambda kv: kv[1])
_ALL_BITS = sum(_BIT_RIGHTS.values())
_MASK_BY_VALUE = {v: k for k, v in reversed(list(_NAMED_MASKS.items()))}
_CONTROL_FLAGS = (("P", 0x1000), ("AR", 0x0100), ("AI", 0x0400))  # DACL bits; SACL bits are these << 1

_ALIASES = {
    "AA": "S-1-5-32-579", "AC": "S-1-15-2-1", "AN": "S-1-5-7", "AO": "S-1-5-32-548", "AU": "S-1-5-11",
    "BA": "S-1-5-32-544", "BG": "S-1-5-32-546", "BO": "S-1-5-32-551", "BU": "S-1-5-32-545",
    "CD": "S-1-5-32-574", "CG": "S-1-3-1", "CO": "S-1-3-0", "CY": "S-1-5-32-569", "ED": "S-1-5-9",
    "ER": "S-1-5-32-573", "ES": "S-1-5-32-576", "HA": "S-1-5-32-578", "HI": "S-1-16-12288",
    "IS": "S-1-5-32-568", "IU": "S-1-5-4", "LS": "S-1-5-19", "LU": "S-1-5-32-559", "LW": "S-1-16-4096",
    "ME": "S-1-16-8192", "MP": "S-1-16-8448", "MS": "S-1-5-32-577", "MU": "S-1-5-32-558",
    "NO": "S-1-5-32-556", "NS": "S-1-5-20", "NU": "S-1-5-2", "OW": "S-1-3-4", "PO": "S-1-5-32-550",
    "PS": "S-1-5-10", "PU": "S-1-5-32-547", "RA": "S-1-5-32-575", "RC": "S-1-5-12", "RD": "S-1-5-32-555",
    "RE": "S-1-5-32-552", "RM": "S-1-5-32-580", "RU": "S-1-5-32-554", "SI": "S-1-16-16384",
    "SO": "S-1-5-32-549", "SS": "S-1-18-2", "SU": "S-1-5-6", "SY": "S-1-5-18", "UD": "S-1-5-84-0-0-0-0-0",
    "WD": "S-1-1-0", "WR": "S-1-5-33",
}  # fmt: skip
_ALIAS_BY_SID = {v: k for k, v in _ALIASES.items()}
_SID_TEXT = re.compile(r"[sS]-1-(0[xX][0-9a-fA-F]{1,12}|[0-9]{1,15})((?:-[0-9]{1,10}){0,15})", re.ASCII)

# --- default descriptors ---------------------------------------------------------------------------

#: B142: a new service's DACL and SACL exactly as `sc sdshow` prints them on current Windows
#: (B141: SY query+start/stop, BA all, IU/SU query, remote users nothing; audit failures by anyone).
SERVICE_SDSHOW_DEFAULT = (
    "D:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCLCSWLOCRRC;;;IU)"
    "(A;;CCLCSWLOCRRC;;;SU)S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)"
)
#: B141/B142 as stored in ``Security\\Security``: owner and group LocalSystem, as in seed 000.
DEFAULT_SERVICE_SDDL = "O:SYG:SY" + SERVICE_SDSHOW_DEFAULT
#: B140: the SCM's own descriptor, as `sc sdshow scmanager` prints it on Windows 10 (AU connect only;
#: IU/SU connect+enumerate+query lock+read; SY also modify boot config; BA all; AC connect).
DEFAULT_SCM_SDDL = (
    "O:SYG:SYD:(A;;CC;;;AU)(A;;CCLCRPRC;;;IU)(A;;CCLCRPRC;;;SU)(A;;CCLCRPWPRC;;;SY)(A;;KA;;;BA)(A;;CC;;;AC)"
    "S:(AU;FA;KA;;;WD)(AU;OIIOFA;GA;;;WD)"
)


class SecurityDescriptorError(ValueError):
    """A SID, ACL, security descriptor or SDDL string that is malformed or not representable."""


# --- the model -------------------------------------------------------------------------------------


class Sid(_Record):
    """A security identifier: ``S-1-<authority>-<subauthority>...``."""

    __slots__ = ("authority", "subauthorities")
    authority: int
    subauthorities: tuple[int, ...]

    def __init__(self, authority: int, subauthorities: tuple[int, ...] = ()) -> None:
        if not 0 <= authority < 1 << 48:
            raise SecurityDescriptorError(f"SID authority {authority} out of range")
        if len(subauthorities) > 15 or not all(0 <= s < 1 << 32 for s in subauthorities):
            raise SecurityDescriptorError("a SID has at most 15 subauthorities of 32 bits")
        self._set(authority=authority, subauthorities=subauthorities)

    @classmethod
    def parse(cls, text: str) -> Sid:
        """``S-1-5-32-544`` or an SDDL alias such as ``BA``."""
        text = _ALIASES.get(text, text)
        m = _SID_TEXT.fullmatch(text)
        if not m:
            raise SecurityDescriptorError(f"not a SID: {text!r}")
        subs = tuple(int(s) for s in m.group(2).split("-")[1:])
        auth = m.group(1)
        return cls(int(auth, 16) if auth[:2].lower() == "0x" else int(auth), subs)

    @classmethod
    def from_bytes(cls, data: bytes) -> Sid:
        """The binary SID that is exactly ``data``."""
        sid, end = _read_sid(data, 0, len(data))
        if end != len(data):
            raise SecurityDescriptorError("trailing bytes after the SID")
        return sid

    def to_bytes(self) -> bytes:
        subs = self.subauthorities
        return bytes((1, len(subs))) + self.authority.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)

    def __str__(self) -> str:
        auth = str(self.authority) if self.authority < 1 << 32 else f"0x{self.authority:012X}"
        return "-".join(["S", "1", auth, *map(str, self.subauthorities)])

    @property
    def sddl(self) -> str:
        """The SDDL alias when Windows has one, else the ``S-1-...`` string."""
        text = str(self)
        return _ALIAS_BY_SID.get(text, text)


OWNER_RIGHTS = Sid(3, (4,))


class Ace(_Record):
    """An allow, deny, audit or alarm ACE (the types whose body is a mask and a SID)."""

    __slots__ = ("type", "flags", "mask", "sid")
    type: int
    flags: int
    mask: int
    sid: Sid

    def __init__(self, type: int, flags: int, mask: int, sid: Sid) -> None:
        if type not in _ACE_TYPE_NAMES or not 0 <= flags <= 0xFF or not 0 <= mask < 1 << 32:
            raise SecurityDescriptorError(f"bad ACE type {type}, flags {flags} or mask {mask}")
        self._set(type=type, flags=flags, mask=mask, sid=sid)

    @property
    def inherit_only(self) -> bool:
        return bool(self.flags & INHERIT_ONLY_ACE)


class RawAce(_Record):
    """An ACE of a type this module does not interpret (object, callback, label...), kept byte for byte."""

    __slots__ = ("type", "flags", "body")
    type: int
    flags: int
    body: bytes

    def __init__(self, type: int, flags: int, body: bytes) -> None:
        if not 0 <= type <= 0xFF or not 0 <= flags <= 0xFF or len(body) > 0xFFFF - 4:
            raise SecurityDescriptorError("bad raw ACE")
        self._set(type=type, flags=flags, body=body)


class Acl(_Record):
    """An access control list: ACEs in evaluation order."""

    __slots__ = ("aces", "revision")
    aces: tuple[Ace | RawAce, ...]
    revision: int

    def __init__(self, aces: tuple[Ace | RawAce, ...] = (), revision: int = ACL_REVISION) -> None:
        if not 2 <= revision <= 4:
            raise SecurityDescriptorError(f"bad ACL revision {revision}")
        self._set(aces=aces, revision=revision)


class SecurityDescriptor(_Record):
    """Owner, group, DACL, SACL and control bits.

    ``dacl is None`` with SE_DACL_PRESENT in ``control`` is a NULL DACL (everyone gets everything);
    without it there is no DACL at all. A given ACL sets its PRESENT bit; SE_SELF_RELATIVE is implied.
    """

    __slots__ = ("owner", "group", "dacl", "sacl", "control")
    owner: Sid | None
    group: Sid | None
    dacl: Acl | None
    sacl: Acl | None
    control: int

    def __init__(self, owner: Sid | None = None, group: Sid | None = None, dacl: Acl | None = None,
                 sacl: Acl | None = None, control: int = 0) -> None:
        if not 0 <= control <= 0xFFFF:
            raise SecurityDescriptorError(f"bad control bits {control:#x}")
        control &= ~SE_SELF_RELATIVE
        control |= SE_DACL_PRESENT if dacl is not None else 0
        control |= SE_SACL_PRESENT if sacl is not None else 0
        self._set(owner=owner, group=group, dacl=dacl, sacl=sacl, control=control)

    # --- binary ---

    @classmethod
    def from_bytes(cls, data: bytes) -> SecurityDescriptor:
        """Decode a self-relative SECURITY_DESCRIPTOR (as in ``Security\\Security``)."""
        try:
            return _decode(bytes(data))
        except (struct.error, IndexError) as e:  # belt and braces: bounds are checked explicitly
            raise SecurityDescriptorError(f"truncated security descriptor ({e})") from None

    def to_bytes(self) -> bytes:
        """The self-relative form, laid out as Windows does: header, SACL, DACL, owner, group."""
        blobs = [
            _acl_bytes(self.sacl) if self.sacl else b"",
            _acl_bytes(self.dacl) if self.dacl else b"",
            self.owner.to_bytes() if self.owner else b"",
            self.group.to_bytes() if self.group else b"",
        ]
        offsets, pos = [], 20
        for blob in blobs:
            offsets.append(pos if blob else 0)
            pos += len(blob)
        o_sacl, o_dacl, o_owner, o_group = offsets
        header = struct.pack("<BBHIIII", 1, 0, self.control | SE_SELF_RELATIVE, o_owner, o_group, o_sacl, o_dacl)
        return header + b"".join(blobs)

    # --- SDDL ---

    @classmethod
    def from_sddl(cls, text: str) -> SecurityDescriptor:
        """Parse SDDL (``O:``, ``G:``, ``D:``, ``S:``); whitespace between tokens is ignored."""
        return _parse_sddl("".join(text.split()))

    def to_sddl(self) -> str:
        """SDDL as ConvertSecurityDescriptorToStringSecurityDescriptor prints it.

        Control bits and ACE flags that SDDL cannot name are left out, as Windows does.
        """
        out = []
        if self.owner is not None:
            out.append("O:" + self.owner.sddl)
        if self.group is not None:
            out.append("G:" + self.group.sddl)
        for tag, acl, present, shift in (
            ("D:", self.dacl, SE_DACL_PRESENT, 0),
            ("S:", self.sacl, SE_SACL_PRESENT, 1),
        ):
            if self.control & present:
                flags = "".join(name for name, bit in _CONTROL_FLAGS if self.control & (bit << shift))
                body = "NO_ACCESS_CONTROL" if acl is None else "".join(_ace_sddl(a) for a in acl.aces)
                out.append(tag + flags + body)
        return "".join(out)


# --- binary codec ----------------------------------------------------------------------------------


def _read_sid(data: bytes, off: int, limit: int) -> tuple[Sid, int]:
    if off + 8 > limit:
        raise SecurityDescriptorError(f"SID at {off} runs past its bounds")
    rev, count = data[off], data[off + 1]
    if rev != 1 or count > 15:
        raise SecurityDescriptorError(f"bad SID at {off} (revision {rev}, {count} subauthorities)")
    end = off + 8 + 4 * count
    if end > limit:
        raise SecurityDescriptorError(f"SID at {off} runs past its bounds")
    subs = struct.unpack_from(f"<{count}I", data, off + 8)
    return Sid(int.from_bytes(data[off + 2 : off + 8], "big"), subs), end


def _read_acl(data: bytes, off: int) -> Acl:
    if off < 20 or off + 8 > len(data):
        raise SecurityDescriptorError(f"ACL offset {off} out of bounds")
    rev, _, size, count, _ = struct.unpack_from("<BBHHH", data, off)
    limit = off + size
    if not 2 <= rev <= 4 or size < 8 or limit > len(data):
        raise SecurityDescriptorError(f"bad ACL at {off} (revision {rev}, size {size})")
    aces: list[Ace | RawAce] = []
    pos = off + 8
    for _ in range(count):
        if pos + 4 > limit:
            raise SecurityDescriptorError(f"ACE at {pos} runs past its ACL")
        atype, aflags, asize = struct.unpack_from("<BBH", data, pos)
        end = pos + asize
        if asize < 4 or end > limit:
            raise SecurityDescriptorError(f"bad ACE size {asize} at {pos}")
        if atype in _ACE_TYPE_NAMES:
            if asize < 16:
                raise SecurityDescriptorError(f"ACE at {pos} too short for a mask and a SID")
            (mask,) = struct.unpack_from("<I", data, pos + 4)
            sid, _ = _read_sid(data, pos + 8, end)
            aces.append(Ace(atype, aflags, mask, sid))
        else:
            aces.append(RawAce(atype, aflags, data[pos + 4 : end]))
        pos = end
    return Acl(tuple(aces), rev)


def _decode(data: bytes) -> SecurityDescriptor:
    if len(data) < 20:
        raise SecurityDescriptorError("a security descriptor is at least 20 bytes")
    rev, _, control, o_owner, o_group, o_sacl, o_dacl = struct.unpack_from("<BBHIIII", data)
    if rev != 1:
        raise SecurityDescriptorError(f"security descriptor revision {rev}, expected 1")
    if not control & SE_SELF_RELATIVE:
        raise SecurityDescriptorError("not a self-relative security descriptor")

    def sid_at(off: int) -> Sid | None:
        if not off:
            return None
        if off < 20:
            raise SecurityDescriptorError(f"SID offset {off} inside the header")
        return _read_sid(data, off, len(data))[0]

    dacl = _read_acl(data, o_dacl) if control & SE_DACL_PRESENT and o_dacl else None
    sacl = _read_acl(data, o_sacl) if control & SE_SACL_PRESENT and o_sacl else None
    return SecurityDescriptor(sid_at(o_owner), sid_at(o_group), dacl, sacl, control)


def _acl_bytes(acl: Acl) -> bytes:
    body = []
    for ace in acl.aces:
        payload = ace.body if isinstance(ace, RawAce) else struct.pack("<I", ace.mask) + ace.sid.to_bytes()
        body.append(struct.pack("<BBH", ace.type, ace.flags, 4 + len(payload)) + payload)
    blob = b"".join(body)
    if 8 + len(blob) > 0xFFFF or len(acl.aces) > 0xFFFF:
        raise SecurityDescriptorError("ACL larger than 64 KiB")
    return struct.pack("<BBHHH", acl.revision, 0, 8 + len(blob), len(acl.aces), 0) + blob


# --- SDDL codec ------------------------------------------------------------------------------------


def format_rights(mask: int) -> str:
    """A mask as SDDL rights: one exact name, letters in bit order, or ``0x`` hex (lower case)."""
    if mask == 0:
        return ""
    if mask in _MASK_BY_VALUE:
        return _MASK_BY_VALUE[mask]
    if mask & ~_ALL_BITS:
        return f"0x{mask:x}"
    return "".join(name for name, bit in _BIT_ORDER if mask & bit)


def parse_rights(text: str) -> int:
    """SDDL rights (``CCLCRC``, ``KA``, ``0x1f01ff``, decimal) to a mask."""
    if text[:1].isdigit():
        try:
            value = int(text, 16 if text[:2].lower() == "0x" else 8 if text[:1] == "0" else 10)
        except ValueError:
            raise SecurityDescriptorError(f"bad rights number {text!r}") from None
        if value >= 1 << 32:
            raise SecurityDescriptorError(f"rights {text!r} exceed 32 bits")
        return value
    return _tokens(text, _RIGHTS, "right")


def _tokens(text: str, table: dict[str, int], what: str) -> int:
    mask = 0
    for token in (text[i : i + 2] for i in range(0, len(text), 2)):
        if token not in table:
            raise SecurityDescriptorError(f"unknown {what} {token!r} in {text!r}")
        mask |= table[token]
    return mask


def _ace_sddl(ace: Ace | RawAce) -> str:
    if isinstance(ace, RawAce):
        raise SecurityDescriptorError(f"ACE type {ace.type} has no SDDL form here")
    flags = "".join(name for name, bit in _ACE_FLAGS.items() if ace.flags & bit)
    return f"({_ACE_TYPE_NAMES[ace.type]};{flags};{format_rights(ace.mask)};;;{ace.sid.sddl})"


def _parse_ace(body: str) -> Ace:
    fields = body.split(";")
    if len(fields) != 6:
        raise SecurityDescriptorError(f"an ACE has 6 fields: ({body})")
    tname, fname, rights, guid, iguid, sid = fields
    if tname in _OBJECT_ACE_TYPES and not guid and not iguid:
        atype = _OBJECT_ACE_TYPES[tname]
    elif tname in _ACE_TYPES:
        atype = _ACE_TYPES[tname]
    else:
        raise SecurityDescriptorError(f"unsupported ACE type {tname!r}")
    if guid or iguid:
        raise SecurityDescriptorError("object GUIDs are only for object ACEs")
    return Ace(atype, _tokens(fname, _ACE_FLAGS, "ACE flag"), parse_rights(rights), Sid.parse(sid))


def _parse_sddl(text: str) -> SecurityDescriptor:
    sids: dict[str, Sid] = {}
    acls: dict[str, Acl | None] = {}
    control = 0
    pos = 0
    while pos < len(text):
        tag = text[pos : pos + 2]
        if tag not in ("O:", "G:", "D:", "S:") or tag in sids or tag in acls:
            raise SecurityDescriptorError(f"expected O:, G:, D: or S: once each at {pos}: {text[pos : pos + 20]!r}")
        pos += 2
        if tag in ("O:", "G:"):
            m = _SID_TEXT.match(text, pos)
            end = m.end() if m else pos + 2
            sids[tag] = Sid.parse(text[pos:end])
            pos = end
            continue
        shift = 0 if tag == "D:" else 1
        control |= SE_DACL_PRESENT if tag == "D:" else SE_SACL_PRESENT
        null = False
        while True:
            for name, bit in (*_CONTROL_FLAGS, ("NO_ACCESS_CONTROL", 0)):
                if text.startswith(name, pos):
                    control |= bit << shift
                    null = null or not bit
                    pos += len(name)
                    break
            else:
                break
        aces: list[Ace | RawAce] = []
        while text.startswith("(", pos):
            end = text.find(")", pos)
            if end < 0:
                raise SecurityDescriptorError(f"unterminated ACE at {pos}")
            aces.append(_parse_ace(text[pos + 1 : end]))
            pos = end + 1
        if null and aces:
            raise SecurityDescriptorError("NO_ACCESS_CONTROL with ACEs")
        acls[tag] = None if null else Acl(tuple(aces))
    return SecurityDescriptor(sids.get("O:"), sids.get("G:"), acls.get("D:"), acls.get("S:"), control)


def sddl_to_bytes(text: str) -> bytes:
    """ConvertStringSecurityDescriptorToSecurityDescriptor, self-relative."""
    return SecurityDescriptor.from_sddl(text).to_bytes()


def bytes_to_sddl(data: bytes) -> str:
    """ConvertSecurityDescriptorToStringSecurityDescriptor with every part."""
    return SecurityDescriptor.from_bytes(data).to_sddl()


def default_service_descriptor() -> SecurityDescriptor:
    """B141/B142: what CreateService gives a new service."""
    return SecurityDescriptor.from_sddl(DEFAULT_SERVICE_SDDL)


def default_scm_descriptor() -> SecurityDescriptor:
    """B140: the SCM's own descriptor."""
    return SecurityDescriptor.from_sddl(DEFAULT_SCM_SDDL)


# --- access check ----------------------------------------------------------------------------------


def map_generic(mask: int, mapping: GenericMapping) -> int:
    """Replace GENERIC_* bits by what ``mapping`` says they mean (MapGenericMask)."""
    for bit, meaning in zip((GENERIC_READ, GENERIC_WRITE, GENERIC_EXECUTE, GENERIC_ALL), mapping, strict=True):
        if mask & bit:
            mask = (mask & ~bit) | meaning
    return mask


def map_descriptor(sd: SecurityDescriptor, mapping: GenericMapping) -> SecurityDescriptor:
    """``sd`` with generic bits in its ACEs mapped, as SetServiceObjectSecurity stores a new DACL."""

    def acl(a: Acl | None) -> Acl | None:
        if a is None:
            return None
        aces = tuple(
            Ace(x.type, x.flags, map_generic(x.mask, mapping), x.sid) if isinstance(x, Ace) else x for x in a.aces
        )
        return Acl(aces, a.revision)

    return SecurityDescriptor(sd.owner, sd.group, acl(sd.dacl), acl(sd.sacl), sd.control)


def access_check(
    sd: SecurityDescriptor,
    token_sids: Iterable[str | Sid],
    desired: int,
    mapping: GenericMapping,
    *,
    security_privilege: bool = False,
) -> int:
    """The access granted to a caller holding ``token_sids``, or :class:`AccessDenied` (5).

    Windows semantics: generic bits are mapped (in ``desired`` and in ACEs, as SetServiceObjectSecurity
    maps them when storing); a NULL or absent DACL grants everything, an empty one nothing; the owner
    gets READ_CONTROL|WRITE_DAC before any ACE unless the DACL has an OWNER RIGHTS ACE; ACEs are read
    in ACL order (inherit-only ones skipped) until every desired bit is decided, so a deny ACE only
    wins when it comes first; MAXIMUM_ALLOWED walks the whole DACL and fails if it grants nothing.
    ACCESS_SYSTEM_SECURITY comes from the privilege, never from the DACL. ``desired == 0`` grants 0.
    Token SIDs are ``S-1-...`` strings, SDDL aliases or :class:`Sid` objects; include Everyone.
    """
    sids = {s if isinstance(s, Sid) else Sid.parse(s) for s in token_sids}
    sids.discard(OWNER_RIGHTS)  # only ownership confers OWNER RIGHTS
    desired = map_generic(desired, mapping)
    maximum = bool(desired & MAXIMUM_ALLOWED)
    desired &= ~MAXIMUM_ALLOWED
    granted = 0
    if desired & ACCESS_SYSTEM_SECURITY:
        if not security_privilege:
            raise AccessDenied(detail="ACCESS_SYSTEM_SECURITY needs the security privilege")
        granted, desired = ACCESS_SYSTEM_SECURITY, desired & ~ACCESS_SYSTEM_SECURITY
    dacl = sd.dacl
    if dacl is None:
        return granted | desired | (mapping.all if maximum else 0)
    aces = [a for a in dacl.aces if isinstance(a, Ace) and not a.inherit_only and a.type <= ACCESS_DENIED_ACE_TYPE]
    implicit = 0
    if sd.owner is not None and sd.owner in sids:
        if any(a.sid == OWNER_RIGHTS for a in aces):
            sids.add(OWNER_RIGHTS)
        else:
            implicit = READ_CONTROL | WRITE_DAC
    if maximum:
        allowed, denied = implicit, 0
        for ace in aces:
            if ace.sid in sids:
                mask = map_generic(ace.mask, mapping)
                if ace.type == ACCESS_ALLOWED_ACE_TYPE:
                    allowed |= mask & ~denied
                else:
                    denied |= mask & ~allowed
        if desired & ~allowed or not (allowed | desired):
            raise AccessDenied(detail=f"granted {allowed:#x} of {desired:#x} (+MAXIMUM_ALLOWED)")
        return granted | allowed
    remaining = desired & ~implicit
    for ace in aces:
        if not remaining:
            break
        if ace.sid not in sids:
            continue
        mask = map_generic(ace.mask, mapping)
        if ace.type == ACCESS_ALLOWED_ACE_TYPE:
            remaining &= ~mask
        elif mask & remaining:
            raise AccessDenied(detail=f"denied {mask & remaining:#x} by an ACE for {ace.sid}")
    if remaining:
        raise AccessDenied(detail=f"no ACE grants {remaining:#x}")
    return granted | desired
