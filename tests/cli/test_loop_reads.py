"""The loop's reads as a coach uses them: every read takes --as-of/--known-at and --json where it
makes sense, unknown ids name the closest known ones, and the calendar says what is next.

A small practice recorded at controlled times (the clock moves a minute after every write).
"""

from __future__ import annotations

import json
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
import coachledger.services.transfer.schema  # noqa: E402, F401 - its line types too, before any clock is frozen


class Coach:
    def __init__(self, cli: Cli, clock: FrozenDateTimeFactory) -> None:
        self.cli = cli
        self.clock = clock

    def __call__(self, *args: str) -> str:
        out = self.cli.out(*args)
        self.clock.tick(60)
        return out

    def refused(self, *args: str) -> str:
        result = self.cli.run(*args, ok=False)
        assert result.exit_code == 1, result.output
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
        return result.stderr.strip()


@pytest.fixture
def coach(cli: Cli) -> Iterator[Coach]:
    with freeze_time("2026-01-05T10:00:00Z", ignore=["psycopg"]) as frozen:
        assert isinstance(frozen, FrozenDateTimeFactory)
        yield Coach(cli, frozen)


@pytest.fixture
def practice(coach: Coach) -> Coach:
    """Ana (coach maria): a goal, two KPIs, two sessions with actions, feedback, a milestone."""
    coach("client", "add", "ana", "--name", "Ana", "--coach", "maria")
    coach("goal", "add", "ana", "lead-team", "--text", "Lead a team", "--due", "2027-01-31")
    coach(
        "kpi", "define", "ana", "satisfaction", "--name", "Satisfaction", "--category", "job-satisfaction",
        "--unit", "points", "--direction", "increase", "--target", "8", "--due", "2026-12-31",
        "--scale", "1..10", "--goal", "lead-team", "--cadence", "weekly",
    )  # fmt: skip
    coach("kpi", "baseline", "ana", "satisfaction", "4", "--at", "2026-01-02")
    coach("session", "log", "ana", "--notes", "Intake", "--action", "Update the CV", "--action", "Call Bo")
    coach("action", "add", "ana", "Ask for the review", "--due", "2026-01-20", "--kpi", "satisfaction")
    coach("action", "add", "ana", "Book the training", "--due", "2026-01-20", "--kpi", "satisfaction")
    coach("feedback", "add", "ana", "--rating", "4", "--comment", "useful")
    coach("milestone", "celebrate", "ana", "lead-team", "--note", "early")
    return coach


# -- did you mean ---------------------------------------------------------------------------------


def test_unknown_ids_of_every_kind_name_the_closest_known_ones(practice: Coach) -> None:
    r = practice.refused
    assert r("progress", "anna") == "Error: unknown client 'anna' (did you mean 'ana'?)"
    assert r("measure", "record", "ana", "satisfactoin", "5") == (
        "Error: unknown KPI 'satisfactoin' for client 'ana' (did you mean 'satisfaction'?)"
    )
    assert r("history", "ana", "satisfactoin") == (
        "Error: unknown KPI 'satisfactoin' for client 'ana' (did you mean 'satisfaction'?)"
    )
    assert r("goal", "achieve", "ana", "lead-teams") == (
        "Error: unknown goal 'lead-teams' for client 'ana' (did you mean 'lead-team'?)"
    )
    assert r("kpi", "adjust", "ana", "satisfaction", "--goal", "lead", "--reason", "r") == (
        "Error: unknown goal 'lead' for client 'ana' (did you mean 'lead-team'?)"
    )
    # Action ids: the closest, else the open ones.
    assert (
        r("action", "done", "ana", "a5")
        == "Error: unknown action 'a5' for client 'ana' (open: a1, a2, a3, a4)"
    )
    assert (
        r("action", "done", "ana", "a01")
        == "Error: unknown action 'a01' for client 'ana' (did you mean 'a1'?)"
    )
    assert r("milestone", "retract", "ana", "lead-tem", "--reason", "r") == (
        "Error: no celebrated milestone 'lead-tem' for client 'ana' (did you mean 'lead-team'?)"
    )
    assert r("milestone", "celebrate", "ana", "satisfacton") == (
        "Error: 'satisfacton' is neither a KPI nor a goal of client 'ana' (did you mean 'satisfaction'?)"
    )
    assert r("kpi", "template", "show", "salry").startswith(
        "Error: unknown template 'salry' (did you mean 'salary'?): neither a file nor one of "
    )
    mistyped = practice.cli.run("agend", "ana", ok=False)
    assert mistyped.exit_code == 2 and "Did you mean 'agenda'?" in mistyped.stderr


