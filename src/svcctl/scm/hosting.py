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
from ..wrapper.logs import scratch_buffer
from ..wrapper.posix import PosixProcessLayer
from .database import Database, Values
from .host import Host
from .oslayer import Process, Spawner

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml)
if TYPE_CHECKING:
    from mmap import mmap

    from ..accounts import Account


class HostedProcess:
    """The stand-in for a wrapper process: its pid is the wrapped program's."""

    def __init__(self, wrapper: WrapperHost, host: Host) -> None:
        loop = asyncio.get_running_loop()
        self.wrapper = wrapper
        self.exited: asyncio.Future[int] = wrapper.ended
        host.connect_peer(wrapper)
        # Messages are handled as they are sent, both ways, as a process's would be in order; only
        # the end of the channel waits for the loop, so it never overtakes a message.
        wrapper.link(host.receive, lambda: loop.call_soon(host.peer_closed))

    @property
    def pid(self) -> int:
        return self.wrapper.pid

    def kill_tree(self, sig: int = signal.SIGKILL) -> None:
        """Killing the wrapper kills its program's tree, and the channel with it."""
        if sig == signal.SIGKILL:
            self.wrapper.abort()
        elif self.wrapper.supervisor is not None:
            self.wrapper.supervisor.kill()


class HostingSpawner:
    """A :class:`Spawner` that hosts wrapper images itself and hands other images to ``inner``."""

    def __init__(self, inner: Spawner, db: Database, layer: PosixProcessLayer | None = None) -> None:
        self.inner = inner
        self.db = db
        self.layer = layer or PosixProcessLayer()
        self._scratch: mmap | None = None  # one log read buffer for every hosted wrapper

    def host_inline(self, argv: list[str], host: Host, account: Account | None = None) -> Process | None:
        if not is_wrapper_command(argv):
            return None
        if self._scratch is None:
            self._scratch = scratch_buffer()
        wrapper = WrapperHost(self.read_parameters, self.layer, scratch=self._scratch, account=account)
        return HostedProcess(wrapper, host)

    def run(self, argv: list[str], env: dict[str, str], cwd: str) -> Process:
        return self.inner.run(argv, env, cwd)

    def spawn(self, argv: list[str], env: dict[str, str], cwd: str, channel: socket.socket,
              account: Account | None = None) -> Process:
        return self.inner.spawn(argv, env, cwd, channel, account)

    def read_parameters(self, name: str) -> tuple[Values, Values]:
        key = f"Services\\{name}\\Parameters"
        return self.db.read_key(key), self.db.read_key(key + "\\AppExit")

    def close(self) -> None:
        self.layer.close()
