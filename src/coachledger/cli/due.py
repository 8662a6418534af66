"""What is due across clients: measurements by each KPI's cadence (``due``)."""

from __future__ import annotations

import re
import sys
from datetime import datetime
from typing import Any

import click

from coachledger.cli.common import Env, emit_json, json_option, pass_env
from coachledger.cli.reads import as_of_option, known_at_option
from coachledger.cli.render import read_side, table

_DAYS = re.compile(r"^([0-9]{1,4})d?$")


class DaysType(click.ParamType):
    """A number of days: ``7d`` or ``7`` (0..3660)."""

    name = "Nd"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        found = _DAYS.match(str(value).strip())
        if found is None or int(found.group(1)) > 3660:
            self.fail(f"'{value}' is not a number of days like 7d (0d..3660d)", param, ctx)
        return int(found.group(1))


@click.command()
@click.option("--coach", help="Only this coach's clients.")
@click.option(
    "--within", type=DaysType(), default="0d", show_default=True, help="Also what falls due in N days."
)
@as_of_option
@known_at_option
@json_option
@click.option(
    "--ics", "ics_path", metavar="FILE", help="Also write an iCalendar feed to FILE ('-': stdout only)."
)
@pass_env
def due(
    env: Env,
    coach: str | None,
    within: int,
    as_of: datetime | None,
    known_at: datetime | None,
    as_json: bool,
    ics_path: str | None,
) -> None:
    """What is due across every client: each active KPI whose next measurement is due or overdue.

    Next due = the last measurement (or baseline) + the KPI's cadence; most late first.

    \b
    Example:
      coachledger due --within 7d
      coachledger due --coach maria --as-of 2026-10-30 --json
      coachledger due --within 14d --ics due.ics
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.projections.due import due as build
    from coachledger.projections.read import now

    if ics_path == "-" and as_json:
        raise click.UsageError("--ics - writes the calendar on stdout: leave out --json")
    rs = read_side(env)
    try:
        doc = build(rs.db, moment=as_of or now(), known_at=known_at, within_days=within, coach=coach)
    finally:
        rs.close()
    if ics_path is not None:
        # lazy: icalendar only for --ics
        from coachledger.services.calendar import ics, write_ics

        if ics_path == "-":
            sys.stdout.buffer.write(ics(doc))
            return
        write_ics(doc, ics_path)
        click.echo(
            f"Wrote {len(doc['items'])} due item(s) and {len(doc['next_sessions'])} session(s) to {ics_path}.",
            err=True,
        )
    if as_json:
        emit_json(doc)
        return
    render_due(doc)


def _what(item: dict[str, Any]) -> str:
    if item["kind"] == "checkin":  # what arrived through a check-in since the client's last session
        return f"new check-in from client ({item['via']} {item['checkin']}: {', '.join(item['kpis'])})"
    return (item.get("text") if item["kind"] == "action" else item.get("kpi")) or ""


def render_due(doc: dict[str, Any]) -> None:
    until = (
        doc["as_of"][:10] if not doc["within_days"] else f"{doc['as_of'][:10]} + {doc['within_days']} days"
    )
    if not doc["items"]:
        click.echo(f"Nothing due by {until}.")
    else:
        click.echo(f"Due by {until}:")
        table(
            ("client", "kind", "what", "last measured", "due", "days late"),
            [
                (
                    i["client"],
                    i["kind"],
                    _what(i),
                    (i.get("last_measured") or "never")[:10] if i["kind"] == "measurement" else "",
                    i["due"],
                    i["days_late"],
                )
                for i in doc["items"]
            ],
        )
    if doc["next_sessions"]:
        click.echo("Next sessions:")
        for s in doc["next_sessions"]:
            click.echo(f"  {s['at'][:16].replace('T', ' ')}  {s['client']}")