# -- reads take --as-of, --known-at and --json ------------------------------------------------------


def test_check_takes_as_of_and_known_at(practice: Coach) -> None:
    # The weekly KPI's baseline of 01-02: overdue once more than 7 days have passed.
    def rules(*args: str) -> list[tuple[str | None, str]]:
        result = practice.cli.run("check", "ana", *args, "--json", ok=False)
        doc = json.loads(result.stdout)
        assert result.exit_code == (1 if doc["findings"] else 0) and doc["ok"] == (not doc["findings"])
        return [(f["kpi"], f["rule"]) for f in doc["findings"]]

    assert ("satisfaction", "measurement-overdue") not in rules("--as-of", "2026-01-09")
    assert ("satisfaction", "measurement-overdue") in rules("--as-of", "2026-01-10")
    # Known right after the client was registered: no KPI yet.
    assert rules("--known-at", "2026-01-05T10:00:30Z") == [(None, "no-kpis")]
    assert practice.cli.out("check", "--all", "--known-at", "2026-01-05T09:00:00Z").startswith("No findings")


def test_kpi_template_show_takes_json(practice: Coach, tmp_path: Path) -> None:
    doc = practice.cli.json("kpi", "template", "show", "salary")
    assert doc["template"] == "salary" and doc["description"]
    assert [k["id"] for k in doc["kpis"]] == ["salary"] and doc["kpis"][0]["cadence"] == "quarterly"
    own = tmp_path / "mine.toml"
    own.write_text('description = "Mine"\n[[kpi]]\nid = "x"\nname = "X"\ncategory = "skill"\nunit = "u"\n'
                   'direction = "increase"\ntarget = 3\ndue = 2027-06-30\nscale = [0, 5]\n')  # fmt: skip
    doc = practice.cli.json("kpi", "template", "show", str(own))
    assert doc == {
        "template": "mine",
        "description": "Mine",
        "kpis": [{"id": "x", "name": "X", "category": "skill", "unit": "u", "direction": "increase",
                  "target": 3, "due": "2027-06-30", "scale": [0, 5]}],
    }  # fmt: skip
    assert practice.cli.out("kpi", "template", "show", str(own)).startswith('description = "Mine"')


# -- due: the calendar and the practice as known then --------------------------------------------


def test_two_actions_on_one_kpi_and_day_are_two_calendar_entries(practice: Coach) -> None:
    from icalendar import Calendar

    feed = practice.cli.run("due", "--as-of", "2026-01-21", "--ics", "-").stdout_bytes
    todos = Calendar.from_ical(feed).walk("VTODO")
    actions = sorted(str(t["uid"]) for t in todos if str(t["uid"]).startswith("action-"))
    assert actions == ["action-ana-a3-2026-01-20@coachledger", "action-ana-a4-2026-01-20@coachledger"]
    assert len({str(t["uid"]) for t in todos}) == len(todos)


def test_next_sessions_follow_amendments_and_retractions(practice: Coach) -> None:
    practice("session", "log", "ana", "--notes", "Booked: review", "--at", "2026-02-10T15:00Z")  # s2
    practice("session", "log", "ana", "--notes", "Booked twice", "--at", "2026-02-03T15:00Z")  # s3
    as_of = ("--as-of", "2026-01-06")

    def next_at(*extra: str) -> list[str]:
        return [s["at"] for s in practice.cli.json("due", *as_of, *extra)["next_sessions"]]

    assert next_at() == ["2026-02-03T15:00:00.000000+00:00"]
    before_fixes = (practice.clock() - timedelta(seconds=1)).isoformat()  # the next write is at clock()
    practice("session", "retract", "ana", "s3", "--reason", "logged twice")
    assert next_at() == ["2026-02-10T15:00:00.000000+00:00"]
    practice("session", "amend", "ana", "s2", "--at", "2026-02-12T09:00Z", "--reason", "moved")
    assert next_at() == ["2026-02-12T09:00:00.000000+00:00"]
    practice("session", "amend", "ana", "s2", "--at", "2026-01-05T16:00Z", "--reason", "held early")
    assert next_at() == []
    assert next_at("--known-at", before_fixes) == ["2026-02-03T15:00:00.000000+00:00"]


