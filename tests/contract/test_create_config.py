"""Contract tests for spec §1.2: CreateService / ChangeServiceConfig(2) validation and read-back.

Covers B17-B23, B27-B31, B33-B38 and B40 on every backend. Parts that are about raw C buffers
and out-pointers (buffer sizes, ``*lpdwTagId`` left untouched, ``pcbBytesNeeded``) have no
equivalent in a Python API and are left out; NULL arguments are passed as ``None`` through
``mgr.backend.call``.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import Manager
from svcctl.types import (
    NO_CHANGE,
    ConfigLevel,
    ErrorControl,
    ScmAccess,
    ServiceAccess,
    ServiceType,
    StartType,
    State,
)
from tests.contract.conftest import BINPATH, gone, unique_name, winerror

ERROR_ACCESS_DENIED = 5
ERROR_INVALID_HANDLE = 6
ERROR_INVALID_PARAMETER = 87
ERROR_INVALID_NAME = 123
ERROR_INVALID_LEVEL = 124
ERROR_INVALID_ADDRESS = 487
ERROR_CIRCULAR_DEPENDENCY = 1059
ERROR_SERVICE_MARKED_FOR_DELETE = 1072
ERROR_SERVICE_EXISTS = 1073
ERROR_DUPLICATE_SERVICE_NAME = 1078
ERROR_SERVICE_SPECIFIC_ERROR = 1066

OWN = int(ServiceType.WIN32_OWN_PROCESS)
SHARE = int(ServiceType.WIN32_SHARE_PROCESS)
KERNEL = int(ServiceType.KERNEL_DRIVER)
FS = int(ServiceType.FILE_SYSTEM_DRIVER)
INTERACTIVE = int(ServiceType.INTERACTIVE_PROCESS)
DEMAND = int(StartType.DEMAND_START)
NORMAL = int(ErrorControl.NORMAL)

def _raw_create(mgr: Manager, scm: int | None = None, **over: Any) -> Any:
    """CreateService with every argument spelled out, as in C; ``over`` replaces some."""
    args: dict[str, Any] = {
        "scm": mgr.handle if scm is None else scm,
        "name": unique_name(),
        "display": None,
        "access": int(ServiceAccess.ALL_ACCESS),
        "type": OWN,
        "start": DEMAND,
        "error": NORMAL,
        "binpath": BINPATH,
        "group": None,
        "tag": False,
        "deps": None,
        "account": None,
        "password": None,
    }
    args.update(over)
    return mgr.backend.call("create", **args)


def _limited(mgr: Manager, access: int) -> Manager:
    """A second manager handle on the same connection with only ``access``."""
    h = mgr.backend.call("open_scm", machine=None, database=None, access=int(access))
    return Manager(mgr.backend, h, None)


@pytest.fixture
def registry(backend_name: str, request: pytest.FixtureRequest) -> Callable[[str], dict[str, Any]]:
    """Read the values of ``Services\\<name>`` from the backend's database (the registry of B15)."""
    if backend_name == "win32":
        import winreg  # type: ignore[import-not-found,unused-ignore]

        def read_registry(svc_name: str) -> dict[str, Any]:
            path = f"SYSTEM\\CurrentControlSet\\Services\\{svc_name}"
            out: dict[str, Any] = {}
            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, path) as key:
                for i in range(winreg.QueryInfoKey(key)[1]):
                    n, data, kind = winreg.EnumValue(key, i)
                    out[n] = tuple(data) if kind == winreg.REG_MULTI_SZ else data
            return out

        return read_registry
    if backend_name == "memory":
        scm_owner = request.getfixturevalue("memory_scm")

        def read_memory(svc_name: str) -> dict[str, Any]:
            async def read() -> dict[str, Any]:
                return {k: v[1] for k, v in scm_owner.scm.db.read_key(f"Services\\{svc_name}").items()}

            return scm_owner.run(read())  # type: ignore[no-any-return]

        return read_memory
    db_path = request.getfixturevalue("daemon").home / "services.db"

    def read_file(svc_name: str) -> dict[str, Any]:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT name, type, data FROM reg WHERE key = ? COLLATE NOCASE", (f"Services\\{svc_name}",)
            ).fetchall()
        finally:
            conn.close()
        return {n: tuple(d.split("\0")) if t == 7 else d for n, t, d in rows}

    return read_file


