"""Feedback, sessions and milestones: the coaching journal that agenda, portfolio and reports read."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from coachledger.projections import followup
from coachledger.projections.batch import dumps, utc_text
from coachledger.projections.db import ViewDB
from coachledger.projections.models import Feedback, Milestone, Session
from coachledger.projections.registry import on

NAME = "journal"
TABLES = {
    "feedback": "CREATE TABLE IF NOT EXISTS feedback (seq INTEGER PRIMARY KEY, client_key INTEGER NOT NULL, "
    "rating INTEGER NOT NULL, comment TEXT, about TEXT NOT NULL, effective_at TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
    "sessions": "CREATE TABLE IF NOT EXISTS sessions (seq INTEGER PRIMARY KEY, client_key INTEGER NOT NULL, "
    "effective_at TEXT NOT NULL, notes TEXT NOT NULL, kpis TEXT NOT NULL, actions TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
    "milestones": "CREATE TABLE IF NOT EXISTS milestones (seq INTEGER PRIMARY KEY, client_key INTEGER NOT NULL, "
    "target TEXT NOT NULL, kind TEXT NOT NULL, note TEXT, recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
    # Between sessions: actions and fixes of any record (read by ``followup``).
    "actions": "CREATE TABLE IF NOT EXISTS actions (seq INTEGER PRIMARY KEY, client_key INTEGER NOT NULL, "
    "action TEXT NOT NULL, text TEXT NOT NULL, due TEXT, kpi TEXT, session TEXT, recorded_at TEXT NOT NULL, "
    "actor TEXT NOT NULL)",
    "action_changes": "CREATE TABLE IF NOT EXISTS action_changes (seq INTEGER PRIMARY KEY, "
    "client_key INTEGER NOT NULL, action TEXT NOT NULL, status TEXT NOT NULL, note TEXT, "
    "recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
    "record_fixes": "CREATE TABLE IF NOT EXISTS record_fixes (seq INTEGER PRIMARY KEY, "
    "client_key INTEGER NOT NULL, kind TEXT NOT NULL, target TEXT NOT NULL, change TEXT NOT NULL, "
    "data TEXT NOT NULL, reason TEXT NOT NULL, recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
}
INDEXES = (
    "CREATE INDEX IF NOT EXISTS feedback_by_stream ON feedback (client_key, seq)",
    "CREATE INDEX IF NOT EXISTS sessions_by_stream ON sessions (client_key, seq)",
    "CREATE INDEX IF NOT EXISTS milestones_by_stream ON milestones (client_key, seq)",
    "CREATE INDEX IF NOT EXISTS actions_by_stream ON actions (client_key, seq)",
    "CREATE INDEX IF NOT EXISTS action_changes_by_stream ON action_changes (client_key, seq)",
    "CREATE INDEX IF NOT EXISTS record_fixes_by_stream ON record_fixes (client_key, seq)",
)


@on("FeedbackReceived", "INSERT INTO feedback VALUES (?,?,?,?,?,?,?,?)")
def _feedback(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    at = utc_text(d.effective_at)
    return (seq, key, d.rating, d.comment, d.about, at, utc_text(d.timestamp), d.actor)


@on("SessionLogged", "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?)")
def _session(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    at = utc_text(d.effective_at)
    return (seq, key, at, d.notes, dumps(d.kpis), dumps(d.actions), utc_text(d.timestamp), d.actor)


@on("MilestoneCelebrated", "INSERT INTO milestones VALUES (?,?,?,?,?,?,?)")
def _milestone(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return (seq, key, d.target, d.kind, d.note, utc_text(d.timestamp), d.actor)


# -- between sessions: actions and fixes of any record, a row each (``followup`` reads them) --

_FIX = "INSERT INTO record_fixes VALUES (?,?,?,?,?,?,?,?,?)"


@on("ActionOpened", "INSERT INTO actions VALUES (?,?,?,?,?,?,?,?,?)")
def _opened(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    due = d.due[:10] if d.due else None  # the stored text's date (due dates are UTC)
    return (seq, key, d.action, d.text, due, d.kpi, d.session, utc_text(d.timestamp), d.actor)


@on("ActionCompleted", "INSERT INTO action_changes VALUES (?,?,?,?,?,?,?)")
def _completed(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return (seq, key, d.action, "done", d.note, utc_text(d.timestamp), d.actor)


@on("ActionDropped", "INSERT INTO action_changes VALUES (?,?,?,?,?,?,?)")
def _dropped(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return (seq, key, d.action, "dropped", d.note, utc_text(d.timestamp), d.actor)


def _fix(
    seq: int, key: int, d: Any, kind: str, target: str, change: str, data: dict[str, Any]
) -> tuple[Any, ...]:
    return (seq, key, kind, target, change, dumps(data), d.reason, utc_text(d.timestamp), d.actor)


@on("ClientRenamed", _FIX)
def _renamed(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _fix(seq, key, d, "client", "", "renamed", {"name": d.name})


@on("ClientUpdated", _FIX)
def _updated(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    changed = {f: getattr(d, f) or None for f in ("coach", "contact") if getattr(d, f) is not None}
    return _fix(seq, key, d, "client", "", "updated", changed)


@on("SessionAmended", _FIX)
def _amended(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    changed: dict[str, Any] = {}
    if d.notes is not None:
        changed["notes"] = d.notes
    if d.effective_at is not None:
        changed["effective_at"] = utc_text(d.effective_at)
    if d.kpis is not None:
        changed["kpis"] = list(d.kpis)
    return _fix(seq, key, d, "session", d.session, "amended", changed)


@on("SessionRetracted", _FIX)
def _session_retracted(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _fix(seq, key, d, "session", d.session, "retracted", {})


@on("FeedbackRetracted", _FIX)
def _feedback_retracted(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _fix(seq, key, d, "feedback", d.feedback, "retracted", {})


@on("MilestoneRetracted", _FIX)
def _milestone_retracted(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _fix(seq, key, d, "milestone", d.target, "retracted", {"kind": d.kind})


def forget(db: Any, stream: str, key: int | None) -> None:
    for table in TABLES:
        db.execute(f"DELETE FROM {table} WHERE client_key = ?", (key,))


def _upto(known_seq: int | None) -> int:
    return known_seq if known_seq is not None else 1 << 62


def feedback(
    db: ViewDB, key: int, known_seq: int | None = None, until: str | None = None
) -> list[Feedback]:
    rows = db.execute(
        "SELECT seq, rating, comment, about, effective_at, recorded_at, actor FROM feedback "
        "WHERE client_key = ? AND seq <= ? AND effective_at <= ? ORDER BY effective_at, seq",
        (key, _upto(known_seq), until or "9999"),
    ).fetchall()
    # With its id (f1, f2, ...); retracted feedback is left out (followup).
    return followup.fixed_feedback(db, key, [Feedback(*r) for r in rows], known_seq)


def sessions(
    db: ViewDB, key: int, known_seq: int | None = None, until: str | None = None
) -> list[Session]:
    rows = db.execute(
        "SELECT seq, effective_at, notes, kpis, actions, recorded_at, actor FROM sessions "
        "WHERE client_key = ? AND seq <= ? ORDER BY effective_at, seq",
        (key, _upto(known_seq)),
    ).fetchall()
    found = [
        Session(seq, at, notes, json.loads(kpis), json.loads(actions), recorded_at, actor)
        for seq, at, notes, kpis, actions, recorded_at, actor in rows
    ]
    # With its id (s1, s2, ...) and amendments; retracted sessions are left out (followup).
    fixed = [r for r in followup.fixed_sessions(db, key, found, known_seq) if r.effective_at <= (until or "9999")]
    return sorted(fixed, key=lambda r: (r.effective_at, r.seq)) if len(fixed) > 1 else fixed


def milestones(db: ViewDB, key: int, known_seq: int | None = None) -> list[Milestone]:
    rows = db.execute(
        "SELECT seq, target, kind, note, recorded_at, actor FROM milestones WHERE client_key = ? AND seq <= ? ORDER BY seq",
        (key, _upto(known_seq)),
    ).fetchall()
    return followup.fixed_milestones(db, key, [Milestone(*r) for r in rows], known_seq)  # less retracted ones


def recent_feedback(
    db: ViewDB, clients: dict[int, dict[str, Any]], moment: str, limit: int = 10, everyone: bool = False
) -> list[dict[str, Any]]:
    """The latest feedback (effective by ``moment``) across ``clients`` (by key; ``everyone``: the
    ledger's every client), newest first, retracted feedback left out."""
    if not clients:
        return []
    keys = list(clients)
    where, params = ("", ()) if everyone else (f"client_key IN ({', '.join('?' for _ in keys)}) AND ", tuple(keys))
    rows = db.execute(
        "SELECT client_key, seq, rating, comment, about, effective_at, recorded_at, actor FROM feedback "
        f"WHERE {where}effective_at <= ? ORDER BY effective_at DESC, seq DESC LIMIT ?",
        (*params, moment, limit * 3),
    ).fetchall()
    by_client: dict[int, list[Feedback]] = {}
    for key, *fields in rows:
        if int(key) in clients:
            by_client.setdefault(int(key), []).append(Feedback(*fields))
    found = [
        (c, f)
        for key, items in by_client.items()
        for c in (clients[key],)
        for f in followup.fixed_feedback(db, key, sorted(items, key=lambda f: f.seq), None)
    ]
    found.sort(key=lambda cf: (cf[1].effective_at, cf[1].seq), reverse=True)
    return [{"client": c["client"], "client_name": c["name"], **msgspec.structs.asdict(f)} for c, f in found[:limit]]
