"""Application services: load a client, call the domain, save.

A save that loses an optimistic-concurrency race (another process appended to the
same stream first) is retried from a fresh load, so concurrent writers never fail and
never lose or double a write.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, OperationalError

from coachledger.adapters.codec import MsgspecMapper
from coachledger.domain import Client, ClientNotFound, DuplicateId, client_id

T = TypeVar("T")
MAX_ATTEMPTS = 200


class Ledger(Application[UUID]):
    """The write side of one ledger (one store)."""

    name = "coachledger"
    snapshotting_intervals = {Client: 100}  # noqa: RUF012 - the library's own convention

    def __init__(
        self,
        env: dict[str, str],
        factory: Callable[[Any], InfrastructureFactory[Any]],
        actor: str,
        cipher_for: Any = None,
    ) -> None:
        self._factory_class = factory
        self._cipher_for = cipher_for
        self.actor = actor
        super().__init__(env)

    def construct_factory(self, env: Any) -> InfrastructureFactory[Any]:
        return self._factory_class(env)

    def construct_mapper(self) -> MsgspecMapper:  # type: ignore[override]
        return MsgspecMapper(cipher_for=self._cipher_for)

    # -- loading and saving ---------------------------------------------

    def client(self, slug: str) -> Client:
        try:
            return self.repository.get(client_id(slug))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            raise ClientNotFound(slug) from None

    def exists(self, slug: str) -> bool:
        return bool(self.recorder.select_events(client_id(slug), limit=1))

    def change(self, slug: str, command: Callable[[Client], T]) -> T:
        """Run a command on a freshly loaded client and save it, retrying lost races."""
        for attempt in range(MAX_ATTEMPTS):
            client = self.client(slug)
            result = command(client)
            try:
                self.save(client)
            except (IntegrityError, OperationalError):
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, 0.005 * min(attempt + 1, 20)))
                continue
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    # -- commands ---------------------------------------------------------

    def add_client(self, slug: str, name: str, coach: str | None) -> str:
        client = Client.register(self.actor, slug, name, coach)
        try:
            self.save(client)
        except IntegrityError:
            raise DuplicateId(f"client '{slug}' already exists") from None
        return slug

    def set_goal(self, slug: str, goal: str, text: str, horizon: str, due: datetime | None = None) -> str:
        self.change(slug, lambda c: c.set_goal(self.actor, goal, text, horizon, due))
        return goal

    def define_kpi(self, slug: str, kpi: str, **fields: Any) -> str:
        self.change(slug, lambda c: c.define_kpi(self.actor, kpi, now=_now(), **fields))
        return kpi

    def establish_baseline(
        self, slug: str, kpi: str, value: Decimal, at: datetime | None, source: str | None, reason: str | None
    ) -> None:
        self.change(
            slug, lambda c: c.establish_baseline(self.actor, kpi, value, at or _now(), source, reason)
        )

    def record_measurement(
        self, slug: str, kpi: str, value: Decimal, at: datetime | None, source: str, note: str | None
    ) -> str:
        return self.change(
            slug, lambda c: c.record_measurement(self.actor, kpi, value, at or _now(), source, note)
        )

    def correct_measurement(self, slug: str, mid: str, value: Decimal, reason: str | None) -> None:
        self.change(slug, lambda c: c.correct_measurement(self.actor, mid, value, reason))

    def retract_measurement(self, slug: str, mid: str, reason: str | None) -> None:
        self.change(slug, lambda c: c.retract_measurement(self.actor, mid, reason))

    def adjust_kpi(
        self, slug: str, kpi: str, reason: str | None, at: datetime | None, **changes: Any
    ) -> None:
        self.change(
            slug, lambda c: c.adjust_kpi(self.actor, kpi, reason=reason, effective_at=at or _now(), **changes)
        )

    def retire_kpi(self, slug: str, kpi: str, reason: str | None, at: datetime | None) -> None:
        self.change(slug, lambda c: c.retire_kpi(self.actor, kpi, reason, at or _now()))

    def receive_feedback(
        self, slug: str, rating: int, comment: str | None, about: str, at: datetime | None
    ) -> None:
        self.change(slug, lambda c: c.receive_feedback(self.actor, rating, comment, about, at or _now()))

    def log_session(
        self, slug: str, at: datetime | None, notes: str, kpis: list[str], actions: list[str]
    ) -> None:
        self.change(slug, lambda c: c.log_session(self.actor, at or _now(), notes, kpis, actions))

    def celebrate_milestone(self, slug: str, target: str, note: str | None) -> None:
        self.change(slug, lambda c: c.celebrate_milestone(self.actor, target, note))

    def forget(self, slug: str) -> None:
        self.change(slug, lambda c: c.forget(self.actor))


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(tz=UTC)
