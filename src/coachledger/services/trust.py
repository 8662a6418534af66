"""Keeping the ledger honest: verify its hash chain, anchor its head, erase a client.

``verify`` recomputes the seal chain (``sealing.seal``) over the stored events joined
with their index rows in recording order, read straight from the event store (no
event-sourcing machinery, no decryption: the seals cover the stored bytes), with the
one chain checker (``adapters.chain``). It names the first event that is wrong:

- a changed byte, or an event deleted, inserted or reordered: the recomputed seal
  differs from the stored one (and the sequence numbers show a hole where one was
  deleted);
- an event without its index row (inserted outside the ledger) or an index row
  without its event (a deleted event);
- a gap or a repeat in one client's versions;
- against an anchor: a different history up to the anchored event, or the newest
  events removed (the chain ends before the anchored event).

An anchor is the chain's head digest and event count, kept elsewhere: a ledger
rewritten from scratch, or cut short, no longer contains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import msgspec

from coachledger.adapters.chain import UNKNOWN_CLIENT, BadEvent, Verification, check_chain
from coachledger.adapters.chain import Anchor as ChainAnchor
from coachledger.adapters.eventstore import DamagedRows, EventTransaction, new_store_file, open_event_store
from coachledger.adapters.files import StoreError
from coachledger.adapters.sealing import GENESIS
from coachledger.errors import ClientNotFound, ClientWasForgotten, DomainError
from coachledger.services.client_names import client_from_events
from coachledger.settings import Settings

if TYPE_CHECKING:
    from coachledger.projections.audit import ViewCheck

__all__ = [
    "UNKNOWN_CLIENT",
    "Anchor",
    "BadEvent",
    "Findings",
    "Verification",
    "check_chain",
    "forget",
    "inspect",
    "verify",
]


class AnchorFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What ``coachledger anchor`` writes: enough to prove the ledger still contains it."""

    events: int
    head: str
    seq: int | None = None
    created_at: str | None = None


@dataclass(frozen=True)
class Anchor(ChainAnchor):
    @classmethod
    def load(cls, source: Path | BinaryIO) -> Anchor:
        path = source if isinstance(source, Path) else "the anchor on stdin"
        try:
            data = source.read_bytes() if isinstance(source, Path) else source.read()
            doc = msgspec.json.decode(data, type=AnchorFile)
            head = bytes.fromhex(doc.head)
        except OSError as e:
            raise DomainError(f"cannot read the anchor file {path}: {e.strerror}") from None
        except (msgspec.DecodeError, ValueError) as e:
            raise DomainError(f"{path} is not a coachledger anchor file ({e})") from None
        if len(head) != len(GENESIS) or doc.events < 0 or (doc.seq is not None and doc.seq < doc.events):
            raise DomainError(f"{path} is not a coachledger anchor file (bad head, events or seq)")
        return cls(doc.events, doc.seq if doc.seq is not None else doc.events, head)


def verify(settings: Settings, anchor: Anchor | None = None) -> Verification:
    """Recompute the whole chain; the first bad event, if any, is named with its client."""
    return inspect(settings, anchor).chain


@dataclass(frozen=True)
class SnapshotFinding:
    client: str
    stream: str
    version: int
    reason: str

    def describe(self) -> str:
        return f"client '{self.client}', snapshot at version {self.version}: {self.reason}"


@dataclass(frozen=True)
class Findings:
    """Everything ``verify`` checks: the chain, the store's pages, the snapshots, and (if asked) the views."""

    chain: Verification
    damage: tuple[str, ...] = ()
    snapshots: tuple[SnapshotFinding, ...] = ()
    views: ViewCheck | None = None  # None: not checked

    @property
    def ok(self) -> bool:
        views_ok = self.views is None or self.views.ok
        return self.chain.ok and not self.damage and not self.snapshots and views_ok

    def problems(self) -> list[str]:
        """One line per kind of finding, the chain's first."""
        lines = []
        if self.chain.first_bad is not None:
            lines.append(self.chain.first_bad.describe())
        if self.damage:
            more = f" (and {len(self.damage) - 1} more)" if len(self.damage) > 1 else ""
            lines.append(
                f"the store is damaged: SQLite's own check (quick_check) reports: {self.damage[0]}{more}; "
                "writes may fail: restore the store from a backup, or export what still reads into a new store"
            )
        if self.snapshots:
            first = self.snapshots[0]
            more = f" ({len(self.snapshots)} bad snapshots)" if len(self.snapshots) > 1 else ""
            lines.append(
                f"{first.describe()}{more}; the store was changed outside the ledger: a bad snapshot is never "
                "used (the client is loaded from its events) and the next write replaces it"
            )
        if self.views is not None and self.views.first is not None:
            lines.append(self.views.first.describe())
        return lines

    def as_json(self) -> dict[str, Any]:
        """The chain's document; the other checks' keys only when they found something (or were asked)."""
        doc = self.chain.as_json()
        doc["ok"] = self.ok
        if self.damage:
            doc["damage"] = list(self.damage)
        if self.snapshots:
            doc["bad_snapshots"] = [
                {"client": b.client, "stream": b.stream, "version": b.version, "reason": b.reason}
                for b in self.snapshots
            ]
        if self.views is not None:
            first = self.views.first
            doc["views"] = {
                "ok": self.views.ok,
                "tables": self.views.tables,
                "rows": self.views.rows,
                "first_difference": None if first is None else first.as_json(),
            }
        return doc


