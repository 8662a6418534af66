"""A realistic demo ledger to explore (and the benchmarks' data)."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

import click

from coachledger.cli.common import MOMENT, Env, pass_env
from coachledger.cli.render import render_progress
from coachledger.settings import Settings, demo_store_path

DEMO_FILE = "demo.sqlite"


def _remove_store_file(path: Path) -> None:
    """Delete a previous demo file and its SQLite companions, so each run starts afresh."""
    for companion in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{companion}").unlink(missing_ok=True)


@click.command()
@click.option("--clients", type=click.IntRange(1, 100_000), default=12, show_default=True)
@click.option(
    "--months", type=click.IntRange(1, 60), default=12, show_default=True, help="Months of coaching."
)
@click.option("--seed", type=int, default=2026, show_default=True, help="Same seed, same ledger.")
@click.option(
    "--until",
    type=MOMENT,
    default="2026-10-30",
    show_default=True,
    help="The demo's last day (its fixed clock ends there).",
)
@click.option(
    "--store",
    "store",
    metavar="URL",
    help="Write into this (empty) store instead of the demo file.",
)
@pass_env
def demo(env: Env, clients: int, months: int, seed: int, until: datetime, store: str | None) -> None:
    """Create a realistic demo ledger, then show a client's progress and write an HTML report.

    Coaches and clients with KPIs in every category, both dimensions and horizons:
    baselines, monthly measurements with noise and a confidence, corrections, retractions,
    back-dated entries, adjustments (a 1..5 -> 1..10 rescale, EUR -> kEUR, cadences and
    weights), feedback, sessions with agreed actions followed up, goals adjusted, achieved,
    abandoned and reopened, milestones, fixed records, check-in links and forms the clients
    answer themselves (some amended within the window, one revoked), and each client's next
    session booked (see 'coachledger due --as-of 2026-10-30'). Deterministic: the same
    options give the same ledger.

    Without --store (here or before the command) or COACHLEDGER_STORE, the demo goes
    to its own file, demo.sqlite in the data folder, replaced on each run. The HTML report
    of the first client is written beside the store (demo-report-CLIENT.html).

    \b
    Example:
      coachledger demo
      coachledger demo --clients 2000 --months 12 --store /tmp/bench.sqlite
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.demo import generate
    from coachledger.services.transfer import bulk_append

    given = store or click.get_current_context().find_root().params.get("store")
    given = given or os.environ.get("COACHLEDGER_STORE") or None
    if given is None:
        path = demo_store_path()
        _remove_store_file(path)
        given = str(path)
    settings = Settings.from_values(given, env.settings.actor)
    began = time.perf_counter()
    events, summary = generate(clients, months, seed, until.replace(hour=17))
    bulk_append(settings, events, batch=max(len(events), 1))  # all or nothing: one transaction
    took = time.perf_counter() - began
    where = settings.store.describe()
    click.echo(
        f"Demo ledger: {_n(summary.clients, 'client')} of {_n(summary.coaches, 'coach')}, "
        f"{_n(summary.kpis, 'KPI')}, {_n(summary.events, 'event')} over {_n(months, 'month')} "
        f"to {summary.until:%Y-%m-%d} (written in {took:.1f} s)."
    )
    click.echo(f"Store: {where}")
    _show_progress(settings, summary.first, summary.until)
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.report import write_report

    folder = settings.store.path.parent if settings.store.path is not None else demo_store_path().parent
    folder.mkdir(parents=True, exist_ok=True)
    html = write_report(
        settings, summary.first, "html", folder / f"demo-report-{summary.first}.html", summary.until
    )
    click.echo(f"\nReport: {html}")
    prefix = f"coachledger --store {_quoted(given)}"
    click.echo("\nTry:")
    for command in (
        f"progress {summary.first} --as-of {summary.until:%Y-%m-%d}",
        f"history {summary.first} satisfaction",
        f"timeline {summary.first}",
        "portfolio",
    ):
        click.echo(f"  {prefix} {command}")
    click.echo("\nOr point every command at the demo ledger (your own ledger stays untouched):")
    click.echo(f"  export COACHLEDGER_STORE={_quoted(given)}")


def _show_progress(settings: object, slug: str, until: datetime) -> None:
    # lazy: keeps 'coachledger --help' fast
    from coachledger.projections.read import ReadSide

    click.echo()
    reads = ReadSide(settings)
    try:
        render_progress(reads.progress(slug, until, None), as_json=False)
    finally:
        reads.close()


def _n(count: int, noun: str) -> str:
    return (
        f"{count} {noun}"
        if count == 1
        else f"{count} {noun}es"
        if noun.endswith(("ch", "sh", "s", "x"))
        else f"{count} {noun}s"
    )


def _quoted(value: str) -> str:
    # lazy: keeps 'coachledger --help' fast
    import shlex

    return shlex.quote(value)
