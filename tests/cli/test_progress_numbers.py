"""DOMAIN.md's progress numbers, through the real CLI on a real store.

Recording times are controlled with freezegun; the clock only moves forward, as it does
for a coach, and entries are back-dated with ``--at`` where DOMAIN.md's examples say so.
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


@pytest.fixture
def clock() -> Iterator[FrozenDateTimeFactory]:
    """Both worked examples' KPIs are defined on 2026-01-05.

    The PostgreSQL pool's own threads keep real time, or closing the pool would wait forever.
    """
    with freeze_time("2026-01-05T10:00:00Z", ignore=["psycopg"]) as frozen:
        assert isinstance(frozen, FrozenDateTimeFactory)
        yield frozen


def define(cli: Cli, kpi: str, *, target: str, due: str, direction: str = "increase", **opts: str) -> None:
    args = {
        "name": kpi.title(),
        "category": "skill",
        "unit": "points",
        "direction": direction,
        "target": target,
        "due": due,
        **opts,
    }
    cli.run("kpi", "define", CLIENT, kpi, *[x for k, v in args.items() for x in (f"--{k}", v)])


def progress(cli: Cli, *extra: str) -> dict[str, dict[str, Any]]:
    doc = cli.json("progress", CLIENT, *extra)
    return {item["kpi"]: item for item in doc["kpis"]}


def numbers(item: dict[str, Any]) -> tuple[Any, ...]:
    return (
        item["baseline"],
        item["current"],
        item["target"],
        item["progress_pct"],
        item["expected_pct"],
        item["status"],
    )


@pytest.fixture
def worked_examples(cli: Cli, clock: FrozenDateTimeFactory) -> Cli:
    """DOMAIN.md's worked examples 1 and 2, recorded as a coach would."""
    cli.run("client", "add", CLIENT, "--name", "Ana López", "--coach", "maria")
    define(cli, "skill", target="100", due="2026-12-31")
    define(
        cli,
        "stress",
        target="3",
        due="2026-07-01",
        direction="decrease",
        category="work-life-balance",
        scale="0..10",
        dimension="personal",
    )
    cli.run("kpi", "baseline", CLIENT, "skill", "50", "--at", "2026-01-01")
    cli.run("kpi", "baseline", CLIENT, "stress", "8", "--at", "2026-01-01")
    clock.move_to("2026-02-01T18:00:00Z")
    cli.run("measure", "record", CLIENT, "stress", "6", "--at", "2026-02-01")
    clock.move_to("2026-03-01T09:00:00Z")
    cli.run("measure", "record", CLIENT, "skill", "60", "--at", "2026-03-01")
    cli.run(
        "kpi", "adjust", CLIENT, "stress", "--scale", "0..100", "--rescale",
        "--reason", "The wellbeing survey moved to 0..100", "--at", "2026-03-01",
    )  # fmt: skip
    clock.move_to("2026-03-15T17:00:00Z")
    cli.run("measure", "record", CLIENT, "stress", "50", "--at", "2026-03-15")
    clock.move_to("2026-04-20T08:00:00Z")
    return cli


# -- worked examples ---------------------------------------------------------------------


def test_worked_example_1_skill_is_on_track_on_april_first(worked_examples: Cli) -> None:
    skill = progress(worked_examples, "--as-of", "2026-04-01")["skill"]
    assert numbers(skill) == (50, 60, 100, 20.0, 24.7, "on-track")
    assert skill["measurements"] == 1
    assert skill["trend_per_month"] == pytest.approx(5.0847)  # 10 points in 59 days, per 30 days
    assert (skill["due"], skill["unit"], skill["direction"], skill["retired"]) == (
        "2026-12-31",
        "points",
        "increase",
        False,
    )


def test_worked_example_2_shows_every_value_in_the_new_scale_after_the_rescale(worked_examples: Cli) -> None:
    stress = progress(worked_examples, "--as-of", "2026-04-01")["stress"]
    assert numbers(stress) == (80, 50, 30, 60.0, 49.7, "on-track")
    assert stress["measurements"] == 2


