"""Events stored before check-ins existed read the same, and their client takes check-ins.

The fixture holds the stored form of a client's events and snapshot as the ledger wrote them
before ``via`` (measurements, feedback), a correction's ``confidence``/``note`` and the KPI
cadence kept in the aggregate's state existed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from coachledger.adapters import codec
from coachledger.application import _OlderSnapshot, _project
from coachledger.domain import Client
from coachledger.domain.checkins.commands import Answer
from coachledger.projections import timeline

FIXTURE = Path(__file__).parent.parent / "fixtures" / "stored-events-before-checkins.jsonl"
TOKEN = hashlib.sha256(b"t").hexdigest()


def stored() -> list[StoredEvent]:
    rows = [json.loads(line) for line in FIXTURE.read_text("utf-8").splitlines()]
    return [
        StoredEvent(UUID(r["originator_id"]), r["originator_version"], r["topic"], r["state"].encode())
        for r in rows
    ]


def test_older_events_read_with_the_new_fields_defaults_and_say_the_same() -> None:
    events = {s.topic: s for s in stored()}
    measured = codec.decode_payload(
        "coachledger:MeasurementRecorded", events["coachledger:MeasurementRecorded"].state
    )
    assert (measured.via, measured.confidence, measured.source) == (None, 6, "self")
    assert timeline.summaries()[Client.MeasurementRecorded.TOPIC](measured) == (
        "Measured stress = 7 (m1, self, confidence 6/10) - busy"
    )
    corrected = codec.decode_payload(
        Client.MeasurementCorrected.TOPIC, events[Client.MeasurementCorrected.TOPIC].state
    )
    assert (corrected.confidence, corrected.note) == (None, None)
    assert timeline.summaries()[Client.MeasurementCorrected.TOPIC](corrected) == "Corrected m1 to 6.5: typo"
    feedback = codec.decode_payload(
        Client.FeedbackReceived.TOPIC, events[Client.FeedbackReceived.TOPIC].state
    )
    assert feedback.via is None
    assert (
        timeline.summaries()[Client.FeedbackReceived.TOPIC](feedback) == 'Feedback 4/5 about process: "good"'
    )


def test_a_client_replayed_from_older_events_knows_its_kpis_cadence_for_the_window() -> None:
    mapper = codec.MsgspecMapper()
    events = [mapper.to_domain_event(s) for s in stored() if s.topic.startswith("coachledger:")]
    client = _project(None, events, fresh=True)
    assert isinstance(client, Client)
    client.issue_checkin(
        "maria", "link", ["stress"], datetime(2026, 3, 1, tzinfo=UTC), TOKEN, datetime(2026, 2, 2, tzinfo=UTC)
    )
    first = client.answer_checkin(
        "c1", TOKEN, [Answer("stress", Decimal(6))], datetime(2026, 2, 3, tzinfo=UTC)
    )
    # The cadence is 3 days since the adjustment (weekly before): a value 3 days later is new.
    again = client.answer_checkin(
        "c1", TOKEN, [Answer("stress", Decimal(5))], datetime(2026, 2, 5, tzinfo=UTC)
    )
    later = client.answer_checkin(
        "c1", TOKEN, [Answer("stress", Decimal(5))], datetime(2026, 2, 6, tzinfo=UTC)
    )
    assert (first.measurements, again.amended, later.measurements) == (["m2"], ["m2"], ["m3"])


def test_a_snapshot_taken_before_check_ins_is_replayed_from_the_events_instead() -> None:
    mapper = codec.MsgspecMapper()
    snapshot = next(mapper.to_domain_event(s) for s in stored() if not s.topic.startswith("coachledger:"))
    with pytest.raises(_OlderSnapshot):
        _project(None, [snapshot])
