"""Framing of the portable protocol: 4-byte big-endian length, then one UTF-8 JSON object.

One module serves the three parties (manager clients, the daemon, service processes) so they
cannot disagree about a byte. JSON keeps every message inspectable and its decoder is C-fast;
the length prefix lets the daemon refuse an oversized frame before reading it.
"""

from __future__ import annotations

import json
import os
import struct

from .errors import ERROR_INVALID_DATA, ERROR_NOT_ENOUGH_MEMORY, ScmError

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from _socket import socket
    from collections.abc import Callable
    from typing import Any

#: Largest frame either side accepts (a QueryServiceConfig is at most 8 KB, B36; enumeration of
#: 10,000 services is ~2 MB, so the limit is generous but bounded).
MAX_FRAME = 16 * 1024 * 1024
_HEADER = struct.Struct(">I")
_loads = json.JSONDecoder().decode


def _make_dumps() -> Callable[[Any], str]:
    """``json.dumps(obj, ensure_ascii=False, separators=(",", ":"))``, but with json's C encoder
    made once: ``JSONEncoder.encode`` makes a new one for every message (half its time for the
    small messages of this protocol). Messages are never circular, so no cycle check is needed."""
    from json import encoder

    plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    make, escape = getattr(encoder, "c_make_encoder", None), getattr(encoder, "c_encode_basestring", None)
    if make is None or escape is None:  # an interpreter without _json
        return plain.encode
    chunks = make(None, plain.default, escape, None, ":", ",", False, False, True)
    join = "".join
    return lambda obj: join(chunks(obj, 0))


_dumps = _make_dumps()


class FrameError(ScmError):
    """The peer sent bytes that are not a frame; the connection cannot continue."""


def encode(obj: Any) -> bytes:
    payload = _dumps(obj).encode()
    return _HEADER.pack(len(payload)) + payload


def decode_payload(payload: bytes) -> dict[str, Any]:
    try:
        obj = _loads(payload.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrameError(ERROR_INVALID_DATA, f"malformed frame: {exc}") from None
    if not isinstance(obj, dict):
        raise FrameError(ERROR_INVALID_DATA, "a frame must hold a JSON object")
    return obj


class Decoder:
    """Incremental decoder for stream transports: feed bytes, get whole messages."""

    __slots__ = ("_buf", "_limit")

    def __init__(self, limit: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._limit = limit

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        buf = self._buf
        buf += data
        out: list[dict[str, Any]] = []
        pos = 0
        while len(buf) - pos >= 4:
            (size,) = _HEADER.unpack_from(buf, pos)
            if size > self._limit:
                raise FrameError(ERROR_NOT_ENOUGH_MEMORY, f"frame of {size} bytes exceeds {self._limit}")
            end = pos + 4 + size
            if len(buf) < end:
                break
            out.append(decode_payload(bytes(buf[pos + 4 : end])))
            pos = end
        if pos:
            del buf[:pos]
        return out


#: How many non-blocking reads a waiting client tries before it sleeps in recv (a few hundred
#: microseconds): a reply usually comes sooner, and not sleeping saves the wake-up, which on a
#: multi-core machine is most of a round trip. Never on one core, where it would delay the peer.
SPIN_READS = 400 if (os.cpu_count() or 1) > 1 else 0
_MSG_DONTWAIT = 0x40  # MSG_DONTWAIT on Linux (not every _socket build exports the name)


#: Bytes asked for per recv. Python allocates that much for every call, then shrinks it: at
#: 256 KiB each call was an mmap, an mremap and an munmap; 64 KiB comes from the heap.
RECV_BYTES = 65536


class Channel:
    """Blocking framed connection over a stream socket (used by clients and service processes).

    ``spin`` > 0 makes :meth:`recv` poll that many times before blocking (request/reply clients);
    a service's dispatcher, which idles between controls, leaves it at 0.
    """

    __slots__ = ("_dec", "_pending", "spin", "sock")

    def __init__(self, sock: socket, spin: int = 0) -> None:
        self.sock = sock
        self._dec = Decoder()
        self._pending: list[dict[str, Any]] = []
        self.spin = spin

    def send(self, obj: Any) -> None:
        self.sock.sendall(encode(obj))

    def recv(self) -> dict[str, Any]:
        """Next message; raises ``EOFError`` when the peer closed the connection."""
        while not self._pending:
            data = self._poll() if self.spin else self.sock.recv(RECV_BYTES)
            if not data:
                raise EOFError("connection closed by peer")
            self._pending = self._dec.feed(data)
        return self._pending.pop(0)

    def _poll(self) -> bytes:
        recv = self.sock.recv
        for _ in range(self.spin):
            try:
                return recv(RECV_BYTES, _MSG_DONTWAIT)
            except BlockingIOError:
                pass
        return recv(RECV_BYTES)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
