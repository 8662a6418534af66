"""Client reports: one document built from the read side, rendered as Markdown, HTML or JSON.

The document is plain data (exactly what ``--format json`` prints); Markdown and HTML are
views of it, so the three formats never disagree. The HTML is one self-contained file:
inline CSS and SVG charts drawn here, no script, no network, fit for printing. Every text a
person typed is escaped on the way out.

Values are shown in the scale and unit of the KPI definition in force at the *frame* date:
the as-of date, or ``definition_as_of`` when a coach asks how the numbers look under the
definitions of another date (``calc.convert`` maps each value onto that definition).
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from coachledger import __version__
from coachledger.errors import DomainError
from coachledger.projections import calc, clients, history, journal, progress
from coachledger.projections.read import ReadSide, balance_of, iso, now, overall

__all__ = [
    "FORMATS",
    "ReportError",
    "build_report",
    "progress_under",
    "render",
    "render_report",
    "write_report",
]

FORMATS = ("md", "html", "json")
REPORT_VERSION = 1
_ALL = 1 << 62


class ReportError(DomainError):
    """The report cannot be produced as asked (a bad format, an unwritable file)."""


# -- the document ------------------------------------------------------------------------


PROGRESS_HEADERS = (
    "KPI",
    "Baseline",
    "Current",
    "Target",
    "Unit",
    "Due",
    "Progress",
    "Expected",
    "Status",
    "n",
    "Trend/month",
)


def progress_under(facts: progress.Facts, kpi: str, as_of: datetime, frame: datetime) -> dict[str, Any]:
    """Progress as of ``as_of`` under the KPI definition in force at ``frame``.

    Baselines, measurements, corrections and retractions are those counted as of ``as_of``
    (and known to ``facts``); each value is converted into the scale and unit in force at
    ``frame``, and the target, due date, scale and unit are those of ``frame``. Expected
    progress and status compare ``as_of`` with that due date. ``retired`` stays the fact at
    ``as_of``: retirement ends tracking, it does not redefine the numbers.
    """
    item = facts.progress(kpi, as_of)
    if frame == as_of:
        return item
    defs = facts.defs[kpi]
    definition = calc.definition_at(defs, frame)
    fields = {k: v for k, v in definition.items() if k != "retired"}
    only = [calc.DefRow(0, "defined", frame, fields)]

    def conv(value: Decimal, at: datetime) -> Decimal:
        return calc.convert(value, at, frame, defs)

    measured = facts.measurements.get(kpi, [])
    effective = {m.mid: m.effective_at for m in measured}
    redone = calc.kpi_progress(
        kpi,
        only,
        [
            calc.BaselineRow(b.seq, b.effective_at, conv(b.value, b.effective_at))
            for b in facts.baselines.get(kpi, [])
        ],
        [calc.MeasurementRow(m.seq, m.mid, m.effective_at, conv(m.value, m.effective_at)) for m in measured],
        [
            calc.ChangeRow(c.seq, c.mid, c.kind, None if c.value is None else conv(c.value, effective[c.mid]))
            for c in facts.changes.get(kpi, [])
        ],
        as_of,
    )
    redone["retired"] = item["retired"]
    return redone


def build_report(
    rs: ReadSide,
    slug: str,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    definition_as_of: datetime | None = None,
) -> dict[str, Any]:
    """The whole report of one client as plain, JSON-ready data."""
    c = rs.client(slug)
    key = c["key"]
    moment = as_of or now()
    frame = definition_as_of or moment
    known = rs.known_seq(c["stream"], known_at)
    facts = progress.Facts(rs.db, key, known)
    ids = facts.kpis()
    items = [progress_under(facts, k, moment, frame) for k in ids]
    until = iso(moment)
    assert until is not None
    reasons = _change_reasons(rs.db, key, known)
    kpis = [
        _kpi_section(rs.db, key, facts, kpi, item, moment, frame, known, reasons)
        for kpi, item in zip(ids, items, strict=True)
    ]
    effect = None
    if definition_as_of is not None:
        effect = [
            _effect(facts, kpi, item, moment, definition_as_of) for kpi, item in zip(ids, items, strict=True)
        ]
    return {
        "report_version": REPORT_VERSION,
        "generator": f"coachledger {__version__}",
        "generated_at": iso(now()),
        "client": slug,
        "name": c["name"],
        "coach": c["coach"],
        "as_of": until,
        "known_at": iso(known_at),
        "definition_as_of": iso(definition_as_of),
        "definitions": _definitions_note(moment, definition_as_of),
        "nothing_known": known == 0,
        "status": overall([i for i in items if not i["retired"]]),
        "goals": clients.goals(rs.db, key, known),
        "progress": items,
        "definition_effect": effect,
        "kpis": kpis,
        "balance": balance_of(items),
        "feedback": journal.feedback(rs.db, key, known, until),
        "sessions": journal.sessions(rs.db, key, known, until),
        "milestones": [m for m in journal.milestones(rs.db, key, known) if m["recorded_at"] <= until],
        "receipt": receipt(rs.db, known_at),
    }


def _definitions_note(moment: datetime, definition_as_of: datetime | None) -> str:
    if definition_as_of is None:
        return (
            f"KPI definitions in force at the as-of date {_when(moment)}; every value is shown in "
            "the scale and unit of that definition."
        )
    return (
        f"KPI definitions in force at {_when(definition_as_of)} (target, due date, scale and unit of "
        f"that date). Baselines and measurements are those counted as of {_when(moment)}, converted "
        f"into that date's scale and unit; expected progress and status compare {_when(moment)} with "
        "that date's due date."
    )


def _effect(
    facts: progress.Facts, kpi: str, under: dict[str, Any], moment: datetime, then: datetime
) -> dict[str, Any]:
    """Split the change of progress since ``then`` into the measured part and the redefinition."""
    before = facts.progress(kpi, then)
    actual = facts.progress(kpi, moment)

    def view(item: dict[str, Any]) -> dict[str, Any]:
        keys = ("baseline", "current", "target", "unit", "due", "progress_pct", "expected_pct", "status")
        return {k: item[k] for k in keys}

    def diff(a: Any, b: Any) -> float | None:
        return None if a is None or b is None else calc.round1(a - b)

    return {
        "kpi": kpi,
        "name": actual["name"],
        "then": view(before),
        "under_definition_as_of": view(under),
        "under_as_of_definition": view(actual),
        "real_change_pct": diff(under["progress_pct"], before["progress_pct"]),
        "redefinition_pct": diff(actual["progress_pct"], under["progress_pct"]),
    }


def _change_reasons(db: Any, key: int, known: int | None) -> dict[str, dict[str, str | None]]:
    rows = db.execute(
        "SELECT mid, kind, reason FROM measurement_changes WHERE client_key = ? AND seq <= ? ORDER BY seq",
        (key, _ALL if known is None else known),
    ).fetchall()
    out: dict[str, dict[str, str | None]] = {}
    for mid, kind, reason in rows:
        out.setdefault(mid, {})[kind] = reason
    return out


def _kpi_section(
    db: Any,
    key: int,
    facts: progress.Facts,
    kpi: str,
    item: dict[str, Any],
    moment: datetime,
    frame: datetime,
    known: int | None,
    reasons: dict[str, dict[str, str | None]],
) -> dict[str, Any]:
    """One KPI: its definition at the frame date, the points of its chart, its change history."""
    defs = facts.defs[kpi]
    definition = history.display(calc.definition_at(defs, frame))

    def shown(value: Decimal, at: datetime) -> int | float | None:
        return calc.to_number(calc.convert(value, at, frame, defs))

    base_rows = [b for b in facts.baselines.get(kpi, []) if b.effective_at <= moment]
    in_force = max(base_rows, key=lambda b: (b.effective_at, b.seq), default=None)
    since = in_force.effective_at if in_force is not None else None
    baselines = [
        {
            "effective_at": iso(b.effective_at),
            "value": calc.to_number(b.value),
            "shown": shown(b.value, b.effective_at),
            "in_force": b is in_force,
        }
        for b in sorted(base_rows, key=lambda b: (b.effective_at, b.seq))
    ]
    measurements = []
    for m in progress.measurement_rows(db, key, kpi, known):
        at = datetime.fromisoformat(m["effective_at"])
        if at > moment:
            continue
        value = Decimal(m["value"])
        corrected = None if m["corrected_value"] is None else Decimal(m["corrected_value"])
        why = reasons.get(m["mid"], {})
        measurements.append(
            {
                "mid": m["mid"],
                "effective_at": m["effective_at"],
                "recorded_at": m["recorded_at"],
                "actor": m["actor"],
                "source": m["source"],
                "note": m["note"],
                "value": calc.to_number(value),
                "corrected_value": calc.to_number(corrected),
                "shown": shown(corrected if corrected is not None else value, at),
                "original_shown": None if corrected is None else shown(value, at),
                "retracted": bool(m["retracted"]),
                "retraction_reason": why.get("retracted") if m["retracted"] else None,
                "correction_reason": why.get("corrected") if corrected is not None else None,
                "counted": not m["retracted"] and since is not None and since <= at,
            }
        )
    versions = [v for v in history.versions(db, key, kpi) if known is None or v["seq"] <= known]
    maps = {row.seq: _conversion(row) for row in defs}
    for v in versions:
        v["conversion"] = maps.get(v["seq"])
    return {
        "kpi": kpi,
        "definition": definition,
        "progress": item,
        "baselines": baselines,
        "measurements": measurements,
        "adjustments": [
            {
                k: v[k]
                for k in (
                    "version",
                    "kind",
                    "effective_at",
                    "recorded_at",
                    "actor",
                    "reason",
                    "changes",
                    "conversion",
                )
            }
            for v in versions[1:]
        ],
        "history": versions,
    }


def _conversion(row: calc.DefRow) -> str | None:
    """How an adjustment maps earlier values onto its definition (None: values stay as they are)."""
    if row.kind != "adjusted":
        return None
    if row.rescale:
        return "earlier values rescaled linearly onto the new scale"
    if row.factor:
        return f"earlier values multiplied by {_num(calc.to_number(row.factor))}"
    return None


def receipt(db: Any, known_at: datetime | None = None) -> dict[str, Any] | None:
    """The ledger's head seal and event count (as recorded by ``known_at``); None when unsealed."""
    if known_at is None:
        row = db.execute("SELECT count(*), max(seq) FROM event_index").fetchone()
    else:
        row = db.execute(
            "SELECT count(*), max(seq) FROM event_index WHERE seq <= "
            "(SELECT coalesce(max(seq), 0) FROM event_index WHERE recorded_at <= ?)",
            (iso(known_at),),
        ).fetchone()
    count, last = int(row[0] or 0), row[1]
    if not count or last is None:
        return None
    seal = db.execute("SELECT seal, recorded_at FROM event_index WHERE seq = ?", (last,)).fetchone()
    return {"events": count, "last_seq": int(last), "head": bytes(seal[0]).hex(), "recorded_at": seal[1]}


