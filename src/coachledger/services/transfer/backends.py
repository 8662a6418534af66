"""The stores export and import read and write: SQLite or PostgreSQL, one transaction at a time."""

from __future__ import annotations

import contextlib
import sqlite3
import typing
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from coachledger.adapters.codec import LedgerStoredEvent
from coachledger.settings import Settings

if TYPE_CHECKING:
    from coachledger.adapters.sqlite import SealRow

BULK_MIN = 5_000  # from this many new events on, the time index is rebuilt after the append
BULK_CACHE_KIB = 65_536  # page cache for a bulk append (the default 2 MiB thrashes on big stores)
INDEX_EARLY = 0.9  # of a bulk append's events in before its time index is rebuilt (the rest go in indexed)


class Backend:
    """The few queries export and import need, on a SQLite or PostgreSQL store."""

    def rows(self) -> Iterator[tuple[int, str, int, str, bytes]]:
        """Every stored event (seq, stream, version, topic, state) in recording order."""
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError

    def stream_events(self, stream: str) -> list[tuple[int, str, bytes]]:
        """(version, topic, state) of one stream, in version order."""
        raise NotImplementedError

    def first_events(self) -> list[tuple[str, str, bytes]]:
        """(stream, topic, state) of every stream's first event."""
        raise NotImplementedError

    def is_empty(self) -> bool:
        """Whether the store holds no event at all."""
        raise NotImplementedError

    def append(self, events: Sequence[LedgerStoredEvent]) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def bulk(self, new_events: int) -> Iterator[None]:
        """Around appending ``new_events`` in this transaction (a chance to defer index upkeep)."""
        yield

    @contextlib.contextmanager
    def appending(self, new_events: int) -> Iterator[Appender]:
        """An appender for about ``new_events`` events in this transaction (finished on leaving)."""
        with self.bulk(new_events):
            appender = _EventAppender(self)
            yield appender
            appender.finish()


class Appender(typing.Protocol):
    """Appends rows ``(stream, version, topic, state, recorded_at)`` in order, sealed and indexed."""

    def add(self, rows: Sequence[SealRow]) -> None: ...

    def finish(self) -> None:
        """Returns when everything added is in the store (within the transaction)."""


class _EventAppender:
    """Appends through ``Backend.append``, as stored events."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def add(self, rows: Sequence[SealRow]) -> None:
        self.backend.append(
            [
                LedgerStoredEvent(
                    originator_id=stream,  # type: ignore[arg-type] # stored as hex text
                    originator_version=version,
                    topic=topic,
                    state=state,
                    recorded_at=recorded_at,
                )
                for stream, version, topic, state, recorded_at in rows
            ]
        )

    def finish(self) -> None:
        pass


class SqliteBackend(Backend):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.has_tables = (
            conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='stored_events'").fetchone()
            is not None
        )

    def rows(self) -> Iterator[tuple[int, str, int, str, bytes]]:
        if not self.has_tables:
            return iter(())
        return iter(
            self.conn.execute(
                "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
                "ORDER BY rowid"
            )
        )

    def count(self) -> int:
        if not self.has_tables:
            return 0
        return int(self.conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])

    def stream_events(self, stream: str) -> list[tuple[int, str, bytes]]:
        if not self.has_tables:
            return []
        return self.conn.execute(
            "SELECT originator_version, topic, state FROM stored_events WHERE originator_id = ? "
            "ORDER BY originator_version",
            (stream,),
        ).fetchall()

    def first_events(self) -> list[tuple[str, str, bytes]]:
        if not self.has_tables:
            return []
        return self.conn.execute(
            "SELECT originator_id, topic, state FROM stored_events WHERE originator_version = 1"
        ).fetchall()

    def is_empty(self) -> bool:
        if not self.has_tables:
            return True
        return self.conn.execute("SELECT 1 FROM stored_events LIMIT 1").fetchone() is None

    def append(self, events: Sequence[LedgerStoredEvent]) -> None:
        from coachledger.adapters.sqlite import insert_sealed

        insert_sealed(self.conn, events)

    @contextlib.contextmanager
    def bulk(self, new_events: int) -> Iterator[None]:
        """Build the recording-time index once, after a large append, instead of row by row.

        Inserting into that index in random (stream, time) order costs more than the event
        rows themselves; rebuilding it from sorted data is several times cheaper, as long as
        the store does not already hold far more events than are being added. It happens
        inside the append's transaction, so readers never see the store without it.
        """
        from coachledger.adapters.files import INDEX_BY_TIME

        deferred = self._defer_index(new_events)
        yield
        if deferred:
            self.conn.execute(INDEX_BY_TIME)

    def _defer_index(self, new_events: int) -> bool:
        """Drop the recording-time index for an append of ``new_events`` when worth it (see bulk)."""
        from coachledger.adapters.files import INDEX_BY_TIME

        last = self.conn.execute("SELECT max(rowid) FROM stored_events").fetchone()[0] or 0
        if new_events < BULK_MIN or new_events * 10 < last:
            return False
        self.conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        self.conn.execute(f"DROP INDEX IF EXISTS {INDEX_BY_TIME.split(' ON ')[0].split()[-1]}")
        return True

    @contextlib.contextmanager
    def appending(self, new_events: int) -> Iterator[Appender]:
        """Sealing here while a thread inserts what was sealed before (see ``SealedAppender``).

        For a bulk append the appender's thread rebuilds the recording-time index (see bulk)
        when most events are in, while the last ones are still being checked and sealed.
        """
        from coachledger.adapters.sqlite import sealed_appender

        deferred = self._defer_index(new_events)
        index_after = int(new_events * INDEX_EARLY) if deferred else None
        with sealed_appender(self.conn, index_after=index_after) as appender:
            yield appender


class PostgresBackend(Backend):
    """On a cursor (dict rows) in the caller's transaction; appending takes the table lock."""

    def __init__(self, curs: Any, recorder: Any) -> None:
        self.curs = curs
        self.recorder = recorder
        self.locked = False

    def lock(self) -> None:
        """Writers queue on the library's table lock, so seqs commit in order."""
        if not self.locked:
            self.recorder._lock_table(self.curs)
            self.recorder._notify_channel(self.curs)
            self.locked = True

    def rows(self) -> Iterator[tuple[int, str, int, str, bytes]]:
        self.curs.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY notification_id"
        )
        for r in self.curs:
            yield (
                r["notification_id"],
                r["originator_id"],
                r["originator_version"],
                r["topic"],
                bytes(r["state"]),
            )

    def count(self) -> int:
        self.curs.execute("SELECT count(*) AS n FROM stored_events")
        return int(self.curs.fetchone()["n"])

    def stream_events(self, stream: str) -> list[tuple[int, str, bytes]]:
        self.curs.execute(
            "SELECT originator_version, topic, state FROM stored_events WHERE originator_id = %s "
            "ORDER BY originator_version",
            (stream,),
        )
        return [(r["originator_version"], r["topic"], bytes(r["state"])) for r in self.curs.fetchall()]

    def first_events(self) -> list[tuple[str, str, bytes]]:
        self.curs.execute(
            "SELECT originator_id, topic, state FROM stored_events WHERE originator_version = 1"
        )
        return [(r["originator_id"], r["topic"], bytes(r["state"])) for r in self.curs.fetchall()]

    def is_empty(self) -> bool:
        self.curs.execute("SELECT 1 AS one FROM stored_events LIMIT 1")
        return self.curs.fetchone() is None

    def append(self, events: Sequence[LedgerStoredEvent]) -> None:
        from coachledger.adapters.postgres import insert_sealed

        self.lock()
        insert_sealed(self.curs, events)


