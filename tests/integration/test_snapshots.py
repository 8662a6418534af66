"""Snapshots are sealed to the chain and kept one per client; a long write is not starved.

Through the command line, on both stores: an edited snapshot never drives a write (it is
ignored and replaced), snapshots do not grow with the square of the events, old
(unsealed) snapshots still load, and an import survives a steady stream of other writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from coachledger.adapters.snapshots import MAGIC, check_snapshots
from conftest import Cli

SCALE_KPI = (
    "kpi", "define", "ana", "sat", "--name", "Satisfaction", "--category", "job-satisfaction",
    "--unit", "points", "--direction", "increase", "--target", "4", "--due", "2030-12-31",
    "--scale", "1..5",
)  # fmt: skip


def connect(store: str) -> Any:
    if store.startswith("postgresql://"):
        import psycopg

        return psycopg.connect(store, autocommit=True)
    return sqlite3.connect(store, isolation_level=None)


def snapshot_rows(store: str) -> list[tuple[str, int, bytes]]:
    conn = connect(store)
    try:
        rows = conn.execute(
            "SELECT originator_id, originator_version, state FROM stored_snapshots ORDER BY 1, 2"
        ).fetchall()
    finally:
        conn.close()
    return [(str(stream), version, bytes(state)) for stream, version, state in rows]


def rewrite_snapshot(store: str, stream: str, version: int, state: bytes) -> None:
    conn = connect(store)
    mark = "%s" if store.startswith("postgresql://") else "?"
    try:
        conn.execute(
            f"UPDATE stored_snapshots SET state = {mark} WHERE originator_id = {mark} "
            f"AND originator_version = {mark}",
            (state, stream, version),
        )
    finally:
        conn.close()


def bad_snapshots(store: str) -> list[Any]:
    conn = connect(store)
    try:
        return check_snapshots(conn)
    finally:
        conn.close()


def state_end(state: bytes) -> int:
    """Where the snapshot's own bytes end (before the seal, where there is one)."""
    return len(state) - len(MAGIC) - 32 if state.endswith(MAGIC) else len(state)


def csv_file(tmp_path: Path, rows: int, name: str = "m.csv", value: int = 3) -> Path:
    lines = ["kpi,value,date"]
    lines += [f"sat,{value},2026-01-{1 + i % 28:02d}T10:{i % 60:02d}:{(i // 60) % 60:02d}Z" for i in range(rows)]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def client_with_measurements(cli: Cli, tmp_path: Path, rows: int) -> None:
    cli.run("client", "add", "ana", "--name", "Ana", "--coach", "maria")
    cli.run(*SCALE_KPI)
    cli.run("measure", "import", "ana", str(csv_file(tmp_path, rows)))


def test_an_edited_snapshot_is_ignored_and_replaced(cli: Cli, store: str, tmp_path: Path) -> None:
    client_with_measurements(cli, tmp_path, 150)
    ((stream, version, state),) = snapshot_rows(store)
    end = state_end(state)
    doc = json.loads(state[:end])
    doc["state"]["kpis"]["sat"]["scale"] = ["1", "500"]
    doc["state"]["measurements"] = {}
    rewrite_snapshot(store, stream, version, json.dumps(doc).encode() + state[end:])

    assert [(b.stream, b.version) for b in bad_snapshots(store)] == [(stream.replace("-", ""), version)]
    refused = cli.run("measure", "record", "ana", "sat", "400", ok=False)
    assert refused.exit_code == 1 and refused.output.startswith("Error: ")
    assert "400" in refused.output
    cli.run("measure", "correct", "ana", "m1", "4", "--reason", "typo")  # m1 is known again

    assert bad_snapshots(store) == []  # the write replaced it, sealed
    ((_, new_version, new_state),) = snapshot_rows(store)
    assert new_version > version and new_state.endswith(MAGIC)
    assert b'"scale":["1","5"]' in new_state and b'"m1"' in new_state


def test_one_snapshot_per_client_however_large_the_import(cli: Cli, store: str, tmp_path: Path) -> None:
    client_with_measurements(cli, tmp_path, 1_000)  # 1,002 events: ten intervals crossed at once
    # other values: rows already recorded would be skipped by the import
    cli.run("measure", "import", "ana", str(csv_file(tmp_path, 300, "more.csv", value=4)))
    rows = snapshot_rows(store)
    assert len(rows) == 1, [(s, v) for s, v, _ in rows]
    ((_, version, state),) = rows
    assert version == 1_302 and state.endswith(MAGIC)
    assert bad_snapshots(store) == []


def test_old_unsealed_snapshots_still_load(cli: Cli, store: str, tmp_path: Path) -> None:
    client_with_measurements(cli, tmp_path, 150)
    ((stream, version, state),) = snapshot_rows(store)
    rewrite_snapshot(store, stream, version, state[: state_end(state)])  # as older versions stored it
    assert [b.reason for b in bad_snapshots(store)] == [
        "not sealed (taken by an older version, or written by hand)"
    ]

    assert cli.out("measure", "record", "ana", "sat", "4") == "m151"
    assert bad_snapshots(store) == []
    ((_, new_version, _),) = snapshot_rows(store)
    assert new_version == 153


def coachledger(store: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "COACHLEDGER_STORE": store, "COACHLEDGER_ACTOR": "maria"}
    return subprocess.Popen(
        [sys.executable, "-m", "coachledger", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_long_import_is_not_starved_by_a_steady_writer(store: str, tmp_path: Path) -> None:
    """Each lost race used to restart the whole load-decide-save; a writer faster than the
    import's decide starved it until its attempts ran out. Now the retry holds the lock."""
    for args in (("client", "add", "ana", "--name", "Ana", "--coach", "maria"), SCALE_KPI):
        done = coachledger(store, *args)  # every writer its own process, as coaches' terminals are
        assert done.wait(timeout=120) == 0, done.communicate()
    big = csv_file(tmp_path, 20_000)
    stop = threading.Event()
    written: list[str] = []

    failures: list[str] = []

    def steady_writer() -> None:
        while not stop.is_set():
            done = coachledger(store, "measure", "record", "ana", "sat", "2", "--source", "self")
            out, err = done.communicate(timeout=120)
            if done.returncode != 0:
                failures.append(err)
                return
            written.append(out.strip())
            time.sleep(0.05)

    writer = threading.Thread(target=steady_writer, daemon=True)
    writer.start()
    try:
        while not written and not failures and writer.is_alive():
            time.sleep(0.05)
        assert not failures, failures
        started = time.monotonic()
        importing = coachledger(store, "measure", "import", "ana", str(big))
        try:
            out, err = importing.communicate(timeout=180)  # starved, it ran for minutes, then failed
        except subprocess.TimeoutExpired:
            importing.kill()
            raise
        took = time.monotonic() - started
    finally:
        stop.set()
        writer.join(timeout=120)
    assert not failures, failures
    assert importing.returncode == 0, err
    assert "Recorded 20000 measurements" in out, (out, err, took)
    conn = connect(store)
    try:
        (count,) = conn.execute("SELECT count(*) FROM stored_events").fetchone()
    finally:
        conn.close()
    assert count == 2 + 20_000 + len(written)
