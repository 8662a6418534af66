"""Files on disk: opening the SQLite store file, and the one writer of every other file.

Stdlib only, so that reads stay fast. Durable settings on every store connection: WAL,
synchronous FULL, a busy timeout so that concurrent processes queue instead of failing,
and secure_delete so that erased data is overwritten rather than left in free pages.

Every other file the tool writes (a report, an anchor, an export) goes through
``replacing``/``write_private``: owner-only, whole or not at all, never through a link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

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
    """Create the folder and an empty store file readable by its owner only (an existing file is
    left alone, never opened: closing any descriptor of a SQLite file drops every POSIX lock the
    process holds on it, its open connections' included, and then another process's last close
    would delete the write-ahead log under them)."""
    if path.exists():
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        os.close(fd)
    except FileExistsError:  # another process made it meanwhile
        return
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


# -- the one writer of output files -------------------------------------------------------------


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Write ``path`` whole or not at all, readable and writable by its owner only (0600).

    The bytes go to a new temporary file beside the target: ``mkstemp`` in the target's
    folder creates it with a random name, exclusively (``O_CREAT | O_EXCL``, so it never
    opens an existing name or follows a link planted there) and 0600 whatever the umask.
    When the block ends, the file is flushed and fsynced, renamed over ``path`` with
    ``os.replace`` (atomic on one file system) and the folder is fsynced, so that the new
    file is on disk before this returns. If the block or any step fails (an exception,
    KeyboardInterrupt included), the temporary file is removed and ``path`` is left as it
    was; a process killed outright leaves the old ``path`` intact, and at most a
    ``.NAME.*.tmp`` file beside it.

    Symbolic links: the target is never opened, so nothing is written through it. A link
    at ``path`` is itself replaced by the new regular file and the file it pointed to is
    left untouched. That is deliberate and the safe behaviour: a link planted at an
    output path must not make the tool overwrite some other file its user may write.
    (Links in the folders of ``path`` are the user's own path and are followed.)
    """
    target = Path(path)
    folder = target.parent
    # The random part and the suffix must fit in one file name (255 bytes on most systems).
    import tempfile  # lazy: only writers need it (6 ms with shutil, bz2, lzma and random), reads do not

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:200]}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as sink:
            os.fchmod(sink.fileno(), 0o600)
            yield sink
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_folder(folder)


def write_private(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through ``replacing``: 0600, whole or not at all."""
    with replacing(path) as sink:
        sink.write(data.encode("utf-8") if isinstance(data, str) else data)


def _sync_folder(folder: Path) -> None:
    """Make the rename durable; a folder that cannot be opened or synced (some file systems,
    a folder without read permission) keeps the file, only without that last guarantee."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)
