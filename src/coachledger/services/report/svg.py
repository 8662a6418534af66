"""One KPI's chart as inline SVG: baseline, measurements, target, expected path, due date, adjustments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from math import ceil, floor, log10
from typing import Any

from coachledger.services.report.text import change_text, esc, measurement_state, num, path_points, when

W, H = 720, 250
ML, MR, MT, MB = 62, 96, 24, 34
LABELS_APART = 64  # the width of "due" and "as of" side by side, with room to spare
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _nice_step(span: float, count: int = 4) -> float:
    raw = span / count
    magnitude = 10 ** _floor_log10(raw)
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            return float(m * magnitude)
    return float(10 * magnitude)


def _floor_log10(x: float) -> int:
    return floor(log10(x))


def _ticks(lo: float, hi: float) -> list[float]:
    """Round tick values whose first and last enclose [lo, hi]."""
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
    floor = lo - (hi - lo) * 0.05
    if lo >= 0:  # counts and other values that cannot be negative: the axis stops at 0
        floor = max(floor, 0.0)
    ticks = _ticks(floor, hi + (hi - lo) * 0.05)
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
        f'<svg id="{esc(chart_id)}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" '
        f'width="{W}" height="{H}" role="img" aria-labelledby="{esc(chart_id)}-title">',
        f'<title id="{esc(chart_id)}-title">{esc(name)}: measurements against the target {esc(num(target))} '
        f"{esc(unit)}</title>",
    ]
    for v in ticks:
        parts.append(f'<line class="grid" x1="{ML}" x2="{right}" y1="{y(v)}" y2="{y(v)}"/>')
        parts.append(f'<text class="tick" x="{ML - 6}" y="{y(v) + 4}" text-anchor="end">{esc(num(v))}</text>')
    months = _month_ticks(t0, t1)
    for t in months:
        label = _MONTHS[t.month - 1] + (f" {t.year}" if t.month == 1 or t == months[0] else "")
        parts.append(f'<line class="xtick" x1="{x(t)}" x2="{x(t)}" y1="{bottom}" y2="{bottom + 4}"/>')
        parts.append(
            f'<text class="tick" x="{x(t)}" y="{bottom + 16}" text-anchor="middle">{esc(label)}</text>'
        )
    parts.append(f'<line class="axis" x1="{ML}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    parts.append(f'<text class="unit" x="{ML}" y="{MT - 10}" text-anchor="start">{esc(unit)}</text>')
    for t, a in adjustments:
        what = "; ".join(change_text({k: c for k, c in a["changes"].items() if k != "retired"})) or a["kind"]
        if a.get("conversion"):
            what += f"; {a['conversion']}"
        tip = f"v{a['version']} {a['kind']} {when(a['effective_at'])} by {a['actor']}: {a['reason'] or '-'} ({what})"
        parts.append(
            f'<g class="adjustment"><title>{esc(tip)}</title>'
            f'<line class="hit" x1="{x(t)}" x2="{x(t)}" y1="{MT}" y2="{bottom}"/>'
            f'<line class="adj" x1="{x(t)}" x2="{x(t)}" y1="{MT}" y2="{bottom}"/>'
            f'<text class="adjlabel" x="{x(t) + 3}" y="{MT + 10}">v{a["version"]}</text></g>'
        )
    # "due" is written right of its mark and "as of" left of its own: when the due date is just
    # before the as-of date the two words meet ("asdue"), so "due" moves up one line.
    due_y = bottom - 5
    if 0 <= x(moment) - x(due) < LABELS_APART:
        due_y -= 14
    parts.append(
        f'<g class="due"><title>due {esc(item["due"])}</title>'
        f'<line class="duemark" x1="{x(due)}" x2="{x(due)}" y1="{MT}" y2="{bottom}"/>'
        f'<text class="duelabel" x="{x(due) + 3}" y="{due_y}">due</text></g>'
    )
    parts.append(
        f'<g class="asof"><title>as of {esc(when(as_of))}</title>'
        f'<line class="asofmark" x1="{x(moment)}" x2="{x(moment)}" y1="{MT}" y2="{bottom}"/>'
        f'<text class="asoflabel" x="{x(moment) - 3}" y="{bottom - 5}" text-anchor="end">as of</text></g>'
    )
    parts.append(
        f'<g class="target"><title>target {esc(num(target))} {esc(unit)} by {esc(item["due"])}</title>'
        f'<line class="targetline" x1="{ML}" x2="{right}" y1="{y(target)}" y2="{y(target)}"/>'
        f'<text class="targetlabel" x="{right + 4}" y="{y(target) + 4}">target {esc(num(target))}</text></g>'
    )
    base = next((b for b in section["baselines"] if b["in_force"]), None)
    if base is not None:
        bt = datetime.fromisoformat(base["effective_at"])
        parts.append(
            f'<line class="expected" x1="{x(bt)}" y1="{y(float(base["shown"]))}" x2="{x(due)}" y2="{y(target)}">'
            "<title>expected path from the baseline to the target</title></line>"
        )
    series = path_points(section)
    if len(series) > 1:
        path = " ".join(f"{x(datetime.fromisoformat(t))},{y(v)}" for t, v in series)
        parts.append(f'<polyline class="path" points="{path}"/>')
    for b in section["baselines"]:
        bx, by = x(datetime.fromisoformat(b["effective_at"])), y(float(b["shown"]))
        kind = "baseline" if b["in_force"] else "baseline replaced"
        parts.append(
            f'<rect class="{kind}" x="{bx - 5}" y="{by - 5}" width="10" height="10">'
            f"<title>{esc(kind)} {esc(num(b['shown']))} {esc(unit)} ({esc(when(b['effective_at']))})</title></rect>"
        )
    for m in section["measurements"]:
        mx, my = x(datetime.fromisoformat(m["effective_at"])), y(float(m["shown"]))
        tip = f"{m['mid']} {when(m['effective_at'])}: {num(m['shown'])} {unit} ({measurement_state(m)})"
        if m["note"]:
            tip += f" - {m['note']}"
        if m["retracted"]:
            parts.append(
                f'<g class="retracted"><title>{esc(tip)}</title><circle cx="{mx}" cy="{my}" r="5"/>'
                f'<line x1="{mx - 7}" y1="{my + 7}" x2="{mx + 7}" y2="{my - 7}"/></g>'
            )
            continue
        if m["original_shown"] is not None:
            oy = y(float(m["original_shown"]))
            parts.append(
                f'<g class="original"><title>{esc(m["mid"])} as first recorded: {esc(num(m["original_shown"]))}</title>'
                f'<line x1="{mx}" y1="{oy}" x2="{mx}" y2="{my}"/><circle cx="{mx}" cy="{oy}" r="3.5"/></g>'
            )
        kind = "measurement" if m["counted"] else "uncounted"
        if m["original_shown"] is not None:
            kind += " corrected"
        parts.append(f'<circle class="{kind}" cx="{mx}" cy="{my}" r="4.5"><title>{esc(tip)}</title></circle>')
    parts.append("</svg>")
    return "\n".join(parts)


def spark_svg(values: list[int], low: int = 0, high: int = 10, width: int = 96, height: int = 20) -> str:
    """A small inline chart of check-in values on a fixed scale (confidence: 0..10), oldest first."""
    step = (width - 4) / max(1, len(values) - 1)
    points = " ".join(
        f"{2 + i * step:.1f},{height - 2 - (v - low) * (height - 4) / (high - low):.1f}" for i, v in enumerate(values)
    )
    last = points.rsplit(" ", 1)[-1].split(",")
    return (
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="confidence {", ".join(map(str, values))} of {high}">'
        f'<polyline points="{points}" fill="none" stroke="currentColor" stroke-width="1.5"/>'
        f'<circle cx="{last[0]}" cy="{last[1]}" r="2"/></svg>'
    )
