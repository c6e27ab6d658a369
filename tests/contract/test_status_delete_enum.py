"""Status and exit codes (B77-B88), deletion (B93-B99), enumeration (B100-B106), on both backends."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import Manager, Service
from svcctl.types import (
    READ_CONTROL,
    Accept,
    ScmAccess,
    ServiceAccess,
    ServiceType,
    State,
    StateFilter,
    Status,
)
from tests.conftest import eventually
from tests.contract.conftest import gone

OWN, SHARE = ServiceType.WIN32_OWN_PROCESS, ServiceType.WIN32_SHARE_PROCESS


def _err(fn: Callable[[], object]) -> int:
    with pytest.raises(ScmError) as exc:
        fn()
    return exc.value.winerror


def _running(mgr: Manager, name: str, binpath: str, cleanup: Callable[[Service], Service], **kw: object) -> Service:
    svc = cleanup(mgr.create_service(name, binpath, **kw))  # type: ignore[arg-type]
    svc.start()
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING
    return svc


def _stopped(svc: Service) -> Status:
    return eventually(lambda: (st := svc.query()).state is State.STOPPED and st, 10, "STOPPED")


def _gone(mgr: Manager, name: str) -> None:
    """The service's key has been removed (possibly after a short asynchronous delay, B97)."""
    eventually(lambda: gone(mgr, name), 10, f"{name} to be deleted")


def _names(entries: list) -> list[str]:
    return [e.name for e in entries]


# --- B77-B82: what QueryServiceStatusEx reports ---------------------------------------------------


def test_b77_never_started_1077(mgr, name, svchost, cleanup):
    """A never-started service is STOPPED with exit code 1077 and everything else 0."""
    svc = cleanup(mgr.create_service(name, svchost()))
    assert svc.query() == Status(OWN, State.STOPPED, Accept.NONE, 1077, 0, 0, 0, 0, 0)
    [entry] = [e for e in mgr.list_services() if e.name == name]
    assert entry.status == Status(OWN, State.STOPPED, Accept.NONE, 1077, 0, 0, 0, 0, 0)


def test_b78_query_status_needs_query_status_right(mgr, name, svchost, cleanup):
    """QueryServiceStatus needs SERVICE_QUERY_STATUS; READ_CONTROL (STANDARD_RIGHTS_READ) is not enough."""
    # The NULL lpServiceStatus case (487) has no equivalent: the Python call returns the status.
    cleanup(mgr.create_service(name, svchost()))
    with mgr.open_service(name, access=READ_CONTROL) as h:
        assert _err(h.query) == 5
    with mgr.open_service(name, access=ServiceAccess.ALL_ACCESS & ~ServiceAccess.QUERY_STATUS) as h:
        assert _err(h.query) == 5
    with mgr.open_service(name, access=ServiceAccess.QUERY_STATUS) as h:
        assert h.query().state is State.STOPPED


def test_b79_query_status_invalid_handles_6_then_access_5(mgr, name, svchost, cleanup):
    """QueryServiceStatusEx: NULL/invalid/manager handles fail 6, before the access check (5)."""
    # Info level (124), buffer size (122, needed 36) and NULL pcbBytesNeeded (487) are C-buffer
    # details the Python API cannot express.
    svc = cleanup(mgr.create_service(name, svchost()))
    assert _err(lambda: mgr.backend.call("status", h=0)) == 6
    assert _err(lambda: mgr.backend.call("status", h=mgr.handle)) == 6  # a manager handle
    h = mgr.open_service(name, access=READ_CONTROL)
    assert _err(lambda: mgr.backend.call("status", h=h.handle)) == 5
    mgr.backend.call("close", h=h.handle)
    assert _err(lambda: mgr.backend.call("status", h=h.handle)) == 6  # closed (B9)
    assert svc.query().state is State.STOPPED


