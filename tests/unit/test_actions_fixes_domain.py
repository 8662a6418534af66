"""Actions and fixes of any record: given events, when a command, then new events or a refusal."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from test_domain import ACTOR, a_client, a_salary_kpi, day, given, refused, state, then_events

from coachledger.domain import Client, ClientWasForgotten, InvalidValue, ReasonRequired, UnknownId


def with_session(c: Client) -> None:
    c.log_session(ACTOR, day("2026-02-01"), "Salary talk", [], ["Ask for a review"])
    c.agree_actions(ACTOR, ["Ask for a review"])


def with_action(c: Client) -> None:
    c.open_action(ACTOR, "Update the CV", day("2026-03-01"))


# -- actions ------------------------------------------------------------------------------


def test_an_action_is_opened_with_the_next_id_and_its_fields() -> None:
    client = given(a_salary_kpi, with_action)
    assert client.open_action(ACTOR, " Call Li ", day("2026-04-01"), "salary") == "a2"
    [event] = then_events(client)
    assert isinstance(event, Client.ActionOpened)
    assert (event.action, event.text, event.due, event.kpi, event.session) == (
        "a2", "Call Li", day("2026-04-01"), "salary", None,
    )  # fmt: skip
    assert client.actions == {"a1": "open", "a2": "open"}


def test_the_actions_agreed_in_a_session_are_opened_linked_to_it() -> None:
    client = given(with_session)
    client.log_session(ACTOR, day("2026-03-01"), "Second", [], ["A", " ", "B"])
    assert client.agree_actions(ACTOR, ["A", " ", "B"]) == ["a2", "a3"]
    events = then_events(client)
    assert [type(e) for e in events] == [Client.SessionLogged, Client.ActionOpened, Client.ActionOpened]
    assert [(e.action, e.text, e.session) for e in events[1:]] == [("a2", "A", "s2"), ("a3", "B", "s2")]


def test_an_open_action_is_done_or_dropped_once() -> None:
    client = given(with_action, with_action)
    client.complete_action(ACTOR, "a1", "booked")
    client.drop_action(ACTOR, "a2", None)
    done, dropped = then_events(client)
    assert (type(done), done.action, done.note) == (Client.ActionCompleted, "a1", "booked")
    assert (type(dropped), dropped.action) == (Client.ActionDropped, "a2")
    refused(client, InvalidValue, lambda c: c.complete_action(ACTOR, "a1"), "already done")
    refused(client, InvalidValue, lambda c: c.drop_action(ACTOR, "a2"), "already dropped")


@pytest.mark.parametrize(
    ("command", "error", "match"),
    [
        (lambda c: c.complete_action(ACTOR, "a9"), UnknownId, "unknown action 'a9'"),
        (lambda c: c.drop_action(ACTOR, "a9"), UnknownId, "unknown action 'a9'"),
        (lambda c: c.open_action(ACTOR, "x", kpi="nope"), UnknownId, "unknown KPI 'nope'"),
        (lambda c: c.open_action(ACTOR, "  "), InvalidValue, "must not be empty"),
    ],
)
def test_action_refusals(command: Any, error: type[Exception], match: str) -> None:
    refused(given(with_action), error, command, match)  # type: ignore[arg-type]


# -- fixes ----------------------------------------------------------------------------------


def test_a_rename_names_the_old_and_the_new_name() -> None:
    client = given()
    client.rename(ACTOR, " Ana López García ", "married name")
    [event] = then_events(client)
    assert (event.name, event.previous, event.reason) == ("Ana López García", "Ana López", "married name")
    assert client.name == "Ana López García"
    refused(client, InvalidValue, lambda c: c.rename(ACTOR, "Ana López García", "again"), "already named")
    refused(client, ReasonRequired, lambda c: c.rename(ACTOR, "Ana", None), "needs a reason")


def test_an_update_changes_coach_or_contact_and_keeps_what_they_were() -> None:
    client = given()
    client.update(ACTOR, "li", "ana@example.org", "leave")
    [event] = then_events(client)
    assert (event.coach, event.contact, event.previous_coach, event.previous_contact) == (
        "li", "ana@example.org", "maria", None,
    )  # fmt: skip
    assert (client.coach, client.contact) == ("li", "ana@example.org")
    refused(client, InvalidValue, lambda c: c.update(ACTOR, "li", None, "same"), "must change")
    client.update(ACTOR, None, "", "no contact")
    assert client.contact is None


def test_a_session_is_amended_with_what_it_was_then_retracted_once() -> None:
    client = given(a_salary_kpi, with_session)
    client.amend_session(ACTOR, "s1", "typo", notes="Salary review", kpis=["salary"])
    [event] = then_events(client)
    assert (event.session, event.notes, event.effective_at, event.kpis) == ("s1", "Salary review", None, ["salary"])
    assert (event.previous_notes, event.previous_effective_at, event.previous_kpis) == (
        "Salary talk", day("2026-02-01"), [],
    )  # fmt: skip
    refused(client, InvalidValue, lambda c: c.amend_session(ACTOR, "s1", "x"), "must change")
    refused(client, UnknownId, lambda c: c.amend_session(ACTOR, "s1", "x", kpis=["nope"]), "unknown KPI")
    refused(client, UnknownId, lambda c: c.retract_session(ACTOR, "s2", "x"), "unknown session 's2'")
    client.retract_session(ACTOR, "s1", "logged twice")
    assert isinstance(then_events(client)[0], Client.SessionRetracted)
    refused(client, InvalidValue, lambda c: c.retract_session(ACTOR, "s1", "x"), "was retracted")
    refused(client, InvalidValue, lambda c: c.amend_session(ACTOR, "s1", "x", notes="y"), "was retracted")


def test_feedback_is_retracted_by_its_number_once() -> None:
    client = given(lambda c: c.receive_feedback(ACTOR, 4, None, "session", datetime(2026, 2, 1, tzinfo=UTC)))
    refused(client, UnknownId, lambda c: c.retract_feedback(ACTOR, "f2", "x"), "unknown feedback 'f2'")
    refused(client, ReasonRequired, lambda c: c.retract_feedback(ACTOR, "f1", " "), "needs a reason")
    client.retract_feedback(ACTOR, "f1", "other client")
    assert [(type(e), e.feedback) for e in then_events(client)] == [(Client.FeedbackRetracted, "f1")]
    refused(client, InvalidValue, lambda c: c.retract_feedback(ACTOR, "f1", "x"), "was retracted")


def test_a_retracted_milestone_may_be_celebrated_again() -> None:
    client = given(lambda c: c.celebrate_milestone(ACTOR, "lead-team", None))
    refused(client, UnknownId, lambda c: c.retract_milestone(ACTOR, "other", "x"), "no celebrated milestone")
    client.retract_milestone(ACTOR, "lead-team", "too early")
    [event] = then_events(client)
    assert (event.target, event.kind, event.reason) == ("lead-team", "goal", "too early")
    refused(client, UnknownId, lambda c: c.retract_milestone(ACTOR, "lead-team", "x"), "no celebrated")
    client.celebrate_milestone(ACTOR, "lead-team", "now for real")
    assert isinstance(then_events(client)[0], Client.MilestoneCelebrated)


def test_nothing_is_fixed_or_followed_up_for_a_forgotten_client() -> None:
    client = given(with_action, with_session, lambda c: c.forget(ACTOR))
    for command in (
        lambda c: c.open_action(ACTOR, "x"),
        lambda c: c.complete_action(ACTOR, "a1"),
        lambda c: c.rename(ACTOR, "X", "r"),
        lambda c: c.retract_session(ACTOR, "s1", "r"),
    ):
        refused(client, ClientWasForgotten, command, "forgotten")


def test_replaying_the_events_gives_the_same_state() -> None:
    client = a_client()
    for step in (a_salary_kpi, with_session, with_action):
        step(client)
    client.complete_action(ACTOR, "a1", None)
    client.amend_session(ACTOR, "s1", "r", effective_at=day("2026-02-02"))
    client.rename(ACTOR, "Ana L.", "short")
    replayed = None
    for event in client.collect_events():
        replayed = event.mutate(replayed)
    assert state(replayed) == state(client)  # type: ignore[arg-type]
    assert client.sessions["s1"]["at"] == "2026-02-02T00:00:00.000000+00:00"
