"""PostgreSQL: stream ids as the SQLite store keeps them, the write transaction a thread
holds (see LedgerPostgresRecorder.write_lock), and the sealed snapshot recorder.

This module imports psycopg: import it only when the store is PostgreSQL.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PgStoredEvent, PostgresAggregateRecorder, PostgresDatastore
from eventsourcing.utils import retry

from coachledger.adapters.snapshots import open_state, seal_state


def _hex(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else str(originator_id)


def _id(stored: str) -> UUID | str:
    """A stored stream id as it went in: a UUID (as the SQLite store gives it back)."""
    try:
        return UUID(stored)
    except ValueError:
        return stored


class HexIdsMixin:
    """Stream ids stored as 32-hex text, exactly as the SQLite store keeps them, and given
    back as UUIDs, as they went in."""

    def construct_pg_stored_event(
        self, originator_id: UUID | str, originator_version: int, topic: str, state: bytes
    ) -> PgStoredEvent:
        return super().construct_pg_stored_event(  # type: ignore[misc]
            _hex(originator_id), originator_version, topic, state
        )

    def select_events(self, originator_id: UUID | str, **kwargs: Any) -> Sequence[StoredEvent]:
        events: Sequence[StoredEvent] = super().select_events(_hex(originator_id), **kwargs)  # type: ignore[misc]
        return [
            StoredEvent(_id(e.originator_id), e.originator_version, e.topic, e.state)  # type: ignore[arg-type]
            for e in events
        ]


def _held(datastore: PostgresDatastore) -> threading.local:
    """This datastore's per-thread write transaction (see LedgerPostgresRecorder.write_lock)."""
    held: threading.local | None = getattr(datastore, "_ledger_held", None)
    if held is None:
        held = threading.local()
        datastore._ledger_held = held  # type: ignore[attr-defined]
    return held


@contextlib.contextmanager
def writing(datastore: PostgresDatastore) -> Iterator[Any]:
    """A cursor in a write transaction: this thread's held one (inside a savepoint), or one
    of its own."""
    curs = getattr(_held(datastore), "curs", None)
    if curs is not None:
        with curs.connection.transaction():
            yield curs
        return
    with datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
        yield curs


SEAL_OF_EVENT = "SELECT seal FROM event_index WHERE originator_id = %s AND originator_version = %s"


class LedgerSnapshotRecorder(HexIdsMixin, PostgresAggregateRecorder):
    """Snapshots sealed to the chain, the latest one of a stream only (see snapshots.py).

    A snapshot whose seal does not hold is not given back (the client is loaded from its
    events), and its stream is noted in ``rejected`` so that the next write replaces it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rejected: set[str] = set()

    def create_table(self) -> None:
        """The factory has created the schema already (see ensure_schema)."""

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        with writing(self.datastore) as curs:
            for s in stored_events:
                stream, version = _hex(s.originator_id), s.originator_version
                curs.execute(SEAL_OF_EVENT, (stream, version))
                row = curs.fetchone()
                if row is None:
                    raise IntegrityError(f"no event {version} in stream {stream} to seal a snapshot with")
                event_seal = bytes(row["seal"])
                curs.execute(
                    "DELETE FROM stored_snapshots WHERE originator_id = %s AND originator_version < %s",
                    (stream, version),
                )
                curs.execute(
                    "INSERT INTO stored_snapshots (originator_id, originator_version, topic, state) "
                    "VALUES (%s, %s, %s, %s)",
                    (stream, version, s.topic, seal_state(event_seal, stream, version, s.topic, s.state)),
                )
                self.rejected.discard(stream)
        return None

    def select_events(self, originator_id: UUID | str, **kwargs: Any) -> Sequence[StoredEvent]:
        found = super().select_events(originator_id, **kwargs)
        if not found:
            return found
        stream = _hex(originator_id)
        good = []
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            for s in found:
                curs.execute(SEAL_OF_EVENT, (stream, s.originator_version))
                row = curs.fetchone()
                event_seal = bytes(row["seal"]) if row else None
                state = open_state(event_seal, stream, s.originator_version, s.topic, s.state)
                if state is None:
                    self.rejected.add(stream)
                else:
                    good.append(StoredEvent(s.originator_id, s.originator_version, s.topic, state))
        return good
