"""Ledgers written before the coaching loop existed still load and read the same.

The fixtures were made by coachledger 0.1.0 itself (``tests/fixtures/make_ledger_v0_1_0.py``):
a store of three clients and two coaches, every event 0.1.0 knew, recorded January to June
2026, as SQL text (its events, seals and 0.1.0's own views); its export; and what 0.1.0's
reads answered (``--json``). Its KPIs have no cadence or weight and its check-ins no
confidence: they read as monthly, with a weight of 1 and no confidence, and every number
0.1.0 showed is shown again. Later versions add keys; none of 0.1.0's changes (but one, on
purpose: a retired KPI's status is 'retired' in JSON too, since issue 14).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from coachledger.adapters import codec
from conftest import Cli

# Build every event schema now: under freezegun, `datetime` in the domain's type hints is FakeDatetime.
list(codec.SCHEMAS.values())
import coachledger.services.transfer.schema  # noqa: E402, F401 - its line types too, before any clock is frozen

with contextlib.suppress(ImportError):  # the driver's C extension, loaded before any clock is frozen
    import psycopg  # noqa: F401

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
READ_AT = "2026-06-20T12:00:00Z"  # "now" for the reads that take no date, as 0.1.0 answered them
EVENTS = 55
AS_OF = "2026-06-15"
SLUGS = ("ana-lopez", "ben-okafor", "cleo-berg")



@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    """Every test at the moment 0.1.0's reads were made (the PostgreSQL pool keeps real time)."""
    with freeze_time(READ_AT, ignore=["psycopg"]):
        yield


def old_reads() -> list[tuple[list[str], Any]]:
    lines = (FIXTURES / "ledger-v0.1.0-reads.jsonl").read_text("utf-8").splitlines()
    return [(line["read"], line["json"]) for line in map(json.loads, lines)]


def restore(path: Path, fixture: str = "ledger-v0.1.0.sql") -> Path:
    """The 0.1.0 store, as a SQLite file again."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript((FIXTURES / fixture).read_text("utf-8"))
    finally:
        conn.close()
    path.chmod(0o600)
    return path


@pytest.fixture
def old(tmp_path: Path) -> Cli:
    return Cli(str(restore(tmp_path / "ledger.sqlite")))


def said_again(old: Any, new: Any, where: str = "$") -> list[str]:
    """Where ``new`` does not say what ``old`` said: every key of ``old`` with the same value
    (more keys in ``new`` are fine: later versions add them), lists item by item."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return [f"{where}: {new!r} instead of an object"]
        out = []
        for key, value in old.items():
            if key not in new:
                out.append(f"{where}.{key}: missing")
            elif key == "status" and new[key] == "retired" and new.get("retired") is True:
                continue  # issue 14: a retired KPI's status is 'retired' everywhere (0.1.0: in tables only)
            else:
                out += said_again(value, new[key], f"{where}.{key}")
        return out
    if isinstance(old, list):
        if not isinstance(new, list) or len(new) != len(old):
            return [f"{where}: {len(new) if isinstance(new, list) else new!r} items instead of {len(old)}"]
        return [problem for i, (a, b) in enumerate(zip(old, new, strict=True)) for problem in said_again(a, b, f"{where}[{i}]")]
    return [] if old == new else [f"{where}: {new!r} instead of {old!r}"]


def read(cli: Cli, args: list[str]) -> Any:
    result = cli.run(*args, "--json", ok=False)
    assert result.exit_code in (0, 1) and not result.stderr, (args, result.output)  # check: 1 on findings
    return json.loads(result.stdout)


# -- the store file 0.1.0 wrote -------------------------------------------------------------------


def test_a_store_written_by_0_1_0_verifies_and_every_read_says_what_0_1_0_said(old: Cli) -> None:
    assert old.out("verify").startswith(f"Ledger intact: {EVENTS} events verified")
    problems = {}
    for args, before in old_reads():
        now = read(old, args)
        if args[0] == "report":  # made now, by this version, over this ledger's receipt
            for key in ("generator", "generated_at", "report_version"):
                before.pop(key), now.pop(key)
        found = said_again(before, now)
        if found:
            problems[" ".join(args)] = found
    assert not problems, json.dumps(problems, indent=1, ensure_ascii=False)


