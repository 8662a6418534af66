"""Keeping the views current: catch-up on read, status, rebuild.

Every view applies each event exactly once: the view rows of a chunk of events and the
views' tracked positions are written in one transaction, which also holds the store's
write lock, so two readers never catch up the same events twice. Catch-up reads the
stored rows directly and decodes them with the typed codec (no domain objects), which
is what keeps a rebuild close to the speed of reading the rows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from coachledger.projections import clients, history, journal, progress, timeline
from coachledger.projections.batch import Batch, Ev

VIEWS = (clients, history, progress, timeline, journal)
CHUNK = 5000
TRACKING = "CREATE TABLE IF NOT EXISTS view_tracking (view TEXT PRIMARY KEY, position INTEGER NOT NULL)"
SCHEMA_TABLE = "CREATE TABLE IF NOT EXISTS view_schema (digest TEXT NOT NULL)"


def _ddl() -> list[str]:
    statements = []
    for view in VIEWS:
        statements += list(view.TABLES.values()) + list(getattr(view, "INDEXES", ()))
    return statements


SCHEMA_DIGEST = hashlib.sha256("\n".join(_ddl()).encode()).hexdigest()[:16]
Decryptor = Callable[[str, str, bytes], bytes | None]


def head(db: Any) -> int:
    row = db.execute("SELECT max(seq) FROM event_index").fetchone()
    return int(row[0] or 0)


def positions(db: Any) -> dict[str, int]:
    return {view: int(pos) for view, pos in db.execute("SELECT view, position FROM view_tracking").fetchall()}


def is_current(db: Any) -> bool:
    """The read fast path: one query, no decoding."""
    try:
        row = db.execute(
            "SELECT (SELECT coalesce(max(seq), 0) FROM event_index), (SELECT min(position) FROM view_tracking), "
            "(SELECT digest FROM view_schema)"
        ).fetchone()
    except Exception:  # the view tables do not exist yet
        _rollback(db)
        return False
    return row[1] is not None and row[1] >= row[0] and row[2] == SCHEMA_DIGEST


def _rollback(db: Any) -> None:
    rollback = getattr(db, "rollback", None) or getattr(getattr(db, "conn", None), "rollback", None)
    if rollback is not None:
        rollback()


def ensure(db: Any) -> None:
    """Create the view tables; drop and recreate them when their schema changed."""
    with db.write_lock():
        db.execute(TRACKING)
        db.execute(SCHEMA_TABLE)
        row = db.execute("SELECT digest FROM view_schema").fetchone()
        if row is None or row[0] != SCHEMA_DIGEST:
            _drop(db)
            db.execute("DELETE FROM view_schema")
            db.execute("INSERT INTO view_schema VALUES (?)", (SCHEMA_DIGEST,))
        for statement in _ddl():
            db.execute(statement)
        for view in VIEWS:
            db.execute(
                "INSERT INTO view_tracking (view, position) SELECT ?, 0 "
                "WHERE NOT EXISTS (SELECT 1 FROM view_tracking WHERE view = ?)",
                (view.NAME, view.NAME),
            )


def _drop(db: Any) -> None:
    for view in VIEWS:
        for table in view.TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute("DELETE FROM view_tracking")


def current(db: Any, decrypt: Decryptor | None = None) -> None:
    """Bring every view up to date (the first step of every read)."""
    if not is_current(db):
        ensure(db)
        catch_up(db, decrypt)


def catch_up(db: Any, decrypt: Decryptor | None = None, on_chunk: Callable[[int], None] | None = None) -> int:
    """Apply every event after the views' position; returns how many were applied."""
    from coachledger.codec import decode_payload, event_name

    done = 0
    while True:
        with db.write_lock():
            start = min(positions(db).values(), default=0)
            rows = db.execute(db.events_after_sql, (start, CHUNK)).fetchall()
            if not rows:
                break
            batch = Batch(db)
            for seq, stream, version, topic, state, recorded_at in rows:
                stream = stream.hex if hasattr(stream, "hex") and not isinstance(stream, str) else stream
                kind = event_name(topic)
                if decrypt is not None:
                    state = decrypt(stream, topic, bytes(state))
                data = decode_payload(topic, bytes(state)) if state is not None else None
                ev = Ev(
                    seq, stream, version, recorded_at, kind, data.actor if data is not None else "-", data
                )
                if kind == "ClientForgotten":
                    batch.flush()
                    batch.cache.clear()
                    for view in VIEWS:
                        view.forget(db, stream)
                for view in VIEWS:
                    view.apply(batch, ev)
            batch.flush()
            last = rows[-1][0]
            db.executemany(
                "UPDATE view_tracking SET position = ? WHERE view = ?", [(last, view.NAME) for view in VIEWS]
            )
        done += len(rows)
        if on_chunk is not None:
            on_chunk(len(rows))
        if len(rows) < CHUNK:
            break
    return done


def rebuild(db: Any, decrypt: Decryptor | None = None, on_chunk: Callable[[int], None] | None = None) -> int:
    """Drop every view and replay all events from the first."""
    with db.write_lock():
        db.execute(TRACKING)
        db.execute(SCHEMA_TABLE)
        _drop(db)
        db.execute("DELETE FROM view_schema")
    ensure(db)
    return catch_up(db, decrypt, on_chunk)


def status(db: Any) -> list[dict[str, Any]]:
    ensure(db)
    top = head(db)
    return [
        {"view": name, "position": pos, "behind": max(0, top - pos)}
        for name, pos in sorted(positions(db).items())
    ]


def forget_client(db: Any, stream: str) -> None:
    """Remove a client's rows from every view (the timeline keeps erased placeholders)."""
    ensure(db)
    with db.write_lock():
        for view in VIEWS:
            view.forget(db, stream)


def known_seq_at(db: Any, stream: str, known_at: datetime) -> int:
    """The last event of a stream recorded at or before ``known_at`` (0: nothing yet)."""
    text = known_at.astimezone(UTC).isoformat(timespec="microseconds")
    row = db.execute(
        "SELECT max(seq) FROM event_index WHERE originator_id = ? AND recorded_at <= ?", (stream, text)
    ).fetchone()
    return int(row[0] or 0)