def test_b80_pid_and_flags(mgr, name, svchost, hostlog, backend_name, cleanup):
    """pid is nonzero while RUNNING/PAUSED (the image's own), 0 when STOPPED and for drivers; flags 0."""
    svc = _running(mgr, name, svchost(), cleanup)
    st = svc.query()
    assert st.pid != 0 and st.flags == 0
    if backend_name in ("portable", "win32"):  # a real process: the pid is the image's own
        assert st.pid == hostlog.wait_for(event="start")["pid"]
    svc.pause()
    paused = eventually(lambda: (s := svc.query()).state is State.PAUSED and s, 10, "PAUSED")
    assert paused.pid == st.pid and paused.flags == 0
    svc.stop()
    stopped = _stopped(svc)
    assert (stopped.pid, stopped.flags) == (0, 0)
    drv = cleanup(mgr.create_service(name + "drv", "/nonexistent/drv.sys", service_type=ServiceType.KERNEL_DRIVER))
    assert (drv.query().pid, drv.query().flags, drv.query().service_type) == (0, 0, ServiceType.KERNEL_DRIVER)


@pytest.mark.parametrize(("configured", "reported"), [(OWN, 0x30), (SHARE, 0x10)])
def test_b81_type_is_configured_not_reported(mgr, name, extra, cleanup, configured, reported):
    """dwServiceType in the status is the configured type, not what the service passed."""
    svc = _running(mgr, name, extra("--behave", "report-type", "--code", str(reported), "--name", name), cleanup,
                   service_type=configured)
    assert svc.query().service_type == configured
    [entry] = [e for e in mgr.list_services() if e.name == name]
    assert entry.status.service_type == configured
    svc.stop()
    assert _stopped(svc).service_type == configured


def test_b82_checkpoint_and_hint_zero_when_not_pending(mgr, name, extra, gates, cleanup):
    """RUNNING/PAUSED/STOPPED report checkpoint 0 and wait hint 0 whatever the service passed."""
    svc = _running(mgr, name, extra("--behave", "running-hint", "--hold", "stop"), cleanup)
    st = svc.query()
    assert (st.state, st.checkpoint, st.wait_hint) == (State.RUNNING, 0, 0)  # the service sent 5 / 10000
    assert (st := svc.interrogate()).checkpoint == 0 and st.wait_hint == 0
    svc.pause()
    st = eventually(lambda: (s := svc.query()).state is State.PAUSED and s, 10, "PAUSED")
    assert (st.checkpoint, st.wait_hint) == (0, 0)
    svc.continue_()
    eventually(lambda: svc.query().state is State.RUNNING, 10, "RUNNING")
    st = svc.stop()  # pending states do carry them
    assert (st.state, st.checkpoint, st.wait_hint) == (State.STOP_PENDING, 1, 3000)
    gates.open("stop")
    st = _stopped(svc)
    assert (st.checkpoint, st.wait_hint) == (0, 0)


def test_b83_invalid_state_13_and_high_accept_bits_kept(mgr, name, extra, hostlog, cleanup):
    """SetServiceStatus with a state outside 1..7 fails 13; accept bits above 0xFF are valid and kept."""
    accepts = Accept.STOP | Accept.PRESHUTDOWN | Accept.TIMECHANGE | Accept.USERMODEREBOOT
    svc = _running(mgr, name, extra("--behave", "bad-status", "--accepts", str(int(accepts))), cleanup)
    recs = eventually(lambda: [r for r in hostlog.records() if r["event"] == "bad-state"][2:] and
                      [r for r in hostlog.records() if r["event"] == "bad-state"], 10, "the bad reports")
    assert [(r["state"], r["code"]) for r in recs] == [(0, 13), (8, 13), (0xFFFFFFFF, 13)]
    st = svc.query()
    assert (st.state, st.controls_accepted) == (State.RUNNING, accepts)  # the SCM kept the last valid report
    # The invalid-handle case (6) is the closed handle of B85; a garbage handle value is not expressible.


# --- B84-B88: exit codes and what remains after a stop -------------------------------------------


