"""Application services: load a client, call the domain, save.

A save that loses an optimistic-concurrency race (another process appended to the
same stream first) is retried from a fresh load under the store's write lock, held for
the whole load-decide-save: concurrent writers never fail, never lose or double a
write, and a long write (a large import) is not starved by a stream of short ones.

Snapshots: one per client is kept, sealed to the chain (adapters/snapshots.py), taken
once per save that crosses an interval (not once per crossed interval), and again when
the stored one was refused.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, OperationalError

from coachledger.adapters.codec import MsgspecMapper
from coachledger.domain import Client, ClientNotFound, Coach, DuplicateId, UnknownId
from coachledger.ids import PUBLIC, StreamIds, coach_id

T = TypeVar("T")
MAX_ATTEMPTS = 200


class Ledger(Application[UUID]):
    """The write side of one ledger (one store)."""

    name = "coachledger"
    snapshotting_intervals = {Client: 100}  # noqa: RUF012 - the library's own convention
    settings: Any = None  # the composition root's Settings (services that read the views too need them)

    def __init__(
        self,
        env: dict[str, str],
        factory: Callable[[Any], InfrastructureFactory[Any]],
        actor: str,
        cipher_for: Any = None,
        ids: StreamIds = PUBLIC,
    ) -> None:
        self._factory_class = factory
        self._cipher_for = cipher_for
        self.ids = ids  # how this ledger derives a client's stream id from its slug
        self.actor = actor
        super().__init__(env)

    def construct_factory(self, env: Any) -> InfrastructureFactory[Any]:
        return self._factory_class(env)

    def construct_mapper(self) -> MsgspecMapper:  # type: ignore[override]
        return MsgspecMapper(cipher_for=self._cipher_for)

    # -- loading and saving ---------------------------------------------

    def client(self, slug: str) -> Client:
        try:
            return self.repository.get(self.ids.client_id(slug), projector_func=_project)  # type: ignore[no-any-return]
        except _OlderSnapshot:  # taken before sessions, feedback and actions had ids: replay it all
            return self._replayed(self.ids.client_id(slug), None)  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            raise ClientNotFound(slug) from None

    def _replayed(self, aggregate_id: UUID, version: int | None) -> Any:
        """The client from all its events (no snapshot)."""
        return _project(None, self.repository.event_store.get(originator_id=aggregate_id, lte=version), fresh=True)

    def take_snapshot(self, aggregate_id: UUID, version: int | None = None, projector_func: Any = None) -> None:
        """The library's, from all the events where the stored snapshot is older (``_OlderSnapshot``)."""
        try:
            super().take_snapshot(aggregate_id, version, projector_func=_project)
        except _OlderSnapshot:
            aggregate = self._replayed(aggregate_id, version)
            snapshot_class: Any = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
            assert self.snapshots is not None and snapshot_class is not None
            self.snapshots.put([snapshot_class.take(aggregate)])

    def exists(self, slug: str) -> bool:
        return bool(self.recorder.select_events(self.ids.client_id(slug), limit=1))

    def change(self, slug: str, command: Callable[[Client], T]) -> T:
        """Run a command on a freshly loaded client and save it; after a lost race, again
        under the write lock (no other writer can then get in between)."""
        return self._changed(lambda: self.client(slug), command)

    def _changed(self, load: Callable[[], Any], command: Callable[[Any], T]) -> T:
        for attempt in range(MAX_ATTEMPTS):
            locked = attempt > 0
            try:
                with self._write_lock() if locked else contextlib.nullcontext():
                    aggregate = load()
                    result = command(aggregate)
                    self.save(aggregate)
            except (IntegrityError, OperationalError):
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                time.sleep(random.uniform(0, 0.005 * min(attempt + 1, 20)))
                continue
            finally:
                self._take_deferred_snapshots()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the coaches of the practice (domain/practice.py) --------------------------

    def coach(self, name: str) -> Coach:
        try:
            return self.repository.get(coach_id(name))  # type: ignore[no-any-return]
        except AggregateNotFoundError:
            raise UnknownId(f"unknown coach '{name}'") from None

    def add_coach(self, name: str, admin: bool, password_hash: str) -> str:
        coach = Coach.add(self.actor, name, admin, password_hash)
        try:
            self.save(coach)
        except IntegrityError:
            raise DuplicateId(f"coach '{name}' already exists") from None
        return name

    def change_coach_password(self, name: str, password_hash: str) -> None:
        self._changed(lambda: self.coach(name), lambda c: c.change_password(self.actor, password_hash))

    def disable_coach(self, name: str) -> None:
        self._changed(lambda: self.coach(name), lambda c: c.disable(self.actor))

    def enable_coach(self, name: str) -> None:
        self._changed(lambda: self.coach(name), lambda c: c.enable(self.actor))

    # -- snapshots: sealed, one per client, taken once per save -----------------

    _deferred: list[tuple[UUID, int]]
    _locked = False

    @contextlib.contextmanager
    def _write_lock(self) -> Any:
        lock = getattr(self.recorder, "write_lock", None)
        if lock is None:  # pragma: no cover - every ledger recorder has one
            yield
            return
        with lock():
            self._locked = True
            try:
                yield
            finally:
                self._locked = False

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        """One snapshot per client and save, at its last version, when the save crossed a
        snapshotting interval or the stored snapshot was refused (the library takes one per
        crossed interval, each from a fresh load: quadratic for a large import)."""
        if self.snapshots is None:
            return
        rejected: set[str] = getattr(self.snapshots.recorder, "rejected", set())
        last: dict[UUID, int] = {}
        crossed: set[UUID] = set()
        for event in processing_event.events:
            aggregate = processing_event.aggregates.get(event.originator_id)
            interval = self.snapshotting_intervals.get(type(aggregate)) if aggregate else None
            if interval is None:
                continue
            last[event.originator_id] = event.originator_version
            if event.originator_version % interval == 0:
                crossed.add(event.originator_id)
        for aggregate_id, version in last.items():
            if aggregate_id in crossed or aggregate_id.hex in rejected:
                self._deferred = [*getattr(self, "_deferred", []), (aggregate_id, version)]
        if not self._locked:
            self._take_deferred_snapshots()

    def _take_deferred_snapshots(self) -> None:
        """Take the snapshots a save asked for (after the write lock is released: the
        snapshot is taken from a load, which sees committed events only)."""
        if self._locked:
            return
        deferred, self._deferred = getattr(self, "_deferred", []), []
        for aggregate_id, version in deferred:
            with contextlib.suppress(IntegrityError):  # a later snapshot, or the same one, was stored first
                self.take_snapshot(aggregate_id, version=version)

    # -- commands ---------------------------------------------------------

    def add_client(self, slug: str, name: str, coach: str | None) -> str:
        client = Client.register(self.actor, slug, name, coach, self.ids.client_id(slug))
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
        self,
        slug: str,
        kpi: str,
        value: Decimal,
        at: datetime | None,
        source: str | None,
        reason: str | None,
        confirmed: bool = False,
    ) -> None:
        self.change(
            slug,
            lambda c: c.establish_baseline(
                self.actor, kpi, value, at or _now(), source, reason, confirmed=confirmed
            ),
        )

    def record_measurement(
        self,
        slug: str,
        kpi: str,
        value: Decimal,
        at: datetime | None,
        source: str,
        note: str | None,
        confidence: int | None = None,
        confirmed: bool = False,
    ) -> str:
        return self.change(
            slug,
            lambda c: c.record_measurement(
                self.actor, kpi, value, at or _now(), source, note, confidence, confirmed=confirmed
            ),
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
    ) -> list[str]:
        """Log the session and open each agreed action, linked to it (one save): the ids opened."""

        def log(c: Client) -> list[str]:
            c.log_session(self.actor, at or _now(), notes, kpis, actions)
            return c.agree_actions(self.actor, actions)

        return self.change(slug, log)

    def celebrate_milestone(self, slug: str, target: str, note: str | None) -> None:
        self.change(slug, lambda c: c.celebrate_milestone(self.actor, target, note))

    def define_kpis(self, slug: str, definitions: list[dict[str, Any]]) -> list[str]:
        """Several KPIs (a template's) saved together: all of them, or none when one is refused."""

        def define_all(c: Client) -> None:
            now = _now()
            for fields in definitions:
                c.define_kpi(self.actor, now=now, **fields)

        self.change(slug, define_all)
        return [d["kpi"] for d in definitions]

    # -- the goal lifecycle --

    def adjust_goal(
        self, slug: str, goal: str, reason: str | None, at: datetime | None, **changes: Any
    ) -> None:
        self.change(
            slug,
            lambda c: c.adjust_goal(self.actor, goal, reason=reason, effective_at=at or _now(), **changes),
        )

    def achieve_goal(self, slug: str, goal: str, at: datetime | None, note: str | None) -> None:
        self.change(slug, lambda c: c.achieve_goal(self.actor, goal, at or _now(), note))

    def abandon_goal(self, slug: str, goal: str, at: datetime | None, reason: str | None) -> None:
        self.change(slug, lambda c: c.abandon_goal(self.actor, goal, at or _now(), reason))

    def reopen_goal(self, slug: str, goal: str, at: datetime | None, reason: str | None) -> None:
        self.change(slug, lambda c: c.reopen_goal(self.actor, goal, at or _now(), reason))

    def forget(self, slug: str) -> None:
        self.change(slug, lambda c: c.forget(self.actor))

    # -- between sessions: actions, and fixes of any record ----------------------------

    def open_action(self, slug: str, text: str, due: datetime | None, kpi: str | None) -> str:
        return self.change(slug, lambda c: c.open_action(self.actor, text, due, kpi))

    def complete_action(self, slug: str, action: str, note: str | None) -> None:
        self.change(slug, lambda c: c.complete_action(self.actor, action, note))

    def drop_action(self, slug: str, action: str, note: str | None) -> None:
        self.change(slug, lambda c: c.drop_action(self.actor, action, note))

    def rename_client(self, slug: str, name: str, reason: str | None) -> None:
        self.change(slug, lambda c: c.rename(self.actor, name, reason))

    def update_client(self, slug: str, coach: str | None, contact: str | None, reason: str | None) -> None:
        self.change(slug, lambda c: c.update(self.actor, coach, contact, reason))

    def amend_session(self, slug: str, session: str, reason: str | None, **changes: Any) -> None:
        self.change(slug, lambda c: c.amend_session(self.actor, session, reason, **changes))

    def retract_session(self, slug: str, session: str, reason: str | None) -> None:
        self.change(slug, lambda c: c.retract_session(self.actor, session, reason))

    def retract_feedback(self, slug: str, feedback: str, reason: str | None) -> None:
        self.change(slug, lambda c: c.retract_feedback(self.actor, feedback, reason))

    def retract_milestone(self, slug: str, target: str, reason: str | None) -> None:
        self.change(slug, lambda c: c.retract_milestone(self.actor, target, reason))


class _OlderSnapshot(Exception):
    """The client's snapshot predates the state its events now keep (``Client.actions``; ``checkins``,
    with which KPIs keep their cadence too)."""


_CURRENT_STATE = {"actions", "checkins"}


def _project(initial: Any, events: Any, *, fresh: bool = False) -> Any:
    """The library's projection, refusing a snapshot without the ids of sessions and actions."""
    aggregate = initial
    for event in events:
        aggregate = event.mutate(aggregate)
        if not fresh and aggregate is not None and not vars(aggregate).keys() >= _CURRENT_STATE:
            raise _OlderSnapshot
        fresh = True
    return aggregate


def _now() -> datetime:
    return datetime.now(tz=UTC)
