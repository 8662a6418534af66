"""Import: check every line (schema, continuity, references, the store), then append in one transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING
from uuid import UUID

import msgspec

from coachledger.adapters.ciphers import LedgerKeys, ledger_keys
from coachledger.adapters.codec import LedgerStoredEvent, decode_payload
from coachledger.adapters.eventstore import (
    EventTransaction,
    new_store_file,
    open_event_store,
    remove_new_store_file,
)
from coachledger.domain import (
    DomainError,
)
from coachledger.ids import UUID5, StreamIds
from coachledger.services.transfer.lines import (
    ImportResult,
    Parsed,
    _find_header,
    _Parser,
    _rows,
    gc_paused,
    no_progress,
    read_lines,
)
from coachledger.services.transfer.references import REGISTERED, _remember, _Stream, _who
from coachledger.services.transfer.schema import (
    COACH_ADDED,
    LINE_TYPES,
    CipherFor,
    Header,
    ImportRefused,
    Progress,
    _clear,
)
from coachledger.settings import Settings

if TYPE_CHECKING:
    pass

CHUNK = 5_000  # events per progress step when writing


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


class _Restreamer:
    """The lines of a file, whose streams are the clients' public ids, on this ledger's streams.

    A ledger with keyed stream ids derives each client's stream id from its slug: the
    registration's ``slug``, else the line's ``client``. A line with neither, of a stream the
    file does not register, cannot be placed: a problem (``client`` is needed). The file has
    checked every ``client`` and ``slug`` against its stream already (``_Parser``).
    """

    def __init__(self, ids: StreamIds) -> None:
        self.ids = ids
        self.streams: dict[str, str] = {}  # the file's stream id -> this ledger's
        self.problems: list[tuple[int, str | None, str]] = []

    def feed(self, parsed: Sequence[Parsed]) -> Sequence[Parsed]:
        if self.ids.scheme == UUID5:
            return parsed  # the file's ids are this ledger's
        out: list[Parsed] = []
        replace = msgspec.structs.replace
        for number, line, lt in parsed:
            mine = self.streams.get(line.stream)
            if mine is None and lt.topic == COACH_ADDED:
                mine = self.streams[line.stream] = line.stream  # a coach's id is public in every ledger
            if mine is None:
                slug = line.data.slug if lt.registered else line.client
                if slug is None:
                    self.problems.append(
                        (
                            number,
                            "client",
                            f"missing: this ledger derives each client's stream id from the client id "
                            f"(keyed), and the file does not register stream {line.stream}",
                        )
                    )
                    continue
                mine = self.streams[line.stream] = self.ids.stream_of(slug)
            out.append((number, replace(line, stream=mine), lt))
        return out

    def refuse(self) -> None:
        if self.problems:
            raise ImportRefused(self.problems)


def _new_stream(stream: str) -> _Stream:
    return _Stream()


def _load_stream(tx: EventTransaction, stream: str, cipher_for: CipherFor | None) -> _Stream:
    s = _Stream()
    for version, topic, state in tx.stream_events(stream):
        s.existing[version] = (topic, state)
        s.stored = version
        if topic in LINE_TYPES:
            _remember(s, topic, decode_payload(topic, _clear(stream, topic, state, cipher_for)))
    return s


def _same(item: Parsed, existing: tuple[str, bytes], cipher_for: CipherFor | None) -> bool:
    topic, state = existing
    if topic != item[2].topic:
        return False
    state = _clear(item[1].stream, topic, state, cipher_for)
    mine = _rows((item,), None)[0][3]
    if state == mine:
        return True
    return bool(decode_payload(topic, state) == decode_payload(topic, mine))


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
    parsed: Sequence[Parsed], tx: EventTransaction, cipher_for: CipherFor | None = None
) -> list[Parsed]:
    """The lines the store does not hold yet; raise ImportRefused for any that do not fit.

    ``parsed``: on the store's own stream ids (``_Restreamer``).
    """
    checker = _Checker(lambda stream: _load_stream(tx, stream, cipher_for), cipher_for)
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
    new_file = new_store_file(settings.store)
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
            result = _import(settings, parsed, dry_run, progress, ledger_keys(settings))
    except BaseException:
        if new_file is not None:  # a refused import leaves no store behind where there was none
            remove_new_store_file(new_file)
        raise
    if dry_run and new_file is not None:
        remove_new_store_file(new_file)
    return result


def _holds_no_events(settings: Settings) -> bool:
    with open_event_store(settings.store) as store, store.transaction(write=False) as tx:
        return tx.is_empty()


def _import_into_empty(
    settings: Settings, lines: Sequence[bytes], header: tuple[int, Header], progress: Progress
) -> ImportResult | None:
    """Check and append in one pass, into a store that holds no events; None if it has some now.

    Nothing in the store can disagree with the file, so each batch of lines is appended
    as soon as it is checked, in the import's one transaction, while the next batch is
    checked. A refusal rolls the transaction back: nothing is written, as when the
    whole file is checked first (the problems named are the same).
    """
    with open_event_store(settings.store, create=True) as store, store.transaction(write=True) as tx:
        if not tx.is_empty():
            return None  # another process wrote first: check against what it wrote
        keys = ledger_keys(settings)
        cipher_for = keys.ciphers
        parser = _Parser()
        restreamer = _Restreamer(keys.ids)
        checker = _Checker(_new_stream, cipher_for)
        written = 0
        with tx.appending(len(lines) - header[0]) as appender:
            with progress("Checking", len(lines)) as advance:
                advance(header[0])
                for start in range(header[0], len(lines), CHUNK):
                    batch = lines[start : start + CHUNK]
                    parsed = parser.feed(batch, start + 1)
                    if not parser.problems:
                        placed = restreamer.feed(parsed)
                        new = checker.feed(placed) if not restreamer.problems else []
                        if not checker.problems and not restreamer.problems:
                            appender.add(_rows(new, cipher_for))
                            written += len(new)
                    advance(len(batch))
            parser.refuse(header)
            restreamer.refuse()
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
    keys: LedgerKeys,
) -> ImportResult:
    cipher_for = keys.ciphers
    restreamer = _Restreamer(keys.ids)
    placed = restreamer.feed(parsed)
    restreamer.refuse()
    with (
        open_event_store(settings.store, create=not dry_run) as store,
        store.transaction(write=not dry_run) as tx,
    ):
        new = check_against_store(placed, tx, cipher_for)
        if not dry_run and new:
            with progress("Writing", len(new)) as advance, tx.appending(len(new)) as appender:
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
    versions start each stream afresh. The events are on the clients' public ids (as
    ``Client.register`` gives them without a stream id); a ledger with keyed stream ids
    gets them on its own.
    """
    with open_event_store(settings.store, create=True) as store:
        with store.transaction(write=True) as tx:
            if tx.count():
                raise DomainError(
                    f"the store at {settings.store.describe()} already holds events; "
                    "use an empty store for the demo"
                )
        keys = ledger_keys(settings)
        events = _on_ledger_streams(events, keys.ids)
        cipher_for = keys.ciphers
        if cipher_for is not None:
            events = [_encrypted(e, cipher_for) for e in events]
        with progress("Writing", len(events)) as advance:
            for start in range(0, len(events), batch):
                chunk = events[start : start + batch]
                with store.transaction(write=True) as tx, tx.bulk(len(chunk)):
                    tx.append(chunk)
                advance(len(chunk))


def _on_ledger_streams(events: Sequence[LedgerStoredEvent], ids: StreamIds) -> Sequence[LedgerStoredEvent]:
    """Events on the clients' public ids, on the ledger's own (keyed: from each registration's slug)."""
    if ids.scheme == UUID5:
        return events
    mine = {
        str(e.originator_id): ids.client_id(decode_payload(e.topic, e.state).slug)
        for e in events
        if e.topic == REGISTERED
    }
    return [dataclasses.replace(e, originator_id=mine[str(e.originator_id)]) for e in events]


def _encrypted(event: LedgerStoredEvent, cipher_for: CipherFor) -> LedgerStoredEvent:
    cipher = cipher_for(UUID(str(event.originator_id)), event.topic)
    if cipher is None:
        return event
    return dataclasses.replace(event, state=cipher.encrypt(event.state))
