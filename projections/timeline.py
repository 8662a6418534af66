"""The audit timeline: every event, both times, the actor, a readable line and the data."""

from __future__ import annotations

import json
from typing import Any

from coachledger.projections.batch import Batch, Ev, dumps, moment, number, plain

NAME = "timeline"
TABLES = {
    "timeline": "CREATE TABLE IF NOT EXISTS timeline (seq INTEGER PRIMARY KEY, stream TEXT NOT NULL, "
    "version INTEGER NOT NULL, recorded_at TEXT NOT NULL, effective_at TEXT, actor TEXT NOT NULL, "
    "type TEXT NOT NULL, summary TEXT NOT NULL, data TEXT NOT NULL)",
}
INDEXES = ("CREATE INDEX IF NOT EXISTS timeline_by_stream ON timeline (stream, seq)",)
HIDDEN = frozenset({"timestamp", "actor", "class_version", "originator_topic"})
ERASED = "(erased: the client's data was forgotten on request)"


def _n(value: Any) -> str:
    n = number(value)
    return "-" if n is None else f"{n:,}" if isinstance(n, int) else f"{n:g}"


def summary(kind: str, d: Any) -> str:
    """One readable line per event, as a coach would say it."""
    if kind == "ClientRegistered":
        return f"Registered {d.name}" + (f" (coach {d.coach})" if d.coach else "")
    if kind == "GoalSet":
        due = f" (by {d.due.date().isoformat()})" if d.due else ""
        return f"Set {d.horizon}-term goal {d.goal}: {d.text}{due}"
    if kind == "KpiDefined":
        scale = f", scale {_n(d.scale_min)}..{_n(d.scale_max)}" if d.scale_min is not None else ""
        return (
            f'Defined KPI {d.kpi} "{d.name}" ({d.category}): {d.direction} to {_n(d.target)} {d.unit} '
            f"by {d.due.date().isoformat()}{scale}"
        )
    if kind == "BaselineEstablished":
        again = f" (re-baselined: {d.reason})" if d.reason else ""
        return f"Baseline of {d.kpi}: {_n(d.value)}{again}"
    if kind == "MeasurementRecorded":
        note = f" - {d.note}" if d.note else ""
        return f"Measured {d.kpi} = {_n(d.value)} ({d.measurement_id}, {d.source}){note}"
    if kind == "MeasurementCorrected":
        return f"Corrected {d.measurement_id} to {_n(d.value)}: {d.reason}"
    if kind == "MeasurementRetracted":
        return f"Retracted {d.measurement_id}: {d.reason}"
    if kind == "KpiAdjusted":
        parts = []
        for field in ("name", "unit", "target", "due", "method", "goal", "dimension", "horizon"):
            value = getattr(d, field)
            if value is not None:
                shown = (
                    value.date().isoformat() if field == "due" else _n(value) if field == "target" else value
                )
                parts.append(f"{field} {shown}")
        if d.scale_min is not None:
            parts.append(f"scale {_n(d.scale_min)}..{_n(d.scale_max)}" + (" (rescaled)" if d.rescale else ""))
        if d.factor is not None:
            parts.append(f"unit factor x{_n(d.factor)}")
        return f"Adjusted KPI {d.kpi}: {', '.join(parts)} - {d.reason}"
    if kind == "KpiRetired":
        return f"Retired KPI {d.kpi}: {d.reason}"
    if kind == "FeedbackReceived":
        comment = f': "{d.comment}"' if d.comment else ""
        return f"Feedback {d.rating}/5 about {d.about}{comment}"
    if kind == "SessionLogged":
        kpis = f" [{', '.join(d.kpis)}]" if d.kpis else ""
        actions = f"; actions: {'; '.join(d.actions)}" if d.actions else ""
        return f"Session: {d.notes}{kpis}{actions}"
    if kind == "MilestoneCelebrated":
        return f"Celebrated {d.kind} {d.target}" + (f": {d.note}" if d.note else "")
    if kind == "ClientForgotten":
        return "Client's personal data erased on request"
    return kind


def apply(b: Batch, ev: Ev) -> None:
    d = ev.data
    if d is None:
        b.add(
            "INSERT INTO timeline VALUES (?,?,?,?,?,?,?,?,?)",
            (ev.seq, ev.stream, ev.version, ev.recorded_at, None, ev.actor, ev.type, ERASED, "{}"),
        )
        return
    effective = getattr(d, "effective_at", None)
    data = {k: plain(getattr(d, k)) for k in d.__struct_fields__ if k not in HIDDEN}
    b.add(
        "INSERT INTO timeline VALUES (?,?,?,?,?,?,?,?,?)",
        (
            ev.seq,
            ev.stream,
            ev.version,
            ev.recorded_at,
            moment(effective) if effective else None,
            ev.actor,
            ev.type,
            summary(ev.type, d),
            dumps(data),
        ),
    )


def forget(db: Any, stream: str) -> None:
    """Keep each event's place and recording time, drop everything it said.

    The effective time and the actor were inside the event too: a rebuild after the key
    was destroyed cannot read them, so the live view drops them as well (rows as ``apply``
    writes them for an unreadable event).
    """
    db.execute(
        "UPDATE timeline SET summary = ?, data = '{}', effective_at = NULL, actor = '-' "
        "WHERE stream = ? AND type <> 'ClientForgotten'",
        (ERASED, stream),
    )


def was_forgotten(db: Any, stream: str) -> bool:
    row = db.execute(
        "SELECT 1 FROM timeline WHERE stream = ? AND type = 'ClientForgotten' LIMIT 1", (stream,)
    ).fetchone()
    return row is not None


def events(
    db: Any, stream: str, *, since: str | None = None, until: str | None = None, known_seq: int | None = None
) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT seq, version, recorded_at, effective_at, actor, type, summary, data FROM timeline "
        "WHERE stream = ? AND seq <= ? AND recorded_at >= ? AND recorded_at < ? ORDER BY seq",
        (stream, known_seq if known_seq is not None else 1 << 62, since or "", until or "9999"),
    ).fetchall()
    return [
        {
            "seq": seq,
            "version": version,
            "recorded_at": rec,
            "effective_at": eff,
            "actor": actor,
            "type": kind,
            "summary": text,
            "data": json.loads(data),
        }
        for seq, version, rec, eff, actor, kind, text, data in rows
    ]
