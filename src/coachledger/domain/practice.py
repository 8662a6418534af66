"""The practice: the coaches who sign in to ``coachledger serve``, one event stream each.

A ``Coach`` is an aggregate of its own, beside the clients: its stream id is derived from
its name (``ids.coach_id``), so a name is taken once. Its events say, as the client's do
(``catalogue``): ``TOPIC``, ``REFS`` (a coach's stream refers to nothing), ``EXPORT`` and
``summary``. A password never enters an event: only its argon2id hash does, made by the
service that asks for the password (``services.access``); the aggregate refuses anything
that is not such a hash, so a plain password cannot be recorded by mistake.

A coach's clients are the clients whose coach (as last updated) is the coach's name.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from coachledger.domain.catalogue import Ref
from coachledger.errors import InvalidValue
from coachledger.ids import coach_id

# A coach's name: what clients name as their coach (``client add --coach``), and what a
# coach signs in with. Letters, digits, '.', '_', '@' and '-' (an e-mail address fits).
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
HASH_PREFIX = "$argon2id$"


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        shown = name[:80].encode("unicode_escape").decode()
        raise InvalidValue(
            f"coach name '{shown}' must be 1-64 letters, digits, '.', '_', '@' or '-' (starting with a letter or digit)"
        )


def check_hash(password_hash: str) -> None:
    if not (isinstance(password_hash, str) and password_hash.startswith(HASH_PREFIX)):
        raise InvalidValue("a coach's password is recorded only as an argon2id hash")


class CoachEvent(Aggregate.Event):
    TOPIC = "coachledger:Coach.Event"
    REFS: ClassVar[tuple[Ref, ...]]
    EXPORT: ClassVar[tuple[str, ...]]
    actor: str

    def apply(self, aggregate: Any) -> None:  # pragma: no cover - overridden
        pass

    @staticmethod
    def summary(d: Any) -> str:  # pragma: no cover - every event says its own
        raise NotImplementedError


class CoachAdded(CoachEvent, Aggregate.Created):
    TOPIC = "coachledger:CoachAdded"
    name: str
    admin: bool
    password_hash: str

    REFS = ()
    EXPORT = ("name", "admin", "password_hash")

    @staticmethod
    def summary(d: Any) -> str:
        return f"Added coach {d.name}" + (" (admin)" if d.admin else "")


class CoachPasswordChanged(CoachEvent):
    TOPIC = "coachledger:CoachPasswordChanged"
    password_hash: str

    REFS = ()
    EXPORT = ("password_hash",)

    @staticmethod
    def summary(d: Any) -> str:
        return "Changed the coach's password"

    def apply(self, aggregate: Any) -> None:
        aggregate.password_hash = self.password_hash


class CoachDisabled(CoachEvent):
    TOPIC = "coachledger:CoachDisabled"

    REFS = ()
    EXPORT = ()

    @staticmethod
    def summary(d: Any) -> str:
        return "Disabled the coach: no more sign-ins"

    def apply(self, aggregate: Any) -> None:
        aggregate.disabled = True


class CoachEnabled(CoachEvent):
    TOPIC = "coachledger:CoachEnabled"

    REFS = ()
    EXPORT = ()

    @staticmethod
    def summary(d: Any) -> str:
        return "Enabled the coach again"

    def apply(self, aggregate: Any) -> None:
        aggregate.disabled = False


class Coach(Aggregate):
    """A coach of the practice: who may sign in, and whether they see every client (admin)."""

    TOPIC = "coachledger:Coach"

    Event = CoachEvent
    Added = CoachAdded
    PasswordChanged = CoachPasswordChanged
    Disabled = CoachDisabled
    Enabled = CoachEnabled

    def __init__(self, actor: str, name: str, admin: bool, password_hash: str) -> None:
        self.name = name
        self.admin = admin
        self.password_hash = password_hash
        self.disabled = False

    @staticmethod
    def create_id(name: str) -> UUID:
        return coach_id(name)

    @classmethod
    def add(cls, actor: str, name: str, admin: bool, password_hash: str) -> Coach:
        check_name(name)
        check_hash(password_hash)
        return cls(actor=actor, name=name, admin=bool(admin), password_hash=password_hash)

    def change_password(self, actor: str, password_hash: str) -> None:
        check_hash(password_hash)
        self.trigger_event(self.PasswordChanged, actor=actor, password_hash=password_hash)

    def disable(self, actor: str) -> None:
        if self.disabled:
            raise InvalidValue(f"coach '{self.name}' is already disabled")
        self.trigger_event(self.Disabled, actor=actor)

    def enable(self, actor: str) -> None:
        if not self.disabled:
            raise InvalidValue(f"coach '{self.name}' is not disabled")
        self.trigger_event(self.Enabled, actor=actor)


COACH_CLASSES: tuple[type[CoachEvent], ...] = (CoachAdded, CoachPasswordChanged, CoachDisabled, CoachEnabled)
