"""What verify finds beyond the chain: bad snapshots, a damaged store file, edited views.

Each is tampering the chain of events does not show (the events are intact); verify
names it on one 'Error:' line and exits 1, on both stores where it applies.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

from conftest import Cli

SCALE_KPI = (
    "kpi", "define", "ana", "sat", "--name", "Satisfaction", "--category", "job-satisfaction",
    "--unit", "points", "--direction", "increase", "--target", "4", "--due", "2030-12-31",
    "--scale", "1..5",
)  # fmt: skip


def tamper(store: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Change the store behind the ledger's back."""
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store, autocommit=True) as conn:
            cur = conn.execute(statement.replace("?", "%s"), params)  # type: ignore[arg-type]
            return [tuple(r) for r in cur.fetchall()] if cur.description else []
    lite = sqlite3.connect(store, isolation_level=None)
    try:
        return lite.execute(statement, params).fetchall()
    finally:
        lite.close()


def verify(cli: Cli, *args: str) -> tuple[int, dict[str, Any], str]:
    result = cli.run("verify", *args, "--json", ok=False)
    return result.exit_code, json.loads(result.stdout), result.stderr


def measured_client(cli: Cli, tmp_path: Path, rows: int = 150) -> None:
    """A client with enough events for a snapshot, the views caught up."""
    lines = ["kpi,value,date"] + [f"sat,3,2026-01-{1 + i % 28:02d}T10:{i % 60:02d}:00Z" for i in range(rows)]
    csv = tmp_path / "m.csv"
    csv.write_text("\n".join(lines) + "\n")
    cli.run("client", "add", "ana", "--name", "Ana", "--coach", "maria")
    cli.run(*SCALE_KPI)
    cli.run("measure", "import", "ana", str(csv))
    cli.run("client", "list")


# -- snapshots -----------------------------------------------------------------------------------


def test_verify_names_a_bad_snapshot_and_exits_1(cli: Cli, store: str, tmp_path: Path) -> None:
    measured_client(cli, tmp_path)
    assert verify(cli)[0] == 0
    ((version, state),) = tamper(store, "SELECT originator_version, state FROM stored_snapshots")
    state = bytes(state)
    tamper(store, "UPDATE stored_snapshots SET state = ?", (state.replace(b'"1","5"', b'"1","9"'),))

    code, doc, err = verify(cli)
    assert code == 1 and doc["ok"] is False and doc["first_bad"] is None
    assert [(b["client"], b["version"]) for b in doc["bad_snapshots"]] == [("ana", version)]
    assert err.count("\n") == 1 and err.startswith(f"Error: client 'ana', snapshot at version {version}: ")
    assert "never used" in err
    plain = cli.run("verify", ok=False)
    assert plain.exit_code == 1 and plain.stdout == "" and plain.stderr == err

    cli.run("measure", "record", "ana", "sat", "4")  # the next write replaces it
    assert verify(cli)[0] == 0


# -- the store file: SQLite's own check -----------------------------------------------------------


def test_verify_reports_a_damaged_index_page_that_the_chain_does_not_read(tmp_path: Path) -> None:
    cli = Cli(str(tmp_path / "ledger.sqlite"))
    measured_client(cli, tmp_path, rows=400)
    conn = sqlite3.connect(cli.store)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = [
        r
        for (r,) in conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'stored_events'"
        )
    ]
    conn.close()
    assert pages
    with open(cli.store, "r+b") as f:  # random bytes over the index's root page, past its header
        f.seek((pages[0] - 1) * page_size + 8)
        f.write(os.urandom(page_size - 8))

    code, doc, err = verify(cli)
    assert code == 1 and doc["ok"] is False and doc["damage"], doc
    assert "Error: the store is damaged: SQLite's own check (quick_check) reports: " in err
    assert all(line.startswith("Error: ") for line in err.splitlines()), err


# -- views ---------------------------------------------------------------------------------------


