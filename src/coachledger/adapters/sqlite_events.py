"""The event store on a SQLite file (see ``eventstore``): the ledger's tables, read and written."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coachledger.adapters.event_tables import (
    ERASED_SQL,
    EVENTS_SQL,
    INDEX_SQL,
    KEY_META_SQL,
    KEYS_SQL,
    LOCAL_META,
    META_DDL,
    META_SQL,
    SNAPSHOTS_SQL,
    Appender,
    ChainRow,
    CheckCopy,
    DamagedRows,
    EmptyTransaction,
    EventRow,
    LedgerRows,
    Refuse,
    holdings,
    plain_rows,
)
from coachledger.adapters.files import (
    INDEX_BY_TIME,
    StoreError,
    connect,
    describe_sqlite_error,
    immediate,
    prepare_file,
)

if TYPE_CHECKING:
    from coachledger.adapters.codec import LedgerStoredEvent
    from coachledger.adapters.snapshots import BadSnapshot

BULK_MIN = 5_000  # from this many new events on, the time index is rebuilt after the append
BULK_CACHE_KIB = 65_536  # page cache for a bulk append (the default 2 MiB thrashes on big stores)
INDEX_EARLY = 0.9  # of a bulk append's events in before its time index is rebuilt (the rest go in indexed)
FETCH_ROWS = 10_000
QUICK_CHECK_MAX = 20  # problems quick_check lists at most
CHAIN_SQL = (
    "SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, "
    "i.originator_id, i.originator_version, i.recorded_at, i.seal "
    "FROM stored_events e LEFT JOIN event_index i ON i.seq = e.rowid ORDER BY e.rowid"
)


class SqliteTransaction:
    """One transaction on a SQLite store's connection (see ``EventTransaction``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.has_tables = self.has_table("stored_events")

    def rows(self) -> Iterator[EventRow]:
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
        # lazy: the write side's SQLite module only when writing
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
        deferred = self._defer_index(new_events)
        yield
        if deferred:
            self.conn.execute(INDEX_BY_TIME)

    def _defer_index(self, new_events: int) -> bool:
        """Drop the recording-time index for an append of ``new_events`` when worth it (see bulk)."""
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
        # lazy: the write side's SQLite module only when writing
        from coachledger.adapters.sqlite import sealed_appender

        deferred = self._defer_index(new_events)
        index_after = int(new_events * INDEX_EARLY) if deferred else None
        with sealed_appender(self.conn, index_after=index_after) as appender:
            yield appender

    # -- the seal chain --

    def has_table(self, name: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone()
            is not None
        )

    def sealed_tables(self) -> tuple[bool, bool]:
        return self.has_table("stored_events"), self.has_table("event_index")

    def chain_rows(self) -> Iterator[ChainRow]:
        try:
            cursor = self.conn.execute(CHAIN_SQL)
            while batch := cursor.fetchmany(FETCH_ROWS):
                yield from batch
        except sqlite3.DatabaseError as e:
            if "malformed" not in str(e) and "not a database" not in str(e):
                raise
            raise DamagedRows(str(e)) from e

    def index_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM event_index").fetchone()[0])

    def first_missing(self, before: int | None) -> tuple[int, str] | None:
        row = self.conn.execute(
            "SELECT i.seq, i.originator_id FROM event_index i WHERE i.seq < ? AND NOT EXISTS "
            "(SELECT 1 FROM stored_events e WHERE e.rowid = i.seq) ORDER BY i.seq LIMIT 1",
            (before if before is not None else 1 << 62,),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def slug_of(self, stream: str) -> str | None:
        if not self.has_table("clients"):
            return None
        row = self.conn.execute("SELECT client FROM clients WHERE stream = ?", (stream,)).fetchone()
        return None if row is None or not row[0] else str(row[0])

    def damage(self) -> list[str]:
        """SQLite's own check of every page and index (``PRAGMA quick_check``): [] when sound."""
        try:
            found = [str(row) for (row,) in self.conn.execute(f"PRAGMA quick_check({QUICK_CHECK_MAX})")]
        except sqlite3.DatabaseError as e:
            return [str(e)]
        if found == ["ok"]:
            return []
        lines = [line.strip() for row in found for line in row.splitlines()]
        return [line for line in lines if line and not line.startswith("*** in database")]

    def bad_snapshots(self) -> list[BadSnapshot]:
        # lazy: only verify checks snapshots
        from coachledger.adapters.snapshots import check_snapshots

        return check_snapshots(self.conn)


class SqliteEventStore:
    """A SQLite store file (see ``EventStore``); the connection is opened on first use."""

    contiguous = True  # rowids never skip: a hole is a deleted event

    def __init__(self, path: Path, *, create: bool, strict: bool) -> None:
        self.path = path
        self.strict = strict
        self._conn: sqlite3.Connection | None = None
        self.empty = False
        if create:
            create_tables(path)
            # the import's appender inserts from a thread of its own
            # lazy: the write side's SQLite module only when writing
            from coachledger.adapters.sqlite import connect_threadable

            self._conn = connect_threadable(path)
        elif strict:
            self._conn = connect(path)
        elif not path.exists():
            self.empty = True
        self.writable = create

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self.path)
        return self._conn

    def __enter__(self) -> SqliteEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self, *, write: bool) -> Iterator[SqliteTransaction | EmptyTransaction]:
        if write and not self.writable:
            raise RuntimeError("open the store with create=True to write")  # a programming error
        if self.empty:
            yield EmptyTransaction()
        elif write:
            with immediate(self.conn):
                yield SqliteTransaction(self.conn)
        else:
            with self._errors():
                self.conn.execute("BEGIN")  # one snapshot for the whole read
                try:
                    yield SqliteTransaction(self.conn)
                finally:
                    self.conn.rollback()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """With ``strict``, the store's errors as StoreErrors naming it."""
        if not self.strict:
            yield
            return
        try:
            yield
        except sqlite3.DatabaseError as e:
            raise StoreError(describe_sqlite_error(self.path, e)) from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- whole ledgers (store copy) --

    def read_ledger(self) -> LedgerRows:
        conn = self.conn
        try:
            conn.execute("BEGIN")
            rows = _read_tables(conn, _tables(conn))
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise StoreError(describe_sqlite_error(self.path, e)) from None
        if rows.encrypted:
            # lazy: key files only for encrypted stores
            from coachledger.adapters.keys import key_file_of

            key_file = key_file_of(self.path)
            if not key_file.exists():
                raise StoreError(f"the key store {key_file} of this encrypted ledger is missing")
            keys = connect(key_file)
            try:
                rows.keys = plain_rows(keys.execute(KEYS_SQL).fetchall())
                rows.erased = plain_rows(keys.execute(ERASED_SQL).fetchall())
                rows.key_meta = plain_rows(keys.execute(KEY_META_SQL).fetchall())
            except sqlite3.DatabaseError as e:
                raise StoreError(describe_sqlite_error(key_file, e)) from None
            finally:
                keys.close()
        return rows

    def write_ledger(self, rows: LedgerRows, *, refuse: Refuse, check: CheckCopy) -> None:
        path = self.path
        created: list[Path] = []
        if not path.exists():
            created.append(path)
        if path.exists() and path.stat().st_size > 0:
            conn = connect(path)
            try:
                refuse(holdings(_tables(conn), _counter(conn)))
            except sqlite3.DatabaseError as e:
                raise StoreError(describe_sqlite_error(path, e)) from None
            finally:
                conn.close()
        try:
            key_store_id = _copy_keys(path, rows, created)
            create_tables(path)
            conn = self.conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    refuse(holdings(_tables(conn), _counter(conn)))
                    conn.executemany(
                        "INSERT INTO stored_events (rowid, originator_id, originator_version, topic, state) "
                        "VALUES (?,?,?,?,?)",
                        rows.events,
                    )
                    conn.executemany("INSERT INTO event_index VALUES (?,?,?,?,?)", rows.index)
                    conn.executemany("INSERT INTO stored_snapshots VALUES (?,?,?,?)", rows.snapshots)
                    conn.execute(META_DDL)
                    meta = list(rows.meta) + ([("key_store", key_store_id)] if key_store_id else [])
                    conn.execute("DELETE FROM ledger_meta")
                    conn.executemany("INSERT INTO ledger_meta VALUES (?,?)", meta)
                    check(
                        plain_rows(conn.execute(EVENTS_SQL.format(seq="rowid")).fetchall()),
                        plain_rows(conn.execute(INDEX_SQL).fetchall()),
                        plain_rows(conn.execute(SNAPSHOTS_SQL).fetchall()),
                    )
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
            except sqlite3.DatabaseError as e:
                raise StoreError(describe_sqlite_error(path, e)) from None
            finally:
                self.close()
        except BaseException:
            for made in created:  # a failed copy leaves no new files behind
                for leftover in (
                    made,
                    made.with_name(made.name + "-wal"),
                    made.with_name(made.name + "-shm"),
                ):
                    with contextlib.suppress(OSError):
                        leftover.unlink()
            raise

    # -- forgetting --

    def forget_snapshots(self, stream: str, *, encrypted: bool, scrub: Sequence[str] = ()) -> list[str]:
        # lazy: key files only for encrypted stores
        from coachledger.adapters.keys import compact_sqlite

        conn = self.conn
        if conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='stored_snapshots'"
        ).fetchone():
            conn.execute("DELETE FROM stored_snapshots WHERE originator_id = ?", (stream,))
        if not compact_sqlite(conn, self.path):
            return [
                f"another process is reading {self.path}: its write-ahead log could not be emptied yet; "
                "run 'coachledger forget' again once it is done"
            ]
        return []


