"""The wrapper (issue 5) against the memory and portable SCMs, with real wrapped programs.

Each service is made as ``svcctl create ... binpath= <wrapper>`` plus Parameters values would
make it, and judged by what the program itself records (tests/contract/wrapped.py), by the
files it leaves, and by /proc, never by the wrapper's own claims alone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from svcctl.mgr import Manager, Service
from svcctl.regvalue import REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_SZ
from svcctl.types import Action, ActionType, FailureActions, State
from svcctl.wrapper import wrapper_image_path
from svcctl.wrapper.settings import SYSTEM_PATH
from tests.conftest import alive, eventually, retire

WRAPPED = str(Path(__file__).with_name("wrapped.py"))


class Program:
    """One wrapped service and its program's record."""

    def __init__(self, mgr: Manager, name: str, state: Path) -> None:
        self.mgr, self.name, self.state = mgr, name, state

    def records(self, event: str | None = None) -> list[dict[str, Any]]:
        path = self.state / "log"
        if not path.exists():
            return []
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [r for r in rows if event is None or r.get("event") == event]

    def wait_record(self, event: str, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        return eventually(lambda: (rs := self.records(event)) and len(rs) >= count and rs, timeout, event)

    def open(self) -> Service:
        return self.mgr.open_service(self.name)

    def wrapper_events(self) -> list[str]:
        return [r[5] for r in self.mgr.events(service=self.name, since=-1, limit=200) if r[2] == 7920]


@pytest.fixture
def wrap(mgr: Manager, name: str, tmp_path: Path) -> Iterator[Callable[..., Program]]:
    made: list[str] = []

    def make(behaviour: str, *args: str, exits: dict[str, str] | None = None, **params: Any) -> Program:
        state = tmp_path / f"state{len(made)}"
        state.mkdir()
        svc_name = name + (str(len(made)) if made else "")
        made.append(svc_name)
        mgr.create_service(svc_name, wrapper_image_path()).close()
        values: dict[str, tuple[int, Any] | None] = {
            "Application": (REG_EXPAND_SZ, sys.executable),
            "AppParameters": (REG_EXPAND_SZ, " ".join([WRAPPED, str(state), behaviour, *args])),
            "AppStopMethodConsole": (REG_DWORD, 1500),
            "AppStopMethodWindow": (REG_DWORD, 1500),
        }
        for key, value in params.items():
            if isinstance(value, int):
                values[key] = (REG_DWORD, value)
            elif isinstance(value, tuple):
                values[key] = (REG_MULTI_SZ, value)
            else:
                values[key] = (REG_SZ, value)
        mgr.reg_set(f"Services\\{svc_name}\\Parameters", values)
        if exits:
            mgr.reg_set(f"Services\\{svc_name}\\Parameters\\AppExit", {k: (REG_SZ, v) for k, v in exits.items()})
        return Program(mgr, svc_name, state)

    yield make
    for n in made:
        try:
            retire(mgr.open_service(n), stop_timeout=20)
        except Exception:
            pass


def _state_letter(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def _pending_checkpoints(svc: Service, pending: State, timeout: float = 20) -> set[int]:
    """Every checkpoint the service reports while ``pending``, seen through watch (a long poll
    that returns at each change), until it leaves that state."""
    deadline = time.monotonic() + timeout
    st, seen = svc.query(), set()
    while st.state is pending:
        seen.add(st.checkpoint)
        assert time.monotonic() < deadline, f"still {pending.name} after {timeout} s"
        st = svc.watch(st, 1.0)
    return seen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- running and environment ----------------------------------------------------------------


def test_wrapped_program_runs_with_program_pid_and_default_directory(wrap):
    """RUNNING with the program's own pid; the working directory defaults to the program's
    directory, never the daemon's (seed 000's webmain.py failure)."""
    prog = wrap("env")
    with prog.open() as svc:
        svc.start()
        st = svc.wait(State.RUNNING, 15)
    rec = prog.wait_record("env")[0]
    assert st.pid == rec["pid"]
    assert rec["cwd"] == os.path.dirname(sys.executable)


def test_environment_is_the_system_one_plus_extras(wrap, tmp_path):
    """Exactly the documented system environment, AppEnvironmentExtra (with %VAR% expanded),
    and PYTHONUNBUFFERED for a Python program; nothing leaks from the daemon or the caller."""
    prog = wrap("env", AppEnvironmentExtra=("GREETING=hi", "WHERE=%HOME%/x"), AppDirectory=str(tmp_path))
    with prog.open() as svc:
        svc.start()
        svc.wait(State.RUNNING, 15)
    rec = prog.wait_record("env")[0]
    env = rec["env"]
    assert rec["cwd"] == str(tmp_path)
    assert env["GREETING"] == "hi" and env["WHERE"] == env["HOME"] + "/x"
    assert env["PYTHONUNBUFFERED"] == "1" and env["PATH"] == SYSTEM_PATH
    assert env["SVCCTL_SERVICE_NAME"] == prog.name
    assert "SVCCTL_CHANNEL" not in env and "PYTEST_CURRENT_TEST" not in env
    documented = {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "TZ", "SVCCTL_SERVICE_NAME",
                  "PYTHONUNBUFFERED", "GREETING", "WHERE", "LC_CTYPE"}
    assert set(env) <= documented


def test_app_environment_replaces_everything(wrap):
    prog = wrap("env", AppEnvironment=("ONLY=this",), AppEnvironmentExtra=("MORE=too",))
    with prog.open() as svc:
        svc.start()
        svc.wait(State.RUNNING, 15)
    env = prog.wait_record("env")[0]["env"]
    assert {k: v for k, v in env.items() if k != "LC_CTYPE"} == {"ONLY": "this", "MORE": "too",
                                                                   "PYTHONUNBUFFERED": "1"}


# --- logs -----------------------------------------------------------------------------------


def test_stdout_and_stderr_are_captured(wrap, tmp_path):
    out, err = tmp_path / "logs" / "out.log", tmp_path / "logs" / "err.log"
    prog = wrap("run", AppStdout=str(out), AppStderr=str(err))
    with prog.open() as svc:
        svc.start()
        svc.wait(State.RUNNING, 15)
        eventually(lambda: out.exists() and "hello on stdout" in out.read_text(), 10, "stdout")
        eventually(lambda: err.exists() and "hello on stderr" in err.read_text(), 10, "stderr")
        svc.stop()
        svc.wait(State.STOPPED, 15)


def test_shared_log_file_keeps_both_streams(wrap, tmp_path):
    log = tmp_path / "both.log"
    prog = wrap("run", AppStdout=str(log), AppStderr=str(log), AppTimestampLog=1)
    with prog.open() as svc:
        svc.start()
        svc.wait(State.RUNNING, 15)
        text = eventually(lambda: log.exists() and "stderr" in (t := log.read_text()) and "stdout" in t and t,
                          10, "both streams")
    lines = [ln for ln in text.splitlines() if ln]
    assert all(ln[:4].isdigit() and ln[10] == "T" for ln in lines), lines  # timestamped


def test_rotation_by_size_keeps_the_retention_count(wrap, tmp_path):
    log = tmp_path / "out.log"
    prog = wrap("spew", "3", AppStdout=str(log), AppRotateBytes=256 * 1024, AppRotateKeep=2)
    with prog.open() as svc:
        svc.start()
        svc.wait(State.RUNNING, 15)
        prog.wait_record("spewed")
        eventually(lambda: len(list(tmp_path.glob("out-*.log"))) == 2 and log.exists(), 10, "rotation")
        total = sum(p.stat().st_size for p in tmp_path.glob("out*.log"))
        assert total <= 3 * 256 * 1024  # the rest went with the rotated files beyond the count
        assert all(p.stat().st_size <= 256 * 1024 for p in tmp_path.glob("out*.log"))


def test_rotation_by_age(wrap, tmp_path):
    """AppRotateSeconds: a log older than that is rotated at the next write."""
    log = tmp_path / "out.log"
    prog = wrap("tick", AppStdout=str(log), AppRotateSeconds=1)
    with prog.open() as svc:
        svc.start()
        svc.wait(State.RUNNING, 15)
        rotated = eventually(lambda: list(tmp_path.glob("out-*.log")), 10, "a rotation by age")
        assert "tick 0" in rotated[0].read_text()
        eventually(lambda: log.exists() and "tick" in log.read_text(), 5, "a fresh log")


def test_rotation_on_demand_with_the_user_control(wrap, tmp_path):
    log = tmp_path / "out.log"
    prog = wrap("lines", "5", AppStdout=str(log))
    with prog.open() as svc:
        svc.start()
        svc.wait(State.RUNNING, 15)
        prog.wait_record("written")
        eventually(lambda: log.exists() and "line 4" in log.read_text(), 10, "the lines")
        svc.control(128)
    rotated = eventually(lambda: list(tmp_path.glob("out-*.log")), 10, "the rotated file")
    assert "line 4" in rotated[0].read_text()
    assert log.exists() and log.read_text() == ""


# --- stop chain -----------------------------------------------------------------------------


def test_stop_leaves_no_process_behind_even_escaped_ones(wrap, backend_name):
    """A tree that ignores SIGINT and SIGTERM, with a grandchild that left the session, is gone
    after stop (the chain ends in SIGKILL of the whole tree); STOP_PENDING checkpoints advance."""
    prog = wrap("tree", AppStopMethodConsole=600, AppStopMethodWindow=600)
    with prog.open() as svc:
        svc.start()
        svc.wait(State.RUNNING, 15)
        prog.wait_record("grandchild")
        prog.wait_record("child")
        pids = [r["pid"] for r in prog.records() if r.get("event") in ("parent", "child", "grandchild")]
        contained = "/svcctl-" in Path(f"/proc/{pids[0]}/cgroup").read_text()
        if not contained:  # a process group cannot hold a process that left its session
            pids = pids[:2]
        assert len(pids) == 3 and all(alive(p) for p in pids)
        started = time.monotonic()
        svc.stop()
        checkpoints = _pending_checkpoints(svc, State.STOP_PENDING)
        st = svc.query()
        assert st.state is State.STOPPED and st.win32_exit_code == 0
        assert time.monotonic() - started >= 1.0  # both graceful steps were waited for
        assert len(checkpoints) >= 3, checkpoints
    eventually(lambda: not any(alive(p) for p in pids), 5, "every process of the tree gone")


def test_tree_is_contained_in_a_cgroup_when_the_scm_may_make_one(wrap):
    """With cgroup v2 rights (root here) the program's tree lives in a cgroup of its own, which
    is what catches a grandchild that left the session. Without them: a process group. (The
    program joins the cgroup itself as it starts: checked once the program runs.)"""
    if os.geteuid() != 0:
        pytest.skip("cgroups are made by root or in a delegated subtree")
    prog = wrap("run")
    with prog.open() as svc:
        svc.start()
        pid = svc.wait(State.RUNNING, 15).pid
        prog.wait_record("start")
    cgroup = Path(f"/proc/{pid}/cgroup").read_text().split("0::", 1)[1].split()[0]
    assert "/svcctl-" in cgroup and cgroup.rsplit("/", 1)[1].startswith(prog.name)


def test_graceful_stop_is_a_sigint(wrap):
    prog = wrap("run")
    with prog.open() as svc:
        svc.start()
        svc.wait(State.RUNNING, 15)
        prog.wait_record("start")
        svc.stop()
        st = svc.wait(State.STOPPED, 15)
    assert st.win32_exit_code == 0
    assert [r["sig"] for r in prog.records("signal")] == [signal.SIGINT]


def test_sigterm_follows_when_sigint_is_ignored(wrap):
    prog = wrap("stubborn", "0", AppStopMethodConsole=300)
    with prog.open() as svc:
        svc.start()
        svc.wait(State.RUNNING, 15)
        prog.wait_record("start")
        svc.stop()
        svc.wait(State.STOPPED, 15)
    assert [r["sig"] for r in prog.records("signal")] == [signal.SIGINT, signal.SIGTERM]


# --- exit policy ----------------------------------------------------------------------------


def test_exit_action_stops_with_1066_and_the_exit_code(wrap):
    prog = wrap("exit", "7", exits={"": "Exit"})
    with prog.open() as svc:
        svc.start()  # RUNNING, then STOPPED when the program exits: nothing pending to wait on
        st = eventually(lambda: (s := svc.query()).state is State.STOPPED and s, 15, "the stop")
    assert (st.win32_exit_code, st.service_exit_code) == (1066, 7)
    text = eventually(lambda: [t for t in prog.wrapper_events() if "code 7" in t], 5, "the exit event")[0]
    assert "failing with 7" in text  # the last lines of its standard error


def test_per_code_action_overrides_the_default_and_backoff_is_capped(wrap):
    """AppExit\\5 = Restart wins over Default = Exit; quick failures back off, capped by
    AppThrottleMax; each restart is a new process."""
    prog = wrap("exit", "5", AppThrottle=10000, AppThrottleMax=400, exits={"": "Exit", "5": "Restart"})
    with prog.open() as svc:
        svc.start()
        prog.wait_record("start", count=3, timeout=20)
        assert svc.query().state is State.RUNNING
        delays = [int(t.split("restarting in ")[1].split(" ms")[0]) for t in prog.wrapper_events()
                  if "restarting in" in t]
        starts = prog.records("start")
        assert len({r["pid"] for r in starts}) == len(starts)
        svc.stop()
        svc.wait(State.STOPPED, 15)
    assert len(delays) >= 2 and set(delays) == {400}


def test_restart_delays_double(wrap):
    prog = wrap("exit", "5", AppThrottle=60000, AppThrottleMax=60000)
    with prog.open() as svc:
        svc.start()
        eventually(lambda: len([t for t in prog.wrapper_events() if "restarting in" in t]) >= 2, 15, "two exits")
        delays = [int(t.split("restarting in ")[1].split(" ms")[0]) for t in prog.wrapper_events()
                  if "restarting in" in t]
        svc.stop()
        svc.wait(State.STOPPED, 15)
    assert delays[:2] == [1000, 2000]


def test_ignore_keeps_the_service_running(wrap):
    prog = wrap("exit", "0", exits={"0": "Ignore"})
    with prog.open() as svc:
        svc.start()
        eventually(lambda: [t for t in prog.wrapper_events() if "Ignore" in t], 10, "the ignored exit")
        assert svc.query().state is State.RUNNING
        svc.stop()
        assert svc.wait(State.STOPPED, 10).win32_exit_code == 0


def test_suicide_is_a_crash_and_fires_failure_actions(wrap):
    prog = wrap("exit", "9", exits={"": "Suicide"})
    with prog.open() as svc:
        svc.set_failure_actions(FailureActions(reset_period=60, actions=[Action(ActionType.RESTART, 50)]))
        svc.start()
        prog.wait_record("start", count=2, timeout=20)  # the SCM restarted it
        crashes = [r for r in prog.mgr.events(service=prog.name, since=-1, limit=100) if r[2] == 7031]
        assert crashes
        svc.update_config(start_type=4)  # disabled: no more restarts
        eventually(lambda: svc.query().state is State.STOPPED, 15, "the last crash")


# --- readiness, health, pause ---------------------------------------------------------------


def test_ready_probe_holds_start_pending_until_the_program_answers(wrap):
    port = _free_port()
    prog = wrap("serve", str(port), "1.0", AppReadyProbe=f"http://127.0.0.1:{port}/", AppReadyTimeout=15000)
    with prog.open() as svc:
        svc.start()
        seen = _pending_checkpoints(svc, State.START_PENDING)
        st = svc.query()
        assert st.state is State.RUNNING
        assert len(seen) >= 3  # checkpoints advanced while it waited
        listening = prog.wait_record("listening")[0]
        assert listening  # RUNNING came after the program said it listens
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).status == 200


def test_command_probe_that_never_passes_fails_the_start_with_1070(wrap, tmp_path):
    """A cmd: ready probe is a program whose exit code decides; never ready within AppReadyTimeout:
    the start fails with ERROR_SERVICE_START_HANG and the program's tree is gone."""
    prog = wrap("run", AppReadyProbe=f"cmd:/bin/sh -c 'echo probed >> {tmp_path}/probes; exit 1'",
                AppReadyTimeout=600)
    with prog.open() as svc:
        svc.start()
        st = svc.wait(State.STOPPED, 15)
    assert st.win32_exit_code == 1070
    assert (tmp_path / "probes").read_text().count("probed") >= 2
    pid = prog.wait_record("start")[0]["pid"]
    eventually(lambda: not alive(pid), 5, "the program gone")
    assert any("was not ready within 600 ms" in t for t in prog.wrapper_events())


def test_program_exiting_during_start_fails_the_start_with_its_code_and_stderr(wrap):
    prog = wrap("exit", "3", AppReadyProbe="tcp:127.0.0.1:1")
    with prog.open() as svc:
        svc.start()
        st = svc.wait(State.STOPPED, 15)
    assert (st.win32_exit_code, st.service_exit_code) == (1066, 3)
    assert any("failing with 3" in t and "the start failed" in t for t in prog.wrapper_events())


def test_unhealthy_program_is_restarted(wrap):
    port = _free_port()
    prog = wrap("run", AppHealthProbe=f"tcp:127.0.0.1:{port}", AppHealthInterval=100, AppHealthRetries=2,
                AppThrottle=0)
    with prog.open() as svc:
        svc.start()
        prog.wait_record("start", count=2, timeout=20)
        assert any("unhealthy" in t for t in prog.wrapper_events())
        svc.stop()
        svc.wait(State.STOPPED, 15)


def test_pause_suspends_and_continue_resumes_the_tree(wrap):
    prog = wrap("run")
    with prog.open() as svc:
        svc.start()
        pid = svc.wait(State.RUNNING, 15).pid
        prog.wait_record("start")
        assert svc.pause().state is State.PAUSED
        eventually(lambda: _frozen(pid), 5, "the program suspended")
        assert svc.continue_().state is State.RUNNING
        eventually(lambda: not _frozen(pid), 5, "the program resumed")


def _frozen(pid: int) -> bool:
    if _state_letter(pid) == "T":
        return True
    try:  # a frozen cgroup leaves its members sleeping in the freezer
        cgroup = Path(f"/proc/{pid}/cgroup").read_text().split("0::", 1)[1].split()[0]
        mount = next(ln.split()[4] for ln in Path("/proc/self/mountinfo").read_text().splitlines()
                     if ln.split(" - ")[1].startswith("cgroup2"))
        return (Path(mount + cgroup) / "cgroup.freeze").read_text().strip() == "1"
    except (IndexError, StopIteration, FileNotFoundError):
        return False


def test_program_that_cannot_start_says_why(wrap, tmp_path):
    prog = wrap("run", AppDirectory=str(tmp_path / "missing"))
    with prog.open() as svc:
        svc.start()
        st = svc.wait(State.STOPPED, 15)
    assert st.win32_exit_code == 267  # ERROR_DIRECTORY
    assert any("missing" in t for t in prog.wrapper_events())


@pytest.mark.parametrize("backend_name", ["portable"])
def test_wrapped_program_is_the_daemons_child_no_wrapper_process(wrap, daemon):
    """Issue 5.8: no interpreter per wrapped program: the program's parent is the daemon."""
    prog = wrap("run")
    with prog.open() as svc:
        svc.start()
        pid = svc.wait(State.RUNNING, 15).pid
    with open(f"/proc/{pid}/stat") as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    assert ppid == daemon.proc.pid
