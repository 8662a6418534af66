"""Progress of one KPI as of a date D: the numbers DOMAIN.md defines, and nothing else.

Pure functions over rows the store layer reads from its view tables. Arithmetic is exact
(`Fraction`) until a number leaves this module, so a value converted through several rescales
still compares equal to a target set in the final scale, and status compares unrounded values.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import repeat
from math import lcm
from operator import attrgetter, floordiv, mul, sub
from typing import NamedTuple, Protocol, TypeVar

from coachledger.projections.models import Progress
from coachledger.vocab import Direction, Status

__all__ = [
    "BaselineRow",
    "ChangeRow",
    "DefRow",
    "MeasurementRow",
    "convert",
    "definition_at",
    "kpi_progress",
    "round1",
    "to_number",
]


# Rows are named tuples: a read of a client with 10,000 events builds thousands of them.
class DefRow(NamedTuple):
    """One KpiDefined / KpiAdjusted / KpiRetired fact."""

    seq: int  # store sequence: recording order
    kind: str  # "defined" | "adjusted" | "retired"
    effective_at: datetime  # tz-aware UTC; the first definition is in force at every D regardless
    fields: dict[str, object]  # defined: the full definition; adjusted: only the changed fields
    rescale: bool = False  # adjusted: old values map linearly from the old scale onto the new one
    factor: Decimal | None = None  # adjusted: a unit change, new = old * factor


class BaselineRow(NamedTuple):
    seq: int
    effective_at: datetime
    value: Decimal


class MeasurementRow(NamedTuple):
    seq: int
    mid: str
    effective_at: datetime
    value: Decimal


class ChangeRow(NamedTuple):
    seq: int
    mid: str
    kind: str  # "corrected" | "retracted"
    value: Decimal | None


# Quantities expressed in the definition's scale/unit: they follow every rescale/factor map.
_AMOUNTS = ("target", "scale_min", "scale_max")
# A value entered at time t is already in the scale of every adjustment effective <= t.
_AFTER_ALL = 2**63
_BEFORE_ALL = datetime.min.replace(tzinfo=UTC)
_US_PER_DAY = 86_400_000_000
_ONE_US = timedelta(microseconds=1)
_MICRO = Decimal("0.000001")
# Numbers an older version accepted beyond today's bounds: from 10^20 a float (quantizing to
# 6 decimals would leave the 28-digit context), from 10^100 ±1e100 (float arithmetic stays finite).
_WIDE_DIGITS = 20
_FAR_DIGITS = 100
_FAR = 1e100
_FAR_INT = 10**100

_Key = tuple[datetime, int]  # (effective_at, seq): the order in which adjustments apply


class _Recorded(Protocol):
    @property
    def seq(self) -> int: ...


_R = TypeVar("_R", bound=_Recorded)


class _Step(NamedTuple):
    """A rescale or factor adjustment as an affine map; invertible, so history reads both ways."""

    key: _Key
    src_lo: Fraction
    src_span: Fraction
    dst_lo: Fraction
    dst_span: Fraction

    def forward(self, v: Fraction) -> Fraction:
        return self.dst_lo + (v - self.src_lo) * self.dst_span / self.src_span

    def backward(self, v: Fraction) -> Fraction:
        return self.src_lo + (v - self.dst_lo) * self.src_span / self.dst_span


class _Version(NamedTuple):
    at: datetime
    fields: dict[str, object]
    amounts: dict[str, Fraction | None]  # exact, in this version's scale/unit
    retired: bool


class _History:
    """Every version of one KPI's definition and the conversions between them, built once a read."""

    def __init__(self, defs: Iterable[DefRow]) -> None:
        rows = list(defs)
        first = min((r for r in rows if r.kind == "defined"), key=lambda r: r.seq, default=None)
        if first is None:
            raise LookupError("no KpiDefined fact for this KPI")
        fields = dict(first.fields)
        amounts = {k: _frac(fields.get(k)) for k in _AMOUNTS}
        # The first definition is in force at every D, even before its own recording.
        self.versions = [_Version(_BEFORE_ALL, fields, amounts, False)]
        self.steps: list[_Step] = []
        for row in sorted((r for r in rows if r.kind != "defined"), key=_order):
            version, step = next_version(self.versions[-1], row)
            if step is not None:
                self.steps.append(step)
            if version is not None:
                self.versions.append(version)

    def at(self, when: datetime) -> _Version:
        return self.versions[bisect_right(self.versions, when, key=lambda v: v.at) - 1]

    def carry(self, value: Fraction, after: _Key, to: datetime) -> Fraction:
        """`value` as entered just after position `after`, in the scale in force at `to`."""
        for step in self.steps:
            if step.key[0] > to:
                break
            if step.key > after:
                value = step.forward(value)
        return value


