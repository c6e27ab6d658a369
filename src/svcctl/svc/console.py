"""Run a :class:`~svcctl.svc.Service` in the console, without an SCM: Ctrl+C becomes STOP.

Status reports are printed as they would reach the SCM, so a developer sees the same sequence
(START_PENDING, RUNNING, STOP_PENDING, STOPPED with its exit code) that ``svcctl query`` would.
"""

from __future__ import annotations

import signal
import sys
import threading

from ..types import Control, State
from .dispatcher import HandlerEx
from .service import Service
from .status import StatusHandle

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import TextIO


class _ConsoleDispatcher:
    """Stands in for the SCM's dispatcher: one service, reports printed to ``out``."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.handler: HandlerEx | None = None
        self.status: StatusHandle | None = None
        self.wake = threading.Event()

    def register(self, name: str, handler: HandlerEx) -> StatusHandle:
        self.handler = handler
        self.status = StatusHandle(name, self._print)
        self.status.on_stopped = lambda _: self.wake.set()
        return self.status

    def _print(self, name: str, report: list[int]) -> None:
        state = State(report[1]).name
        extra = f" exit={report[3]}/{report[4]}" if report[1] == State.STOPPED else ""
        print(f"[{name}] {state} checkpoint={report[5]} wait_hint={report[6]}{extra}", file=self.out, flush=True)


def debug(cls: type[Service], args: list[str] | None = None, *, out: TextIO | None = None) -> int:
    """Run ``cls`` in the foreground until it stops; returns its exit code (0 when clean)."""
    console = _ConsoleDispatcher(out or sys.stderr)
    svc = cls()
    name = cls.name or cls.__name__
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop_requested.set()
        console.wake.set()

    def run_main() -> None:
        try:
            svc._main(console, [name, *(args or [])])
        finally:
            console.wake.set()

    thread = threading.Thread(target=run_main, daemon=True)
    previous = signal.signal(signal.SIGINT, on_signal)
    try:
        thread.start()
        while thread.is_alive():
            console.wake.wait()
            console.wake.clear()
            if stop_requested.is_set() and console.handler is not None:
                stop_requested.clear()
                console.handler(Control.STOP, 0, None)
            st = console.status
            if st is not None and st.stopped.is_set():
                break
        thread.join(timeout=5)
    finally:
        signal.signal(signal.SIGINT, previous)
    st = console.status
    if st is None:
        return 1
    return st.service_exit_code if st.win32_exit_code == 1066 else st.win32_exit_code
