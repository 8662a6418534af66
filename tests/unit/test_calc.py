"""The numbers of DOMAIN.md, "Progress of one KPI, as of a date D", checked one rule at a time."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from coachledger.projections.calc import (
    BaselineRow,
    ChangeRow,
    DefRow,
    MeasurementRow,
    convert,
    definition_at,
    kpi_progress,
    round1,
    to_number,
)


def at(day: str, hour: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=hour)


def defined(seq: int = 1, when: str = "2026-01-05", **changes: object) -> DefRow:
    fields: dict[str, object] = {
        "name": "Python skill",
        "category": "skill",
        "unit": "points",
        "direction": "increase",
        "target": Decimal(100),
        "due": at("2026-12-31"),
        "scale_min": None,
        "scale_max": None,
        "dimension": "professional",
        "horizon": "short",
        "method": "self assessment",
        "goal": "g1",
        "defined_by": "both",
    }
    return DefRow(seq, "defined", at(when), {**fields, **changes})


def adjusted(
    seq: int, when: str, *, rescale: bool = False, factor: str | None = None, **fields: object
) -> DefRow:
    return DefRow(seq, "adjusted", at(when), fields, rescale, None if factor is None else Decimal(factor))


def retired(seq: int, when: str) -> DefRow:
    return DefRow(seq, "retired", at(when), {})


def base(seq: int, when: str, value: str | int) -> BaselineRow:
    return BaselineRow(seq, at(when), Decimal(value))


def meas(seq: int, when: str, value: str | int, hour: int = 0) -> MeasurementRow:
    return MeasurementRow(seq, f"m{seq}", at(when, hour), Decimal(value))


def corrected(seq: int, of: int, value: str | int) -> ChangeRow:
    return ChangeRow(seq, f"m{of}", "corrected", Decimal(value))


def retracted(seq: int, of: int) -> ChangeRow:
    return ChangeRow(seq, f"m{of}", "retracted", None)


def progress(
    defs: Sequence[DefRow],
    baselines: Sequence[BaselineRow] = (),
    measurements: Sequence[MeasurementRow] = (),
    changes: Sequence[ChangeRow] = (),
    as_of: str = "2026-04-01",
    known_seq: int | None = None,
) -> dict[str, object]:
    return kpi_progress("k1", defs, baselines, measurements, changes, at(as_of), known_seq)


# Worked example 1: skill, target 100 due 2026-12-31; baseline 50 at 2026-01-01; 60 at 2026-03-01.
EX1_DEFS = [defined()]
EX1_BASE = [base(2, "2026-01-01", 50)]
EX1_MEAS = [meas(3, "2026-03-01", 60)]

# Worked example 2: stress 0..10, decrease, target 3 due 2026-07-01; rescaled to 0..100 on 03-01.
STRESS = defined(
    name="Stress",
    category="work-life-balance",
    unit="level",
    direction="decrease",
    target=Decimal(3),
    due=at("2026-07-01"),
    scale_min=Decimal(0),
    scale_max=Decimal(10),
    dimension="personal",
)
RESCALE = adjusted(4, "2026-03-01", rescale=True, scale_min=Decimal(0), scale_max=Decimal(100))
EX2_DEFS = [STRESS, RESCALE]
EX2_BASE = [base(2, "2026-01-01", 8)]
EX2_MEAS = [meas(3, "2026-02-01", 6), meas(5, "2026-03-15", 50)]


def ex2(
    as_of: str = "2026-04-01", changes: Sequence[ChangeRow] = (), known_seq: int | None = None
) -> dict[str, object]:
    return kpi_progress("stress", EX2_DEFS, EX2_BASE, EX2_MEAS, changes, at(as_of), known_seq)


# A KPI whose expected_pct is exactly 50 on 2026-01-06: baseline 0 on 01-01, target 100 due 01-11.
TEN_DAYS = [defined(due=at("2026-01-11"))]


def ten_days(current: str, as_of: str = "2026-01-06") -> dict[str, object]:
    return progress(TEN_DAYS, [base(2, "2026-01-01", 0)], [meas(3, "2026-01-02", current)], as_of=as_of)


# --- worked examples -----------------------------------------------------------------------------


def test_worked_example_1_skill_kpi_is_on_track() -> None:
    item = progress(EX1_DEFS, EX1_BASE, EX1_MEAS)
    assert (item["baseline"], item["current"], item["target"]) == (50, 60, 100)
    assert item["progress_pct"] == 20.0
    assert item["expected_pct"] == 24.7
    assert item["status"] == "on-track"
    assert item["measurements"] == 1


def test_worked_example_2_shows_every_value_in_the_rescaled_scale_in_force_at_d() -> None:
    item = ex2("2026-04-01")
    assert (item["baseline"], item["current"], item["target"]) == (80, 50, 30)
    assert item["progress_pct"] == 60.0
    assert item["expected_pct"] == 49.7
    assert item["status"] == "on-track"
    assert item["measurements"] == 2


def test_worked_example_2_before_the_rescale_uses_the_old_definition() -> None:
    item = ex2("2026-02-15")
    assert (item["baseline"], item["current"], item["target"]) == (8, 6, 3)
    assert item["progress_pct"] == 40.0
    assert item["expected_pct"] == 24.9
    assert item["status"] == "on-track"


def test_progress_item_has_exactly_the_documented_keys_and_formats() -> None:
    item = ex2("2026-04-01")
    assert set(item) == {
        "kpi", "name", "category", "unit", "direction", "baseline", "current", "target", "due",
        "progress_pct", "expected_pct", "status", "measurements", "trend_per_month", "retired",
        "baseline_at", "dimension", "horizon",
    }  # fmt: skip
    assert item["kpi"] == "stress"
    assert item["due"] == "2026-07-01"
    assert item["baseline_at"] == "2026-01-01T00:00:00+00:00"
    assert (item["dimension"], item["horizon"], item["retired"]) == ("personal", "short", False)
    assert isinstance(item["baseline"], int)


def test_result_does_not_depend_on_the_order_rows_are_passed_in() -> None:
    rows = [list(EX2_DEFS), list(EX2_BASE), list(EX2_MEAS)]
    expected = ex2("2026-04-01")
    shuffle = random.Random(7).shuffle
    for _ in range(5):
        for r in rows:
            shuffle(r)
        assert kpi_progress("stress", rows[0], rows[1], rows[2], [], at("2026-04-01")) == expected


# --- scales and units ----------------------------------------------------------------------------


def test_rescale_maps_history_onto_the_scale_in_force() -> None:
    assert convert(Decimal(6), at("2026-02-01"), at("2026-04-01"), EX2_DEFS) == Decimal(60)
    assert definition_at(EX2_DEFS, at("2026-04-01"))["target"] == Decimal(30)


def test_value_effective_at_the_adjustment_instant_is_already_in_the_new_scale() -> None:
    assert convert(Decimal(50), at("2026-03-01"), at("2026-04-01"), EX2_DEFS) == Decimal(50)


def test_convert_backwards_shows_a_later_value_in_the_earlier_scale() -> None:
    assert convert(Decimal(50), at("2026-03-15"), at("2026-02-15"), EX2_DEFS) == Decimal(5)


def test_convert_is_the_identity_without_an_adjustment_in_between() -> None:
    assert convert(Decimal("6.5"), at("2026-01-01"), at("2026-02-28"), EX2_DEFS) == Decimal("6.5")


def test_convert_through_several_rescales_stays_exact() -> None:
    defs = [
        defined(scale_min=Decimal(1), scale_max=Decimal(10), target=Decimal(10)),
        adjusted(2, "2026-02-01", rescale=True, scale_max=Decimal(7)),
        adjusted(3, "2026-03-01", rescale=True, scale_max=Decimal(10)),
    ]
    assert convert(Decimal(5), at("2026-01-10"), at("2026-04-01"), defs) == Decimal(5)
    assert convert(Decimal(5), at("2026-01-10"), at("2026-02-10"), defs) == 1 + Decimal(24) / 9
    assert convert(Decimal(7), at("2026-02-10"), at("2026-01-10"), defs) == Decimal(10)


def test_factor_converts_history_target_and_unit() -> None:
    defs = [
        defined(name="Salary", category="salary", unit="EUR", target=Decimal(60000)),
        adjusted(4, "2026-03-01", factor="0.001", unit="kEUR"),
    ]
    baselines = [base(2, "2026-01-01", 50000)]
    measurements = [meas(3, "2026-02-01", 52000), meas(5, "2026-03-15", 55)]
    after = progress(defs, baselines, measurements, as_of="2026-04-01")
    assert (after["unit"], after["baseline"], after["current"], after["target"]) == (
        "kEUR",
        50,
        55,
        60,
    )
    assert after["progress_pct"] == 50.0
    before = progress(defs, baselines, measurements, as_of="2026-02-15")
    assert (before["unit"], before["baseline"], before["current"], before["target"]) == (
        "EUR", 50000, 52000, 60000,
    )  # fmt: skip
    assert convert(Decimal(55), at("2026-03-15"), at("2026-02-15"), defs) == Decimal(55000)


def test_factor_converts_scale_bounds_unless_the_adjustment_sets_new_ones() -> None:
    defs = [
        defined(scale_min=Decimal(0), scale_max=Decimal(200000)),
        adjusted(2, "2026-03-01", factor="0.001"),
    ]
    now = definition_at(defs, at("2026-04-01"))
    assert (now["scale_min"], now["scale_max"], now["target"]) == (0, 200, Decimal("0.1"))
    defs.append(adjusted(3, "2026-03-02", factor="1000", scale_max=Decimal(150000)))
    assert definition_at(defs, at("2026-04-01"))["scale_max"] == Decimal(150000)


def test_new_target_overrides_conversion() -> None:
    defs = [
        STRESS,
        adjusted(4, "2026-03-01", rescale=True, scale_max=Decimal(100), target=Decimal(25)),
    ]
    item = kpi_progress("stress", defs, EX2_BASE, EX2_MEAS, [], at("2026-04-01"))
    assert item["target"] == 25
    assert item["progress_pct"] == 54.5  # 100 * (50 - 80) / (25 - 80)


def test_target_set_by_an_earlier_adjustment_is_converted_by_a_later_rescale() -> None:
    defs = [STRESS, adjusted(3, "2026-02-10", target=Decimal(4)), RESCALE]
    assert definition_at(defs, at("2026-02-20"))["target"] == Decimal(4)
    assert definition_at(defs, at("2026-04-01"))["target"] == Decimal(40)


def test_adjustments_at_the_same_effective_time_apply_in_recording_order() -> None:
    target_then_rescale = [
        STRESS,
        adjusted(4, "2026-03-01", target=Decimal(4)),
        adjusted(5, "2026-03-01", rescale=True, scale_max=Decimal(100)),
    ]
    rescale_then_target = [
        STRESS,
        adjusted(4, "2026-03-01", rescale=True, scale_max=Decimal(100)),
        adjusted(5, "2026-03-01", target=Decimal(4)),
    ]
    assert definition_at(target_then_rescale, at("2026-04-01"))["target"] == Decimal(40)
    assert definition_at(rescale_then_target, at("2026-04-01"))["target"] == Decimal(4)


def test_adjustments_apply_in_effective_order_not_recording_order() -> None:
    defs = [
        defined(),
        adjusted(2, "2026-03-01", target=Decimal(80)),
        adjusted(3, "2026-02-01", target=Decimal(90)),
    ]
    assert definition_at(defs, at("2026-02-15"))["target"] == Decimal(90)
    assert definition_at(defs, at("2026-04-01"))["target"] == Decimal(80)


def test_definition_in_force_takes_name_dimension_and_horizon_from_adjustments() -> None:
    defs = [*EX1_DEFS, adjusted(4, "2026-03-01", name="Python mastery", horizon="long")]
    item = progress(defs, EX1_BASE, EX1_MEAS)
    assert (item["name"], item["horizon"], item["dimension"]) == (
        "Python mastery",
        "long",
        "professional",
    )
    assert progress(defs, EX1_BASE, EX1_MEAS, as_of="2026-02-01")["horizon"] == "short"


def test_first_definition_is_in_force_before_its_own_recording() -> None:
    before = definition_at(EX2_DEFS, at("2025-06-01"))
    assert (before["target"], before["scale_max"], before["retired"]) == (3, 10, False)


def test_back_dated_baseline_before_the_definitions_recording_counts() -> None:
    item = progress(EX1_DEFS, EX1_BASE, [meas(3, "2026-01-02", 52)], as_of="2026-01-03")
    assert (item["baseline"], item["current"], item["target"]) == (50, 52, 100)
    assert item["baseline_at"] == "2026-01-01T00:00:00+00:00"


# --- status --------------------------------------------------------------------------------------


def test_status_no_baseline_without_a_baseline_in_force() -> None:
    item = progress(EX1_DEFS, [base(2, "2026-05-01", 50)], EX1_MEAS)
    assert item["status"] == "no-baseline"
    assert (item["baseline"], item["current"], item["measurements"]) == (None, None, 0)
    assert (item["progress_pct"], item["expected_pct"], item["baseline_at"]) == (None, None, None)
    assert item["target"] == 100


def test_status_no_data_when_no_measurement_counts() -> None:
    item = progress(EX1_DEFS, EX1_BASE, [])
    assert item["status"] == "no-data"
    assert (item["current"], item["progress_pct"], item["trend_per_month"]) == (None, None, None)
    assert item["expected_pct"] == 24.7


def test_status_achieved_when_current_reaches_the_target_increasing() -> None:
    assert progress(EX1_DEFS, EX1_BASE, [meas(3, "2026-03-01", 100)])["status"] == "achieved"


def test_status_achieved_when_current_falls_to_the_target_decreasing() -> None:
    item = kpi_progress("stress", EX2_DEFS, EX2_BASE, [meas(5, "2026-03-15", 30)], [], at("2026-04-01"))
    assert (item["status"], item["progress_pct"]) == ("achieved", 100.0)
    item = kpi_progress("stress", EX2_DEFS, EX2_BASE, [meas(5, "2026-03-15", 20)], [], at("2026-04-01"))
    assert item["status"] == "achieved"


def test_status_achieved_wins_over_overdue() -> None:
    assert ten_days("100", as_of="2026-02-01")["status"] == "achieved"


def test_status_overdue_after_the_due_date_when_not_achieved() -> None:
    item = ten_days("99", as_of="2026-01-11T00:00:01")
    assert (item["status"], item["expected_pct"]) == ("overdue", 100.0)
    assert ten_days("99", as_of="2026-01-11")["status"] == "on-track"  # D == due is not overdue


def test_status_on_track_when_progress_is_at_least_expected_minus_10() -> None:
    assert ten_days("40")["expected_pct"] == 50.0
    assert ten_days("40")["status"] == "on-track"


def test_status_at_risk_when_progress_is_at_least_expected_minus_25() -> None:
    assert ten_days("39.99")["status"] == "at-risk"
    assert ten_days("25")["status"] == "at-risk"


def test_status_off_track_below_expected_minus_25() -> None:
    assert ten_days("24.99")["status"] == "off-track"
    assert ten_days("-5")["status"] == "off-track"


def test_status_compares_unrounded_values() -> None:
    item = ten_days("39.96")
    assert (item["progress_pct"], item["status"]) == (40.0, "at-risk")


def test_target_equal_to_baseline_gives_no_progress_and_counts_as_off_track() -> None:
    defs = [defined(target=Decimal(50))]
    item = progress(defs, EX1_BASE, [meas(3, "2026-03-01", 40)])
    assert (item["progress_pct"], item["status"]) == (None, "off-track")
    assert progress(defs, EX1_BASE, [meas(3, "2026-03-01", 50)])["status"] == "achieved"


# --- which measurement is current ----------------------------------------------------------------


def test_current_is_latest_by_effective_time_not_recording_time() -> None:
    late_entry_of_old_value = meas(4, "2026-02-01", 70)
    item = progress(EX1_DEFS, EX1_BASE, [*EX1_MEAS, late_entry_of_old_value])
    assert (item["current"], item["measurements"]) == (60, 2)


def test_ties_in_effective_time_are_broken_by_recording_order() -> None:
    tied = [meas(4, "2026-03-01", 70), meas(3, "2026-03-01", 60)]
    assert progress(EX1_DEFS, EX1_BASE, tied)["current"] == 70


def test_measurements_before_the_baseline_date_or_after_d_are_not_counted() -> None:
    rows = [meas(3, "2025-12-31", 99), *EX1_MEAS, meas(4, "2026-04-01", 61, hour=1)]
    item = progress(EX1_DEFS, EX1_BASE, rows)
    assert (item["current"], item["measurements"]) == (60, 1)


def test_measurement_effective_exactly_at_d_counts() -> None:
    assert progress(EX1_DEFS, EX1_BASE, EX1_MEAS, as_of="2026-03-01")["current"] == 60


def test_correction_replaces_the_value_at_every_d() -> None:
    item = ex2("2026-02-15", changes=[corrected(9, of=3, value=7)])
    assert item["current"] == 7  # the correction was recorded after 02-15 but has no effective time


def test_latest_correction_wins() -> None:
    changes = [corrected(11, of=3, value="6.5"), corrected(9, of=3, value=7)]
    assert ex2("2026-02-15", changes=changes)["current"] == 6.5


def test_corrected_value_is_in_the_scale_of_the_original_measurement() -> None:
    item = ex2("2026-04-01", changes=[corrected(9, of=3, value=7), retracted(10, of=5)])
    assert item["current"] == 70


def test_retracted_measurement_is_ignored_and_current_falls_back() -> None:
    item = ex2("2026-04-01", changes=[retracted(9, of=5)])
    assert (item["current"], item["measurements"]) == (60, 1)


def test_retracting_every_measurement_gives_no_data() -> None:
    item = ex2("2026-04-01", changes=[retracted(9, of=5), retracted(10, of=3)])
    assert (item["status"], item["measurements"]) == ("no-data", 0)


def test_retraction_is_final_even_if_a_correction_follows() -> None:
    item = ex2("2026-04-01", changes=[retracted(9, of=5), corrected(10, of=5, value=40)])
    assert item["current"] == 60


# --- re-baselining -------------------------------------------------------------------------------


def test_rebaseline_replaces_the_baseline_from_its_effective_time_on() -> None:
    baselines = [*EX1_BASE, base(5, "2026-03-01", 58)]
    rows = [meas(3, "2026-02-01", 55), meas(4, "2026-03-15", 60)]
    after = progress(EX1_DEFS, baselines, rows, as_of="2026-04-01")
    assert (after["baseline"], after["current"], after["measurements"]) == (58, 60, 1)
    assert after["baseline_at"] == "2026-03-01T00:00:00+00:00"
    before = progress(EX1_DEFS, baselines, rows, as_of="2026-02-15")
    assert (before["baseline"], before["current"], before["measurements"]) == (50, 55, 1)


def test_rebaseline_at_the_same_effective_time_wins_by_recording_order() -> None:
    baselines = [base(7, "2026-01-01", 40), *EX1_BASE]
    assert progress(EX1_DEFS, baselines, EX1_MEAS)["baseline"] == 40


def test_baseline_is_shown_in_the_scale_in_force_at_d() -> None:
    assert ex2("2026-04-01")["baseline"] == 80
    assert ex2("2026-02-15")["baseline"] == 8


# --- known_seq: what the coach knew then ---------------------------------------------------------


def test_known_seq_hides_measurements_recorded_later() -> None:
    assert progress(EX1_DEFS, EX1_BASE, EX1_MEAS, known_seq=2)["status"] == "no-data"


def test_known_seq_hides_adjustments_recorded_later() -> None:
    item = ex2("2026-04-01", known_seq=3)
    assert (item["baseline"], item["current"], item["target"], item["progress_pct"]) == (
        8,
        6,
        3,
        40.0,
    )


def test_known_seq_hides_corrections_and_retractions_recorded_later() -> None:
    changes = [corrected(9, of=3, value=7), retracted(10, of=5)]
    assert ex2("2026-04-01", changes=changes, known_seq=9)["current"] == 50
    assert ex2("2026-02-15", changes=changes, known_seq=8)["current"] == 6


def test_known_seq_hides_baselines_recorded_later() -> None:
    assert progress(EX1_DEFS, EX1_BASE, EX1_MEAS, known_seq=1)["status"] == "no-baseline"


def test_known_seq_before_the_definition_is_an_error() -> None:
    with pytest.raises(LookupError):
        progress([defined(seq=5)], EX1_BASE, EX1_MEAS, known_seq=4)


# --- retirement, expected_pct --------------------------------------------------------------------


def test_retired_only_from_the_retirements_effective_time() -> None:
    defs = [*EX1_DEFS, retired(4, "2026-03-10")]
    assert progress(defs, EX1_BASE, EX1_MEAS, as_of="2026-04-01")["retired"] is True
    assert progress(defs, EX1_BASE, EX1_MEAS, as_of="2026-03-09")["retired"] is False
    assert definition_at(defs, at("2026-03-10"))["retired"] is True


def test_expected_pct_uses_fractional_days() -> None:
    item = progress(
        TEN_DAYS, [base(2, "2026-01-01", 0)], [meas(3, "2026-01-01", 1)], as_of="2026-01-01T12:00"
    )
    assert item["expected_pct"] == 5.0


def test_expected_pct_is_clamped_to_100_after_due() -> None:
    assert ten_days("50", as_of="2026-03-01")["expected_pct"] == 100.0


def test_expected_pct_is_100_when_due_is_not_after_the_baseline_date() -> None:
    item = progress(TEN_DAYS, [base(2, "2026-01-11", 0)], [meas(3, "2026-01-11", 1)], as_of="2026-01-11")
    assert item["expected_pct"] == 100.0


# --- trend_per_month -----------------------------------------------------------------------------


def test_trend_per_month_is_the_slope_per_30_days() -> None:
    item = progress(EX1_DEFS, EX1_BASE, [meas(3, "2026-01-31", 60)])
    assert item["trend_per_month"] == 10.0


def test_trend_per_month_is_least_squares_rounded_to_4_decimals() -> None:
    rows = [meas(3, "2026-01-31", 51), meas(4, "2026-04-01", 51)]  # (0, 50) (30, 51) (90, 51)
    assert progress(EX1_DEFS, EX1_BASE, rows)["trend_per_month"] == 0.2857  # 30 * 40 / 4200


def test_trend_per_month_uses_values_in_the_scale_at_d() -> None:
    direct = [defined(direction="decrease", target=Decimal(30), scale_min=Decimal(0), scale_max=Decimal(100))]
    rows = [meas(3, "2026-02-01", 60), meas(5, "2026-03-15", 50)]
    same = progress(direct, [base(2, "2026-01-01", 80)], rows)
    assert ex2("2026-04-01")["trend_per_month"] == same["trend_per_month"] == -12.0313  # 30 * -1615 / 4027


def test_trend_per_month_needs_two_points_with_distinct_times() -> None:
    assert progress(EX1_DEFS, EX1_BASE, [meas(3, "2026-01-01", 55)])["trend_per_month"] is None


# --- rounding and numbers ------------------------------------------------------------------------


def test_percentages_round_half_away_from_zero() -> None:
    defs = [defined(target=Decimal(200))]
    up = progress(defs, [base(2, "2026-01-01", 0)], [meas(3, "2026-03-01", "24.9")])
    down = progress(defs, [base(2, "2026-01-01", 0)], [meas(3, "2026-03-01", "-24.9")])
    assert (up["progress_pct"], down["progress_pct"]) == (12.5, -12.5)  # round(12.45, 1) == 12.4


def test_round1_rounds_half_away_from_zero() -> None:
    assert [round1(x) for x in (0.25, -0.25, 0.05, 2.675, 24.725, -0.04)] == [
        0.3,
        -0.3,
        0.1,
        2.7,
        24.7,
        0.0,
    ]
    assert round1(None) is None


def test_to_number_gives_int_when_integral_else_float_to_6_decimals() -> None:
    assert to_number(Decimal("80.0000000001")) == 80
    assert isinstance(to_number(Decimal("80.0000000001")), int)
    assert isinstance(to_number(Decimal("80.000")), int)
    assert to_number(Decimal("12.3456789")) == 12.345679
    assert to_number(Decimal("-0.5")) == -0.5
    assert to_number(None) is None
