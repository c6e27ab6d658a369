"""Failure actions (recovery): count a service's failures and carry out its configured action.

A failure is a process that ended without its service reporting STOPPED, or, with the
failure-actions flag, a STOPPED with a non-zero exit code (B111, B112). Failures are counted per
service since the daemon started; the count starts again after ``reset_period`` seconds without a
failure (INFINITE never resets). Failure N takes action N, the last action repeating (B113), after
its delay in milliseconds (B114). A queued restart is not cancelled by a manual stop (B118): when
it fires, only a disabled or deleted service is left alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ..types import INFINITE, Action, ActionType, State
from .record import ServiceRecord

#: What Windows' event 7031 says for each action.
ACTION_TEXT = {
    ActionType.NONE: "No action",
    ActionType.RESTART: "Restart the service",
    ActionType.REBOOT: "Restart the machine",
    ActionType.RUN_COMMAND: "Run the configured recovery program",
}


class Recovery:
    """Counts failures and schedules actions on the SCM's loop clock."""

    def __init__(
        self,
        restart: Callable[[ServiceRecord], Awaitable[None]],
        run_command: Callable[[ServiceRecord, str, int], Awaitable[None]],
        reboot: Callable[[ServiceRecord, int], Awaitable[None]],
    ) -> None:
        self._restart = restart
        self._run_command = run_command
        self._reboot = reboot
        self._tasks: set[asyncio.Task[Any]] = set()

    def is_failure(self, rec: ServiceRecord, crashed: bool, win32: int) -> bool:
        if crashed:
            return True
        return rec.failure_actions_on_non_crash and win32 != 0 and bool(rec.failure_actions.actions)

    def count(self, rec: ServiceRecord) -> int:
        """Register one failure of ``rec`` and return its number since the last reset."""
        now = asyncio.get_running_loop().time()
        reset = rec.failure_actions.reset_period
        if rec.failure_count and reset != INFINITE and now - rec.last_failure > reset:
            rec.failure_count = 0
        rec.failure_count += 1
        rec.last_failure = now
        return rec.failure_count

    def action_for(self, rec: ServiceRecord, count: int) -> Action | None:
        actions = rec.failure_actions.actions
        if not actions:
            return None
        return actions[min(count, len(actions)) - 1]

    def schedule(self, rec: ServiceRecord, action: Action, count: int) -> None:
        if action.type == ActionType.NONE:
            return
        loop = asyncio.get_running_loop()
        loop.call_later(action.delay_ms / 1000, self._fire, rec, action, count)

    def _fire(self, rec: ServiceRecord, action: Action, count: int) -> None:
        if action.type == ActionType.RESTART:
            if rec.state is not State.STOPPED:
                return  # someone started it meanwhile: it runs, which is what the action wanted
            coro = self._restart(rec)
        elif action.type == ActionType.RUN_COMMAND:
            coro = self._run_command(rec, rec.failure_actions.command or "", count)
        else:
            coro = self._reboot(rec, count)
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def expand_failure_count(command: str, count: int) -> str:
    """Windows' recovery-program convention: ``%1%`` in the command line is the failure count."""
    return command.replace("%1%", str(count))
