"""Wrapped programs hosted inside the SCM: no interpreter per ``svcctl install``-ed service.

A service whose ImagePath is the wrapper (``<python> -m svcctl.wrapper``) is not spawned as a
Python process. The :class:`HostingSpawner` recognises the image and runs the wrapper's service
side on the daemon's own event loop instead, connected through the same kind of channel a real
process gets, so everything above the spawner (hello, start, controls, status, crash handling)
is unchanged. Only the wrapped program itself becomes a process; the service's PID is that
program's.
"""

from __future__ import annotations

import asyncio
import signal
import socket

from ..wrapper import is_wrapper_command
from ..wrapper.host import WrapperHost
from ..wrapper.posix import PosixProcessLayer
from .database import Database, Values
from .oslayer import Process, Spawner


class HostedProcess:
    """The stand-in for a wrapper process: its pid is the wrapped program's."""

    def __init__(self, host: WrapperHost, loop: asyncio.AbstractEventLoop) -> None:
        self.host = host
        self.exited: asyncio.Future[int] = loop.create_future()
        self._task = loop.create_task(host.serve())
        self._task.add_done_callback(self._done)

    @property
    def pid(self) -> int:
        return self.host.pid

    def _done(self, task: asyncio.Task[int]) -> None:
        code = 1 if task.cancelled() or task.exception() is not None else task.result()
        if not self.exited.done():
            self.exited.set_result(code)

    def kill_tree(self, sig: int = signal.SIGKILL) -> None:
        """Killing the wrapper kills its program's tree, and the channel with it."""
        sup = self.host.supervisor
        if sup is not None:
            sup.kill()
        if sig == signal.SIGKILL:
            self.host.crash(-signal.SIGKILL)


class HostingSpawner:
    """A :class:`Spawner` that hosts wrapper images itself and hands other images to ``inner``."""

    def __init__(self, inner: Spawner, db: Database, layer: PosixProcessLayer | None = None) -> None:
        self.inner = inner
        self.db = db
        self.layer = layer or PosixProcessLayer()

    def run(self, argv: list[str], env: dict[str, str], cwd: str) -> Process:
        return self.inner.run(argv, env, cwd)

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, channel: socket.socket) -> Process:
        if not is_wrapper_command(argv):
            return self.inner.spawn(argv, env, cwd, channel)
        host = WrapperHost(channel, self.read_parameters, self.layer)
        return HostedProcess(host, asyncio.get_running_loop())

    def read_parameters(self, name: str) -> tuple[Values, Values]:
        key = f"Services\\{name}\\Parameters"
        return self.db.read_key(key), self.db.read_key(key + "\\AppExit")

    def close(self) -> None:
        self.layer.close()

