"""Goals, feedback, sessions and milestones: the coaching journal around the KPIs."""

from __future__ import annotations

from datetime import datetime

import click

from coachledger.cli.common import (
    MOMENT,
    Env,
    at_option,
    complete_client,
    complete_kpi,
    emit_json,
    json_option,
    pass_env,
)
from coachledger.domain import HORIZONS
from coachledger.vocab import Horizon


@click.group()
def goal() -> None:
    """Career goals that KPIs point at (the R of SMART).

    \b
    Example:
      coachledger goal add ana-lopez lead-team --text "Lead a team of five" --due 2027-12-31
    """


@goal.command("add")
@click.argument("client", shell_complete=complete_client)
@click.argument("goal_id", metavar="GOAL")
@click.option("--text", required=True, help="The goal in the client's words.")
@click.option("--horizon", type=click.Choice(HORIZONS), default=Horizon.LONG.value, show_default=True)
@click.option("--due", type=MOMENT, help="When the goal should be reached (ISO date).")
@pass_env
def goal_add(env: Env, client: str, goal_id: str, text: str, horizon: str, due: datetime | None) -> None:
    """Set a career goal of CLIENT; prints the goal id.

    \b
    Example:
      coachledger goal add ana-lopez lead-team --text "Lead a team of five" --due 2027-12-31
    """
    click.echo(env.ledger().set_goal(client, goal_id, text, horizon, due))


# -- the goal lifecycle: adjust, achieve, abandon, reopen, list ------------------------------


@goal.command("adjust")
@click.argument("client", shell_complete=complete_client)
@click.argument("goal_id", metavar="GOAL")
@click.option("--text", help="The goal's new text.")
@click.option("--due", type=MOMENT, help="The goal's new due date (ISO date).")
@click.option("--horizon", type=click.Choice(HORIZONS), help="The goal's new horizon.")
@click.option("--reason", required=True, help="Why the goal changes.")
@at_option
@pass_env
def goal_adjust(
    env: Env,
    client: str,
    goal_id: str,
    text: str | None,
    due: datetime | None,
    horizon: str | None,
    reason: str,
    at: datetime | None,
) -> None:
    """Change a goal's text, due date or horizon; the earlier wording stays in the timeline.

    \b
    Example:
      coachledger goal adjust ana-lopez lead-team --due 2028-06-30 --reason "Reorganisation delays it"
    """
    env.ledger().adjust_goal(client, goal_id, reason, at, text=text, horizon=horizon, due=due)
    click.echo(f"Adjusted goal {goal_id} of {client}.")


@goal.command("achieve")
@click.argument("client", shell_complete=complete_client)
@click.argument("goal_id", metavar="GOAL")
@click.option("--note", help="What was achieved.")
@at_option
@pass_env
def goal_achieve(env: Env, client: str, goal_id: str, note: str | None, at: datetime | None) -> None:
    """Mark an open goal of CLIENT achieved (portfolio counts it).

    \b
    Example:
      coachledger goal achieve ana-lopez lead-team --note "Leads the platform team since May"
    """
    env.ledger().achieve_goal(client, goal_id, at, note)
    click.echo(f"Goal {goal_id} of {client} achieved.")


@goal.command("abandon")
@click.argument("client", shell_complete=complete_client)
@click.argument("goal_id", metavar="GOAL")
@click.option("--reason", required=True, help="Why the goal is let go.")
@at_option
@pass_env
def goal_abandon(env: Env, client: str, goal_id: str, reason: str, at: datetime | None) -> None:
    """Abandon an open goal of CLIENT (it leaves the achievement rate).

    \b
    Example:
      coachledger goal abandon ana-lopez move-abroad --reason "Family stays in Madrid"
    """
    env.ledger().abandon_goal(client, goal_id, at, reason)
    click.echo(f"Goal {goal_id} of {client} abandoned.")


@goal.command("reopen")
@click.argument("client", shell_complete=complete_client)
@click.argument("goal_id", metavar="GOAL")
@click.option("--reason", required=True, help="Why the goal is open again.")
@at_option
@pass_env
def goal_reopen(env: Env, client: str, goal_id: str, reason: str, at: datetime | None) -> None:
    """Reopen an achieved or abandoned goal of CLIENT.

    \b
    Example:
      coachledger goal reopen ana-lopez move-abroad --reason "An offer from Lisbon"
    """
    env.ledger().reopen_goal(client, goal_id, at, reason)
    click.echo(f"Goal {goal_id} of {client} reopened.")


