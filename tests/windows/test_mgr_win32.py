"""svcctl.mgr with backend "win32" against a real SCM (Wine's under Linux CI), end to end.

``Manager.connect(backend="win32")`` drives Wine's services.exe through advapi32; the service is
Windows Python running svc_raw.py (a service written on the raw layer). Where Wine lacks a
Windows behaviour the test asserts Windows' behaviour and is an expected failure, strictly, with
the Wine gap and the B-number of ../shared/spec/scm-behaviours.md, so a fixed Wine shows up.
Sources for the Wine gaps: docs/wine.md and ../shared/spec/wine-scm-support.md.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

if sys.platform != "win32":
    pytest.skip("the win32 backend needs Windows (tools/wine/test runs it)", allow_module_level=True)

import os
import winreg

from svcctl.errors import ScmError
from svcctl.mgr import Manager, Service
from svcctl.types import (
    Accept,
    Action,
    ActionType,
    ErrorControl,
    FailureActions,
    ServiceType,
    StartType,
    State,
    StateFilter,
)

from .conftest import PREFIX, eventually
from .test_raw_scm import SVC_RAW, events

WINE_NO_DEPENDENCIES = "Wine 8 ignores dependencies (services.exe TODO)"
WINE_NO_FAILURE_ACTIONS = "Wine 8: FAILURE_ACTIONS set is a no-op and the query returns 124"


def code(exc: pytest.ExceptionInfo[ScmError]) -> int:
    return int(exc.value.winerror)


def binpath(log: Path) -> str:
    return f'"{sys.executable}" "{SVC_RAW}" "{log}"'


@pytest.fixture
def make(mgr: Manager, name: str, tmp_path: Path, cleanup: list[str]) -> Iterator[Service]:
    """A demand-start service running svc_raw.py, logging to tmp_path/svc.log; removed after."""
    cleanup.append(name)
    svc = mgr.create_service(name, binpath(tmp_path / "svc.log"), display_name=f"{name} display")
    yield svc
    svc.close()


def gone(mgr: Manager, name: str) -> bool:
    try:
        mgr.open_service(name).close()
    except ScmError as exc:
        return exc.winerror == 1060
    return False


# --- create / config ---------------------------------------------------------------------------


def test_create_with_every_argument(mgr: Manager, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    cleanup.append(name)
    path = binpath(tmp_path / "svc.log")
    with mgr.create_service(
        name,
        path,
        display_name=f"{name} é中",
        service_type=ServiceType.WIN32_OWN_PROCESS,
        start_type=StartType.DEMAND_START,
        error_control=ErrorControl.IGNORE,
        group=f"{PREFIX}grp",
        tag=False,
        dependencies=None,
        account="LocalSystem",
        password=None,
    ) as svc:
        cfg = svc.config()
        assert (cfg.service_type, cfg.start_type, cfg.error_control) == (0x10, StartType.DEMAND_START, 0)
        assert (cfg.binary_path, cfg.load_order_group, cfg.tag_id) == (path, f"{PREFIX}grp", 0)
        assert (cfg.service_start_name, cfg.display_name) == ("LocalSystem", f"{name} é中")
        st = svc.query()
        assert (st.state, st.win32_exit_code, st.pid, st.controls_accepted) == (State.STOPPED, 1077, 0, 0)  # B77
        assert svc.description() is None
        assert svc.preshutdown_timeout() in (180000, 10000)  # B39: the default (Win10 1709+: 10 s)


def test_update_config(make: Service, mgr: Manager, name: str) -> None:
    svc = make
    tag = svc.update_config(
        start_type=StartType.DISABLED,
        error_control=ErrorControl.SEVERE,
        binpath=r"C:\windows\system32\cmd.exe /c exit",
        group=f"{PREFIX}g2",
        account=r"NT AUTHORITY\LocalService",
        password="",
        display_name=f"{name} renamed",
        dependencies=[""],
    )
    assert tag == 0
    cfg = svc.config()
    assert (cfg.start_type, cfg.error_control, cfg.binary_path) == (4, 2, r"C:\windows\system32\cmd.exe /c exit")
    assert (cfg.load_order_group, cfg.display_name) == (f"{PREFIX}g2", f"{name} renamed")
    assert cfg.service_start_name == r"NT AUTHORITY\LocalService"
    assert mgr.display_name(name) == f"{name} renamed"  # B35: at once
    with pytest.raises(ScmError) as exc:
        svc.start()
    assert code(exc) == 1058  # B43
    svc.update_config(group="")  # B33: "" clears; NO_CHANGE / None leave the rest
    cfg2 = svc.config()
    assert (cfg2.load_order_group, cfg2.start_type, cfg2.display_name) == ("", 4, f"{name} renamed")


def test_description_and_preshutdown(make: Service) -> None:
    svc = make
    text = "why: " + "é" * 3000
    svc.set_description(text)
    assert svc.description() == text
    svc.set_description(None)  # B37/B41: None keeps it
    assert svc.description() == text
    svc.set_description("")  # B37: "" deletes it
    assert svc.description() is None
    svc.set_preshutdown_timeout(5000)
    assert svc.preshutdown_timeout() == 5000
    with pytest.raises(ScmError) as exc:
        svc.config2(99)
    assert code(exc) == 124  # B38


@pytest.mark.xfail(strict=True, raises=ScmError, reason=f"B113-B115, B122: {WINE_NO_FAILURE_ACTIONS}")
def test_failure_actions_round_trip(make: Service) -> None:
    svc = make
    fa = FailureActions(86400, None, "cmd /c echo", (Action(ActionType.RESTART, 1000), Action(ActionType.NONE, 0)))
    svc.set_failure_actions(fa)
    assert svc.failure_actions() == fa


def test_failure_actions_set_is_accepted(make: Service) -> None:
    """The set call itself succeeds on Wine (a no-op there): the structure is built right."""
    make.set_failure_actions(FailureActions(60, "", "", (Action(ActionType.RESTART, 500),)))
    make.set_failure_actions({"actions": None})  # B115: NULL actions leave them


@pytest.mark.xfail(strict=True, raises=ScmError, reason="B112: Wine 8 returns 124 for FAILURE_ACTIONS_FLAG")
def test_failure_actions_flag(make: Service) -> None:
    make.set_failure_actions_on_non_crash(True)
    assert make.failure_actions_on_non_crash() is True


@pytest.mark.xfail(strict=True, raises=ScmError, reason="B40: Wine 8 returns 124 for DELAYED_AUTO_START_INFO")
def test_delayed_auto_start(make: Service) -> None:
    make.update_config(start_type=StartType.AUTO_START)
    make.set_delayed_auto_start(True)
    assert make.delayed_auto_start() is True


@pytest.mark.xfail(strict=True, reason=f"B28, B31: {WINE_NO_DEPENDENCIES}; QueryServiceConfigW returns none")
def test_dependencies_read_back(make: Service) -> None:
    make.update_config(dependencies=["RpcSs", "+TDI"])
    assert make.config().dependencies == ("RpcSs", "+TDI")


@pytest.mark.xfail(strict=True, reason="B22: Wine 8 does not implement tags (the tag stays 0)")
def test_tag_assigned_in_group(mgr: Manager, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    cleanup.append(name)
    with mgr.create_service(name, binpath(tmp_path / "svc.log"), group=f"{PREFIX}tags", tag=True) as svc:
        assert svc.tag_id > 0 and svc.config().tag_id == svc.tag_id


@pytest.mark.xfail(strict=True, reason="B11: Wine 8 reports an empty lpDisplayName when none was set")
def test_config_display_name_defaults_to_key_name(mgr: Manager, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    cleanup.append(name)
    with mgr.create_service(name, binpath(tmp_path / "svc.log")) as svc:
        assert mgr.display_name(name) == name  # this part holds on Wine too
        assert svc.config().display_name == name


# --- lifecycle ----------------------------------------------------------------------------------


def test_lifecycle_with_arguments_controls_and_exit_code(
    mgr: Manager, make: Service, name: str, tmp_path: Path
) -> None:
    svc, log = make, tmp_path / "svc.log"
    svc.start("alpha", "with space", "--exit=42")
    running = svc.wait(State.RUNNING, 10)
    assert running.state == State.RUNNING and running.pid != 0
    assert running.controls_accepted == Accept.STOP | Accept.PAUSE_CONTINUE
    (main,) = eventually(lambda: events(log, "main"), what="ServiceMain")
    assert main["argv"] == [name, "alpha", "with space", "--exit=42"]  # B49
    assert main["pid"] == running.pid

    with pytest.raises(ScmError) as exc:
        svc.start()
    assert code(exc) == 1056  # B45

    assert svc.pause().state in (State.PAUSE_PENDING, State.PAUSED, State.RUNNING)  # B67: as last reported
    assert svc.wait(State.PAUSED, 10).state == State.PAUSED
    svc.continue_()
    assert svc.wait(State.RUNNING, 10).state == State.RUNNING
    assert svc.control(200).state == State.RUNNING  # user control, B61
    assert svc.interrogate().pid == running.pid

    (entry,) = [e for e in mgr.list_services(state=StateFilter.ACTIVE) if e.name == name]
    assert entry.status.state == State.RUNNING and entry.display_name == f"{name} display"

    stopping = svc.stop()
    assert stopping.state in (State.STOP_PENDING, State.STOPPED)
    st = svc.wait(State.STOPPED, 10)
    assert (st.state, st.win32_exit_code, st.service_exit_code, st.pid) == (State.STOPPED, 1066, 42, 0)  # B84
    assert st.exit_code.is_service_specific and st.exit_code.code == 42
    assert [e["control"] for e in events(log, "control")] == [2, 3, 200, 4, 1]

    with pytest.raises(ScmError) as exc:
        svc.stop()
    assert code(exc) == 1062  # B63
    assert name not in [e.name for e in mgr.list_services(state=StateFilter.ACTIVE)]
    assert name in [e.name for e in mgr.list_services(state=StateFilter.INACTIVE)]

    svc.delete()
    with pytest.raises(ScmError) as exc:
        svc.delete()
    assert code(exc) == 1072  # B95
    svc.close()
    eventually(lambda: gone(mgr, name), what="the service to be deleted (Wine lags ~10 ms)")  # B94


def test_start_pending_checkpoints_seen_by_wait(make: Service) -> None:
    make.start("--pending=4")
    assert make.wait(State.RUNNING, 10).state == State.RUNNING
    make.stop()
    assert make.wait(State.STOPPED, 10).win32_exit_code == 0


def test_watch_times_out_unchanged(make: Service) -> None:
    seen = make.query()
    t0 = time.monotonic()
    st = make.watch(seen, 0.3)
    elapsed = time.monotonic() - t0
    assert (st.state, st.checkpoint) == (seen.state, seen.checkpoint)
    assert 0.25 <= elapsed < 2.0


def test_watch_returns_on_change(mgr: Manager, make: Service, name: str) -> None:
    make.start()
    running = make.wait(State.RUNNING, 10)
    other = mgr.open_service(name)
    stopper = threading.Timer(0.3, other.stop)
    t0 = time.monotonic()
    stopper.start()
    try:
        st = make.watch(running, 10)
    finally:
        stopper.join()
        other.close()
    assert st.state in (State.STOP_PENDING, State.STOPPED)
    assert time.monotonic() - t0 < 1.5  # a notification, not the 10 s timeout
    make.wait(State.STOPPED, 10)


def test_status_notification_arrives(mgr: Manager, make: Service, name: str) -> None:
    """The watch's notifier itself: NotifyServiceStatusChangeW's APC ends the alertable wait."""
    from svcctl.mgr import win32_backend as wb
    from svcctl.winapi import advapi32 as a

    make.start()
    make.wait(State.RUNNING, 10)
    private = int(a.OpenServiceW(mgr.backend._connection(None), name, wb.SERVICE_QUERY_STATUS))  # type: ignore[attr-defined]
    notifier = wb._Notifier(private, int(State.RUNNING))
    try:
        threading.Timer(0.2, make.stop).start()
        t0 = time.monotonic()
        while not notifier.fired and time.monotonic() - t0 < 5:
            notifier.wait(5)
            if not notifier.armed:
                break
        assert notifier.notify.dwNotificationStatus == 0
        assert notifier.notify.ServiceStatus.dwCurrentState in (State.STOP_PENDING, State.STOPPED)
        assert time.monotonic() - t0 < 2
    finally:
        notifier.close()
    make.wait(State.STOPPED, 10)


# --- enumeration, names, dependents ---------------------------------------------------------------


def test_list_services_and_names(mgr: Manager, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    cleanup.append(name)
    group = f"{PREFIX}lg"
    with mgr.create_service(name, binpath(tmp_path / "svc.log"), display_name=f"{name} shown", group=group):
        rows = mgr.list_services(group=group)
        assert [(e.name, e.display_name, e.status.state) for e in rows] == [(name, f"{name} shown", State.STOPPED)]
        assert name in [e.name for e in mgr.list_services(service_type=ServiceType.WIN32)]
        assert mgr.display_name(name) == f"{name} shown"
        assert mgr.display_name(name.upper()) == f"{name} shown"  # B4
        assert mgr.key_name(f"{name} shown") == name
        assert mgr.exists(name) and mgr.exists(f"{name} shown") and not mgr.exists(name + "x")
        with pytest.raises(ScmError) as exc:
            mgr.key_name(name + "x")
        assert code(exc) == 1060  # B13
        with pytest.raises(ScmError) as exc:
            mgr.list_services(group=f"{PREFIX}no_such_group")
        assert code(exc) == 1060


@pytest.mark.xfail(
    strict=True, raises=ScmError, reason="B105: Wine 8 answers group '' with 1060 (no NULL group matches)"
)
def test_list_services_without_a_group(mgr: Manager, make: Service, name: str) -> None:
    assert name in [e.name for e in mgr.list_services(group="")]


def test_dependents_of_a_service_nothing_depends_on(make: Service) -> None:
    assert make.dependents(StateFilter.ALL) == []


@pytest.mark.xfail(strict=True, reason=f"B107: {WINE_NO_DEPENDENCIES}; EnumDependentServicesW is a stub")
def test_dependents(mgr: Manager, make: Service, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    cleanup.append(name + "_app")
    with mgr.create_service(name + "_app", binpath(tmp_path / "app.log"), dependencies=[name]):
        assert [e.name for e in make.dependents(StateFilter.ALL)] == [name + "_app"]


@pytest.mark.xfail(strict=True, reason=f"B30: {WINE_NO_DEPENDENCIES}; cycles are accepted")
def test_circular_dependency(make: Service, name: str) -> None:
    with pytest.raises(ScmError) as exc:
        make.update_config(dependencies=[name])
    assert code(exc) == 1059


# --- registry ---------------------------------------------------------------------------------------


def test_parameters_registry(mgr: Manager, make: Service, name: str) -> None:
    key = rf"Services\{name}\Parameters"
    values: dict[str, tuple[int, object] | None] = {
        "Sz": (1, "text é"),
        "Expand": (2, "%SystemRoot%\\x"),
        "Binary": (3, b"\x00\x01\xff"),
        "Empty": (3, b""),
        "Dword": (4, 0xFFFFFFFF),
        "Multi": (7, ("a", "b c")),
        "Qword": (11, 2**40),
    }
    mgr.reg_set(key, values)
    tree = mgr.reg_get(rf"Services\{name}")
    assert tree["Parameters"] == values
    assert tree[""]["DisplayName"] == (1, f"{name} display")
    mgr.reg_set(key + r"\Sub", {"Deep": (4, 1)})
    assert mgr.reg_get(key)["Sub"] == {"Deep": (4, 1)}
    mgr.reg_set(key, {"Sz": None, "New": (1, "n")})  # None deletes one value
    assert set(mgr.reg_get(key)[""]) == set(values) - {"Sz"} | {"New"}
    mgr.reg_set(key, {"Only": (4, 7)}, replace=True)
    assert mgr.reg_get(key) == {"": {"Only": (4, 7)}, "Sub": {"Deep": (4, 1)}}

    with pytest.raises(ScmError) as exc:
        mgr.reg_set(key, {"Bad": (4, -1), "Good": (4, 1)})
    assert code(exc) == 87
    assert "Good" not in mgr.reg_get(key)[""]  # checked before anything was written
    with pytest.raises(ScmError) as exc:
        mgr.reg_set(rf"Services\{name}", {"ImagePath": (1, "evil.exe")})
    assert code(exc) == 5  # only Parameters is writable this way
    with pytest.raises(ScmError) as exc:
        mgr.reg_set(rf"Services\{name}x\Parameters", {"A": (4, 1)})
    assert code(exc) == 1060
    with pytest.raises(ScmError) as exc:
        mgr.reg_get(r"Software\Microsoft")
    assert code(exc) == 2

    mgr.reg_delete(key)
    assert "Parameters" not in mgr.reg_get(rf"Services\{name}")
    assert mgr.reg_get(key) == {}
    mgr.reg_delete(key)  # a missing key is no error (as the portable SCM)


def test_group_and_tag_order(mgr: Manager) -> None:
    group = f"{PREFIX}order"
    before = mgr.group_order()
    try:
        mgr.set_group_order([*before, group])
        assert mgr.group_order() == [*before, group]
        assert mgr.tag_order(group) == []
        mgr.set_tag_order(group, [3, 1, 2])
        assert mgr.tag_order(group) == [3, 1, 2]
    finally:
        mgr.set_group_order(before)
        with winreg.OpenKey(
            winreg.HKEY_LOCAL_MACHINE, r"SYSTEM\CurrentControlSet\Control\GroupOrderList", 0, winreg.KEY_SET_VALUE
        ) as k:
            try:
                winreg.DeleteValue(k, group)
            except FileNotFoundError:
                pass
    assert mgr.group_order() == before


# --- errors, handles, machines ------------------------------------------------------------------------


def test_error_codes(mgr: Manager, make: Service, name: str, tmp_path: Path, cleanup: list[str]) -> None:
    def err(fn: object, *args: object, **kw: object) -> int:
        with pytest.raises(ScmError) as exc:
            fn(*args, **kw)  # type: ignore[operator]
        return code(exc)

    assert err(mgr.open_service, name + "x") == 1060  # B5
    assert err(mgr.open_service, f"{name} display") == 1060  # B6: display names are not keys
    cleanup.append(name.upper())
    assert err(mgr.create_service, name.upper(), binpath(tmp_path / "x.log")) == 1073  # B24, B4
    cleanup.append(name + "_dup")
    assert err(mgr.create_service, name + "_dup", binpath(tmp_path / "x.log"), display_name=f"{name} display") == 1078
    assert err(mgr.create_service, "", binpath(tmp_path / "x.log")) == 123  # B17
    cleanup.append(name + "_e")
    assert err(mgr.create_service, name + "_e", "") == 87  # B17
    assert err(mgr.create_service, name + "_e", binpath(tmp_path / "x.log"), start_type=7) == 87  # B20
    assert err(mgr.open_service, f"{name}\0x") == 87  # a NUL would cut the name short: refused
    assert err(make.stop) == 1062  # B63
    assert err(make.pause) == 1062
    assert err(make.control, 127) == 87  # B61
    assert err(make.control, 5) == 87  # SHUTDOWN is the system's
    assert err(mgr.events) == 50  # no event log reader in this backend
    assert err(Manager.connect, database="Bogus", backend="win32") == 123  # B2
    assert err(Manager.connect, database="ServicesFailed", backend="win32") == 1065
    with pytest.raises(ScmError) as exc:
        mgr.backend.call("no_such_op")
    assert code(exc) == 1


def test_handles(mgr: Manager, make: Service, name: str) -> None:
    backend = mgr.backend
    h = backend.call("open", scm=mgr.handle, name=name, access=0x4)
    assert backend.call("status", h=h)[1] == State.STOPPED
    with pytest.raises(ScmError) as exc:
        backend.call("config", h=h)
    assert code(exc) == 5  # QUERY_STATUS only: access masks are enforced
    with pytest.raises(ScmError) as exc:
        backend.call("status", h=mgr.handle)
    assert code(exc) == 6  # a manager handle is not a service handle
    backend.call("close", h=h)
    for op in ("status", "close"):
        with pytest.raises(ScmError) as exc:
            backend.call(op, h=h)
        assert code(exc) == 6  # B9

    other = Manager.connect(backend="win32")
    svc = other.open_service(name)
    other.close()  # B10: service handles outlive their manager handle
    assert svc.query().state == State.STOPPED
    other.disconnect()  # closes every handle still open, like process exit
    with pytest.raises(ScmError) as exc:
        other.backend.call("status", h=svc.handle)
    assert code(exc) == 6


def test_machine_name(make: Service, name: str) -> None:
    """The local machine by name: OpenSCManagerW's and RegConnectRegistryW's machine argument."""
    host = os.environ.get("COMPUTERNAME", "")
    assert host
    with Manager.connect(host, backend="win32") as m:
        assert name in [e.name for e in m.list_services()]
        assert m.reg_get(rf"Services\{name}")[""]["DisplayName"] == (1, f"{name} display")


@pytest.mark.xfail(strict=True, reason="B3: Wine 8 ignores OpenSCManagerW's machine name (opens the local SCM)")
def test_unknown_machine(name: str) -> None:
    with pytest.raises(ScmError) as exc:
        Manager.connect(rf"\\{PREFIX}no-such-host", backend="win32").disconnect()
    assert code(exc) in (1722, 1707)
