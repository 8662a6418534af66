"""The events of a client's stream, each with what it says about itself.

Beside its fields, every event class declares (see ``catalogue``): ``TOPIC``, its stable
name in the store (written here and nowhere else: other modules refer to the class);
``REFS``, what it records and refers to in its stream (the import's reference checks);
``EXPORT``, the fields of its export line's ``data``; and ``summary``, the timeline's line.

Each ``apply`` only changes state (it runs again on every replay, so it never judges).
The ``Client`` aggregate (``client``) takes these classes as its own (``Client.GoalSet``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from eventsourcing.domain import Aggregate

from coachledger.domain.catalogue import VIA, Defines, Numbered, Ref, Refers, amount, via_text
from coachledger.domain.rules import DEFAULT_WEIGHT, iso, opt
from coachledger.moments import DEFAULT_CADENCE


class ClientState(Protocol):
    """The state the events change: the ``Client`` aggregate's (see ``client``)."""

    goals: dict[str, str]
    kpis: dict[str, dict[str, Any]]
    measurements: dict[str, list[Any]]
    measurement_count: int
    celebrated: list[str]
    forgotten: bool
    # Between sessions (domain/followup): sessions and feedback by number, actions by id.
    sessions: dict[str, dict[str, Any]]
    feedback: dict[str, bool]
    actions: dict[str, str]


class Event(Aggregate.Event):
    TOPIC = "coachledger:Client.Event"
    REFS: ClassVar[tuple[Ref, ...]]
    EXPORT: ClassVar[tuple[str, ...]]
    actor: str

    def apply(self, aggregate: Any) -> None:  # pragma: no cover - overridden
        pass

    @staticmethod
    def summary(d: Any) -> str:  # pragma: no cover - every event says its own
        raise NotImplementedError


class Registered(Event, Aggregate.Created):
    TOPIC = "coachledger:ClientRegistered"
    slug: str
    name: str
    coach: str | None

    REFS = (Defines("slug", "client"),)
    EXPORT = ("slug", "name", "coach")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Registered {d.name}" + (f" (coach {d.coach})" if d.coach else "")


class GoalSet(Event):
    TOPIC = "coachledger:GoalSet"
    class_version = 2
    goal: str
    text: str
    horizon: str
    due: datetime | None = None  # v2: goals are time-bound (the T of SMART)

    REFS = (Defines("goal", "goal"),)
    EXPORT = ("goal", "text", "horizon", "due")

    @staticmethod
    def summary(d: Any) -> str:
        due = f" (by {d.due.date().isoformat()})" if d.due else ""
        return f"Set {d.horizon}-term goal {d.goal}: {d.text}{due}"

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["due"] = None

    def apply(self, aggregate: ClientState) -> None:
        aggregate.goals[self.goal] = self.horizon


class KpiDefined(Event):
    TOPIC = "coachledger:KpiDefined"
    kpi: str
    name: str
    category: str
    unit: str
    direction: str
    target: Decimal
    due: datetime
    scale_min: Decimal | None
    scale_max: Decimal | None
    dimension: str
    horizon: str
    method: str | None
    goal: str | None
    defined_by: str
    # How often it is measured, and its weight in its goal's roll-up (defaults: old events read so).
    cadence: str = DEFAULT_CADENCE
    weight: Decimal = DEFAULT_WEIGHT

    REFS = (Defines("kpi", "kpi"), Refers("goal", "goal", optional=True))
    EXPORT = (
        *("kpi", "name", "category", "unit", "direction", "target", "due", "scale_min", "scale_max"),
        *("dimension", "horizon", "method", "goal", "defined_by", "cadence", "weight"),
    )

    @staticmethod
    def summary(d: Any) -> str:
        scale = f", scale {amount(d.scale_min)}..{amount(d.scale_max)}" if d.scale_min is not None else ""
        cadence = f", measured {d.cadence}" if d.cadence != DEFAULT_CADENCE else ""
        weight = f", weight {amount(d.weight)}" if Decimal(d.weight) != DEFAULT_WEIGHT else ""
        return (
            f'Defined KPI {d.kpi} "{d.name}" ({d.category}): {d.direction} to {amount(d.target)} {d.unit} '
            f"by {d.due.date().isoformat()}{scale}{cadence}{weight}"
        )

    def apply(self, aggregate: ClientState) -> None:
        aggregate.kpis[self.kpi] = {
            "defined_at": iso(self.timestamp),
            "due": iso(self.due),
            "scale": [opt(self.scale_min), opt(self.scale_max)],
            "target": str(self.target),
            "cadence": self.cadence,
            "adjustments": [],
            "baseline": False,
            "retired": False,
        }