# --- B17: parameter-check order of CreateService -------------------------------------------


def test_b17_null_manager_handle_first(mgr, make, name):
    """CreateService checks the manager handle first: NULL handle → 6 even with NULL strings."""
    with pytest.raises(ScmError) as e:
        _raw_create(mgr, scm=0, name=None, binpath=None)
    assert winerror(e) == ERROR_INVALID_HANDLE
    with make(name) as svc, pytest.raises(ScmError) as e:  # a service handle is no manager handle
        _raw_create(mgr, scm=svc.handle, name=None, binpath=None)
    assert winerror(e) == ERROR_INVALID_HANDLE


@pytest.mark.parametrize("missing", ["name", "binpath"])
def test_b17_null_strings_487_before_access(mgr, missing):
    """CreateService with NULL lpServiceName or lpBinaryPathName → 487, checked before access rights."""
    m = _limited(mgr, ScmAccess.CONNECT)
    try:
        for handle in (mgr.handle, m.handle):
            with pytest.raises(ScmError) as e:
                _raw_create(mgr, scm=handle, **{missing: None})
            assert winerror(e) == ERROR_INVALID_ADDRESS
    finally:
        m.close()


def test_b17_access_denied_before_empty_strings(mgr, name):
    """Without SC_MANAGER_CREATE_SERVICE CreateService fails 5, even when name and path are empty."""
    m = _limited(mgr, ScmAccess.CONNECT)
    try:
        for svc_name, binpath in (("", ""), ("", BINPATH), (name, ""), (name, BINPATH)):
            with pytest.raises(ScmError) as e:
                _raw_create(mgr, scm=m.handle, name=svc_name, binpath=binpath, type=0x30)
            assert winerror(e) == ERROR_ACCESS_DENIED, (svc_name, binpath)
    finally:
        m.close()
    assert gone(mgr, name)


@pytest.mark.parametrize("binpath", ["", BINPATH])
def test_b17_empty_name_123(mgr, binpath):
    """CreateService with an empty service name → ERROR_INVALID_NAME (123), also when the path is empty."""
    with pytest.raises(ScmError) as e:
        _raw_create(mgr, name="", binpath=binpath)
    assert winerror(e) == ERROR_INVALID_NAME


def test_b17_empty_binary_path_87(mgr, name):
    """CreateService with an empty binary path → ERROR_INVALID_PARAMETER (87)."""
    with pytest.raises(ScmError) as e:
        _raw_create(mgr, name=name, binpath="")
    assert winerror(e) == ERROR_INVALID_PARAMETER
    assert gone(mgr, name)


@pytest.mark.parametrize(
    "bad",
    [
        {"binpath": ""},
        {"type": OWN | SHARE},
        {"start": 7},
        {"error": 9},
        {"tag": True, "group": None},
        {"type": OWN | INTERACTIVE, "account": "NT AUTHORITY\\LocalService"},
    ],
)
def test_b17_parameter_checks_before_existence(mgr, make, name, bad):
    """CreateService validates path/type/start/error/tag (87) before looking for an existing service (1073)."""
    make(name).close()
    with pytest.raises(ScmError) as e:
        _raw_create(mgr, name=name, **bad)
    assert winerror(e) == ERROR_INVALID_PARAMETER


# --- B18 - B21: type, account, start, error control -----------------------------------------


@pytest.mark.parametrize(
    "svc_type",
    [KERNEL, FS, OWN, SHARE, OWN | INTERACTIVE, SHARE | INTERACTIVE],
)
def test_b18_valid_service_types(mgr, make, name, svc_type):
    """dwServiceType may be exactly one of KERNEL, FILE_SYSTEM, OWN, SHARE (Win32 ones optionally | INTERACTIVE)."""
    with make(name, service_type=svc_type) as svc:
        assert svc.config().service_type == svc_type


