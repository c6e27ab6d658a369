"""Boot order (B123-B127), hung starts (B52), stop with dependents (B107) and shutdown (B132-B136).

Orders are read from the services' own start/stop timestamps, never from the daemon's claims.
On the portable backend "boot" is a real daemon restart on the same home.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from svcctl.errors import ScmError
from svcctl.mgr import Manager
from svcctl.types import Accept, ErrorControl, ServiceType, StartType, State
from tests.conftest import Daemon, HostLog, eventually
from tests.contract import svc_extra

AUTO, DEMAND = StartType.AUTO_START, StartType.DEMAND_START


class Machine:
    """An SCM that can be rebooted: a MemoryScm's boot(), or a daemon restarted on its home."""

    def __init__(self, backend: str, home: Path, *flags: str) -> None:
        self.backend, self.home, self.flags = backend, home, flags
        self.memory: MemoryScm | None = None
        self.daemon: Daemon | None = None
        if backend == "memory":
            from svcctl.mgr.memory import MemoryScm
            from svcctl.scm.runtime import Settings

            self.memory = MemoryScm(Settings(pipe_timeout_ms=3000, hung_start_ms=800, delayed_start_ms=400))
        else:
            self.daemon = Daemon(home, "--no-boot", *flags)
        self.mgr = self._connect()

    def _connect(self) -> Manager:
        if self.memory is not None:
            return Manager.connect(backend=self.memory.connect())
        assert self.daemon is not None
        return self.daemon.connect()

    def reboot(self) -> None:
        if self.memory is not None:
            self.memory.boot()
            return
        assert self.daemon is not None
        self.mgr.disconnect()
        assert self.daemon.stop() == 0
        self.daemon = Daemon(self.home, *self.flags)
        self.mgr = self._connect()

    def close(self) -> None:
        self.mgr.disconnect()
        if self.memory is not None:
            self.memory.shutdown()
        elif self.daemon is not None:
            assert self.daemon.stop() == 0


@pytest.fixture
def machine(backend_name: str, tmp_path: Path) -> Iterator[Machine]:
    m = Machine(backend_name, tmp_path / "home", "--pipe-timeout", "3000", "--hung-start", "800",
                "--delayed-start", "400", "--wait-to-kill", "3000")
    yield m
    m.close()


def first(hostlog: HostLog, event: str) -> dict[str, float]:
    """name -> time of the first ``event`` each service logged itself."""
    out: dict[str, float] = {}
    for r in hostlog.records():
        if r["event"] == event:
            out.setdefault(r["name"], r["t"])
    return out


def make(mgr: Manager, svchost, name: str, start: StartType = AUTO, group: str | None = None,
         deps: list[str] | None = None, behave: str = "normal", tag: bool = False) -> None:
    # each service is its own image entry (--name) so its log lines name it
    mgr.create_service(name, svchost("--name", name, "--behave", behave), start_type=start, group=group,
                       dependencies=deps, tag=tag).close()


def test_b123_b124_b125_load_order(machine, svchost, hostlog):
    """Listed groups in List order (tags first, in GroupOrderList order), then unlisted groups,
    then no group; a demand-start dependency of an auto-start service is started too."""
    mgr = machine.mgr
    mgr.set_group_order(["Early", "Late"])
    make(mgr, svchost, "late1", group="Late")
    make(mgr, svchost, "early_b", group="Early", tag=True)  # tag 1
    make(mgr, svchost, "early_a", group="Early", tag=True)  # tag 2
    make(mgr, svchost, "other1", group="Unlisted")
    make(mgr, svchost, "plain1")
    make(mgr, svchost, "needed", start=DEMAND)  # not auto, but an auto service depends on it
    make(mgr, svchost, "needy", group="Late", deps=["needed"])
    make(mgr, svchost, "idle", start=DEMAND)  # nobody needs it: stays stopped
    assert mgr.group_order() == ["Early", "Late"]
    mgr.set_tag_order("Early", [2, 1])
    assert mgr.tag_order("Early") == [2, 1]
    machine.reboot()
    names = ["late1", "early_b", "early_a", "other1", "plain1", "needed", "needy"]
    eventually(lambda: set(names) <= set(first(hostlog, "start")), 20, "every boot service")
    t = first(hostlog, "start")
    assert "idle" not in t
    assert t["early_a"] <= t["early_b"]  # tag 2 is listed first in the tag vector
    assert max(t["early_a"], t["early_b"]) < min(t["late1"], t["needy"])  # group order
    assert max(t["late1"], t["needy"]) < t["other1"] < t["plain1"]  # unlisted, then no group
    assert t["needed"] < t["needy"]  # dependencies first (B50)
    with machine.mgr.open_service("needed") as dep:  # the manager of the rebooted SCM
        assert dep.query().state is State.RUNNING


