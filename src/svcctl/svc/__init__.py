"""Service side: write services in Python and run them under the portable or Windows SCM.

``run(MyService)`` makes this process a service host; ``debug(MyService)`` runs one in the
console; ``run_as_service`` / ``update_service_status`` are TWAPI's callback style (seed 003).
"""

from __future__ import annotations

from ..types import Accept, Control, State
from .debug import debug
from .dispatcher import Dispatcher, HandlerEx, ServiceMain
from .service import Service, ServiceExit, run, service_main
from .status import StatusHandle
from .twapi import run_as_service, update_service_status

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
