"""The SQLite store: the library's recorder with durable settings, sealing and an event index.

One application per file (SQLite tables are not prefixed per application). Every write
runs in ``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy timeout instead
of failing on a lock upgrade, and writes the events, their seals and their index rows
in the same transaction.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import sqlite3
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from eventsourcing.persistence import (
    AggregateRecorder,
    IntegrityError,
    OperationalError,
    PersistenceError,
    ProcessRecorder,
    StoredEvent,
    Tracking,
)
from eventsourcing.sqlite import (
    SQLiteAggregateRecorder,
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
    SQLiteProcessRecorder,
    SQLiteTrackingRecorder,
)

from coachledger.adapters.files import (
    BUSY_TIMEOUT_MS,
    INDEX_BY_TIME,
    INDEX_TABLE,
    PRAGMAS,
    StoreError,
    describe_sqlite_error,
    immediate,
)
from coachledger.adapters.sealing import GENESIS, seal
from coachledger.adapters.snapshots import open_state, seal_state


class LedgerConnectionPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        connection = super()._create_connection()
        raw = connection._sqlite_conn
        for pragma in PRAGMAS:
            raw.execute(pragma)
        if self.lock_timeout is not None:  # the library's SQLITE_LOCK_TIMEOUT (seconds) wins
            raw.execute(f"PRAGMA busy_timeout={int(self.lock_timeout) * 1000}")
        return connection


class LedgerDatastore(SQLiteDatastore):
    def __init__(self, db_name: str, *, lock_timeout: int | None = None, **kwargs: Any) -> None:
        super().__init__(db_name, lock_timeout=lock_timeout, **kwargs)
        self.pool.close()
        self.pool = LedgerConnectionPool(
            db_name=db_name, lock_timeout=lock_timeout, pool_size=1, max_overflow=2
        )
        self.held = threading.local()  # .conn: this thread's write transaction (see write_lock)

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the ledger's write lock (one write transaction) until the block ends; the
        recorders' writes in this thread join it, and commit with it."""
        if getattr(self.held, "conn", None) is not None:
            yield
            return
        with self.get_connection(commit=True) as connection:
            conn = connection._sqlite_conn
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                raise StoreError(
                    f"the ledger is busy: another writer kept it locked ({e}); try again in a moment"
                ) from None
            self.held.conn = conn
            try:
                yield
            except BaseException:
                conn.rollback()
                raise
            else:
                conn.commit()
            finally:
                self.held.conn = None

    @contextlib.contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A connection in a write transaction: this thread's held one (inside a savepoint,
        so that a failed write leaves nothing), or one of its own; errors mapped."""
        try:
            held = getattr(self.held, "conn", None)
            if held is not None:
                held.execute("SAVEPOINT ledger_write")
                try:
                    yield held
                except BaseException:
                    held.execute("ROLLBACK TO ledger_write")
                    raise
                finally:
                    held.execute("RELEASE ledger_write")
                return
            with self.get_connection(commit=True) as connection:
                conn = connection._sqlite_conn
                with immediate(conn):
                    yield conn
        except sqlite3.IntegrityError as e:
            raise IntegrityError(e) from e
        except sqlite3.OperationalError as e:
            raise OperationalError(e) from e
        except sqlite3.DatabaseError as e:
            raise PersistenceError(e) from e


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), INDEX_TABLE, INDEX_BY_TIME]

    datastore: LedgerDatastore

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self.datastore.writing() as conn:
            ids = insert_sealed(conn, stored_events)
            self._insert_more(conn, **kwargs)
            return ids

    def write_lock(self) -> contextlib.AbstractContextManager[None]:
        """The ledger's write lock for a whole load-decide-save (see LedgerDatastore.write_lock)."""
        return self.datastore.write_lock()

    def _insert_more(self, conn: sqlite3.Connection, **kwargs: Any) -> None:
        """What a subclass writes in the same transaction as the events (nothing here)."""


class LedgerSQLiteProcessRecorder(LedgerSQLiteRecorder, SQLiteProcessRecorder, ProcessRecorder):
    """The library's process recorder on the ledger: events sealed and indexed, with their
    tracking row, in one write transaction."""

    def _insert_more(self, conn: sqlite3.Connection, **kwargs: Any) -> None:
        tracking: Tracking | None = kwargs.get("tracking")
        if tracking is not None:
            self._insert_tracking(SQLiteCursor(conn.cursor()), tracking)


