"""What is due across all clients (``due``): each active KPI's next measurement, by its cadence.

Read from the view rows of every client at once, a few grouped queries in all (no client is
loaded or computed alone), so a practice of thousands of clients answers in one pass.
The document is a list of ``items``, each with a ``kind``; every kind comes from one source
function in ``SOURCES`` (measurements here, open actions in ``followup``), so another kind of due item is one more source.

The rule (docs/DOMAIN.md, "What is due"): next due = the last effective measurement or baseline
+ the cadence in force at the as-of moment; a KPI with neither is due from the date its
definition was recorded. Dates are UTC dates; an item is listed when its due date is on or
before the as-of date (its 00:00 UTC) + ``within_days``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from coachledger.moments import DEFAULT_CADENCE, cadence_days
from coachledger.projections import checkins, clients, followup

UNKNOWN = 1 << 62


@dataclass(frozen=True)
class Cut:
    """What a ``due`` read sees: the clients, the as-of moment and the recording cut."""

    db: Any
    clients: dict[int, dict[str, Any]]  # client key -> its clients row
    moment: datetime  # the as-of moment: entries effective later do not count
    moment_text: str
    day: date  # the as-of date (UTC)
    until: date  # the last due date listed: the as-of date + within
    known: int  # the last store sequence known (recording cut)


Source = Callable[[Cut], list[dict[str, Any]]]


def due(
    db: Any,
    *,
    moment: datetime,
    known_at: datetime | None = None,
    within_days: int = 0,
    coach: str | None = None,
) -> dict[str, Any]:
    """Everything due by the as-of date + ``within_days``, across the clients (of ``coach``)."""
    known = known_seq(db, known_at)
    if known_at is None:
        rows = clients.all_clients(db, coach)
    else:  # names and coaches as known then (a later rename or handover not yet)
        rows = [followup.client_as_known(db, c, known) for c in clients.all_clients(db) if c["key"] <= known]
        rows = [c for c in rows if coach is None or c["coach"] == coach]
    day = moment.astimezone(UTC).date()
    cut = Cut(
        db,
        {c["key"]: c for c in rows if c["key"] <= known},
        moment,
        _text(moment),
        day,
        day + timedelta(days=within_days),
        known,
    )
    items = [item for source in SOURCES for item in source(cut)]
    items.sort(key=lambda i: (-i["days_late"], i["client"], i["kind"], i.get("kpi") or ""))
    return {
        "as_of": _text(moment),
        "known_at": _text(known_at) if known_at is not None else None,
        "coach": coach,
        "within_days": within_days,
        "items": items,
        "next_sessions": next_sessions(cut),
    }


def known_seq(db: Any, known_at: datetime | None) -> int:
    """The last store sequence recorded at or before ``known_at`` (every one without it)."""
    if known_at is None:
        return UNKNOWN
    row = db.execute("SELECT max(seq) FROM event_index WHERE recorded_at <= ?", (_text(known_at),)).fetchone()
    return int(row[0] or 0)


# -- measurements due, by cadence ------------------------------------------------------------


def measurement_items(cut: Cut) -> list[dict[str, Any]]:
    """One item per active KPI whose next measurement is due by ``cut.until``."""
    kpis = active_kpis(cut)
    last = last_measured(cut)
    out: list[dict[str, Any]] = []
    for (key, kpi), k in kpis.items():
        when = last.get((key, kpi))
        if when is None:
            due_on = date.fromisoformat(k["defined_at"][:10])
        else:
            due_on = (datetime.fromisoformat(when) + timedelta(days=cadence_days(k["cadence"]))).date()
        if due_on > cut.until:
            continue
        c = cut.clients[key]
        out.append(
            {
                "kind": "measurement",
                "client": c["client"],
                "client_name": c["name"],
                "coach": c["coach"],
                "kpi": kpi,
                "kpi_name": k["name"],
                "cadence": k["cadence"],
                "last_measured": when,
                "due": due_on.isoformat(),
                "days_late": (cut.day - due_on).days,
            }
        )
    return out


def active_kpis(cut: Cut) -> dict[tuple[int, str], dict[str, Any]]:
    """Every known KPI not retired at the as-of moment: its name and cadence then, its recording date.

    Adjustments apply in effective order (ties: recording order), as for every definition.
    """
    found: dict[tuple[int, str], dict[str, Any]] = {}
    later: list[tuple[str, int, tuple[int, str], str, dict[str, Any]]] = []
    for key, kpi, seq, kind, recorded_at, effective_at, fields in cut.db.execute(
        "SELECT client_key, kpi, seq, kind, recorded_at, effective_at, fields FROM kpi_versions "
        "WHERE seq <= ? ORDER BY seq",
        (cut.known,),
    ).fetchall():
        if key not in cut.clients:
            continue
        if kind == "defined":
            values = _defined(fields)
            found.setdefault(
                (key, kpi),
                {"name": values.name, "cadence": values.cadence, "defined_at": recorded_at, "retired": False},
            )
        elif effective_at <= cut.moment_text:
            later.append((effective_at, seq, (key, kpi), kind, json.loads(fields)))
    for _, _, ident, kind, values in sorted(later, key=lambda row: (row[0], row[1])):
        k = found.get(ident)
        if k is None:
            continue
        if kind == "retired":
            k["retired"] = True
        else:
            k.update({f: values[f] for f in ("name", "cadence") if f in values})
    return {ident: k for ident, k in found.items() if not k["retired"]}


def last_measured(cut: Cut) -> dict[tuple[int, str], str]:
    """Each KPI's latest effective time of a baseline or a non-retracted measurement (<= the as-of moment).

    One grouped pass over every measurement; only the few KPIs whose latest one was retracted
    are looked at again, one by one.
    """
    known, until = cut.known, cut.moment_text
    last: dict[tuple[int, str], str] = {}
    measured = cut.db.execute(
        "SELECT client_key, kpi, max(effective_at) FROM measurements WHERE seq <= ? AND effective_at <= ? "
        "GROUP BY client_key, kpi",
        (known, until),
    ).fetchall()
    baselined = cut.db.execute(
        "SELECT client_key, kpi, max(effective_at) FROM baselines WHERE seq <= ? AND effective_at <= ? "
        "GROUP BY client_key, kpi",
        (known, until),
    ).fetchall()
    latest = {(key, kpi): when for key, kpi, when in measured}
    retracted = cut.db.execute(
        "SELECT m.client_key, m.kpi, m.effective_at FROM measurement_changes c JOIN measurements m "
        "ON m.client_key = c.client_key AND m.mid = c.mid "
        "WHERE c.kind = 'retracted' AND c.seq <= ? AND m.seq <= ? AND m.effective_at <= ?",
        (known, known, until),
    ).fetchall()
    for ident in {(key, kpi) for key, kpi, when in retracted if latest.get((key, kpi)) == when}:
        latest[ident] = _latest_standing(cut, *ident)
    for ident, when in (*latest.items(), *(((key, kpi), when) for key, kpi, when in baselined)):
        if when is not None and (ident not in last or when > last[ident]):
            last[ident] = when
    return last


def _latest_standing(cut: Cut, key: int, kpi: str) -> str | None:
    """The latest effective time of one KPI's measurements that were not retracted."""
    row = cut.db.execute(
        "SELECT max(m.effective_at) FROM measurements m WHERE m.client_key = ? AND m.kpi = ? AND m.seq <= ? "
        "AND m.effective_at <= ? AND NOT EXISTS (SELECT 1 FROM measurement_changes c "
        "WHERE c.client_key = m.client_key AND c.mid = m.mid AND c.kind = 'retracted' AND c.seq <= ?)",
        (key, kpi, cut.known, cut.moment_text, cut.known),
    ).fetchone()
    return row[0] if row else None