class _Shown:
    """A value entered at time t, in the scale and unit in force at `to`, as an exact integer ratio.

    The same as ``_History.carry`` (every rescale/factor step effective in (t, to], in order),
    with the steps composed once into one affine map per starting point, and applied to the
    value's integer ratio without building Fractions per value.
    """

    def __init__(self, history: _History, to: datetime) -> None:
        steps = [step for step in history.steps if step.key[0] <= to]
        self.times = [step.key[0] for step in steps]
        # maps[i]: steps[i:] composed, as (m, k) with v -> m * v + k.
        maps: list[tuple[Fraction, Fraction]] = [(Fraction(1), Fraction(0))]
        for step in reversed(steps):
            m, k = maps[-1]
            a = step.dst_span / step.src_span
            maps.append((m * a, m * (step.dst_lo - step.src_lo * a) + k))
        maps.reverse()
        self.maps = [(m.numerator, m.denominator, k.numerator, k.denominator) for m, k in maps]

    def many(self, times: list[datetime], values: list[Decimal]) -> list[tuple[int, int]]:
        """``self(value, at)`` for values at sorted times: one map per stretch between steps."""
        out: list[tuple[int, int]] = []
        start = 0
        for i, when in enumerate(self.times):
            end = bisect_left(times, when, lo=start)
            ma, mb, ka, kb = self.maps[i]
            out += [
                (ma * p * kb + ka * q * mb, mb * q * kb)
                for p, q in map(Decimal.as_integer_ratio, values[start:end])
            ]
            start = end
        out += map(Decimal.as_integer_ratio, values[start:])
        return out

    def __call__(self, value: Decimal, at: datetime) -> tuple[int, int]:
        p, q = value.as_integer_ratio()
        i = bisect_right(self.times, at) if self.times else 0
        if i == len(self.times):
            return p, q
        ma, mb, ka, kb = self.maps[i]
        return ma * p * kb + ka * q * mb, mb * q * kb


_order: Callable[[DefRow | BaselineRow | MeasurementRow], _Key] = attrgetter("effective_at", "seq")
_by_seq = attrgetter("seq")
_effective_at = attrgetter("effective_at")
_value = attrgetter("value")


def _known(rows: Iterable[_R], known_seq: int | None) -> list[_R]:
    if known_seq is None:
        return list(rows)
    return [r for r in rows if r.seq <= known_seq]


def _frac(x: object) -> Fraction | None:
    if x is None:
        return None
    if isinstance(x, Fraction | Decimal | int):
        return Fraction(x)
    raise TypeError(f"expected a Decimal, got {x!r}")


def _dec(q: Fraction | None) -> Decimal | None:
    return None if q is None else Decimal(q.numerator) / Decimal(q.denominator)


def _step(row: DefRow, old: dict[str, Fraction | None]) -> _Step | None:
    """One adjustment's map: a rescale wins over a factor; a degenerate map converts nothing."""
    key = (row.effective_at, row.seq)
    if row.rescale:
        lo, hi = old["scale_min"], old["scale_max"]
        new_lo = _frac(row.fields.get("scale_min", lo))
        new_hi = _frac(row.fields.get("scale_max", hi))
        if lo is None or hi is None or new_lo is None or new_hi is None:
            return None
        if lo == hi or new_lo == new_hi:
            return None
        return _Step(key, lo, hi - lo, new_lo, new_hi - new_lo)
    if row.factor:
        return _Step(key, Fraction(0), Fraction(1), Fraction(0), Fraction(row.factor))
    return None


def _carry_amount(name: str, row: DefRow, old: Fraction | None, step: _Step | None) -> Fraction | None:
    """A newly given amount is already in the new scale; an untouched one follows the step."""
    if name in row.fields:
        return _frac(row.fields[name])
    return step.forward(old) if step is not None and old is not None else old


def next_version(last: _Version, row: DefRow) -> tuple[_Version | None, _Step | None]:
    """The definition after ``row`` (an adjustment or retirement effective after ``last``), and the
    conversion it brings, if any."""
    if row.kind == "adjusted":
        step = _step(row, last.amounts)
        fields = {**last.fields, **row.fields}
        amounts = {k: _carry_amount(k, row, last.amounts[k], step) for k in _AMOUNTS}
        return _Version(row.effective_at, fields, amounts, last.retired), step
    if row.kind == "retired":
        return _Version(row.effective_at, last.fields, last.amounts, True), None
    return None, None


