"""Data in and out: whole ledgers as JSON Lines, and measurements from CSV files.

An export is every event in recording order, one JSON object a line after a header
line, in the versioned schema of ``docs/export-format.md``. The schema is a set of msgspec
Structs derived from the domain's event classes (one line type per event topic, tagged by
``topic``), so a line is parsed and type-checked in one pass, and a new event field with a
default never breaks an older file.

An import restores history rather than re-recording it: every line is checked first
(schema, stream continuity, references, and against what the store already holds), then
all new events are appended in one transaction with their original recording times and
actors, re-encoded exactly as the write side encodes them. Events the store already
holds, identical, are skipped, so importing a file twice changes nothing.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import gc
import io
import itertools
import os
import re
import sqlite3
import tempfile
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, Union
from uuid import UUID

import msgspec

from coachledger import __version__
from coachledger.adapters.codec import SCHEMAS, LedgerStoredEvent, decode_payload, encoder
from coachledger.domain import (
    EVENT_CLASSES,
    SOURCES,
    Client,
    ClientWasForgotten,
    DomainError,
    RetiredKpi,
    UnknownId,
)
from coachledger.ids import client_id
from coachledger.settings import Settings

if TYPE_CHECKING:
    from coachledger.adapters.sqlite import SealRow
    from coachledger.application import Ledger

FORMAT = "coachledger-export"
VERSION = 1
MAX_ERRORS = 50
CHUNK = 5_000  # events per progress step when writing
BULK_MIN = 5_000  # from this many new events on, the time index is rebuilt after the append
BULK_CACHE_KIB = 65_536  # page cache for a bulk append (the default 2 MiB thrashes on big stores)
INDEX_EARLY = 0.9  # of a bulk append's events in before its time index is rebuilt (the rest go in indexed)

Progress = Callable[[str, int], contextlib.AbstractContextManager[Callable[[int], None]]]
"""Opens a progress display: (label, total) -> a context giving ``advance(n)``."""
CipherFor = Callable[[Any, str], Any]  # (stream id, topic) -> cipher with encrypt/decrypt, or None

TzDateTime = Annotated[datetime, msgspec.Meta(tz=True)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
StreamId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]
ENVELOPE = ("timestamp", "actor", "originator_topic")  # event fields kept outside ``data``
REGISTERED = Client.Registered.TOPIC
AGGREGATE_TOPIC = Client.TOPIC  # every stream is a Client; a file never names a class to load


class ImportRefused(DomainError):
    """The file was refused; ``problems`` are (line, field, what is wrong), in line order."""

    def __init__(self, problems: Sequence[tuple[int, str | None, str]]) -> None:
        self.problems = sorted(problems, key=lambda p: p[0])
        text = "\nError: ".join(_problem_text(*p) for p in self.problems[:MAX_ERRORS])
        if len(self.problems) > MAX_ERRORS:
            text += f"\n... and {len(self.problems) - MAX_ERRORS} more"
        super().__init__(text)  # the CLI prints "Error: " before the first line


def _problem_text(line: int, fieldname: str | None, what: str) -> str:
    return f"line {line}, field {fieldname}: {what}" if fieldname else f"line {line}: {what}"


# -- the schema -------------------------------------------------------------------------


class Header(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The first line of every export."""

    format: str
    version: int
    exported_at: TzDateTime
    events: Annotated[int, msgspec.Meta(ge=0)]
    generator: str = ""
    forgotten_clients: int = 0  # clients left out because they were forgotten (erased) on request


def _tz_aware(tp: Any) -> Any:
    """The same type with every datetime required to carry a time zone."""
    if tp is datetime:
        return TzDateTime
    args = typing.get_args(tp)
    if args and datetime in args:
        return Union[tuple(_tz_aware(a) for a in args)]  # noqa: UP007 - built at run time
    return tp


@dataclass(frozen=True)
class LineType:
    """How one event topic travels in an export line, and how it is stored again."""

    topic: str
    name: str
    line: type[msgspec.Struct]  # the whole line, tagged by topic
    fast: type[msgspec.Struct]  # the same line with the stream id's form left to check by hand
    registered: bool  # the first event of every stream
    data_fields: tuple[str, ...]  # the payload fields kept in ``data``
    state_order: tuple[str, ...]  # every stored field, in the write side's order
    class_version: int
    decimals: tuple[str, ...]  # Decimal fields, which must be finite
    prefix: bytes | None  # the envelope between timestamp and actor, when data follows in order
    suffix: bytes  # the class version closing the stored object, when above 1
    refs: Callable[[Any, _Stream], tuple[str, str] | None]  # checks (and remembers) what the data refers to

    @property
    def close(self) -> bytes:
        """What follows the data fields in the stored object."""
        return self.suffix or b"}"


def _line_type(cls: type[Any]) -> LineType:
    topic = cls.TOPIC
    schema = SCHEMAS[topic]
    # The codec's Struct has every field's resolved type: evaluating the class's annotations
    # again would cost most of this module's import time.
    hints = {f.name: f.type for f in msgspec.structs.fields(schema.struct)}
    order = tuple(
        f.name for f in dataclasses.fields(cls) if f.name not in ("originator_id", "originator_version")
    )
    specs: list[Any] = []
    for f in dataclasses.fields(cls):
        if f.name in ("originator_id", "originator_version") or f.name in ENVELOPE:
            continue
        tp = _tz_aware(hints[f.name])
        specs.append((f.name, tp, f.default) if f.default is not dataclasses.MISSING else (f.name, tp))
    data = msgspec.defstruct(
        f"{schema.cls.__name__}Data", specs, kw_only=True, forbid_unknown_fields=True, frozen=True, gc=False
    )
    line, fast = (
        msgspec.defstruct(
            f"{schema.cls.__name__}{suffix}",
            [
                ("seq", Positive),
                ("stream", stream_type),
                ("version", Positive),
                ("type", str),
                ("recorded_at", TzDateTime),
                ("actor", str),
                ("data", data),
                ("client", Union[str, None], None),  # noqa: UP007
            ],
            kw_only=True,
            forbid_unknown_fields=True,
            frozen=True,
            tag_field="topic",
            tag=topic,
            gc=False,  # no cycles: cheaper to hold a few hundred thousand lines
        )
        for suffix, stream_type in (("Line", StreamId), ("FastLine", str))
    )
    decimals = tuple(
        name for name, *_ in specs if hints[name] is Decimal or Decimal in typing.get_args(hints[name])
    )
    envelope = [n for n in order if n in ENVELOPE]
    data_fields = tuple(name for name, *_ in specs)
    prefix: bytes | None = None
    if list(order) == [*envelope, *data_fields] and envelope[0] == "timestamp" and envelope[-1] == "actor":
        middle = b"".join(b'"%s":%s,' % (n.encode(), encoder.encode(AGGREGATE_TOPIC)) for n in envelope[1:-1])
        prefix = b"," + middle + b'"actor":'
    return LineType(
        topic=topic,
        prefix=prefix,
        suffix=b',"class_version":%d}' % schema.class_version if schema.class_version > 1 else b"",
        name=topic.split(":", 1)[1],
        line=line,
        fast=fast,
        registered=topic == REGISTERED,
        refs=_REFS[topic],
        data_fields=data_fields,
        state_order=order,
        class_version=schema.class_version,
        decimals=decimals,
    )


