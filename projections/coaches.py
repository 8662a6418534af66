"""The coaches of the practice, read from each coach's own stream (no view table).

A coach's stream is a handful of events (added, a password changed, disabled, enabled),
so it is read and folded on every ask: a disabled coach or a changed password counts at
once, in every server process, whatever the views' position. Listing every coach looks
for the streams that start with ``CoachAdded`` (a scan of the event table: rare, and
for people, not for every page).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from coachledger.adapters.event_reads import stream_window, streams_starting_with
from coachledger.ids import coach_id
from coachledger.projections import clients
from coachledger.projections.db import ViewDB
from coachledger.projections.models import CoachRow

Decryptor = Callable[[str, str, bytes], bytes | None]


class CoachState(NamedTuple):
    """A coach as their events leave them; ``version`` changes with every event (sign-ins
    made before a password change, a disabling or an enabling are no longer valid)."""

    name: str
    admin: bool
    disabled: bool
    password_hash: str
    version: int
    added_at: str
    changed_at: str


def _fold(db: ViewDB, stream: str, decrypt: Decryptor | None) -> CoachState | None:
    # lazy: the codec and the coach's events only where coaches are read (serve, coach list)
    from coachledger.adapters.codec import decode_payload
    from coachledger.domain.practice import Coach

    found: CoachState | None = None
    for _seq, version, recorded_at, topic, state in stream_window(db, stream, 1 << 62, "", "9999"):
        clear = bytes(state) if decrypt is None else decrypt(stream, topic, bytes(state))
        if clear is None:
            return None
        d = decode_payload(topic, clear)
        if topic == Coach.Added.TOPIC:
            found = CoachState(d.name, d.admin, False, d.password_hash, version, recorded_at, recorded_at)
        elif found is None:
            return None  # not a coach's stream
        elif topic == Coach.PasswordChanged.TOPIC:
            found = found._replace(password_hash=d.password_hash)
        elif topic == Coach.Disabled.TOPIC:
            found = found._replace(disabled=True)
        elif topic == Coach.Enabled.TOPIC:
            found = found._replace(disabled=False)
        if found is not None:
            found = found._replace(version=version, changed_at=recorded_at)
    return found


def coach(db: ViewDB, name: str, decrypt: Decryptor | None = None) -> CoachState | None:
    """The coach called ``name`` (None: no such coach)."""
    found = _fold(db, coach_id(name).hex, decrypt)
    return found if found is not None and found.name == name else None


def all_coaches(db: ViewDB, decrypt: Decryptor | None = None) -> list[CoachRow]:
    """Every coach, by name, with how many clients name them as their coach (as last updated)."""
    # lazy: the coach's events only where coaches are read
    from coachledger.domain.practice import Coach

    counts: dict[str | None, int] = {}
    for c in clients.all_clients(db):
        counts[c["coach"]] = counts.get(c["coach"], 0) + 1
    found = [_fold(db, stream, decrypt) for stream in streams_starting_with(db, Coach.Added.TOPIC)]
    return sorted(
        (
            CoachRow(s.name, s.admin, s.disabled, counts.get(s.name, 0), s.added_at, s.changed_at)
            for s in found
            if s is not None
        ),
        key=lambda row: row.coach,
    )