def definition_at(defs: Sequence[DefRow], at: datetime) -> dict[str, object]:
    """The definition in force at `at`; target and scale bounds in that definition's scale/unit."""
    return version_definition(_History(defs).at(at))


def version_definition(version: _Version) -> dict[str, object]:
    return {
        **version.fields,
        **{k: _dec(v) for k, v in version.amounts.items()},
        "retired": version.retired,
    }


def convert(value: Decimal, frm: datetime, to: datetime, defs: Sequence[DefRow]) -> Decimal:
    """A value entered under the definition in force at `frm`, shown under the one at `to`."""
    return converter(defs)(value, frm, to)


def converter(defs: Sequence[DefRow]) -> Callable[[Decimal, datetime, datetime], Decimal]:
    """``convert`` for many values of one KPI: its definition's history is built once."""
    history = _History(defs)

    def convert_one(value: Decimal, frm: datetime, to: datetime) -> Decimal:
        q = Fraction(value)
        if frm <= to:
            q = history.carry(q, (frm, _AFTER_ALL), to)
        else:
            for step in reversed(history.steps):
                if to < step.key[0] <= frm:
                    q = step.backward(q)
        result = _dec(q)
        assert result is not None
        return result

    return convert_one


def kpi_progress(
    kpi: str,
    defs: Sequence[DefRow],
    baselines: Sequence[BaselineRow],
    measurements: Sequence[MeasurementRow],
    changes: Sequence[ChangeRow],
    as_of: datetime,
    known_seq: int | None = None,
) -> Progress:
    """One item of `progress --json` as of `as_of`, from what was recorded up to `known_seq`."""
    history = _History(_known(defs, known_seq))
    version = history.at(as_of)
    fields = version.fields
    target = version.amounts["target"]
    due = fields["due"]
    shown_target = _number(target)
    if target is None or shown_target is None or not isinstance(due, datetime):
        raise TypeError(f"KPI {kpi}: the definition needs a target and a due datetime")
    in_force = [b for b in _known(baselines, known_seq) if b.effective_at <= as_of]
    base = max(in_force, key=_order, default=None)
    if base is None:
        return progress_row(kpi, fields, version.retired, target, due, as_of)

    since = base.effective_at
    shown = _Shown(history, as_of)
    b_ratio = shown(base.value, since)
    b = Fraction(*b_ratio)
    times, values = _live(measurements, changes, known_seq)
    lo, hi = bisect_left(times, since), bisect_right(times, as_of)
    counted = times[lo:hi]
    ratios = shown.many(counted, values[lo:hi])
    c = Fraction(*ratios[-1]) if ratios else None
    trend = _trend(
        [0, *map(floordiv, map(sub, counted, repeat(since)), repeat(_ONE_US))], [b_ratio, *ratios]
    )
    return progress_row(kpi, fields, version.retired, target, due, as_of, since, b, c, len(counted), trend)


def progress_row(
    kpi: str,
    fields: dict[str, object],
    retired: bool,
    target: Fraction,
    due: datetime,
    as_of: datetime,
    since: datetime | None = None,
    b: Fraction | None = None,
    c: Fraction | None = None,
    measurements: int = 0,
    trend: float | None = None,
) -> Progress:
    """One KPI's row of `progress` (DOMAIN.md), from its baseline ``b`` (in force since ``since``;
    None: no baseline yet) and current value ``c``, both shown in the definition in force at ``as_of``."""
    get = fields.get
    shown_target = _number(target)
    assert shown_target is not None  # the callers refuse a definition without a target first
    progress = expected = None
    status = Status.NO_BASELINE
    if since is not None and b is not None:
        progress = None if c is None or target == b else 100 * (c - b) / (target - b)
        expected = _expected_pct(since, due, as_of)
        achieved = c is not None and (c <= target if get("direction") == Direction.DECREASE else c >= target)
        status = _status(c is not None, achieved, as_of > due, progress, expected)
    return Progress(
        kpi=kpi,
        name=_text(get("name")),
        category=_text(get("category")),
        unit=_text(get("unit")),
        direction=_text(get("direction")),
        baseline=_number(b),
        current=_number(c),
        target=shown_target,
        due=due.date().isoformat(),
        progress_pct=None if progress is None else _round(progress, 1),
        expected_pct=None if expected is None else _round(expected, 1),
        status=status,
        measurements=measurements,
        trend_per_month=trend,
        retired=retired,
        baseline_at=None if since is None else since.isoformat(),
        dimension=_text(get("dimension")),
        horizon=_text(get("horizon")),
    )


