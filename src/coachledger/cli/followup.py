"""Between sessions: actions agreed with a client, and fixing any record with a reason.

``action`` is a command group of its own; the fixes join the groups of what they fix
(``client rename|update``, ``session amend|retract``, ``feedback retract``,
``milestone retract``: those groups add them from here).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from coachledger.cli.common import MOMENT, Env, emit_json, json_option, pass_env


def _reason(f: Any) -> Any:
    return click.option("--reason", required=True, help="Why the record is fixed (kept in the timeline).")(f)


# -- actions ------------------------------------------------------------------------------


@click.group()
def action() -> None:
    """Actions agreed with a client, followed up until done or dropped."""


@action.command("add")
@click.argument("client")
@click.argument("text")
@click.option("--due", type=MOMENT, help="When it should be done (ISO date).")
@click.option("--kpi", help="The KPI it serves.")
@pass_env
def action_add(env: Env, client: str, text: str, due: datetime | None, kpi: str | None) -> None:
    """Open an action for CLIENT; prints its id (a1, a2, ...).

    \b
    Example:
      coachledger action add ana-lopez "Ask for the salary review" --due 2026-03-15 --kpi salary
    """
    click.echo(env.ledger().open_action(client, text, due, kpi))


@action.command("done")
@click.argument("client")
@click.argument("action_id", metavar="ID")
@click.option("--note", help="How it went.")
@pass_env
def action_done(env: Env, client: str, action_id: str, note: str | None) -> None:
    """Mark an open action of CLIENT done.

    \b
    Example:
      coachledger action done ana-lopez a1 --note "Review booked for April"
    """
    env.ledger().complete_action(client, action_id, note)
    click.echo(f"Action {action_id} of {client} is done.")


@action.command("drop")
@click.argument("client")
@click.argument("action_id", metavar="ID")
@click.option("--note", help="Why it was dropped.")
@pass_env
def action_drop(env: Env, client: str, action_id: str, note: str | None) -> None:
    """Drop an open action of CLIENT (it no longer applies).

    \b
    Example:
      coachledger action drop ana-lopez a2 --note "Changed teams"
    """
    env.ledger().drop_action(client, action_id, note)
    click.echo(f"Action {action_id} of {client} was dropped.")


@action.command("list")
@click.argument("client")
@click.option("--all", "show_all", is_flag=True, help="Done and dropped actions too.")
@click.option("--as-of", type=MOMENT, help="Effective date: the status then (default: now).")
@click.option("--known-at", type=MOMENT, help="Recording time: only what had been recorded by then.")
@json_option
@pass_env
def action_list(
    env: Env, client: str, show_all: bool, as_of: datetime | None, known_at: datetime | None, as_json: bool
) -> None:
    """List CLIENT's open actions (overdue first), or every action with --all.

    \b
    Example:
      coachledger action list ana-lopez
      coachledger action list ana-lopez --all --known-at 2026-03-01 --json
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.cli.render import read_side, table
    from coachledger.projections import followup
    from coachledger.projections.read import iso, now

    rs = read_side(env)
    c = rs.client(client)
    moment = as_of or now()
    known = rs.known_seq(c["stream"], known_at)
    found = followup.actions(rs.db, c["key"], known, iso(moment)) if known != 0 else []
    if not show_all:
        found = sorted(
            (a for a in found if a["status"] == "open"),
            key=lambda a: (not a["overdue"], a["due"] or "9999", a["seq"]),
        )
    items = [{k: v for k, v in a.items() if k != "seq"} for a in found]
    if as_json:
        emit_json({"client": client, "as_of": iso(moment), "known_at": iso(known_at), "actions": items})
        return
    if not items:
        click.echo(f"No {'' if show_all else 'open '}actions for {client}.")
        return
    rows = [
        (
            a["action"],
            "overdue" if a["overdue"] else a["status"],
            a["due"] or "-",
            a["kpi"] or "-",
            a["session"] or "-",
            a["text"] + (f" ({a['note']})" if a["note"] else ""),
        )
        for a in items
    ]
    table(("id", "status", "due", "kpi", "session", "action"), rows, status_col=1)


# -- fixing any record --------------------------------------------------------------------


@click.command("rename")
@click.argument("client")
@click.option("--name", required=True, help="The new display name.")
@_reason
@pass_env
def client_rename(env: Env, client: str, name: str, reason: str) -> None:
    """Rename CLIENT (the old name stays in the timeline).

    \b
    Example:
      coachledger client rename ana-lopez --name "Ana López García" --reason "married name"
    """
    env.ledger().rename_client(client, name, reason)
    click.echo(f"Renamed {client} to {name.strip()}.")


@click.command("update")
@click.argument("client")
@click.option("--coach", help="The client's new coach ('' for none).")
@click.option("--contact", help="How to reach the client ('' for none).")
@_reason
@pass_env
def client_update(env: Env, client: str, coach: str | None, contact: str | None, reason: str) -> None:
    """Change CLIENT's coach or contact (the old values stay in the timeline).

    \b
    Example:
      coachledger client update ana-lopez --coach li --reason "maria is on leave"
    """
    env.ledger().update_client(client, coach, contact, reason)
    click.echo(f"Updated {client}.")


@click.command("amend")
@click.argument("client")
@click.argument("session_id", metavar="SESSION")
@click.option("--notes", help="The corrected notes.")
@click.option("--at", type=MOMENT, help="The corrected session date (ISO date or datetime).")
@click.option("--kpi", "kpis", multiple=True, help="The KPIs discussed (repeatable; replaces the list).")
@_reason
@pass_env
def session_amend(
    env: Env,
    client: str,
    session_id: str,
    notes: str | None,
    at: datetime | None,
    kpis: tuple[str, ...],
    reason: str,
) -> None:
    """Amend a session of CLIENT (ids s1, s2, ... as the journal shows them).

    \b
    Example:
      coachledger session amend ana-lopez s2 --notes "Salary talk, not review" --reason typo
    """
    env.ledger().amend_session(
        client, session_id, reason, notes=notes, effective_at=at, kpis=list(kpis) if kpis else None
    )
    click.echo(f"Amended session {session_id} of {client}.")


@click.command("retract")
@click.argument("client")
@click.argument("session_id", metavar="SESSION")
@_reason
@pass_env
def session_retract(env: Env, client: str, session_id: str, reason: str) -> None:
    """Retract a session of CLIENT logged by mistake (it stays in the timeline).

    \b
    Example:
      coachledger session retract ana-lopez s3 --reason "logged twice"
    """
    env.ledger().retract_session(client, session_id, reason)
    click.echo(f"Retracted session {session_id} of {client}.")


@click.command("retract")
@click.argument("client")
@click.argument("feedback_id", metavar="ID")
@_reason
@pass_env
def feedback_retract(env: Env, client: str, feedback_id: str, reason: str) -> None:
    """Retract feedback of CLIENT (ids f1, f2, ... as the journal shows them).

    \b
    Example:
      coachledger feedback retract ana-lopez f2 --reason "was about another client"
    """
    env.ledger().retract_feedback(client, feedback_id, reason)
    click.echo(f"Retracted feedback {feedback_id} of {client}.")


@click.command("retract")
@click.argument("client")
@click.argument("target", metavar="TARGET")
@_reason
@pass_env
def milestone_retract(env: Env, client: str, target: str, reason: str) -> None:
    """Retract the celebration of a KPI or goal of CLIENT (it may be celebrated again).

    \b
    Example:
      coachledger milestone retract ana-lopez salary --reason "offer withdrawn"
    """
    env.ledger().retract_milestone(client, target, reason)
    click.echo(f"Retracted the milestone {target} of {client}.")
