"""Capturing a program's output: pipes relayed into log files that rotate by size, age or request.

The program writes into a pipe, never into the file itself, so a log can be rotated while the
program runs (NSSM's online rotation) without the program knowing. The relay reads up to 256 KiB
per call from a pipe enlarged to 256 KiB (four times the 64 KiB of a default pipe), writes it
with one call, and keeps the last few KiB of standard error in memory: that tail is what "why did
my service not start?" shows. Rotated files are named ``<stem>-<UTC time><suffix>`` and the
oldest beyond the retention count are deleted.
"""

from __future__ import annotations

import asyncio
import os
import time

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from mmap import mmap

#: Bytes read per call, and the pipe size asked for: four times a default pipe, so a busy
#: program is drained in few calls, yet small enough that the shared buffer stays cheap.
CHUNK = 256 * 1024
TAIL_BYTES = 4096
_F_SETPIPE_SZ = 1031
#: Windows: binary (no LF -> CRLF) and not inherited; elsewhere close-on-exec.
_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0)


class LogFile:
    """An append-only log file with rotation; shared when stdout and stderr name the same path."""

    def __init__(self, path: str, *, max_bytes: int = 0, max_age_s: int = 0, keep: int = 0,
                 online: bool = True) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self.keep = keep
        self.online = online
        self.fd = -1
        self.size = 0
        self.opened = 0.0
        #: (uid, gid) the files are given to, rotated ones too (the service's account)
        self.owner: tuple[int, int] | None = None

    def chown(self) -> None:
        if self.owner is not None and self.fd >= 0:
            try:
                os.fchown(self.fd, *self.owner)
            except OSError:
                pass

    def open(self, rotate_existing: bool) -> None:
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if rotate_existing and os.path.exists(self.path) and os.path.getsize(self.path) > 0:
            self._rename_current()
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _OPEN_FLAGS, 0o640)
        self.size = os.fstat(self.fd).st_size
        self.opened = time.time()

    def write(self, data: bytes | memoryview) -> None:
        """Append ``data``; with a size limit a file ends at its last whole line that fits."""
        view = memoryview(data)
        while view:
            if self.online and self.size and self.max_age_s and time.time() - self.opened >= self.max_age_s:
                self.rotate()
            n = len(view)
            if self.online and self.max_bytes and self.size + n > self.max_bytes:
                room = self.max_bytes - self.size
                cut = view[:room].tobytes().rfind(b"\n") + 1 if room > 0 else 0
                if cut == 0 and self.size:
                    self.rotate()  # not even one more whole line fits
                    continue
                n = cut or room  # an empty file takes as much of an endless line as it may
            written = os.write(self.fd, view[:n])
            self.size += written
            view = view[written:]

    def rotate(self) -> None:
        """Start a new file now (a rotation with nothing written yet does nothing)."""
        if self.fd < 0 or self.size == 0:
            return
        os.close(self.fd)
        self.fd = -1
        self._rename_current()
        self.open(rotate_existing=False)
        self.chown()

    def _rename_current(self) -> None:
        stem, suffix = os.path.splitext(self.path)
        now = time.time()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}"
        target = f"{stem}-{stamp}{suffix}"
        n = 1
        while os.path.exists(target):
            n += 1
            target = f"{stem}-{stamp}-{n}{suffix}"
        os.rename(self.path, target)
        if self.keep:
            for old in self.rotated()[: -self.keep]:
                try:
                    os.unlink(old)
                except OSError:
                    pass

    def rotated(self) -> list[str]:
        """This log's rotated files, oldest first."""
        directory = os.path.dirname(self.path) or "."
        stem, suffix = os.path.splitext(os.path.basename(self.path))
        prefix = stem + "-"
        names = [
            n for n in os.listdir(directory)
            if n.startswith(prefix) and n.endswith(suffix) and n[len(prefix):len(prefix) + 1].isdigit()
        ]
        return [os.path.join(directory, n) for n in sorted(names)]

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def scratch_buffer() -> mmap:
    """A read buffer for :class:`Relay` (one per event loop is enough). An anonymous mapping,
    not a bytearray: a bytearray is zeroed, so all 256 KiB were resident from the first wrapped
    program on; a mapping's pages take memory only once a read has filled them, and the
    stderr of a program that prints little touches one."""
    import mmap

    return mmap.mmap(-1, CHUNK)


class Relay:
    """Copies one pipe into a :class:`LogFile` (or nowhere) on the event loop, keeping a tail."""

    def __init__(
        self, read_fd: int, sink: LogFile | None, scratch: mmap, *, timestamps: bool = False,
        keep_tail: bool = False,
    ) -> None:
        """``scratch`` is the read buffer; every relay of one event loop can share one, since
        each copies a chunk out before the loop runs the next (one per relay would cost the
        daemon a MiB of memory per wrapped program)."""
        self.fd = read_fd
        self.sink = sink
        self.timestamps = timestamps
        self.keep_tail = keep_tail
        self.tail = bytearray()
        self._buf = scratch
        self._line_start = True
        import fcntl  # POSIX only, like add_reader on a pipe (Windows: winlogs.ThreadRelay)

        try:
            fcntl.fcntl(read_fd, _F_SETPIPE_SZ, CHUNK)
        except OSError:
            pass  # above pipe-max-size for this user: the default size still works
        os.set_blocking(read_fd, False)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(read_fd, self._readable)

    def _readable(self) -> None:
        try:
            n = os.readv(self.fd, [self._buf])
        except BlockingIOError:
            return
        except OSError:
            n = 0
        if n == 0:
            self._finish()
        else:
            self._consume(n)

    def _consume(self, n: int) -> None:
        chunk = memoryview(self._buf)[:n]  # made per read: one kept per relay costs 0.3 KiB
        if self.keep_tail:
            self.tail += chunk[-TAIL_BYTES:]
            del self.tail[:-TAIL_BYTES]
        if self.sink is not None:
            self.sink.write(self._stamp(chunk) if self.timestamps else chunk)

    def _stamp(self, chunk: memoryview) -> bytes:
        now = time.time()
        prefix = (time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d} ").encode()
        lines = bytes(chunk).split(b"\n")
        out = []
        for i, line in enumerate(lines):
            if i == len(lines) - 1 and not line:
                out.append(b"")  # the chunk ended a line; the next line gets its prefix later
                break
            out.append(prefix + line if i or self._line_start else line)
        self._line_start = chunk[-1] == 0x0A  # ends with a newline
        return b"\n".join(out)

    def _finish(self) -> None:
        if self.fd >= 0:
            self._loop.remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1

    def close(self) -> None:
        """Read what is left in the pipe, then stop."""
        while self.fd >= 0:
            try:
                n = os.readv(self.fd, [self._buf])
            except OSError:
                break
            if n == 0:
                break
            self._consume(n)
        self._finish()

    def last_lines(self, count: int = 10) -> list[str]:
        text = self.tail.decode("utf-8", "replace")
        return [line for line in text.splitlines() if line.strip()][-count:]