# -- rendering ---------------------------------------------------------------------------


def render(doc: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return render_markdown(doc)
    if fmt == "html":
        return render_html(doc)
    raise ReportError(f"unknown report format '{fmt}' (use one of: {', '.join(FORMATS)})")


def _when(value: str | datetime | None) -> str:
    """A moment as a person reads it: the date alone at midnight UTC, else date and time."""
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    moment = moment.astimezone(UTC)
    if moment.hour == moment.minute == moment.second == moment.microsecond == 0:
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _day(value: str | None) -> str:
    return "-" if not value else value[:10]


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        text = f"{value:,.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def _pct(value: Any) -> str:
    return "-" if value is None else f"{_num(value)}%"


def _signed(value: Any) -> str:
    if value is None:
        return "-"
    return ("+" if value > 0 else "") + _pct(value)


def _status_of(item: dict[str, Any]) -> str:
    return "retired" if item["retired"] else str(item["status"])


def _change_text(changes: dict[str, Any]) -> list[str]:
    return [f"{field}: {_plain(old)} → {_plain(new)}" for field, (old, new) in changes.items()]


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _num(value)
    return str(value)


def _definition_text(d: dict[str, Any]) -> str:
    scale = (
        f", scale {_num(d.get('scale_min'))}..{_num(d.get('scale_max'))}"
        if d.get("scale_min") is not None
        else ""
    )
    return f"{d.get('direction')} to {_num(d.get('target'))} {d.get('unit')} by {d.get('due')}{scale}"


def _history_rows(section: dict[str, Any]) -> list[tuple[str, str, str, str, str, str, str]]:
    rows = []
    for v in section["history"]:
        if v["kind"] == "defined":
            what = "defined: " + _definition_text(v["definition"])
        elif v["kind"] == "retired":
            what = "retired"
        else:
            what = "; ".join(_change_text({k: c for k, c in v["changes"].items() if k != "retired"}))
        if v.get("conversion"):
            what += f" ({v['conversion']})"
        rows.append(
            (
                f"v{v['version']}",
                v["kind"],
                "from the start" if v["version"] == 1 else _when(v["effective_at"]),
                _when(v["recorded_at"]),
                v["actor"],
                v["reason"] or "-",
                what,
            )
        )
    return rows


def _measurement_state(m: dict[str, Any]) -> str:
    if m["retracted"]:
        return "retracted" + (f": {m['retraction_reason']}" if m["retraction_reason"] else "")
    parts = []
    if m["corrected_value"] is not None:
        parts.append(
            f"corrected from {_num(m['value'])}"
            + (f": {m['correction_reason']}" if m["correction_reason"] else "")
        )
    parts.append("counted" if m["counted"] else "before the baseline (not counted)")
    return "; ".join(parts)


SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float]) -> str:
    """A one-line text chart (for Markdown, where no picture fits)."""
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:
        return SPARKS[3] * len(values)
    return "".join(SPARKS[round((v - lo) / (hi - lo) * (len(SPARKS) - 1))] for v in values)


