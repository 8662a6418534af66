"""store copy: a whole ledger moves SQLite -> PostgreSQL -> SQLite unchanged, or not at all."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from coachledger.adapters.sealing import GENESIS, seal
from conftest import Cli, check_ins

psycopg = pytest.importorskip("psycopg")

SQLITE_DUMP = (
    "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid",
    "SELECT seq, originator_id, originator_version, recorded_at, seal FROM event_index ORDER BY seq",
    "SELECT originator_id, originator_version, topic, state FROM stored_snapshots ORDER BY 1, 2",
)


def sqlite_dump(path: Path) -> list[list[tuple[Any, ...]]]:
    """Every stored row of a SQLite ledger, as an export would see it."""
    conn = sqlite3.connect(path)
    try:
        return [conn.execute(sql).fetchall() for sql in SQLITE_DUMP]
    finally:
        conn.close()


def pg_count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
            return 0
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


@pytest.fixture
def journey(tmp_path: Path) -> Path:
    """A SQLite ledger with a real journey: back-dated, corrected, retracted, adjusted, two coaches,
    and more than 100 events on one client so that a snapshot exists."""
    path = tmp_path / "source.sqlite"
    cli = Cli(str(path))
    cli.run("client", "add", "ana-lopez", "--name", "Ana López", "--coach", "maria")
    cli.run("client", "add", "ben", "--name", "Ben", "--coach", "li", actor="li")
    cli.run("goal", "add", "ana-lopez", "lead-team", "--text", "Lead a team")
    cli.run(
        "kpi", "define", "ana-lopez", "satisfaction", "--name", "Job satisfaction",
        "--category", "job-satisfaction", "--unit", "points", "--direction", "increase",
        "--target", "4", "--due", "2027-12-31", "--scale", "1..5", "--goal", "lead-team",
    )  # fmt: skip
    cli.run("kpi", "baseline", "ana-lopez", "satisfaction", "2", "--at", "2026-01-01")
    m1 = cli.out("measure", "record", "ana-lopez", "satisfaction", "3", "--at", "2026-02-01")
    m2 = cli.out("measure", "record", "ana-lopez", "satisfaction", "5", "--at", "2026-02-15")
    cli.run("measure", "correct", "ana-lopez", m1, "3.5", "--reason", "typo")
    cli.run("measure", "retract", "ana-lopez", m2, "--reason", "wrong client")
    cli.run(
        "kpi", "adjust", "ana-lopez", "satisfaction", "--scale", "1..10", "--rescale",
        "--reason", "new survey", "--at", "2026-03-01",
    )  # fmt: skip
    cli.run("feedback", "add", "ben", "--rating", "4", "--comment", "useful", actor="li")
    assert check_ins(cli, "ana-lopez", ("satisfaction", "6")) == 12  # a link and a form the client answers

    from coachledger.services.bootstrap import open_ledger
    from coachledger.settings import Settings

    ledger = open_ledger(Settings.from_values(str(path), "maria"))
    try:
        for n in range(100):
            ledger.record_measurement("ana-lopez", "satisfaction", Decimal(1 + n % 10), None, "self", None)
    finally:
        ledger.close()
    assert sqlite_dump(path)[2], "the journey should have a snapshot"
    return path


def test_sqlite_to_postgres_and_back_is_identical(journey: Path, pg_store: str, tmp_path: Path) -> None:
    back = tmp_path / "back.sqlite"
    to_pg = Cli(pg_store).out("store", "copy", "--from", str(journey), "--to", pg_store)
    assert "Copied 123 events of 2 clients, 1 snapshot from" in to_pg
    Cli(pg_store).out("store", "copy", "--from", pg_store, "--to", str(back))

    assert sqlite_dump(back) == sqlite_dump(journey)
    cli = {
        name: Cli(store) for name, store in (("sqlite", str(journey)), ("pg", pg_store), ("back", str(back)))
    }
    for command in (
        ("timeline", "ana-lopez"),
        ("progress", "ana-lopez", "--as-of", "2026-06-01"),
        ("client", "list"),
    ):
        documents = {name: c.json(*command) for name, c in cli.items()}
        assert documents["pg"] == documents["sqlite"] == documents["back"], command


def test_writes_continue_on_the_copy_with_the_next_seq_and_an_unbroken_chain(
    journey: Path, pg_store: str
) -> None:
    Cli(pg_store).run("store", "copy", "--from", str(journey), "--to", pg_store)
    Cli(pg_store).run("measure", "record", "ana-lopez", "satisfaction", "8")

    with psycopg.connect(pg_store) as conn:
        rows = conn.execute(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, i.recorded_at, i.seal "
            "FROM stored_events e JOIN event_index i ON i.seq = e.notification_id ORDER BY 1"
        ).fetchall()
    assert [r[0] for r in rows] == list(range(1, 125))
    previous = GENESIS
    for _, stream, version, topic, state, recorded_at, sealed in rows:
        previous = seal(previous, stream, version, topic, recorded_at, bytes(state))
        assert bytes(sealed) == previous


def test_a_non_empty_postgres_target_is_refused_and_left_unchanged(journey: Path, pg_store: str) -> None:
    cli = Cli(pg_store)
    cli.run("client", "add", "someone", "--name", "Someone")

    result = cli.run("store", "copy", "--from", str(journey), "--to", pg_store, ok=False)

    assert result.exit_code == 1
    assert (
        result.stderr.startswith("Error: the target")
        and "not empty (1 events, 1 index rows)" in result.stderr
    )
    assert pg_count(pg_store, "stored_events") == 1
    assert [c["client"] for c in cli.json("client", "list")["clients"]] == ["someone"]


def test_a_non_empty_sqlite_target_is_refused_and_left_unchanged(
    journey: Path, pg_store: str, tmp_path: Path
) -> None:
    Cli(pg_store).run("store", "copy", "--from", str(journey), "--to", pg_store)
    target = tmp_path / "target.sqlite"
    Cli(str(target)).run("client", "add", "someone", "--name", "Someone")
    before = sqlite_dump(target)

    result = Cli(str(target)).run("store", "copy", "--from", pg_store, "--to", str(target), ok=False)

    assert result.exit_code == 1 and result.stderr.startswith("Error: the target")
    assert sqlite_dump(target) == before


def test_a_damaged_source_is_refused_and_nothing_is_left_behind(journey: Path, tmp_path: Path) -> None:
    conn = sqlite3.connect(journey)
    conn.execute(
        "UPDATE stored_events SET state = CAST(replace(state, 'Lead', 'Rule') AS BLOB) WHERE rowid = 3"
    )
    conn.commit()
    conn.close()
    target = tmp_path / "copy.sqlite"

    result = Cli(str(target)).run("store", "copy", "--from", str(journey), "--to", str(target), ok=False)

    assert result.exit_code == 1
    assert (
        "the seal chain of the source does not verify at seq 3" in result.stderr
        and result.stderr.count("\n") == 1
    )
    assert list(tmp_path.glob("copy.sqlite*")) == []


def test_the_same_store_on_both_sides_is_refused(journey: Path) -> None:
    result = Cli(str(journey)).run(
        "store", "copy", "--from", str(journey), "--to", f"sqlite:///{journey}", ok=False
    )
    assert result.exit_code == 1 and "same store" in result.stderr


def test_a_missing_source_is_one_error_line(tmp_path: Path) -> None:
    result = Cli(str(tmp_path / "x.sqlite")).run(
        "store",
        "copy",
        "--from",
        str(tmp_path / "missing.sqlite"),
        "--to",
        str(tmp_path / "x.sqlite"),
        ok=False,
    )
    assert result.exit_code == 1 and result.stderr.startswith("Error: no ledger at")
    assert not (tmp_path / "x.sqlite").exists()


def test_a_source_with_a_missing_index_row_writes_nothing_into_postgres(journey: Path, pg_store: str) -> None:
    conn = sqlite3.connect(journey)
    conn.execute("DELETE FROM event_index WHERE seq = 5")
    conn.commit()
    conn.close()

    result = Cli(pg_store).run("store", "copy", "--from", str(journey), "--to", pg_store, ok=False)

    assert result.exit_code == 1 and "index rows for 123 events" in result.stderr
    assert pg_count(pg_store, "stored_events") == 0


def test_an_encrypted_ledger_moves_with_its_keys_and_its_erasures(pg_store: str, tmp_path: Path) -> None:
    source, back = tmp_path / "enc.sqlite", tmp_path / "back.sqlite"
    cli = Cli(str(source))
    cli.run("init", "--encrypt")
    cli.run("client", "add", "ana-lopez", "--name", "Ana López")
    cli.run("client", "add", "ben", "--name", "Ben")
    cli.run("goal", "add", "ben", "promotion", "--text", "Get promoted")
    cli.run("forget", "ben", "--yes")

    copied = Cli(pg_store).out("store", "copy", "--from", str(source), "--to", pg_store)
    assert "1 client key" in copied
    Cli(pg_store).run("store", "copy", "--from", pg_store, "--to", str(back))

    assert sqlite_dump(back) == sqlite_dump(source)
    for store in (pg_store, str(back)):
        for client in ("ana-lopez", "ben"):
            assert Cli(store).json("timeline", client) == cli.json("timeline", client)
        refused = Cli(store).run("goal", "add", "ben", "again", "--text", "x", ok=False)
        assert refused.exit_code == 1 and "forgotten" in refused.stderr  # still erased
        Cli(store).run("goal", "add", "ana-lopez", "lead", "--text", "Lead a team")  # the key works
        assert Cli(store).run("verify").exit_code == 0
    with psycopg.connect(pg_store) as conn:
        (state,) = conn.execute(
            "SELECT state FROM stored_events ORDER BY notification_id DESC LIMIT 1"
        ).fetchone()
    assert b"Lead a team" not in bytes(state)  # still encrypted on its new store
    assert b"Lead a team" not in sqlite_dump(back)[0][-1][4]
