"""Keeping the views current: catch-up on read, status, rebuild.

Every view applies each event exactly once: the view rows of a chunk of events and the
views' tracked positions are written in one transaction, which also holds the store's
write lock, so two readers never catch up the same events twice. Catch-up reads the
stored rows directly and decodes them with the typed codec (no domain objects), which
is what keeps a rebuild close to the speed of reading the rows.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from coachledger.adapters import event_reads
from coachledger.projections import checkins, clients, history, journal, progress, registry

VIEWS = (clients, history, progress, journal, checkins)
# Tables of earlier versions' views, dropped with the views (the timeline now reads the events).
RETIRED_TABLES = ("timeline",)
CHUNK = 5000  # events decoded and applied at a time
COMMIT_EVERY = 100_000  # events per write transaction
HELPER_PEAK_KIB = [0]  # the largest peak memory of a decoding helper in this process (for reports)
CACHE_KIB = 4096  # SQLite page cache while catching up (more made a rebuild no faster, only bigger)
TRACKING = "CREATE TABLE IF NOT EXISTS view_tracking (view TEXT PRIMARY KEY, position INTEGER NOT NULL)"
SCHEMA_TABLE = "CREATE TABLE IF NOT EXISTS view_schema (digest TEXT NOT NULL)"


# A forgotten client's rows leave every view: the catch-up itself does that (``build``, ``write``).
registry.elsewhere("Forgotten", "the catch-up, which removes the client's rows from every view")
# A coach's events make no view row: ``coaches`` reads a coach's own (short) stream, so a
# disabled coach or a changed password counts at once, whatever the views' position.
for _name in ("Coach.Added", "Coach.PasswordChanged", "Coach.Disabled", "Coach.Enabled"):
    registry.elsewhere(_name, "projections/coaches.py, which reads the coach's own stream")


def _ddl() -> list[str]:
    statements = []
    for view in VIEWS:
        statements += list(view.TABLES.values()) + list(getattr(view, "INDEXES", ()))
    return statements


def _index_ddl() -> list[str]:
    return [statement for view in VIEWS for statement in getattr(view, "INDEXES", ())]


# A checksum of the views' DDL: any change rebuilds them. crc32 rather than hashlib, whose
# OpenSSL load (~3 ms) every read command would otherwise pay.
# Bump when what a view writes changes without its DDL changing: every store then rebuilds its views.
VIEW_LOGIC_VERSION = "5"  # 5: check-ins (measurements carry their via, corrections a confidence)
SCHEMA_DIGEST = f"crc32-{zlib.crc32(chr(10).join([VIEW_LOGIC_VERSION, *_ddl()]).encode()):08x}"
Decryptor = Callable[[str, str, bytes], bytes | None]


def head(db: Any) -> int:
    return event_reads.head(db)


def positions(db: Any) -> dict[str, int]:
    return {view: int(pos) for view, pos in db.execute("SELECT view, position FROM view_tracking").fetchall()}


def is_current(db: Any) -> bool:
    """The read fast path: one query, no decoding."""
    try:
        row = db.execute(
            f"SELECT ({event_reads.HEAD_SQL}), (SELECT min(position) FROM view_tracking), (SELECT digest FROM view_schema)"
        ).fetchone()
    except Exception:  # the view tables do not exist yet
        _rollback(db)
        return False
    return row[1] is not None and row[1] >= row[0] and row[2] == SCHEMA_DIGEST


def _rollback(db: Any) -> None:
    rollback = getattr(db, "rollback", None) or getattr(getattr(db, "conn", None), "rollback", None)
    if rollback is not None:
        rollback()


def ensure(db: Any, *, indexes: bool = True) -> None:
    """Create the view tables; drop and recreate them when their schema changed."""
    with db.write_lock():
        db.execute(TRACKING)
        db.execute(SCHEMA_TABLE)
        row = db.execute("SELECT digest FROM view_schema").fetchone()
        if row is None or row[0] != SCHEMA_DIGEST:
            _drop(db)
            db.execute("DELETE FROM view_schema")
            db.execute("INSERT INTO view_schema VALUES (?)", (SCHEMA_DIGEST,))
        for statement in _ddl() if indexes else [t for view in VIEWS for t in view.TABLES.values()]:
            db.execute(statement)
        for view in VIEWS:
            db.execute(
                "INSERT INTO view_tracking (view, position) SELECT ?, 0 "
                "WHERE NOT EXISTS (SELECT 1 FROM view_tracking WHERE view = ?)",
                (view.NAME, view.NAME),
            )


def _drop(db: Any) -> None:
    for table in [t for view in VIEWS for t in view.TABLES] + list(RETIRED_TABLES):
        db.execute(f"DROP TABLE IF EXISTS {table}")
    db.execute("DELETE FROM view_tracking")


def current(db: Any, decrypt: Decryptor | None = None) -> None:
    """Bring every view up to date (the first step of every read)."""
    if not is_current(db):
        ensure(db)
        catch_up(db, decrypt)


def catch_up(
    db: Any,
    decrypt: Decryptor | None = None,
    on_chunk: Callable[[int], None] | None = None,
    helper: Any = None,
) -> int:
    """Apply every event after the views' position; returns how many were applied.

    ``on_chunk(n)`` hears after each commit how many more events were applied for good.
    ``helper``: a decoding helper already started for the events after the views' position
    (a rebuild starts one before it drops the views); otherwise one is started when the
    views are far enough behind.
    Events are decoded and applied ``CHUNK`` at a time (memory stays flat), but committed
    ``COMMIT_EVERY`` at a time: each durable commit of a small transaction re-writes the
    views' index pages and checkpoints the WAL, which made a rebuild I/O-bound.
    """
    if db.kind == "sqlite":
        db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    done = 0
    keys = ClientKeys(db)
    if helper is None:
        helper = _helper_for(db, decrypt)
    if helper is not None:
        done = _catch_up_with_helper(db, helper, on_chunk)
    while True:
        applied = 0
        with db.write_lock():
            start = min(positions(db).values(), default=0)
            while applied < COMMIT_EVERY:
                rows = db.events_after(start, CHUNK)
                if not rows:
                    break
                _apply(db, rows, decrypt, keys)
                start = rows[-1][0]
                applied += len(rows)
                if len(rows) < CHUNK:
                    break
            if applied:
                _track(db, start)
        done += applied
        if applied and on_chunk is not None:
            on_chunk(applied)  # after the commit: what it reports is applied for good
        if applied < COMMIT_EVERY:
            return done


class Route(NamedTuple):
    """What becomes of one event topic: how it is decoded, and the view rows it makes."""

    decode: Callable[[bytes], Any]
    sql: str  # the first view's statement ...
    build: registry.Builder  # ... and its row: (seq, stream, client key, event) -> row
    more: tuple[tuple[str, registry.Builder], ...]  # the other views' (statement, builder), if any


class Dispatch(NamedTuple):
    """The routes by topic, and the two topics a catch-up itself treats."""

    routes: dict[str, Route]
    registered: str  # Client.Registered: gives the client's key in the views
    forgotten: str  # Client.Forgotten: removes the client's rows from every view


_DISPATCH: list[Dispatch] = []


def dispatch() -> Dispatch:
    """Each event topic some view takes, with its route (from ``registry``: one or more views each).

    Every view row comes from one event alone (no view looks at other rows while it is
    written), so catch-up needs no state between events and a rebuild only appends.
    """
    if not _DISPATCH:
        # lazy: reads that need no catch-up never load the codec or the domain
        from coachledger.adapters.codec import text_decoder
        from coachledger.domain import Client

        table: dict[str, Route] = {}
        for cls, handlers in registry.handlers().items():
            topic = cls.TOPIC  # type: ignore[attr-defined]
            (first, *others) = handlers
            more = tuple((h.sql, h.build) for h in others)
            table[topic] = Route(text_decoder(topic), first.sql, first.build, more)
        _DISPATCH.append(Dispatch(table, Client.Registered.TOPIC, Client.Forgotten.TOPIC))
    return _DISPATCH[0]


def routes() -> dict[str, Route]:
    """Each event topic some view takes, with its route."""
    return dispatch().routes


def _helper_for(db: Any, decrypt: Decryptor | None, start: int | None = None) -> Any:
    """A decoding helper for the events after ``start`` (the views' position), if it is worth one."""
    path = getattr(db, "path", None)
    if path is None:
        return None
    # lazy: subprocess only for a big catch-up
    from coachledger.projections import pipeline

    if not pipeline.AVAILABLE:
        return None
    start = min(positions(db).values(), default=0) if start is None else start
    end = head(db)
    if end - start < pipeline.PARALLEL_MIN:
        return None
    return pipeline.Helper(path, start, end, CHUNK, encrypted=decrypt is not None)


def _catch_up_with_helper(db: Any, helper: Any, on_chunk: Callable[[int], None] | None) -> int:
    """A big catch-up with a helper process decoding the events (see ``pipeline``).

    Same transactions and positions as the loop in ``catch_up``, which goes on from
    wherever this stops (at the head it saw, or where another process caught up).
    """
    start, end = helper.start, helper.end
    done = 0
    with helper as messages:
        position = start
        while position < end:
            applied = 0
            with db.write_lock():
                if min(positions(db).values(), default=0) != position:
                    break  # another process caught the views up meanwhile
                for last, count, chunk in messages:
                    for message in chunk:
                        write(db, message)
                    position = last
                    applied += count
                    if applied >= COMMIT_EVERY:
                        break
                if applied:
                    _track(db, position)
            done += applied
            if applied and on_chunk is not None:
                on_chunk(applied)
            if not applied:
                break
    HELPER_PEAK_KIB[0] = max(HELPER_PEAK_KIB[0], helper.peak_rss_kib)
    return done


def _track(db: Any, position: int) -> None:
    db.executemany(
        "UPDATE view_tracking SET position = ? WHERE view = ?", [(position, v.NAME) for v in VIEWS]
    )


Message = Sequence[Any]  # ("rows", {statement: rows}) or ("forget", stream, client key)


class ClientKeys:
    """Each client's key in the views (the seq of its registration), for one catch-up.

    Views keep this small integer instead of the 32-character stream id: a rebuild writes
    a third less. A key is known from the registration event when the catch-up sees it,
    and otherwise read from the clients view (None: never registered there, or forgotten).
    """

    def __init__(self, db: Any) -> None:
        self.db = db
        self.known: dict[str, int] = {}

    def __call__(self, stream: str) -> int | None:
        key = self.known.get(stream)
        if key is None:
            key = clients.key_of(self.db, stream)
            if key is not None:
                self.known[stream] = key
        return key


def build(rows: Any, keys: ClientKeys, decrypt: Decryptor | None = None) -> Iterator[Message]:
    """The view writes of a chunk of stored events, in order: rows, and forgotten clients.

    The hot loop of a rebuild: one dictionary lookup picks the route of an event's topic
    (``dispatch``: every view that takes it); only events some view takes are decoded, into
    text where the views store text (no datetime or Decimal objects built only to be
    formatted again), and each becomes one row per view appended to its statement's list. A view's recording time is the event's own
    timestamp, which is what ``event_index`` holds. Rows of the events before a
    ClientForgotten are given before it, so that forgetting removes them.
    """
    table, registered, forgotten = dispatch()
    known = keys.known
    sinks: dict[str, list[tuple[Any, ...]]] = {}
    for seq, stream, _version, topic, state in rows:
        route = table.get(topic)
        if route is None:
            if topic == forgotten:
                if sinks:
                    yield ("rows", sinks)
                    sinks = {}
                yield ("forget", stream, keys(stream))
            continue
        if decrypt is not None:
            state = decrypt(stream, topic, state)
            if state is None:  # the client's key was destroyed: nothing of it can be shown
                continue
        if topic == registered:
            known[stream] = seq
        key = known.get(stream) or keys(stream)
        if key is None:  # forgotten before the views caught up: none of its rows are kept
            continue
        decode, sql, make_row, more = route
        event = decode(state)
        sink = sinks.get(sql)
        if sink is None:
            sink = sinks[sql] = []
        sink.append(make_row(seq, stream, key, event))
        if more:  # other views take this event too
            for sql, make_row in more:
                sink = sinks.get(sql)
                if sink is None:
                    sink = sinks[sql] = []
                sink.append(make_row(seq, stream, key, event))
    if sinks:
        yield ("rows", sinks)


def write(db: Any, message: Message) -> None:
    kind = message[0]
    if kind == "rows":
        for sql, rows in message[1].items():
            db.executemany(sql, rows)
    elif kind == "forget":
        for statement in _index_ddl():  # a rebuild defers them; forget looks rows up by client
            db.execute(statement)
        for view in VIEWS:
            view.forget(db, message[1], message[2])
    else:
        raise ValueError(f"unknown view write {kind!r}")


def _apply(db: Any, rows: Any, decrypt: Decryptor | None, keys: ClientKeys) -> None:
    """Apply one chunk of stored events to every view."""
    for message in build(rows, keys, decrypt):
        write(db, message)


def rebuild(db: Any, decrypt: Decryptor | None = None, on_chunk: Callable[[int], None] | None = None) -> int:
    """Drop every view and replay all events from the first.

    The views' secondary indexes are created after the replay: building an index from
    sorted keys is many times faster than inserting a million keys at random places (a
    rebuild interrupted before then gets them from ``ensure`` on the next read).
    """
    helper = _helper_for(db, decrypt, start=0)
    if helper is not None:
        helper.start_process()  # its start-up overlaps the drop
    try:
        with db.write_lock():
            db.execute(TRACKING)
            db.execute(SCHEMA_TABLE)
            with _plain_drop(db):
                _drop(db)
            db.execute("DELETE FROM view_schema")
        ensure(db, indexes=False)
    except BaseException:
        if helper is not None:
            helper.__exit__(None, None, None)
        raise
    count = catch_up(db, decrypt, on_chunk, helper)
    with db.write_lock():
        for statement in _index_ddl():
            db.execute(statement)
    return count


@contextlib.contextmanager
def _plain_drop(db: Any) -> Iterator[None]:
    """Drop the views without overwriting their pages with zeros (SQLite's secure_delete).

    Everything a rebuild drops is derived from events that are still readable: a
    forgotten client's rows were deleted, with secure_delete, when it was forgotten.
    Zeroing a million freed view rows made the drop cost a tenth of a rebuild.
    """
    if db.kind != "sqlite":
        yield
        return
    db.execute("PRAGMA secure_delete=OFF")
    try:
        yield
    finally:
        db.execute("PRAGMA secure_delete=ON")


def status(db: Any) -> list[dict[str, Any]]:
    ensure(db)
    top = head(db)
    return [
        {"view": name, "position": pos, "behind": max(0, top - pos)}
        for name, pos in sorted(positions(db).items())
    ]


def forget_client(db: Any, stream: str) -> None:
    """Remove a client's rows from every view."""
    ensure(db)
    with db.write_lock():
        key = clients.key_of(db, stream)
        for view in VIEWS:
            view.forget(db, stream, key)


def known_seq_at(db: Any, stream: str, known_at: datetime) -> int:
    """The last event of a stream recorded at or before ``known_at`` (0: nothing yet)."""
    text = known_at.astimezone(UTC).isoformat(timespec="microseconds")
    return event_reads.known_seq_at(db, stream, text)
