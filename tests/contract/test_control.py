"""ControlService (spec 1.4, B61-B75), on both backends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import Manager, Service
from svcctl.types import Accept, Control, ServiceAccess, State
from tests.conftest import HANDLER_TIMEOUT_MS, Daemon, HostLog, eventually

VALID_CODES = [1, 2, 3, 4, 6, 7, 8, 9, 10, 128, 200, 255]
# SHUTDOWN (5) and PRESHUTDOWN (0xF) are system-only; 0xB-0xE, 0x10+ are not ControlService codes.
INVALID_CODES = [0, 5, 0xB, 0xC, 0xD, 0xE, 0xF, 0x10, 0x20, 0x40, 0x7F, 0x100, 0x1FF, 0xFFFFFFFF]


def _err(fn: Callable[[], object]) -> int:
    with pytest.raises(ScmError) as exc:
        fn()
    return exc.value.winerror


def _running(mgr: Manager, name: str, binpath: str, cleanup: Callable[[Service], Service]) -> Service:
    svc = cleanup(mgr.create_service(name, binpath))
    svc.start()
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING
    return svc


def _controls_seen(hostlog: HostLog, name: str | None = None) -> list[int]:
    return [r["code"] for r in hostlog.records() if r["event"] == "control" and name in (None, r.get("name"))]


# --- B61, B62: which codes, which rights --------------------------------------------------------


def test_b61_undefined_codes_87_before_handle_and_access(mgr, name, svchost, cleanup):
    """Undefined codes (incl. SHUTDOWN/PRESHUTDOWN) fail 87, checked before the handle and its access."""
    svc = cleanup(mgr.create_service(name, svchost()))
    with mgr.open_service(name, access=ServiceAccess.QUERY_STATUS) as weak:
        for code in INVALID_CODES:
            assert _err(lambda c=code: mgr.backend.call("control", h=0, code=c)) == 87, code
            assert _err(lambda c=code: weak.control(c)) == 87, code
            assert _err(lambda c=code: svc.control(c)) == 87, code
    for code in VALID_CODES:  # defined codes get as far as the handle check
        assert _err(lambda c=code: mgr.backend.call("control", h=0, code=c)) == 6, code


def test_b61_defined_codes_reach_a_running_service(mgr, name, svchost, hostlog, cleanup):
    """PARAMCHANGE and user codes 128-255 are valid controls and reach the service."""
    svc = _running(mgr, name, svchost(), cleanup)
    assert svc.control(Control.PARAMCHANGE).state is State.RUNNING
    for code in (128, 200, 255):
        svc.control(code)
    eventually(lambda: {6, 128, 200, 255} <= set(_controls_seen(hostlog)), 10, "controls at the service")


@pytest.mark.parametrize(
    ("code", "right"),
    [
        (Control.STOP, ServiceAccess.STOP),
        (Control.PAUSE, ServiceAccess.PAUSE_CONTINUE),
        (Control.CONTINUE, ServiceAccess.PAUSE_CONTINUE),
        (Control.INTERROGATE, ServiceAccess.INTERROGATE),
        (Control.PARAMCHANGE, ServiceAccess.PAUSE_CONTINUE),
        (Control.NETBINDADD, ServiceAccess.PAUSE_CONTINUE),
        (Control.NETBINDREMOVE, ServiceAccess.PAUSE_CONTINUE),
        (Control.NETBINDENABLE, ServiceAccess.PAUSE_CONTINUE),
        (Control.NETBINDDISABLE, ServiceAccess.PAUSE_CONTINUE),
        (128, ServiceAccess.USER_DEFINED_CONTROL),
        (255, ServiceAccess.USER_DEFINED_CONTROL),
    ],
)
def test_b62_access_per_control_5(mgr, name, svchost, hostlog, cleanup, code, right):
    """Each control needs its own right (STOP, PAUSE_CONTINUE, INTERROGATE, USER_DEFINED_CONTROL) → 5."""
    svc = cleanup(mgr.create_service(name, svchost()))
    with mgr.open_service(name, access=ServiceAccess.ALL_ACCESS & ~right) as weak:
        assert _err(lambda: weak.control(code)) == 5  # checked before the state (stopped here)
        svc.start()
        assert svc.wait(State.RUNNING, 10).state is State.RUNNING
        assert _err(lambda: weak.control(code)) == 5
    assert [r for r in hostlog.records() if r["event"] != "start"] == []  # nothing was delivered
    with mgr.open_service(name, access=right) as only:  # the one right is enough to pass the check
        try:
            only.control(code)
        except ScmError as exc:
            assert exc.winerror == 1052  # svchost does not accept NETBINDCHANGE


# --- B63, B64: the state table and the accepted controls ----------------------------------------


def test_b63_stopped_every_control_1062(mgr, name, svchost, cleanup):
    """On a STOPPED service every valid control fails ERROR_SERVICE_NOT_ACTIVE (1062)."""
    svc = cleanup(mgr.create_service(name, svchost()))
    for code in VALID_CODES:
        assert _err(lambda c=code: svc.control(c)) == 1062, code
    svc.start()
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING
    svc.stop()
    assert svc.wait(State.STOPPED, 10).state is State.STOPPED
    for code in VALID_CODES:
        assert _err(lambda c=code: svc.control(c)) == 1062, code
    # B66: lpServiceStatus on failure (STOPPED here) has no equivalent: the Python call raises.


def test_b63_stop_pending_every_control_1061(mgr, name, extra, hostlog, cleanup):
    """While STOP_PENDING every control, STOP and INTERROGATE included, fails 1061."""
    svc = _running(mgr, name, extra("--hold", "stop"), cleanup)
    assert svc.stop().state is State.STOP_PENDING
    for code in VALID_CODES:
        assert _err(lambda c=code: svc.control(c)) == 1061, code
    assert svc.query().state is State.STOP_PENDING
    assert _controls_seen(hostlog) == [1]


def test_b63_start_pending_stop_sent_if_accepted(mgr, name, extra, hostlog, cleanup):
    """START_PENDING: other controls fail 1061; STOP is sent when the service accepts it."""
    svc = cleanup(mgr.create_service(name, extra("--hold", "start", "--start-accepts", str(int(Accept.STOP)))))
    svc.start()
    eventually(lambda: svc.query().controls_accepted == Accept.STOP, 10, "START_PENDING accepting STOP")
    assert svc.query().state is State.START_PENDING
    for code in [2, 3, 4, 6, 128]:
        assert _err(lambda c=code: svc.control(c)) == 1061, code
    st = svc.stop()
    assert st.state in (State.STOP_PENDING, State.STOPPED)
    assert svc.wait(State.STOPPED, 10).state is State.STOPPED
    assert _controls_seen(hostlog) == [1]


def test_b63_start_pending_stop_not_accepted_1052(mgr, name, extra, hostlog, cleanup):
    """START_PENDING without STOP accepted: STOP fails ERROR_INVALID_SERVICE_CONTROL (1052)."""
    svc = cleanup(mgr.create_service(name, extra("--hold", "start")))
    svc.start()
    eventually(lambda: svc.query().checkpoint == 1, 10, "the service's START_PENDING report")
    assert _err(svc.stop) == 1052
    assert _err(svc.interrogate) == 1061
    assert svc.query().state is State.START_PENDING
    assert _controls_seen(hostlog) == []


def test_b63_pending_and_paused_states_forward_controls(mgr, name, extra, gates, hostlog, cleanup):
    """PAUSE_PENDING, PAUSED and CONTINUE_PENDING forward accepted controls; STOP works from PAUSED."""
    svc = _running(mgr, name, extra("--hold", "pause", "--hold", "continue", "--hold", "stop"), cleanup)
    assert svc.pause().state is State.PAUSE_PENDING
    assert svc.interrogate().state is State.PAUSE_PENDING
    svc.control(131)
    gates.open("pause")
    eventually(lambda: svc.query().state is State.PAUSED, 10, "PAUSED")
    svc.control(132)
    assert svc.continue_().state is State.CONTINUE_PENDING
    svc.control(133)
    gates.open("continue")
    eventually(lambda: svc.query().state is State.RUNNING, 10, "RUNNING")
    svc.pause()
    eventually(lambda: svc.query().state is State.PAUSED, 10, "PAUSED again")
    assert svc.stop().state is State.STOP_PENDING  # PAUSED -> STOP_PENDING (B75)
    gates.open("stop")
    assert svc.wait(State.STOPPED, 10).state is State.STOPPED
    assert _controls_seen(hostlog) == [2, 4, 131, 132, 3, 133, 2, 1]


def test_b64_unaccepted_control_1052_interrogate_and_user_always(mgr, name, extra, hostlog, cleanup):
    """A control not in dwControlsAccepted fails 1052 unsent; INTERROGATE and 128-255 are always sent."""
    svc = _running(mgr, name, extra("--accepts", str(int(Accept.STOP))), cleanup)
    assert svc.query().controls_accepted == Accept.STOP
    for code in [Control.PAUSE, Control.CONTINUE, Control.PARAMCHANGE, Control.NETBINDADD, Control.NETBINDDISABLE]:
        assert _err(lambda c=code: svc.control(c)) == 1052, code
    assert svc.interrogate().state is State.RUNNING
    for code in (128, 177, 255):
        assert svc.control(code).state is State.RUNNING
    assert _controls_seen(hostlog) == [4, 128, 177, 255]


# --- B65: dependents -----------------------------------------------------------------------------


def test_b65_stop_with_running_dependent_1051(mgr, name, svchost, hostlog, cleanup):
    """STOP of a service another running service depends on fails 1051; nothing is stopped for you."""
    base, dep = name, name + "d"
    sbase = cleanup(mgr.create_service(base, svchost("--name", "base")))
    sdep = cleanup(mgr.create_service(dep, svchost("--name", "dep"), dependencies=[base]))
    sbase.start()
    assert sbase.wait(State.RUNNING, 10).state is State.RUNNING
    sdep.start()
    assert sdep.wait(State.RUNNING, 10).state is State.RUNNING
    assert _err(sbase.stop) == 1051
    assert sbase.query().state is State.RUNNING and sdep.query().state is State.RUNNING
    assert not [r for r in hostlog.records() if r["event"] == "stop"]
    assert sbase.interrogate().state is State.RUNNING  # other controls are not affected
    sdep.pause()
    eventually(lambda: sdep.query().state is State.PAUSED, 10, "dependent PAUSED")
    assert _err(sbase.stop) == 1051  # a paused dependent is active too
    sdep.stop()
    assert sdep.wait(State.STOPPED, 10).state is State.STOPPED
    sbase.stop()  # a stopped dependent no longer blocks
    assert sbase.wait(State.STOPPED, 10).state is State.STOPPED


def test_b65_group_dependent_blocks_stop_1051(mgr, name, svchost, cleanup):
    """A running service that depends on the target's group (+G) also blocks STOP with 1051."""
    group = "G" + name
    member = _running(mgr, name, svchost(), cleanup)
    member.update_config(group=group)
    sdep = cleanup(mgr.create_service(name + "d", svchost(), dependencies=["+" + group]))
    sdep.start()
    assert sdep.wait(State.RUNNING, 10).state is State.RUNNING
    assert _err(member.stop) == 1051
    sdep.stop()
    assert sdep.wait(State.STOPPED, 10).state is State.STOPPED
    member.stop()
    assert member.wait(State.STOPPED, 10).state is State.STOPPED


