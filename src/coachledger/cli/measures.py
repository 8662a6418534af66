"""Measurements: record, correct, retract, import from CSV."""

from __future__ import annotations

import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import click

from coachledger.cli.common import NUMBER, Env, at_option, complete_client, complete_kpi, pass_env
from coachledger.domain import SOURCES
from coachledger.vocab import Source

YES_HELP = "Record a value more than 100x away from the last value or target after a unit change."


@click.group()
def measure() -> None:
    """Measurements of a client's KPIs.

    \b
    Example:
      coachledger measure record ana-lopez satisfaction 7 --at 2026-03-01 --source survey
      coachledger measure correct ana-lopez m3 6.5 --reason "Typo in the survey export"
      coachledger measure import ana-lopez march-survey.csv
    """


@measure.command("record")
@click.argument("client", shell_complete=complete_client)
@click.argument("kpi", shell_complete=complete_kpi)
@click.argument("value", type=NUMBER)
@at_option
@click.option("--source", type=click.Choice(SOURCES), default=Source.COACH.value, show_default=True)
@click.option("--note", help="Context for the value.")
@click.option(
    "--confidence",
    type=click.IntRange(0, 10),
    help="Confidence (0..10) of reaching the target, at this check-in.",
)
@click.option("--yes", is_flag=True, help=YES_HELP)
@pass_env
def record(
    env: Env,
    client: str,
    kpi: str,
    value: Decimal,
    at: datetime | None,
    source: str,
    note: str | None,
    confidence: int | None,
    yes: bool,
) -> None:
    """Record a measurement of KPI; prints only the new measurement id.

    VALUE is in the scale and unit of the KPI definition in force at --at.

    \b
    Example:
      coachledger measure record ana-lopez satisfaction 7 --at 2026-03-01 --source survey --confidence 8
    """
    click.echo(
        env.ledger().record_measurement(client, kpi, value, at, source, note, confidence, confirmed=yes)
    )


@measure.command("correct")
@click.argument("client", shell_complete=complete_client)
@click.argument("measurement")
@click.argument("value", type=NUMBER)
@click.option("--reason", required=True, help="Why the value was wrong.")
@pass_env
def correct(env: Env, client: str, measurement: str, value: Decimal, reason: str) -> None:
    """Correct a measurement; the original stays in the history.

    \b
    Example:
      coachledger measure correct ana-lopez m3 6.5 --reason "Typo in the survey export"
    """
    env.ledger().correct_measurement(client, measurement, value, reason)
    click.echo(f"Corrected {measurement} of {client} to {value}.")


@measure.command("retract")
@click.argument("client", shell_complete=complete_client)
@click.argument("measurement")
@click.option("--reason", required=True, help="Why the measurement does not count.")
@pass_env
def retract(env: Env, client: str, measurement: str, reason: str) -> None:
    """Retract a measurement: ignored by progress, kept in the timeline.

    \b
    Example:
      coachledger measure retract ana-lopez m4 --reason "Recorded for the wrong client"
    """
    env.ledger().retract_measurement(client, measurement, reason)
    click.echo(f"Retracted {measurement} of {client}.")


@measure.command("import")
@click.argument("client", shell_complete=complete_client)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "--source",
    type=click.Choice(SOURCES),
    default="survey",
    show_default=True,
    help="Source of rows whose source cell is empty or absent.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and show what would be recorded; write nothing.")
@click.option("--yes", is_flag=True, help=YES_HELP)
@pass_env
def import_csv(env: Env, client: str, file: Path, source: str, dry_run: bool, yes: bool) -> None:
    """Record every row of a CSV file as a measurement of CLIENT, all or nothing.

    Columns (a header line names them, in any order): kpi, value, date, and optionally
    source, note and confidence (0..10), the shape survey tools export. Dates are ISO
    (YYYY-MM-DD, 00:00 UTC, or a datetime). Every row is checked first; errors name the line
    and column. The delimiter is detected: ',' or ';' (as European survey tools write, with
    decimal commas: 6,5) or a tab. FILE '-' reads stdin.
    Rows already recorded (same KPI, date, value and source) are skipped and counted.

    \b
    Example:
      coachledger measure import ana-lopez march-survey.csv --dry-run
      coachledger measure import ana-lopez march-survey.csv
      survey-export --month 2026-03 | coachledger measure import ana-lopez -
    """
    # lazy: keeps 'coachledger --help' and 'measure record' fast
    from coachledger.services.transfer import import_measurements

    stream = sys.stdin.buffer if str(file) == "-" else file
    done = import_measurements(env.ledger(), client, stream, source, dry_run=dry_run, confirmed=yes)
    ids = done.ids
    skipped = f"; skipped {done.skipped} already recorded" if done.skipped else ""
    if not ids:
        click.echo(f"Nothing to record for {client}{skipped}.")
        return
    span = ids[0] if len(ids) == 1 else f"{ids[0]}..{ids[-1]}"
    noun = "measurement" if len(ids) == 1 else "measurements"
    if dry_run:
        click.echo(f"Would record {len(ids)} {noun} for {client} ({span}){skipped}:")
        for mid, row in zip(ids, done.rows, strict=True):
            note = f"  {row.note}" if row.note else ""
            click.echo(f"  {mid}  {row.kpi}  {row.value}  {row.at.isoformat()}  {row.source}{note}")
        return
    click.echo(f"Recorded {len(ids)} {noun} for {client} ({span}){skipped}.")
