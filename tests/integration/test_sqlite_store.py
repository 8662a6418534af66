"""The SQLite store as a coach's machine sees it: real files, real processes."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from coachledger.adapters.files import connect, prepare_file
from conftest import Cli


def coachledger(store: Path, *args: str, umask: int = 0o022) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COACHLEDGER_STORE": str(store), "COACHLEDGER_ACTOR": "maria"}
    return subprocess.run(
        [sys.executable, "-m", "coachledger", *args],
        env=env,
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(umask),
        check=False,
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    store = tmp_path / "data" / "ledger.sqlite"
    for args in (
        ("client", "add", "ana-lopez", "--name", "Ana López"),
        (
            "kpi",
            "define",
            "ana-lopez",
            "calls",
            "--name",
            "Networking calls",
            "--category",
            "networking",
            "--unit",
            "calls",
            "--direction",
            "increase",
            "--target",
            "1000",
            "--due",
            "2030-01-01",
        ),
        ("kpi", "baseline", "ana-lopez", "calls", "0", "--at", "2026-01-01"),
    ):
        result = coachledger(store, *args)
        assert result.returncode == 0, result.stderr
    return store


def test_eight_processes_writing_to_one_client_at_once_lose_nothing(ledger: Path) -> None:
    def record(i: int) -> subprocess.CompletedProcess[str]:
        return coachledger(ledger, "measure", "record", "ana-lopez", "calls", str(i), "--note", f"writer {i}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(record, range(1, 25)))
    assert [r.stderr for r in results if r.returncode != 0] == []
    ids = [r.stdout.strip() for r in results]
    assert len(set(ids)) == 24
    conn = sqlite3.connect(ledger)
    versions = [v for (v,) in conn.execute("SELECT originator_version FROM stored_events ORDER BY rowid")]
    assert versions == list(range(1, 28))
    timeline = coachledger(ledger, "timeline", "ana-lopez", "--json")
    assert timeline.returncode == 0, timeline.stderr
    assert sum('"MeasurementRecorded"' in line for line in timeline.stdout.splitlines()) == 24


def test_the_store_and_its_side_files_are_private_whatever_the_umask(ledger: Path) -> None:
    result = coachledger(ledger, "progress", "ana-lopez", umask=0o000)
    assert result.returncode == 0, result.stderr
    files = [p for p in ledger.parent.iterdir() if p.name.startswith("ledger.sqlite")]
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_file_that_is_not_a_ledger_gives_one_error_line(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("these are my session notes, not a database\n" * 100)
    before = bogus.read_bytes()
    for args in (("client", "list"), ("client", "add", "bo", "--name", "Bo")):
        result = coachledger(bogus, *args)
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
        assert "Traceback" not in result.stderr
    assert bogus.read_bytes() == before


def test_reading_a_missing_store_says_where_it_looked(tmp_path: Path) -> None:
    result = coachledger(tmp_path / "nowhere.sqlite", "client", "list")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: no ledger at ")
    assert not (tmp_path / "nowhere.sqlite").exists()


def test_store_urls_in_sqlalchemy_form_name_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Cli("sqlite:///rel.sqlite").run("client", "add", "bo", "--name", "Bo")
    assert (tmp_path / "rel.sqlite").exists()
    assert Cli(str(tmp_path / "rel.sqlite")).json("client", "list")["clients"][0]["client"] == "bo"
    Cli(f"sqlite:///{tmp_path}/abs.sqlite").run("client", "add", "cy", "--name", "Cy")
    assert (tmp_path / "abs.sqlite").exists()


def test_the_default_store_follows_xdg_data_home(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    env.pop("COACHLEDGER_STORE", None)
    result = subprocess.run(
        [sys.executable, "-m", "coachledger", "client", "add", "bo", "--name", "Bo"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "xdg" / "coachledger" / "ledger.sqlite").exists()


def test_preparing_an_existing_store_keeps_the_locks_of_the_processs_connections(tmp_path: Path) -> None:
    """A long-lived process (coachledger serve) reads before its first write opens the write side.

    Closing any descriptor of a SQLite file drops every POSIX lock the process holds on it; had
    ``prepare_file`` opened the existing file, another process's last close would then delete
    the write-ahead log under the live connection, and its writes would be lost.
    """
    path = tmp_path / "ledger.sqlite"
    conn = connect(path, must_exist=False)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    prepare_file(path)
    count = "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM t').fetchone()[0])"
    assert subprocess.run([sys.executable, "-c", count, str(path)], capture_output=True, text=True).stdout == "1\n"
    conn.execute("INSERT INTO t VALUES (2)")
    assert subprocess.run([sys.executable, "-c", count, str(path)], capture_output=True, text=True).stdout == "2\n"
    conn.close()
