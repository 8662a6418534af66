"""A realistic, deterministic demo ledger: coaches, clients and a year of coaching.

Every event goes through the domain (so the demo obeys every rule of the ledger), under a
controlled clock: each client's story is planned as timed actions (intake, monthly
measurements with noise, sessions, feedback, corrections, retractions, back-dated
entries, adjustments including a rescale and a unit change, milestones), then played
in time order with the clock set to each action's time. The same seed and arguments
give the same events, byte for byte, with the same recording times.

The events of all clients are then merged in recording order and appended in bulk
(``transfer.bulk_append``), a few thousand per transaction.
"""

from __future__ import annotations

import contextlib
import math
import random
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from coachledger.adapters.codec import LedgerStoredEvent, MsgspecMapper
from coachledger.domain import Client
from coachledger.services import demo_followup, demo_goals

DEMO_END = datetime(2026, 10, 30, 17, 0, tzinfo=UTC)
COACHES = ("maria", "jonas", "aiko", "sam", "priya")
DAY = timedelta(days=1)

FIRST = (
    "Ana", "Ben", "Chloé", "David", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jakob", "Kemal", "Lena",
    "Mateo", "Nora", "Oskar", "Paula", "Quentin", "Rosa", "Samir", "Tara", "Umar", "Vera", "Wen", "Ximena",
    "Yusuf", "Zoe", "Amara", "Bruno", "Carla", "Dmitri", "Emma", "Felix", "Hana", "Ivan", "Julia", "Kai",
    "Lucía", "Marek", "Nadia", "Omar",
)  # fmt: skip
LAST = (
    "López", "Schmidt", "Nguyen", "Okafor", "Rossi", "Yılmaz", "Dubois", "Kowalski", "Silva", "Jansen",
    "Haddad", "Novak", "Berg", "Costa", "Fischer", "Ibrahim", "Kim", "Larsen", "Moreau", "Nakamura",
    "Petrov", "Quinn", "Richter", "Sato", "Tanaka", "Urban", "Vogel", "Weber", "Xu", "Zimmermann",
    "Andersen", "Brown", "Castro", "Dahl", "Eriksen", "García", "Hoffmann", "Ito", "Jovanović", "Keller",
)  # fmt: skip


@dataclass(frozen=True)
class KpiTemplate:
    kpi: str
    name: str
    category: str
    unit: str
    direction: str
    scale: tuple[int, int] | None
    baseline: tuple[float, float]
    gain: tuple[float, float]  # how far the target lies from the baseline (a fraction for salary)
    step: Decimal  # values are entered to this precision
    dimension: str
    horizon: str
    method: str
    source: str
    goal: str
    noise: float  # measurement noise, as a share of the distance to the target