# --- B66, B67, B68: what ControlService returns ---------------------------------------------------


def test_b66_b67_status_as_last_reported(mgr, name, extra, cleanup):
    """On success the returned status is the one last reported (right after STOP: STOP_PENDING)."""
    # B66's "lpServiceStatus untouched on other errors" has no Python equivalent: failures raise.
    svc = _running(mgr, name, extra("--hold", "stop"), cleanup)
    st = svc.interrogate()
    q = svc.query()
    assert (st.state, st.controls_accepted, st.pid) == (State.RUNNING, Accept.STOP | Accept.PAUSE_CONTINUE, q.pid)
    assert st.pid != 0
    st = svc.stop()
    assert (st.state, st.controls_accepted, st.checkpoint, st.wait_hint) == (State.STOP_PENDING, 0, 1, 3000)
    assert st.pid == q.pid


def test_b67_stop_returns_stop_pending_or_stopped(mgr, name, svchost, cleanup):
    """STOP returns the status as last reported: STOP_PENDING (typical) or already STOPPED."""
    svc = _running(mgr, name, svchost("--behave", "slow-stop"), cleanup)
    st = svc.stop()
    assert st.state is State.STOP_PENDING
    assert st.controls_accepted == 0
    assert svc.wait(State.STOPPED, 10).state is State.STOPPED


