"""Opening the SQLite store file: stdlib only, so that reads stay fast.

Durable settings on every connection: WAL, synchronous FULL, a busy timeout so that
concurrent processes queue instead of failing, and secure_delete so that erased data
is overwritten rather than left in free pages.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

BUSY_TIMEOUT_MS = 60_000
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}",
    "PRAGMA secure_delete=ON",
    "PRAGMA foreign_keys=ON",
)

INDEX_TABLE = (
    "CREATE TABLE IF NOT EXISTS event_index ("
    "seq INTEGER PRIMARY KEY, "
    "originator_id TEXT NOT NULL, "
    "originator_version INTEGER NOT NULL, "
    "recorded_at TEXT NOT NULL, "
    "seal BLOB NOT NULL)"
)
INDEX_BY_TIME = (
    "CREATE INDEX IF NOT EXISTS event_index_by_time ON event_index (originator_id, recorded_at, seq)"
)


class StoreError(Exception):
    """The store cannot be opened or used (missing, unreadable, locked, corrupt)."""


def prepare_file(path: Path) -> None:
    """Create the folder and an empty store file readable by its owner only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
    except OSError as e:
        raise StoreError(f"cannot create the store at {path}: {e.strerror}") from None


def connect(path: Path, *, must_exist: bool = True) -> sqlite3.Connection:
    """A plain connection with the store's pragmas, for the read side and maintenance."""
    if must_exist and not path.exists():
        raise StoreError(f"no ledger at {path} (record something first, or run 'coachledger init')")
    if not must_exist:
        prepare_file(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
        for pragma in PRAGMAS:
            conn.execute(pragma)
    except sqlite3.DatabaseError as e:
        raise StoreError(describe_sqlite_error(path, e)) from None
    return conn


def describe_sqlite_error(path: Path | str, e: BaseException) -> str:
    text = str(e)
    if "not a database" in text or "malformed" in text:
        return f"the store at {path} is not a coachledger SQLite file or is damaged ({text})"
    if "locked" in text or "busy" in text:
        return f"the store at {path} is locked by another process; try again"
    if "unable to open" in text or "readonly" in text or "permission" in text.lower():
        return f"cannot open the store at {path}: check that it exists and you may read and write it ({text})"
    return f"store error at {path}: {text}"


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction that takes the write lock at once and commits durably."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.rollback()
        raise
    conn.commit()
