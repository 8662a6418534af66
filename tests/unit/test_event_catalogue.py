"""Every event class says what it means: references, timeline line, export fields, views.

A new event class that forgets one of these fails here, by name, before anything else does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from coachledger.adapters import codec
from coachledger.domain import EVENT_CLASSES, EVENT_NAMES, Client, Coach
from coachledger.domain.catalogue import KINDS, Defines, Known, Refers, data_fields, references, remembers
from coachledger.domain.checkins.commands import Answer
from coachledger.projections import registry, runner, timeline

ROOT = Path(__file__).parent.parent.parent
EXPORT_DOC = (ROOT / "docs" / "export-format.md").read_text(encoding="utf-8")
NAMES = [EVENT_NAMES[cls.TOPIC] for cls in EVENT_CLASSES]


@pytest.fixture(params=EVENT_CLASSES, ids=NAMES)
def cls(request: pytest.FixtureRequest) -> Any:
    return request.param


def test_every_event_declares_its_references_summary_and_export_fields(cls: Any) -> None:
    own = vars(cls)
    for attribute in ("TOPIC", "REFS", "EXPORT", "summary"):
        assert attribute in own, f"{cls.__name__} does not declare {attribute} (see domain/catalogue.py)"
    assert cls.TOPIC.startswith("coachledger:")


def test_the_export_fields_are_the_events_own_fields(cls: Any) -> None:
    assert data_fields(cls) == cls.EXPORT


def test_the_export_format_documents_every_field(cls: Any) -> None:
    name = EVENT_NAMES[cls.TOPIC]
    rows = [line for line in EXPORT_DOC.splitlines() if line.startswith(f"| {name} |")]
    assert len(rows) == 1, f"docs/export-format.md has no row for {name} in 'data by event'"
    documented = set(re.findall(r"`([a-z_]+)`", rows[0]))
    assert set(cls.EXPORT) <= documented, f"{name}: undocumented fields {set(cls.EXPORT) - documented}"
    if not cls.EXPORT:
        assert "(no fields)" in rows[0]


def test_references_name_real_fields_and_kinds(cls: Any) -> None:
    fields = set(data_fields(cls))
    for ref in cls.REFS:
        assert isinstance(ref, Defines | Refers)
        assert ref.field in fields, f"{cls.__name__} refers through '{ref.field}', which it does not have"
        if isinstance(ref, Refers) and ref.kind_field:
            assert ref.kind_field in fields
        else:
            assert ref.kind in KINDS or (isinstance(ref, Defines) and ref.kind == "client")
    references(cls)  # compiles


def test_every_event_has_a_view_or_says_who_treats_it(cls: Any) -> None:
    handled = registry.handlers()
    elsewhere = registry.treated_elsewhere()
    assert (cls in handled) != (cls in elsewhere), (
        f"{cls.__name__}: register a view row builder for it (registry.on) or say who treats it "
        "(registry.elsewhere), not both"
    )
    views = {view.NAME for view in runner.VIEWS}
    for handler in handled.get(cls, ()):
        assert handler.view in views, f"{handler.view} takes {cls.__name__} but is no view of the runner"
    assert cls.TOPIC in runner.routes() or cls in elsewhere


def test_every_event_has_a_timeline_line(cls: Any) -> None:
    assert "summary" in vars(cls), f"{cls.__name__} does not say its timeline line (summary)"
    assert timeline.summaries()[cls.TOPIC] is cls.summary


def test_topics_are_spelled_only_by_their_event_classes() -> None:
    spelled = re.compile(r"[\"']coachledger:[A-Za-z.]+[\"']")
    offenders = [
        str(path.relative_to(ROOT))
        for base in (ROOT / "src" / "coachledger", ROOT / "projections")
        for path in sorted(base.rglob("*.py"))
        if path.name not in ("events.py", "client.py", "keys.py", "practice.py")
        and spelled.search(path.read_text("utf-8"))
    ]
    assert offenders == []
    from coachledger.adapters import keys  # the key store, which must not import the domain

    assert keys.FORGOTTEN_TOPIC == Client.Forgotten.TOPIC


def a_journey() -> Client:
    client = Client.register("maria", "ana-lopez", "Ana López", "maria")
    when = datetime(2026, 1, 5, tzinfo=UTC)
    client.set_goal("maria", "lead-team", "Lead a team", "long", due=datetime(2027, 1, 1, tzinfo=UTC))
    client.define_kpi(
        "maria", "salary", name="Base salary", category="salary", unit="EUR", direction="increase",
        target=Decimal("85000.50"), due=datetime(2027, 6, 30, tzinfo=UTC), now=when, goal="lead-team",
        scale_min=Decimal(0), scale_max=Decimal(1_000_000),
    )  # fmt: skip
    client.establish_baseline("maria", "salary", Decimal("72000.5"), when)
    mid = client.record_measurement("maria", "salary", Decimal(73000), when, note="raise", confidence=7)
    client.correct_measurement("maria", mid, Decimal(73100), "typo")
    client.retract_measurement("maria", mid, "wrong")
    client.adjust_kpi(
        "maria", "salary", reason="k", effective_at=when, unit="kEUR", factor=Decimal("0.001"),
        target=Decimal(90), scale_min=Decimal(0), scale_max=Decimal(2000), rescale=True,
    )  # fmt: skip
    client.receive_feedback("maria", 5, "good", "kpi:salary", when)
    client.log_session("maria", when, "Talked", ["salary"], ["Ask"])
    client.celebrate_milestone("maria", "lead-team", "Promoted")
    # the goal lifecycle
    client.adjust_goal(
        "maria", "lead-team", reason="sooner", effective_at=when, due=datetime(2026, 9, 1, tzinfo=UTC)
    )
    client.achieve_goal("maria", "lead-team", when, "Leads four")
    client.reopen_goal("maria", "lead-team", when, "Team of five")
    client.abandon_goal("maria", "lead-team", when, "Moved to a specialist track")
    # Between sessions: actions, and fixes of any record.
    client.agree_actions("maria", ["Ask"])
    client.complete_action("maria", client.open_action("maria", "Read", when, "salary"), "read")
    client.drop_action("maria", "a1", "moot")
    client.rename("maria", "Ana López García", "married")
    client.update("maria", "li", "ana@example.org", "leave")
    client.amend_session("maria", "s1", "typo", notes="Talked more", effective_at=when, kpis=[])
    client.retract_session("maria", "s1", "twice")
    client.retract_feedback("maria", "f1", "other client")
    client.retract_milestone("maria", "lead-team", "too early")
    # Check-ins: a link answered twice within its window (the second amends), a form, a revocation.
    link, form, soon = "ab" * 32, "cd" * 32, datetime(2026, 3, 1, tzinfo=UTC)
    client.issue_checkin("maria", "link", ["salary"], soon, link, when)
    answer = [Answer("salary", Decimal(800), 8, "raise came")]
    client.answer_checkin("c1", link, answer, datetime(2026, 2, 1, tzinfo=UTC), rating=4)
    client.answer_checkin("c1", link, answer, datetime(2026, 2, 2, tzinfo=UTC), rating=5)
    client.issue_checkin("maria", "form", [], soon, form, when)
    client.answer_checkin("c2", form, [], datetime(2026, 2, 3, tzinfo=UTC), rating=3, kind="form")
    client.revoke_checkin("maria", "c1", "sent to the wrong address")
    client.retire_kpi("maria", "salary", "done", when)
    client.forget("maria")
    return client


HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"


def a_coach() -> Coach:
    """A coach of the practice through every event of a coach's stream."""
    coach = Coach.add("lena", "maria", True, HASH)
    coach.change_password("maria", HASH.replace("c2Fs", "c2Fz"))
    coach.disable("lena")
    coach.enable("lena")
    return coach


