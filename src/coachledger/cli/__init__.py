"""The coachledger command line: parse, call a service, render.

Command modules are imported only when their command runs, so that ``--help`` and a
single write stay fast. Ledger errors are mapped to one ``Error:`` line here, once.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
from typing import Any

import click

from coachledger import __version__

# name -> "module:attribute"; one module per command group.
COMMANDS: dict[str, str] = {
    "init": "coachledger.cli.keeping:init",
    "client": "coachledger.cli.clients:client",
    "goal": "coachledger.cli.journal:goal",
    "kpi": "coachledger.cli.kpis:kpi",
    "measure": "coachledger.cli.measures:measure",
    "feedback": "coachledger.cli.journal:feedback",
    "session": "coachledger.cli.journal:session",
    "milestone": "coachledger.cli.journal:milestone",
    "action": "coachledger.cli.followup:action",
    "checkin": "coachledger.cli.checkins:checkin",
    # the practice: coaches, and the ledger in a browser
    "coach": "coachledger.cli.coaches:coach",
    "serve": "coachledger.cli.serve:serve",
    # the read side
    "progress": "coachledger.cli.reads:progress",
    "history": "coachledger.cli.reads:history",
    "timeline": "coachledger.cli.reads:timeline",
    "replay": "coachledger.cli.reads:replay",
    "balance": "coachledger.cli.reads:balance",
    "portfolio": "coachledger.cli.reads:portfolio",
    "check": "coachledger.cli.reads:check",
    "agenda": "coachledger.cli.reads:agenda",
    "due": "coachledger.cli.due:due",
    "projections": "coachledger.cli.views:projections",
    # data in and out
    "report": "coachledger.cli.reports:report",
    "export": "coachledger.cli.transfer:export",
    "import": "coachledger.cli.transfer:import_",
    "demo": "coachledger.cli.demo:demo",
    # sharing and trust
    "store": "coachledger.cli.storecmd:store",
    "verify": "coachledger.cli.trust:verify",
    "anchor": "coachledger.cli.trust:anchor",
    "forget": "coachledger.cli.trust:forget",
    "completion": "coachledger.cli.completion:completion",
}


def _no_collection_at_exit() -> None:
    """The process is ending: skip the interpreter's final garbage collection of the heap.

    A command's own work is a few milliseconds; tearing down the interpreter with a full
    collection over every module's objects cost ~10 ms more. Committed data is already
    durable (synchronous FULL); output is still flushed and exit handlers still run.
    """
    gc.disable()
    gc.freeze()


atexit.register(_no_collection_at_exit)


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(
            name
            for name in {*super().list_commands(ctx), *self.lazy}
            if self.get_command(ctx, name) is not None
        )

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as e:
                if e.name == module_name:  # a command group not built yet
                    return None
                raise
            return getattr(module, attr, None)  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        """As Click's, and a mistyped command names the closest ones (lazy commands included)."""
        name = args[0] if args else ""
        known = sorted({*self.lazy, *self.commands})
        if args and name not in known and not name.startswith("-") and not ctx.resilient_parsing:
            # lazy: difflib only for a mistyped command
            import difflib

            close = difflib.get_close_matches(name, known)
            if close:
                ctx.fail(f"No such command {name!r}. Did you mean {' or '.join(map(repr, close))}?")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        # lazy: 'import coachledger.cli' (the entry point) stays light
        from coachledger.cli.common import clean_output, ledger_errors

        with ledger_errors(), clean_output():
            return super().invoke(ctx)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    metavar="URL",
    help="Ledger store: a SQLite file path, sqlite:///…, or "
    "postgresql://user:pw@host:port/db. Env: COACHLEDGER_STORE.",
)
@click.option(
    "--actor", metavar="NAME", help="Who is recording (default: COACHLEDGER_ACTOR, else the OS user)."
)
@click.version_option(__version__, prog_name="coachledger")
@click.pass_context
def main(ctx: click.Context, store: str | None, actor: str | None) -> None:
    """An event-sourced KPI ledger for career coaches.

    Every KPI definition, adjustment, measurement, correction and piece of feedback is an
    immutable event on the client's stream; reports are rebuilt from those events.

    \b
    Example:
      coachledger client add ana-lopez --name "Ana López" --coach maria
      coachledger kpi define ana-lopez salary --name "Base salary" --category salary \\
          --unit EUR --direction increase --target 85000 --due 2027-06-30
      coachledger kpi baseline ana-lopez salary 72000 --at 2026-01-01
      coachledger progress ana-lopez
    """
    os.umask(0o077)  # every file this program creates is private to its owner
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        ctx.color = False  # https://no-color.org; every subcommand inherits it
    from coachledger.cli.common import Env

    ctx.obj = Env(store, actor)
