"""Moving a whole ledger between stores (SQLite <-> PostgreSQL), row for row.

Every stored event keeps its seq, stream id, version, topic and stored bytes, so its
recorded time, actor and seal come along unchanged; the event index (recorded times and
seals) and snapshots are copied as they are, with the store's encryption settings and
client keys when it is encrypted, and the secret its stream ids are derived with (keyed
ids): the copy is the same ledger, whose stream ids, seals and anchors are the source's. The copy is one transaction on the target, which:

1. refuses a target that already holds anything of a ledger (nothing is written);
2. inserts every row, then reads the target back and compares it with the source;
3. recomputes the seal chain over the target's stored bytes and compares each seal,
   and the head, with the copied ones — a damaged source is refused, not copied.

Views are not copied: they are derived, and the target builds them on its first read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coachledger.adapters.chain import check_chain as check_seals
from coachledger.adapters.chain import joined
from coachledger.adapters.eventstore import LedgerRows, Row, new_store_file, open_event_store
from coachledger.adapters.files import StoreError
from coachledger.adapters.keys import STREAM_IDS, STREAM_SECRET
from coachledger.errors import DomainError
from coachledger.ids import KEYED_V1
from coachledger.settings import StoreLocation

__all__ = ["CopyRefused", "CopyResult", "LedgerRows", "check_chain", "copy_ledger", "read_ledger"]


class CopyRefused(DomainError):
    """The copy was refused; the target is unchanged."""


@dataclass(frozen=True)
class CopyResult:
    events: int
    clients: int
    snapshots: int
    keys: int
    head: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "clients": self.clients,
            "snapshots": self.snapshots,
            "keys": self.keys,
            "head": self.head,
        }


def read_ledger(store: StoreLocation) -> LedgerRows:
    """Every row of the ledger at ``store``, from one consistent snapshot of it."""
    with open_event_store(store, strict=True) as events:
        return events.read_ledger()


# -- the target -----------------------------------------------------------------------------


def _refuse_non_empty(target: StoreLocation, held: list[str]) -> None:
    if held:
        raise CopyRefused(
            f"the target {target.describe()} is not empty ({', '.join(held)}); "
            "store copy writes only into a new or empty store"
        )


def check_chain(events: list[Row], index: list[Row], where: str) -> bytes:
    """Recompute the seal chain over stored bytes and compare every seal; returns the head."""
    if len(index) != len(events):
        raise CopyRefused(f"{where} has {len(index)} index rows for {len(events)} events; nothing was copied")
    result = check_seals(joined(events, index), contiguous=False, versions=False)
    bad = result.first_bad
    if bad is None:
        return result.head
    seq, stream = bad.seq, bad.stream
    if bad.kind in ("unsealed", "moved"):
        raise CopyRefused(f"event {seq} of stream {stream} has no matching index row in {where}")
    if bad.kind == "damaged":
        raise CopyRefused(f"event {seq} of stream {stream} is not stored as bytes in {where}: it is damaged")
    version = next(e[2] for e in events if e[0] == seq)
    raise CopyRefused(
        f"the seal chain of {where} does not verify at seq {seq} (stream {stream}, version "
        f"{version}); nothing was copied (run 'coachledger verify' on it)"
    )


def _checker(rows: LedgerRows) -> Any:
    def _verify(events: list[Row], index: list[Row], snapshots: list[Row]) -> None:
        """The target, read back, is the source row for row, and its own seal chain verifies."""
        for what, source, copied in (
            ("events", rows.events, events),
            ("index rows", rows.index, index),
            ("snapshots", rows.snapshots, snapshots),
        ):
            if source != copied:
                raise StoreError(
                    f"the copy does not match the source ({len(copied)} {what} read back, "
                    f"{len(source)} expected); nothing was copied"
                )
        if check_chain(events, index, "the copy") != rows.head:
            raise StoreError("the head seal of the copy differs from the source; nothing was copied")

    return _verify


# -- the command ------------------------------------------------------------------------------


def copy_ledger(source: StoreLocation, target: StoreLocation) -> CopyResult:
    """Copy the ledger at ``source`` into the empty store ``target``, verified; see the module."""
    if source.describe() == target.describe():
        raise CopyRefused(f"source and target are the same store ({source.describe()})")
    if new_store_file(source) is not None:
        raise StoreError(f"no ledger at {source.path}")
    rows = read_ledger(source)
    check_chain(rows.events, rows.index, "the source")  # a damaged ledger is not copied anywhere
    meta: dict[str, str] = dict(rows.meta)
    if meta.get(STREAM_IDS) == KEYED_V1 and not any(key == STREAM_SECRET for key, _ in rows.key_meta):
        raise CopyRefused(
            f"the key store of {source.describe()} holds no stream-id secret: its clients' stream ids "
            "are derived from it, so a copy without it would find no client; nothing was copied"
        )
    with open_event_store(target) as store:
        store.write_ledger(rows, refuse=lambda held: _refuse_non_empty(target, held), check=_checker(rows))
    return CopyResult(
        events=len(rows.events),
        clients=rows.clients,
        snapshots=len(rows.snapshots),
        keys=len(rows.keys),
        head=rows.head.hex(),
    )