def test_b68_handler_return_value_ignored_for_user_codes(mgr, name, svchost, hostlog, cleanup):
    """A HandlerEx returning 0xDEADBEEF for user control 128 still gives ControlService success."""
    svc = _running(mgr, name, svchost(), cleanup)
    st = svc.control(128)
    assert st.state is State.RUNNING
    hostlog.wait_for(event="control", code=128)
    assert svc.control(129).state is State.RUNNING


# --- B69: handlers are waited for, serially ------------------------------------------------------


def _hang_in_background(svc: Service) -> tuple[threading.Thread, dict[str, object]]:
    out: dict[str, object] = {}

    def go() -> None:
        t0 = time.monotonic()
        try:
            svc.control(200)
            out["code"] = 0
        except ScmError as exc:
            out["code"] = exc.winerror
        out["done"] = time.monotonic()
        out["elapsed"] = out["done"] - t0  # type: ignore[operator]

    t = threading.Thread(target=go)
    t.start()
    return t, out


def test_b69_hung_handler_1053(mgr, connect, name, svchost, hostlog, cleanup):
    """A handler that does not return in time makes ControlService fail 1053; a second control waits."""
    svc = _running(mgr, name, svchost("--behave", "hang-handler", "--code", "3000"), cleanup)
    t, out = _hang_in_background(svc)
    hostlog.wait_for(event="control", code=200)
    with connect().open_service(name) as other:
        try:
            other.interrogate()
            second = 0
        except ScmError as exc:
            second = exc.winerror
        second_done = time.monotonic()
    t.join(10)
    assert out["code"] == 1053
    limit = HANDLER_TIMEOUT_MS / 1000
    assert limit * 0.9 <= out["elapsed"] < limit + 0.9  # type: ignore[operator]
    assert second in (0, 1053)
    assert second_done >= out["done"] - 0.05  # type: ignore[operator]
    eventually(lambda: _quietly(svc.interrogate), 10, "the handler to come back")
    assert svc.query().state is State.RUNNING


