"""Between sessions through the CLI, on each backend: actions agreed and followed up, and any
record fixed with a reason (shown in the timeline as old -> new, the original kept)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory

from coachledger.adapters import codec
from conftest import Cli

# Build every event schema now: under freezegun, `datetime` in the domain's type hints is FakeDatetime.
list(codec.SCHEMAS.values())


@pytest.fixture
def clock() -> Iterator[FrozenDateTimeFactory]:
    with freeze_time("2026-03-02T09:00:00Z", ignore=["psycopg"]) as frozen:
        assert isinstance(frozen, FrozenDateTimeFactory)
        yield frozen


@pytest.fixture
def ana(cli: Cli, clock: FrozenDateTimeFactory) -> Cli:
    cli.run("client", "add", "ana", "--name", "Ana López", "--coach", "maria")
    cli.run(
        "kpi", "define", "ana", "salary", "--name", "Salary", "--category", "salary", "--unit", "EUR",
        "--direction", "increase", "--target", "85000", "--due", "2027-06-30",
    )  # fmt: skip
    cli.run("kpi", "baseline", "ana", "salary", "72000", "--at", "2026-01-01")
    clock.tick(timedelta(hours=1))
    return cli


def refused(cli: Cli, *args: str) -> str:
    result = cli.run(*args, ok=False)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")
    return result.stderr.strip()


# -- actions --------------------------------------------------------------------------------


def test_actions_agreed_in_a_session_show_in_the_agenda_until_done(
    ana: Cli, clock: FrozenDateTimeFactory
) -> None:
    out = ana.out("session", "log", "ana", "--notes", "Prep", "--action", "Draft the case", "--action", "Ask Li")
    assert out.splitlines() == [
        "Logged a session with ana.",
        "Opened action a1: Draft the case",
        "Opened action a2: Ask Li",
    ]
    assert ana.out("action", "add", "ana", "Book the review", "--due", "2026-03-10", "--kpi", "salary") == "a3"
    clock.tick(timedelta(days=10))  # 2026-03-12: a3 is overdue

    agenda = ana.json("agenda", "ana")
    assert [(a["action"], a["overdue"], a["session"]) for a in agenda["follow_up"]] == [
        ("a3", True, None),
        ("a1", False, "s1"),
        ("a2", False, "s1"),
    ]
    text = ana.out("agenda", "ana")
    assert "Follow up:\n  - a3: Book the review (due 2026-03-10, OVERDUE)\n  - a1: Draft the case" in text

    ana.run("action", "done", "ana", "a3", "--note", "Booked")
    ana.run("action", "drop", "ana", "a2", "--note", "Li left")
    assert [a["action"] for a in ana.json("agenda", "ana")["follow_up"]] == ["a1"]
    every = ana.json("action", "list", "ana", "--all")["actions"]
    assert [(a["action"], a["status"], a["note"]) for a in every] == [
        ("a1", "open", None),
        ("a2", "dropped", "Li left"),
        ("a3", "done", "Booked"),
    ]
    # As known before they were closed: all three open, a3 overdue.
    before = ana.json("action", "list", "ana", "--known-at", "2026-03-05")["actions"]
    assert [(a["action"], a["status"], a["overdue"]) for a in before] == [
        ("a3", "open", True),
        ("a1", "open", False),
        ("a2", "open", False),
    ]
    # As of a date before a3 was due: not overdue then.
    assert ana.json("action", "list", "ana", "--as-of", "2026-03-03", "--known-at", "2026-03-05")["actions"][0][
        "overdue"
    ] is False


def test_replay_and_the_report_show_the_open_actions(ana: Cli, clock: FrozenDateTimeFactory) -> None:
    ana.run("action", "add", "ana", "Update the CV", "--due", "2026-03-01")
    clock.tick(timedelta(days=1))
    ana.run("action", "done", "ana", "a1")

    steps = ana.json("replay", "ana")["steps"]
    assert [s["open_actions"] for s in steps[-2:]] == [
        [{"action": "a1", "text": "Update the CV", "due": "2026-03-01", "overdue": True}],
        [],
    ]
    assert "    follow up: a1: Update the CV (due 2026-03-01, OVERDUE)" in ana.out("replay", "ana")
    ana.run("action", "add", "ana", "Call Li")
    report = ana.out("report", "ana")
    assert "## Follow up" in report and "| a2 | Call Li |" in report
    assert [a["action"] for a in ana.json("report", "ana", "--format", "json")["follow_up"]] == ["a2"]


def test_action_refusals(ana: Cli) -> None:
    ana.run("action", "add", "ana", "Draft")
    assert refused(ana, "action", "done", "ana", "a9") == "Error: unknown action 'a9' for client 'ana' (open: a1)"
    assert refused(ana, "action", "add", "ana", "X", "--kpi", "nope") == "Error: unknown KPI 'nope' for client 'ana'"
    ana.run("action", "drop", "ana", "a1")
    assert refused(ana, "action", "done", "ana", "a1") == (
        "Error: action 'a1' is already dropped; only an open action can change"
    )
    assert refused(ana, "action", "list", "nobody").startswith("Error: ")


# -- fixing any record ----------------------------------------------------------------------


def test_a_rename_and_an_update_show_in_views_and_timeline_with_the_original(
    ana: Cli, clock: FrozenDateTimeFactory
) -> None:
    ana.run("client", "rename", "ana", "--name", "Ana López García", "--reason", "married name")
    ana.run("client", "update", "ana", "--coach", "li", "--contact", "ana@example.org", "--reason", "leave")

    assert ana.json("client", "list")["clients"][0] | {"kpis": 0, "status": ""} == {
        "client": "ana", "name": "Ana López García", "coach": "li", "kpis": 0, "status": "",
    }  # fmt: skip
    summaries = [e["summary"] for e in ana.json("timeline", "ana")["events"]]
    assert summaries[0] == "Registered Ana López (coach maria)"
    assert summaries[-2:] == [
        "Renamed client: Ana López -> Ana López García - married name",
        "Updated client: coach maria -> li, contact - -> ana@example.org - leave",
    ]
    # The report as known before the fix names the client as she was then.
    assert ana.out("report", "ana", "--known-at", "2026-03-02T09:30").startswith("# Progress report: Ana López (ana)")
    assert ana.out("report", "ana").startswith("# Progress report: Ana López García (ana)")
    assert refused(ana, "client", "rename", "ana", "--name", "Ana López García", "--reason", "x").startswith(
        "Error: client 'ana' is already named"
    )


def test_sessions_are_amended_and_retracted_by_id(ana: Cli, clock: FrozenDateTimeFactory) -> None:
    ana.run("session", "log", "ana", "--notes", "Salary tlak", "--at", "2026-03-01")
    ana.run("session", "log", "ana", "--notes", "Salary talk", "--at", "2026-03-01")
    clock.tick(timedelta(hours=1))
    ana.run("session", "amend", "ana", "s1", "--notes", "Salary talk", "--kpi", "salary", "--reason", "typo")
    ana.run("session", "retract", "ana", "s2", "--reason", "logged twice")

    sessions = ana.json("report", "ana", "--format", "json")["sessions"]
    assert [(s["session"], s["notes"], s["kpis"]) for s in sessions] == [("s1", "Salary talk", ["salary"])]
    assert sessions[0]["amended"][0]["reason"] == "typo"
    events = ana.json("timeline", "ana")["events"]
    assert [(e["data"].get("id"), e["summary"]) for e in events if "ession" in e["type"]] == [
        ("s1", "Session: Salary tlak"),
        ("s2", "Session: Salary talk"),
        (None, 'Amended session s1: notes "Salary tlak" -> "Salary talk", KPIs [] -> [salary] - typo'),
        (None, "Retracted session s2: logged twice"),
    ]
    assert "Session: Salary tlak (s1)" in ana.out("timeline", "ana")
    # Known before the fixes: both sessions, as logged.
    known = ana.json("report", "ana", "--format", "json", "--known-at", "2026-03-02T10:00")["sessions"]
    assert [(s["session"], s["notes"]) for s in known] == [("s1", "Salary tlak"), ("s2", "Salary talk")]
    assert refused(ana, "session", "retract", "ana", "s2", "--reason", "x") == "Error: session 's2' was retracted"
    assert refused(ana, "session", "amend", "ana", "s9", "--notes", "x", "--reason", "x") == (
        "Error: unknown session 's9' for client 'ana'"
    )
    assert ana.run("session", "retract", "ana", "s1", ok=False).exit_code == 2  # --reason is required


def test_feedback_and_milestones_are_retracted_and_no_longer_count(ana: Cli) -> None:
    ana.run("feedback", "add", "ana", "--rating", "1", "--comment", "for Bo")
    ana.run("feedback", "add", "ana", "--rating", "5")
    ana.run("milestone", "celebrate", "ana", "salary")
    ana.run("feedback", "retract", "ana", "f1", "--reason", "was Bo's")
    ana.run("milestone", "retract", "ana", "salary", "--reason", "offer withdrawn")

    portfolio = ana.json("portfolio")
    assert (portfolio["average_feedback"], portfolio["feedback_count"]) == (5, 1)
    report = ana.json("report", "ana", "--format", "json")
    assert [f["feedback"] for f in report["feedback"]] == ["f2"]
    assert report["milestones"] == []
    summaries = [e["summary"] for e in ana.json("timeline", "ana")["events"]]
    assert summaries[-2:] == [
        "Retracted feedback f1: was Bo's",
        "Retracted the celebration of kpi salary: offer withdrawn",
    ]
    assert refused(ana, "feedback", "retract", "ana", "f1", "--reason", "x") == "Error: feedback 'f1' was retracted"
    assert refused(ana, "milestone", "retract", "ana", "salary", "--reason", "x") == (
        "Error: no celebrated milestone 'salary' for client 'ana'"
    )
    ana.run("milestone", "celebrate", "ana", "salary", "--note", "for real")
    assert len(ana.json("report", "ana", "--format", "json")["milestones"]) == 1


def test_views_rebuilt_from_the_events_read_the_same(ana: Cli) -> None:
    ana.run("session", "log", "ana", "--notes", "Prep", "--action", "Draft")
    ana.run("session", "retract", "ana", "s1", "--reason", "twice")
    ana.run("client", "rename", "ana", "--name", "Ana L.", "--reason", "short")
    before = (ana.json("action", "list", "ana", "--all"), ana.json("client", "show", "ana"))
    ana.run("projections", "rebuild")
    assert (ana.json("action", "list", "ana", "--all"), ana.json("client", "show", "ana")) == before


def test_forget_erases_action_texts_contacts_and_fixes_from_every_store_file(
    tmp_path: Path, clock: FrozenDateTimeFactory
) -> None:
    cli = Cli(str(tmp_path / "ledger.sqlite"))
    cli.run("init", "--encrypt")
    cli.run("client", "add", "zoe", "--name", "Zoe Quist", "--coach", "maria")
    secrets = ("Quietly apply at Xylofirm", "zoe@privatemail.example", "Zoe Quist-Vandermeer", "Divorce talk")
    cli.run("session", "log", "zoe", "--notes", "Intake", "--action", secrets[0])
    cli.run("client", "update", "zoe", "--contact", secrets[1], "--reason", "new mail")
    cli.run("client", "rename", "zoe", "--name", secrets[2], "--reason", "married")
    cli.run("session", "amend", "zoe", "s1", "--notes", secrets[3], "--reason", "fuller notes")
    cli.run("action", "done", "zoe", "a1", "--note", "done")
    assert secrets[1] in cli.out("client", "show", "zoe")  # the views hold them now
    assert cli.json("action", "list", "zoe", "--all")["actions"][0]["text"] == secrets[0]

    cli.run("forget", "zoe", "--yes")

    files = sorted(p for p in tmp_path.iterdir() if p.name.startswith("ledger.sqlite"))
    for secret in secrets:
        assert [p.name for p in files if secret.encode() in p.read_bytes()] == [], secret
    assert refused(cli, "action", "list", "zoe").startswith("Error: client 'zoe' was forgotten")
