"""SetServiceStatus on the service side: a status handle per service, with checkpoint helpers.

A handle is what RegisterServiceCtrlHandlerEx returns. It refuses what Windows refuses: a state
outside 1..7 (13, B83) and any report after STOPPED (6, B85). Reports are one-way messages, so a
handler may report STOP_PENDING from inside the control it is handling without deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..errors import ERROR_INVALID_DATA, ERROR_INVALID_HANDLE, ERROR_SERVICE_SPECIFIC_ERROR, ScmError
from ..types import Accept, ServiceType, State

#: Where reports go: (service name, [type, state, accepted, win32, specific, checkpoint, hint]).
Sink = Callable[[str, list[int]], None]


class StatusHandle:
    """The status of one service as this process reports it."""

    def __init__(self, name: str, sink: Sink, service_type: int = ServiceType.WIN32_OWN_PROCESS) -> None:
        self.name = name
        self._sink = sink
        self._lock = threading.Lock()
        self._closed = False
        self.service_type = service_type
        self.state = State.START_PENDING
        self.accepted = Accept.NONE
        self.checkpoint = 0
        self.wait_hint = 0
        self.win32_exit_code = 0
        self.service_exit_code = 0
        #: Set once STOPPED has been reported.
        self.stopped = threading.Event()
        self.on_stopped: Callable[[StatusHandle], None] | None = None

    def set(
        self,
        state: int,
        *,
        accepted: int | None = None,
        win32_exit_code: int = 0,
        service_exit_code: int = 0,
        checkpoint: int = 0,
        wait_hint: int = 0,
    ) -> None:
        """Report a status (SetServiceStatus). ``accepted=None`` keeps the previous set."""
        if state not in State._value2member_map_:
            raise ScmError(ERROR_INVALID_DATA, f"state {state}")
        with self._lock:
            if self._closed:
                raise ScmError(ERROR_INVALID_HANDLE, "status handle closed by SERVICE_STOPPED")
            self.state = State(state)
            if accepted is not None:
                self.accepted = Accept(accepted)
            self.checkpoint, self.wait_hint = checkpoint, wait_hint
            self.win32_exit_code, self.service_exit_code = win32_exit_code, service_exit_code
            report = [
                int(self.service_type),
                int(state),
                int(self.accepted) if state != State.STOPPED else 0,
                win32_exit_code,
                service_exit_code,
                checkpoint,
                wait_hint,
            ]
            if state == State.STOPPED:
                self._closed = True
            self._sink(self.name, report)
        if state == State.STOPPED:
            self.stopped.set()
            if self.on_stopped is not None:
                self.on_stopped(self)

    # --- conveniences ----------------------------------------------------------------------------

    def pending(self, state: State, wait_hint_ms: int) -> None:
        """Report progress in a pending state: same state bumps the checkpoint, a new one starts at 1."""
        checkpoint = self.checkpoint + 1 if state == self.state else 1
        self.set(state, accepted=self.accepted, checkpoint=checkpoint, wait_hint=wait_hint_ms)

    def running(self, accepted: int) -> None:
        self.set(State.RUNNING, accepted=accepted)

    def paused(self) -> None:
        self.set(State.PAUSED, accepted=self.accepted)

    def stop(self, exit_code: int = 0, *, win32: int | None = None) -> None:
        """Report STOPPED: ``exit_code`` non-zero becomes a service-specific code (1066, B84)."""
        if win32 is not None:
            self.set(State.STOPPED, win32_exit_code=win32)
        elif exit_code:
            self.set(State.STOPPED, win32_exit_code=ERROR_SERVICE_SPECIFIC_ERROR, service_exit_code=exit_code)
        else:
            self.set(State.STOPPED)

    def reannounce(self) -> None:
        """Send the current status again (the answer to INTERROGATE)."""
        with self._lock:
            if self._closed:
                return
            self._sink(
                self.name,
                [
                    int(self.service_type),
                    int(self.state),
                    int(self.accepted),
                    self.win32_exit_code,
                    self.service_exit_code,
                    self.checkpoint,
                    self.wait_hint,
                ],
            )
