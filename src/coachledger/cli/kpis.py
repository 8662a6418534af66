"""KPIs: define, baseline, adjust, retire, list."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import click

from coachledger.cli.common import (
    MOMENT,
    NUMBER,
    SCALE,
    Env,
    at_option,
    complete_client,
    complete_kpi,
    json_option,
    pass_env,
)
from coachledger.domain import CATEGORIES, DEFINERS, DIMENSIONS, DIRECTIONS, HORIZONS
from coachledger.vocab import Definer, Dimension, Horizon

CADENCE_HELP = "How often it is measured: weekly, biweekly, monthly, quarterly or Nd (e.g. 14d)."
WEIGHT_HELP = "Its weight in its goal's progress (a positive number)."


@click.group()
def kpi() -> None:
    """A client's KPIs and their definitions.

    \b
    Example:
      coachledger kpi define ana-lopez satisfaction --name "Job satisfaction" \\
          --category job-satisfaction --unit points --direction increase --target 8 --due 2026-12-31
      coachledger kpi baseline ana-lopez satisfaction 5 --at 2026-01-01
      coachledger kpi list ana-lopez
    """


@kpi.command("define")
@click.argument("client", shell_complete=complete_client)
@click.argument("kpi_id", metavar="KPI")
@click.option("--name", required=True, help="A readable name.")
@click.option("--category", type=click.Choice(CATEGORIES), required=True)
@click.option("--unit", required=True, help="e.g. EUR, points, contacts.")
@click.option("--direction", type=click.Choice(DIRECTIONS), required=True)
@click.option("--target", type=NUMBER, required=True)
@click.option("--due", type=MOMENT, required=True, help="Due date (ISO).")
@click.option("--scale", type=SCALE, help="Allowed values, e.g. 1..10.")
@click.option(
    "--dimension", type=click.Choice(DIMENSIONS), default=Dimension.PROFESSIONAL.value, show_default=True
)
@click.option("--horizon", type=click.Choice(HORIZONS), default=Horizon.SHORT.value, show_default=True)
@click.option("--method", help="How it is measured.")
@click.option("--goal", help="The goal this KPI serves.")
@click.option(
    "--defined-by", type=click.Choice(DEFINERS), default=Definer.BOTH.value, show_default=True
)
@click.option("--cadence", default="monthly", show_default=True, help=CADENCE_HELP)
@click.option("--weight", type=NUMBER, default="1", show_default=True, help=WEIGHT_HELP)
@pass_env
def define(
    env: Env,
    client: str,
    kpi_id: str,
    name: str,
    category: str,
    unit: str,
    direction: str,
    target: Decimal,
    due: datetime,
    scale: tuple[Decimal, Decimal] | None,
    dimension: str,
    horizon: str,
    method: str | None,
    goal: str | None,
    defined_by: str,
    cadence: str,
    weight: Decimal,
) -> None:
    """Define a KPI for CLIENT; prints the KPI id.

    \b
    Example:
      coachledger kpi define ana-lopez satisfaction --name "Job satisfaction" \\
          --category job-satisfaction --unit points --direction increase \\
          --target 8 --due 2026-12-31 --scale 1..10 --dimension personal --goal lead-team \\
          --cadence weekly
    """
    click.echo(
        env.ledger().define_kpi(
            client,
            kpi_id,
            name=name,
            category=category,
            unit=unit,
            direction=direction,
            target=target,
            due=due,
            scale_min=scale[0] if scale else None,
            scale_max=scale[1] if scale else None,
            dimension=dimension,
            horizon=horizon,
            method=method,
            goal=goal,
            defined_by=defined_by,
            cadence=cadence,
            weight=weight,
        )
    )


@kpi.command("baseline")
@click.argument("client", shell_complete=complete_client)
@click.argument("kpi_id", metavar="KPI", shell_complete=complete_kpi)
@click.argument("value", type=NUMBER)
@at_option
@click.option("--source", help="Where the value comes from.")
@click.option("--reason", help="Required to re-baseline a KPI that has a baseline.")
@click.option("--yes", is_flag=True, help="Record a value more than 100x away from the last value or target.")
@pass_env
def baseline(
    env: Env,
    client: str,
    kpi_id: str,
    value: Decimal,
    at: datetime | None,
    source: str | None,
    reason: str | None,
    yes: bool,
) -> None:
    """Establish the baseline of a KPI (the starting point).

    \b
    Example:
      coachledger kpi baseline ana-lopez satisfaction 5 --at 2026-01-01 --source survey
    """
    env.ledger().establish_baseline(client, kpi_id, value, at, source, reason, confirmed=yes)
    click.echo(f"Baseline of {kpi_id} for {client}: {value}.")


@kpi.command("adjust")
@click.argument("client", shell_complete=complete_client)
@click.argument("kpi_id", metavar="KPI", shell_complete=complete_kpi)
@click.option("--reason", required=True, help="Why the KPI changes.")
@click.option("--target", type=NUMBER)
@click.option("--due", type=MOMENT)
@click.option("--unit")
@click.option("--name")
@click.option("--scale", type=SCALE, help="A new scale, e.g. 1..10.")
@click.option("--rescale", is_flag=True, help="Map earlier values linearly onto the new scale.")
@click.option("--factor", type=NUMBER, help="Unit change: new = old * FACTOR (EUR->kEUR: 0.001).")
@click.option("--method")
@click.option("--goal")
@click.option("--dimension", type=click.Choice(DIMENSIONS))
@click.option("--horizon", type=click.Choice(HORIZONS))
@click.option("--cadence", help=CADENCE_HELP)
@click.option("--weight", type=NUMBER, help=WEIGHT_HELP)
@at_option
@pass_env
def adjust(
    env: Env,
    client: str,
    kpi_id: str,
    reason: str,
    target: Decimal | None,
    due: datetime | None,
    unit: str | None,
    name: str | None,
    scale: tuple[Decimal, Decimal] | None,
    rescale: bool,
    factor: Decimal | None,
    method: str | None,
    goal: str | None,
    dimension: str | None,
    horizon: str | None,
    cadence: str | None,
    weight: Decimal | None,
    at: datetime | None,
) -> None:
    """Adjust a KPI when goals or circumstances change (a new definition version).

    \b
    Example:
      coachledger kpi adjust ana-lopez satisfaction --scale 1..10 --rescale \\
          --reason "Company survey moved to a 10-point scale" --at 2026-03-01
    """
    if rescale and scale is None:
        raise click.UsageError("--rescale needs --scale")
    env.ledger().adjust_kpi(
        client,
        kpi_id,
        reason,
        at,
        target=target,
        due=due,
        unit=unit,
        name=name,
        scale_min=scale[0] if scale else None,
        scale_max=scale[1] if scale else None,
        rescale=rescale,
        factor=factor,
        method=method,
        goal=goal,
        dimension=dimension,
        horizon=horizon,
        cadence=cadence,
        weight=weight,
    )
    click.echo(f"Adjusted {kpi_id} for {client}.")


@kpi.command("retire")
@click.argument("client", shell_complete=complete_client)
@click.argument("kpi_id", metavar="KPI", shell_complete=complete_kpi)
@click.option("--reason", required=True, help="Why the KPI no longer applies.")
@at_option
@pass_env
def retire(env: Env, client: str, kpi_id: str, reason: str, at: datetime | None) -> None:
    """Retire a KPI: no new measurements; it stays in history and reports.

    \b
    Example:
      coachledger kpi retire ana-lopez networking --reason "Client changed career path"
    """
    env.ledger().retire_kpi(client, kpi_id, reason, at)
    click.echo(f"Retired {kpi_id} for {client}.")


@kpi.command("list")
@click.argument("client", shell_complete=complete_client)
@json_option
@pass_env
def list_(env: Env, client: str, as_json: bool) -> None:
    """List the KPIs of CLIENT with their current definition.

    \b
    Example:
      coachledger kpi list ana-lopez --json
    """
    from coachledger.cli.render import render_kpi_list

    render_kpi_list(env, client, as_json)
