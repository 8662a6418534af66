"""The goal lifecycle and check-in confidence on the client aggregate: given events, when a
command, then new events or a refusal (no I/O); and older events and snapshots still load."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from coachledger.adapters import codec
from coachledger.domain import Client, InvalidValue, ReasonRequired, UnknownId
from coachledger.services import templates

ACTOR = "maria"
WHEN = datetime(2026, 6, 1, tzinfo=UTC)


def a_client_with_a_goal() -> Client:
    client = Client.register(ACTOR, "ana-lopez", "Ana López", "maria")
    client.set_goal(ACTOR, "lead-team", "Lead a team of five", "long")
    client.define_kpi(
        ACTOR, "skill", name="Skill", category="skill", unit="points", direction="increase",
        target=Decimal(8), due=datetime(2027, 1, 1, tzinfo=UTC), now=datetime(2026, 1, 5, tzinfo=UTC),
        scale_min=Decimal(0), scale_max=Decimal(10), goal="lead-team",
    )  # fmt: skip
    client.collect_events()
    return client


def new_events(client: Client) -> list[str]:
    return [type(e).__name__ for e in client.collect_events()]


def test_an_open_goal_is_achieved_then_reopened_then_abandoned() -> None:
    client = a_client_with_a_goal()

    client.achieve_goal(ACTOR, "lead-team", WHEN, "Leads five")
    assert client.goal_state("lead-team") == "achieved"
    client.reopen_goal(ACTOR, "lead-team", WHEN, "Now six")
    assert client.goal_state("lead-team") == "open"
    client.abandon_goal(ACTOR, "lead-team", WHEN, "Specialist track")

    assert client.goal_state("lead-team") == "abandoned"
    assert new_events(client) == ["GoalAchieved", "GoalReopened", "GoalAbandoned"]


def test_an_adjustment_changes_the_horizon_the_aggregate_keeps() -> None:
    client = a_client_with_a_goal()

    client.adjust_goal(ACTOR, "lead-team", reason="sooner", effective_at=WHEN, horizon="short")

    assert client.goals == {"lead-team": "short"}
    (event,) = client.collect_events()
    assert (event.text, event.horizon, event.due, event.reason) == (None, "short", None, "sooner")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("command", "error", "message"),
    [
        (lambda c: c.achieve_goal(ACTOR, "nope", WHEN), UnknownId, "unknown goal 'nope' for client 'ana-lopez'"),
        (lambda c: c.reopen_goal(ACTOR, "lead-team", WHEN, "x"), InvalidValue, "goal 'lead-team' is already open"),
        (lambda c: c.abandon_goal(ACTOR, "lead-team", WHEN, None), ReasonRequired, "abandoning a goal needs a reason"),
        (lambda c: c.reopen_goal(ACTOR, "lead-team", WHEN, ""), ReasonRequired, "reopening a goal needs a reason"),
        (lambda c: c.adjust_goal(ACTOR, "lead-team", reason=None, effective_at=WHEN, text="x"), ReasonRequired, "a goal adjustment"),
        (lambda c: c.adjust_goal(ACTOR, "lead-team", reason="r", effective_at=WHEN), InvalidValue, "must change"),
        (lambda c: c.adjust_goal(ACTOR, "lead-team", reason="r", effective_at=WHEN, text=" "), InvalidValue, "must not be empty"),
        (lambda c: c.adjust_goal(ACTOR, "lead-team", reason="r", effective_at=WHEN, horizon="mid"), InvalidValue, "horizon must be"),
        (lambda c: c.record_measurement(ACTOR, "skill", Decimal(5), WHEN, confidence=11), InvalidValue, "confidence must be between 0 and 10"),
        (lambda c: c.record_measurement(ACTOR, "skill", Decimal(5), WHEN, confidence=-1), InvalidValue, "confidence must be between 0 and 10"),
    ],
)  # fmt: skip
def test_refusals_leave_no_event_and_no_changed_state(command, error, message) -> None:  # type: ignore[no-untyped-def]
    client = a_client_with_a_goal()
    before = dict(vars(client))

    with pytest.raises(error, match=message):
        command(client)

    assert client.collect_events() == [] and vars(client) == before


def test_a_closed_goal_is_neither_achieved_nor_abandoned_again() -> None:
    client = a_client_with_a_goal()
    client.achieve_goal(ACTOR, "lead-team", WHEN)

    with pytest.raises(InvalidValue, match="is achieved, not open: reopen it first"):
        client.achieve_goal(ACTOR, "lead-team", WHEN)
    with pytest.raises(InvalidValue, match="is achieved, not open"):
        client.abandon_goal(ACTOR, "lead-team", WHEN, "x")


def test_a_measurement_carries_its_confidence_and_an_older_one_reads_as_none() -> None:
    client = a_client_with_a_goal()
    client.record_measurement(ACTOR, "skill", Decimal(5), WHEN, confidence=7)
    (event,) = client.collect_events()
    stored = codec.MsgspecMapper().to_stored_event(event)
    assert codec.decode_payload(stored.topic, stored.state).confidence == 7

    older = codec.encode(
        {"timestamp": WHEN, "actor": ACTOR, "measurement_id": "m1", "kpi": "skill", "value": "5",
         "effective_at": WHEN, "source": "coach", "note": None}
    )  # fmt: skip
    assert codec.decode_payload(stored.topic, older).confidence is None


def test_a_snapshot_taken_before_goals_had_a_lifecycle_still_takes_goal_events() -> None:
    client = a_client_with_a_goal()
    client.__dict__.pop("goal_status", None)  # as a snapshot of an older version restores the state
    assert client.goal_state("lead-team") == "open"

    client.achieve_goal(ACTOR, "lead-team", WHEN)

    assert client.goal_state("lead-team") == "achieved"


def test_a_template_due_offset_counts_from_the_definition_time() -> None:
    template = templates.Template(
        "t", "", [{"id": "k", "name": "K", "category": "skill", "unit": "u", "direction": "increase",
                   "target": 8, "due": "6 months", "scale": [1, 10], "weight": 2}],
    )  # fmt: skip

    (fields,) = templates.definitions(template, datetime(2026, 8, 31, 9, tzinfo=UTC), "lead-team", "client")

    assert fields["due"] == datetime(2027, 2, 28, 9, tzinfo=UTC)  # the month's last day
    assert (fields["kpi"], fields["scale_min"], fields["scale_max"], fields["goal"]) == (
        "k",
        1,
        10,
        "lead-team",
    )
    assert fields["weight"] == Decimal(2) and fields["defined_by"] == "client"


def test_every_shipped_template_reads() -> None:
    names = templates.shipped()
    assert len(names) == 9
    for name in names:
        assert templates.definitions(templates.load(name), WHEN)
