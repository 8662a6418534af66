"""projections run --follow on PostgreSQL: a real follower process beside real writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from conftest import Cli

psycopg = pytest.importorskip("psycopg")


def query(store: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(store) as conn:
        return conn.execute(sql, params).fetchall()


WAITING_FOR_THE_EVENTS_TABLE = (
    "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'stored_events'::regclass "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def views_position(store: str) -> int:
    try:
        return int(query(store, "SELECT coalesce(min(position), -1) FROM view_tracking")[0][0])
    except psycopg.errors.UndefinedTable:
        return -1


def head(store: str) -> int:
    return int(query(store, "SELECT coalesce(max(seq), 0) FROM event_index")[0][0])


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll a real process's effect until it shows (no fixed sleeps: return as soon as it does)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


class Follower:
    """``coachledger projections run --follow`` in its own process."""

    def __init__(self, store: str) -> None:
        env = {**os.environ, "COACHLEDGER_STORE": store, "COACHLEDGER_ACTOR": "maria"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "coachledger", "projections", "run", "--follow"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log = ""

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        out, self.log = self.process.communicate(timeout=60)
        assert out == ""
        return self.process.returncode


@pytest.fixture
def follower(pg_store: str) -> Iterator[Callable[[], Follower]]:
    started: list[Follower] = []

    def start() -> Follower:
        f = Follower(pg_store)
        started.append(f)
        return f

    yield start
    for f in started:
        if f.process.poll() is None:
            f.process.kill()
            f.process.communicate()


@pytest.fixture
def ledger(pg_store: str) -> str:
    cli = Cli(pg_store)
    cli.run("client", "add", "ana-lopez", "--name", "Ana")
    cli.run(
        "kpi", "define", "ana-lopez", "salary", "--name", "Salary", "--category", "salary",
        "--unit", "EUR", "--direction", "increase", "--target", "90000", "--due", "2027-06-30",
    )  # fmt: skip
    cli.run("kpi", "baseline", "ana-lopez", "salary", "72000", "--at", "2026-01-01")
    return pg_store


EVERY_VIEW_ROW = (
    "SELECT seq FROM clients UNION ALL SELECT seq FROM kpi_versions UNION ALL SELECT seq FROM baselines "
    "UNION ALL SELECT seq FROM measurements UNION ALL SELECT seq FROM feedback ORDER BY seq"
)


def test_a_follower_applies_new_events_without_any_read_and_stops_on_sigterm(
    ledger: str, follower: Callable[[], Follower]
) -> None:
    f = follower()
    wait_until(lambda: views_position(ledger) == head(ledger) == 3, "the follower caught up")

    cli = Cli(ledger)  # writes only: nothing here catches the views up but the follower
    for value in ("73000", "74000", "75000"):
        cli.run("measure", "record", "ana-lopez", "salary", value)
    wait_until(lambda: views_position(ledger) == 6, "the follower applied the new events")

    from coachledger.adapters.pg_views import connect_views
    from coachledger.projections import runner
    from coachledger.settings import parse_store

    views = connect_views(parse_store(ledger))
    try:
        assert runner.is_current(views)  # a read now needs no catch-up
    finally:
        views.close()

    assert f.stop(signal.SIGTERM) == 0, f.log
    assert "following postgresql://" in f.log and "stopped by SIGTERM" in f.log
    assert "Traceback" not in f.log


def test_a_follower_resumes_where_it_stopped_and_applies_nothing_twice(
    ledger: str, follower: Callable[[], Follower]
) -> None:
    first = follower()
    wait_until(lambda: views_position(ledger) == 3, "the first follower caught up")
    assert first.stop(signal.SIGINT) == 0 and "stopped by SIGINT" in first.log

    cli = Cli(ledger)
    cli.run("measure", "record", "ana-lopez", "salary", "76000")
    cli.run("feedback", "add", "ana-lopez", "--rating", "5")
    assert views_position(ledger) == 3  # nobody followed while it was stopped

    second = follower()
    wait_until(lambda: views_position(ledger) == 5, "the second follower caught up")
    assert second.stop() == 0
    assert "views at 3 of 5" in second.log and "applied 2 events" in second.log
    # Every event in exactly one view row: nothing applied twice, nothing skipped.
    assert query(ledger, EVERY_VIEW_ROW) == [(n,) for n in range(1, 6)]


def test_a_follower_never_skips_an_event_that_commits_late(
    ledger: str, follower: Callable[[], Follower]
) -> None:
    from coachledger.adapters.postgres import insert_sealed
    from coachledger.services.bootstrap import open_ledger
    from coachledger.settings import Settings

    f = follower()
    wait_until(lambda: views_position(ledger) == 3, "the follower caught up")

    app = open_ledger(Settings.from_values(ledger, "maria"))
    client = app.client("ana-lopez")
    client.record_measurement(
        "maria", "salary", Decimal("77000"), datetime(2026, 3, 1, tzinfo=UTC), "coach", None
    )
    stored = [app.mapper.to_stored_event(e) for e in client.collect_events()]
    app.close()

    held = psycopg.connect(ledger, row_factory=psycopg.rows.dict_row)
    with held.cursor() as curs:
        curs.execute("LOCK TABLE stored_events IN EXCLUSIVE MODE")
        (held_seq,) = insert_sealed(curs, stored)  # seq 4, not committed yet
        env = {**os.environ, "COACHLEDGER_STORE": ledger, "COACHLEDGER_ACTOR": "li"}
        later = subprocess.Popen(
            [sys.executable, "-m", "coachledger", "client", "add", "ben", "--name", "Ben"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_until(
            lambda: query(ledger, WAITING_FOR_THE_EVENTS_TABLE)[0][0] > 0,
            "the later writer queued behind the open transaction",
        )
        assert views_position(ledger) == 3
        held.commit()
    held.close()
    out, err = later.communicate(timeout=60)
    assert out.strip() == "ben"
    assert (later.returncode, err) == (0, ""), err

    wait_until(lambda: views_position(ledger) == 5, "the follower applied both events")
    assert f.stop() == 0
    assert held_seq == 4
    assert query(ledger, "SELECT seq FROM measurements WHERE seq > 3") == [(4,)]
    assert query(ledger, "SELECT seq FROM clients WHERE seq > 3") == [(5,)]


def test_a_follower_of_an_unreachable_server_is_one_error_line() -> None:
    env = {**os.environ, "COACHLEDGER_STORE": "postgresql://postgres@127.0.0.1:1/ledger"}
    result = subprocess.run(
        [sys.executable, "-m", "coachledger", "projections", "run", "--follow"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and "127.0.0.1:1" in result.stderr
    assert "Traceback" not in result.stderr