@pytest.fixture
def serialized(backend_name: str, tmp_path: Path) -> Iterator[Callable[[], Manager]]:
    """Managers of an SCM with Windows' SCM-wide handler serialization (--serialize-controls)."""
    opened: list[Manager] = []
    if backend_name == "win32":  # Windows' SCM serializes handlers SCM-wide by itself
        def connect_win32() -> Manager:
            opened.append(Manager.connect(backend="win32"))
            return opened[-1]

        yield connect_win32
        for m in opened:
            m.disconnect()
    elif backend_name == "memory":
        from svcctl.mgr.memory import MemoryScm
        from svcctl.scm.runtime import Settings

        scm = MemoryScm(Settings(pipe_timeout_ms=3000, handler_timeout_ms=HANDLER_TIMEOUT_MS,
                                 serialize_controls=True))

        def connect() -> Manager:
            opened.append(Manager.connect(backend=scm.connect()))
            return opened[-1]

        yield connect
        for m in opened:
            m.disconnect()
        scm.shutdown()
    else:
        d = Daemon(tmp_path / "h", "--serialize-controls", "--handler-timeout", str(HANDLER_TIMEOUT_MS))

        def connect() -> Manager:
            opened.append(d.connect())
            return opened[-1]

        yield connect
        for m in opened:
            m.disconnect()
        assert d.stop() == 0


def _hang_and_race(connect, name, svchost, extra, hostlog, cleanup) -> tuple[dict[str, object], dict[str, float]]:
    """Hang one service's handler, then control a second service and start a third meanwhile."""
    mgr = connect()
    hung = _running(mgr, name, svchost("--behave", "hang-handler", "--code", "3000"), cleanup)
    _running(mgr, name + "o", extra(), cleanup)
    cleanup(mgr.create_service(name + "l", extra()))
    t, out = _hang_in_background(hung)
    hostlog.wait_for(event="control", code=200)
    m2 = connect()
    results: dict[str, float] = {}

    def start_later() -> None:
        with m2.open_service(name + "l") as h:
            _quietly(h.start)  # succeeds, or 1053 if it waited the whole handler timeout (B69)
            results["start"] = time.monotonic()

    ts = threading.Thread(target=start_later)
    ts.start()
    with connect().open_service(name + "o") as h:
        _quietly(h.interrogate)
        results["control"] = time.monotonic()
    ts.join(10)
    t.join(10)
    eventually(lambda: _quietly(hung.interrogate), 10, "the handler to come back")
    return out, results


def test_b69_hung_handler_blocks_other_services(serialized, name, svchost, extra, hostlog, cleanup):
    """Windows (--serialize-controls): while one service is inside its handler, controls and starts
    of any other service wait."""
    out, results = _hang_and_race(serialized, name, svchost, extra, hostlog, cleanup)
    assert out["code"] == 1053
    waited = {op: results[op] >= out["done"] - 0.05 for op in ("control", "start")}  # type: ignore[operator]
    assert waited == {"control": True, "start": True}


