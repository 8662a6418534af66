"""SMART and consistency findings (``check``) and the next session's agenda (``agenda``).

Both are data: every finding at once, so a coach sees the whole list rather than the first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from coachledger.moments import cadence_days
from coachledger.projections import calc, clients, followup, history, journal, progress
from coachledger.projections.models import Finding, Progress
from coachledger.projections.read import ReadSide, iso, now
from coachledger.vocab import Dimension, Direction, Horizon, Status

ATTENTION = (Status.OFF_TRACK, Status.AT_RISK, Status.OVERDUE)


def findings(
    rs: ReadSide, slug: str, moment: datetime | None = None, known_at: datetime | None = None
) -> list[Finding]:
    """Every finding about ``slug`` as of ``moment`` (default now), from what was recorded by ``known_at``."""
    c = rs.client(slug)
    moment = moment or now()
    facts = progress.Facts(rs.db, c["key"], rs.known_seq(c["stream"], known_at))
    out: list[Finding] = []

    def add(kpi: str | None, rule: str, message: str) -> None:
        out.append(Finding(slug, kpi, rule, message))

    active = []
    for kpi in facts.kpis():
        definition = facts.definition(kpi, moment)
        if definition["retired"]:
            continue
        active.append(definition)
        item = facts.progress(kpi, moment)
        if not definition.get("goal"):
            add(kpi, "not-relevant", f"KPI {kpi} is not linked to a goal (the R of SMART)")
        if item.status == Status.NO_BASELINE:
            add(kpi, "no-baseline", f"KPI {kpi} has no baseline: progress cannot be measured")
        else:
            last = _last_measured(facts, kpi, moment)
            days = cadence_days(definition.get("cadence"))
            if last is not None and moment - last > timedelta(days=days):
                add(
                    kpi,
                    "measurement-overdue",
                    f"KPI {kpi} was last measured {(moment - last).days} days ago (cadence: {days} days)",
                )
            b, t = item.baseline, item.target
            met = b is not None and (b >= t if definition["direction"] == Direction.INCREASE else b <= t)
            if met:
                add(
                    kpi,
                    "target-met-at-baseline",
                    f"KPI {kpi}'s target {t} is already met by its baseline {b}",
                )
        if item.status == Status.OVERDUE:
            add(kpi, "overdue", f"KPI {kpi} is past its due date {item.due} without reaching its target")
        for message in _outliers(facts, kpi, moment):
            add(kpi, "outlier", message)
    if active:
        if not any(d.get("dimension") == Dimension.PERSONAL for d in active):
            add(None, "unbalanced", "no personal KPI: well-being is not measured")
        if not any(d.get("horizon") == Horizon.SHORT for d in active):
            add(None, "unbalanced", "no short-term KPI: no near milestone to steer by")
    else:
        add(None, "no-kpis", "the client has no active KPI")
    return out


RATIO = 100  # the write side's guard after a unit change (domain.rules.far_apart)


def _far_apart(value: Decimal, reference: object) -> bool:
    if not isinstance(reference, Decimal):
        return False
    a, b = abs(value), abs(reference)
    return bool(a and b) and (a > b * RATIO or b > a * RATIO)


def _outliers(facts: progress.Facts, kpi: str, moment: datetime) -> list[str]:
    """Values more than 100x away from the value before them or from the target, after a unit change.

    Each value is compared in the unit in force at its own date (the one before it converted).
    """
    defs = facts.defs[kpi]
    changes = sorted(
        r.effective_at for r in defs if r.kind == "adjusted" and ("unit" in r.fields or r.factor is not None)
    )
    if not changes or changes[0] > moment:
        return []
    gone = {ch.mid for ch in facts.changes.get(kpi, ()) if ch.kind == "retracted"}
    fixed = {ch.mid: ch.value for ch in facts.changes.get(kpi, ()) if ch.kind == "corrected" and ch.value is not None}
    points = [(b.effective_at, b.seq, "baseline", b.value) for b in facts.baselines.get(kpi, ())]
    points += [
        (m.effective_at, m.seq, m.mid, fixed.get(m.mid, m.value))
        for m in facts.measurements.get(kpi, ())
        if m.mid not in gone
    ]
    points = sorted(p for p in points if p[0] <= moment)
    out = []
    for (at0, _, _, before), (at, _, what, value) in pairwise(points):
        if at < changes[0]:
            continue
        previous = calc.convert(before, at0, at, defs)
        target = facts.definition(kpi, at)["target"]
        if _far_apart(value, previous) or _far_apart(value, target):
            out.append(
                f"KPI {kpi}: {what} = {calc.to_number(value)} on {at.date()} is more than 100x away from "
                f"the value before it ({calc.to_number(previous)}) or the target ({calc.to_number(target)}) "
                f"after the unit change on {changes[0].date()}"
            )
    return out


def _last_measured(facts: progress.Facts, kpi: str, moment: datetime) -> datetime | None:
    """The latest measurement or baseline of ``kpi`` effective at or before ``moment``.

    A retracted measurement does not count: it was never a real measurement.
    """
    retracted = {ch.mid for ch in facts.changes.get(kpi, ()) if ch.kind == "retracted"}
    times = [m.effective_at for m in facts.measurements.get(kpi, ()) if m.mid not in retracted]
    times += [b.effective_at for b in facts.baselines.get(kpi, ())]
    times = [t for t in times if t <= moment]
    return max(times) if times else None


def agenda(
    rs: ReadSide, slug: str, moment: datetime | None = None, known_at: datetime | None = None
) -> dict[str, Any]:
    """What the next session should cover, from the KPI results (the feedback loop).

    As of ``moment`` (effective time) and from what had been recorded by ``known_at``.
    """
    c = rs.client(slug)
    key = c["key"]
    moment = moment or now()
    known = rs.known_seq(c["stream"], known_at)
    facts = progress.Facts(rs.db, key, known)
    items = [facts.progress(kpi, moment) for kpi in facts.kpis()]
    sessions = journal.sessions(rs.db, key, known, until=iso(moment))
    last_session = sessions[-1].effective_at if sessions else None
    since = last_session or iso(moment - timedelta(days=30))
    celebrated = {m.target for m in journal.milestones(rs.db, key, known)}
    adjustments = []
    for kpi in facts.kpis():
        for v in history.versions(rs.db, key, kpi):
            if known is not None and v.seq > known:
                continue
            if v.version > 1 and v.recorded_at > (since or ""):
                adjustments.append(
                    {
                        "kpi": kpi,
                        "version": v.version,
                        "kind": v.kind,
                        "reason": v.reason,
                        "changes": v.changes,
                        "recorded_at": v.recorded_at,
                    }
                )
    overdue = []
    for kpi in facts.kpis():
        definition = facts.definition(kpi, moment)
        if definition["retired"]:
            continue
        last = _last_measured(facts, kpi, moment)
        cadence = definition.get("cadence")
        if last is None or moment - last > timedelta(days=cadence_days(cadence)):
            overdue.append({"kpi": kpi, "last_measured": iso(last), "cadence": cadence or "monthly"})
    return {
        "client": slug,
        "as_of": iso(moment),
        "known_at": iso(known_at),
        "last_session": last_session,
        "attention": [_brief(i) for i in items if not i.retired and i.status in ATTENTION],
        "measurements_due": overdue,
        "to_celebrate": [
            _brief(i) for i in items if i.status == Status.ACHIEVED and i.kpi not in celebrated
        ],
        "recent_feedback": [
            f for f in journal.feedback(rs.db, key, known, iso(moment)) if f.recorded_at > (since or "")
        ],
        "adjustments_since_last_session": adjustments,
        "goals": clients.goals(rs.db, key, known),
        "confidence_drops": confidence_drops(rs, key, moment, known),
        "follow_up": followup.open_actions(rs.db, key, moment, known),  # open actions, overdue first
    }


CONFIDENCE_DROP = 3  # points (of 0..10) between two consecutive check-ins of a KPI that need a talk


def confidence_drops(rs: ReadSide, key: int, moment: datetime, known: int | None) -> list[dict[str, Any]]:
    """Each KPI whose latest confidence fell by CONFIDENCE_DROP or more since its check-in before."""
    out = []
    for kpi, rows in progress.confidences(rs.db, key, known, moment).items():
        if len(rows) > 1 and rows[-2].confidence - rows[-1].confidence >= CONFIDENCE_DROP:
            before, last = rows[-2], rows[-1]
            out.append(
                {
                    "kpi": kpi,
                    "from": before.confidence,
                    "to": last.confidence,
                    "effective_at": last.effective_at,
                    "measurement": last.mid,
                }
            )
    return out


def _brief(item: Progress) -> dict[str, Any]:
    keys = ("kpi", "name", "status", "current", "target", "unit", "progress_pct", "expected_pct", "due")
    return {k: getattr(item, k) for k in keys}
