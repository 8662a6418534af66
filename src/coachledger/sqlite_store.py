"""The SQLite store: the library's recorder with durable settings, sealing and an event index.

One application per file (SQLite tables are not prefixed per application). Every write
runs in ``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead
of failing on a lock upgrade, and writes the events, their seals and their index rows
in the same transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
    SQLiteFactory,
)

from coachledger.sealing import GENESIS, seal
from coachledger.storefile import INDEX_BY_TIME, INDEX_TABLE, PRAGMAS, immediate


class LedgerConnectionPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        raw = connection._sqlite_conn
        for pragma in PRAGMAS:
            raw.execute(pragma)
        return connection


class LedgerDatastore(SQLiteDatastore):
    def __init__(self, db_name: str, **kwargs: Any) -> None:
        super().__init__(db_name, **kwargs)
        self.pool.close()
        self.pool = LedgerConnectionPool(db_name=db_name, pool_size=1, max_overflow=2)


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), INDEX_TABLE, INDEX_BY_TIME]

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self.datastore.get_connection(commit=True) as connection:
            conn = connection._sqlite_conn
            try:
                with immediate(conn):
                    return insert_sealed(conn, stored_events)
            except sqlite3.IntegrityError as e:
                raise IntegrityError(e) from e
            except sqlite3.OperationalError as e:
                raise OperationalError(e) from e
            except sqlite3.DatabaseError as e:
                raise PersistenceError(e) from e


def insert_sealed(conn: sqlite3.Connection, stored_events: Sequence[StoredEvent]) -> list[int]:
    """Append events with their seals and index rows; the caller owns the transaction.

    The caller holds the write lock, so the next seqs are known: rows go in with two
    ``executemany`` calls (several times faster than a statement per row on a bulk import),
    with the rowids SQLite would have chosen itself.
    """
    first = conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM stored_events").fetchone()[0]
    row = conn.execute("SELECT seal FROM event_index ORDER BY seq DESC LIMIT 1").fetchone()
    previous = row[0] if row else GENESIS
    events: list[tuple[Any, ...]] = []
    index: list[tuple[Any, ...]] = []
    for seq, s in enumerate(stored_events, start=first):
        stream = s.originator_id.hex if hasattr(s.originator_id, "hex") else str(s.originator_id)
        recorded_at = getattr(s, "recorded_at", "")
        previous = seal(previous, stream, s.originator_version, s.topic, recorded_at, s.state)
        events.append((seq, stream, s.originator_version, s.topic, s.state))
        index.append((seq, stream, s.originator_version, recorded_at, previous))
    conn.executemany(
        "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) VALUES (?,?,?,?,?)",
        events,
    )
    conn.executemany("INSERT INTO event_index VALUES (?,?,?,?,?)", index)
    return list(range(first, first + len(events)))


# Every table and index the write side creates (the library's two tables and the ledger's index).
LEDGER_OBJECTS = ("stored_events", "stored_snapshots", "event_index", "event_index_by_time")


class LedgerSQLiteFactory(SQLiteFactory):
    application_recorder_class = LedgerSQLiteRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        db_name = self.datastore.pool.db_name
        self.datastore.close()
        self.datastore = LedgerDatastore(db_name=db_name)
        self._tables_exist: bool | None = None

    def env_create_table(self) -> bool:
        """Run the DDL only on a store that lacks the ledger's tables (one lookup, not a write
        transaction of CREATE ... IF NOT EXISTS statements on every command)."""
        if not super().env_create_table():
            return False
        if self._tables_exist is None:
            with self.datastore.get_connection(commit=False) as connection:
                row = connection._sqlite_conn.execute(
                    f"SELECT count(*) FROM sqlite_master WHERE name IN ({','.join('?' * len(LEDGER_OBJECTS))})",
                    LEDGER_OBJECTS,
                ).fetchone()
            self._tables_exist = row[0] == len(LEDGER_OBJECTS)
        return not self._tables_exist
