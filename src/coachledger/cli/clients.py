"""Clients: add, list, show."""

from __future__ import annotations

from datetime import datetime

import click

from coachledger.cli.common import MOMENT, Env, complete_client, json_option, pass_env


@click.group()
def client() -> None:
    """Coaching clients (one event stream each).

    \b
    Example:
      coachledger client add ana-lopez --name "Ana López" --coach maria
      coachledger client list
      coachledger client show ana-lopez
    """


@client.command("add")
@click.argument("client_id", metavar="CLIENT")
@click.option("--name", required=True, help="Display name.")
@click.option("--coach", help="The client's coach.")
@pass_env
def add(env: Env, client_id: str, name: str, coach: str | None) -> None:
    """Register a client; CLIENT is a short id you pick (e.g. ana-lopez). Prints the id.

    \b
    Example:
      coachledger client add ana-lopez --name "Ana López" --coach maria
    """
    click.echo(env.ledger().add_client(client_id, name, coach))


@client.command("list")
@click.option("--coach", help="Only this coach's clients.")
@click.option("--as-of", type=MOMENT, help="Effective date: what was true then (default: now).")
@click.option("--known-at", type=MOMENT, help="Recording time: only what had been recorded by then.")
@json_option
@pass_env
def list_(
    env: Env, coach: str | None, as_of: datetime | None, known_at: datetime | None, as_json: bool
) -> None:
    """List every client with their KPI count and overall status.

    With --as-of, the statuses then; with --known-at, the clients, names and coaches as
    recorded by then.

    \b
    Example:
      coachledger client list --json
      coachledger client list --coach maria --as-of 2026-06-30 --known-at 2026-07-01
    """
    # lazy: 'client add' and 'coachledger --help' never render
    from coachledger.cli.render import render_client_list

    render_client_list(env, as_json, coach, as_of, known_at)


@client.command("show")
@click.argument("client_id", metavar="CLIENT", shell_complete=complete_client)
@click.option("--as-of", type=MOMENT, help="Effective date: what was true then (default: now).")
@click.option("--known-at", type=MOMENT, help="Recording time: only what had been recorded by then.")
@json_option
@pass_env
def show(
    env: Env, client_id: str, as_of: datetime | None, known_at: datetime | None, as_json: bool
) -> None:
    """Show one client: details, goals, KPIs and recent activity.

    With --as-of, the KPIs' statuses and the sessions and feedback by then; with --known-at,
    only what had been recorded by then (the name and coach as they were).

    \b
    Example:
      coachledger client show ana-lopez
      coachledger client show ana-lopez --as-of 2026-06-30 --known-at 2026-07-01 --json
    """
    # lazy: 'client add' and 'coachledger --help' never render
    from coachledger.cli.render import render_client_show

    render_client_show(env, client_id, as_json, as_of, known_at)


# Fixing a client's record (cli/followup).
from coachledger.cli.followup import client_rename, client_update  # noqa: E402

client.add_command(client_rename)
client.add_command(client_update)