def test_worked_example_2_february_value_is_rescaled_once_the_new_scale_is_in_force(
    worked_examples: Cli,
) -> None:
    stress = progress(worked_examples, "--as-of", "2026-03-14")["stress"]
    assert (stress["baseline"], stress["current"], stress["target"]) == (80, 60, 30)
    assert stress["progress_pct"] == 40.0


def test_worked_example_2_as_of_mid_february_uses_the_old_scale(worked_examples: Cli) -> None:
    stress = progress(worked_examples, "--as-of", "2026-02-15")["stress"]
    assert numbers(stress) == (8, 6, 3, 40.0, 24.9, "on-track")
    assert stress["measurements"] == 1


def test_the_as_of_date_is_echoed_as_midnight_utc(worked_examples: Cli) -> None:
    doc = worked_examples.json("progress", CLIENT, "--as-of", "2026-04-01")
    assert (doc["client"], doc["as_of"], doc["known_at"]) == (
        CLIENT,
        "2026-04-01T00:00:00.000000+00:00",
        None,
    )


def test_without_as_of_progress_is_as_of_now(worked_examples: Cli) -> None:
    doc = worked_examples.json("progress", CLIENT)
    assert doc["as_of"] == "2026-04-20T08:00:00.000000+00:00"
    assert progress(worked_examples)["stress"]["current"] == 50


def test_the_readable_table_shows_the_same_numbers(worked_examples: Cli) -> None:
    text = worked_examples.out("progress", CLIENT, "--as-of", "2026-04-01")
    rows = {line.split()[0]: line.split() for line in text.splitlines()[3:]}
    assert rows["stress"][1:4] == ["80", "50", "30"]
    assert "49.7" in rows["stress"] and "on-track" in rows["stress"]
    assert "24.7" in rows["skill"]
    assert "\x1b[" not in text  # no colour when piped


# -- a unit factor (EUR -> kEUR) -----------------------------------------------------------


@pytest.fixture
def salary(cli: Cli, clock: FrozenDateTimeFactory) -> Cli:
    cli.run("client", "add", CLIENT, "--name", "Ana López")
    define(cli, "salary", target="85000", due="2026-12-31", category="salary", unit="EUR")
    cli.run("kpi", "baseline", CLIENT, "salary", "70000", "--at", "2026-01-01")
    clock.move_to("2026-02-02T10:00:00Z")
    cli.run("measure", "record", CLIENT, "salary", "76000", "--at", "2026-02-01")
    clock.move_to("2026-03-01T10:00:00Z")
    return cli


def test_a_unit_factor_converts_baseline_values_and_target(salary: Cli, clock: FrozenDateTimeFactory) -> None:
    salary.run(
        "kpi", "adjust", CLIENT, "salary", "--unit", "kEUR", "--factor", "0.001",
        "--reason", "Report salaries in thousands", "--at", "2026-03-01",
    )  # fmt: skip
    clock.move_to("2026-03-16T10:00:00Z")
    salary.run("measure", "record", CLIENT, "salary", "79", "--at", "2026-03-15")
    after = progress(salary, "--as-of", "2026-04-01")["salary"]
    assert after["unit"] == "kEUR"
    assert numbers(after) == (70, 79, 85, 60.0, 24.7, "on-track")
    before = progress(salary, "--as-of", "2026-02-15")["salary"]
    assert before["unit"] == "EUR"
    assert numbers(before) == (70000, 76000, 85000, 40.0, 12.4, "on-track")
    feb = progress(salary, "--as-of", "2026-03-02")["salary"]
    assert (feb["baseline"], feb["current"], feb["target"]) == (70, 76, 85)


def test_a_new_target_given_with_the_factor_overrides_the_conversion(
    salary: Cli, clock: FrozenDateTimeFactory
) -> None:
    salary.run(
        "kpi", "adjust", CLIENT, "salary", "--unit", "kEUR", "--factor", "0.001", "--target", "90",
        "--reason", "Thousands, and a higher aim", "--at", "2026-03-01",
    )  # fmt: skip
    clock.move_to("2026-03-16T10:00:00Z")
    salary.run("measure", "record", CLIENT, "salary", "79", "--at", "2026-03-15")
    after = progress(salary, "--as-of", "2026-04-01")["salary"]
    assert numbers(after) == (70, 79, 90, 45.0, 24.7, "on-track")
    assert progress(salary, "--as-of", "2026-02-15")["salary"]["target"] == 85000


