"""The audit timeline: every event, both times, the actor, a readable line and the data.

The timeline is not copied into a view table: the event store already holds every event
of a client in order, indexed by stream and recording time (``event_index``), so the
timeline of one client is read from there and rendered on the way out. A copy cost a
rebuild about as much as all the other views together, and on an encrypted ledger it
kept every event of every client in clear beside the ciphertext.

An event that cannot be read any more (its client's key was destroyed by ``forget``), and
every event of a client forgotten on an unencrypted ledger, shows as a placeholder that
keeps its place, sequence and recording time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coachledger.projections.batch import moment, number, plain
from coachledger.projections.db import ViewDB
from coachledger.projections.models import TimelineEntry

NAME = "timeline"
HIDDEN = frozenset({"timestamp", "actor", "class_version", "originator_topic"})
ERASED = "(erased: the client's data was forgotten on request)"
FORGOTTEN_TOPIC = "coachledger:ClientForgotten"
Decryptor = Callable[[str, str, bytes], bytes | None]


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


def was_forgotten(db: ViewDB, stream: str) -> bool:
    row = db.execute(
        f"SELECT 1 FROM event_index i JOIN stored_events e ON e.{db.event_key} = i.seq "
        "WHERE i.originator_id = ? AND e.topic = ? LIMIT 1",
        (stream, FORGOTTEN_TOPIC),
    ).fetchone()
    return row is not None


def events(
    db: ViewDB,
    stream: str,
    *,
    since: str | None = None,
    until: str | None = None,
    known_seq: int | None = None,
    decrypt: Decryptor | None = None,
) -> list[TimelineEntry]:
    """The events of one client in recording order, within a recording-time window."""
    from coachledger.adapters.codec import decode_payload, event_name

    rows = db.execute(
        "SELECT i.seq, i.originator_version, i.recorded_at, e.topic, e.state "
        f"FROM event_index i JOIN stored_events e ON e.{db.event_key} = i.seq "
        "WHERE i.originator_id = ? AND i.seq <= ? AND i.recorded_at >= ? AND i.recorded_at < ? "
        "ORDER BY i.seq",
        (stream, known_seq if known_seq is not None else 1 << 62, since or "", until or "9999"),
    ).fetchall()
    erased = was_forgotten(db, stream)
    out: list[TimelineEntry] = []
    for seq, version, recorded_at, topic, state in rows:
        kind = event_name(topic)
        data = None
        if not erased or topic == FORGOTTEN_TOPIC:
            clear = bytes(state) if decrypt is None else decrypt(stream, topic, bytes(state))
            data = decode_payload(topic, clear) if clear is not None else None
        if data is None:
            out.append(TimelineEntry(seq, version, recorded_at, None, "-", kind, ERASED, {}))
            continue
        effective = getattr(data, "effective_at", None)
        fields = {k: plain(getattr(data, k)) for k in sorted(data.__struct_fields__) if k not in HIDDEN}
        out.append(
            TimelineEntry(
                seq,
                version,
                recorded_at,
                moment(effective) if effective else None,
                data.actor,
                kind,
                summary(kind, data),
                fields,
            )
        )
    return out

