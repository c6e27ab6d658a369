"""PosixProcess, the portable SCM's handle on a native service's process: its tree ends with it.

The group is signalled while the exited main process is still a zombie, so its pid (the group's
id) cannot have been reused; once reaped, the handle never signals that pid again. os.killpg and
os.waitpid are wrapped only to record their order; the calls still reach the kernel.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from svcctl.scm.oslayer import PosixProcess, PosixSpawner
from tests.conftest import eventually


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


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
    eventually(lambda: _gone(grandchild), 10, "the program the service left behind ended")
    calls.clear()
    proc.kill_tree()
    assert calls == []
