"""The wrapper's seam to the operating system: starting a program and handling its whole tree.

The supervisor speaks of steps, not signals: ``interrupt`` (POSIX SIGINT, Windows Ctrl+C),
``close`` (SIGTERM, WM_CLOSE) and ``kill`` (SIGKILL of the tree, TerminateJobObject), so the same
stop chain, pause and restart logic drives :mod:`.posix` now and a Windows layer later.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..accounts import Account

INTERRUPT, CLOSE, KILL = "interrupt", "close", "kill"


class Program(Protocol):
    """A started program and every process it starts (its tree)."""

    pid: int
    #: Resolves with the main process's exit status (negative: killed by that signal).
    exited: asyncio.Future[int]

    def signal(self, step: str) -> None:
        """Deliver ``interrupt``, ``close`` or ``kill`` to every process of the tree."""

    def alive(self) -> bool:
        """Whether any process of the tree is still there."""

    async def gone(self, timeout: float) -> bool:
        """Wait until no process of the tree is left; False when ``timeout`` (s) ran out first."""

    def suspend(self) -> None:
        """Stop every process of the tree from running (pause)."""

    def resume(self) -> None:
        """Let a suspended tree run again (continue)."""

    def release(self) -> None:
        """Free what tracks the tree, once it is gone."""


#: How often a tree whose main process has exited is checked while waiting for the rest to go.
GONE_POLL_S = 0.01


class TreeWait:
    """``Program.gone`` for both layers: the main process's exit, then the rest of the tree."""

    exited: asyncio.Future[int]
    _loop: asyncio.AbstractEventLoop

    def alive(self) -> bool:
        raise NotImplementedError

    async def gone(self, timeout: float) -> bool:
        loop = self._loop
        deadline = loop.time() + timeout
        if not self.exited.done():
            # One future, one timer and one callback: wait_for(shield(...)) cost a task, two
            # more futures and their callbacks for each program of a stop-all.
            waiter: asyncio.Future[None] = loop.create_future()
            wake = functools.partial(wake_waiter, waiter)
            timer = loop.call_at(deadline, wake)
            self.exited.add_done_callback(wake)
            try:
                await waiter
            finally:
                timer.cancel()
                self.exited.remove_done_callback(wake)
            if not self.exited.done():
                return False
        while self.alive():
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(GONE_POLL_S)
        return True


def wake_waiter(waiter: asyncio.Future[None], _: object = None) -> None:
    """Resolve ``waiter`` unless done: a timer's callback, or a future's done-callback."""
    if not waiter.done():
        waiter.set_result(None)


class ProcessLayer(Protocol):
    async def start(
        self, argv: list[str], cwd: str, env: dict[str, str], stdout: int, stderr: int, label: str,
        account: Account | None = None,
    ) -> Program:
        """Start ``argv`` with stdin from the null device and the given output descriptors, as
        ``account`` (None: as this process).

        Raises :class:`~svcctl.errors.ScmError` with the Win32 code (2, 3, 5, 193, 267)."""
