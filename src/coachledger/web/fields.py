"""Reading what a coach typed into a form or a link, in the command line's words.

Each reader returns the value, or raises ``Unreadable`` with the message the CLI gives for
the same text (``'abc' is not a number``); the page shows it beside the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from coachledger.moments import OutOfRange, parse_moment


class Unreadable(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def quoted(text: str, limit: int = 80) -> str:
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:limit])
    return shown if len(text) <= limit else f"{shown}… ({len(text)} characters)"


def text(values: Mapping[str, Any], field: str) -> str | None:
    """A text field: None when empty (or only spaces)."""
    value = values.get(field)
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()


def required(values: Mapping[str, Any], field: str, label: str | None = None) -> str:
    value = text(values, field)
    if value is None:
        raise Unreadable(field, f"{label or field} is required")
    return value


def number(values: Mapping[str, Any], field: str) -> Decimal | None:
    value = text(values, field)
    if value is None:
        return None
    try:
        found = Decimal(value)
    except InvalidOperation:
        raise Unreadable(field, f"'{quoted(value)}' is not a number") from None
    if not found.is_finite():
        raise Unreadable(field, f"'{quoted(value)}' is not a finite number")
    return found


def moment(values: Mapping[str, Any], field: str) -> datetime | None:
    """An ISO date (00:00 UTC that day) or date and time (UTC unless it names a zone)."""
    value = text(values, field)
    if value is None:
        return None
    try:
        return parse_moment(value)
    except OutOfRange as e:
        raise Unreadable(field, str(e)) from None
    except ValueError:
        raise Unreadable(field, f"'{quoted(value)}' is not an ISO date (YYYY-MM-DD) or datetime") from None


def whole(values: Mapping[str, Any], field: str, low: int, high: int) -> int | None:
    value = text(values, field)
    if value is None:
        return None
    if not value.lstrip("-").isdigit() or not low <= int(value) <= high:
        raise Unreadable(field, f"'{quoted(value)}' is not a whole number from {low} to {high}")
    return int(value)


def scale(values: Mapping[str, Any], field: str) -> tuple[Decimal, Decimal] | None:
    value = text(values, field)
    if value is None:
        return None
    low, sep, high = value.partition("..")
    try:
        if not sep:
            raise InvalidOperation
        bounds = Decimal(low.strip()), Decimal(high.strip())
    except InvalidOperation:
        raise Unreadable(field, f"'{quoted(value)}' is not a scale like 1..10") from None
    if not all(b.is_finite() for b in bounds):
        raise Unreadable(field, f"'{quoted(value)}' is not a scale like 1..10")
    return bounds


def choice(values: Mapping[str, Any], field: str, choices: tuple[str, ...]) -> str | None:
    value = text(values, field)
    if value is not None and value not in choices:
        raise Unreadable(field, f"'{quoted(value)}' is not one of: {', '.join(choices)}")
    return value


def flag(values: Mapping[str, Any], field: str) -> bool:
    return values.get(field) in ("on", "1", "true", "yes")
