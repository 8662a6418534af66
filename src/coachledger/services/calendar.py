"""An iCalendar feed of what is due (``due --ics``): a VTODO per due item, a VEVENT per next session.

Deterministic: the same ``due`` document gives the same bytes (DTSTAMP is the as-of moment,
UIDs name the client, the item and its due date), so a calendar app that re-reads the feed
updates its entries instead of doubling them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

PRODID = "-//coachledger//due//EN"
SESSION_LENGTH = timedelta(hours=1)  # a logged session has no length: shown as one hour

# Each kind of due item says what its to-do is called and what it notes; an unknown kind gets a plain line.
Describe = Callable[[dict[str, Any]], tuple[str, str]]


def _measurement(item: dict[str, Any]) -> tuple[str, str]:
    last = (item["last_measured"] or "never")[:10]
    late = f"{item['days_late']} days late" if item["days_late"] > 0 else "due"
    return (
        f"Measure {item['kpi_name']} ({item['client_name']})",
        f"KPI {item['kpi']} of {item['client']}: cadence {item['cadence']}, last measured {last}, {late}.",
    )


def _action(item: dict[str, Any]) -> tuple[str, str]:
    late = f"{item['days_late']} days late" if item["days_late"] > 0 else "due"
    kpi = f", KPI {item['kpi']}" if item.get("kpi") else ""
    return (
        f"Follow up: {item['text']} ({item['client_name']})",
        f"Action {item['action']} of {item['client']}{kpi}: {late}.",
    )


def _checkin(item: dict[str, Any]) -> tuple[str, str]:
    return (
        f"New check-in from {item['client_name']}",
        f"Check-in {item['via']} {item['checkin']} of {item['client']} answered ({', '.join(item['kpis'])}).",
    )


KINDS: dict[str, Describe] = {"measurement": _measurement, "action": _action, "checkin": _checkin}


def _describe(item: dict[str, Any]) -> tuple[str, str]:
    describe = KINDS.get(item["kind"])
    if describe is not None:
        return describe(item)
    return f"{item['kind']} due ({item['client']})", ""


def ics(document: dict[str, Any]) -> bytes:
    """The ``due`` document as an iCalendar (RFC 5545) feed."""
    # lazy: icalendar only for --ics
    from icalendar import Calendar, Event, Todo

    stamp = datetime.fromisoformat(document["as_of"])
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "coachledger: due")
    for item in document["items"]:
        summary, description = _describe(item)
        todo = Todo()
        # An action by its id (two actions may share a KPI and a due date), a check-in by its KPI.
        ident = item.get("action") or item.get("kpi") or ""
        todo.add("uid", f"{item['kind']}-{item['client']}-{ident}-{item['due']}@coachledger")
        todo.add("dtstamp", stamp)
        todo.add("summary", summary)
        if description:
            todo.add("description", description)
        todo.add("due", date.fromisoformat(item["due"]))
        todo.add("status", "NEEDS-ACTION")
        cal.add_component(todo)
    for session in document.get("next_sessions", ()):
        start = datetime.fromisoformat(session["at"])
        event = Event()
        event.add("uid", f"session-{session['client']}-{start.strftime('%Y%m%dT%H%M%SZ')}@coachledger")
        event.add("dtstamp", stamp)
        event.add("summary", f"Coaching session: {session['client_name']}")
        event.add("dtstart", start)
        event.add("duration", SESSION_LENGTH)
        cal.add_component(event)
    return bytes(cal.to_ical())


def write_ics(document: dict[str, Any], path: str) -> None:
    """Write the feed to ``path`` (owner-only, whole or not at all)."""
    # lazy: only when the feed is written
    from coachledger.adapters.files import write_private

    write_private(path, ics(document))