@pytest.mark.parametrize(
    "svc_type",
    [
        0,
        OWN | SHARE,
        KERNEL | FS,
        FS | INTERACTIVE,
        KERNEL | INTERACTIVE,
        INTERACTIVE,
        int(ServiceType.ADAPTER),
        int(ServiceType.RECOGNIZER_DRIVER),
        OWN | KERNEL,
        OWN | 0x1000,  # bits outside every defined type
        OWN | 0x80000000,
    ],
)
def test_b18_invalid_service_types_87(mgr, make, name, svc_type):
    """OWN|SHARE, KERNEL|FILE_SYSTEM, FILE_SYSTEM|INTERACTIVE (any non-single type) → 87."""
    with pytest.raises(ScmError) as e:
        make(name, service_type=svc_type)
    assert winerror(e) == ERROR_INVALID_PARAMETER


@pytest.mark.parametrize("account", [None, "LocalSystem", "localsystem", ".\\LocalSystem", ".\\localsystem"])
def test_b19_interactive_with_localsystem_accepted(mgr, make, name, account):
    """INTERACTIVE_PROCESS is accepted with LocalSystem (LocalSystem, localsystem, .\\LocalSystem, NULL ...)."""
    with make(name, service_type=OWN | INTERACTIVE, account=account) as svc:
        assert svc.config().service_type == OWN | INTERACTIVE
    if account is None:
        with mgr.open_service(name, access=ServiceAccess.QUERY_CONFIG) as svc:
            assert svc.config().service_start_name == "LocalSystem"


@pytest.mark.parametrize(
    "account", ["NT AUTHORITY\\LocalService", "NT AUTHORITY\\NetworkService", ".\\nosuchuser", "NOSUCHDOM\\nobody"]
)
def test_b19_interactive_with_other_account_87(mgr, make, name, account):
    """INTERACTIVE_PROCESS with any account other than LocalSystem → 87 (not 1057)."""
    with pytest.raises(ScmError) as e:
        make(name, service_type=OWN | INTERACTIVE, account=account, password="")
    assert winerror(e) == ERROR_INVALID_PARAMETER


@pytest.mark.parametrize("start", [2, 3, 4])
def test_b20_win32_start_types_accepted(mgr, make, name, start):
    """dwStartType AUTO(2), DEMAND(3), DISABLED(4) are valid for Win32 services."""
    with make(name, start_type=start) as svc:
        assert svc.config().start_type == start


@pytest.mark.parametrize("start", [0, 1, 2, 3, 4])
def test_b20_driver_start_types_accepted(mgr, make, name, start):
    """BOOT_START(0) and SYSTEM_START(1) are valid for drivers, as are 2..4."""
    with make(name, service_type=KERNEL, start_type=start) as svc:
        assert svc.config().start_type == start


@pytest.mark.parametrize(
    ("svc_type", "start"),
    [
        (OWN, 0),
        (OWN, 1),
        (SHARE, 0),
        (SHARE | INTERACTIVE, 1),
        (OWN, 5),
        (OWN, 2 | 4),
        (KERNEL, 5),
        (OWN, NO_CHANGE),
    ],
)
def test_b20_invalid_start_types_87(mgr, make, name, svc_type, start):
    """dwStartType must be 0..4 (AUTO|DISABLED etc. → 87); BOOT/SYSTEM start for Win32 services → 87."""
    with pytest.raises(ScmError) as e:
        make(name, service_type=svc_type, start_type=start)
    assert winerror(e) == ERROR_INVALID_PARAMETER


@pytest.mark.parametrize("error", [0, 1, 2, 3])
def test_b21_error_control_values_accepted(mgr, make, name, error):
    """dwErrorControl IGNORE(0), NORMAL(1), SEVERE(2), CRITICAL(3) are valid."""
    with make(name, error_control=error) as svc:
        assert svc.config().error_control == error


