"""References: what an event may point at in its own stream, checked line by line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coachledger.domain import (
    Client,
)

REGISTERED = Client.Registered.TOPIC


@dataclass
class _Stream:
    """What the ledger knows of one stream, enough to check that new events fit it."""

    slug: str | None = None
    version: int = 0  # the version of the stream's previous line in the file
    stored: int = 0  # the last version already in the store
    goals: set[str] = field(default_factory=set)
    kpis: set[str] = field(default_factory=set)
    measurements: set[str] = field(default_factory=set)
    existing: dict[int, tuple[str, bytes]] = field(default_factory=dict)


_EARLIER = "by an earlier line or in the store"


def _who(s: _Stream) -> str:
    return f" of client '{s.slug}'" if s.slug else " of this stream"


def _unknown_kpi(name: str, kpi: str, s: _Stream) -> tuple[str, str]:
    return name, f"unknown KPI '{kpi}'{_who(s)} (not defined {_EARLIER})"


def _unknown_goal(goal: str, s: _Stream) -> tuple[str, str]:
    return "data.goal", f"unknown goal '{goal}'{_who(s)} (not set {_EARLIER})"


# One function a topic: a problem when the event points at something its stream never
# recorded (or repeats an id); otherwise what it records is remembered for later lines.


def _refs_registered(d: Any, s: _Stream) -> tuple[str, str] | None:
    s.slug = d.slug
    return None


def _refs_goal_set(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.goal in s.goals:
        return "data.goal", f"goal '{d.goal}'{_who(s)} is already set"
    s.goals.add(d.goal)
    return None


def _refs_kpi_defined(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.kpi in s.kpis:
        return "data.kpi", f"KPI '{d.kpi}'{_who(s)} is already defined"
    if d.goal is not None and d.goal not in s.goals:
        return _unknown_goal(d.goal, s)
    s.kpis.add(d.kpi)
    return None


def _refs_kpi(d: Any, s: _Stream) -> tuple[str, str] | None:
    return None if d.kpi in s.kpis else _unknown_kpi("data.kpi", d.kpi, s)


def _refs_kpi_adjusted(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.kpi not in s.kpis:
        return _unknown_kpi("data.kpi", d.kpi, s)
    if d.goal is not None and d.goal not in s.goals:
        return _unknown_goal(d.goal, s)
    return None


def _refs_measurement_recorded(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.measurement_id in s.measurements:
        return "data.measurement_id", f"measurement '{d.measurement_id}'{_who(s)} is already recorded"
    if d.kpi not in s.kpis:
        return _unknown_kpi("data.kpi", d.kpi, s)
    s.measurements.add(d.measurement_id)
    return None


def _refs_measurement(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.measurement_id in s.measurements:
        return None
    return (
        "data.measurement_id",
        f"unknown measurement '{d.measurement_id}'{_who(s)} (not recorded {_EARLIER})",
    )


def _refs_feedback(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.about.startswith("kpi:") and d.about[4:] not in s.kpis:
        return _unknown_kpi("data.about", d.about[4:], s)
    return None


def _refs_session(d: Any, s: _Stream) -> tuple[str, str] | None:
    for k in d.kpis:
        if k not in s.kpis:
            return _unknown_kpi("data.kpis", k, s)
    return None


def _refs_milestone(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.target in (s.kpis if d.kind == "kpi" else s.goals):
        return None
    return "data.target", f"unknown {d.kind} '{d.target}'{_who(s)} (not recorded {_EARLIER})"


def _refs_none(d: Any, s: _Stream) -> tuple[str, str] | None:
    return None


_REFS: dict[str, Callable[[Any, _Stream], tuple[str, str] | None]] = {
    Client.Registered.TOPIC: _refs_registered,
    Client.GoalSet.TOPIC: _refs_goal_set,
    Client.KpiDefined.TOPIC: _refs_kpi_defined,
    Client.BaselineEstablished.TOPIC: _refs_kpi,
    Client.MeasurementRecorded.TOPIC: _refs_measurement_recorded,
    Client.MeasurementCorrected.TOPIC: _refs_measurement,
    Client.MeasurementRetracted.TOPIC: _refs_measurement,
    Client.KpiAdjusted.TOPIC: _refs_kpi_adjusted,
    Client.KpiRetired.TOPIC: _refs_kpi,
    Client.FeedbackReceived.TOPIC: _refs_feedback,
    Client.SessionLogged.TOPIC: _refs_session,
    Client.MilestoneCelebrated.TOPIC: _refs_milestone,
    Client.Forgotten.TOPIC: _refs_none,
}  # a new event class must say here what it refers to (a KeyError at import otherwise)


def _remember(s: _Stream, topic: str, data: Any) -> None:
    """What a stored event records, for the lines that follow it."""
    if topic == REGISTERED:
        s.slug = data.slug
    elif topic == Client.GoalSet.TOPIC:
        s.goals.add(data.goal)
    elif topic == Client.KpiDefined.TOPIC:
        s.kpis.add(data.kpi)
    elif topic == Client.MeasurementRecorded.TOPIC:
        s.measurements.add(data.measurement_id)