def test_a_journey_through_every_event_says_each_on_the_timeline() -> None:
    mapper = codec.MsgspecMapper()
    said = {}
    for event in [*a_journey().collect_events(), *a_coach().collect_events()]:
        stored = mapper.to_stored_event(event)
        said.setdefault(EVENT_NAMES[stored.topic], []).append(
            timeline.summaries()[stored.topic](codec.decode_payload(stored.topic, stored.state))
        )
    assert set(said) == set(NAMES)
    assert said["KpiDefined"][0] == (
        'Defined KPI salary "Base salary" (salary): increase to 85000.5 EUR by 2027-06-30, scale 0..1,000,000'
    )
    assert said["MeasurementRecorded"][0] == "Measured salary = 73,000 (m1, coach, confidence 7/10) - raise"
    assert said["GoalAdjusted"][0] == "Adjusted goal lead-team: due 2026-09-01 - sooner"
    assert said["GoalAbandoned"][0] == "Abandoned goal lead-team: Moved to a specialist track"
    assert said["MeasurementRecorded"][1] == (
        "Measured salary = 800 (m2, self, confidence 8/10) via check-in link c1 - raise came"
    )
    assert said["CheckinLinkIssued"] == ["Issued check-in link c1 for salary (expires 2026-03-01)"]
    assert said["CheckinLinkUsed"] == [
        "Check-in link c1 answered: recorded m2; feedback f2",
        "Check-in link c1 answered: amended m2; feedback f3",
    ]
    assert said["MeasurementCorrected"][1] == (
        "Corrected m2 to 800, confidence 8/10: answered again through check-in link c1 within its "
        "monthly window (from 2026-02-01)"
    )
    assert said["FeedbackRetracted"][1:] == [
        "Retracted feedback f2: rated again through check-in c1 within the same window",
        "Retracted feedback f3: rated again through check-in c2 within the same window",
    ]
    assert said["FeedbackReceived"][1] == "Feedback 4/5 about process via check-in link c1"
    assert said["CheckinFormUsed"] == ["Check-in form c2 answered: feedback f4"]
    assert said["CheckinLinkRevoked"] == ["Revoked check-in c1: sent to the wrong address"]
    assert said["CoachAdded"] == ["Added coach maria (admin)"]
    assert said["CoachPasswordChanged"] == ["Changed the coach's password"]  # never the hash
    assert said["KpiAdjusted"][0] == (
        "Adjusted KPI salary: unit kEUR, target 90, scale 0..2,000 (rescaled), unit factor x0.001 - k"
    )


