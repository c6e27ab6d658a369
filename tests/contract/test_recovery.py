"""Failure actions (spec 1.8, B111-B122) and the crash events (B85, B86), on both backends,
with services that really crash, exit non-zero or report STOPPED with errors."""

from __future__ import annotations

import sqlite3
import struct
import threading
import time

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import Manager, Service
from svcctl.types import (
    INFINITE,
    Action,
    ActionType,
    FailureActions,
    ServiceAccess,
    ServiceType,
    StartType,
    State,
)
from tests.conftest import HostLog, eventually

RESTART, RUN, REBOOT, NONE = ActionType.RESTART, ActionType.RUN_COMMAND, ActionType.REBOOT, ActionType.NONE


def actions(*pairs: tuple[ActionType, int], reset: int = INFINITE, command: str | None = None) -> FailureActions:
    return FailureActions(reset, None, command, tuple(Action(t, ms) for t, ms in pairs))


@pytest.fixture
def made(mgr):
    """Create services that are stopped (disabled first, so no queued restart revives them) and
    deleted at the end."""
    services: list[Service] = []

    def make(name: str, binpath: str, **kw) -> Service:
        svc = mgr.create_service(name, binpath, **kw)
        services.append(svc)
        return svc

    yield make
    for svc in services:
        try:
            svc.update_config(start_type=StartType.DISABLED)
            if svc.query().state is not State.STOPPED:
                eventually(lambda s=svc: s.query().state is not State.START_PENDING, 10, "start to settle")
                try:
                    svc.stop()
                except ScmError:
                    pass
                eventually(lambda s=svc: s.query().state is State.STOPPED, 10, "stop")
            svc.delete()
        finally:
            svc.close()


def starts(hostlog) -> list[dict]:
    return [r for r in hostlog.records() if r["event"] == "start"]


def events(mgr: Manager, name: str, event_id: int | None = None) -> list[list]:
    rows = mgr.events(service=name, since=-1, limit=1000)
    return [r for r in rows if event_id is None or r[2] == event_id]


def test_b111_crash_is_a_failure_clean_stop_is_not(mgr, name, svchost, hostlog, made, tmp_path):
    """Failed = the process ended without reporting STOPPED; only then are actions queued."""
    svc = made(name, svchost())
    svc.set_failure_actions(actions((RESTART, 0)))
    svc.start()
    svc.wait(State.RUNNING, 10)
    svc.stop()
    assert svc.wait(State.STOPPED, 10).win32_exit_code == 0
    assert events(mgr, name, 7031) == [] and len(starts(hostlog)) == 1

    own_log = HostLog(tmp_path / "crashy.jsonl")
    crashy = made(name + "c", svchost("--behave", "crash-first", "--log", str(own_log.path)))
    crashy.set_failure_actions(actions((RESTART, 0)))
    crashy.start()
    eventually(lambda: len(starts(own_log)) == 2, 15, "the restart after the crash")
    assert crashy.wait(State.RUNNING, 10).state is State.RUNNING  # the restart runs (crash-first)
    assert len(events(mgr, name + "c", 7031)) == 1


def test_b112_flag_makes_nonzero_stops_failures(mgr, name, svchost, hostlog, made):
    """With the failure-actions flag, STOPPED with a non-zero exit code queues the actions too."""
    plain = made(name, svchost("--behave", "exit-code", "--code", "42"))
    plain.set_failure_actions(actions((RESTART, 0)))
    plain.start()
    plain.wait(State.RUNNING, 10)
    plain.stop()
    st = plain.wait(State.STOPPED, 10)
    assert (st.win32_exit_code, st.service_exit_code) == (1066, 42)
    assert events(mgr, name, 7031) == []  # not a crash, flag off: no action
    assert events(mgr, name, 7024)  # B85: STOPPED with an error is logged

    flagged = made(name + "f", svchost("--behave", "exit-code", "--code", "42"))
    flagged.set_failure_actions(actions((RESTART, 0)))
    flagged.set_failure_actions_on_non_crash(True)
    assert flagged.failure_actions_on_non_crash() is True
    flagged.start()
    flagged.wait(State.RUNNING, 10)
    flagged.stop()
    eventually(lambda: events(mgr, name + "f", 7031), 10, "7031 for the non-crash failure")
    eventually(lambda: flagged.query().state is State.RUNNING, 10, "the restart")


