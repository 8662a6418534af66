"""The events of actions (opened, completed, dropped) and of fixing a record.

Declared as ``coachledger.domain.events`` declares its events (``TOPIC``, ``REFS``,
``EXPORT``, ``summary``, an ``apply`` that only changes state); ``EVENT_CLASSES`` there
lists them too. A fix names what it changed and what the record said before (``previous*``),
so the timeline line shows old -> new beside the original, which stays where it was.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coachledger.domain.catalogue import Defines, Refers
from coachledger.domain.events import Event
from coachledger.domain.rules import iso


def _date(value: Any) -> str:
    return value.date().isoformat() if value is not None else "-"


def _old_new(field: str, old: Any, new: Any) -> str:
    return f"{field} {old if old is not None else '-'} -> {new if new is not None else '-'}"


# -- actions ----------------------------------------------------------------------------


class ActionOpened(Event):
    TOPIC = "coachledger:ActionOpened"
    action: str
    text: str
    due: datetime | None
    kpi: str | None
    session: str | None

    REFS = (
        Defines("action", "action"),
        Refers("kpi", "kpi", optional=True),
        Refers("session", "session", optional=True),
    )
    EXPORT = ("action", "text", "due", "kpi", "session")

    @staticmethod
    def summary(d: Any) -> str:
        due = f" (due {_date(d.due)})" if d.due else ""
        kpi = f" [{d.kpi}]" if d.kpi else ""
        session = f" from session {d.session}" if d.session else ""
        return f"Opened action {d.action}: {d.text}{due}{kpi}{session}"

    def apply(self, aggregate: Any) -> None:
        aggregate.actions[self.action] = "open"


class ActionCompleted(Event):
    TOPIC = "coachledger:ActionCompleted"
    action: str
    note: str | None

    REFS = (Refers("action", "action"),)
    EXPORT = ("action", "note")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Completed action {d.action}" + (f": {d.note}" if d.note else "")

    def apply(self, aggregate: Any) -> None:
        aggregate.actions[self.action] = "done"


class ActionDropped(Event):
    TOPIC = "coachledger:ActionDropped"
    action: str
    note: str | None

    REFS = (Refers("action", "action"),)
    EXPORT = ("action", "note")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Dropped action {d.action}" + (f": {d.note}" if d.note else "")

    def apply(self, aggregate: Any) -> None:
        aggregate.actions[self.action] = "dropped"


# -- fixing a record ------------------------------------------------------------------


class ClientRenamed(Event):
    TOPIC = "coachledger:ClientRenamed"
    name: str
    previous: str
    reason: str

    REFS = ()
    EXPORT = ("name", "previous", "reason")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Renamed client: {d.previous} -> {d.name} - {d.reason}"

    def apply(self, aggregate: Any) -> None:
        aggregate.name = self.name


class ClientUpdated(Event):
    """Coach and/or contact changed (a None field is unchanged; "" clears it)."""

    TOPIC = "coachledger:ClientUpdated"
    coach: str | None
    contact: str | None
    previous_coach: str | None
    previous_contact: str | None
    reason: str

    REFS = ()
    EXPORT = ("coach", "contact", "previous_coach", "previous_contact", "reason")

    @staticmethod
    def summary(d: Any) -> str:
        parts = []
        if d.coach is not None:
            parts.append(_old_new("coach", d.previous_coach, d.coach or None))
        if d.contact is not None:
            parts.append(_old_new("contact", d.previous_contact, d.contact or None))
        return f"Updated client: {', '.join(parts)} - {d.reason}"

    def apply(self, aggregate: Any) -> None:
        if self.coach is not None:
            aggregate.coach = self.coach or None
        if self.contact is not None:
            aggregate.contact = self.contact or None


class SessionAmended(Event):
    """A session's notes, date or KPIs changed (a None field is unchanged)."""

    TOPIC = "coachledger:SessionAmended"
    session: str
    reason: str
    notes: str | None
    effective_at: datetime | None
    kpis: list[str] | None
    previous_notes: str
    previous_effective_at: datetime
    previous_kpis: list[str]

    REFS = (Refers("session", "session"), Refers("kpis", "kpi", many=True, optional=True))
    EXPORT = (
        *("session", "reason", "notes", "effective_at", "kpis"),
        *("previous_notes", "previous_effective_at", "previous_kpis"),
    )

    @staticmethod
    def summary(d: Any) -> str:
        parts = []
        if d.notes is not None:
            parts.append(f'notes "{d.previous_notes}" -> "{d.notes}"')
        if d.effective_at is not None:
            parts.append(_old_new("date", _date(d.previous_effective_at), _date(d.effective_at)))
        if d.kpis is not None:
            parts.append(f"KPIs [{', '.join(d.previous_kpis)}] -> [{', '.join(d.kpis)}]")
        return f"Amended session {d.session}: {', '.join(parts)} - {d.reason}"

    def apply(self, aggregate: Any) -> None:
        session = aggregate.sessions[self.session]
        if self.notes is not None:
            session["notes"] = self.notes
        if self.effective_at is not None:
            session["at"] = iso(self.effective_at)
        if self.kpis is not None:
            session["kpis"] = list(self.kpis)


class SessionRetracted(Event):
    TOPIC = "coachledger:SessionRetracted"
    session: str
    reason: str

    REFS = (Refers("session", "session"),)
    EXPORT = ("session", "reason")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Retracted session {d.session}: {d.reason}"

    def apply(self, aggregate: Any) -> None:
        aggregate.sessions[self.session]["retracted"] = True


class FeedbackRetracted(Event):
    TOPIC = "coachledger:FeedbackRetracted"
    feedback: str
    reason: str

    REFS = (Refers("feedback", "feedback"),)
    EXPORT = ("feedback", "reason")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Retracted feedback {d.feedback}: {d.reason}"

    def apply(self, aggregate: Any) -> None:
        aggregate.feedback[self.feedback] = True


class MilestoneRetracted(Event):
    TOPIC = "coachledger:MilestoneRetracted"
    target: str
    kind: str
    reason: str

    REFS = (Refers("target", "", kind_field="kind"),)
    EXPORT = ("target", "kind", "reason")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Retracted the celebration of {d.kind} {d.target}: {d.reason}"

    def apply(self, aggregate: Any) -> None:
        aggregate.celebrated.remove(self.target)


FOLLOWUP_CLASSES: tuple[type[Event], ...] = (
    ActionOpened,
    ActionCompleted,
    ActionDropped,
    ClientRenamed,
    ClientUpdated,
    SessionAmended,
    SessionRetracted,
    FeedbackRetracted,
    MilestoneRetracted,
)