class StoreSession:
    """An open store, for one transaction after another: a snapshot to read, or an append.

    Opening with ``create`` makes the library's tables first (a write). Otherwise nothing
    is created: a store that does not exist yet reads as empty.
    """

    def __init__(self, settings: Settings, *, create: bool) -> None:
        self.settings = settings
        self.ledger: Any = None
        self.conn: Any = None
        self.empty = False
        store = settings.store
        if create:
            from coachledger.services.bootstrap import open_ledger

            self.ledger = open_ledger(settings)
        if store.kind == "postgres":
            if self.ledger is None:
                from coachledger.adapters.postgres import connect, parse_url, schema_exists

                self.conn = connect(parse_url(store.url))
                self.empty = not schema_exists(self.conn)
                self.conn.rollback()
            return
        from coachledger.adapters.files import connect as sqlite_connect

        assert store.path is not None
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None
        elif not store.path.exists():
            self.empty = True
            return
        if create:  # the import's appender inserts from a thread of its own
            from coachledger.adapters.sqlite import connect_threadable

            self.conn = connect_threadable(store.path)
        else:
            self.conn = sqlite_connect(store.path)

    @contextlib.contextmanager
    def transaction(self, *, write: bool) -> Iterator[Backend]:
        if self.empty:
            if write:
                raise RuntimeError("open the store with create=True to write")  # a programming error
            yield _EmptyBackend()
        elif self.settings.store.kind == "postgres":
            yield from self._pg_transaction(write)
        elif write:
            from coachledger.adapters.files import immediate

            with immediate(self.conn):
                yield SqliteBackend(self.conn)
        else:
            self.conn.execute("BEGIN")  # one snapshot for the whole read
            try:
                yield SqliteBackend(self.conn)
            finally:
                self.conn.rollback()

    def _pg_transaction(self, write: bool) -> Iterator[Backend]:
        from psycopg.rows import dict_row

        if self.ledger is not None:
            from coachledger.adapters.postgres import datastore_cursor

            with datastore_cursor(self.ledger.factory.datastore) as curs:
                backend = PostgresBackend(curs, self.ledger.recorder)
                if write:
                    backend.lock()
                yield backend
            return
        assert not write
        with self.conn.transaction(), self.conn.cursor(row_factory=dict_row) as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PostgresBackend(curs, None)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.ledger is not None:
            self.ledger.close()


@contextlib.contextmanager
def open_store(settings: Settings, *, create: bool = False) -> Iterator[StoreSession]:
    session = StoreSession(settings, create=create)
    try:
        yield session
    finally:
        session.close()


class _EmptyBackend(Backend):
    def rows(self) -> Iterator[tuple[int, str, int, str, bytes]]:
        return iter(())

    def count(self) -> int:
        return 0

    def stream_events(self, stream: str) -> list[tuple[int, str, bytes]]:
        return []

    def first_events(self) -> list[tuple[str, str, bytes]]:
        return []

    def is_empty(self) -> bool:
        return True
