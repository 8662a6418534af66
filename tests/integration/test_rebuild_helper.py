"""A big catch-up decodes in a helper process: the same views as one process, and failures roll back.

The helper is used from ``pipeline.PARALLEL_MIN`` events on; these tests lower that
threshold (and the chunk and commit sizes) so that a demo ledger goes through it in
many chunks and several transactions.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coachledger.adapters.files import StoreError, connect
from coachledger.projections import pipeline, runner
from coachledger.projections.db import SqliteViews
from conftest import Cli

TABLES = sorted(t for view in runner.VIEWS for t in view.TABLES)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo ledger of eight clients, one of them forgotten part-way (unencrypted store)."""
    store = tmp_path_factory.mktemp("helper") / "ledger.sqlite"
    cli = Cli(str(store))
    cli.run("demo", "--clients", "8", "--months", "6", "--store", str(store))
    first = cli.json("client", "list")["clients"][0]["client"]
    cli.run("forget", first, "--yes")
    other = cli.json("client", "list")["clients"][0]["client"]
    cli.run("measure", "record", other, cli.json("progress", other)["kpis"][0]["kpi"], "7")
    return store


def _copy(demo: Path, to: Path) -> Path:
    """A consistent copy (SQLite's backup API: what the write-ahead log holds comes along)."""
    source, target = sqlite3.connect(demo), sqlite3.connect(to)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return to


@pytest.fixture
def views(tmp_path: Path, demo: Path) -> Iterator[SqliteViews]:
    path = _copy(demo, tmp_path / "copy.sqlite")
    db = SqliteViews(connect(path), str(path))
    yield db
    db.close()


def _contents(db: SqliteViews) -> dict[str, list[Any]]:
    return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


@pytest.fixture
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "PARALLEL_MIN", 1)
    monkeypatch.setattr(runner, "CHUNK", 13)
    monkeypatch.setattr(runner, "COMMIT_EVERY", 100)


def test_the_helper_writes_the_same_views_as_one_process(
    views: SqliteViews, tmp_path: Path, demo: Path, monkeypatch: pytest.MonkeyPatch, small_steps: None
) -> None:
    head = runner.head(views.conn)
    assert head > 400  # several transactions of 100 events, chunks of 13
    started: list[pipeline.Helper] = []
    enter = pipeline.Helper.__enter__
    monkeypatch.setattr(pipeline.Helper, "__enter__", lambda self: started.append(self) or enter(self))
    commits: list[int] = []
    assert runner.rebuild(views, None, commits.append) == head
    assert len(started) == 1 and started[0].peak_rss_kib > 0  # the helper ran
    assert len(commits) >= 3 and sum(commits) == head
    with_helper = _contents(views)

    alone = SqliteViews(connect(_copy(demo, tmp_path / "alone.sqlite")), None)  # no path: no helper
    try:
        assert runner.rebuild(alone) == head
        assert _contents(alone) == with_helper
        assert runner.status(alone) == runner.status(views)
    finally:
        alone.close()
    assert sum(len(rows) for rows in with_helper.values()) > head / 2
    assert all(row["position"] == head for row in runner.status(views))


def test_a_catch_up_after_new_events_goes_on_where_the_helper_stopped(
    views: SqliteViews, demo: Path, small_steps: None
) -> None:
    runner.rebuild(views)
    first = _contents(views)
    top = runner.head(views.conn)
    cli = Cli(views.path or "")
    slug = cli.json("client", "list")["clients"][-1]["client"]
    cli.run("feedback", "add", slug, "--rating", "5")
    assert runner.catch_up(views) == 1  # through the helper too: the threshold is one event
    assert {row["position"] for row in runner.status(views)} == {top + 1}
    assert len(_contents(views)["feedback"]) == len(first["feedback"]) + 1


def test_a_helper_that_cannot_decode_an_event_stops_the_catch_up_with_one_error(
    views: SqliteViews, small_steps: None
) -> None:
    head = runner.head(views.conn)
    bad = head // 2
    topic = views.execute("SELECT topic FROM stored_events WHERE rowid = ?", (bad,)).fetchone()[0]
    assert topic != "coachledger:ClientForgotten"
    views.execute("UPDATE stored_events SET state = CAST('{\"broken' AS BLOB) WHERE rowid = ?", (bad,))
    with pytest.raises(pipeline.HelperFailed, match=r"decoding helper: \w+") as failed:
        runner.rebuild(views)
    assert isinstance(failed.value, StoreError)  # the CLI shows it as one "Error:" line
    # What was committed is whole: every view at the same position, before the bad event,
    # and no view row of any later event.
    positions = {row["position"] for row in runner.status(views)}
    assert len(positions) == 1
    (position,) = positions
    assert 0 < position < bad
    for table in TABLES:
        if "seq" in [c[1] for c in views.execute(f"PRAGMA table_info({table})").fetchall()]:
            assert views.execute(f"SELECT count(*) FROM {table} WHERE seq > ?", (position,)).fetchone() == (
                0,
            )


def test_a_helper_that_dies_is_an_error_not_a_hang(
    views: SqliteViews, small_steps: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "HELPER_MODULE", "coachledger.no_such_module")
    with pytest.raises(pipeline.HelperFailed, match="the decoding helper stopped"):
        runner.rebuild(views)


def test_the_helper_reads_nothing_it_was_not_given(views: SqliteViews, small_steps: None) -> None:
    conn = sqlite3.connect(views.path or "")
    try:
        with pipeline.Helper(views.path or "", 10, 20, 4) as chunks:
            got = [(last, count) for last, count, _ in chunks]
    finally:
        conn.close()
    assert got == [(14, 4), (18, 4), (20, 2)]


def test_on_an_encrypted_store_the_helper_decrypts_with_the_stores_own_keys(
    tmp_path: Path, small_steps: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coachledger.projections.read import read_decryptor
    from coachledger.settings import Settings

    store = tmp_path / "encrypted.sqlite"
    cli = Cli(str(store))
    cli.run("init", "--encrypt")
    cli.run("demo", "--clients", "4", "--months", "4", "--store", str(store))
    first = cli.json("client", "list")["clients"][0]["client"]
    cli.run("forget", first, "--yes")  # its key is destroyed: the helper must skip its events too
    alone_path = tmp_path / "alone.sqlite"
    shutil.copy(store, alone_path)
    shutil.copy(store.with_name("encrypted.sqlite.keys"), tmp_path / "alone.sqlite.keys")

    decrypt = read_decryptor(Settings.from_values(str(store), "maria"))
    assert decrypt is not None
    started: list[pipeline.Helper] = []
    enter = pipeline.Helper.__enter__
    monkeypatch.setattr(pipeline.Helper, "__enter__", lambda self: started.append(self) or enter(self))
    views = SqliteViews(connect(store), str(store))
    try:
        runner.rebuild(views, decrypt)
        with_helper = _contents(views)
    finally:
        views.close()
    assert len(started) == 1 and started[0].args["encrypted"] is True

    alone = SqliteViews(connect(alone_path), None)
    try:
        runner.rebuild(alone, read_decryptor(Settings.from_values(str(alone_path), "maria")))
        assert _contents(alone) == with_helper
    finally:
        alone.close()
    assert with_helper["measurements"] and not any(first in repr(row) for row in with_helper["clients"])
