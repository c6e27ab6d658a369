"""StartServiceCtrlDispatcher for the portable SCM: the service process's side of its channel.

The calling thread becomes the control dispatcher: it says hello with the service table, then
for each ``start`` creates a ServiceMain thread (argv[0] = the service name, B49), and for each
``control`` calls that service's handler and returns its result. It returns once every service
of the process has reported STOPPED (B55).

At system shutdown (the SCM sent SHUTDOWN or PRESHUTDOWN) the process ends as soon as its last
service reported STOPPED, from the thread that reported it: atexit handlers run and stdio is
flushed, but interpreter teardown is skipped, and the dispatcher thread is not woken first.
Windows does not wait for service processes once their services have stopped at shutdown (and
warns that a process may end at any time after it reported STOPPED); teardown and the extra
wake-ups cost more CPU per process than its whole stop, which for a few hundred services is
most of the shutdown. ``Dispatcher.exit_on_shutdown = False`` keeps the process (and code after
``run()``) alive.

A control without an ``id`` is a notice: the handler runs and nothing is answered. The SCM sends
SHUTDOWN that way, since it waits for STOPPED and not for the handler's return value (B135).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from .. import wire
from ..errors import (
    ERROR_CALL_NOT_IMPLEMENTED,
    ERROR_EXCEPTION_IN_SERVICE,
    ERROR_FAILED_SERVICE_CONTROLLER_CONNECT,
    ERROR_INVALID_DATA,
    ERROR_SERVICE_ALREADY_RUNNING,
    ERROR_SERVICE_NOT_IN_EXE,
    ScmError,
)
from ..quickexit import exit_now
from . import channel as _channel
from .status import StatusHandle

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any

#: ServiceMain(dispatcher, argv): argv[0] is the service name, then the StartService arguments.
ServiceMain = Callable[["Dispatcher", list[str]], object]
#: HandlerEx: (control, event type, event data) -> return code.
HandlerEx = Callable[[int, int, object], int]


_SHUTDOWN_CONTROLS = (5, 15)  # SERVICE_CONTROL_SHUTDOWN, SERVICE_CONTROL_PRESHUTDOWN


class Dispatcher:
    """One process's connection to the SCM and the services it hosts."""

    #: End the process right after the last service stopped, when that was a system shutdown.
    exit_on_shutdown = True

    def __init__(self, table: dict[str, ServiceMain]) -> None:
        if not table or not all(isinstance(k, str) and callable(v) for k, v in table.items()):
            raise ScmError(ERROR_INVALID_DATA, "the service table must map names to callables")
        self.table = dict(table)
        self._chan: wire.Channel | None = None
        self._send_lock = threading.Lock()
        self._handlers: dict[str, tuple[HandlerEx, StatusHandle]] = {}
        self._started: dict[str, StatusHandle] = {}
        self._done = threading.Event()
        self._binding: _channel.Binding = (None, None)
        self._shutdown_seen = False

    # --- API used by ServiceMain ---------------------------------------------------------------

    def register(self, name: str, handler: HandlerEx) -> StatusHandle:
        """RegisterServiceCtrlHandlerEx: 1083 for a name this process does not implement (B56)."""
        key = self._entry(name)
        if key is None:
            raise ScmError(ERROR_SERVICE_NOT_IN_EXE, name)
        status = self._started.get(key.lower()) or StatusHandle(name, lambda _, r: self._send_status(key, r))
        status.on_stopped = self._on_stopped
        self._started[key.lower()] = status
        self._handlers[key.lower()] = (handler, status)
        return status

    def _entry(self, name: str) -> str | None:
        for key in self.table:
            if key.lower() == name.lower():
                return key
        if len(self.table) == 1:
            return next(iter(self.table))  # an own-process image's one entry answers to any name (B54)
        return None

    def _send_status(self, name: str, report: list[int]) -> None:
        self._send({"op": "status", "name": name, "s": report})

    def _send(self, msg: dict[str, Any]) -> None:
        chan = self._chan
        if chan is None:
            return
        with self._send_lock:
            try:
                chan.send(msg)
            except OSError:
                pass

    def _on_stopped(self, status: StatusHandle) -> None:
        if self._started and all(s.stopped.is_set() for s in self._started.values()):
            self._done.set()
            if self._leaving():
                with self._send_lock:  # a reply another thread is writing goes out whole
                    exit_now()
            chan = self._chan
            if chan is not None:
                try:
                    chan.sock.shutdown(0)  # wake the dispatcher loop: every service has stopped
                except OSError:
                    pass

    # --- the dispatcher loop -------------------------------------------------------------------

    def run(self) -> None:
        if not _channel.claim():  # before the channel: the first call has already taken it
            raise ScmError(ERROR_SERVICE_ALREADY_RUNNING, "the dispatcher already runs in this process")
        sock = _channel.open_channel()
        if sock is None:
            _channel.release()
            raise ScmError(ERROR_FAILED_SERVICE_CONTROLLER_CONNECT, "not started by a service control manager")
        self._binding = _channel.binding()
        self._chan = chan = wire.Channel(sock)
        try:
            chan.send({"id": 0, "op": "hello", "services": list(self.table)})
            reply = chan.recv()
            if reply.get("e"):
                raise ScmError(int(reply["e"]), "the service controller refused the service table")
            while not self._done.is_set():
                try:
                    msg = chan.recv()
                except (EOFError, OSError):
                    break
                self._serve(msg)
        finally:
            _channel.release()
            self._chan = None
            chan.close()
        if self._done.is_set() and self._leaving():
            exit_now()

    def _leaving(self) -> bool:
        """Whether the process ends once every service stopped: at system shutdown, unless told
        not to, and never for an in-process image (a thread of the fake SCM's process)."""
        return self._shutdown_seen and self.exit_on_shutdown and self._binding[0] is None

    def _serve(self, msg: dict[str, Any]) -> None:
        rid, op = msg.get("id"), msg.get("op")
        if op == "start":
            name, argv = str(msg.get("name", "")), list(msg.get("argv") or [])
            key = self._entry(name)
            if key is None:
                self._send({"re": rid, "e": ERROR_SERVICE_NOT_IN_EXE})
                return
            self._started.pop(key.lower(), None)
            self._handlers.pop(key.lower(), None)
            thread = threading.Thread(target=self._service_main, args=(key, argv), name=f"ServiceMain-{key}")
            thread.daemon = True
            self._send({"re": rid, "e": 0})  # B48: StartService returns once ServiceMain exists
            thread.start()
        elif op == "control":
            name = str(msg.get("name", ""))
            key = self._entry(name)
            entry = self._handlers.get(key.lower()) if key else None
            if entry is None:
                if rid is not None:
                    self._send({"re": rid, "r": ERROR_CALL_NOT_IMPLEMENTED})
                return
            code, event, data = int(msg.get("code", 0)), int(msg.get("event", 0)), msg.get("data")
            if code in _SHUTDOWN_CONTROLS:
                self._shutdown_seen = True
            try:
                result = entry[0](code, event, data)
            except Exception:  # a handler that raises must not take the dispatcher down
                _print_exception()
                result = ERROR_EXCEPTION_IN_SERVICE
            if rid is not None:  # else a notice (SHUTDOWN): nobody waits for the answer
                self._send({"re": rid, "r": result if isinstance(result, int) else 0})

    def _service_main(self, key: str, argv: list[str]) -> None:
        _channel.bind(self._binding)  # threads of an in-process image belong to that image
        try:
            self.table[key](self, argv)
        except Exception:
            _print_exception()
            status = self._started.get(key.lower())
            if status is not None and not status.stopped.is_set():
                status.stop(win32=ERROR_EXCEPTION_IN_SERVICE)


def _print_exception() -> None:
    """Report a failure of user code on stderr (traceback is imported only when needed)."""
    import traceback

    traceback.print_exc(file=sys.stderr)
