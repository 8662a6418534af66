"""The client aggregate: one career-coaching client, one event stream.

Every command validates in a plain method, then triggers an event (``events``) whose
``apply`` only changes state (``apply`` runs again on every replay, so it never judges).
Aggregate state is kept in plain JSON types (str, bool, lists, dicts) so that a
snapshot round-trips through any JSON codec unchanged; times are fixed-width ISO
strings in UTC, which compare correctly as strings.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from coachledger.domain import events
from coachledger.domain.checkins import events as checkins
from coachledger.domain.checkins.commands import CheckinCommands
from coachledger.domain.followup import events as followup
from coachledger.domain.followup.commands import FollowUps
from coachledger.domain.goals import GoalCommands
from coachledger.domain.guards import Guards
from coachledger.domain.guards import check_not_after as _check_not_after
from coachledger.domain.rules import (
    CATEGORIES,
    DEFINERS,
    DIMENSIONS,
    DIRECTIONS,
    HORIZONS,
    SOURCES,
    check_cadence,
    check_choice,
    check_id,
    check_in_scale,
    check_moment,
    check_number,
    check_scale,
    check_weight,
    iso,
    require_reason,
)
from coachledger.errors import (
    ClientWasForgotten,
    DuplicateId,
    InvalidValue,
    RetiredKpi,
    UnknownId,
    did_you_mean,
)
from coachledger.ids import client_id


class Client(GoalCommands, FollowUps, CheckinCommands, Guards, Aggregate):
    """A coaching client and everything recorded about their KPIs."""

    TOPIC = "coachledger:Client"

    # The events of a client's stream (each declared, with what it says about itself, in ``events``).
    Event = events.Event
    Registered = events.Registered
    GoalSet = events.GoalSet
    KpiDefined = events.KpiDefined
    BaselineEstablished = events.BaselineEstablished
    MeasurementRecorded = events.MeasurementRecorded
    MeasurementCorrected = events.MeasurementCorrected
    MeasurementRetracted = events.MeasurementRetracted
    KpiAdjusted = events.KpiAdjusted
    KpiRetired = events.KpiRetired
    FeedbackReceived = events.FeedbackReceived
    SessionLogged = events.SessionLogged
    MilestoneCelebrated = events.MilestoneCelebrated
    Forgotten = events.Forgotten
    # the goal lifecycle (commands in ``goals.GoalCommands``)
    GoalAdjusted = events.GoalAdjusted
    GoalAchieved = events.GoalAchieved
    GoalAbandoned = events.GoalAbandoned
    GoalReopened = events.GoalReopened
    # Between sessions: actions and fixes of any record (their commands: ``FollowUps``).
    ActionOpened = followup.ActionOpened
    ActionCompleted = followup.ActionCompleted
    ActionDropped = followup.ActionDropped
    ClientRenamed = followup.ClientRenamed
    ClientUpdated = followup.ClientUpdated
    SessionAmended = followup.SessionAmended
    SessionRetracted = followup.SessionRetracted
    FeedbackRetracted = followup.FeedbackRetracted
    MilestoneRetracted = followup.MilestoneRetracted
    # Check-ins: clients report their own values (their commands: ``CheckinCommands``).
    CheckinLinkIssued = checkins.CheckinLinkIssued
    CheckinFormIssued = checkins.CheckinFormIssued
    CheckinLinkUsed = checkins.CheckinLinkUsed
    CheckinFormUsed = checkins.CheckinFormUsed
    CheckinLinkRevoked = checkins.CheckinLinkRevoked

    def __init__(self, actor: str, slug: str, name: str, coach: str | None) -> None:
        self.slug = slug
        self.name = name
        self.coach = coach
        self.goals: dict[str, str] = {}
        self.kpis: dict[str, dict[str, Any]] = {}
        self.measurements: dict[str, list[Any]] = {}
        self.measurement_count = 0
        self.celebrated: list[str] = []
        self.forgotten = False
        self.contact: str | None = None
        self.actions: dict[str, str] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.feedback: dict[str, bool] = {}
        self.checkins: dict[str, Any] = {"issued": {}, "last": {}, "feedback": None}

    @staticmethod
    def create_id(slug: str) -> UUID:
        return client_id(slug)

    # -- commands ---------------------------------------------------------

    @classmethod
    def register(
        cls, actor: str, slug: str, name: str, coach: str | None, stream_id: UUID | None = None
    ) -> Client:
        """A new client; ``stream_id``: the ledger's id for the slug (default: the public uuid5)."""
        check_id("client", slug)
        if not name.strip():
            raise InvalidValue("client name must not be empty")
        stream_id = stream_id or client_id(slug)
        return cls._create(cls.Registered, id=stream_id, actor=actor, slug=slug, name=name.strip(), coach=coach)

    def set_goal(self, actor: str, goal: str, text: str, horizon: str, due: datetime | None = None) -> None:
        self._check_writable()
        check_id("goal", goal)
        check_choice("horizon", horizon, HORIZONS)
        if goal in self.goals:
            raise DuplicateId(f"goal '{goal}' already exists for client '{self.slug}'")
        if not text.strip():
            raise InvalidValue("goal text must not be empty")
        check_moment("the due date", due)
        self.trigger_event(self.GoalSet, actor=actor, goal=goal, text=text, horizon=horizon, due=due)

    def define_kpi(
        self,
        actor: str,
        kpi: str,
        *,
        name: str,
        category: str,
        unit: str,
        direction: str,
        target: Decimal,
        due: datetime,
        now: datetime,
        scale_min: Decimal | None = None,
        scale_max: Decimal | None = None,
        dimension: str = "professional",
        horizon: str = "short",
        method: str | None = None,
        goal: str | None = None,
        defined_by: str = "both",
        cadence: str = "monthly",
        weight: Decimal = Decimal(1),
    ) -> None:
        self._check_writable()
        check_id("KPI", kpi)
        check_cadence(cadence)
        check_weight(weight)
        if kpi in self.kpis:
            raise DuplicateId(f"KPI '{kpi}' already exists for client '{self.slug}'")
        check_choice("category", category, CATEGORIES)
        check_choice("direction", direction, DIRECTIONS)
        check_choice("dimension", dimension, DIMENSIONS)
        check_choice("horizon", horizon, HORIZONS)
        check_choice("defined-by", defined_by, DEFINERS)
        if not name.strip():
            raise InvalidValue("KPI name must not be empty")
        if goal is not None and goal not in self.goals:
            raise UnknownId(f"unknown goal '{goal}' for client '{self.slug}'{did_you_mean(goal, self.goals)}")
        check_scale(scale_min, scale_max)
        check_in_scale("target", target, scale_min, scale_max)
        check_moment("the due date", due)
        if due <= now:
            raise InvalidValue(f"due date {due.date()} must be after the definition date {now.date()}")
        self.trigger_event(
            self.KpiDefined,
            actor=actor,
            kpi=kpi,
            name=name.strip(),
            category=category,
            unit=unit,
            direction=direction,
            target=target,
            due=due,
            scale_min=scale_min,
            scale_max=scale_max,
            dimension=dimension,
            horizon=horizon,
            method=method,
            goal=goal,
            defined_by=defined_by,
            cadence=cadence,
            weight=weight,
        )

    def establish_baseline(
        self,
        actor: str,
        kpi: str,
        value: Decimal,
        effective_at: datetime,
        source: str | None = None,
        reason: str | None = None,
        now: datetime | None = None,
        confirmed: bool = False,
    ) -> None:
        state = self._open_kpi(kpi)
        if state["baseline"]:
            reason = require_reason(reason, f"KPI '{kpi}' already has a baseline; re-baselining")
        _check_not_after("a baseline", effective_at, now)
        self._check_value(kpi, value, effective_at)
        if not confirmed:
            self._check_magnitude(kpi, value, effective_at)
        self.trigger_event(
            self.BaselineEstablished,
            actor=actor,
            kpi=kpi,
            value=value,
            effective_at=effective_at,
            source=source,
            reason=reason,
        )

    def record_measurement(
        self,
        actor: str,
        kpi: str,
        value: Decimal,
        effective_at: datetime,
        source: str = "coach",
        note: str | None = None,
        confidence: int | None = None,
        now: datetime | None = None,
        confirmed: bool = False,
        via: str | None = None,
    ) -> str:
        self._open_kpi(kpi)
        check_choice("source", source, SOURCES)
        if confidence is not None and not 0 <= confidence <= 10:
            raise InvalidValue(f"confidence must be between 0 and 10, not {confidence}")
        _check_not_after("a measurement", effective_at, now)
        self._check_value(kpi, value, effective_at)
        if not confirmed:
            self._check_magnitude(kpi, value, effective_at)
        measurement_id = f"m{self.measurement_count + 1}"
        self.trigger_event(
            self.MeasurementRecorded,
            actor=actor,
            measurement_id=measurement_id,
            kpi=kpi,
            value=value,
            effective_at=effective_at,
            source=source,
            note=note,
            confidence=confidence,
            via=via,
        )
        return measurement_id

    def correct_measurement(
        self, actor: str, measurement_id: str, value: Decimal, reason: str | None
    ) -> None:
        kpi, effective, _ = self._open_measurement(measurement_id)
        reason = require_reason(reason, "a correction")
        self._check_value(kpi, value, datetime.fromisoformat(effective))
        self.trigger_event(
            self.MeasurementCorrected,
            actor=actor,
            measurement_id=measurement_id,
            value=value,
            reason=reason,
        )

    def retract_measurement(self, actor: str, measurement_id: str, reason: str | None) -> None:
        self._open_measurement(measurement_id)
        reason = require_reason(reason, "a retraction")
        self.trigger_event(
            self.MeasurementRetracted, actor=actor, measurement_id=measurement_id, reason=reason
        )

    def adjust_kpi(
        self,
        actor: str,
        kpi: str,
        *,
        reason: str | None,
        effective_at: datetime,
        name: str | None = None,
        unit: str | None = None,
        target: Decimal | None = None,
        due: datetime | None = None,
        scale_min: Decimal | None = None,
        scale_max: Decimal | None = None,
        rescale: bool = False,
        factor: Decimal | None = None,
        method: str | None = None,
        goal: str | None = None,
        dimension: str | None = None,
        horizon: str | None = None,
        cadence: str | None = None,
        weight: Decimal | None = None,
    ) -> None:
        state = self._open_kpi(kpi)
        reason = require_reason(reason, "a KPI adjustment")
        check_choice("dimension", dimension, DIMENSIONS)
        check_choice("horizon", horizon, HORIZONS)
        if cadence is not None:
            check_cadence(cadence)
        check_weight(weight)
        changes = (name, unit, target, due, scale_min, method, goal, dimension, horizon, factor, cadence, weight)
        if all(c is None for c in changes):
            raise InvalidValue("an adjustment must change at least one field")
        if rescale and scale_min is None:
            raise InvalidValue("--rescale needs a new --scale")
        if factor is not None:
            check_number("--factor", factor)
            if factor <= 0:
                raise InvalidValue("--factor must be a positive number")
        check_moment("the effective date", effective_at)
        check_moment("the due date", due)
        if goal is not None and goal not in self.goals:
            raise UnknownId(f"unknown goal '{goal}' for client '{self.slug}'{did_you_mean(goal, self.goals)}")
        if name is not None and not name.strip():
            raise InvalidValue("KPI name must not be empty")
        if scale_min is not None:
            check_scale(scale_min, scale_max)
        if due is not None and iso(due) <= state["defined_at"]:
            raise InvalidValue(f"due date {due.date()} must be after the KPI's definition date")
        if target is not None:
            low: Decimal | None
            high: Decimal | None
            if scale_min is not None:
                low, high = scale_min, scale_max
            else:
                low, high = self._scale_at(kpi, effective_at)
                if factor is not None and low is not None and high is not None:
                    low, high = low * factor, high * factor
            check_in_scale("target", target, low, high)
        self.trigger_event(
            self.KpiAdjusted,
            actor=actor,
            kpi=kpi,
            reason=reason,
            effective_at=effective_at,
            name=name,
            unit=unit,
            target=target,
            due=due,
            scale_min=scale_min,
            scale_max=scale_max,
            rescale=rescale,
            factor=factor,
            method=method,
            goal=goal,
            dimension=dimension,
            horizon=horizon,
            cadence=cadence,
            weight=weight,
        )

    def retire_kpi(self, actor: str, kpi: str, reason: str | None, effective_at: datetime) -> None:
        self._open_kpi(kpi)
        reason = require_reason(reason, "retiring a KPI")
        check_moment("the effective date", effective_at)
        self.trigger_event(self.KpiRetired, actor=actor, kpi=kpi, reason=reason, effective_at=effective_at)

    def receive_feedback(
        self,
        actor: str,
        rating: int,
        comment: str | None,
        about: str,
        effective_at: datetime,
        via: str | None = None,
    ) -> None:
        self._check_writable()
        if not 1 <= rating <= 5:
            raise InvalidValue(f"rating must be between 1 and 5, not {rating}")
        if about.startswith("kpi:"):
            self._known_kpi(about[4:])
        elif about not in ("session", "process"):
            raise InvalidValue(f"about must be 'session', 'process' or 'kpi:<id>', not '{about}'")
        check_moment("the date", effective_at)
        self.trigger_event(
            self.FeedbackReceived,
            actor=actor,
            rating=rating,
            comment=comment,
            about=about,
            effective_at=effective_at,
            via=via,
        )

    def log_session(
        self,
        actor: str,
        effective_at: datetime,
        notes: str,
        kpis: list[str],
        actions: list[str],
    ) -> None:
        self._check_writable()
        if not notes.strip():
            raise InvalidValue("session notes must not be empty")
        check_moment("the date", effective_at)
        for kpi in kpis:
            self._known_kpi(kpi)
        self.trigger_event(
            self.SessionLogged,
            actor=actor,
            effective_at=effective_at,
            notes=notes,
            kpis=list(kpis),
            actions=list(actions),
        )

    def celebrate_milestone(self, actor: str, target: str, note: str | None) -> None:
        self._check_writable()
        if target in self.kpis:
            kind = "kpi"
        elif target in self.goals:
            kind = "goal"
        else:
            hint = did_you_mean(target, [*self.kpis, *self.goals])
            raise UnknownId(f"'{target}' is neither a KPI nor a goal of client '{self.slug}'{hint}")
        if target in self.celebrated:
            raise DuplicateId(f"the milestone of '{target}' was already celebrated")
        self.trigger_event(self.MilestoneCelebrated, actor=actor, target=target, kind=kind, note=note)

    def forget(self, actor: str) -> None:
        if self.forgotten:
            raise ClientWasForgotten(f"client '{self.slug}' was already forgotten")
        self.trigger_event(self.Forgotten, actor=actor)

    # -- rules ------------------------------------------------------------

    def _check_writable(self) -> None:
        if self.forgotten:
            raise ClientWasForgotten("this client was forgotten on request; nothing more is recorded")

    def _known_kpi(self, kpi: str) -> dict[str, Any]:
        try:
            return self.kpis[kpi]
        except KeyError:
            hint = did_you_mean(kpi, self.kpis)
            raise UnknownId(f"unknown KPI '{kpi}' for client '{self.slug}'{hint}") from None

    def _open_kpi(self, kpi: str) -> dict[str, Any]:
        self._check_writable()
        state = self._known_kpi(kpi)
        if state["retired"]:
            raise RetiredKpi(f"KPI '{kpi}' is retired; it takes no new entries")
        return state

    def _open_measurement(self, measurement_id: str) -> list[Any]:
        self._check_writable()
        try:
            entry = self.measurements[measurement_id]
        except KeyError:
            hint = did_you_mean(measurement_id, self.measurements)
            raise UnknownId(
                f"unknown measurement '{measurement_id}' for client '{self.slug}'{hint}"
            ) from None
        if entry[2]:
            raise InvalidValue(f"measurement '{measurement_id}' was retracted")
        return entry

    def _scale_at(self, kpi: str, at: datetime) -> tuple[Decimal | None, Decimal | None]:
        """The scale of the definition in force at ``at`` (the first definition before it)."""
        state = self.kpis[kpi]
        low, high = (Decimal(v) if v is not None else None for v in state["scale"])
        moment = iso(at)
        for effective, new_min, new_max, factor in state["adjustments"]:
            if effective > moment:
                break
            if new_min is not None:
                low, high = Decimal(new_min), Decimal(new_max)
            elif factor is not None and low is not None and high is not None:
                low, high = low * Decimal(factor), high * Decimal(factor)
        return low, high

    def _check_value(self, kpi: str, value: Decimal, effective_at: datetime) -> None:
        check_moment("the effective date", effective_at)
        low, high = self._scale_at(kpi, effective_at)
        check_in_scale("value", value, low, high)
