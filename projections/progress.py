"""Progress facts: baselines, measurements, corrections and retractions, by recording order.

Progress itself depends on the date asked about (expected progress grows with time), so
the view stores the facts and ``client_progress`` computes DOMAIN.md's numbers from them
for any as-of date and any known-at cut, with the definition in force at that date.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from coachledger.projections import calc, history
from coachledger.projections.batch import moment, utc_text
from coachledger.projections.db import ViewDB
from coachledger.projections.models import Progress
from coachledger.projections.registry import on

NAME = "progress"
TABLES = {
    "baselines": "CREATE TABLE IF NOT EXISTS baselines (seq INTEGER PRIMARY KEY, client_key INTEGER NOT NULL, "
    "kpi TEXT NOT NULL, effective_at TEXT NOT NULL, value TEXT NOT NULL, source TEXT, reason TEXT, "
    "recorded_at TEXT NOT NULL, actor TEXT NOT NULL)",
    # Three quarters of all events are measurements: the table keeps only what reads need
    # (the recording time is in event_index) and one index, so that a rebuild writes less.
    "measurements": "CREATE TABLE IF NOT EXISTS measurements (seq INTEGER PRIMARY KEY, client_key INTEGER NOT NULL, "
    "mid TEXT NOT NULL, kpi TEXT NOT NULL, effective_at TEXT NOT NULL, value TEXT NOT NULL, source TEXT, "
    "note TEXT, actor TEXT NOT NULL, confidence INTEGER, via TEXT)",
    "measurement_changes": "CREATE TABLE IF NOT EXISTS measurement_changes (seq INTEGER PRIMARY KEY, "
    "client_key INTEGER NOT NULL, mid TEXT NOT NULL, kind TEXT NOT NULL, value TEXT, reason TEXT, "
    "recorded_at TEXT NOT NULL, actor TEXT NOT NULL, confidence INTEGER, note TEXT)",
}
INDEXES = (
    "CREATE INDEX IF NOT EXISTS baselines_by_stream ON baselines (client_key, seq)",
    "CREATE INDEX IF NOT EXISTS measurements_by_seq ON measurements (client_key, seq)",
    "CREATE INDEX IF NOT EXISTS measurement_changes_by_stream ON measurement_changes (client_key, seq)",
)
UNKNOWN = 1 << 62
# The view rows of events (``registry.on``): builders take events decoded by ``codec.text_decoder``
# (times and decimals as the stored text).
_CHANGE = "INSERT INTO measurement_changes VALUES (?,?,?,?,?,?,?,?,?,?)"


@on("MeasurementRecorded", "INSERT INTO measurements VALUES (?,?,?,?,?,?,?,?,?,?,?)")
def _measured(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    return (
        seq,
        key,
        d.measurement_id,
        d.kpi,
        utc_text(d.effective_at),
        d.value,
        d.source,
        d.note,
        d.actor,
        d.confidence,
        d.via,
    )


@on("BaselineEstablished", "INSERT INTO baselines VALUES (?,?,?,?,?,?,?,?,?)")
def _baseline(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    at = utc_text(d.effective_at)
    return (seq, key, d.kpi, at, d.value, d.source, d.reason, utc_text(d.timestamp), d.actor)


@on("MeasurementCorrected", _CHANGE)
def _corrected(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    at = utc_text(d.timestamp)
    return (seq, key, d.measurement_id, "corrected", d.value, d.reason, at, d.actor, d.confidence, d.note)


@on("MeasurementRetracted", _CHANGE)
def _retracted(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
    at = utc_text(d.timestamp)
    return (seq, key, d.measurement_id, "retracted", None, d.reason, at, d.actor, None, None)


def forget(db: Any, stream: str, key: int | None) -> None:
    for table in TABLES:
        db.execute(f"DELETE FROM {table} WHERE client_key = ?", (key,))


class Facts:
    """Everything progress needs about one client, cut at a known-at sequence."""

    def __init__(
        self, db: ViewDB, key: int, known_seq: int | None = None, effective_until: datetime | None = None
    ) -> None:
        """``effective_until``: leave out measurements and baselines effective later (they count
        for no as-of date up to then), so an as-of read of a long history reads fewer rows."""
        upto = known_seq if known_seq is not None else UNKNOWN
        until = moment(effective_until) if effective_until is not None else "9999"
        self.defs = history.def_rows(db, key, known_seq)
        self.baselines: dict[str, list[calc.BaselineRow]] = {}
        self.measurements: dict[str, list[calc.MeasurementRow]] = {}
        self.changes: dict[str, list[calc.ChangeRow]] = {}
        fromiso = datetime.fromisoformat
        for seq, kpi, at, value in db.execute(
            "SELECT seq, kpi, effective_at, value FROM baselines "
            "WHERE client_key = ? AND seq <= ? AND effective_at <= ? ORDER BY seq",
            (key, upto, until),
        ).fetchall():
            self.baselines.setdefault(kpi, []).append(calc.BaselineRow(seq, fromiso(at), Decimal(value)))
        # The hot loop of a long history (thousands of rows): rows built by tuple.__new__.
        row = calc.MeasurementRow._make
        measurements = self.measurements
        for seq, mid, kpi, at, value in db.execute(
            "SELECT seq, mid, kpi, effective_at, value FROM measurements "
            "WHERE client_key = ? AND seq <= ? AND effective_at <= ? ORDER BY seq",
            (key, upto, until),
        ).fetchall():
            rows = measurements.get(kpi)
            if rows is None:
                rows = measurements[kpi] = []
            rows.append(row((seq, mid, fromiso(at), Decimal(value))))
        # A change counts only for a measurement read above (known, effective in time).
        kpi_of = {m.mid: kpi for kpi, rows in measurements.items() for m in rows}
        for seq, mid, kind, value in db.execute(
            "SELECT seq, mid, kind, value FROM measurement_changes WHERE client_key = ? AND seq <= ? ORDER BY seq",
            (key, upto),
        ).fetchall():
            kpi = kpi_of.get(mid)
            if kpi is not None:
                change = calc.ChangeRow(seq, mid, kind, Decimal(value) if value is not None else None)
                self.changes.setdefault(kpi, []).append(change)

    def kpis(self) -> list[str]:
        """KPI ids in definition order."""
        return sorted(self.defs, key=lambda k: self.defs[k][0].seq)

    def progress(self, kpi: str, as_of: datetime) -> Progress:
        return calc.kpi_progress(
            kpi,
            self.defs[kpi],
            self.baselines.get(kpi, ()),
            self.measurements.get(kpi, ()),
            self.changes.get(kpi, ()),
            as_of,
        )

    def definition(self, kpi: str, at: datetime) -> dict[str, Any]:
        return calc.definition_at(self.defs[kpi], at)


def client_progress(db: ViewDB, key: int, as_of: datetime, known_seq: int | None = None) -> list[Progress]:
    facts = Facts(db, key, known_seq, effective_until=as_of)
    return [facts.progress(kpi, as_of) for kpi in facts.kpis()]


def measurement_rows(db: ViewDB, key: int, kpi: str, known_seq: int | None = None) -> list[dict[str, Any]]:
    """The measurements of one KPI with their corrections and retractions (for reports and charts)."""
    upto = known_seq if known_seq is not None else UNKNOWN
    rows = db.execute(
        "SELECT m.seq, m.mid, m.effective_at, m.value, m.source, m.note, i.recorded_at, m.actor, m.via "
        "FROM measurements m JOIN event_index i ON i.seq = m.seq "
        "WHERE m.client_key = ? AND m.kpi = ? AND m.seq <= ? ORDER BY m.effective_at, m.seq",
        (key, kpi, upto),
    ).fetchall()
    keys = ("seq", "mid", "effective_at", "value", "source", "note", "recorded_at", "actor", "via")
    out = [dict(zip(keys, r, strict=True)) for r in rows]
    changes: dict[str, list[tuple[str, str | None, str, str | None]]] = {}
    for mid, kind, value, actor, note in db.execute(
        "SELECT mid, kind, value, actor, note FROM measurement_changes WHERE client_key = ? AND seq <= ? ORDER BY seq",
        (key, upto),
    ).fetchall():
        changes.setdefault(mid, []).append((kind, value, actor, note))
    for m in out:
        m["retracted"] = any(c[0] == "retracted" for c in changes.get(m["mid"], ()))
        corrected = [c for c in changes.get(m["mid"], ()) if c[0] == "corrected"]
        m["corrected_value"] = corrected[-1][1] if corrected else None
        m["corrected_by"] = corrected[-1][2] if corrected else None  # a check-in's amendment: the client
        notes = [c[3] for c in corrected if c[3] is not None]
        if notes:
            m["note"] = notes[-1]
    return out


class Confidence(NamedTuple):
    """One check-in's confidence (0..10) of reaching a KPI's target."""

    effective_at: str
    confidence: int
    mid: str


def confidences(
    db: ViewDB, key: int, known_seq: int | None = None, until: datetime | None = None
) -> dict[str, list[Confidence]]:
    """KPI -> the confidences of its measurements effective by ``until`` (retracted ones left out),
    in effective order."""
    upto = known_seq if known_seq is not None else UNKNOWN
    retracted = {
        mid
        for (mid,) in db.execute(
            "SELECT mid FROM measurement_changes WHERE client_key = ? AND seq <= ? AND kind = 'retracted'",
            (key, upto),
        ).fetchall()
    }
    # A check-in answered again within its window amends the confidence too (its correction's).
    amended = dict(
        db.execute(
            "SELECT mid, confidence FROM measurement_changes WHERE client_key = ? AND seq <= ? "
            "AND kind = 'corrected' AND confidence IS NOT NULL ORDER BY seq",
            (key, upto),
        ).fetchall()
    )
    also = f" OR mid IN ({','.join('?' * len(amended))})" if amended else ""
    out: dict[str, list[Confidence]] = {}
    for kpi, mid, at, value in db.execute(
        "SELECT kpi, mid, effective_at, confidence FROM measurements WHERE client_key = ? AND seq <= ? "
        f"AND effective_at <= ? AND (confidence IS NOT NULL{also}) ORDER BY effective_at, seq",
        (key, upto, moment(until) if until is not None else "9999", *amended),
    ).fetchall():
        if mid not in retracted:
            out.setdefault(kpi, []).append(Confidence(at, int(amended.get(mid, value)), mid))
    return out
