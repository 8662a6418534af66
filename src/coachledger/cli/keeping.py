"""Keeping the ledger: create the store."""

from __future__ import annotations

import click

from coachledger.cli.common import Env, pass_env


@click.command()
@click.option(
    "--encrypt",
    is_flag=True,
    help=(
        "Per-client keys for this store, so that 'forget' can erase a client's event content, and "
        "stream ids keyed by a secret of the ledger, so that no guessed name finds a forgotten client."
    ),
)
@pass_env
def init(env: Env, encrypt: bool) -> None:
    """Create the store (any write also does).

    \b
    Example:
      coachledger --store ./ledger.sqlite init
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.bootstrap import init_store

    where = init_store(env.settings, encrypt=encrypt)
    click.echo(f"Ledger ready at {where}{' (encrypted per client)' if encrypt else ''}.")
