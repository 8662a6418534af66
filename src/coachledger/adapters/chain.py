"""Checking the ledger's hash chain (see ``sealing``): the one checker, for verify and store copy.

``check_chain`` recomputes the seals over events joined with their index rows, in seq
order, and names the first event that is wrong:

- a changed byte, or an event deleted, inserted or reordered: the recomputed seal
  differs from the stored one (and the sequence numbers show a hole where one was
  deleted);
- an event without its index row (inserted outside the ledger) or an index row
  without its event (a deleted event);
- a gap or a repeat in one client's versions;
- against an anchor: a different history up to the anchored event, or the newest
  events removed (the chain ends before the anchored event).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from coachledger.adapters.event_tables import ChainRow
from coachledger.adapters.sealing import GENESIS

UNKNOWN_CLIENT = "(unknown)"  # no stream, or its registration is missing or unreadable
FORGOTTEN_CLIENT = "(forgotten)"  # erased on request: its id is not shown
GONE = "the event is gone but its index row and seal remain (deleted)"


@dataclass(frozen=True)
class Anchor:
    """The chain's head digest and event count at one seq, kept elsewhere."""

    events: int
    seq: int
    head: bytes


@dataclass(frozen=True)
class BadEvent:
    seq: int
    stream: str | None
    reason: str
    client: str = UNKNOWN_CLIENT
    # what is wrong: gone, anchor, unsealed, moved, damaged, seal, version, rewritten, cut
    kind: str = field(default="", compare=False)

    def describe(self) -> str:
        why = ""
        if self.client == FORGOTTEN_CLIENT:
            why = f" (stream {self.stream}: erased on request, its id is not shown)"
        elif self.client == UNKNOWN_CLIENT and self.stream:
            why = f" (stream {self.stream}: its registration is missing or unreadable)"
        return f"client '{self.client}'{why}, seq {self.seq}: {self.reason}"


@dataclass(frozen=True)
class Verification:
    events: int
    seq: int  # the last event verified
    head: bytes
    first_bad: BadEvent | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def as_json(self) -> dict[str, Any]:
        bad = self.first_bad
        return {
            "ok": self.ok,
            "events": self.events,
            "head": self.head.hex(),
            "first_bad": None
            if bad is None
            else {"client": bad.client, "seq": bad.seq, "reason": bad.reason, "stream": bad.stream},
        }

    def summary(self) -> str:
        return f"Ledger intact: {self.events} events verified, head {self.head.hex()} (seq {self.seq})."


def check_chain(
    rows: Iterable[ChainRow],
    *,
    missing: tuple[int, str] | None = None,
    anchor: Anchor | None = None,
    contiguous: bool = True,
    versions: bool = True,
) -> Verification:
    """Recompute the chain over ``(seq, stream, version, topic, state, index stream, index version,
    recorded_at, seal)`` rows in seq order. ``missing`` is the first index row whose event is gone;
    ``contiguous`` says sequence numbers never skip (SQLite), so a hole means deletion;
    ``versions`` checks that each stream's versions follow each other.
    """
    sha256 = hashlib.sha256
    previous = GENESIS
    last_version: dict[str, int] = {}
    count = last_seq = 0

    def bad(seq: int, stream: str | None, reason: str, kind: str) -> Verification:
        return Verification(count, last_seq, previous, BadEvent(seq, stream, reason, kind=kind))

    for seq, stream, version, topic, state, i_stream, i_version, recorded_at, stored in rows:
        if missing is not None and missing[0] < seq:
            return bad(missing[0], missing[1], GONE, "gone")
        if anchor is not None and last_seq < anchor.seq < seq:
            return bad(anchor.seq, None, "the anchored event is missing (deleted)", "anchor")
        if stored is None:
            return bad(
                seq,
                stream,
                "the event has no seal (inserted outside the ledger, or its index row deleted)",
                "unsealed",
            )
        if i_stream != stream or i_version != version:
            return bad(
                seq,
                stream,
                f"the event does not match its index row ({i_stream} v{i_version}): moved or reordered",
                "moved",
            )
        if type(state) is not bytes or type(stored) is not bytes:
            return bad(seq, stream, "the event is not stored as bytes: it is damaged", "damaged")
        h = sha256(previous)
        h.update(f"{stream}\x00{version}\x00{topic}\x00{recorded_at}\x00".encode())
        h.update(state)
        digest = h.digest()
        if digest != stored:
            if contiguous and seq != last_seq + 1:
                hole = str(last_seq + 1) if seq == last_seq + 2 else f"{last_seq + 1}..{seq - 1}"
                return bad(seq, stream, f"seal mismatch: seq {hole} is missing (deleted)", "seal")
            return bad(
                seq,
                stream,
                "seal mismatch: its stored bytes were changed, or an event before it was deleted, "
                "inserted or reordered",
                "seal",
            )
        if versions:
            expected = last_version.get(stream, 0) + 1
            if version != expected:
                what = (
                    f"version {version} repeats" if version < expected else f"version {expected} is missing"
                )
                return bad(
                    seq,
                    stream,
                    f"version gap: the client's {what} (this event is version {version})",
                    "version",
                )
            last_version[stream] = version
        previous = digest
        count += 1
        last_seq = seq
        if anchor is not None and seq == anchor.seq and (digest != anchor.head or count != anchor.events):
            return bad(
                seq,
                stream,
                "differs from the anchor: the history up to the anchored event was rewritten",
                "rewritten",
            )
    if missing is not None:
        return bad(missing[0], missing[1], GONE, "gone")
    if anchor is not None and anchor.seq > last_seq:
        return bad(
            anchor.seq,
            None,
            f"the ledger ends at seq {last_seq} with {count} events but the anchor covers seq {anchor.seq} "
            f"({anchor.events} events): the newest events were removed",
            "cut",
        )
    return Verification(count, last_seq, previous)


def joined(events: list[Any], index: list[Any]) -> Iterable[ChainRow]:
    """Events ``(seq, stream, version, topic, state)`` next to index rows ``(seq, stream, version,
    recorded_at, seal)`` taken in the same order, as chain rows (no index fields where the seqs differ)."""
    for (seq, stream, version, topic, state), (i_seq, i_stream, i_version, recorded_at, stored) in zip(
        events, index, strict=True
    ):
        if i_seq != seq:
            yield seq, stream, version, topic, state, None, None, None, None
        else:
            yield seq, stream, version, topic, state, i_stream, i_version, recorded_at, stored