def test_b84_service_specific_exit_code(mgr, name, svchost, cleanup):
    """A service-specific exit is reported as 1066 plus dwServiceSpecificExitCode; RUNNING has 0."""
    svc = _running(mgr, name, svchost("--behave", "exit-code", "--code", "42"), cleanup)
    st = svc.query()
    assert (st.win32_exit_code, st.service_exit_code) == (0, 0)
    svc.stop()
    st = _stopped(svc)
    assert (st.win32_exit_code, st.service_exit_code) == (1066, 42)


def test_b84_fail_in_start_service_specific(mgr, name, svchost, cleanup):
    """A service failing in its start with its own code 7 stops with 1066 / 7."""
    svc = cleanup(mgr.create_service(name, svchost("--behave", "fail-start", "--code", "7")))
    svc.start()
    st = _stopped(svc)
    assert (st.win32_exit_code, st.service_exit_code, st.pid) == (1066, 7, 0)


def test_b84_win32_exit_code_without_service_specific(mgr, name, extra, cleanup):
    """A plain Win32 exit code is reported as such (not 1066)."""
    svc = _running(mgr, name, extra("--behave", "stop-win32", "--code", "5"), cleanup)
    svc.stop()
    st = _stopped(svc)
    assert st.win32_exit_code == 5


def test_b85_stopped_with_error_logs_7023_and_closes_status_handle(mgr, name, extra, hostlog, cleanup):
    """STOPPED with a nonzero exit code logs event 7023; later SetServiceStatus calls fail 6."""
    svc = _running(mgr, name, extra("--behave", "stop-win32", "--code", "5"), cleanup)
    svc.stop()
    _stopped(svc)
    assert hostlog.wait_for(event="after-stopped")["code"] == 6
    events = eventually(lambda: [e for e in mgr.events(service=name) if e[2] == 7023], 10, "event 7023")
    assert len(events) == 1
    assert name in events[0][5] and "Access is denied." in events[0][5]
    assert events[0][3] == "error"


def test_b86_crash_1067(mgr, connect, name, extra, gates, hostlog, cleanup):
    """A process dying while its service is not STOPPED: STOPPED, 1067, all else 0; watchers are woken."""
    svc = _running(mgr, name, extra("--behave", "crash", "--hold", "crash"), cleanup)
    running = svc.query()
    watched: list[Status] = []
    with connect().open_service(name) as watcher:
        t = threading.Thread(target=lambda: watched.append(watcher.watch(running, 10)))
        t.start()
        gates.open("crash")
        t.join(15)
    hostlog.wait_for(event="crash")
    st = _stopped(svc)
    assert st == Status(OWN, State.STOPPED, Accept.NONE, 1067, 0, 0, 0, 0, 0)
    assert [(w.state, w.win32_exit_code) for w in watched] == [(State.STOPPED, 1067)]


def test_b86_svchost_crash_1067(mgr, name, svchost, cleanup):
    """svchost --behave crash: the process dies shortly after RUNNING; STOPPED with 1067 and pid 0."""
    svc = cleanup(mgr.create_service(name, svchost("--behave", "crash")))
    svc.start()
    st = eventually(lambda: (s := svc.query()).state is State.STOPPED and s, 10, "the crash")
    assert (st.win32_exit_code, st.service_exit_code, st.controls_accepted, st.pid) == (1067, 0, 0, 0)
    assert (st.checkpoint, st.wait_hint) == (0, 0)


def test_b87_normal_stop_all_zero(mgr, name, svchost, cleanup):
    """After a normal stop: exit 0, controls 0, checkpoint 0, wait hint 0, pid 0."""
    svc = _running(mgr, name, svchost(), cleanup)
    svc.stop()
    assert _stopped(svc) == Status(OWN, State.STOPPED, Accept.NONE, 0, 0, 0, 0, 0, 0)


