"""Per-client keys: one random 256-bit AES-GCM key per client stream, kept apart from the events.

A store is encrypted or not from its creation (``coachledger init --encrypt`` writes
``encryption`` into the store's ``ledger_meta`` table). Keys live outside the event
store, so that destroying one key erases that client's event content while every
event, and every seal over the stored ciphertext, stays in place:

- SQLite: a separate SQLite file ``<store>.keys`` (0600), tied to its store by a random
  key-store id written in both files;
- PostgreSQL: a ``client_keys`` table in the same database.

Encrypted ledgers created since keyed stream ids (``ledger_meta``: ``stream_ids`` =
``keyed-v1``, see ``coachledger.ids``) keep the secret their clients' stream ids are derived
with beside the keys, in ``key_meta`` (``stream_secret``, hex): in the key file on SQLite, in
the database on PostgreSQL. Older encrypted ledgers have no such record and keep ``uuid5``.

A key is created with the client's first event. When a client is forgotten its key row
is deleted and the stream is listed in ``erased_streams``, so that no new key can ever
be made for it. The ``ClientForgotten`` event is stored in clear so that everyone can
still see that (and when) a client was erased.

The ciphers that use these keys are in ``ciphers``.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from coachledger.adapters.files import StoreError, connect, describe_sqlite_error, prepare_file
from coachledger.errors import ClientWasForgotten, DomainError
from coachledger.ids import KEYED_V1, SECRET_BYTES
from coachledger.settings import Settings, StoreLocation

ENCRYPTION = "aes-256-gcm per client"
KEY_FILE_SUFFIX = ".keys"
FORGOTTEN_TOPIC = "coachledger:ClientForgotten"
CLEAR_TOPICS = frozenset({FORGOTTEN_TOPIC})
FORMAT = b"\x01"
NONCE_BYTES = 12
STREAM_IDS = "stream_ids"  # ledger_meta: how the ledger derives stream ids (absent: uuid5)
STREAM_SECRET = "stream_secret"  # key_meta: the secret of keyed stream ids (hex)

META_TABLE = "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT)"
KEY_META_TABLE = "CREATE TABLE IF NOT EXISTS key_meta (key TEXT PRIMARY KEY, value TEXT)"
KEY_TABLES = (
    "CREATE TABLE IF NOT EXISTS client_keys (stream TEXT PRIMARY KEY, key {blob} NOT NULL, "
    "created_at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS erased_streams (stream TEXT PRIMARY KEY, erased_at TEXT NOT NULL)",
)

Decryptor = Callable[[str, str, bytes], bytes | None]


class KeyErased(ClientWasForgotten):
    """The client's key was destroyed: its events can no longer be read or extended."""

    def __init__(self, stream: str) -> None:
        super().__init__(
            f"this client was forgotten on request: its events can no longer be read or extended "
            f"(stream {stream})"
        )
        self.stream = stream


def key_file_of(path: Path) -> Path:
    """Where the keys of the SQLite store at ``path`` live."""
    return path.with_name(path.name + KEY_FILE_SUFFIX)


def stream_hex(originator_id: Any) -> str:
    """The stream id as stored: 32 lowercase hex digits."""
    if isinstance(originator_id, uuid.UUID):
        return originator_id.hex
    return str(originator_id).replace("-", "").lower()


def _now() -> str:
    return datetime.now(tz=UTC).isoformat(timespec="seconds")


# -- the store's own record of its encryption ------------------------------------------


def read_meta(store: StoreLocation) -> dict[str, str]:
    """The ``ledger_meta`` rows of a store ({} for a store not created yet)."""
    if store.kind == "postgres":
        with pg_connect(store) as conn:
            exists = conn.execute("SELECT to_regclass('ledger_meta')").fetchone()
            if exists is None or exists[0] is None:
                return {}
            return dict(conn.execute("SELECT key, value FROM ledger_meta").fetchall())
    assert store.path is not None
    if not store.path.exists() or store.path.stat().st_size == 0:
        return {}
    conn = connect(store.path)
    try:
        return dict(conn.execute("SELECT key, value FROM ledger_meta").fetchall())
    except sqlite3.OperationalError as e:
        if "no such table" in str(e):
            return {}
        raise StoreError(describe_sqlite_error(store.path, e)) from None
    except sqlite3.DatabaseError as e:
        raise StoreError(describe_sqlite_error(store.path, e)) from None
    finally:
        conn.close()