def test_kpis_of_0_1_0_are_monthly_with_weight_one_and_no_confidence(old: Cli) -> None:
    for slug in SLUGS:
        for kpi in old.json("kpi", "list", slug)["kpis"]:
            assert (kpi["cadence"], kpi["weight"]) == ("monthly", 1), (slug, kpi["kpi"])
            first = old.json("history", slug, kpi["kpi"])["versions"][0]["definition"]
            assert (first["cadence"], first["weight"]) == ("monthly", 1)
        progress = old.json("progress", slug, "--as-of", AS_OF)
        assert progress["confidence"] == []
        agenda = old.json("agenda", slug, "--as-of", AS_OF)
        assert agenda["confidence_drops"] == [] and agenda["follow_up"] == []
        assert all(m["cadence"] == "monthly" for m in agenda["measurements_due"])
        # Sessions of 0.1.0 keep their agreed actions as they were: none to follow up.
        assert old.json("action", "list", slug, "--all")["actions"] == []
    timeline = old.json("timeline", "ana-lopez")["events"]
    assert "measured" not in " ".join(e["summary"] for e in timeline if e["type"] == "KpiDefined")


def test_due_of_a_0_1_0_ledger_is_30_days_after_the_last_measurement(old: Cli) -> None:
    # Ana's satisfaction was last measured on 2026-04-06 (09:05), her overtime and salary on
    # 2026-05-04; Ben's network on 2026-04-01; everything else of theirs is newer than 30 days.
    due = old.json("due", "--as-of", AS_OF)
    assert [(i["client"], i["kpi"], i["cadence"], i["last_measured"][:10], i["due"], i["days_late"])
            for i in due["items"]] == [
        ("ben-okafor", "network", "monthly", "2026-04-01", "2026-05-01", 45),
        ("ana-lopez", "satisfaction", "monthly", "2026-04-06", "2026-05-06", 40),
        ("ana-lopez", "overtime", "monthly", "2026-05-04", "2026-06-03", 12),
        ("ana-lopez", "salary", "monthly", "2026-05-04", "2026-06-03", 12),
    ]  # fmt: skip
    assert due["next_sessions"] == []
    # The agenda's "Measure" list and check's overdue rule use the same 30 days (as 0.1.0 did).
    agenda = old.json("agenda", "ana-lopez", "--as-of", AS_OF)
    assert [m["kpi"] for m in agenda["measurements_due"]] == ["satisfaction", "salary", "overtime"]


def test_goals_of_0_1_0_roll_up_with_equal_weights(old: Cli) -> None:
    progress = {k["kpi"]: k["progress_pct"] for k in old.json("progress", "ana-lopez", "--as-of", AS_OF)["kpis"]}
    goals = {g["goal"]: g for g in old.json("goal", "list", "ana-lopez", "--as-of", AS_OF)["goals"]}
    assert goals["lead-team"]["kpis"] == ["salary", "reports"]
    assert goals["lead-team"]["progress_pct"] == round((progress["salary"] + progress["reports"]) / 2, 1)
    assert goals["balance"]["progress_pct"] == round((progress["satisfaction"] + progress["overtime"]) / 2, 1)
    # No lifecycle yet: every goal open; a goal celebrated as a milestone counts as achieved in
    # the portfolio (how 0.1.0 ledgers recorded a reached goal).
    assert {g["status"] for g in goals.values()} == {"open"}
    portfolio = old.json("portfolio", "--as-of", AS_OF)
    assert (portfolio["goals_achieved"], portfolio["goals_open"], portfolio["goals_abandoned"]) == (2, 2, 0)


