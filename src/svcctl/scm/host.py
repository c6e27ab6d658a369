"""The SCM's side of one service process: its control channel and the services it hosts.

A host is created when the SCM launches an image. The process's dispatcher says ``hello`` with
its service table (StartServiceCtrlDispatcher), then receives ``start`` and ``control`` requests
and sends status updates. Several SHARE_PROCESS services may live in one host (B54).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from typing import Protocol as TypingProtocol

from .. import wire
from ..errors import ERROR_SERVICE_REQUEST_TIMEOUT, ScmError
from .oslayer import Process

if TYPE_CHECKING:
    from .record import ServiceRecord


class Peer(TypingProtocol):
    """The service side of a host that lives on the SCM's own loop instead of in a process."""

    def deliver(self, msg: dict[str, Any]) -> None:
        """A message from the SCM (hello's reply, start, control)."""

    def abort(self) -> None:
        """The SCM cuts the channel: the service side ends at once (and calls peer_closed)."""


#: Levels a service may give the events it reports, and the longest text kept.
EVENT_LEVELS = ("error", "warning", "information", "info")
MAX_EVENT_TEXT = 16384


class Host(asyncio.Protocol):
    """One running service image, seen from the SCM."""

    def __init__(
        self,
        image: str,
        account: str,
        on_status: Callable[[Host, str, list[int]], None],
        on_lost: Callable[[Host], None],
        on_event: Callable[[Host, str, str, str], None] | None = None,
    ) -> None:
        self.image = image
        self.account = account
        self.process: Process | None = None
        self.table: list[str] | None = None  # the dispatcher's service names, after hello
        self.hello: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.hello.add_done_callback(_retrieve)  # a failed hello nobody awaits is not an error
        #: Resolves when the channel is closed, i.e. after the last byte the process sent was read.
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.records: dict[str, ServiceRecord] = {}  # lower-case name -> record started here
        self.closing = False
        #: The timer that kills a process lingering after its last service stopped.
        self.grace: asyncio.TimerHandle | None = None
        self._on_status = on_status
        self._on_lost = on_lost
        self._on_event = on_event
        self._transport: asyncio.Transport | None = None
        self._peer: Peer | None = None
        self._decoder = wire.Decoder()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    def serves(self, name: str) -> bool:
        """Whether the dispatcher's table names ``name`` (case-insensitive)."""
        return self.table is not None and name.lower() in (n.lower() for n in self.table)

    # --- a service side on this event loop (the hosted wrapper): messages pass as objects -------

    def connect_peer(self, peer: Peer) -> None:
        self._peer = peer

    def receive(self, msg: dict[str, Any]) -> None:
        """A message from the peer (what ``data_received`` decodes from a process)."""
        self._handle(msg)

    def peer_closed(self) -> None:
        if self._peer is not None:
            self._peer = None
            self.connection_lost(None)

    # --- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._decoder.feed(data)
        except wire.FrameError:
            self.abort()
            return
        for msg in messages:
            self._handle(msg)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        if not self.closed.done():
            self.closed.set_result(None)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ScmError(ERROR_SERVICE_REQUEST_TIMEOUT, "service process went away"))
        self._pending.clear()
        if not self.hello.done():
            self.hello.set_exception(ScmError(ERROR_SERVICE_REQUEST_TIMEOUT, "service process went away"))
        self._on_lost(self)

    # --- messages ------------------------------------------------------------------------------

    def _handle(self, msg: dict[str, Any]) -> None:
        if "re" in msg:
            fut = self._pending.pop(msg["re"], None)
            if fut is not None and not fut.done():
                code = msg.get("e", 0)
                if code:
                    fut.set_exception(ScmError(code) if isinstance(code, int) else ScmError(13))
                else:
                    fut.set_result(msg.get("r"))
            return
        op = msg.get("op")
        if op == "status":
            name, s = msg.get("name"), msg.get("s")
            if isinstance(name, str) and isinstance(s, list) and len(s) == 7 and all(type(x) is int for x in s):
                self._on_status(self, name, s)
        elif op == "event":
            name, level, text = msg.get("name"), msg.get("level"), msg.get("text")
            if self._on_event and isinstance(name, str) and level in EVENT_LEVELS and isinstance(text, str):
                self._on_event(self, name, str(level), text[:MAX_EVENT_TEXT])
        elif op == "hello":
            services = msg.get("services")
            ok = isinstance(services, list) and services and all(isinstance(s, str) for s in services)
            if self.hello.done() or not ok:
                self._send({"re": msg.get("id"), "e": 13})
                return
            self.table = list(services)  # type: ignore[arg-type]
            self._send({"re": msg.get("id"), "e": 0})
            self.hello.set_result(None)

    def _send(self, msg: dict[str, Any]) -> None:
        if self._peer is not None:
            self._peer.deliver(msg)  # on this loop: handled now, its replies come back the same way
        elif self._transport is not None and not self._transport.is_closing():
            self._transport.write(wire.encode(msg))

    async def request(self, op: str, timeout: float, **args: Any) -> Any:
        """Send a request to the dispatcher and wait for its reply (1053 when it takes too long)."""
        if self._transport is None and self._peer is None:
            raise ScmError(ERROR_SERVICE_REQUEST_TIMEOUT, "service process is not connected")
        rid = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self._send({"id": rid, "op": op, **args})
        if fut.done():  # a peer on this loop answered as it was asked
            self._pending.pop(rid, None)
            return fut.result()
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise ScmError(ERROR_SERVICE_REQUEST_TIMEOUT, f"no answer to {op} within {timeout:g} s") from None
        finally:
            self._pending.pop(rid, None)

    def notify(self, op: str, **args: Any) -> None:
        self._send({"op": op, **args})

    def abort(self) -> None:
        if self._peer is not None:
            self._peer.abort()
        elif self._transport is not None:
            self._transport.abort()


def _retrieve(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled():
        fut.exception()
