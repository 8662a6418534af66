"""The domain: the client aggregate (``client``), its events and what each says about itself
(``events``, in the words of ``catalogue``), and the rules its commands check (``rules``);
the coaches of the practice (``practice``), an aggregate of their own."""

from __future__ import annotations

from typing import Any

from coachledger.domain import events as _events
from coachledger.domain.checkins.events import CHECKIN_CLASSES as _CHECKINS
from coachledger.domain.client import Client
from coachledger.domain.followup.events import FOLLOWUP_CLASSES as _FOLLOWUP
from coachledger.domain.practice import COACH_CLASSES, Coach
from coachledger.domain.rules import (
    CATEGORIES,
    DEFINERS,
    DIMENSIONS,
    DIRECTIONS,
    HORIZONS,
    ID_PATTERN,
    SOURCES,
    check_choice,
    check_id,
    check_moment,
    check_number,
    iso,
    require_reason,
)
from coachledger.errors import (
    ClientNotFound,
    ClientWasForgotten,
    DomainError,
    DuplicateId,
    InvalidValue,
    OutsideScale,
    ReasonRequired,
    RetiredKpi,
    UnknownId,
)
from coachledger.ids import client_id

# Every event class of the client's stream: those of ``events``, then those between sessions
# (actions and fixes of any record, ``followup.events``), then check-ins (``checkins.events``).
CLIENT_EVENT_CLASSES: tuple[type[_events.Event], ...] = (*_events.EVENT_CLASSES, *_FOLLOWUP, *_CHECKINS)
# Every event class the ledger stores: a client's, then a coach's (``practice``).
EVENT_CLASSES: tuple[type[Any], ...] = (*CLIENT_EVENT_CLASSES, *COACH_CLASSES)
EVENT_NAMES: dict[str, str] = {cls.TOPIC: cls.TOPIC.split(":", 1)[1] for cls in EVENT_CLASSES}

__all__ = [
    "CATEGORIES",
    "CLIENT_EVENT_CLASSES",
    "COACH_CLASSES",
    "DEFINERS",
    "DIMENSIONS",
    "DIRECTIONS",
    "EVENT_CLASSES",
    "EVENT_NAMES",
    "HORIZONS",
    "ID_PATTERN",
    "SOURCES",
    "Client",
    "ClientNotFound",
    "ClientWasForgotten",
    "Coach",
    "DomainError",
    "DuplicateId",
    "InvalidValue",
    "OutsideScale",
    "ReasonRequired",
    "RetiredKpi",
    "UnknownId",
    "check_choice",
    "check_id",
    "check_moment",
    "check_number",
    "client_id",
    "iso",
    "require_reason",
]