class LedgerSQLiteSnapshotRecorder(SQLiteAggregateRecorder):
    """Snapshots sealed to the chain, the latest one of a stream only (see snapshots.py).

    A snapshot whose seal does not hold is not given back (the client is loaded from its
    events), and its stream is noted in ``rejected`` so that the next write replaces it.
    """

    datastore: LedgerDatastore

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_snapshots") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        self.rejected: set[str] = set()

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with self.datastore.writing() as conn:
            for s in stored_events:
                stream = _hex(s.originator_id)
                version = s.originator_version
                row = conn.execute(SEAL_OF_EVENT, (stream, version)).fetchone()
                if row is None:
                    raise IntegrityError(f"no event {version} in stream {stream} to seal a snapshot with")
                conn.execute(
                    "DELETE FROM stored_snapshots WHERE originator_id = ? AND originator_version < ?",
                    (stream, version),
                )
                conn.execute(
                    "INSERT INTO stored_snapshots VALUES (?,?,?,?)",
                    (stream, version, s.topic, seal_state(row[0], stream, version, s.topic, s.state)),
                )
                self.rejected.discard(stream)
        return None

    def select_events(self, originator_id: Any, **kwargs: Any) -> Sequence[StoredEvent]:
        found = super().select_events(originator_id, **kwargs)
        if not found:
            return found
        stream = _hex(originator_id)
        with self.datastore.transaction(commit=False) as c:
            good = []
            for s in found:
                c.execute(SEAL_OF_EVENT, (stream, s.originator_version))
                row = c.fetchone()
                state = open_state(row and row[0], stream, s.originator_version, s.topic, s.state)
                if state is None:
                    self.rejected.add(stream)
                else:
                    good.append(StoredEvent(s.originator_id, s.originator_version, s.topic, state))
        return good


SEAL_OF_EVENT = "SELECT seal FROM event_index WHERE originator_id = ? AND originator_version = ?"


def _hex(originator_id: Any) -> str:
    return originator_id.hex if hasattr(originator_id, "hex") else str(originator_id)


EVENTS_INSERT = "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) VALUES "
INDEX_INSERT = "INSERT INTO event_index (seq, originator_id, originator_version, recorded_at, seal) VALUES "
SealRow = tuple[str, int, str, bytes, str]
"""An event to append: (stream id as 32 hex, version, topic, stored state, recorded_at text)."""


def chain_head(conn: sqlite3.Connection) -> tuple[int, bytes]:
    """The seq the next event gets, and the seal it chains from (the caller holds the write lock)."""
    first = conn.execute("SELECT coalesce(max(rowid), 0) + 1 FROM stored_events").fetchone()[0]
    row = conn.execute("SELECT seal FROM event_index ORDER BY seq DESC LIMIT 1").fetchone()
    return first, (row[0] if row else GENESIS)


def insert_sealed(conn: sqlite3.Connection, stored_events: Sequence[StoredEvent]) -> list[int]:
    """Append events with their seals and index rows; the caller owns the transaction.

    The caller holds the write lock, so the next seqs are known: rows go in with two
    ``executemany`` calls (several times faster than a statement per row on a bulk import),
    with the rowids SQLite would have chosen itself.
    """
    first, previous = chain_head(conn)
    events: list[tuple[Any, ...]] = []
    index: list[tuple[Any, ...]] = []
    for seq, s in enumerate(stored_events, start=first):
        stream = s.originator_id.hex if hasattr(s.originator_id, "hex") else str(s.originator_id)
        recorded_at = getattr(s, "recorded_at", "")
        previous = seal(previous, stream, s.originator_version, s.topic, recorded_at, s.state)
        events.append((seq, stream, s.originator_version, s.topic, s.state))
        index.append((seq, stream, s.originator_version, recorded_at, previous))
    conn.executemany(EVENTS_INSERT + "(?,?,?,?,?)", events)
    conn.executemany(INDEX_INSERT + "(?,?,?,?,?)", index)
    return list(range(first, first + len(events)))


