"""Checking the views against the events: rebuild them aside and compare, row by row.

The views are derived data: anyone who can write to the store can edit a view row, and
``progress`` or a report would print the edited figure while the chain of events still
verifies. ``compare_views`` rebuilds every view from the events somewhere the live views
are not touched, and compares each table with its live counterpart:

- SQLite: a copy of the store file (SQLite's backup API) in a private temporary folder,
  whose views are rebuilt and compared, then the copy is deleted;
- PostgreSQL: temporary tables of the same names on a connection of its own (they shadow
  the live tables for that connection only, and vanish with it).

The live views are caught up first, as every read does. Nothing else of the live store
is written.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coachledger.projections import runner
from coachledger.projections.db import SqliteViews, ViewDB, open_views

REPAIR = "'coachledger projections rebuild' rebuilds them from the events"


@dataclass(frozen=True)
class ViewDifference:
    """The first view row that differs from what the events give."""

    view: str  # the table
    client: str  # the client's slug, or its stream id, or "(unknown)"
    live: tuple[Any, ...] | None  # the live row (None: missing from the live view)
    rebuilt: tuple[Any, ...] | None  # the row the events give (None: not given by any event)
    differences: int  # rows that differ in all views

    def describe(self) -> str:
        if self.live is None:
            what = "a row the events give is missing"
        elif self.rebuilt is None:
            what = "a row that no event gives is present"
        else:
            what = "a row differs from what the events give"
        more = f" ({self.differences} rows differ in all)" if self.differences > 1 else ""
        return (
            f"view '{self.view}', client '{self.client}': {what}{more}; the views were edited or are "
            f"damaged (they are derived from the events, which are not affected): {REPAIR}"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "client": self.client,
            "live": None if self.live is None else [str(v) for v in self.live],
            "rebuilt": None if self.rebuilt is None else [str(v) for v in self.rebuilt],
            "differences": self.differences,
        }


@dataclass(frozen=True)
class ViewCheck:
    tables: int
    rows: int
    first: ViewDifference | None

    @property
    def ok(self) -> bool:
        return self.first is None


def compare_views(settings: Any) -> ViewCheck:
    """Rebuild every view aside from the events and compare it with the live view, row by row."""
    # lazy: the key files only when the audit runs
    from coachledger.projections.read import read_decryptor

    decrypt = read_decryptor(settings)
    live = open_views(settings)
    try:
        runner.current(live, decrypt)
        with _scratch(settings, live) as fresh:
            _rebuild_aside(fresh, decrypt)
            for _ in range(3):  # a write meanwhile: both catch up to the same event
                at_live, at_fresh = _position(live), _position(fresh)
                if at_live == at_fresh:
                    break
                runner.catch_up(live, decrypt) if at_live < at_fresh else runner.catch_up(fresh, decrypt)
            return _compare(live, fresh)
    finally:
        live.close()


def _position(db: ViewDB) -> int:
    row = db.execute("SELECT min(position) FROM view_tracking").fetchone()
    return int(row[0] or 0)


def _tables() -> list[str]:
    return [table for view in runner.VIEWS for table in view.TABLES]


@contextlib.contextmanager
def _scratch(settings: Any, live: ViewDB) -> Iterator[ViewDB]:
    store = settings.store
    if store.kind == "postgres":
        # lazy: psycopg only for PostgreSQL stores
        from coachledger.adapters.pg_views import connect_views

        fresh = connect_views(store)
        try:
            # unqualified names: the temporary tables first (created there), then the ledger's own
            fresh.execute(
                "SELECT set_config('search_path', 'pg_temp, ' || current_setting('search_path'), false)"
            )
            yield fresh
        finally:
            fresh.close()
        return
    # lazy: only for SQLite stores
    from coachledger.adapters.files import connect

    with tempfile.TemporaryDirectory(prefix="coachledger-views-") as folder:  # owner-only
        copy = Path(folder) / "views.sqlite"
        target = connect(copy, must_exist=False)
        try:
            assert isinstance(live, SqliteViews)
            live.conn.backup(target)
            yield SqliteViews(target)  # no path: no helper process reads the copy
        finally:
            target.close()


def _rebuild_aside(fresh: ViewDB, decrypt: Any) -> None:
    """Every view rebuilt from the first event, in the scratch store only."""
    if fresh.kind == "sqlite":
        runner.rebuild(fresh, decrypt)  # on the copy
        return
    # PostgreSQL: temporary tables of the views' names, created before anything could drop a live one
    with fresh.write_lock():
        fresh.execute(runner.TRACKING.replace("CREATE TABLE", "CREATE TEMP TABLE"))
        fresh.execute(runner.SCHEMA_TABLE.replace("CREATE TABLE", "CREATE TEMP TABLE"))
        fresh.execute("INSERT INTO pg_temp.view_schema VALUES (?)", (runner.SCHEMA_DIGEST,))
        for view in runner.VIEWS:
            for ddl in view.TABLES.values():
                fresh.execute(ddl.replace("CREATE TABLE", "CREATE TEMP TABLE", 1))
            fresh.execute("INSERT INTO pg_temp.view_tracking VALUES (?, 0)", (view.NAME,))
    runner.catch_up(fresh, decrypt)


def _compare(live: ViewDB, fresh: ViewDB) -> ViewCheck:
    first: ViewDifference | None = None
    differences = rows = 0
    names = _names(fresh)
    for table in _tables():
        cursor = live.execute(f"SELECT * FROM {table}")
        columns = [d[0] for d in cursor.description]
        had = Counter(tuple(r) for r in cursor.fetchall())
        given = Counter(tuple(r) for r in fresh.execute(f"SELECT * FROM {table}").fetchall())
        rows += sum(given.values())
        extra, missing = sorted(had - given, key=repr), sorted(given - had, key=repr)
        differences += len(extra) + len(missing)
        if first is None and (extra or missing):
            live_row = extra[0] if extra else None
            rebuilt = _partner(live_row, missing) if live_row is not None else missing[0]
            client = _client_of(columns, live_row if live_row is not None else rebuilt, names)
            first = ViewDifference(table, client, live_row, rebuilt, 0)
    if first is not None:
        first = ViewDifference(first.view, first.client, first.live, first.rebuilt, differences)
    return ViewCheck(len(_tables()), rows, first)


def _partner(row: tuple[Any, ...], candidates: list[tuple[Any, ...]]) -> tuple[Any, ...] | None:
    """The rebuilt row that ``row`` most likely replaced (the most equal columns), if any."""
    if not candidates:
        return None
    return max(candidates, key=lambda c: sum(a == b for a, b in zip(row, c, strict=False)))


def _names(db: ViewDB) -> dict[Any, str]:
    """Each client's slug by stream id and by key (as the rebuilt clients view has them)."""
    names: dict[Any, str] = {}
    for stream, slug, key in db.execute("SELECT stream, client, seq FROM clients").fetchall():
        names[stream] = names[int(key)] = slug
    return names


def _client_of(columns: list[str], row: tuple[Any, ...] | None, names: dict[Any, str]) -> str:
    if row is None:
        return "(unknown)"
    for column in ("stream", "client_key"):
        if column in columns:
            value = row[columns.index(column)]
            return names.get(value if column == "stream" else _int(value), str(value))
    return "(unknown)"


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value
