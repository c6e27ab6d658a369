"""PosixProcess, the portable SCM's handle on a native service's process: its tree ends with it.

The group is signalled while the exited main process is still a zombie, so its pid (the group's
id) cannot have been reused; once reaped, the handle never signals that pid again. os.killpg and
os.waitpid are wrapped only to record their order; the calls still reach the kernel. And a
process's end is acted on even while something it left behind keeps its channel open.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from svcctl.errors import ERROR_PROCESS_ABORTED
from svcctl.scm.oslayer import PosixProcess, PosixSpawner
from svcctl.types import State
from tests.conftest import Daemon, alive, eventually


def test_the_group_is_ended_before_the_reap_and_never_after(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    calls: list[tuple[str, int]] = []
    killpg, waitpid = os.killpg, os.waitpid

    def recording_killpg(pgid: int, sig: int) -> None:
        calls.append(("killpg", pgid))
        killpg(pgid, sig)

    def recording_waitpid(pid: int, options: int) -> tuple[int, int]:
        calls.append(("waitpid", pid))
        return waitpid(pid, options)

    monkeypatch.setattr(os, "killpg", recording_killpg)
    monkeypatch.setattr(os, "waitpid", recording_waitpid)
    left = tmp_path / "left"
    script = f"sleep 60 & echo $! > {left}.tmp && mv {left}.tmp {left}"

    async def run() -> PosixProcess:
        proc = PosixSpawner().run(["/bin/sh", "-c", script], dict(os.environ), str(tmp_path))
        assert isinstance(proc, PosixProcess)
        assert await asyncio.wait_for(proc.exited, 10) == 0
        return proc

    proc = asyncio.run(run())
    assert calls.index(("killpg", proc.pid)) < calls.index(("waitpid", proc.pid))
    grandchild = int(left.read_text())
    eventually(lambda: not alive(grandchild), 10, "the program the service left behind ended")
    calls.clear()
    proc.kill_tree()
    assert calls == []


#: A service that, once RUNNING, forks a child that leaves its session (out of reach of the
#: group kill) still holding the channel, then crashes without reporting STOPPED.
_CRASH_LEAVING_CHANNEL = """
import os, sys, time
from svcctl.svc import Service, run

out = sys.argv[1]


class Probe(Service):
    def run(self):
        pid = os.fork()
        if pid == 0:
            os.setsid()
            time.sleep(60)
            os._exit(0)
        with open(out + ".tmp", "w") as f:
            f.write(str(pid))
        os.rename(out + ".tmp", out)
        os._exit(3)


run(Probe)
"""


def test_a_crash_is_seen_though_a_process_it_left_holds_the_channel(tmp_path: Path) -> None:
    """B86 when the channel never ends: the process's exit is acted on after CHANNEL_DRAIN_S,
    not when the last holder of its channel goes."""
    script, out = tmp_path / "probe.py", tmp_path / "left"
    script.write_text(_CRASH_LEAVING_CHANNEL)
    d = Daemon(tmp_path / "home", "--no-boot")
    try:
        with d.connect() as mgr, mgr.create_service("probe", f"{sys.executable} {script} {out}") as svc:
            svc.start()
            left = eventually(lambda: out.exists() and int(out.read_text()), 10, "the child that keeps the channel")
            status = eventually(lambda: (s := svc.query()).state is State.STOPPED and s, 10, "STOPPED")
            assert status.win32_exit_code == ERROR_PROCESS_ABORTED
            assert alive(left)  # the channel was still open when the crash was acted on
    finally:
        if out.exists():
            os.kill(int(out.read_text()), 9)
        assert d.stop() == 0
