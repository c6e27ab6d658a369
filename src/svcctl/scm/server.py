"""The daemon's endpoint: a Unix domain socket whose peers are identified by their credentials.

Each connection is one client session. Synchronous operations are answered inside
``data_received`` (no task per request), which is what makes status queries cheap; start and
control run as tasks and answer when done, so one slow service never blocks other clients.
Replies are written together: those of one ``data_received`` at its end, those of tasks once
per loop iteration. A pipelined batch (``start_many``) then costs one send and one wake-up of
the client instead of one per reply.
A frame that cannot be decoded gets an error reply and the connection is closed; the daemon
and its database are untouched by anything a client sends.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from typing import Any

from .. import wire
from ..errors import ScmError
from . import api
from .core import Scm, Session
from .security import Identity

_UCRED = struct.Struct("3i")


def peer_identity(sock: socket.socket | None, owner_uid: int) -> Identity:
    """SO_PEERCRED of a connected Unix socket; the owner and root are administrators."""
    pid, uid, gid = 0, -1, -1
    if sock is not None and hasattr(socket, "SO_PEERCRED"):
        pid, uid, gid = _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
    elif sock is not None and hasattr(os, "getpeereid"):  # pragma: no cover - BSD/macOS
        uid, gid = os.getpeereid(sock.fileno())
    return Identity(uid=uid, gid=gid, pid=pid, admin=uid in (0, owner_uid))


class ClientProtocol(asyncio.Protocol):
    def __init__(self, scm: Scm, owner_uid: int) -> None:
        self.scm = scm
        self.owner_uid = owner_uid
        self.session: Session | None = None
        self.transport: asyncio.Transport | None = None
        self.decoder = wire.Decoder()
        self.tasks: set[asyncio.Task[None]] = set()
        self._out: list[bytes] = []  # replies not yet written
        self._holding = False  # inside data_received: its end writes them
        self._flush_due = False  # a flush is scheduled for the next loop iteration

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.session = Session(peer_identity(transport.get_extra_info("socket"), self.owner_uid))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        for task in self.tasks:
            task.cancel()
        if self.session is not None:
            self.scm.close_session(self.session)
            self.session = None

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.decoder.feed(data)
        except ScmError as exc:
            self._reply(None, error=exc)
            self._flush()
            if self.transport is not None:
                self.transport.close()
            return
        self._holding = True
        try:
            for msg in messages:
                self._handle(msg)
        finally:
            self._holding = False
            self._flush()

    def _handle(self, msg: dict[str, Any]) -> None:
        rid = msg.get("id")
        session = self.session
        if session is None:
            return
        try:
            result = api.dispatch(self.scm, session, msg)
        except ScmError as exc:
            self._reply(rid, error=exc)
            return
        if asyncio.iscoroutine(result):
            task = asyncio.ensure_future(self._finish(rid, result))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        else:
            self._reply(rid, result)

    async def _finish(self, rid: Any, coro: Any) -> None:
        try:
            result = await coro
        except ScmError as exc:
            self._reply(rid, error=exc)
        else:
            self._reply(rid, result)

    def _reply(self, rid: Any, result: Any = None, *, error: ScmError | None = None) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if error is None:
            self._out.append(wire.encode({"id": rid, "r": result}))
        else:
            self._out.append(
                wire.encode({"id": rid, "e": error.winerror, "m": error.detail, "text": error.strerror})
            )
        if not self._holding and not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_due = False
        out = self._out
        if not out:
            return
        self._out = []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))  # (one reply: joined without a copy)