def next_sessions(cut: Cut) -> list[dict[str, Any]]:
    """Each client's next logged session after the as-of moment, if one is known (for calendars).

    As the journal reads sessions: a retracted session is left out, an amended one counts at its
    amended date (fixes known at the recording cut).
    """
    found = {
        (int(key), int(seq)): at
        for key, seq, at in cut.db.execute(
            "SELECT client_key, seq, effective_at FROM sessions WHERE seq <= ? AND effective_at > ?",
            (cut.known, cut.moment_text),
        ).fetchall()
    }
    fixes = cut.db.execute(
        "SELECT client_key, target, change, data FROM record_fixes WHERE kind = 'session' AND seq <= ? "
        "ORDER BY seq",
        (cut.known,),
    ).fetchall()
    numbers: dict[int, dict[str, int]] = {}
    for key, session, change, data in fixes:
        key = int(key)
        if key not in cut.clients:
            continue
        if key not in numbers:  # session id (s<n>) -> its seq, for this client
            ids = followup.numbered(cut.db, "sessions", key, "s", cut.known)
            numbers[key] = {sid: seq for seq, sid in ids.items()}
        seq = numbers[key].get(session)
        if seq is None:
            continue
        at = json.loads(data).get("effective_at")
        if change == "retracted":
            found[(key, seq)] = ""  # never next
        elif at is not None and found.get((key, seq)) != "":
            found[(key, seq)] = at
    first: dict[int, str] = {}
    for (key, _), at in found.items():
        if at > cut.moment_text and (key not in first or at < first[key]):
            first[key] = at
    out = [
        {
            "kind": "session",
            "client": cut.clients[key]["client"],
            "client_name": cut.clients[key]["name"],
            "at": at,
        }
        for key, at in first.items()
        if key in cut.clients
    ]
    return sorted(out, key=lambda s: (s["at"], s["client"]))


_DECODE: Any = None


def _defined(fields: str | bytes) -> Any:
    """The name and cadence of a stored definition (msgspec: only these two fields are built)."""
    global _DECODE
    if _DECODE is None:
        struct = msgspec.defstruct("Defined", [("name", str), ("cadence", str, DEFAULT_CADENCE)])
        _DECODE = msgspec.json.Decoder(struct).decode
    return _DECODE(fields)


def _text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# Where due items come from: each source reads one kind for every client at once.
SOURCES: list[Source] = [measurement_items, followup.due_actions, checkins.due_checkins]
