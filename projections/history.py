"""KPI change history: every definition version with field-level diffs, reason, actor and both times.

The same rows feed progress (the definition in force at any date), so each row keeps the
exact changed fields as recorded, beside the display form of the resulting definition.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from coachledger.projections import calc
from coachledger.projections.batch import Batch, dec, dumps, moment, number

NAME = "history"
TABLES = {
    "kpi_versions": "CREATE TABLE IF NOT EXISTS kpi_versions (stream TEXT NOT NULL, kpi TEXT NOT NULL, "
    "version INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, recorded_at TEXT NOT NULL, "
    "effective_at TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT, fields TEXT NOT NULL, "
    "rescale INTEGER NOT NULL, factor TEXT, changes TEXT NOT NULL, definition TEXT NOT NULL, "
    "PRIMARY KEY (stream, kpi, version))",
}
INDEXES = ("CREATE INDEX IF NOT EXISTS kpi_versions_by_seq ON kpi_versions (stream, seq)",)
FAR = datetime.max.replace(tzinfo=UTC)
DEFINED = (
    "name",
    "category",
    "unit",
    "direction",
    "target",
    "due",
    "scale_min",
    "scale_max",
    "dimension",
    "horizon",
    "method",
    "goal",
    "defined_by",
)
ADJUSTABLE = (
    "name",
    "unit",
    "target",
    "due",
    "scale_min",
    "scale_max",
    "method",
    "goal",
    "dimension",
    "horizon",
)
DECIMALS = ("target", "scale_min", "scale_max")


def _exact(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields as stored in the row: decimals as strings, dates as ISO text."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if isinstance(value, Decimal):
            out[key] = dec(value)
        elif isinstance(value, datetime):
            out[key] = moment(value)
        else:
            out[key] = value
    return out


def _parse(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for key in DECIMALS:
        if out.get(key) is not None:
            out[key] = Decimal(out[key])
    if out.get("due") is not None:
        out["due"] = datetime.fromisoformat(out["due"])
    return out


def display(definition: dict[str, Any]) -> dict[str, Any]:
    """A definition as reports show it: numbers as numbers, the due date as a date."""
    out: dict[str, Any] = {}
    for key, value in definition.items():
        if isinstance(value, Decimal):
            out[key] = number(value)
        elif isinstance(value, datetime):
            out[key] = value.date().isoformat()
        else:
            out[key] = value
    return out


def _defined(b: Batch, seq: int, stream: str, recorded_at: str, d: Any) -> None:
    _version(b, seq, stream, recorded_at, "KpiDefined", d)


def _adjusted(b: Batch, seq: int, stream: str, recorded_at: str, d: Any) -> None:
    _version(b, seq, stream, recorded_at, "KpiAdjusted", d)


def _retired(b: Batch, seq: int, stream: str, recorded_at: str, d: Any) -> None:
    _version(b, seq, stream, recorded_at, "KpiRetired", d)


def _version(b: Batch, seq: int, stream: str, recorded_at: str, event_type: str, d: Any) -> None:
    rows = _rows(b, stream, d.kpi)
    if not rows and event_type != "KpiDefined":
        return  # the client was forgotten (its rows removed) before the views caught up with this event
    effective: str | None
    if event_type == "KpiDefined":
        kind, effective, reason = "defined", recorded_at, None
        fields = {k: getattr(d, k) for k in DEFINED}
        rescale, factor = False, None
    else:
        kind = "adjusted" if event_type == "KpiAdjusted" else "retired"
        effective, reason = moment(d.effective_at), d.reason
        fields = (
            {k: getattr(d, k) for k in ADJUSTABLE if getattr(d, k) is not None} if kind == "adjusted" else {}
        )
        rescale = bool(getattr(d, "rescale", False))
        factor = getattr(d, "factor", None)
    assert effective is not None
    row = calc.DefRow(seq, kind, datetime.fromisoformat(effective), fields, rescale, factor)
    shown_key = ("defshown", stream, d.kpi)  # the last version's display, kept for the next diff
    last_key = ("deflast", stream, d.kpi)  # and the last version itself, to extend it
    before = b.cache.get(shown_key)
    if before is None:
        before = display(calc.definition_at(rows, FAR)) if rows else {}
    in_order = all(r.effective_at <= row.effective_at for r in rows if r.kind != "defined")
    last = b.cache.get(last_key)
    rows.append(row)
    # In order (the usual case), the new last version is the old one with this row applied,
    # exactly the step the full history would take last; otherwise the history is rebuilt.
    latest = calc.next_version(last, row)[0] if in_order and last is not None and kind != "defined" else None
    if latest is None:
        latest = calc.latest_version(rows)
    b.cache[last_key] = latest
    after = b.cache[shown_key] = display(calc.version_definition(latest))
    if not in_order:  # back-dated before a later adjustment: what it changed at its own date
        before = display(calc.definition_at(rows[:-1], row.effective_at))
        changes = _diff(before, display(calc.definition_at(rows, row.effective_at)))
    else:
        changes = _diff(before, after)
    b.add(
        "INSERT INTO kpi_versions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            stream,
            d.kpi,
            len(rows),
            seq,
            kind,
            recorded_at,
            effective,
            d.actor,
            reason,
            dumps(_exact(fields)),
            int(rescale),
            dec(factor),
            dumps(changes),
            dumps(after),
        ),
    )


HANDLERS = {"KpiDefined": _defined, "KpiAdjusted": _adjusted, "KpiRetired": _retired}


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _rows(b: Batch, stream: str, kpi: str) -> list[calc.DefRow]:
    """A KPI's rows so far; one query loads every KPI of the stream (not one query per KPI)."""
    key = ("defrows", stream, kpi)
    rows = b.cache.get(key)
    if rows is None:
        if ("defrows", stream) not in b.cache:
            seen = b.cache.get(Batch.FROM_EMPTY)
            if seen is None or stream in seen:
                for other, found in def_rows(b.db, stream, None).items():
                    b.cache[("defrows", stream, other)] = found
            if seen is not None:
                seen.add(stream)
            b.cache[("defrows", stream)] = True
        rows = b.cache.setdefault(key, [])
    return rows  # type: ignore[no-any-return]


