"""The batch a chunk of view rows is written in, and the value formats view rows use."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


class Batch:
    """Rows for many events, written with one executemany per statement at the end.

    Statements keep the order in which they first appear, so a view that inserts a row
    and later updates it in the same batch sees both applied in that order.
    """

    # In ``cache``: the set of streams that have rows, when the views were empty at the
    # start of this catch-up (a stream missing from it has none: no need to look).
    FROM_EMPTY = "from-empty"

    def __init__(self, db: Any, cache: dict[Any, Any] | None = None) -> None:
        """``cache``: what views remember between the batches of one catch-up (rows they
        would otherwise read back), owned by the caller; only valid while the caller
        holds the write lock or knows nobody else wrote views in between."""
        self.db = db
        self.rows: dict[str, list[Sequence[Any]]] = {}
        self.cache: dict[Any, Any] = {} if cache is None else cache

    def add(self, sql: str, params: Sequence[Any]) -> None:
        self.rows.setdefault(sql, []).append(params)

    def flush(self) -> None:
        for sql, rows in self.rows.items():
            self.db.executemany(sql, rows)
        self.rows.clear()


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
        import msgspec

        _encoder = msgspec.json.Encoder(order="sorted")
    return _encoder.encode(value).decode()  # type: ignore[no-any-return]


def dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


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
    if len(value) == 32 and value.endswith("+00:00"):
        return value
    return moment(datetime.fromisoformat(value))  # type: ignore[return-value]