def test_a_0_1_0_ledger_takes_the_loops_new_events(old: Cli) -> None:
    old.run("measure", "record", "ana-lopez", "overtime", "5", "--confidence", "7")
    old.run("kpi", "adjust", "ana-lopez", "overtime", "--cadence", "weekly", "--weight", "2", "--reason", "closer")
    old.run("action", "add", "ana-lopez", "Book the 1:1", "--due", "2030-01-31")
    old.run("goal", "achieve", "ana-lopez", "balance", "--note", "Evenings free")
    old.run("session", "retract", "ana-lopez", "s1", "--reason", "logged for the wrong day")

    assert old.out("verify").startswith(f"Ledger intact: {EVENTS + 5} events verified")
    kpis = {k["kpi"]: k for k in old.json("kpi", "list", "ana-lopez")["kpis"]}
    assert (kpis["overtime"]["cadence"], kpis["overtime"]["weight"]) == ("weekly", 2)
    assert old.json("progress", "ana-lopez")["confidence"][0]["confidence"] == 7
    goals = {g["goal"]: g["status"] for g in old.json("goal", "list", "ana-lopez")["goals"]}
    assert goals == {"lead-team": "open", "balance": "achieved"}


def test_a_client_snapshotted_by_0_1_0_takes_new_events_after_its_snapshot(tmp_path: Path) -> None:
    """0.1.0 kept a snapshot of Dan at version 100 (of 123): a write loads it, then the rest."""
    dan = Cli(str(restore(tmp_path / "snapshot.sqlite", "ledger-v0.1.0-snapshot.sql")))
    with sqlite3.connect(dan.store) as conn:
        assert conn.execute("SELECT originator_version FROM stored_snapshots").fetchall() == [(100,)]

    assert dan.out("measure", "record", "dan-weber", "stress", "3", "--confidence", "8") == "m121"
    assert dan.out("action", "add", "dan-weber", "Keep the Friday walk", "--kpi", "stress") == "a1"
    dan.run("session", "log", "dan-weber", "--notes", "Weekly review", "--action", "Sleep by eleven")
    dan.run("session", "retract", "dan-weber", "s1", "--reason", "held next week")
    dan.run("kpi", "adjust", "dan-weber", "stress", "--cadence", "weekly", "--reason", "weekly check-ins")

    assert dan.out("verify").startswith("Ledger intact: 129 events verified")
    stress = dan.json("progress", "dan-weber")["kpis"][0]
    assert (stress["current"], stress["measurements"], stress["status"]) == (3, 121, "achieved")
    assert [a["action"] for a in dan.json("action", "list", "dan-weber")["actions"]] == ["a1", "a2"]
    assert dan.json("kpi", "list", "dan-weber")["kpis"][0]["cadence"] == "weekly"


# -- its export, on every store -------------------------------------------------------------------


def test_the_export_of_0_1_0_imports_on_every_store_and_reads_the_same(store: str, tmp_path: Path) -> None:
    target = Cli(store)
    assert target.out("import", str(FIXTURES / "export-v0.1.0.jsonl")) == f"Imported {EVENTS} events for 3 clients."
    restored = Cli(str(restore(tmp_path / "old.sqlite")))
    reads = [args for args, _ in old_reads() if args[0] != "report"]
    reads += [["goal", "list", slug, "--as-of", AS_OF] for slug in SLUGS] + [["due", "--as-of", AS_OF]]
    for args in reads:
        assert read(target, args) == read(restored, args), args
    again = [json.loads(line) for line in target.run("export").stdout.splitlines()]
    lines = [json.loads(line) for line in (FIXTURES / "export-v0.1.0.jsonl").read_text("utf-8").splitlines()]
    assert [line["recorded_at"] for line in again[1:]] == [line["recorded_at"] for line in lines[1:]]
    for before, after in zip(lines[1:], again[1:], strict=True):
        assert said_again(before["data"], after["data"]) == [], before["seq"]  # defaults added, nothing changed
    defined = [line["data"] for line in again[1:] if line["type"] == "KpiDefined"]
    assert {(d["cadence"], d["weight"]) for d in defined} == {("monthly", "1")}
