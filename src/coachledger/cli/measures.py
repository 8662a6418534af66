"""Measurements: record, correct, retract."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import click

from coachledger.cli.common import NUMBER, Env, at_option, pass_env
from coachledger.domain import SOURCES


@click.group()
def measure() -> None:
    """Measurements of a client's KPIs."""


@measure.command("record")
@click.argument("client")
@click.argument("kpi")
@click.argument("value", type=NUMBER)
@at_option
@click.option("--source", type=click.Choice(SOURCES), default="coach", show_default=True)
@click.option("--note", help="Context for the value.")
@pass_env
def record(
    env: Env, client: str, kpi: str, value: Decimal, at: datetime | None, source: str, note: str | None
) -> None:
    """Record a measurement of KPI; prints only the new measurement id.

    VALUE is in the scale and unit of the KPI definition in force at --at.

    \b
    Example:
      coachledger measure record ana-lopez satisfaction 7 --at 2026-03-01 --source survey
    """
    click.echo(env.ledger().record_measurement(client, kpi, value, at, source, note))


@measure.command("correct")
@click.argument("client")
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
@click.argument("client")
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