def test_a_later_target_change_applies_from_its_own_effective_date(
    salary: Cli, clock: FrozenDateTimeFactory
) -> None:
    salary.run(
        "kpi", "adjust", CLIENT, "salary", "--unit", "kEUR", "--factor", "0.001",
        "--reason", "Thousands", "--at", "2026-03-01",
    )  # fmt: skip
    clock.move_to("2026-04-02T10:00:00Z")
    salary.run("kpi", "adjust", CLIENT, "salary", "--target", "95", "--reason", "Promotion in sight")
    assert progress(salary, "--as-of", "2026-04-01")["salary"]["target"] == 85
    now = progress(salary)["salary"]
    assert (now["target"], now["baseline"], now["current"]) == (95, 70, 76)
    assert now["progress_pct"] == 24.0


def test_a_value_entered_before_the_factor_is_read_in_the_old_unit(salary: Cli) -> None:
    salary.run(
        "kpi", "adjust", CLIENT, "salary", "--unit", "kEUR", "--factor", "0.001",
        "--reason", "Thousands", "--at", "2026-03-01",
    )  # fmt: skip
    salary.run("measure", "record", CLIENT, "salary", "77000", "--at", "2026-02-20")
    item = progress(salary, "--as-of", "2026-04-01")["salary"]
    assert item["current"] == 77
    assert progress(salary, "--as-of", "2026-02-25")["salary"]["current"] == 77000


# -- the rules one at a time -----------------------------------------------------------------


@pytest.fixture
def ten_days(cli: Cli, clock: FrozenDateTimeFactory) -> Cli:
    """KPIs whose expected_pct is exactly 50 on 2026-01-06: baseline 0 on 01-01, due 01-11."""
    cli.run("client", "add", CLIENT, "--name", "Ana López")
    return cli


def a_kpi_measured(
    cli: Cli, kpi: str, *values: str, target: str = "100", direction: str = "increase"
) -> None:
    define(cli, kpi, target=target, due="2026-01-11", direction=direction)
    cli.run("kpi", "baseline", CLIENT, kpi, "0" if direction == "increase" else "100", "--at", "2026-01-01")
    for value in values:
        cli.run("measure", "record", CLIENT, kpi, "--at", "2026-01-02", "--", value)


@pytest.mark.parametrize(
    ("current", "progress_pct", "status"),
    [
        ("40", 40.0, "on-track"),  # exactly expected - 10
        ("39.99", 40.0, "at-risk"),  # rounds to 40.0 but compares unrounded
        ("25", 25.0, "at-risk"),  # exactly expected - 25
        ("24.9", 24.9, "off-track"),
        ("100", 100.0, "achieved"),
        ("120", 120.0, "achieved"),
        ("-10", -10.0, "off-track"),
    ],
)
def test_status_thresholds(ten_days: Cli, current: str, progress_pct: float, status: str) -> None:
    a_kpi_measured(ten_days, "k", current)
    item = progress(ten_days, "--as-of", "2026-01-06")["k"]
    assert (item["progress_pct"], item["expected_pct"], item["status"]) == (progress_pct, 50.0, status)


def test_status_for_a_decreasing_kpi_counts_reaching_or_going_below_the_target(ten_days: Cli) -> None:
    a_kpi_measured(ten_days, "down", "20", target="20", direction="decrease")
    a_kpi_measured(ten_days, "half", "50", target="0", direction="decrease")
    items = progress(ten_days, "--as-of", "2026-01-06")
    assert (items["down"]["status"], items["down"]["progress_pct"]) == ("achieved", 100.0)
    assert (items["half"]["status"], items["half"]["progress_pct"]) == ("on-track", 50.0)


def test_past_the_due_date_an_unmet_kpi_is_overdue_and_expected_is_clamped(ten_days: Cli) -> None:
    a_kpi_measured(ten_days, "late", "90")
    a_kpi_measured(ten_days, "done", "100")
    items = progress(ten_days, "--as-of", "2026-01-12")
    assert (items["late"]["status"], items["late"]["expected_pct"]) == ("overdue", 100.0)
    assert items["done"]["status"] == "achieved"
    assert progress(ten_days, "--as-of", "2025-12-01")["late"]["status"] == "no-baseline"