@pytest.mark.parametrize("error", [4, 0x10, NO_CHANGE])
def test_b21_invalid_error_control_87(mgr, make, name, error):
    """dwErrorControl outside 0..3 → ERROR_INVALID_PARAMETER (87)."""
    with pytest.raises(ScmError) as e:
        make(name, error_control=error)
    assert winerror(e) == ERROR_INVALID_PARAMETER


# --- B22 / B23: tags and the creator's access -------------------------------------------------


@pytest.mark.parametrize("group", [None, ""])
def test_b22_tag_without_group_87(mgr, make, name, group):
    """lpdwTagId non-NULL while lpLoadOrderGroup is NULL or "" → ERROR_INVALID_PARAMETER (87)."""
    # (That *lpdwTagId is left unchanged is about a C out-pointer; nothing to observe here.)
    with pytest.raises(ScmError) as e:
        make(name, group=group, tag=True)
    assert winerror(e) == ERROR_INVALID_PARAMETER
    assert gone(mgr, name)


def test_b22_tag_unique_within_group(mgr, make, registry):
    """With a group, a tag unique within the group is assigned and written to the Tag value."""
    group = "Grp" + uuid.uuid4().hex[:8]
    names = [unique_name() for _ in range(3)]
    tags = []
    for n in names:
        with make(n, group=group, tag=True) as svc:
            assert svc.tag_id > 0
            cfg = svc.config()
            assert (cfg.load_order_group, cfg.tag_id) == (group, svc.tag_id)
            tags.append(svc.tag_id)
            assert registry(n).get("Tag") == svc.tag_id
    assert len(set(tags)) == 3


def test_b22_no_tag_requested_tag_is_zero(mgr, make, name, registry):
    """Without lpdwTagId no tag is assigned (dwTagId reads back 0), even in a group."""
    with make(name, group="Grp" + name) as svc:
        assert svc.tag_id == 0
        assert svc.config().tag_id == 0
    assert "Tag" not in registry(name) or registry(name)["Tag"] == 0


def test_b23_create_with_zero_access_then_delete_is_5(mgr, make, name):
    """CreateService does not check dwDesiredAccess (0 is fine) but DeleteService on that handle → 5."""
    with make(name, access=0) as svc:
        with pytest.raises(ScmError) as e:
            svc.delete()
        assert winerror(e) == ERROR_ACCESS_DENIED
        with pytest.raises(ScmError) as e:
            svc.query()
        assert winerror(e) == ERROR_ACCESS_DENIED
    assert not gone(mgr, name)  # the service was created


def test_b23_creator_gets_what_it_asked(mgr, make, name):
    """CreateService grants exactly the requested access: QUERY_STATUS allows status but not config."""
    with make(name, access=ServiceAccess.QUERY_STATUS) as svc:
        assert svc.query().state == State.STOPPED
        with pytest.raises(ScmError) as e:
            svc.config()
        assert winerror(e) == ERROR_ACCESS_DENIED


# --- B27 - B31: defaults, read-back, dependencies --------------------------------------------


def test_b27_null_account_is_localsystem(mgr, make, name):
    """A NULL lpServiceStartName for a Win32 service is stored and reported as "LocalSystem"."""
    with make(name, account=None) as svc:
        assert svc.config().service_start_name == "LocalSystem"


def test_b27_driver_gets_no_default_account(mgr, make, name):
    """Drivers get no default account: SERVICE_START_NAME is empty."""
    with make(name, service_type=KERNEL, account=None) as svc:
        assert svc.config().service_start_name == ""


def test_b28_config_after_create(mgr, make, name):
    """After creation QueryServiceConfig returns every string non-NULL, group "", tag 0, dependencies as given."""
    deps = ["Master1", "Master2", "+MasterGroup1"]
    with make(
        name,
        service_type=OWN | INTERACTIVE,
        start_type=StartType.DISABLED,
        error_control=ErrorControl.IGNORE,
        dependencies=deps,
    ) as svc:
        cfg = svc.config()
    assert cfg.service_type == OWN | INTERACTIVE
    assert cfg.start_type == StartType.DISABLED
    assert cfg.error_control == ErrorControl.IGNORE
    assert cfg.binary_path == BINPATH
    assert cfg.load_order_group == ""
    assert cfg.tag_id == 0
    assert cfg.dependencies == tuple(deps)
    assert cfg.service_start_name == "LocalSystem"
    assert cfg.display_name == name
    for field in (cfg.binary_path, cfg.load_order_group, cfg.service_start_name, cfg.display_name):
        assert isinstance(field, str)