class BaselineEstablished(Event):
    TOPIC = "coachledger:BaselineEstablished"
    kpi: str
    value: Decimal
    effective_at: datetime
    source: str | None
    reason: str | None

    REFS = (Refers("kpi", "kpi"),)
    EXPORT = ("kpi", "value", "effective_at", "source", "reason")

    @staticmethod
    def summary(d: Any) -> str:
        again = f" (re-baselined: {d.reason})" if d.reason else ""
        return f"Baseline of {d.kpi}: {amount(d.value)}{again}"

    def apply(self, aggregate: ClientState) -> None:
        aggregate.kpis[self.kpi]["baseline"] = True
        _note_last(aggregate.kpis[self.kpi], self.effective_at, self.value)


class MeasurementRecorded(Event):
    TOPIC = "coachledger:MeasurementRecorded"
    measurement_id: str
    kpi: str
    value: Decimal
    effective_at: datetime
    source: str
    note: str | None
    confidence: int | None = None  # 0..10, to reach the target (absent in older events)
    via: str | None = None  # the check-in it came through: "link:c1", "form:c2" (absent: typed by the actor)

    REFS = (Defines("measurement_id", "measurement"), Refers("kpi", "kpi"), *VIA)
    EXPORT = ("measurement_id", "kpi", "value", "effective_at", "source", "note", "confidence", "via")

    @staticmethod
    def summary(d: Any) -> str:
        note, via = f" - {d.note}" if d.note else "", via_text(d)
        sure = f", confidence {d.confidence}/10" if getattr(d, "confidence", None) is not None else ""
        return f"Measured {d.kpi} = {amount(d.value)} ({d.measurement_id}, {d.source}{sure}){via}{note}"

    def apply(self, aggregate: ClientState) -> None:
        aggregate.measurements[self.measurement_id] = [self.kpi, iso(self.effective_at), False]
        aggregate.measurement_count += 1
        _note_last(aggregate.kpis[self.kpi], self.effective_at, self.value)


class MeasurementCorrected(Event):
    TOPIC = "coachledger:MeasurementCorrected"
    measurement_id: str
    value: Decimal
    reason: str
    confidence: int | None = None  # a check-in's amendment may change it too (None: unchanged)
    note: str | None = None  # (None: unchanged)

    REFS = (Refers("measurement_id", "measurement"),)
    EXPORT = ("measurement_id", "value", "reason", "confidence", "note")

    @staticmethod
    def summary(d: Any) -> str:
        sure = f", confidence {d.confidence}/10" if getattr(d, "confidence", None) is not None else ""
        return f"Corrected {d.measurement_id} to {amount(d.value)}{sure}: {d.reason}"

    def apply(self, aggregate: ClientState) -> None:
        pass


class MeasurementRetracted(Event):
    TOPIC = "coachledger:MeasurementRetracted"
    measurement_id: str
    reason: str

    REFS = (Refers("measurement_id", "measurement"),)
    EXPORT = ("measurement_id", "reason")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Retracted {d.measurement_id}: {d.reason}"

    def apply(self, aggregate: ClientState) -> None:
        aggregate.measurements[self.measurement_id][2] = True


