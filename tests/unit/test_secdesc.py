"""Security descriptors: binary and SDDL as Windows writes them, the seed's value, AccessCheck (B7-B8, B138-B144)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svcctl.errors import AccessDenied
from svcctl.registry import SetValue, parse
from svcctl.secdesc import (
    ACCESS_SYSTEM_SECURITY,
    DEFAULT_SCM_SDDL,
    DEFAULT_SERVICE_SDDL,
    DELETE,
    GENERIC_ALL,
    GENERIC_EXECUTE,
    GENERIC_READ,
    GENERIC_WRITE,
    MAXIMUM_ALLOWED,
    READ_CONTROL,
    SC_MANAGER_ALL_ACCESS,
    SC_MANAGER_CONNECT,
    SC_MANAGER_CREATE_SERVICE,
    SC_MANAGER_ENUMERATE_SERVICE,
    SC_MANAGER_LOCK,
    SC_MANAGER_MODIFY_BOOT_CONFIG,
    SC_MANAGER_QUERY_LOCK_STATUS,
    SCM_MAPPING,
    SE_DACL_AUTO_INHERIT_REQ,
    SE_DACL_AUTO_INHERITED,
    SE_DACL_PRESENT,
    SE_DACL_PROTECTED,
    SE_SACL_AUTO_INHERIT_REQ,
    SE_SACL_AUTO_INHERITED,
    SE_SACL_PRESENT,
    SE_SACL_PROTECTED,
    SERVICE_ALL_ACCESS,
    SERVICE_CHANGE_CONFIG,
    SERVICE_ENUMERATE_DEPENDENTS,
    SERVICE_INTERROGATE,
    SERVICE_MAPPING,
    SERVICE_PAUSE_CONTINUE,
    SERVICE_QUERY_CONFIG,
    SERVICE_QUERY_STATUS,
    SERVICE_SDSHOW_DEFAULT,
    SERVICE_START,
    SERVICE_STOP,
    SERVICE_USER_DEFINED_CONTROL,
    WRITE_DAC,
    WRITE_OWNER,
    Ace,
    Acl,
    RawAce,
    SecurityDescriptor,
    SecurityDescriptorError,
    Sid,
    access_check,
    bytes_to_sddl,
    default_scm_descriptor,
    default_service_descriptor,
    format_rights,
    map_descriptor,
    map_generic,
    parse_rights,
    sddl_to_bytes,
)

DATA = Path(__file__).resolve().parent.parent / "data"
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Seed 000's ``Security`` value decodes to the Windows XP/2003 CreateService default.
SEED_SDDL = (
    "O:SYG:SYD:(A;;CCLCSWRPWPDTLOCRRC;;;SY)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCLCSWLOCRRC;;;AU)"
    "(A;;CCLCSWRPWPDTLOCRRC;;;PU)S:(AU;FA;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;WD)"
)


def seed_security(name: str) -> bytes:
    ops = parse((DATA / name).read_bytes())
    (value,) = [o for o in ops if isinstance(o, SetValue) and o.name == "Security"]
    assert isinstance(value.data, bytes)
    return value.data


# --- known pairs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["seed000_instsrv.reg", "seed000_sc.reg"])
def test_seed_security_value_decodes(name: str):
    raw = seed_security(name)
    sd = SecurityDescriptor.from_bytes(raw)
    print(sd.to_sddl())
    assert sd.to_sddl() == SEED_SDDL
    assert sd.owner == sd.group == Sid(5, (18,))
    assert sd.control == SE_DACL_PRESENT | SE_SACL_PRESENT
    assert sd.sacl is not None and sd.dacl is not None and len(sd.dacl.aces) == 4
    assert sd.to_bytes() == raw  # Windows' layout: header, SACL, DACL, owner, group
    assert sddl_to_bytes(SEED_SDDL) == raw
    assert bytes_to_sddl(raw) == SEED_SDDL


def test_small_descriptor_binary_by_hand():
    # fmt: off
    expected = bytes.fromhex(
        "01000480" "30000000" "40000000" "00000000" "14000000"  # header: owner, group, no SACL, DACL
        "02001c00" "01000000"  # ACL revision 2, size 0x1c, one ACE
        "00001400" "01000000" "0101000000000005" "0b000000"  # (A;;CC;;;AU)
        "0102000000000005" "20000000" "20020000"  # owner BA
        "0101000000000005" "12000000"  # group SY
    )
    # fmt: on
    assert sddl_to_bytes("O:BAG:SYD:(A;;CC;;;AU)") == expected
    assert bytes_to_sddl(expected) == "O:BAG:SYD:(A;;CC;;;AU)"


@pytest.mark.parametrize(
    "sddl",
    [
        SERVICE_SDSHOW_DEFAULT,  # B142, `sc sdshow` of a new service
        DEFAULT_SCM_SDDL.removeprefix("O:SYG:SY"),  # `sc sdshow scmanager`
        # `sc sdshow wuauserv` on Windows 10
        "D:(A;;CCLCSWRPLORC;;;AU)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;BA)(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;SY)"
        "S:(AU;FA;CCDCLCSWRPWPDTLOSDRCWDWO;;;WD)",
        # a volume root as Get-Acl prints it: hex masks in lower case, generic letters in bit order
        "O:SYG:SYD:PAI(A;OICIIO;SDGXGWGR;;;AU)(A;;0x1301bf;;;AU)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)",
        "O:S-1-5-21-920909269-1353440977-3059239504-1001G:S-1-5-21-920909269-1353440977-3059239504-513"
        "D:AI(A;OICIID;FA;;;BA)(A;ID;0x1301bf;;;AU)(A;OICIIOID;SDGXGWGR;;;AU)",
        "D:NO_ACCESS_CONTROL",
        "D:PARAI(D;;RPWP;;;NU)S:PARAI(AL;SA;KR;;;SY)",
        "D:",
        "O:COG:CGS:NO_ACCESS_CONTROL",
    ],
)
def test_windows_sddl_prints_back_identically(sddl: str):
    sd = SecurityDescriptor.from_sddl(sddl)
    assert sd.to_sddl() == sddl
    assert SecurityDescriptor.from_bytes(sd.to_bytes()) == sd


def test_sddl_input_variants():
    sd = SecurityDescriptor.from_sddl("D:(A;;0x1;;;S-1-5-18)\n (OA;;GA;;;BA)\t(A;;1;;;s-1-0x5-18)")
    assert sd.to_sddl() == "D:(A;;CC;;;SY)(A;;GA;;;BA)(A;;CC;;;SY)"
    assert SecurityDescriptor.from_sddl("D:(A;;KX;;;WD)").to_sddl() == "D:(A;;KR;;;WD)"  # same mask, Windows' name


def test_rights_formatting_matches_windows():
    assert format_rights(0) == ""
    assert format_rights(SC_MANAGER_ALL_ACCESS) == "KA"
    assert format_rights(0x1F01FF) == "FA"
    assert format_rights(SERVICE_ALL_ACCESS) == "CCDCLCSWRPWPDTLOCRSDRCWDWO"
    assert format_rights(GENERIC_READ | GENERIC_EXECUTE | DELETE) == "SDGXGR"
    assert format_rights(0x1301BF) == "0x1301bf"
    assert format_rights(ACCESS_SYSTEM_SECURITY | READ_CONTROL) == "0x1020000"
    assert parse_rights("0X1F01FF") == parse_rights("FA") == 0x1F01FF
    assert parse_rights("") == 0
    for bad in ("XY", "C", "0x100000000", "0xg", "CCX"):
        with pytest.raises(SecurityDescriptorError):
            parse_rights(bad)


def test_sids():
    assert Sid.parse("S-1-5-32-544") == Sid.parse("BA") == Sid(5, (32, 544))
    assert str(Sid.parse("s-1-0x123456789abc-1")) == "S-1-0x123456789ABC-1"
    assert Sid.parse("S-1-5-18").sddl == "SY" and Sid.parse("S-1-5-21-1-2-3").sddl == "S-1-5-21-1-2-3"
    assert Sid.from_bytes(bytes.fromhex("01020000000000052000000020020000")) == Sid.parse("BA")
    assert Sid.parse("UD").to_bytes() == bytes.fromhex("0106000000000005" + "54000000" + "00000000" * 5)
    for alias in ("SY", "BA", "BU", "IU", "AU", "LS", "NS", "WD", "SO", "PU", "CO", "AN", "RD", "NU", "SU", "OW"):
        assert Sid.parse(Sid.parse(alias).sddl) == Sid.parse(alias) and Sid.parse(alias).sddl == alias
    for bad in ("S-1", "S-2-5", "XX", "S-1-5-4294967296", "S-1-281474976710656", "S-1-5" + "-1" * 16, ""):
        with pytest.raises(SecurityDescriptorError):
            Sid.parse(bad)


@pytest.mark.parametrize(
    "sddl",
    [
        "X:",
        "D:(A;;CC;;;SY",
        "D:(A;;CC;;SY)",
        "D:(Q;;CC;;;SY)",
        "D:(A;ZZ;CC;;;SY)",
        "D:(A;;CC;;;ZZ)",
        "D:NO_ACCESS_CONTROL(A;;CC;;;SY)",
        "O:SYO:SY",
        "D:(OA;;CC;bf967aba-0de6-11d0-a285-00aa003049e2;;SY)",
        "D:(A;;CC;;;SY;(x))",
        "O:",
        "D:(A;;CC;;;SY)junk",
    ],
)
def test_bad_sddl(sddl: str):
    with pytest.raises(SecurityDescriptorError):
        SecurityDescriptor.from_sddl(sddl)


def test_bad_binary():
    good = sddl_to_bytes(SEED_SDDL)
    for bad in (
        b"",
        good[:19],
        b"\x02" + good[1:],
        good[:2] + b"\x14\x00" + good[4:],
        good[:-1],
        good[:4] + b"\x01\x00\x00\x00" + good[8:],
    ):
        with pytest.raises(SecurityDescriptorError):
            SecurityDescriptor.from_bytes(bad)


def test_unknown_ace_types_are_kept_byte_for_byte():
    raw_ace = RawAce(0x11, 0, bytes.fromhex("01000000010100000000001000300000"))  # a mandatory label
    sd = SecurityDescriptor(sacl=Acl((raw_ace,)))
    assert SecurityDescriptor.from_bytes(sd.to_bytes()) == sd
    with pytest.raises(SecurityDescriptorError):
        sd.to_sddl()


# --- defaults (B140-B142) --------------------------------------------------------------------------------


def test_default_descriptors():
    assert DEFAULT_SERVICE_SDDL == "O:SYG:SY" + SERVICE_SDSHOW_DEFAULT
    assert default_service_descriptor().to_sddl() == DEFAULT_SERVICE_SDDL
    assert default_scm_descriptor().to_sddl() == DEFAULT_SCM_SDDL


# --- access check ------------------------------------------------------------------------------------------

SYSTEM = {"SY", "WD", "BA", "AU"}  # LocalSystem's token holds Administrators too
SY_ONLY = {"SY"}  # what the LocalSystem ACE alone gives
ADMIN = {"S-1-5-21-1-2-3-500", "BA", "WD", "IU", "AU", "BU"}
USER = {"S-1-5-21-1-2-3-1001", "WD", "IU", "AU", "BU"}  # logged on interactively
SERVICE_ACCOUNT = {"LS", "SU", "WD", "AU"}  # NT AUTHORITY\LocalService
REMOTE = {"S-1-5-21-1-2-3-1002", "WD", "NU", "AU", "BU"}  # network logon
NOBODY = {"AN", "WD", "NU"}

SERVICE_RIGHTS = [
    SERVICE_QUERY_CONFIG, SERVICE_CHANGE_CONFIG, SERVICE_QUERY_STATUS, SERVICE_ENUMERATE_DEPENDENTS,
    SERVICE_START, SERVICE_STOP, SERVICE_PAUSE_CONTINUE, SERVICE_INTERROGATE, SERVICE_USER_DEFINED_CONTROL,
    DELETE, READ_CONTROL, WRITE_DAC, WRITE_OWNER,
]  # fmt: skip
_QUERY = (
    SERVICE_QUERY_CONFIG
    | SERVICE_QUERY_STATUS
    | SERVICE_ENUMERATE_DEPENDENTS
    | SERVICE_INTERROGATE
    | SERVICE_USER_DEFINED_CONTROL
    | READ_CONTROL
)
SERVICE_EXPECTED = {  # B141
    "system": SERVICE_ALL_ACCESS,
    "sy-ace": _QUERY | SERVICE_START | SERVICE_STOP | SERVICE_PAUSE_CONTINUE | WRITE_DAC,  # + owner's WRITE_DAC
    "admin": SERVICE_ALL_ACCESS,
    "user": _QUERY,
    "service": _QUERY,
    "remote": 0,
    "nobody": 0,
}
TOKENS = {"system": SYSTEM, "sy-ace": SY_ONLY, "admin": ADMIN, "user": USER, "service": SERVICE_ACCOUNT,
          "remote": REMOTE, "nobody": NOBODY}  # fmt: skip


def allowed(sd: SecurityDescriptor, token: set[str], desired: int, mapping=SERVICE_MAPPING) -> bool:
    try:
        granted = access_check(sd, token, desired, mapping)
    except AccessDenied as e:
        assert e.winerror == 5
        return False
    assert granted == map_generic(desired, mapping)
    return True


@pytest.mark.parametrize("who", list(TOKENS))
@pytest.mark.parametrize("right", SERVICE_RIGHTS, ids=[format_rights(r) for r in SERVICE_RIGHTS])
def test_default_service_rights_per_principal(who: str, right: int):
    sd = default_service_descriptor()
    assert allowed(sd, TOKENS[who], right) == bool(SERVICE_EXPECTED[who] & right)


@pytest.mark.parametrize("who", list(TOKENS))
def test_default_service_maximum_allowed(who: str):
    sd = default_service_descriptor()
    if SERVICE_EXPECTED[who]:
        assert access_check(sd, TOKENS[who], MAXIMUM_ALLOWED, SERVICE_MAPPING) == SERVICE_EXPECTED[who]
    else:
        with pytest.raises(AccessDenied):
            access_check(sd, TOKENS[who], MAXIMUM_ALLOWED, SERVICE_MAPPING)


SCM_RIGHTS = [
    SC_MANAGER_CONNECT,
    SC_MANAGER_CREATE_SERVICE,
    SC_MANAGER_ENUMERATE_SERVICE,
    SC_MANAGER_LOCK,
    SC_MANAGER_QUERY_LOCK_STATUS,
    SC_MANAGER_MODIFY_BOOT_CONFIG,
    READ_CONTROL,
    WRITE_DAC,
]
_LOCAL = SC_MANAGER_CONNECT | SC_MANAGER_ENUMERATE_SERVICE | SC_MANAGER_QUERY_LOCK_STATUS | READ_CONTROL
SCM_EXPECTED = {  # B140, B143, B144
    "system": SC_MANAGER_ALL_ACCESS,
    "sy-ace": _LOCAL | SC_MANAGER_MODIFY_BOOT_CONFIG | WRITE_DAC,  # + owner's WRITE_DAC
    "admin": SC_MANAGER_ALL_ACCESS,
    "user": _LOCAL,
    "service": _LOCAL,
    "remote": SC_MANAGER_CONNECT,
    "nobody": 0,
}


@pytest.mark.parametrize("who", list(TOKENS))
@pytest.mark.parametrize("right", SCM_RIGHTS, ids=[format_rights(r) for r in SCM_RIGHTS])
def test_default_scm_rights_per_principal(who: str, right: int):
    sd = default_scm_descriptor()
    assert allowed(sd, TOKENS[who], right, SCM_MAPPING) == bool(SCM_EXPECTED[who] & right)


def test_generic_rights_are_mapped():
    sd = default_service_descriptor()
    assert access_check(sd, USER, GENERIC_READ, SERVICE_MAPPING) == 0x2008D
    assert not allowed(sd, USER, GENERIC_EXECUTE)
    assert access_check(sd, ADMIN, GENERIC_ALL, SERVICE_MAPPING) == SERVICE_ALL_ACCESS
    assert access_check(default_scm_descriptor(), ADMIN, GENERIC_WRITE, SCM_MAPPING) == 0x20022
    generic_ace = SecurityDescriptor.from_sddl("D:(A;;GR;;;WD)")  # generic bits in an ACE map too
    assert map_descriptor(generic_ace, SERVICE_MAPPING).to_sddl() == "D:(A;;CCLCSWLORC;;;WD)"
    assert allowed(generic_ace, {"WD"}, SERVICE_QUERY_STATUS) and not allowed(generic_ace, {"WD"}, SERVICE_START)


def test_acl_order_decides_and_deny_wins_only_first():
    deny_first = SecurityDescriptor.from_sddl("D:(D;;RP;;;BU)(A;;RPWP;;;WD)")
    allow_first = SecurityDescriptor.from_sddl("D:(A;;RPWP;;;WD)(D;;RP;;;BU)")
    assert not allowed(deny_first, USER, SERVICE_START)
    assert allowed(deny_first, USER, SERVICE_STOP)
    assert not allowed(deny_first, USER, SERVICE_START | SERVICE_STOP)
    assert allowed(allow_first, USER, SERVICE_START)
    assert access_check(deny_first, USER, MAXIMUM_ALLOWED, SERVICE_MAPPING) == SERVICE_STOP
    assert access_check(allow_first, USER, MAXIMUM_ALLOWED, SERVICE_MAPPING) == SERVICE_START | SERVICE_STOP
    split = SecurityDescriptor.from_sddl("D:(A;;RP;;;WD)(A;;WP;;;BU)")  # bits collected across ACEs
    assert allowed(split, USER, SERVICE_START | SERVICE_STOP)


def test_null_empty_inherit_only_and_audit_aces():
    null = SecurityDescriptor.from_sddl("D:NO_ACCESS_CONTROL")
    assert allowed(null, NOBODY, SERVICE_ALL_ACCESS)
    assert access_check(null, NOBODY, MAXIMUM_ALLOWED, SERVICE_MAPPING) == SERVICE_ALL_ACCESS
    assert allowed(SecurityDescriptor(), NOBODY, SERVICE_START)  # no DACL at all
    empty = SecurityDescriptor.from_sddl("D:")
    assert not allowed(empty, ADMIN, SERVICE_QUERY_STATUS)
    with pytest.raises(AccessDenied):
        access_check(empty, ADMIN, MAXIMUM_ALLOWED, SERVICE_MAPPING)
    odd = SecurityDescriptor.from_sddl("D:(A;IO;RP;;;WD)(A;CI;WP;;;WD)S:(AU;SA;RP;;;WD)")
    assert not allowed(odd, USER, SERVICE_START) and allowed(odd, USER, SERVICE_STOP)
    assert access_check(empty, ADMIN, 0, SERVICE_MAPPING) == 0


def test_owner_implicit_rights_and_owner_rights_ace():
    owned = SecurityDescriptor.from_sddl("O:S-1-5-21-1-2-3-1001D:(D;;RCWDRP;;;WD)")
    assert allowed(owned, USER, READ_CONTROL | WRITE_DAC)  # granted before any deny ACE
    assert not allowed(owned, USER, WRITE_OWNER) and not allowed(owned, REMOTE, READ_CONTROL)
    assert access_check(owned, USER, MAXIMUM_ALLOWED, SERVICE_MAPPING) == READ_CONTROL | WRITE_DAC
    limited = SecurityDescriptor.from_sddl("O:S-1-5-21-1-2-3-1001D:(A;;LC;;;OW)")
    assert allowed(limited, USER, SERVICE_QUERY_STATUS)
    assert not allowed(limited, USER, READ_CONTROL)  # an OWNER RIGHTS ACE replaces the implicit rights
    assert not allowed(limited, REMOTE | {"OW"}, SERVICE_QUERY_STATUS)  # OW in a token means nothing


def test_access_system_security_needs_the_privilege():
    sd = default_service_descriptor()
    with pytest.raises(AccessDenied):
        access_check(sd, ADMIN, ACCESS_SYSTEM_SECURITY, SERVICE_MAPPING)
    got = access_check(sd, ADMIN, ACCESS_SYSTEM_SECURITY | READ_CONTROL, SERVICE_MAPPING, security_privilege=True)
    assert got == ACCESS_SYSTEM_SECURITY | READ_CONTROL


# --- properties --------------------------------------------------------------------------------------------

_sids = st.builds(
    Sid,
    st.one_of(st.sampled_from([0, 1, 3, 5, 15, 16, 18]), st.integers(0, 2**48 - 1)),
    st.lists(st.integers(0, 2**32 - 1), max_size=15).map(tuple),
) | st.sampled_from([Sid.parse(a) for a in ("SY", "BA", "IU", "SU", "WD", "OW", "UD")])
_masks = st.one_of(
    st.integers(0, 2**32 - 1),
    st.sampled_from([0x1F01FF, 0xF003F, 0x20019, 0xF01FF, 0x2018D]),
    st.sets(st.sampled_from([1 << b for b in range(32)]), max_size=6).map(sum),
)
_sddl_flags = st.lists(st.sampled_from([0x1, 0x2, 0x4, 0x8, 0x10, 0x40, 0x80]), max_size=4).map(lambda fs: sum(set(fs)))
_sddl_aces = st.builds(Ace, st.integers(0, 3), _sddl_flags, _masks, _sids)
_any_aces = st.builds(Ace, st.integers(0, 3), st.integers(0, 255), _masks, _sids) | st.builds(
    RawAce, st.integers(4, 255), st.integers(0, 255), st.binary(max_size=24)
)


@st.composite
def _descriptors(draw: st.DrawFn, sddl_only: bool) -> SecurityDescriptor:
    aces = _sddl_aces if sddl_only else _any_aces
    revs = st.just(2) if sddl_only else st.integers(2, 4)
    acls = st.none() | st.builds(Acl, st.lists(aces, max_size=5).map(tuple), revs)
    owner, group = draw(st.none() | _sids), draw(st.none() | _sids)
    dacl, sacl = draw(acls), draw(acls)
    if not sddl_only:
        return SecurityDescriptor(owner, group, dacl, sacl, draw(st.integers(0, 0xFFFF)))
    control = 0
    for present, flags in (
        (SE_DACL_PRESENT, (SE_DACL_PROTECTED, SE_DACL_AUTO_INHERIT_REQ, SE_DACL_AUTO_INHERITED)),
        (SE_SACL_PRESENT, (SE_SACL_PROTECTED, SE_SACL_AUTO_INHERIT_REQ, SE_SACL_AUTO_INHERITED)),
    ):
        if draw(st.booleans()):
            control |= present | sum(draw(st.sets(st.sampled_from(flags))))
    return SecurityDescriptor(owner, group, dacl, sacl, control)


@PROPS
@given(_descriptors(sddl_only=False))
def test_round_trip_binary(sd: SecurityDescriptor):
    assert SecurityDescriptor.from_bytes(sd.to_bytes()) == sd


@PROPS
@given(_descriptors(sddl_only=True))
def test_round_trip_sddl(sd: SecurityDescriptor):
    text = sd.to_sddl()
    assert SecurityDescriptor.from_sddl(text) == sd
    assert SecurityDescriptor.from_bytes(sddl_to_bytes(text)) == sd


@PROPS
@given(_sids)
def test_round_trip_sid(sid: Sid):
    assert Sid.parse(str(sid)) == Sid.parse(sid.sddl) == Sid.from_bytes(sid.to_bytes()) == sid


def _only_sd_errors(data: bytes) -> None:
    try:
        sd = SecurityDescriptor.from_bytes(data)
    except SecurityDescriptorError:
        return
    assert SecurityDescriptor.from_bytes(sd.to_bytes()) == sd
    try:
        text = sd.to_sddl()
    except SecurityDescriptorError:
        return
    SecurityDescriptor.from_sddl(text)


@PROPS
@given(st.binary(max_size=200))
def test_fuzz_random_bytes(data: bytes):
    _only_sd_errors(data)
    _only_sd_errors(b"\x01\x00\x14\x80" + data)


_SEED = sddl_to_bytes(SEED_SDDL)


@PROPS
@given(
    st.lists(st.tuples(st.integers(0, len(_SEED) - 1), st.integers(0, 255)), min_size=1, max_size=6),
    st.integers(0, len(_SEED)),
)
def test_fuzz_mutated_seed_value(edits: list[tuple[int, int]], cut: int):
    data = bytearray(_SEED)
    for pos, value in edits:
        data[pos] = value
    _only_sd_errors(bytes(data))
    _only_sd_errors(bytes(data[:cut]))


@PROPS
@given(st.text(alphabet=st.sampled_from(list("OGDS:();-0123456789xAPIRNOCLWSYBUFK_ ")), max_size=80))
def test_fuzz_sddl_text(text: str):
    try:
        sd = SecurityDescriptor.from_sddl(text)
    except SecurityDescriptorError:
        return
    assert SecurityDescriptor.from_sddl(sd.to_sddl()) == sd
