"""Clients: add, list, show."""

from __future__ import annotations

import click

from coachledger.cli.common import Env, complete_client, json_option, pass_env


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
@json_option
@pass_env
def list_(env: Env, as_json: bool) -> None:
    """List every client with their KPI count and overall status.

    \b
    Example:
      coachledger client list --json
    """
    # lazy: 'client add' and 'coachledger --help' never render
    from coachledger.cli.render import render_client_list

    render_client_list(env, as_json)


@client.command("show")
@click.argument("client_id", metavar="CLIENT", shell_complete=complete_client)
@json_option
@pass_env
def show(env: Env, client_id: str, as_json: bool) -> None:
    """Show one client: details, goals, KPIs and recent activity.

    \b
    Example:
      coachledger client show ana-lopez
    """
    # lazy: 'client add' and 'coachledger --help' never render
    from coachledger.cli.render import render_client_show

    render_client_show(env, client_id, as_json)


# Fixing a client's record (cli/followup).
from coachledger.cli.followup import client_rename, client_update  # noqa: E402

client.add_command(client_rename)
client.add_command(client_update)
