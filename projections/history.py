"""KPI change history: every definition version with field-level diffs, reason, actor and both times.

The view keeps one row per definition event with the exact fields it set, as recorded:
the same rows feed progress (the definition in force at any date). Version numbers,
field-level diffs and the resulting definitions are worked out when the history of a
KPI is read, from its rows in recording order: a row never depends on earlier rows, so
a rebuild writes it without looking anything up or carrying state between events.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from coachledger.projections import calc
from coachledger.projections.batch import dumps, number, utc_text
from coachledger.projections.db import ViewDB
from coachledger.projections.models import KpiVersion
from coachledger.projections.registry import on

NAME = "history"
TABLES = {
    "kpi_versions": "CREATE TABLE IF NOT EXISTS kpi_versions (seq INTEGER PRIMARY KEY, client_key INTEGER NOT NULL, "
    "kpi TEXT NOT NULL, kind TEXT NOT NULL, recorded_at TEXT NOT NULL, effective_at TEXT NOT NULL, "
    "actor TEXT NOT NULL, reason TEXT, fields TEXT NOT NULL, rescale INTEGER NOT NULL, factor TEXT)",
}
INDEXES = ("CREATE INDEX IF NOT EXISTS kpi_versions_by_seq ON kpi_versions (client_key, seq)",)
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
    "cadence",
    "weight",
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
    "cadence",
    "weight",
)
DECIMALS = ("target", "scale_min", "scale_max", "weight")
# The view rows of events (``registry.on``): builders take events decoded by ``codec.text_decoder``
# (times and decimals as the stored text).
_INSERT = "INSERT INTO kpi_versions VALUES (?,?,?,?,?,?,?,?,?,?,?)"


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


@on("KpiDefined", _INSERT)
def _defined(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    recorded_at = utc_text(d.timestamp)
    fields = _exact_text({k: getattr(d, k) for k in DEFINED})
    return (seq, key, d.kpi, "defined", recorded_at, recorded_at, d.actor, None, dumps(fields), 0, None)


@on("KpiAdjusted", _INSERT)
def _adjusted(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    fields = _exact_text({k: v for k in ADJUSTABLE if (v := getattr(d, k)) is not None})
    return (
        seq,
        key,
        d.kpi,
        "adjusted",
        utc_text(d.timestamp),
        utc_text(d.effective_at),
        d.actor,
        d.reason,
        dumps(fields),
        int(bool(d.rescale)),
        d.factor,
    )


@on("KpiRetired", _INSERT)
def _retired(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    at = utc_text(d.effective_at)
    return (seq, key, d.kpi, "retired", utc_text(d.timestamp), at, d.actor, d.reason, "{}", 0, None)


def _exact_text(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields decoded as text, as the row keeps them: decimals as given, the due date in UTC."""
    if fields.get("due") is not None:
        fields["due"] = utc_text(fields["due"])
    if fields.get("weight") is not None:
        fields["weight"] = str(fields["weight"])  # the default of an old event is a Decimal
    return fields


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def def_rows(db: ViewDB, key: int, known_seq: int | None) -> dict[str, list[calc.DefRow]]:
    """Every KPI's definition rows (in recording order), as the progress calculation wants them."""
    result: dict[str, list[calc.DefRow]] = {}
    for kpi, seq, kind, effective, fields, rescale, factor in db.execute(
        "SELECT kpi, seq, kind, effective_at, fields, rescale, factor FROM kpi_versions "
        "WHERE client_key = ? AND seq <= ? ORDER BY seq",
        (key, known_seq if known_seq is not None else 1 << 62),
    ).fetchall():
        result.setdefault(kpi, []).append(_def_row(seq, kind, effective, fields, rescale, factor))
    return result


def _def_row(
    seq: int, kind: str, effective: str, fields: str, rescale: int, factor: str | None
) -> calc.DefRow:
    """A stored row as the progress calculation wants it: exact values, real times."""
    exact = _parse(json.loads(fields))
    return calc.DefRow(
        seq,
        kind,
        datetime.fromisoformat(effective),
        exact,
        bool(rescale),
        Decimal(factor) if factor else None,
    )


def forget(db: Any, stream: str, key: int | None) -> None:
    db.execute("DELETE FROM kpi_versions WHERE client_key = ?", (key,))


def kpi_ids(db: ViewDB, key: int) -> list[str]:
    """The ids of a client's KPIs (to name the closest to a mistyped one)."""
    rows = db.execute(
        "SELECT DISTINCT kpi FROM kpi_versions WHERE client_key = ? ORDER BY kpi", (key,)
    ).fetchall()
    return [kpi for (kpi,) in rows]


def versions(db: ViewDB, key: int, kpi: str, known_seq: int | None = None) -> list[KpiVersion]:
    """Every version of one KPI's definition: what each event changed and the definition after it
    (those recorded by ``known_seq``: each version depends only on the ones before it).

    A change back-dated before a later adjustment shows what it changed at its own date.
    """
    rows = db.execute(
        "SELECT seq, kind, recorded_at, effective_at, actor, reason, fields, rescale, factor "
        "FROM kpi_versions WHERE client_key = ? AND kpi = ? AND seq <= ? ORDER BY seq",
        (key, kpi, known_seq if known_seq is not None else 1 << 62),
    ).fetchall()
    out: list[KpiVersion] = []
    defs: list[calc.DefRow] = []
    before: dict[str, Any] = {}
    for seq, kind, recorded_at, effective, actor, reason, fields, rescale, factor in rows:
        if not defs and kind != "defined":
            continue  # no definition yet: nothing to change
        row = _def_row(seq, kind, effective, fields, rescale, factor)
        in_order = all(r.effective_at <= row.effective_at for r in defs if r.kind != "defined")
        defs.append(row)
        after = display(calc.definition_at(defs, FAR))
        if in_order:
            changes = _diff(before, after)
        else:
            then = display(calc.definition_at(defs[:-1], row.effective_at))
            changes = _diff(then, display(calc.definition_at(defs, row.effective_at)))
        out.append(
            KpiVersion(
                version=len(defs),
                seq=seq,
                kind=kind,
                recorded_at=recorded_at,
                effective_at=effective,
                actor=actor,
                reason=reason,
                changes=json.loads(dumps(changes)),  # as JSON gives them: keys sorted
                definition=json.loads(dumps(after)),
            )
        )
        before = after
    return out
