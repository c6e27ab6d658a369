"""The service database: SQLite shaped like ``HKLM\\SYSTEM\\CurrentControlSet`` (B15).

One table holds registry values (key path, value name, type, data), so ``Services\\<name>``,
its ``Parameters`` subkey and the ``Control`` keys the SCM reads all live in one place that a
``.reg`` export can walk. Every change is one transaction in WAL mode: a committed change is in
the WAL file before the call returns, so killing the daemon at any moment loses none
(``synchronous=NORMAL`` survives process crashes; ``durable=True`` also survives power loss).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from ..regvalue import REG_BINARY, REG_DWORD, REG_EXPAND_SZ, REG_MULTI_SZ, REG_QWORD, REG_SZ

__all__ = [  # the REG_* types are re-exported: the SCM's modules take them from here
    "CONTROL", "REG_BINARY", "REG_DWORD", "REG_EXPAND_SZ", "REG_MULTI_SZ", "REG_QWORD", "REG_SZ", "SERVICES",
    "Database", "Value", "Values",
]

#: A registry value as stored: (REG_* type, data). MULTI_SZ data is a tuple of strings.
Value = tuple[int, Any]
Values = dict[str, Value]

SERVICES = "Services"
CONTROL = "Control"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reg (
    key   TEXT NOT NULL COLLATE NOCASE,
    name  TEXT NOT NULL COLLATE NOCASE,
    type  INTEGER NOT NULL,
    data,
    PRIMARY KEY (key, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    id       INTEGER PRIMARY KEY,
    time     REAL NOT NULL,
    event_id INTEGER NOT NULL,
    level    TEXT NOT NULL,
    service  TEXT,
    message  TEXT NOT NULL,
    data     TEXT
);
"""


def _encode(vtype: int, data: Any) -> Any:
    if vtype == REG_MULTI_SZ:
        return "\0".join(data)
    return data


def _decode(vtype: int, data: Any) -> Any:
    if vtype == REG_MULTI_SZ:
        return tuple(data.split("\0")) if data else ()
    return data


class Database:
    """Registry-shaped persistent store. ``path=":memory:"`` gives the in-process fake its own."""

    def __init__(self, path: str, *, durable: bool = False) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        # The SCM keeps its working set in memory; SQLite's page cache (2 MiB by default) would
        # only fill with event-log pages and make the daemon's memory grow with its history.
        self.conn.execute("PRAGMA cache_size=-512")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    # --- reads ---------------------------------------------------------------------------------

    def read_key(self, key: str) -> Values:
        rows = self.conn.execute("SELECT name, type, data FROM reg WHERE key = ?", (key,))
        return {name: (vtype, _decode(vtype, data)) for name, vtype, data in rows}

    def read_tree(self, prefix: str) -> dict[str, Values]:
        """Every key at or below ``prefix`` with its values (keys as stored, case preserved)."""
        out: dict[str, Values] = {}
        rows = self.conn.execute(
            "SELECT key, name, type, data FROM reg WHERE key = ? OR key LIKE ? ESCAPE '!'",
            (prefix, _like_prefix(prefix)),
        )
        for key, name, vtype, data in rows:
            out.setdefault(key, {})[name] = (vtype, _decode(vtype, data))
        return out

    # --- writes (each call is one transaction) -------------------------------------------------

    def write(self, changes: Mapping[str, Mapping[str, Value | None]], *, replace: Iterable[str] = ()) -> None:
        """Apply ``{key: {name: value-or-None}}`` atomically; ``None`` deletes the value.

        Keys listed in ``replace`` lose every value not named in ``changes`` first.
        """
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for key in replace:
                c.execute("DELETE FROM reg WHERE key = ?", (key,))
            for key, values in changes.items():
                for name, value in values.items():
                    if value is None:
                        c.execute("DELETE FROM reg WHERE key = ? AND name = ?", (key, name))
                    else:
                        c.execute(
                            "INSERT OR REPLACE INTO reg (key, name, type, data) VALUES (?, ?, ?, ?)",
                            (key, name, value[0], _encode(*value)),
                        )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def delete_tree(self, key: str) -> None:
        """Remove ``key`` and all its subkeys in one transaction."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("DELETE FROM reg WHERE key = ? OR key LIKE ? ESCAPE '!'", (key, _like_prefix(key)))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def replace_trees(self, roots: Iterable[str], tree: Mapping[str, Mapping[str, Value]]) -> None:
        """Delete every key at or below each of ``roots``, then write ``tree`` (key -> values), in
        one transaction: a .reg import lands whole or not at all."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for root in roots:
                c.execute("DELETE FROM reg WHERE key = ? OR key LIKE ? ESCAPE '!'", (root, _like_prefix(root)))
            for key, values in tree.items():
                for name, value in values.items():
                    c.execute("INSERT OR REPLACE INTO reg (key, name, type, data) VALUES (?, ?, ?, ?)",
                              (key, name, value[0], _encode(*value)))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def copy_tree(self, src: str, dst: str) -> None:
        """Replace the tree at ``dst`` with a copy of the tree at ``src``, in one transaction."""
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.execute("DELETE FROM reg WHERE key = ? OR key LIKE ? ESCAPE '!'", (dst, _like_prefix(dst)))
            c.execute(
                "INSERT INTO reg (key, name, type, data) SELECT ? || substr(key, ?), name, type, data "
                "FROM reg WHERE key = ? OR key LIKE ? ESCAPE '!'",
                (dst, len(src) + 1, src, _like_prefix(src)),
            )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def has_tree(self, key: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM reg WHERE key = ? OR key LIKE ? ESCAPE '!' LIMIT 1",
                                (key, _like_prefix(key))).fetchone()
        return row is not None

    # --- event log -----------------------------------------------------------------------------

    def append_events(self, rows: list[tuple[float, int, str, str | None, str, str | None]], keep: int) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            c.executemany(
                "INSERT INTO events (time, event_id, level, service, message, data) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            c.execute("DELETE FROM events WHERE id <= (SELECT MAX(id) FROM events) - ?", (keep,))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def read_events(self, service: str | None, since_id: int, limit: int) -> list[tuple[Any, ...]]:
        """Events after ``since_id`` in order; ``since_id`` < 0 means the newest ``limit`` ones."""
        sql = "SELECT id, time, event_id, level, service, message, data FROM events WHERE id > ?"
        args: list[Any] = [max(since_id, 0)]
        if service is not None:
            sql += " AND service = ? COLLATE NOCASE"
            args.append(service)
        sql += " ORDER BY id DESC LIMIT ?" if since_id < 0 else " ORDER BY id LIMIT ?"
        args.append(limit)
        rows = list(self.conn.execute(sql, args))
        return rows[::-1] if since_id < 0 else rows


def _like_prefix(key: str) -> str:
    escaped = key.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped + "\\%"
