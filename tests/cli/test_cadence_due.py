"""Cadences and what is due: `kpi define/adjust --cadence`, `due` (table, JSON, iCalendar), and
`agenda`/`check` by each KPI's cadence, on each backend.

A small practice recorded at controlled times (the clock moves a minute after every write).
The expected due dates are worked out by hand in the comments.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

    def __call__(self, *args: str, ok: bool = True) -> Any:
        result = self.cli.run(*args, ok=ok)
        self.clock.tick(60)
        return result

    def json(self, *args: str) -> Any:
        return self.cli.json(*args)


def define(coach: Coach, client: str, kpi: str, *extra: str) -> None:
    coach(
        "kpi", "define", client, kpi, "--name", kpi.title(), "--category", "custom", "--unit", "points",
        "--direction", "increase", "--target", "100", "--due", "2026-12-31", *extra,
    )  # fmt: skip


@pytest.fixture
def coach(cli: Cli) -> Iterator[Coach]:
    with freeze_time("2026-01-05T10:00:00Z", ignore=["psycopg"]) as frozen:
        assert isinstance(frozen, FrozenDateTimeFactory)
        yield Coach(cli, frozen)


@pytest.fixture
def practice(coach: Coach) -> Coach:
    """Given ana (coach maria) and ben (coach li), KPIs of every cadence, recorded on 2026-01-05."""
    coach("client", "add", "ana", "--name", "Ana", "--coach", "maria")
    coach("client", "add", "ben", "--name", "Ben", "--coach", "li")
    define(coach, "ana", "skill", "--cadence", "weekly")
    coach("kpi", "baseline", "ana", "skill", "50", "--at", "2026-01-01")
    define(coach, "ana", "salary")  # monthly by default
    coach("kpi", "baseline", "ana", "salary", "50", "--at", "2026-01-01")  # next due 01-31
    define(coach, "ana", "network", "--cadence", "quarterly")  # nothing yet: due since 01-05
    define(coach, "ben", "focus", "--cadence", "14d")
    coach("kpi", "baseline", "ben", "focus", "5", "--at", "2026-01-02")
    define(coach, "ben", "old", "--cadence", "weekly")
    coach.clock.move_to("2026-01-25T12:00:00Z")
    coach("measure", "record", "ana", "skill", "55", "--at", "2026-01-20")  # next due 01-27
    coach("measure", "record", "ben", "focus", "6", "--at", "2026-01-25")  # next due 02-08
    coach("kpi", "retire", "ben", "old", "--reason", "no longer relevant")
    return coach


def due(coach: Coach, *args: str) -> list[tuple[str, str, str, int]]:
    doc = coach.json("due", *args)
    return [(i["client"], i["kpi"], i["due"], i["days_late"]) for i in doc["items"]]


def test_due_lists_each_active_kpi_by_its_cadence_most_late_first(practice: Coach) -> None:
    assert due(practice, "--as-of", "2026-02-01") == [
        ("ana", "network", "2026-01-05", 27),
        ("ana", "skill", "2026-01-27", 5),
        ("ana", "salary", "2026-01-31", 1),
    ]


def test_due_json_has_the_contract_keys(practice: Coach) -> None:
    doc = practice.json("due", "--as-of", "2026-02-01")
    assert doc["as_of"] == "2026-02-01T00:00:00.000000+00:00" and doc["known_at"] is None
    assert (doc["coach"], doc["within_days"], doc["next_sessions"]) == (None, 0, [])
    assert doc["items"][1] == {
        "kind": "measurement",
        "client": "ana",
        "client_name": "Ana",
        "coach": "maria",
        "kpi": "skill",
        "kpi_name": "Skill",
        "cadence": "weekly",
        "last_measured": "2026-01-20T00:00:00.000000+00:00",
        "due": "2026-01-27",
        "days_late": 5,
    }


def test_due_on_its_day_counts_as_due_with_no_days_late(practice: Coach) -> None:
    assert ("ana", "salary", "2026-01-31", 0) in due(practice, "--as-of", "2026-01-31T08:00")


def test_within_adds_what_falls_due_soon_and_coach_narrows_to_one_coach(practice: Coach) -> None:
    soon = due(practice, "--as-of", "2026-02-01", "--within", "7d")
    assert soon[-1] == ("ben", "focus", "2026-02-08", -7)
    assert due(practice, "--as-of", "2026-02-01", "--within", "7d", "--coach", "li") == [
        ("ben", "focus", "2026-02-08", -7)
    ]


def test_a_new_measurement_moves_the_due_date_and_a_retracted_one_does_not(practice: Coach) -> None:
    practice.clock.move_to("2026-01-30T12:00:00Z")
    practice("measure", "record", "ana", "skill", "60", "--at", "2026-01-30")
    assert ("ana", "skill", "2026-02-06", -4) in due(practice, "--as-of", "2026-02-02", "--within", "7d")
    practice("measure", "retract", "ana", "m2", "--reason", "wrong client")
    assert ("ana", "skill", "2026-01-27", 6) in due(practice, "--as-of", "2026-02-02")


def test_known_at_shows_what_was_due_as_the_coach_knew_it_then(practice: Coach) -> None:
    # Before ana's skill measurement was recorded, skill was due a week after its baseline.
    then = due(practice, "--as-of", "2026-02-01", "--known-at", "2026-01-05T10:03")
    assert then == [("ana", "skill", "2026-01-08", 24)]


def test_an_adjusted_cadence_applies_from_its_effective_date(practice: Coach) -> None:
    practice(
        "kpi",
        "adjust",
        "ana",
        "salary",
        "--cadence",
        "quarterly",
        "--reason",
        "reviews",
        "--at",
        "2026-01-10",
    )
    assert [i[1] for i in due(practice, "--as-of", "2026-02-01")] == ["network", "skill"]
    history = practice.json("history", "ana", "salary")["versions"]
    assert history[0]["definition"]["cadence"] == "monthly" and history[0]["definition"]["weight"] == 1
    assert history[1]["changes"] == {"cadence": ["monthly", "quarterly"]}


def test_due_table_and_nothing_due(practice: Coach) -> None:
    out = practice.cli.out("due", "--as-of", "2026-02-01")
    lines = out.splitlines()
    assert lines[0] == "Due by 2026-02-01:"
    assert lines[3].split() == ["ana", "measurement", "network", "never", "2026-01-05", "27"]
    assert practice.cli.out("due", "--as-of", "2026-01-04") == "Nothing due by 2026-01-04."


def test_due_ics_writes_a_todo_per_due_item_and_an_event_per_next_session(
    practice: Coach, tmp_path: Path
) -> None:
    from icalendar import Calendar

    practice("session", "log", "ana", "--at", "2026-02-03T15:00", "--notes", "Next review")
    target = tmp_path / "due.ics"
    result = practice.cli.run("due", "--as-of", "2026-02-01", "--ics", str(target))
    assert result.stdout.startswith("Due by 2026-02-01:")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    cal = Calendar.from_ical(target.read_bytes())
    todos = [c for c in cal.walk("VTODO")]
    assert [str(t["summary"]) for t in todos] == [
        "Measure Network (Ana)",
        "Measure Skill (Ana)",
        "Measure Salary (Ana)",
    ]
    assert todos[1]["due"].dt.isoformat() == "2026-01-27"
    [event] = cal.walk("VEVENT")
    assert event["dtstart"].dt.isoformat() == "2026-02-03T15:00:00+00:00"
    same = practice.cli.run("due", "--as-of", "2026-02-01", "--ics", "-").stdout_bytes
    assert same == target.read_bytes()  # the same document, the same feed


def test_due_refusals(practice: Coach) -> None:
    assert practice.cli.run("due", "--within", "soon", ok=False).exit_code == 2
    assert practice.cli.run("due", "--ics", "-", "--json", ok=False).exit_code == 2


def test_a_bad_cadence_or_weight_is_refused_with_one_error_line(practice: Coach) -> None:
    result = practice("kpi", "adjust", "ana", "skill", "--cadence", "daily", "--reason", "r", ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("Error: cadence must be one of")
    result = practice("kpi", "adjust", "ana", "skill", "--weight", "0", "--reason", "r", ok=False)
    assert result.exit_code == 1 and result.stderr.startswith("Error: weight must be a positive")


def test_agenda_and_check_use_each_kpis_cadence(practice: Coach) -> None:
    # On 2026-01-29 skill (weekly, last 01-20) is 9 days old: due; salary (monthly, 01-01) is not yet.
    doc = practice.json("agenda", "ana", "--as-of", "2026-01-29")
    assert [(m["kpi"], m["cadence"]) for m in doc["measurements_due"]] == [
        ("skill", "weekly"),
        ("network", "quarterly"),
    ]
    practice.clock.move_to("2026-01-29T12:00:00Z")
    found = json.loads(practice.cli.run("check", "ana", "--json", ok=False).stdout)["findings"]
    assert [f["message"] for f in found if f["rule"] == "measurement-overdue"] == [
        "KPI skill was last measured 9 days ago (cadence: 7 days)"
    ]


# -- guards against silent bad data -----------------------------------------------------------


def test_a_measurement_from_the_future_is_refused_after_converting_its_offset(practice: Coach) -> None:
    # The clock reads 2026-01-25T12:03Z: 14:00+02:00 is 12:00Z (accepted), 15:00+02:00 is 13:00Z (refused).
    practice("measure", "record", "ana", "salary", "55", "--at", "2026-01-25T14:00+02:00")
    result = practice("measure", "record", "ana", "salary", "56", "--at", "2026-01-25T15:00+02:00", ok=False)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: a measurement cannot be dated after the moment it is recorded: "
        "2026-01-25T13:00:00Z is after 2026-01-25T12:04:00Z\n"
    )
    result = practice("kpi", "baseline", "ana", "network", "3", "--at", "2026-02-01", ok=False)
    assert result.exit_code == 1 and "a baseline cannot be dated after" in result.stderr


def test_a_csv_row_from_the_future_is_refused_with_its_line_and_nothing_is_written(
    practice: Coach, tmp_path: Path
) -> None:
    rows = tmp_path / "survey.csv"
    rows.write_text("kpi,value,date\nsalary,55,2026-01-24\nsalary,56,2026-03-01\n")
    result = practice("measure", "import", "ana", str(rows), ok=False)
    assert result.exit_code == 1 and "line 3, field date" in result.stderr
    assert practice.json("progress", "ana")["kpis"][1]["measurements"] == 0


def test_unknown_ids_and_commands_get_did_you_mean_suggestions(practice: Coach) -> None:
    result = practice("measure", "record", "ann", "skill", "5", ok=False)
    assert result.stderr == "Error: unknown client 'ann' (did you mean 'ana'?)\n"
    result = practice("measure", "record", "ana", "skil", "5", ok=False)
    assert result.stderr == "Error: unknown KPI 'skil' for client 'ana' (did you mean 'skill'?)\n"
    result = practice("agenda", "bn", ok=False)
    assert result.exit_code == 1 and result.stderr == "Error: unknown client 'bn' (did you mean 'ben'?)\n"
    result = practice("du", ok=False)
    assert result.exit_code == 2 and "No such command 'du'. Did you mean 'due'?" in result.stderr
    assert practice("kpi", "ajust", ok=False).exit_code == 2  # Click's own groups suggest already
    result = practice("measure", "record", "zzz", "skill", "5", ok=False)
    assert result.stderr == "Error: unknown client 'zzz'\n"


def test_the_demo_measures_weekly_monthly_and_quarterly(cli: Cli) -> None:
    cli.run("demo", "--clients", "2")
    cadences = {k["kpi"]: k["cadence"] for k in cli.json("kpi", "list", "ana-lopez")["kpis"]}
    defined = {kpi: cli.json("history", "ana-lopez", kpi)["versions"][0]["definition"]["cadence"] for kpi in cadences}
    assert set(defined.values()) == {"weekly", "monthly", "quarterly"}
    # Part-way, the weekly KPI moved to every two weeks (kpi adjust --cadence): in force now.
    assert cadences == {**defined, "overtime": "biweekly"} and defined["overtime"] == "weekly"
    assert cli.json("due", "--as-of", "2026-10-30")["items"]


def test_measure_import_skips_rows_already_recorded_and_dry_run_writes_nothing(
    practice: Coach, tmp_path: Path
) -> None:
    rows = tmp_path / "survey.csv"
    rows.write_text("kpi,value,date,source\nsalary,55,2026-01-10,survey\nsalary,57,2026-01-20,survey\n")
    dry = practice("measure", "import", "ana", str(rows), "--dry-run").stdout
    assert dry.splitlines() == [
        "Would record 2 measurements for ana (m2..m3):",
        "  m2  salary  55  2026-01-10T00:00:00+00:00  survey",
        "  m3  salary  57  2026-01-20T00:00:00+00:00  survey",
    ]
    assert practice.json("progress", "ana")["kpis"][1]["measurements"] == 0
    assert (
        practice("measure", "import", "ana", str(rows)).stdout
        == "Recorded 2 measurements for ana (m2..m3).\n"
    )
    again = practice("measure", "import", "ana", str(rows)).stdout
    assert again == "Nothing to record for ana; skipped 2 already recorded.\n"
    # Another value, date or source is another measurement.
    rows.write_text("kpi,value,date,source\nsalary,55.0,2026-01-10,survey\nsalary,57,2026-01-20,self\n")
    out = practice("measure", "import", "ana", str(rows)).stdout
    assert out == "Recorded 1 measurement for ana (m4); skipped 1 already recorded.\n"
    assert practice.json("progress", "ana")["kpis"][1]["measurements"] == 3


def test_after_a_unit_change_a_value_100x_away_needs_yes_and_check_flags_it(practice: Coach) -> None:
    # salary: baseline 50 (EUR) on 01-01; from 01-10 in kEUR (x0.001): last value 0.05, target 0.1.
    practice(
        "kpi", "adjust", "ana", "salary", "--unit", "kEUR", "--factor", "0.001", "--reason", "kEUR", "--at", "2026-01-10"
    )  # fmt: skip
    result = practice("measure", "record", "ana", "salary", "55", "--at", "2026-01-20", ok=False)
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: 55 is more than 100x away from KPI salary's last value 0.05 since its unit changed on "
        "2026-01-10: check the unit, or confirm with --yes\n"
    )
    practice("measure", "record", "ana", "salary", "0.055", "--at", "2026-01-20")  # in the new unit: fine
    practice("measure", "record", "ana", "salary", "57", "--at", "2026-01-21", "--yes")
    found = json.loads(practice.cli.run("check", "ana", "--json", ok=False).stdout)["findings"]
    assert [f["message"] for f in found if f["rule"] == "outlier"] == [
        "KPI salary: m3 = 57 on 2026-01-21 is more than 100x away from the value before it (0.055) "
        "or the target (0.1) after the unit change on 2026-01-10"
    ]
    # Before any unit change nothing is guarded: the scale and the coach's eye are the checks.
    practice("measure", "record", "ana", "skill", "5000", "--at", "2026-01-22")
