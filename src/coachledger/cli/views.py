"""Keeping the read models: status, rebuild, run."""

from __future__ import annotations

import sys
from typing import Any

import click

from coachledger.cli.common import Env, emit_json, json_option, pass_env
from coachledger.cli.render import table


@click.group()
def projections() -> None:
    """The read models (views) rebuilt from the events."""


def _open(env: Env) -> tuple[Any, Any]:
    from coachledger.projections.db import open_views
    from coachledger.projections.read import _decryptor

    return open_views(env.settings), _decryptor(env.settings)


@projections.command("status")
@json_option
@pass_env
def status(env: Env, as_json: bool) -> None:
    """Each read model: its position and how many events it is behind.

    \b
    Example:
      coachledger projections status
    """
    from coachledger.projections import runner

    db, _ = _open(env)
    rows = runner.status(db)
    if as_json:
        emit_json({"head": runner.head(db), "views": rows})
        return
    table(("view", "position", "behind"), [(r["view"], r["position"], r["behind"]) for r in rows])


@projections.command("rebuild")
@json_option
@pass_env
def rebuild(env: Env, as_json: bool) -> None:
    """Drop every read model and rebuild it from the first event.

    \b
    Example:
      coachledger projections rebuild
    """
    from coachledger.projections import runner

    db, decrypt = _open(env)
    total = runner.head(db)
    if sys.stderr.isatty() and not as_json:
        with click.progressbar(length=total, label="Rebuilding", file=sys.stderr) as bar:
            count = runner.rebuild(db, decrypt, bar.update)  # type: ignore[arg-type]
    else:
        count = runner.rebuild(db, decrypt)
    if as_json:
        emit_json({"events": count, "views": runner.status(db)})
    else:
        click.echo(f"Rebuilt {len(runner.VIEWS)} views from {count} events.")
