"""The in-process SCM: the daemon's own state machine, on a private loop thread, in memory.

Service images run as threads (``python -m module`` / ``python script.py`` calling ``main``), so
unit tests and examples get real SCM semantics without a daemon. Every request goes through the
same :func:`svcctl.scm.api.dispatch` as the socket server's.
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from ..scm.api import dispatch
from ..scm.core import Scm, Session
from ..scm.database import Database
from ..scm.events import EventLog
from ..scm.hosting import HostingSpawner
from ..scm.oslayer import InProcessSpawner
from ..scm.runtime import Runtime, Settings
from ..scm.security import Identity
from ..wrapper.posix import PosixProcessLayer
from .backend import Backend


class MemoryScm:
    """An SCM living in this process. ``MemoryScm.default()`` is shared by ``backend="memory"``."""

    _default: MemoryScm | None = None
    _default_lock = threading.Lock()

    def __init__(self, settings: Settings | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="svcctl-memory-scm", daemon=True)
        self._thread.start()
        self.settings = settings or Settings()
        self.scm: Scm = self.run(self._build())

    async def _build(self) -> Scm:
        db = Database(":memory:")
        events = EventLog(db, self.loop.call_soon)
        self.spawner = spawner = HostingSpawner(InProcessSpawner(), db, PosixProcessLayer())
        return Scm(db, events, Runtime(spawner, events, self.settings))

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    @classmethod
    def default(cls) -> MemoryScm:
        with cls._default_lock:
            if cls._default is None:
                cls._default = cls()
            return cls._default

    def connect(self, system: str | None = None, identity: Identity | None = None) -> MemoryBackend:
        who = identity or Identity(uid=os.getuid() if hasattr(os, "getuid") else 0, gid=0, pid=os.getpid(), admin=True)
        return MemoryBackend(self, Session(who))

    def boot(self) -> None:
        """Run system start-up now (the daemon does this when it starts)."""
        self.run(self.scm.boot())

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self.run(self.scm.shutdown(timeout_ms))
        self.spawner.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()


class MemoryBackend(Backend):
    def __init__(self, owner: MemoryScm, session: Session) -> None:
        self.owner = owner
        self.session = session

    @staticmethod
    def default() -> MemoryScm:
        return MemoryScm.default()

    async def _call(self, msg: dict[str, Any]) -> Any:
        result = dispatch(self.owner.scm, self.session, msg)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    def call(self, op: str, **args: Any) -> Any:
        args["op"] = op
        return self.owner.run(self._call(args))

    def close(self) -> None:
        async def close_all() -> None:
            self.owner.scm.close_session(self.session)

        self.owner.run(close_all())
