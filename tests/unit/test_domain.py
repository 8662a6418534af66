"""The client aggregate: given events, when a command, then new events or a refusal.

Every refusal of DOMAIN.md is checked here without I/O; a refused command must leave
no pending event and no changed state behind.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from coachledger.domain import (
    Client,
    ClientWasForgotten,
    DomainError,
    DuplicateId,
    InvalidValue,
    OutsideScale,
    ReasonRequired,
    RetiredKpi,
    UnknownId,
)

ACTOR = "maria"
DEFINED_ON = datetime(2026, 1, 5, 10, tzinfo=UTC)


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# -- builders with sensible defaults ------------------------------------------------------


def a_client() -> Client:
    client = Client.register(ACTOR, "ana-lopez", "Ana López", "maria")
    client.set_goal(ACTOR, "lead-team", "Lead a team of five", "long")
    return client


def define(client: Client, kpi: str = "satisfaction", **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "name": "Job satisfaction",
        "category": "job-satisfaction",
        "unit": "points",
        "direction": "increase",
        "target": Decimal(8),
        "due": day("2026-12-31"),
        "now": DEFINED_ON,
        "scale_min": Decimal(1),
        "scale_max": Decimal(10),
        "goal": "lead-team",
    }
    fields.update(overrides)
    client.define_kpi(ACTOR, kpi, **fields)


def a_salary_kpi(client: Client, target: str = "85000") -> None:
    define(
        client,
        "salary",
        name="Base salary",
        category="salary",
        unit="EUR",
        target=Decimal(target),
        scale_min=None,
        scale_max=None,
    )


def given(*steps: Callable[[Client], Any]) -> Client:
    """A client after some commands, with their events already saved (none pending)."""
    client = a_client()
    for step in steps:
        step(client)
    client.collect_events()
    return client


def with_satisfaction(c: Client) -> None:
    define(c)


def with_baseline(c: Client) -> None:
    c.establish_baseline(ACTOR, "satisfaction", Decimal(5), day("2026-01-01"))


def with_measurement(c: Client) -> None:
    c.record_measurement(ACTOR, "satisfaction", Decimal(6), day("2026-02-01"))


def then_events(client: Client) -> list[Any]:
    return list(client.collect_events())


def state(client: Client) -> dict[str, Any]:
    return copy.deepcopy({k: v for k, v in vars(client).items() if not k.startswith("_")})


def refused(client: Client, error: type[DomainError], command: Callable[[Client], Any], match: str) -> None:
    """The command raises ``error`` and leaves neither a pending event nor a changed state."""
    before = state(client)
    with pytest.raises(error, match=match):
        command(client)
    assert then_events(client) == []
    assert state(client) == before


# -- what is recorded ---------------------------------------------------------------------


def test_registering_a_client_records_one_event_with_the_actor() -> None:
    client = Client.register(ACTOR, "ana-lopez", " Ana López ", None)
    [event] = then_events(client)
    assert isinstance(event, Client.Registered)
    assert (event.slug, event.name, event.coach, event.actor) == ("ana-lopez", "Ana López", None, ACTOR)


def test_defining_a_kpi_records_every_field_of_the_definition() -> None:
    client = given()
    define(client, dimension="personal", horizon="long", method="survey", defined_by="client")
    [event] = then_events(client)
    assert isinstance(event, Client.KpiDefined)
    assert event.kpi == "satisfaction"
    assert (event.target, event.scale_min, event.scale_max) == (Decimal(8), Decimal(1), Decimal(10))
    assert (event.dimension, event.horizon, event.method, event.goal, event.defined_by) == (
        "personal",
        "long",
        "survey",
        "lead-team",
        "client",
    )


def test_measurements_get_sequential_ids_and_keep_both_values_and_times() -> None:
    client = given(with_satisfaction, with_baseline)
    first = client.record_measurement(ACTOR, "satisfaction", Decimal(6), day("2026-02-01"), "survey", "Q1")
    second = client.record_measurement(ACTOR, "satisfaction", Decimal(7), day("2026-03-01"))
    assert (first, second) == ("m1", "m2")
    events = then_events(client)
    assert [type(e) for e in events] == [Client.MeasurementRecorded] * 2
    assert (events[0].value, events[0].effective_at, events[0].source, events[0].note) == (
        Decimal(6),
        day("2026-02-01"),
        "survey",
        "Q1",
    )


def test_a_correction_and_a_retraction_are_new_events_and_keep_the_original() -> None:
    client = given(with_satisfaction, with_baseline, with_measurement)
    client.correct_measurement(ACTOR, "m1", Decimal("6.5"), "typo in the survey export")
    client.retract_measurement(ACTOR, "m1", "wrong client")
    corrected, retracted = then_events(client)
    assert isinstance(corrected, Client.MeasurementCorrected)
    assert (corrected.measurement_id, corrected.value, corrected.reason) == (
        "m1",
        Decimal("6.5"),
        "typo in the survey export",
    )
    assert isinstance(retracted, Client.MeasurementRetracted)
    assert client.measurements["m1"][2] is True


def test_an_adjustment_records_only_the_changed_fields_and_its_reason() -> None:
    client = given(with_satisfaction)
    client.adjust_kpi(
        ACTOR,
        "satisfaction",
        reason="Survey moved to 0..100",
        effective_at=day("2026-03-01"),
        scale_min=Decimal(0),
        scale_max=Decimal(100),
        rescale=True,
    )
    [event] = then_events(client)
    assert isinstance(event, Client.KpiAdjusted)
    assert (event.scale_min, event.scale_max, event.rescale, event.reason) == (
        Decimal(0),
        Decimal(100),
        True,
        "Survey moved to 0..100",
    )
    assert event.target is None and event.unit is None and event.factor is None


def test_a_re_baseline_with_a_reason_is_recorded() -> None:
    client = given(with_satisfaction, with_baseline)
    client.establish_baseline(ACTOR, "satisfaction", Decimal(4), day("2026-02-01"), reason="new survey")
    [event] = then_events(client)
    assert isinstance(event, Client.BaselineEstablished)
    assert (event.value, event.reason) == (Decimal(4), "new survey")


def test_values_are_checked_against_the_scale_in_force_at_their_own_effective_date() -> None:
    client = given(
        with_satisfaction,
        lambda c: c.adjust_kpi(
            ACTOR,
            "satisfaction",
            reason="finer scale",
            effective_at=day("2026-03-01"),
            scale_min=Decimal(0),
            scale_max=Decimal(100),
            rescale=True,
        ),
    )
    client.record_measurement(ACTOR, "satisfaction", Decimal(70), day("2026-03-15"))
    client.record_measurement(ACTOR, "satisfaction", Decimal(7), day("2026-02-15"))
    assert len(then_events(client)) == 2
    refused(
        client,
        OutsideScale,
        lambda c: c.record_measurement(ACTOR, "satisfaction", Decimal(70), day("2026-02-15")),
        "outside the KPI's scale 1..10",
    )


# -- every refusal of DOMAIN.md ------------------------------------------------------------


def test_a_duplicate_goal_id_is_refused() -> None:
    refused(
        given(), DuplicateId, lambda c: c.set_goal(ACTOR, "lead-team", "Again", "short"), "already exists"
    )


def test_a_duplicate_kpi_id_is_refused() -> None:
    refused(given(with_satisfaction), DuplicateId, lambda c: define(c), "KPI 'satisfaction' already exists")


def test_a_kpi_pointing_at_an_unknown_goal_is_refused() -> None:
    refused(given(), UnknownId, lambda c: define(c, goal="no-such-goal"), "unknown goal")


@pytest.mark.parametrize("bad_id", ["Ana", "", "a b", "-x", "x" * 65])
def test_an_id_that_is_not_a_slug_is_refused(bad_id: str) -> None:
    refused(given(), InvalidValue, lambda c: define(c, bad_id), "must be 1-64 lowercase")


@pytest.mark.parametrize("value", ["0", "10.5", "-1", "11"])
def test_a_baseline_outside_the_scale_is_refused(value: str) -> None:
    refused(
        given(with_satisfaction),
        OutsideScale,
        lambda c: c.establish_baseline(ACTOR, "satisfaction", Decimal(value), day("2026-01-01")),
        "outside the KPI's scale 1..10",
    )


@pytest.mark.parametrize("value", ["0.99", "10.01"])
def test_a_measurement_outside_the_scale_is_refused(value: str) -> None:
    refused(
        given(with_satisfaction, with_baseline),
        OutsideScale,
        lambda c: c.record_measurement(ACTOR, "satisfaction", Decimal(value), day("2026-02-01")),
        "outside the KPI's scale",
    )


def test_a_correction_outside_the_scale_is_refused() -> None:
    refused(
        given(with_satisfaction, with_baseline, with_measurement),
        OutsideScale,
        lambda c: c.correct_measurement(ACTOR, "m1", Decimal(12), "typo"),
        "outside the KPI's scale",
    )


def test_the_scale_bounds_themselves_are_accepted() -> None:
    client = given(with_satisfaction, with_baseline)
    client.record_measurement(ACTOR, "satisfaction", Decimal(1), day("2026-02-01"))
    client.record_measurement(ACTOR, "satisfaction", Decimal(10), day("2026-02-02"))
    assert len(then_events(client)) == 2


def test_a_measurement_on_a_retired_kpi_is_refused() -> None:
    client = given(
        with_satisfaction,
        with_baseline,
        lambda c: c.retire_kpi(ACTOR, "satisfaction", "no longer relevant", day("2026-02-01")),
    )
    refused(
        client,
        RetiredKpi,
        lambda c: c.record_measurement(ACTOR, "satisfaction", Decimal(6), day("2026-01-15")),
        "is retired",
    )
    refused(
        client,
        RetiredKpi,
        lambda c: c.establish_baseline(ACTOR, "satisfaction", Decimal(6), day("2026-01-15"), reason="x"),
        "is retired",
    )


def test_a_measurement_on_an_unknown_kpi_is_refused() -> None:
    refused(
        given(with_satisfaction),
        UnknownId,
        lambda c: c.record_measurement(ACTOR, "salary", Decimal(6), day("2026-02-01")),
        "unknown KPI 'salary'",
    )


def test_an_unknown_source_is_refused() -> None:
    refused(
        given(with_satisfaction, with_baseline),
        InvalidValue,
        lambda c: c.record_measurement(ACTOR, "satisfaction", Decimal(6), day("2026-02-01"), "rumour"),
        "source must be one of",
    )


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_an_adjustment_without_a_reason_is_refused(reason: str | None) -> None:
    refused(
        given(with_satisfaction),
        ReasonRequired,
        lambda c: c.adjust_kpi(
            ACTOR, "satisfaction", reason=reason, effective_at=day("2026-03-01"), target=Decimal(9)
        ),
        "needs a reason",
    )


def test_an_adjustment_that_changes_nothing_is_refused() -> None:
    refused(
        given(with_satisfaction),
        InvalidValue,
        lambda c: c.adjust_kpi(ACTOR, "satisfaction", reason="why not", effective_at=day("2026-03-01")),
        "at least one field",
    )


def test_a_rescale_without_a_new_scale_is_refused() -> None:
    refused(
        given(with_satisfaction),
        InvalidValue,
        lambda c: c.adjust_kpi(
            ACTOR, "satisfaction", reason="x", effective_at=day("2026-03-01"), target=Decimal(9), rescale=True
        ),
        "--rescale needs a new --scale",
    )


@pytest.mark.parametrize("factor", ["0", "-0.001"])
def test_a_factor_that_is_not_positive_is_refused(factor: str) -> None:
    refused(
        given(lambda c: a_salary_kpi(c)),
        InvalidValue,
        lambda c: c.adjust_kpi(
            ACTOR, "salary", reason="kEUR", effective_at=day("2026-03-01"), factor=Decimal(factor)
        ),
        "positive",
    )


@pytest.mark.parametrize("target", ["0", "11", "-3"])
def test_a_target_outside_the_scale_is_refused_at_definition(target: str) -> None:
    refused(given(), OutsideScale, lambda c: define(c, target=Decimal(target)), "target .* outside")


def test_an_adjusted_target_outside_the_scale_in_force_is_refused() -> None:
    refused(
        given(with_satisfaction),
        OutsideScale,
        lambda c: c.adjust_kpi(
            ACTOR, "satisfaction", reason="stretch", effective_at=day("2026-03-01"), target=Decimal(12)
        ),
        "target 12 is outside the KPI's scale 1..10",
    )


def test_an_adjusted_target_is_checked_against_the_new_scale_it_comes_with() -> None:
    client = given(with_satisfaction)
    refused(
        client,
        OutsideScale,
        lambda c: c.adjust_kpi(
            ACTOR,
            "satisfaction",
            reason="finer",
            effective_at=day("2026-03-01"),
            scale_min=Decimal(0),
            scale_max=Decimal(100),
            rescale=True,
            target=Decimal(120),
        ),
        "outside the KPI's scale 0..100",
    )
    client.adjust_kpi(
        ACTOR,
        "satisfaction",
        reason="finer",
        effective_at=day("2026-03-01"),
        scale_min=Decimal(0),
        scale_max=Decimal(100),
        rescale=True,
        target=Decimal(90),
    )
    assert len(then_events(client)) == 1


def test_a_scale_whose_minimum_is_not_below_its_maximum_is_refused() -> None:
    refused(
        given(),
        InvalidValue,
        lambda c: define(c, scale_min=Decimal(5), scale_max=Decimal(5), target=Decimal(5)),
        "must be below",
    )


@pytest.mark.parametrize("due", ["2026-01-05T10:00:00", "2026-01-01"])
def test_a_due_date_not_after_the_definition_is_refused(due: str) -> None:
    refused(given(), InvalidValue, lambda c: define(c, due=day(due)), "must be after the definition date")


def test_an_adjusted_due_date_before_the_definition_is_refused() -> None:
    refused(
        given(with_satisfaction),
        InvalidValue,
        lambda c: c.adjust_kpi(
            ACTOR, "satisfaction", reason="earlier", effective_at=day("2026-03-01"), due=day("2025-12-31")
        ),
        "must be after the KPI's definition date",
    )


@pytest.mark.parametrize("rating", [0, 6, -1])
def test_a_rating_outside_one_to_five_is_refused(rating: int) -> None:
    refused(
        given(),
        InvalidValue,
        lambda c: c.receive_feedback(ACTOR, rating, None, "session", day("2026-02-01")),
        "rating must be between 1 and 5",
    )


def test_feedback_about_an_unknown_kpi_or_topic_is_refused() -> None:
    client = given(with_satisfaction)
    refused(
        client,
        UnknownId,
        lambda c: c.receive_feedback(ACTOR, 4, None, "kpi:salary", day("2026-02-01")),
        "unknown KPI",
    )
    refused(
        client,
        InvalidValue,
        lambda c: c.receive_feedback(ACTOR, 4, None, "weather", day("2026-02-01")),
        "about must be",
    )


@pytest.mark.parametrize("reason", [None, " "])
def test_a_re_baseline_without_a_reason_is_refused(reason: str | None) -> None:
    refused(
        given(with_satisfaction, with_baseline),
        ReasonRequired,
        lambda c: c.establish_baseline(ACTOR, "satisfaction", Decimal(4), day("2026-02-01"), reason=reason),
        "already has a baseline",
    )


def test_a_correction_of_a_retracted_measurement_is_refused() -> None:
    client = given(
        with_satisfaction,
        with_baseline,
        with_measurement,
        lambda c: c.retract_measurement(ACTOR, "m1", "wrong client"),
    )
    refused(
        client, InvalidValue, lambda c: c.correct_measurement(ACTOR, "m1", Decimal(7), "typo"), "retracted"
    )
    refused(client, InvalidValue, lambda c: c.retract_measurement(ACTOR, "m1", "again"), "retracted")


def test_a_correction_of_an_unknown_measurement_is_refused() -> None:
    refused(
        given(with_satisfaction, with_baseline, with_measurement),
        UnknownId,
        lambda c: c.correct_measurement(ACTOR, "m9", Decimal(7), "typo"),
        "unknown measurement 'm9'",
    )


@pytest.mark.parametrize("reason", [None, ""])
def test_a_correction_or_retraction_without_a_reason_is_refused(reason: str | None) -> None:
    client = given(with_satisfaction, with_baseline, with_measurement)
    refused(
        client, ReasonRequired, lambda c: c.correct_measurement(ACTOR, "m1", Decimal(7), reason), "reason"
    )
    refused(client, ReasonRequired, lambda c: c.retract_measurement(ACTOR, "m1", reason), "reason")


def test_retiring_without_a_reason_is_refused() -> None:
    refused(
        given(with_satisfaction),
        ReasonRequired,
        lambda c: c.retire_kpi(ACTOR, "satisfaction", "", day("2026-03-01")),
        "reason",
    )


def test_a_milestone_is_celebrated_only_once() -> None:
    client = given(with_satisfaction)
    client.celebrate_milestone(ACTOR, "satisfaction", "Reached 8")
    [event] = then_events(client)
    assert isinstance(event, Client.MilestoneCelebrated)
    assert (event.target, event.kind) == ("satisfaction", "kpi")
    refused(client, DuplicateId, lambda c: c.celebrate_milestone(ACTOR, "satisfaction", None), "already")


def test_a_milestone_of_a_goal_is_recorded_as_a_goal() -> None:
    client = given()
    client.celebrate_milestone(ACTOR, "lead-team", None)
    [event] = then_events(client)
    assert event.kind == "goal"
    refused(client, DuplicateId, lambda c: c.celebrate_milestone(ACTOR, "lead-team", None), "already")


def test_a_milestone_of_something_unknown_is_refused() -> None:
    refused(given(), UnknownId, lambda c: c.celebrate_milestone(ACTOR, "nothing", None), "neither")


def test_a_session_about_an_unknown_kpi_or_without_notes_is_refused() -> None:
    client = given(with_satisfaction)
    refused(
        client, UnknownId, lambda c: c.log_session(ACTOR, day("2026-02-01"), "talk", ["x"], []), "unknown"
    )
    refused(client, InvalidValue, lambda c: c.log_session(ACTOR, day("2026-02-01"), " ", [], []), "notes")


FORGOTTEN_WRITES: dict[str, Callable[[Client], Any]] = {
    "goal": lambda c: c.set_goal(ACTOR, "new-goal", "Anything", "short"),
    "kpi": lambda c: define(c, "networking"),
    "baseline": lambda c: c.establish_baseline(ACTOR, "satisfaction", Decimal(5), day("2026-01-01")),
    "measurement": lambda c: c.record_measurement(ACTOR, "satisfaction", Decimal(6), day("2026-02-01")),
    "correction": lambda c: c.correct_measurement(ACTOR, "m1", Decimal(7), "typo"),
    "retraction": lambda c: c.retract_measurement(ACTOR, "m1", "wrong"),
    "adjustment": lambda c: c.adjust_kpi(
        ACTOR, "satisfaction", reason="x", effective_at=day("2026-03-01"), target=Decimal(9)
    ),
    "retirement": lambda c: c.retire_kpi(ACTOR, "satisfaction", "x", day("2026-03-01")),
    "feedback": lambda c: c.receive_feedback(ACTOR, 5, None, "session", day("2026-02-01")),
    "session": lambda c: c.log_session(ACTOR, day("2026-02-01"), "talk", [], []),
    "milestone": lambda c: c.celebrate_milestone(ACTOR, "lead-team", None),
    "forget again": lambda c: c.forget(ACTOR),
}


@pytest.mark.parametrize("write", sorted(FORGOTTEN_WRITES))
def test_every_write_to_a_forgotten_client_is_refused(write: str) -> None:
    client = given(with_satisfaction, with_baseline, with_measurement, lambda c: c.forget(ACTOR))
    assert client.forgotten
    refused(client, ClientWasForgotten, FORGOTTEN_WRITES[write], "forgotten")


def test_forgetting_a_client_records_one_event() -> None:
    client = given()
    client.forget(ACTOR)
    [event] = then_events(client)
    assert isinstance(event, Client.Forgotten)


def test_replaying_the_events_gives_the_same_state() -> None:
    """The @event bodies only apply state: a client rebuilt from its events equals the live one."""
    client = given()
    define(client)
    with_baseline(client)
    with_measurement(client)
    client.adjust_kpi(
        ACTOR,
        "satisfaction",
        reason="finer",
        effective_at=day("2026-03-01"),
        scale_min=Decimal(0),
        scale_max=Decimal(100),
        rescale=True,
    )
    client.retract_measurement(ACTOR, "m1", "wrong")
    client.celebrate_milestone(ACTOR, "satisfaction", None)
    live = state(client)
    events = then_events(client)
    rebuilt = given()  # register + goal, then the rest replayed
    for event in events:
        event.mutate(rebuilt)
    assert state(rebuilt) == live


def test_a_due_date_is_compared_with_the_definition_moment_not_the_day() -> None:
    later_same_day = DEFINED_ON + timedelta(hours=1)
    client = given()
    define(client, due=later_same_day)
    assert len(then_events(client)) == 1
