"""The report document: one client's progress, KPIs, journal and receipt as plain, JSON-ready data.

Values are shown in the scale and unit of the KPI definition in force at the *frame* date:
the as-of date, or ``definition_as_of`` when a coach asks how the numbers look under the
definitions of another date (``calc.convert`` maps each value onto that definition).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from coachledger import __version__
from coachledger.projections import calc, clients, followup, goals, history, journal, progress, report_data
from coachledger.projections.advice import CONFIDENCE_DROP
from coachledger.projections.models import (
    Feedback,
    Goal,
    GoalState,
    Milestone,
    Progress,
    Quadrant,
    ReadModel,
    Session,
    json_default,
)
from coachledger.projections.read import ReadSide, balance_of, iso, now, overall
from coachledger.services.report.text import num, when
from coachledger.vocab import Status

REPORT_VERSION = 1


class ReportDoc(ReadModel):
    """The whole report of one client: what ``--format json`` prints, in this order."""

    report_version: int
    generator: str
    generated_at: str | None
    client: str
    name: str
    coach: str | None
    as_of: str
    known_at: str | None
    definition_as_of: str | None
    definitions: str
    nothing_known: bool
    status: Status
    goals: list[Goal]
    progress: list[Progress]
    definition_effect: list[dict[str, Any]] | None
    kpis: list[dict[str, Any]]
    balance: list[Quadrant]
    feedback: list[Feedback]
    sessions: list[Session]
    milestones: list[Milestone]
    receipt: dict[str, Any] | None
    goal_states: list[GoalState]  # each goal's lifecycle status and rolled-up progress as of the date
    confidence: list[dict[str, Any]]  # per KPI: its check-ins' confidences (0..10) in effective order
    follow_up: list[dict[str, Any]]  # the actions open as of the report's date (followup)
    content_digest: str = ""  # see ``content_digest``


# What the content digest leaves out: who made the report and when, and the receipt itself.
NOT_CONTENT = ("generator", "generated_at", "known_at", "receipt", "content_digest")


def content_digest(doc: ReportDoc) -> str:
    """sha256 of everything the report shows, as its JSON has it (keys sorted, no spaces).

    Beside the receipt (event count and head seal), it ties the printed figures to the
    ledger: the same report made again from the events (``--as-of`` the report's as-of date,
    ``--known-at`` the receipt's recording time, after ``verify --views`` passes) has the
    same digest; a report made from edited views does not.
    """
    shown = {k: doc[k] for k in doc if k not in NOT_CONTENT}
    text = json.dumps(shown, default=json_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def progress_under(facts: progress.Facts, kpi: str, as_of: datetime, frame: datetime) -> Progress:
    """Progress as of ``as_of`` under the KPI definition in force at ``frame``.

    Baselines, measurements, corrections and retractions are those counted as of ``as_of``
    (and known to ``facts``); each value is converted into the scale and unit in force at
    ``frame``, and the target, due date, scale and unit are those of ``frame``. Expected
    progress and status compare ``as_of`` with that due date. ``retired`` stays the fact at
    ``as_of``: retirement ends tracking, it does not redefine the numbers.
    """
    item = facts.progress(kpi, as_of)
    if frame == as_of:
        return item
    defs = facts.defs[kpi]
    definition = calc.definition_at(defs, frame)
    fields = {k: v for k, v in definition.items() if k != "retired"}
    only = [calc.DefRow(0, "defined", frame, fields)]

    to_frame = calc.converter(defs)

    def conv(value: Decimal, at: datetime) -> Decimal:
        return to_frame(value, at, frame)

    measured = facts.measurements.get(kpi, [])
    effective = {m.mid: m.effective_at for m in measured}
    redone = calc.kpi_progress(
        kpi,
        only,
        [
            calc.BaselineRow(b.seq, b.effective_at, conv(b.value, b.effective_at))
            for b in facts.baselines.get(kpi, [])
        ],
        [calc.MeasurementRow(m.seq, m.mid, m.effective_at, conv(m.value, m.effective_at)) for m in measured],
        [
            calc.ChangeRow(c.seq, c.mid, c.kind, None if c.value is None else conv(c.value, effective[c.mid]))
            for c in facts.changes.get(kpi, [])
        ],
        as_of,
    )
    redone.retired = item.retired
    return redone


def build_report(
    rs: ReadSide,
    slug: str,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    definition_as_of: datetime | None = None,
    *,
    with_receipt: bool = True,
) -> ReportDoc:
    """The whole report of one client as plain, JSON-ready data (``with_receipt=False``: without
    the ledger's receipt, which counts every event of the ledger, and without the content digest:
    for a page that shows the report's parts, not for a report)."""
    c = rs.client(slug)
    key = c["key"]
    moment = as_of or now()
    frame = definition_as_of or moment
    known = rs.known_seq(c["stream"], known_at)
    facts = progress.Facts(rs.db, key, known)
    ids = facts.kpis()
    items = [progress_under(facts, k, moment, frame) for k in ids]
    until = iso(moment)
    assert until is not None
    reasons = report_data.change_reasons(rs.db, key, known)
    kpis = [
        _kpi_section(rs.db, key, facts, kpi, item, moment, frame, known, reasons)
        for kpi, item in zip(ids, items, strict=True)
    ]
    effect = None
    if definition_as_of is not None:
        effect = [
            _effect(facts, kpi, item, moment, definition_as_of) for kpi, item in zip(ids, items, strict=True)
        ]
    doc = ReportDoc(
        report_version=REPORT_VERSION,
        generator=f"coachledger {__version__}",
        generated_at=iso(now()),
        client=slug,
        name=followup.client_as_known(rs.db, c, known)["name"],  # as known then
        coach=followup.client_as_known(rs.db, c, known)["coach"],
        as_of=until,
        known_at=iso(known_at),
        definition_as_of=iso(definition_as_of),
        definitions=_definitions_note(moment, definition_as_of),
        nothing_known=known == 0,
        status=overall([i for i in items if not i.retired]),
        goals=clients.goals(rs.db, key, known),
        progress=items,
        definition_effect=effect,
        kpis=kpis,
        balance=balance_of(items),
        feedback=journal.feedback(rs.db, key, known, until),
        sessions=journal.sessions(rs.db, key, known, until),
        milestones=[m for m in journal.milestones(rs.db, key, known) if m.recorded_at <= until],
        receipt=report_data.receipt(rs.db, known_at) if with_receipt else None,
        goal_states=_goal_states(rs, key, facts, items, moment, known),
        confidence=[
            {
                "kpi": kpi,
                "points": [{"effective_at": r.effective_at, "confidence": r.confidence} for r in rows],
                # the trend: first to latest check-in, and whether the latest fell by an agenda's drop
                "change": rows[-1].confidence - rows[0].confidence,
                "dropped": len(rows) > 1 and rows[-2].confidence - rows[-1].confidence >= CONFIDENCE_DROP,
            }
            for kpi, rows in progress.confidences(rs.db, key, known, moment).items()
        ],
        follow_up=followup.open_actions(rs.db, key, moment, known),  # open actions, overdue first
    )
    if with_receipt:
        doc.content_digest = content_digest(doc)
    return doc


def _goal_states(
    rs: ReadSide, key: int, facts: progress.Facts, items: list[Progress], moment: datetime, known: int | None
) -> list[GoalState]:
    """The goals as of the date, their progress rolled up from the KPIs as the report shows them."""
    definitions = {item.kpi: facts.definition(item.kpi, moment) for item in items}
    return goals.goal_states(rs.db, key, iso(moment) or "", known, goals.links(items, definitions))


def _definitions_note(moment: datetime, definition_as_of: datetime | None) -> str:
    if definition_as_of is None:
        return (
            f"KPI definitions in force at the as-of date {when(moment)}; every value is shown in "
            "the scale and unit of that definition."
        )
    return (
        f"KPI definitions in force at {when(definition_as_of)} (target, due date, scale and unit of "
        f"that date). Baselines and measurements are those counted as of {when(moment)}, converted "
        f"into that date's scale and unit; expected progress and status compare {when(moment)} with "
        "that date's due date."
    )


def _effect(
    facts: progress.Facts, kpi: str, under: Progress, moment: datetime, then: datetime
) -> dict[str, Any]:
    """Split the change of progress since ``then`` into the measured part and the redefinition."""
    before = facts.progress(kpi, then)
    actual = facts.progress(kpi, moment)

    def view(item: Progress) -> dict[str, Any]:
        keys = ("baseline", "current", "target", "unit", "due", "progress_pct", "expected_pct", "status")
        return {k: getattr(item, k) for k in keys}

    def diff(a: Any, b: Any) -> float | None:
        return None if a is None or b is None else calc.round1(a - b)

    return {
        "kpi": kpi,
        "name": actual.name,
        "then": view(before),
        "under_definition_as_of": view(under),
        "under_as_of_definition": view(actual),
        "real_change_pct": diff(under.progress_pct, before.progress_pct),
        "redefinition_pct": diff(actual.progress_pct, under.progress_pct),
    }


def _kpi_section(
    db: Any,
    key: int,
    facts: progress.Facts,
    kpi: str,
    item: Progress,
    moment: datetime,
    frame: datetime,
    known: int | None,
    reasons: dict[str, dict[str, str | None]],
) -> dict[str, Any]:
    """One KPI: its definition at the frame date, the points of its chart, its change history."""
    defs = facts.defs[kpi]
    definition = history.display(calc.definition_at(defs, frame))

    to_frame = calc.converter(defs)  # one definition history for all the KPI's values

    def shown(value: Decimal, at: datetime) -> int | float | None:
        return calc.to_number(to_frame(value, at, frame))

    base_rows = [b for b in facts.baselines.get(kpi, []) if b.effective_at <= moment]
    in_force = max(base_rows, key=lambda b: (b.effective_at, b.seq), default=None)
    since = in_force.effective_at if in_force is not None else None
    baselines = [
        {
            "effective_at": iso(b.effective_at),
            "value": calc.to_number(b.value),
            "shown": shown(b.value, b.effective_at),
            "in_force": b is in_force,
        }
        for b in sorted(base_rows, key=lambda b: (b.effective_at, b.seq))
    ]
    measurements = []
    for m in progress.measurement_rows(db, key, kpi, known):
        at = datetime.fromisoformat(m["effective_at"])
        if at > moment:
            continue
        value = Decimal(m["value"])
        corrected = None if m["corrected_value"] is None else Decimal(m["corrected_value"])
        why = reasons.get(m["mid"], {})
        measurements.append(
            {
                "mid": m["mid"],
                "effective_at": m["effective_at"],
                "recorded_at": m["recorded_at"],
                "actor": m["actor"],
                "by": "client" if m["actor"].startswith("client:") else "coach",  # who recorded it
                "via": m["via"],  # the check-in it came through ("link:c1", "form:c2"), or null
                "source": m["source"],
                "note": m["note"],
                "value": calc.to_number(value),
                "corrected_value": calc.to_number(corrected),
                "shown": shown(corrected if corrected is not None else value, at),
                "original_shown": None if corrected is None else shown(value, at),
                "retracted": bool(m["retracted"]),
                "retraction_reason": why.get("retracted") if m["retracted"] else None,
                "correction_reason": why.get("corrected") if corrected is not None else None,
                "counted": not m["retracted"] and since is not None and since <= at,
            }
        )
    maps = {row.seq: _conversion(row) for row in defs}
    versions = [
        {**json_default(v), "conversion": maps.get(v.seq)}
        for v in history.versions(db, key, kpi)
        if known is None or v.seq <= known
    ]
    return {
        "kpi": kpi,
        "definition": definition,
        "progress": item,
        "baselines": baselines,
        "measurements": measurements,
        "adjustments": [
            {
                k: v[k]
                for k in (
                    "version",
                    "kind",
                    "effective_at",
                    "recorded_at",
                    "actor",
                    "reason",
                    "changes",
                    "conversion",
                )
            }
            for v in versions[1:]
        ],
        "history": versions,
    }


def _conversion(row: calc.DefRow) -> str | None:
    """How an adjustment maps earlier values onto its definition (None: values stay as they are)."""
    if row.kind != "adjusted":
        return None
    if row.rescale:
        return "earlier values rescaled linearly onto the new scale"
    if row.factor:
        return f"earlier values multiplied by {num(calc.to_number(row.factor))}"
    return None
