"""A rebuild loads the views without their indexes, then builds them: the same views, every index back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coachledger.projections import runner
from coachledger.projections.db import open_views
from coachledger.settings import Settings
from conftest import Cli


def _journey(cli: Cli) -> None:
    cli.run("client", "add", "ana", "--name", "Ana")
    cli.run("client", "add", "bob", "--name", "Bob", "--coach", "maria")
    for slug in ("ana", "bob"):
        cli.run(
            "kpi",
            "define",
            slug,
            "stress",
            "--name",
            "Stress",
            "--category",
            "work-life-balance",
            "--unit",
            "points",
            "--direction",
            "decrease",
            "--target",
            "3",
            "--due",
            "2030-07-01",
            "--scale",
            "0..10",
        )
        cli.run("kpi", "baseline", slug, "stress", "8", "--at", "2026-01-01")
        for day, value in (("2026-02-01", "6"), ("2026-02-15", "7"), ("2026-03-01", "5")):
            cli.run("measure", "record", slug, "stress", value, "--at", day)
        cli.run("measure", "correct", slug, "m2", "6.5", "--reason", "typo")
        cli.run("measure", "retract", slug, "m1", "--reason", "wrong client")
        cli.run(
            "kpi",
            "adjust",
            slug,
            "stress",
            "--scale",
            "0..100",
            "--rescale",
            "--reason",
            "new survey",
            "--at",
            "2026-03-10",
        )
        cli.run("feedback", "add", slug, "--rating", "4", "--comment", "useful")
        cli.run("session", "log", slug, "--notes", "review", "--kpi", "stress")


def _views(store: str) -> dict[str, Any]:
    db = open_views(Settings.from_values(store, "maria"))
    try:
        out: dict[str, Any] = {}
        for view in runner.VIEWS:
            for table in view.TABLES:
                rows = db.execute(f"SELECT * FROM {table}").fetchall()
                out[table] = sorted(json.dumps([str(v) for v in row]) for row in rows)
        return out
    finally:
        db.close()


def _index_names(store: str) -> set[str]:
    db = open_views(Settings.from_values(store, "maria"))
    try:
        if db.kind == "sqlite":
            return {
                n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'").fetchall()
            }
        return {n for (n,) in db.execute("SELECT indexname FROM pg_indexes").fetchall()}
    finally:
        db.close()


def test_a_rebuild_gives_the_views_a_live_catch_up_gave_and_every_index(cli: Cli, store: str) -> None:
    _journey(cli)
    before = cli.json("progress", "bob", "--as-of", "2026-04-01")
    live = _views(store)
    cli.run("projections", "rebuild")
    assert _views(store) == live
    assert cli.json("progress", "bob", "--as-of", "2026-04-01") == before
    wanted = {s.split(" IF NOT EXISTS ")[1].split(" ")[0] for s in runner._index_ddl()}
    assert wanted <= _index_names(store)


def test_a_rebuild_that_copies_rows_in_gives_the_same_views(
    cli: Cli, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL, many rows of a statement go in by COPY: the same rows as INSERTs gave."""
    _journey(cli)
    cli.run("client", "list")  # a read: the views catch up, statement by statement
    live = _views(store)
    if store.startswith("postgresql://"):
        from coachledger.adapters import pg_views

        monkeypatch.setattr(pg_views, "COPY_MIN", 1)
    cli.run("projections", "rebuild")
    assert _views(store) == live
