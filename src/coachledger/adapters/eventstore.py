"""The event store: one interface over the ledger's tables, on SQLite or PostgreSQL.

Everything that reads or writes the ledger's own tables outside the write side's
recorders does it through an ``EventStore``: export and import (``transfer``), the store
copy, and verify/anchor/forget (``trust``). A store is opened with ``open_event_store``;
each implementation keeps its SQL to itself (``sqlite_events``, ``pg_events``), and the
PostgreSQL one, with psycopg, is imported only when the store is PostgreSQL.

A store gives one transaction at a time (``transaction``): a snapshot to read, or an
append under the write lock. The hot paths stay what they are in each store: one
``executemany`` or multi-row insert per batch on SQLite, ``unnest``/``COPY`` on PostgreSQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from coachledger.adapters.sealing import GENESIS

if TYPE_CHECKING:
    from coachledger.adapters.codec import LedgerStoredEvent
    from coachledger.settings import StoreLocation

EventRow = tuple[int, str, int, str, bytes]
"""A stored event: (seq, stream id as 32 hex, version, topic, stored state)."""
ChainRow = tuple[int, str, int, str, bytes, str | None, int | None, str | None, bytes | None]
"""An event with its index row: (seq, stream, version, topic, state, index stream, index version,
recorded_at, seal); the index fields are None when the event has no index row."""
SealRow = tuple[str, int, str, bytes, str]
"""An event to append: (stream id as 32 hex, version, topic, stored state, recorded_at text)."""
Row = tuple[Any, ...]

# How a store copy reads the ledger's tables (the same SQL on both stores but for the seq column).
EVENTS_SQL = "SELECT {seq}, originator_id, originator_version, topic, state FROM stored_events ORDER BY {seq}"
INDEX_SQL = "SELECT seq, originator_id, originator_version, recorded_at, seal FROM event_index ORDER BY seq"
SNAPSHOTS_SQL = (
    "SELECT originator_id, originator_version, topic, state FROM stored_snapshots "
    "ORDER BY originator_id, originator_version"
)
META_SQL = "SELECT key, value FROM ledger_meta ORDER BY key"
KEYS_SQL = "SELECT stream, key, created_at FROM client_keys ORDER BY stream"
ERASED_SQL = "SELECT stream, erased_at FROM erased_streams ORDER BY stream"
META_DDL = "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT)"
# ledger_meta keys that belong to one store, not to the ledger (the SQLite key file's id).
LOCAL_META = frozenset({"key_store"})
HELD = (
    ("stored_events", "events"),
    ("event_index", "index rows"),
    ("stored_snapshots", "snapshots"),
    ("client_keys", "client keys"),
    ("erased_streams", "erased clients"),
)


class DamagedRows(Exception):
    """The store's file is damaged where its rows are read (raised while iterating them)."""


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


def plain_rows(rows: Any) -> list[Row]:
    """Rows as tuples of plain values (bytes, not memoryview)."""
    return [tuple(bytes(v) if isinstance(v, memoryview | bytearray) else v for v in r) for r in rows]


def holdings(tables: set[str], count: Callable[[str], int]) -> list[str]:
    """What a store already holds of a ledger (empty: a copy may be written into it)."""
    held = []
    for table, what in HELD:
        if table in tables and (n := count(f"SELECT count(*) FROM {table}")):
            held.append(f"{n} {what}")
    if "view_tracking" in tables and count("SELECT count(*) FROM view_tracking WHERE position > 0"):
        held.append("built views")
    return held


Refuse = Callable[[list[str]], None]
"""Raises when a copy's target holds something already (given what it holds)."""
CheckCopy = Callable[[list[Row], list[Row], list[Row]], None]
"""Raises when a copy's events, index rows and snapshots, read back, are not the source's."""


class Appender(Protocol):
    """Appends rows ``(stream, version, topic, state, recorded_at)`` in order, sealed and indexed."""

    def add(self, rows: Sequence[SealRow]) -> None: ...

    def finish(self) -> None:
        """Returns when everything added is in the store (within the transaction)."""