class KpiAdjusted(Event):
    TOPIC = "coachledger:KpiAdjusted"
    kpi: str
    reason: str
    effective_at: datetime
    name: str | None = None
    unit: str | None = None
    target: Decimal | None = None
    due: datetime | None = None
    scale_min: Decimal | None = None
    scale_max: Decimal | None = None
    rescale: bool = False
    factor: Decimal | None = None
    method: str | None = None
    goal: str | None = None
    dimension: str | None = None
    horizon: str | None = None
    cadence: str | None = None
    weight: Decimal | None = None

    REFS = (Refers("kpi", "kpi"), Refers("goal", "goal", optional=True))
    EXPORT = (
        *("kpi", "reason", "effective_at", "name", "unit", "target", "due", "scale_min", "scale_max"),
        *("rescale", "factor", "method", "goal", "dimension", "horizon", "cadence", "weight"),
    )

    @staticmethod
    def summary(d: Any) -> str:
        parts = []
        fields = ("name", "unit", "target", "due", "method", "goal", "dimension", "horizon", "cadence", "weight")
        for field in fields:
            value = getattr(d, field)
            if value is not None:
                shown = (
                    value.date().isoformat()
                    if field == "due"
                    else amount(value)
                    if field in ("target", "weight")
                    else value
                )
                parts.append(f"{field} {shown}")
        if d.scale_min is not None:
            rescaled = " (rescaled)" if d.rescale else ""
            parts.append(f"scale {amount(d.scale_min)}..{amount(d.scale_max)}{rescaled}")
        if d.factor is not None:
            parts.append(f"unit factor x{amount(d.factor)}")
        return f"Adjusted KPI {d.kpi}: {', '.join(parts)} - {d.reason}"

    def apply(self, aggregate: ClientState) -> None:
        kpi, at = aggregate.kpis[self.kpi], iso(self.effective_at)
        kpi["adjustments"].append([at, opt(self.scale_min), opt(self.scale_max), opt(self.factor)])
        kpi["adjustments"].sort(key=lambda a: a[0])
        if self.cadence is not None:  # read by the check-ins' window (domain/checkins)
            kpi["cadences"] = sorted([*kpi.get("cadences", ()), [at, self.cadence]])
        if self.target is not None:
            kpi["target"] = str(self.target)
        elif self.factor is not None:
            kpi["target"] = str(Decimal(kpi["target"]) * self.factor)  # in the new unit
        if self.unit is not None or self.factor is not None:
            kpi["unit_changes"] = sorted([*kpi.get("unit_changes", ()), at])
        if self.due is not None:
            kpi["due"] = iso(self.due)


class KpiRetired(Event):
    TOPIC = "coachledger:KpiRetired"
    kpi: str
    reason: str
    effective_at: datetime

    REFS = (Refers("kpi", "kpi"),)
    EXPORT = ("kpi", "reason", "effective_at")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Retired KPI {d.kpi}: {d.reason}"

    def apply(self, aggregate: ClientState) -> None:
        aggregate.kpis[self.kpi]["retired"] = True


class FeedbackReceived(Event):
    TOPIC = "coachledger:FeedbackReceived"
    rating: int
    comment: str | None
    about: str
    effective_at: datetime
    via: str | None = None  # the check-in it came through, as for a measurement

    REFS = (Refers("about", "kpi", prefix="kpi:"), Numbered("rating", "feedback", prefix="f"), *VIA)
    EXPORT = ("rating", "comment", "about", "effective_at", "via")

    @staticmethod
    def summary(d: Any) -> str:
        comment = f': "{d.comment}"' if d.comment else ""
        return f"Feedback {d.rating}/5 about {d.about}{via_text(d)}{comment}"

    def apply(self, aggregate: ClientState) -> None:
        aggregate.feedback[f"f{len(aggregate.feedback) + 1}"] = False  # its id, by order


class SessionLogged(Event):
    TOPIC = "coachledger:SessionLogged"
    effective_at: datetime
    notes: str
    kpis: list[str]
    actions: list[str]

    REFS = (Refers("kpis", "kpi", many=True), Numbered("notes", "session", prefix="s"))
    EXPORT = ("effective_at", "notes", "kpis", "actions")

    @staticmethod
    def summary(d: Any) -> str:
        kpis = f" [{', '.join(d.kpis)}]" if d.kpis else ""
        actions = f"; actions: {'; '.join(d.actions)}" if d.actions else ""
        return f"Session: {d.notes}{kpis}{actions}"

    def apply(self, aggregate: ClientState) -> None:
        # Its id, by order (s1, s2, ...), and what an amendment may change.
        aggregate.sessions[f"s{len(aggregate.sessions) + 1}"] = {
            "notes": self.notes,
            "at": iso(self.effective_at),
            "kpis": list(self.kpis),
            "retracted": False,
        }