def test_b112_flag_ignored_without_actions(mgr, name, svchost, made):
    svc = made(name, svchost("--behave", "exit-code", "--code", "3"))
    svc.set_failure_actions_on_non_crash(True)
    svc.start()
    svc.wait(State.RUNNING, 10)
    svc.stop()
    svc.wait(State.STOPPED, 10)
    assert events(mgr, name, 7031) == [] and events(mgr, name, 7034) == []


def test_b113_action_n_for_failure_n_then_none(mgr, name, svchost, hostlog, made):
    """Failure N takes action N: restart, restart, then NONE leaves it stopped with 1067."""
    svc = made(name, svchost("--behave", "crash"))
    svc.set_failure_actions(actions((RESTART, 0), (RESTART, 0), (NONE, 0)))
    svc.start()
    eventually(lambda: len(events(mgr, name, 7031)) >= 3, 15, "three failures")
    st = eventually(lambda: (s := svc.query()).state is State.STOPPED and s, 10, "stopped for good")
    assert st.win32_exit_code == 1067 and len(starts(hostlog)) == 3
    texts = [r[5] for r in events(mgr, name, 7031)]
    assert [t.split("It has done this ")[1].split(" ")[0] for t in texts] == ["1", "2", "3"]
    assert texts[0].endswith("0 milliseconds: Restart the service.")
    assert texts[2].endswith("0 milliseconds: No action.")


def test_b113_last_action_repeats(mgr, name, svchost, hostlog, made):
    svc = made(name, svchost("--behave", "crash"))
    svc.set_failure_actions(actions((RESTART, 0)))
    svc.start()
    eventually(lambda: len(starts(hostlog)) >= 4, 20, "the single restart action to repeat")
    counts = [int(r[5].split("It has done this ")[1].split(" ")[0]) for r in events(mgr, name, 7031)]
    assert counts[:3] == [1, 2, 3]


def test_b113_count_resets_after_reset_period(mgr, name, svchost, hostlog, made):
    """After reset_period seconds without a failure the next one is failure 1 again."""
    svc = made(name, svchost("--behave", "crash"))
    svc.set_failure_actions(actions((RESTART, 0), (NONE, 0), reset=1))
    svc.start()
    eventually(lambda: svc.query().state is State.STOPPED and len(events(mgr, name, 7031)) == 2, 15, "two failures")
    time.sleep(1.2)  # the behaviour under test is the passage of the reset period itself
    svc.start()
    eventually(lambda: len(events(mgr, name, 7031)) == 4, 15, "failures after the reset")
    counts = [int(r[5].split("It has done this ")[1].split(" ")[0]) for r in events(mgr, name, 7031)]
    assert counts == [1, 2, 1, 2]


def test_b114_delay_is_in_milliseconds(mgr, name, svchost, hostlog, made):
    svc = made(name, svchost("--behave", "crash-first"))
    svc.set_failure_actions(actions((RESTART, 700)))
    svc.start()
    eventually(lambda: len(starts(hostlog)) == 2, 10, "the delayed restart")
    crash_at = next(r["t"] for r in hostlog.records() if r["event"] == "crash")
    assert starts(hostlog)[1]["t"] - crash_at >= 0.65


def test_b115_update_semantics(mgr, name, made):
    svc = made(name, "/bin/true")
    svc.set_failure_actions(FailureActions(60, "going down", "notify.sh", (Action(RESTART, 5),)))
    svc.set_failure_actions({"command": "other.sh"})  # actions absent: count and reset kept
    assert svc.failure_actions() == FailureActions(60, "going down", "other.sh", (Action(RESTART, 5),))
    svc.set_failure_actions({"reboot": ""})  # "" deletes the string
    assert svc.failure_actions().reboot_message is None
    svc.set_failure_actions({"actions": [], "reset": 99})  # an empty array deletes reset and actions
    assert svc.failure_actions() == FailureActions(0, None, "other.sh", ())