def test_boot_starts_a_stage_concurrently(machine, svchost, hostlog):
    """Independent services start together: three slow starters overlap instead of queueing."""
    for n in ("slow1", "slow2", "slow3"):
        make(machine.mgr, svchost, n, behave="slow-start")  # ~0.6 s in START_PENDING each
    machine.reboot()
    eventually(lambda: len(first(hostlog, "start")) == 3, 20, "three starts")
    t = sorted(first(hostlog, "start").values())
    assert t[-1] - t[0] < 0.5


def test_b127_delayed_auto_start_after_the_others(machine, svchost, hostlog):
    mgr = machine.mgr
    make(mgr, svchost, "prompt")
    make(mgr, svchost, "later")
    with mgr.open_service("later") as svc:
        svc.set_delayed_auto_start(True)
    machine.reboot()
    eventually(lambda: {"prompt", "later"} <= set(first(hostlog, "start")), 20, "both")
    t = first(hostlog, "start")
    assert t["later"] - t["prompt"] >= 0.3  # the delay (400 ms here) after the boot set


def test_b58_delayed_service_started_by_hand_starts_at_once(machine, svchost, hostlog):
    mgr = machine.mgr
    make(mgr, svchost, "later")
    with mgr.open_service("later") as svc:
        svc.set_delayed_auto_start(True)
        svc.start()
        assert svc.wait(State.RUNNING, 10).state is State.RUNNING


def test_b52_hung_start_is_ended_with_1070(machine, tmp_path, hostlog):
    """A START_PENDING service that stops reporting progress is logged (7022) and stopped."""
    gate = svc_extra.Gates(tmp_path / "gate")
    mgr = machine.mgr
    svc = mgr.create_service("hangs", svc_extra.binpath(hostlog.path, gate.prefix, "--hold", "start"))
    svc.start()
    st = eventually(lambda: (s := svc.query()).state is State.STOPPED and s, 15, "the hang to be noticed")
    assert st.win32_exit_code == 1070
    assert [r for r in mgr.events(service="hangs", since=-1, limit=100) if r[2] == 7022]
    gate.open("start")


def test_b52_a_start_that_keeps_reporting_progress_is_not_hung(machine, tmp_path, hostlog):
    """Each START_PENDING report re-arms the hang timer: a start that reports every 0.4 s with a
    0.2 s wait hint (hung after 0.8 + 0.2 s of silence here), from its first report on, runs for
    2.4 s and still starts."""
    mgr = machine.mgr
    svc = mgr.create_service("slow", svc_extra.binpath(hostlog.path, tmp_path / "gate", "--behave", "slow-start",
                                                       "--code", "6"))
    svc.start()
    assert svc.wait(State.RUNNING, 15).state is State.RUNNING
    assert [e["checkpoint"] for e in hostlog.records() if e["event"] == "checkpoint"] == [2, 3, 4, 5, 6, 7]
    assert not [r for r in mgr.events(service="slow", since=-1, limit=100) if r[2] == 7022]


