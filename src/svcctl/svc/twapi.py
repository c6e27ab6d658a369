"""TWAPI's service-side commands: ``run_as_service`` and ``update_service_status`` (seed 003).

A callback per service receives ``(event, name, seq, code, *extra)`` for start, stop, shutdown,
pause, continue, paramchange, netbind*, userdefined and the internal ``all_stopped``; the
application answers a control by calling :func:`update_service_status` with the control's
sequence number. Answers with a sequence number older than one already answered are ignored.
While an answer is outstanding the SCM is kept waiting with advancing checkpoints.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from ..errors import ERROR_SERVICE_DOES_NOT_EXIST, ERROR_SERVICE_SPECIFIC_ERROR, ScmError
from ..types import Accept, Control, State, is_user_control
from .dispatcher import Dispatcher
from .platform import select_dispatcher
from .status import StatusHandle

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any

Callback = Callable[..., object]

_CONTROL_ACCEPTS = {
    "stop": Accept.STOP,
    "shutdown": Accept.SHUTDOWN,
    "pause_continue": Accept.PAUSE_CONTINUE,
    "paramchange": Accept.PARAMCHANGE,
    "netbindchange": Accept.NETBINDCHANGE,
    "preshutdown": Accept.PRESHUTDOWN,
    "sessionchange": Accept.SESSIONCHANGE,
    "powerevent": Accept.POWEREVENT,
    "hardwareprofilechange": Accept.HARDWAREPROFILECHANGE,
}
_EVENTS: dict[int, str] = {
    Control.STOP: "stop",
    Control.SHUTDOWN: "shutdown",
    Control.PRESHUTDOWN: "shutdown",
    Control.PAUSE: "pause",
    Control.CONTINUE: "continue",
    Control.PARAMCHANGE: "paramchange",
    Control.NETBINDADD: "netbindadd",
    Control.NETBINDREMOVE: "netbindremove",
    Control.NETBINDENABLE: "netbindenable",
    Control.NETBINDDISABLE: "netbinddisable",
    Control.SESSIONCHANGE: "sessionchange",
    Control.POWEREVENT: "powerevent",
    Control.HARDWAREPROFILECHANGE: "hardwareprofilechange",
}
_PENDING_FOR = {"start": State.START_PENDING, "stop": State.STOP_PENDING, "shutdown": State.STOP_PENDING,
                "pause": State.PAUSE_PENDING, "continue": State.CONTINUE_PENDING}
_STATES = {"stopped": State.STOPPED, "running": State.RUNNING, "paused": State.PAUSED}
_KEEPALIVE_S = 1.0
_WAIT_HINT_MS = 3000


class _TwapiService:
    def __init__(self, name: str, callback: Callback, accepts: Accept, host: _Host) -> None:
        self.name, self.callback, self.accepts, self.host = name, callback, accepts, host
        self.status: StatusHandle | None = None
        self.seq = 0
        self.answered = 0
        self.lock = threading.Lock()
        self.ticker: threading.Event | None = None

    def main(self, dispatcher: Dispatcher, argv: list[str]) -> None:
        self.status = dispatcher.register(argv[0], self.handler)
        self.host.by_name[argv[0].lower()] = self  # the SCM's key name
        self.host.by_name[self.name.lower()] = self  # the name given to run_as_service
        self._pending("start")
        self.callback("start", self.name, self.seq, 0, *argv[1:])

    def handler(self, code: int, event_type: int, data: Any) -> int:
        st = self.status
        assert st is not None
        if code == Control.INTERROGATE:  # answered internally, never passed on (seed 003)
            st.reannounce()
            return 0
        event = "userdefined" if is_user_control(code) else _EVENTS.get(code)
        if event is None:
            return 120
        if event in _PENDING_FOR:
            self._pending(event)
        else:
            with self.lock:
                self.seq += 1
        result = self.callback(event, self.name, self.seq, code, *([data] if data is not None else []))
        return result if isinstance(result, int) else 0

    def _pending(self, event: str) -> None:
        st = self.status
        assert st is not None
        with self.lock:
            self.seq += 1
            accepted = 0 if event in ("start", "stop", "shutdown") else self.accepts
            st.set(_PENDING_FOR[event], accepted=accepted, checkpoint=1, wait_hint=_WAIT_HINT_MS)
            if self.ticker is not None:
                self.ticker.set()
            self.ticker = stop = threading.Event()
        threading.Thread(target=self._keepalive, args=(stop,), daemon=True).start()

    def _keepalive(self, stop: threading.Event) -> None:
        """Tell the SCM to keep waiting while the application has not answered."""
        while not stop.wait(_KEEPALIVE_S):
            st = self.status
            if st is None or not st.state.pending or st.stopped.is_set():
                return
            try:
                st.pending(st.state, _WAIT_HINT_MS)
            except ScmError:
                return

    def update(self, seq: int, state: State, exitcode: int, servicecode: int) -> bool:
        st = self.status
        assert st is not None
        with self.lock:
            if seq and seq < self.answered:
                return False  # an answer to an older control than one already answered
            self.answered = max(self.answered, seq)
            if self.ticker is not None:
                self.ticker.set()
                self.ticker = None
        if state == State.STOPPED:
            win32 = exitcode or (ERROR_SERVICE_SPECIFIC_ERROR if servicecode else 0)
            st.set(State.STOPPED, win32_exit_code=win32, service_exit_code=servicecode)
            self.host.stopped(self)
        else:
            st.set(state, accepted=self.accepts)
        return True


class _Host:
    def __init__(self) -> None:
        self.services: list[_TwapiService] = []
        self.by_name: dict[str, _TwapiService] = {}

    def stopped(self, svc: _TwapiService) -> None:
        live = [s for s in self.services if s.status is not None and not s.status.stopped.is_set()]
        if len(live) == 1:  # TWAPI's own notification to the last running service
            last = live[0]
            last.callback("all_stopped", last.name, 0, 0)


_host = _Host()  # the process's TWAPI-style services (one dispatcher per process, like TWAPI)


def run_as_service(services: Iterable[tuple[str, Callback]], controls: Iterable[str] = ("stop", "shutdown")) -> None:
    """Register ``(name, callback)`` pairs and run the dispatcher until every service stopped."""
    accepts = Accept.NONE
    for c in controls:
        accepts |= _CONTROL_ACCEPTS[c]
    _host.services = [_TwapiService(name, cb, accepts, _host) for name, cb in services]
    select_dispatcher()({s.name: s.main for s in _host.services}).run()


def update_service_status(name: str, seq: int, state: str, *, exitcode: int = 0, servicecode: int = 0) -> bool:
    """Answer control ``seq`` of service ``name`` with ``stopped``, ``running`` or ``paused``."""
    svc = _host.by_name.get(name.lower())
    if svc is None:
        raise ScmError(ERROR_SERVICE_DOES_NOT_EXIST, name)
    return svc.update(seq, _STATES[state], exitcode, servicecode)
