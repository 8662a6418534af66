"""The report as one self-contained HTML page: inline CSS and SVG, no script, no network.

The stylesheet is the package file ``report.css``; every text a person typed is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any

from coachledger.projections import calc
from coachledger.services.report.document import ReportDoc
from coachledger.services.report.svg import chart_svg, spark_svg
from coachledger.services.report.text import (
    PROGRESS_HEADERS,
    confidence_trend,
    day,
    definition_text,
    esc,
    history_cells,
    measurement_state,
    num,
    pct,
    recorded_by,
    signed,
    status_of,
    when,
)
from coachledger.vocab import Status

# A status badge's class is the status itself (``coachledger.vocab.Status``): these rules take
# the place of the stylesheet's ``/* status colours */`` line.
STATUS_BACKGROUNDS: tuple[tuple[tuple[Status, ...], str], ...] = (
    ((Status.ACHIEVED, Status.ON_TRACK), "var(--good)"),
    ((Status.AT_RISK,), "var(--warn)"),
    ((Status.OFF_TRACK, Status.OVERDUE), "var(--bad)"),
    ((Status.RETIRED,), "#9aa5b1"),
)


def status_css() -> str:
    return "".join(
        ", ".join(f".status.{status}" for status in statuses) + f" {{ background: {background}; }}\n"
        for statuses, background in STATUS_BACKGROUNDS
    )


CSS = "\n" + resources.files(__package__).joinpath("report.css").read_text(encoding="utf-8").replace(
    "/* status colours */\n", status_css()
)

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


LEGEND = _LEGEND  # the charts' legend, for pages that show the charts (coachledger serve)


def _status_html(item: dict[str, Any]) -> str:
    status = status_of(item)
    return f'<span class="status {esc(status)}">{esc(status)}</span>'


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


def render_html(doc: ReportDoc) -> str:
    e: Callable[[Any], str] = esc
    title = f"Progress report: {doc['name']} ({doc['client']})"
    meta = [
        ("Client", f"{e(doc['name'])} ({e(doc['client'])})"),
        ("Coach", e(doc["coach"] or "-")),
        ("As of", e(when(doc["as_of"]))),
        ("Known at", e(when(doc["known_at"])) if doc["known_at"] else "everything recorded"),
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
    if doc["confidence"]:
        out += ['<h2 id="confidence">Confidence</h2>', _confidence_html(doc["confidence"])]
    out += ['<h2 id="sessions">Sessions</h2>', _sessions_html(doc["sessions"])]
    out += ['<h2 id="feedback">Feedback</h2>', _feedback_html(doc["feedback"])]
    out += ['<h2 id="follow-up">Follow up</h2>', _follow_up_html(doc.get("follow_up", []))]
    out += ['<h2 id="receipt">Ledger receipt</h2>', _receipt_html(doc["receipt"], doc["content_digest"])]
    out.append(
        f"<footer>Generated {e(when(doc['generated_at']))} by {e(doc['generator'])} from the client's "
        "event ledger. Every number is rebuilt from recorded events; nothing was edited by hand.</footer>"
    )
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _progress_html(items: list[dict[str, Any]]) -> str:
    if not items:
        return '<p class="note">No KPIs.</p>'
    rows = [
        (
            f"{esc(i['name'])}<small>{esc(i['kpi'])}"
            + (f" · {esc(i['category'])}" if i["category"] != i["kpi"] else "")
            + "</small>",
            esc(num(i["baseline"])),
            esc(num(i["current"])),
            esc(num(i["target"])),
            esc(i["unit"]),
            esc(i["due"]),
            esc(pct(i["progress_pct"])) + _meter(i),
            esc(pct(i["expected_pct"])),
            _status_html(i),
            esc(i["measurements"]),
            esc(num(None if i["trend_per_month"] is None else round(i["trend_per_month"], 2))),
        )
        for i in items
    ]
    return _html_table(PROGRESS_HEADERS, rows, numeric=(1, 2, 3, 6, 7, 9, 10), cls="progress", nowrap=(5,))


def _effect_html(doc: ReportDoc) -> str:
    then = esc(when(doc["definition_as_of"]))
    rows = [
        (
            f"{esc(x['name'])} ({esc(x['kpi'])})",
            esc(pct(x["then"]["progress_pct"])),
            esc(pct(x["under_definition_as_of"]["progress_pct"])),
            esc(pct(x["under_as_of_definition"]["progress_pct"])),
            esc(signed(x["real_change_pct"])),
            esc(signed(x["redefinition_pct"])),
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
        f"{esc(d['category'])}",
        f"{esc(d['dimension'])} · {esc(d['horizon'])} term",
        esc(definition_text(d)),
    ]
    if d.get("goal"):
        facts.append(f"goal {esc(d['goal'])}")
    if d.get("method"):
        facts.append(f"measured by {esc(d['method'])}")
    if d.get("defined_by"):
        facts.append(f"defined by {esc(d['defined_by'])}")
    entries = sorted(
        [
            (
                b["effective_at"],
                "baseline",
                num(b["shown"]),
                "in force" if b["in_force"] else "replaced",
                "",
                "",
                "",
            )
            for b in section["baselines"]
        ]
        + [
            (
                m["effective_at"],
                m["mid"],
                num(m["shown"]),
                measurement_state(m),
                m["source"] or "",
                m["note"] or "",
                recorded_by(m),
            )
            for m in section["measurements"]
        ],
        key=lambda r: r[0],
    )
    rows = [
        (esc(when(at)), esc(what), esc(v), esc(state), esc(src), esc(note), esc(by))
        for at, what, v, state, src, note, by in entries
    ]
    history_rows = [tuple(esc(c) for c in row) for row in history_cells(section)]
    return "\n".join(
        [
            f'<section class="kpi" id="kpi-{esc(section["kpi"])}">',
            f'<div class="head"><h3>{esc(d["name"])} <small>({esc(section["kpi"])})</small></h3>{_status_html(item)}</div>',
            f'<p class="facts">{" · ".join(facts)}</p>',
            f"<figure>{chart_svg(section, as_of, chart_id)}</figure>",
            "<details><summary>Baseline and measurements</summary>"
            + _html_table(
                ("Date", "Entry", f"Value ({esc(item['unit'])})", "State", "Source", "Note", "By"),
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
            statuses = ", ".join(f"{esc(k)} {n}" for k, n in q["statuses"].items())
            cells.append(
                f"<div>{q['count']} KPI{'s' if q['count'] != 1 else ''}: {esc(', '.join(q['kpis']))}<br>"
                f"average progress {esc(pct(q['average_progress_pct']))}<br>{statuses}</div>"
            )
    return '<div class="quad">' + "".join(cells) + "</div>"


def _goals_html(doc: ReportDoc) -> str:
    out = []
    if doc["goal_states"]:
        out.append(
            _html_table(
                ("Goal", "Text", "Horizon", "Due", "Status", "Progress"),
                [
                    (
                        *(esc(g["goal"]), esc(g["text"]), esc(g["horizon"]), esc(day(g.get("due")))),
                        *(esc(g["status"]), esc(pct(g["progress_pct"]))),
                    )
                    for g in doc["goal_states"]
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
                        esc(when(m["recorded_at"])),
                        esc(m["kind"]),
                        esc(m["target"]),
                        esc(m["note"] or ""),
                        esc(m["actor"]),
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
                esc(day(s["effective_at"])),
                esc(s["notes"]),
                esc(", ".join(s["kpis"])),
                "<br>".join(esc(a) for a in s["actions"]),
                esc(s["actor"]),
            )
            for s in sessions
        ],
    )


def _follow_up_html(actions: list[dict[str, Any]]) -> str:
    """The actions open as of the report's date, overdue first."""
    if not actions:
        return '<p class="note">No open actions.</p>'
    return _html_table(
        ("Action", "Agreed", "Due", "KPI", "Session"),
        [
            (
                esc(a["action"]),
                esc(a["text"]),
                esc(day(a["due"])) + (" <strong>overdue</strong>" if a["overdue"] else ""),
                esc(a["kpi"] or ""),
                esc(a["session"] or ""),
            )
            for a in actions
        ],
    )


