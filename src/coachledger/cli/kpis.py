"""KPIs: define, baseline, adjust, retire, list."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import click

from coachledger.cli.common import (
    MOMENT,
    NUMBER,
    SCALE,
    Env,
    at_option,
    complete_client,
    complete_kpi,
    emit_json,
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
@click.argument("kpi_id", metavar="KPI", required=False)
@click.option("--name", help="A readable name.  [required]")
@click.option("--category", type=click.Choice(CATEGORIES), help="[required]")
@click.option("--unit", help="e.g. EUR, points, contacts.  [required]")
@click.option("--direction", type=click.Choice(DIRECTIONS), help="[required]")
@click.option("--target", type=NUMBER, help="[required]")
@click.option("--due", type=MOMENT, help="Due date (ISO).  [required]")
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
@click.option("--template", help="Define a set of KPIs from a TOML template: a file or a shipped name.")
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
    template: str | None,
    cadence: str,
    weight: Decimal,
) -> None:
    """Define a KPI for CLIENT; prints the KPI id.

    With --template, define every KPI of a template instead (all or nothing; --goal links
    those that name no goal); prints their ids, one a line.

    \b
    Example:
      coachledger kpi define ana-lopez satisfaction --name "Job satisfaction" \\
          --category job-satisfaction --unit points --direction increase \\
          --target 8 --due 2026-12-31 --scale 1..10 --dimension personal --goal lead-team \\
          --cadence weekly
      coachledger kpi define ana-lopez --template career-essentials --goal lead-team
    """
    ctx = click.get_current_context()
    if template is not None:
        given = [p for p in ctx.command.params if p.name not in ("client", "template", "goal", "defined_by")]
        extra = [
            p
            for p in given
            if ctx.get_parameter_source(p.name or "") == click.core.ParameterSource.COMMANDLINE
        ]
        if extra:
            raise click.UsageError(f"--template defines the KPIs: drop {extra[0].get_error_hint(ctx)}")
        chosen = ctx.get_parameter_source("defined_by") == click.core.ParameterSource.COMMANDLINE
        define_from_template(env, client, template, goal, defined_by if chosen else None)
        return
    for param in ctx.command.params:
        required = param.name in ("kpi_id", "name", "category", "unit", "direction", "target", "due")
        if required and ctx.params[param.name or ""] is None:
            raise click.MissingParameter(ctx=ctx, param=param)
    assert kpi_id and name and category and unit and direction and target is not None and due
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


# -- KPI templates ---------------------------------------------------------------------------


def define_from_template(
    env: Env, client: str, template: str, goal: str | None, defined_by: str | None
) -> None:
    # lazy: the templates (TOML, package data) only for the template commands
    from coachledger.services import templates

    definitions = templates.definitions(templates.load(template), datetime.now(tz=UTC), goal, defined_by)
    for kpi_id in env.ledger().define_kpis(client, definitions):
        click.echo(kpi_id)


@kpi.group("template")
def template_group() -> None:
    """KPI templates: sets of KPI definitions to start a client with (kpi define --template).

    \b
    Example:
      coachledger kpi template list
      coachledger kpi template show career-essentials
    """


@template_group.command("list")
@json_option
def template_list(as_json: bool) -> None:
    """The shipped KPI templates, with what each defines.

    \b
    Example:
      coachledger kpi template list
    """
    # lazy: the templates (TOML, package data) only for the template commands
    from coachledger.services import templates

    rows = []
    for name in templates.shipped():
        t = templates.load(name)
        rows.append({"template": name, "kpis": [k["id"] for k in t.kpis], "description": t.description})
    if as_json:
        emit_json({"templates": rows})
        return
    for row in rows:
        click.echo(f"{row['template']}: {', '.join(row['kpis'])} - {row['description']}")


@template_group.command("show")
@click.argument("name")
@json_option
def template_show(name: str, as_json: bool) -> None:
    """Print a KPI template (a shipped name or a file) as TOML, to copy and adapt.

    With --json: its name, description and KPI tables as written (TOML dates as ISO text).

    \b
    Example:
      coachledger kpi template show job-satisfaction > my-template.toml
      coachledger kpi template show career-essentials --json
    """
    # lazy: the templates (TOML, package data) only for the template commands
    from importlib import resources

    from coachledger.services import templates

    found = templates.load(name)  # refuses an unknown or malformed one
    if as_json:
        emit_json({"template": found.name, "description": found.description, "kpis": found.as_written()})
    elif name in templates.shipped():
        click.echo(
            (resources.files("coachledger") / "templates" / f"{name}.toml").read_text("utf-8"), nl=False
        )
    else:
        click.echo(Path(name).read_text("utf-8"), nl=False)


# -- end of KPI templates --------------------------------------------------------------------


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
@click.option("--as-of", type=MOMENT, help="Effective date: what was true then (default: now).")
@click.option("--known-at", type=MOMENT, help="Recording time: only what had been recorded by then.")
@json_option
@pass_env
def list_(env: Env, client: str, as_of: datetime | None, known_at: datetime | None, as_json: bool) -> None:
    """List the KPIs of CLIENT with their current definition (the one in force at --as-of).

    \b
    Example:
      coachledger kpi list ana-lopez --json
      coachledger kpi list ana-lopez --as-of 2026-03-01 --known-at 2026-03-02
    """
    # lazy: 'kpi template' and the writes never render a KPI list
    from coachledger.cli.render import render_kpi_list

    render_kpi_list(env, client, as_json, as_of, known_at)