def test_b88_handles_survive_delete_of_stopped_service(mgr, connect, name, svchost):
    """DeleteService of a stopped service leaves open handles working: they return the last status."""
    svc = mgr.create_service(name, svchost("--behave", "exit-code", "--code", "42"))
    svc.start()
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING
    svc.stop()
    last = _stopped(svc)
    other = connect().open_service(name)
    svc.delete()
    assert svc.query() == last
    assert other.query() == last
    assert (last.win32_exit_code, last.service_exit_code) == (1066, 42)
    svc.close()
    assert other.query() == last
    other.close()
    _gone(mgr, name)


# --- B93-B99: deletion ----------------------------------------------------------------------------


def test_b93_delete_needs_delete_right(mgr, name, svchost):
    """DeleteService needs DELETE (5), even on CreateService's own handle; a NULL handle fails 6."""
    svc = mgr.create_service(name, svchost(), access=ServiceAccess.ALL_ACCESS & ~ServiceAccess.DELETE)
    assert _err(svc.delete) == 5
    assert _err(lambda: mgr.backend.call("delete", h=0)) == 6
    with mgr.open_service(name, access=ServiceAccess.QUERY_STATUS) as h:
        assert _err(h.delete) == 5
    with mgr.open_service(name, access=ServiceAccess.DELETE) as h:
        h.delete()
    svc.close()
    _gone(mgr, name)


def test_b94_b99_delete_running_marks_only(mgr, connect, name, svchost):
    """DeleteService of a running service only marks it: it keeps running, listed, until stopped and closed."""
    svc = mgr.create_service(name, svchost())
    svc.start()
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING
    svc.delete()
    assert svc.query().state is State.RUNNING
    svc.close()  # all handles closed, but still running: the key stays (B99)
    assert name in _names(mgr.list_services())
    with mgr.open_service(name) as again:
        assert again.query().state is State.RUNNING
        again.stop()
        assert _stopped(again).state is State.STOPPED
        assert name in _names(mgr.list_services())  # stopped, but a handle is still open
    _gone(mgr, name)
    assert name not in _names(mgr.list_services())


def test_b94_delete_stopped_goes_with_last_handle(mgr, connect, name, svchost):
    """A stopped, marked service stays while any handle is open and goes when the last one closes."""
    svc = mgr.create_service(name, svchost())
    other = connect().open_service(name)
    svc.delete()
    svc.close()
    with mgr.open_service(name, access=ServiceAccess.QUERY_STATUS) as h:
        assert h.query().state is State.STOPPED
    other.close()
    _gone(mgr, name)


def test_b95_second_delete_1072(mgr, connect, name, svchost):
    """A second DeleteService on a marked service fails ERROR_SERVICE_MARKED_FOR_DELETE (1072)."""
    svc = mgr.create_service(name, svchost())
    other = connect().open_service(name)
    svc.delete()
    assert _err(svc.delete) == 1072
    assert _err(other.delete) == 1072
    svc.close()
    other.close()
    _gone(mgr, name)


def test_b96_marked_service_refuses_most_calls_1072(mgr, name, svchost, hostlog):
    """While marked: OpenService works; CreateService of the name, config changes and start fail 1072."""
    svc = mgr.create_service(name, svchost())
    svc.delete()
    with mgr.open_service(name) as h:
        assert h.query().state is State.STOPPED
        assert h.config().binary_path == svchost()
        assert _err(lambda: mgr.create_service(name, svchost())) == 1072
        assert _err(lambda: mgr.create_service(name.upper(), svchost())) == 1072
        assert _err(lambda: h.update_config(display_name="x" + name)) == 1072
        assert _err(lambda: h.set_description("text")) == 1072
        assert _err(h.start) == 1072
    assert hostlog.records() == []
    svc.close()
    _gone(mgr, name)


