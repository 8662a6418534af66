"""The ledger's tables as both event stores read and write them (see ``eventstore``).

Row shapes, the SQL a store copy runs on either store, and the parts the SQLite and
PostgreSQL stores share. Standard library only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from coachledger.adapters.sealing import GENESIS

if TYPE_CHECKING:
    from coachledger.adapters.codec import LedgerStoredEvent

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
KEY_META_SQL = "SELECT key, value FROM key_meta WHERE key <> 'key_store' ORDER BY key"
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
    key_meta: list[Row] = field(default_factory=list)  # key, value: the stream-id secret (keyed ids)

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

    def sealed_tables(self) -> tuple[bool, bool]:
        return False, False

    def chain_rows(self) -> Iterator[ChainRow]:
        return iter(())

    def index_count(self) -> int:
        return 0

    def damage(self) -> list[str]:
        return []

    def bad_snapshots(self) -> list[Any]:
        return []

    def first_missing(self, before: int | None) -> tuple[int, str] | None:
        return None

    def slug_of(self, stream: str) -> str | None:
        return None


class EventAppender:
    """Appends through a transaction's ``append`` (``EventTransaction``), as stored events."""

    def __init__(self, tx: Any) -> None:
        self.tx = tx

    def add(self, rows: Sequence[SealRow]) -> None:
        # lazy: verify and anchor read rows without the codec
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
