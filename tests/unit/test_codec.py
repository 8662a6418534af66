"""Serialisation: exact round trips, and old stored events still load after a schema change."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from freezegun import freeze_time

from coachledger.adapters import codec
from coachledger.domain import Client

FIXTURE = Path(__file__).parent.parent / "fixtures" / "stored-events-v0.1.0.jsonl"


def a_client() -> Client:
    return Client.register("maria", "ana-lopez", "Ana López", "maria")


def test_decimal_datetime_and_uuid_round_trip_exactly() -> None:
    client = a_client()
    client.define_kpi(
        "maria",
        "salary",
        name="Base salary",
        category="salary",
        unit="EUR",
        direction="increase",
        target=Decimal("85000.50"),
        due=datetime(2027, 6, 30, tzinfo=UTC),
        now=datetime(2026, 1, 5, tzinfo=UTC),
    )
    mapper = codec.MsgspecMapper()
    for event in client.collect_events():
        back = mapper.to_domain_event(mapper.to_stored_event(event))
        assert vars(back) == vars(event)
    assert isinstance(back.target, Decimal) and back.target == Decimal("85000.50")  # type: ignore[attr-defined]
    assert back.due.tzinfo is not None  # type: ignore[attr-defined]


def test_freezegun_datetimes_encode() -> None:
    with freeze_time("2026-03-01 09:30:00"):
        client = a_client()
        stored = codec.MsgspecMapper().to_stored_event(client.collect_events()[0])
    assert b"2026-03-01T09:30:00" in stored.state
    assert stored.recorded_at.startswith("2026-03-01T09:30:00")  # type: ignore[attr-defined]


def test_unknown_types_are_refused_by_the_encoder() -> None:
    try:
        codec.encode({"x": object()})
    except NotImplementedError:
        return
    raise AssertionError("an object of unknown type was encoded")


def test_events_stored_by_version_0_1_0_still_load_after_goals_gained_a_due_date() -> None:
    """GoalSet v1 (no due date) was stored by coachledger 0.1.0; v2 upcasts it."""
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    goal_row = next(r for r in rows if r["topic"] == "coachledger:GoalSet")
    assert "due" not in json.loads(goal_row["state"])
    mapper = codec.MsgspecMapper()
    events = [
        mapper.to_domain_event(
            codec.LedgerStoredEvent(
                originator_id=r["originator_id"],
                originator_version=r["originator_version"],
                topic=r["topic"],
                state=r["state"].encode(),
            )
        )
        for r in rows
    ]
    goal = next(e for e in events if isinstance(e, Client.GoalSet))
    assert goal.due is None and goal.text == "Lead a team of five"
    payload = codec.decode_payload(goal_row["topic"], goal_row["state"].encode())
    assert payload.due is None
    client = None
    for event in events:
        client = event.mutate(client)  # type: ignore[attr-defined]
    assert client is not None and client.goals == {"lead-team": "long"} and "reports" in client.kpis


def test_a_schema_built_under_a_frozen_clock_decodes_real_datetimes() -> None:
    with freeze_time("2026-03-01"):
        struct = codec._struct_for(Client.MeasurementRecorded)
    import msgspec

    state = codec.encode(
        {
            "timestamp": datetime.now(tz=UTC),
            "actor": "maria",
            "measurement_id": "m1",
            "kpi": "k",
            "value": "1",
            "effective_at": datetime.now(tz=UTC),
            "source": "coach",
            "note": None,
        }
    )
    decoded = msgspec.json.decode(state, type=struct)
    assert type(decoded.effective_at) is datetime  # type: ignore[attr-defined]
