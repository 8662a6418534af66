"""Between sessions: agreed actions and their follow-up, and the fixes of any record.

Each event is one row of the journal view (``journal``: tables ``actions``, ``action_changes``,
``record_fixes``; a rebuild only appends); what an action's status is, or what a
session, a feedback or a client reads like after its fixes, is worked out when read, from
the rows known at the asked recording time, so ``--known-at`` before a fix shows the
original. Sessions and feedback are numbered by their order in the client's stream (s1,
s2, ...; f1, f2, ...), as the domain numbers them.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import msgspec

from coachledger.projections.models import Feedback, Milestone, Session


def _upto(known_seq: int | None) -> int:
    return known_seq if known_seq is not None else 1 << 62


# -- reading: fixes ---------------------------------------------------------------------


def fixes(db: Any, key: int, kind: str, known_seq: int | None = None) -> list[dict[str, Any]]:
    """The fixes of one kind of record, in recording order."""
    rows = db.execute(
        "SELECT seq, target, change, data, reason, recorded_at, actor FROM record_fixes "
        "WHERE client_key = ? AND kind = ? AND seq <= ? ORDER BY seq",
        (key, kind, _upto(known_seq)),
    ).fetchall()
    names = ("seq", "target", "change", "data", "reason", "recorded_at", "actor")
    return [{**dict(zip(names, r, strict=True)), "data": json.loads(r[3])} for r in rows]


def client_fixes(db: Any, keys: list[int] | None = None) -> dict[int, dict[str, Any]]:
    """The latest name, coach and contact set by fixes, of the given clients (None: of all)."""
    sql = "SELECT client_key, data FROM record_fixes WHERE kind = 'client'"
    params: tuple[Any, ...] = ()
    if keys is not None:
        sql += f" AND client_key IN ({', '.join('?' for _ in keys)})"
        params = tuple(keys)
    out: dict[int, dict[str, Any]] = {}
    for key, data in db.execute(sql + " ORDER BY seq", params).fetchall():
        out.setdefault(int(key), {}).update(json.loads(data))
    return out


def client_as_known(db: Any, client: dict[str, Any], known_seq: int | None = None) -> dict[str, Any]:
    """A client's row with the renames and updates known at ``known_seq`` (before them: the original)."""
    if client.get("key") is None or known_seq is None:
        return client
    row = db.execute("SELECT name, coach FROM clients WHERE seq = ?", (client["key"],)).fetchone()
    out = {**client, "name": row[0], "coach": row[1], "contact": None}
    for fix in fixes(db, client["key"], "client", known_seq):
        out.update(fix["data"])
    return out


def numbered(db: Any, table: str, key: int, prefix: str, known_seq: int | None) -> dict[int, str]:
    """The ids of a client's sessions (``s``) or feedback (``f``): their order in its stream."""
    rows = db.execute(
        f"SELECT seq FROM {table} WHERE client_key = ? AND seq <= ? ORDER BY seq", (key, _upto(known_seq))
    ).fetchall()
    return {int(seq): f"{prefix}{n}" for n, (seq,) in enumerate(rows, start=1)}


def fixed_sessions(db: Any, key: int, rows: list[Session], known_seq: int | None) -> list[Session]:
    """Sessions with their ids, amendments applied and retracted ones left out."""
    ids = numbered(db, "sessions", key, "s", known_seq)
    by_id: dict[str, list[dict[str, Any]]] = {}
    for fix in fixes(db, key, "session", known_seq):
        by_id.setdefault(fix["target"], []).append(fix)
    out = []
    for row in rows:
        session = ids[row.seq]
        own = by_id.get(session, ())
        if any(f["change"] == "retracted" for f in own):
            continue
        changed: dict[str, Any] = {}
        for fix in own:
            changed.update(fix["data"])
        amended = [{"reason": f["reason"], "recorded_at": f["recorded_at"]} for f in own]
        out.append(msgspec.structs.replace(row, session=session, amended=amended, **changed))
    return out


def fixed_feedback(db: Any, key: int, rows: list[Feedback], known_seq: int | None) -> list[Feedback]:
    """Feedback with its ids, retracted feedback left out."""
    ids = numbered(db, "feedback", key, "f", known_seq)
    retracted = {f["target"] for f in fixes(db, key, "feedback", known_seq)}
    return [msgspec.structs.replace(r, feedback=ids[r.seq]) for r in rows if ids[r.seq] not in retracted]


def fixed_milestones(db: Any, key: int, rows: list[Milestone], known_seq: int | None) -> list[Milestone]:
    """Milestones less those retracted (a retraction takes back the celebration before it)."""
    retractions = fixes(db, key, "milestone", known_seq)
    if not retractions:
        return rows
    taken = set()
    for fix in retractions:
        earlier = [r.seq for r in rows if r.target == fix["target"] and r.seq < fix["seq"]]
        if earlier:
            taken.add(max(earlier))
    return [r for r in rows if r.seq not in taken]


# -- reading: actions -------------------------------------------------------------------


