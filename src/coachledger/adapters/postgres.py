"""The PostgreSQL store: the library's recorder, sealing and an event index, shared by many coaches.

A whole database is one ledger, with the same table names as the SQLite store
(``stored_events``, ``event_index``, ``stored_snapshots``) and stream ids kept as the
same 32-hex text, so rows move between the two stores unchanged. Every insert takes the
library's EXCLUSIVE table lock, so notification ids (= ``seq``) commit in order and the
seal chain is extended by one writer at a time; the events, their index rows and seals
are written in one transaction. A lost optimistic-concurrency race is a primary-key
violation, which the library maps to ``IntegrityError`` for the application to retry.

This module imports psycopg: import it only when the store is PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    ProcessRecorder,
    StoredEvent,
    Tracking,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
    PostgresProcessRecorder,
    PostgresTrackingRecorder,
)
from eventsourcing.utils import Environment, resolve_topic, retry

from coachledger.adapters.files import StoreError
from coachledger.adapters.pg_snapshots import HexIdsMixin, LedgerSnapshotRecorder, _held, _hex, _id, writing
from coachledger.adapters.sealing import GENESIS, seal
from coachledger.adapters.sqlite import refuse_text_ids
from coachledger.settings import SettingsError, StoreLocation

APP_NAME = "coachledger"  # the Ledger application's name: the prefix of its environment keys
CONNECT_TIMEOUT_S = 5
# pg_advisory_xact_lock keys: creating the schema, and catching up the views.
SCHEMA_LOCK_KEY = 0x636C_0001
VIEWS_LOCK_KEY = 0x636C_0002

STORED_EVENT_TYPE = "stored_event_text"
SCHEMA_DDL = (
    # The library's own definitions (PostgresApplicationRecorder / PostgresAggregateRecorder),
    # with text stream ids as in SQLite.
    "CREATE TABLE IF NOT EXISTS stored_events ("
    'originator_id text COLLATE "C" NOT NULL, originator_version bigint NOT NULL, topic text, state bytea, '
    "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))",
    "CREATE UNIQUE INDEX IF NOT EXISTS stored_events_notification_id_idx "
    "ON stored_events (notification_id ASC)",
    "CREATE TABLE IF NOT EXISTS stored_snapshots ("
    'originator_id text COLLATE "C" NOT NULL, originator_version bigint NOT NULL, topic text, state bytea, '
    "PRIMARY KEY (originator_id, originator_version))",
    # The ledger's index: recording time and seal of every event, by seq.
    "CREATE TABLE IF NOT EXISTS event_index ("
    'seq bigint PRIMARY KEY, originator_id text COLLATE "C" NOT NULL, originator_version bigint NOT NULL, '
    'recorded_at text COLLATE "C" NOT NULL, seal bytea NOT NULL)',
    "CREATE INDEX IF NOT EXISTS event_index_by_time ON event_index (originator_id, recorded_at, seq)",
)
SCHEMA_TYPE_DDL = (
    f"CREATE TYPE {STORED_EVENT_TYPE} AS "
    "(originator_id text, originator_version bigint, topic text, state bytea)"
)
SCHEMA_TABLES = ("stored_events", "stored_snapshots", "event_index")


@dataclass(frozen=True)
class PgParams:
    """Connection parameters parsed from a ``postgresql://`` URL."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def kwargs(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
        }


def parse_url(url: str) -> PgParams:
    """Host, port, user, password and database of a URL; PG* environment variables fill gaps.

    Query options are refused: libpq's own environment variables (PGSSLMODE, ...) apply.
    """
    parts = urlsplit(url)
    if parts.query:
        raise SettingsError(
            f"options after '?' in the PostgreSQL URL are not supported ({parts.query}); "
            "use libpq's environment variables instead (e.g. PGSSLMODE=require)"
        )
    try:
        port = parts.port or int(os.environ.get("PGPORT") or 5432)
    except ValueError:
        port_text = parts.netloc.rpartition(":")[2]
        raise SettingsError(f"the PostgreSQL URL has an invalid port '{port_text}'") from None
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise SettingsError("a PostgreSQL URL names one database: postgresql://user:pw@host:port/dbname")
    return PgParams(
        host=unquote(parts.hostname or "") or os.environ.get("PGHOST") or "localhost",
        port=port,
        user=unquote(parts.username or "") or os.environ.get("PGUSER") or "",
        password=unquote(parts.password or "") or os.environ.get("PGPASSWORD") or "",
        dbname=dbname,
    )


def ledger_env(store: StoreLocation) -> dict[str, str]:
    """The library's settings for the Ledger application on this database.

    Keys carry the application's prefix, so that stray POSTGRES_* variables in the
    environment never point the ledger at another database.
    """
    params = parse_url(store.url)
    p = APP_NAME.upper() + "_"
    return {
        p + "POSTGRES_HOST": params.host,
        p + "POSTGRES_PORT": str(params.port),
        p + "POSTGRES_USER": params.user,
        p + "POSTGRES_PASSWORD": params.password,
        p + "POSTGRES_DBNAME": params.dbname,
        p + "POSTGRES_CONNECT_TIMEOUT": "15",
        # Connections on demand only: a pool left open never reconnects in the background.
        p + "POSTGRES_POOL_SIZE": "0",
        p + "POSTGRES_MAX_OVERFLOW": "4",
        p + "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "30",
        p + "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        p + "CREATE_TABLE": "y",
    }