def _series(section: dict[str, Any]) -> list[tuple[str, float]]:
    """The counted path: the baseline in force, then the counted measurements in effective order."""
    base = [b for b in section["baselines"] if b["in_force"]]
    points = [(b["effective_at"], float(b["shown"])) for b in base]
    points += [(m["effective_at"], float(m["shown"])) for m in section["measurements"] if m["counted"]]
    return points


# -- Markdown ----------------------------------------------------------------------------


def _md(value: Any) -> str:
    """Text for a Markdown table cell: no line breaks, no pipes, no markup, no raw HTML."""
    text = _plain(value) if not isinstance(value, str) else value
    text = " ".join(text.split())
    for ch in "\\`*_[]|":
        text = text.replace(ch, "\\" + ch)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    rows = list(rows)
    if not rows:
        return ["_None._", ""]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def render_markdown(doc: dict[str, Any]) -> str:
    out = [f"# Progress report: {_md(doc['name'])} ({_md(doc['client'])})", ""]
    out += [
        f"- Coach: {_md(doc['coach'] or '-')}",
        f"- As of: {_when(doc['as_of'])}",
        f"- Known at: {_when(doc['known_at']) if doc['known_at'] else 'everything recorded'}",
        f"- Definitions: {_md(doc['definitions'])}",
        f"- Overall status: {doc['status']}",
        f"- Generated: {_when(doc['generated_at'])} by {doc['generator']}",
        "",
    ]
    if doc["nothing_known"]:
        out += ["Nothing had been recorded for this client by then.", ""]
    out += ["## Progress", ""]
    out += _md_table(
        PROGRESS_HEADERS,
        [
            (
                f"{i['name']} ({i['kpi']})",
                _num(i["baseline"]),
                _num(i["current"]),
                _num(i["target"]),
                i["unit"],
                i["due"],
                _pct(i["progress_pct"]),
                _pct(i["expected_pct"]),
                _status_of(i),
                i["measurements"],
                _num(i["trend_per_month"]),
            )
            for i in doc["progress"]
        ],
    )
    if doc["definition_effect"] is not None:
        out += _md_effect(doc)
    out += ["## KPIs", ""]
    for s in doc["kpis"]:
        d, item = s["definition"], s["progress"]
        out += [f"### {_md(d['name'])} ({_md(s['kpi'])})", ""]
        series = _series(s)
        spark = sparkline([v for _, v in series])
        out += [
            f"{_md(d['category'])}, {_md(d['dimension'])}/{_md(d['horizon'])}: "
            f"{_md(_definition_text(d))}" + (f"; goal {_md(d['goal'])}" if d.get("goal") else ""),
            "",
        ]
        if spark:
            out += [
                f"`{spark}` baseline {_num(item['baseline'])} → current {_num(item['current'])} "
                f"{_md(item['unit'])}, target {_num(item['target'])} ({_status_of(item)})",
                "",
            ]
        if s["measurements"] or s["baselines"]:
            rows: list[Sequence[Any]] = [
                (
                    _when(b["effective_at"]),
                    "baseline",
                    _num(b["shown"]),
                    "in force" if b["in_force"] else "replaced",
                    "",
                    "",
                )
                for b in s["baselines"]
            ]
            rows += [
                (
                    _when(m["effective_at"]),
                    m["mid"],
                    _num(m["shown"]),
                    _measurement_state(m),
                    m["source"] or "",
                    m["note"] or "",
                )
                for m in s["measurements"]
            ]
            rows.sort(key=lambda r: r[0])
            out += _md_table(
                ("Date", "Entry", f"Value ({_md(item['unit'])})", "State", "Source", "Note"), rows
            )
        out += ["Change history:", ""]
        out += _md_table(
            ("Version", "Kind", "Effective", "Recorded", "Actor", "Reason", "What"), _history_rows(s)
        )
    out += ["## Balance", ""]
    out += _md_table(
        ("Dimension", "Horizon", "KPIs", "Average progress", "Statuses"),
        [
            (
                q["dimension"],
                q["horizon"],
                ", ".join(q["kpis"]) or "-",
                _pct(q["average_progress_pct"]),
                ", ".join(f"{k} {n}" for k, n in q["statuses"].items()) or "-",
            )
            for q in doc["balance"]
        ],
    )
    out += ["## Goals", ""]
    out += _md_table(
        ("Goal", "Text", "Horizon", "Due"),
        [(g["goal"], g["text"], g["horizon"], _day(g.get("due"))) for g in doc["goals"]],
    )
    out += ["## Milestones", ""]
    out += _md_table(
        ("Recorded", "Kind", "For", "Note", "Actor"),
        [
            (_when(m["recorded_at"]), m["kind"], m["target"], m["note"] or "", m["actor"])
            for m in doc["milestones"]
        ],
    )
    out += ["## Sessions", ""]
    out += _md_table(
        ("Date", "Notes", "KPIs", "Agreed actions", "Actor"),
        [
            (_when(s["effective_at"]), s["notes"], ", ".join(s["kpis"]), "; ".join(s["actions"]), s["actor"])
            for s in doc["sessions"]
        ],
    )
    out += ["## Feedback", ""]
    out += _md_table(
        ("Date", "Rating", "About", "Comment"),
        [
            (_when(f["effective_at"]), f"{f['rating']}/5", f["about"], f["comment"] or "")
            for f in doc["feedback"]
        ],
    )
    out += ["## Ledger receipt", ""]
    r = doc["receipt"]
    if r is None:
        out += ["This store keeps no seals: no receipt.", ""]
    else:
        out += [
            f"{r['events']:,} events sealed up to seq {r['last_seq']}; head digest `{r['head']}`. "
            "Check it with `coachledger verify`.",
            "",
        ]
    return "\n".join(out).rstrip("\n") + "\n"


