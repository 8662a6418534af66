"""The demo's cast and calendar: coaches, names, KPI templates, texts, and its controlled clock."""

from __future__ import annotations

import contextlib
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from coachledger.domain import Client

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
# A KPI's share in its goal's progress (default 1): what the coach and client agreed matters most.
WEIGHTS = {"promotion-readiness": Decimal(2), "public-speaking": Decimal(2), "satisfaction": Decimal("1.5")}
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