def is_encrypted(settings: Settings) -> bool:
    return read_meta(settings.store).get("encryption") == ENCRYPTION


def ensure_meta_table(store: StoreLocation) -> None:
    if store.kind == "postgres":
        with pg_connect(store) as conn:
            conn.execute(META_TABLE)
        return
    assert store.path is not None
    conn = connect(store.path, must_exist=False)
    try:
        conn.execute(META_TABLE)
    finally:
        conn.close()


def init_encryption(settings: Settings) -> None:
    """Mark an empty store encrypted and create its key store (idempotent once encrypted)."""
    store = settings.store
    if store.kind == "postgres":
        _init_encryption_pg(store)
        return
    assert store.path is not None
    conn = connect(store.path, must_exist=False)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(META_TABLE)
            meta = dict(conn.execute("SELECT key, value FROM ledger_meta").fetchall())
            if meta.get("encryption") != ENCRYPTION:
                has_events = (
                    conn.execute(
                        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='stored_events'"
                    ).fetchone()
                    and conn.execute("SELECT 1 FROM stored_events LIMIT 1").fetchone()
                )
                if has_events:
                    raise _refuse_encryption(store)
                keys = SqliteKeyStore.create(key_file_of(store.path), stream_secret=True)
                conn.executemany(
                    "INSERT OR REPLACE INTO ledger_meta VALUES (?,?)",
                    [("encryption", ENCRYPTION), ("key_store", keys.key_store_id), (STREAM_IDS, KEYED_V1)],
                )
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
    except sqlite3.DatabaseError as e:
        raise StoreError(describe_sqlite_error(store.path, e)) from None
    finally:
        conn.close()


def _init_encryption_pg(store: StoreLocation) -> None:
    with pg_connect(store) as conn, conn.transaction():
        conn.execute(META_TABLE)
        conn.execute("LOCK TABLE ledger_meta IN EXCLUSIVE MODE")
        meta = dict(conn.execute("SELECT key, value FROM ledger_meta").fetchall())
        if meta.get("encryption") == ENCRYPTION:
            return
        table = conn.execute("SELECT to_regclass('stored_events')").fetchone()[0]
        if table is not None and conn.execute("SELECT 1 FROM stored_events LIMIT 1").fetchone():
            raise _refuse_encryption(store)
        for ddl in (*KEY_TABLES, KEY_META_TABLE):
            conn.execute(ddl.format(blob="BYTEA"))
        conn.execute(
            "INSERT INTO key_meta VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
            (STREAM_SECRET, os.urandom(SECRET_BYTES).hex()),
        )
        for key, value in (("encryption", ENCRYPTION), (STREAM_IDS, KEYED_V1)):
            conn.execute(
                "INSERT INTO ledger_meta VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                (key, value),
            )


def _refuse_encryption(store: StoreLocation) -> Exception:
    return DomainError(
        f"the store at {store.describe()} already holds unencrypted events; encryption is chosen "
        "before the first client: create a new store with 'coachledger init --encrypt' and import "
        "an export of this one into it"
    )


def pg_connect(store: StoreLocation) -> Any:
    """An autocommit psycopg connection (psycopg is imported only for PostgreSQL stores)."""
    # lazy: psycopg only for PostgreSQL stores
    from coachledger.adapters.postgres import connect as connect_pg
    from coachledger.adapters.postgres import parse_url

    return connect_pg(parse_url(store.url), autocommit=True)


# -- key stores ---------------------------------------------------------------------------


