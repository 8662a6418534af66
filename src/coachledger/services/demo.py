"""A realistic, deterministic demo ledger: coaches, clients and a year of coaching.

Every event goes through the domain (so the demo obeys every rule of the ledger), under a
controlled clock: each client's story is planned as timed actions (intake, monthly
measurements with noise, sessions, feedback, corrections, retractions, back-dated
entries, adjustments including a rescale and a unit change, milestones, check-ins the
clients answer), then played in time order with the clock set to each action's time. The
same seed and arguments give the same events, byte for byte, with the same recording times.

The events of all clients are then merged in recording order and appended in bulk
(``transfer.bulk_append``), a few thousand per transaction.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from coachledger.adapters.codec import LedgerStoredEvent, MsgspecMapper
from coachledger.domain import Client
from coachledger.services import demo_checkins, demo_followup, demo_goals
from coachledger.services.demo_data import (
    ACTIONS,
    CADENCES,
    CATEGORY_ORDER,
    COACHES,
    COMMENTS,
    CORRECTION_REASONS,
    DAY,
    DEMO_END,
    FIRST,
    GOALS,
    LAST,
    SESSION_NOTES,
    TEMPLATES,
    WEIGHTS,
    Clock,
    DemoSummary,
    KpiTemplate,
    add_months,
    controlled_clock,
    day_of,
    slug_of,
    working_time,
)


@dataclass
class KpiPlan:
    t: KpiTemplate
    baseline: float
    target: float  # in the KPI's first scale and unit
    due: datetime
    final: float  # share of the way to the target reached by the due date
    shape: float
    raises: list[tuple[datetime, float]] = field(default_factory=list)  # salary steps
    rescaled_at: datetime | None = None
    factor_at: datetime | None = None
    retired_at: datetime | None = None


@dataclass(order=True)
class Action:
    at: datetime
    order: int
    run: Callable[[], Any] = field(compare=False)


class Story:
    """One client's coaching, planned as timed actions and played through the domain."""

    def __init__(self, index: int, slug: str, name: str, coach: str, seed: int, months: int, until: datetime):
        self.rng = random.Random(f"coachledger-demo:{seed}:{index}")
        self.seed = seed
        self.index = index
        self.slug = slug
        self.name = name
        self.coach = coach
        self.until = until
        self.window_start = add_months(until, -months)
        self.actions: list[Action] = []
        self.handles: dict[str, str] = {}  # planned measurement handle -> measurement id
        self.client: Client | None = None
        self.clock = Clock()
        self.kpis: list[KpiPlan] = []
        self.start = self.window_start

    # -- plan ---------------------------------------------------------------------------

    def plan(self) -> None:
        rng = self.rng
        span_days = max(1, (self.until - self.window_start).days)
        start = working_time(rng, self.window_start + timedelta(days=rng.randint(0, max(0, span_days // 5))))
        if start >= self.until - 7 * DAY:
            start = working_time(rng, self.window_start)
        self.start = start
        categories = self._categories()
        self.kpis = [self._kpi_plan(c, start) for c in categories]
        goals = sorted({k.t.goal for k in self.kpis}, key=list(GOALS).index)
        sessions = self._session_times(start)

        self._at(start, self._register)
        moment = start + timedelta(minutes=5)
        for goal in goals:
            self._at(moment, self._goal, goal, start)
            moment += timedelta(minutes=3)
        baseline_day = day_of(start) - DAY * rng.randint(0, 10)
        for k in self.kpis:
            self._at(moment, self._define, k, moment)
            self._at(moment + timedelta(minutes=2), self._baseline, k, baseline_day)
            moment += timedelta(minutes=6)
        self._session(start + timedelta(minutes=50), day_of(start), intake=True)

        self._plan_adjustments(sessions)
        for k in self.kpis:
            self._plan_measurements(k, sessions)
        for when in sessions:
            self._session(when, when)
        demo_goals.plan(self)  # the goal lifecycle
        demo_followup.plan_fixes(self)  # fixes of records, cadence and weight changes, the next session
        demo_checkins.plan(self)  # links and forms the clients answer

    def _categories(self) -> list[str]:
        if self.index == 0:
            return ["job-satisfaction", "salary", "skill", "work-life-balance", "networking"]
        fixed = [CATEGORY_ORDER[(4 * self.index + k) % len(CATEGORY_ORDER)] for k in range(3)]
        others = [c for c in CATEGORY_ORDER if c not in fixed]
        chosen = fixed + self.rng.sample(others, self.rng.randint(1, 3))
        return sorted(chosen, key=CATEGORY_ORDER.index)

    def _kpi_plan(self, category: str, start: datetime) -> KpiPlan:
        rng = self.rng
        t = rng.choice(TEMPLATES[category]) if self.index else TEMPLATES[category][0]
        months = rng.randint(9, 14) if t.horizon == "short" else rng.randint(15, 24)
        due = day_of(add_months(start, months))
        base = rng.uniform(*t.baseline)
        if t.kpi == "salary":
            base = float(round(base / 500) * 500)
            target = float(round(base * (1 + rng.uniform(*t.gain)) / 1000) * 1000)
        else:
            gain = rng.uniform(*t.gain)
            target = base + gain if t.direction == "increase" else base - gain
            base, target = self._q(t, base), self._q(t, target)
        engagement = rng.uniform(0.4, 1.1)
        plan = KpiPlan(t, base, target, due, final=engagement, shape=rng.uniform(0.7, 1.4))
        if t.kpi == "salary":
            steps = [(day_of(add_months(start, rng.randint(2, 10))), rng.uniform(0.03, 0.12))]
            if rng.random() < 0.3:
                steps.append((day_of(add_months(start, rng.randint(8, 14))), rng.uniform(0.02, 0.06)))
            plan.raises = sorted(steps)
        return plan

    def _q(self, t: KpiTemplate, value: float) -> float:
        step = float(t.step)
        value = round(value / step) * step
        if t.scale is not None:
            value = min(max(value, float(t.scale[0])), float(t.scale[1]))
        return max(value, 0.0)

    def _session_times(self, start: datetime) -> list[datetime]:
        out = []
        moment = start + timedelta(days=self.rng.randint(12, 24))
        while moment < self.until - DAY:
            out.append(working_time(self.rng, moment))
            moment += timedelta(days=self.rng.randint(14, 28))
        return [s for s in out if s < self.until]

    def _plan_adjustments(self, sessions: list[datetime]) -> None:
        rng = self.rng
        later = [s for s in sessions if s > self.start + 60 * DAY]
        if not later:
            return
        for k in self.kpis:
            if k.t.kpi == "satisfaction" and (self.index == 0 or rng.random() < 0.5):
                when = later[len(later) // 2]
                k.rescaled_at = day_of(when)
                new_target = Decimal(rng.choice(("8", "8.5"))) if rng.random() < 0.5 else None
                self._at(when + timedelta(minutes=70), self._rescale, k, new_target)
            elif k.t.kpi == "salary" and (self.index == 0 or rng.random() < 0.35):
                when = later[len(later) // 3]
                k.factor_at = day_of(when)
                self._at(when + timedelta(minutes=70), self._factor, k)
        others = [k for k in self.kpis if k.t.kpi not in ("satisfaction", "salary")]
        if len(others) > 1 and rng.random() < 0.06:
            k = rng.choice(others)
            when = later[min(len(later) - 1, int(len(later) * 0.6))]
            k.retired_at = when + timedelta(minutes=85)
            self._at(k.retired_at, self._retire, k)
        if others and rng.random() < 0.15:
            k = rng.choice(others)
            when = rng.choice(later) + timedelta(minutes=75)
            if k.retired_at is None or when < k.retired_at:
                self._at(when, self._raise_target, k)
        if others and rng.random() < 0.1:
            k = rng.choice(others)
            when = rng.choice(later) + timedelta(minutes=80)
            if k.retired_at is None or when < k.retired_at:
                self._at(when, self._extend_due, k)

    def _plan_measurements(self, k: KpiPlan, sessions: list[datetime]) -> None:
        rng = self.rng
        celebrated = False
        month = 1
        while True:
            effective = day_of(add_months(self.start, month)) + DAY * rng.randint(-3, 3)
            month += 1
            if effective > self.until - 2 * DAY:
                break
            recorded = working_time(rng, effective + DAY * rng.randint(0, 3))
            late = rng.random() < 0.08
            if late:
                recorded = working_time(rng, effective + DAY * rng.randint(12, 40))
            recorded = min(recorded, self.until - timedelta(minutes=rng.randint(5, 300)))
            for changed in (k.rescaled_at, k.factor_at):
                if changed is not None and effective >= changed and recorded < changed + 2 * DAY:
                    recorded = working_time(rng, changed + 2 * DAY)
            if k.retired_at is not None and recorded >= k.retired_at:
                break
            if recorded > self.until:
                break
            base_value = self._true_value(k, effective)
            value = self._entered(k, base_value, effective)
            handle = f"{k.t.kpi}:{month}"
            note = f"Entered late from the {effective:%B} records" if late else None
            if rng.random() < 0.03:
                typo = self._typo(k, value, effective)
                fixed_at = working_time(rng, recorded + DAY * rng.randint(1, 10))
                if typo != value and fixed_at < self.until:
                    self._at(recorded, self._measure, k, handle, typo, effective, note)
                    self._at(fixed_at, self._correct, handle, value)
                else:
                    self._at(recorded, self._measure, k, handle, value, effective, note)
            else:
                self._at(recorded, self._measure, k, handle, value, effective, note)
            if rng.random() < 0.015:
                twice = recorded + timedelta(minutes=4)
                retract_at = working_time(rng, twice + DAY * rng.randint(1, 7))
                if retract_at < self.until and (k.retired_at is None or twice < k.retired_at):
                    self._at(twice, self._measure, k, handle + "b", value, effective, None)
                    self._at(retract_at, self._retract, handle + "b")
            if not celebrated and self._achieved(k, base_value):
                after = [s for s in sessions if s > recorded]
                if after:
                    celebrated = True
                    self._at(after[0] + timedelta(minutes=90), self._celebrate, k)

    def _true_value(self, k: KpiPlan, effective: datetime, rng: random.Random | None = None) -> float:
        """The value in the KPI's first scale and unit on ``effective`` (its noise from ``rng``)."""
        if k.t.kpi == "salary":
            value = k.baseline
            for when, pct in k.raises:
                if effective >= when:
                    value *= 1 + pct
            return round(value / 500) * 500
        span = max(1.0, (k.due - self.start).total_seconds())
        u = min(1.2, max(0.0, (effective - self.start).total_seconds() / span))
        share = k.final * u**k.shape
        distance = k.target - k.baseline
        noise = (rng or self.rng).gauss(0, k.t.noise * abs(distance))
        return self._q(k.t, k.baseline + share * distance + noise)

    def _entered(self, k: KpiPlan, value: float, effective: datetime) -> Decimal:
        """The value as entered: in the scale and unit in force on ``effective``."""
        if k.rescaled_at is not None and effective >= k.rescaled_at:
            return _dec(1 + (value - 1) * 9 / 4, Decimal("0.1"))
        if k.factor_at is not None and effective >= k.factor_at:
            return _dec(value / 1000, Decimal("0.5"))
        return _dec(value, k.t.step)

    def _typo(self, k: KpiPlan, value: Decimal, effective: datetime) -> Decimal:
        scale = k.t.scale
        if scale is None:
            return value * 10 if value < 1000 else (value / 10).quantize(Decimal(1))
        low, high = Decimal(scale[0]), Decimal(scale[1])
        if k.rescaled_at is not None and effective >= k.rescaled_at:
            low, high = Decimal(1), Decimal(10)
        jump = Decimal(self.rng.choice((-3, -2, 2, 3))) * max(k.t.step, (high - low) / 20)
        return min(max(value + jump, low), high)

    def _achieved(self, k: KpiPlan, value: float) -> bool:
        if k.t.direction == "increase":
            return value >= k.target
        return value <= k.target

    def _session(self, when: datetime, effective: datetime, *, intake: bool = False) -> None:
        rng = self.rng
        kpis = [k.t.kpi for k in self.kpis]
        if intake:
            notes, discussed = "Intake: goals, KPIs and how we will measure them.", kpis
            actions = ["Collect last month's time sheets", "Fill in the intake questionnaire"]
        else:
            notes = rng.choice(SESSION_NOTES)
            discussed = rng.sample(kpis, min(len(kpis), rng.randint(1, 3)))
            actions = rng.sample(ACTIONS, rng.randint(1, 2))
        self._at(when, self._log_session, effective, notes, discussed, actions)
        if not intake and rng.random() < 0.6:
            rating = rng.choices((1, 2, 3, 4, 5), weights=(1, 3, 12, 42, 42))[0]
            roll = rng.random()
            about = "session" if roll < 0.75 else "process" if roll < 0.9 else f"kpi:{rng.choice(kpis)}"
            given = when + timedelta(hours=rng.randint(1, 2))  # the coach records it after the session
            if given.hour >= 19 or rng.random() < 0.4:
                given = working_time(rng, when + DAY)
            if given < self.until:
                self._at(given, self._feedback, rating, rng.choice(COMMENTS), about, day_of(given))

    def _at(self, when: datetime, fn: Callable[..., Any], *args: Any) -> None:
        self.actions.append(Action(when, len(self.actions), lambda: fn(*args)))

    # -- play ---------------------------------------------------------------------------

    def play(self, clock: Clock, mapper: MsgspecMapper) -> list[LedgerStoredEvent]:
        """Run the planned actions in time order; the client's stored events."""
        clock.last = datetime.min.replace(tzinfo=UTC)
        self.clock = clock
        for action in sorted(self.actions):
            clock.set(action.at)
            action.run()
        assert self.client is not None
        return [mapper.to_stored_event(e) for e in self.client.collect_events()]  # type: ignore[misc]

    @property
    def c(self) -> Client:
        assert self.client is not None
        return self.client

    def _register(self) -> None:
        self.client = Client.register(self.coach, self.slug, self.name, self.coach)

    def _goal(self, goal: str, start: datetime) -> None:
        text, horizon = GOALS[goal]
        due = day_of(add_months(start, 18 if horizon == "long" else 9))
        self.c.set_goal(self.coach, goal, text, horizon, due)

    def _define(self, k: KpiPlan, now: datetime) -> None:
        t = k.t
        self.c.define_kpi(
            self.coach,
            t.kpi,
            name=t.name,
            category=t.category,
            unit=t.unit,
            direction=t.direction,
            target=_dec(k.target, t.step),
            due=k.due,
            now=now,
            scale_min=Decimal(t.scale[0]) if t.scale else None,
            scale_max=Decimal(t.scale[1]) if t.scale else None,
            dimension=t.dimension,
            horizon=t.horizon,
            method=t.method,
            goal=t.goal,
            defined_by=self.rng.choice(("both", "both", "coach", "client")),
            cadence=CADENCES.get(t.kpi, "monthly"), weight=WEIGHTS.get(t.kpi, Decimal(1)),
        )

    def _baseline(self, k: KpiPlan, effective: datetime) -> None:
        self.c.establish_baseline(self.coach, k.t.kpi, _dec(k.baseline, k.t.step), effective, "intake")

    def _measure(
        self, k: KpiPlan, handle: str, value: Decimal, effective: datetime, note: str | None
    ) -> None:
        sure = demo_goals.confidence(self, k, handle, effective)
        self.handles[handle] = self.c.record_measurement(
            self.coach, k.t.kpi, value, effective, k.t.source, note, sure
        )

    def _correct(self, handle: str, value: Decimal) -> None:
        self.c.correct_measurement(
            self.coach, self.handles[handle], value, self.rng.choice(CORRECTION_REASONS)
        )

    def _retract(self, handle: str) -> None:
        self.c.retract_measurement(self.coach, self.handles[handle], "Duplicate entry of the same record")

    def _rescale(self, k: KpiPlan, target: Decimal | None) -> None:
        assert k.rescaled_at is not None
        self.c.adjust_kpi(
            self.coach,
            k.t.kpi,
            reason="Moved to the company's 10-point survey; earlier values rescaled",
            effective_at=k.rescaled_at,
            scale_min=Decimal(1),
            scale_max=Decimal(10),
            rescale=True,
            target=target,
        )
        if target is not None:
            k.target = 1 + (float(target) - 1) * 4 / 9

    def _factor(self, k: KpiPlan) -> None:
        assert k.factor_at is not None
        self.c.adjust_kpi(
            self.coach, k.t.kpi, reason="Salaries reported in thousands (kEUR) from now on",
            effective_at=k.factor_at, unit="kEUR", factor=Decimal("0.001"),
        )  # fmt: skip

    def _raise_target(self, k: KpiPlan) -> None:
        t = k.t
        bump = abs(k.target - k.baseline) * self.rng.uniform(0.1, 0.25)
        target = self._q(t, k.target + bump if t.direction == "increase" else k.target - bump)
        if target == k.target:
            return
        k.target = target
        self.c.adjust_kpi(
            self.coach,
            t.kpi,
            reason="Raised the target after an early win",
            effective_at=day_of(self.c_now()),
            target=_dec(target, t.step),
        )

    def _extend_due(self, k: KpiPlan) -> None:
        k.due = day_of(add_months(k.due, 3))
        self.c.adjust_kpi(
            self.coach,
            k.t.kpi,
            reason="Parental leave: due date moved by three months",
            effective_at=day_of(self.c_now()),
            due=k.due,
        )

    def _retire(self, k: KpiPlan) -> None:
        self.c.retire_kpi(
            self.coach, k.t.kpi, "The client changed roles; this KPI no longer applies", day_of(self.c_now())
        )

    def _log_session(self, effective: datetime, notes: str, kpis: list[str], actions: list[str]) -> None:
        demo_followup.log_session(self, effective, notes, kpis, actions)  # with its actions followed up

    def _feedback(self, rating: int, comment: str | None, about: str, effective: datetime) -> None:
        self.c.receive_feedback(self.coach, rating, comment, about, effective)

    def _celebrate(self, k: KpiPlan) -> None:
        if k.t.kpi not in self.c.celebrated:
            self.c.celebrate_milestone(self.coach, k.t.kpi, f"Reached the target: {k.t.name.lower()}")
        goal = k.t.goal
        if goal not in self.c.celebrated and all(
            p.t.kpi in self.c.celebrated for p in self.kpis if p.t.goal == goal
        ):
            self.c.celebrate_milestone(self.coach, goal, "Every KPI of this goal reached its target")
            demo_goals.achieve_if_open(self, goal, day_of(self.clock.now))

    def c_now(self) -> datetime:
        return self.clock.now


def _dec(value: float, step: Decimal) -> Decimal:
    return (Decimal(repr(value)) / step).quantize(Decimal(1)) * step if math.isfinite(value) else Decimal(0)


def people(count: int) -> list[tuple[str, str, str]]:
    """(slug, name, coach) of each demo client; the first is always Ana López, coached by maria."""
    rng = random.Random("coachledger-demo-people")
    out: list[tuple[str, str, str]] = []
    used: set[str] = set()
    for i in range(count):
        name = "Ana López" if i == 0 else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        slug = base = slug_of(name)
        n = 2
        while slug in used:
            slug, n = f"{base}-{n}", n + 1
        used.add(slug)
        coach = COACHES[0] if i == 0 else COACHES[rng.randrange(len(COACHES))]
        out.append((slug, name, coach))
    return out


def generate(
    clients: int, months: int, seed: int, until: datetime = DEMO_END
) -> tuple[list[LedgerStoredEvent], DemoSummary]:
    """Every event of the demo ledger, in recording order."""
    mapper = MsgspecMapper()
    events: list[tuple[str, int, int, LedgerStoredEvent]] = []
    kpis = 0
    cast = people(clients)
    with controlled_clock() as clock:
        for index, (slug, name, coach) in enumerate(cast):
            story = Story(index, slug, name, coach, seed, months, until)
            story.plan()
            kpis += len(story.kpis)
            for e in story.play(clock, mapper):
                events.append((e.recorded_at, index, e.originator_version, e))  # type: ignore[attr-defined]
    events.sort(key=lambda item: item[:3])
    summary = DemoSummary(
        clients=clients,
        coaches=len({coach for _, _, coach in cast}),
        kpis=kpis,
        events=len(events),
        first=cast[0][0],
        until=until,
    )
    return [e for *_, e in events], summary