def _feedback_html(feedback: list[dict[str, Any]]) -> str:
    if not feedback:
        return '<p class="note">No feedback received.</p>'
    ratings = [f["rating"] for f in feedback]
    average = calc.round1(sum(ratings) / len(ratings))
    return f'<p class="note">{len(ratings)} ratings, average {esc(num(average))} of 5.</p>' + _html_table(
        ("Date", "Rating", "About", "Comment"),
        [
            (
                esc(when(f["effective_at"])),
                f'<span title="{f["rating"]} of 5">{"★" * int(f["rating"])}{"☆" * (5 - int(f["rating"]))}</span>',
                esc(f["about"]),
                esc(f["comment"] or ""),
            )
            for f in feedback
        ],
    )


def _receipt_html(r: dict[str, Any] | None, content: str) -> str:
    if r is None:
        return '<p class="note">This store keeps no seals: no receipt.</p>'
    return (
        f"<p>{r['events']:,} events sealed up to seq {r['last_seq']} (recorded {esc(when(r['recorded_at']))}); "
        f"head digest <code>{esc(r['head'])}</code>.</p>"
        '<p class="note">Keep this digest: <code>coachledger verify</code> recomputes the chain of seals; '
        "any changed, removed or inserted event changes it.</p>"
        f"<p>Content digest <code>{esc(content)}</code>: the figures and texts of this report, made again "
        "from the events, give the same digest.</p>"
    )


def _confidence_html(confidence: list[dict[str, Any]]) -> str:
    """Each KPI's confidence (0..10) of reaching its target: its trend drawn and said, check-in by check-in."""
    return _html_table(
        ("KPI", "Trend", "Check-ins (date: confidence)"),
        [
            (
                esc(c["kpi"]),
                spark_svg([p["confidence"] for p in c["points"]]) + " " + esc(confidence_trend(c)),
                esc(", ".join(f"{day(p['effective_at'])}: {p['confidence']}" for p in c["points"])),
            )
            for c in confidence
        ],
    )