def test_due_and_portfolio_name_clients_and_coaches_as_known_then(practice: Coach) -> None:
    before = (practice.clock() - timedelta(seconds=1)).isoformat()
    practice("client", "rename", "ana", "--name", "Ana García", "--reason", "married name")
    practice("client", "update", "ana", "--coach", "li", "--reason", "handover")

    def due(*args: str) -> list[tuple[str, str | None]]:
        doc = practice.cli.json("due", "--as-of", "2026-01-21", *args)
        return sorted({(i["client_name"], i["coach"]) for i in doc["items"]})

    assert due() == [("Ana García", "li")]
    assert due("--known-at", before) == [("Ana", "maria")]
    assert due("--coach", "maria") == []
    assert due("--coach", "maria", "--known-at", before) == [("Ana", "maria")]
    portfolio = practice.cli.json("portfolio", "--coach", "maria", "--known-at", before)
    assert portfolio["clients"] == 1
    assert practice.cli.json("portfolio", "--coach", "maria")["clients"] == 0
    assert practice.cli.json("portfolio", "--coach", "li")["clients"] == 1


def test_client_and_kpi_reads_take_as_of_and_known_at(practice: Coach) -> None:
    registered = (practice.clock() - timedelta(seconds=1)).isoformat()  # before ben, after ana's journey
    practice.clock.move_to("2026-03-05T10:00:00Z")
    practice("client", "add", "ben", "--name", "Ben", "--coach", "li")
    practice("kpi", "adjust", "ana", "satisfaction", "--target", "9", "--cadence", "14d", "--reason", "r",
             "--at", "2026-03-01")  # fmt: skip
    practice("client", "rename", "ana", "--name", "Ana García", "--reason", "married name")
    practice("measure", "record", "ana", "satisfaction", "9", "--at", "2026-01-06")

    listed = practice.cli.json("client", "list", "--known-at", registered)["clients"]
    assert [(c["client"], c["name"]) for c in listed] == [("ana", "Ana")]
    assert [c["client"] for c in practice.cli.json("client", "list", "--coach", "li")["clients"]] == ["ben"]
    statuses = {c["client"]: c["status"] for c in practice.cli.json("client", "list", "--as-of", "2026-01-05")["clients"]}
    assert statuses == {"ana": "no-data", "ben": "no-kpis"}
    assert practice.cli.json("client", "list", "--as-of", "2026-01-07")["clients"][0]["status"] == "achieved"

    kpis = practice.cli.json("kpi", "list", "ana", "--as-of", "2026-02-01")
    assert (kpis["as_of"][:10], kpis["kpis"][0]["target"], kpis["kpis"][0]["cadence"]) == ("2026-02-01", 8, "weekly")
    later = practice.cli.json("kpi", "list", "ana", "--as-of", "2026-03-02")["kpis"][0]
    assert (later["target"], later["cadence"], later["versions"]) == (9, "14d", 2)
    before = practice.cli.json("kpi", "list", "ana", "--as-of", "2026-03-02", "--known-at", registered)["kpis"][0]
    assert (before["target"], before["versions"]) == (8, 1)

    assert len(practice.cli.json("history", "ana", "satisfaction")["versions"]) == 2
    assert len(practice.cli.json("history", "ana", "satisfaction", "--known-at", registered)["versions"]) == 1

    shown = practice.cli.json("client", "show", "ana", "--known-at", registered)
    assert (shown["name"], shown["sessions"], shown["feedback"]) == ("Ana", 1, 1)
    assert practice.cli.json("client", "show", "ana")["name"] == "Ana García"
    assert practice.cli.json("client", "show", "ana", "--as-of", "2026-01-04")["sessions"] == 0
    assert practice.refused("client", "show", "ben", "--known-at", "2026-01-05T10:00:00Z") == (
        "Error: client 'ben' was not registered yet at 2026-01-05T10:00:00.000000+00:00"
    )
