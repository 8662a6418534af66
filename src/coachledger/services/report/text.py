"""Values as a report shows them: dates, numbers, percentages, states and change texts.

Shared by the Markdown, SVG and HTML views, so that every format writes a value the same way.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from coachledger.vocab import Status

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


def when(value: str | datetime | None) -> str:
    """A moment as a person reads it: the date alone at midnight UTC, else date and time."""
    if value is None:
        return "-"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    moment = moment.astimezone(UTC)
    if moment.hour == moment.minute == moment.second == moment.microsecond == 0:
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def day(value: str | None) -> str:
    return "-" if not value else value[:10]


def num(value: Any) -> str:
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


def pct(value: Any) -> str:
    return "-" if value is None else f"{num(value)}%"


def signed(value: Any) -> str:
    if value is None:
        return "-"
    return ("+" if value > 0 else "") + pct(value)


def status_of(item: dict[str, Any]) -> str:
    return Status.RETIRED if item["retired"] else str(item["status"])


def change_text(changes: dict[str, Any]) -> list[str]:
    return [f"{field}: {plain(old)} → {plain(new)}" for field, (old, new) in changes.items()]


def plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return num(value)
    return str(value)


def definition_text(d: dict[str, Any]) -> str:
    scale = (
        f", scale {num(d.get('scale_min'))}..{num(d.get('scale_max'))}"
        if d.get("scale_min") is not None
        else ""
    )
    return f"{d.get('direction')} to {num(d.get('target'))} {d.get('unit')} by {d.get('due')}{scale}"


def history_cells(section: dict[str, Any]) -> list[tuple[str, str, str, str, str, str, str]]:
    rows = []
    for v in section["history"]:
        if v["kind"] == "defined":
            what = "defined: " + definition_text(v["definition"])
        elif v["kind"] == "retired":
            what = "retired"
        else:
            what = "; ".join(change_text({k: c for k, c in v["changes"].items() if k != "retired"}))
        if v.get("conversion"):
            what += f" ({v['conversion']})"
        rows.append(
            (
                f"v{v['version']}",
                v["kind"],
                "from the start" if v["version"] == 1 else when(v["effective_at"]),
                when(v["recorded_at"]),
                v["actor"],
                v["reason"] or "-",
                what,
            )
        )
    return rows


def recorded_by(m: dict[str, Any]) -> str:
    """Who recorded a value, and through which check-in: ``maria``, ``client (link c1)``."""
    via = m.get("via")
    return f"client ({via.replace(':', ' ')})" if via and m.get("by") == "client" else m.get("actor") or ""


def measurement_state(m: dict[str, Any]) -> str:
    if m["retracted"]:
        return "retracted" + (f": {m['retraction_reason']}" if m["retraction_reason"] else "")
    parts = []
    if m["corrected_value"] is not None:
        parts.append(
            f"corrected from {num(m['value'])}"
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


def path_points(section: dict[str, Any]) -> list[tuple[str, float]]:
    """The counted path: the baseline in force, then the counted measurements in effective order."""
    base = [b for b in section["baselines"] if b["in_force"]]
    points = [(b["effective_at"], float(b["shown"])) for b in base]
    points += [(m["effective_at"], float(m["shown"])) for m in section["measurements"] if m["counted"]]
    return points


def esc(value: Any) -> str:
    return html.escape(plain(value) if not isinstance(value, str) else value, quote=True)


def confidence_trend(c: dict[str, Any]) -> str:
    """A KPI's confidence from its first check-in to its latest: "rising from 4 to 8 (+4)"."""
    points = c["points"]
    first, latest = points[0]["confidence"], points[-1]["confidence"]
    if len(points) == 1:
        return f"{latest} (one check-in)"
    word = "rising" if c["change"] > 0 else "falling" if c["change"] < 0 else "steady"
    drop = f"; down {points[-2]['confidence'] - latest} at the latest check-in" if c["dropped"] else ""
    return f"{word} from {first} to {latest} ({c['change']:+d}){drop}"
