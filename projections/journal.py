"""Feedback, sessions and milestones: the coaching journal that agenda, portfolio and reports read."""

from __future__ import annotations

import json
from typing import Any

from coachledger.projections.batch import Batch, dumps, utc_text

NAME = "journal"
TABLES = {
    "feedback": "CREATE TABLE IF NOT EXISTS feedback (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, "
    "rating INTEGER NOT NULL, comment TEXT, about TEXT NOT NULL, effective_at TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
    "sessions": "CREATE TABLE IF NOT EXISTS sessions (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, "
    "effective_at TEXT NOT NULL, notes TEXT NOT NULL, kpis TEXT NOT NULL, actions TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
    "milestones": "CREATE TABLE IF NOT EXISTS milestones (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, "
    "target TEXT NOT NULL, kind TEXT NOT NULL, note TEXT, recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
}
INDEXES = (
    "CREATE INDEX IF NOT EXISTS feedback_by_stream ON feedback (stream, seq)",
    "CREATE INDEX IF NOT EXISTS sessions_by_stream ON sessions (stream, seq)",
    "CREATE INDEX IF NOT EXISTS milestones_by_stream ON milestones (stream, seq)",
)


def _feedback(b: Batch, seq: int, stream: str, recorded_at: str, d: Any) -> None:
    b.add(
        "INSERT INTO feedback VALUES (?,?,?,?,?,?,?,?)",
        (seq, stream, d.rating, d.comment, d.about, utc_text(d.effective_at), recorded_at, d.actor),
    )


def _session(b: Batch, seq: int, stream: str, recorded_at: str, d: Any) -> None:
    b.add(
        "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?)",
        (seq, stream, utc_text(d.effective_at), d.notes, dumps(d.kpis), dumps(d.actions), recorded_at, d.actor),
    )


def _milestone(b: Batch, seq: int, stream: str, recorded_at: str, d: Any) -> None:
    b.add(
        "INSERT INTO milestones VALUES (?,?,?,?,?,?,?)",
        (seq, stream, d.target, d.kind, d.note, recorded_at, d.actor),
    )


# The handlers take events decoded by ``codec.decode_text``: times and decimals as text.
TEXT = True
HANDLERS = {"FeedbackReceived": _feedback, "SessionLogged": _session, "MilestoneCelebrated": _milestone}


def forget(db: Any, stream: str) -> None:
    for table in TABLES:
        db.execute(f"DELETE FROM {table} WHERE stream = ?", (stream,))


def _upto(known_seq: int | None) -> int:
    return known_seq if known_seq is not None else 1 << 62


def feedback(
    db: Any, stream: str, known_seq: int | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT seq, rating, comment, about, effective_at, recorded_at, actor FROM feedback "
        "WHERE stream = ? AND seq <= ? AND effective_at <= ? ORDER BY effective_at, seq",
        (stream, _upto(known_seq), until or "9999"),
    ).fetchall()
    keys = ("seq", "rating", "comment", "about", "effective_at", "recorded_at", "actor")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def sessions(
    db: Any, stream: str, known_seq: int | None = None, until: str | None = None
) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT seq, effective_at, notes, kpis, actions, recorded_at, actor FROM sessions "
        "WHERE stream = ? AND seq <= ? AND effective_at <= ? ORDER BY effective_at, seq",
        (stream, _upto(known_seq), until or "9999"),
    ).fetchall()
    out = []
    for seq, at, notes, kpis, actions, recorded_at, actor in rows:
        out.append(
            {
                "seq": seq,
                "effective_at": at,
                "notes": notes,
                "kpis": json.loads(kpis),
                "actions": json.loads(actions),
                "recorded_at": recorded_at,
                "actor": actor,
            }
        )
    return out


def milestones(db: Any, stream: str, known_seq: int | None = None) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT seq, target, kind, note, recorded_at, actor FROM milestones WHERE stream = ? AND seq <= ? ORDER BY seq",
        (stream, _upto(known_seq)),
    ).fetchall()
    return [
        dict(zip(("seq", "target", "kind", "note", "recorded_at", "actor"), r, strict=True)) for r in rows
    ]
