"""Where a service process finds its control channel to the portable SCM.

A real service process inherits a connected socket from the daemon; ``SVCCTL_CHANNEL=fd:N`` in
its environment names it. An image that the in-process fake SCM runs as a thread gets its socket
through a thread-local instead. That thread-local, and the record of which process (or
in-process image) already runs a dispatcher, are the only process-global state of the service
side, and they live here.
"""

from __future__ import annotations

import _socket
import os
import threading

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

ENV_CHANNEL = "SVCCTL_CHANNEL"

_inprocess = threading.local()
_claimed: set[tuple[int, int]] = set()
_claimed_lock = threading.Lock()


def _identity() -> tuple[int, int]:
    # An in-process image is "a process" of its own: key it by its binding, which every thread
    # of the image shares.
    killed = getattr(_inprocess, "killed", None)
    return (os.getpid(), id(killed) if killed is not None else 0)


def claim() -> bool:
    """Mark this process as running its dispatcher; False if it already does (B55: 1056)."""
    with _claimed_lock:
        ident = _identity()
        if ident in _claimed:
            return False
        _claimed.add(ident)
        return True


def release() -> None:
    with _claimed_lock:
        _claimed.discard(_identity())


def set_inprocess(sock: _socket.socket | None, killed: threading.Event | None) -> None:
    """Bind (or unbind) the calling thread to an in-process SCM's channel."""
    _inprocess.sock = sock
    _inprocess.killed = killed


if TYPE_CHECKING:
    Binding = tuple[_socket.socket | None, threading.Event | None]


def binding() -> Binding:
    """The calling thread's in-process binding, for threads an in-process image starts."""
    return (getattr(_inprocess, "sock", None), getattr(_inprocess, "killed", None))


def bind(b: Binding) -> None:
    set_inprocess(*b)


def inprocess_killed() -> threading.Event | None:
    ev: threading.Event | None = getattr(_inprocess, "killed", None)
    return ev


def open_channel() -> _socket.socket | None:
    """The control channel of this service process, or None when not started by the SCM."""
    sock: _socket.socket | None = getattr(_inprocess, "sock", None)
    if sock is not None:
        return sock
    spec = os.environ.get(ENV_CHANNEL, "")
    if not spec.startswith("fd:"):
        return None
    try:
        fd = int(spec[3:])
        sock = _socket.socket(fileno=fd)
    except (ValueError, OSError):
        return None
    # Children the service starts must not inherit the channel (or the variable naming it).
    os.environ.pop(ENV_CHANNEL, None)
    os.set_inheritable(fd, False)
    return sock