def test_b52_a_shorter_wait_hint_brings_the_hang_closer(machine, tmp_path, hostlog):
    """The hang deadline follows the latest report: 3.2 s after a report with a 10 s hint (by then
    the first deadline, 2.8 s after StartService, has passed), a report with hint 0 leaves the
    start hung 0.8 s later (this machine's hung-start time), not 10.8 s after the first."""
    gate = svc_extra.Gates(tmp_path / "gate")
    mgr = machine.mgr
    svc = mgr.create_service("shrinks", svc_extra.binpath(hostlog.path, gate.prefix, "--behave", "shrink-hint",
                                                          "--code", "3200", "--hold", "start"))
    svc.start()
    eventually(lambda: [e for e in hostlog.records() if e["event"] == "checkpoint"], 10, "the second report")
    reported = time.monotonic()
    st = eventually(lambda: (s := svc.query()).state is State.STOPPED and s, 15, "the hang to be noticed")
    assert time.monotonic() - reported < 4.0, "hung at the first report's deadline, not the latest"
    assert st.win32_exit_code == 1070
    gate.open("start")


def test_b107_stop_with_dependents_in_reverse_start_order(machine, svchost, hostlog):
    mgr = machine.mgr
    make(mgr, svchost, "base", start=DEMAND)
    make(mgr, svchost, "mid", start=DEMAND, deps=["base"])
    make(mgr, svchost, "top", start=DEMAND, deps=["mid"])
    with mgr.open_service("top") as top:
        top.start()  # starts base and mid first (B50)
        top.wait(State.RUNNING, 10)
    with mgr.open_service("base") as base:
        with pytest.raises(ScmError) as e:
            base.stop()
        assert e.value.winerror == 1051  # B65
        assert [d.name for d in base.dependents()] == ["top", "mid"]
    st = mgr.stop_with_dependents("base", timeout=20)
    assert st.state is State.STOPPED
    t = first(hostlog, "stop")
    assert t["top"] < t["mid"] < t["base"]


@pytest.mark.parametrize("backend_name", ["portable"])
def test_b132_b136_shutdown_phases(backend_name, tmp_path, hostlog):
    """SIGTERM: PRESHUTDOWN to those accepting it, SHUTDOWN to the others, 1115 for new calls,
    a service that never stops is killed after WaitToKillServiceTimeout, nothing is left."""
    gate = svc_extra.Gates(tmp_path / "gate")
    accepts_pre = int(Accept.STOP | Accept.PRESHUTDOWN)
    accepts_shut = int(Accept.STOP | Accept.SHUTDOWN)
    d = Daemon(tmp_path / "h", "--wait-to-kill", "1500", "--pipe-timeout", "3000")
    mgr = d.connect()
    specs = {
        "pre": svc_extra.binpath(hostlog.path, gate.prefix, "--name", "pre", "--accepts", str(accepts_pre)),
        "shut": svc_extra.binpath(hostlog.path, gate.prefix, "--name", "shut", "--accepts", str(accepts_shut)),
        "stuck": svc_extra.binpath(hostlog.path, gate.prefix, "--name", "stuck", "--accepts", str(accepts_shut),
                                   "--behave", "ignore-stop", "--hold", "stop"),
    }
    pids = {}
    for n, binpath in specs.items():
        with mgr.create_service(n, binpath, service_type=ServiceType.WIN32_OWN_PROCESS) as svc:
            svc.set_preshutdown_timeout(1000)
            svc.start()
            pids[n] = svc.wait(State.RUNNING, 10).pid
    late = d.connect()
    d.proc.send_signal(signal.SIGTERM)
    controls = lambda: {r["name"]: r["code"] for r in hostlog.records() if r["event"] == "control"}  # noqa: E731
    eventually(lambda: len(controls()) == 3, 10, "the shutdown controls")
    assert controls() == {"pre": 15, "shut": 5, "stuck": 5}
    with pytest.raises(ScmError) as e:
        late.list_services()
    assert e.value.winerror == 1115  # B136
    started = time.monotonic()
    assert d.proc.wait(15) == 0
    assert time.monotonic() - started < 5
    for pid in pids.values():
        assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True




