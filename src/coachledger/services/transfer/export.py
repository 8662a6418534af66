"""Export: every event in recording order, as JSON Lines after a header line."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from coachledger import __version__
from coachledger.adapters.ciphers import ledger_keys
from coachledger.adapters.codec import decode_payload
from coachledger.adapters.eventstore import EventTransaction, open_event_store
from coachledger.adapters.files import StoreError, replacing
from coachledger.domain import (
    ClientWasForgotten,
    DomainError,
)
from coachledger.ids import PUBLIC, UUID5, StreamIds, coach_id, stream_of
from coachledger.services.transfer.references import REGISTERED
from coachledger.services.transfer.schema import (
    COACH_ADDED,
    FORMAT,
    LINE_TYPES,
    VERSION,
    CipherFor,
    Header,
    _clear,
    _header_decoder,
    _line_encoder,
)
from coachledger.settings import Settings

if TYPE_CHECKING:
    pass


def export_lines(
    tx: EventTransaction, cipher_for: CipherFor | None = None, ids: StreamIds = PUBLIC
) -> Iterator[bytes]:
    """The header line, then one line per event in recording order (each ends with a newline).

    Clients forgotten on request (their key destroyed) are left out whole: their events
    can no longer be read, and an export must not carry what was erased.

    A line's ``stream`` is the client's public id (``ids.stream_of``: the uuid5 of its slug),
    whatever the ledger's own scheme (``ids``): a ledger with keyed stream ids exports none of
    them, and the importing ledger derives its own from the slug.
    """
    forgotten = _forgotten_streams(tx, cipher_for) if cipher_for is not None else {}
    header = Header(
        format=FORMAT,
        version=VERSION,
        exported_at=datetime.now(tz=UTC),
        events=tx.count() - sum(forgotten.values()),
        generator=f"coachledger {__version__}",
        forgotten_clients=len(forgotten),
    )
    yield _line_encoder.encode(header) + b"\n"
    slugs: dict[str, str] = {}
    public: dict[str, str] = {}  # the ledger's stream id -> the public one (keyed ledgers)
    keyed = ids.scheme != UUID5
    for seq, stream, version, topic, state in tx.rows():
        if stream in forgotten:
            continue
        lt = LINE_TYPES.get(topic)
        if lt is None:
            raise DomainError(f"cannot export event {seq}: unknown topic '{topic}'")
        payload = decode_payload(topic, _clear(stream, topic, state, cipher_for))
        if topic == REGISTERED:
            slugs[stream] = payload.slug
            if keyed:
                public[stream] = _public_stream(seq, stream, payload.slug, ids)
        elif topic == COACH_ADDED and keyed:
            public[stream] = _coach_stream(seq, stream, payload.name)
        line: dict[str, Any] = {
            "seq": seq,
            "stream": (public.get(stream) or _unregistered(seq, stream)) if keyed else stream,
            "client": slugs.get(stream),
            "version": version,
            "type": lt.name,
            "topic": topic,
            "recorded_at": payload.timestamp.astimezone(UTC),
            "actor": payload.actor,
            "data": {name: getattr(payload, name) for name in lt.data_fields},
        }
        yield _line_encoder.encode(line) + b"\n"


def _public_stream(seq: int, stream: str, slug: str, ids: StreamIds) -> str:
    """The public id of a stream of a keyed ledger, from the slug its registration names."""
    if ids.stream_of(slug) != stream:
        raise DomainError(
            f"cannot export event {seq}: it registers '{slug}', which is not the client of stream {stream} "
            "(run 'coachledger verify')"
        )
    return stream_of(slug)


def _coach_stream(seq: int, stream: str, name: str) -> str:
    """A coach's stream id, public in every ledger: it travels as it is."""
    if coach_id(name).hex != stream:
        raise DomainError(
            f"cannot export event {seq}: it adds coach '{name}', who is not the coach of stream {stream} "
            "(run 'coachledger verify')"
        )
    return stream


def _unregistered(seq: int, stream: str) -> str:
    raise DomainError(
        f"cannot export event {seq}: its stream {stream} has no readable registration, so the client "
        "it belongs to cannot be named (run 'coachledger verify')"
    )


def _forgotten_streams(tx: EventTransaction, cipher_for: CipherFor) -> dict[str, int]:
    """Streams whose first event no longer decrypts (a forgotten client), with their event counts."""
    out: dict[str, int] = {}
    for stream, topic, state in tx.first_events():
        try:
            _clear(stream, topic, state, cipher_for)
        except ClientWasForgotten:
            out[stream] = len(tx.stream_events(stream))
    return out


@dataclass(frozen=True)
class ExportResult:
    events: int  # event lines written
    forgotten_clients: int  # clients left out because they were forgotten on request


def export_to(settings: Settings, out: Path | None, sink: IO[bytes] | None = None) -> ExportResult:
    """Write the export to ``out`` (0600, replaced whole only when complete) or ``sink``."""
    with open_event_store(settings.store) as store, store.transaction(write=False) as tx:
        if store.empty:
            raise StoreError(f"no ledger at {settings.store.describe()}")
        keys = ledger_keys(settings)
        lines = export_lines(tx, keys.ciphers, keys.ids)
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
    try:
        with replacing(out) as sink:
            count = _write_lines(lines, sink)
    except OSError as e:
        raise DomainError(f"cannot write {out}: {e.strerror}") from None
    return count
