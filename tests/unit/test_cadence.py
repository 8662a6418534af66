"""KPI cadence and weight: given a client, when a KPI is defined or adjusted, then the event says so."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from coachledger.adapters import codec
from coachledger.domain import Client, DomainError, InvalidValue
from coachledger.errors import FromTheFuture, NeedsConfirmation
from coachledger.moments import cadence_days

FIXTURE = Path(__file__).parent.parent / "fixtures" / "stored-events-v0.1.0.jsonl"
ACTOR = "maria"


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def define(client: Client, kpi: str = "satisfaction", **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "name": "Job satisfaction",
        "category": "job-satisfaction",
        "unit": "points",
        "direction": "increase",
        "target": Decimal(8),
        "due": day("2026-12-31"),
        "now": day("2026-01-05"),
        "scale_min": Decimal(1),
        "scale_max": Decimal(10),
    }
    client.define_kpi(ACTOR, kpi, **{**fields, **overrides})


def with_satisfaction(client: Client) -> None:
    define(client)


def given(*steps: Callable[[Client], Any]) -> Client:
    client = Client.register(ACTOR, "ana-lopez", "Ana López", "maria")
    for step in steps:
        step(client)
    client.collect_events()
    return client


def then_events(client: Client) -> list[Any]:
    return list(client.collect_events())


def refused(client: Client, error: type[DomainError], command: Callable[[Client], Any], match: str) -> None:
    before = copy.deepcopy({k: v for k, v in vars(client).items() if not k.startswith("_")})
    with pytest.raises(error, match=match):
        command(client)
    assert then_events(client) == []
    assert {k: v for k, v in vars(client).items() if not k.startswith("_")} == before


def test_a_kpi_defined_without_cadence_or_weight_is_monthly_with_weight_one() -> None:
    client = given()
    define(client)
    [event] = then_events(client)
    assert (event.cadence, event.weight) == ("monthly", Decimal(1))


def test_a_kpi_defined_with_a_cadence_and_weight_records_both() -> None:
    client = given()
    define(client, cadence="14d", weight=Decimal("2.5"))
    [event] = then_events(client)
    assert (event.cadence, event.weight) == ("14d", Decimal("2.5"))
    assert event.summary(event).endswith(", measured 14d, weight 2.5")


@pytest.mark.parametrize(
    ("cadence", "days"),
    [
        ("weekly", 7),
        ("biweekly", 14),
        ("monthly", 30),
        ("quarterly", 91),
        ("1d", 1),
        ("366d", 366),
        (None, 30),
    ],
)
def test_cadences_name_their_days(cadence: str | None, days: int) -> None:
    assert cadence_days(cadence) == days


@pytest.mark.parametrize("cadence", ["daily", "0d", "367d", "2w", "14", "-3d", ""])
def test_an_unknown_cadence_is_refused(cadence: str) -> None:
    client = given()
    refused(client, InvalidValue, lambda c: define(c, cadence=cadence), "cadence must be one of")


@pytest.mark.parametrize("weight", ["0", "-1", "NaN", "Infinity"])
def test_a_weight_that_is_not_positive_is_refused(weight: str) -> None:
    client = given()
    refused(client, InvalidValue, lambda c: define(c, weight=Decimal(weight)), "weight must be a positive")


def test_adjusting_cadence_or_weight_alone_is_a_change() -> None:
    client = given(with_satisfaction)
    client.adjust_kpi(
        ACTOR, "satisfaction", reason="weekly check-ins", effective_at=day("2026-02-01"), cadence="weekly"
    )
    client.adjust_kpi(
        ACTOR, "satisfaction", reason="matters more", effective_at=day("2026-02-01"), weight=Decimal(3)
    )
    first, second = then_events(client)
    assert (first.cadence, first.weight, second.cadence, second.weight) == ("weekly", None, None, Decimal(3))
    assert "cadence weekly" in first.summary(first) and "weight 3" in second.summary(second)


def test_adjusting_to_a_bad_cadence_or_weight_is_refused() -> None:
    client = given(with_satisfaction)
    at = day("2026-02-01")
    refused(
        client,
        InvalidValue,
        lambda c: c.adjust_kpi(ACTOR, "satisfaction", reason="r", effective_at=at, cadence="fortnightly"),
        "cadence must be one of",
    )
    refused(
        client,
        InvalidValue,
        lambda c: c.adjust_kpi(ACTOR, "satisfaction", reason="r", effective_at=at, weight=Decimal(0)),
        "weight must be a positive",
    )


def test_a_kpi_stored_before_cadences_existed_reads_as_monthly_with_weight_one() -> None:
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    row = next(r for r in rows if r["topic"] == "coachledger:KpiDefined")
    assert "cadence" not in json.loads(row["state"])
    event = codec.MsgspecMapper().to_domain_event(
        codec.LedgerStoredEvent(
            originator_id=row["originator_id"],
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=row["state"].encode(),
        )
    )
    assert isinstance(event, Client.KpiDefined)
    assert (event.cadence, event.weight) == ("monthly", Decimal(1))
    text = codec.text_decoder(row["topic"])(row["state"].encode())
    assert text.cadence == "monthly" and Decimal(text.weight) == 1


# -- a check-in cannot come from the future ----------------------------------------------------


def test_a_measurement_dated_after_its_recording_moment_is_refused() -> None:
    client = given(with_satisfaction)
    now = day("2026-02-01")
    refused(
        client,
        FromTheFuture,
        lambda c: c.record_measurement(ACTOR, "satisfaction", Decimal(6), day("2026-02-02"), now=now),
        "cannot be dated after the moment it is recorded",
    )
    refused(
        client,
        FromTheFuture,
        lambda c: c.establish_baseline(ACTOR, "satisfaction", Decimal(6), day("2026-02-02"), now=now),
        "a baseline cannot be dated after",
    )


def test_a_measurement_dated_in_another_zone_compares_in_utc() -> None:
    client = given(with_satisfaction)
    now = datetime(2026, 2, 1, 12, tzinfo=UTC)
    in_berlin = datetime(2026, 2, 1, 13, 30, tzinfo=timezone(timedelta(hours=2)))  # 11:30 UTC
    client.record_measurement(ACTOR, "satisfaction", Decimal(6), in_berlin, now=now)
    [event] = then_events(client)
    assert event.effective_at == in_berlin
    assert (
        client.record_measurement(ACTOR, "satisfaction", Decimal(6), now, now=now) == "m2"
    )  # the moment itself


def test_after_a_factor_change_a_value_100x_from_the_last_value_or_target_needs_confirmation() -> None:
    def salary(c: Client) -> None:
        define(c, "salary", unit="EUR", target=Decimal(80000), scale_min=None, scale_max=None)
        c.establish_baseline(ACTOR, "salary", Decimal(60000), day("2026-01-01"), now=day("2026-02-01"))
        c.adjust_kpi(
            ACTOR,
            "salary",
            reason="kEUR",
            effective_at=day("2026-01-10"),
            unit="kEUR",
            factor=Decimal("0.001"),
        )

    client = given(salary)
    at, now = day("2026-01-20"), day("2026-02-01")
    refused(
        client,
        NeedsConfirmation,
        lambda c: c.record_measurement(ACTOR, "salary", Decimal(62000), at, now=now),
        "62000 is more than 100x away from KPI salary's last value 60 since its unit changed on 2026-01-10",
    )
    assert client.record_measurement(ACTOR, "salary", Decimal(62), at, now=now) == "m1"
    client.collect_events()
    refused(
        client,
        NeedsConfirmation,
        lambda c: c.record_measurement(ACTOR, "salary", Decimal("0.1"), at, now=now),
        "last value 62 since",
    )
    assert client.record_measurement(ACTOR, "salary", Decimal("0.1"), at, now=now, confirmed=True) == "m2"