def test_b28_no_dependencies_is_empty(mgr, make, name):
    """lpDependencies of a service created without any reads back as an empty list (not NULL)."""
    with make(name) as svc:
        assert svc.config().dependencies == ()


def test_b29_missing_dependencies_accepted(mgr, make, name):
    """Dependencies on services/groups that do not exist are accepted at create time."""
    missing = [unique_name("nosvc"), "+" + unique_name("nogrp")]
    with make(name, dependencies=missing) as svc:
        assert svc.config().dependencies == tuple(missing)
        other = [unique_name("nosvc2")]
        svc.update_config(dependencies=other)
        assert svc.config().dependencies == tuple(other)


@pytest.mark.parametrize("case", [str, str.upper])
def test_b30_self_dependency_1059(mgr, make, name, case):
    """A dependency on itself → ERROR_CIRCULAR_DEPENDENCY (1059) from CreateService."""
    with pytest.raises(ScmError) as e:
        make(name, dependencies=[case(name)])
    assert winerror(e) == ERROR_CIRCULAR_DEPENDENCY
    assert gone(mgr, name)


def test_b30_cycle_through_existing_service_1059(mgr, make):
    """A dependency cycle (A → B → A) → 1059 from CreateService."""
    a, b = unique_name("a"), unique_name("b")
    make(a, dependencies=[b]).close()  # b does not exist yet (B29)
    with pytest.raises(ScmError) as e:
        make(b, dependencies=[a])
    assert winerror(e) == ERROR_CIRCULAR_DEPENDENCY


def test_b30_cycle_through_group_1059(mgr, make):
    """A cycle through a load-order group (B → +G, G ∋ A, A → B) → 1059."""
    a, b, group = unique_name("a"), unique_name("b"), unique_name("G")
    make(a, group=group, dependencies=[b]).close()
    with pytest.raises(ScmError) as e:
        make(b, dependencies=["+" + group])
    assert winerror(e) == ERROR_CIRCULAR_DEPENDENCY


def test_b30_change_config_self_and_cycle_1059(mgr, make):
    """ChangeServiceConfig creating a self-dependency or a cycle → 1059, config unchanged."""
    a, b, c = unique_name("a"), unique_name("b"), unique_name("c")
    make(a).close()
    make(b, dependencies=[a]).close()
    make(c, dependencies=[b]).close()
    with mgr.open_service(a, access=ServiceAccess.ALL_ACCESS) as svc:
        for deps in ([a], [c], ["x" + a, c]):
            with pytest.raises(ScmError) as e:
                svc.update_config(dependencies=deps)
            assert winerror(e) == ERROR_CIRCULAR_DEPENDENCY, deps
        assert svc.config().dependencies == ()


def test_b31_dependencies_read_back_services_then_groups(mgr, make, name):
    """Dependencies are recombined on read: services first, then the +group entries."""
    with make(name, dependencies=["+G1" + name, "S1" + name, "+G2" + name, "S2" + name]) as svc:
        assert svc.config().dependencies == ("S1" + name, "S2" + name, "+G1" + name, "+G2" + name)


def test_b31_dependencies_stored_split(mgr, make, name, registry):
    """'+' entries go to DependOnGroup (without the '+'), the rest to DependOnService; an empty list deletes both."""
    with make(name, dependencies=["S1", "+G1", "S2", "+G2"]) as svc:
        values = registry(name)
        assert tuple(values["DependOnService"]) == ("S1", "S2")
        assert tuple(values["DependOnGroup"]) == ("G1", "G2")
        svc.update_config(dependencies=[])
        values = registry(name)
        assert "DependOnService" not in values and "DependOnGroup" not in values
        assert svc.config().dependencies == ()


