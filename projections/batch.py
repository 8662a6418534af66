"""The value formats view rows use: numbers, times, JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

_NATIVE = frozenset({str, int, bool, float, type(None)})


def plain(value: Any) -> Any:
    """A JSON-friendly form of an event value (numbers stay numbers)."""
    if type(value) in _NATIVE:  # most fields: one set lookup instead of four isinstance calls
        return value
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def number(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return round(float(value), 6)


_encoder: Any = None


def dumps(value: Any) -> str:
    """Deterministic JSON (sorted keys, compact, UTF-8): a rebuild writes byte-identical view rows.

    msgspec, which catch-up has loaded to decode the events anyway, encodes a row's JSON
    several times faster than ``json.dumps(sort_keys=True)``; readers ``json.loads`` it.
    """
    global _encoder
    if _encoder is None:
        _encoder = msgspec.json.Encoder(order="sorted")
    return _encoder.encode(value).decode()  # type: ignore[no-any-return]


def moment(value: datetime | None) -> str | None:
    """Fixed-width UTC ISO text, which sorts chronologically."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # decoded event times are UTC already
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def utc_text(value: str) -> str:
    """RFC 3339 text as ``moment`` writes it (``...T12:00:00.000000+00:00``), without a datetime
    where the text is the encoder's UTC form already."""
    if len(value) == 27 and value[26] == "Z":  # the encoder's UTC with microseconds
        return value[:26] + "+00:00"
    if len(value) == 20 and value[19] == "Z":  # ... without: a whole second, as every --at DATE is
        return value[:19] + ".000000+00:00"
    if len(value) == 32 and value.endswith("+00:00"):
        return value
    return moment(datetime.fromisoformat(value))  # type: ignore[return-value]
