"""Every refusal through the CLI: exit 1, one ``Error:`` line on stderr, and nothing written.

"Nothing written" is checked on the store itself: a dump of ``stored_events``,
``event_index`` and ``stored_snapshots`` is byte-for-byte the same before and after.
Usage errors (Click's own) exit 2 and write nothing either.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from freezegun import freeze_time

from coachledger.adapters import codec

if TYPE_CHECKING:
    from conftest import Cli

# Build every event schema now: under freezegun, `datetime` in the domain's type hints is FakeDatetime.
list(codec.SCHEMAS.values())

TABLES = {
    "stored_events": {
        "sqlite": "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid",
        "postgres": "SELECT notification_id, originator_id, originator_version, topic, state "
        "FROM stored_events ORDER BY notification_id",
    },
    "event_index": {
        "sqlite": "SELECT seq, originator_id, originator_version, recorded_at, seal FROM event_index ORDER BY seq",
        "postgres": "SELECT seq, originator_id, originator_version, recorded_at, seal FROM event_index ORDER BY seq",
    },
    "stored_snapshots": {
        "sqlite": "SELECT originator_id, originator_version, topic, state FROM stored_snapshots "
        "ORDER BY originator_id, originator_version",
        "postgres": "SELECT originator_id, originator_version, topic, state FROM stored_snapshots "
        "ORDER BY originator_id, originator_version",
    },
}


def dump(store: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row of the event store, as bytes and text."""
    if store.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store) as conn:
            return {
                t: [
                    tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
                    for r in conn.execute(q["postgres"])
                ]
                for t, q in TABLES.items()
            }
    lite = sqlite3.connect(store)
    try:
        return {t: lite.execute(q["sqlite"]).fetchall() for t, q in TABLES.items()}
    finally:
        lite.close()


SAT = (
    "--name", "Job satisfaction", "--category", "job-satisfaction", "--unit", "points",
    "--direction", "increase", "--target", "8", "--due", "2026-12-31", "--scale", "1..10",
)  # fmt: skip


@pytest.fixture
def ledger(cli: Cli, store: str) -> Iterator[Cli]:
    """A client with a goal, a KPI with baseline and measurements (m2 retracted), a retired KPI,
    a celebrated milestone, and a second client who was forgotten on request."""
    with freeze_time("2026-01-05T10:00:00Z", ignore=["psycopg"]):
        cli.run("client", "add", "ana", "--name", "Ana López")
        cli.run("goal", "add", "ana", "lead-team", "--text", "Lead a team")
        cli.run("kpi", "define", "ana", "sat", *SAT, "--goal", "lead-team")
        cli.run("kpi", "baseline", "ana", "sat", "5", "--at", "2026-01-01")
        cli.run("measure", "record", "ana", "sat", "6")
        cli.run("measure", "record", "ana", "sat", "7")
        cli.run("measure", "retract", "ana", "m2", "--reason", "Wrong client")
        cli.run("kpi", "define", "ana", "old", *SAT)
        cli.run("kpi", "retire", "ana", "old", "--reason", "No longer relevant")
        cli.run("milestone", "celebrate", "ana", "sat")
        cli.run("client", "add", "bo", "--name", "Bo Berg")
        cli.run("kpi", "define", "bo", "sat", *SAT)
        forget(store, "bo")
        cli.run("progress", "ana")  # the views exist and are current
        yield cli


def forget(store: str, slug: str) -> None:
    from coachledger.services.bootstrap import open_ledger
    from coachledger.settings import Settings

    ledger = open_ledger(Settings.from_values(store, "maria"))
    try:
        ledger.forget(slug)
    finally:
        ledger.close()


