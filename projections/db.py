"""The read side's connection to the store: plain SQL, no event-sourcing machinery.

Views live in the same store as the events (tables in the same SQLite file, or the
same PostgreSQL database). SQL is written with ``?`` placeholders; the PostgreSQL
adapter translates them.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from coachledger.adapters.event_reads import EVENTS_AFTER_SQL
from coachledger.adapters.files import connect


class ViewDB(Protocol):
    kind: str
    event_key: str  # the stored_events column that event_index.seq refers to

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any: ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def write_lock(self) -> contextlib.AbstractContextManager[None]: ...

    def events_after(self, start: int, limit: int) -> list[Any]: ...

    def close(self) -> None: ...


class SqliteViews:
    """Views in the SQLite store file."""

    kind = "sqlite"
    event_key = "rowid"

    def __init__(self, conn: sqlite3.Connection, path: str | None = None) -> None:
        self.conn = conn
        self.path = path  # the store file, for a helper process's own connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def events_after(self, start: int, limit: int) -> list[Any]:
        """Up to ``limit`` events after ``start``: (seq, stream, version, topic, state)."""
        return self.conn.execute(EVENTS_AFTER_SQL, (start, limit)).fetchall()

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """One transaction holding the write lock: catch-up never runs twice at once."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.rollback()
            raise
        self.conn.commit()

    def has_table(self, name: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)
        ).fetchone()
        return row is not None

    def close(self) -> None:
        self.conn.close()


def open_views(settings: Any) -> ViewDB:
    """Open the read side of the store named by ``settings`` (a coachledger Settings)."""
    store = settings.store
    if store.kind == "postgres":
        # lazy: psycopg only for PostgreSQL stores
        from coachledger.adapters.pg_views import connect_views

        return connect_views(store)
    return SqliteViews(connect(store.path), str(store.path))
