"""Replay step by step: the same numbers as kpi_progress at every step, for work that grows linearly."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from coachledger.projections.calc import BaselineRow, ChangeRow, DefRow, MeasurementRow, kpi_progress
from coachledger.projections.replay import KpiReplay, visits

START = datetime(2026, 1, 1, 9, tzinfo=UTC)


def definition(seq: int, direction: str) -> DefRow:
    fields: dict[str, object] = {
        "name": "Skill",
        "category": "skill",
        "unit": "points",
        "direction": direction,
        "target": Decimal(8),
        "due": START + timedelta(days=200),
        "scale_min": Decimal(1),
        "scale_max": Decimal(10),
        "dimension": "professional",
        "horizon": "short",
    }
    return DefRow(seq, "defined", START, fields)


def journey(rng: random.Random, events: int) -> tuple[list[Any], list[datetime]]:
    """Facts of one KPI in recording order, and each step's recording time (now and then out of order)."""
    rows: list[Any] = [definition(1, rng.choice(("increase", "decrease")))]
    times = [START]
    mids: list[str] = []
    scale = (Decimal(1), Decimal(10))
    for seq in range(2, events + 1):
        now = times[-1] + timedelta(hours=rng.randint(0, 40))
        if rng.random() < 0.02:
            now -= timedelta(days=3)  # a clock set back
        times.append(now)
        effective = now - timedelta(days=rng.choice((0, 0, 0, 1, 20, -5)))
        roll = rng.random()
        value = Decimal(rng.randint(int(scale[0] * 10), int(scale[1] * 10))) / 10
        if roll < 0.04:
            rows.append(BaselineRow(seq, effective - timedelta(days=rng.randint(0, 30)), value))
        elif roll < 0.06:
            scale = (scale[0] * 2, scale[1] * 2)
            rows.append(
                DefRow(
                    seq, "adjusted", effective, {"scale_min": scale[0], "scale_max": scale[1]}, rescale=True
                )
            )
        elif roll < 0.07:
            rows.append(DefRow(seq, "adjusted", effective, {"target": scale[1] - 1}, factor=Decimal("1.5")))
        elif roll < 0.075:
            rows.append(DefRow(seq, "retired", effective, {}))
        elif roll < 0.12 and mids:
            rows.append(ChangeRow(seq, rng.choice(mids), "retracted", None))
        elif roll < 0.18 and mids:
            rows.append(ChangeRow(seq, rng.choice(mids), "corrected", value))
        else:
            mids.append(f"m{seq}")
            rows.append(MeasurementRow(seq, f"m{seq}", effective, value))
    return rows, times


def split(rows: list[Any]) -> tuple[list[Any], ...]:
    kinds = (DefRow, BaselineRow, MeasurementRow, ChangeRow)
    return tuple([r for r in rows if isinstance(r, kind)] for kind in kinds)


@pytest.mark.parametrize("seed", range(12))
def test_every_step_equals_kpi_progress_known_and_as_of_that_step(seed: int) -> None:
    rows, times = journey(random.Random(seed), 300)
    defs, baselines, measurements, changes = split(rows)
    replay = KpiReplay("skill", defs, baselines, measurements, changes)

    for seq, moment in enumerate(times, start=1):
        expected = kpi_progress("skill", defs, baselines, measurements, changes, moment, seq)
        assert replay.at(seq, moment) == expected, (seed, seq)


def rows_visited(events: int) -> int:
    rows, times = journey(random.Random(7), events)
    replay = KpiReplay("skill", *split(rows))
    before = visits.rows
    for seq, moment in enumerate(times, start=1):
        replay.at(seq, moment)
    return visits.rows - before


def test_the_work_of_a_replay_grows_linearly_with_its_events() -> None:
    small, large = rows_visited(2_000), rows_visited(8_000)

    # Quadratic work would visit 16 times as many rows; linear, 4 times (give or take the
    # recounts a new baseline or rescale brings, which the random journeys place anywhere).
    assert large < 6 * small, (small, large)
