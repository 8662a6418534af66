"""The coaches of the practice, who sign in to ``coachledger serve``: add, password, disable, enable, list."""

from __future__ import annotations

import sys

import click

from coachledger.cli.common import Env, emit_json, json_option, pass_env

STDIN_HELP = "Read the password from the first line of stdin (for scripts) instead of asking twice."


@click.group()
def coach() -> None:
    """Coaches who sign in to the ledger in a browser (coachledger serve).

    A coach sees the clients whose coach they are (client add --coach NAME); an admin sees
    every client. Passwords are kept only as argon2id hashes (needs: pip install
    'coachledger[web]').

    \b
    Example:
      coachledger coach add maria
      coachledger coach add lena --admin
      coachledger coach list
    """


def _password(from_stdin: bool) -> str:
    """The new password: stdin's first line, or asked twice without echo."""
    # lazy: the hasher only for the commands that set a password
    from coachledger.services.access import _hasher

    _hasher()  # refuses before asking when the web extra is missing
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@coach.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="The coach sees (and may change) every client.")
@click.option("--password-stdin", is_flag=True, help=STDIN_HELP)
@pass_env
def add(env: Env, name: str, admin: bool, password_stdin: bool) -> None:
    """Add a coach NAME (what clients name with --coach) who may sign in; asks for a password.

    \b
    Example:
      coachledger coach add maria
      printf '%s\\n' "$PASSWORD" | coachledger coach add lena --admin --password-stdin
    """
    # lazy: the write side and the hasher only for this command
    from coachledger.domain.practice import check_name
    from coachledger.services.access import add_coach

    check_name(name)  # before asking for a password
    password = _password(password_stdin)
    add_coach(env.ledger(), name, password, admin=admin)
    click.echo(f"Added coach {name}" + (" (admin)." if admin else "."))


@coach.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help=STDIN_HELP)
@pass_env
def password(env: Env, name: str, password_stdin: bool) -> None:
    """Set a new password for coach NAME; their open sessions end.

    \b
    Example:
      coachledger coach password maria
    """
    # lazy: the write side and the hasher only for this command
    from coachledger.services.access import change_password

    env.ledger().coach(name)  # an unknown coach is refused before the password is asked
    change_password(env.ledger(), name, _password(password_stdin))
    click.echo(f"Changed the password of coach {name}.")


@coach.command("disable")
@click.argument("name")
@pass_env
def disable(env: Env, name: str) -> None:
    """Stop coach NAME from signing in; their open sessions end (the clients stay theirs).

    \b
    Example:
      coachledger coach disable jonas
    """
    env.ledger().disable_coach(name)
    click.echo(f"Disabled coach {name}.")


@coach.command("enable")
@click.argument("name")
@pass_env
def enable(env: Env, name: str) -> None:
    """Let a disabled coach NAME sign in again.

    \b
    Example:
      coachledger coach enable jonas
    """
    env.ledger().enable_coach(name)
    click.echo(f"Enabled coach {name}.")


@coach.command("list")
@json_option
@pass_env
def list_(env: Env, as_json: bool) -> None:
    """List the coaches: admin or not, disabled or not, and how many clients are theirs.

    \b
    Example:
      coachledger coach list --json
    """
    # lazy: the read side only for this command
    from coachledger.cli.render import read_side, table
    from coachledger.projections.coaches import all_coaches

    rs = read_side(env)
    try:
        rows = all_coaches(rs.db, rs.decrypt)
    finally:
        rs.close()
    if as_json:
        emit_json({"coaches": rows})
        return
    if not rows:
        click.echo("No coaches yet. Add one with: coachledger coach add NAME")
        return
    table(
        ("coach", "admin", "disabled", "clients", "added"),
        [(r.coach, r.admin, r.disabled, r.clients, r.added_at[:10]) for r in rows],
    )
