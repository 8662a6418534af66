"""The event store on PostgreSQL (see ``eventstore``): the ledger's tables, read and written.

This module imports psycopg: import it only when the store is PostgreSQL.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from psycopg.rows import dict_row

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
    EmptyTransaction,
    EventAppender,
    EventRow,
    LedgerRows,
    Refuse,
    Row,
    holdings,
    plain_rows,
)
from coachledger.adapters.keys import KEY_META_TABLE, KEY_TABLES
from coachledger.adapters.postgres import (
    connect,
    datastore_cursor,
    ensure_schema,
    insert_sealed,
    ledger_env,
    parse_url,
    pg_factory,
    schema_exists,
)

if TYPE_CHECKING:
    from coachledger.adapters.codec import LedgerStoredEvent
    from coachledger.adapters.snapshots import BadSnapshot
    from coachledger.settings import StoreLocation

FETCH_ROWS = 10_000
SCRUB_LOCK_TIMEOUT_S = 30  # forget waits this long for each table it rewrites
SCRUB_WAIT_S = 30  # and this long for older transactions, which keep deleted rows alive
STREAM = "replace({}.originator_id::text, '-', '')"
CHAIN_SQL = (
    f"SELECT e.notification_id, {STREAM.format('e')}, e.originator_version, e.topic, e.state, "
    f"{STREAM.format('i')}, i.originator_version, i.recorded_at, i.seal "
    "FROM stored_events e LEFT JOIN event_index i ON i.seq = e.notification_id ORDER BY e.notification_id"
)
TABLES = (
    "stored_events",
    "event_index",
    "stored_snapshots",
    "ledger_meta",
    "client_keys",
    "erased_streams",
    "key_meta",
)


class PgTransaction:
    """On a cursor (dict rows) in the caller's transaction; appending takes the table lock."""

    def __init__(self, curs: Any, recorder: Any) -> None:
        self.curs = curs
        self.recorder = recorder
        self.locked = False

    def lock(self) -> None:
        """Writers queue on the library's table lock, so seqs commit in order."""
        if not self.locked:
            self.recorder.lock_for_append(self.curs)
            self.locked = True

    def rows(self) -> Iterator[EventRow]:
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
        self.lock()
        insert_sealed(self.curs, events)

    @contextlib.contextmanager
    def bulk(self, new_events: int) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def appending(self, new_events: int) -> Iterator[Appender]:
        appender = EventAppender(self)
        yield appender
        appender.finish()

    # -- the seal chain --

    def has_table(self, name: str) -> bool:
        self.curs.execute("SELECT to_regclass(%s) AS t", (name,))
        return self.curs.fetchone()["t"] is not None

    def sealed_tables(self) -> tuple[bool, bool]:
        return self.has_table("stored_events"), self.has_table("event_index")

    def chain_rows(self) -> Iterator[ChainRow]:
        with self.curs.connection.cursor(name="coachledger_verify") as cursor:
            cursor.itersize = FETCH_ROWS
            cursor.execute(CHAIN_SQL)
            for seq, stream, version, topic, state, i_stream, i_version, recorded_at, seal in cursor:
                yield (
                    seq,
                    stream,
                    version,
                    topic,
                    bytes(state),
                    i_stream,
                    i_version,
                    recorded_at,
                    seal and bytes(seal),
                )

    def index_count(self) -> int:
        self.curs.execute("SELECT count(*) AS n FROM event_index")
        return int(self.curs.fetchone()["n"])

    def first_missing(self, before: int | None) -> tuple[int, str] | None:
        self.curs.execute(
            f"SELECT i.seq AS seq, {STREAM.format('i')} AS stream FROM event_index i WHERE i.seq < %s "
            "AND NOT EXISTS (SELECT 1 FROM stored_events e WHERE e.notification_id = i.seq) "
            "ORDER BY i.seq LIMIT 1",
            (before if before is not None else 1 << 62,),
        )
        row = self.curs.fetchone()
        return None if row is None else (int(row["seq"]), str(row["stream"]))

    def slug_of(self, stream: str) -> str | None:
        if not self.has_table("clients"):
            return None
        self.curs.execute("SELECT client FROM clients WHERE stream = %s", (stream,))
        row = self.curs.fetchone()
        return None if row is None or not row["client"] else str(row["client"])

    def damage(self) -> list[str]:
        return []  # PostgreSQL checks its pages as it reads them (and with data checksums, when enabled)

    def bad_snapshots(self) -> list[BadSnapshot]:
        # lazy: only verify checks snapshots
        from coachledger.adapters.snapshots import check_snapshots

        return check_snapshots(self.curs.connection)


