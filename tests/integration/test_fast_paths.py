"""The fast paths of the write side give exactly what the plain ones gave."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from uuid import uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coachledger.adapters.codec import SCHEMAS, LedgerStoredEvent
from coachledger.adapters.sealing import GENESIS, seal
from coachledger.adapters.sqlite import LEDGER_OBJECTS, insert_sealed
from coachledger.domain import EVENT_CLASSES
from coachledger.ids import NAMESPACE, client_id
from coachledger.settings import Settings


@given(st.text(min_size=1, max_size=80))
def test_client_ids_are_the_uuid5_of_the_slug(slug: str) -> None:
    assert client_id(slug) == uuid5(NAMESPACE, slug)


def test_schemas_are_built_on_first_use_and_cover_every_topic() -> None:
    topics = {cls.TOPIC for cls in EVENT_CLASSES}
    assert topics <= set(SCHEMAS)
    assert all(topic in SCHEMAS for topic in topics)
    assert "coachledger:NoSuchEvent" not in SCHEMAS
    with pytest.raises(KeyError):
        SCHEMAS["coachledger:NoSuchEvent"]


def _store(tmp_path: Path) -> sqlite3.Connection:
    from coachledger.services.bootstrap import open_ledger

    path = tmp_path / "ledger.sqlite"
    open_ledger(Settings.from_values(str(path), "maria")).close()
    return sqlite3.connect(path, isolation_level=None)


def _event(stream: str, version: int) -> LedgerStoredEvent:
    return LedgerStoredEvent(
        originator_id=stream,
        originator_version=version,
        topic="coachledger:GoalSet",
        state=f'{{"v":{version}}}'.encode(),
        recorded_at=f"2026-01-01T00:00:{version:02d}.000000+00:00",
    )


def test_a_bulk_append_numbers_seals_and_indexes_every_event_in_order(tmp_path: Path) -> None:
    conn = _store(tmp_path)
    a, b = "a" * 32, "b" * 32
    conn.execute("BEGIN IMMEDIATE")
    assert insert_sealed(conn, [_event(a, 1), _event(b, 1)]) == [1, 2]
    conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    assert insert_sealed(conn, [_event(a, 2), _event(a, 3), _event(b, 2)]) == [3, 4, 5]
    conn.execute("COMMIT")
    rows = conn.execute(
        "SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, i.seq, i.recorded_at, i.seal "
        "FROM stored_events e JOIN event_index i ON i.seq = e.rowid ORDER BY e.rowid"
    ).fetchall()
    assert [(r[1][0], r[2]) for r in rows] == [("a", 1), ("b", 1), ("a", 2), ("a", 3), ("b", 2)]
    previous = GENESIS
    for seq, stream, version, topic, state, index_seq, recorded_at, sealed in rows:
        previous = seal(previous, stream, version, topic, recorded_at, state)
        assert (index_seq, sealed) == (seq, previous)
        assert recorded_at.endswith(f"{version:02d}.000000+00:00")


def test_a_bulk_append_that_loses_a_race_writes_nothing(tmp_path: Path) -> None:
    conn = _store(tmp_path)
    a = "a" * 32
    conn.execute("BEGIN IMMEDIATE")
    insert_sealed(conn, [_event(a, 1)])
    conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.IntegrityError):
        insert_sealed(conn, [_event(a, 2), _event(a, 1)])
    conn.execute("ROLLBACK")
    assert conn.execute("SELECT count(*) FROM stored_events").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM event_index").fetchone() == (1,)


def test_the_tables_are_created_once_and_found_afterwards(tmp_path: Path) -> None:
    from coachledger.adapters.sqlite import LedgerSQLiteFactory

    conn = _store(tmp_path)
    names = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
    assert set(LEDGER_OBJECTS) <= names
    factory = LedgerSQLiteFactory({"SQLITE_DBNAME": str(tmp_path / "ledger.sqlite"), "CREATE_TABLE": "y"})
    assert factory.env_create_table() is False
    fresh = LedgerSQLiteFactory({"SQLITE_DBNAME": str(tmp_path / "new.sqlite"), "CREATE_TABLE": "y"})
    assert fresh.env_create_table() is True
