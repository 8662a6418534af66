"""Check-ins: links and forms through which clients report their own values (docs/CLI.md)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from coachledger.cli.common import (
    MOMENT,
    Env,
    complete_client,
    complete_kpi,
    emit_json,
    json_option,
    pass_env,
)

DEFAULT_BASE_URL = "http://127.0.0.1:8350"


def _kpis(f: Any) -> Any:
    return click.option(
        "--kpi",
        "kpis",
        multiple=True,
        shell_complete=complete_kpi,
        help="A KPI to ask about (repeat; default: every active KPI).",
    )(f)


def _expires(f: Any) -> Any:
    return click.option(
        "--expires", default="14d", show_default=True, help="How long it stays open: days (14d) or a date."
    )(f)


def _what(receipt: Any) -> str:
    parts = [f"recorded {', '.join(receipt.measurements)}"] if receipt.measurements else []
    parts += [f"amended {', '.join(receipt.amended)}"] if receipt.amended else []
    parts += [f"feedback {receipt.feedback}"] if receipt.feedback else []
    return "; ".join(parts)


@click.group()
def checkin() -> None:
    """Check-ins: the client reports their own values, through a link or a form file.

    Values a client gives are measurements with source 'self', recorded with the client as
    actor (client:<id>) and the check-in they came through. A KPI takes one check-in value per
    cadence window: answering again within it amends that value.

    \b
    Example:
      coachledger checkin link ana-lopez --kpi satisfaction --kpi stress --expires 14d
      coachledger checkin form ana-lopez --out ana-checkin.html
      coachledger checkin accept checkin-ana-lopez-c2.json
      coachledger checkin list ana-lopez
    """


@checkin.command("link")
@click.argument("client", shell_complete=complete_client)
@_kpis
@_expires
@click.option(
    "--base-url",
    default=DEFAULT_BASE_URL,
    show_default=True,
    envvar="COACHLEDGER_BASE_URL",
    help="Where clients reach 'coachledger serve'. Env: COACHLEDGER_BASE_URL.",
)
@pass_env
def link(env: Env, client: str, kpis: tuple[str, ...], expires: str, base_url: str) -> None:
    """Issue a check-in link for CLIENT; prints only its URL, to send to the client.

    The URL holds a random token; the ledger keeps only its SHA-256, so the link cannot be
    shown again: issue a new one (and revoke the old) when it is lost.

    \b
    Example:
      coachledger checkin link ana-lopez --kpi satisfaction --expires 14d
      coachledger checkin link ana-lopez --base-url https://coach.example.org
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services import checkins

    if not base_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--base-url")
    issued = checkins.issue(env.ledger(), client, "link", list(kpis), expires)
    click.echo(checkins.link_url(base_url, issued.token))
    click.echo(
        f"Check-in link {issued.checkin} for {client} ({', '.join(issued.kpis)}), "
        f"open until {issued.expires_at.isoformat(timespec='minutes')}",
        err=True,
    )


@checkin.command("list")
@click.argument("client", shell_complete=complete_client)
@click.option("--known-at", type=MOMENT, help="Recording time: only what had been recorded by then.")
@json_option
@pass_env
def list_(env: Env, client: str, known_at: datetime | None, as_json: bool) -> None:
    """List CLIENT's check-in links and forms with their status now (issued, used, expired, revoked).

    \b
    Example:
      coachledger checkin list ana-lopez
      coachledger checkin list ana-lopez --json
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.cli.render import read_side, table
    from coachledger.projections import checkins
    from coachledger.projections.read import iso, now

    rs = read_side(env)
    c = rs.client(client)
    moment = now()
    known = rs.known_seq(c["stream"], known_at)
    rows = checkins.client_checkins(rs.db, c["key"], moment, known) if known != 0 else []
    if as_json:
        emit_json({"client": client, "as_of": iso(moment), "known_at": iso(known_at), "checkins": rows})
        return
    if not rows:
        click.echo(f"No check-ins for {client}.")
        return
    table(
        ("id", "kind", "status", "uses", "kpis", "issued", "expires"),
        [
            (r.checkin, r.kind, r.status, str(r.uses), ", ".join(r.kpis), r.issued_at[:10], r.expires_at[:16])
            for r in rows
        ],
    )


@checkin.command("revoke")
@click.argument("client", shell_complete=complete_client)
@click.argument("checkin_id", metavar="ID")
@click.option("--reason", help="Why it no longer takes answers (kept in the timeline).")
@pass_env
def revoke(env: Env, client: str, checkin_id: str, reason: str | None) -> None:
    """Revoke a check-in link or form of CLIENT: it takes no more answers.

    \b
    Example:
      coachledger checkin revoke ana-lopez c1 --reason "Sent to the wrong address"
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services import checkins

    checkins.revoke(env.ledger(), client, checkin_id, reason)
    click.echo(f"Revoked check-in {checkin_id} of {client}.")


@checkin.command("form")
@click.argument("client", shell_complete=complete_client)
@_kpis
@_expires
@click.option("--out", required=True, metavar="FILE.html", help="Where to write the form ('-': stdout).")
@pass_env
def form(env: Env, client: str, kpis: tuple[str, ...], expires: str, out: str) -> None:
    """Write a check-in form for CLIENT: a self-contained HTML file to send them.

    The client opens it in any browser (no network needed), fills it in and saves the
    answers as a small JSON file, which they send back for 'checkin accept'. A form is
    answered once; the file carries its token (the ledger keeps only its SHA-256).

    \b
    Example:
      coachledger checkin form ana-lopez --kpi satisfaction --out ana-checkin.html
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.checkins.form import write_form

    checkin_id, page = write_form(env.ledger(), client, list(kpis), expires, out)
    if out == "-":
        sys.stdout.write(page)
        click.echo(f"Check-in form {checkin_id} for {client}", err=True)
        return
    click.echo(f"Wrote check-in form {checkin_id} for {client} to {out}.")


@checkin.command("accept")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@pass_env
def accept(env: Env, file: Path) -> None:
    """Record the answers a client saved from a check-in form (FILE '-': stdin).

    Refused whole, writing nothing, when the file names another client, form or KPI than
    its form was issued for, or the form was answered already.

    \b
    Example:
      coachledger checkin accept checkin-ana-lopez-c2.json
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.checkins.form import accept_answers

    data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    client, receipt = accept_answers(env.ledger(), data)
    click.echo(f"Recorded check-in form {receipt.checkin} of {client}: {_what(receipt)}.")