# --- B33 - B35: ChangeServiceConfig ---------------------------------------------------------


def test_b33_no_change_leaves_everything(mgr, make, name):
    """SERVICE_NO_CHANGE for the DWORDs and NULL for strings/tag/dependencies/password leave the config unchanged."""
    group = "Grp" + name
    with make(
        name,
        display_name="Disp " + name,
        start_type=StartType.AUTO_START,
        error_control=ErrorControl.SEVERE,
        group=group,
        tag=True,
        dependencies=["Dep1", "+DepGroup"],
        account="NT AUTHORITY\\LocalService",
    ) as svc:
        before = svc.config()
        assert before.tag_id > 0
        svc.update_config()
        assert svc.config() == before
        mgr.backend.call(
            "change",
            h=svc.handle,
            type=NO_CHANGE,
            start=NO_CHANGE,
            error=NO_CHANGE,
            binpath=None,
            group=None,
            tag=False,
            deps=None,
            account=None,
            password=None,
            display=None,
        )
        assert svc.config() == before


def test_b33_change_single_fields(mgr, make, name):
    """ChangeServiceConfig changes exactly the fields given and leaves NO_CHANGE/NULL ones alone."""
    with make(name, display_name="Disp " + name, dependencies=["Dep1"]) as svc:
        before = svc.config()
        svc.update_config(start_type=StartType.DISABLED)
        after = svc.config()
        assert after.start_type == StartType.DISABLED
        assert (after.service_type, after.error_control, after.binary_path, after.dependencies, after.display_name) == (
            before.service_type,
            before.error_control,
            before.binary_path,
            before.dependencies,
            before.display_name,
        )
        svc.update_config(error_control=ErrorControl.CRITICAL, binpath=BINPATH + " --x")
        after = svc.config()
        assert (after.start_type, after.error_control, after.binary_path) == (
            StartType.DISABLED,
            ErrorControl.CRITICAL,
            BINPATH + " --x",
        )
        assert after.dependencies == ("Dep1",)


def test_b33_empty_group_and_dependencies_clear(mgr, make, name):
    """An empty string for group/dependencies means clear (NULL means unchanged)."""
    with make(name, group="Grp" + name, dependencies=["Dep1", "+Grp2"]) as svc:
        svc.update_config(group=None, dependencies=None)
        cfg = svc.config()
        assert (cfg.load_order_group, cfg.dependencies) == ("Grp" + name, ("Dep1", "+Grp2"))
        svc.update_config(group="")
        cfg = svc.config()
        assert (cfg.load_order_group, cfg.dependencies) == ("", ("Dep1", "+Grp2"))
        svc.update_config(dependencies=[""])  # lpDependencies = "\0\0": the empty multi-string
        assert svc.config().dependencies == ()


def test_b33_group_and_display_change(mgr, make, name):
    """ChangeServiceConfig(NO_CHANGE, NO_CHANGE, NORMAL, NULL, "TestGroup2", ..., displayname2) sets exactly those."""
    with make(name, display_name="Disp " + name, service_type=OWN | INTERACTIVE, start_type=StartType.DISABLED) as svc:
        svc.update_config(error_control=ErrorControl.NORMAL, group="TestGroup2", display_name="Disp2 " + name)
        cfg = svc.config()
        assert cfg.service_type == OWN | INTERACTIVE
        assert cfg.start_type == StartType.DISABLED
        assert cfg.error_control == ErrorControl.NORMAL
        assert cfg.binary_path == BINPATH
        assert cfg.load_order_group == "TestGroup2"
        assert cfg.tag_id == 0
        assert cfg.service_start_name == "LocalSystem"
        assert cfg.display_name == "Disp2 " + name


