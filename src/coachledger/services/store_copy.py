"""Moving a whole ledger between stores (SQLite <-> PostgreSQL), row for row.

Every stored event keeps its seq, stream id, version, topic and stored bytes, so its
recorded time, actor and seal come along unchanged; the event index (recorded times and
seals) and snapshots are copied as they are, with the store's encryption settings and
client keys when it is encrypted. The copy is one transaction on the target, which:

1. refuses a target that already holds anything of a ledger (nothing is written);
2. inserts every row, then reads the target back and compares it with the source;
3. recomputes the seal chain over the target's stored bytes and compares each seal,
   and the head, with the copied ones — a damaged source is refused, not copied.

Views are not copied: they are derived, and the target builds them on its first read.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coachledger.adapters.files import StoreError, connect, describe_sqlite_error
from coachledger.adapters.sealing import GENESIS, seal
from coachledger.errors import DomainError
from coachledger.settings import Settings, StoreLocation

Row = tuple[Any, ...]
META_DDL = "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT)"
# ledger_meta keys that belong to one store, not to the ledger (the SQLite key file's id).
LOCAL_META = frozenset({"key_store"})


class CopyRefused(DomainError):
    """The copy was refused; the target is unchanged."""


@dataclass
class LedgerRows:
    """Everything of a ledger except its views, in a canonical order and plain types."""

    events: list[Row] = field(default_factory=list)  # seq, stream, version, topic, state
    index: list[Row] = field(default_factory=list)  # seq, stream, version, recorded_at, seal
    snapshots: list[Row] = field(default_factory=list)  # stream, version, topic, state
    meta: list[Row] = field(default_factory=list)  # key, value (store-local keys left out)
    keys: list[Row] = field(default_factory=list)  # stream, key, created_at
    erased: list[Row] = field(default_factory=list)  # stream, erased_at

    @property
    def encrypted(self) -> bool:
        return any(key == "encryption" for key, _ in self.meta)

    @property
    def head(self) -> bytes:
        return self.index[-1][4] if self.index else GENESIS

    @property
    def clients(self) -> int:
        return len({stream for _, stream, *_ in self.events})


@dataclass(frozen=True)
class CopyResult:
    events: int
    clients: int
    snapshots: int
    keys: int
    head: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "clients": self.clients,
            "snapshots": self.snapshots,
            "keys": self.keys,
            "head": self.head,
        }


def _plain(row: Row) -> Row:
    return tuple(bytes(v) if isinstance(v, memoryview | bytearray) else v for v in row)


def _rows(cursor: Any) -> list[Row]:
    return [_plain(tuple(r)) for r in cursor.fetchall()]


# -- reading ------------------------------------------------------------------------------

EVENTS_SQL = "SELECT {seq}, originator_id, originator_version, topic, state FROM stored_events ORDER BY {seq}"
INDEX_SQL = "SELECT seq, originator_id, originator_version, recorded_at, seal FROM event_index ORDER BY seq"
SNAPSHOTS_SQL = (
    "SELECT originator_id, originator_version, topic, state FROM stored_snapshots "
    "ORDER BY originator_id, originator_version"
)
META_SQL = "SELECT key, value FROM ledger_meta ORDER BY key"
KEYS_SQL = "SELECT stream, key, created_at FROM client_keys ORDER BY stream"
ERASED_SQL = "SELECT stream, erased_at FROM erased_streams ORDER BY stream"


def read_ledger(store: StoreLocation) -> LedgerRows:
    """Every row of the ledger at ``store``, from one consistent snapshot of it."""
    if store.kind == "postgres":
        return _read_pg(store)
    assert store.path is not None
    return _read_sqlite(store.path)


def _sqlite_tables(conn: sqlite3.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _read_tables(conn: Any, tables: set[str], seq: str) -> LedgerRows:
    """The ledger's own tables, as far as ``tables`` says they exist (same SQL on both stores)."""
    rows = LedgerRows()
    if "stored_events" in tables:
        rows.events = _rows(conn.execute(EVENTS_SQL.format(seq=seq)))
    if "event_index" in tables:
        rows.index = _rows(conn.execute(INDEX_SQL))
    if "stored_snapshots" in tables:
        rows.snapshots = _rows(conn.execute(SNAPSHOTS_SQL))
    if "ledger_meta" in tables:
        rows.meta = [r for r in _rows(conn.execute(META_SQL)) if r[0] not in LOCAL_META]
    return rows