def _tree(machine: Machine, request, key: str) -> dict:
    if machine.memory is not None:
        return machine.memory.scm.db.read_key(key)
    import sqlite3

    with sqlite3.connect(f"file:{machine.home / 'services.db'}?mode=ro", uri=True) as db:
        return {n: (t, d) for n, t, d in db.execute("SELECT name, type, data FROM reg WHERE key = ?", (key,))}


def test_b128_severe_failure_reverts_to_last_known_good(machine, svchost, hostlog, request):
    """A SEVERE service that fails at boot sends the SCM back to the configuration that last
    booted cleanly, and it boots again; the failed configuration is kept, not lost."""
    good = svchost("--name", "vital")
    machine.mgr.create_service("vital", good, start_type=AUTO, error_control=ErrorControl.SEVERE).close()
    machine.reboot()  # boots cleanly: this configuration becomes last-known-good
    eventually(lambda: "vital" in first(hostlog, "start"), 15, "the first boot")
    with machine.mgr.open_service("vital") as svc:
        svc.stop()
        svc.wait(State.STOPPED, 10)
        svc.update_config(binpath="/bin/false")  # the bad change
    machine.reboot()
    with machine.mgr.open_service("vital") as svc:
        st = eventually(lambda: (s := svc.query()).state is State.RUNNING and s, 20, "the second boot")
        assert svc.config().binary_path == good and st.pid
    assert [r for r in machine.mgr.events(since=-1, limit=1000) if r[2] == 7900]
    assert _tree(machine, request, "Failed\\Services\\vital")["ImagePath"][1] == "/bin/false"
    assert len([r for r in hostlog.records() if r["event"] == "start"]) == 2


@pytest.mark.parametrize("backend_name", ["portable"])
def test_serve_last_known_good_flag(backend_name, tmp_path, svchost):
    d = Daemon(tmp_path / "h", "--pipe-timeout", "3000")
    with d.connect() as m:
        m.create_service("cfg", "/bin/true", display_name="first").close()
    assert d.stop() == 0
    d = Daemon(tmp_path / "h", "--pipe-timeout", "3000")  # this boot saves last-known-good
    with d.connect() as m, m.open_service("cfg") as svc:
        svc.update_config(display_name="second")
    assert d.stop() == 0
    d = Daemon(tmp_path / "h", "--pipe-timeout", "3000", "--last-known-good")
    try:
        with d.connect() as m:
            assert m.display_name("cfg") == "first"
    finally:
        assert d.stop() == 0


def test_b50_start_starts_dependencies_first(mgr, name, svchost, hostlog):
    made = []
    try:
        for n, deps in ((name + "base", None), (name + "top", [name + "base"])):
            made.append(mgr.create_service(n, svchost("--name", n), dependencies=deps))
        made[1].start()
        assert made[1].wait(State.RUNNING, 10).state is State.RUNNING
        assert made[0].query().state is State.RUNNING  # a demand-start dependency was started
        t = first(hostlog, "start")
        assert t[name + "base"] < t[name + "top"]
    finally:
        if made:
            mgr.stop_with_dependents(made[0].name)
        for svc in reversed(made):
            svc.delete()
            svc.close()


@pytest.mark.parametrize(("dep", "code"), [("missing", 1075), ("fails", 1068), ("+nogroup", 1075)])
def test_b50_missing_or_failed_dependency(mgr, name, dep, code):
    fails = mgr.create_service(name + "fails", "/bin/true")  # exits at once: its start fails 1053
    target = {"missing": name + "missing", "fails": name + "fails", "+nogroup": "+" + name + "nogroup"}[dep]
    svc = mgr.create_service(name, "/bin/true", dependencies=[target])
    try:
        with pytest.raises(ScmError) as e:
            svc.start()
        assert e.value.winerror == code
        assert svc.query().state is State.STOPPED
    finally:
        for s in (svc, fails):
            s.delete()
            s.close()