def test_b34_change_needs_change_config(mgr, make, name):
    """ChangeServiceConfig requires SERVICE_CHANGE_CONFIG → 5."""
    make(name).close()
    access = ServiceAccess.ALL_ACCESS & ~ServiceAccess.CHANGE_CONFIG
    with mgr.open_service(name, access=access) as svc:
        with pytest.raises(ScmError) as e:
            svc.update_config(start_type=StartType.DISABLED)
        assert winerror(e) == ERROR_ACCESS_DENIED
        with pytest.raises(ScmError) as e:
            svc.set_description("x")  # ChangeServiceConfig2 too (B139)
        assert winerror(e) == ERROR_ACCESS_DENIED
        assert svc.config().start_type == StartType.DEMAND_START


def test_b34_change_on_marked_for_delete_1072(mgr, make, name):
    """ChangeServiceConfig on a service marked for delete → 1072."""
    svc = make(name)
    try:
        svc.delete()
        with pytest.raises(ScmError) as e:
            svc.update_config(start_type=StartType.DISABLED)
        assert winerror(e) == ERROR_SERVICE_MARKED_FOR_DELETE
    finally:
        svc.close()


@pytest.mark.parametrize(
    "bad",
    [
        {"service_type": OWN | SHARE},
        {"service_type": FS | INTERACTIVE},
        {"service_type": 0},
        {"service_type": OWN | 0x1000},
        {"start_type": 5},
        {"start_type": StartType.BOOT_START},
        {"start_type": StartType.SYSTEM_START},
        {"error_control": 4},
        {"start_type": StartType.AUTO_START, "error_control": 9},
    ],
)
def test_b34_change_invalid_values_87(mgr, make, name, bad):
    """ChangeServiceConfig with invalid type/start/error values → 87 (and nothing is changed)."""
    with make(name) as svc:
        before = svc.config()
        with pytest.raises(ScmError) as e:
            svc.update_config(**bad)
        assert winerror(e) == ERROR_INVALID_PARAMETER
        assert svc.config() == before


def test_b34_change_duplicate_display_name_1078(mgr, make, name):
    """ChangeServiceConfig with a display name equal to another service's key name → 1078."""
    other = unique_name()
    make(other).close()
    with make(name) as svc:
        with pytest.raises(ScmError) as e:
            svc.update_config(display_name=other.upper())
        assert winerror(e) == ERROR_DUPLICATE_SERVICE_NAME
        assert svc.config().display_name == name
        svc.update_config(display_name=name)  # its own key name is fine
        assert svc.config().display_name == name


def test_b34_change_tag_without_group_87(mgr, make, name):
    """ChangeServiceConfig with lpdwTagId but no group → 87."""
    with make(name) as svc:
        with pytest.raises(ScmError) as e:
            svc.update_config(tag=True)
        assert winerror(e) == ERROR_INVALID_PARAMETER
        with pytest.raises(ScmError) as e:
            svc.update_config(tag=True, group="")
        assert winerror(e) == ERROR_INVALID_PARAMETER
        tag = svc.update_config(tag=True, group="Grp" + name)
        assert tag > 0 and svc.config().tag_id == tag


def test_b35_change_while_running_takes_effect_next_start(mgr, make, name, svchost, hostlog):
    """Config changed while running is returned at once but used at next start; the display name applies at once."""
    svc = make(name, svchost())
    try:
        svc.start()
        assert svc.wait(State.RUNNING, 10).state == State.RUNNING
        pid = svc.query().pid
        new_path = svchost("--behave", "exit-code", "--code", "42")
        svc.update_config(binpath=new_path, start_type=StartType.DISABLED, display_name="Shown " + name)
        cfg = svc.config()
        assert (cfg.binary_path, cfg.start_type, cfg.display_name) == (new_path, StartType.DISABLED, "Shown " + name)
        assert mgr.display_name(name) == "Shown " + name
        assert mgr.key_name("Shown " + name) == name
        st = svc.query()
        assert (st.state, st.pid) == (State.RUNNING, pid)  # still the old image
        svc.stop()
        st = svc.wait(State.STOPPED, 10)
        assert (st.state, st.win32_exit_code) == (State.STOPPED, 0)  # the old image's exit
        svc.update_config(start_type=StartType.DEMAND_START)
        svc.start()
        assert svc.wait(State.RUNNING, 10).state == State.RUNNING
        svc.stop()
        st = svc.wait(State.STOPPED, 10)
        assert (st.win32_exit_code, st.service_exit_code) == (ERROR_SERVICE_SPECIFIC_ERROR, 42)  # the new image
    finally:
        if svc.query().state != State.STOPPED:
            svc.stop()
            svc.wait(State.STOPPED, 10)
        svc.close()


