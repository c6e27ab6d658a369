"""Boot: the daemon's start is system start-up for its services (B123-B128).

Every AUTO_START service (not delayed) and everything it depends on is started. The load order
(B124, B125): the groups of ``Control\\ServiceGroupOrder`` value ``List`` in that order, inside a
group the services whose tags ``Control\\GroupOrderList\\<group>`` lists first, one after another
in that order, then the group's other members; then services whose group is not listed; then
services without a group. Each of these stages starts its services concurrently and the next
stage begins once they are all up or failed;
dependencies start first whatever their stage (B50), so boot time follows the dependency graph's
critical path. Delayed auto-start services follow one at a time after ``delayed_start_ms``
(B127).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from ..errors import ScmError
from ..types import ErrorControl, StartType, State
from . import graph
from .database import CONTROL, REG_BINARY, REG_MULTI_SZ, SERVICES, Database
from .record import ServiceRecord

GROUP_ORDER_KEY = CONTROL + "\\ServiceGroupOrder"
#: B128/B129: the configuration that last booted cleanly, and the one a revert replaced.
LAST_KNOWN_GOOD = "LastKnownGood\\" + SERVICES
FAILED = "Failed\\" + SERVICES
TAG_ORDER_KEY = CONTROL + "\\GroupOrderList"

Start = Callable[[ServiceRecord], Awaitable[None]]


def group_order(db: Database) -> list[str]:
    value = db.read_key(GROUP_ORDER_KEY).get("List")
    return [g for g in value[1] if g] if value and value[0] == REG_MULTI_SZ else []


def tag_order(db: Database, group: str) -> list[int]:
    """The tag vector of ``group``: DWORD count, then that many DWORD tags (B124)."""
    value = db.read_key(TAG_ORDER_KEY).get(group)
    if not value or value[0] != REG_BINARY or not isinstance(value[1], bytes) or len(value[1]) < 4:
        return []
    blob = value[1]
    count = min(int.from_bytes(blob[:4], "little"), (len(blob) - 4) // 4)
    return [int.from_bytes(blob[4 + 4 * i : 8 + 4 * i], "little") for i in range(count)]


def boot_set(records: dict[str, ServiceRecord]) -> list[ServiceRecord]:
    """AUTO_START services (not delayed, not marked for deletion) and all they depend on (B123)."""
    chosen: dict[str, ServiceRecord] = {}
    stack = [
        r
        for r in records.values()
        if r.start_type == StartType.AUTO_START and not r.delayed_auto_start and not r.marked_for_delete
    ]
    while stack:
        rec = stack.pop()
        key = rec.name.casefold()
        if key in chosen:
            continue
        chosen[key] = rec
        stack.extend(graph.direct_dependencies(records, rec))
    return list(chosen.values())


def stages(db: Database, services: Iterable[ServiceRecord]) -> list[list[ServiceRecord]]:
    """The services in load order, cut into the stages that start one after another (B125)."""
    order = group_order(db)
    index = {g.casefold(): i for i, g in enumerate(order)}
    listed: list[list[ServiceRecord]] = [[] for _ in order]
    unlisted: list[ServiceRecord] = []
    ungrouped: list[ServiceRecord] = []
    for rec in services:
        if not rec.group:
            ungrouped.append(rec)
        elif rec.group.casefold() in index:
            listed[index[rec.group.casefold()]].append(rec)
        else:
            unlisted.append(rec)
    out: list[list[ServiceRecord]] = []
    for group, members in zip(order, listed, strict=True):
        rank = {t: i for i, t in enumerate(tag_order(db, group))}
        tagged = sorted((r for r in members if r.tag and r.tag in rank), key=lambda r: rank[r.tag])
        out.extend([r] for r in tagged)  # tag order is strict: one after another
        out.append(sorted((r for r in members if r not in tagged), key=lambda r: r.name.casefold()))
    out.append(sorted(unlisted, key=lambda r: (r.group.casefold(), r.name.casefold())))
    out.append(sorted(ungrouped, key=lambda r: r.name.casefold()))
    return [stage for stage in out if stage]


async def run_boot(
    db: Database,
    records: dict[str, ServiceRecord],
    start: Start,
    on_failure: Callable[[ServiceRecord, ScmError], None],
) -> None:
    """Start the boot set stage by stage; each stage's services concurrently, in load order."""
    for stage in stages(db, boot_set(records)):
        results = await asyncio.gather(*(_attempt(rec, start) for rec in stage))
        for rec, error in zip(stage, results, strict=True):
            if error is not None:
                on_failure(rec, error)


async def run_delayed(records: dict[str, ServiceRecord], start: Start, delay_s: float) -> None:
    """B127: delayed auto-start services, one at a time, after the delay."""
    await asyncio.sleep(delay_s)
    for rec in sorted(records.values(), key=lambda r: r.name.casefold()):
        if rec.start_type == StartType.AUTO_START and rec.delayed_auto_start and not rec.marked_for_delete:
            await _attempt(rec, start)


async def _attempt(rec: ServiceRecord, start: Start) -> ScmError | None:
    """Start ``rec`` unless something (a dependent) already did; wait until it is up or failed."""
    if rec.state is not State.STOPPED or rec.starting:
        return None
    try:
        await start(rec)
    except ScmError as exc:
        if exc.winerror == 1056:  # started meanwhile as someone's dependency
            return None
        return exc
    return None


def save_last_known_good(db: Database) -> None:
    """The boot was clean: remember this configuration (B129)."""
    db.copy_tree(SERVICES, LAST_KNOWN_GOOD)


def use_last_known_good(db: Database) -> bool:
    """Put the last-known-good configuration in place, keeping the current one under FAILED;
    False when there is none."""
    if not db.has_tree(LAST_KNOWN_GOOD):
        return False
    db.copy_tree(SERVICES, FAILED)
    db.copy_tree(LAST_KNOWN_GOOD, SERVICES)
    return True


def severe(error_control: ErrorControl) -> bool:
    """B128: SEVERE and CRITICAL start failures send the system back to last-known-good."""
    return error_control in (ErrorControl.SEVERE, ErrorControl.CRITICAL)