def seal_rows(rows: Iterable[SealRow], first: int, previous: bytes) -> tuple[list[Any], list[Any], bytes]:
    """The parameters of ``rows`` for the two tables, flat (five a row), sealed in order from ``previous``.

    The same seals as ``sealing.seal``, with OpenSSL's SHA-256 (a bulk append amortises
    loading it) and the bytes joined once per event. Returns the last seal too.
    """
    # lazy: OpenSSL (~3 ms) only for a bulk append
    from hashlib import sha256

    events: list[Any] = []
    index: list[Any] = []
    add_event = events.extend
    add_index = index.extend
    seq = first
    for stream, version, topic, state, recorded_at in rows:
        previous = sha256(
            b"".join((previous, f"{stream}\x00{version}\x00{topic}\x00{recorded_at}\x00".encode(), state))
        ).digest()
        add_event((seq, stream, version, topic, state))
        add_index((seq, stream, version, recorded_at, previous))
        seq += 1
    return events, index, previous


class SealedAppender:
    """Appends sealed events in one transaction, the inserts running in a thread of their own.

    ``add`` seals a batch at once, in order (the chain is sequential), and queues its
    rows; the thread inserts them with one multi-row ``INSERT`` a few thousand events at
    a time, during which SQLite does not hold Python's interpreter lock: the caller
    prepares the next batch meanwhile. The caller owns the transaction, and must not use
    the connection (opened with ``check_same_thread=False``) until ``finish`` or ``stop``.

    With ``index_after``, the recording-time index (dropped by the caller for a bulk
    append) is built again by the thread once that many events are in, or at the end.
    """

    ROWS_PER_STATEMENT = 5_000
    SWITCH_INTERVAL_S = 0.001  # how long the thread may wait for the interpreter lock after a statement

    def __init__(self, conn: sqlite3.Connection, *, index_after: int | None = None) -> None:
        self.conn = conn
        self.index_after = index_after
        self.inserted = 0
        self.next_seq, self.previous = chain_head(conn)
        self.error: BaseException | None = None
        self.stopped = False
        self.queue: queue.SimpleQueue[tuple[list[Any], list[Any]] | None] = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._run, name="coachledger-append", daemon=True)
        # The thread needs the interpreter lock back after each statement; by default the
        # sealing would keep it for up to 5 ms each time, and the inserts would fall behind.
        self.switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self.switch_interval, self.SWITCH_INTERVAL_S))
        self.thread.start()

    def add(self, rows: Sequence[SealRow]) -> None:
        if self.error is not None:
            self.stop()
            raise self.error
        events, index, self.previous = seal_rows(rows, self.next_seq, self.previous)
        self.next_seq += len(rows)
        self.queue.put((events, index))

    def finish(self) -> None:
        """Wait until every queued event is inserted; raise what the inserts raised."""
        self._join()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Insert nothing more and wait for the thread (before the caller rolls back)."""
        self.stopped = True
        self._join()

    def _join(self) -> None:
        if self.thread.is_alive():
            self.queue.put(None)
            self.thread.join()
            sys.setswitchinterval(self.switch_interval)

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if self.stopped or self.error is not None:
                continue
            try:
                events, index = item
                self._insert(EVENTS_INSERT, events)
                self._insert(INDEX_INSERT, index)
                self.inserted += len(events) // 5
                if self.index_after is not None and self.inserted >= self.index_after:
                    self._build_index()
            except BaseException as e:  # handed to the caller by finish()
                self.error = e
        if self.index_after is not None and not self.stopped and self.error is None:
            try:
                self._build_index()
            except BaseException as e:
                self.error = e

    def _build_index(self) -> None:
        self.conn.execute(INDEX_BY_TIME)
        self.index_after = None

    def _insert(self, head: str, flat: list[Any]) -> None:
        step = self.ROWS_PER_STATEMENT * 5
        for start in range(0, len(flat), step):
            part = flat[start : start + step]
            self.conn.execute(_values_sql(head, len(part) // 5), part)


@functools.lru_cache(maxsize=8)
def _values_sql(head: str, rows: int) -> str:
    return head + ",".join(("(?,?,?,?,?)",) * rows)


@contextlib.contextmanager
def sealed_appender(conn: sqlite3.Connection, *, index_after: int | None = None) -> Iterator[SealedAppender]:
    """A ``SealedAppender`` that is finished on leaving, or stopped when the block raises."""
    appender = SealedAppender(conn, index_after=index_after)
    try:
        yield appender
    except BaseException:
        appender.stop()
        raise
    appender.finish()


def connect_threadable(path: Path) -> sqlite3.Connection:
    """``storefile.connect``, for a connection a ``SealedAppender`` may hand to its thread."""
    if not path.exists():
        raise StoreError(f"no ledger at {path} (record something first, or run 'coachledger init')")
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False
        )
        for pragma in PRAGMAS:
            conn.execute(pragma)
    except sqlite3.DatabaseError as e:
        raise StoreError(describe_sqlite_error(path, e)) from None
    return conn


# Every table and index the write side creates (the library's two tables and the ledger's index).
LEDGER_OBJECTS = ("stored_events", "stored_snapshots", "event_index", "event_index_by_time")


class LedgerSQLiteFactory(SQLiteFactory):
    """The library's SQLite factory with the ledger's recorders; its settings are honoured.

    ``SQLITE_LOCK_TIMEOUT`` (seconds) replaces the ledger's busy timeout and
    ``SINGLE_ROW_TRACKING`` shapes the tracking table, as in the library.
    ``ORIGINATOR_ID_TYPE=text`` is refused: every stream id is a UUID, sealed as 32 hex.
    """

    application_recorder_class = LedgerSQLiteRecorder
    process_recorder_class = LedgerSQLiteProcessRecorder
    aggregate_recorder_class = LedgerSQLiteSnapshotRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        library = self.datastore
        refuse_text_ids(library.originator_id_type)
        library.close()
        self.datastore = LedgerDatastore(
            db_name=library.pool.db_name,
            lock_timeout=library.pool.lock_timeout,
            single_row_tracking=library.single_row_tracking,
            originator_id_type="uuid",
        )
        self._existing: dict[tuple[str, ...], bool] = {}
        self._needed: tuple[str, ...] = LEDGER_OBJECTS

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        if purpose != "snapshots":
            raise OSError(
                f"aggregate_recorder('{purpose}') is not supported by the ledger: its events are "
                "written sealed by application_recorder(); aggregate_recorder('snapshots') keeps snapshots"
            )
        return super().aggregate_recorder(purpose)

    def tracking_recorder(
        self, tracking_recorder_class: type[SQLiteTrackingRecorder] | None = None
    ) -> SQLiteTrackingRecorder:
        with self._needing((*LEDGER_OBJECTS, "tracking")):
            return super().tracking_recorder(tracking_recorder_class)

    def process_recorder(self) -> ProcessRecorder:
        with self._needing((*LEDGER_OBJECTS, "tracking")):
            return super().process_recorder()

    @contextlib.contextmanager
    def _needing(self, names: tuple[str, ...]) -> Iterator[None]:
        before, self._needed = self._needed, names
        try:
            yield
        finally:
            self._needed = before

    def env_create_table(self) -> bool:
        """Run the DDL only on a store that lacks the tables the recorder needs (one lookup,
        not a write transaction of CREATE ... IF NOT EXISTS statements on every command)."""
        if not super().env_create_table():
            return False
        names = self._needed
        if not self._existing.get(names):
            with self.datastore.get_connection(commit=False) as connection:
                row = connection._sqlite_conn.execute(
                    f"SELECT count(*) FROM sqlite_master WHERE name IN ({','.join('?' * len(names))})",
                    names,
                ).fetchone()
            self._existing[names] = row[0] == len(names)
            return not self._existing[names]
        return False


def refuse_text_ids(originator_id_type: str) -> None:
    """The ledger's stream ids are UUIDs on every store (the seal covers their 32 hex digits)."""
    if originator_id_type.lower() != "uuid":
        raise OSError(
            f"ORIGINATOR_ID_TYPE '{originator_id_type}' is not supported by the ledger: "
            "its stream ids are UUIDs (sealed as 32 hex digits), so leave it unset or 'uuid'"
        )
