"""The audit timeline: every event, both times, the actor, a readable line and the data.

The timeline is not copied into a view table: the event store already holds every event
of a client in order, indexed by stream and recording time (``event_index``), so the
timeline of one client is read from there and rendered on the way out. A copy cost a
rebuild about as much as all the other views together, and on an encrypted ledger it
kept every event of every client in clear beside the ciphertext.

An event that cannot be read any more (its client's key was destroyed by ``forget``), and
every event of a client forgotten on an unencrypted ledger, shows as a placeholder that
keeps its place, sequence and recording time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coachledger.adapters.event_reads import has_topic, stream_window
from coachledger.projections.batch import moment, plain
from coachledger.projections.db import ViewDB
from coachledger.projections.models import TimelineEntry

NAME = "timeline"
HIDDEN = frozenset({"timestamp", "actor", "class_version", "originator_topic"})
ERASED = "(erased: the client's data was forgotten on request)"
Decryptor = Callable[[str, str, bytes], bytes | None]


def summaries() -> dict[str, Callable[[Any], str]]:
    """Each event topic's readable line, as a coach would say it (its event class's ``summary``)."""
    # lazy: progress and history never load the domain
    from coachledger.domain import EVENT_CLASSES

    return {cls.TOPIC: cls.summary for cls in EVENT_CLASSES}


def _forgotten_topic() -> str:
    # lazy: progress and history never load the domain
    from coachledger.domain import Client

    return Client.Forgotten.TOPIC


def was_forgotten(db: ViewDB, stream: str) -> bool:
    return has_topic(db, stream, _forgotten_topic())


def events(
    db: ViewDB,
    stream: str,
    *,
    since: str | None = None,
    until: str | None = None,
    known_seq: int | None = None,
    decrypt: Decryptor | None = None,
) -> list[TimelineEntry]:
    """The events of one client in recording order, within a recording-time window."""
    # lazy: progress and history never load the codec
    from coachledger.adapters.codec import decode_payload, event_name

    rows = stream_window(
        db, stream, known_seq if known_seq is not None else 1 << 62, since or "", until or "9999"
    )
    erased = was_forgotten(db, stream)
    forgotten, said = _forgotten_topic(), summaries()
    numbers = _numbering(db, stream, since)
    out: list[TimelineEntry] = []
    for seq, version, recorded_at, topic, state in rows:
        kind = event_name(topic)
        data = None
        if not erased or topic == forgotten:
            clear = bytes(state) if decrypt is None else decrypt(stream, topic, bytes(state))
            data = decode_payload(topic, clear) if clear is not None else None
        if data is None:
            out.append(TimelineEntry(seq, version, recorded_at, None, "-", kind, ERASED, {}))
            continue
        effective = getattr(data, "effective_at", None)
        fields = {k: plain(getattr(data, k)) for k in sorted(data.__struct_fields__) if k not in HIDDEN}
        number = numbers.get(topic)
        if number is not None:  # sessions and feedback are known by their order (s1, f1, ...)
            number[1] += 1
            fields["id"] = f"{number[0]}{number[1]}"
        out.append(
            TimelineEntry(
                seq,
                version,
                recorded_at,
                moment(effective) if effective else None,
                data.actor,
                kind,
                said[topic](data) if topic in said else kind,
                fields,
            )
        )
    return out


def _numbering(db: Any, stream: str, since: str | None) -> dict[str, list[Any]]:
    """The id prefix of numbered events and how many of each came before the window."""
    # lazy: the domain (and eventsourcing) only when numbered events are shown
    from coachledger.adapters import event_reads
    from coachledger.domain import Client

    out: dict[str, list[Any]] = {}
    for cls, prefix in ((Client.SessionLogged, "s"), (Client.FeedbackReceived, "f")):
        before = event_reads.count_before(db, stream, cls.TOPIC, since) if since else 0
        out[cls.TOPIC] = [prefix, before]
    return out

