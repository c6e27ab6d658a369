"""Dependency relations between service records: cycles (B30), dependents (B107), start order.

A dependency is either a service (by key name) or ``+group``, which stands for every service whose
load-order group is that group (B126). All comparisons are case-insensitive, as names are (B4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .record import ServiceRecord

Records = Mapping[str, ServiceRecord]  # lower-case name -> record


def group_members(records: Records, group: str) -> list[ServiceRecord]:
    g = group.casefold()
    return [r for r in records.values() if r.group and r.group.casefold() == g]


def direct_dependencies(records: Records, rec: ServiceRecord) -> list[ServiceRecord]:
    """Records ``rec`` depends on that exist (missing ones are the caller's 1075)."""
    out = [records[n.lower()] for n in rec.depend_on_service if n.lower() in records]
    for g in rec.depend_on_group:
        out.extend(m for m in group_members(records, g) if m is not rec)
    return out


def creates_cycle(
    records: Records, name: str, group: str, services: Iterable[str], groups: Iterable[str]
) -> bool:
    """Would a service ``name`` in ``group`` with these dependencies close a cycle? (B30)"""
    me = name.casefold()
    my_group = group.casefold()
    seen: set[str] = set()
    stack: list[ServiceRecord] = []

    def push_service(n: str) -> bool:
        if n.casefold() == me:
            return True
        r = records.get(n.lower())
        if r is not None and r.name.casefold() not in seen:
            seen.add(r.name.casefold())
            stack.append(r)
        return False

    def push_group(g: str) -> bool:
        if my_group and g.casefold() == my_group:
            return True  # depending on one's own group includes oneself
        return any(push_service(m.name) for m in group_members(records, g))

    if any(push_service(s) for s in services) or any(push_group(g) for g in groups):
        return True
    while stack:
        r = stack.pop()
        if r.name.casefold() == me:
            continue
        if any(push_service(s) for s in r.depend_on_service) or any(push_group(g) for g in r.depend_on_group):
            return True
    return False


def direct_dependents(records: Records, rec: ServiceRecord) -> list[ServiceRecord]:
    name = rec.name.casefold()
    group = rec.group.casefold()
    out = []
    for r in records.values():
        if r is rec or not (r.depend_on_service or r.depend_on_group):
            continue  # most services depend on nothing: stopping one must not cost O(N) scans
        if any(d.casefold() == name for d in r.depend_on_service) or (
            group and any(g.casefold() == group for g in r.depend_on_group)
        ):
            out.append(r)
    return out


def all_dependents(records: Records, rec: ServiceRecord) -> list[ServiceRecord]:
    """Direct and indirect dependents in reverse start order: a valid stop order (B107)."""
    found: dict[str, ServiceRecord] = {}
    frontier = [rec]
    while frontier:
        cur = frontier.pop()
        for d in direct_dependents(records, cur):
            key = d.name.casefold()
            if key not in found and d is not rec:
                found[key] = d
                frontier.append(d)
    # Start order among the dependents: depth from rec (longest path); reverse it for stopping.
    depth: dict[str, int] = {}

    def depth_of(r: ServiceRecord, trail: frozenset[str]) -> int:
        key = r.name.casefold()
        if key in depth:
            return depth[key]
        deps = [d for d in direct_dependencies(records, r) if d.name.casefold() in found or d is rec]
        best = 0
        for d in deps:
            if d is rec:
                best = max(best, 1)
            elif d.name.casefold() not in trail:
                best = max(best, depth_of(d, trail | {key}) + 1)
        depth[key] = best
        return best

    ordered = sorted(found.values(), key=lambda r: (depth_of(r, frozenset()), r.name.casefold()))
    return list(reversed(ordered))