def test_no_baseline_and_no_data(ten_days: Cli) -> None:
    define(ten_days, "bare", target="100", due="2026-01-11")
    a_kpi_measured(ten_days, "based")
    items = progress(ten_days, "--as-of", "2026-01-06")
    assert items["bare"]["status"] == "no-baseline"
    assert (items["bare"]["baseline"], items["bare"]["expected_pct"]) == (None, None)
    assert items["based"]["status"] == "no-data"
    assert (items["based"]["baseline"], items["based"]["current"], items["based"]["progress_pct"]) == (
        0,
        None,
        None,
    )
    assert items["based"]["expected_pct"] == 50.0
    assert items["based"]["trend_per_month"] is None


def test_percentages_round_half_away_from_zero(ten_days: Cli) -> None:
    a_kpi_measured(ten_days, "up", "0.5", target="200")  # 0.25 %
    define(ten_days, "neg", target="200", due="2026-01-11")
    ten_days.run("kpi", "baseline", CLIENT, "neg", "0", "--at", "2026-01-01")
    ten_days.run("measure", "record", CLIENT, "neg", "--at", "2026-01-02", "--", "-0.5")  # -0.25 %
    items = progress(ten_days, "--as-of", "2026-01-06")
    assert items["up"]["progress_pct"] == 0.3
    assert items["neg"]["progress_pct"] == -0.3


def test_target_equal_to_baseline_gives_no_progress_pct(ten_days: Cli) -> None:
    define(ten_days, "flat", target="5", due="2026-01-11")
    ten_days.run("kpi", "baseline", CLIENT, "flat", "5", "--at", "2026-01-01")
    ten_days.run("measure", "record", CLIENT, "flat", "6", "--at", "2026-01-02")
    item = progress(ten_days, "--as-of", "2026-01-06")["flat"]
    assert (item["progress_pct"], item["status"]) == (None, "achieved")


def test_expected_pct_counts_fractional_days_when_times_are_given(ten_days: Cli) -> None:
    a_kpi_measured(ten_days, "k", "50")
    assert progress(ten_days, "--as-of", "2026-01-06T12:00:00")["k"]["expected_pct"] == 55.0


def test_current_is_the_latest_by_effective_time_with_ties_by_recording_order(
    ten_days: Cli, clock: FrozenDateTimeFactory
) -> None:
    a_kpi_measured(ten_days, "k", "30", "40")
    clock.tick(60)
    ten_days.run("measure", "record", CLIENT, "k", "90", "--at", "2026-01-01T12:00")  # earlier in effect
    item = progress(ten_days, "--as-of", "2026-01-06")["k"]
    assert (item["current"], item["measurements"]) == (40, 3)


def test_measurements_before_the_baseline_date_are_ignored(ten_days: Cli) -> None:
    define(ten_days, "k", target="100", due="2026-01-11")
    ten_days.run("measure", "record", CLIENT, "k", "70", "--at", "2025-12-20")
    ten_days.run("kpi", "baseline", CLIENT, "k", "10", "--at", "2026-01-01")
    item = progress(ten_days, "--as-of", "2026-01-06")["k"]
    assert (item["status"], item["current"], item["measurements"]) == ("no-data", None, 0)
    timeline = ten_days.json("timeline", CLIENT)["events"]
    assert [e["type"] for e in timeline].count("MeasurementRecorded") == 1


def test_measurements_after_the_as_of_date_are_not_counted(ten_days: Cli, clock: FrozenDateTimeFactory) -> None:
    define(ten_days, "k", target="100", due="2026-01-11")
    ten_days.run("kpi", "baseline", CLIENT, "k", "0", "--at", "2026-01-01")
    clock.move_to("2026-01-08T12:00:00Z")  # a measurement is recorded on or after its date
    ten_days.run("measure", "record", CLIENT, "k", "20", "--at", "2026-01-03")
    ten_days.run("measure", "record", CLIENT, "k", "60", "--at", "2026-01-08")
    assert progress(ten_days, "--as-of", "2026-01-06")["k"]["current"] == 20
    assert progress(ten_days, "--as-of", "2026-01-08")["k"]["current"] == 60