def test_b116_restart_actions_need_start_access(mgr, name, made):
    made(name, "/bin/true")
    with mgr.open_service(name, ServiceAccess.CHANGE_CONFIG) as h:
        with pytest.raises(ScmError) as e:
            h.set_failure_actions(actions((RESTART, 0)))
        assert e.value.winerror == 5
        h.set_failure_actions(actions((RUN, 0)))  # no restart: CHANGE_CONFIG is enough
    with mgr.open_service(name, ServiceAccess.CHANGE_CONFIG | ServiceAccess.START) as h:
        h.set_failure_actions(actions((RESTART, 0)))


def test_b117_no_failure_actions_for_drivers(mgr, name, made):
    drv = made(name, "/lib/modules/x.ko", service_type=ServiceType.KERNEL_DRIVER)
    with pytest.raises(ScmError) as e:
        drv.set_failure_actions(actions((RESTART, 0)))
    assert e.value.winerror == 1080


def test_b118_queued_restart_survives_a_manual_stop(mgr, name, svchost, hostlog, made):
    """Restarted and stopped by hand before the delay: the queued restart still starts it."""
    svc = made(name, svchost("--behave", "crash-first"))
    svc.set_failure_actions(actions((RESTART, 1500)))
    svc.start()
    hostlog.wait_for(event="crash")
    eventually(lambda: svc.query().state is State.STOPPED, 10, "the crash")
    svc.start()  # by hand, within the delay
    svc.wait(State.RUNNING, 10)
    svc.stop()
    svc.wait(State.STOPPED, 10)
    eventually(lambda: len(starts(hostlog)) == 3, 10, "the queued restart")
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING


def test_b118_disabling_prevents_the_queued_restart(mgr, name, svchost, hostlog, made):
    svc = made(name, svchost("--behave", "crash-first"))
    svc.set_failure_actions(actions((RESTART, 300)))
    svc.start()
    hostlog.wait_for(event="crash")
    svc.update_config(start_type=StartType.DISABLED)
    time.sleep(0.8)  # past the delay: what is checked is that nothing happens
    assert svc.query().state is State.STOPPED and len(starts(hostlog)) == 1


def test_b119_run_command_with_failure_count(mgr, name, svchost, hostlog, made, backend_name, tmp_path, request):
    """RUN_COMMAND runs the recovery program; %1% is the failure count (/fail=%1%)."""
    out = tmp_path / "recovery.txt"
    command = f"/bin/sh -c 'echo fail=%1% >> {out}'"
    svc = made(name, svchost("--behave", "crash"))
    svc.set_failure_actions(actions((RUN, 0), command=command))
    for failure in (1, 2):  # the action does not restart: start it again by hand
        eventually(lambda: svc.query().state is State.STOPPED, 10, "stopped")
        svc.start()
        eventually(lambda n=failure: len(events(mgr, name, 7031)) == n, 15, f"failure {failure}")
    expected = [["/bin/sh", "-c", f"echo fail={n} >> {out}"] for n in (1, 2)]
    if backend_name == "memory":  # the in-process fake records commands instead of running them
        recorded = request.getfixturevalue("memory_scm").scm.runtime.spawner.inner.commands  # behind the wrapper host
        assert [c for c in recorded if c in expected] == expected
    else:
        want = "fail=1\nfail=2\n"
        assert eventually(lambda: out.exists() and out.read_text() == want and want, 10, "the output") == want


def test_reboot_is_refused_and_logged_unless_configured(mgr, name, svchost, made):
    svc = made(name, svchost("--behave", "crash-first"))
    svc.set_failure_actions(actions((REBOOT, 0)))
    svc.start()
    row = eventually(lambda: events(mgr, name, 7032), 10, "7032")[0]
    assert "Restart the machine" in row[5] and "--reboot-command" in row[5]


def test_reboot_runs_the_host_command_when_configured(tmp_path, svchost, hostlog):
    from tests.conftest import Daemon

    marker = tmp_path / "rebooted"
    d = Daemon(tmp_path / "h", "--reboot-command", f"/bin/sh -c 'echo %1% > {marker}'")
    try:
        with d.connect() as m:
            svc = m.create_service("rb", svchost("--behave", "crash-first"))
            svc.set_failure_actions(actions((REBOOT, 0)))
            svc.start()
            assert eventually(lambda: marker.exists() and marker.read_text(), 10, "the host command") == "1\n"
            svc.delete()
    finally:
        assert d.stop() == 0