def _md_effect(doc: dict[str, Any]) -> list[str]:
    then = _when(doc["definition_as_of"])
    out = ["## Definition effect", ""]
    out += [
        f"Progress since {then} split into the real change (new measurements, judged by the definition "
        f"of {then}) and the part that comes from redefining the KPI since.",
        "",
    ]
    out += _md_table(
        (
            "KPI",
            f"Then ({then})",
            f"Now, {then} definition",
            "Now, current definition",
            "Real change",
            "From redefinition",
        ),
        [
            (
                f"{e['name']} ({e['kpi']})",
                _pct(e["then"]["progress_pct"]),
                _pct(e["under_definition_as_of"]["progress_pct"]),
                _pct(e["under_as_of_definition"]["progress_pct"]),
                _signed(e["real_change_pct"]),
                _signed(e["redefinition_pct"]),
            )
            for e in doc["definition_effect"]
        ],
    )
    return out


# -- SVG charts --------------------------------------------------------------------------

W, H = 720, 250
ML, MR, MT, MB = 62, 96, 24, 34
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _e(value: Any) -> str:
    return html.escape(_plain(value) if not isinstance(value, str) else value, quote=True)


def _nice_step(span: float, count: int = 4) -> float:
    raw = span / count
    magnitude = 10 ** _floor_log10(raw)
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            return float(m * magnitude)
    return float(10 * magnitude)


def _floor_log10(x: float) -> int:
    from math import floor, log10

    return floor(log10(x))


def _ticks(lo: float, hi: float) -> list[float]:
    """Round tick values whose first and last enclose [lo, hi]."""
    from math import ceil, floor

    step = _nice_step(hi - lo)
    first, last = floor(lo / step + 1e-9), ceil(hi / step - 1e-9)
    return [round(k * step, 10) for k in range(first, last + 1)]


