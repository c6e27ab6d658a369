"""A daemon killed with -9 leaves its wrapped programs running; the next daemon ends them.

The wrapper lives in the daemon, so its programs lose their supervisor with it. With cgroups (root
here) they are still in the dead daemon's ``svcctl-<pid>`` cgroups, which the next daemon (any
home) sweeps when it first needs cgroups: nothing stays orphaned for longer than that.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from svcctl.regvalue import REG_EXPAND_SZ
from svcctl.types import State
from svcctl.wrapper import wrapper_image_path
from tests.conftest import Daemon, alive, eventually

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="cgroups are made by root here")


def _wrapped_sleep(mgr, name: str) -> int:
    mgr.create_service(name, wrapper_image_path()).close()
    mgr.reg_set(f"Services\\{name}\\Parameters",
                {"Application": (REG_EXPAND_SZ, "/bin/sleep"), "AppParameters": (REG_EXPAND_SZ, "600")})
    with mgr.open_service(name) as svc:
        svc.start()
        return int(svc.wait(State.RUNNING, 15).pid)


def test_programs_of_a_killed_daemon_are_ended_by_the_next_one(tmp_path, name):
    first = Daemon(tmp_path / "a")
    mgr = first.connect()
    pid = _wrapped_sleep(mgr, name)
    eventually(lambda: Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"/bin/sleep"), 10, "sleep to run")
    cgroup = Path(f"/proc/{pid}/cgroup").read_text()
    assert f"/svcctl-{first.proc.pid}/" in cgroup
    mgr.disconnect()
    first.proc.send_signal(signal.SIGKILL)
    first.proc.wait()
    assert Path(f"/proc/{pid}").exists()  # orphaned for now
    second = Daemon(tmp_path / "b")
    try:
        with second.connect() as m2:
            _wrapped_sleep(m2, name)  # its first program: the sweep runs
            eventually(lambda: not alive(pid), 10, "the orphan ended")
            with m2.open_service(name) as svc:
                svc.stop()
                svc.wait(State.STOPPED, 15)
    finally:
        assert second.stop() == 0
