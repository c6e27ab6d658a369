"""What the parts of :class:`~svcctl.scm.core.Scm` (its API mixins) may rely on.

Scm is split by concern (core, boot, config2, registry, security); each mixin uses the SCM's
state and its handle checks. They are declared once here, for the type checker and the reader;
Scm itself provides every one of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio

    from .access import AccessControl
    from .core import Handle, Session
    from .database import Database
    from .events import EventLog
    from .record import ServiceRecord
    from .runtime import Runtime


class ScmParts:
    db: Database
    events: EventLog
    runtime: Runtime
    access: AccessControl
    records: dict[str, ServiceRecord]
    last_known_good: bool
    _boot_tasks: set[asyncio.Task[None]]

    def _live(self) -> None:
        raise NotImplementedError

    def _scm(self, s: Session, h: int) -> Handle:
        raise NotImplementedError

    def _svc(self, s: Session, h: int, needed: int = 0) -> ServiceRecord:
        raise NotImplementedError

    def _load(self) -> None:
        raise NotImplementedError

    async def _start(self, rec: ServiceRecord, args: list[str], trail: frozenset[str]) -> None:
        raise NotImplementedError
