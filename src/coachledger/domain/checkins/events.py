"""The events of check-ins: a link or a form issued to the client, used, revoked.

Declared as ``coachledger.domain.events`` declares its events (``TOPIC``, ``REFS``,
``EXPORT``, ``summary``, an ``apply`` that only changes state); ``domain.EVENT_CLASSES``
lists them too. Expiry is no event: a check-in is expired from its ``expires_at`` on, which
every read derives (nothing happens at that moment that anybody could record).

What a use recorded is in its own events, before it (``MeasurementRecorded`` with ``via``,
``MeasurementCorrected`` for an amendment within the window, ``FeedbackReceived``), all with
the client as actor (``client:<id>``); the use names them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coachledger.domain.catalogue import Defines, Refers
from coachledger.domain.events import Event
from coachledger.domain.rules import iso


def checkin_state(aggregate: Any) -> dict[str, Any]:
    """The aggregate's check-ins: ``issued`` (id -> state), ``last`` (KPI -> the measurement id of
    its latest check-in value) and ``feedback`` ([id, recorded at] of the latest check-in rating)."""
    return aggregate.__dict__.setdefault("checkins", {"issued": {}, "last": {}, "feedback": None})  # type: ignore[no-any-return]


def _issued(aggregate: Any, event: Any, kind: str) -> None:
    checkin_state(aggregate)["issued"][event.checkin] = {
        "kind": kind,
        "kpis": list(event.kpis),
        "expires": iso(event.expires_at),
        "sha256": event.token_hash,
        "revoked": False,
        "uses": 0,
    }


def _used(aggregate: Any, event: Any) -> None:
    state = checkin_state(aggregate)
    state["issued"][event.checkin]["uses"] += 1
    for mid in event.measurements:
        state["last"][aggregate.measurements[mid][0]] = mid
    if event.feedback is not None:
        state["feedback"] = [event.feedback, iso(event.effective_at)]


def _expires(d: Any) -> str:
    return d.expires_at.date().isoformat()


def _what(d: Any) -> str:
    parts = [f"recorded {', '.join(d.measurements)}"] if d.measurements else []
    parts += [f"amended {', '.join(d.amended)}"] if d.amended else []
    parts += [f"feedback {d.feedback}"] if d.feedback else []
    return "; ".join(parts) or "nothing"


class CheckinLinkIssued(Event):
    """A link (``/checkin/<token>``) for the client to report values of ``kpis``."""

    TOPIC = "coachledger:CheckinLinkIssued"
    checkin: str
    kpis: list[str]
    expires_at: datetime
    token_hash: str

    REFS = (Defines("checkin", "checkin"), Refers("kpis", "kpi", many=True))
    EXPORT = ("checkin", "kpis", "expires_at", "token_hash")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Issued check-in link {d.checkin} for {', '.join(d.kpis)} (expires {_expires(d)})"

    def apply(self, aggregate: Any) -> None:
        _issued(aggregate, self, "link")


class CheckinFormIssued(Event):
    """A form file for the client to fill in offline and send back, once."""

    TOPIC = "coachledger:CheckinFormIssued"
    checkin: str
    kpis: list[str]
    expires_at: datetime
    token_hash: str

    REFS = (Defines("checkin", "checkin"), Refers("kpis", "kpi", many=True))
    EXPORT = ("checkin", "kpis", "expires_at", "token_hash")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Issued check-in form {d.checkin} for {', '.join(d.kpis)} (expires {_expires(d)})"

    def apply(self, aggregate: Any) -> None:
        _issued(aggregate, self, "form")


class CheckinLinkUsed(Event):
    """The client answered through the link: what it recorded (new values), what it amended
    (values of the same cadence window), and the rating's feedback id."""

    TOPIC = "coachledger:CheckinLinkUsed"
    checkin: str
    effective_at: datetime  # when the answers arrived
    measurements: list[str]
    amended: list[str]
    feedback: str | None

    REFS = (
        Refers("checkin", "checkin"),
        Refers("measurements", "measurement", many=True),
        Refers("amended", "measurement", many=True),
        Refers("feedback", "feedback", optional=True),
    )
    EXPORT = ("checkin", "effective_at", "measurements", "amended", "feedback")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Check-in link {d.checkin} answered: {_what(d)}"

    def apply(self, aggregate: Any) -> None:
        _used(aggregate, self)


class CheckinFormUsed(Event):
    """The client's answers to a form were accepted (a form is used once)."""

    TOPIC = "coachledger:CheckinFormUsed"
    checkin: str
    effective_at: datetime  # when the answers arrived
    measurements: list[str]
    amended: list[str]
    feedback: str | None

    REFS = (
        Refers("checkin", "checkin"),
        Refers("measurements", "measurement", many=True),
        Refers("amended", "measurement", many=True),
        Refers("feedback", "feedback", optional=True),
    )
    EXPORT = ("checkin", "effective_at", "measurements", "amended", "feedback")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Check-in form {d.checkin} answered: {_what(d)}"

    def apply(self, aggregate: Any) -> None:
        _used(aggregate, self)


class CheckinLinkRevoked(Event):
    """The link (or form) no longer takes answers."""

    TOPIC = "coachledger:CheckinLinkRevoked"
    checkin: str
    reason: str | None

    REFS = (Refers("checkin", "checkin"),)
    EXPORT = ("checkin", "reason")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Revoked check-in {d.checkin}" + (f": {d.reason}" if d.reason else "")

    def apply(self, aggregate: Any) -> None:
        checkin_state(aggregate)["issued"][self.checkin]["revoked"] = True


CHECKIN_CLASSES: tuple[type[Event], ...] = (
    CheckinLinkIssued,
    CheckinFormIssued,
    CheckinLinkUsed,
    CheckinFormUsed,
    CheckinLinkRevoked,
)
