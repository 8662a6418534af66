"""Reading a date or a date-time as a coach types it: always an aware UTC datetime."""

from __future__ import annotations

from datetime import UTC, date, datetime


def parse_moment(text: str) -> datetime:
    """``2026-03-01`` is midnight UTC that day; a time without a zone is UTC; others convert to UTC.

    Raises ValueError for text that is neither.
    """
    text = text.strip()
    if len(text) == 10:
        d = date.fromisoformat(text)
        return datetime(d.year, d.month, d.day, tzinfo=UTC)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