REFUSALS: dict[str, tuple[list[str], str]] = {
    "duplicate client": (["client", "add", "ana", "--name", "Ana"], "client 'ana' already exists"),
    "duplicate goal": (
        ["goal", "add", "ana", "lead-team", "--text", "Again"],
        "goal 'lead-team' already exists",
    ),
    "duplicate KPI": (["kpi", "define", "ana", "sat", *SAT], "KPI 'sat' already exists"),
    "client id not a slug": (["client", "add", "Ana Lopez", "--name", "Ana"], "client id 'Ana Lopez'"),
    "empty client name": (["client", "add", "cy", "--name", "  "], "name must not be empty"),
    "unknown client": (["measure", "record", "nobody", "sat", "5"], "unknown client 'nobody'"),
    "unknown KPI": (["measure", "record", "ana", "salary", "5"], "unknown KPI 'salary'"),
    "KPI for an unknown goal": (
        ["kpi", "define", "ana", "new", *SAT, "--goal", "nope"],
        "unknown goal 'nope'",
    ),
    "measurement outside the scale": (["measure", "record", "ana", "sat", "11"], "value 11 is outside"),
    "re-baseline outside the scale": (
        ["kpi", "baseline", "ana", "sat", "0", "--reason", "New survey"],
        "value 0 is outside the KPI's scale 1..10",
    ),
    "correction outside the scale": (
        ["measure", "correct", "ana", "m1", "12", "--reason", "Typo"],
        "value 12 is outside",
    ),
    "measurement on a retired KPI": (["measure", "record", "ana", "old", "5"], "KPI 'old' is retired"),
    "retiring a retired KPI": (["kpi", "retire", "ana", "old", "--reason", "Again"], "is retired"),
    "adjustment with a blank reason": (
        ["kpi", "adjust", "ana", "sat", "--target", "9", "--reason", "  "],
        "needs a reason",
    ),
    "adjustment that changes nothing": (
        ["kpi", "adjust", "ana", "sat", "--reason", "Why"],
        "at least one field",
    ),
    "factor of zero": (["kpi", "adjust", "ana", "sat", "--factor", "0", "--reason", "Why"], "positive"),
    "target outside the scale at definition": (
        ["kpi", "define", "ana", "new", *SAT[:-2], "--scale", "1..5"],
        "target 8 is outside the KPI's scale 1..5",
    ),
    "adjusted target outside the scale": (
        ["kpi", "adjust", "ana", "sat", "--target", "12", "--reason", "Stretch"],
        "target 12 is outside",
    ),
    "due before the definition": (
        ["kpi", "define", "ana", "new", *SAT[:-4], "--due", "2026-01-01"],
        "must be after the definition date",
    ),
    "adjusted due before the definition": (
        ["kpi", "adjust", "ana", "sat", "--due", "2025-06-01", "--reason", "Earlier"],
        "must be after the KPI's definition date",
    ),
    "re-baseline without a reason": (["kpi", "baseline", "ana", "sat", "4"], "already has a baseline"),
    "correction of a retracted measurement": (
        ["measure", "correct", "ana", "m2", "5", "--reason", "Typo"],
        "measurement 'm2' was retracted",
    ),
    "retraction of a retracted measurement": (
        ["measure", "retract", "ana", "m2", "--reason", "Again"],
        "measurement 'm2' was retracted",
    ),
    "correction of an unknown measurement": (
        ["measure", "correct", "ana", "m9", "5", "--reason", "Typo"],
        "unknown measurement 'm9'",
    ),
    "milestone twice": (["milestone", "celebrate", "ana", "sat"], "already celebrated"),
    "milestone of something unknown": (["milestone", "celebrate", "ana", "nope"], "neither a KPI nor a goal"),
    "feedback about an unknown KPI": (
        ["feedback", "add", "ana", "--rating", "4", "--about", "kpi:nope"],
        "unknown KPI 'nope'",
    ),
    "feedback about an unknown topic": (
        ["feedback", "add", "ana", "--rating", "4", "--about", "x"],
        "about must be",
    ),
    "session about an unknown KPI": (
        ["session", "log", "ana", "--notes", "Talk", "--kpi", "nope"],
        "unknown KPI",
    ),
    "forgotten client: measurement": (["measure", "record", "bo", "sat", "5"], "forgotten"),
    "forgotten client: goal": (["goal", "add", "bo", "g", "--text", "Anything"], "forgotten"),
    "forgotten client: feedback": (["feedback", "add", "bo", "--rating", "5"], "forgotten"),
    "forgotten client: KPI": (["kpi", "define", "bo", "new", *SAT], "forgotten"),
    "progress of an unknown client": (["progress", "nobody"], "unknown client 'nobody'"),
    "history of an unknown KPI": (["history", "ana", "nope"], "unknown KPI 'nope'"),
    "KPIs of an unknown client": (["kpi", "list", "nobody"], "unknown client 'nobody'"),
    "timeline of an unknown client": (["timeline", "nobody", "--json"], "unknown client 'nobody'"),
}