# -- references: what an event may point at in its own stream ---------------------------


@dataclass
class _Stream:
    """What the ledger knows of one stream, enough to check that new events fit it."""

    slug: str | None = None
    version: int = 0  # the version of the stream's previous line in the file
    stored: int = 0  # the last version already in the store
    goals: set[str] = field(default_factory=set)
    kpis: set[str] = field(default_factory=set)
    measurements: set[str] = field(default_factory=set)
    existing: dict[int, tuple[str, bytes]] = field(default_factory=dict)


_EARLIER = "by an earlier line or in the store"


def _who(s: _Stream) -> str:
    return f" of client '{s.slug}'" if s.slug else " of this stream"


def _unknown_kpi(name: str, kpi: str, s: _Stream) -> tuple[str, str]:
    return name, f"unknown KPI '{kpi}'{_who(s)} (not defined {_EARLIER})"


def _unknown_goal(goal: str, s: _Stream) -> tuple[str, str]:
    return "data.goal", f"unknown goal '{goal}'{_who(s)} (not set {_EARLIER})"


# One function a topic: a problem when the event points at something its stream never
# recorded (or repeats an id); otherwise what it records is remembered for later lines.


def _refs_registered(d: Any, s: _Stream) -> tuple[str, str] | None:
    s.slug = d.slug
    return None


