"""Check-ins: given events, when the coach issues a link or a form and the client answers, then events."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pytest
from test_domain import ACTOR, day, define, given, refused, state, then_events

from coachledger.domain import Client, InvalidValue, OutsideScale, RetiredKpi, UnknownId
from coachledger.domain.checkins.commands import Answer
from coachledger.errors import CheckinRefused

TOKEN = hashlib.sha256(b"the token in the link").hexdigest()
OTHER = hashlib.sha256(b"another token").hexdigest()
ISSUED = day("2026-02-01")
EXPIRES = day("2026-06-01")


def with_kpis(c: Client) -> None:
    define(c)  # satisfaction, 1..10, monthly
    define(c, "stress", name="Stress", category="work-life-balance", direction="decrease", target=Decimal(3),
           scale_min=Decimal(0), scale_max=Decimal(10), cadence="weekly")  # fmt: skip


def with_link(c: Client) -> None:
    c.issue_checkin(ACTOR, "link", ["satisfaction", "stress"], EXPIRES, TOKEN, ISSUED)


def with_form(c: Client) -> None:
    c.issue_checkin(ACTOR, "form", ["satisfaction"], EXPIRES, OTHER, ISSUED)


def answered(at: str, satisfaction: str = "6", **kw: Any) -> Any:
    def step(c: Client) -> None:
        c.answer_checkin("c1", TOKEN, [Answer("satisfaction", Decimal(satisfaction), 7)], day(at), **kw)

    return step


# -- issuing ----------------------------------------------------------------------------------


def test_a_link_records_its_kpis_expiry_and_the_tokens_hash_only() -> None:
    client = given(with_kpis)
    assert client.issue_checkin(ACTOR, "link", ["stress"], EXPIRES, TOKEN, ISSUED) == "c1"
    [event] = then_events(client)
    assert isinstance(event, Client.CheckinLinkIssued)
    assert (event.checkin, event.kpis, event.expires_at, event.token_hash, event.actor) == (
        "c1", ["stress"], EXPIRES, TOKEN, ACTOR,
    )  # fmt: skip


def test_without_kpis_a_check_in_asks_for_every_active_kpi_and_forms_share_the_numbering() -> None:
    client = given(with_kpis, with_link)
    client.retire_kpi(ACTOR, "stress", "dropped", ISSUED)
    assert client.issue_checkin(ACTOR, "form", [], EXPIRES, OTHER, ISSUED) == "c2"
    _, event = then_events(client)
    assert isinstance(event, Client.CheckinFormIssued)
    assert event.kpis == ["satisfaction"]


@pytest.mark.parametrize(
    ("command", "error", "match"),
    [
        (
            lambda c: c.issue_checkin(ACTOR, "link", ["salary"], EXPIRES, TOKEN, ISSUED),
            UnknownId,
            "unknown KPI",
        ),
        (
            lambda c: c.issue_checkin(ACTOR, "link", ["stress"], ISSUED, TOKEN, ISSUED),
            InvalidValue,
            "expire after",
        ),
        (
            lambda c: c.issue_checkin(ACTOR, "link", ["stress"], EXPIRES, "token", ISSUED),
            InvalidValue,
            "SHA-256",
        ),
        (
            lambda c: c.issue_checkin(ACTOR, "mail", ["stress"], EXPIRES, TOKEN, ISSUED),
            InvalidValue,
            "link or a form",
        ),
        (
            lambda c: c.issue_checkin(ACTOR, "link", ["stress"] * 2, EXPIRES, TOKEN, ISSUED),
            InvalidValue,
            "twice",
        ),
        (lambda c: c.revoke_checkin(ACTOR, "c9", None), UnknownId, "unknown check-in 'c9'"),
    ],
)
def test_a_bad_check_in_is_refused(command: Any, error: type[Exception], match: str) -> None:
    refused(given(with_kpis), error, command, match)


# -- answering --------------------------------------------------------------------------------


def test_an_answer_is_a_self_measurement_by_the_client_through_the_link() -> None:
    client = given(with_kpis, with_link)
    receipt = client.answer_checkin(
        "c1", TOKEN,
        [Answer("satisfaction", Decimal(6), 7, "better week"), Answer("stress", Decimal("4.5"))],
        day("2026-02-10"), rating=4, comment="helpful",
    )  # fmt: skip
    assert receipt == ("c1", ["m1", "m2"], [], "f1")
    m1, m2, feedback, used = then_events(client)
    assert isinstance(m1, Client.MeasurementRecorded)
    assert (m1.kpi, m1.value, m1.source, m1.confidence, m1.note, m1.via, m1.actor) == (
        "satisfaction", Decimal(6), "self", 7, "better week", "link:c1", "client:ana-lopez",
    )  # fmt: skip
    assert m1.effective_at == day("2026-02-10")
    assert (m2.kpi, m2.value, m2.confidence, m2.via) == ("stress", Decimal("4.5"), None, "link:c1")
    assert isinstance(feedback, Client.FeedbackReceived)
    assert (feedback.rating, feedback.comment, feedback.about, feedback.via, feedback.actor) == (
        4, "helpful", "process", "link:c1", "client:ana-lopez",
    )  # fmt: skip
    assert isinstance(used, Client.CheckinLinkUsed)
    assert (used.checkin, used.measurements, used.amended, used.feedback, used.actor) == (
        "c1", ["m1", "m2"], [], "f1", "client:ana-lopez",
    )  # fmt: skip


def test_answering_again_within_the_kpis_cadence_window_amends_the_value_with_a_reason() -> None:
    client = given(with_kpis, with_link, answered("2026-02-10", rating=3))
    receipt = client.answer_checkin(
        "c1", TOKEN, [Answer("satisfaction", Decimal(8), 9, "typo before")], day("2026-02-14"), rating=5
    )
    assert receipt == ("c1", [], ["m1"], "f2")
    corrected, retracted, feedback, used = then_events(client)
    assert isinstance(corrected, Client.MeasurementCorrected)
    assert (corrected.measurement_id, corrected.value, corrected.confidence, corrected.note) == (
        "m1", Decimal(8), 9, "typo before",
    )  # fmt: skip
    assert corrected.actor == "client:ana-lopez"
    assert corrected.reason == (
        "answered again through check-in link c1 within its monthly window (from 2026-02-10)"
    )
    assert isinstance(retracted, Client.FeedbackRetracted)
    assert (retracted.feedback, feedback.rating) == ("f1", 5)
    assert (used.measurements, used.amended) == ([], ["m1"])


def test_a_monthly_kpis_window_lasts_30_days_and_a_rating_the_shortest_window_of_the_link() -> None:
    client = given(with_kpis, with_link, answered("2026-02-10", rating=3))
    receipt = client.answer_checkin(
        "c1", TOKEN, [Answer("satisfaction", Decimal(8))], day("2026-03-11"), rating=5
    )
    assert receipt == ("c1", [], ["m1"], "f2")  # 29 days: amended; the rating (weekly stress) is a new one
    assert [type(e) for e in then_events(client)] == [
        Client.MeasurementCorrected, Client.FeedbackReceived, Client.CheckinLinkUsed,
    ]  # fmt: skip


def test_after_the_window_an_answer_is_a_new_value() -> None:
    client = given(with_kpis, with_link, answered("2026-02-10", rating=3))
    receipt = client.answer_checkin(
        "c1", TOKEN, [Answer("satisfaction", Decimal(8))], day("2026-03-12"), rating=4
    )
    assert receipt == ("c1", ["m2"], [], "f2")
    assert [type(e) for e in then_events(client)] == [
        Client.MeasurementRecorded, Client.FeedbackReceived, Client.CheckinLinkUsed,
    ]  # fmt: skip


def test_the_window_is_the_cadence_in_force_when_the_client_answers() -> None:
    client = given(with_kpis, with_link, answered("2026-02-10"))
    client.adjust_kpi(
        ACTOR, "satisfaction", reason="weekly now", effective_at=day("2026-02-12"), cadence="weekly"
    )
    client.collect_events()
    assert client.answer_checkin(
        "c1", TOKEN, [Answer("satisfaction", Decimal(7))], day("2026-02-16")
    ).amended == ["m1"]
    client.collect_events()
    assert client.answer_checkin(
        "c1", TOKEN, [Answer("satisfaction", Decimal(7))], day("2026-02-17")
    ).measurements == ["m2"]


def test_a_retracted_check_in_value_opens_no_window() -> None:
    client = given(with_kpis, with_link, answered("2026-02-10"))
    client.retract_measurement(ACTOR, "m1", "wrong client")
    client.collect_events()
    assert client.answer_checkin(
        "c1", TOKEN, [Answer("satisfaction", Decimal(7))], day("2026-02-11")
    ).measurements == ["m2"]


def test_a_form_is_answered_once() -> None:
    client = given(with_kpis, with_form)
    client.answer_checkin("c1", OTHER, [Answer("satisfaction", Decimal(7))], day("2026-02-10"), kind="form")
    *_, used = then_events(client)
    assert isinstance(used, Client.CheckinFormUsed)
    refused(
        client, CheckinRefused,
        lambda c: c.answer_checkin("c1", OTHER, [Answer("satisfaction", Decimal(7))], day("2026-02-11"), kind="form"),
        "already answered",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("token", "at", "why", "match"),
    [
        (OTHER, "2026-02-10", "unknown", "not valid"),
        (TOKEN[:-1] + "0", "2026-02-10", "unknown", "not valid"),
        (TOKEN, "2026-06-01", "expired", "expired on 2026-06-01"),
    ],
)
def test_a_tampered_or_expired_link_takes_nothing(token: str, at: str, why: str, match: str) -> None:
    client = given(with_kpis, with_link)
    before = state(client)
    with pytest.raises(CheckinRefused, match=match) as refusal:
        client.answer_checkin("c1", token, [Answer("satisfaction", Decimal(7))], day(at))
    assert refusal.value.why == why
    assert then_events(client) == []
    assert state(client) == before


def test_a_revoked_link_takes_nothing() -> None:
    client = given(with_kpis, with_link)
    client.revoke_checkin(ACTOR, "c1", "sent to the wrong address")
    [event] = then_events(client)
    assert (type(event), event.reason) == (Client.CheckinLinkRevoked, "sent to the wrong address")
    refused(
        client,
        CheckinRefused,
        lambda c: c.answer_checkin("c1", TOKEN, [], day("2026-02-10"), rating=3),
        "revoked",
    )
    refused(client, InvalidValue, lambda c: c.revoke_checkin(ACTOR, "c1", None), "already revoked")


@pytest.mark.parametrize(
    ("answers", "rating", "error", "match"),
    [
        ([Answer("satisfaction", Decimal(7)), Answer("stress", Decimal(11))], None, OutsideScale, "outside"),
        ([Answer("salary", Decimal(7))], None, InvalidValue, "not part of check-in c1"),
        ([Answer("stress", Decimal(1)), Answer("stress", Decimal(2))], None, InvalidValue, "twice"),
        ([Answer("stress", Decimal(1), 11)], None, InvalidValue, "confidence"),
        ([], 6, InvalidValue, "rating"),
        ([], None, InvalidValue, "at least one value or a rating"),
    ],
)
def test_answers_obey_the_rules_of_measurements_all_or_nothing(
    answers: list[Answer], rating: int | None, error: type[Exception], match: str
) -> None:
    client = given(with_kpis, with_link)
    refused(
        client,
        error,
        lambda c: c.answer_checkin("c1", TOKEN, answers, day("2026-02-10"), rating=rating),
        match,
    )


def test_a_retired_kpi_takes_no_check_in_value() -> None:
    client = given(with_kpis, with_link)
    client.retire_kpi(ACTOR, "stress", "dropped", ISSUED)
    client.collect_events()
    refused(
        client, RetiredKpi, lambda c: c.answer_checkin("c1", TOKEN, [Answer("stress", Decimal(2))], day("2026-02-10")),
        "retired",
    )  # fmt: skip
