"""The .reg codec: seed 000's listings, every value type, regedit's layout, errors by line, properties."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svcctl.registry import (
    REG_BINARY,
    REG_DWORD,
    REG_EXPAND_SZ,
    REG_MULTI_SZ,
    REG_QWORD,
    REG_SZ,
    DeleteKey,
    DeleteValue,
    Key,
    Op,
    RegFileError,
    SetValue,
    absolute_key,
    dump,
    dumps,
    parse,
    relative_key,
    to_absolute,
    to_relative,
)

DATA = Path(__file__).resolve().parent.parent / "data"
SVC = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\wmzwebpy"
HEADER = "Windows Registry Editor Version 5.00\n\n"
KEY = "[HKLM\\SYSTEM\\CurrentControlSet\\x]\n"
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def seed(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def as_regedit(text: str) -> bytes:
    """What regedit writes: UTF-16LE with BOM, CRLF."""
    return b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")


def values(ops: list[Op]) -> dict[tuple[str, str], tuple[int, object]]:
    return {(o.path, o.name): (o.type, o.data) for o in ops if isinstance(o, SetValue)}


# --- seed 000 ----------------------------------------------------------------------------------------


def test_seed_instsrv_listing_parses_verbatim():
    ops = parse(seed("seed000_instsrv.reg").encode("utf-8"))
    assert [type(o) for o in ops if not isinstance(o, SetValue)] == [Key] * 4
    keys = [SVC, SVC + "\\Parameters", SVC + "\\Security", SVC + "\\Enum"]
    assert [o.path for o in ops if isinstance(o, Key)] == keys
    v = values(ops)
    assert v[SVC, "Type"] == (REG_DWORD, 0x10)
    assert v[SVC, "Start"] == (REG_DWORD, 2)
    assert v[SVC, "ErrorControl"] == (REG_DWORD, 1)
    assert v[SVC, "ImagePath"] == (REG_EXPAND_SZ, "c:\\webpy\\srvany.exe")
    assert v[SVC, "DisplayName"] == (REG_SZ, "wmzwebpy")
    assert v[SVC, "ObjectName"] == (REG_SZ, "LocalSystem")
    assert v[SVC, "Description"] == (REG_SZ, "weimingzhen webpy example as service.")
    assert v[SVC + "\\Parameters", "Application"] == (REG_SZ, "D:\\Python27\\pythonw.exe  c:\\webpy\\webmain.py")
    sec_type, sec = v[SVC + "\\Security", "Security"]
    assert sec_type == REG_BINARY and isinstance(sec, bytes) and len(sec) == 0xA8
    assert sec[:4] == bytes.fromhex("01001480") and sec.endswith(bytes.fromhex("010100000000000512000000"))
    assert v[SVC + "\\Enum", "0"] == (REG_SZ, "Root\\LEGACY_WMZWEBPY\\0000")
    assert v[SVC + "\\Enum", "Count"] == (REG_DWORD, 1)
    assert v[SVC + "\\Enum", "NextInstance"] == (REG_DWORD, 1)
    assert [o.line for o in ops[:2]] == [3, 4]


def test_seed_sc_listing_parses_verbatim():
    ops = parse(seed("seed000_sc.reg").encode("utf-8"))
    v = values(ops)
    assert v[SVC, "Type"] == (REG_DWORD, 0x20)
    assert (SVC, "Description") not in v
    assert [o.path for o in ops if isinstance(o, Key)] == [SVC, SVC + "\\Security"]
    instsrv = values(parse(seed("seed000_instsrv.reg")))
    assert v[SVC + "\\Security", "Security"] == instsrv[SVC + "\\Security", "Security"]


@pytest.mark.parametrize("name", ["seed000_instsrv.reg", "seed000_sc.reg", "seed000_parameters.reg"])
def test_seed_listings_parse_in_every_encoding_and_indented(name: str):
    text = seed(name)
    expected = parse(text)
    assert parse(as_regedit(text)) == expected
    assert parse(b"\xef\xbb\xbf" + text.encode()) == expected
    assert parse(text.replace("\n", "\r\n").encode("utf-16-le")) == expected  # no BOM
    assert parse(textwrap.indent(text, "    ")) == expected  # as quoted in the seed's blog post


def test_regedit_layout_reproduces_the_seed_byte_for_byte():
    # The instsrv listing is an unedited regedit export: same wrap columns, blank lines, escapes.
    text = seed("seed000_instsrv.reg")
    assert dump(parse(text)) == as_regedit(text)


def test_database_keys_of_the_seed():
    ops = to_relative(parse(seed("seed000_instsrv.reg")))
    assert ops[0] == Key("Services\\wmzwebpy")
    assert {o.path for o in ops} == {
        "Services\\wmzwebpy",
        "Services\\wmzwebpy\\Parameters",
        "Services\\wmzwebpy\\Security",
        "Services\\wmzwebpy\\Enum",
    }
    assert to_absolute(ops) == parse(seed("seed000_instsrv.reg"))


# --- value types and grammar ---------------------------------------------------------------------------


def test_every_value_type():
    text = HEADER + textwrap.dedent(
        r"""
        [HKLM\SYSTEM\CurrentControlSet\Services\t]
        @="default \"quoted\" C:\\dir"
        "sz"=""
        "dword"=dword:ffffffff
        "short"=dword:1
        "qword"=hex(b):08,07,06,05,04,03,02,01
        "expand"=hex(2):25,00,53,00,79,00,73,00,74,00,65,00,6d,00,52,00,6f,00,6f,00,74,00,25,00,00,00
        "multi"=hex(7):61,00,00,00,62,00,63,00,00,00,00,00
        "emptymulti"=hex(7):00,00
        "bin"=hex:00,ff,10
        "emptybin"=hex:
        "none"=hex(0):01,02
        "bigendian"=hex(5):00,00,00,01
        "hex1"=hex(1):61,00,0a,00,62,00,00,00
        "hexdword"=hex(4):01,00,00,00
        "hexbin"=hex(3):aa
        "custom"=hex(ffff0001):
        "upper"=HEX(2):41,00,00,00
        "spaced" = dword:00000002
        """
    )
    ops = parse(text)
    assert ops[0] == Key("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\t")
    got = {o.name: (o.type, o.data) for o in ops if isinstance(o, SetValue)}
    assert got == {
        "": (REG_SZ, 'default "quoted" C:\\dir'),
        "sz": (REG_SZ, ""),
        "dword": (REG_DWORD, 0xFFFFFFFF),
        "short": (REG_DWORD, 1),
        "qword": (REG_QWORD, 0x0102030405060708),
        "expand": (REG_EXPAND_SZ, "%SystemRoot%"),
        "multi": (REG_MULTI_SZ, ("a", "bc")),
        "emptymulti": (REG_MULTI_SZ, ()),
        "bin": (REG_BINARY, b"\x00\xff\x10"),
        "emptybin": (REG_BINARY, b""),
        "none": (0, b"\x01\x02"),
        "bigendian": (5, b"\x00\x00\x00\x01"),
        "hex1": (REG_SZ, "a\nb"),
        "hexdword": (REG_DWORD, 1),
        "hexbin": (REG_BINARY, b"\xaa"),
        "custom": (0xFFFF0001, b""),
        "upper": (REG_EXPAND_SZ, "A"),
        "spaced": (REG_DWORD, 2),
    }


def test_deletions_comments_and_blank_lines():
    text = HEADER + textwrap.dedent(
        r"""
        ; a comment
        [-HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\old]

          ;indented comment
        [HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\new]
        "gone"=-
        @=-
        [HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\empty]
        """
    )
    base = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\"
    assert parse(text) == [
        DeleteKey(base + "old"),
        Key(base + "new"),
        DeleteValue(base + "new", "gone"),
        DeleteValue(base + "new", ""),
        Key(base + "empty"),
    ]


def test_continuations():
    text = HEADER + KEY + '"b"=hex:01,\\\n  02,\\\n\t03 , 04,\\\n    05\n"after"=dword:1\n'
    ops = parse(text)
    assert values(ops)["HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\x", "b"] == (REG_BINARY, bytes(range(1, 6)))
    assert ops[-1].line == 8


def test_regedit4_strings_are_ansi():
    text = 'REGEDIT4\r\n\r\n[HKLM\\SYSTEM\\CurrentControlSet\\x]\r\n"e"=hex(2):41,e9,00\r\n"s"="caf\xe9"\r\n'
    ops = parse(text.encode("cp1252"))
    v = values(ops)
    assert v["HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\x", "e"] == (REG_EXPAND_SZ, "A\xe9")
    assert v["HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\x", "s"] == (REG_SZ, "caf\xe9")


def test_writer_wraps_at_regedit_columns_and_quotes():
    path = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\w"
    ops: list[Op] = [
        Key(path),
        SetValue(path, "Blob", REG_BINARY, bytes(range(200))),
        SetValue(path, 'we"ird\\name', REG_SZ, 'a "b" \\c'),
        SetValue(path, "nl", REG_SZ, "line1\nline2"),
        SetValue(path, "", REG_DWORD, 7),
        SetValue(path, "q", REG_QWORD, 1),
        DeleteValue(path, "old"),
    ]
    text = dumps(ops)
    lines = text.split("\r\n")
    assert lines[:3] == ["Windows Registry Editor Version 5.00", "", f"[{path}]"]
    assert all(len(ln) <= 80 for ln in lines)
    assert lines[3].startswith('"Blob"=hex:00,01,') and lines[3].endswith(",\\")
    assert lines[4].startswith("  ") and len(lines[4].split(",")) == 26  # 25 bytes + the continuation
    assert '"we\\"ird\\\\name"="a \\"b\\" \\\\c"' in lines
    joined = text.replace("\\\r\n  ", "")
    assert '"nl"=hex(1):6c,00,69,00,6e,00,65,00,31,00,0a,00,6c,00,69,00,6e,00,65,00,32,00,00,00\r\n' in joined
    assert "@=dword:00000007" in lines and '"q"=hex(b):01,00,00,00,00,00,00,00' in lines
    assert '"old"=-' in lines and text.endswith("\r\n\r\n")
    assert dump(ops).startswith(b"\xff\xfeW\x00i\x00")
    assert parse(dump(ops)) == ops


def test_model_refuses_shapes_the_database_cannot_hold():
    p = "HKEY_LOCAL_MACHINE\\x"
    for vtype, data in [
        (REG_SZ, b"x"),
        (REG_DWORD, 1 << 32),
        (REG_DWORD, -1),
        (REG_QWORD, "1"),
        (REG_MULTI_SZ, ("a", "")),
        (REG_MULTI_SZ, ["a"]),
        (REG_BINARY, "x"),
        (REG_DWORD, True),
    ]:
        with pytest.raises(ValueError):
            SetValue(p, "n", vtype, data)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Key("HKEY_LOCAL_MACHINE\\a\\\\b")
    with pytest.raises(ValueError):
        SetValue(p, "a\nb", REG_SZ, "")


# --- errors name the line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("Windows Registry Editor Version 4.00\n", 1, "header"),
        ("", 1, "header"),
        (HEADER + '"v"=dword:1\n', 3, "outside a key"),
        (HEADER + KEY + "[-" + KEY[1:] + '"v"=dword:1\n', 5, "outside a key"),
        (HEADER + KEY + '"v"="unterminated\n', 4, "unterminated"),
        (HEADER + KEY + '"v"="C:\\Windows"\n', 4, "escape"),
        (HEADER + KEY + '"v"="x" trailing\n', 4, "after the quoted"),
        (HEADER + KEY + '"v"dword:1\n', 4, "'='"),
        (HEADER + KEY + '"v"=dword:123456789\n', 4, "unrecognised"),
        (HEADER + KEY + '"v"=word:1\n', 4, "unrecognised"),
        (HEADER + KEY + '"v"=hex:01,zz\n', 4, "hex byte"),
        (HEADER + KEY + '"v"=hex:01,\\\n  02,1ff\n', 4, "hex byte"),
        (HEADER + KEY + '"v"=hex:01,\\\n', 4, "no continuation"),
        (HEADER + KEY + '"v"=hex:01,\\\n"w"=dword:1\n', 4, "no continuation"),
        (HEADER + KEY + '"v"=hex(b):01,02\n', 4, "8 bytes"),
        (HEADER + KEY + '"v"=hex(4):01\n', 4, "4 bytes"),
        (HEADER + KEY + '"v"=hex(2):41\n', 4, "UTF-16"),
        (HEADER + KEY + '"v"=hex(7):00,d8,00,00\n', 4, "UTF-16"),
        (HEADER + "[HKLM\\SYSTEM\n", 3, "']'"),
        (HEADER + "[HKXX\\SYSTEM]\n", 3, "hive"),
        (HEADER + "[HKLM\\a\\\\b]\n", 3, "empty component"),
        (HEADER + "[]\n", 3, "hive"),
        (HEADER + KEY + "junk\n", 4, "unexpected"),
        (HEADER + KEY + '"v"="a\0b"\n', 4, "NUL"),
    ],
)
def test_errors_name_the_line(text: str, line: int, words: str):
    with pytest.raises(RegFileError) as info:
        parse(text.encode("utf-8"))
    assert info.value.line == line
    assert str(info.value).startswith(f"line {line}: ")
    assert words in str(info.value)


def test_undecodable_file_names_the_line():
    data = HEADER.encode() + KEY.encode() + b'"v"="\xff"\n'
    with pytest.raises(RegFileError, match=r"^line 4: "):
        parse(data)


# --- full paths <-> database keys ------------------------------------------------------------------------


def test_relative_and_absolute_keys():
    assert relative_key("HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\x") == "Services\\x"
    assert relative_key("HKLM\\SYSTEM\\ControlSet001\\Services\\x\\Parameters") == "Services\\x\\Parameters"
    assert relative_key("hklm\\system\\currentcontrolset\\Control\\ServiceGroupOrder") == "Control\\ServiceGroupOrder"
    assert absolute_key("Services\\x") == "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\x"
    for bad in (
        "HKCU\\Software\\x",
        "HKLM\\SOFTWARE\\x",
        "HKLM\\SYSTEM\\ControlSet002\\Services\\x",
        "HKLM\\SYSTEM\\CurrentControlSet",
        "HKLM",
    ):
        with pytest.raises(RegFileError, match=r"^line 9: "):
            relative_key(bad, 9)


def test_foreign_key_in_an_import_names_its_line():
    text = HEADER + KEY + '"v"=dword:1\n\n[HKEY_CURRENT_USER\\Software\\Evil]\n"x"="y"\n'
    with pytest.raises(RegFileError, match=r"^line 6: .*outside"):
        to_relative(parse(text))


# --- properties ------------------------------------------------------------------------------------------

_chars = st.characters(blacklist_categories=("Cs",))
_part = st.text(_chars, min_size=1, max_size=8).filter(lambda s: not set(s) & {"\\", "\0", "\r", "\n"})
_path = st.lists(_part, min_size=1, max_size=4).map(lambda ps: "\\".join(["HKEY_LOCAL_MACHINE", *ps]))
_name = st.text(_chars, max_size=10).filter(lambda s: not set(s) & {"\0", "\r", "\n"})
_multi_item = st.text(_chars, min_size=1, max_size=8).filter(lambda s: "\0" not in s)
_typed = st.one_of(
    st.tuples(st.just(REG_SZ), st.text(_chars, max_size=30)),
    st.tuples(st.just(REG_EXPAND_SZ), st.text(_chars, max_size=30)),
    st.tuples(st.just(REG_DWORD), st.integers(0, 2**32 - 1)),
    st.tuples(st.just(REG_QWORD), st.integers(0, 2**64 - 1)),
    st.tuples(st.just(REG_MULTI_SZ), st.lists(_multi_item, max_size=4).map(tuple)),
    st.tuples(st.just(REG_BINARY), st.binary(max_size=120)),
    st.tuples(st.sampled_from([0, 5, 6, 8, 9, 10, 0x1234, 0xFFFFFFFF]), st.binary(max_size=40)),
)


@st.composite
def _section(draw: st.DrawFn) -> list[Op]:
    path = draw(_path)
    if draw(st.booleans()) and draw(st.booleans()):
        return [DeleteKey(path)]
    ops: list[Op] = [Key(path)]
    for _ in range(draw(st.integers(0, 4))):
        name = draw(_name)
        if draw(st.integers(0, 5)) == 0:
            ops.append(DeleteValue(path, name))
        else:
            vtype, data = draw(_typed)
            ops.append(SetValue(path, name, vtype, data))
    return ops


_model = st.lists(_section(), max_size=5).map(lambda secs: [op for sec in secs for op in sec])


@PROPS
@given(_model)
def test_round_trip_model_bytes_model(ops: list[Op]):
    data = dump(ops)
    assert parse(data) == ops
    assert parse(dumps(ops)) == ops
    assert all(len(line) <= 80 or not line.startswith("  ") for line in dumps(ops).split("\r\n"))


def _only_regfile_errors(data: bytes) -> None:
    try:
        ops = parse(data)
    except RegFileError:
        return
    assert parse(dump(ops)) == ops  # whatever parses also survives a round trip


@PROPS
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes):
    _only_regfile_errors(data)
    _only_regfile_errors(b"\xff\xfe" + data)
    _only_regfile_errors(HEADER.encode() + data)


_VALID = [seed("seed000_instsrv.reg").encode(), as_regedit(seed("seed000_sc.reg"))]


@PROPS
@given(
    st.sampled_from(_VALID),
    st.lists(
        st.tuples(
            st.integers(0, 10_000), st.sampled_from(["set", "insert", "delete"]), st.binary(min_size=1, max_size=3)
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_fuzz_mutations_of_a_valid_file(base: bytes, edits: list[tuple[int, str, bytes]]):
    data = bytearray(base)
    for pos, how, chunk in edits:
        pos %= len(data) + 1
        if how == "set":
            data[pos : pos + len(chunk)] = chunk
        elif how == "insert":
            data[pos:pos] = chunk
        else:
            del data[pos : pos + len(chunk)]
    _only_regfile_errors(bytes(data))


@PROPS
@given(st.text(alphabet=st.sampled_from(list('[]\\"@=-:,;() \t\nhexdwordHKLM0123456789abcf(2)(7)(b)')), max_size=200))
def test_fuzz_grammar_shaped_text(body: str):
    _only_regfile_errors((HEADER + KEY + body).encode())