def test_an_entry_without_at_is_effective_when_it_was_recorded(
    ten_days: Cli, clock: FrozenDateTimeFactory
) -> None:
    define(ten_days, "k", target="100", due="2026-01-11")
    ten_days.run("kpi", "baseline", CLIENT, "k", "0", "--at", "2026-01-01")
    clock.move_to("2026-01-07T15:00:00Z")
    ten_days.run("measure", "record", CLIENT, "k", "70")
    assert progress(ten_days, "--as-of", "2026-01-07")["k"]["current"] is None
    assert progress(ten_days, "--as-of", "2026-01-07T15:00:00")["k"]["current"] == 70


def test_a_correction_changes_current_and_a_retraction_removes_it(
    ten_days: Cli, clock: FrozenDateTimeFactory
) -> None:
    define(ten_days, "k", target="100", due="2026-01-11")
    ten_days.run("kpi", "baseline", CLIENT, "k", "0", "--at", "2026-01-01")
    first = ten_days.out("measure", "record", CLIENT, "k", "30", "--at", "2026-01-02")
    second = ten_days.out("measure", "record", CLIENT, "k", "45", "--at", "2026-01-03")
    ten_days.run("measure", "correct", CLIENT, second, "40", "--reason", "Misread the survey")
    assert progress(ten_days, "--as-of", "2026-01-06")["k"]["current"] == 40
    ten_days.run("measure", "retract", CLIENT, second, "--reason", "Wrong client")
    item = progress(ten_days, "--as-of", "2026-01-06")["k"]
    assert (item["current"], item["measurements"]) == (30, 1)
    ten_days.run("measure", "retract", CLIENT, first, "--reason", "Wrong client too")
    assert progress(ten_days, "--as-of", "2026-01-06")["k"]["status"] == "no-data"


def test_a_re_baseline_replaces_the_baseline_from_its_own_date(ten_days: Cli) -> None:
    define(ten_days, "k", target="100", due="2026-01-11")
    ten_days.run("kpi", "baseline", CLIENT, "k", "0", "--at", "2026-01-01")
    ten_days.run("measure", "record", CLIENT, "k", "40", "--at", "2026-01-02")
    ten_days.run("kpi", "baseline", CLIENT, "k", "20", "--at", "2026-01-03", "--reason", "New survey")
    ten_days.run("measure", "record", CLIENT, "k", "60", "--at", "2026-01-04")
    before = progress(ten_days, "--as-of", "2026-01-02T12:00")["k"]
    assert (before["baseline"], before["current"]) == (0, 40)
    after = progress(ten_days, "--as-of", "2026-01-06")["k"]
    assert (after["baseline"], after["current"], after["measurements"]) == (20, 60, 1)
    assert after["progress_pct"] == 50.0
    assert after["expected_pct"] == 37.5  # 3 of 8 days since the new baseline date


def test_trend_is_the_least_squares_slope_per_thirty_days(ten_days: Cli, clock: FrozenDateTimeFactory) -> None:
    define(ten_days, "k", target="100", due="2026-12-31")
    ten_days.run("kpi", "baseline", CLIENT, "k", "0", "--at", "2026-01-01")
    clock.move_to("2026-02-01T09:00:00Z")  # a measurement is recorded on or after its date
    for day, value in (("2026-01-11", "10"), ("2026-01-21", "30"), ("2026-01-31", "30")):
        ten_days.run("measure", "record", CLIENT, "k", value, "--at", day)
    # points (0,0) (10,10) (20,30) (30,30): slope 550/500 = 1.1 per day
    assert progress(ten_days, "--as-of", "2026-02-01")["k"]["trend_per_month"] == 33.0


def test_a_retired_kpi_is_flagged_from_its_retirement_on(ten_days: Cli, clock: FrozenDateTimeFactory) -> None:
    a_kpi_measured(ten_days, "k", "50")
    clock.move_to("2026-01-08T09:00:00Z")
    ten_days.run("kpi", "retire", CLIENT, "k", "--reason", "Changed path")
    assert progress(ten_days, "--as-of", "2026-01-08")["k"]["retired"] is False
    now = progress(ten_days)["k"]
    assert (now["retired"], now["current"]) == (True, 50)