def _read_sqlite(path: Path) -> LedgerRows:
    conn = connect(path)
    try:
        conn.execute("BEGIN")
        rows = _read_tables(conn, _sqlite_tables(conn), "rowid")
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as e:
        raise StoreError(describe_sqlite_error(path, e)) from None
    finally:
        conn.close()
    if rows.encrypted:
        from coachledger.adapters.keys import key_file_of

        key_file = key_file_of(path)
        if not key_file.exists():
            raise StoreError(f"the key store {key_file} of this encrypted ledger is missing")
        keys = connect(key_file)
        try:
            rows.keys = _rows(keys.execute(KEYS_SQL))
            rows.erased = _rows(keys.execute(ERASED_SQL))
        except sqlite3.DatabaseError as e:
            raise StoreError(describe_sqlite_error(key_file, e)) from None
        finally:
            keys.close()
    return rows


def _pg_tables(conn: Any) -> set[str]:
    names = (
        "stored_events",
        "event_index",
        "stored_snapshots",
        "ledger_meta",
        "client_keys",
        "erased_streams",
    )
    found = conn.execute(
        "SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NOT NULL", (list(names),)
    )
    return {name for (name,) in found.fetchall()}


def _read_pg(store: StoreLocation) -> LedgerRows:
    from coachledger.adapters.postgres import connect as pg_connect
    from coachledger.adapters.postgres import parse_url

    with contextlib.closing(pg_connect(parse_url(store.url))) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        tables = _pg_tables(conn)
        rows = _read_tables(conn, tables, "notification_id")
        if rows.encrypted and "client_keys" in tables:
            rows.keys = _rows(conn.execute(KEYS_SQL))
        if rows.encrypted and "erased_streams" in tables:
            rows.erased = _rows(conn.execute(ERASED_SQL))
        conn.rollback()
    return rows


# -- the target -----------------------------------------------------------------------------


def _holdings(tables: set[str], count: Any) -> list[str]:
    """What a target already holds of a ledger (empty: the target may be written)."""
    held = []
    for table, what in (
        ("stored_events", "events"),
        ("event_index", "index rows"),
        ("stored_snapshots", "snapshots"),
        ("client_keys", "client keys"),
        ("erased_streams", "erased clients"),
    ):
        if table in tables and (n := count(f"SELECT count(*) FROM {table}")):
            held.append(f"{n} {what}")
    if "view_tracking" in tables and count("SELECT count(*) FROM view_tracking WHERE position > 0"):
        held.append("built views")
    return held