class EventTransaction(Protocol):
    """One transaction on the ledger's tables: a consistent snapshot, and the write lock to append."""

    def rows(self) -> Iterator[EventRow]:
        """Every stored event in recording order."""

    def count(self) -> int: ...

    def stream_events(self, stream: str) -> list[tuple[int, str, bytes]]:
        """(version, topic, state) of one stream, in version order."""

    def first_events(self) -> list[tuple[str, str, bytes]]:
        """(stream, topic, state) of every stream's first event."""

    def is_empty(self) -> bool:
        """Whether the store holds no event at all."""

    def append(self, events: Sequence[LedgerStoredEvent]) -> None:
        """Append events, sealed and indexed (a write transaction only)."""

    def bulk(self, new_events: int) -> contextlib.AbstractContextManager[None]:
        """Around appending ``new_events`` in this transaction (a chance to defer index upkeep)."""

    def appending(self, new_events: int) -> contextlib.AbstractContextManager[Appender]:
        """An appender for about ``new_events`` events in this transaction (finished on leaving)."""

    # -- the seal chain (verify) --

    def has_table(self, name: str) -> bool: ...

    def chain_rows(self) -> Iterator[ChainRow]:
        """Every event joined with its index row, in seq order (may raise DamagedRows)."""

    def index_count(self) -> int: ...

    def first_missing(self, before: int | None) -> tuple[int, str] | None:
        """The first index row (below ``before``) whose event is gone: (seq, stream)."""

    def slug_of(self, stream: str) -> str | None:
        """The client's slug as the read side's ``clients`` view has it, if built."""


class EventStore(Protocol):
    """One ledger's store, opened: transactions one after another, and whole-ledger copies."""

    contiguous: bool  # whether seqs never skip (a hole then means a deleted event)
    empty: bool  # the store does not exist yet (reads as holding nothing)

    def transaction(self, *, write: bool) -> contextlib.AbstractContextManager[EventTransaction]: ...

    def read_ledger(self) -> LedgerRows:
        """Every row of the ledger (but its views), from one consistent snapshot."""

    def write_ledger(self, rows: LedgerRows, *, refuse: Refuse, check: CheckCopy) -> None:
        """Write a whole ledger into this empty store in one transaction, checked before commit."""

    def forget_snapshots(self, stream: str, *, encrypted: bool) -> list[str]:
        """Drop a stream's snapshots and rewrite the store; warnings about what may survive."""

    def close(self) -> None: ...

    def __enter__(self) -> EventStore: ...

    def __exit__(self, *exc: object) -> None: ...


def open_event_store(store: StoreLocation, *, create: bool = False, strict: bool = False) -> EventStore:
    """The event store at ``store``.

    ``create`` makes the ledger's tables first (a write). Otherwise nothing is created: a
    store that does not exist yet reads as empty, unless ``strict``, which refuses it
    (StoreError) and reports the store's errors as StoreErrors naming it.
    """
    if store.kind == "postgres":
        from coachledger.adapters.pg_events import PgEventStore

        return PgEventStore(store, create=create, strict=strict)
    from coachledger.adapters.sqlite_events import SqliteEventStore

    assert store.path is not None
    return SqliteEventStore(store.path, create=create, strict=strict)


def new_store_file(store: StoreLocation) -> Path | None:
    """The store's file when it does not exist yet (a write would create it); None on PostgreSQL."""
    path = store.path
    return path if path is not None and not path.exists() else None


def remove_new_store_file(path: Path) -> None:
    """Remove a store file a refused write created, unless it holds events (another process's)."""
    from coachledger.adapters.sqlite_events import remove_unless_events

    remove_unless_events(path)


class EmptyTransaction:
    """A store that does not exist yet: nothing in it."""

    def rows(self) -> Iterator[EventRow]:
        return iter(())

    def count(self) -> int:
        return 0

    def stream_events(self, stream: str) -> list[tuple[int, str, bytes]]:
        return []

    def first_events(self) -> list[tuple[str, str, bytes]]:
        return []

    def is_empty(self) -> bool:
        return True

    def append(self, events: Sequence[LedgerStoredEvent]) -> None:
        raise RuntimeError("open the store with create=True to write")  # a programming error

    @contextlib.contextmanager
    def bulk(self, new_events: int) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def appending(self, new_events: int) -> Iterator[Appender]:
        raise RuntimeError("open the store with create=True to write")
        yield  # pragma: no cover

    def has_table(self, name: str) -> bool:
        return False

    def chain_rows(self) -> Iterator[ChainRow]:
        return iter(())

    def index_count(self) -> int:
        return 0

    def first_missing(self, before: int | None) -> tuple[int, str] | None:
        return None

    def slug_of(self, stream: str) -> str | None:
        return None


class EventAppender:
    """Appends through ``EventTransaction.append``, as stored events."""

    def __init__(self, tx: EventTransaction) -> None:
        self.tx = tx

    def add(self, rows: Sequence[SealRow]) -> None:
        from coachledger.adapters.codec import LedgerStoredEvent

        self.tx.append(
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