def _refs_goal_set(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.goal in s.goals:
        return "data.goal", f"goal '{d.goal}'{_who(s)} is already set"
    s.goals.add(d.goal)
    return None


def _refs_kpi_defined(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.kpi in s.kpis:
        return "data.kpi", f"KPI '{d.kpi}'{_who(s)} is already defined"
    if d.goal is not None and d.goal not in s.goals:
        return _unknown_goal(d.goal, s)
    s.kpis.add(d.kpi)
    return None


def _refs_kpi(d: Any, s: _Stream) -> tuple[str, str] | None:
    return None if d.kpi in s.kpis else _unknown_kpi("data.kpi", d.kpi, s)


def _refs_kpi_adjusted(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.kpi not in s.kpis:
        return _unknown_kpi("data.kpi", d.kpi, s)
    if d.goal is not None and d.goal not in s.goals:
        return _unknown_goal(d.goal, s)
    return None


def _refs_measurement_recorded(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.measurement_id in s.measurements:
        return "data.measurement_id", f"measurement '{d.measurement_id}'{_who(s)} is already recorded"
    if d.kpi not in s.kpis:
        return _unknown_kpi("data.kpi", d.kpi, s)
    s.measurements.add(d.measurement_id)
    return None


def _refs_measurement(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.measurement_id in s.measurements:
        return None
    return (
        "data.measurement_id",
        f"unknown measurement '{d.measurement_id}'{_who(s)} (not recorded {_EARLIER})",
    )


def _refs_feedback(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.about.startswith("kpi:") and d.about[4:] not in s.kpis:
        return _unknown_kpi("data.about", d.about[4:], s)
    return None


def _refs_session(d: Any, s: _Stream) -> tuple[str, str] | None:
    for k in d.kpis:
        if k not in s.kpis:
            return _unknown_kpi("data.kpis", k, s)
    return None


def _refs_milestone(d: Any, s: _Stream) -> tuple[str, str] | None:
    if d.target in (s.kpis if d.kind == "kpi" else s.goals):
        return None
    return "data.target", f"unknown {d.kind} '{d.target}'{_who(s)} (not recorded {_EARLIER})"


def _refs_none(d: Any, s: _Stream) -> tuple[str, str] | None:
    return None


_REFS: dict[str, Callable[[Any, _Stream], tuple[str, str] | None]] = {
    Client.Registered.TOPIC: _refs_registered,
    Client.GoalSet.TOPIC: _refs_goal_set,
    Client.KpiDefined.TOPIC: _refs_kpi_defined,
    Client.BaselineEstablished.TOPIC: _refs_kpi,
    Client.MeasurementRecorded.TOPIC: _refs_measurement_recorded,
    Client.MeasurementCorrected.TOPIC: _refs_measurement,
    Client.MeasurementRetracted.TOPIC: _refs_measurement,
    Client.KpiAdjusted.TOPIC: _refs_kpi_adjusted,
    Client.KpiRetired.TOPIC: _refs_kpi,
    Client.FeedbackReceived.TOPIC: _refs_feedback,
    Client.SessionLogged.TOPIC: _refs_session,
    Client.MilestoneCelebrated.TOPIC: _refs_milestone,
    Client.Forgotten.TOPIC: _refs_none,
}  # a new event class must say here what it refers to (a KeyError at import otherwise)


LINE_TYPES: dict[str, LineType] = {cls.TOPIC: _line_type(cls) for cls in EVENT_CLASSES}
_BY_CLASS: dict[type[msgspec.Struct], LineType] = {
    **{lt.line: lt for lt in LINE_TYPES.values()},
    **{lt.fast: lt for lt in LINE_TYPES.values()},
}
_line_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
    Union[tuple(lt.line for lt in LINE_TYPES.values())]  # noqa: UP007
)
# Every line is decoded with this one first: a regex match per line costs a tenth of the
# decoding, and a stream id needs checking only once. A line it refuses, or whose stream id
# is not well formed, is decoded again with the one above, for msgspec's own words.
_fast_line_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(
    Union[tuple(lt.fast for lt in LINE_TYPES.values())]  # noqa: UP007
)
_STREAM_ID = re.compile(typing.get_args(StreamId)[1].pattern)  # searched, as msgspec does
_header_decoder = msgspec.json.Decoder(Header)
_any_decoder = msgspec.json.Decoder()
_line_encoder = encoder  # the codec's: it also takes datetime subclasses (freezegun's, in tests)


# -- stores -----------------------------------------------------------------------------


class Backend:
    """The few queries export and import need, on a SQLite or PostgreSQL store."""

    def rows(self) -> Iterator[tuple[int, str, int, str, bytes]]:
        """Every stored event (seq, stream, version, topic, state) in recording order."""
        raise NotImplementedError

    def count(self) -> int:
        raise NotImplementedError

    def stream_events(self, stream: str) -> list[tuple[int, str, bytes]]:
        """(version, topic, state) of one stream, in version order."""
        raise NotImplementedError

    def first_events(self) -> list[tuple[str, str, bytes]]:
        """(stream, topic, state) of every stream's first event."""
        raise NotImplementedError

    def is_empty(self) -> bool:
        """Whether the store holds no event at all."""
        raise NotImplementedError

    def append(self, events: Sequence[LedgerStoredEvent]) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def bulk(self, new_events: int) -> Iterator[None]:
        """Around appending ``new_events`` in this transaction (a chance to defer index upkeep)."""
        yield

    @contextlib.contextmanager
    def appending(self, new_events: int) -> Iterator[Appender]:
        """An appender for about ``new_events`` events in this transaction (finished on leaving)."""
        with self.bulk(new_events):
            appender = _EventAppender(self)
            yield appender
            appender.finish()


class Appender(typing.Protocol):
    """Appends rows ``(stream, version, topic, state, recorded_at)`` in order, sealed and indexed."""

    def add(self, rows: Sequence[SealRow]) -> None: ...

    def finish(self) -> None:
        """Returns when everything added is in the store (within the transaction)."""


class _EventAppender:
    """Appends through ``Backend.append``, as stored events."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def add(self, rows: Sequence[SealRow]) -> None:
        self.backend.append(
            [
                LedgerStoredEvent(
                    originator_id=stream,  # type: ignore[arg-type] # stored as hex text
                    originator_version=version,
                    topic=topic,
                    state=state,
                    recorded_at=recorded_at,
                )
                for stream, version, topic, state, recorded_at in rows
            ]
        )

    def finish(self) -> None:
        pass


class SqliteBackend(Backend):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.has_tables = (
            conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='stored_events'").fetchone()
            is not None
        )

    def rows(self) -> Iterator[tuple[int, str, int, str, bytes]]:
        if not self.has_tables:
            return iter(())
        return iter(
            self.conn.execute(
                "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
                "ORDER BY rowid"
            )
        )

    def count(self) -> int:
        if not self.has_tables:
            return 0
        return int(self.conn.execute("SELECT count(*) FROM stored_events").fetchone()[0])

    def stream_events(self, stream: str) -> list[tuple[int, str, bytes]]:
        if not self.has_tables:
            return []
        return self.conn.execute(
            "SELECT originator_version, topic, state FROM stored_events WHERE originator_id = ? "
            "ORDER BY originator_version",
            (stream,),
        ).fetchall()

    def first_events(self) -> list[tuple[str, str, bytes]]:
        if not self.has_tables:
            return []
        return self.conn.execute(
            "SELECT originator_id, topic, state FROM stored_events WHERE originator_version = 1"
        ).fetchall()

    def is_empty(self) -> bool:
        if not self.has_tables:
            return True
        return self.conn.execute("SELECT 1 FROM stored_events LIMIT 1").fetchone() is None

    def append(self, events: Sequence[LedgerStoredEvent]) -> None:
        from coachledger.adapters.sqlite import insert_sealed

        insert_sealed(self.conn, events)

    @contextlib.contextmanager
    def bulk(self, new_events: int) -> Iterator[None]:
        """Build the recording-time index once, after a large append, instead of row by row.

        Inserting into that index in random (stream, time) order costs more than the event
        rows themselves; rebuilding it from sorted data is several times cheaper, as long as
        the store does not already hold far more events than are being added. It happens
        inside the append's transaction, so readers never see the store without it.
        """
        from coachledger.adapters.files import INDEX_BY_TIME

        deferred = self._defer_index(new_events)
        yield
        if deferred:
            self.conn.execute(INDEX_BY_TIME)

    def _defer_index(self, new_events: int) -> bool:
        """Drop the recording-time index for an append of ``new_events`` when worth it (see bulk)."""
        from coachledger.adapters.files import INDEX_BY_TIME

        last = self.conn.execute("SELECT max(rowid) FROM stored_events").fetchone()[0] or 0
        if new_events < BULK_MIN or new_events * 10 < last:
            return False
        self.conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        self.conn.execute(f"DROP INDEX IF EXISTS {INDEX_BY_TIME.split(' ON ')[0].split()[-1]}")
        return True

    @contextlib.contextmanager
    def appending(self, new_events: int) -> Iterator[Appender]:
        """Sealing here while a thread inserts what was sealed before (see ``SealedAppender``).

        For a bulk append the appender's thread rebuilds the recording-time index (see bulk)
        when most events are in, while the last ones are still being checked and sealed.
        """
        from coachledger.adapters.sqlite import sealed_appender

        deferred = self._defer_index(new_events)
        index_after = int(new_events * INDEX_EARLY) if deferred else None
        with sealed_appender(self.conn, index_after=index_after) as appender:
            yield appender


class PostgresBackend(Backend):
    """On a cursor (dict rows) in the caller's transaction; appending takes the table lock."""

    def __init__(self, curs: Any, recorder: Any) -> None:
        self.curs = curs
        self.recorder = recorder
        self.locked = False

    def lock(self) -> None:
        """Writers queue on the library's table lock, so seqs commit in order."""
        if not self.locked:
            self.recorder._lock_table(self.curs)
            self.recorder._notify_channel(self.curs)
            self.locked = True

    def rows(self) -> Iterator[tuple[int, str, int, str, bytes]]:
        self.curs.execute(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY notification_id"
        )
        for r in self.curs:
            yield (
                r["notification_id"],
                r["originator_id"],
                r["originator_version"],
                r["topic"],
                bytes(r["state"]),
            )

    def count(self) -> int:
        self.curs.execute("SELECT count(*) AS n FROM stored_events")
        return int(self.curs.fetchone()["n"])

    def stream_events(self, stream: str) -> list[tuple[int, str, bytes]]:
        self.curs.execute(
            "SELECT originator_version, topic, state FROM stored_events WHERE originator_id = %s "
            "ORDER BY originator_version",
            (stream,),
        )
        return [(r["originator_version"], r["topic"], bytes(r["state"])) for r in self.curs.fetchall()]

    def first_events(self) -> list[tuple[str, str, bytes]]:
        self.curs.execute(
            "SELECT originator_id, topic, state FROM stored_events WHERE originator_version = 1"
        )
        return [(r["originator_id"], r["topic"], bytes(r["state"])) for r in self.curs.fetchall()]

    def is_empty(self) -> bool:
        self.curs.execute("SELECT 1 AS one FROM stored_events LIMIT 1")
        return self.curs.fetchone() is None

    def append(self, events: Sequence[LedgerStoredEvent]) -> None:
        from coachledger.adapters.postgres import insert_sealed

        self.lock()
        insert_sealed(self.curs, events)


class StoreSession:
    """An open store, for one transaction after another: a snapshot to read, or an append.

    Opening with ``create`` makes the library's tables first (a write). Otherwise nothing
    is created: a store that does not exist yet reads as empty.
    """

    def __init__(self, settings: Settings, *, create: bool) -> None:
        self.settings = settings
        self.ledger: Any = None
        self.conn: Any = None
        self.empty = False
        store = settings.store
        if create:
            from coachledger.services.bootstrap import open_ledger

            self.ledger = open_ledger(settings)
        if store.kind == "postgres":
            if self.ledger is None:
                from coachledger.adapters.postgres import connect, parse_url, schema_exists

                self.conn = connect(parse_url(store.url))
                self.empty = not schema_exists(self.conn)
                self.conn.rollback()
            return
        from coachledger.adapters.files import connect as sqlite_connect

        assert store.path is not None
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None
        elif not store.path.exists():
            self.empty = True
            return
        if create:  # the import's appender inserts from a thread of its own
            from coachledger.adapters.sqlite import connect_threadable

            self.conn = connect_threadable(store.path)
        else:
            self.conn = sqlite_connect(store.path)

    @contextlib.contextmanager
    def transaction(self, *, write: bool) -> Iterator[Backend]:
        if self.empty:
            if write:
                raise RuntimeError("open the store with create=True to write")  # a programming error
            yield _EmptyBackend()
        elif self.settings.store.kind == "postgres":
            yield from self._pg_transaction(write)
        elif write:
            from coachledger.adapters.files import immediate

            with immediate(self.conn):
                yield SqliteBackend(self.conn)
        else:
            self.conn.execute("BEGIN")  # one snapshot for the whole read
            try:
                yield SqliteBackend(self.conn)
            finally:
                self.conn.rollback()

    def _pg_transaction(self, write: bool) -> Iterator[Backend]:
        from psycopg.rows import dict_row

        if self.ledger is not None:
            from coachledger.adapters.postgres import datastore_cursor

            with datastore_cursor(self.ledger.factory.datastore) as curs:
                backend = PostgresBackend(curs, self.ledger.recorder)
                if write:
                    backend.lock()
                yield backend
            return
        assert not write
        with self.conn.transaction(), self.conn.cursor(row_factory=dict_row) as curs:
            curs.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PostgresBackend(curs, None)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.ledger is not None:
            self.ledger.close()


@contextlib.contextmanager
def open_store(settings: Settings, *, create: bool = False) -> Iterator[StoreSession]:
    session = StoreSession(settings, create=create)
    try:
        yield session
    finally:
        session.close()


class _EmptyBackend(Backend):
    def rows(self) -> Iterator[tuple[int, str, int, str, bytes]]:
        return iter(())

    def count(self) -> int:
        return 0

    def stream_events(self, stream: str) -> list[tuple[int, str, bytes]]:
        return []

    def first_events(self) -> list[tuple[str, str, bytes]]:
        return []

    def is_empty(self) -> bool:
        return True


# -- export -----------------------------------------------------------------------------


def export_lines(backend: Backend, cipher_for: CipherFor | None = None) -> Iterator[bytes]:
    """The header line, then one line per event in recording order (each ends with a newline).

    Clients forgotten on request (their key destroyed) are left out whole: their events
    can no longer be read, and an export must not carry what was erased.
    """
    forgotten = _forgotten_streams(backend, cipher_for) if cipher_for is not None else {}
    header = Header(
        format=FORMAT,
        version=VERSION,
        exported_at=datetime.now(tz=UTC),
        events=backend.count() - sum(forgotten.values()),
        generator=f"coachledger {__version__}",
        forgotten_clients=len(forgotten),
    )
    yield _line_encoder.encode(header) + b"\n"
    slugs: dict[str, str] = {}
    for seq, stream, version, topic, state in backend.rows():
        if stream in forgotten:
            continue
        lt = LINE_TYPES.get(topic)
        if lt is None:
            raise DomainError(f"cannot export event {seq}: unknown topic '{topic}'")
        payload = decode_payload(topic, _clear(stream, topic, state, cipher_for))
        if topic == REGISTERED:
            slugs[stream] = payload.slug
        line: dict[str, Any] = {
            "seq": seq,
            "stream": stream,
            "client": slugs.get(stream),
            "version": version,
            "type": lt.name,
            "topic": topic,
            "recorded_at": payload.timestamp.astimezone(UTC),
            "actor": payload.actor,
            "data": {name: getattr(payload, name) for name in lt.data_fields},
        }
        yield _line_encoder.encode(line) + b"\n"


def _forgotten_streams(backend: Backend, cipher_for: CipherFor) -> dict[str, int]:
    """Streams whose first event no longer decrypts (a forgotten client), with their event counts."""
    out: dict[str, int] = {}
    for stream, topic, state in backend.first_events():
        try:
            _clear(stream, topic, state, cipher_for)
        except ClientWasForgotten:
            out[stream] = len(backend.stream_events(stream))
    return out


@dataclass(frozen=True)
class ExportResult:
    events: int  # event lines written
    forgotten_clients: int  # clients left out because they were forgotten on request


def export_to(settings: Settings, out: Path | None, sink: IO[bytes] | None = None) -> ExportResult:
    """Write the export to ``out`` (0600, replaced whole only when complete) or ``sink``."""
    from coachledger.services.bootstrap import cipher_for

    with open_store(settings) as store, store.transaction(write=False) as backend:
        if isinstance(backend, _EmptyBackend):
            from coachledger.adapters.files import StoreError

            raise StoreError(f"no ledger at {settings.store.describe()}")
        lines = export_lines(backend, cipher_for(settings))
        first = next(lines)
        header = _header_decoder.decode(first)
        rest = itertools.chain((first,), lines)
        if out is None:
            assert sink is not None
            count = _write_lines(rest, sink)
        else:
            count = _write_file(rest, out)
    return ExportResult(count, header.forgotten_clients)


def _write_lines(lines: Iterable[bytes], sink: IO[bytes]) -> int:
    """Write the lines in batches; returns the number of event lines (all but the header)."""
    written = 0
    buffer: list[bytes] = []
    for line in lines:
        buffer.append(line)
        written += 1
        if len(buffer) >= 1000:
            sink.write(b"".join(buffer))
            buffer.clear()
    sink.write(b"".join(buffer))
    sink.flush()
    return written - 1


def _write_file(lines: Iterable[bytes], out: Path) -> int:
    folder = out.parent if str(out.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=folder)
    except OSError as e:
        raise DomainError(f"cannot write {out}: {e.strerror}") from None
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as sink:
            count = _write_lines(lines, sink)
            os.fsync(sink.fileno())
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return count


# -- import -----------------------------------------------------------------------------

Parsed = tuple[int, Any, LineType]
"""A line that reads well: (its number in the file, the decoded line, its type)."""


@dataclass
class ImportResult:
    events: int  # event lines in the file
    written: int  # new events (written, or that would be with --dry-run)
    skipped: int  # already in the store, identical
    clients: int  # streams with new events


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while building hundreds of thousands of acyclic objects.

    The collector would otherwise rescan them again and again (a third of an import's time).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def no_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    yield lambda n: None


class _Parser:
    """Reads and type-checks the event lines, in order, a batch at a time (no store needed).

    Each line is decoded once, by msgspec (types, constraints, unknown fields); what msgspec
    cannot say (recording order, the type name, ids that must match) is checked here with
    a few comparisons, and a line that fails them is checked again field by field to name
    every problem. ``problems`` collects (line, field, what) for every line that fails.
    """

    def __init__(self) -> None:
        self.problems: list[tuple[int, str | None, str]] = []
        self.lines = 0  # event lines (not blank) fed so far
        self.last_seq = 0
        self.stream_ids: set[str] = set()  # stream ids already found well formed
        self.slugs: dict[str, str] = {}  # client slug -> its stream id, once checked

    def feed(self, lines: Sequence[bytes], first: int) -> list[Parsed]:
        """The good lines among ``lines`` (numbered from ``first``)."""
        out: list[Parsed] = []
        append = out.append
        decode = _fast_line_decoder.decode
        by_class = _BY_CLASS
        stream_ids = self.stream_ids
        slugs = self.slugs
        last_seq = self.last_seq
        blank = 0
        for number, raw in enumerate(lines, first):
            try:
                line = decode(raw)
            except msgspec.DecodeError:
                if not raw.strip():
                    blank += 1
                    continue
                line = self._strict(number, raw)
                if line is None:
                    continue
            stream = line.stream
            if stream not in stream_ids:
                if _STREAM_ID.search(stream) is None:
                    line = self._strict(number, raw)
                    if line is None:
                        continue
                else:
                    stream_ids.add(stream)
            lt = by_class[type(line)]
            seq = line.seq
            client = line.client
            if (
                seq > last_seq
                and line.type == lt.name
                and (line.version == 1) is lt.registered
                and (client is None or slugs.get(client) == stream)
                and (not lt.registered or slugs.get(line.data.slug) == stream)
                and (not lt.decimals or _finite(line.data, lt.decimals))
            ):
                last_seq = seq
                append((number, line, lt))
                continue
            bad = _check_line(line, lt, last_seq)
            if bad:
                self.problems.extend((number, f, what) for f, what in bad)
                continue
            if client is not None:
                slugs[client] = stream
            if lt.registered:
                slugs[line.data.slug] = stream
            last_seq = seq
            append((number, line, lt))
        self.last_seq = last_seq
        self.lines += len(lines) - blank
        return out

    def _strict(self, number: int, raw: bytes) -> Any:
        """The line decoded with the full schema, or None and its problem noted."""
        try:
            return _line_decoder.decode(raw)
        except msgspec.ValidationError as e:
            self.problems.append((number, *_describe(e)))
        except msgspec.DecodeError as e:
            self.problems.append((number, None, f"not a JSON object ({_lower(str(e))})"))
        return None

    def refuse(self, header: tuple[int, Header]) -> None:
        """Raise ImportRefused for every line that failed, or for a count unlike the header's."""
        if self.problems:
            raise ImportRefused(self.problems)
        number, head = header
        if head.events != self.lines:
            raise ImportRefused(
                [
                    (
                        number,
                        "events",
                        f"the header announces {head.events} events but the file has {self.lines}",
                    )
                ]
            )


def _finite(data: Any, names: tuple[str, ...]) -> bool:
    for name in names:
        value = getattr(data, name)
        if value is not None and not value.is_finite():
            return False
    return True


def _check_line(line: Any, lt: LineType, last_seq: int) -> list[tuple[str, str]]:
    """Every problem of one decoded line that msgspec cannot see, as (field, what)."""
    bad: list[tuple[str, str]] = []
    if line.seq <= last_seq:
        bad.append(("seq", f"{line.seq} is not after the previous line's {last_seq} (recording order)"))
    if line.type != lt.name:
        bad.append(("type", f"'{line.type}' does not match the topic {lt.topic} (expected '{lt.name}')"))
    if (line.version == 1) != (lt.topic == REGISTERED):
        what = "a stream's first event" if line.version == 1 else f"version {line.version}"
        bad.append(("version", f"{what} cannot be {lt.name}; every stream starts with ClientRegistered"))
    if line.client is not None and _stream_of(line.client) != line.stream:
        bad.append(("client", f"'{line.client}' is not the client of stream {line.stream}"))
    if lt.topic == REGISTERED and _stream_of(line.data.slug) != line.stream:
        bad.append(("data.slug", f"'{line.data.slug}' is not the client of stream {line.stream}"))
    for name in lt.decimals:
        value = getattr(line.data, name)
        if value is not None and not value.is_finite():
            bad.append((f"data.{name}", f"must be a finite number, not {value}"))
    return bad


@functools.lru_cache(maxsize=4096)
def _stream_of(slug: str) -> str:
    return client_id(slug).hex


def _describe(e: msgspec.ValidationError) -> tuple[str | None, str]:
    """(field, what is wrong) from msgspec's message, e.g. '... - at `$.data.value`'."""
    text = str(e)
    path = ""
    if " - at `$" in text:
        text, _, rest = text.partition(" - at `$")
        path = rest.rstrip("`").lstrip(".")
    for prefix, what in (
        ("Object missing required field `", "missing"),
        ("Object contains unknown field `", "not a field of this line"),
    ):
        if text.startswith(prefix):
            name = text[len(prefix) :].rstrip("`")
            return (f"{path}.{name}" if path else name), what
    if path == "topic" and text.startswith("Invalid value"):
        return "topic", f"unknown event topic {text.removeprefix('Invalid value ')}"
    return (path or None), _lower(text.replace("`", ""))


def _lower(text: str) -> str:
    """msgspec's message as the tail of a sentence ('Expected' -> 'expected'; 'JSON' stays)."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


class _Checker:
    """Checks parsed lines, in order, against their streams: in the file and in the store.

    A stream's lines must follow each other without a gap, and its first line must
    continue what the store holds (or repeat it); a line at a version the store already
    has must be that very event; references (KPIs, goals, measurements) must point at
    things recorded earlier in the stream, and ids must not repeat. ``feed`` returns the
    lines the store does not hold yet; ``problems`` collects what does not fit.
    """

    def __init__(self, load: Callable[[str], _Stream], cipher_for: CipherFor | None) -> None:
        self.load = load
        self.cipher_for = cipher_for
        self.streams: dict[str, _Stream] = {}
        self.problems: list[tuple[int, str | None, str]] = []
        self.lines = 0

    def feed(self, parsed: Sequence[Parsed]) -> list[Parsed]:
        streams = self.streams
        problems = self.problems
        new: list[Parsed] = []
        append = new.append
        for item in parsed:
            number, line, lt = item
            stream = line.stream
            version = line.version
            s = streams.get(stream)
            if s is None:
                s = streams[stream] = self.load(stream)
                if version > s.stored + 1:
                    what = (
                        f"the store holds versions 1 to {s.stored}"
                        if s.stored
                        else "the store has no such stream"
                    )
                    problems.append(
                        (number, "version", f"expected at most {s.stored + 1} ({what}), got {version}")
                    )
            elif version != s.version + 1:
                problems.append(
                    (
                        number,
                        "version",
                        f"expected {s.version + 1} (the previous line of this stream has {s.version}), "
                        f"got {version}",
                    )
                )
            s.version = version
            if version <= s.stored:
                if not _same(item, s.existing[version], self.cipher_for):
                    problems.append(
                        (
                            number,
                            "version",
                            f"the store already holds a different event at version {version}{_who(s)}",
                        )
                    )
                continue
            bad = lt.refs(line.data, s)
            if bad is not None:
                problems.append((number, *bad))
            append(item)
        self.lines += len(parsed)
        return new

    def refuse(self) -> None:
        if self.problems:
            raise ImportRefused(self.problems)


def _new_stream(stream: str) -> _Stream:
    return _Stream()


def _load_stream(backend: Backend, stream: str, cipher_for: CipherFor | None) -> _Stream:
    s = _Stream()
    for version, topic, state in backend.stream_events(stream):
        s.existing[version] = (topic, state)
        s.stored = version
        if topic in LINE_TYPES:
            _remember(s, topic, decode_payload(topic, _clear(stream, topic, state, cipher_for)))
    return s


def _clear(stream: str, topic: str, state: bytes, cipher_for: CipherFor | None) -> bytes:
    if cipher_for is not None:
        cipher = cipher_for(UUID(stream), topic)
        if cipher is not None:
            return typing.cast(bytes, cipher.decrypt(state))
    return state


def _same(item: Parsed, existing: tuple[str, bytes], cipher_for: CipherFor | None) -> bool:
    topic, state = existing
    if topic != item[2].topic:
        return False
    state = _clear(item[1].stream, topic, state, cipher_for)
    mine = _rows((item,), None)[0][3]
    if state == mine:
        return True
    return bool(decode_payload(topic, state) == decode_payload(topic, mine))


def _remember(s: _Stream, topic: str, data: Any) -> None:
    """What a stored event records, for the lines that follow it."""
    if topic == REGISTERED:
        s.slug = data.slug
    elif topic == Client.GoalSet.TOPIC:
        s.goals.add(data.goal)
    elif topic == Client.KpiDefined.TOPIC:
        s.kpis.add(data.kpi)
    elif topic == Client.MeasurementRecorded.TOPIC:
        s.measurements.add(data.measurement_id)


def _rows(parsed: Iterable[Parsed], cipher_for: CipherFor | None) -> list[SealRow]:
    """The events as the write side stores them: same fields, same order, same encoder.

    (stream, version, topic, state, recorded_at) each, ready to be sealed and appended.
    """
    out: list[SealRow] = []
    append = out.append
    encode = encoder.encode
    for _, line, lt in parsed:
        recorded = line.recorded_at.astimezone(UTC)
        stamp = encode(recorded)  # b'"2026-02-03T10:12:40.512305Z"'; no fraction when zero
        prefix = lt.prefix
        if prefix is not None:
            # The data Struct encodes its fields in the write side's order: splice the envelope
            # in front instead of building a dict per event (the same bytes, a third faster).
            data = encode(line.data)
            state = b"".join(
                (
                    b'{"timestamp":',
                    stamp,
                    prefix,
                    encode(line.actor),
                    b"," if len(data) > 2 else b"",
                    data[1:-1],
                    lt.close,
                )
            )
        else:
            state = encode(_state_dict(line, lt, recorded))
        if cipher_for is not None:
            cipher = cipher_for(UUID(line.stream), lt.topic)
            if cipher is not None:
                state = cipher.encrypt(state)
        text = stamp[1:-2].decode()  # as the mapper writes it: isoformat(timespec="microseconds")
        append(
            (
                line.stream,
                line.version,
                lt.topic,
                state,
                text + "+00:00" if len(text) > 20 else text + ".000000+00:00",
            )
        )
    return out


def _state_dict(line: Any, lt: LineType, recorded: datetime) -> dict[str, Any]:
    """The event's stored fields as a dict, in the write side's order (``vars(event)``)."""
    state: dict[str, Any] = {}
    for name in lt.state_order:
        if name == "timestamp":
            state[name] = recorded
        elif name == "actor":
            state[name] = line.actor
        elif name == "originator_topic":
            state[name] = AGGREGATE_TOPIC
        else:
            state[name] = getattr(line.data, name)
    if lt.class_version > 1:
        state["class_version"] = lt.class_version
    return state


def read_lines(source: Path | IO[bytes]) -> list[bytes]:
    if isinstance(source, Path):
        try:
            data = source.read_bytes()
        except OSError as e:
            raise DomainError(f"cannot read {source}: {e.strerror}") from None
    else:
        data = source.read()
    return data.splitlines()


def _find_header(lines: Sequence[bytes]) -> tuple[int, Header]:
    """(line number, header) of the first line that is not blank; the event lines follow it."""
    for number, raw in enumerate(lines, start=1):
        if raw.strip():
            return number, _read_header(number, raw)
    raise ImportRefused([(1, None, "the file is empty, not a coachledger export")])


def _read_header(number: int, raw: bytes) -> Header:
    try:
        loose = _any_decoder.decode(raw)
    except msgspec.DecodeError as e:
        raise ImportRefused([(number, None, f"not a JSON object ({_lower(str(e))})")]) from None
    if not isinstance(loose, dict) or loose.get("format") != FORMAT:
        raise ImportRefused([(number, "format", f'not a coachledger export (expected "{FORMAT}")')])
    if loose.get("version") != VERSION:
        raise ImportRefused(
            [
                (
                    number,
                    "version",
                    f"export version {loose.get('version')!r} is not readable here (only {VERSION})",
                )
            ]
        )
    try:
        return _header_decoder.decode(raw)
    except msgspec.ValidationError as e:
        raise ImportRefused([(number, *_describe(e))]) from None


def parse_lines(lines: Sequence[bytes], progress: Progress = no_progress) -> list[Parsed]:
    """Read and type-check every line; raise ImportRefused naming each bad one."""
    header = _find_header(lines)
    parser = _Parser()
    parsed: list[Parsed] = []
    with progress("Checking", len(lines)) as advance:
        advance(header[0])
        for start in range(header[0], len(lines), CHUNK):
            batch = lines[start : start + CHUNK]
            parsed += parser.feed(batch, start + 1)
            advance(len(batch))
    parser.refuse(header)
    return parsed


def check_against_store(
    parsed: Sequence[Parsed], backend: Backend, cipher_for: CipherFor | None = None
) -> list[Parsed]:
    """The lines the store does not hold yet; raise ImportRefused for any that do not fit."""
    checker = _Checker(lambda stream: _load_stream(backend, stream, cipher_for), cipher_for)
    new = checker.feed(parsed)
    checker.refuse()
    return new


def import_from(
    settings: Settings,
    source: Path | IO[bytes] | Sequence[bytes],
    *,
    dry_run: bool = False,
    progress: Progress = no_progress,
) -> ImportResult:
    """Check every line of an export, then (unless ``dry_run``) append all new events in one transaction.

    ``source`` is a file, a binary stream, or the file's lines.
    """
    from coachledger.services.bootstrap import cipher_for as ciphers

    new_file = _missing_store_file(settings)
    try:
        with gc_paused():
            lines = source if isinstance(source, Sequence) else read_lines(source)
            if not dry_run:
                header = _find_header(lines)
                if _holds_no_events(settings):
                    result = _import_into_empty(settings, lines, header, progress)
                    if result is not None:
                        return result
            parsed = parse_lines(lines, progress)
            result = _import(settings, parsed, dry_run, progress, ciphers(settings))
    except BaseException:
        if new_file is not None:  # a refused import leaves no store behind where there was none
            _remove_store_file(new_file)
        raise
    if dry_run and new_file is not None:
        _remove_store_file(new_file)
    return result


def _missing_store_file(settings: Settings) -> Path | None:
    """The SQLite store's path when no file is there yet (an import would create it)."""
    path = settings.store.path if settings.store.kind == "sqlite" else None
    return path if path is not None and not path.exists() else None


def _remove_store_file(path: Path) -> None:
    """Remove a store file this import created, unless it holds events (another process's)."""
    try:
        with contextlib.closing(sqlite3.connect(path)) as conn:
            row = conn.execute("SELECT EXISTS (SELECT 1 FROM stored_events)").fetchone()
        if row[0]:
            return
    except sqlite3.Error:
        pass  # no events table: nothing of anyone's in it
    for name in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            name.unlink()


def _holds_no_events(settings: Settings) -> bool:
    with open_store(settings) as store, store.transaction(write=False) as backend:
        return backend.is_empty()


def _import_into_empty(
    settings: Settings, lines: Sequence[bytes], header: tuple[int, Header], progress: Progress
) -> ImportResult | None:
    """Check and append in one pass, into a store that holds no events; None if it has some now.

    Nothing in the store can disagree with the file, so each batch of lines is appended
    as soon as it is checked, in the import's one transaction, while the next batch is
    checked. A refusal rolls the transaction back: nothing is written, as when the
    whole file is checked first (the problems named are the same).
    """
    from coachledger.services.bootstrap import cipher_for as ciphers

    with open_store(settings, create=True) as store, store.transaction(write=True) as backend:
        if not backend.is_empty():
            return None  # another process wrote first: check against what it wrote
        cipher_for = ciphers(settings)
        parser = _Parser()
        checker = _Checker(_new_stream, cipher_for)
        written = 0
        with backend.appending(len(lines) - header[0]) as appender:
            with progress("Checking", len(lines)) as advance:
                advance(header[0])
                for start in range(header[0], len(lines), CHUNK):
                    batch = lines[start : start + CHUNK]
                    parsed = parser.feed(batch, start + 1)
                    if not parser.problems:
                        new = checker.feed(parsed)
                        if not checker.problems:
                            appender.add(_rows(new, cipher_for))
                            written += len(new)
                    advance(len(batch))
            parser.refuse(header)
            checker.refuse()
            with progress("Writing", written) as advance:
                appender.finish()
                advance(written)
    return ImportResult(events=parser.lines, written=written, skipped=0, clients=len(checker.streams))


def _import(
    settings: Settings,
    parsed: list[Parsed],
    dry_run: bool,
    progress: Progress,
    cipher_for: CipherFor | None,
) -> ImportResult:
    with open_store(settings, create=not dry_run) as store, store.transaction(write=not dry_run) as backend:
        new = check_against_store(parsed, backend, cipher_for)
        if not dry_run and new:
            with progress("Writing", len(new)) as advance, backend.appending(len(new)) as appender:
                for start in range(0, len(new), CHUNK):
                    chunk = new[start : start + CHUNK]
                    appender.add(_rows(chunk, cipher_for))
                    advance(len(chunk))
                appender.finish()
    return ImportResult(
        events=len(parsed),
        written=len(new),
        skipped=len(parsed) - len(new),
        clients=len({line.stream for _, line, _ in new}),
    )


def bulk_append(
    settings: Settings,
    events: Sequence[LedgerStoredEvent],
    *,
    batch: int = CHUNK,
    progress: Progress = no_progress,
) -> None:
    """Append new events to an empty store, ``batch`` events per transaction (the demo's writer).

    Refused, with nothing written, when the store already holds events: the events'
    versions start each stream afresh.
    """
    from coachledger.services.bootstrap import cipher_for as ciphers

    with open_store(settings, create=True) as store:
        with store.transaction(write=True) as backend:
            if backend.count():
                raise DomainError(
                    f"the store at {settings.store.describe()} already holds events; "
                    "use an empty store for the demo"
                )
        cipher_for = ciphers(settings)
        if cipher_for is not None:
            events = [_encrypted(e, cipher_for) for e in events]
        with progress("Writing", len(events)) as advance:
            for start in range(0, len(events), batch):
                chunk = events[start : start + batch]
                with store.transaction(write=True) as backend, backend.bulk(len(chunk)):
                    backend.append(chunk)
                advance(len(chunk))


def _encrypted(event: LedgerStoredEvent, cipher_for: CipherFor) -> LedgerStoredEvent:
    cipher = cipher_for(UUID(str(event.originator_id)), event.topic)
    if cipher is None:
        return event
    return dataclasses.replace(event, state=cipher.encrypt(event.state))


# -- CSV measurements -------------------------------------------------------------------

CSV_COLUMNS = ("kpi", "value", "date", "source", "note")
CSV_REQUIRED = ("kpi", "value", "date")


@dataclass(frozen=True)
class CsvRow:
    line: int
    kpi: str
    value: Decimal
    at: datetime
    source: str
    note: str | None


def read_measurements_csv(
    text: str, default_source: str
) -> tuple[list[CsvRow], list[tuple[int, str | None, str]]]:
    """The readable rows of a measurements CSV, and a problem for each bad cell (line, column).

    A bad header is refused at once (ImportRefused): without it no row can be read.
    """
    from coachledger.moments import parse_moment

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportRefused([(1, None, "the file is empty; expected a header line kpi,value,date")]) from None
    except csv.Error as e:
        raise ImportRefused([(1, None, f"not a CSV file ({e})")]) from None
    columns = [h.strip().lower() for h in header]
    problems: list[tuple[int, str | None, str]] = []
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if unknown:
        problems.append(
            (
                1,
                unknown[0],
                f"unknown column (the columns are {', '.join(CSV_COLUMNS)}; source, note optional)",
            )
        )
    if missing:
        problems.append((1, missing[0], "required column is missing (kpi, value and date are required)"))
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        problems.append((1, duplicated[0], "the column appears twice"))
    if problems:
        raise ImportRefused(problems)
    rows: list[CsvRow] = []
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            raise ImportRefused([*problems, (start, None, f"not valid CSV ({e})")]) from None
        line, start = start, reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(columns):
            problems.append((line, None, f"{len(cells)} cells, but the header has {len(columns)} columns"))
            continue
        row = dict(zip(columns, (c.strip() for c in cells), strict=True))
        bad: list[tuple[str, str]] = []
        if not row["kpi"]:
            bad.append(("kpi", "empty"))
        value = Decimal(0)
        try:
            value = Decimal(row["value"])
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            bad.append(("value", f"'{row['value']}' is not a number"))
        at = datetime.min
        try:
            at = parse_moment(row["date"])
        except ValueError:
            bad.append(("date", f"'{row['date']}' is not an ISO date (YYYY-MM-DD) or datetime"))
        source = row.get("source") or default_source
        if source not in SOURCES:
            bad.append(("source", f"'{source}' is not one of {', '.join(SOURCES)}"))
        if bad:
            problems.extend((line, f, what) for f, what in bad)
            continue
        rows.append(CsvRow(line, row["kpi"], value, at, source, row.get("note") or None))
    if not rows and not problems:
        raise ImportRefused([(2, None, "no measurements: the file has a header but no rows")])
    return rows, problems


def record_csv_rows(
    client: Client, actor: str, rows: Sequence[CsvRow], problems: Sequence[tuple[int, str | None, str]] = ()
) -> list[str]:
    """Record every row on the client, or raise ImportRefused naming each refused row.

    ``problems`` (rows that could not be read) are reported together with the rows the
    ledger refuses, so one run names every bad line.
    """
    problems = list(problems)
    ids: list[str] = []
    for row in rows:
        try:
            ids.append(client.record_measurement(actor, row.kpi, row.value, row.at, row.source, row.note))
        except (UnknownId, RetiredKpi) as e:
            problems.append((row.line, "kpi", str(e)))
        except DomainError as e:
            problems.append((row.line, "value", str(e)))
    if problems:
        raise ImportRefused(problems)
    return ids


def import_measurements(ledger: Ledger, slug: str, source: Path, default_source: str = "survey") -> list[str]:
    """All rows of a CSV file as measurements of one client, saved together or not at all."""
    try:
        text = source.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DomainError(f"{source} is not UTF-8 text") from None
    except OSError as e:
        raise DomainError(f"cannot read {source}: {e.strerror}") from None
    rows, problems = read_measurements_csv(text, default_source)
    return ledger.change(slug, lambda c: record_csv_rows(c, ledger.actor, rows, problems))