def test_every_refusal_exits_1_with_one_error_line_and_writes_nothing(
    ledger: Cli, store: str, subtests: pytest.Subtests
) -> None:
    timeline = ledger.json("timeline", "ana")
    for name, (args, message) in REFUSALS.items():
        with subtests.test(msg=name):
            before = dump(store)
            with freeze_time("2026-01-06T10:00:00Z", ignore=["psycopg"]):
                result = ledger.run(*args, ok=False)
            assert result.exit_code == 1, result.output
            lines = result.stderr.splitlines()
            assert len(lines) == 1, result.stderr
            assert lines[0].startswith("Error: ")
            assert message in lines[0]
            assert result.stdout == ""
            assert dump(store) == before
    assert ledger.json("timeline", "ana") == timeline
    item = ledger.json("progress", "ana", "--as-of", "2026-02-01")["kpis"][0]
    assert (item["kpi"], item["baseline"], item["current"], item["measurements"]) == ("sat", 5, 6, 1)


USAGE_ERRORS: dict[str, list[str]] = {
    "rating above 5": ["feedback", "add", "ana", "--rating", "6"],
    "rating below 1": ["feedback", "add", "ana", "--rating", "0"],
    "adjustment without --reason": ["kpi", "adjust", "ana", "sat", "--target", "9"],
    "retirement without --reason": ["kpi", "retire", "ana", "sat"],
    "correction without --reason": ["measure", "correct", "ana", "m1", "6"],
    "value that is not a number": ["measure", "record", "ana", "sat", "seven"],
    "value that is not finite": ["measure", "record", "ana", "sat", "NaN"],
    "date that is not a date": ["measure", "record", "ana", "sat", "6", "--at", "2026-13-01"],
    "scale that is not a scale": ["kpi", "adjust", "ana", "sat", "--scale", "10", "--reason", "x"],
    "rescale without a scale": ["kpi", "adjust", "ana", "sat", "--rescale", "--target", "9", "--reason", "x"],
    "unknown category": ["kpi", "define", "ana", "new", *SAT[:3], "hobby", *SAT[4:]],
    "unknown source": ["measure", "record", "ana", "sat", "6", "--source", "rumour"],
    "missing value": ["measure", "record", "ana", "sat"],
    "check of nobody": ["check"],
    "check of a client and all": ["check", "ana", "--all"],
    "known-at that is not a time": ["progress", "ana", "--known-at", "yesterday"],
    "unknown command": ["promote", "ana"],
}


def test_every_usage_error_exits_2_and_writes_nothing(
    ledger: Cli, store: str, subtests: pytest.Subtests
) -> None:
    for name, args in USAGE_ERRORS.items():
        with subtests.test(msg=name):
            before = dump(store)
            result = ledger.run(*args, ok=False)
            assert result.exit_code == 2, result.output
            assert "Error:" in result.stderr
            assert "Traceback" not in result.output
            assert result.stdout == ""
            assert dump(store) == before