def test_b120_b86_crash_event_texts(mgr, name, svchost, made):
    svc = made(name, svchost("--behave", "crash-first"))
    svc.start()  # no actions: 7034
    row = eventually(lambda: events(mgr, name, 7034), 10, "7034")[0]
    assert row[5] == f"The {name} service terminated unexpectedly.  It has done this 1 time(s)."
    svc.set_failure_actions(actions((RESTART, 250)))
    svc2 = made(name + "x", svchost("--behave", "crash"))
    svc2.set_failure_actions(actions((RESTART, 250)))
    svc2.start()
    row = eventually(lambda: events(mgr, name + "x", 7031), 10, "7031")[0]
    assert row[5] == (f"The {name}x service terminated unexpectedly.  It has done this 1 time(s).  "
                      "The following corrective action will be taken in 250 milliseconds: Restart the service.")
    assert row[6]["failures"] == 1 and row[6]["action"] == 1


def test_b121_stored_as_registry_binary(mgr, name, made, backend_name, request):
    svc = made(name, "/bin/true")
    svc.set_failure_actions(FailureActions(86400, None, "c.sh", (Action(RESTART, 60000), Action(RUN, 1000))))
    if backend_name == "memory":
        values = request.getfixturevalue("memory_scm").scm.db.read_key(f"Services\\{name}")
    else:
        path = request.getfixturevalue("daemon").home / "services.db"
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT name, type, data FROM reg WHERE key = ?", (f"Services\\{name}",))
            values = {n: (t, d) for n, t, d in rows}
    kind, blob = values["FailureActions"]
    assert kind == 3 and struct.unpack("<5I", blob[:20]) == (86400, 0, 0, 2, 20)
    assert struct.unpack("<4I", blob[20:]) == (1, 60000, 3, 1000)
    assert values["FailureCommand"] == (1, "c.sh")


def test_b122_nothing_configured(mgr, name, made):
    assert made(name, "/bin/true").failure_actions() == FailureActions(0, None, None, ())


def test_crash_loop_leaves_the_scm_responsive(mgr, connect, name, svchost, hostlog, made):
    """A service dying at once with a 0 ms restart keeps restarting; other clients are answered
    promptly throughout."""
    other = made(name + "q", "/bin/true")
    svc = made(name, svchost("--behave", "crash"))
    svc.set_failure_actions(actions((RESTART, 0)))
    svc.start()
    with connect().open_service(name + "q") as probe:
        worst = 0.0
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            t = time.perf_counter()
            probe.query()
            worst = max(worst, time.perf_counter() - t)
    assert len(starts(hostlog)) >= 5
    assert worst < 0.1, f"a status query took {worst * 1000:.1f} ms during the crash loop"
    assert other.query().state is State.STOPPED


def test_event_ids_of_a_service_life(mgr, name, svchost, made):
    """7045 install, 7040 start type change, 7036 running/stopped, 7035 control sent."""
    svc = made(name, svchost())
    svc.update_config(start_type=StartType.AUTO_START)
    svc.start()
    svc.wait(State.RUNNING, 10)
    svc.stop()
    svc.wait(State.STOPPED, 10)
    ids = [r[2] for r in events(mgr, name)]
    assert ids[:2] == [7045, 7040]
    assert {7036, 7035} <= set(ids)
    texts = [r[5] for r in events(mgr, name, 7036)]
    assert texts == [f"The {name} service entered the running state.", f"The {name} service entered the stopped state."]


def test_start_timeout_events_7009_7000(mgr, name, made):
    svc = made(name, "/bin/sleep 60")
    with pytest.raises(ScmError) as e:
        svc.start()
    assert e.value.winerror == 1053
    assert events(mgr, name, 7009) and events(mgr, name, 7000)
    assert "did not respond" in events(mgr, name, 7000)[0][5]


def test_events_wait_returns_when_an_event_arrives(mgr, connect, name, made):
    last = mgr.events(since=-1, limit=1)
    since = last[-1][0] if last else 0
    got: list = []
    waiter = threading.Thread(target=lambda: got.extend(connect().events(since=since, wait=10)))
    t0 = time.monotonic()
    waiter.start()
    made(name, "/bin/true")
    waiter.join(10)
    assert got and got[0][2] == 7045 and time.monotonic() - t0 < 5
