"""The report as Markdown: the same sections as tables, a sparkline for each KPI's path."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from coachledger.services.report.document import ReportDoc
from coachledger.services.report.text import (
    PROGRESS_HEADERS,
    confidence_trend,
    day,
    definition_text,
    history_cells,
    measurement_state,
    num,
    path_points,
    pct,
    plain,
    recorded_by,
    signed,
    sparkline,
    status_of,
    when,
)


def _md(value: Any) -> str:
    """Text for a Markdown table cell: no line breaks, no pipes, no markup, no raw HTML."""
    text = plain(value) if not isinstance(value, str) else value
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


def render_markdown(doc: ReportDoc) -> str:
    out = [f"# Progress report: {_md(doc['name'])} ({_md(doc['client'])})", ""]
    out += [
        f"- Coach: {_md(doc['coach'] or '-')}",
        f"- As of: {when(doc['as_of'])}",
        f"- Known at: {when(doc['known_at']) if doc['known_at'] else 'everything recorded'}",
        f"- Definitions: {_md(doc['definitions'])}",
        f"- Overall status: {doc['status']}",
        f"- Generated: {when(doc['generated_at'])} by {doc['generator']}",
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
                num(i["baseline"]),
                num(i["current"]),
                num(i["target"]),
                i["unit"],
                i["due"],
                pct(i["progress_pct"]),
                pct(i["expected_pct"]),
                status_of(i),
                i["measurements"],
                num(i["trend_per_month"]),
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
        series = path_points(s)
        spark = sparkline([v for _, v in series])
        out += [
            f"{_md(d['category'])}, {_md(d['dimension'])}/{_md(d['horizon'])}: "
            f"{_md(definition_text(d))}" + (f"; goal {_md(d['goal'])}" if d.get("goal") else ""),
            "",
        ]
        if spark:
            out += [
                f"`{spark}` baseline {num(item['baseline'])} → current {num(item['current'])} "
                f"{_md(item['unit'])}, target {num(item['target'])} ({status_of(item)})",
                "",
            ]
        if s["measurements"] or s["baselines"]:
            rows: list[Sequence[Any]] = [
                (
                    when(b["effective_at"]),
                    "baseline",
                    num(b["shown"]),
                    "in force" if b["in_force"] else "replaced",
                    "",
                    "",
                    "",
                )
                for b in s["baselines"]
            ]
            rows += [
                (
                    when(m["effective_at"]),
                    m["mid"],
                    num(m["shown"]),
                    measurement_state(m),
                    m["source"] or "",
                    m["note"] or "",
                    recorded_by(m),
                )
                for m in s["measurements"]
            ]
            rows.sort(key=lambda r: r[0])
            out += _md_table(
                ("Date", "Entry", f"Value ({_md(item['unit'])})", "State", "Source", "Note", "By"), rows
            )
        out += ["Change history:", ""]
        out += _md_table(
            ("Version", "Kind", "Effective", "Recorded", "Actor", "Reason", "What"), history_cells(s)
        )
    out += ["## Balance", ""]
    out += _md_table(
        ("Dimension", "Horizon", "KPIs", "Average progress", "Statuses"),
        [
            (
                q["dimension"],
                q["horizon"],
                ", ".join(q["kpis"]) or "-",
                pct(q["average_progress_pct"]),
                ", ".join(f"{k} {n}" for k, n in q["statuses"].items()) or "-",
            )
            for q in doc["balance"]
        ],
    )
    out += ["## Goals", ""]
    out += _md_table(
        ("Goal", "Text", "Horizon", "Due", "Status", "Progress"),
        [
            (g["goal"], g["text"], g["horizon"], day(g.get("due")), g["status"], pct(g["progress_pct"]))
            for g in doc["goal_states"]
        ],
    )
    if doc["confidence"]:
        out += [
            "## Confidence",
            "",
            "Confidence (0-10) of reaching each KPI's target, check-in by check-in.",
            "",
        ]
        out += _md_table(
            ("KPI", "Trend", "Check-ins (date: confidence)"),
            [
                (
                    c["kpi"],
                    confidence_trend(c),
                    ", ".join(f"{day(p['effective_at'])}: {p['confidence']}" for p in c["points"]),
                )
                for c in doc["confidence"]
            ],
        )
    out += ["## Milestones", ""]
    out += _md_table(
        ("Recorded", "Kind", "For", "Note", "Actor"),
        [
            (when(m["recorded_at"]), m["kind"], m["target"], m["note"] or "", m["actor"])
            for m in doc["milestones"]
        ],
    )
    out += ["## Sessions", ""]
    out += _md_table(
        ("Date", "Notes", "KPIs", "Agreed actions", "Actor"),
        [
            (day(s["effective_at"]), s["notes"], ", ".join(s["kpis"]), "; ".join(s["actions"]), s["actor"])
            for s in doc["sessions"]
        ],
    )
    out += ["## Follow up", ""]  # the actions open as of the report's date
    out += _md_table(
        ("Action", "Agreed", "Due", "KPI", "Session"),
        [
            (
                a["action"],
                a["text"],
                day(a["due"]) + (" (overdue)" if a["overdue"] else ""),
                a["kpi"] or "",
                a["session"] or "",
            )
            for a in doc.get("follow_up", ())
        ],
    )
    out += ["## Feedback", ""]
    out += _md_table(
        ("Date", "Rating", "About", "Comment"),
        [
            (when(f["effective_at"]), f"{f['rating']}/5", f["about"], f["comment"] or "")
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
            f"Content digest `{doc['content_digest']}`: the figures and texts of this report, made again "
            "from the events, give the same digest (see docs/trust.md).",
            "",
        ]
    return "\n".join(out).rstrip("\n") + "\n"


def _md_effect(doc: ReportDoc) -> list[str]:
    then = when(doc["definition_as_of"])
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
                pct(e["then"]["progress_pct"]),
                pct(e["under_definition_as_of"]["progress_pct"]),
                pct(e["under_as_of_definition"]["progress_pct"]),
                signed(e["real_change_pct"]),
                signed(e["redefinition_pct"]),
            )
            for e in doc["definition_effect"]
        ],
    )
    return out