class KeyStore(Protocol):
    def describe(self) -> str: ...

    def stream_secret(self) -> bytes | None: ...

    def get(self, stream: str) -> bytes | None: ...

    def get_or_create(self, stream: str) -> bytes: ...

    def destroy(self, stream: str) -> None: ...

    def close(self) -> None: ...


class SqliteKeyStore:
    """Keys in their own SQLite file beside the store (WAL, synchronous FULL, secure_delete)."""

    def __init__(self, path: Path, key_store_id: str | None) -> None:
        self.path = path
        self.key_store_id = key_store_id
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def create(cls, path: Path, *, stream_secret: bool = False) -> SqliteKeyStore:
        """Create the key file (or adopt an unused one left by an interrupted init), with a
        new secret for keyed stream ids when ``stream_secret`` (an unused one is kept).

        A key file that already holds keys belongs to another ledger: reusing it would tie
        this store to keys (and erasures) that are not its own, so it is refused.
        """
        prepare_file(path)
        conn = connect(path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(KEY_META_TABLE)
            for ddl in KEY_TABLES:
                conn.execute(ddl.format(blob="BLOB"))
            used = conn.execute(
                "SELECT 1 FROM client_keys UNION ALL SELECT 1 FROM erased_streams LIMIT 1"
            ).fetchone()
            if used:
                conn.rollback()
                raise DomainError(
                    f"a key store with keys already exists at {path} (left by another ledger?); "
                    "move it away before creating an encrypted store here"
                )
            conn.execute("INSERT OR IGNORE INTO key_meta VALUES ('key_store', ?)", (uuid.uuid4().hex,))
            if stream_secret:
                secret = os.urandom(SECRET_BYTES).hex()
                conn.execute("INSERT OR IGNORE INTO key_meta VALUES (?, ?)", (STREAM_SECRET, secret))
            row = conn.execute("SELECT value FROM key_meta WHERE key = 'key_store'").fetchone()
            conn.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise StoreError(describe_sqlite_error(path, e)) from None
        finally:
            conn.close()
        return cls(path, row[0])

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            if not self.path.exists():
                raise StoreError(
                    f"the key store {self.path} is missing: this ledger is encrypted and its events "
                    "cannot be read or written without it"
                )
            conn = connect(self.path)
            try:
                row = conn.execute("SELECT value FROM key_meta WHERE key = 'key_store'").fetchone()
            except sqlite3.DatabaseError as e:
                conn.close()
                raise StoreError(describe_sqlite_error(self.path, e)) from None
            if self.key_store_id is not None and (row is None or row[0] != self.key_store_id):
                conn.close()
                raise StoreError(f"the key store {self.path} belongs to another ledger")
            self._conn = conn
        return self._conn

    def describe(self) -> str:
        return f"the key store {self.path}"

    def stream_secret(self) -> bytes | None:
        with self._lock:
            try:
                found = self.conn.execute("SELECT value FROM key_meta WHERE key = ?", (STREAM_SECRET,))
                row = found.fetchone()
            except sqlite3.DatabaseError as e:
                raise StoreError(describe_sqlite_error(self.path, e)) from None
        return None if row is None else _secret(row[0], self.describe())

    def get(self, stream: str) -> bytes | None:
        with self._lock:
            row = self.conn.execute("SELECT key FROM client_keys WHERE stream = ?", (stream,)).fetchone()
        return None if row is None else bytes(row[0])

    def get_or_create(self, stream: str) -> bytes:
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT 1 FROM erased_streams WHERE stream = ?", (stream,)).fetchone():
                    raise KeyErased(stream)
                conn.execute(
                    "INSERT OR IGNORE INTO client_keys VALUES (?,?,?)", (stream, os.urandom(32), _now())
                )
                row = conn.execute("SELECT key FROM client_keys WHERE stream = ?", (stream,)).fetchone()
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
        return bytes(row[0])

    def destroy(self, stream: str) -> None:
        """Delete the key, then rewrite the file and empty its WAL so no copy survives on disk."""
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("DELETE FROM client_keys WHERE stream = ?", (stream,))
                conn.execute("INSERT OR IGNORE INTO erased_streams VALUES (?,?)", (stream, _now()))
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
            compact_sqlite(conn, self.path)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class PgKeyStore:
    """Keys in the ``client_keys`` table of the PostgreSQL database."""

    def __init__(self, store: StoreLocation) -> None:
        self.store = store
        self._conn: Any = None
        self._lock = threading.Lock()

    @classmethod
    def create(cls, store: StoreLocation) -> PgKeyStore:
        with pg_connect(store) as conn:
            for ddl in KEY_TABLES:
                conn.execute(ddl.format(blob="BYTEA"))
        return cls(store)

    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = pg_connect(self.store)
        return self._conn

    def describe(self) -> str:
        return f"the key tables of {self.store.describe()}"

    def stream_secret(self) -> bytes | None:
        # lazy: psycopg only for PostgreSQL stores
        from psycopg.errors import UndefinedTable

        with self._lock:
            try:
                row = self.conn.execute(
                    "SELECT value FROM key_meta WHERE key = %s", (STREAM_SECRET,)
                ).fetchone()
            except UndefinedTable:  # an encrypted ledger from before keyed stream ids
                return None
        return None if row is None else _secret(row[0], self.describe())

    def get(self, stream: str) -> bytes | None:
        with self._lock:
            row = self.conn.execute("SELECT key FROM client_keys WHERE stream = %s", (stream,)).fetchone()
        return None if row is None else bytes(row[0])

    def get_or_create(self, stream: str) -> bytes:
        with self._lock, self.conn.transaction():
            if self.conn.execute("SELECT 1 FROM erased_streams WHERE stream = %s", (stream,)).fetchone():
                raise KeyErased(stream)
            self.conn.execute(
                "INSERT INTO client_keys VALUES (%s,%s,%s) ON CONFLICT (stream) DO NOTHING",
                (stream, os.urandom(32), _now()),
            )
            row = self.conn.execute("SELECT key FROM client_keys WHERE stream = %s", (stream,)).fetchone()
        return bytes(row[0])

    def destroy(self, stream: str) -> None:
        """Delete the key and rewrite the table (VACUUM FULL leaves no dead tuple behind)."""
        with self._lock:
            with self.conn.transaction():
                self.conn.execute("DELETE FROM client_keys WHERE stream = %s", (stream,))
                self.conn.execute(
                    "INSERT INTO erased_streams VALUES (%s,%s) ON CONFLICT (stream) DO NOTHING",
                    (stream, _now()),
                )
            self.conn.execute("VACUUM FULL client_keys")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _secret(value: Any, where: str) -> bytes:
    try:
        secret = bytes.fromhex(value)
    except (TypeError, ValueError):
        secret = b""
    if len(secret) < 16:
        raise StoreError(f"{where}: its stream-id secret is damaged (restore the key store from a backup)")
    return secret


def compact_sqlite(conn: sqlite3.Connection, path: Path) -> bool:
    """VACUUM (every page rewritten, free pages dropped) and truncate the WAL; False if busy."""
    try:
        conn.execute("PRAGMA secure_delete=ON")
        conn.execute("VACUUM")
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise StoreError(describe_sqlite_error(path, e)) from None
    return not busy


def open_key_store(settings: Settings, meta: dict[str, str] | None = None) -> KeyStore:
    """The key store of an encrypted store (it must exist already)."""
    store = settings.store
    if store.kind == "postgres":
        return PgKeyStore(store)
    assert store.path is not None
    if meta is None:
        meta = read_meta(store)
    return SqliteKeyStore(key_file_of(store.path), meta.get("key_store"))


def create_key_store(settings: Settings) -> tuple[KeyStore, str | None]:
    """Create the key store for ``init --encrypt``; returns it and its id (SQLite)."""
    store = settings.store
    if store.kind == "postgres":
        return PgKeyStore.create(store), None
    assert store.path is not None
    keys = SqliteKeyStore.create(key_file_of(store.path))
    return keys, keys.key_store_id