def _counter(conn: Any) -> Callable[[str], int]:
    def count(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    return count


def _refuse_non_empty(target: StoreLocation, held: list[str]) -> None:
    if held:
        raise CopyRefused(
            f"the target {target.describe()} is not empty ({', '.join(held)}); "
            "store copy writes only into a new or empty store"
        )


def check_chain(events: list[Row], index: list[Row], where: str) -> bytes:
    """Recompute the seal chain over stored bytes and compare every seal; returns the head."""
    if len(index) != len(events):
        raise CopyRefused(f"{where} has {len(index)} index rows for {len(events)} events; nothing was copied")
    previous = GENESIS
    for (seq, stream, version, topic, state), entry in zip(events, index, strict=True):
        if entry[:3] != (seq, stream, version):
            raise CopyRefused(f"event {seq} of stream {stream} has no matching index row in {where}")
        if not isinstance(state, bytes) or not isinstance(entry[4], bytes):
            raise CopyRefused(
                f"event {seq} of stream {stream} is not stored as bytes in {where}: it is damaged"
            )
        previous = seal(previous, stream, version, topic, entry[3], state)
        if previous != entry[4]:
            raise CopyRefused(
                f"the seal chain of {where} does not verify at seq {seq} (stream {stream}, version "
                f"{version}); nothing was copied (run 'coachledger verify' on it)"
            )
    return previous


def _verify(rows: LedgerRows, events: list[Row], index: list[Row], snapshots: list[Row]) -> None:
    """The target, read back, is the source row for row, and its own seal chain verifies."""
    for what, source, copied in (
        ("events", rows.events, events),
        ("index rows", rows.index, index),
        ("snapshots", rows.snapshots, snapshots),
    ):
        if source != copied:
            raise StoreError(
                f"the copy does not match the source ({len(copied)} {what} read back, "
                f"{len(source)} expected); nothing was copied"
            )
    if check_chain(events, index, "the copy") != rows.head:
        raise StoreError("the head seal of the copy differs from the source; nothing was copied")


def _create_schema(target: StoreLocation) -> None:
    """The ledger's tables, created the way every write creates them."""
    from coachledger.services.bootstrap import open_ledger

    ledger = open_ledger(Settings(target, "store-copy"))
    ledger.close()


def _write_sqlite(target: StoreLocation, rows: LedgerRows) -> None:
    path = target.path
    assert path is not None
    created: list[Path] = []
    if not path.exists():
        created.append(path)
    if path.exists() and path.stat().st_size > 0:
        conn = connect(path)
        try:
            tables = _sqlite_tables(conn)
            _refuse_non_empty(target, _holdings(tables, _counter(conn)))
        except sqlite3.DatabaseError as e:
            raise StoreError(describe_sqlite_error(path, e)) from None
        finally:
            conn.close()
    try:
        key_store_id = _sqlite_keys(target, rows, created)
        _create_schema(target)
        conn = connect(path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                _refuse_non_empty(target, _holdings(_sqlite_tables(conn), _counter(conn)))
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
                _verify(
                    rows,
                    _rows(conn.execute(EVENTS_SQL.format(seq="rowid"))),
                    _rows(conn.execute(INDEX_SQL)),
                    _rows(conn.execute(SNAPSHOTS_SQL)),
                )
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        except sqlite3.DatabaseError as e:
            raise StoreError(describe_sqlite_error(path, e)) from None
        finally:
            conn.close()
    except BaseException:
        for made in created:  # a failed copy leaves no new files behind
            for leftover in (made, made.with_name(made.name + "-wal"), made.with_name(made.name + "-shm")):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        raise


def _sqlite_keys(target: StoreLocation, rows: LedgerRows, created: list[Path]) -> str | None:
    """The target's key file, holding the source's client keys (encrypted ledgers only)."""
    if not rows.encrypted:
        return None
    from coachledger.adapters.keys import SqliteKeyStore, key_file_of

    assert target.path is not None
    key_file = key_file_of(target.path)
    if not key_file.exists():
        created.append(key_file)
    keys = SqliteKeyStore.create(key_file)  # refuses a key file that holds keys already
    conn = connect(key_file)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO client_keys VALUES (?,?,?)", rows.keys)
        conn.executemany("INSERT INTO erased_streams VALUES (?,?)", rows.erased)
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as e:
        raise StoreError(describe_sqlite_error(key_file, e)) from None
    finally:
        conn.close()
    return keys.key_store_id


def _write_pg(target: StoreLocation, rows: LedgerRows) -> None:
    from coachledger.adapters.postgres import connect as pg_connect
    from coachledger.adapters.postgres import ensure_schema, parse_url

    def tables(conn: Any) -> set[str]:
        found = _pg_tables(conn)
        if conn.execute("SELECT to_regclass('view_tracking')").fetchone()[0] is not None:
            found.add("view_tracking")
        return found

    with contextlib.closing(pg_connect(parse_url(target.url))) as conn:
        _refuse_non_empty(target, _holdings(tables(conn), _counter(conn)))
        conn.rollback()
        ensure_schema(conn)
        with conn.transaction():
            conn.execute("LOCK TABLE stored_events IN EXCLUSIVE MODE")  # writers wait for the copy
            _refuse_non_empty(target, _holdings(tables(conn), _counter(conn)))
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
                    from coachledger.adapters.keys import KEY_TABLES

                    for ddl in KEY_TABLES:
                        cur.execute(ddl.format(blob="BYTEA"))
                    _copy_in(cur, "client_keys (stream, key, created_at)", rows.keys)
                    _copy_in(cur, "erased_streams (stream, erased_at)", rows.erased)
                _verify(
                    rows,
                    _rows(cur.execute(EVENTS_SQL.format(seq="notification_id"))),
                    _rows(cur.execute(INDEX_SQL)),
                    _rows(cur.execute(SNAPSHOTS_SQL)),
                )


def _copy_in(cur: Any, table: str, rows: list[Row]) -> None:
    if rows:
        with cur.copy(f"COPY {table} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


# -- the command ------------------------------------------------------------------------------


def copy_ledger(source: StoreLocation, target: StoreLocation) -> CopyResult:
    """Copy the ledger at ``source`` into the empty store ``target``, verified; see the module."""
    if source.describe() == target.describe():
        raise CopyRefused(f"source and target are the same store ({source.describe()})")
    if source.kind == "sqlite" and source.path is not None and not source.path.exists():
        raise StoreError(f"no ledger at {source.path}")
    rows = read_ledger(source)
    check_chain(rows.events, rows.index, "the source")  # a damaged ledger is not copied anywhere
    if target.kind == "postgres":
        _write_pg(target, rows)
    else:
        _write_sqlite(target, rows)
    return CopyResult(
        events=len(rows.events),
        clients=rows.clients,
        snapshots=len(rows.snapshots),
        keys=len(rows.keys),
        head=rows.head.hex(),
    )