def test_verify_views_passes_on_an_intact_store_and_changes_nothing(cli: Cli, store: str) -> None:
    cli.run("init", "--encrypt")
    for slug in ("ana", "bo"):
        cli.run("client", "add", slug, "--name", slug.title())
        cli.run("goal", "add", slug, "lead", "--text", "Lead a team")
        cli.run("feedback", "add", slug, "--rating", "4", "--comment", "fine")
    cli.run("forget", "bo", "--yes")
    before = cli.out("client", "list")
    counts = tamper(store, "SELECT count(*) FROM clients")
    result = cli.run("verify", "--views")
    assert result.stdout.count("\n") == 1 and "Views match the events (" in result.stdout
    doc = cli.json("verify", "--views")
    assert doc["ok"] is True and doc["views"]["ok"] is True and doc["views"]["first_difference"] is None
    assert "views" not in cli.json("verify")  # only checked when asked
    assert cli.out("client", "list") == before and tamper(store, "SELECT count(*) FROM clients") == counts


def test_verify_views_names_the_view_and_client_of_an_edited_row(cli: Cli, store: str) -> None:
    cli.run("client", "add", "ana", "--name", "Ana", "--coach", "maria")
    cli.run("client", "add", "bo", "--name", "Bo", "--coach", "maria")
    cli.run(*SCALE_KPI)
    cli.run("measure", "record", "ana", "sat", "3")
    assert "60" not in cli.out("progress", "ana")
    tamper(store, "UPDATE measurements SET value = '4.5'")  # progress now prints what no event says
    assert verify(cli)[0] == 0  # the chain of events is intact

    code, doc, err = verify(cli, "--views")
    assert code == 1 and doc["ok"] is False and doc["first_bad"] is None
    diff = doc["views"]["first_difference"]
    assert (diff["view"], diff["client"]) == ("measurements", "ana") and "4.5" in diff["live"]
    assert err.count("\n") == 1
    assert err.startswith("Error: view 'measurements', client 'ana': ") and "projections rebuild" in err

    cli.run("projections", "rebuild")
    assert verify(cli, "--views")[0] == 0


def test_verify_views_finds_a_deleted_and_an_inserted_view_row(cli: Cli, store: str) -> None:
    cli.run("client", "add", "ana", "--name", "Ana", "--coach", "maria")
    cli.run("goal", "add", "ana", "lead", "--text", "Lead a team")
    cli.run("client", "list")
    tamper(store, "DELETE FROM goals")
    code, doc, err = verify(cli, "--views")
    diff = doc["views"]["first_difference"]
    assert code == 1 and (diff["view"], diff["client"], diff["live"]) == ("goals", "ana", None)
    assert "missing" in err
    cli.run("projections", "rebuild")
    tamper(store, "INSERT INTO clients VALUES ('ff', 'ghost', 'Ghost', NULL, '2026-01-01', 99)")
    code, doc, err = verify(cli, "--views")
    diff = doc["views"]["first_difference"]
    assert code == 1 and (diff["view"], diff["client"], diff["rebuilt"]) == ("clients", "ff", None)


# -- the report's receipt covers what the report shows -------------------------------------------


def test_the_report_receipt_covers_its_figures(cli: Cli, store: str) -> None:
    import hashlib

    cli.run("client", "add", "ana", "--name", "Ana", "--coach", "maria")
    cli.run(*SCALE_KPI)
    cli.run("measure", "record", "ana", "sat", "3")
    honest = _report(cli)
    shown = {
        k: v
        for k, v in honest.items()
        if k not in ("generator", "generated_at", "known_at", "receipt", "content_digest")
    }
    text = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert honest["content_digest"] == hashlib.sha256(text.encode()).hexdigest()
    assert honest["content_digest"] in _report(cli, "--format", "md", "--as-of", honest["as_of"])

    tamper(store, "UPDATE measurements SET value = '4.5'")
    again = ("--as-of", honest["as_of"], "--known-at", honest["receipt"]["recorded_at"])
    edited = _report(cli, *again)
    assert edited["receipt"] == honest["receipt"]  # the same ledger: the chain cannot tell
    assert edited["content_digest"] != honest["content_digest"]  # but what it shows is not covered
    cli.run("projections", "rebuild")
    assert _report(cli, *again)["content_digest"] == honest["content_digest"]


def _report(cli: Cli, *args: str) -> Any:
    out = cli.out("report", "ana", *(args if "--format" in args else ("--format", "json", *args)))
    return out if "--format" in args else json.loads(out)
