"""System start-up and the Control values it reads: the boot set, last-known-good, group and tag order.

Mixed into :class:`~svcctl.scm.core.Scm`, whose state it uses (database, records, runtime,
event log); kept apart because boot is one concern (B123-B129) and core.py holds the API calls.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..types import ErrorControl, ScmAccess, State
from . import boot, validate
from .database import REG_BINARY, REG_MULTI_SZ
from .parts import ScmParts
from .record import ServiceRecord
from .security import require

if TYPE_CHECKING:
    from .core import Session


class BootApi(ScmParts):
    def use_last_known_good(self) -> bool:
        """Switch to the last-known-good configuration (``svcctl serve --last-known-good``), the
        current one kept under Failed\\Services. Only while no service runs."""
        if not boot.use_last_known_good(self.db):
            return False
        self._load()
        self.last_known_good = True
        self.events.write(7902, None)
        return True

    async def boot(self) -> None:
        """System start-up (B123-B127): the boot set in load order, then the delayed services."""

        async def start_and_settle(rec: ServiceRecord) -> None:
            await self._start(rec, [], frozenset())
            while rec.state is State.START_PENDING:  # a hung one is ended by the watchdog (B52)
                await self.runtime.changed(rec, timeout=None)

        failed: list[ServiceRecord] = []
        await boot.run_boot(self.db, self.records, start_and_settle, lambda rec, exc: failed.append(rec))
        severe = [rec for rec in failed if boot.severe(rec.error_control)]
        if severe and not self.last_known_good and self.db.has_tree(boot.LAST_KNOWN_GOOD):
            # B128: restart with the last-known-good configuration, keeping the failed one.
            rec = severe[0]
            self.events.write(7900, rec.name, rec.shown_name, rec.error_control.name)
            await self.runtime.stop_all(list(self.records.values()), 5000)
            self.use_last_known_good()
            await self.boot()
            return
        if any(rec.error_control == ErrorControl.CRITICAL for rec in severe) and self.last_known_good:
            rec = next(r for r in severe if r.error_control == ErrorControl.CRITICAL)
            self.events.write(7901, rec.name, rec.shown_name)
            return  # B128: CRITICAL under last-known-good fails the boot: nothing more is started
        if not severe:
            boot.save_last_known_good(self.db)  # B129: this configuration booted cleanly
        delay = self.runtime.settings.delayed_start_ms / 1000
        task = asyncio.ensure_future(boot.run_delayed(self.records, start_and_settle, delay))
        self._boot_tasks.add(task)
        task.add_done_callback(self._boot_tasks.discard)

    def group_order(self, s: Session, scm: int) -> list[str]:
        self._live()
        self._scm(s, scm)
        return boot.group_order(self.db)

    def set_group_order(self, s: Session, scm: int, groups: list[str]) -> None:
        """Write ``Control\\ServiceGroupOrder`` ``List`` (needs SC_MANAGER_MODIFY_BOOT_CONFIG)."""
        self._live()
        require(self._scm(s, scm).access, ScmAccess.MODIFY_BOOT_CONFIG)
        self.db.write({boot.GROUP_ORDER_KEY: {"List": (REG_MULTI_SZ, tuple(groups))}})

    def tag_order(self, s: Session, scm: int, group: str) -> list[int]:
        self._live()
        self._scm(s, scm)
        return boot.tag_order(self.db, group)

    def set_tag_order(self, s: Session, scm: int, group: str, tags: list[int]) -> None:
        """Write ``Control\\GroupOrderList\\<group>``: DWORD count, then the tags (B124)."""
        self._live()
        require(self._scm(s, scm).access, ScmAccess.MODIFY_BOOT_CONFIG)
        blob = b"".join(validate.dword(t).to_bytes(4, "little") for t in [len(tags), *tags])
        self.db.write({boot.TAG_ORDER_KEY: {group: (REG_BINARY, blob)}})
