"""Reading a date or a date-time as a coach types it: always an aware UTC datetime."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

# The ledger's dates lie in these years (DOMAIN.md, "Bounds"); the domain checks the same range.
FIRST_YEAR = 1900
LAST_YEAR = 2200


def parse_moment(text: str) -> datetime:
    """``2026-03-01`` is midnight UTC that day; a time without a zone is UTC; others convert to UTC.

    Raises ValueError for text that is neither, or for a moment outside the years 1900..2200.
    """
    text = text.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text)
            moment = datetime(d.year, d.month, d.day, tzinfo=UTC)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: before the first representable moment
        raise OutOfRange(text) from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise OutOfRange(text)
    return moment


class OutOfRange(ValueError):
    """A well-formed date outside the years the ledger keeps."""

    def __init__(self, text: str) -> None:
        shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text[:40])
        shown += "…" if len(text) > 40 else ""
        super().__init__(f"'{shown}' is outside the years {FIRST_YEAR}..{LAST_YEAR}")


# -- cadences: how often a KPI is measured (days between two measurements) --
CADENCES = {"weekly": 7, "biweekly": 14, "monthly": 30, "quarterly": 91}
DEFAULT_CADENCE = "monthly"
_DAYS = re.compile(r"^([1-9][0-9]{0,2})d$")


def cadence_days(cadence: str | None) -> int:
    """The days a cadence names: ``weekly`` .. ``quarterly``, or ``Nd`` (1..366); None is the default.

    Raises ValueError for anything else.
    """
    if cadence is None:
        return CADENCES[DEFAULT_CADENCE]
    if cadence in CADENCES:
        return CADENCES[cadence]
    found = _DAYS.match(cadence)
    if found is None or int(found.group(1)) > 366:
        raise ValueError(
            f"cadence must be one of {', '.join(CADENCES)} or a number of days like 14d (1d..366d), "
            f"not '{cadence}'"
        )
    return int(found.group(1))
