"""The trust commands as a coach types them: verify, anchor, forget."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from conftest import Cli


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    return Cli(str(tmp_path / "ledger.sqlite"))


def a_client(cli: Cli, slug: str = "ana-lopez") -> None:
    cli.run("client", "add", slug, "--name", "Ana López")
    cli.run("goal", "add", slug, "promotion", "--text", "Team lead within a year")


@pytest.mark.parametrize("command", ["verify", "anchor", "forget"])
def test_every_trust_command_has_help_with_an_example(sqlite_cli: Cli, command: str) -> None:
    result = sqlite_cli.run(command, "--help")
    assert "Example:" in result.stdout and f"coachledger {command}" in result.stdout


def test_verify_json_has_the_contract_keys(cli: Cli) -> None:
    a_client(cli)
    doc = cli.json("verify")
    assert set(doc) >= {"ok", "events", "head", "first_bad"}
    assert doc["ok"] is True and doc["events"] == 2 and doc["first_bad"] is None
    assert len(bytes.fromhex(doc["head"])) == 32


def test_verify_prints_one_summary_line_with_count_and_head(cli: Cli) -> None:
    a_client(cli)
    result = cli.run("verify")
    assert result.stdout.count("\n") == 1 and "2 events" in result.stdout
    assert cli.json("verify")["head"] in result.stdout


def test_a_failed_verify_prints_json_and_one_error_line(sqlite_cli: Cli) -> None:
    a_client(sqlite_cli)
    conn = sqlite3.connect(sqlite_cli.store)
    (state,) = conn.execute("SELECT state FROM stored_events WHERE rowid = 2").fetchone()
    conn.execute("UPDATE stored_events SET state = ? WHERE rowid = 2", (state + b" ",))
    conn.commit()
    conn.close()
    sqlite_cli.run("client", "list")  # the views name the client
    result = sqlite_cli.run("verify", "--json", ok=False)
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["ok"] is False and doc["events"] == 1
    assert {k: doc["first_bad"][k] for k in ("client", "seq")} == {"client": "ana-lopez", "seq": 2}
    assert result.stderr == f"Error: client 'ana-lopez', seq 2: {doc['first_bad']['reason']}\n"
    plain = sqlite_cli.run("verify", ok=False)
    assert plain.exit_code == 1 and plain.stdout == "" and plain.stderr == result.stderr


def test_verify_of_a_missing_store_is_one_error_line(tmp_path: Path) -> None:
    result = Cli(str(tmp_path / "none.sqlite")).run("verify", ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("Error: no ledger at ")
    assert not (tmp_path / "none.sqlite").exists()


def test_an_empty_ledger_verifies_and_anchors(sqlite_cli: Cli) -> None:
    sqlite_cli.run("init")
    assert sqlite_cli.json("verify") == {"ok": True, "events": 0, "head": "00" * 32, "first_bad": None}
    assert json.loads(sqlite_cli.out("anchor"))["events"] == 0


def test_a_file_that_is_not_an_anchor_is_refused(sqlite_cli: Cli, tmp_path: Path) -> None:
    a_client(sqlite_cli)
    for content in ("not json", '{"events": 2}', '{"events": 2, "head": "zz"}', '{"events": -1, "head": ""}'):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        result = sqlite_cli.run("verify", "--anchor", str(bad), ok=False)
        assert result.exit_code == 1, content
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "anchor" in result.stderr
    missing = sqlite_cli.run("verify", "--anchor", str(tmp_path / "nowhere.json"), ok=False)
    assert missing.exit_code == 2


def test_anchor_out_then_verify_against_it(cli: Cli, tmp_path: Path) -> None:
    a_client(cli)
    out = tmp_path / "anchor.json"
    line = cli.out("anchor", "--out", str(out))
    doc = json.loads(out.read_text())
    assert doc["head"] in line and doc["events"] == 2
    assert cli.json("anchor", "--out", str(out))["head"] == doc["head"]
    assert "Anchor of 2 events" in cli.out("verify", "--anchor", str(out))


def test_anchor_into_a_missing_folder_is_one_error_line(sqlite_cli: Cli, tmp_path: Path) -> None:
    a_client(sqlite_cli)
    result = sqlite_cli.run("anchor", "--out", str(tmp_path / "no" / "such" / "anchor.json"), ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("Error: cannot write the anchor")


def test_forget_without_yes_is_a_refusal_that_changes_nothing(sqlite_cli: Cli) -> None:
    a_client(sqlite_cli)
    before = sqlite_cli.json("verify")
    result = sqlite_cli.run("forget", "ana-lopez", ok=False)
    assert result.exit_code == 1 and "--yes" in result.stderr  # issue 14: a refusal, as the README says
    assert sqlite_cli.json("verify") == before


def test_forget_of_an_unknown_client_is_refused(cli: Cli) -> None:
    a_client(cli)
    result = cli.run("forget", "nobody", "--yes", ok=False)
    assert result.exit_code == 1 and result.stderr == "Error: unknown client 'nobody'\n"
    assert cli.json("verify")["events"] == 2


def test_forget_a_client_twice_is_refused_the_second_time(cli: Cli) -> None:
    cli.run("init", "--encrypt")
    a_client(cli)
    cli.run("forget", "ana-lopez", "--yes")
    result = cli.run("forget", "ana-lopez", "--yes", ok=False)
    assert result.exit_code == 1 and "already forgotten" in result.stderr
    doc = cli.json("verify")
    assert doc["ok"] is True and doc["events"] == 3
