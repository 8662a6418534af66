"""Replay: one KPI's progress after each event, computed step by step instead of from the start.

``KpiReplay.at(seq, as_of)`` returns exactly what ``calc.kpi_progress(..., as_of, seq)`` returns,
for steps taken in recording order. Each fact is taken in once, when its step comes; the counted
measurements (baseline in force <= effective time <= as-of date) are kept in effective order with
the sums of the least-squares trend, so a new, corrected or retracted measurement, or an as-of date
that moves past a later-effective one, costs a few operations. Only what changes every value at
once (a new definition version or conversion in force, another baseline) counts them again.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from typing import Any

from coachledger.projections import calc
from coachledger.projections.calc import (
    _AFTER_ALL,
    _ONE_US,
    _US_PER_DAY,
    _History,
    _number,
    _round,
    _Shown,
)
from coachledger.projections.models import Progress

__all__ = ["KpiReplay", "of", "visits"]

_Key = tuple[datetime, int]  # (effective_at, seq)


class _Counter:
    """How many measurement rows replays have visited (a replay's work grows with this)."""

    rows = 0


visits = _Counter()


class KpiReplay:
    """One KPI's facts, taken in by recording order as a replay reaches them."""

    def __init__(
        self,
        kpi: str,
        defs: Sequence[calc.DefRow],
        baselines: Sequence[calc.BaselineRow],
        measurements: Sequence[calc.MeasurementRow],
        changes: Sequence[calc.ChangeRow],
    ) -> None:
        self.kpi = kpi
        self.first_seq = defs[0].seq  # the KPI is part of the steps from its definition on
        rows: list[Any] = [*defs, *baselines, *measurements, *changes]
        rows.sort(key=lambda r: r.seq)
        self._rows = rows
        self._next = 0
        self._defs: list[calc.DefRow] = []
        self._history: _History | None = None
        self._bases: list[tuple[datetime, int, calc.BaselineRow]] = []
        self._live: list[tuple[datetime, int, str]] = []  # known, not retracted, in effective order
        self._values: dict[str, tuple[_Key, Any]] = {}  # mid -> (key, latest known value)
        self._retracted: set[str] = set()
        # The counted window and its sums; ``_frame`` is None when they must be counted again.
        self._frame: tuple[Any, ...] | None = None
        self._since: datetime | None = None
        self._upto: datetime | None = None
        self._shown: _Shown | None = None
        self._n = self._sx = self._sxx = 0
        self._sy = self._sxy = Fraction(0)

    # -- taking facts in ---------------------------------------------------------------

    def _take(self, seq: int) -> None:
        rows = self._rows
        while self._next < len(rows) and rows[self._next].seq <= seq:
            row = rows[self._next]
            self._next += 1
            if isinstance(row, calc.DefRow):
                self._defs.append(row)
                self._history = None  # the window stays counted unless its conversions change
            elif isinstance(row, calc.BaselineRow):
                insort(self._bases, (row.effective_at, row.seq, row))
            elif isinstance(row, calc.MeasurementRow):
                self._measured(row)
            elif row.kind == "retracted":
                self._retract(row.mid)
            elif row.kind == "corrected" and row.value is not None:
                self._correct(row.mid, row.value)

    def _measured(self, row: calc.MeasurementRow) -> None:
        if row.mid in self._retracted:  # pragma: no cover - a retraction follows its measurement
            return
        key = (row.effective_at, row.seq)
        self._values[row.mid] = (key, row.value)
        insort(self._live, (*key, row.mid))
        visits.rows += 1
        self._count(key, row.value, +1)

    def _retract(self, mid: str) -> None:
        self._retracted.add(mid)
        entry = self._values.pop(mid, None)
        if entry is None:
            return
        key, value = entry
        i = bisect_left(self._live, key)
        del self._live[i]
        visits.rows += 1
        self._count(key, value, -1)

    def _correct(self, mid: str, value: Any) -> None:
        entry = self._values.get(mid)
        if entry is None:
            return
        key, old = entry
        self._values[mid] = (key, value)
        visits.rows += 1
        self._count(key, old, -1)
        self._count(key, value, +1)

    def _count(self, key: _Key, value: Any, sign: int) -> None:
        """Add (+1) or take away (-1) one measurement in the window's sums, if it is in the window."""
        if self._frame is None or self._since is None or self._upto is None or self._shown is None:
            return
        if not self._since <= key[0] <= self._upto:
            return
        x = (key[0] - self._since) // _ONE_US
        y = Fraction(*self._shown(value, key[0]))
        self._n += sign
        self._sx += sign * x
        self._sxx += sign * x * x
        self._sy += sign * y
        self._sxy += sign * x * y

    # -- one step ----------------------------------------------------------------------

    def at(self, seq: int, as_of: datetime) -> Progress:
        """``calc.kpi_progress`` of this KPI as of ``as_of``, from what was recorded up to ``seq``."""
        self._take(seq)
        if self._history is None:
            self._history = _History(self._defs)
        history = self._history
        version = history.at(as_of)
        fields = version.fields
        target = version.amounts["target"]
        due = fields["due"]
        shown_target = _number(target)
        if target is None or shown_target is None or not isinstance(due, datetime):
            raise TypeError(f"KPI {self.kpi}: the definition needs a target and a due datetime")
        i = bisect_right(self._bases, (as_of, _AFTER_ALL)) - 1
        if i < 0:
            self._frame = None
            return calc.progress_row(self.kpi, fields, version.retired, target, due, as_of)
        base = self._bases[i][2]
        since = base.effective_at
        steps = bisect_right(history.steps, as_of, key=lambda s: s.key[0])
        frame = (base.seq, *history.steps[:steps])
        if frame != self._frame or self._upto is None or as_of < self._upto:
            self._recount(frame, history, base, as_of)
        else:
            self._extend(as_of)
        assert self._shown is not None
        b = Fraction(*self._shown(base.value, since))
        lo = bisect_left(self._live, (since,))
        hi = bisect_right(self._live, (as_of, _AFTER_ALL))
        c = None
        if hi > lo:
            last = self._live[hi - 1]
            c = Fraction(*self._shown(self._values[last[2]][1], last[0]))
        return calc.progress_row(
            self.kpi, fields, version.retired, target, due, as_of, since, b, c, hi - lo, self._trend(b)
        )

    def _recount(
        self, frame: tuple[Any, ...], history: _History, base: calc.BaselineRow, as_of: datetime
    ) -> None:
        self._frame = frame
        self._since = base.effective_at
        self._upto = as_of
        self._shown = _Shown(history, as_of)
        self._n = self._sx = self._sxx = 0
        self._sy = self._sxy = Fraction(0)
        lo = bisect_left(self._live, (self._since,))
        hi = bisect_right(self._live, (as_of, _AFTER_ALL))
        for t, seq, mid in self._live[lo:hi]:
            visits.rows += 1
            self._count((t, seq), self._values[mid][1], +1)

    def _extend(self, as_of: datetime) -> None:
        """The as-of date moved on: count the measurements effective since the last step."""
        assert self._upto is not None
        lo = bisect_right(self._live, (self._upto, _AFTER_ALL))
        hi = bisect_right(self._live, (as_of, _AFTER_ALL))
        self._upto = as_of
        for t, seq, mid in self._live[lo:hi]:
            visits.rows += 1
            self._count((t, seq), self._values[mid][1], +1)

    def _trend(self, b: Fraction) -> float | None:
        """``calc._trend`` over the baseline (x = 0) and the counted measurements, from the sums."""
        n = self._n + 1
        if n < 2:
            return None
        sx, sy = self._sx, self._sy + b
        sxx = n * self._sxx - sx * sx
        if sxx == 0:
            return None
        sxy = n * self._sxy - sx * sy
        return _round(30 * _US_PER_DAY * sxy / sxx, 4)


def of(facts: Any, kpi: str) -> KpiReplay:
    """The replay of one KPI of a client's ``progress.Facts``."""
    return KpiReplay(
        kpi,
        facts.defs[kpi],
        facts.baselines.get(kpi, ()),
        facts.measurements.get(kpi, ()),
        facts.changes.get(kpi, ()),
    )