def test_b50_marked_for_delete_dependency_1075(mgr, connect, name):
    dep = mgr.create_service(name + "dep", "/bin/true")
    svc = mgr.create_service(name, "/bin/true", dependencies=[name + "dep"])
    keep = connect().open_service(name + "dep")  # a handle keeps the marked service in place
    dep.delete()
    dep.close()
    try:
        with pytest.raises(ScmError) as e:
            svc.start()
        assert e.value.winerror == 1075
    finally:
        keep.close()
        svc.delete()
        svc.close()


def test_b126_group_dependency_needs_one_running_member(mgr, name, svchost, hostlog):
    group = name + "grp"
    good = mgr.create_service(name + "good", svchost("--name", name + "good"), group=group)
    bad = mgr.create_service(name + "bad", "/bin/true", group=group)
    svc = mgr.create_service(name, svchost("--name", name), dependencies=["+" + group])
    try:
        svc.start()  # every member is attempted; one running is enough
        assert svc.wait(State.RUNNING, 10).state is State.RUNNING
        assert good.query().state is State.RUNNING and bad.query().state is State.STOPPED
        assert bad.query().win32_exit_code == 1053  # it was attempted
        assert first(hostlog, "start")[name + "good"] < first(hostlog, "start")[name]
    finally:
        mgr.stop_with_dependents(good.name)
        for s in (svc, good, bad):
            s.delete()
            s.close()


def test_boot_brings_up_every_chain(machine, svchost, hostlog):
    """Chains of dependencies booting side by side all come up, each link after the one before
    (a dependent waiting on a starting dependency must be woken when that start ends)."""
    chains, depth = 5, 4
    for c in range(chains):
        for level in range(depth):
            deps = [f"c{c}l{level - 1}"] if level else None
            make(machine.mgr, svchost, f"c{c}l{level}", deps=deps)
    machine.reboot()
    names = {f"c{c}l{level}" for c in range(chains) for level in range(depth)}
    eventually(lambda: names <= set(first(hostlog, "start")), 30, "every link of every chain")
    t = first(hostlog, "start")
    for c in range(chains):
        assert [t[f"c{c}l{level}"] for level in range(depth)] == sorted(t[f"c{c}l{level}"] for level in range(depth))


_EXIT_PROBE = """
import atexit, sys
from svcctl.svc import Service, run

out = sys.argv[1]
atexit.register(lambda: open(out + ".atexit", "w").close())


class Probe(Service):
    pass


run(Probe)
open(out + ".after-run", "w").close()
"""


@pytest.mark.parametrize("backend_name", ["portable"])
def test_shutdown_ends_service_process_after_atexit(backend_name, tmp_path):
    """At shutdown a stopped service process ends right away: its atexit handlers run, code
    after ``run()`` does not (as Windows does not wait for it). A plain STOP keeps both."""
    script = tmp_path / "probe.py"
    script.write_text(_EXIT_PROBE)
    d = Daemon(tmp_path / "h", "--pipe-timeout", "5000")
    mgr = d.connect()
    outs = {n: tmp_path / n for n in ("stopped", "shut")}
    for n, out in outs.items():
        with mgr.create_service(n, f"{sys.executable} {script} {out}") as svc:
            svc.start()
            svc.wait(State.RUNNING, 10)
    with mgr.open_service("stopped") as svc:
        svc.stop()
        svc.wait(State.STOPPED, 10)
    eventually(lambda: Path(f"{outs['stopped']}.after-run").exists(), 10, "code after run() on STOP")
    eventually(lambda: Path(f"{outs['stopped']}.atexit").exists(), 10, "atexit on STOP")
    mgr.disconnect()
    assert d.stop() == 0
    assert Path(f"{outs['shut']}.atexit").exists()
    assert not Path(f"{outs['shut']}.after-run").exists()