def _text(value: object) -> str | None:
    """A definition's text field as the read model types it (the stored fields are JSON values)."""
    return value if isinstance(value, str) or value is None else str(value)


def _live(
    measurements: Iterable[MeasurementRow], changes: Iterable[ChangeRow], known_seq: int | None
) -> tuple[list[datetime], list[Decimal]]:
    """Known, non-retracted measurements: effective times and latest known values, latest last.

    Corrections and retractions have no effective time, so they apply at every D. A retraction is
    final: a correction recorded after it does not bring the measurement back.
    """
    retracted: set[str] = set()
    corrected: dict[str, Decimal] = {}
    for change in sorted(_known(changes, known_seq), key=_by_seq):
        if change.kind == "retracted":
            retracted.add(change.mid)
        elif change.kind == "corrected" and change.value is not None:
            corrected[change.mid] = change.value
    live = _known(measurements, known_seq)
    if retracted:
        live = [m for m in live if m.mid not in retracted]
    live.sort(key=_order)
    times = list(map(_effective_at, live))
    if not corrected:
        return times, list(map(_value, live))
    return times, [corrected.get(m.mid, m.value) for m in live]


def _us(delta: timedelta) -> int:
    return delta // _ONE_US


def _expected_pct(since: datetime, due: datetime, at: datetime) -> Fraction:
    if due <= since:
        return Fraction(100 if at >= due else 0)
    return min(max(Fraction(100 * _us(at - since), _us(due - since)), Fraction(0)), Fraction(100))


def _status(
    has_data: bool, achieved: bool, overdue: bool, progress: Fraction | None, expected: Fraction
) -> Status:
    if not has_data:
        return Status.NO_DATA
    if achieved:
        return Status.ACHIEVED
    if overdue:
        return Status.OVERDUE
    if progress is not None and progress >= expected - 10:
        return Status.ON_TRACK
    if progress is not None and progress >= expected - 25:
        return Status.AT_RISK
    return Status.OFF_TRACK


def _trend(xs: list[int], ys: list[tuple[int, int]]) -> float | None:
    """Least-squares slope per 30 days, exact: x in microseconds, y as integer ratios.

    Every y is scaled to the common denominator, so the sums are plain integers and only
    the slope itself is a Fraction (thousands of Fraction additions were most of the time
    of a read of a long history).
    """
    n = len(xs)
    if n < 2:
        return None
    sx = sum(xs)
    sxx = n * sum(map(mul, xs, xs)) - sx * sx
    if sxx == 0:
        return None
    nums, dens = zip(*ys, strict=True)
    common = lcm(*dens)
    scaled = nums if common == 1 else list(map(mul, nums, map(floordiv, repeat(common), dens)))
    sxy = n * sum(map(mul, xs, scaled)) - sx * sum(scaled)
    return _round(Fraction(30 * _US_PER_DAY * sxy, sxx * common), 4)


def _round(q: Fraction, places: int) -> float:
    """Half away from zero on the exact value (Python's round() is half-to-even on a float).

    Beyond ±1e100 (only values an older version accepted get there), ±1e100.
    """
    if abs(q.numerator) >= _FAR_INT * q.denominator:
        return _FAR if q >= 0 else -_FAR
    scale = 10**places
    n = int(abs(q) * scale + Fraction(1, 2))
    return float(Fraction(n if q >= 0 else -n, scale))


def _number(q: Fraction | None) -> int | float | None:
    return to_number(_dec(q))


def to_number(d: Decimal | None) -> int | float | None:
    """JSON-friendly: int when integral after rounding to 6 decimals, so 80 not 80.0000001."""
    if d is None:
        return None
    if d.adjusted() >= _WIDE_DIGITS:  # beyond the bounds: only an older version accepted it
        if d.adjusted() >= _FAR_DIGITS:
            return _FAR if d > 0 else -_FAR
        return float(d)
    q = d.quantize(_MICRO, rounding=ROUND_HALF_UP)
    return int(q) if q == q.to_integral_value() else float(q)


def round1(x: float | None) -> float | None:
    """Half away from zero to 1 decimal, on the float's shortest repr (what a reader sees)."""
    return None if x is None else _round(Fraction(repr(x)), 1)
