"""Export and import of whole ledgers (JSON Lines, see docs/export-format.md)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from coachledger.cli.common import Env, pass_env

PROGRESS_MIN_BYTES = 8_000_000  # smaller files (some 20,000 events) finish before a bar is worth drawing


@click.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
    help="Write to FILE (readable by its owner only) instead of stdout ('-': stdout).",
)
@pass_env
def export(env: Env, out: Path | None) -> None:
    """Every event of the ledger as JSON Lines, in recording order.

    A header line, then one line per event with its recording time, actor, client and
    stream ids, and its data. The schema is versioned and documented in
    docs/export-format.md; `coachledger import` reads it back.

    \b
    Example:
      coachledger export --out ledger-2026-06-30.jsonl
      coachledger export | gzip > backup.jsonl.gz
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.transfer import export_to

    if out is not None and str(out) == "-":
        out = None  # '-' is stdout, as everywhere a file is written
    result = export_to(env.settings, out, None if out else sys.stdout.buffer)
    if out is not None:
        left_out = ""
        if result.forgotten_clients:
            clients = "client" if result.forgotten_clients == 1 else "clients"
            left_out = f" ({result.forgotten_clients} forgotten {clients} left out)"
        click.echo(f"Exported {_events(result.events)} to {out}{left_out}.")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the whole file against the store; write nothing.")
@pass_env
def import_(env: Env, file: Path, dry_run: bool) -> None:
    """Import an export file: every line is checked first, then all is written or nothing.

    Recording times and actors are kept: an import restores history, it does not
    re-record it. Events the store already holds are skipped, so importing the same
    file twice changes nothing. Errors name the line and field (the first 50).

    \b
    Example:
      coachledger --store ./copy.sqlite import ledger-2026-06-30.jsonl --dry-run
      coachledger --store ./copy.sqlite import ledger-2026-06-30.jsonl
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.transfer import import_from, no_progress

    source = sys.stdin.buffer if str(file) == "-" else file
    big = source is not file or file.stat().st_size >= PROGRESS_MIN_BYTES
    result = import_from(
        env.settings, source, dry_run=dry_run, progress=terminal_progress if big else no_progress
    )
    already = f" ({result.skipped} already in the store)" if result.skipped else ""
    clients = "client" if result.clients == 1 else "clients"
    if dry_run:
        click.echo(
            f"Checked {_events(result.events)}: {result.written} would be imported for {result.clients} "
            f"{clients}{already}; nothing written."
        )
    elif not result.written:
        click.echo(f"Nothing to import: the store already holds all {_events(result.events)}.")
    else:
        click.echo(f"Imported {_events(result.written)} for {result.clients} {clients}{already}.")


def _events(n: int) -> str:
    return f"{n} event" if n == 1 else f"{n} events"


@contextlib.contextmanager
def terminal_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        yield bar.update
