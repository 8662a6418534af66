"""Keeping the ledger honest: verify its hash chain, anchor its head, erase a client.

``verify`` recomputes the seal chain (``sealing.seal``) over ``stored_events`` joined
with ``event_index`` in recording order, straight from the store with plain SQL (no
event-sourcing machinery, no decryption: the seals cover the stored bytes). It names
the first event that is wrong:

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

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from coachledger.adapters.files import StoreError, connect, describe_sqlite_error
from coachledger.adapters.sealing import GENESIS
from coachledger.settings import Settings

UNKNOWN_CLIENT = "(unknown)"
# Both backends keep the same two tables; only the name of the sequence column differs.
SEQ_COLUMN = {"sqlite": "e.rowid", "postgres": "e.notification_id"}
STREAM = {"sqlite": "{}.originator_id", "postgres": "replace({}.originator_id::text, '-', '')"}
FETCH_ROWS = 10_000


class AnchorFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What ``coachledger anchor`` writes: enough to prove the ledger still contains it."""

    events: int
    head: str
    seq: int | None = None
    created_at: str | None = None


@dataclass(frozen=True)
class Anchor:
    events: int
    seq: int
    head: bytes

    @classmethod
    def load(cls, path: Path) -> Anchor:
        from coachledger.errors import DomainError

        try:
            doc = msgspec.json.decode(path.read_bytes(), type=AnchorFile)
            head = bytes.fromhex(doc.head)
        except OSError as e:
            raise DomainError(f"cannot read the anchor file {path}: {e.strerror}") from None
        except (msgspec.DecodeError, ValueError) as e:
            raise DomainError(f"{path} is not a coachledger anchor file ({e})") from None
        if len(head) != len(GENESIS) or doc.events < 0 or (doc.seq is not None and doc.seq < doc.events):
            raise DomainError(f"{path} is not a coachledger anchor file (bad head, events or seq)")
        return cls(doc.events, doc.seq if doc.seq is not None else doc.events, head)


@dataclass(frozen=True)
class BadEvent:
    seq: int
    stream: str | None
    reason: str
    client: str = UNKNOWN_CLIENT

    def describe(self) -> str:
        return f"client '{self.client}', seq {self.seq}: {self.reason}"


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


Row = tuple[int, str, int, str, bytes, str | None, int | None, str | None, bytes | None]


def check_chain(
    rows: Iterable[Row],
    *,
    missing: tuple[int, str] | None = None,
    anchor: Anchor | None = None,
    contiguous: bool = True,
) -> Verification:
    """Recompute the chain over ``(seq, stream, version, topic, state, index stream, index version,
    seal)`` rows in seq order. ``missing`` is the first index row whose event is gone;
    ``contiguous`` says sequence numbers never skip (SQLite), so a hole means deletion.
    """
    sha256 = hashlib.sha256
    previous = GENESIS
    versions: dict[str, int] = {}
    count = last_seq = 0

    def bad(seq: int, stream: str | None, reason: str) -> Verification:
        return Verification(count, last_seq, previous, BadEvent(seq, stream, reason))

    for seq, stream, version, topic, state, i_stream, i_version, recorded_at, stored in rows:
        if missing is not None and missing[0] < seq:
            return bad(
                missing[0], missing[1], "the event is gone but its index row and seal remain (deleted)"
            )
        if anchor is not None and last_seq < anchor.seq < seq:
            return bad(anchor.seq, None, "the anchored event is missing (deleted)")
        if stored is None:
            return bad(
                seq, stream, "the event has no seal (inserted outside the ledger, or its index row deleted)"
            )
        if i_stream != stream or i_version != version:
            return bad(
                seq,
                stream,
                f"the event does not match its index row ({i_stream} v{i_version}): moved or reordered",
            )
        h = sha256(previous)
        h.update(f"{stream}\x00{version}\x00{topic}\x00{recorded_at}\x00".encode())
        h.update(state)
        digest = h.digest()
        if digest != stored:
            if contiguous and seq != last_seq + 1:
                hole = str(last_seq + 1) if seq == last_seq + 2 else f"{last_seq + 1}..{seq - 1}"
                return bad(seq, stream, f"seal mismatch: seq {hole} is missing (deleted)")
            return bad(
                seq,
                stream,
                "seal mismatch: its stored bytes were changed, or an event before it was deleted, "
                "inserted or reordered",
            )
        expected = versions.get(stream, 0) + 1
        if version != expected:
            what = f"version {version} repeats" if version < expected else f"version {expected} is missing"
            return bad(seq, stream, f"version gap: the client's {what} (this event is version {version})")
        versions[stream] = version
        previous = digest
        count += 1
        last_seq = seq
        if anchor is not None and seq == anchor.seq and (digest != anchor.head or count != anchor.events):
            return bad(
                seq, stream, "differs from the anchor: the history up to the anchored event was rewritten"
            )
    if missing is not None:
        return bad(missing[0], missing[1], "the event is gone but its index row and seal remain (deleted)")
    if anchor is not None and anchor.seq > last_seq:
        return bad(
            anchor.seq,
            None,
            f"the ledger ends at seq {last_seq} with {count} events but the anchor covers seq {anchor.seq} "
            f"({anchor.events} events): the newest events were removed",
        )
    return Verification(count, last_seq, previous)