def test_b97_handles_outlive_closed_manager(mgr, connect, name, svchost):
    """Four handles keep a marked service after their manager closed; the name is reusable once all close."""
    svc = mgr.create_service(name, svchost())
    svc.close()
    m2 = connect()
    handles = [m2.open_service(name) for _ in range(4)]
    m2.close()  # the manager handle only (B10)
    handles[0].delete()
    for h in handles[:3]:
        h.close()
    assert _err(lambda: mgr.create_service(name, svchost())) == 1072
    assert handles[3].query().state is State.STOPPED
    handles[3].close()

    def create() -> Service | None:
        try:
            return mgr.create_service(name, svchost())
        except ScmError as exc:
            assert exc.winerror == 1072
            return None

    again = eventually(create, 10, "the name to be reusable")
    again.delete()
    again.close()
    _gone(mgr, name)


# B98 (GetLastError left unchanged / set to 0 on success) has no Python equivalent: a call
# either returns or raises, there is no last-error slot to inspect.


# --- B100-B106: enumeration -----------------------------------------------------------------------


def test_b100_enum_check_order(mgr, name, svchost, cleanup):
    """Enum checks: handle (6), then type/state 0 (87), then ENUMERATE_SERVICE (5), then unknown group (1060)."""
    # The info level (124) and NULL pcbBytesNeeded/lpServicesReturned (487) are not expressible.
    cleanup(mgr.create_service(name, svchost(), group="B100" + name))
    call = mgr.backend.call
    assert _err(lambda: call("enum", scm=0, type=0x30, state=3, group=None)) == 6
    assert _err(lambda: call("enum", scm=0, type=0, state=0, group=None)) == 6
    assert _err(lambda: call("enum", scm=mgr.handle, type=0, state=3, group=None)) == 87
    assert _err(lambda: call("enum", scm=mgr.handle, type=0x30, state=0, group=None)) == 87
    weak = call("open_scm", machine=None, database=None, access=int(ScmAccess.CONNECT))
    try:
        assert _err(lambda: call("enum", scm=weak, type=0, state=3, group=None)) == 87
        assert _err(lambda: call("enum", scm=weak, type=0x30, state=3, group=None)) == 5
        assert _err(lambda: call("enum", scm=weak, type=0x30, state=3, group="NoSuchGroup" + name)) == 5
    finally:
        call("close", h=weak)
    assert _err(lambda: mgr.list_services(group="NoSuchGroup" + name)) == 1060
    assert _names(mgr.list_services(group="b100" + name.upper())) == [name]


def test_b101_b102_enum_returns_everything_once(mgr, name, svchost, cleanup):
    """The enumeration returns every service exactly once in a single call."""
    # B101/B102 (ERROR_MORE_DATA probes, partial buffers, resume handles) are C-buffer mechanics the
    # Python API hides: it always returns the complete list.
    made = [name + s for s in ("a", "b", "c")]
    for n in made:
        cleanup(mgr.create_service(n, svchost()))
    names = _names(mgr.list_services(ServiceType.TYPE_ALL, StateFilter.ALL))
    assert len(names) == len({n.casefold() for n in names})
    for n in made:
        assert names.count(n) == 1


