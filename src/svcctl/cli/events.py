"""``svcctl events [NAME] [--since WHEN] [--follow] [--json] [--limit N]``: the SCM's event log.

``--since`` takes a duration back from now (``90s``, ``10m``, ``2h``, ``1d``), an ISO date or
time (``2026-11-21``, ``2026-11-21T13:00``) or seconds since the epoch. ``--follow`` keeps
printing events as the daemon writes them (a long poll: nothing is polled on the client).
"""

from __future__ import annotations

import json
import time

from ..mgr import Manager

TYPE_CHECKING = False  # true for mypy (always_true in pyproject.toml): typing is never imported at run time

if TYPE_CHECKING:
    from typing import Any, TextIO

USAGE = "usage: svcctl events [NAME] [--since 10m|ISO-TIME|EPOCH] [--follow] [--json] [--limit N]\n"
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class BadArguments(ValueError):
    pass


def parse_since(text: str, now: float) -> float:
    """Seconds since the epoch for a ``--since`` value."""
    if text[-1:] in _UNITS and text[:-1].replace(".", "", 1).isdigit():
        return now - float(text[:-1]) * _UNITS[text[-1]]
    if text.replace(".", "", 1).isdigit():
        return float(text)
    from datetime import datetime

    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise BadArguments(f"--since: not a duration, ISO time or epoch: {text!r}") from None


def _line(row: list[Any]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row[1]))
    text = " ".join(part.strip() for part in str(row[5]).splitlines() if part.strip())
    return f"{when}  {row[2]}  {row[3]:<5}  {row[4] or '-'}  {text}"


def _json(row: list[Any]) -> str:
    keys = ("id", "time", "event_id", "level", "service", "message", "data")
    return json.dumps(dict(zip(keys, row, strict=True)))


def cmd_events(mgr: Manager, args: list[str], out: TextIO) -> int:
    name, since, follow, as_json, limit = None, None, False, False, 1000
    it = iter(args)
    try:
        for a in it:
            if a == "--follow" or a == "-f":
                follow = True
            elif a == "--json":
                as_json = True
            elif a == "--since":
                since = parse_since(next(it), time.time())
            elif a == "--limit":
                limit = int(next(it))
            elif a.startswith("-") or name is not None:
                raise BadArguments(f"unexpected argument {a!r}")
            else:
                name = a
    except (BadArguments, StopIteration, ValueError) as exc:
        out.write(f"svcctl events: {exc}\n" if str(exc) else "")
        out.write(USAGE)
        return 1639
    render = _json if as_json else _line
    rows = mgr.events(service=name, since=-1, limit=10000)
    if since is not None:
        rows = [r for r in rows if r[1] >= since]
    last = rows[-1][0] if rows else _last_id(mgr)
    for row in rows[-limit:]:
        out.write(render(row) + "\n")
    out.flush()
    try:
        while follow:
            for row in mgr.events(service=name, since=last, limit=1000, wait=30):
                out.write(render(row) + "\n")
                last = row[0]
            out.flush()
    except KeyboardInterrupt:
        pass
    return 0


def _last_id(mgr: Manager) -> int:
    rows = mgr.events(since=-1, limit=1)
    return int(rows[-1][0]) if rows else 0