def _month_ticks(t0: datetime, t1: datetime) -> list[datetime]:
    months = (t1.year - t0.year) * 12 + t1.month - t0.month + 1
    every = next((n for n in (1, 2, 3, 6, 12, 24, 60) if months / n <= 8), 12 * (months // 96 + 1))
    out: list[datetime] = []
    y, m = t0.year, t0.month
    while True:
        tick = datetime(y, m, 1, tzinfo=UTC)
        if tick > t1:
            return out
        if tick >= t0 and (m - 1) % every == 0:
            out.append(tick)
        m += 1
        if m > 12:
            y, m = y + 1, 1


def chart_svg(section: dict[str, Any], as_of: str, chart_id: str) -> str:
    """One KPI's chart: baseline, measurements, target, expected path, due date and adjustments."""
    item, unit = section["progress"], section["progress"]["unit"] or ""
    moment = datetime.fromisoformat(as_of)
    due = datetime.fromisoformat(item["due"]).replace(tzinfo=UTC)
    target = float(item["target"])
    adjustments = [(datetime.fromisoformat(a["effective_at"]), a) for a in section["adjustments"]]
    times = [moment, due] + [t for t, _ in adjustments]
    times += [datetime.fromisoformat(b["effective_at"]) for b in section["baselines"]]
    times += [datetime.fromisoformat(m["effective_at"]) for m in section["measurements"]]
    t0, t1 = min(times), max(times)
    pad = max((t1 - t0) * 0.03, timedelta(days=3))
    t0, t1 = t0 - pad, t1 + pad
    values = [target] + [float(b["shown"]) for b in section["baselines"]]
    for m in section["measurements"]:
        values += [float(v) for v in (m["shown"], m["original_shown"]) if v is not None]
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi = lo - 1, hi + 1
    ticks = _ticks(lo - (hi - lo) * 0.05, hi + (hi - lo) * 0.05)
    lo, hi = ticks[0], ticks[-1]
    scale = section["definition"].get("scale_min"), section["definition"].get("scale_max")
    if scale[0] is not None and scale[1] is not None and scale[0] < scale[1]:
        lo, hi = max(lo, float(scale[0])), min(hi, float(scale[1]))  # never beyond the KPI's scale
        ticks = [v for v in ticks if lo <= v <= hi]
    span_t = (t1 - t0).total_seconds()

    def x(t: datetime) -> float:
        return round(ML + (t - t0).total_seconds() / span_t * (W - ML - MR), 1)

    def y(v: float) -> float:
        return round(MT + (hi - v) / (hi - lo) * (H - MT - MB), 1)

    bottom, right = H - MB, W - MR
    name = section["definition"]["name"]
    parts = [
        f'<svg id="{_e(chart_id)}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" '
        f'width="{W}" height="{H}" role="img" aria-labelledby="{_e(chart_id)}-title">',
        f'<title id="{_e(chart_id)}-title">{_e(name)}: measurements against the target {_e(_num(target))} '
        f"{_e(unit)}</title>",
    ]
    for v in ticks:
        parts.append(f'<line class="grid" x1="{ML}" x2="{right}" y1="{y(v)}" y2="{y(v)}"/>')
        parts.append(f'<text class="tick" x="{ML - 6}" y="{y(v) + 4}" text-anchor="end">{_e(_num(v))}</text>')
    months = _month_ticks(t0, t1)
    for t in months:
        label = _MONTHS[t.month - 1] + (f" {t.year}" if t.month == 1 or t == months[0] else "")
        parts.append(f'<line class="xtick" x1="{x(t)}" x2="{x(t)}" y1="{bottom}" y2="{bottom + 4}"/>')
        parts.append(
            f'<text class="tick" x="{x(t)}" y="{bottom + 16}" text-anchor="middle">{_e(label)}</text>'
        )
    parts.append(f'<line class="axis" x1="{ML}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    parts.append(f'<text class="unit" x="{ML}" y="{MT - 10}" text-anchor="start">{_e(unit)}</text>')
    for t, a in adjustments:
        what = "; ".join(_change_text({k: c for k, c in a["changes"].items() if k != "retired"})) or a["kind"]
        if a.get("conversion"):
            what += f"; {a['conversion']}"
        tip = f"v{a['version']} {a['kind']} {_when(a['effective_at'])} by {a['actor']}: {a['reason'] or '-'} ({what})"
        parts.append(
            f'<g class="adjustment"><title>{_e(tip)}</title>'
            f'<line class="hit" x1="{x(t)}" x2="{x(t)}" y1="{MT}" y2="{bottom}"/>'
            f'<line class="adj" x1="{x(t)}" x2="{x(t)}" y1="{MT}" y2="{bottom}"/>'
            f'<text class="adjlabel" x="{x(t) + 3}" y="{MT + 10}">v{a["version"]}</text></g>'
        )
    parts.append(
        f'<g class="due"><title>due {_e(item["due"])}</title>'
        f'<line class="duemark" x1="{x(due)}" x2="{x(due)}" y1="{MT}" y2="{bottom}"/>'
        f'<text class="duelabel" x="{x(due) + 3}" y="{bottom - 5}">due</text></g>'
    )
    parts.append(
        f'<g class="asof"><title>as of {_e(_when(as_of))}</title>'
        f'<line class="asofmark" x1="{x(moment)}" x2="{x(moment)}" y1="{MT}" y2="{bottom}"/>'
        f'<text class="asoflabel" x="{x(moment) - 3}" y="{bottom - 5}" text-anchor="end">as of</text></g>'
    )
    parts.append(
        f'<g class="target"><title>target {_e(_num(target))} {_e(unit)} by {_e(item["due"])}</title>'
        f'<line class="targetline" x1="{ML}" x2="{right}" y1="{y(target)}" y2="{y(target)}"/>'
        f'<text class="targetlabel" x="{right + 4}" y="{y(target) + 4}">target {_e(_num(target))}</text></g>'
    )
    base = next((b for b in section["baselines"] if b["in_force"]), None)
    if base is not None:
        bt = datetime.fromisoformat(base["effective_at"])
        parts.append(
            f'<line class="expected" x1="{x(bt)}" y1="{y(float(base["shown"]))}" x2="{x(due)}" y2="{y(target)}">'
            "<title>expected path from the baseline to the target</title></line>"
        )
    series = _series(section)
    if len(series) > 1:
        path = " ".join(f"{x(datetime.fromisoformat(t))},{y(v)}" for t, v in series)
        parts.append(f'<polyline class="path" points="{path}"/>')
    for b in section["baselines"]:
        bx, by = x(datetime.fromisoformat(b["effective_at"])), y(float(b["shown"]))
        kind = "baseline" if b["in_force"] else "baseline replaced"
        parts.append(
            f'<rect class="{kind}" x="{bx - 5}" y="{by - 5}" width="10" height="10">'
            f"<title>{_e(kind)} {_e(_num(b['shown']))} {_e(unit)} ({_e(_when(b['effective_at']))})</title></rect>"
        )
    for m in section["measurements"]:
        mx, my = x(datetime.fromisoformat(m["effective_at"])), y(float(m["shown"]))
        tip = f"{m['mid']} {_when(m['effective_at'])}: {_num(m['shown'])} {unit} ({_measurement_state(m)})"
        if m["note"]:
            tip += f" - {m['note']}"
        if m["retracted"]:
            parts.append(
                f'<g class="retracted"><title>{_e(tip)}</title><circle cx="{mx}" cy="{my}" r="5"/>'
                f'<line x1="{mx - 7}" y1="{my + 7}" x2="{mx + 7}" y2="{my - 7}"/></g>'
            )
            continue
        if m["original_shown"] is not None:
            oy = y(float(m["original_shown"]))
            parts.append(
                f'<g class="original"><title>{_e(m["mid"])} as first recorded: {_e(_num(m["original_shown"]))}</title>'
                f'<line x1="{mx}" y1="{oy}" x2="{mx}" y2="{my}"/><circle cx="{mx}" cy="{oy}" r="3.5"/></g>'
            )
        kind = "measurement" if m["counted"] else "uncounted"
        if m["original_shown"] is not None:
            kind += " corrected"
        parts.append(f'<circle class="{kind}" cx="{mx}" cy="{my}" r="4.5"><title>{_e(tip)}</title></circle>')
    parts.append("</svg>")
    return "\n".join(parts)


# -- HTML --------------------------------------------------------------------------------

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#d9e2ec; --soft:#f5f7fa; --accent:#2f5d8a;
  --good:#1e7b45; --warn:#b7791f; --bad:#c0392b; --none:#7b8794; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: #fff; max-width: 1000px; margin: 0 auto; padding: 28px 32px 48px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 14px; margin-bottom: 8px; }
h1 { font-size: 26px; margin: 0 0 2px; }
h1 small { font-size: 15px; color: var(--muted); font-weight: 400; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); color: var(--accent); }
h3 { font-size: 16px; margin: 0; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 18px; margin: 10px 0 0; font-size: 14px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
p.note { color: var(--muted); font-size: 13.5px; margin: 4px 0 10px; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; margin: 6px 0 14px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; color: #3e4c59; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.nw { white-space: nowrap; }
td small { color: var(--muted); display: block; }
table.progress td:first-child { min-width: 9em; }
table.progress th, table.progress td { padding: 5px 6px; }
.status { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 12.5px; font-weight: 600;
  white-space: nowrap; color: #fff; background: var(--none); }
.status.achieved, .status.on-track { background: var(--good); }
.status.at-risk { background: var(--warn); }
.status.off-track, .status.overdue { background: var(--bad); }
.status.retired { background: #9aa5b1; }
.meter { position: relative; width: 90px; height: 8px; background: #e4e7eb; border-radius: 4px; margin-top: 4px; }
.meter .fill { position: absolute; left: 0; top: 0; bottom: 0; background: var(--accent); border-radius: 4px; }
.meter .exp { position: absolute; top: -3px; width: 2px; height: 14px; background: var(--ink); }
section.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px 6px; margin: 16px 0; break-inside: avoid; }
section.kpi .head { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; flex-wrap: wrap; }
section.kpi .facts { color: var(--muted); font-size: 13.5px; margin: 2px 0 8px; }
figure { margin: 0 0 8px; }
svg.chart { width: 100%; max-width: 720px; height: auto; display: block; }
svg.chart text { font: 11px system-ui, -apple-system, "Segoe UI", Arial, sans-serif; fill: var(--muted); }
svg.chart .grid { stroke: #edf0f3; }
svg.chart .axis, svg.chart .xtick { stroke: #9aa5b1; }
svg.chart .targetline { stroke: var(--good); stroke-width: 1.6; stroke-dasharray: 6 4; }
svg.chart .targetlabel { fill: var(--good); font-weight: 600; }
svg.chart .expected { stroke: #9aa5b1; stroke-width: 1.2; stroke-dasharray: 2 4; }
svg.chart .duemark { stroke: var(--bad); stroke-width: 1.4; stroke-dasharray: 3 3; }
svg.chart .duelabel { fill: var(--bad); }
svg.chart .asofmark { stroke: var(--ink); stroke-width: 1; opacity: .35; }
svg.chart .adj { stroke: #d97706; stroke-width: 1.6; }
svg.chart .hit { stroke: transparent; stroke-width: 10; }
svg.chart .adjlabel { fill: #b45309; font-weight: 600; }
svg.chart .path { fill: none; stroke: var(--accent); stroke-width: 2; }
svg.chart .baseline { fill: var(--ink); }
svg.chart .baseline.replaced { fill: #fff; stroke: var(--muted); stroke-width: 1.5; }
svg.chart .measurement { fill: var(--accent); stroke: #fff; stroke-width: 1.2; }
svg.chart .uncounted { fill: #fff; stroke: var(--muted); stroke-width: 1.5; }
svg.chart .retracted circle { fill: #fff; stroke: var(--bad); stroke-width: 1.5; }
svg.chart .retracted line { stroke: var(--bad); stroke-width: 1.5; }
svg.chart .original circle { fill: #fff; stroke: var(--muted); stroke-width: 1.2; }
svg.chart .original line { stroke: var(--muted); stroke-dasharray: 2 2; }
.legend { font-size: 12.5px; color: var(--muted); margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 4px 16px; }
.legend svg { vertical-align: -2px; }
details { margin: 4px 0 8px; }
summary { cursor: pointer; color: var(--accent); font-size: 13.5px; }
.quad { display: grid; grid-template-columns: max-content 1fr 1fr; border: 1px solid var(--line); border-radius: 8px; overflow: hidden; font-size: 13.5px; }
.quad > div { padding: 8px 10px; border-bottom: 1px solid var(--line); border-right: 1px solid var(--line); }
.quad .h { background: var(--soft); font-weight: 600; }
.quad .empty { color: var(--bad); }
code { font: 12.5px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
footer { margin-top: 36px; color: var(--muted); font-size: 12.5px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  h2 { break-after: avoid; }
  section.kpi, figure, .quad, tr { break-inside: avoid; }
  .status, .meter, .meter .fill, th, .quad .h { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  details > * { display: block; }
  summary { display: none; }
  @page { margin: 14mm; }
}
"""

_LEGEND = (
    '<div class="legend">'
    '<span><svg width="12" height="12"><rect x="1" y="1" width="10" height="10" fill="#1f2933"/></svg> baseline</span>'
    '<span><svg width="12" height="12"><circle cx="6" cy="6" r="4.5" fill="#2f5d8a"/></svg> measurement</span>'
    '<span><svg width="12" height="12"><circle cx="6" cy="6" r="4" fill="#fff" stroke="#616e7c" stroke-width="1.5"/>'
    "</svg> first recorded value (corrected) or before the baseline</span>"
    '<span><svg width="14" height="14"><circle cx="7" cy="7" r="4.5" fill="#fff" stroke="#c0392b" stroke-width="1.5"/>'
    '<line x1="1" y1="13" x2="13" y2="1" stroke="#c0392b" stroke-width="1.5"/></svg> retracted</span>'
    '<span><svg width="22" height="8"><line x1="0" y1="4" x2="22" y2="4" stroke="#1e7b45" stroke-width="1.6" '
    'stroke-dasharray="6 4"/></svg> target</span>'
    '<span><svg width="22" height="8"><line x1="0" y1="4" x2="22" y2="4" stroke="#9aa5b1" stroke-dasharray="2 4"/>'
    "</svg> expected path</span>"
    '<span><svg width="8" height="14"><line x1="4" y1="0" x2="4" y2="14" stroke="#c0392b" stroke-dasharray="3 3"/>'
    "</svg> due date</span>"
    '<span><svg width="8" height="14"><line x1="4" y1="0" x2="4" y2="14" stroke="#d97706" stroke-width="1.6"/>'
    "</svg> KPI adjustment (hover for the reason)</span>"
    "</div>"
)


def _status_html(item: dict[str, Any]) -> str:
    status = _status_of(item)
    return f'<span class="status {_e(status)}">{_e(status)}</span>'


def _meter(item: dict[str, Any]) -> str:
    pct, exp = item["progress_pct"], item["expected_pct"]
    if pct is None:
        return ""
    fill = min(max(float(pct), 0.0), 100.0)
    marker = (
        ""
        if exp is None
        else f'<span class="exp" style="left:{min(max(float(exp), 0.0), 100.0):.1f}%"></span>'
    )
    return f'<div class="meter"><span class="fill" style="width:{fill:.1f}%"></span>{marker}</div>'


def _html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Sequence[int] = (),
    cls: str = "",
    nowrap: Sequence[int] = (0,),
) -> str:
    """Cells are HTML already (escaped by the caller), so that a cell may hold a badge."""

    def attr(i: int) -> str:
        names = [n for n, on in (("num", i in numeric), ("nw", i in nowrap)) if on]
        return f' class="{" ".join(names)}"' if names else ""

    head = "".join(f"<th{attr(i)}>{h}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{attr(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    table_attr = f' class="{cls}"' if cls else ""
    return f"<table{table_attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(doc: dict[str, Any]) -> str:
    e: Callable[[Any], str] = _e
    title = f"Progress report: {doc['name']} ({doc['client']})"
    meta = [
        ("Client", f"{e(doc['name'])} ({e(doc['client'])})"),
        ("Coach", e(doc["coach"] or "-")),
        ("As of", e(_when(doc["as_of"]))),
        ("Known at", e(_when(doc["known_at"])) if doc["known_at"] else "everything recorded"),
        ("Definitions", e(doc["definitions"])),
        ("Overall", f'<span class="status {e(doc["status"])}">{e(doc["status"])}</span>'),
    ]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        f"<title>{e(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header>",
        f"<h1>{e(doc['name'])} <small>progress report</small></h1>",
        '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta) + "</dl>",
        "</header>",
    ]
    if doc["nothing_known"]:
        out.append('<p class="note">Nothing had been recorded for this client by then.</p>')
    out += ['<h2 id="progress">Progress</h2>', _progress_html(doc["progress"])]
    if doc["definition_effect"] is not None:
        out.append(_effect_html(doc))
    out.append('<h2 id="kpis">KPIs</h2>')
    if doc["kpis"]:
        out.append(_LEGEND)
    else:
        out.append('<p class="note">No KPIs defined.</p>')
    for n, section in enumerate(doc["kpis"], 1):
        out.append(_kpi_html(section, doc["as_of"], f"chart-{n}"))
    out += ['<h2 id="balance">Balance</h2>', _balance_html(doc["balance"])]
    out += ['<h2 id="goals">Goals and milestones</h2>', _goals_html(doc)]
    out += ['<h2 id="sessions">Sessions</h2>', _sessions_html(doc["sessions"])]
    out += ['<h2 id="feedback">Feedback</h2>', _feedback_html(doc["feedback"])]
    out += ['<h2 id="receipt">Ledger receipt</h2>', _receipt_html(doc["receipt"])]
    out.append(
        f"<footer>Generated {e(_when(doc['generated_at']))} by {e(doc['generator'])} from the client's "
        "event ledger. Every number is rebuilt from recorded events; nothing was edited by hand.</footer>"
    )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _progress_html(items: list[dict[str, Any]]) -> str:
    if not items:
        return '<p class="note">No KPIs.</p>'
    rows = [
        (
            f"{_e(i['name'])}<small>{_e(i['kpi'])}"
            + (f" · {_e(i['category'])}" if i["category"] != i["kpi"] else "")
            + "</small>",
            _e(_num(i["baseline"])),
            _e(_num(i["current"])),
            _e(_num(i["target"])),
            _e(i["unit"]),
            _e(i["due"]),
            _e(_pct(i["progress_pct"])) + _meter(i),
            _e(_pct(i["expected_pct"])),
            _status_html(i),
            _e(i["measurements"]),
            _e(_num(None if i["trend_per_month"] is None else round(i["trend_per_month"], 2))),
        )
        for i in items
    ]
    return _html_table(PROGRESS_HEADERS, rows, numeric=(1, 2, 3, 6, 7, 9, 10), cls="progress", nowrap=(5,))


def _effect_html(doc: dict[str, Any]) -> str:
    then = _e(_when(doc["definition_as_of"]))
    rows = [
        (
            f"{_e(x['name'])} ({_e(x['kpi'])})",
            _e(_pct(x["then"]["progress_pct"])),
            _e(_pct(x["under_definition_as_of"]["progress_pct"])),
            _e(_pct(x["under_as_of_definition"]["progress_pct"])),
            _e(_signed(x["real_change_pct"])),
            _e(_signed(x["redefinition_pct"])),
        )
        for x in doc["definition_effect"]
    ]
    return (
        '<h2 id="definition-effect">Definition effect</h2>'
        f'<p class="note">Progress since {then}, split into the real change (measurements since, judged by '
        f"the definition of {then}) and the part that comes from redefining the KPI since then "
        "(target, due date, scale or unit).</p>"
        + _html_table(
            (
                "KPI",
                f"Then ({then})",
                f"Now, {then} definition",
                "Now, current definition",
                "Real change",
                "From redefinition",
            ),
            rows,
            numeric=(1, 2, 3, 4, 5),
        )
    )


def _kpi_html(section: dict[str, Any], as_of: str, chart_id: str) -> str:
    d, item = section["definition"], section["progress"]
    facts = [
        f"{_e(d['category'])}",
        f"{_e(d['dimension'])} · {_e(d['horizon'])} term",
        _e(_definition_text(d)),
    ]
    if d.get("goal"):
        facts.append(f"goal {_e(d['goal'])}")
    if d.get("method"):
        facts.append(f"measured by {_e(d['method'])}")
    if d.get("defined_by"):
        facts.append(f"defined by {_e(d['defined_by'])}")
    entries = sorted(
        [
            (
                b["effective_at"],
                "baseline",
                _num(b["shown"]),
                "in force" if b["in_force"] else "replaced",
                "",
                "",
            )
            for b in section["baselines"]
        ]
        + [
            (
                m["effective_at"],
                m["mid"],
                _num(m["shown"]),
                _measurement_state(m),
                m["source"] or "",
                m["note"] or "",
            )
            for m in section["measurements"]
        ],
        key=lambda r: r[0],
    )
    rows = [
        (_e(_when(at)), _e(what), _e(v), _e(state), _e(src), _e(note))
        for at, what, v, state, src, note in entries
    ]
    history_rows = [tuple(_e(c) for c in row) for row in _history_rows(section)]
    return "\n".join(
        [
            f'<section class="kpi" id="kpi-{_e(section["kpi"])}">',
            f'<div class="head"><h3>{_e(d["name"])} <small>({_e(section["kpi"])})</small></h3>{_status_html(item)}</div>',
            f'<p class="facts">{" · ".join(facts)}</p>',
            f"<figure>{chart_svg(section, as_of, chart_id)}</figure>",
            "<details><summary>Baseline and measurements</summary>"
            + _html_table(
                ("Date", "Entry", f"Value ({_e(item['unit'])})", "State", "Source", "Note"),
                rows,
                numeric=(2,),
            )
            + "</details>",
            "<details open><summary>Change history</summary>"
            + _html_table(
                ("Version", "Kind", "Effective", "Recorded", "Actor", "Reason", "What changed"),
                history_rows,
                nowrap=(0, 2),
            )
            + "</details>",
            "</section>",
        ]
    )


def _balance_html(quadrants: list[dict[str, Any]]) -> str:
    cells = ['<div class="h"></div>', '<div class="h">Short term</div>', '<div class="h">Long term</div>']
    for dimension in ("professional", "personal"):
        cells.append(f'<div class="h">{dimension.capitalize()}</div>')
        for horizon in ("short", "long"):
            q = next(q for q in quadrants if q["dimension"] == dimension and q["horizon"] == horizon)
            if not q["count"]:
                cells.append('<div class="empty">no KPI: not covered</div>')
                continue
            statuses = ", ".join(f"{_e(k)} {n}" for k, n in q["statuses"].items())
            cells.append(
                f"<div>{q['count']} KPI{'s' if q['count'] != 1 else ''}: {_e(', '.join(q['kpis']))}<br>"
                f"average progress {_e(_pct(q['average_progress_pct']))}<br>{statuses}</div>"
            )
    return '<div class="quad">' + "".join(cells) + "</div>"


def _goals_html(doc: dict[str, Any]) -> str:
    out = []
    if doc["goals"]:
        out.append(
            _html_table(
                ("Goal", "Text", "Horizon", "Due"),
                [
                    (_e(g["goal"]), _e(g["text"]), _e(g["horizon"]), _e(_day(g.get("due"))))
                    for g in doc["goals"]
                ],
            )
        )
    else:
        out.append('<p class="note">No goals recorded.</p>')
    if doc["milestones"]:
        out.append(
            _html_table(
                ("Celebrated", "Kind", "For", "Note", "By"),
                [
                    (
                        _e(_when(m["recorded_at"])),
                        _e(m["kind"]),
                        _e(m["target"]),
                        _e(m["note"] or ""),
                        _e(m["actor"]),
                    )
                    for m in doc["milestones"]
                ],
            )
        )
    else:
        out.append('<p class="note">No milestones celebrated yet.</p>')
    return "\n".join(out)


def _sessions_html(sessions: list[dict[str, Any]]) -> str:
    if not sessions:
        return '<p class="note">No sessions logged.</p>'
    return _html_table(
        ("Date", "Notes", "KPIs discussed", "Agreed actions", "Coach"),
        [
            (
                _e(_when(s["effective_at"])),
                _e(s["notes"]),
                _e(", ".join(s["kpis"])),
                "<br>".join(_e(a) for a in s["actions"]),
                _e(s["actor"]),
            )
            for s in sessions
        ],
    )


def _feedback_html(feedback: list[dict[str, Any]]) -> str:
    if not feedback:
        return '<p class="note">No feedback received.</p>'
    ratings = [f["rating"] for f in feedback]
    average = calc.round1(sum(ratings) / len(ratings))
    return f'<p class="note">{len(ratings)} ratings, average {_e(_num(average))} of 5.</p>' + _html_table(
        ("Date", "Rating", "About", "Comment"),
        [
            (
                _e(_when(f["effective_at"])),
                f'<span title="{f["rating"]} of 5">{"★" * int(f["rating"])}{"☆" * (5 - int(f["rating"]))}</span>',
                _e(f["about"]),
                _e(f["comment"] or ""),
            )
            for f in feedback
        ],
    )


def _receipt_html(r: dict[str, Any] | None) -> str:
    if r is None:
        return '<p class="note">This store keeps no seals: no receipt.</p>'
    return (
        f"<p>{r['events']:,} events sealed up to seq {r['last_seq']} (recorded {_e(_when(r['recorded_at']))}); "
        f"head digest <code>{_e(r['head'])}</code>.</p>"
        '<p class="note">Keep this digest: <code>coachledger verify</code> recomputes the chain of seals; '
        "any changed, removed or inserted event changes it.</p>"
    )


# -- entry points ------------------------------------------------------------------------


def render_report(
    settings: Any,
    client: str,
    fmt: str,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    definition_as_of: datetime | None = None,
) -> str:
    """The report of ``client`` as text in ``fmt`` (md, html or json)."""
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format '{fmt}' (use one of: {', '.join(FORMATS)})")
    rs = ReadSide(settings)
    try:
        doc = build_report(rs, client, as_of, known_at, definition_as_of)
    finally:
        rs.close()
    return render(doc, fmt)


def write_report(
    settings: Any,
    client: str,
    fmt: str,
    out_path: str | os.PathLike[str],
    as_of: datetime | None = None,
    known_at: datetime | None = None,
    definition_as_of: datetime | None = None,
) -> str:
    """Write the report to ``out_path`` (owner-only, 0600) and return its absolute path."""
    text = render_report(settings, client, fmt, as_of, known_at, definition_as_of)
    return write_private(Path(out_path), text)


def write_private(path: Path, text: str) -> str:
    """Write whole or not at all: a temporary file beside the target, then an atomic rename."""
    path = path.expanduser().absolute()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as err:
        raise ReportError(f"cannot write the report to {path}: {err.strerror or err}") from None
    return str(path)