def actions(
    db: Any, key: int, known_seq: int | None = None, as_of: str | None = None
) -> list[dict[str, Any]]:
    """A client's actions as known at ``known_seq``, each with its status as of ``as_of`` (open,
    done or dropped; an action counts from its recording time), in the order they were opened."""
    until = as_of or "9999"
    rows = db.execute(
        "SELECT seq, action, text, due, kpi, session, recorded_at, actor FROM actions "
        "WHERE client_key = ? AND seq <= ? AND recorded_at <= ? ORDER BY seq",
        (key, _upto(known_seq), until),
    ).fetchall()
    changes = {
        action: (status, note, at, actor)
        for action, status, note, at, actor in db.execute(
            "SELECT action, status, note, recorded_at, actor FROM action_changes "
            "WHERE client_key = ? AND seq <= ? AND recorded_at <= ? ORDER BY seq",
            (key, _upto(known_seq), until),
        ).fetchall()
    }
    day = until[:10]
    out = []
    for seq, action, text, due, kpi, session, recorded_at, actor in rows:
        status, note, closed_at, closed_by = changes.get(action, ("open", None, None, None))
        out.append(
            {
                "action": action,
                "text": text,
                "due": due,
                "kpi": kpi,
                "session": session,
                "status": status,
                "overdue": status == "open" and due is not None and due < day,
                "opened_at": recorded_at,
                "opened_by": actor,
                "closed_at": closed_at,
                "closed_by": closed_by,
                "note": note,
                "seq": seq,
            }
        )
    return out


def open_actions(db: Any, key: int, moment: datetime, known_seq: int | None = None) -> list[dict[str, Any]]:
    """The actions open as of ``moment``: overdue first (by due date), then by due date, then opened."""
    # lazy: batch only when open actions are listed
    from coachledger.projections.batch import moment as text

    found = [a for a in actions(db, key, known_seq, text(moment)) if a["status"] == "open"]
    return sorted(found, key=lambda a: (not a["overdue"], a["due"] or "9999", a["seq"]))


def open_by_step(db: Any, key: int | None, known_seq: int | None = None) -> Any:
    """For replay: ``open_at(seq, moment)``, the actions open right after event ``seq`` (as
    ``open_actions`` lists them, overdue as of ``moment``), from one read of the views."""
    found = actions(db, key, known_seq) if key is not None else []
    closed = (
        dict(
            db.execute(
                "SELECT action, seq FROM action_changes WHERE client_key = ? AND seq <= ?",
                (key, _upto(known_seq)),
            ).fetchall()
        )
        if found
        else {}
    )

    def open_at(seq: int, moment: str) -> list[dict[str, Any]]:
        day = moment[:10]
        out = []
        for a in found:
            if a["seq"] <= seq and closed.get(a["action"], 1 << 62) > seq:
                overdue = a["due"] is not None and a["due"] < day
                out.append({"action": a["action"], "text": a["text"], "due": a["due"], "overdue": overdue})
        return sorted(out, key=lambda a: (not a["overdue"], a["due"] or "9999", a["action"]))

    return open_at


def due_actions(cut: Any) -> list[dict[str, Any]]:
    """For ``due``: every action open at the as-of moment whose due date is by ``cut.until``,
    across the clients of ``cut`` (one query for all of them)."""
    if not cut.clients:
        return []
    keys = list(cut.clients)
    marks = ", ".join("?" for _ in keys)
    closed = {
        (int(key), action)
        for key, action in cut.db.execute(
            f"SELECT client_key, action FROM action_changes WHERE client_key IN ({marks}) AND seq <= ? "
            "AND recorded_at <= ?",
            (*keys, cut.known, cut.moment_text),
        ).fetchall()
    }
    rows = cut.db.execute(
        f"SELECT client_key, action, text, due, kpi, session FROM actions WHERE client_key IN ({marks}) "
        "AND seq <= ? AND recorded_at <= ? AND due IS NOT NULL AND due <= ? ORDER BY seq",
        (*keys, cut.known, cut.moment_text, cut.until.isoformat()),
    ).fetchall()
    out = []
    for key, action, text, due_on, kpi, session in rows:
        if (int(key), action) in closed:
            continue
        c = cut.clients[int(key)]
        days_late = (cut.day - datetime.fromisoformat(due_on).date()).days
        out.append(
            {
                "kind": "action",
                "client": c["client"],
                "client_name": c["name"],
                "coach": c["coach"],
                "kpi": kpi,
                "action": action,
                "text": text,
                "session": session,
                "due": due_on,
                "days_late": days_late,
            }
        )
    return out


def open_across(
    db: Any, clients: dict[int, dict[str, Any]], moment: str, everyone: bool = False
) -> list[dict[str, Any]]:
    """The actions open as of ``moment`` across ``clients`` (by key; ``everyone``: the ledger's
    every client), with due dates or not: overdue first, then by due date (one query each for
    the actions and their closings)."""
    if not clients:
        return []
    keys = list(clients)
    where, params = ("", ()) if everyone else (f"client_key IN ({', '.join('?' for _ in keys)}) AND ", tuple(keys))
    closed = {
        (int(key), action)
        for key, action in db.execute(
            f"SELECT client_key, action FROM action_changes WHERE {where}recorded_at <= ?", (*params, moment)
        ).fetchall()
    }
    day = moment[:10]
    out = []
    for key, action, text, due, kpi, recorded_at in db.execute(
        f"SELECT client_key, action, text, due, kpi, recorded_at FROM actions WHERE {where}recorded_at <= ? "
        "ORDER BY seq",
        (*params, moment),
    ).fetchall():
        c = clients.get(int(key))
        if c is None or (int(key), action) in closed:
            continue
        out.append(
            {
                "client": c["client"],
                "client_name": c["name"],
                "action": action,
                "text": text,
                "due": due,
                "kpi": kpi,
                "overdue": due is not None and due < day,
                "opened_at": recorded_at,
            }
        )
    return sorted(out, key=lambda a: (not a["overdue"], a["due"] or "9999", a["client"], a["opened_at"]))
