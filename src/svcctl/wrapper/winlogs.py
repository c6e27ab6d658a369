"""Capturing a program's output on Windows: a reader thread per pipe feeding the event loop.

:class:`~.logs.Relay` waits for its pipe with ``loop.add_reader``, which Windows' proactor loop
offers only for sockets. Here a thread does the blocking reads (256 KiB asked per call) and
hands each chunk to the loop, which writes it into the same :class:`~.logs.LogFile`; the file
is thus only ever touched on the loop, so a rotation (the rotate control) never races a write.
A semaphore bounds the chunks in flight, so a program outpacing the disk is slowed by its pipe,
not buffered in the wrapper's memory.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time

from .logs import CHUNK, TAIL_BYTES, LogFile, Relay

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml)
if TYPE_CHECKING:
    from mmap import mmap

#: Chunks read but not yet written: 1 MiB at most per pipe.
IN_FLIGHT = 4
#: How long close() waits for the pipe's end once the program's tree is gone.
CLOSE_WAIT_S = 2.0


class ThreadRelay(Relay):
    """A :class:`~.logs.Relay` (same constructor, tail and ``last_lines``) for Windows pipes."""

    def __init__(
        self, read_fd: int, sink: LogFile | None, scratch: mmap, *, timestamps: bool = False,
        keep_tail: bool = False,
    ) -> None:
        """``scratch`` is unused: each read returns its own buffer, handed across threads."""
        self.fd = read_fd
        self.sink = sink
        self.timestamps = timestamps
        self.keep_tail = keep_tail
        self.tail = bytearray()
        self._line_start = True
        self._loop = asyncio.get_running_loop()
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._room = threading.Semaphore(IN_FLIGHT)
        self._ended = False
        self._thread = threading.Thread(target=self._read, name=f"svcctl-relay-{read_fd}", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        """The reader thread: until the pipe's last writer is gone."""
        fd = self.fd
        while True:
            if not self._ended:
                self._room.acquire()
            try:
                data = os.read(fd, CHUNK)
            except OSError:
                data = b""
            if self._ended:  # abandoned by close(): read on to the end, keep nothing
                if data:
                    continue
                break
            self._chunks.put(data or None)
            try:
                self._loop.call_soon_threadsafe(self._drain)
            except RuntimeError:  # the loop is closed
                break
            if not data:
                break
        try:
            os.close(fd)
        except OSError:
            pass

    def _drain(self) -> None:
        """On the loop: write what the thread has read."""
        while not self._ended:
            try:
                data = self._chunks.get_nowait()
            except queue.Empty:
                return
            if data is None:
                self._end()
                return
            self._room.release()
            self._take(data)

    def _take(self, data: bytes) -> None:
        if self.keep_tail:
            self.tail += data[-TAIL_BYTES:]
            del self.tail[:-TAIL_BYTES]
        if self.sink is not None:
            self.sink.write(self._stamp(memoryview(data)) if self.timestamps else data)

    def _end(self) -> None:
        self._ended = True
        self._room.release()  # a reader waiting for room reads on (and discards) to the end
        self.fd = -1

    def close(self) -> None:
        """Write what is left in the pipe, then stop. Called once the tree is gone, so the end
        of the pipe is near; a pipe some process outside the tree still holds is abandoned
        (its thread closes it later) rather than blocking the loop."""
        deadline = time.monotonic() + CLOSE_WAIT_S
        while not self._ended:
            self._drain()
            if self._ended or time.monotonic() >= deadline:
                break
            self._thread.join(0.01)
        if not self._ended:
            self._end()