def def_rows(db: Any, stream: str, known_seq: int | None) -> dict[str, list[calc.DefRow]]:
    """Every KPI's definition rows (in recording order), as the progress calculation wants them."""
    result: dict[str, list[calc.DefRow]] = {}
    for kpi, seq, kind, effective, fields, rescale, factor in db.execute(
        "SELECT kpi, seq, kind, effective_at, fields, rescale, factor FROM kpi_versions "
        "WHERE stream = ? AND seq <= ? ORDER BY seq",
        (stream, known_seq if known_seq is not None else 1 << 62),
    ).fetchall():
        result.setdefault(kpi, []).append(
            calc.DefRow(
                seq,
                kind,
                datetime.fromisoformat(effective),
                _parse(json.loads(fields)),
                bool(rescale),
                Decimal(factor) if factor is not None else None,
            )
        )
    return result


def forget(db: Any, stream: str) -> None:
    db.execute("DELETE FROM kpi_versions WHERE stream = ?", (stream,))


def versions(db: Any, stream: str, kpi: str) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT version, seq, kind, recorded_at, effective_at, actor, reason, changes, definition "
        "FROM kpi_versions WHERE stream = ? AND kpi = ? ORDER BY version",
        (stream, kpi),
    ).fetchall()
    return [
        {
            "version": v,
            "seq": seq,
            "kind": kind,
            "recorded_at": rec,
            "effective_at": eff,
            "actor": actor,
            "reason": reason,
            "changes": json.loads(changes),
            "definition": json.loads(definition),
        }
        for v, seq, kind, rec, eff, actor, reason, changes, definition in rows
    ]
