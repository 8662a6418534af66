"""References: what an event may point at in its own stream, checked line by line (as each
event class declares it: ``coachledger.domain.catalogue``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coachledger.domain import (
    EVENT_CLASSES,
    Client,
)
from coachledger.domain.catalogue import Known, references, remembers, who

REGISTERED = Client.Registered.TOPIC


@dataclass
class _Stream(Known):
    """What the ledger knows of one stream, enough to check that new events fit it."""

    version: int = 0  # the version of the stream's previous line in the file
    stored: int = 0  # the last version already in the store
    existing: dict[int, tuple[str, bytes]] = field(default_factory=dict)


_who = who

# What each event records and refers to is declared beside it (its class's ``REFS``); the
# domain's catalogue makes each topic's check: a problem when the event points at something
# its stream never recorded (or repeats an id); otherwise what it records is remembered.
_REFS: dict[str, Callable[[Any, _Stream], tuple[str, str] | None]] = {
    cls.TOPIC: references(cls) for cls in EVENT_CLASSES
}
_REMEMBER = {cls.TOPIC: remembers(cls) for cls in EVENT_CLASSES}


def _remember(s: _Stream, topic: str, data: Any) -> None:
    """What a stored event records, for the lines that follow it."""
    record = _REMEMBER.get(topic)
    if record is not None:
        record(data, s)
