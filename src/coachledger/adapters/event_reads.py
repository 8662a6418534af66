"""The event tables as the read side queries them, on its own connection to the store.

The read side keeps its views in the same store as the events and reads both on one
connection (``projections.db.ViewDB``: ``?`` placeholders, ``event_key`` naming the
events' seq column), so these are plain queries on that connection rather than an
``EventStore`` of their own: the read path stays one connection and, where it was one
query, one query. Standard library only: every read command imports this.
"""

from __future__ import annotations

from typing import Any

HEAD_SQL = "SELECT coalesce(max(seq), 0) FROM event_index"
"""The seq of the newest event (0 for none); a subquery of the read side's freshness check."""
# SQLite: the events after a seq (and up to one), in recording order.
EVENTS_AFTER_SQL = (
    "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
    "WHERE rowid > ? ORDER BY rowid LIMIT ?"
)
EVENTS_BETWEEN_SQL = (
    "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
    "WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?"
)


def head(db: Any) -> int:
    """The seq of the newest event (0: no events)."""
    row = db.execute(HEAD_SQL).fetchone()
    return int(row[0] or 0)


def known_seq_at(db: Any, stream: str, text: str) -> int:
    """The last event of a stream recorded at or before ``text`` (ISO, UTC; 0: nothing yet)."""
    row = db.execute(
        "SELECT max(seq) FROM event_index WHERE originator_id = ? AND recorded_at <= ?", (stream, text)
    ).fetchone()
    return int(row[0] or 0)


def has_topic(db: Any, stream: str, topic: str) -> bool:
    """Whether the stream holds an event of ``topic``."""
    row = db.execute(
        f"SELECT 1 FROM event_index i JOIN stored_events e ON e.{db.event_key} = i.seq "
        "WHERE i.originator_id = ? AND e.topic = ? LIMIT 1",
        (stream, topic),
    ).fetchone()
    return row is not None


def stream_window(db: Any, stream: str, known_seq: int, since: str, until: str) -> list[Any]:
    """(seq, version, recorded_at, topic, state) of a stream's events up to ``known_seq``,
    recorded in [since, until), in recording order."""
    return list(
        db.execute(
            "SELECT i.seq, i.originator_version, i.recorded_at, e.topic, e.state "
            f"FROM event_index i JOIN stored_events e ON e.{db.event_key} = i.seq "
            "WHERE i.originator_id = ? AND i.seq <= ? AND i.recorded_at >= ? AND i.recorded_at < ? "
            "ORDER BY i.seq",
            (stream, known_seq, since, until),
        ).fetchall()
    )


def count_before(db: Any, stream: str, topic: str, before: str) -> int:
    """How many events of ``topic`` the stream recorded before ``before`` (the timeline numbers
    sessions and feedback by their order)."""
    row = db.execute(
        f"SELECT count(*) FROM event_index i JOIN stored_events e ON e.{db.event_key} = i.seq "
        "WHERE i.originator_id = ? AND e.topic = ? AND i.recorded_at < ?",
        (stream, topic, before),
    ).fetchone()
    return int(row[0])


def streams_starting_with(db: Any, topic: str) -> list[str]:
    """The streams whose first event is of ``topic`` (every coach: ``CoachAdded``), in recording order."""
    return [
        str(row[0])
        for row in db.execute(
            f"SELECT i.originator_id FROM event_index i JOIN stored_events e ON e.{db.event_key} = i.seq "
            "WHERE i.originator_version = 1 AND e.topic = ? ORDER BY i.seq",
            (topic,),
        ).fetchall()
    ]


def last_seq_of(db: Any, streams: list[str]) -> int:
    """The seq of the newest event of any of ``streams`` (0: none)."""
    if not streams:
        return 0
    marks = ", ".join("?" for _ in streams)
    row = db.execute(f"SELECT max(seq) FROM event_index WHERE originator_id IN ({marks})", streams).fetchone()
    return int(row[0] or 0)
