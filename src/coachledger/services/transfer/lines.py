"""Reading an export's lines: decoded and type-checked, then encoded as the write side stores them."""

from __future__ import annotations

import contextlib
import functools
import gc
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

import msgspec

from coachledger.adapters.codec import SCHEMAS, encoder
from coachledger.domain import (
    DomainError,
    check_moment,
    check_number,
)
from coachledger.ids import client_id, coach_id
from coachledger.services.transfer.references import REGISTERED
from coachledger.services.transfer.schema import (
    _BY_CLASS,
    _STREAM_ID,
    COACH_ADDED,
    ENVELOPE,
    FORMAT,
    VERSION,
    CipherFor,
    Header,
    ImportRefused,
    LineType,
    _any_decoder,
    _fast_line_decoder,
    _header_decoder,
    _line_decoder,
)

if TYPE_CHECKING:
    from coachledger.adapters.sqlite import SealRow

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
                and _in_years(line.data, _moment_fields(lt.topic))
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
    """Finite and within the bounds (the cheap test first; ``_check_line`` says what is wrong)."""
    for name in names:
        value = getattr(data, name)
        if value is not None and (not value.is_finite() or _out_of_bounds(name, check_number, value)):
            return False
    return True


def _in_years(data: Any, names: tuple[str, ...]) -> bool:
    for name in names:
        value = getattr(data, name)
        if value is not None and _out_of_bounds(name, check_moment, value):
            return False
    return True


def _check_line(line: Any, lt: LineType, last_seq: int) -> list[tuple[str, str]]:
    """Every problem of one decoded line that msgspec cannot see, as (field, what)."""
    bad: list[tuple[str, str]] = []
    if line.seq <= last_seq:
        bad.append(("seq", f"{line.seq} is not after the previous line's {last_seq} (recording order)"))
    if line.type != lt.name:
        bad.append(("type", f"'{line.type}' does not match the topic {lt.topic} (expected '{lt.name}')"))
    if (line.version == 1) != lt.starts:
        what = "a stream's first event" if line.version == 1 else f"version {line.version}"
        bad.append(
            ("version", f"{what} cannot be {lt.name}; every stream starts with ClientRegistered (or CoachAdded)")
        )
    if line.client is not None and _stream_of(line.client) != line.stream:
        bad.append(("client", f"'{line.client}' is not the client of stream {line.stream}"))
    if lt.topic == REGISTERED and _stream_of(line.data.slug) != line.stream:
        bad.append(("data.slug", f"'{line.data.slug}' is not the client of stream {line.stream}"))
    if lt.topic == COACH_ADDED and coach_id(line.data.name).hex != line.stream:
        bad.append(("data.name", f"'{line.data.name}' is not the coach of stream {line.stream}"))
    for name in lt.decimals:
        value = getattr(line.data, name)
        if value is not None and not value.is_finite():
            bad.append((f"data.{name}", f"must be a finite number, not {value}"))
        elif value is not None:
            bad += _out_of_bounds(name, check_number, value)
    for name in _moment_fields(lt.topic):
        value = getattr(line.data, name)
        if value is not None:
            bad += _out_of_bounds(name, check_moment, value)
    return bad


def _out_of_bounds(name: str, check: Callable[[str, Any], None], value: Any) -> list[tuple[str, str]]:
    """The domain's bounds (DOMAIN.md, "Bounds") for one field of a line."""
    try:
        check("it", value)
    except DomainError as e:
        return [(f"data.{name}", str(e).removeprefix("it "))]
    return []


@functools.lru_cache(maxsize=64)
def _moment_fields(topic: str) -> tuple[str, ...]:
    """The payload's date fields of an event topic."""
    return tuple(
        f.name
        for f in msgspec.structs.fields(SCHEMAS[topic].struct)
        if f.name not in ENVELOPE and (f.type is datetime or datetime in typing.get_args(f.type))
    )


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
            state[name] = lt.aggregate_topic
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
