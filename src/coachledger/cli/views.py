"""Keeping the read models: status, rebuild, run."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from coachledger.cli.common import Env, emit_json, json_option, pass_env
from coachledger.cli.render import table


@click.group()
def projections() -> None:
    """The read models (views) rebuilt from the events.

    \b
    Example:
      coachledger projections status
      coachledger projections rebuild
    """


def _open(env: Env) -> tuple[Any, Any]:
    # lazy: keeps 'coachledger --help' fast
    from coachledger.projections.db import open_views
    from coachledger.projections.read import read_decryptor

    return open_views(env.settings), read_decryptor(env.settings)


@projections.command("status")
@json_option
@pass_env
def status(env: Env, as_json: bool) -> None:
    """Each read model: its position and how many events it is behind.

    The timeline is not listed: it reads the events themselves (through the store's
    event index), so it has no position of its own and is never behind.

    \b
    Example:
      coachledger projections status
    """
    # lazy: keeps 'coachledger --help' fast
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
    # lazy: keeps 'coachledger --help' fast
    from coachledger.projections import runner

    db, decrypt = _open(env)
    total = runner.head(db)
    if sys.stderr.isatty() and not as_json:
        with click.progressbar(length=total, label="Rebuilding", file=sys.stderr) as bar:
            count = runner.rebuild(db, decrypt, bar.update)  # type: ignore[arg-type]
    else:
        count = runner.rebuild(db, decrypt)
    if as_json:
        doc: dict[str, object] = {"events": count, "views": runner.status(db)}
        if runner.HELPER_PEAK_KIB[0]:  # a second process decoded the events: its peak memory too
            doc["helper_max_rss_mib"] = round(runner.HELPER_PEAK_KIB[0] / 1024, 1)
        emit_json(doc)
    else:
        click.echo(f"Rebuilt {len(runner.VIEWS)} views from {count} events.")


@projections.command("run")
@click.option(
    "--follow", is_flag=True, help="Keep running: apply new events as they arrive (stop with Ctrl-C)."
)
@click.option(
    "--interval",
    type=click.FloatRange(0.05, 3600),
    default=1.0,
    show_default=True,
    help="SQLite: seconds between polls when following.",
)
@pass_env
def run(env: Env, follow: bool, interval: float) -> None:
    """Bring the read models up to date; with --follow, keep them current.

    On PostgreSQL, --follow listens for new events, so reads never need to catch up
    themselves. On SQLite (no notifications), it polls. SIGINT and SIGTERM stop it
    cleanly between two chunks; it resumes from the views' tracked position.

    \b
    Example:
      coachledger --store postgresql://coach@db:5432/ledger projections run --follow
    """
    # lazy: logging and signals only for 'projections run'
    import logging
    import signal

    from coachledger.projections import runner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    log = logging.getLogger("coachledger.projections")
    if follow and env.settings.store.kind == "postgres":
        # lazy: psycopg only for PostgreSQL stores
        from coachledger.projections.follow import follow as follow_postgres

        follow_postgres(env.settings)
        return
    db, decrypt = _open(env)
    runner.ensure(db)
    stopping: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        stopping.append(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    log.info("views at %s of %s", min(runner.positions(db).values(), default=0), runner.head(db))
    while True:
        applied = runner.catch_up(db, decrypt)
        if applied:
            log.info("applied %s events; views at %s", applied, min(runner.positions(db).values(), default=0))
        if not follow or stopping:
            break
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not stopping:
            time.sleep(min(0.05, interval))
        if stopping:
            break
    if stopping:
        log.info("stopped by signal %s", stopping[0])