@goal.command("list")
@click.argument("client", shell_complete=complete_client)
@click.option("--as-of", type=MOMENT, help="Effective date: what was true then (default: now).")
@click.option("--known-at", type=MOMENT, help="Recording time: only what had been recorded by then.")
@json_option
@pass_env
def goal_list(
    env: Env, client: str, as_of: datetime | None, known_at: datetime | None, as_json: bool
) -> None:
    """The goals of CLIENT: status, due date and progress rolled up from their KPIs.

    \b
    Example:
      coachledger goal list ana-lopez --as-of 2026-06-30 --json
    """
    # lazy: the writes of this group never render
    from coachledger.cli.render import read_side, table

    doc = read_side(env).goals(client, as_of, known_at)
    if as_json:
        emit_json(doc)
        return
    table(
        ("goal", "status", "horizon", "due", "progress %", "kpis", "text"),
        [
            (g.goal, g.status, g.horizon, g.due, g.progress_pct, ", ".join(g.kpis), g.text)
            for g in doc["goals"]
        ],
    )


# -- end of the goal lifecycle ----------------------------------------------------------------


@click.group()
def feedback() -> None:
    """The client's view of the coaching.

    \b
    Example:
      coachledger feedback add ana-lopez --rating 5 --comment "Clear next steps"
    """


@feedback.command("add")
@click.argument("client", shell_complete=complete_client)
@click.option("--rating", type=click.IntRange(1, 5), required=True, help="1 (poor) to 5 (excellent).")
@click.option("--comment", help="What the client said.")
@click.option("--about", default="session", show_default=True, help="session, process or kpi:<id>.")
@at_option
@pass_env
def feedback_add(
    env: Env, client: str, rating: int, comment: str | None, about: str, at: datetime | None
) -> None:
    """Record feedback from CLIENT on the coaching.

    \b
    Example:
      coachledger feedback add ana-lopez --rating 5 --comment "Clear next steps" --about session
    """
    env.ledger().receive_feedback(client, rating, comment, about, at)
    click.echo(f"Recorded feedback {rating}/5 from {client} about {about}.")


@click.group()
def session() -> None:
    """Coaching sessions: the feedback loop.

    \b
    Example:
      coachledger session log ana-lopez --notes "Salary talk prep" --kpi salary
    """


@session.command("log")
@click.argument("client", shell_complete=complete_client)
@at_option
@click.option("--notes", required=True, help="What was discussed.")
@click.option("--kpi", "kpis", multiple=True, help="A KPI discussed (repeatable).")
@click.option("--action", "actions", multiple=True, help="An agreed action (repeatable).")
@pass_env
def session_log(
    env: Env, client: str, at: datetime | None, notes: str, kpis: tuple[str, ...], actions: tuple[str, ...]
) -> None:
    """Log a coaching session with CLIENT.

    \b
    Example:
      coachledger session log ana-lopez --at 2026-03-02 --notes "Salary talk prep" \\
          --kpi salary --action "Draft the case by Friday"
    """
    opened = env.ledger().log_session(client, at, notes, list(kpis), list(actions))
    click.echo(f"Logged a session with {client}.")
    for action_id, text in zip(opened, [a for a in actions if a.strip()], strict=True):
        click.echo(f"Opened action {action_id}: {text.strip()}")


@click.group()
def milestone() -> None:
    """Celebrate milestones (recorded once; a replay never celebrates again).

    \b
    Example:
      coachledger milestone celebrate ana-lopez salary --note "Offer signed"
    """


@milestone.command("celebrate")
@click.argument("client", shell_complete=complete_client)
@click.argument("target", metavar="KPI", shell_complete=complete_kpi)
@click.option("--note", help="What was celebrated.")
@pass_env
def milestone_celebrate(env: Env, client: str, target: str, note: str | None) -> None:
    """Celebrate reaching a KPI (or goal) of CLIENT.

    \b
    Example:
      coachledger milestone celebrate ana-lopez salary --note "Offer signed"
    """
    env.ledger().celebrate_milestone(client, target, note)
    click.echo(f"Celebrated {target} for {client}.")


# Fixing sessions, feedback and milestones (cli/followup).
from coachledger.cli.followup import feedback_retract, milestone_retract, session_amend, session_retract  # noqa: E402

session.add_command(session_amend)
session.add_command(session_retract)
feedback.add_command(feedback_retract)
milestone.add_command(milestone_retract)
