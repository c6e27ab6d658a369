"""The floor under bench_wrapper.py's stop and RSS figures: the least an asyncio daemon can be.

    python bench/floor_server.py N FD SLEEP        (started by bench_wrapper.py, not by hand)

A process with the daemon's interpreter and its heavy imports (asyncio without OpenSSL, as
``svcctl serve`` imports it; sqlite3 with an open database) that starts N ``SLEEP 3600`` programs
in sessions of their own, writes ``ready RSS_KIB`` on the socket FD, then takes pipelined
requests ``I\\n``: SIGINT to program I's process group, and once its pidfd is readable, waitpid
and answer ``I\\n``. It has none of an SCM's work: no handles or access checks, no status reports,
event log or replies in the wire format, no wrapper settings, stop chain, stderr tail or cgroup.
So whatever it measures, a Python SCM on asyncio cannot beat.
"""

from __future__ import annotations

import sys

sys.modules["ssl"] = None  # type: ignore[assignment]  # as svcctl serve does: asyncio without OpenSSL

import asyncio  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import sqlite3  # noqa: E402


class Floor(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop, pids: list[int]) -> None:
        self.loop = loop
        self.pids = pids
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        *lines, self.buf = (self.buf + data).split(b"\n")
        for line in lines:
            i = int(line)
            pid = self.pids[i]
            fd = os.pidfd_open(pid)
            os.killpg(pid, signal.SIGINT)
            self.loop.add_reader(fd, self.reaped, fd, pid, i)

    def reaped(self, fd: int, pid: int, i: int) -> None:
        self.loop.remove_reader(fd)
        os.close(fd)
        os.waitpid(pid, 0)
        assert self.transport is not None
        self.transport.write(b"%d\n" % i)


def main(n: int, fd: int, sleep: str) -> None:
    db = sqlite3.connect(":memory:")
    db.execute("create table t (x)")
    loop = asyncio.new_event_loop()
    # posix_spawn, not Popen: 200 Popen objects would weigh on the floor's RSS.
    quiet = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
    pids = [os.posix_spawn(sleep, [sleep, "3600"], os.environ, file_actions=quiet, setsid=True) for _ in range(n)]
    sock = socket.socket(fileno=fd)
    # Read here, not with common.proc_status: importing bench's helpers would import svcctl
    # and add its modules to the very RSS this measures.
    with open("/proc/self/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    sock.sendall(b"ready %d\n" % rss)
    loop.run_until_complete(loop.create_connection(lambda: Floor(loop, pids), sock=sock))
    loop.run_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
