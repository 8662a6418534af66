"""The client registry: who is in the ledger, without replaying any stream."""

from __future__ import annotations

from typing import Any

from coachledger.projections.batch import utc_text
from coachledger.projections.db import ViewDB
from coachledger.projections.models import Goal
from coachledger.projections.registry import on

NAME = "clients"
TABLES = {
    "clients": "CREATE TABLE IF NOT EXISTS clients (stream TEXT PRIMARY KEY, client TEXT NOT NULL, "
    "name TEXT NOT NULL, coach TEXT, registered_at TEXT NOT NULL, seq INTEGER NOT NULL)",
    "goals": "CREATE TABLE IF NOT EXISTS goals (client_key INTEGER NOT NULL, goal TEXT NOT NULL, "
    "text TEXT NOT NULL, horizon TEXT NOT NULL, due TEXT, seq INTEGER NOT NULL, recorded_at TEXT NOT NULL, "
    "PRIMARY KEY (client_key, goal))",
    # the goal lifecycle: one row per adjustment, achievement, abandonment or reopening (read by ``goals``)
    "goal_changes": "CREATE TABLE IF NOT EXISTS goal_changes (seq INTEGER PRIMARY KEY, client_key INTEGER NOT NULL, "
    "goal TEXT NOT NULL, kind TEXT NOT NULL, effective_at TEXT NOT NULL, text TEXT, horizon TEXT, due TEXT, "
    "reason TEXT, note TEXT, recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
}
INDEXES = ("CREATE INDEX IF NOT EXISTS goal_changes_by_stream ON goal_changes (client_key, seq)",)


@on("Registered", "INSERT INTO clients VALUES (?,?,?,?,?,?)")
def _registered(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return (stream, d.slug, d.name, d.coach, utc_text(d.timestamp), seq)


@on("GoalSet", "INSERT INTO goals VALUES (?,?,?,?,?,?,?)")
def _goal_set(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    due = d.due[:10] if d.due else None  # the stored text's date (due dates are UTC)
    return (key, d.goal, d.text, d.horizon, due, seq, utc_text(d.timestamp))


# -- the goal lifecycle --

_GOAL_CHANGE = "INSERT INTO goal_changes VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"


def _goal_change(seq: int, key: int, d: Any, kind: str, **fields: Any) -> tuple[Any, ...]:
    due = fields.get("due")
    return (
        *(seq, key, d.goal, kind, utc_text(d.effective_at), fields.get("text"), fields.get("horizon")),
        *(
            due[:10] if due else None,
            fields.get("reason"),
            fields.get("note"),
            utc_text(d.timestamp),
            d.actor,
        ),
    )


@on("GoalAdjusted", _GOAL_CHANGE)
def _goal_adjusted(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _goal_change(seq, key, d, "adjusted", text=d.text, horizon=d.horizon, due=d.due, reason=d.reason)


@on("GoalAchieved", _GOAL_CHANGE)
def _goal_achieved(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _goal_change(seq, key, d, "achieved", note=d.note)


@on("GoalAbandoned", _GOAL_CHANGE)
def _goal_abandoned(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _goal_change(seq, key, d, "abandoned", reason=d.reason)


@on("GoalReopened", _GOAL_CHANGE)
def _goal_reopened(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return _goal_change(seq, key, d, "reopened", reason=d.reason)


def forget(db: Any, stream: str, key: int | None) -> None:
    db.execute("DELETE FROM clients WHERE stream = ?", (stream,))
    db.execute("DELETE FROM goals WHERE client_key = ?", (key,))
    db.execute("DELETE FROM goal_changes WHERE client_key = ?", (key,))


def key_of(db: ViewDB, stream: str) -> int | None:
    """A client's key in the views: the sequence number of its registration (None: not registered,
    or forgotten). Views other than this one keep it instead of the 32-character stream id."""
    row = db.execute("SELECT seq FROM clients WHERE stream = ?", (stream,)).fetchone()
    return None if row is None else int(row[0])


_CLIENT = ("stream", "client", "name", "coach", "registered_at", "key")


def all_clients(db: ViewDB, coach: str | None = None) -> list[dict[str, Any]]:
    sql = "SELECT stream, client, name, coach, registered_at, seq FROM clients"
    params: tuple[Any, ...] = ()
    if coach is not None:
        sql += " WHERE coach = ?"
        params = (coach,)
    if coach is not None:  # the coach as last updated (followup): filtered below
        sql, params = sql.replace(" WHERE coach = ?", ""), ()
    rows = db.execute(sql + " ORDER BY client", params).fetchall()
    found = _as_fixed(db, [dict(zip(_CLIENT, row, strict=True)) for row in rows])
    return found if coach is None else [c for c in found if c["coach"] == coach]


def one_client(db: ViewDB, stream: str) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT stream, client, name, coach, registered_at, seq FROM clients WHERE stream = ?", (stream,)
    ).fetchone()
    return None if row is None else _as_fixed(db, [dict(zip(_CLIENT, row, strict=True))])[0]


def _as_fixed(db: Any, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Clients with their renames and updates (``client rename|update``) and contact applied."""
    # lazy: followup imports this module to name clients
    from coachledger.projections.followup import client_fixes

    fixes = client_fixes(db, [c["key"] for c in found] if len(found) == 1 else None)
    return [{**c, "contact": None, **fixes.get(c["key"], {})} for c in found]


def goals(db: ViewDB, key: int, known_seq: int | None = None) -> list[Goal]:
    rows = db.execute(
        "SELECT goal, text, horizon, due, seq, recorded_at FROM goals WHERE client_key = ? AND seq <= ? ORDER BY seq",
        (key, known_seq if known_seq is not None else 1 << 62),
    ).fetchall()
    return [Goal(*r) for r in rows]
