"""StartService and the service side of starting (spec 1.3, B42-B57), on both backends."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from svcctl.errors import ScmError
from svcctl.svc import Dispatcher, run
from svcctl.svc import channel as svc_channel
from svcctl.types import Control, ServiceAccess, ServiceType, StartType, State
from tests.conftest import PIPE_TIMEOUT_MS, Daemon, eventually

SHARE = ServiceType.WIN32_SHARE_PROCESS


def _code(exc: pytest.ExceptionInfo[ScmError]) -> int:
    return exc.value.winerror


# --- B42-B46: StartService's own refusals -------------------------------------------------------


def test_b42_start_needs_service_start_right(mgr, name, svchost, cleanup):
    """StartService on a handle without SERVICE_START fails ERROR_ACCESS_DENIED (5)."""
    cleanup(mgr.create_service(name, svchost()))
    all_but_start = ServiceAccess.ALL_ACCESS & ~ServiceAccess.START
    with mgr.open_service(name, access=all_but_start) as h, pytest.raises(ScmError) as exc:
        h.start()
    assert _code(exc) == 5
    with mgr.open_service(name, access=ServiceAccess.QUERY_STATUS) as h, pytest.raises(ScmError) as exc:
        h.start()
    assert _code(exc) == 5
    with mgr.open_service(name) as h:
        assert (h.query().state, h.query().pid) == (State.STOPPED, 0)
    with mgr.open_service(name, access=ServiceAccess.START | ServiceAccess.QUERY_STATUS) as h:
        h.start()  # START alone is enough
        assert h.wait(State.RUNNING, 10).state is State.RUNNING


def test_b43_disabled_1058(mgr, name, svchost, hostlog, cleanup):
    """Starting a disabled service fails 1058, again on retry; it stays STOPPED with pid 0."""
    svc = cleanup(mgr.create_service(name, svchost(), start_type=StartType.DISABLED))
    for _ in range(2):
        with pytest.raises(ScmError) as exc:
            svc.start()
        assert _code(exc) == 1058
        st = svc.query()
        assert (st.state, st.pid) == (State.STOPPED, 0)
    assert hostlog.records() == []  # nothing was launched


def test_b44_marked_for_delete_1072(mgr, name, svchost, hostlog):
    """StartService on a service marked for deletion fails ERROR_SERVICE_MARKED_FOR_DELETE (1072)."""
    svc = mgr.create_service(name, svchost())
    other = mgr.open_service(name)
    svc.delete()
    with pytest.raises(ScmError) as exc:
        other.start()
    assert _code(exc) == 1072
    assert (other.query().state, other.query().pid) == (State.STOPPED, 0)
    assert hostlog.records() == []
    svc.close()
    other.close()


@pytest.mark.parametrize("where", ["start_pending", "running", "paused", "stop_pending"])
def test_b45_not_stopped_1056(mgr, name, extra, gates, hostlog, cleanup, where):
    """StartService on a service in any state but STOPPED fails ERROR_SERVICE_ALREADY_RUNNING (1056)."""
    hold = {"start_pending": "start", "paused": "continue", "stop_pending": "stop"}.get(where, "none")
    svc = cleanup(mgr.create_service(name, extra("--hold", hold)))
    svc.start()
    if where == "start_pending":
        hostlog.wait_for(event="start")
        eventually(lambda: svc.query().checkpoint == 1, 10, "the service's START_PENDING report")
    else:
        assert svc.wait(State.RUNNING, 10).state is State.RUNNING
    if where == "paused":
        svc.pause()
        assert svc.wait(State.PAUSED, 10).state is State.PAUSED
    if where == "stop_pending":
        svc.stop()
        assert svc.query().state is State.STOP_PENDING
    expected = {"start_pending": State.START_PENDING, "running": State.RUNNING,
                "paused": State.PAUSED, "stop_pending": State.STOP_PENDING}[where]
    assert svc.query().state is expected
    with pytest.raises(ScmError) as exc:
        svc.start()
    assert _code(exc) == 1056
    assert svc.query().state is expected
    assert len([r for r in hostlog.records() if r["event"] == "start"]) == 1  # no second ServiceMain


@pytest.mark.parametrize("missing", ["file", "dir"])
def test_b46_binary_not_found(mgr, name, tmp_path, cleanup, missing):
    """A missing image fails 2 (file) / 3 (path); a retry fails identically; STOPPED with pid 0."""
    image = tmp_path / "nothere.exe" if missing == "file" else tmp_path / "nodir" / "nothere.exe"
    svc = cleanup(mgr.create_service(name, f"{image} --flag"))
    codes = []
    for _ in range(2):
        with pytest.raises(ScmError) as exc:
            svc.start()
        codes.append(_code(exc))
        st = svc.query()
        assert (st.state, st.pid, st.controls_accepted) == (State.STOPPED, 0, 0)
    assert codes == ([2, 2] if missing == "file" else [3, 3])


def test_b46_bare_name_not_on_path(mgr, name, cleanup):
    """An image name found nowhere fails ERROR_FILE_NOT_FOUND (2), identically on retry."""
    svc = cleanup(mgr.create_service(name, "svcctl-no-such-program-b46"))
    for _ in range(2):
        with pytest.raises(ScmError) as exc:
            svc.start()
        assert _code(exc) == 2
        assert (svc.query().state, svc.query().pid) == (State.STOPPED, 0)


# --- B47: the image never connects ------------------------------------------------------------


def test_b47_plain_program_times_out_1053(mgr, name, cleanup):
    """A program that never calls the dispatcher fails 1053 after ServicesPipeTimeout; STOPPED, pid 0."""
    svc = cleanup(mgr.create_service(name, "/bin/sleep 60"))
    t0 = time.monotonic()
    with pytest.raises(ScmError) as exc:
        svc.start()
    elapsed = time.monotonic() - t0
    assert _code(exc) == 1053
    assert PIPE_TIMEOUT_MS / 1000 * 0.9 <= elapsed < PIPE_TIMEOUT_MS / 1000 + 3
    st = svc.query()
    assert (st.state, st.pid, st.controls_accepted) == (State.STOPPED, 0, 0)
    # event 7009: timeout (ServicesPipeTimeout ms) waiting for the service to connect
    [event] = eventually(lambda: [e for e in mgr.events(service=name) if e[2] == 7009], 10, "event 7009")
    assert str(PIPE_TIMEOUT_MS) in event[5] and name in event[5]


@pytest.mark.parametrize("image", ["svchost-plain", "/bin/true"])
def test_b47_image_exits_at_once_1053(mgr, name, svchost, cleanup, image):
    """An image that exits without connecting makes StartService fail 1053; STOPPED with pid 0."""
    svc = cleanup(mgr.create_service(name, svchost("--behave", "plain") if image == "svchost-plain" else image))
    with pytest.raises(ScmError) as exc:
        svc.start()
    assert _code(exc) == 1053
    st = svc.query()
    assert (st.state, st.pid) == (State.STOPPED, 0)
    with pytest.raises(ScmError) as exc:  # and again: the failure leaves nothing behind
        svc.start()
    assert _code(exc) == 1053


# --- B48, B49: what StartService returns and what ServiceMain gets ---------------------------------


def test_b48_returns_before_running_start_pending_2000(mgr, name, extra, gates, hostlog, cleanup):
    """StartService returns once ServiceMain runs: START_PENDING, controls 0, checkpoint 0, hint 2000."""
    svc = cleanup(mgr.create_service(name, extra("--hold", "main")))
    svc.start()  # ServiceMain is held before it reports anything: this must not block
    hostlog.wait_for(event="start")
    st = svc.query()
    assert (st.state, st.controls_accepted, st.checkpoint, st.wait_hint) == (State.START_PENDING, 0, 0, 2000)
    gates.open("main")
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING


def test_b48_start_does_not_wait_for_slow_start(mgr, name, svchost, hostlog, cleanup):
    """StartService of a slow starter returns while it is still START_PENDING."""
    svc = cleanup(mgr.create_service(name, svchost("--behave", "slow-start")))
    svc.start()
    assert svc.query().state is State.START_PENDING
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING


def test_b49_service_main_arguments(mgr, name, svchost, hostlog, cleanup):
    """ServiceMain gets argv[0] = key name then the StartService args; ImagePath args go to main only."""
    svc = cleanup(mgr.create_service(name, svchost("--name", "TableEntry", "--code", "0")))
    with mgr.open_service(name.upper()) as upper:  # opened by another spelling: argv[0] is the key name
        upper.start("alpha", "beta gamma", "")
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING
    assert hostlog.wait_for(event="start")["argv"] == [name, "alpha", "beta gamma", ""]
    svc.stop()
    assert svc.wait(State.STOPPED, 10).state is State.STOPPED
    svc.start()  # no arguments: argc == 1
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING
    starts = eventually(lambda: [r for r in hostlog.records() if r["event"] == "start"][1:], 10, "second start")
    assert starts[0]["argv"] == [name]
    # Driver services receive no arguments (B49): drivers cannot be started by this SCM, not tested.


# --- B51: the start lock ------------------------------------------------------------------------


def test_b51_starts_serialized_until_running(tmp_path, svchost, hostlog):
    """With the global start lock, a second StartService waits until the first service is RUNNING."""
    d = Daemon(tmp_path / "h", "--serialize-starts", "--pipe-timeout", "3000")
    m1 = m2 = None
    try:
        m1, m2 = d.connect(), d.connect()
        slow = m1.create_service("b51slow", svchost("--behave", "slow-start", "--name", "slow"))
        fast = m2.create_service("b51fast", svchost("--name", "fast"))
        errors: list[BaseException] = []

        def start_slow() -> None:
            try:
                slow.start()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)

        t = threading.Thread(target=start_slow)
        t.start()
        slow_rec = hostlog.wait_for(event="start", name="slow")
        fast.start()
        returned = time.time()
        assert slow.query().state is State.RUNNING  # StartService did not return before that
        fast_rec = hostlog.wait_for(event="start", name="fast")
        t.join(10)
        assert not errors
        # slow-start reports three checkpoints 0.2 s apart before RUNNING
        assert fast_rec["t"] >= slow_rec["t"] + 0.55
        assert returned >= slow_rec["t"] + 0.55
        for svc in (slow, fast):
            assert svc.wait(State.RUNNING, 10).state is State.RUNNING
            svc.stop()
            assert svc.wait(State.STOPPED, 10).state is State.STOPPED
            svc.delete()
            svc.close()
    finally:
        for m in (m1, m2):
            if m is not None:
                m.disconnect()
        assert d.stop() == 0


# --- B54-B56: the dispatcher and shared processes ------------------------------------------------


def test_b54_share_process_services_share_one_process(mgr, name, svchost, hostlog, cleanup):
    """Two SHARE_PROCESS services with the same ImagePath run in one process (same pid)."""
    a, b = name + "a", name + "b"
    image = svchost("--name", a, "--name", b)
    sa = cleanup(mgr.create_service(a, image, service_type=SHARE))
    sb = cleanup(mgr.create_service(b, image, service_type=SHARE))
    sa.start()
    assert sa.wait(State.RUNNING, 10).state is State.RUNNING
    sb.start()
    assert sb.wait(State.RUNNING, 10).state is State.RUNNING
    assert sa.query().pid == sb.query().pid != 0
    assert sa.query().service_type == sb.query().service_type == SHARE
    assert hostlog.wait_for(event="start", name=b)["pid"] == hostlog.wait_for(event="start", name=a)["pid"]


def test_b55_dispatcher_outside_scm_1063(monkeypatch):
    """StartServiceCtrlDispatcher in a process not started by the SCM fails 1063."""
    monkeypatch.delenv(svc_channel.ENV_CHANNEL, raising=False)
    if sys.platform == "win32":  # in a fresh process: Wine answers 1056 to any later call in one
        code = ("from svcctl.errors import ScmError\nfrom svcctl.svc import Dispatcher, run\n"
                "for f in (lambda: run(table={'x': lambda d, a: None}), Dispatcher({'x': lambda d, a: None}).run):\n"
                "    try:\n        f()\n    except ScmError as e:\n        print(e.winerror)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.stdout.split() == ["1063", "1063"], out.stderr
        return
    with pytest.raises(ScmError) as exc:
        run(table={"x": lambda d, argv: None})
    assert _code(exc) == 1063
    with pytest.raises(ScmError) as exc:
        Dispatcher({"x": lambda d, argv: None}).run()
    assert _code(exc) == 1063


def test_b55_malformed_table_13(mgr, name, extra, hostlog, cleanup):
    """StartServiceCtrlDispatcher with a malformed table fails ERROR_INVALID_DATA (13)."""
    svc = cleanup(mgr.create_service(name, extra("--behave", "bad-table")))
    svc.start()  # after the refused tables the image calls the dispatcher properly
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING
    codes = [r["code"] for r in hostlog.records() if r["event"] == "bad-table"]
    assert codes == [13, 13]


def test_b55_second_dispatcher_call_1056(mgr, name, extra, hostlog, cleanup):
    """A second StartServiceCtrlDispatcher call in the same process fails 1056."""
    svc = cleanup(mgr.create_service(name, extra("--behave", "double-dispatch")))
    svc.start()
    assert hostlog.wait_for(event="dispatch2")["code"] == 1056
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING


def test_b55_dispatcher_returns_when_all_stopped(mgr, name, extra, hostlog, cleanup):
    """The dispatcher returns only after every service of its process has reported STOPPED.

    "Returns" means the process's main goes on (here: 0.2 s of cleanup, then it exits by itself).
    """
    a, b = name + "a", name + "b"
    image = extra("--name", a, "--name", b)
    sa = cleanup(mgr.create_service(a, image, service_type=SHARE))
    sb = cleanup(mgr.create_service(b, image, service_type=SHARE))
    for s in (sa, sb):
        s.start()
        assert s.wait(State.RUNNING, 10).state is State.RUNNING
    pid = sb.query().pid
    assert sa.query().pid == pid
    sa.stop()
    assert sa.wait(State.STOPPED, 10).state is State.STOPPED
    assert sb.interrogate().state is State.RUNNING  # the dispatcher still serves b
    assert sb.query().pid == pid
    assert not [r for r in hostlog.records() if r["event"] == "dispatcher-returned"]
    sb.stop()
    assert sb.wait(State.STOPPED, 10).state is State.STOPPED
    hostlog.wait_for(event="dispatcher-returned")
    hostlog.wait_for(3, event="cleanup-done")


def test_b56_start_service_not_in_shared_table_1083(mgr, name, svchost, hostlog, cleanup):
    """Starting a SHARE_PROCESS service its (running) image does not implement fails 1083."""
    a, b, c = name + "a", name + "b", name + "c"
    image = svchost("--name", a, "--name", b)
    sa = cleanup(mgr.create_service(a, image, service_type=SHARE))
    sc = cleanup(mgr.create_service(c, image, service_type=SHARE))
    sa.start()
    assert sa.wait(State.RUNNING, 10).state is State.RUNNING
    with pytest.raises(ScmError) as exc:
        sc.start()
    assert _code(exc) == 1083
    st = sc.query()
    assert (st.state, st.pid) == (State.STOPPED, 0)
    assert sa.query().state is State.RUNNING  # the host is not harmed


def test_b56_start_service_not_in_fresh_shared_table_1083(mgr, name, svchost, cleanup):
    """A SHARE_PROCESS service whose freshly launched image does not list it fails 1083."""
    image = svchost("--name", name + "x", "--name", name + "y")
    sc = cleanup(mgr.create_service(name, image, service_type=SHARE))
    with pytest.raises(ScmError) as exc:
        sc.start()
    assert _code(exc) == 1083
    assert (sc.query().state, sc.query().pid) == (State.STOPPED, 0)


def test_b56_register_handler_unknown_name_1083(mgr, name, extra, hostlog, cleanup):
    """RegisterServiceCtrlHandlerEx for a name not in the dispatch table fails 1083."""
    a = name + "a"
    svc = cleanup(mgr.create_service(a, extra("--behave", "bad-register", "--name", a, "--name", name + "b"),
                                     service_type=SHARE))
    svc.start()
    assert hostlog.wait_for(event="register")["code"] == 1083
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING


# --- B57: ServiceMain returns without STOPPED -------------------------------------------------------


def test_b57_service_main_returns_without_stopped(mgr, name, extra, hostlog, cleanup):
    """ServiceMain returning without STOPPED leaves the service RUNNING in a live process; stop works."""
    svc = cleanup(mgr.create_service(name, extra("--behave", "detach")))
    svc.start()
    assert svc.wait(State.RUNNING, 10).state is State.RUNNING
    hostlog.wait_for(event="main-returned")
    st = svc.interrogate()  # the dispatcher (process) is still alive and answers
    assert st.state is State.RUNNING and st.pid != 0
    svc.control(129)
    hostlog.wait_for(event="control", code=129)
    assert svc.query().state is State.RUNNING
    svc.stop()
    st = svc.wait(State.STOPPED, 10)
    assert (st.state, st.win32_exit_code, st.pid) == (State.STOPPED, 0, 0)


# --- starting and controlling many at once --------------------------------------------------------


def test_start_many_and_control_many_answer_each_call_on_its_own(mgr, name, svchost, cleanup):
    """Manager.start_many / control_many: every call in flight together (portable), each with its
    own result in order; one refusal (1058, 1062) does not hold back or spoil the others."""
    ok = [cleanup(mgr.create_service(f"{name}{i}", svchost())) for i in range(6)]
    disabled = cleanup(mgr.create_service(f"{name}x", svchost(), start_type=StartType.DISABLED))
    batch = [*ok[:3], disabled, *ok[3:]]
    results = mgr.start_many(batch)
    assert [r.winerror if r else 0 for r in results] == [0, 0, 0, 1058, 0, 0, 0]
    pids = {svc.wait(State.RUNNING, 15).pid for svc in ok}
    assert 0 not in pids and len(pids) == len(ok)  # each runs in a process of its own
    again = mgr.start_many(ok[:2])
    assert [r.winerror if r else 0 for r in again] == [1056, 1056]
    statuses = mgr.control_many(batch, Control.STOP)
    stopping = (State.STOP_PENDING, State.STOPPED)
    assert [s.winerror if isinstance(s, ScmError) else s.state in stopping for s in statuses] == [
        True, True, True, 1062, True, True, True,
    ]
    for svc in ok:
        assert svc.wait(State.STOPPED, 15).state is State.STOPPED
