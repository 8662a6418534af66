"""Trust: verify the hash chain, anchor its head, forget a client on request."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from coachledger.cli.common import Env, complete_client, emit_json, json_option, pass_env
from coachledger.errors import ClientWasForgotten, DomainError


@click.command()
@click.option(
    "--anchor",
    "anchor_file",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
    help="An anchor file written earlier by 'coachledger anchor' ('-': stdin): the ledger must still "
    "contain it.",
)
@click.option(
    "--views",
    is_flag=True,
    help="Also rebuild every view aside from the events and compare it with the live one, row by row.",
)
@json_option
@click.pass_context
@pass_env
def verify(env: Env, ctx: click.Context, anchor_file: Path | None, views: bool, as_json: bool) -> None:
    """Recompute the ledger's hash chain; exit 1 naming the first bad event.

    Detects a changed byte, a deleted, inserted or reordered event, a gap in a client's
    versions, and (with --anchor) a history rewritten or cut short since the anchor.
    Also checks the store's pages (SQLite's quick_check) and every snapshot's seal, and
    with --views that the views (what progress and reports print) match the events.
    Any finding is one 'Error:' line and exit 1. See docs/trust.md.

    \b
    Example:
      coachledger verify
      coachledger verify --anchor ~/ledger-anchor.json --json
      coachledger verify --views
    """

    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.trust import Anchor, inspect

    anchor = None
    if anchor_file is not None:
        anchor = Anchor.load(sys.stdin.buffer if str(anchor_file) == "-" else anchor_file)
    found = inspect(env.settings, anchor, views=views)
    if as_json:
        emit_json(found.as_json())
    elif found.ok:
        matched = f" Anchor of {anchor.events} events (seq {anchor.seq}) found." if anchor else ""
        checked = found.views
        if checked is not None:
            matched += f" Views match the events ({checked.rows} rows in {checked.tables} tables)."
        click.echo(found.chain.summary() + matched)
    for problem in found.problems():
        click.echo(f"Error: {problem}", err=True)
    if not found.ok:
        ctx.exit(1)


@click.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    help="Write the anchor to FILE (created 0600) instead of printing it ('-': stdout).",
)
@json_option
@pass_env
def anchor(env: Env, out: Path | None, as_json: bool) -> None:
    """The ledger's head digest and event count, to keep somewhere else.

    The ledger is verified first. Later, 'coachledger verify --anchor FILE' proves that
    the ledger still contains this exact history: nothing rewritten, nothing cut off.

    \b
    Example:
      coachledger anchor --out ~/anchors/ledger-2026-04-01.json
      coachledger anchor
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.adapters.files import write_private
    from coachledger.services.trust import anchor_document
    from coachledger.services.trust import verify as verify_chain

    result = verify_chain(env.settings)
    if result.first_bad is not None:
        raise DomainError(f"the ledger fails verification, not anchoring it: {result.first_bad.describe()}")
    doc = anchor_document(result)
    if out is None or str(out) == "-":
        emit_json(doc)
        return
    try:
        write_private(out, (json.dumps(doc, indent=2) + "\n").encode())
    except OSError as e:
        raise DomainError(f"cannot write the anchor to {out}: {e.strerror}") from None
    if as_json:
        emit_json(doc)
    else:
        click.echo(f"Anchor written to {out}: {doc['events']} events, head {doc['head']} (seq {doc['seq']}).")


@click.command()
@click.argument("client", shell_complete=complete_client)
@click.option(
    "--yes", is_flag=True, help="Confirm: the client's personal data cannot be recovered afterwards."
)
@pass_env
def forget(env: Env, client: str, yes: bool) -> None:
    """Erase CLIENT's personal data on request (crypto-shredding).

    Records a ClientForgotten event, destroys the client's key (encrypted stores: every
    event of the client becomes unreadable, while the chain still verifies), removes the
    client from every view, and rewrites the store files so that no copy survives in free
    pages or the write-ahead log. Without encryption the events stay readable in the
    event store: the command says so.

    \b
    Example:
      coachledger forget ana-lopez --yes
    """
    if not yes:  # a refusal like every other (exit 1), not a usage error
        raise click.ClickException("forgetting a client cannot be undone: add --yes to confirm")
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.trust import forget as forget_client

    result = forget_client(env.settings, client)
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if result.already:
        raise ClientWasForgotten(f"client '{client}' was already forgotten (its erasure was completed again)")
    if result.encrypted:
        click.echo(
            f"Forgot client '{client}': key destroyed, views cleared, store rewritten; "
            "the ledger keeps a ClientForgotten event and still verifies."
        )
    else:
        click.echo(f"Forgot client '{client}' in the views; the event store still holds its events in clear.")