TEMPLATES: dict[str, tuple[KpiTemplate, ...]] = {
    "job-satisfaction": (
        KpiTemplate("satisfaction", "Job satisfaction", "job-satisfaction", "points", "increase", (1, 5),
                    (1.8, 3.0), (1.1, 1.8), Decimal("0.1"), "personal", "short",
                    "Monthly pulse survey, average of five questions", "survey", "wellbeing", 0.18),
    ),
    "salary": (
        KpiTemplate("salary", "Base salary", "salary", "EUR", "increase", None, (42000, 95000),
                    (0.08, 0.2), Decimal("500"), "professional", "long", "Payslip", "document",
                    "career-step", 0.0),
    ),
    "promotion": (
        KpiTemplate("promotion-readiness", "Promotion readiness", "promotion", "%", "increase", (0, 100),
                    (20, 45), (35, 55), Decimal("5"), "professional", "long",
                    "Manager's assessment against the next level's profile", "document", "career-step", 0.12),
    ),
    "skill": (
        KpiTemplate("public-speaking", "Public speaking confidence", "skill", "points", "increase", (1, 10),
                    (2, 4), (3.5, 5), Decimal("1"), "professional", "short",
                    "Self-assessment after each presentation", "self", "grow-skills", 0.15),
        KpiTemplate("sql-score", "SQL assessment score", "skill", "points", "increase", (0, 100),
                    (30, 55), (25, 40), Decimal("1"), "professional", "short",
                    "Online skills assessment", "document", "grow-skills", 0.1),
    ),
    "networking": (
        KpiTemplate("new-contacts", "New professional contacts per month", "networking", "contacts",
                    "increase", None, (1, 3), (4, 8), Decimal("1"), "professional", "short",
                    "Count from the networking log", "self", "grow-skills", 0.3),
    ),
    "work-life-balance": (
        KpiTemplate("overtime", "Weekly overtime", "work-life-balance", "hours", "decrease", (0, 40),
                    (8, 16), (5, 10), Decimal("0.5"), "personal", "short",
                    "Average over the month, from time sheets", "self", "wellbeing", 0.2),
        KpiTemplate("stress", "Stress level", "work-life-balance", "points", "decrease", (0, 10),
                    (6, 9), (3, 5), Decimal("1"), "personal", "long",
                    "Weekly check-in, monthly average", "self", "wellbeing", 0.2),
    ),
    "goal-achievement": (
        KpiTemplate("actions-done", "Agreed actions completed", "goal-achievement", "%", "increase", (0, 100),
                    (20, 45), (35, 55), Decimal("5"), "professional", "short",
                    "Share of session actions done by the next session", "coach", "grow-skills", 0.15),
    ),
    "client-feedback": (
        KpiTemplate("coaching-value", "Value of coaching to the client", "client-feedback", "points",
                    "increase", (1, 10), (5, 7), (2, 3), Decimal("1"), "personal", "long",
                    "Quarterly client questionnaire", "survey", "wellbeing", 0.15),
    ),
}  # fmt: skip
CATEGORY_ORDER = tuple(TEMPLATES)
# How often each KPI is measured (the rest monthly), so that `due` has something to say.
CADENCES = {
    "stress": "weekly",
    "overtime": "weekly",
    "salary": "quarterly",
    "promotion-readiness": "quarterly",
    "coaching-value": "quarterly",
}
GOALS = {
    "career-step": ("Take the next career step: lead a team", "long"),
    "grow-skills": ("Grow the skills the next role asks for", "short"),
    "wellbeing": ("Work sustainably and enjoy it again", "short"),
}
SESSION_NOTES = (
    "Reviewed the month's numbers and what moved them.",
    "Prepared the conversation with the manager about the next level.",
    "Worked on saying no to low-value meetings.",
    "Role-played the salary negotiation.",
    "Mapped the network: who to meet this month and why.",
    "Looked at energy levels across the week; planned recovery time.",
    "Debriefed the presentation to the leadership team.",
    "Revisited the goals: still the right ones?",
)
ACTIONS = (
    "Book a 1:1 with the manager",
    "Ask two colleagues for feedback",
    "Block two focus mornings a week",
    "Reach out to three people in the target team",
    "Present at the team meeting",
    "Finish the SQL course module",
    "Leave by 18:00 three days a week",
    "Write down the achievements of the quarter",
)
COMMENTS = (
    "Very helpful, clear next steps.",
    "Good session, a bit rushed at the end.",
    "The role-play made me much more confident.",
    "I would like more time on the salary topic.",
    None,
    None,
)
CORRECTION_REASONS = (
    "Typo in the survey export",
    "Wrong column copied from the spreadsheet",
    "The client sent the corrected figure",
)


@dataclass(frozen=True)
class DemoSummary:
    clients: int
    coaches: int
    kpis: int
    events: int
    first: str  # the first client's slug, the one the summary shows
    until: datetime


class Clock:
    """The demo's clock: every event is stamped with the time it was set to, plus a tick."""

    def __init__(self) -> None:
        self.now = DEMO_END
        self.last = datetime.min.replace(tzinfo=UTC)

    def set(self, moment: datetime) -> None:
        self.now = moment

    def read(self) -> datetime:
        moment = max(self.now, self.last + timedelta(seconds=1))
        self.last = moment
        return moment


@contextlib.contextmanager
def controlled_clock() -> Iterator[Clock]:
    """Stamp the client's events from a demo clock instead of the system clock."""
    clock = Clock()
    had = "create_timestamp" in Client.Event.__dict__
    previous = Client.Event.__dict__.get("create_timestamp")
    setattr(Client.Event, "create_timestamp", staticmethod(clock.read))  # noqa: B010
    try:
        yield clock
    finally:
        if had:
            setattr(Client.Event, "create_timestamp", previous)  # noqa: B010
        else:
            delattr(Client.Event, "create_timestamp")


# -- planning one client's story ---------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    month = moment.month - 1 + months
    year = moment.year + month // 12
    month = month % 12 + 1
    days = (datetime(year + month // 12, month % 12 + 1, 1) - datetime(year, month, 1)).days
    return moment.replace(year=year, month=month, day=min(moment.day, days))


def day_of(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def working_time(rng: random.Random, day: datetime) -> datetime:
    """A moment during office hours on ``day`` or the next weekday."""
    day = day_of(day)
    while day.weekday() >= 5:
        day += DAY
    return day + timedelta(hours=rng.randint(8, 17), minutes=rng.randrange(0, 60, 5))


def slug_of(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "-".join(ascii_name.lower().split())


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
        demo_followup.plan_fixes(self)  # a rename, a session logged twice and retracted

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

    def _true_value(self, k: KpiPlan, effective: datetime) -> float:
        """The value in the KPI's first scale and unit on ``effective``."""
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
        noise = self.rng.gauss(0, k.t.noise * abs(distance))
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
            cadence=CADENCES.get(t.kpi, "monthly"),
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
            self.coach,
            k.t.kpi,
            reason="Salaries reported in thousands (kEUR) from now on",
            effective_at=k.factor_at,
            unit="kEUR",
            factor=Decimal("0.001"),
        )

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
