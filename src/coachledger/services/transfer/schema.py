"""The export format: its header, and one line type per event topic (msgspec Structs)."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Union
from uuid import UUID

import msgspec

from coachledger.adapters.codec import SCHEMAS, encoder
from coachledger.domain import (
    COACH_CLASSES,
    EVENT_CLASSES,
    Client,
    Coach,
    DomainError,
)
from coachledger.services.transfer.references import _REFS, REGISTERED, _Stream

if TYPE_CHECKING:
    pass

FORMAT = "coachledger-export"
VERSION = 1
MAX_ERRORS = 50

Progress = Callable[[str, int], contextlib.AbstractContextManager[Callable[[int], None]]]
"""Opens a progress display: (label, total) -> a context giving ``advance(n)``."""
CipherFor = Callable[[Any, str], Any]  # (stream id, topic) -> cipher with encrypt/decrypt, or None

TzDateTime = Annotated[datetime, msgspec.Meta(tz=True)]
Positive = Annotated[int, msgspec.Meta(ge=1)]
StreamId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]
ENVELOPE = ("timestamp", "actor", "originator_topic")  # event fields kept outside ``data``
AGGREGATE_TOPIC = Client.TOPIC  # a client's stream; a file never names a class to load
COACH_TOPIC = Coach.TOPIC  # a coach's stream (its events are COACH_CLASSES)
COACH_ADDED = Coach.Added.TOPIC  # the first event of a coach's stream


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
    registered: bool  # the first event of a client's stream
    starts: bool  # the first event of a stream (a client's or a coach's)
    aggregate_topic: str  # the stream's aggregate, as the write side stores it in a first event
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
    if data_fields != cls.EXPORT:  # the event's own word on its line's data (domain/events.py)
        raise TypeError(f"{cls.__name__}.EXPORT {cls.EXPORT} is not its data fields {data_fields}")
    prefix: bytes | None = None
    aggregate = COACH_TOPIC if cls in COACH_CLASSES else AGGREGATE_TOPIC
    if list(order) == [*envelope, *data_fields] and envelope[0] == "timestamp" and envelope[-1] == "actor":
        middle = b"".join(b'"%s":%s,' % (n.encode(), encoder.encode(aggregate)) for n in envelope[1:-1])
        prefix = b"," + middle + b'"actor":'
    return LineType(
        topic=topic,
        prefix=prefix,
        suffix=b',"class_version":%d}' % schema.class_version if schema.class_version > 1 else b"",
        name=topic.split(":", 1)[1],
        line=line,
        fast=fast,
        registered=topic == REGISTERED,
        starts=topic in (REGISTERED, COACH_ADDED),
        aggregate_topic=aggregate,
        refs=_REFS[topic],
        data_fields=data_fields,
        state_order=order,
        class_version=schema.class_version,
        decimals=decimals,
    )


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


def _clear(stream: str, topic: str, state: bytes, cipher_for: CipherFor | None) -> bytes:
    if cipher_for is not None:
        cipher = cipher_for(UUID(stream), topic)
        if cipher is not None:
            return typing.cast(bytes, cipher.decrypt(state))
    return state