class MilestoneCelebrated(Event):
    TOPIC = "coachledger:MilestoneCelebrated"
    target: str
    kind: str
    note: str | None

    REFS = (Refers("target", "", kind_field="kind"),)
    EXPORT = ("target", "kind", "note")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Celebrated {d.kind} {d.target}" + (f": {d.note}" if d.note else "")

    def apply(self, aggregate: ClientState) -> None:
        aggregate.celebrated.append(self.target)


class Forgotten(Event):
    TOPIC = "coachledger:ClientForgotten"

    REFS = ()
    EXPORT = ()

    @staticmethod
    def summary(d: Any) -> str:
        return "Client's personal data erased on request"

    def apply(self, aggregate: ClientState) -> None:
        aggregate.forgotten = True


def _note_last(kpi: dict[str, Any], effective_at: datetime, value: Decimal) -> None:
    """The KPI's latest value by effective time, as entered (for the magnitude guard after a unit change)."""
    moment = iso(effective_at)
    last = kpi.get("last")
    if last is None or moment >= last[0]:
        kpi["last"] = [moment, str(value)]


# -- goal lifecycle: open -> achieved | abandoned -> (reopened) open -----------------------


def goal_status(aggregate: Any) -> dict[str, str]:
    """Goal id -> "achieved" | "abandoned" (an open goal has no entry; kept apart from ``goals``
    so that snapshots taken before goals had a lifecycle load unchanged)."""
    return aggregate.__dict__.setdefault("goal_status", {})  # type: ignore[no-any-return]


class GoalAdjusted(Event):
    TOPIC = "coachledger:GoalAdjusted"
    goal: str
    reason: str
    effective_at: datetime
    text: str | None = None
    horizon: str | None = None
    due: datetime | None = None

    REFS = (Refers("goal", "goal"),)
    EXPORT = ("goal", "reason", "effective_at", "text", "horizon", "due")

    @staticmethod
    def summary(d: Any) -> str:
        parts = [f'text "{d.text}"'] if d.text is not None else []
        parts += [f"horizon {d.horizon}"] if d.horizon is not None else []
        parts += [f"due {str(d.due)[:10]}"] if d.due is not None else []
        return f"Adjusted goal {d.goal}: {', '.join(parts)} - {d.reason}"

    def apply(self, aggregate: ClientState) -> None:
        if self.horizon is not None:
            aggregate.goals[self.goal] = self.horizon


class GoalAchieved(Event):
    TOPIC = "coachledger:GoalAchieved"
    goal: str
    effective_at: datetime
    note: str | None = None

    REFS = (Refers("goal", "goal"),)
    EXPORT = ("goal", "effective_at", "note")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Achieved goal {d.goal}" + (f": {d.note}" if d.note else "")

    def apply(self, aggregate: ClientState) -> None:
        goal_status(aggregate)[self.goal] = "achieved"


class GoalAbandoned(Event):
    TOPIC = "coachledger:GoalAbandoned"
    goal: str
    effective_at: datetime
    reason: str

    REFS = (Refers("goal", "goal"),)
    EXPORT = ("goal", "effective_at", "reason")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Abandoned goal {d.goal}: {d.reason}"

    def apply(self, aggregate: ClientState) -> None:
        goal_status(aggregate)[self.goal] = "abandoned"


class GoalReopened(Event):
    TOPIC = "coachledger:GoalReopened"
    goal: str
    effective_at: datetime
    reason: str

    REFS = (Refers("goal", "goal"),)
    EXPORT = ("goal", "effective_at", "reason")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Reopened goal {d.goal}: {d.reason}"

    def apply(self, aggregate: ClientState) -> None:
        goal_status(aggregate).pop(self.goal, None)


# -- end of the goal lifecycle ----------------------------------------------------------------


EVENT_CLASSES: tuple[type[Event], ...] = (
    Registered,
    GoalSet,
    KpiDefined,
    BaselineEstablished,
    MeasurementRecorded,
    MeasurementCorrected,
    MeasurementRetracted,
    KpiAdjusted,
    KpiRetired,
    FeedbackReceived,
    SessionLogged,
    MilestoneCelebrated,
    Forgotten,
    GoalAdjusted,
    GoalAchieved,
    GoalAbandoned,
    GoalReopened,
)

EVENT_NAMES: dict[str, str] = {cls.TOPIC: cls.TOPIC.split(":", 1)[1] for cls in EVENT_CLASSES}
