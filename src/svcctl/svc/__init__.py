"""Service side: write services in Python and run them under the portable or Windows SCM.

``run(MyService)`` makes this process a service host; ``debug(MyService)`` runs one in the
console; ``run_as_service`` / ``update_service_status`` are TWAPI's callback style (seed 003).
The console runner and the TWAPI layer load on first use: every service process imports this
package, so it stays small.
"""

from __future__ import annotations

from ..types import Accept, Control, State
from .dispatcher import Dispatcher, HandlerEx, ServiceMain
from .service import Service, ServiceExit, run, service_main
from .status import StatusHandle

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from .console import debug
    from .twapi import run_as_service, update_service_status

_LAZY = {"debug": ".console", "run_as_service": ".twapi", "update_service_status": ".twapi"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Accept",
    "Control",
    "Dispatcher",
    "HandlerEx",
    "Service",
    "ServiceExit",
    "ServiceMain",
    "State",
    "StatusHandle",
    "debug",
    "run",
    "run_as_service",
    "service_main",
    "update_service_status",
]
