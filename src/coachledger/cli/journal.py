"""Goals, feedback, sessions and milestones: the coaching journal around the KPIs."""

from __future__ import annotations

from datetime import datetime

import click

from coachledger.cli.common import MOMENT, Env, at_option, complete_client, complete_kpi, pass_env
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
    env.ledger().log_session(client, at, notes, list(kpis), list(actions))
    click.echo(f"Logged a session with {client}.")


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
