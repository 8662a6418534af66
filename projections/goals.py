"""Each goal's state and progress as of any date, known at any time, from the goals and their
lifecycle rows (adjustments, achievements, abandonments, reopenings) of the ``clients`` view.

A goal's progress rolls up from the KPIs linked to it (the KPI's ``goal`` in the definition in
force at the as-of date): the weighted mean of their progress, each KPI's progress held to
0..100 %, weighted by the KPI's ``weight`` (1 when it has none). Retired KPIs and KPIs without
a progress figure (no baseline yet) do not count.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from coachledger.projections import clients
from coachledger.projections.db import ViewDB
from coachledger.projections.models import GoalState, Progress

STATUS_OF = {"adjusted": None, "achieved": "achieved", "abandoned": "abandoned", "reopened": "open"}


def goal_states(
    db: ViewDB,
    key: int,
    as_of: str,
    known_seq: int | None = None,
    links: dict[str, list[tuple[Progress, Decimal]]] | None = None,
) -> list[GoalState]:
    """Every goal as of ``as_of`` (an ISO moment), from what was recorded up to ``known_seq``.

    ``links``: goal -> its KPIs' progress with their weights (see ``links``), for the roll-up.
    """
    upto = known_seq if known_seq is not None else 1 << 62
    changes: dict[str, list[Any]] = {}
    for row in db.execute(
        "SELECT goal, kind, effective_at, text, horizon, due, reason, note FROM goal_changes "
        "WHERE client_key = ? AND seq <= ? AND effective_at <= ? ORDER BY seq",
        (key, upto, as_of),
    ).fetchall():
        changes.setdefault(row[0], []).append(row[1:])
    out = []
    for g in clients.goals(db, key, known_seq):
        text, horizon, due = g.text, g.horizon, g.due
        status: str = "open"
        since: str | None = None
        why: str | None = None
        for kind, at, new_text, new_horizon, new_due, reason, note in changes.get(g.goal, ()):
            text, horizon, due = new_text or text, new_horizon or horizon, new_due or due
            new_status = STATUS_OF[kind]
            if new_status is not None:
                status, since, why = new_status, at, note if kind == "achieved" else reason
        linked = (links or {}).get(g.goal, [])
        out.append(
            GoalState(
                g.goal, text, horizon, due, status, since, why, rollup(linked), [p.kpi for p, _ in linked]
            )
        )
    return out


def links(
    items: list[Progress], definitions: dict[str, dict[str, Any]]
) -> dict[str, list[tuple[Progress, Decimal]]]:
    """Goal -> the active KPIs linked to it, with their weights, from the definitions in force."""
    out: dict[str, list[tuple[Progress, Decimal]]] = {}
    for item in items:
        definition = definitions.get(item.kpi, {})
        goal = definition.get("goal")
        if goal and not item.retired:
            weight = definition.get("weight")
            out.setdefault(str(goal), []).append(
                (item, Decimal(str(weight)) if weight is not None else Decimal(1))
            )
    return out


def rollup(linked: list[tuple[Progress, Decimal]]) -> float | None:
    """The weighted mean of the linked KPIs' progress (each held to 0..100 %), to 0.1 %."""
    counted = [(min(max(p.progress_pct, 0.0), 100.0), w) for p, w in linked if p.progress_pct is not None]
    total = sum((w for _, w in counted), Decimal(0))
    if not counted or total <= 0:
        return None
    mean = sum((Decimal(str(pct)) * w for pct, w in counted), Decimal(0)) / total
    return float(mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def achieved(state: GoalState, celebrated: set[str]) -> bool:
    """Achieved as of the date: by ``goal achieve``, or, for a goal whose lifecycle never changed,
    by a celebrated goal milestone (how older ledgers record it)."""
    return state.status == "achieved" or (
        state.status == "open" and state.status_at is None and state.goal in celebrated
    )


def goal_rate(states: list[GoalState], celebrated: set[str]) -> tuple[int, int]:
    """(achieved, counted): abandoned goals leave the count (they were let go, not missed)."""
    counted = [s for s in states if s.status != "abandoned"]
    return sum(1 for s in counted if achieved(s, celebrated)), len(counted)
