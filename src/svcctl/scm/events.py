"""The SCM's System event log: Windows' Service Control Manager event IDs and texts.

Writes are buffered and flushed in one transaction at the end of the current loop iteration,
so a burst of transitions costs one commit, and none is lost once the loop turns.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from ..types import _Record
from .database import Database

#: Event ID -> (level, template). ``%1``.. are filled from the event's arguments.
TEMPLATES: dict[int, tuple[str, str]] = {
    7000: ("error", "The %1 service failed to start due to the following error: \n%2"),
    7009: ("error", "A timeout was reached (%1 milliseconds) while waiting for the %2 service to connect."),
    7011: ("error", "A timeout (%1 milliseconds) was reached while waiting for a transaction response from the %2 service."),
    7022: ("error", "The %1 service hung on starting."),
    7023: ("error", "The %1 service terminated with the following error: \n%2"),
    7024: ("error", "The %1 service terminated with the following service-specific error: \n%2"),
    7031: (
        "error",
        "The %1 service terminated unexpectedly.  It has done this %2 time(s).  "
        "The following corrective action will be taken in %3 milliseconds: %4.",
    ),
    7032: (
        "error",
        "The Service Control Manager tried to take a corrective action (%1) after the unexpected termination of the %2 service, but this action failed with the following error: \n%3",
    ),
    # svcctl's own (Windows reports these outside the service control manager's 7000 range):
    7900: ("error", "The %1 service (error control %2) failed to start: the service manager reverts to the last-known-good configuration and starts again. The configuration that failed is kept under Failed\\Services."),
    7901: ("error", "The %1 service (error control CRITICAL) failed to start while the last-known-good configuration is in use: start-up stops here."),
    7902: ("info", "The service manager started with the last-known-good configuration; the configuration it replaced is kept under Failed\\Services."),
    # Written by a service about itself (ReportEvent's counterpart); the level is the service's.
    7920: ("info", "%1"),
    7930: ("warning", "Access denied: %1 asked for access %2 to %3; its security descriptor grants %4."),
    7034: ("error", "The %1 service terminated unexpectedly.  It has done this %2 time(s)."),
    7035: ("info", "The %1 service was successfully sent a %2 control."),
    7036: ("info", "The %1 service entered the %2 state."),
    7040: ("info", "The start type of the %1 service was changed from %2 to %3."),
    7045: ("info", "A service was installed in the system.\n\nService Name:  %1\nService File Name:  %2"),
    7046: ("info", "The %1 service was marked for deletion."),
}

#: How the state appears in 7036 texts (Windows' wording).
STATE_WORDS = {1: "stopped", 2: "start pending", 3: "stop pending", 4: "running", 5: "continue pending", 6: "pause pending", 7: "paused"}


class Event(_Record):
    __slots__ = ("id", "time", "event_id", "level", "service", "message", "data")
    id: int
    time: float
    event_id: int
    level: str
    service: str | None
    message: str
    data: dict[str, Any] | None

    def __init__(self, id: int, time: float, event_id: int, level: str, service: str | None,
                 message: str, data: dict[str, Any] | None) -> None:
        self._set(id=id, time=time, event_id=event_id, level=level, service=service, message=message, data=data)

    def to_wire(self) -> list[Any]:
        return [self.id, self.time, self.event_id, self.level, self.service, self.message, self.data]


def render(event_id: int, args: tuple[object, ...]) -> str:
    text = TEMPLATES[event_id][1]
    for i in range(len(args), 0, -1):  # %10 before %1
        text = text.replace(f"%{i}", str(args[i - 1]))
    return text


class EventLog:
    def __init__(self, db: Database, schedule: Callable[[Callable[[], None]], object], keep: int = 20000) -> None:
        self._db = db
        self._schedule = schedule
        self._keep = keep
        self._buffer: list[tuple[float, int, str, str | None, str, str | None]] = []
        self._waiters: list[Callable[[], None]] = []

    def write(self, event_id: int, service: str | None, *args: object, data: dict[str, Any] | None = None,
              level: str | None = None) -> None:
        level = level or TEMPLATES[event_id][0]
        row = (time.time(), event_id, level, service, render(event_id, args), json.dumps(data) if data else None)
        if not self._buffer:
            self._schedule(self.flush)
        self._buffer.append(row)

    def flush(self) -> None:
        if self._buffer:
            rows, self._buffer = self._buffer, []
            self._db.append_events(rows, self._keep)
            waiters, self._waiters = self._waiters, []
            for wake in waiters:
                wake()

    def on_next_write(self, wake: Callable[[], None]) -> None:
        """Call ``wake`` once after the next batch of events is stored (``--follow``)."""
        self._waiters.append(wake)

    def read(self, service: str | None = None, since_id: int = 0, limit: int = 1000) -> list[Event]:
        self.flush()
        return [
            Event(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]) if r[6] else None)
            for r in self._db.read_events(service, since_id, limit)
        ]
