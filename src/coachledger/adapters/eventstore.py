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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from coachledger.adapters.event_tables import (
    Appender,
    ChainRow,
    CheckCopy,
    DamagedRows,
    EventRow,
    LedgerRows,
    Refuse,
    Row,
    SealRow,
)
from coachledger.adapters.files import prepare_file

if TYPE_CHECKING:
    from coachledger.adapters.codec import LedgerStoredEvent
    from coachledger.adapters.snapshots import BadSnapshot
    from coachledger.settings import StoreLocation

__all__ = [
    "Appender",
    "ChainRow",
    "DamagedRows",
    "EventRow",
    "EventStore",
    "EventTransaction",
    "LedgerRows",
    "Row",
    "SealRow",
    "new_store_file",
    "open_event_store",
    "remove_new_store_file",
]


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

    def sealed_tables(self) -> tuple[bool, bool]:
        """Whether the events table exists, and whether the index (with the seals) does."""

    def chain_rows(self) -> Iterator[ChainRow]:
        """Every event joined with its index row, in seq order (may raise DamagedRows)."""

    def index_count(self) -> int: ...

    def first_missing(self, before: int | None) -> tuple[int, str] | None:
        """The first index row (below ``before``) whose event is gone: (seq, stream)."""

    def slug_of(self, stream: str) -> str | None:
        """The client's slug as the read side's ``clients`` view has it, if built."""

    def damage(self) -> list[str]:
        """What the database's own check finds wrong with the store's pages (SQLite's quick_check)."""

    def bad_snapshots(self) -> list[BadSnapshot]:
        """The snapshots whose seals do not hold against the chain (see ``snapshots``)."""


class EventStore(Protocol):
    """One ledger's store, opened: transactions one after another, and whole-ledger copies."""

    contiguous: bool  # whether seqs never skip (a hole then means a deleted event)
    empty: bool  # the store does not exist yet (reads as holding nothing)

    def transaction(self, *, write: bool) -> contextlib.AbstractContextManager[EventTransaction]: ...

    def read_ledger(self) -> LedgerRows:
        """Every row of the ledger (but its views), from one consistent snapshot."""

    def write_ledger(self, rows: LedgerRows, *, refuse: Refuse, check: CheckCopy) -> None:
        """Write a whole ledger into this empty store in one transaction, checked before commit."""

    def forget_snapshots(self, stream: str, *, encrypted: bool, scrub: Sequence[str] = ()) -> list[str]:
        """Drop a stream's snapshots and rewrite the store (and the tables in ``scrub``, whose deleted
        rows must not survive in its files); warnings about what may survive."""

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
        # lazy: psycopg only for PostgreSQL stores
        from coachledger.adapters.pg_events import PgEventStore

        return PgEventStore(store, create=create, strict=strict)
    # lazy: PostgreSQL stores never load the SQLite store
    from coachledger.adapters.sqlite_events import SqliteEventStore

    assert store.path is not None
    return SqliteEventStore(store.path, create=create, strict=strict)


def ledger_infrastructure(store: StoreLocation) -> tuple[dict[str, str], Any]:
    """The write side's library settings and infrastructure factory for ``store``.

    On SQLite the store's file is created first (owner-only); on PostgreSQL, psycopg
    and the library's PostgreSQL module are imported only here.
    """
    if store.kind == "postgres":
        # lazy: psycopg only for PostgreSQL stores
        from coachledger.adapters.postgres import ledger_env, pg_factory

        return ledger_env(store), pg_factory
    # lazy: the library's SQLite module only for a SQLite write side
    from coachledger.adapters.sqlite import LedgerSQLiteFactory

    assert store.path is not None
    prepare_file(store.path)
    return {"SQLITE_DBNAME": str(store.path), "CREATE_TABLE": "y"}, LedgerSQLiteFactory


def new_store_file(store: StoreLocation) -> Path | None:
    """The store's file when it does not exist yet (a write would create it); None on PostgreSQL."""
    path = store.path
    return path if path is not None and not path.exists() else None


def remove_new_store_file(path: Path) -> None:
    """Remove a store file a refused write created, unless it holds events (another process's)."""
    # lazy: only after a refused write
    from coachledger.adapters.sqlite_events import remove_unless_events

    remove_unless_events(path)
