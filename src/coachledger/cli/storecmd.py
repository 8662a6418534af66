"""Keeping the store: move a whole ledger between SQLite and PostgreSQL."""

from __future__ import annotations

import click

from coachledger.cli.common import emit_json, json_option
from coachledger.settings import parse_store


@click.group()
def store() -> None:
    """The store itself: move a whole ledger between stores.

    \b
    Example:
      coachledger store copy --from ./ledger.sqlite --to postgresql://coach@db.example.org/practice
    """


@store.command("copy")
@click.option("--from", "source", required=True, metavar="URL", help="The ledger to copy (path or URL).")
@click.option("--to", "target", required=True, metavar="URL", help="A new or empty store (path or URL).")
@json_option
def copy(source: str, target: str, as_json: bool) -> None:
    """Copy a whole ledger into a new or empty store, SQLite or PostgreSQL, and verify it.

    Every event keeps its seq, ids, recorded time, actor and seal; snapshots and (for an
    encrypted ledger) client keys and the secret of its stream ids come along. The copy is one transaction: the target is
    read back, compared with the source and its seal chain recomputed before it commits.
    A target that already holds anything of a ledger is refused and left unchanged.
    The target's views are built on its first read.

    \b
    Example:
      coachledger store copy --from ~/.local/share/coachledger/ledger.sqlite \\
          --to postgresql://coach:secret@db.example.org:5432/practice
      coachledger store copy --from postgresql://coach@db.example.org/practice --to ./backup.sqlite
    """
    # lazy: keeps 'coachledger --help' fast
    from coachledger.services.store_copy import copy_ledger

    src, dst = parse_store(source), parse_store(target)
    result = copy_ledger(src, dst)
    if as_json:
        emit_json({"from": src.describe(), "to": dst.describe(), **result.as_dict()})
        return
    keys = f", {_n(result.keys, 'client key')}" if result.keys else ""
    click.echo(
        f"Copied {_n(result.events, 'event')} of {_n(result.clients, 'client')}, "
        f"{_n(result.snapshots, 'snapshot')}{keys} from {src.describe()} to {dst.describe()}; "
        f"counts and seals verified (head {result.head[:16]})."
    )


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