# --- B36 - B38, B40: queries and ChangeServiceConfig2 -----------------------------------------


def test_b36_query_config_needs_query_config(mgr, make, name):
    """QueryServiceConfig needs SERVICE_QUERY_CONFIG → 5."""
    # The (NULL, 0, &needed) → 122 buffer-size probe is a C buffer contract with no Python equivalent.
    make(name).close()
    with mgr.open_service(name, access=ServiceAccess.ALL_ACCESS & ~ServiceAccess.QUERY_CONFIG) as svc:
        with pytest.raises(ScmError) as e:
            svc.config()
        assert winerror(e) == ERROR_ACCESS_DENIED
        with pytest.raises(ScmError) as e:
            svc.description()  # QueryServiceConfig2 too (B139)
        assert winerror(e) == ERROR_ACCESS_DENIED
    with mgr.open_service(name, access=ServiceAccess.QUERY_CONFIG) as svc:
        assert svc.config().binary_path == BINPATH


def test_b37_description_null_unchanged_empty_deletes(mgr, make, name):
    """ChangeServiceConfig2(DESCRIPTION): NULL leaves it unchanged; "" deletes it (query then gives NULL)."""
    with make(name) as svc:
        svc.set_description("Description")
        assert svc.description() == "Description"
        svc.set_description(None)
        assert svc.description() == "Description"
        svc.set_description("")
        assert svc.description() is None
        svc.set_description(None)
        assert svc.description() is None


@pytest.mark.parametrize("level", [0xFFF0, 0, 0x7FFFFFFF])
def test_b38_query_config2_invalid_level_124(mgr, make, name, level):
    """QueryServiceConfig2 with an unknown level (e.g. 0xFFF0) → ERROR_INVALID_LEVEL (124)."""
    # The pcbBytesNeeded/buffer-size parts (487, 122, needed sizes) are C buffer contracts; not testable here.
    with make(name) as svc, pytest.raises(ScmError) as e:
        svc.config2(level)
    assert winerror(e) == ERROR_INVALID_LEVEL


def test_b38_description_none_by_default(mgr, make, name):
    """QueryServiceConfig2(DESCRIPTION) with no description succeeds with lpDescription = NULL."""
    with make(name) as svc:
        assert svc.description() is None
        assert svc.config2(ConfigLevel.DESCRIPTION) is None


def test_b40_delayed_auto_start(mgr, make, name):
    """DELAYED_AUTO_START_INFO: default 0; 1 accepted and read back; other values → 87."""
    with make(name, start_type=StartType.AUTO_START) as svc:
        assert svc.delayed_auto_start() is False
        svc.set_delayed_auto_start(1)
        assert svc.delayed_auto_start() is True
        for bad in (2, 0xFFFFFFFF, -1):
            with pytest.raises(ScmError) as e:
                svc.set_delayed_auto_start(bad)
            assert winerror(e) == ERROR_INVALID_PARAMETER, bad
        assert svc.delayed_auto_start() is True
        svc.set_delayed_auto_start(0)
        assert svc.delayed_auto_start() is False


@pytest.mark.parametrize("start", [StartType.DEMAND_START, StartType.DISABLED])
def test_b40_delayed_on_non_auto_start_allowed(mgr, make, name, start):
    """Setting delayed auto-start on a non-auto-start service is allowed (it is just ignored until auto-start)."""
    # "A delayed service cannot be a member of a load-order group": the spec gives no observable error for it.
    with make(name, start_type=start) as svc:
        svc.set_delayed_auto_start(True)
        assert svc.delayed_auto_start() is True
        assert svc.config().start_type == start
