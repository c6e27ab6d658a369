"""The wrapper's service-side channel to the portable SCM, on an event loop.

This is :class:`svcctl.svc.Dispatcher`'s protocol (hello, start, control, status) spoken
asynchronously, so the wrapper needs no thread per service: the daemon runs it on its own loop
for every wrapped service (no interpreter per program), and ``python -m svcctl.wrapper`` runs it
on a loop of its own. It also sends ``event`` messages, the service side of ReportEvent.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

from .. import wire
from ..errors import ERROR_SERVICE_ALREADY_RUNNING, ERROR_SERVICE_NOT_IN_EXE
from ..types import ServiceType, State
from .process import ProcessLayer
from .settings import Settings, system_environment
from .supervisor import Supervisor

#: The one entry of the wrapper's service table: an own-process image answers to any name (B54).
TABLE_NAME = "svcctl.wrapper"

#: name -> (values of Parameters, values of Parameters\AppExit)
ReadParameters = Callable[[str], tuple[dict[str, tuple[int, Any]], dict[str, tuple[int, Any]]]]


class WrapperHost:
    """One wrapped service's process, as far as the SCM can tell."""

    def __init__(self, sock: socket.socket, read_parameters: ReadParameters, layer: ProcessLayer,
                 environment: Callable[[str], dict[str, str]] = system_environment) -> None:
        self.sock = sock
        self.read_parameters = read_parameters
        self.layer = layer
        self.environment = environment
        self.supervisor: Supervisor | None = None
        self.exit_code: int | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._entry = TABLE_NAME

    @property
    def pid(self) -> int:
        program = self.supervisor.program if self.supervisor else None
        return program.pid if program is not None and not program.exited.done() else 0

    async def serve(self) -> int:
        """Run until the service stopped (0) or was ended as a crash (its code)."""
        reader, writer = await asyncio.open_unix_connection(sock=self.sock)
        self._writer = writer
        decoder = wire.Decoder()
        self._send({"id": 0, "op": "hello", "services": [TABLE_NAME]})
        try:
            while self.exit_code is None:
                data = await reader.read(65536)
                if not data:
                    break
                for msg in decoder.feed(data):
                    self._serve(msg)
        except (OSError, wire.FrameError):
            pass
        finally:
            if self.supervisor is not None and not self.supervisor.done.done():
                self.supervisor.kill()  # the SCM went away: nothing of ours may stay behind
            writer.close()
        return self.exit_code or 0

    def _send(self, msg: dict[str, Any]) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(wire.encode(msg))

    def _serve(self, msg: dict[str, Any]) -> None:
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
            self.supervisor = Supervisor(argv[0], Settings(values, exits), self.layer, self,
                                         self.environment(argv[0]), argv[1:])
            self._send({"re": rid, "e": 0})
            task = asyncio.ensure_future(self.supervisor.run())
            task.add_done_callback(self._service_ended)
        elif op == "control":
            sup = self.supervisor
            result = sup.control(int(msg.get("code", 0))) if sup is not None else ERROR_SERVICE_NOT_IN_EXE
            self._send({"re": rid, "r": result})

    def _service_ended(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            import traceback

            exc = task.exception()
            text = "".join(traceback.format_exception(exc)) if exc else ""
            self.event("error", f"The wrapper failed: {text}")
            if self.supervisor is not None and self.supervisor.state is not State.STOPPED:
                self.supervisor.kill()
                self.status(int(State.STOPPED), 0, 1064)  # ERROR_EXCEPTION_IN_SERVICE
        if self.exit_code is None:
            self.exit_code = 0
            if self._writer is not None:
                self._writer.close()  # own process: the last service stopped, the process ends

    # --- Reporter ------------------------------------------------------------------------------

    def status(self, state: int, accepted: int = 0, win32: int = 0, specific: int = 0,
               checkpoint: int = 0, wait_hint: int = 0) -> None:
        report = [int(ServiceType.WIN32_OWN_PROCESS), state, accepted, win32, specific, checkpoint, wait_hint]
        self._send({"op": "status", "name": self._entry, "s": report})

    def event(self, level: str, text: str) -> None:
        self._send({"op": "event", "name": self._entry, "level": level, "text": text})

    def crash(self, code: int) -> None:
        self.exit_code = code
        if self._writer is not None:
            self._writer.transport.abort()  # gone without STOPPED: the SCM sees a crash (B86)
