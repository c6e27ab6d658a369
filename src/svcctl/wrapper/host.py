"""The wrapper's service side: :class:`svcctl.svc.Dispatcher`'s protocol, on an event loop.

The protocol (hello, start, control, status, and ``event``, the service side of ReportEvent) is
spoken without a thread per service. Two links carry it: in the daemon, messages pass as objects
between the SCM's :class:`~svcctl.scm.host.Host` and this one on the same loop (no socket, no
encoding, no interpreter per program); ``python -m svcctl.wrapper`` speaks it over its channel
socket like any service process.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import wire
from ..errors import ERROR_SERVICE_ALREADY_RUNNING, ERROR_SERVICE_NOT_IN_EXE
from ..types import ServiceType, State
from .logs import scratch_buffer
from .process import ProcessLayer
from .settings import Settings, system_environment
from .supervisor import Supervisor

if TYPE_CHECKING:
    from mmap import mmap

    from ..accounts import Account

#: The one entry of the wrapper's service table: an own-process image answers to any name (B54).
TABLE_NAME = "svcctl.wrapper"

#: name -> (values of Parameters, values of Parameters\AppExit)
ReadParameters = Callable[[str], tuple[dict[str, tuple[int, Any]], dict[str, tuple[int, Any]]]]


class WrapperHost:
    """One wrapped service's "process", as far as the SCM can tell."""

    def __init__(self, read_parameters: ReadParameters, layer: ProcessLayer,
                 environment: Callable[[str, Account | None], dict[str, str]] = system_environment,
                 scratch: mmap | None = None, account: Account | None = None) -> None:
        self.read_parameters = read_parameters
        self.layer = layer
        self.environment = environment
        self.scratch = scratch if scratch is not None else scratch_buffer()
        self.account = account
        self.supervisor: Supervisor | None = None
        #: Resolves with the "process" exit code: 0 after STOPPED, else the crash's code.
        self.ended: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._entry = TABLE_NAME
        self._send: Callable[[dict[str, Any]], object] = lambda msg: None
        self._close: Callable[[], object] = lambda: None

    @property
    def pid(self) -> int:
        program = self.supervisor.program if self.supervisor else None
        return program.pid if program is not None and not program.exited.done() else 0

    # --- links ---------------------------------------------------------------------------------

    def link(self, send: Callable[[dict[str, Any]], object], close: Callable[[], object]) -> None:
        """Say hello through ``send``; ``close`` ends the channel once the service is over."""
        self._send, self._close = send, close
        send({"id": 0, "op": "hello", "services": [TABLE_NAME]})

    async def serve_socket(self, sock: socket.socket) -> int:
        """Speak the protocol over a service process's channel until the service is over."""
        reader, writer = await asyncio.open_unix_connection(sock=sock)
        self.link(lambda msg: writer.write(wire.encode(msg)) if not writer.is_closing() else None, writer.close)
        decoder = wire.Decoder()
        try:
            while not self.ended.done():
                data = await reader.read(65536)
                if not data:
                    break
                for msg in decoder.feed(data):
                    self.deliver(msg)
        except (OSError, wire.FrameError):
            pass
        finally:
            self.abort()
            writer.close()
        return self.ended.result()

    # --- messages from the SCM -----------------------------------------------------------------

    def deliver(self, msg: dict[str, Any]) -> None:
        if self.ended.done():
            return
        op, rid = msg.get("op"), msg.get("id")
        if op == "start":
            if self.supervisor is not None and not self.supervisor.done.done():
                self._send({"re": rid, "e": ERROR_SERVICE_ALREADY_RUNNING})
                return
            self._entry = str(msg.get("name") or TABLE_NAME)
            argv = [str(a) for a in msg.get("argv") or [self._entry]]
            try:
                values, exits = self.read_parameters(argv[0])
            except OSError:
                values, exits = {}, {}
            env = self.environment(argv[0], self.account)
            self.supervisor = Supervisor(argv[0], Settings(values, exits), self.layer, self, env, argv[1:],
                                         self.scratch, self.account)
            self._send({"re": rid, "e": 0})
            task = asyncio.ensure_future(self.supervisor.run())
            task.add_done_callback(self._service_ended)
        elif op == "control":
            sup = self.supervisor
            result = sup.control(int(msg.get("code", 0))) if sup is not None else ERROR_SERVICE_NOT_IN_EXE
            if rid is not None:  # else a notice (SHUTDOWN): nobody waits for the answer
                self._send({"re": rid, "r": result})

    def abort(self) -> None:
        """The channel is cut (the SCM killed us or went away): nothing of ours may stay."""
        if self.supervisor is not None and not self.supervisor.done.done():
            self.supervisor.kill()
        self._finish(1)

    def _finish(self, code: int) -> None:
        if not self.ended.done():
            self.ended.set_result(code)
            self._close()

    def _service_ended(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            import traceback

            exc = task.exception()
            self.event("error", "The wrapper failed: " + "".join(traceback.format_exception(exc)))
            if self.supervisor is not None and self.supervisor.state is not State.STOPPED:
                self.supervisor.kill()
                self.status(int(State.STOPPED), 0, 1064)  # ERROR_EXCEPTION_IN_SERVICE
        self._finish(0)  # own process: its last service stopped, so the process ends

    # --- Reporter ------------------------------------------------------------------------------

    def status(self, state: int, accepted: int = 0, win32: int = 0, specific: int = 0,
               checkpoint: int = 0, wait_hint: int = 0) -> None:
        report = [int(ServiceType.WIN32_OWN_PROCESS), state, accepted, win32, specific, checkpoint, wait_hint]
        self._send({"op": "status", "name": self._entry, "s": report})

    def event(self, level: str, text: str) -> None:
        self._send({"op": "event", "name": self._entry, "level": level, "text": text})

    def crash(self, code: int) -> None:
        """Gone without STOPPED: the SCM sees a crash (B86), the Suicide exit action."""
        self._finish(code)
