"""The wrapper's POSIX process layer on its own, with real processes: a stop that comes before
the program has joined its cgroup still reaches it, and nothing it forks outlives the stop."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from svcctl.wrapper.posix import PosixProcessLayer
from svcctl.wrapper.process import INTERRUPT, KILL, Program
from tests.conftest import alive

# A program that forks a grandchild into a session of its own, ignoring the polite signals.
TREE = "trap '' INT TERM; setsid sh -c \"trap '' INT TERM; echo \\$\\$ > $0; exec sleep 300\" & exec sleep 300"


def _launcher_pid() -> int | None:
    """This process's child that is the launcher (its argv[0] says so; the oldest such, as the
    programs it clones carry that argv until they exec), if one runs."""
    found = []
    for pid in Path(f"/proc/self/task/{os.getpid()}/children").read_text().split():
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"svcctl-launcher\0") and alive(int(pid)):
                found.append((int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]), int(pid)))
        except OSError:
            pass
    return min(found)[1] if found else None


@pytest.mark.parametrize(("cgroups", "launch"), [(True, True), (True, False), (False, True), (False, False)],
                         ids=["cgroup-launcher", "cgroup-shell", "pgroup-launcher", "pgroup-subprocess"])
def test_a_stop_right_after_the_spawn_reaches_the_whole_tree(cgroups: bool, launch: bool, tmp_path: Path) -> None:
    if cgroups and os.geteuid() != 0:
        pytest.skip("cgroups are made by root or in a delegated subtree")

    async def run() -> tuple[list[int], list[int]]:
        layer = PosixProcessLayer(use_cgroups=cgroups, use_launcher=launch)
        assert (layer.cgroup_root is not None) is cgroups
        mains: list[int] = []
        grandchildren: list[int] = []
        try:
            for i in range(20):
                marker = tmp_path / f"grandchild{i}"
                null = os.open(os.devnull, os.O_WRONLY)
                try:
                    program = await layer.start(["/bin/sh", "-c", TREE, str(marker)], str(tmp_path),
                                                {"PATH": "/usr/bin:/bin"}, null, null, f"t{i}")
                finally:
                    os.close(null)
                mains.append(program.pid)
                if i == 0:
                    assert (_launcher_pid() is not None) is launch
                # Half are killed at once (the program may not have joined its cgroup yet), half
                # asked politely once the grandchild exists, then killed: either way, every
                # process of the tree must end.
                if i % 2 == 0:
                    program.signal(KILL)
                    assert await program.gone(10), "a kill right after the spawn missed the program"
                else:
                    deadline = asyncio.get_running_loop().time() + 10
                    while not marker.exists() or not marker.read_text().strip():
                        assert asyncio.get_running_loop().time() < deadline, "the grandchild never started"
                        await asyncio.sleep(0.005)
                    program.signal(INTERRUPT)
                    assert not await program.gone(0.2)  # the tree ignores SIGINT
                    program.signal(KILL)
                    if cgroups:
                        assert await program.gone(10)
                    else:
                        await program.gone(2)  # a process group cannot catch what left the session
                if marker.exists() and marker.read_text().strip():
                    grandchildren.append(int(marker.read_text()))
                program.release()
        finally:
            layer.close()
        return mains, grandchildren

    mains, grandchildren = asyncio.run(run())
    assert len(grandchildren) >= 10
    left = [pid for pid in mains + grandchildren if alive(pid)]
    for pid in left:
        os.kill(pid, 9)
    if cgroups:
        assert left == []
    else:
        assert not set(left) & set(mains)


def test_a_kill_while_the_program_is_being_started_ends_it_at_once(tmp_path: Path) -> None:
    """The launcher answers a start asynchronously: a kill of the wrapper that lands before the
    answer must still end the program at once, not through the polite stop chain (30 s here,
    which this program would sit out, as it ignores SIGINT and SIGTERM)."""
    from svcctl.wrapper.settings import Settings
    from svcctl.wrapper.supervisor import Supervisor

    class Held(PosixProcessLayer):
        """The real layer, whose start waits until the test lets it go on."""

        def __init__(self) -> None:
            super().__init__(use_cgroups=False)
            self.starting = asyncio.Event()
            self.go_on = asyncio.Event()

        async def start(self, *args: Any, **kwargs: Any) -> Program:
            self.starting.set()
            await self.go_on.wait()
            return await super().start(*args, **kwargs)

    class Quiet:
        def status(self, *args: int) -> None:
            pass

        def event(self, level: str, text: str) -> None:
            pass

        def crash(self, code: int) -> None:
            pass

    async def run() -> int:
        layer = Held()
        dword = 4
        settings = Settings({"Application": (1, "/bin/sh"),
                             "AppParameters": (1, "-c \"trap '' INT TERM; exec sleep 300\""),
                             "AppStopMethodConsole": (dword, 15000), "AppStopMethodWindow": (dword, 15000)})
        sup = Supervisor("held", settings, layer, Quiet(), {"PATH": "/usr/bin:/bin"}, [], bytearray(65536))
        task = asyncio.ensure_future(sup.run())
        try:
            await asyncio.wait_for(layer.starting.wait(), 10)
            sup.kill()  # the program does not exist yet
            layer.go_on.set()
            await asyncio.wait_for(task, 10)  # not the 30 s of the polite chain
            assert sup.program is not None
            return sup.program.exited.result()
        finally:
            layer.close()

    assert asyncio.run(run()) == -9  # SIGKILL


@pytest.mark.parametrize("cgroups", [True, False], ids=["cgroup", "pgroup"])
def test_when_the_launcher_dies_programs_start_from_the_daemon(cgroups: bool, tmp_path: Path) -> None:
    if cgroups and os.geteuid() != 0:
        pytest.skip("cgroups are made by root or in a delegated subtree")

    async def start(layer: PosixProcessLayer, i: int) -> Program:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            return await layer.start(["/bin/sleep", "300"], str(tmp_path), {}, null, null, f"d{i}")
        finally:
            os.close(null)

    async def run() -> None:
        layer = PosixProcessLayer(use_cgroups=cgroups)
        try:
            first = await start(layer, 0)
            launcher_pid = _launcher_pid()
            assert launcher_pid is not None
            os.kill(launcher_pid, 9)
            second = await start(layer, 1)  # the death shows here, or at the next start
            third = await start(layer, 2)
            assert _launcher_pid() is None
            for program in (first, second, third):
                assert alive(program.pid)
                program.signal(KILL)
                assert await program.gone(10)
                program.release()
        finally:
            layer.close()

    asyncio.run(run())