def test_references_are_checked_and_remembered_as_declared() -> None:
    known = Known()
    journey = a_journey().collect_events()
    for event in journey:
        assert references(type(event))(event, known) is None
    assert (known.slug, known.goals, known.kpis, known.measurements, known.checkins) == (
        "ana-lopez",
        {"lead-team"},
        {"salary"},
        {"m1", "m2"},
        {"c1", "c2"},
    )
    again = references(Client.KpiDefined)(journey[2], known)
    assert again == ("data.kpi", "KPI 'salary' of client 'ana-lopez' is already defined")
    fresh = Known()
    for event in journey[:2]:
        remembers(type(event))(event, fresh)
    assert references(Client.FeedbackReceived)(journey[8], fresh) == (
        "data.about",
        "unknown KPI 'salary' of client 'ana-lopez' (not defined by an earlier line or in the store)",
    )
    assert references(Client.MilestoneCelebrated)(journey[10], Known()) == (
        "data.target",
        "unknown goal 'lead-team' of this stream (not recorded by an earlier line or in the store)",
    )


def test_several_views_may_take_one_event() -> None:
    """A second handler for an event gets its own rows, beside the first view's."""
    seen: list[tuple[int, str]] = []

    @registry.on("GoalSet", "INSERT INTO second_view VALUES (?,?)")
    def _second(seq: int, stream: str, key: int, d: Any) -> tuple[Any, ...]:
        seen.append((seq, d.goal))
        return (seq, d.goal)

    try:
        runner._DISPATCH.clear()
        mapper = codec.MsgspecMapper()
        rows = []
        for seq, event in enumerate(a_journey().collect_events()[:2], start=1):
            stored = mapper.to_stored_event(event)
            rows.append((seq, stored.originator_id.hex, seq, stored.topic, stored.state))
        keys = runner.ClientKeys(db=None)
        (message,) = list(runner.build(rows, keys))
        assert message[0] == "rows"
        assert message[1]["INSERT INTO second_view VALUES (?,?)"] == [(2, "lead-team")]
        assert len(message[1]["INSERT INTO goals VALUES (?,?,?,?,?,?,?)"]) == 1
        assert seen == [(2, "lead-team")]
    finally:
        registry._DECLARED.pop()
        registry._RESOLVED.clear()
        runner._DISPATCH.clear()
