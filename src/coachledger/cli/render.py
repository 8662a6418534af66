"""Readable tables for people (aligned, status coloured on a terminal) and CSV for spreadsheets."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from coachledger.cli.common import Env, emit_json, fmt_number
from coachledger.services.documents import (
    client_list_document,
    progress_document,
    shown_status,
    with_shown_status,
)
from coachledger.vocab import Status

if TYPE_CHECKING:
    from datetime import datetime

    from coachledger.projections.models import ProgressDoc

STATUS_COLOURS: dict[str, str] = {
    Status.ACHIEVED: "green",
    Status.ON_TRACK: "green",
    Status.AT_RISK: "yellow",
    Status.OFF_TRACK: "red",
    Status.OVERDUE: "red",
    Status.NO_DATA: "bright_black",
    Status.NO_BASELINE: "bright_black",
}


def read_side(env: Env) -> Any:
    # lazy: keeps 'coachledger --help' fast
    from coachledger.projections.read import ReadSide

    return ReadSide(env.settings)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return fmt_number(value)
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], status_col: int | None = None) -> None:
    """Print an aligned table; the status column is coloured when stdout is a terminal."""
    text = [[cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in text:
        parts = []
        for i, (value, width) in enumerate(zip(row, widths, strict=True)):
            padded = value.rjust(width) if _numeric(value) else value.ljust(width)
            if i == status_col and value in STATUS_COLOURS:  # the padding stays outside the colour
                padded = click.style(value, fg=STATUS_COLOURS[value]) + padded[len(value) :]
            parts.append(padded)
        click.echo("  ".join(parts).rstrip())


def _numeric(value: str) -> bool:
    return bool(value) and value.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()


def safe_cell(value: Any) -> Any:
    """Neutralise cells a spreadsheet would run as a formula (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    import csv  # only for --csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([safe_cell(csv_value(v)) for v in row])


def csv_value(value: Any) -> Any:
    """Empty for no value; booleans as spreadsheets and JSON spell them (true/false), not Python's."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def render_client_list(
    env: Env,
    as_json: bool,
    coach: str | None = None,
    as_of: datetime | None = None,
    known_at: datetime | None = None,
) -> None:
    rows = read_side(env).client_list(coach, as_of, known_at)
    if as_json:
        emit_json(client_list_document(rows))
        return
    if not rows:
        click.echo("No clients yet. Add one with: coachledger client add CLIENT --name NAME")
        return
    table(
        ("client", "name", "coach", "kpis", "status"),
        [(r["client"], r["name"], r["coach"], r["kpis"], r["status"]) for r in rows],
        status_col=4,
    )


def render_kpi_list(
    env: Env, client: str, as_json: bool, as_of: datetime | None = None, known_at: datetime | None = None
) -> None:
    doc = read_side(env).kpi_list(client, as_of, known_at)
    doc["kpis"] = with_shown_status(doc["kpis"])
    if as_json:
        emit_json(doc)
        return
    if not doc["kpis"]:
        click.echo(f"{client} has no KPIs yet.")
        return
    table(
        ("kpi", "name", "category", "direction", "target", "unit", "due", "dimension", "horizon", "status"),
        [
            (
                k["kpi"],
                k["name"],
                k["category"],
                k["direction"],
                k["target"],
                k["unit"],
                k["due"],
                k["dimension"],
                k["horizon"],
                shown_status(k),
            )
            for k in doc["kpis"]
        ],
        status_col=9,
    )


def render_client_show(
    env: Env, client: str, as_json: bool, as_of: datetime | None = None, known_at: datetime | None = None
) -> None:
    rs = read_side(env)
    c = rs.client_as_known(client, known_at)
    kpis = with_shown_status(rs.kpi_list(client, as_of, known_at)["kpis"])
    journal = rs.journal(client, as_of, known_at)
    doc = {
        "client": client,
        "name": c["name"],
        "coach": c["coach"],
        "registered_at": c["registered_at"],
        "goals": journal["goals"],
        "kpis": kpis,
        "sessions": len(journal["sessions"]),
        "feedback": len(journal["feedback"]),
        "milestones": journal["milestones"],
        "contact": c.get("contact"),  # as last updated (client update --contact)
    }
    if as_json:
        emit_json(doc)
        return
    click.echo(f"{c['name']} ({client})" + (f", coached by {c['coach']}" if c["coach"] else ""))
    if c.get("contact"):
        click.echo(f"Contact: {c['contact']}")
    click.echo(
        f"Registered {c['registered_at'][:10]}; {kpi_count(kpis)}, {plural(doc['sessions'], 'session')}, "
        f"{plural(doc['feedback'], 'feedback entry', 'feedback entries')}."
    )
    for g in journal["goals"]:
        click.echo(f"  goal {g['goal']} ({g['horizon']}): {g['text']}")
    if kpis:
        click.echo()
        table(
            ("kpi", "name", "target", "unit", "due", "status"),
            [
                (
                    k["kpi"],
                    k["name"],
                    k["target"],
                    k["unit"],
                    k["due"],
                    shown_status(k),
                )
                for k in kpis
            ],
            status_col=5,
        )


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count} {noun if count == 1 else nouns or noun + 's'}"


def kpi_count(kpis: list[Any]) -> str:
    """Active KPIs (the count `client list` shows), and the retired ones beside them."""
    retired = sum(1 for k in kpis if k["retired"])
    active = plural(len(kpis) - retired, "active KPI")
    return f"{active} ({retired} retired)" if retired else active


PROGRESS_COLUMNS = (
    "kpi",
    "name",
    "category",
    "unit",
    "direction",
    "baseline",
    "current",
    "target",
    "due",
    "progress_pct",
    "expected_pct",
    "status",
    "measurements",
    "trend_per_month",
    "retired",
)


def render_progress(doc: ProgressDoc, as_json: bool, as_csv: bool = False) -> None:
    doc = progress_document(doc)
    if as_json:
        emit_json(doc)
        return
    rows = [[getattr(k, c) for c in PROGRESS_COLUMNS] for k in doc.kpis]
    if as_csv:
        write_csv(PROGRESS_COLUMNS, rows)
        return
    when = (doc.as_of or "")[:10]
    known = f", as known at {doc.known_at[:19]}" if doc.known_at else ""
    click.echo(f"Progress of {doc.client} as of {when}{known}")
    if not doc.kpis:
        click.echo("No KPIs.")
        return
    table(
        (
            "kpi",
            "baseline",
            "current",
            "target",
            "unit",
            "due",
            "progress %",
            "expected %",
            "status",
            "n",
            "trend/mo",
        ),
        [
            (
                k.kpi,
                k.baseline,
                k.current,
                k.target,
                k.unit,
                k.due,
                k.progress_pct,
                k.expected_pct,
                k.status,
                k.measurements,
                k.trend_per_month,
            )
            for k in doc.kpis
        ],
        status_col=8,
    )
    render_goals_and_confidence(doc)


def render_goals_and_confidence(doc: ProgressDoc) -> None:
    """Below the KPI table: each KPI's latest confidence, and the goals with their rolled-up progress."""
    if doc.confidence:
        said = [
            f"{c.kpi} {c.confidence}/10" + (f" (was {c.previous})" if c.previous is not None else "")
            for c in doc.confidence
        ]
        click.echo(f"Confidence (latest check-in): {', '.join(said)}")
    if doc.goals:
        click.echo("Goals:")
        for g in doc.goals:
            pct = "-" if g.progress_pct is None else f"{cell(g.progress_pct)}%"
            kpis = f" [{', '.join(g.kpis)}]" if g.kpis else ""
            click.echo(f"  {g.goal} ({g.status}): {pct}{kpis} - {g.text}")