def create_tables(path: Path) -> None:
    """The ledger's tables in a new or existing file, created as the write side creates them."""
    # lazy: the write side's SQLite module only when creating tables
    from coachledger.adapters.sqlite import LedgerSQLiteFactory

    prepare_file(path)
    factory = LedgerSQLiteFactory({"SQLITE_DBNAME": str(path), "CREATE_TABLE": "y"})
    try:
        factory.application_recorder()
        factory.aggregate_recorder("snapshots")
    finally:
        factory.close()


def remove_unless_events(path: Path) -> None:
    """Remove a store file (and its journal files) unless it holds events."""
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            row = conn.execute("SELECT EXISTS (SELECT 1 FROM stored_events)").fetchone()
        if row[0]:
            return
    except sqlite3.Error:
        pass  # no events table: nothing of anyone's in it
    for name in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            name.unlink()


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _counter(conn: Any) -> Any:
    def count(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    return count


def _read_tables(conn: Any, tables: set[str], seq: str = "rowid") -> LedgerRows:
    """The ledger's own tables, as far as ``tables`` says they exist (same SQL on both stores)."""
    rows = LedgerRows()
    if "stored_events" in tables:
        rows.events = plain_rows(conn.execute(EVENTS_SQL.format(seq=seq)).fetchall())
    if "event_index" in tables:
        rows.index = plain_rows(conn.execute(INDEX_SQL).fetchall())
    if "stored_snapshots" in tables:
        rows.snapshots = plain_rows(conn.execute(SNAPSHOTS_SQL).fetchall())
    if "ledger_meta" in tables:
        rows.meta = [r for r in plain_rows(conn.execute(META_SQL).fetchall()) if r[0] not in LOCAL_META]
    return rows


def _copy_keys(path: Path, rows: LedgerRows, created: list[Path]) -> str | None:
    """The target's key file, holding the source's client keys (encrypted ledgers only)."""
    if not rows.encrypted:
        return None
    # lazy: key files only for encrypted stores
    from coachledger.adapters.keys import SqliteKeyStore, key_file_of

    key_file = key_file_of(path)
    if not key_file.exists():
        created.append(key_file)
    keys = SqliteKeyStore.create(key_file)  # refuses a key file that holds keys already
    conn = connect(key_file)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO client_keys VALUES (?,?,?)", rows.keys)
        conn.executemany("INSERT INTO erased_streams VALUES (?,?)", rows.erased)
        conn.execute("DELETE FROM key_meta WHERE key <> 'key_store'")  # the source's secret, or none
        conn.executemany("INSERT INTO key_meta VALUES (?,?)", rows.key_meta)
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as e:
        raise StoreError(describe_sqlite_error(key_file, e)) from None
    finally:
        conn.close()
    return keys.key_store_id
