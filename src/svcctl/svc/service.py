"""Writing a service in Python: subclass :class:`Service`, hand it to :func:`run`.

The framework does ServiceMain's duties (seed 004): it registers the handler at once, reports
START_PENDING with a wait hint while :meth:`Service.start` initialises, reports RUNNING with the
controls the class accepts, and reports STOPPED with the exit code :meth:`Service.run` returns
(non-zero becomes a service-specific code under 1066, so failure actions can fire). Controls are
answered the way seed 002 describes: STOP_PENDING at once, then the work on another thread.

A class that does not override :meth:`Service.run` has no work of its own on ServiceMain's
thread (what it does, :meth:`Service.start` started). Seed 004 lets ServiceMain return then, and
the service stays RUNNING (B57): so no thread waits for the whole life of the service, and a stop
reports STOPPED from the thread that handled it (the handler's, or the overridden
:meth:`Service.stop`'s), without waking another. At system shutdown, where hundreds of service
processes stop at once, that wake-up was a tenth of each process's CPU.
"""

from __future__ import annotations

import threading

from ..errors import ERROR_CALL_NOT_IMPLEMENTED, ERROR_EXCEPTION_IN_SERVICE, ScmError
from ..types import Accept, Control, State, is_user_control
from .dispatcher import Dispatcher, HandlerEx, ServiceMain, _print_exception
from .platform import select_dispatcher
from .status import StatusHandle

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any, ClassVar, Protocol

if TYPE_CHECKING:

    class Registrar(Protocol):
        """What ServiceMain needs of its dispatcher: RegisterServiceCtrlHandlerEx."""

        def register(self, name: str, handler: HandlerEx) -> StatusHandle: ...