def describe_connect_error(params: PgParams, e: BaseException) -> str:
    """One readable line for a failed connection: where, why, and what to check."""
    text = " ".join(str(e).split()).removeprefix("connection failed: ") or type(e).__name__
    where = f"PostgreSQL at {params.where}"
    low = text.lower()
    if f'database "{params.dbname}" does not exist' in low:
        return (
            f"{where} has no database '{params.dbname}': create it first "
            f"(createdb -h {params.host} -p {params.port} -U {params.user or 'postgres'} {params.dbname})"
        )
    if "role" in low and "does not exist" in low:
        return f"{where} has no user '{params.user}': check the user name in the URL (or PGUSER)"
    if "password authentication failed" in low or "no password supplied" in low or "authentication" in low:
        return (
            f"{where} refused user '{params.user}' for database '{params.dbname}': "
            f"check the user and password in the URL (or PGPASSWORD) ({text})"
        )
    if "pg_hba.conf" in low or "permission denied" in low:
        return f"{where} does not let user '{params.user}' connect to '{params.dbname}': check its access rules ({text})"
    return (
        f"cannot connect to {where} (database '{params.dbname}'): check that the server is running, "
        f"that host and port are right and reachable from here ({text})"
    )


def connect(params: PgParams, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A plain connection with a short timeout; failures become one StoreError line."""
    try:
        return psycopg.connect(
            **params.kwargs(),
            connect_timeout=CONNECT_TIMEOUT_S,
            autocommit=autocommit,
            application_name=APP_NAME,
        )
    except psycopg.Error as e:
        raise StoreError(describe_connect_error(params, e)) from None


def schema_exists(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT to_regclass('stored_events') IS NOT NULL AND to_regclass('stored_snapshots') IS NOT NULL "
        "AND to_regclass('event_index') IS NOT NULL AND to_regtype(%s) IS NOT NULL",
        (STORED_EVENT_TYPE,),
    ).fetchone()
    return bool(row and row[0])


def ensure_schema(conn: psycopg.Connection[Any]) -> None:
    """Create the ledger's tables once; concurrent first writers wait for each other.

    Leaves no transaction open on ``conn``.
    """
    exists = schema_exists(conn)
    conn.rollback()
    if exists:
        return
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        if conn.execute("SELECT to_regtype(%s)", (STORED_EVENT_TYPE,)).fetchone() == (None,):
            conn.execute(SCHEMA_TYPE_DDL)
        for statement in SCHEMA_DDL:
            conn.execute(statement)


class LedgerPostgresRecorder(HexIdsMixin, PostgresApplicationRecorder):
    """Events, their seals and index rows in one transaction, under the table lock."""

    insert_sql = (
        "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
        "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::bytea[]) "
        "RETURNING notification_id, originator_id, originator_version"
    )
    conflict_sql = (
        "SELECT 1 FROM stored_events WHERE (originator_id, originator_version) IN "
        "(SELECT * FROM unnest(%s::text[], %s::bigint[])) LIMIT 1"
    )
    index_sql = (
        "INSERT INTO event_index (seq, originator_id, originator_version, recorded_at, seal) "
        "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::text[], %s::bytea[])"
    )

    def create_table(self) -> None:
        """The factory has created the schema already (see ensure_schema)."""

    def lock_for_append(self, curs: Any) -> None:
        """Take the library's table lock (writers queue, seqs commit in order) and wake followers."""
        self._lock_table(curs)
        self._notify_channel(curs)

    # As the library's: a connection the server dropped is replaced and the insert retried.
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        tracking: Tracking | None = kwargs.get("tracking")
        if not stored_events and tracking is None:
            return []
        with writing(self.datastore) as curs:
            if tracking is not None:
                self._insert_tracking(curs, tracking)  # type: ignore[attr-defined]
            if not stored_events:
                return []
            self._lock_table(curs)
            self._notify_channel(curs)
            return insert_sealed(curs, stored_events)

    @contextlib.contextmanager
    def write_lock(self) -> Iterator[None]:
        """Hold the ledger's write lock (the events table's EXCLUSIVE lock, in one transaction)
        until the block ends; the recorders' writes in this thread join that transaction.
        Readers are not blocked."""
        held = _held(self.datastore)
        if getattr(held, "curs", None) is not None:
            yield
            return
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._lock_table(curs)
            held.curs = curs
            try:
                yield
            finally:
                held.curs = None

    def select_notifications(self, *args: Any, **kwargs: Any) -> Sequence[Notification]:
        return [
            Notification(
                id=n.id,
                originator_id=_id(n.originator_id),  # type: ignore[arg-type]
                originator_version=n.originator_version,
                topic=n.topic,
                state=n.state,
            )
            for n in super().select_notifications(*args, **kwargs)
        ]


class LedgerPostgresProcessRecorder(LedgerPostgresRecorder, PostgresProcessRecorder):
    """The library's process recorder on the ledger: events sealed and indexed, with their
    tracking row, in one transaction (the factory creates the tracking table)."""


def insert_sealed(curs: Any, stored_events: Sequence[StoredEvent]) -> list[int]:
    """Append events with their seals and index rows; the caller holds the table lock.

    A lost race is detected before the insert draws from the id sequence, so that seqs
    stay gapless, as in SQLite, and the same journey numbers its events the same way.
    """
    streams = [_hex(s.originator_id) for s in stored_events]
    versions = [s.originator_version for s in stored_events]
    curs.execute(LedgerPostgresRecorder.conflict_sql, (streams, versions))
    if curs.fetchone() is not None:
        raise IntegrityError("an event with this stream and version was recorded first")
    curs.execute(
        LedgerPostgresRecorder.insert_sql,
        (streams, versions, [s.topic for s in stored_events], [s.state for s in stored_events]),
    )
    seqs = {
        (row["originator_id"], row["originator_version"]): row["notification_id"] for row in curs.fetchall()
    }
    curs.execute("SELECT seal FROM event_index ORDER BY seq DESC LIMIT 1")
    row = curs.fetchone()
    previous = bytes(row["seal"]) if row else GENESIS
    rows = sorted(
        (seqs[(_hex(s.originator_id), s.originator_version)], _hex(s.originator_id), s) for s in stored_events
    )
    seals: list[bytes] = []
    for _, stream, s in rows:
        previous = seal(
            previous, stream, s.originator_version, s.topic, getattr(s, "recorded_at", ""), s.state
        )
        seals.append(previous)
    curs.execute(
        LedgerPostgresRecorder.index_sql,
        (
            [seq for seq, _, _ in rows],
            [stream for _, stream, _ in rows],
            [s.originator_version for _, _, s in rows],
            [getattr(s, "recorded_at", "") for _, _, s in rows],
            seals,
        ),
    )
    return [seqs[(_hex(s.originator_id), s.originator_version)] for s in stored_events]


class LedgerPostgresFactory(PostgresFactory):
    """The library's factory, on one database per ledger with the SQLite store's table names."""

    def __init__(self, env: Any) -> None:
        if not isinstance(env, Environment):
            env = Environment(APP_NAME, env)
        refuse_text_ids(env.get(self.ORIGINATOR_ID_TYPE) or "uuid")
        self.params = PgParams(
            host=env.get("POSTGRES_HOST") or "localhost",
            port=int(env.get("POSTGRES_PORT") or 5432),
            user=env.get("POSTGRES_USER") or "",
            password=env.get("POSTGRES_PASSWORD") or "",
            dbname=env.get("POSTGRES_DBNAME") or "",
        )
        # Connect once directly: a clear error now beats a pool timeout later.
        with contextlib.closing(connect(self.params)) as conn:
            ensure_schema(conn)
        super().__init__(env)
        self.datastore.originator_id_type = "text"  # how the tables keep ids (as 32 hex)
        _close_with_command(self)

    def application_recorder(self) -> ApplicationRecorder:
        return LedgerPostgresRecorder(self.datastore, events_table_name="stored_events")

    def aggregate_recorder(self, purpose: str = "events") -> AggregateRecorder:
        if purpose != "snapshots":
            raise OSError(
                f"aggregate_recorder('{purpose}') is not supported by the ledger: its events are "
                "written sealed by application_recorder(); aggregate_recorder('snapshots') keeps snapshots"
            )
        return LedgerSnapshotRecorder(self.datastore, events_table_name="stored_" + purpose)

    def process_recorder(self) -> ProcessRecorder:
        """A process recorder whose events are sealed (its tracking table created as the
        library's tracking recorder creates it)."""
        topic = self.env.get(self.PROCESS_RECORDER_TOPIC)
        cls = resolve_topic(topic) if topic else LedgerPostgresProcessRecorder
        if not (isinstance(cls, type) and issubclass(cls, LedgerPostgresProcessRecorder)):
            raise OSError(
                f"{self.PROCESS_RECORDER_TOPIC} '{topic}' would write unsealed events into the ledger: "
                f"use {LedgerPostgresProcessRecorder.__name__} or a subclass"
            )
        tracking = self.tracking_recorder(PostgresTrackingRecorder)
        return cls(
            self.datastore,
            events_table_name="stored_events",
            tracking_table_name=tracking.tracking_table_name,
        )


def pg_factory(env: Any) -> LedgerPostgresFactory:
    """The infrastructure factory of a Ledger on PostgreSQL (see bootstrap.open_ledger)."""
    return LedgerPostgresFactory(env)


def _close_with_command(factory: LedgerPostgresFactory) -> None:
    """Close the connection pool when the running CLI command ends (no leaked connections)."""
    try:
        # lazy: the adapters need click only inside a running CLI command
        import click
    except ImportError:  # pragma: no cover
        return
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.find_root().call_on_close(factory.close)


@contextlib.contextmanager
def datastore_cursor(datastore: PostgresDatastore) -> Iterator[Any]:
    """A cursor in one transaction of the ledger's pool (for maintenance commands)."""
    with datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
        yield curs