def inspect(settings: Settings, anchor: Anchor | None = None, *, views: bool = False) -> Findings:
    """The chain recomputed (the first bad event named with its client), the store's pages checked by
    the database itself, every snapshot's seal checked and, with ``views``, the views rebuilt aside
    from the events and compared with the live ones."""
    where = settings.store.describe()
    with open_event_store(settings.store, strict=True) as store, store.transaction(write=False) as tx:
        events, index = tx.sealed_tables()
        if events != index:
            raise StoreError(f"the store at {where} lacks its event index: it is not a sealed ledger")
        damage = tuple(tx.damage())
        result = _verify_rows(tx, anchor, store.contiguous) if events else check_chain([], anchor=anchor)
        bad = result.first_bad
        if bad is not None:
            result = Verification(
                result.events,
                result.seq,
                result.head,
                BadEvent(bad.seq, bad.stream, bad.reason, _name(tx, bad.stream, settings)),
            )
        snapshots = tuple(
            SnapshotFinding(_name(tx, b.stream, settings), b.stream, b.version, b.reason)
            for b in (tx.bad_snapshots() if events and not damage else ())
        )
    checked = None
    if views and not damage:
        # lazy: only verify --views rebuilds the views
        from coachledger.projections.audit import compare_views

        checked = compare_views(settings)
    return Findings(result, damage, snapshots, checked)


def _name(tx: EventTransaction, stream: str | None, settings: Settings) -> str:
    """How verify names a client: its slug as the views know it, else as its own events do."""
    if stream is None:
        return UNKNOWN_CLIENT
    try:
        slug = tx.slug_of(stream)
    except Exception:  # a damaged store: its views may not read either
        slug = None
    return slug or client_from_events(tx, stream, settings)


def _verify_rows(tx: EventTransaction, anchor: Anchor | None, contiguous: bool) -> Verification:
    def scan(missing: tuple[int, str] | None) -> Verification:
        try:
            return check_chain(tx.chain_rows(), missing=missing, anchor=anchor, contiguous=contiguous)
        except DamagedRows as e:
            return Verification(0, 0, GENESIS, BadEvent(0, None, f"the store file is damaged ({e})"))

    result = scan(None)
    if result.ok and tx.index_count() == result.events:
        return result  # every index row was matched by an event
    before = result.first_bad.seq if result.first_bad is not None else None
    missing = tx.first_missing(before)
    if missing is None:
        return result
    if missing[0] > result.seq and result.ok:
        return Verification(
            result.events,
            result.seq,
            result.head,
            BadEvent(missing[0], missing[1], "the event is gone but its index row and seal remain (deleted)"),
        )
    return scan(missing)


def anchor_document(result: Verification, now: datetime | None = None) -> dict[str, Any]:
    moment = (now or datetime.now(tz=UTC)).astimezone(UTC)
    return {
        "events": result.events,
        "seq": result.seq,
        "head": result.head.hex(),
        "created_at": moment.isoformat(timespec="seconds"),
    }


# -- forgetting a client ------------------------------------------------------------------------


@dataclass(frozen=True)
class Forgetting:
    client: str
    stream: str
    encrypted: bool
    already: bool
    warnings: tuple[str, ...]


def forget(settings: Settings, slug: str) -> Forgetting:
    """Record ``ClientForgotten``, destroy the client's key, drop its view rows and snapshots,
    and rewrite the store so no plaintext survives in free pages or the WAL.

    Every step can run again: a forget that was interrupted is completed by the next one
    (which then reports that the client was already forgotten).
    """
    # lazy: verify and anchor never forget
    from eventsourcing.persistence import MapperDeserialisationError

    from coachledger.adapters.keys import is_encrypted, open_key_store
    from coachledger.services.bootstrap import open_ledger

    if new_store_file(settings.store) is not None:
        raise ClientNotFound(slug)
    encrypted = is_encrypted(settings)
    ledger = open_ledger(settings)
    stream = ledger.ids.stream_of(slug)  # keyed ledgers: erased_streams keeps only the keyed id
    if not ledger.exists(slug):
        raise ClientNotFound(slug)
    already = False
    try:
        ledger.forget(slug)
    except ClientWasForgotten:
        already = True
    except MapperDeserialisationError as e:
        if not isinstance(e.__cause__, ClientWasForgotten):
            raise
        already = True
    finally:
        ledger.close()
    warnings: list[str] = []
    if encrypted:
        keys = open_key_store(settings)
        try:
            keys.destroy(stream)
        finally:
            keys.close()
    scrub = _forget_views(settings, stream)
    # the stream's snapshots (a cache) go, and the store is rewritten: no free page keeps old rows
    with open_event_store(settings.store, strict=True) as events:
        warnings.extend(events.forget_snapshots(stream, encrypted=encrypted, scrub=scrub))
    if not encrypted:
        warnings.append(
            f"this store is not encrypted: the event store still holds client '{slug}'s data in clear "
            "(only the read-side views were erased); create encrypted stores with 'coachledger init --encrypt'"
        )
    return Forgetting(slug, stream, encrypted, already, tuple(warnings))


def _forget_views(settings: Settings, stream: str) -> list[str]:
    """Remove the client's rows from every read-side view (the read side knows its tables); the views' tables."""
    # lazy: verify and anchor never read the views
    from coachledger.projections.db import open_views
    from coachledger.projections.runner import VIEWS, forget_client

    views = open_views(settings)
    try:
        forget_client(views, stream)
    finally:
        views.close()
    return [table for view in VIEWS for table in view.TABLES]