class ServiceExit(Exception):
    """Raise from ``start`` or ``run`` to stop with a service-specific exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Service:
    """Base class of a service. Override what you need; every hook runs off the handler thread
    except :meth:`control`, which must return quickly (the SCM waits at most 30 s, B69)."""

    #: Key name in the dispatch table; may stay empty for a process that hosts one service.
    name: ClassVar[str] = ""
    #: Controls this service accepts once RUNNING.
    accepts: ClassVar[Accept] = Accept.STOP | Accept.SHUTDOWN
    #: Wait hints reported while starting / stopping / pausing (ms).
    start_wait_hint_ms: ClassVar[int] = 3000
    stop_wait_hint_ms: ClassVar[int] = 3000

    def __init__(self) -> None:
        self.status: StatusHandle | None = None
        self.args: list[str] = []
        #: Set when a STOP or SHUTDOWN arrives; the default :meth:`run` waits on it.
        self.stopping = threading.Event()
        # ServiceMain returned with the service RUNNING (no run() of its own): a stop reports
        # STOPPED itself. Guarded by _main_lock against a stop racing ServiceMain's last steps.
        self._detached = False
        self._main_lock = threading.Lock()

    # --- hooks -----------------------------------------------------------------------------------

    def start(self, args: list[str]) -> None:
        """Initialise. ``args`` are the StartService arguments (service name excluded)."""

    def run(self) -> int | None:
        """The service's work; return an exit code. A class that does not override it is
        stopped with exit code 0 by its stop request; this default only waits for one."""
        self.stopping.wait()
        return 0

    def stop(self) -> None:
        """Called (on its own thread, when overridden) after STOP or SHUTDOWN; make :meth:`run`
        return. ``stopping`` is set once an override returned, which ends the default run()."""
        self.stopping.set()

    def pause(self) -> None:
        """Called on PAUSE; the framework reports PAUSED when it returns."""

    def resume(self) -> None:
        """Called on CONTINUE; the framework reports RUNNING when it returns."""

    def control(self, code: int, event_type: int, data: Any) -> int:
        """Other controls (PARAMCHANGE, NETBIND*, user codes 128-255): return 0 when handled."""
        return 0 if is_user_control(code) else ERROR_CALL_NOT_IMPLEMENTED

    # --- the framework ---------------------------------------------------------------------------

    def checkpoint(self, wait_hint_ms: int | None = None) -> None:
        """Report progress during a long start/stop: bump the checkpoint, optionally a new hint."""
        st = self.status
        if st is not None and st.state.pending:
            st.pending(st.state, wait_hint_ms if wait_hint_ms is not None else st.wait_hint)

    def _handler(self, code: int, event_type: int, data: Any) -> int:
        st = self.status
        assert st is not None
        if code == Control.INTERROGATE:
            st.reannounce()
            return 0
        if code in (Control.STOP, Control.SHUTDOWN, Control.PRESHUTDOWN):
            if st.state not in (State.STOP_PENDING, State.STOPPED):
                # The default stop only sets an Event: it runs here, without a thread. Then a
                # service without run() of its own reports STOPPED here too (what ControlService
                # returns); one with run() reports STOPPED when run() returns, so STOP answers
                # STOP_PENDING (at system shutdown nobody reads the answer, so none is sent).
                own_stop = type(self).stop is not Service.stop
                if own_stop or (code == Control.STOP and self._has_run()):
                    st.set(State.STOP_PENDING, accepted=0, checkpoint=1, wait_hint=self.stop_wait_hint_ms)
                if own_stop:
                    threading.Thread(target=self._stop_then_release, daemon=True).start()
                else:
                    self.stop()
                    self._stopped_if_detached()
            return 0
        if code == Control.PAUSE and st.state == State.RUNNING:
            st.set(State.PAUSE_PENDING, accepted=self.accepts, checkpoint=1, wait_hint=self.stop_wait_hint_ms)
            threading.Thread(target=self._transition, args=(self.pause, State.PAUSED), daemon=True).start()
            return 0
        if code == Control.CONTINUE and st.state == State.PAUSED:
            st.set(State.CONTINUE_PENDING, accepted=self.accepts, checkpoint=1, wait_hint=self.stop_wait_hint_ms)
            threading.Thread(target=self._transition, args=(self.resume, State.RUNNING), daemon=True).start()
            return 0
        return self.control(code, event_type, data)

    def _call(self, fn: Any) -> None:
        try:
            fn()
        except Exception:
            _print_exception()

    def _stop_then_release(self) -> None:
        """An overridden stop() on its thread; once it returned, ``stopping`` is set, so the
        default run() returns even when the override did not call ``super().stop()``."""
        self._call(self.stop)
        self.stopping.set()
        self._stopped_if_detached()

    def _has_run(self) -> bool:
        return type(self).run is not Service.run

    def _stopped_if_detached(self) -> None:
        """STOPPED (exit code 0) once ServiceMain has returned, which it does without run()."""
        with self._main_lock:
            st = self.status
            if self._detached and st is not None and not st.stopped.is_set():
                st.stop(0)

    def _transition(self, fn: Any, final: State) -> None:
        self._call(fn)
        st = self.status
        if st is not None and not st.stopped.is_set() and not self.stopping.is_set():
            st.set(final, accepted=self.accepts)

    def _main(self, dispatcher: Registrar, argv: list[str]) -> None:
        """ServiceMain: register at once, START_PENDING, start(), RUNNING, run(), STOPPED."""
        st = self.status = dispatcher.register(argv[0] if argv else self.name, self._handler)
        self.args = argv[1:]
        st.set(State.START_PENDING, accepted=0, checkpoint=1, wait_hint=self.start_wait_hint_ms)
        code: int | None = None
        try:
            self.start(self.args)
            with self._main_lock:  # a stop that comes now finds either stopping set or us detached
                if self.stopping.is_set():
                    code = 0
                else:
                    st.running(self.accepts)
                    self._detached = not self._has_run()
            if self._detached:
                return  # seed 004: no work pending, ServiceMain returns; the stop reports STOPPED
            if code is None:
                code = self.run()
        except ServiceExit as exc:
            st.stop(exc.code)
            return
        except ScmError as exc:
            st.stop(win32=exc.winerror)
            return
        except Exception:
            _print_exception()
            st.stop(win32=ERROR_EXCEPTION_IN_SERVICE)
            return
        if not st.stopped.is_set():
            st.stop(int(code or 0))


def service_main(cls: type[Service]) -> ServiceMain:
    """A ServiceMain that runs a fresh instance of ``cls`` for each start."""

    def main(dispatcher: Dispatcher, argv: list[str]) -> None:
        cls()._main(dispatcher, argv)

    return main


def run(*services: type[Service], table: dict[str, ServiceMain] | None = None) -> None:
    """Run this process as a service host (StartServiceCtrlDispatcher); returns when all stopped.

    ``run(MyService)`` for one service; several classes (each with a ``name``) share the process
    as SHARE_PROCESS services (B54). Outside the SCM it raises ScmError 1063.
    """
    entries: dict[str, ServiceMain] = dict(table or {})
    for cls in services:
        entries[cls.name or cls.__name__] = service_main(cls)
    select_dispatcher()(entries).run()  # the real SCM's on Windows, the portable one elsewhere
