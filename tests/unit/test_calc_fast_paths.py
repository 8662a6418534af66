"""The fast arithmetic of calc (integer ratios, composed rescale maps) equals the plain Fraction forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from coachledger.projections import calc
from coachledger.projections.batch import moment, utc_text

T0 = datetime(2026, 1, 1, tzinfo=UTC)
decimals = st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False, allow_infinity=False)


def _naive_trend(points: list[tuple[int, Fraction]]) -> float | None:
    n = len(points)
    sx = sum(x for x, _ in points)
    sxx = n * sum(x * x for x, _ in points) - sx * sx
    if n < 2 or sxx == 0:
        return None
    sy = sum((y for _, y in points), Fraction(0))
    sxy = n * sum((x * y for x, y in points), Fraction(0)) - sx * sy
    return calc._round(30 * 86_400_000_000 * sxy / sxx, 4)


@given(st.lists(st.tuples(st.integers(0, 10**14), decimals), max_size=30))
def test_trend_on_integer_ratios_equals_the_fraction_sums(points: list[tuple[int, Decimal]]) -> None:
    xs = [x for x, _ in points]
    ratios = [y.as_integer_ratio() for _, y in points]
    assert calc._trend(xs, ratios) == _naive_trend([(x, Fraction(y)) for x, y in points])


def _rescale(seq: int, day: int, low: int, high: int) -> calc.DefRow:
    return calc.DefRow(
        seq,
        "adjusted",
        T0 + timedelta(days=day),
        {"scale_min": Decimal(low), "scale_max": Decimal(high)},
        True,
    )


def _factor(seq: int, day: int, factor: str) -> calc.DefRow:
    return calc.DefRow(seq, "adjusted", T0 + timedelta(days=day), {"unit": "k"}, False, Decimal(factor))


steps = st.lists(
    st.one_of(
        st.tuples(st.just("rescale"), st.integers(-5, 60), st.integers(0, 5), st.integers(10, 200)),
        st.tuples(st.just("factor"), st.integers(-5, 60), st.sampled_from(["0.001", "3", "1.5", "12.5"])),
    ),
    max_size=5,
)


@given(steps, st.lists(st.tuples(st.integers(-10, 80), decimals), max_size=20), st.integers(-10, 90))
def test_composed_maps_convert_like_carrying_each_step(
    adjustments: list[tuple], values: list[tuple[int, Decimal]], to_day: int
) -> None:
    first = calc.DefRow(
        1,
        "defined",
        T0,
        {
            "target": Decimal(5),
            "due": T0 + timedelta(days=400),
            "scale_min": Decimal(0),
            "scale_max": Decimal(10),
        },
    )
    rows = [first]
    for seq, adj in enumerate(adjustments, start=2):
        rows.append(_rescale(seq, *adj[1:]) if adj[0] == "rescale" else _factor(seq, *adj[1:]))
    history = calc._History(rows)
    to = T0 + timedelta(days=to_day)
    shown = calc._Shown(history, to)
    timed = sorted((T0 + timedelta(days=day), value) for day, value in values)
    expected = [history.carry(Fraction(v), (at, calc._AFTER_ALL), to) for at, v in timed]
    assert [Fraction(*shown(v, at)) for at, v in timed] == expected
    times, amounts = [at for at, _ in timed], [v for _, v in timed]
    assert [Fraction(*r) for r in shown.many(times, amounts)] == expected


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)))
def test_utc_text_of_stored_times_is_moments_text(when: datetime) -> None:
    """Times as the event encoder stores them (UTC, with or without microseconds), or with an
    offset, give the view's fixed-width text through every fast path."""
    stored = msgspec.json.encode(when).decode().strip('"')
    assert utc_text(stored) == moment(when)
    assert utc_text(when.isoformat()) == moment(when)
    assert utc_text(when.replace(microsecond=0).astimezone(timezone(timedelta(hours=-5))).isoformat()) == moment(
        when.replace(microsecond=0)
    )
