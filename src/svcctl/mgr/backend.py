"""The backend seam: one call, ``call(op, **args)``, whose vocabulary is the SCM's API.

Operation names and arguments are those of :mod:`svcctl.scm.api` (open_scm, create, open,
status, control, ...), results are wire values (lists of Win32 numbers). The portable client
sends them over the daemon's socket, the memory backend hands them to an in-process SCM, and the
Windows backend maps each onto its advapi32 call. :class:`svcctl.mgr.Manager` is the typed face.
"""

from __future__ import annotations

import os
import sys

from ..errors import ERROR_INVALID_PARAMETER, ScmError

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any

ENV_BACKEND = "SVCCTL_BACKEND"


class Backend:
    """What every backend implements (a plain base class: no typing import at run time)."""

    def call(self, op: str, **args: Any) -> Any:
        """Perform one API call; raises :class:`~svcctl.errors.ScmError` with the Win32 code."""
        raise NotImplementedError

    def call_many(self, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        """Several calls, each answered on its own: its result, or the ScmError it raised. A
        backend that can (the portable client) has them all in flight at once."""
        out: list[Any] = []
        for op, args in calls:
            try:
                out.append(self.call(op, **args))
            except ScmError as exc:
                out.append(exc)
        return out

    def close(self) -> None:
        """Release the connection (closes every handle still open through it, like process exit)."""
        raise NotImplementedError


def default_backend_name() -> str:
    name = os.environ.get(ENV_BACKEND)
    if name:
        return name
    return "win32" if sys.platform == "win32" else "portable"


def open_backend(name: str, system: str | None) -> Backend:
    """Load a backend by name, importing only that backend's module (never ctypes.windll elsewhere)."""
    if name == "portable":
        from .portable import PortableBackend

        return PortableBackend.connect(system)
    if name == "memory":
        from .memory import MemoryBackend

        return MemoryBackend.default().connect(system)
    if name == "win32":
        from .win32 import Win32Backend  # type: ignore[import-not-found,unused-ignore]

        backend: Backend = Win32Backend(system)
        return backend
    raise ScmError(ERROR_INVALID_PARAMETER, f"unknown backend {name!r} (portable, memory, win32)")
