"""Sealed snapshots: a snapshot is used only while it is bound to the chain of events.

A snapshot is a cache of a client's state at one version of its stream. It is stored as
``state | seal | MAGIC`` (the state first, as the cipher wrote it), where ``seal = sha256("snapshot" | seal of the event at that
stream and version | stream | version | topic | state)``: it changes with any byte of the
snapshot, and with the chain it was taken from. A snapshot whose seal does not hold (an
edited row, a snapshot of another chain, or an unsealed one from an older ledger) is
ignored, so the client is loaded from its events, and the next write replaces it. Only
the latest snapshot of a stream is kept: storage grows with the events, not with their
square.

``check_snapshots`` lists the snapshots whose seals do not hold, for ``verify``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, NamedTuple

from coachledger.adapters.sealing import sha256

MAGIC = b"\x00CLS1"  # never the end of an unsealed snapshot: JSON ends with '}', a cipher's tag by 2**-40
SEAL_LEN = 32


class BadSnapshot(NamedTuple):
    stream: str  # 32 hex
    version: int
    reason: str


def snapshot_seal(event_seal: bytes, stream: str, version: int, topic: str, state: bytes) -> bytes:
    h = sha256(b"snapshot\x00")
    h.update(event_seal)
    h.update(f"{stream}\x00{version}\x00{topic}\x00".encode())
    h.update(state)
    return bytes(h.digest())


def seal_state(event_seal: bytes, stream: str, version: int, topic: str, state: bytes) -> bytes:
    """The bytes to store for a snapshot taken at the event whose seal is ``event_seal``."""
    return state + snapshot_seal(event_seal, stream, version, topic, state) + MAGIC


def open_state(
    event_seal: bytes | None, stream: str, version: int, topic: str, stored: bytes
) -> bytes | None:
    """The snapshot's state if its seal holds against the chain, else None."""
    return None if problem(event_seal, stream, version, topic, stored) else stored[: -len(MAGIC) - SEAL_LEN]


def problem(event_seal: bytes | None, stream: str, version: int, topic: str, stored: bytes) -> str:
    """Why a stored snapshot may not be used ('' when its seal holds)."""
    if not stored.endswith(MAGIC) or len(stored) < len(MAGIC) + SEAL_LEN:
        return "not sealed (taken by an older version, or written by hand)"
    if event_seal is None:
        return f"no event {version} in its stream to seal it"
    state, sealed = stored[: -len(MAGIC) - SEAL_LEN], stored[-len(MAGIC) - SEAL_LEN : -len(MAGIC)]
    if snapshot_seal(event_seal, stream, version, topic, state) != sealed:
        return "its seal does not hold (the snapshot or the chain was changed)"
    return ""


SQLITE_ROWS = (  # a state edited into text is read as its bytes
    "SELECT s.originator_id, s.originator_version, s.topic, CAST(s.state AS BLOB), i.seal FROM stored_snapshots s "
    "LEFT JOIN event_index i ON i.originator_id = s.originator_id "
    "AND i.originator_version = s.originator_version ORDER BY s.originator_id, s.originator_version"
)
PG_ROWS = (
    "SELECT s.originator_id, s.originator_version, s.topic, s.state, i.seal FROM stored_snapshots s "
    "LEFT JOIN event_index i ON i.originator_id = replace(s.originator_id::text, '-', '') "
    "AND i.originator_version = s.originator_version ORDER BY 1, 2"
)


def check_snapshots(conn: Any) -> list[BadSnapshot]:
    """Every snapshot of a ledger whose seal does not hold against the chain.

    ``conn`` is an open sqlite3 or psycopg connection to the ledger (a store without a
    snapshot table has none). Bad snapshots are never used; this names them for ``verify``.
    """
    if isinstance(conn, sqlite3.Connection):
        if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'stored_snapshots'").fetchone():
            return []
        rows: Iterable[Any] = conn.execute(SQLITE_ROWS).fetchall()
    else:
        if conn.execute("SELECT to_regclass('stored_snapshots')").fetchone()[0] is None:
            return []
        rows = conn.execute(PG_ROWS).fetchall()
    bad = []
    for stream, version, topic, state, event_seal in rows:
        stream = str(stream).replace("-", "")
        why = problem(None if event_seal is None else bytes(event_seal), stream, version, topic, bytes(state))
        if why:
            bad.append(BadSnapshot(stream, version, why))
    return bad
