"""Values and the rules every command checks them by: ids, choices, reasons, scales."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from coachledger.errors import InvalidValue, OutsideScale, ReasonRequired
from coachledger.moments import cadence_days
from coachledger.vocab import Category, Definer, Dimension, Direction, Horizon, Source, values

CATEGORIES = values(Category)
DIRECTIONS = values(Direction)
DIMENSIONS = values(Dimension)
HORIZONS = values(Horizon)
DEFINERS = values(Definer)
SOURCES = values(Source)
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")

# -- cadence and weight (how often a KPI is measured; its share in a goal's roll-up) --
DEFAULT_WEIGHT = Decimal(1)


def check_cadence(cadence: str | None) -> None:
    """A cadence (see ``moments.cadence_days``); None: unchanged."""
    if cadence is not None:
        try:
            cadence_days(cadence)
        except ValueError as e:
            raise InvalidValue(str(e)) from None


def check_weight(weight: Decimal | None) -> None:
    if weight is not None and (not weight.is_finite() or weight <= 0):
        raise InvalidValue(f"weight must be a positive number, not {weight}")


def iso(moment: datetime) -> str:
    """A fixed-width UTC ISO string; such strings sort chronologically."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def check_id(kind: str, value: str) -> None:
    if not ID_PATTERN.match(value):
        shown = value[:80].encode("unicode_escape").decode()
        shown += f"… ({len(value)} characters)" if len(value) > 80 else ""
        raise InvalidValue(f"{kind} id '{shown}' must be 1-64 lowercase letters, digits, '.', '_' or '-'")


# Bounds of every amount and date the ledger records (DOMAIN.md, "Bounds").
MAX_MAGNITUDE = 15  # |value| < 10^15
MAX_DECIMALS = 12
MAX_DIGITS = 30
FIRST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
END_MOMENT = datetime(2201, 1, 1, tzinfo=UTC)  # years 1900..2200


def check_number(what: str, value: Decimal) -> None:
    """A finite amount below 10^15 in magnitude, with at most 12 decimals and 30 digits."""
    if not value.is_finite():
        raise InvalidValue(f"{what} must be a finite number")
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if value and value.adjusted() >= MAX_MAGNITUDE:
        raise InvalidValue(f"{what} must be below 10^{MAX_MAGNITUDE} in magnitude")
    if len(digits) > MAX_DIGITS or (exponent < -MAX_DECIMALS and any(digits[exponent + MAX_DECIMALS :])):
        raise InvalidValue(f"{what} must have at most {MAX_DECIMALS} decimals and {MAX_DIGITS} digits")


def check_moment(what: str, moment: datetime | None) -> None:
    """A date in the years 1900..2200."""
    if moment is None:
        return
    try:
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        inside = FIRST_MOMENT <= aware < END_MOMENT
    except OverflowError:
        inside = False
    if not inside:
        raise InvalidValue(f"{what} must lie in the years 1900..2200")


def check_choice(field: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise InvalidValue(f"{field} must be one of {', '.join(choices)}, not '{value}'")


def require_reason(reason: str | None, what: str) -> str:
    if reason is None or not reason.strip():
        raise ReasonRequired(f"{what} needs a reason (--reason)")
    return reason.strip()


def fmt(value: Decimal | str | None) -> str:
    return "none" if value is None else format(Decimal(value).normalize(), "f")


def opt(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def check_scale(low: Decimal | None, high: Decimal | None) -> None:
    if (low is None) != (high is None):
        raise InvalidValue("a scale needs both a minimum and a maximum")
    for bound in (low, high):
        if bound is not None:
            check_number("a scale bound", bound)
    if low is not None and high is not None and low >= high:
        raise InvalidValue(f"scale minimum {fmt(low)} must be below its maximum {fmt(high)}")


def check_in_scale(what: str, value: Decimal, low: Decimal | None, high: Decimal | None) -> None:
    check_number(what, value)
    if low is not None and high is not None and not low <= value <= high:
        raise OutsideScale(f"{what} {fmt(value)} is outside the KPI's scale {fmt(low)}..{fmt(high)}")


def far_apart(value: Decimal, reference: Decimal, ratio: int = 100) -> bool:
    """More than ``ratio`` times larger or smaller (zero is near everything: it may well be real)."""
    a, b = abs(value), abs(reference)
    return bool(a and b) and (a > b * ratio or b > a * ratio)
