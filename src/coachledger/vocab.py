"""The ledger's vocabularies, defined once: KPI statuses and the choices a KPI is described by.

A value module (standard library only), so that the read side, the command line and the
report can name a status or a category without loading the domain and its event machinery.
Members are ``StrEnum``s: each is its own string value, so it compares equal to the stored
text, prints as it, and encodes in JSON as it. The domain's choice tuples are derived from
these with ``values``: plain strings, as ``click.Choice`` and the stored events want them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "SEVERITY",
    "Category",
    "Definer",
    "Dimension",
    "Direction",
    "Horizon",
    "Source",
    "Status",
    "values",
]


class Status(StrEnum):
    """What a progress read says about a KPI (DOMAIN.md), and what tables show around it."""

    OFF_TRACK = "off-track"
    OVERDUE = "overdue"
    AT_RISK = "at-risk"
    NO_DATA = "no-data"
    NO_BASELINE = "no-baseline"
    ON_TRACK = "on-track"
    ACHIEVED = "achieved"
    # Not computed for a KPI: shown instead of its status once it is retired, and as the
    # overall status of a client without an active KPI.
    RETIRED = "retired"
    NO_KPIS = "no-kpis"


# A client's overall status is the most pressing of their KPIs' statuses: this order.
SEVERITY = (
    Status.OFF_TRACK,
    Status.OVERDUE,
    Status.AT_RISK,
    Status.NO_DATA,
    Status.NO_BASELINE,
    Status.ON_TRACK,
    Status.ACHIEVED,
)


class Category(StrEnum):
    JOB_SATISFACTION = "job-satisfaction"
    SALARY = "salary"
    PROMOTION = "promotion"
    SKILL = "skill"
    NETWORKING = "networking"
    WORK_LIFE_BALANCE = "work-life-balance"
    GOAL_ACHIEVEMENT = "goal-achievement"
    CLIENT_FEEDBACK = "client-feedback"
    CUSTOM = "custom"


class Direction(StrEnum):
    INCREASE = "increase"
    DECREASE = "decrease"


class Dimension(StrEnum):
    PROFESSIONAL = "professional"
    PERSONAL = "personal"


class Horizon(StrEnum):
    SHORT = "short"
    LONG = "long"


class Definer(StrEnum):
    """Who defined a KPI (``defined_by``)."""

    COACH = "coach"
    CLIENT = "client"
    BOTH = "both"


class Source(StrEnum):
    """Where a measurement or baseline comes from."""

    SELF = "self"
    COACH = "coach"
    SURVEY = "survey"
    DOCUMENT = "document"


def values(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    """A vocabulary's values as plain strings, in definition order (``click.Choice`` would show
    an enum's member names)."""
    return tuple(member.value for member in vocabulary)