class PgEventStore:
    """A PostgreSQL database holding one ledger (see ``EventStore``).

    Opened with ``create``, it works on the write side's own connection pool and recorder
    (which create the schema); otherwise on a plain connection, created nothing.
    """

    contiguous = False  # sequences skip values after rolled-back transactions

    def __init__(self, store: StoreLocation, *, create: bool, strict: bool) -> None:
        self.store = store
        self.factory: Any = None
        self.recorder: Any = None
        self._conn: Any = None
        self.empty = False
        if create:
            self.factory = pg_factory(ledger_env(store))
            self.recorder = self.factory.application_recorder()
        elif not strict:
            self.empty = not schema_exists(self.conn)
            self.conn.rollback()

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = connect(parse_url(self.store.url))
        return self._conn

    def __enter__(self) -> PgEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self, *, write: bool) -> Iterator[PgTransaction | EmptyTransaction]:
        if self.factory is not None:
            with datastore_cursor(self.factory.datastore) as curs:
                tx = PgTransaction(curs, self.recorder)
                if write:
                    tx.lock()
                yield tx
            return
        if write:
            raise RuntimeError("open the store with create=True to write")  # a programming error
        if self.empty:
            yield EmptyTransaction()
            return
        with self.conn.transaction(), self.conn.cursor(row_factory=dict_row) as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PgTransaction(curs, None)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.factory is not None:
            self.factory.close()
            self.factory = None

    # -- whole ledgers (store copy) --

    def read_ledger(self) -> LedgerRows:
        conn = self.conn
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        tables = _tables(conn)
        rows = LedgerRows()
        if "stored_events" in tables:
            rows.events = plain_rows(conn.execute(EVENTS_SQL.format(seq="notification_id")).fetchall())
        if "event_index" in tables:
            rows.index = plain_rows(conn.execute(INDEX_SQL).fetchall())
        if "stored_snapshots" in tables:
            rows.snapshots = plain_rows(conn.execute(SNAPSHOTS_SQL).fetchall())
        if "ledger_meta" in tables:
            rows.meta = [r for r in plain_rows(conn.execute(META_SQL).fetchall()) if r[0] not in LOCAL_META]
        if rows.encrypted and "client_keys" in tables:
            rows.keys = plain_rows(conn.execute(KEYS_SQL).fetchall())
        if rows.encrypted and "erased_streams" in tables:
            rows.erased = plain_rows(conn.execute(ERASED_SQL).fetchall())
        if rows.encrypted and "key_meta" in tables:
            rows.key_meta = plain_rows(conn.execute(KEY_META_SQL).fetchall())
        conn.rollback()
        return rows

    def write_ledger(self, rows: LedgerRows, *, refuse: Refuse, check: CheckCopy) -> None:
        conn = self.conn

        def count(sql: str) -> int:
            return int(conn.execute(sql).fetchone()[0])

        def tables() -> set[str]:
            found = _tables(conn)
            if conn.execute("SELECT to_regclass('view_tracking')").fetchone()[0] is not None:
                found.add("view_tracking")
            return found

        refuse(holdings(tables(), count))
        conn.rollback()
        ensure_schema(conn)
        with conn.transaction():
            conn.execute("LOCK TABLE stored_events IN EXCLUSIVE MODE")  # writers wait for the copy
            refuse(holdings(tables(), count))
            with conn.cursor() as cur:
                _copy_in(
                    cur,
                    "stored_events (notification_id, originator_id, originator_version, topic, state)",
                    rows.events,
                )
                _copy_in(
                    cur, "event_index (seq, originator_id, originator_version, recorded_at, seal)", rows.index
                )
                _copy_in(
                    cur, "stored_snapshots (originator_id, originator_version, topic, state)", rows.snapshots
                )
                if rows.events:
                    cur.execute(
                        "SELECT setval(pg_get_serial_sequence('stored_events', 'notification_id'), %s)",
                        (rows.events[-1][0],),
                    )
                cur.execute(META_DDL)
                cur.execute("DELETE FROM ledger_meta")
                cur.executemany("INSERT INTO ledger_meta VALUES (%s, %s)", rows.meta)
                if rows.encrypted:
                    for ddl in (*KEY_TABLES, KEY_META_TABLE):
                        cur.execute(ddl.format(blob="BYTEA"))
                    _copy_in(cur, "client_keys (stream, key, created_at)", rows.keys)
                    _copy_in(cur, "erased_streams (stream, erased_at)", rows.erased)
                    cur.execute("DELETE FROM key_meta")  # the source's secret, or none (uuid5 ids)
                    cur.executemany("INSERT INTO key_meta VALUES (%s, %s)", rows.key_meta)
                check(
                    plain_rows(cur.execute(EVENTS_SQL.format(seq="notification_id")).fetchall()),
                    plain_rows(cur.execute(INDEX_SQL).fetchall()),
                    plain_rows(cur.execute(SNAPSHOTS_SQL).fetchall()),
                )

    # -- forgetting --

    def forget_snapshots(self, stream: str, *, encrypted: bool, scrub: Sequence[str] = ()) -> list[str]:
        """Delete the stream's snapshots, then rewrite the tables a forget deleted rows from.

        A DELETE only marks rows dead: their bytes stay in the table's files until it is
        rewritten. VACUUM FULL writes each table (with its TOAST table and indexes) anew
        without them: ``scrub`` (the views' tables), the snapshots and the key table.
        """
        # lazy: psycopg's sql module only where tables are rewritten
        import psycopg
        from psycopg import sql

        conn = self.conn
        with conn.transaction():
            if conn.execute("SELECT to_regclass('stored_snapshots')").fetchone()[0] is not None:
                conn.execute(
                    "DELETE FROM stored_snapshots WHERE replace(originator_id::text, '-', '') = %s", (stream,)
                )
        conn.rollback()
        conn.autocommit = True  # VACUUM runs outside a transaction
        warnings = []
        try:
            if not _wait_for_older_transactions(conn):
                warnings.append(
                    "a long transaction still sees the deleted rows, so PostgreSQL keeps them in the tables' "
                    "files: run 'coachledger forget' again once it has ended"
                )
            conn.execute(f"SET lock_timeout = '{SCRUB_LOCK_TIMEOUT_S}s'")
            for table in (*scrub, "stored_snapshots", "client_keys"):
                if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
                    continue
                try:
                    conn.execute(sql.SQL("VACUUM (FULL) {}").format(sql.Identifier(table)))
                except psycopg.errors.LockNotAvailable:
                    warnings.append(
                        f"another session kept the table '{table}' busy: its deleted rows stay in its files "
                        "until 'coachledger forget' is run again"
                    )
        finally:
            conn.autocommit = False
        what = (
            "the client's deleted rows (and its destroyed key)"
            if encrypted
            else "the client's deleted view rows"
        )
        warnings.append(
            f"the tables were rewritten without {what}, but PostgreSQL may keep copies in its write-ahead log "
            "until it is recycled, and in replicas and backups"
        )
        return warnings


def _wait_for_older_transactions(conn: Any) -> bool:
    """Wait until no transaction older than now is left (VACUUM keeps rows they may see).

    Rows deleted by a transaction newer than the oldest transaction still running anywhere
    on the server, or than the oldest snapshot in this database, are kept by VACUUM FULL
    ("recently dead"). False when such a transaction outlived ``SCRUB_WAIT_S``.
    """
    (boundary,) = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint").fetchone()
    deadline = time.monotonic() + SCRUB_WAIT_S
    while True:
        (older,) = conn.execute(
            "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint < %(b)s OR EXISTS (SELECT 1 "
            "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_xmin IS NOT NULL AND age(backend_xmin) > age((%(b)s %% 4294967296)::text::xid))",
            {"b": boundary},
        ).fetchone()
        if not older:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def _tables(conn: Any) -> set[str]:
    found = conn.execute(
        "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NOT NULL", (list(TABLES),)
    )
    return {name for (name,) in found.fetchall()}


def _copy_in(cur: Any, table: str, rows: list[Row]) -> None:
    if rows:
        with cur.copy(f"COPY {table} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