# -- reading the two tables -------------------------------------------------------------------


class ChainSource:
    """The rows of one store in seq order, read in one snapshot (one read transaction)."""

    kind = "sqlite"
    contiguous = True
    param = "?"

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @property
    def seq_col(self) -> str:
        return SEQ_COLUMN[self.kind]

    def stream(self, alias: str) -> str:
        return STREAM[self.kind].format(alias)

    def rows_sql(self) -> str:
        return (
            f"SELECT {self.seq_col}, {self.stream('e')}, e.originator_version, e.topic, e.state, "
            f"{self.stream('i')}, i.originator_version, i.recorded_at, i.seal "
            f"FROM stored_events e LEFT JOIN event_index i ON i.seq = {self.seq_col} "
            f"ORDER BY {self.seq_col}"
        )

    def rows(self) -> Iterator[Row]:
        cursor = self.conn.execute(self.rows_sql())
        while batch := cursor.fetchmany(FETCH_ROWS):
            yield from batch

    def scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def index_count(self) -> int:
        return int(self.scalar("SELECT count(*) FROM event_index"))

    def first_missing(self, before: int | None) -> tuple[int, str] | None:
        """The first index row (below ``before``) whose event is gone."""
        p = self.param
        row = self.conn.execute(
            f"SELECT i.seq, {self.stream('i')} FROM event_index i WHERE i.seq < {p} AND NOT EXISTS "
            f"(SELECT 1 FROM stored_events e WHERE {self.seq_col} = i.seq) ORDER BY i.seq LIMIT 1",
            (before if before is not None else 1 << 62,),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def has_table(self, name: str) -> bool:
        return bool(self.scalar("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)))

    def client_of(self, stream: str | None) -> str:
        """The client's slug from the read side's ``clients`` view, else the stream id."""
        if stream is None:
            return UNKNOWN_CLIENT
        if self.has_table("clients"):
            slug = self.scalar(f"SELECT client FROM clients WHERE stream = {self.param}", (stream,))
            if slug:
                return str(slug)
        return stream

    def begin(self) -> None:
        self.conn.execute("BEGIN")

    def end(self) -> None:
        self.conn.rollback()


class PgChainSource(ChainSource):
    kind = "postgres"
    contiguous = False  # sequences skip values after rolled-back transactions
    param = "%s"

    def rows(self) -> Iterator[Row]:
        with self.conn.cursor(name="coachledger_verify") as cursor:
            cursor.itersize = FETCH_ROWS
            cursor.execute(self.rows_sql())
            for seq, stream, version, topic, state, i_stream, i_version, recorded_at, seal in cursor:
                yield (
                    seq,
                    stream,
                    version,
                    topic,
                    bytes(state),
                    i_stream,
                    i_version,
                    recorded_at,
                    seal and bytes(seal),
                )

    def has_table(self, name: str) -> bool:
        return self.scalar("SELECT to_regclass(%s)", (name,)) is not None

    def begin(self) -> None:
        self.conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")


def _open_source(settings: Settings) -> ChainSource:
    store = settings.store
    if store.kind == "postgres":
        from coachledger.adapters.keys import pg_connect

        return PgChainSource(pg_connect(store))
    assert store.path is not None
    return ChainSource(connect(store.path))


def verify(settings: Settings, anchor: Anchor | None = None) -> Verification:
    """Recompute the whole chain; the first bad event, if any, is named with its client."""
    source = _open_source(settings)
    where = settings.store.describe()
    try:
        source.begin()
        try:
            if source.has_table("stored_events") != source.has_table("event_index"):
                raise StoreError(f"the store at {where} lacks its event index: it is not a sealed ledger")
            if not source.has_table("stored_events"):
                result = check_chain([], anchor=anchor)
            else:
                result = _verify_rows(source, anchor)
            bad = result.first_bad
            if bad is not None:
                result = Verification(
                    result.events,
                    result.seq,
                    result.head,
                    BadEvent(bad.seq, bad.stream, bad.reason, source.client_of(bad.stream)),
                )
            return result
        finally:
            source.end()
    except sqlite3.DatabaseError as e:
        raise StoreError(describe_sqlite_error(where, e)) from None
    finally:
        source.conn.close()


def _verify_rows(source: ChainSource, anchor: Anchor | None) -> Verification:
    def scan(missing: tuple[int, str] | None) -> Verification:
        try:
            return check_chain(source.rows(), missing=missing, anchor=anchor, contiguous=source.contiguous)
        except sqlite3.DatabaseError as e:
            if "malformed" not in str(e) and "not a database" not in str(e):
                raise
            return Verification(0, 0, GENESIS, BadEvent(0, None, f"the store file is damaged ({e})"))

    result = scan(None)
    if result.ok and source.index_count() == result.events:
        return result  # every index row was matched by an event
    before = result.first_bad.seq if result.first_bad is not None else None
    missing = source.first_missing(before)
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
    from eventsourcing.persistence import MapperDeserialisationError

    from coachledger.adapters.keys import is_encrypted, open_key_store
    from coachledger.errors import ClientNotFound, ClientWasForgotten
    from coachledger.ids import stream_of
    from coachledger.services.bootstrap import open_ledger

    stream = stream_of(slug)
    store = settings.store
    if store.kind == "sqlite" and (store.path is None or not store.path.exists()):
        raise ClientNotFound(slug)
    encrypted = is_encrypted(settings)
    ledger = open_ledger(settings)
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
    _forget_views(settings, stream)
    warnings.extend(_compact_store(settings, stream))
    if settings.store.kind == "postgres" and encrypted:
        warnings.append(
            "PostgreSQL may keep the destroyed key in its write-ahead log and backups until they are recycled"
        )
    if not encrypted:
        warnings.append(
            f"this store is not encrypted: the event store still holds client '{slug}'s data in clear "
            "(only the read-side views were erased); create encrypted stores with 'coachledger init --encrypt'"
        )
    return Forgetting(slug, stream, encrypted, already, tuple(warnings))


def _forget_views(settings: Settings, stream: str) -> None:
    """Remove the client's rows from every read-side view (the read side knows its tables)."""
    from coachledger.projections.db import open_views
    from coachledger.projections.runner import forget_client

    views = open_views(settings)
    try:
        forget_client(views, stream)
    finally:
        views.close()


def _compact_store(settings: Settings, stream: str) -> list[str]:
    """Drop the stream's snapshots (a cache) and rewrite the store: no free page keeps old rows."""
    store = settings.store
    if store.kind == "postgres":
        from coachledger.adapters.keys import pg_connect

        with pg_connect(store) as conn:
            table = conn.execute("SELECT to_regclass('stored_snapshots')").fetchone()[0]
            if table is not None:
                conn.execute(
                    "DELETE FROM stored_snapshots WHERE replace(originator_id::text, '-', '') = %s", (stream,)
                )
        return []
    from coachledger.adapters.keys import compact_sqlite

    assert store.path is not None
    conn = connect(store.path)
    try:
        if conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='stored_snapshots'"
        ).fetchone():
            conn.execute("DELETE FROM stored_snapshots WHERE originator_id = ?", (stream,))
        if not compact_sqlite(conn, store.path):
            return [
                f"another process is reading {store.path}: its write-ahead log could not be emptied yet; "
                "run 'coachledger forget' again once it is done"
            ]
        return []
    finally:
        conn.close()
