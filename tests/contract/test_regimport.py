"""Seed 000's .reg files against the memory and portable SCMs: import, export, all or nothing.

B15 (the Services key is the database) and issue 8's import rules: the seed's listings import
verbatim, an export re-imports to the same configuration, and a file that fails anywhere
changes nothing, with the error naming its line.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.platform == "win32":  # before hypothesis: the Wine tier's Windows Python has only pytest
    pytest.skip("win32: reg_import is the portable SCM's all-or-nothing import (issue 8); Windows has "
                "no such call, the win32 backend refuses it", allow_module_level=True)

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from svcctl.cli.regcli import export_ops, import_wire_ops
from svcctl.errors import ScmError
from svcctl.registry import RegFileError, dump
from svcctl.secdesc import bytes_to_sddl
from svcctl.types import ServiceType, StartType, State
from tests.conftest import retire

DATA = Path(__file__).resolve().parents[1] / "data"
ROOT = "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services"


def reg(text: str) -> bytes:
    return ("Windows Registry Editor Version 5.00\r\n\r\n" + text.replace("\n", "\r\n")).encode("utf-16-le")


def service_reg(name: str, start: str = "00000003", extra: str = "") -> str:
    return (f'[{ROOT}\\{name}]\n"Type"=dword:00000010\n"Start"=dword:{start}\n"ErrorControl"=dword:00000001\n'
            f'"ImagePath"="/bin/sleep 60"\n"DisplayName"="{name} display"\n{extra}\n')


@pytest.fixture
def cleanup(mgr):
    names: list[str] = []
    yield names
    for n in names:
        try:
            retire(mgr.open_service(n), stop_timeout=10)
        except ScmError:
            pass


def snapshot(mgr, names):
    return {n: mgr.reg_get(f"Services\\{n}") for n in names}


def test_b15_seed_listings_import_verbatim(mgr, cleanup):
    cleanup.append("wmzwebpy")
    mgr.reg_import(import_wire_ops((DATA / "seed000_instsrv.reg").read_bytes()))
    with mgr.open_service("wmzwebpy") as svc:
        cfg = svc.config()
        assert cfg.service_type == ServiceType.WIN32_OWN_PROCESS and cfg.start_type == StartType.AUTO_START
        assert cfg.binary_path == "c:\\webpy\\srvany.exe" and cfg.display_name == "wmzwebpy"
        assert cfg.service_start_name == "LocalSystem"
        assert svc.description() == "weimingzhen webpy example as service."
    tree = mgr.reg_get("Services\\wmzwebpy")
    assert tree["Parameters"]["Application"] == (1, "D:\\Python27\\pythonw.exe  c:\\webpy\\webmain.py")
    sddl = bytes_to_sddl(tree["Security"]["Security"][1])
    assert sddl.startswith("O:SYG:SYD:(A;;CCLCSWRPWPDTLOCRRC;;;SY)")
    for listing in ("seed000_sc.reg", "seed000_parameters.reg"):
        mgr.reg_import(import_wire_ops((DATA / listing).read_bytes()))
    with mgr.open_service("wmzwebpy") as svc:
        assert svc.config().service_type == ServiceType.WIN32_SHARE_PROCESS  # the sc listing's 0x20


def test_export_reimports_to_the_same_configuration(mgr, name, cleanup):
    cleanup.append(name)
    with mgr.create_service(name, "/bin/sleep 60", display_name=f"{name} D", start_type=StartType.AUTO_START,
                            dependencies=["+grp"]) as svc:
        svc.set_description("multi\nline? no: one line, with \"quotes\" and \\backslashes\\")
        svc.set_failure_actions_on_non_crash(True)
    mgr.reg_set(f"Services\\{name}\\Parameters", {"Application": (2, "/usr/bin/env"), "AppEnvironmentExtra":
                (7, ("A=1", "B=2")), "Blob": (3, bytes(range(40))), "Big": (11, 2**40)})
    before = snapshot(mgr, [name])
    data = dump(export_ops(mgr, [name]))
    assert data[:2] == b"\xff\xfe"  # UTF-16LE with BOM, as regedit writes
    with mgr.open_service(name) as svc:
        svc.delete()
    mgr.reg_import(import_wire_ops(data))
    assert snapshot(mgr, [name]) == before


def test_import_is_all_or_nothing_and_names_the_line(mgr, name, cleanup):
    cleanup.extend([name + "a", name + "b"])
    bad = service_reg(name + "a") + service_reg(name + "b", start="00000009")
    with pytest.raises(ScmError) as e:
        mgr.reg_import(import_wire_ops(reg(bad)))
    assert e.value.winerror == 87 and "line " in str(e.value)
    assert not mgr.exists(name + "a") and not mgr.exists(name + "b")


def test_malformed_file_names_its_line_before_anything_is_sent():
    with pytest.raises(RegFileError) as e:
        import_wire_ops(reg(service_reg("x") + '"Broken"=dword:xyz\n'))
    assert e.value.line == 10  # header, blank, section, five values, blank


def test_deletions_of_values_and_keys(mgr, name, cleanup):
    cleanup.append(name)
    mgr.reg_import(import_wire_ops(reg(service_reg(name, extra='"Description"="gone soon"'))))
    with mgr.open_service(name) as svc:
        assert svc.description() == "gone soon"
    mgr.reg_import(import_wire_ops(reg(f'[{ROOT}\\{name}]\n"Description"=-\n')))
    with mgr.open_service(name) as svc:
        assert svc.description() is None
    mgr.reg_import(import_wire_ops(reg(f"[-{ROOT}\\{name}]\n")))
    assert not mgr.exists(name)


def test_running_service_is_not_deleted_by_an_import(mgr, name, cleanup, svchost):
    cleanup.append(name)
    with mgr.create_service(name, svchost("--name", name)) as svc:
        svc.start()
        svc.wait(State.RUNNING, 10)
    with pytest.raises(ScmError) as e:
        mgr.reg_import(import_wire_ops(reg(f"\n[-{ROOT}\\{name}]\n")))
    assert e.value.winerror == 1056 and "line 4" in str(e.value)  # header, blank, blank, [-key]
    assert mgr.exists(name)


def test_keys_outside_services_and_control_are_refused(mgr):
    with pytest.raises(RegFileError):
        import_wire_ops(reg("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Evil]\n\"x\"=\"y\"\n"))
    with pytest.raises(ScmError) as e:
        mgr.reg_import([["set", 3, "Enum\\Root", "x", 1, "y"]])
    assert e.value.winerror == 5


def test_b30_import_refuses_a_dependency_cycle(mgr, name, cleanup):
    cleanup.extend([name + "a", name + "b"])
    text = (service_reg(name + "a", extra=f'"DependOnService"=hex(7):{_multi(name + "b")}')
            + service_reg(name + "b", extra=f'"DependOnService"=hex(7):{_multi(name + "a")}'))
    with pytest.raises(ScmError) as e:
        mgr.reg_import(import_wire_ops(reg(text)))
    assert e.value.winerror == 1059
    assert not mgr.exists(name + "a")


def _multi(*items: str) -> str:
    raw = b"".join(s.encode("utf-16-le") + b"\0\0" for s in items) + b"\0\0"
    return ",".join(f"{b:02x}" for b in raw)


_LINES = [
    '"Start"=dword:00000002', '"Start"=dword:00000009', '"Type"=dword:00000001', '"Type"=hex:01',
    '"ImagePath"=""', '"DisplayName"=-', '"ErrorControl"=dword:7', '"DependOnService"=hex(7):41,00,00,00,00,00',
    '"Description"="ok"', "@=dword:1", '"Tag"=hex(b):01,00,00,00,00,00,00,00', "[-HKEY_LOCAL_MACHINE\\SOFTWARE\\X]",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.lists(st.sampled_from(_LINES), max_size=4), tail=st.binary(max_size=40))
def test_fuzzed_imports_apply_fully_or_not_at_all(mgr, extra, tail):
    name = "fuzzsvc"
    text = service_reg(name) + "\n".join(extra) + "\n"
    before = mgr.reg_get(f"Services\\{name}")
    try:
        ops = import_wire_ops(reg(text) + tail)
    except RegFileError:
        assert mgr.reg_get(f"Services\\{name}") == before
        return
    try:
        mgr.reg_import(ops)
    except ScmError:
        assert mgr.reg_get(f"Services\\{name}") == before
        return
    after = mgr.reg_get(f"Services\\{name}")
    for line in extra:
        if line.startswith('"Description"="ok"'):
            assert after[""]["Description"] == (1, "ok")
    if mgr.exists(name):
        with mgr.open_service(name) as svc:
            svc.delete()