def test_b69_default_serializes_per_process_only(connect, name, svchost, extra, hostlog, cleanup):
    """svcctl's default (docs/guide.md): a hung handler holds up only its own process's controls."""
    out, results = _hang_and_race(connect, name, svchost, extra, hostlog, cleanup)
    assert out["code"] == 1053
    early = {op: results[op] < out["done"] - 0.5 for op in ("control", "start")}  # type: ignore[operator]
    assert early == {"control": True, "start": True}


def _quietly(fn: Callable[[], object]) -> bool:
    try:
        fn()
        return True
    except ScmError:
        return False


# --- B70, B74, B75: after STOP, transitions ------------------------------------------------------


def test_b70_nothing_sent_after_stop(mgr, name, extra, gates, hostlog, cleanup):
    """Once STOP was delivered no further control reaches the service, even if it keeps running."""
    svc = _running(mgr, name, extra("--behave", "ignore-stop", "--hold", "stop"), cleanup)
    svc.stop()  # the service answers by reporting RUNNING again
    eventually(lambda: _controls_seen(hostlog) == [1], 10, "STOP at the service")
    for code in (Control.INTERROGATE, 128, Control.PAUSE, Control.STOP):
        with pytest.raises(ScmError):
            svc.control(code)
    assert _controls_seen(hostlog) == [1]
    gates.open("stop")
    eventually(lambda: svc.query().state is State.STOPPED, 10, "STOPPED")


def test_b74_stop_leads_to_stop_pending_or_stopped(mgr, name, svchost, cleanup):
    """A handled STOP takes the service to STOP_PENDING or STOPPED."""
    svc = _running(mgr, name, svchost(), cleanup)
    assert svc.stop().state in (State.STOP_PENDING, State.STOPPED)
    assert svc.wait(State.STOPPED, 10).state is State.STOPPED


def test_b74_invalid_transition_not_refused(mgr, name, extra, hostlog, cleanup):
    """A status report with an invalid transition (RUNNING -> PAUSED directly) is not failed."""
    svc = _running(mgr, name, extra("--behave", "bad-transition"), cleanup)
    svc.control(130)
    assert hostlog.wait_for(event="set")["code"] == 0
    eventually(lambda: svc.query().state is State.PAUSED, 10, "the reported PAUSED")
    svc.continue_()
    eventually(lambda: svc.query().state is State.RUNNING, 10, "RUNNING")


def test_b75_state_diagram_walk(mgr, name, extra, gates, hostlog, cleanup):
    """Every arrow of the diagram is observable: STOPPED→START_PENDING→RUNNING→PAUSE_PENDING→PAUSED
    →CONTINUE_PENDING→RUNNING→STOP_PENDING→STOPPED."""
    svc = cleanup(mgr.create_service(
        name, extra("--hold", "start", "--hold", "pause", "--hold", "continue", "--hold", "stop")))
    seen = [svc.query().state]
    svc.start()
    seen.append(svc.query().state)
    eventually(lambda: svc.query().checkpoint == 1, 10, "the service's START_PENDING report")
    for op, pending, gate, final in [
        (None, State.START_PENDING, "start", State.RUNNING),
        (svc.pause, State.PAUSE_PENDING, "pause", State.PAUSED),
        (svc.continue_, State.CONTINUE_PENDING, "continue", State.RUNNING),
        (svc.stop, State.STOP_PENDING, "stop", State.STOPPED),
    ]:
        if op is not None:
            assert op().state is pending
            seen.append(svc.query().state)
        assert svc.query().state is pending
        gates.open(gate)
        eventually(lambda f=final: svc.query().state is f, 10, f"{final.name}")
        seen.append(final)
    assert seen == [State.STOPPED, State.START_PENDING, State.RUNNING, State.PAUSE_PENDING, State.PAUSED,
                    State.CONTINUE_PENDING, State.RUNNING, State.STOP_PENDING, State.STOPPED]


def test_b75_start_pending_to_stopped_on_failed_start(mgr, name, svchost, cleanup):
    """START_PENDING may go straight to STOPPED: a service failing in its start."""
    svc = cleanup(mgr.create_service(name, svchost("--behave", "fail-start", "--code", "7")))
    svc.start()
    st = svc.wait(State.STOPPED, 10)
    assert (st.state, st.win32_exit_code, st.service_exit_code) == (State.STOPPED, 1066, 7)
