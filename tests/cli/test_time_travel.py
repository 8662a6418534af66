"""The two time axes through the CLI: --as-of (effective time) and --known-at (recording time).

The clock moves forward after every write, so that every event has a recording time of
its own and "known at the recording time of event N" means "events 1..N".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory

from coachledger.adapters import codec

if TYPE_CHECKING:
    from conftest import Cli

# Build every event schema now: under freezegun, `datetime` in the domain's type hints is FakeDatetime.
list(codec.SCHEMAS.values())

CLIENT = "ana-lopez"
EVERY_EVENT_TYPE = {
    "ClientRegistered",
    "GoalSet",
    "KpiDefined",
    "BaselineEstablished",
    "MeasurementRecorded",
    "MeasurementCorrected",
    "MeasurementRetracted",
    "KpiAdjusted",
    "KpiRetired",
    "FeedbackReceived",
    "SessionLogged",
    "MilestoneCelebrated",
    "ActionOpened",  # the session's agreed action, opened to be followed up
}


class Coach:
    """Writes through the CLI at a controlled clock; each write moves the clock a minute on."""

    def __init__(self, cli: Cli, clock: FrozenDateTimeFactory) -> None:
        self.cli = cli
        self.clock = clock

    def on(self, moment: str) -> Coach:
        self.clock.move_to(moment)
        return self

    def __call__(self, *args: str, actor: str | None = None) -> str:
        out = self.cli.run(*args, actor=actor).stdout.strip()
        self.clock.tick(60)
        return out

    def json(self, *args: str) -> Any:
        return self.cli.json(*args)

    def kpi(self, kpi: str, *extra: str) -> dict[str, Any]:
        doc = self.cli.json("progress", CLIENT, *extra)
        [item] = [i for i in doc["kpis"] if i["kpi"] == kpi]
        return item  # type: ignore[no-any-return]


@pytest.fixture
def coach(cli: Cli) -> Iterator[Coach]:
    # The PostgreSQL pool's own threads keep real time, or closing the pool would wait forever.
    with freeze_time("2026-01-05T10:00:00Z", ignore=["psycopg"]) as frozen:
        assert isinstance(frozen, FrozenDateTimeFactory)
        yield Coach(cli, frozen)


def a_client_with_skill(coach: Coach) -> None:
    coach("client", "add", CLIENT, "--name", "Ana López", "--coach", "maria")
    coach(
        "kpi", "define", CLIENT, "skill", "--name", "Python skill", "--category", "skill",
        "--unit", "points", "--direction", "increase", "--target", "100", "--due", "2026-12-31",
    )  # fmt: skip
    coach("kpi", "baseline", CLIENT, "skill", "50", "--at", "2026-01-01")


# -- known-at --------------------------------------------------------------------------------


def test_known_at_before_a_correction_shows_the_uncorrected_value(coach: Coach) -> None:
    a_client_with_skill(coach)
    m1 = coach.on("2026-02-01T10:00:00Z")("measure", "record", CLIENT, "skill", "60", "--at", "2026-02-01")
    coach.on("2026-02-10T10:00:00Z")("measure", "correct", CLIENT, m1, "65", "--reason", "Misread the test")
    before = coach.kpi("skill", "--as-of", "2026-02-15", "--known-at", "2026-02-10T09:59:59")
    assert (before["current"], before["progress_pct"]) == (60, 20.0)
    at_once = coach.kpi("skill", "--as-of", "2026-02-15", "--known-at", "2026-02-10T10:00:00")
    assert (at_once["current"], at_once["progress_pct"]) == (65, 30.0)
    assert coach.kpi("skill", "--as-of", "2026-02-15")["current"] == 65


def test_a_correction_applies_at_every_as_of_date_once_known(coach: Coach) -> None:
    """Corrections have no effective time: as of before the correction was made, it still applies."""
    a_client_with_skill(coach)
    m1 = coach.on("2026-02-01T10:00:00Z")("measure", "record", CLIENT, "skill", "60", "--at", "2026-02-01")
    coach.on("2026-02-10T10:00:00Z")("measure", "correct", CLIENT, m1, "65", "--reason", "Misread the test")
    assert coach.kpi("skill", "--as-of", "2026-02-05")["current"] == 65


def test_known_at_before_a_retraction_still_counts_the_measurement(coach: Coach) -> None:
    a_client_with_skill(coach)
    m1 = coach.on("2026-02-01T10:00:00Z")("measure", "record", CLIENT, "skill", "60", "--at", "2026-02-01")
    coach.on("2026-02-10T10:00:00Z")("measure", "retract", CLIENT, m1, "--reason", "Wrong client")
    then = coach.kpi("skill", "--as-of", "2026-02-15", "--known-at", "2026-02-09")
    assert (then["current"], then["measurements"]) == (60, 1)
    now = coach.kpi("skill", "--as-of", "2026-02-15")
    assert (now["current"], now["measurements"], now["status"]) == (None, 0, "no-data")
    types = [e["type"] for e in coach.json("timeline", CLIENT)["events"]]
    assert types.count("MeasurementRecorded") == 1 and types[-1] == "MeasurementRetracted"


def test_a_back_dated_entry_is_absent_before_its_recording_time(coach: Coach) -> None:
    a_client_with_skill(coach)
    coach.on("2026-02-01T10:00:00Z")("measure", "record", CLIENT, "skill", "60", "--at", "2026-02-01")
    coach.on("2026-03-10T10:00:00Z")("measure", "record", CLIENT, "skill", "70", "--at", "2026-02-20")
    then = coach.kpi("skill", "--as-of", "2026-03-01", "--known-at", "2026-03-09")
    assert (then["current"], then["measurements"]) == (60, 1)
    now = coach.kpi("skill", "--as-of", "2026-03-01", "--known-at", "2026-03-10T10:00:00")
    assert (now["current"], now["measurements"]) == (70, 2)

    known = coach.json("timeline", CLIENT, "--known-at", "2026-03-09")["events"]
    assert [e["summary"] for e in known if e["type"] == "MeasurementRecorded"] == [
        "Measured skill = 60 (m1, coach)"
    ]
    steps = coach.json("replay", CLIENT, "--known-at", "2026-03-09")["steps"]
    assert len(steps) == 4 and steps[-1]["progress"][0]["current"] == 60

    balance = coach.json("balance", CLIENT, "--as-of", "2026-03-01", "--known-at", "2026-03-09")
    [quadrant] = [q for q in balance["quadrants"] if q["kpis"] == ["skill"]]
    assert quadrant["average_progress_pct"] == 20.0
    assert balance["known_at"] == "2026-03-09T00:00:00.000000+00:00"
    later = coach.json("balance", CLIENT, "--as-of", "2026-03-01")
    assert next(q for q in later["quadrants"] if q["kpis"] == ["skill"])["average_progress_pct"] == 40.0


def test_known_at_before_the_client_existed_shows_nothing(coach: Coach) -> None:
    a_client_with_skill(coach)
    doc = coach.json("progress", CLIENT, "--known-at", "2026-01-01")
    assert doc["kpis"] == []
    assert coach.json("timeline", CLIENT, "--known-at", "2026-01-01")["events"] == []
    assert coach.json("replay", CLIENT, "--known-at", "2026-01-01")["steps"] == []
    assert coach.json("portfolio", "--known-at", "2026-01-01")["clients"] == 0


def test_portfolio_known_at_counts_only_what_was_recorded_then(coach: Coach) -> None:
    a_client_with_skill(coach)
    coach.on("2026-02-01T10:00:00Z")("feedback", "add", CLIENT, "--rating", "3")
    coach.on("2026-03-01T10:00:00Z")("feedback", "add", CLIENT, "--rating", "5", "--at", "2026-01-20")
    then = coach.json("portfolio", "--known-at", "2026-02-15")
    assert (then["clients"], then["average_feedback"], then["feedback_count"]) == (1, 3.0, 1)
    now = coach.json("portfolio")
    assert (now["average_feedback"], now["feedback_count"]) == (4.0, 2)
    as_of = coach.json("portfolio", "--as-of", "2026-01-25")
    assert (as_of["average_feedback"], as_of["feedback_count"]) == (5.0, 1)


# -- as-of and the definition in force -----------------------------------------------------


@pytest.fixture
def satisfaction(coach: Coach) -> Coach:
    """Satisfaction on 1..5, target 4; rescaled to 1..10 with a new target 9 (recorded late)."""
    coach("client", "add", CLIENT, "--name", "Ana López")
    coach(
        "kpi", "define", CLIENT, "sat", "--name", "Job satisfaction", "--category", "job-satisfaction",
        "--unit", "points", "--direction", "increase", "--target", "4", "--due", "2026-12-31",
        "--scale", "1..5", "--dimension", "personal",
    )  # fmt: skip
    coach("kpi", "baseline", CLIENT, "sat", "2", "--at", "2026-01-01")
    coach.on("2026-02-01T10:00:00Z")("measure", "record", CLIENT, "sat", "3", "--at", "2026-02-01")
    coach.on("2026-03-20T10:00:00Z")(
        "kpi", "adjust", CLIENT, "sat", "--scale", "1..10", "--rescale", "--target", "9",
        "--reason", "The company survey moved to ten points", "--at", "2026-03-01",
    )  # fmt: skip
    coach.on("2026-03-21T10:00:00Z")("measure", "record", CLIENT, "sat", "7", "--at", "2026-03-15")
    return coach


def test_as_of_before_an_adjustment_uses_the_old_definition_and_scale(satisfaction: Coach) -> None:
    old = satisfaction.kpi("sat", "--as-of", "2026-02-15")
    assert (old["baseline"], old["current"], old["target"], old["progress_pct"]) == (2, 3, 4, 50.0)
    new = satisfaction.kpi("sat", "--as-of", "2026-04-01")
    # 1..5 -> 1..10: new = 1 + (old - 1) * 9 / 4
    assert (new["baseline"], new["current"], new["target"]) == (3.25, 7, 9)
    assert new["progress_pct"] == 65.2  # 100 * 3.75 / 5.75
    feb_in_new_scale = satisfaction.kpi("sat", "--as-of", "2026-03-14")
    assert feb_in_new_scale["current"] == 5.5
    [listed] = satisfaction.json("kpi", "list", CLIENT)["kpis"]
    assert (listed["scale_min"], listed["scale_max"], listed["target"], listed["baseline"]) == (
        1,
        10,
        9,
        3.25,
    )


def test_a_late_adjustment_is_unknown_before_its_recording_time(satisfaction: Coach) -> None:
    """On the day before the rescale was recorded, March was still read on the old scale."""
    before = satisfaction.kpi("sat", "--as-of", "2026-03-15", "--known-at", "2026-03-19")
    assert (before["baseline"], before["current"], before["target"]) == (2, 3, 4)
    recorded = satisfaction.kpi("sat", "--as-of", "2026-03-15", "--known-at", "2026-03-20T12:00")
    assert (recorded["baseline"], recorded["current"], recorded["target"]) == (3.25, 5.5, 9)
    everything = satisfaction.kpi("sat", "--as-of", "2026-03-15")
    assert everything["current"] == 7


def test_history_lists_every_version_with_changes_reason_actor_and_both_times(coach: Coach) -> None:
    coach("client", "add", CLIENT, "--name", "Ana López")
    coach(
        "kpi", "define", CLIENT, "sat", "--name", "Job satisfaction", "--category", "job-satisfaction",
        "--unit", "points", "--direction", "increase", "--target", "4", "--due", "2026-12-31",
        "--scale", "1..5",
    )  # fmt: skip
    coach.on("2026-02-01T10:00:00Z")(
        "kpi", "adjust", CLIENT, "sat", "--target", "5", "--reason", "Aim higher", actor="joan"
    )
    coach.on("2026-03-20T10:00:00Z")(
        "kpi", "adjust", CLIENT, "sat", "--scale", "1..10", "--rescale",
        "--reason", "Survey moved to ten points", "--at", "2026-03-01",
    )  # fmt: skip
    coach.on("2026-06-01T10:00:00Z")("kpi", "retire", CLIENT, "sat", "--reason", "Changed job", actor="joan")

    doc = coach.json("history", CLIENT, "sat")
    assert (doc["client"], doc["kpi"]) == (CLIENT, "sat")
    versions = doc["versions"]
    assert [v["version"] for v in versions] == [1, 2, 3, 4]
    assert [v["actor"] for v in versions] == ["maria", "joan", "maria", "joan"]
    assert [v["reason"] for v in versions] == [
        None,
        "Aim higher",
        "Survey moved to ten points",
        "Changed job",
    ]
    assert [v["recorded_at"][:16] for v in versions] == [
        "2026-01-05T10:01",
        "2026-02-01T10:00",
        "2026-03-20T10:00",
        "2026-06-01T10:00",
    ]
    assert [v["effective_at"][:10] for v in versions] == [
        "2026-01-05",
        "2026-02-01",
        "2026-03-01",
        "2026-06-01",
    ]
    first = versions[0]
    assert first["changes"]["target"] == [None, 4]
    assert first["definition"]["name"] == "Job satisfaction"
    assert versions[1]["changes"] == {"target": [4, 5]}
    assert versions[1]["definition"]["target"] == 5
    assert versions[2]["changes"] == {"scale_max": [5, 10], "target": [5, 10]}
    assert versions[2]["definition"]["scale_min"] == 1
    assert versions[3]["changes"] == {"retired": [False, True]}

    text = coach.cli.out("history", CLIENT, "sat")
    assert "reason: Survey moved to ten points" in text
    assert "by joan" in text and "by maria" in text
    assert "target: 4 -> 5" in text


def test_history_of_an_unknown_kpi_is_refused(coach: Coach) -> None:
    a_client_with_skill(coach)
    result = coach.cli.run("history", CLIENT, "salary", ok=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "salary" in result.stderr


# -- replay ----------------------------------------------------------------------------------


def a_full_journey(coach: Coach) -> None:
    """A journey with every event type, each recorded at its own time."""
    coach("client", "add", CLIENT, "--name", "Ana López", "--coach", "maria")
    coach("goal", "add", CLIENT, "lead-team", "--text", "Lead a team of five")
    coach(
        "kpi", "define", CLIENT, "salary", "--name", "Base salary", "--category", "salary",
        "--unit", "EUR", "--direction", "increase", "--target", "85000", "--due", "2026-12-31",
        "--goal", "lead-team",
    )  # fmt: skip
    coach(
        "kpi", "define", CLIENT, "stress", "--name", "Stress", "--category", "work-life-balance",
        "--unit", "level", "--direction", "decrease", "--target", "3", "--due", "2026-07-01",
        "--scale", "0..10", "--dimension", "personal",
    )  # fmt: skip
    coach("kpi", "baseline", CLIENT, "salary", "70000", "--at", "2026-01-01")
    coach("kpi", "baseline", CLIENT, "stress", "8", "--at", "2026-01-01", "--source", "survey")
    coach.on("2026-02-02T09:00:00Z")
    coach("measure", "record", CLIENT, "stress", "6", "--at", "2026-02-01", "--source", "survey")
    m2 = coach("measure", "record", CLIENT, "salary", "72000", "--at", "2026-02-01", "--note", "Raise")
    coach(
        "session", "log", CLIENT, "--notes", "Salary talk prep", "--kpi", "salary", "--action", "Draft case"
    )
    coach("feedback", "add", CLIENT, "--rating", "4", "--comment", "Clear next steps")
    coach.on("2026-03-01T09:00:00Z")
    coach(
        "kpi", "adjust", CLIENT, "stress", "--scale", "0..100", "--rescale",
        "--reason", "Survey moved to 0..100", "--at", "2026-03-01",
    )  # fmt: skip
    coach("kpi", "adjust", CLIENT, "salary", "--unit", "kEUR", "--factor", "0.001", "--reason", "Thousands")
    coach("measure", "correct", CLIENT, m2, "73000", "--reason", "Payslip says 73000")
    coach.on("2026-03-16T09:00:00Z")
    coach("measure", "record", CLIENT, "stress", "50", "--at", "2026-03-15")
    m4 = coach("measure", "record", CLIENT, "salary", "90", "--at", "2026-03-15", actor="joan")
    coach("measure", "retract", CLIENT, m4, "--reason", "That was the offer, not the salary")
    coach("measure", "record", CLIENT, "salary", "86", "--at", "2026-03-16")
    coach("milestone", "celebrate", CLIENT, "salary", "--note", "Offer signed")
    coach.on("2026-04-02T09:00:00Z")("kpi", "retire", CLIENT, "stress", "--reason", "New team, new measure")
    coach("feedback", "add", CLIENT, "--rating", "5", "--about", "kpi:salary", "--at", "2026-03-20")


def test_replay_has_one_step_per_event_in_recording_order(coach: Coach) -> None:
    a_full_journey(coach)
    events = coach.json("timeline", CLIENT)["events"]
    steps = coach.json("replay", CLIENT)["steps"]
    assert {e["type"] for e in events} == EVERY_EVENT_TYPE
    assert len(steps) == len(events) == 21  # 20 and the session's ActionOpened
    for step, event in zip(steps, events, strict=True):
        assert (step["seq"], step["type"], step["recorded_at"], step["summary"]) == (
            event["seq"],
            event["type"],
            event["recorded_at"],
            event["summary"],
        )
    assert [s["seq"] for s in steps] == sorted(s["seq"] for s in steps)


def test_replay_last_step_equals_progress_at_the_last_recording_time(coach: Coach) -> None:
    a_full_journey(coach)
    last = coach.json("replay", CLIENT)["steps"][-1]
    doc = coach.json("progress", CLIENT, "--as-of", last["recorded_at"])
    assert last["progress"] == doc["kpis"]
    salary = {i["kpi"]: i for i in last["progress"]}["salary"]
    assert (salary["unit"], salary["baseline"], salary["current"], salary["target"]) == ("kEUR", 70, 86, 85)
    assert salary["status"] == "achieved"


def test_each_replay_step_equals_progress_known_and_as_of_its_recording_time(coach: Coach) -> None:
    a_full_journey(coach)
    steps = coach.json("replay", CLIENT)["steps"]
    for step in steps:
        when = step["recorded_at"]
        doc = coach.json("progress", CLIENT, "--known-at", when, "--as-of", when)
        assert step["progress"] == doc["kpis"], f"step {step['seq']} ({step['type']})"


def test_replay_known_at_is_the_prefix_of_the_full_replay(coach: Coach) -> None:
    a_full_journey(coach)
    full = coach.json("replay", CLIENT)["steps"]
    cut = coach.json("replay", CLIENT, "--known-at", "2026-03-01T09:01:30")["steps"]
    assert cut == full[: len(cut)]
    assert cut[-1]["type"] == "KpiAdjusted" and len(cut) == 13  # 12 and the session's ActionOpened


def test_replay_steps_show_the_state_the_coach_saw_then(coach: Coach) -> None:
    a_full_journey(coach)
    steps = coach.json("replay", CLIENT)["steps"]
    by_type = [s for s in steps if s["type"] == "MeasurementCorrected"]
    [corrected] = by_type
    salary = {i["kpi"]: i for i in corrected["progress"]}["salary"]
    assert (salary["unit"], salary["current"]) == ("kEUR", 73)
    before = steps[steps.index(corrected) - 1]
    assert {i["kpi"]: i for i in before["progress"]}["salary"]["current"] == 72


def test_replay_reads_like_a_review(coach: Coach) -> None:
    a_full_journey(coach)
    lines = coach.cli.out("replay", CLIENT).splitlines()
    assert lines[0] == "2026-01-05 10:00  maria: Registered Ana López (coach maria)"
    assert any(line.startswith("2026-03-16 09:01  joan: Measured salary = 90") for line in lines)
    assert any("stress: on-track (progress 40.0%, current 6)" in line for line in lines)


# -- timeline ---------------------------------------------------------------------------------


def test_timeline_from_and_to_include_both_days_whole(coach: Coach) -> None:
    a_client_with_skill(coach)  # 2026-01-05
    for moment in (
        "2026-02-28T23:59:59.999999Z",
        "2026-03-01T00:00:00Z",
        "2026-03-01T12:00:00Z",
        "2026-03-02T23:59:59.999999Z",
        "2026-03-03T00:00:00Z",
    ):
        coach.clock.move_to(moment)
        coach.cli.run("session", "log", CLIENT, "--notes", f"at {moment}")

    def notes(*args: str) -> list[str]:
        events = coach.json("timeline", CLIENT, *args)["events"]
        return [e["summary"].removeprefix("Session: at ") for e in events if e["type"] == "SessionLogged"]

    assert notes("--from", "2026-03-01", "--to", "2026-03-02") == [
        "2026-03-01T00:00:00Z",
        "2026-03-01T12:00:00Z",
        "2026-03-02T23:59:59.999999Z",
    ]
    assert notes("--from", "2026-03-01", "--to", "2026-03-01") == [
        "2026-03-01T00:00:00Z",
        "2026-03-01T12:00:00Z",
    ]
    assert notes("--to", "2026-02-28") == ["2026-02-28T23:59:59.999999Z"]
    assert notes("--from", "2026-03-03") == ["2026-03-03T00:00:00Z"]
    assert len(coach.json("timeline", CLIENT, "--to", "2026-02-28")["events"]) == 4
    assert notes("--from", "2026-03-01", "--to", "2026-03-02", "--known-at", "2026-03-01T06:00") == [
        "2026-03-01T00:00:00Z"
    ]


def test_timeline_keeps_both_times_the_actor_and_the_data(coach: Coach) -> None:
    a_client_with_skill(coach)
    coach.on("2026-02-03T08:30:00Z")(
        "measure", "record", CLIENT, "skill", "60", "--at", "2026-02-01", "--note", "Exam", actor="joan"
    )
    doc = coach.json("timeline", CLIENT)
    assert doc["client"] == CLIENT
    events = doc["events"]
    assert [e["type"] for e in events] == [
        "ClientRegistered",
        "KpiDefined",
        "BaselineEstablished",
        "MeasurementRecorded",
    ]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    measured = events[-1]
    assert measured["recorded_at"] == "2026-02-03T08:30:00.000000+00:00"
    assert measured["effective_at"] == "2026-02-01T00:00:00.000000+00:00"
    assert measured["actor"] == "joan"
    assert measured["data"]["value"] == 60 and measured["data"]["note"] == "Exam"
    assert set(measured) == {"seq", "recorded_at", "effective_at", "actor", "type", "summary", "data"}
    assert events[0]["effective_at"] is None


# -- agenda ----------------------------------------------------------------------------------


@pytest.fixture
def coached(coach: Coach) -> Coach:
    """A session on 02-01, feedback on 02-10, a new target on 02-11, a measurement on 02-12."""
    a_client_with_skill(coach)
    coach.on("2026-02-01T10:00:00Z")("session", "log", CLIENT, "--notes", "Kick-off")
    coach.on("2026-02-10T10:00:00Z")("feedback", "add", CLIENT, "--rating", "3", "--comment", "Too fast")
    coach.on("2026-02-11T10:00:00Z")(
        "kpi", "adjust", CLIENT, "skill", "--target", "70", "--reason", "Realistic"
    )
    coach.on("2026-02-12T10:00:00Z")("measure", "record", CLIENT, "skill", "75")
    coach.on("2026-02-20T10:00:00Z")
    return coach


def test_agenda_now_covers_feedback_changes_and_the_milestone_to_celebrate(coached: Coach) -> None:
    doc = coached.json("agenda", CLIENT)
    assert [f["rating"] for f in doc["recent_feedback"]] == [3]
    assert [(a["kpi"], a["version"]) for a in doc["adjustments_since_last_session"]] == [("skill", 2)]
    assert [i["kpi"] for i in doc["to_celebrate"]] == ["skill"]
    assert doc["measurements_due"] == []


def test_agenda_known_at_shows_what_the_coach_knew_then(coached: Coach) -> None:
    doc = coached.json("agenda", CLIENT, "--as-of", "2026-02-10T12:00", "--known-at", "2026-02-10T12:00")
    assert doc["known_at"] == "2026-02-10T12:00:00.000000+00:00"
    assert [f["rating"] for f in doc["recent_feedback"]] == [3]
    assert doc["adjustments_since_last_session"] == []
    assert doc["to_celebrate"] == []
    [due] = doc["measurements_due"]
    assert (due["kpi"], due["last_measured"]) == ("skill", "2026-01-01T00:00:00.000000+00:00")
    before_feedback = coached.json("agenda", CLIENT, "--as-of", "2026-02-09", "--known-at", "2026-02-09")
    assert before_feedback["recent_feedback"] == []


def test_agenda_as_of_ignores_what_happened_after_that_date(coached: Coach) -> None:
    doc = coached.json("agenda", CLIENT, "--as-of", "2026-02-05")
    assert doc["recent_feedback"] == []
    assert [m["kpi"] for m in doc["measurements_due"]] == ["skill"]  # last measured at the baseline


def test_history_of_a_back_dated_adjustment_shows_what_it_changed_at_its_own_date(coach: Coach) -> None:
    """B, recorded after A but effective before it, changed the target from 10 to 6 until A applies."""
    a_client_with_skill(coach)
    coach("kpi", "adjust", CLIENT, "skill", "--target", "80", "--reason", "A", "--at", "2026-03-01")
    coach("kpi", "adjust", CLIENT, "skill", "--target", "90", "--reason", "B", "--at", "2026-02-01")
    coach("kpi", "adjust", CLIENT, "skill", "--name", "Python", "--reason", "C", "--at", "2026-01-01")
    versions = coach.json("history", CLIENT, "skill")["versions"]
    assert [v["changes"] for v in versions[1:]] == [
        {"target": [100, 80]},
        {"target": [100, 90]},
        {"name": ["Python skill", "Python"]},
    ]
    assert coach.kpi("skill", "--as-of", "2026-02-15")["target"] == 90
    assert coach.kpi("skill", "--as-of", "2026-03-15")["target"] == 80
