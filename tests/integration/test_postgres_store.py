"""The PostgreSQL store as a practice shares it: real server, real processes, one ledger."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from coachledger.adapters.sealing import GENESIS, seal
from coachledger.ids import stream_of
from conftest import Cli

psycopg = pytest.importorskip("psycopg")


def coachledger(store: str, *args: str, actor: str = "maria") -> subprocess.CompletedProcess[str]:
    """One real process, as a coach's terminal runs it."""
    env = {**os.environ, "COACHLEDGER_STORE": store, "COACHLEDGER_ACTOR": actor}
    return subprocess.run(
        [sys.executable, "-m", "coachledger", *args], env=env, capture_output=True, text=True, timeout=120
    )


def rows(store: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(store) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def ledger(pg_store: str) -> str:
    """A PostgreSQL ledger with one client and a salary KPI with a baseline."""
    cli = Cli(pg_store)
    cli.run(*shlex.split("client add ana-lopez --name Ana --coach maria"))
    cli.run(
        *shlex.split(
            "kpi define ana-lopez salary --name Salary --category salary --unit EUR "
            "--direction increase --target 90000 --due 2027-06-30"
        )
    )
    cli.run(*shlex.split("kpi baseline ana-lopez salary 72000 --at 2026-01-01"))
    return pg_store


def test_writes_through_the_cli_are_stored_with_an_index_row_each(ledger: str) -> None:
    Cli(ledger).run("measure", "record", "ana-lopez", "salary", "75000", "--at", "2026-03-01")

    events = rows(
        ledger, "SELECT notification_id, originator_id, originator_version, topic FROM stored_events"
    )
    index = rows(
        ledger, "SELECT seq, originator_id, originator_version, recorded_at FROM event_index ORDER BY seq"
    )
    assert [e[3] for e in events] == [
        "coachledger:ClientRegistered",
        "coachledger:KpiDefined",
        "coachledger:BaselineEstablished",
        "coachledger:MeasurementRecorded",
    ]
    assert [(seq, stream, version) for seq, stream, version, _ in index] == [
        (seq, stream, version) for seq, stream, version, _ in events
    ]
    assert {stream for _, stream, _, _ in index} == {stream_of("ana-lopez")}  # 32-hex text, as in SQLite
    assert all(recorded_at.endswith("+00:00") for *_, recorded_at in index)


def test_the_event_index_seals_chain_over_the_stored_bytes(ledger: str) -> None:
    cli = Cli(ledger)
    for value in ("74000", "76000", "78000"):
        cli.run("measure", "record", "ana-lopez", "salary", value)

    stored = rows(
        ledger,
        "SELECT e.originator_id, e.originator_version, e.topic, e.state, i.recorded_at, i.seal "
        "FROM stored_events e JOIN event_index i ON i.seq = e.notification_id ORDER BY e.notification_id",
    )
    previous = GENESIS
    for stream, version, topic, state, recorded_at, sealed in stored:
        previous = seal(previous, stream, version, topic, recorded_at, bytes(state))
        assert bytes(sealed) == previous
    assert len(stored) == 6


def test_a_duplicate_client_is_refused_on_postgres_too(ledger: str) -> None:
    result = Cli(ledger).run("client", "add", "ana-lopez", "--name", "Other", ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error:") and "already exists" in result.stderr
    assert rows(ledger, "SELECT count(*) FROM stored_events") == [(3,)]


def test_eight_processes_writing_to_one_client_at_once_lose_nothing(ledger: str) -> None:
    def writer(n: int) -> list[subprocess.CompletedProcess[str]]:
        return [
            coachledger(ledger, "measure", "record", "ana-lopez", "salary", str(80000 + 10 * n + k))
            for k in range(3)
        ]

    with ThreadPoolExecutor(8) as pool:
        results = [r for batch in pool.map(writer, range(8)) for r in batch]

    assert [(r.returncode, r.stderr) for r in results] == [(0, "")] * 24
    ids = [r.stdout.strip() for r in results]
    assert len(set(ids)) == 24
    values = rows(
        ledger,
        "SELECT state FROM stored_events WHERE topic = 'coachledger:MeasurementRecorded' ORDER BY notification_id",
    )
    recorded = sorted(json.loads(bytes(state))["value"] for (state,) in values)
    assert recorded == sorted(str(80000 + 10 * n + k) for n in range(8) for k in range(3))
    versions = rows(ledger, "SELECT originator_version FROM stored_events ORDER BY originator_version")
    assert [v for (v,) in versions] == list(range(1, 28))  # no gap, no double
    assert rows(ledger, "SELECT count(*), max(seq) FROM event_index") == [(27, 27)]


def test_eight_processes_writing_to_different_clients_lose_nothing(pg_store: str) -> None:
    def writer(n: int) -> list[subprocess.CompletedProcess[str]]:
        slug = f"client-{n}"
        return [
            coachledger(pg_store, "client", "add", slug, "--name", f"Client {n}"),
            coachledger(pg_store, "goal", "add", slug, "promotion", "--text", "Get promoted"),
            coachledger(pg_store, "feedback", "add", slug, "--rating", str(1 + n % 5)),
        ]

    with ThreadPoolExecutor(8) as pool:
        results = [r for batch in pool.map(writer, range(8)) for r in batch]

    assert [(r.returncode, r.stderr) for r in results] == [(0, "")] * 24
    per_client = rows(pg_store, "SELECT originator_id, count(*) FROM stored_events GROUP BY originator_id")
    assert dict(per_client) == {stream_of(f"client-{n}"): 3 for n in range(8)}
    listed = Cli(pg_store).json("client", "list")
    assert sorted(c["client"] for c in listed["clients"]) == [f"client-{n}" for n in range(8)]


def test_a_read_sees_every_event_that_commits_late(ledger: str) -> None:
    """A writer holding its transaction open keeps the seq order: later writers wait for it."""
    from coachledger.adapters.postgres import insert_sealed
    from coachledger.services.bootstrap import open_ledger
    from coachledger.settings import Settings

    app = open_ledger(Settings.from_values(ledger, "maria"))
    client = app.client("ana-lopez")
    client.record_measurement("maria", "salary", Decimal("77000"), _moment(), "coach", None)
    stored = [app.mapper.to_stored_event(e) for e in client.collect_events()]
    app.close()

    held = psycopg.connect(ledger, row_factory=psycopg.rows.dict_row)
    with held.cursor() as curs:
        curs.execute("LOCK TABLE stored_events IN EXCLUSIVE MODE")
        (held_seq,) = insert_sealed(curs, stored)
        late = _start(ledger, "client", "add", "bob", "--name", "Bob")
        _wait_for_a_lock_wait(ledger)
        before = coachledger(ledger, "timeline", "ana-lopez", "--json")  # reads are not blocked
        held.commit()
    held.close()
    assert late.wait(timeout=60) == 0, late.stderr.read() if late.stderr else ""

    assert before.returncode == 0, before.stderr
    assert [e["type"] for e in json.loads(before.stdout)["events"]][-1] == "BaselineEstablished"
    after = json.loads(coachledger(ledger, "timeline", "ana-lopez", "--json").stdout)
    assert [e["seq"] for e in after["events"]][-1] == held_seq
    assert rows(ledger, "SELECT seq FROM event_index WHERE originator_id = %s", (stream_of("bob"),)) == [
        (held_seq + 1,)
    ]
    progress = json.loads(coachledger(ledger, "progress", "ana-lopez", "--json").stdout)
    assert progress["kpis"][0]["current"] == 77000


def test_an_unreachable_server_is_one_error_line_naming_host_and_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = coachledger(
        f"postgresql://postgres@127.0.0.1:{port}/ledger", "client", "add", "x", "--name", "X"
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    assert f"127.0.0.1:{port}" in result.stderr and "check that the server is running" in result.stderr
    result = coachledger(f"postgresql://postgres@127.0.0.1:{port}/ledger", "client", "list")
    assert result.returncode == 1 and result.stderr.startswith("Error: ") and "Traceback" not in result.stderr


def test_a_missing_database_says_how_to_create_it(pg_store: str) -> None:
    url = pg_store.rsplit("/", 1)[0] + "/coachledger_no_such_db"
    result = coachledger(url, "client", "add", "x", "--name", "X")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and "no database 'coachledger_no_such_db'" in result.stderr
    assert "createdb" in result.stderr


def test_options_in_the_url_are_refused_with_the_alternative(pg_store: str) -> None:
    result = coachledger(pg_store + "?sslmode=require", "client", "list")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and "PGSSLMODE" in result.stderr


def test_the_views_of_a_postgres_ledger_sort_text_like_sqlite(pg_store: str, tmp_path: Any) -> None:
    """Text columns use the "C" collation, so ORDER BY on names gives SQLite's order."""
    for store in (pg_store, str(tmp_path / "ledger.sqlite")):
        cli = Cli(store)
        for slug in ("a-c", "a_b", "ab", "a.d", "a0", "b-zed"):
            cli.run("client", "add", slug, "--name", slug)
    listed = [
        [c["client"] for c in Cli(s).json("client", "list")["clients"]]
        for s in (pg_store, str(tmp_path / "ledger.sqlite"))
    ]
    assert listed[0] == listed[1]


# -- helpers -----------------------------------------------------------------------------


def _moment() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 3, 15, tzinfo=UTC)


def _start(store: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "COACHLEDGER_STORE": store, "COACHLEDGER_ACTOR": "maria"}
    return subprocess.Popen(
        [sys.executable, "-m", "coachledger", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_a_lock_wait(store: str) -> None:
    """Until another session waits for the events table's lock (a writer queued behind us)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        waiting = rows(
            store,
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'stored_events'::regclass "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        if waiting[0][0]:
            return
        time.sleep(0.02)
    raise AssertionError("no writer queued behind the held transaction")