def test_b103_state_and_type_filters(mgr, name, svchost, extra, cleanup):
    """ACTIVE = every state but STOPPED, INACTIVE = STOPPED, active+inactive = all; type masks select."""
    g = "B103" + name
    run = _running(mgr, name + "run", svchost(), cleanup, group=g)
    run.pause()
    eventually(lambda: run.query().state is State.PAUSED, 10, "PAUSED")
    pend = cleanup(mgr.create_service(name + "pend", extra("--hold", "start"), group=g))
    pend.start()
    eventually(lambda: pend.query().state is State.START_PENDING and pend.query().checkpoint == 1, 10, "pending")
    cleanup(mgr.create_service(name + "stop", svchost(), group=g))
    cleanup(mgr.create_service(name + "share", svchost(), group=g, service_type=SHARE))
    cleanup(mgr.create_service(name + "drv", "/nonexistent/x.sys", group=g, service_type=ServiceType.KERNEL_DRIVER))

    def ls(t: int, s: int) -> set[str]:
        return {n[len(name):] for n in _names(mgr.list_services(t, s, group=g))}

    assert ls(ServiceType.WIN32, StateFilter.ACTIVE) == {"run", "pend"}
    assert ls(ServiceType.WIN32, StateFilter.INACTIVE) == {"stop", "share"}
    assert ls(ServiceType.WIN32, StateFilter.ALL) == {"run", "pend", "stop", "share"}
    assert ls(OWN, StateFilter.ALL) == {"run", "pend", "stop"}
    assert ls(SHARE, StateFilter.ALL) == {"share"}
    assert ls(ServiceType.DRIVER, StateFilter.ALL) == {"drv"}
    assert ls(ServiceType.KERNEL_DRIVER, StateFilter.INACTIVE) == {"drv"}
    assert ls(ServiceType.DRIVER, StateFilter.ACTIVE) == set()
    assert ls(ServiceType.TYPE_ALL, StateFilter.ALL) == {"run", "pend", "stop", "share", "drv"}
    every = mgr.list_services(ServiceType.TYPE_ALL, StateFilter.ALL)
    active = mgr.list_services(ServiceType.TYPE_ALL, StateFilter.ACTIVE)
    inactive = mgr.list_services(ServiceType.TYPE_ALL, StateFilter.INACTIVE)
    assert all(e.status.state is not State.STOPPED for e in active)
    assert all(e.status.state is State.STOPPED for e in inactive)
    assert {n for n in _names(every) if n.startswith(name)} == (
        {n for n in _names(active) if n.startswith(name)} | {n for n in _names(inactive) if n.startswith(name)}
    )


def test_b104_entries_have_names_and_display_names(mgr, name, svchost, cleanup):
    """Every enumerated entry has a non-empty name and display name (display falls back to the name)."""
    cleanup(mgr.create_service(name, svchost()))
    cleanup(mgr.create_service(name + "e", svchost(), display_name=""))
    cleanup(mgr.create_service(name + "d", svchost(), display_name="Shown " + name))
    entries = mgr.list_services(ServiceType.TYPE_ALL, StateFilter.ALL)
    assert all(e.name and e.display_name for e in entries)
    shown = {e.name: e.display_name for e in entries}
    assert shown[name] == name
    assert shown[name + "e"] == name + "e"
    assert shown[name + "d"] == "Shown " + name


def test_b105_group_filter(mgr, name, svchost, cleanup):
    """Group filter: None = all, "" = only services without a group, "X" = members of X (any case)."""
    g = "GrpB105" + name
    cleanup(mgr.create_service(name + "in", svchost(), group=g))
    cleanup(mgr.create_service(name + "out", svchost()))
    cleanup(mgr.create_service(name + "other", svchost(), group=g + "x"))
    mine = {name + "in", name + "out", name + "other"}
    assert set(_names(mgr.list_services())) >= mine
    assert mine & set(_names(mgr.list_services(group=""))) == {name + "out"}
    assert _names(mgr.list_services(group=g)) == [name + "in"]
    assert _names(mgr.list_services(group=g.upper())) == [name + "in"]
    assert _names(mgr.list_services(group=g.lower())) == [name + "in"]


def test_b106_ascending_case_insensitive_order(mgr, name, svchost, cleanup):
    """Enumeration comes in ascending, case-insensitive service-name order."""
    p = "b106" + name
    suffixes = ["Audiosrv", "appinfo", "AssignedAccessManagerSvc", "AppXSvc", "AudioEndpointBuilder", "b", "A2"]
    for s in suffixes:
        cleanup(mgr.create_service(p + s, svchost()))
    got = [n for n in _names(mgr.list_services(ServiceType.TYPE_ALL, StateFilter.ALL)) if n.startswith(p)]
    assert got == [p + s for s in ["A2", "appinfo", "AppXSvc", "AssignedAccessManagerSvc",
                                   "AudioEndpointBuilder", "Audiosrv", "b"]]
