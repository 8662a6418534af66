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
from coachledger.projections.batch import Batch, Ev, dec, dumps, moment, number

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


def apply(b: Batch, ev: Ev) -> None:
    d = ev.data
    if d is None or ev.type not in ("KpiDefined", "KpiAdjusted", "KpiRetired"):
        return
    rows = _rows(b, ev.stream, d.kpi)
    if not rows and ev.type != "KpiDefined":
        return  # the client was forgotten (its rows removed) before the views caught up with this event
    effective: str | None
    if ev.type == "KpiDefined":
        kind, effective, reason = "defined", ev.recorded_at, None
        fields = {k: getattr(d, k) for k in DEFINED}
        rescale, factor = False, None
    else:
        kind = "adjusted" if ev.type == "KpiAdjusted" else "retired"
        effective, reason = moment(d.effective_at), d.reason
        fields = (
            {k: getattr(d, k) for k in ADJUSTABLE if getattr(d, k) is not None} if kind == "adjusted" else {}
        )
        rescale = bool(getattr(d, "rescale", False))
        factor = getattr(d, "factor", None)
    assert effective is not None
    row = calc.DefRow(ev.seq, kind, datetime.fromisoformat(effective), fields, rescale, factor)
    shown_key = ("defshown", ev.stream, d.kpi)  # the last version's display, kept for the next diff
    before = b.cache.get(shown_key)
    if before is None:
        before = display(calc.definition_at(rows, FAR)) if rows else {}
    in_order = all(r.effective_at <= row.effective_at for r in rows if r.kind != "defined")
    rows.append(row)
    after = b.cache[shown_key] = display(calc.definition_at(rows, FAR))
    if not in_order:  # back-dated before a later adjustment: what it changed at its own date
        before = display(calc.definition_at(rows[:-1], row.effective_at))
        changes = _diff(before, display(calc.definition_at(rows, row.effective_at)))
    else:
        changes = _diff(before, after)
    b.add(
        "INSERT INTO kpi_versions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            ev.stream,
            d.kpi,
            len(rows),
            ev.seq,
            kind,
            ev.recorded_at,
            effective,
            ev.actor,
            reason,
            dumps(_exact(fields)),
            int(rescale),
            dec(factor),
            dumps(changes),
            dumps(after),
        ),
    )


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def _rows(b: Batch, stream: str, kpi: str) -> list[calc.DefRow]:
    """A KPI's rows so far; one query loads every KPI of the stream (not one query per KPI)."""
    key = ("defrows", stream, kpi)
    rows = b.cache.get(key)
    if rows is None:
        if ("defrows", stream) not in b.cache:
            for other, found in def_rows(b.db, stream, None).items():
                b.cache[("defrows", stream, other)] = found
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
